// Package verify checks a repository's configuration against AWS before it
// is relied on: that each environment's role can be assumed, its cluster and
// services exist, its task definitions have the containers it names, the
// secrets it references exist, a CODE_DEPLOY service has the CodeDeploy
// deployment group and load balancer its deployments need, its services can
// shift traffic the way its deployment strategy does, and the alarms it
// names exist.
package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/appspec"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// Targets gives the clients of the account and region an environment lives
// in; *target.Pool satisfies it.
type Targets interface {
	ECS(ctx context.Context, t target.Target) (target.ECSAPI, error)
	SSM(ctx context.Context, t target.Target) (target.SSMAPI, error)
	CodeDeploy(ctx context.Context, t target.Target) (target.CodeDeployAPI, error)
	CloudWatch(ctx context.Context, t target.Target) (target.CloudWatchAPI, error)
}

// ConfigSource returns a repository's configuration document.
type ConfigSource interface {
	Get(ctx context.Context, repository string) (*config.Document, error)
}

// Verifier checks configurations against AWS.
type Verifier struct {
	Config  ConfigSource
	Targets Targets
}

// Check is one line of a verification.
type Check struct {
	Environment string `json:"environment,omitempty"`
	What        string `json:"check"`
	OK          bool   `json:"ok"`
	Detail      string `json:"detail,omitempty"`
}

// Verify checks a repository's configuration against AWS: that each
// environment's role can be assumed, that its cluster and services exist,
// that each service's task definition (or the template) has the containers
// the configuration names, that secret parameters exist, that a
// CODE_DEPLOY service is deployed by a CodeDeploy deployment group (the one
// named in deployment.codeDeploy, or one found) and routes traffic to one
// container and port, that each service can shift traffic when the strategy
// is of the blue-green family, and that the deployment's alarms exist. An
// EXTERNAL service is reported as skipped. Secrets in
// Secrets Manager are listed as not checked. It returns an error only when
// the configuration cannot be read; every problem found is a failed Check.
func (d *Verifier) Verify(ctx context.Context, repository string) ([]Check, error) {
	doc, err := d.Config.Get(ctx, repository)
	if err != nil {
		return []Check{{What: "configuration " + repository, Detail: err.Error()}}, nil
	}
	checks := []Check{{What: fmt.Sprintf("configuration %s: environments %s", repository, strings.Join(doc.Names(), ", ")), OK: true}}
	for _, name := range doc.Names() {
		checks = append(checks, d.verifyEnvironment(ctx, repository, name, doc.Environments[name])...)
	}
	return checks, nil
}

func (d *Verifier) verifyEnvironment(ctx context.Context, repository, name string, env *config.Environment) []Check {
	var checks []Check
	add := func(ok bool, what, detail string) {
		checks = append(checks, Check{Environment: name, What: what, OK: ok, Detail: detail})
	}
	t := target.Of(repository, name, env.Region, env.RoleARN)
	client, err := d.Targets.ECS(ctx, t)
	if env.RoleARN != "" {
		add(err == nil, "role "+env.RoleARN+" can be assumed", errText(err))
	}
	if err != nil {
		return checks
	}
	observed, err := target.DescribeServices(ctx, client, env.Cluster, env.Services)
	add(err == nil, "cluster "+env.Cluster+" exists", errText(err))
	if err != nil {
		return checks
	}
	template := env.TaskDefinition.Input()
	for _, svc := range env.Services {
		obs, ok := observed[ecsref.ServiceName(svc)]
		add(ok, "service "+svc+" exists", map[bool]string{false: "not found in cluster " + env.Cluster}[ok])
		if !ok {
			continue
		}
		switch {
		case obs.CodeDeployControlled():
			checks = append(checks, d.verifyCodeDeploy(ctx, t, name, env, svc, obs)...)
		case !obs.ECSControlled():
			add(false, "service "+svc+" is deployed by ECS or CodeDeploy", "its deployment controller is "+obs.Controller+
				": ecrdeploy cannot change its task definition, and skips it (unsupported-controller)")
			continue
		}
		if dc := env.Deployment; dc != nil && dc.Strategy.BlueGreenFamily() {
			ok, detail := trafficShifting(obs)
			add(ok, fmt.Sprintf("service %s can shift traffic (strategy %s)", svc, dc.Strategy), detail)
		}
		in, where := template, "template"
		if in == nil {
			td, found, err := target.DescribeTaskDefinition(ctx, client, obs.TaskDefinition)
			if err != nil || !found {
				add(false, "task definition "+obs.TaskDefinition+" of "+svc+" can be read", errText(err))
				continue
			}
			in, where = taskdef.FromDescribe(td.Def, td.Tags), obs.TaskDefinition
		}
		images, err := taskdef.Images(in, env.Container, repository)
		what := fmt.Sprintf("%s has the containers for %s", where, repository)
		if len(env.Container) > 0 {
			what = fmt.Sprintf("%s has container(s) %s", where, strings.Join(env.Container, ", "))
		}
		detail := errText(err)
		if err == nil {
			names := make([]string, 0, len(images))
			for c := range images {
				names = append(names, c)
			}
			slices.Sort(names)
			detail = strings.Join(names, ", ")
		}
		add(err == nil, what, detail)
	}
	checks = append(checks, d.verifySecrets(ctx, t, name, env)...)
	checks = append(checks, d.verifyAlarms(ctx, t, name, env)...)
	return checks
}

