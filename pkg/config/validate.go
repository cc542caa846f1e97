package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
)

// Bounds of the deployment settings. ECS documents no upper limit for
// maximumPercent; 400 lets a service quadruple during a rollout, and anything
// above is far more likely a typo (2000 for 200) than a plan. Below 100 a
// rolling update would have to shrink the service first, which is what
// minimumHealthyPercent is for.
const (
	minMaximumPercent = 100
	maxMaximumPercent = 400
	maxMinimumHealthy = 100
)

var (
	// ecsName: clusters, services, containers and task definition families
	// are named with up to 255 letters, digits, underscores and hyphens.
	ecsName    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	clusterARN = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9_-]{1,255}$`)
	// serviceARN has the long form (service/cluster/name) and the old short
	// one (service/name).
	serviceARN = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service/([A-Za-z0-9_-]{1,255}/)?[A-Za-z0-9_-]{1,255}$`)
	roleARN    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
)

// validate checks a decoded document against the rules that Parse lists, sets
// defaults and compiles each environment's policy. It returns every problem
// found, in environment-name order.
func validate(doc *Document) []*input.Error {
	v := &validator{doc: doc}
	if len(doc.Environments) == 0 {
		v.problem("environments", "at least one environment is required")
		return v.problems
	}
	for _, name := range doc.Names() {
		v.environment(name, doc.Environments[name])
	}
	v.promotionCycles()
	return v.problems
}

type validator struct {
	doc      *Document
	problems []*input.Error
}

