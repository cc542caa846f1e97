package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
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
	ecsName    = input.NewPattern(`^[A-Za-z0-9_-]{1,255}$`)
	clusterARN = input.NewPattern(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9_-]{1,255}$`)
	// serviceARN has the long form (service/cluster/name) and the old short
	// one (service/name).
	serviceARN = input.NewPattern(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service/([A-Za-z0-9_-]{1,255}/)?[A-Za-z0-9_-]{1,255}$`)
	roleARN    = input.NewPattern(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	// calendarName is the name of an SSM document ("CreateDocument",
	// AWS Systems Manager API Reference: Name, pattern
	// ^[a-zA-Z0-9_\-.]{3,128}$); calendarARN a document's ARN, which
	// GetCalendarState takes for a calendar of another region or shared
	// from another account.
	calendarName = input.NewPattern(`^[A-Za-z0-9_.-]{3,128}$`)
	calendarARN  = input.NewPattern(`^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:document/[A-Za-z0-9_.-]{3,128}$`)
)

// validate checks a decoded document against the rules that Parse lists, sets
// defaults and compiles each environment's policy; region is the function's
// own ("" when not known; see ParseIn). It returns every problem found, in
// environment-name order.
func validate(doc *Document, region string) []*input.Error {
	v := &validator{doc: doc, region: region}
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
	doc *Document
	// region is the function's own region, that of an environment without
	// one; "" when it is not known.
	region   string
	problems []*input.Error
	// services holds the path of the first mention of each service, for
	// sharedServices.
	named map[serviceKey]string
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
		v.problem(path+".trigger", "invalid trigger: want %q or %q", TriggerPush, TriggerManual)
	}

	v.policy(path, env)
	v.cluster(path+".cluster", env)
	v.services(path+".services", env)
	v.sharedServices(path, env)
	v.containers(path+".container", env.Container)
	v.variables(path, env.Environment, env.Secrets)

	if env.Family != "" && !ecsName.MatchString(env.Family) {
		v.problem(path+".family", "invalid family: use 1 to 255 letters, digits, '_' or '-'")
	}
	if env.RoleARN != "" && !roleARN.MatchString(env.RoleARN) {
		v.problem(path+".roleArn", "invalid role ARN: want arn:aws:iam::<account>:role/<name>")
	}
	if env.Registry != "" {
		if _, _, ok := input.ParseRegistryHost(env.Registry); !ok {
			v.problem(path+".registry", "invalid registry: want an ECR registry host such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com")
		}
	}
	switch env.ImageRef {
	case "", ImageRefTag, ImageRefDigest:
	default:
		v.problem(path+".imageRef", "invalid imageRef: want %q or %q", ImageRefTag, ImageRefDigest)
	}
	if td := env.TaskDefinition.Input(); td != nil {
		if env.Family == "" {
			env.Family = *td.Family
		}
		seen := map[string]int{}
		for i, c := range td.ContainerDefinitions {
			name := ""
			if c.Name != nil {
				name = *c.Name
			}
			if first, ok := seen[name]; ok {
				v.problem(fmt.Sprintf("%s.taskDefinition.containerDefinitions[%d].name", path, i), "duplicate container name: the same as containerDefinitions[%d].name", first)
				continue
			}
			seen[name] = i
		}
	}
	if env.Region != "" && !input.ValidRegion(env.Region) {
		v.problem(path+".region", "invalid region: want a region code such as us-east-1")
	}
	if env.DesiredCount != nil && *env.DesiredCount < 0 {
		v.problem(path+".desiredCount", "must be 0 or more")
	}
	v.deployment(path+".deployment", env.Deployment, len(env.Services))
	v.freeze(path+".freeze", env.Freeze)

	switch from := env.PromoteFrom; {
	case from == "":
	case from == name:
		v.problem(path+".promoteFrom", "an environment cannot promote from itself")
	case v.doc.Environments[from] == nil:
		v.problem(path+".promoteFrom", "unknown environment (environments: %s)", strings.Join(v.doc.Names(), ", "))
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

// cluster checks the environment's cluster: a name, or an ARN in the
// environment's region. ecrdeploy calls ECS in the environment's region (its
// region, or the function's own): a cluster ARN of another region would not
// be found there, or would be taken for a cluster of the same name.
func (v *validator) cluster(path string, env *Environment) {
	cluster := env.Cluster
	switch {
	case cluster == "":
		v.problem(path, "required")
	case !ecsName.MatchString(cluster) && !clusterARN.MatchString(cluster):
		v.problem(path, "invalid cluster: want a cluster name (1 to 255 letters, digits, '_' or '-') or a cluster ARN")
	default:
		if a := parseARN(cluster); a != nil {
			if where, region := v.regionOf(env); region != "" && a.region != region {
				v.problem(path, "the cluster ARN is in %s, but %s is %s: ECS is called there; set region to %s, or name a cluster of %s",
					a.region, where, region, a.region, region)
			}
		}
	}
}

// regionOf returns the region ECS is called in for an environment, and how
// a message names it: its own region, or the function's when it has none;
// "" when neither is known.
func (v *validator) regionOf(env *Environment) (where, region string) {
	switch {
	case env.Region != "":
		return "the environment's region", env.Region
	case v.region != "":
		return "the environment's region (region is not set: the function's own)", v.region
	}
	return "", ""
}

// services checks the names and ARNs of an environment's services. A
// service ARN must name the environment's cluster and, when the environment
// names one, its region (and, when the cluster is an ARN, its account):
// ecrdeploy calls ECS in the environment's cluster and region, where a
// service of another would not be found, or would be another service.
// Duplicates, by name and by ARN alike, are reported by sharedServices.
func (v *validator) services(path string, env *Environment) {
	if len(env.Services) == 0 {
		v.problem(path, "at least one service is required")
		return
	}
	clusterARN := parseARN(env.Cluster)
	for i, s := range env.Services {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case s == "":
			v.problem(p, "empty service name")
			continue
		case !ecsName.MatchString(s) && !serviceARN.MatchString(s):
			v.problem(p, "invalid service: want a service name (1 to 255 letters, digits, '_' or '-') or a service ARN")
			continue
		}
		a := parseARN(s)
		if a == nil {
			continue
		}
		cluster, _, _ := ecsref.ParseServiceARN(s)
		switch {
		case cluster != "" && env.Cluster != "" && cluster != ecsref.ClusterName(env.Cluster):
			v.problem(p, "the service ARN's cluster is not the environment's cluster: a service is deployed in the environment's cluster")
		case regionMismatch(v, env, a.region):
			where, region := v.regionOf(env)
			v.problem(p, "the service ARN is in %s, but %s is %s", a.region, where, region)
		case clusterARN != nil && (a.account != clusterARN.account || a.region != clusterARN.region || a.partition != clusterARN.partition):
			v.problem(p, "the service ARN's account or region is not the cluster ARN's")
		}
	}
}

