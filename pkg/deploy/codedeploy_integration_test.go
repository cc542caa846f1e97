package deploy_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/verify"
)

const (
	devService = "hello-color-dev"
	devGroup   = "hello-color-dev-dg"
)

// recreateDev re-creates dev's service under another deployment controller,
// behind a target group that routes to container web on port 8080, running
// the revision it ran; it returns that revision.
func recreateDev(t *testing.T, w *world, controller ecstypes.DeploymentControllerType) string {
	t.Helper()
	arn := w.state0(t)
	if _, err := w.env.ECS().DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String(devService), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	n := awstest.Must(w.env.Local.Network(t.Context()))(t)
	if _, err := w.env.ECS().CreateService(t.Context(), &ecs.CreateServiceInput{
		Cluster: aws.String(cluster), ServiceName: aws.String(devService), TaskDefinition: aws.String(arn), DesiredCount: aws.Int32(1),
		LaunchType:           ecstypes.LaunchTypeFargate,
		DeploymentController: &ecstypes.DeploymentController{Type: controller},
		LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:" + localaws.AccountID + ":targetgroup/dev-blue/0123456789abcdef"),
			ContainerName:  aws.String("web"), ContainerPort: aws.Int32(8080),
		}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{n.SubnetID}, SecurityGroups: []string{n.SecurityGroupID}}},
	}); err != nil {
		t.Fatal(err)
	}
	return arn
}

// codeDeployDev makes dev a service CodeDeploy deploys (blue/green), through
// the deployment group apps/hello-color-dev-dg; it returns the revision dev
// runs.
func codeDeployDev(t *testing.T, w *world) string {
	t.Helper()
	arn := recreateDev(t, w, ecstypes.DeploymentControllerTypeCodeDeploy)
	if err := w.env.Local.CreateCodeDeployGroup(t.Context(), "apps", devGroup, cluster, devService); err != nil {
		t.Fatal(err)
	}
	return arn
}

// devStatus is dev's environment in a status answer.
func (w *world) devStatus(t *testing.T) deploy.EnvironmentStatus {
	t.Helper()
	res, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"})
	if err != nil || res.Error != "" {
		t.Fatalf("status: %v %s", err, res.Error)
	}
	for _, e := range res.Environments {
		if e.Environment == "dev" {
			return e
		}
	}
	t.Fatalf("no dev in status %+v", res)
	return deploy.EnvironmentStatus{}
}

// devTaskSets are the task sets of dev's service, PRIMARY first.
func (w *world) devTaskSets() []awstest.ECSTaskSet {
	return w.env.ECSModel.TaskSets(cluster, devService)
}

