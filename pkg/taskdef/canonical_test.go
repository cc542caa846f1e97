package taskdef

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestCanonical(t *testing.T) {
	in := &ecs.RegisterTaskDefinitionInput{
		Family:      new("hello-color"),
		NetworkMode: ecstypes.NetworkModeAwsvpc,
		Cpu:         new("0.5 vCPU"),
		Memory:      new("1 GB"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:         new("web"),
			Image:        new("hello-color:1.0.0"),
			Cpu:          0,
			Environment:  env("B", "2", "A", "1"),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: new(int32(8080))}},
			HealthCheck:  &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "curl -f http://localhost/ && exit 0"}},
			MountPoints:  []ecstypes.MountPoint{},
			Ulimits:      []ecstypes.Ulimit{{Name: ecstypes.UlimitNameCore, SoftLimit: 0, HardLimit: 0}},
			Privileged:   new(false),
			ResourceRequirements: []ecstypes.ResourceRequirement{{
				Type:            ecstypes.ResourceTypeGpu,
				Value:           new("1"),
				SharingStrategy: &ecstypes.SharingStrategyMemberNvidiaMps{Value: ecstypes.NvidiaMpsAllocation{Memory: new(int32(4096))}},
			}},
		}},
		Volumes: []ecstypes.Volume{{Name: new("scratch"), Host: &ecstypes.HostVolumeProperties{}}},
		Tags:    tags("team", "platform"),
	}
	// Hand-written: camelCase keys sorted, defaults filled or dropped as
	// Canonical documents, no tags, no HTML escaping.
	want := `{
  "containerDefinitions": [
    {
      "environment": [
        {
          "name": "A",
          "value": "1"
        },
        {
          "name": "B",
          "value": "2"
        }
      ],
      "essential": true,
      "healthCheck": {
        "command": [
          "CMD-SHELL",
          "curl -f http://localhost/ && exit 0"
        ],
        "interval": 30,
        "retries": 3,
        "timeout": 5
      },
      "image": "hello-color:1.0.0",
      "name": "web",
      "portMappings": [
        {
          "containerPort": 8080,
          "hostPort": 8080,
          "protocol": "tcp"
        }
      ],
      "resourceRequirements": [
        {
          "sharingStrategy": {
            "nvidiaMps": {
              "memory": 4096
            }
          },
          "type": "GPU",
          "value": "1"
        }
      ],
      "ulimits": [
        {
          "hardLimit": 0,
          "name": "core",
          "softLimit": 0
        }
      ]
    }
  ],
  "cpu": "512",
  "family": "hello-color",
  "memory": "1024",
  "networkMode": "awsvpc",
  "volumes": [
    {
      "name": "scratch"
    }
  ]
}
`
	got := mustCanonical(t, in)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Canonical (-want +got):\n%s", diff)
	}
	if _, err := Canonical(nil); err == nil {
		t.Error("Canonical(nil) returned no error")
	}
}