// regionMismatch reports whether an ARN's region is not the one ECS is
// called in for the environment (when that is known).
func regionMismatch(v *validator, env *Environment, arnRegion string) bool {
	_, region := v.regionOf(env)
	return region != "" && arnRegion != region
}

// arn is the part of an ECS or IAM ARN that says where a resource is.
type arn struct{ partition, region, account string }

// parseARN returns where the ARN s places its resource, or nil when s is
// not an ARN (a name).
func parseARN(s string) *arn {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return nil
	}
	return &arn{partition: parts[1], region: parts[3], account: parts[4]}
}

// serviceKey identifies an ECS service: the account and region of its
// environment's target (as the document says them: the role's account or the
// cluster ARN's; the region or the cluster ARN's; "" for the function's own),
// the name of its cluster and its own name.
type serviceKey struct{ account, region, cluster, service string }

// sharedServices reports a service named twice: in two environments, each
// delivery would flip it between their revisions and one state record would
// always name a revision that does not run; twice in one, it would be
// registered and updated twice. A name and an ARN of the same service are
// the same service. Environments are checked in name order, and the second
// mention is reported.
func (v *validator) sharedServices(path string, env *Environment) {
	if v.named == nil {
		v.named = make(map[serviceKey]string)
	}
	var account, region string
	if a := parseARN(env.Cluster); a != nil {
		account, region = a.account, a.region
	}
	if a := parseARN(env.RoleARN); a != nil {
		account = a.account
	}
	if env.Region != "" {
		region = env.Region
	}
	cluster := ecsref.ClusterName(env.Cluster)
	for i, s := range env.Services {
		if s == "" || !ecsName.MatchString(s) && !serviceARN.MatchString(s) {
			continue
		}
		k := serviceKey{account, region, cluster, ecsref.ServiceName(s)}
		p := fmt.Sprintf("%s.services[%d]", path, i)
		if prev, ok := v.named[k]; ok {
			v.problem(p, "duplicate service: the same service as %s (by name or ARN, in the same cluster, account and region); a service belongs to one environment", prev)
			continue
		}
		v.named[k] = p
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
			v.problem(p, "invalid container name: use 1 to 255 letters, digits, '_' or '-'")
		case seen[n]:
			v.problem(p, "duplicate container")
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
			v.problem(p, "invalid valueFrom: contains white space")
		}
		if _, both := environment[name]; both {
			v.problem(p, "also set in environment: a variable is either a value or a secret")
		}
	}
}