func TestCodeDeployServiceIsDeployed(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	before := codeDeployDev(t, w)
	w.env.Proxy.Reset()
	p := w.push(t, "1.4.0")
	res := w.deliver(t, p)
	r := row(t, res, "dev")
	if r.Outcome != deploy.Deployed || r.Error != "" || r.DeploymentID == "" {
		t.Fatalf("dev = %+v, want deployed through a CodeDeploy deployment", r)
	}
	if got := outcomes(res)["staging"]; got != "deployed" {
		t.Errorf("staging = %s, want deployed: one environment's controller is not the others'", got)
	}
	if n := countUpdates(w.env, devService); n != 0 {
		t.Errorf("%d UpdateService calls of dev, want none: ECS refuses them", n)
	}
	// The AppSpec names the new revision, and the container and port of the
	// service's load balancer; the description says whose deployment it is.
	ds := w.env.CodeDeployModel.Deployments()
	if len(ds) != 1 {
		t.Fatalf("%d CodeDeploy deployments, want 1", len(ds))
	}
	d := ds[0]
	if d.ID != r.DeploymentID || d.Application != "apps" || d.DeploymentGroup != devGroup || d.Cluster != cluster || d.Service != devService ||
		d.TaskDefinition != r.TaskDefinition || d.ContainerName != "web" || d.ContainerPort != 8080 || d.Description != "ecrdeploy: hello-color 1.4.0 to dev" {
		t.Errorf("CodeDeploy deployment %+v, want one of %s to web:8080 in apps/%s", d, r.TaskDefinition, devGroup)
	}
	td, _ := awstest.Must2(w.env.Local.DescribeTaskDefinition(t.Context(), r.TaskDefinition))(t)
	if got := image(td, "web"); got != localaws.ImageURI("hello-color", "1.4.0") {
		t.Errorf("the deployed revision runs %s", got)
	}
	// The record holds CodeDeploy's deployment.
	entry := w.state(t, "dev").Services[devService]
	if entry.DeploymentID != d.ID || entry.Controller != state.ControllerCodeDeploy || entry.Rollout != state.InProgress ||
		!ecsref.SameRevision(entry.TaskDefinition, r.TaskDefinition) || !ecsref.SameRevision(entry.PreviousTaskDefinition, before) {
		t.Errorf("dev's record entry %+v, want CodeDeploy's deployment %s of %s, in progress", entry, d.ID, r.TaskDefinition)
	}

	// A re-delivery before CodeDeploy starts it deploys nothing again.
	if got := row(t, w.deliver(t, p), "dev"); got.Outcome != deploy.Unchanged {
		t.Errorf("re-delivery: dev = %+v, want unchanged", got)
	}
	if ds := w.env.CodeDeployModel.Deployments(); len(ds) != 1 || ds[0].Status != awstest.CodeDeployCreated {
		t.Errorf("re-delivery: CodeDeploy deployments %+v, want the first alone, untouched", ds)
	}

	// While CodeDeploy deploys it, status says so, without drift.
	awstest.Must(0, w.env.CodeDeployModel.Start(t.Context(), d.ID))(t)
	if st := w.devStatus(t); st.Rollout != state.InProgress || st.Services[0].Drift {
		t.Errorf("status while CodeDeploy deploys: %+v", st)
	}
	// Once it succeeded, status and the record see it completed.
	awstest.Must(0, w.env.CodeDeployModel.Succeed(t.Context(), d.ID))(t)
	st := w.devStatus(t)
	if s := st.Services[0]; st.Rollout != state.Completed || s.Drift || !ecsref.SameRevision(s.Running, r.TaskDefinition) {
		t.Errorf("status after CodeDeploy succeeded: %+v %+v", st, s)
	}
	if rec := w.state(t, "dev"); rec.LastCompleted != "1.4.0" || rec.Services[devService].Rollout != state.Completed {
		t.Errorf("dev's record after success: %+v", rec)
	}
	// Reconcile finds dev in sync: nothing registered, nothing deployed.
	w.env.Proxy.Reset()
	res = w.reconcile(t)
	if got := repoOutcomes(res)["hello-color/dev"]; got != "unchanged" {
		t.Errorf("reconcile: dev = %q, want unchanged", got)
	}
	if n := w.env.Proxy.Count("codedeploy:CreateDeployment") + w.env.Proxy.Count("RegisterTaskDefinition"); n != 0 {
		t.Errorf("reconcile of a service in sync made %d deployments or registrations", n)
	}
}

