package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

const (
	// fixture is the task definition every service starts from: a Fargate
	// web container with a FireLens sidecar, secrets, a health check and
	// volumes, as pkg/deploy's integration tests use it.
	fixture = "../../pkg/taskdef/testdata/fargate-web.json"
	cluster = "apps"
	prefix  = "/ecrdeploy"
	// container is the container of the fixture that runs the repository's
	// image.
	container = "web"
)

// world is one measurement's local AWS: a freshly reset moto behind the
// counting proxy, with one cluster.
type world struct {
	env *awstest.Env
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), cluster))(t)
	return &world{env: env}
}

// service registers the fixture as family, its web container running
// repository:tag, and creates a service of one task running it. It returns
// the ARN of the revision.
func (w *world) service(t *testing.T, repository, family, service, tag string) string {
	t.Helper()
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	in, err := localaws.ParseTaskDefinition(data)
	if err != nil {
		t.Fatal(err)
	}
	in.Family = aws.String(family)
	for i := range in.ContainerDefinitions {
		if aws.ToString(in.ContainerDefinitions[i].Name) == container {
			in.ContainerDefinitions[i].Image = aws.String(localaws.ImageURI(repository, tag))
		}
	}
	arn := awstest.Must(w.env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(w.env.Local.CreateService(t.Context(), cluster, service, arn, 1))(t)
	return arn
}

// environment is the part of an environment's configuration the benchmarks
// vary.
type environment struct {
	Trigger     string            `json:"trigger,omitempty"`
	PromoteFrom string            `json:"promoteFrom,omitempty"`
	Versions    string            `json:"versions,omitempty"`
	Prereleases bool              `json:"prereleases,omitempty"`
	Cluster     string            `json:"cluster"`
	Services    []string          `json:"services"`
	Container   string            `json:"container"`
	Environment map[string]string `json:"environment,omitempty"`
}

// configure writes the configuration document of a repository.
func (w *world) configure(t *testing.T, repository string, envs map[string]environment) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"environments": envs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse("bench", b); err != nil {
		t.Fatalf("benchmark configuration of %s is invalid: %v", repository, err)
	}
	awstest.Must(w.env.Local.PutParameter(t.Context(), config.ParameterName(prefix, repository), string(b)))(t)
}

// settings are the deployer function's defaults: ECRDEPLOY_PREFIX,
// ECRDEPLOY_EVENT_BUS and ECRDEPLOY_CONFIG_TTL unset.
var settings = handler.Settings{Prefix: prefix, EventBus: "default", ConfigTTL: config.DefaultTTL, Table: localaws.StateTable}

// handler wires the library exactly as the functions do (handler.Wire: the
// config cache, the state store, a client pool, ECR and EventBridge for
// result events) against the proxy. Each call is a new function instance:
// cold configuration cache, new connections.
func (w *world) handler() *handler.Handler {
	// The functions write EMF lines to standard output.
	// Its clients retry and pace themselves as the functions' do
	// (handler.LoadAWS), not as the tests' clients (three attempts).
	return handler.Wire(handler.Paced(w.env.Config), settings, handler.Options{Log: slog.New(slog.DiscardHandler), Metrics: io.Discard})
}

// deployer is the deployment library of a new function instance.
func (w *world) deployer() *deploy.Deployer { return w.handler().Deployer }

// image makes repository:tag exist in ECR (seeding moto directly) and
// returns the push event ECR would send for it.
func (w *world) image(t *testing.T, repository, tag string) event.Push {
	t.Helper()
	digest := awstest.Must(w.env.Local.PutImage(t.Context(), repository, tag, localaws.ImageManifest(repository+":"+tag)))(t)
	return pushEvent(repository, tag, digest)
}

// pushEvent is the event of a push of repository:tag with digest.
func pushEvent(repository, tag, digest string) event.Push {
	return event.Push{
		ID:   "ev-" + strings.ReplaceAll(repository, "/", ".") + "-" + tag,
		Time: time.Now().UTC().Truncate(time.Second), Account: localaws.AccountID, Region: localaws.Region,
		Repository: repository, Tag: tag, Digest: digest,
		ManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
		ArtifactMediaType: "application/vnd.docker.container.image.v1+json",
	}
}

// rawPush is the EventBridge event of p as Lambda delivers it to the
// deployer function.
func rawPush(p event.Push) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": p.ID, "detail-type": "ECR Image Action", "source": "aws.ecr",
		"account": p.Account, "time": p.Time.Format(time.RFC3339), "region": p.Region, "resources": []string{},
		"detail": map[string]string{
			"result": "SUCCESS", "repository-name": p.Repository, "image-digest": p.Digest,
			"action-type": "PUSH", "image-tag": p.Tag,
			"manifest-media-type": p.ManifestMediaType, "artifact-media-type": p.ArtifactMediaType,
		},
	})
	return b
}

// outcomes summarises a result as "environment: outcome reason" lines, in
// result order; a row that records a rollout (an ECS event) says "rollout"
// and its status, and a reconcile's rows name their repository
// ("repository/environment: …").
func outcomes(res deploy.Result) string {
	var parts []string
	for _, r := range res.Results {
		s := string(r.Outcome)
		if s == "" && r.Rollout != "" {
			s = "rollout " + string(r.Rollout)
		}
		if r.Reason != "" {
			s += " " + string(r.Reason)
		}
		if r.Environment != "" {
			s = r.Environment + ": " + s
		}
		parts = append(parts, s)
	}
	for _, repo := range res.Repositories {
		for _, r := range repo.Results {
			s := string(r.Outcome)
			if r.Reason != "" {
				s += " " + string(r.Reason)
			}
			parts = append(parts, repo.Repository+"/"+r.Environment+": "+s)
		}
		if repo.Error != "" {
			parts = append(parts, repo.Repository+": error: "+repo.Error)
		}
	}
	for _, repo := range res.NotReached {
		parts = append(parts, repo+": not reached")
	}
	if res.Error != "" {
		parts = append(parts, "error: "+res.Error)
	}
	if len(res.Environments) > 0 {
		parts = append(parts, fmt.Sprintf("status of %d environments", len(res.Environments)))
	}
	return strings.Join(parts, ", ")
}

// running returns the version tag of the image that the web container of
// service's current revision, in the benchmarks' cluster, runs, read from
// moto directly.
func (w *world) running(t *testing.T, service string) string {
	t.Helper()
	return w.runningIn(t, cluster, service)
}

// recorded returns the state record of a repository's environment, read from
// moto directly; ok is false when there is none.
func (w *world) recorded(t *testing.T, repository, environment string) (rec state.Record, ok bool) {
	t.Helper()
	raw, ok := awstest.Must2(w.env.Local.StateRecord(t.Context(), w.env.Table, repository, environment))(t)
	if !ok {
		return rec, false
	}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatalf("state record of %s/%s: %v", repository, environment, err)
	}
	return rec, true
}