func variableName(name string) string {
	switch {
	case name == "":
		return "empty variable name"
	case strings.ContainsRune(name, '='):
		return "invalid variable name: contains '='"
	case strings.ContainsRune(name, 0):
		return "invalid variable name: contains a NUL byte"
	}
	return ""
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// maxCodeDeployName is the longest CodeDeploy application or deployment
// group name: "Length Constraints: Minimum length of 1. Maximum length of
// 100." (CodeDeploy API Reference, CreateApplication and
// CreateDeploymentGroup).
const maxCodeDeployName = 100

func (v *validator) codeDeploy(path string, c *CodeDeploy, services int) {
	if c == nil {
		return
	}
	name := func(field, value string, required bool) {
		switch {
		case value == "" && required:
			v.problem(path+"."+field, "required")
		case value == "":
		case utf8.RuneCountInString(value) > maxCodeDeployName:
			v.problem(path+"."+field, "longer than the %d characters CodeDeploy allows", maxCodeDeployName)
		case strings.TrimSpace(value) != value || strings.ContainsFunc(value, unicode.IsControl):
			v.problem(path+"."+field, "invalid name: leading or trailing white space, or a control character")
		}
	}
	name("application", c.Application, true)
	name("deploymentGroup", c.DeploymentGroup, false)
	if c.DeploymentGroup != "" && services > 1 {
		v.problem(path+".deploymentGroup", "a deployment group deploys one ECS service, and this environment has %d: name only the application, and the group that deploys each service is looked up", services)
	}
}

// freeze checks the change calendars of an environment: at least one, each
// a document name or a document ARN, none twice (by name or ARN alike would
// be the same calendar only in the function's own account and region, which
// the document does not know, so only exact repeats are refused).
func (v *validator) freeze(path string, f *Freeze) {
	if f == nil {
		return
	}
	if len(f.Calendars) == 0 {
		v.problem(path+".calendars", "at least one calendar is required: name a change calendar, or leave freeze out")
		return
	}
	seen := make(map[string]bool, len(f.Calendars))
	for i, c := range f.Calendars {
		p := fmt.Sprintf("%s.calendars[%d]", path, i)
		switch {
		case strings.HasPrefix(c, "arn:") && !calendarARN.MatchString(c):
			v.problem(p, "invalid calendar ARN: want arn:aws:ssm:<region>:<account>:document/<name>")
		case !strings.HasPrefix(c, "arn:") && !calendarName.MatchString(c):
			v.problem(p, "invalid calendar name: use 3 to 128 letters, digits, '_', '-' or '.', or a document ARN")
		case seen[c]:
			v.problem(p, "duplicate calendar")
		}
		seen[c] = true
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
