package taskdef_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

const (
	benchContainers = 10
	benchVariables  = 50
	benchRepository = "shop/web"
	benchRegistry   = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
)

// largeTaskDefinition is a task definition at the large end of what teams
// run: benchContainers containers, each with benchVariables environment
// variables, ten secrets, port mappings, a health check, mount points and a
// log configuration. Container 0 runs the repository's image.
func largeTaskDefinition() *ecs.RegisterTaskDefinitionInput {
	in := &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("shop-web"),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("4096"),
		Memory:                  aws.String("8192"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		TaskRoleArn:             aws.String("arn:aws:iam::123456789012:role/shop-web"),
		Volumes:                 []ecstypes.Volume{{Name: aws.String("shared")}},
		Tags:                    []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("shop")}},
	}
	for c := range benchContainers {
		name := fmt.Sprintf("container-%02d", c)
		image := fmt.Sprintf("public.ecr.aws/sidecars/%s:1.%d.0", name, c)
		if c == 0 {
			image = benchRegistry + "/" + benchRepository + ":1.0.0"
		}
		def := ecstypes.ContainerDefinition{
			Name:      aws.String(name),
			Image:     aws.String(image),
			Essential: aws.Bool(c == 0),
			PortMappings: []ecstypes.PortMapping{{
				ContainerPort: aws.Int32(int32(8080 + c)), Protocol: ecstypes.TransportProtocolTcp,
			}},
			HealthCheck: &ecstypes.HealthCheck{
				Command:  []string{"CMD-SHELL", fmt.Sprintf("curl -f http://localhost:%d/health || exit 1", 8080+c)},
				Interval: aws.Int32(30), Retries: aws.Int32(3), Timeout: aws.Int32(5),
			},
			MountPoints: []ecstypes.MountPoint{{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/shared")}},
			LogConfiguration: &ecstypes.LogConfiguration{
				LogDriver: ecstypes.LogDriverAwslogs,
				Options:   map[string]string{"awslogs-group": "/ecs/shop-web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": name},
			},
		}
		for v := range benchVariables {
			def.Environment = append(def.Environment, ecstypes.KeyValuePair{
				Name: aws.String(fmt.Sprintf("VAR_%02d_%02d", c, benchVariables-v)), Value: aws.String(fmt.Sprintf("value-%d-%d", c, v)),
			})
		}
		for s := range 10 {
			def.Secrets = append(def.Secrets, ecstypes.Secret{
				Name:      aws.String(fmt.Sprintf("SECRET_%02d", s)),
				ValueFrom: aws.String(fmt.Sprintf("arn:aws:ssm:us-east-1:123456789012:parameter/shop/%s/%d", name, s)),
			})
		}
		in.ContainerDefinitions = append(in.ContainerDefinitions, def)
	}
	return in
}

// benchSpec sets a new image on every container, with benchVariables
// variables (half of them replacing existing ones) and ten secrets each,
// as an environment's configuration does.
func benchSpec(tag string) taskdef.Spec {
	spec := taskdef.Spec{
		Repository:  benchRepository,
		Image:       taskdef.ImageFor(benchRegistry, benchRepository, tag, "", false),
		Environment: map[string]string{}, Secrets: map[string]string{},
		Tags: map[string]string{"ecrdeploy:repository": benchRepository, "ecrdeploy:version": tag},
	}
	for c := range benchContainers {
		spec.Containers = append(spec.Containers, fmt.Sprintf("container-%02d", c))
	}
	for v := range benchVariables {
		spec.Environment[fmt.Sprintf("VAR_00_%02d", v*2)] = fmt.Sprintf("configured-%d", v)
	}
	for s := range 10 {
		spec.Secrets[fmt.Sprintf("SECRET_%02d", s)] = fmt.Sprintf("arn:aws:ssm:us-east-1:123456789012:parameter/shop/prod/%d", s)
	}
	return spec
}

func mustRender(b *testing.B, base *ecs.RegisterTaskDefinitionInput, tag string) *ecs.RegisterTaskDefinitionInput {
	b.Helper()
	out, err := taskdef.Render(base, benchSpec(tag))
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkRender renders a new revision of a large task definition: a deep
// copy with the image, variables and secrets of all ten containers set.
func BenchmarkRender(b *testing.B) {
	base := largeTaskDefinition()
	spec := benchSpec("1.4.0")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := taskdef.Render(base, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEqual compares a rendered revision with the current one, which
// decides whether a registration is needed at all.
func BenchmarkEqual(b *testing.B) {
	base := mustRender(b, largeTaskDefinition(), "1.3.0")
	b.Run("different", func(b *testing.B) {
		next := mustRender(b, base, "1.4.0")
		b.ReportAllocs()
		for b.Loop() {
			taskdef.Equal(base, next)
		}
	})
	b.Run("same", func(b *testing.B) {
		same := mustRender(b, base, "1.3.0")
		b.ReportAllocs()
		for b.Loop() {
			taskdef.Equal(base, same)
		}
	})
}

// BenchmarkDiff computes the unified diff a plan shows between a large
// current revision and the one it would register.
func BenchmarkDiff(b *testing.B) {
	base := largeTaskDefinition()
	b.Run("image-only", func(b *testing.B) {
		from := mustRender(b, base, "1.3.0")
		to := mustRender(b, from, "1.4.0")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := taskdef.Diff(from, to, "current", "new"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("variables-and-secrets", func(b *testing.B) {
		to := mustRender(b, base, "1.4.0")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := taskdef.Diff(base, to, "current", "new"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFromDescribe converts a described task definition into the
// input of its next registration.
func BenchmarkFromDescribe(b *testing.B) {
	in := largeTaskDefinition()
	td := &ecstypes.TaskDefinition{
		TaskDefinitionArn:       aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:7"),
		Family:                  in.Family,
		ContainerDefinitions:    in.ContainerDefinitions,
		NetworkMode:             in.NetworkMode,
		RequiresCompatibilities: in.RequiresCompatibilities,
		Cpu:                     in.Cpu,
		Memory:                  in.Memory,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		TaskRoleArn:             in.TaskRoleArn,
		Volumes:                 in.Volumes,
		Revision:                7,
		Status:                  ecstypes.TaskDefinitionStatusActive,
	}
	b.ReportAllocs()
	for b.Loop() {
		taskdef.FromDescribe(td, in.Tags)
	}
}