// A CodeDeploy deployment fails and CodeDeploy rolls it back: the version
// is held, the record goes back to what the original task set runs, and
// neither reconcile nor a re-delivered push deploys it again.
func TestCodeDeployFailureIsHeld(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	codeDeployDev(t, w)
	r14 := row(t, w.deliver(t, w.push(t, "1.4.0")), "dev")
	awstest.Must(0, w.env.CodeDeployModel.Succeed(t.Context(), r14.DeploymentID))(t)
	p15 := w.push(t, "1.5.0")
	r15 := row(t, w.deliver(t, p15), "dev")
	if r15.Outcome != deploy.Deployed || r15.DeploymentID == r14.DeploymentID {
		t.Fatalf("1.5.0: dev = %+v", r15)
	}
	awstest.Must(0, w.env.CodeDeployModel.Fail(t.Context(), r15.DeploymentID, "", ""))(t)

	w.env.Proxy.Reset()
	res := w.reconcile(t)
	if got := repoOutcomes(res)["hello-color/dev"]; got != "unchanged" {
		t.Errorf("reconcile: dev = %q, want unchanged (on 1.4.0)", got)
	}
	if n := w.env.Proxy.Count("codedeploy:CreateDeployment"); n != 0 {
		t.Errorf("reconcile created %d CodeDeploy deployments, want none", n)
	}
	rec := w.state(t, "dev")
	entry := rec.Services[devService]
	if rec.Version != "1.4.0" || !rec.IsHeld("1.5.0") || rec.Failed == nil || rec.Failed.Version != "1.5.0" ||
		!strings.Contains(rec.Failed.Reason, awstest.CodeDeployFailedMessage) || !ecsref.SameRevision(entry.TaskDefinition, r14.TaskDefinition) {
		t.Errorf("dev's record: %s on %s, held %v, failed %+v; want 1.4.0 on %s, 1.5.0 held and failed as CodeDeploy says",
			rec.Version, entry.TaskDefinition, rec.Held, rec.Failed, r14.TaskDefinition)
	}
	// The service stays on the original task set.
	if ts := w.devTaskSets(); len(ts) != 1 || ts[0].Status != awstest.TaskSetPrimary || !ecsref.SameRevision(ts[0].TaskDefinition, r14.TaskDefinition) {
		t.Errorf("dev's task sets %+v, want 1.4.0's alone", ts)
	}
	if got := outcomes(w.deliver(t, p15))["dev"]; got != "skipped held" {
		t.Errorf("re-delivered push of 1.5.0: dev = %q, want skipped held", got)
	}
	if n := w.env.Proxy.Count("codedeploy:CreateDeployment"); n != 0 {
		t.Errorf("%d CodeDeploy deployments after the failure, want none", n)
	}
}

// codeDeployInProgress is a world whose dev deploys through CodeDeploy:
// 1.4.0's deployment succeeded (r14), 1.5.0's is under way (r15).
func codeDeployInProgress(t *testing.T) (*world, deploy.Row, deploy.Row) {
	t.Helper()
	w := newWorld(t, fargateFixture, nil)
	codeDeployDev(t, w)
	r14 := row(t, w.deliver(t, w.push(t, "1.4.0")), "dev")
	awstest.Must(0, w.env.CodeDeployModel.Succeed(t.Context(), r14.DeploymentID))(t)
	r15 := row(t, w.deliver(t, w.push(t, "1.5.0")), "dev")
	awstest.Must(0, w.env.CodeDeployModel.Start(t.Context(), r15.DeploymentID))(t)
	return w, r14, r15
}