// verifyCodeDeploy checks a CODE_DEPLOY service: that a CodeDeploy
// deployment group deploys it (the one the environment names, or one found
// among the named application's or the account's), and that its load
// balancer names the container and port a deployment routes traffic to.
func (d *Verifier) verifyCodeDeploy(ctx context.Context, t target.Target, name string, env *config.Environment, svc string, obs target.Service) []Check {
	var checks []Check
	add := func(ok bool, what, detail string) {
		checks = append(checks, Check{Environment: name, What: what, OK: ok, Detail: detail})
	}
	var application, group string
	if env.Deployment != nil && env.Deployment.CodeDeploy != nil {
		application, group = env.Deployment.CodeDeploy.Application, env.Deployment.CodeDeploy.DeploymentGroup
	}
	what := "service " + svc + " is deployed by a CodeDeploy deployment group"
	switch {
	case group != "":
		what = "service " + svc + " is deployed by CodeDeploy deployment group " + application + "/" + group
	case application != "":
		what = "service " + svc + " is deployed by a deployment group of CodeDeploy application " + application
	}
	client, err := d.Targets.CodeDeploy(ctx, t)
	if err == nil {
		var g target.CodeDeployGroup
		g, err = target.FindCodeDeployGroup(ctx, client, env.Cluster, svc, application, group)
		if err == nil {
			add(true, what, g.String()+" ("+g.DeploymentConfig+")")
		}
	}
	if err != nil {
		add(false, what, errText(err))
	}
	lb, err := appspec.Container(obs, env.Container)
	detail := errText(err)
	if err == nil {
		detail = fmt.Sprintf("%s:%d", lb.ContainerName, lb.ContainerPort)
	}
	add(err == nil, "service "+svc+" routes traffic to one container and port for CodeDeploy's AppSpec", detail)
	return checks
}

// verifySecrets checks that every secret kept in SSM Parameter Store exists
// (in the target's account and region, where ECS will read it).
func (d *Verifier) verifySecrets(ctx context.Context, t target.Target, name string, env *config.Environment) []Check {
	var checks []Check
	keys := make([]string, 0, len(env.Secrets))
	for k := range env.Secrets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		from := env.Secrets[k]
		param, region, ok := ssmParameter(from)
		if !ok {
			checks = append(checks, Check{Environment: name, What: "secret " + k + " (" + from + ")", OK: true, Detail: "not checked: not an SSM parameter"})
			continue
		}
		st := t
		if region != "" {
			st.Region = region
		}
		client, err := d.Targets.SSM(ctx, st)
		if err == nil {
			_, err = client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
		}
		var nf *ssmtypes.ParameterNotFound
		detail := errText(err)
		if errors.As(err, &nf) {
			detail = "parameter " + param + " not found"
		}
		checks = append(checks, Check{Environment: name, What: "secret " + k + " parameter " + param + " exists", OK: err == nil, Detail: detail})
	}
	return checks
}

// ssmParameter returns the parameter name (or ARN, which GetParameter also
// takes) and region of a secret's valueFrom when it is an SSM parameter.
func ssmParameter(valueFrom string) (name, region string, ok bool) {
	if strings.HasPrefix(valueFrom, "arn:") {
		parts := strings.SplitN(valueFrom, ":", 6)
		if len(parts) == 6 && parts[2] == "ssm" && strings.HasPrefix(parts[5], "parameter") {
			return valueFrom, parts[3], true
		}
		return "", "", false
	}
	return valueFrom, "", true // a bare name is a parameter in the task's region
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