func TestEqual(t *testing.T) {
	base := func() *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{
			Family:                  new("hello-color"),
			NetworkMode:             ecstypes.NetworkModeAwsvpc,
			Cpu:                     new("256"),
			Memory:                  new("512"),
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate, ecstypes.CompatibilityEc2},
			ContainerDefinitions: []ecstypes.ContainerDefinition{
				{
					Name:         new("web"),
					Image:        new(ecrHost + "/hello-color:1.0.0"),
					Essential:    new(true),
					Environment:  env("A", "1", "B", "2"),
					Secrets:      secrets("X", "arn:x", "Y", "arn:y"),
					PortMappings: []ecstypes.PortMapping{{ContainerPort: new(int32(8080)), HostPort: new(int32(8080)), Protocol: ecstypes.TransportProtocolTcp}},
					HealthCheck:  &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Interval: new(int32(30)), Timeout: new(int32(5)), Retries: new(int32(3))},
				},
				{Name: new("sidecar"), Image: new("busybox"), Essential: new(false)},
			},
			Volumes: []ecstypes.Volume{{
				Name: new("efs"),
				EfsVolumeConfiguration: &ecstypes.EFSVolumeConfiguration{
					FileSystemId:        new("fs-1"),
					RootDirectory:       new("/"),
					TransitEncryption:   ecstypes.EFSTransitEncryptionDisabled,
					AuthorizationConfig: &ecstypes.EFSAuthorizationConfig{AccessPointId: new("fsap-1"), Iam: ecstypes.EFSAuthorizationConfigIAMDisabled},
				},
			}},
			Tags: tags("ecrdeploy:event", "e-1"),
		}
	}
	tests := []struct {
		name string
		edit func(in *ecs.RegisterTaskDefinitionInput)
		want bool
	}{
		{"identical", func(in *ecs.RegisterTaskDefinitionInput) {}, true},
		{"tags differ", func(in *ecs.RegisterTaskDefinitionInput) { in.Tags = tags("ecrdeploy:event", "e-2") }, true},
		{"no tags", func(in *ecs.RegisterTaskDefinitionInput) { in.Tags = []ecstypes.Tag{} }, true},
		{"environment reordered", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Environment = env("B", "2", "A", "1")
		}, true},
		{"secrets reordered", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Secrets = secrets("Y", "arn:y", "X", "arn:x")
		}, true},
		{"requiresCompatibilities reordered", func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityEc2, ecstypes.CompatibilityFargate}
		}, true},
		{"empty lists and maps", func(in *ecs.RegisterTaskDefinitionInput) {
			c := &in.ContainerDefinitions[1]
			c.Environment = []ecstypes.KeyValuePair{}
			c.MountPoints = []ecstypes.MountPoint{}
			c.VolumesFrom = []ecstypes.VolumeFrom{}
			c.PortMappings = []ecstypes.PortMapping{}
			c.SystemControls = []ecstypes.SystemControl{}
			c.DockerLabels = map[string]string{}
			in.PlacementConstraints = []ecstypes.TaskDefinitionPlacementConstraint{}
		}, true},
		{"empty objects", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[1].LinuxParameters = &ecstypes.LinuxParameters{}
			in.RuntimePlatform = &ecstypes.RuntimePlatform{}
		}, true},
		{"container cpu 0", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Cpu = 0 }, true},
		{"container cpu 10", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Cpu = 10 }, false},
		{"essential left out", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Essential = nil }, true},
		{"essential false", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Essential = new(false) }, false},
		{"false flag set", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].ReadonlyRootFilesystem = new(false)
			in.EnableFaultInjection = new(false)
		}, true},
		{"true flag set", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].ReadonlyRootFilesystem = new(true)
		}, false},
		{"port protocol and awsvpc hostPort left out", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].PortMappings = []ecstypes.PortMapping{{ContainerPort: new(int32(8080))}}
		}, true},
		{"other port", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].PortMappings[0].ContainerPort = new(int32(9090))
		}, false},
		{"health check defaults left out", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}}
		}, true},
		{"health check interval changed", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].HealthCheck.Interval = new(int32(10))
		}, false},
		{"EFS defaults left out", func(in *ecs.RegisterTaskDefinitionInput) {
			efs := in.Volumes[0].EfsVolumeConfiguration
			efs.RootDirectory = nil
			efs.TransitEncryption = ""
			efs.AuthorizationConfig.Iam = ""
		}, true},
		{"EFS root directory", func(in *ecs.RegisterTaskDefinitionInput) {
			in.Volumes[0].EfsVolumeConfiguration.RootDirectory = new("/data")
		}, false},
		{"cpu and memory with units", func(in *ecs.RegisterTaskDefinitionInput) {
			in.Cpu = new(".25 vCPU")
			in.Memory = new("0.5GB")
		}, true},
		{"more memory", func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = new("1 GB") }, false},
		{"different image", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Image = new(ecrHost + "/hello-color:1.4.0")
		}, false},
		{"different environment value", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Environment = env("A", "1", "B", "3")
		}, false},
		{"environment variable added", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Environment = env("A", "1", "B", "2", "C", "")
		}, false},
		{"containers reordered", func(in *ecs.RegisterTaskDefinitionInput) {
			c := in.ContainerDefinitions
			c[0], c[1] = c[1], c[0]
		}, false},
		{"different family", func(in *ecs.RegisterTaskDefinitionInput) { in.Family = new("other") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base(), base()
			tt.edit(b)
			if got := Equal(a, b); got != tt.want {
				t.Errorf("Equal = %v, want %v; Diff:\n%s", got, tt.want, mustDiff(t, a, b))
			}
			if got := Equal(b, a); got != tt.want {
				t.Errorf("Equal (swapped) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEqualNil(t *testing.T) {
	in := &ecs.RegisterTaskDefinitionInput{Family: new("f")}
	tests := []struct {
		name string
		a, b *ecs.RegisterTaskDefinitionInput
		want bool
	}{
		{"both nil", nil, nil, true},
		{"first nil", nil, in, false},
		{"second nil", in, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEqualBridgeHostPort(t *testing.T) {
	mapping := func(host *int32) *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{
			Family:      new("f"),
			NetworkMode: ecstypes.NetworkModeBridge,
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name:         new("app"),
				PortMappings: []ecstypes.PortMapping{{ContainerPort: new(int32(8080)), HostPort: host}},
			}},
		}
	}
	tests := []struct {
		name string
		a, b *ecs.RegisterTaskDefinitionInput
		want bool
	}{
		{"dynamic port written as 0 or left out", mapping(new(int32(0))), mapping(nil), true},
		{"fixed port is not dynamic", mapping(new(int32(8080))), mapping(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
}

func mustDiff(t *testing.T, a, b *ecs.RegisterTaskDefinitionInput) string {
	t.Helper()
	d, err := Diff(a, b, "a", "b")
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	return d
}

// TestEqualNetworkModeDefault checks that a definition without networkMode
// equals one in bridge mode, as ECS registers it on EC2 (with a port
// mapping as ECS describes it there: hostPort 0, protocol tcp), and only
// where ECS fills bridge in.
func TestEqualNetworkModeDefault(t *testing.T) {
	def := func(mode ecstypes.NetworkMode, compat []ecstypes.Compatibility, os ecstypes.OSFamily, pm ecstypes.PortMapping) *ecs.RegisterTaskDefinitionInput {
		in := &ecs.RegisterTaskDefinitionInput{Family: new("web"), NetworkMode: mode, RequiresCompatibilities: compat,
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: new("web"), Image: new("web:1"), PortMappings: []ecstypes.PortMapping{pm}}}}
		if os != "" {
			in.RuntimePlatform = &ecstypes.RuntimePlatform{OperatingSystemFamily: os}
		}
		return in
	}
	template := ecstypes.PortMapping{ContainerPort: new(int32(8080))}
	described := ecstypes.PortMapping{ContainerPort: new(int32(8080)), HostPort: new(int32(0)), Protocol: ecstypes.TransportProtocolTcp}
	ec2 := []ecstypes.Compatibility{ecstypes.CompatibilityEc2}
	fargate := []ecstypes.Compatibility{ecstypes.CompatibilityFargate}
	tests := []struct {
		name string
		a, b *ecs.RegisterTaskDefinitionInput
		want bool
	}{
		{"absent is bridge", def("", nil, "", template), def(ecstypes.NetworkModeBridge, nil, "", described), true},
		{"absent is bridge on EC2", def("", ec2, "", template), def(ecstypes.NetworkModeBridge, ec2, "", described), true},
		{"absent is bridge on Linux", def("", nil, ecstypes.OSFamilyLinux, template), def(ecstypes.NetworkModeBridge, nil, ecstypes.OSFamilyLinux, described), true},
		{"absent is not awsvpc", def("", nil, "", template), def(ecstypes.NetworkModeAwsvpc, nil, "", template), false},
		{"absent is not host", def("", nil, "", template), def(ecstypes.NetworkModeHost, nil, "", template), false},
		{"no default for Fargate", def("", fargate, "", template), def(ecstypes.NetworkModeBridge, fargate, "", template), false},
		{"no bridge on Windows", def("", nil, ecstypes.OSFamilyWindowsServer2022Full, template), def(ecstypes.NetworkModeBridge, nil, ecstypes.OSFamilyWindowsServer2022Full, template), false},
		{"awsvpc fills hostPort", def(ecstypes.NetworkModeAwsvpc, fargate, "", template),
			def(ecstypes.NetworkModeAwsvpc, fargate, "", ecstypes.PortMapping{ContainerPort: new(int32(8080)), HostPort: new(int32(8080)), Protocol: ecstypes.TransportProtocolTcp}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
}