func (v *validator) problem(field, format string, args ...any) {
	v.problems = append(v.problems, &input.Error{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (v *validator) environment(name string, env *Environment) {
	path := input.JoinPath("environments", name)
	if !input.ValidEnvironment(name) {
		v.problem(path, "invalid environment name: use 1 to 64 letters, digits, '_', '.' or '-' (not . or ..), as it becomes a segment of an SSM parameter name")
	}
	if env == nil { // the decoder refuses null; guard documents built in code
		v.problem(path, "expected an object, got null")
		return
	}

	switch env.Trigger {
	case "":
		env.Trigger = TriggerPush
	case TriggerPush, TriggerManual:
	default:
		v.problem(path+".trigger", "invalid trigger %q: want %q or %q", env.Trigger, TriggerPush, TriggerManual)
	}

	v.policy(path, env)
	v.cluster(path+".cluster", env.Cluster)
	v.services(path+".services", env.Services)
	v.containers(path+".container", env.Container)
	v.variables(path, env.Environment, env.Secrets)

	if env.Family != "" && !ecsName.MatchString(env.Family) {
		v.problem(path+".family", "invalid family %q: use 1 to 255 letters, digits, '_' or '-'", env.Family)
	}
	if env.RoleARN != "" && !roleARN.MatchString(env.RoleARN) {
		v.problem(path+".roleArn", "invalid role ARN %q: want arn:aws:iam::<account>:role/<name>", env.RoleARN)
	}
	if env.Registry != "" {
		if _, _, ok := input.ParseRegistryHost(env.Registry); !ok {
			v.problem(path+".registry", "invalid registry %q: want an ECR registry host such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com", env.Registry)
		}
	}
	switch env.ImageRef {
	case "", ImageRefTag, ImageRefDigest:
	default:
		v.problem(path+".imageRef", "invalid imageRef %q: want %q or %q", env.ImageRef, ImageRefTag, ImageRefDigest)
	}
	if td := env.TaskDefinition.Input(); td != nil {
		if env.Family == "" {
			env.Family = *td.Family
		}
		seen := map[string]bool{}
		for i, c := range td.ContainerDefinitions {
			name := ""
			if c.Name != nil {
				name = *c.Name
			}
			if seen[name] {
				v.problem(fmt.Sprintf("%s.taskDefinition.containerDefinitions[%d].name", path, i), "duplicate container name %q", name)
			}
			seen[name] = true
		}
	}
	if env.Region != "" && !input.ValidRegion(env.Region) {
		v.problem(path+".region", "invalid region %q: want a region code such as us-east-1", env.Region)
	}
	if env.DesiredCount != nil && *env.DesiredCount < 0 {
		v.problem(path+".desiredCount", "must be 0 or more, got %d", *env.DesiredCount)
	}
	v.deployment(path+".deployment", env.Deployment)

	switch from := env.PromoteFrom; {
	case from == "":
	case from == name:
		v.problem(path+".promoteFrom", "an environment cannot promote from itself")
	case v.doc.Environments[from] == nil:
		v.problem(path+".promoteFrom", "unknown environment %q (environments: %s)", from, strings.Join(v.doc.Names(), ", "))
	}
}

// policy compiles the environment's version policy, reporting a bad range or
// pattern at its own field.
func (v *validator) policy(path string, env *Environment) {
	p, err := policy.New(env.Versions, env.Prereleases, env.TagPattern)
	if err == nil {
		env.policy = p
		return
	}
	problems := input.Problems(err)
	if len(problems) == 0 {
		v.problem(path, "%v", err)
	}
	for _, p := range problems {
		v.problem(path+"."+p.Field, "%s", p.Problem)
	}
}

func (v *validator) cluster(path, cluster string) {
	switch {
	case cluster == "":
		v.problem(path, "required")
	case !ecsName.MatchString(cluster) && !clusterARN.MatchString(cluster):
		v.problem(path, "invalid cluster %q: want a cluster name (1 to 255 letters, digits, '_' or '-') or a cluster ARN", cluster)
	}
}

func (v *validator) services(path string, services []string) {
	if len(services) == 0 {
		v.problem(path, "at least one service is required")
		return
	}
	seen := make(map[string]bool, len(services))
	for i, s := range services {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case s == "":
			v.problem(p, "empty service name")
		case !ecsName.MatchString(s) && !serviceARN.MatchString(s):
			v.problem(p, "invalid service %q: want a service name (1 to 255 letters, digits, '_' or '-') or a service ARN", s)
		case seen[s]:
			v.problem(p, "duplicate service %q", s)
		}
		seen[s] = true
	}
}

func (v *validator) containers(path string, names Names) {
	if names == nil {
		return
	}
	if len(names) == 0 {
		v.problem(path, "empty list: name at least one container, or leave container out to update every container from this repository")
		return
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		p := path
		if len(names) > 1 {
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		switch {
		case n == "":
			v.problem(p, "empty container name")
		case !ecsName.MatchString(n):
			v.problem(p, "invalid container name %q: use 1 to 255 letters, digits, '_' or '-'", n)
		case seen[n]:
			v.problem(p, "duplicate container %q", n)
		}
		seen[n] = true
	}
}

// variables checks environment variables and secrets. ECS takes almost any
// variable name, so only what cannot work is refused: an empty name, and '=',
// which would split differently in the container's environment. A name set in
// both maps is refused because ECS would be left to pick one.
func (v *validator) variables(path string, environment, secrets map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(environment)) {
		if problem := variableName(name); problem != "" {
			v.problem(input.JoinPath(path+".environment", name), "%s", problem)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		p := input.JoinPath(path+".secrets", name)
		if problem := variableName(name); problem != "" {
			v.problem(p, "%s", problem)
		}
		valueFrom := secrets[name]
		switch {
		case valueFrom == "":
			v.problem(p, "empty valueFrom: want the ARN of a Secrets Manager secret or an SSM parameter")
		case strings.ContainsFunc(valueFrom, isSpace):
			v.problem(p, "invalid valueFrom %q: contains white space", valueFrom)
		}
		if _, both := environment[name]; both {
			v.problem(p, "%q is also set in environment: a variable is either a value or a secret", name)
		}
	}
}

func variableName(name string) string {
	switch {
	case name == "":
		return "empty variable name"
	case strings.ContainsRune(name, '='):
		return fmt.Sprintf("invalid variable name %q: contains '='", name)
	case strings.ContainsRune(name, 0):
		return fmt.Sprintf("invalid variable name %q: contains a NUL byte", name)
	}
	return ""
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func (v *validator) deployment(path string, d *Deployment) {
	if d == nil {
		return
	}
	if m := d.MaximumPercent; m != nil && (*m < minMaximumPercent || *m > maxMaximumPercent) {
		v.problem(path+".maximumPercent", "must be from %d to %d, got %d", minMaximumPercent, maxMaximumPercent, *m)
	}
	if m := d.MinimumHealthyPercent; m != nil && (*m < 0 || *m > maxMinimumHealthy) {
		v.problem(path+".minimumHealthyPercent", "must be from 0 to %d, got %d", maxMinimumHealthy, *m)
	}
	if d.MaximumPercent != nil && d.MinimumHealthyPercent != nil && *d.MinimumHealthyPercent >= *d.MaximumPercent {
		v.problem(path, "minimumHealthyPercent %d is not below maximumPercent %d: a rolling update would have no room to replace a task", *d.MinimumHealthyPercent, *d.MaximumPercent)
	}
}

// promotionCycles reports each promoteFrom cycle once, at the environment of
// the cycle whose name sorts first. Self-promotion and unknown environments
// are reported by environment.
func (v *validator) promotionCycles() {
	reported := make(map[string]bool)
	for _, start := range v.doc.Names() {
		if reported[start] {
			continue
		}
		chain := []string{start}
		for cur := start; ; {
			env := v.doc.Environments[cur]
			if env == nil || env.PromoteFrom == "" || env.PromoteFrom == cur || v.doc.Environments[env.PromoteFrom] == nil {
				break
			}
			next := env.PromoteFrom
			if i := slices.Index(chain, next); i >= 0 {
				if i == 0 { // the chain came back to start: a cycle through it
					for _, n := range chain {
						reported[n] = true
					}
					v.problem(input.JoinPath("environments", start)+".promoteFrom", "promotion cycle: %s", strings.Join(append(chain, start), " <- "))
				}
				break
			}
			chain = append(chain, next)
			cur = next
		}
	}
}