// A rollback of an environment whose CodeDeploy deployment is still under
// way stops it, with CodeDeploy's rollback, and holds its version: the
// version that ran before runs again, and nothing else is deployed.
func TestRollbackStopsACodeDeployDeploymentInProgress(t *testing.T) {
	w, r14, r15 := codeDeployInProgress(t)
	if ts := w.devTaskSets(); len(ts) != 2 {
		t.Fatalf("dev's task sets while 1.5.0 deploys: %+v", ts)
	}

	w.env.Proxy.Reset()
	res := w.rollback(t)
	r := row(t, res, "dev")
	if res.Error != "" || r.Outcome != deploy.Deployed || !ecsref.SameRevision(r.TaskDefinition, r14.TaskDefinition) || res.Version != "1.4.0" {
		t.Fatalf("rollback: %+v (%s), want dev back on 1.4.0 (%s)", r, res.Error, r14.TaskDefinition)
	}
	if got := []int{w.env.Proxy.Count("codedeploy:StopDeployment"), w.env.Proxy.Count("codedeploy:CreateDeployment"), w.env.Proxy.Count("RegisterTaskDefinition")}; got[0] != 1 || got[1] != 0 || got[2] != 0 {
		t.Errorf("StopDeployment, CreateDeployment, RegisterTaskDefinition: %v calls, want 1, 0, 0", got)
	}
	if d, _ := w.env.CodeDeployModel.Deployment(r15.DeploymentID); d.Status != awstest.CodeDeployStopped || d.ErrorCode != "MANUAL_STOP" {
		t.Errorf("1.5.0's CodeDeploy deployment is %s (%s), want stopped", d.Status, d.ErrorCode)
	}
	if ts := w.devTaskSets(); len(ts) != 1 || !ecsref.SameRevision(ts[0].TaskDefinition, r14.TaskDefinition) {
		t.Errorf("dev's task sets after the rollback: %+v, want 1.4.0's alone", ts)
	}
	rec := w.state(t, "dev")
	entry := rec.Services[devService]
	if rec.Version != "1.4.0" || !rec.IsHeld("1.5.0") || rec.Cause != state.CauseRollback || entry.Controller != state.ControllerCodeDeploy ||
		entry.Rollout != state.Completed || !ecsref.SameRevision(entry.TaskDefinition, r14.TaskDefinition) {
		t.Errorf("dev's record after the rollback: %+v", rec)
	}
	// Reconcile leaves it there.
	w.env.Proxy.Reset()
	if got := repoOutcomes(w.reconcile(t))["hello-color/dev"]; got != "unchanged" {
		t.Errorf("reconcile after the rollback: dev = %q, want unchanged", got)
	}
	if n := w.env.Proxy.Count("codedeploy:CreateDeployment"); n != 0 {
		t.Errorf("reconcile after the rollback created %d CodeDeploy deployments", n)
	}
}

// The version of a CodeDeploy deployment a rollback stops is held before
// CodeDeploy is asked: when the stop is refused, the rollback fails and
// the version stays held, so no push or reconcile deploys it again.
func TestARefusedCodeDeployStopLeavesTheVersionHeld(t *testing.T) {
	w, _, _ := codeDeployInProgress(t)

	w.env.Proxy.Fail("codedeploy:StopDeployment", awstest.Always, awstest.AWSError(400, "AccessDeniedException", "not authorized to perform: codedeploy:StopDeployment"))
	res, err := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"})
	if err == nil && res.Error == "" {
		t.Fatalf("rollback with StopDeployment refused: %+v, want it to fail", res)
	}
	if rec := w.state(t, "dev"); !rec.IsHeld("1.5.0") {
		t.Errorf("dev's record after the refused stop: held %v, want 1.5.0 held", rec.Held)
	}
}

