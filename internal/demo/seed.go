package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

const (
	// repository is the ECR repository of the story.
	repository = "hello-color"
	// runningTag is what every service runs before the story starts: the
	// image of the seeded task definition.
	runningTag = "1.0.0"
	// prefix is ECRDEPLOY_PREFIX, as the functions get it.
	prefix = "/ecrdeploy"
)

// files are the inputs of the story, relative to the module's root.
type files struct {
	// Config is the configuration document of hello-color.
	Config string
	// TaskDefinition is the task definition every service starts with
	// (describe-task-definition output), its image at runningTag.
	TaskDefinition string
	// Push is the ECR push event.
	Push string
}

// defaultFiles are the story's inputs in this repository.
var defaultFiles = files{
	Config:         "internal/demo/hello-color.json",
	TaskDefinition: "pkg/taskdef/testdata/fargate-web.json",
	Push:           "events/push.json",
}

// world is the story's local AWS: what was seeded, and the configuration
// the checks hold the results to.
type world struct {
	doc        *config.Document
	configJSON []byte
	// source and target are the environments of the promotion: the one
	// environment with promoteFrom, and the environment it names.
	source, target string
	// seeded is the task definition ARN each service started with.
	seeded map[string]string
	// pushRaw is the push event as it is sent; push is what it says.
	pushRaw []byte
	push    event.Push
}

// loadWorld reads and checks the story's inputs.
func loadWorld(f files) (*world, error) {
	w := &world{seeded: map[string]string{}}
	data, err := os.ReadFile(f.Config)
	if err != nil {
		return nil, fmt.Errorf("read the demo configuration: %w", err)
	}
	w.doc, err = config.Parse(f.Config, data)
	if err != nil {
		return nil, err
	}
	w.configJSON = data
	for _, name := range w.doc.Names() {
		if from := w.doc.Environments[name].PromoteFrom; from != "" {
			if w.target != "" {
				return nil, fmt.Errorf("%s: the demo promotes to one environment, but %s and %s have promoteFrom", f.Config, w.target, name)
			}
			w.source, w.target = from, name
		}
	}
	if w.target == "" {
		return nil, fmt.Errorf("%s: the demo needs an environment with promoteFrom to promote to", f.Config)
	}
	if w.pushRaw, err = os.ReadFile(f.Push); err != nil {
		return nil, fmt.Errorf("read the push event: %w", err)
	}
	ev, err := event.Decode(w.pushRaw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Push, err)
	}
	push, ok := ev.(event.Push)
	if !ok || push.Repository != repository || push.Tag == "" {
		return nil, fmt.Errorf("%s: want a push of a tag of %s, got %T %+v", f.Push, repository, ev, ev)
	}
	w.push = push
	return w, nil
}

// seed creates, in moto, the cluster(s) and services of every environment
// running runningTag, the ECR repository with runningTag, and the
// configuration document. Each service gets a task definition family of its
// own, the usual layout, registered from taskDefFile with that
// environment's variables (what it ran before ecrdeploy).
func (w *world) seed(ctx context.Context, c *localaws.Client, taskDefFile string) error {
	// The state table, from template.yaml's resource, as sam deploy makes it.
	if err := c.CreateStateTable(ctx, localaws.StateTable); err != nil {
		return err
	}
	clusters := map[string]bool{}
	for _, name := range w.doc.Names() {
		env := w.doc.Environments[name]
		if !clusters[env.Cluster] {
			if _, err := c.CreateCluster(ctx, env.Cluster); err != nil {
				return err
			}
			clusters[env.Cluster] = true
		}
		for _, svc := range env.Services {
			td, err := localaws.ReadTaskDefinitionFile(taskDefFile)
			if err != nil {
				return err
			}
			if err := prepareTaskDefinition(td, svc, env); err != nil {
				return fmt.Errorf("%s: %w", taskDefFile, err)
			}
			arn, err := c.RegisterTaskDefinition(ctx, td)
			if err != nil {
				return err
			}
			if _, err := c.CreateService(ctx, env.Cluster, svc, arn, 1); err != nil {
				return err
			}
			w.seeded[svc] = arn
		}
	}
	if _, err := c.CreateRepository(ctx, repository); err != nil {
		return err
	}
	if _, err := c.PutImage(ctx, repository, runningTag, localaws.ImageManifest(repository+" "+runningTag)); err != nil {
		return err
	}
	if _, err := c.PutParameter(ctx, config.ParameterName(prefix, repository), string(w.configJSON)); err != nil {
		return err
	}
	return nil
}

// pushImage puts the image a push event announces into ECR, under the
// event's digest: the event is then exactly what ECR sends for that image,
// and it is sent unchanged. (moto stores the digest it is given; ECR
// computes it from the manifest.)
func pushImage(ctx context.Context, c *localaws.Client, p event.Push) error {
	if p.Repository != repository {
		if _, err := c.CreateRepository(ctx, p.Repository); err != nil {
			return err
		}
	}
	manifest := localaws.ImageManifest(p.Repository + " " + p.Tag + " " + p.Digest)
	_, err := c.PutImageDigest(ctx, p.Repository, p.Tag, manifest, p.Digest)
	return err
}

// prepareTaskDefinition makes td the starting revision of service: its own
// family, and the environment's variables on the containers that run the
// repository. It returns an error if no container does, or if td's image is
// not runningTag.
func prepareTaskDefinition(td *ecs.RegisterTaskDefinitionInput, service string, env *config.Environment) error {
	td.Family = aws.String(service)
	n := 0
	for i := range td.ContainerDefinitions {
		cd := &td.ContainerDefinitions[i]
		if !runsRepository(*cd, env) {
			continue
		}
		n++
		if img := aws.ToString(cd.Image); !strings.HasSuffix(img, "/"+repository+":"+runningTag) {
			return fmt.Errorf("container %s runs %s, want %s:%s", aws.ToString(cd.Name), img, repository, runningTag)
		}
		for _, k := range slices.Sorted(maps.Keys(env.Environment)) {
			i := slices.IndexFunc(cd.Environment, func(kv ecstypes.KeyValuePair) bool { return aws.ToString(kv.Name) == k })
			kv := ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(env.Environment[k])}
			if i >= 0 {
				cd.Environment[i] = kv
			} else {
				cd.Environment = append(cd.Environment, kv)
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("no container runs %s", repository)
	}
	return nil
}

// runsRepository reports whether a container is one ecrdeploy sets the image
// of: one named by the environment's container, or, without it, one whose
// image is from the repository.
func runsRepository(cd ecstypes.ContainerDefinition, env *config.Environment) bool {
	if len(env.Container) > 0 {
		return slices.Contains(env.Container, aws.ToString(cd.Name))
	}
	img := aws.ToString(cd.Image)
	return strings.Contains(img, "/"+repository+":") || strings.Contains(img, "/"+repository+"@")
}

// stateName names an environment's state record: its key in the state
// table.
func stateName(environment string) string {
	return "the state table " + localaws.StateTable + " (" + repository + ", " + environment + ")"
}