// Someone else's CodeDeploy deployment keeps the group busy: it is waited
// for (the push fails retryably), never stopped.
func TestCodeDeployDeploymentOfAnotherIsWaitedFor(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	before := codeDeployDev(t, w)
	theirs, err := w.env.CodeDeploy().CreateDeployment(t.Context(), &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String("apps"), DeploymentGroupName: aws.String(devGroup), Description: aws.String("a person's deployment"),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(
			`{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": "` + before +
				`", "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}}}}]}`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if !errors.Is(err, target.ErrDeploymentInProgress) || !target.Retryable(err) {
		t.Errorf("Push = %v, want a retryable error: another deployment is in progress", err)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, aws.ToString(theirs.DeploymentId)) {
		t.Errorf("dev = %+v, want failed, naming the deployment in progress", r)
	}
	if d, _ := w.env.CodeDeployModel.Deployment(aws.ToString(theirs.DeploymentId)); d.Status != awstest.CodeDeployCreated {
		t.Errorf("their deployment is %s, want untouched", d.Status)
	}
	if got := outcomes(res)["staging"]; got != "deployed" {
		t.Errorf("staging = %s, want deployed", got)
	}
}

// Looking the deployment group up among every CodeDeploy application costs
// several calls: a warm deployer does it once.
func TestCodeDeployGroupIsLookedUpOnce(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	codeDeployDev(t, w)
	w.env.Proxy.Reset()
	r14 := row(t, w.deliver(t, w.push(t, "1.4.0")), "dev")
	if n := w.env.Proxy.Count("codedeploy:ListApplications"); r14.Outcome != deploy.Deployed || n != 1 {
		t.Fatalf("first deployment: dev %+v, %d ListApplications", r14, n)
	}
	awstest.Must(0, w.env.CodeDeployModel.Succeed(t.Context(), r14.DeploymentID))(t)
	w.env.Proxy.Reset()
	r15 := row(t, w.deliver(t, w.push(t, "1.5.0")), "dev")
	lookups := w.env.Proxy.Count("codedeploy:ListApplications") + w.env.Proxy.Count("codedeploy:ListDeploymentGroups") + w.env.Proxy.Count("codedeploy:GetDeploymentGroup")
	if r15.Outcome != deploy.Deployed || lookups != 0 {
		t.Errorf("second deployment: dev %+v after %d lookup calls, want none", r15, lookups)
	}
}

// The environment names its deployment group: no lookup.
func TestCodeDeployGroupNamedInTheEnvironment(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	codeDeployDev(t, w)
	awstest.Must(w.env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],
		"container":"web","deployment":{"codeDeploy":{"application":"apps","deploymentGroup":"`+devGroup+`"}}}}}`))(t)
	w.env.Proxy.Reset()
	r := row(t, w.deliver(t, w.push(t, "1.4.0")), "dev")
	if r.Outcome != deploy.Deployed || w.env.Proxy.Count("codedeploy:ListApplications") != 0 || w.env.Proxy.Count("codedeploy:GetDeploymentGroup") != 1 {
		t.Errorf("dev = %+v with calls %v, want deployed through the named group, read once", r, w.env.Proxy.Calls())
	}
}

// A CODE_DEPLOY service that no deployment group deploys fails, and says
// why; a retry would not help; config verify reports it.
func TestCodeDeployServiceWithoutDeploymentGroupFails(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	recreateDev(t, w, ecstypes.DeploymentControllerTypeCodeDeploy)
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if err != nil {
		t.Errorf("Push = %v, want no error: a retry cannot find a deployment group", err)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, target.ErrNoDeploymentGroup.Error()) {
		t.Errorf("dev = %+v, want failed: no deployment group deploys it", r)
	}
	if got := outcomes(res)["staging"]; got != "deployed" {
		t.Errorf("staging = %s, want deployed", got)
	}
	if n := countUpdates(w.env, devService); n != 0 {
		t.Errorf("%d UpdateService calls of dev, want none", n)
	}
	v := &verify.Verifier{Config: w.d.Config, Targets: w.d.Targets.(*target.Pool)}
	checks, err := v.Verify(t.Context(), "hello-color")
	if err != nil {
		t.Fatal(err)
	}
	reported := false
	for _, c := range checks {
		if c.Environment == "dev" && strings.Contains(c.What, "is deployed by a CodeDeploy deployment group") {
			reported = true
			if c.OK || !strings.Contains(c.Detail, target.ErrNoDeploymentGroup.Error()) {
				t.Errorf("verify: %+v, want a failed check: no deployment group deploys it", c)
			}
		}
	}
	if !reported {
		t.Errorf("verify does not report dev's CodeDeploy deployment group: %+v", checks)
	}
}

// An EXTERNAL service is skipped before anything is registered.
func TestExternalServiceIsSkipped(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	recreateDev(t, w, ecstypes.DeploymentControllerTypeExternal)
	w.env.Proxy.Reset()
	res := w.deliver(t, w.push(t, "1.4.0"))
	if r := row(t, res, "dev"); r.Outcome != deploy.Skipped || r.Reason != policy.UnsupportedController {
		t.Errorf("dev = %+v, want skipped unsupported-controller", r)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d registrations, want 1 (staging's only)", n)
	}
	if n := w.env.Proxy.Count("codedeploy:CreateDeployment") + countUpdates(w.env, devService); n != 0 {
		t.Errorf("%d deployments of dev, want none", n)
	}
}

// A request that waits follows the CodeDeploy deployment it started to its
// end, as CodeDeploy tells it.
func TestWaitForACodeDeployDeployment(t *testing.T) {
	for _, tt := range []struct {
		name    string
		end     func(w *world, id string) error
		rollout state.Rollout
		exit    int
	}{
		{"succeeded", func(w *world, id string) error { return w.env.CodeDeployModel.Succeed(t.Context(), id) }, state.Completed, 0},
		{"failed", func(w *world, id string) error { return w.env.CodeDeployModel.Fail(t.Context(), id, "", "") }, state.Failed, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, fargateFixture, nil)
			before := codeDeployDev(t, w)
			w.push(t, "1.4.0")
			w.d.PollInterval, w.d.MaxWait = 20*time.Millisecond, 10*time.Second
			var once sync.Once
			w.d.Progress = func(p deploy.Progress) {
				if p.Rollout != state.InProgress {
					return
				}
				once.Do(func() { // CodeDeploy ends it while the request waits
					if err := tt.end(w, p.DeploymentID); err != nil {
						t.Errorf("end %s: %v", p.DeploymentID, err)
					}
				})
			}
			res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "dev", Wait: true})
			if err != nil {
				t.Fatal(err)
			}
			r := row(t, res, "dev")
			if r.Rollout != tt.rollout {
				t.Errorf("dev = %+v, want rollout %s", r, tt.rollout)
			}
			if k := deploy.Judge(res, err); k.ExitCode() != tt.exit {
				t.Errorf("judged %q, want exit %d", k, tt.exit)
			}
			rec := w.state(t, "dev")
			switch tt.rollout {
			case state.Completed:
				if rec.LastCompleted != "1.4.0" {
					t.Errorf("dev's record after waiting: %+v", rec)
				}
			case state.Failed:
				if !strings.Contains(r.Error, awstest.CodeDeployFailedMessage) || !rec.IsHeld("1.4.0") ||
					!ecsref.SameRevision(rec.Services[devService].TaskDefinition, before) {
					t.Errorf("dev = %+v, record %+v: want the failure in CodeDeploy's words, 1.4.0 held, the service back on %s", r, rec, before)
				}
			}
		})
	}
}

// A record another writer changes while this delivery deploys a CODE_DEPLOY
// service, of a version that stands over this one's, is not overwritten:
// the service is put back on the revision that record names, through a
// CodeDeploy deployment that replaces this delivery's.
func TestACodeDeployDeploymentUnderAStandingRecordIsPutBack(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	before := codeDeployDev(t, w)
	newer := `{"repository":"hello-color","environment":"dev","version":"1.9.0","tag":"1.9.0","digest":"sha256:` + strings.Repeat("9", 64) +
		`","services":{"hello-color-dev":{"cluster":"apps","taskDefinition":"` + before + `","rollout":"completed"}}}`
	var once sync.Once
	w.env.Proxy.Before("codedeploy:CreateDeployment", func(awstest.Call) {
		once.Do(func() {
			if err := w.env.Local.PutStateRecord(t.Context(), w.env.Table, "hello-color", "dev", newer); err != nil {
				t.Errorf("write the newer record: %v", err)
			}
		})
	})
	res := w.deliver(t, w.push(t, "1.4.0"))
	if got := outcomes(res)["dev"]; got != "skipped superseded" {
		t.Errorf("dev = %q, want skipped superseded", got)
	}
	ds := w.env.CodeDeployModel.Deployments()
	if len(ds) != 2 {
		t.Fatalf("CodeDeploy deployments %+v, want ours and the one that puts the service back", ds)
	}
	ours, back := ds[0], ds[1]
	if ours.Status != awstest.CodeDeployStopped || back.TaskDefinition != before ||
		back.Description != "ecrdeploy: hello-color 1.9.0 to dev (replaces "+ours.ID+")" {
		t.Errorf("ours %+v, back %+v: want ours stopped, and %s deployed again in its place", ours, back, before)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.9.0" {
		t.Errorf("record says %s, want the other writer's 1.9.0", rec.Version)
	}
}
