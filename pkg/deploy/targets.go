package deploy

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
)

// Target is where one environment's deployment runs: a region, and the role
// assumed there (cross-account), on behalf of a repository's environment.
type Target struct {
	Repository, Environment string
	Region                  string // "" for the function's own region
	RoleARN                 string // "" for the function's own credentials
}

// target returns the ECS target of an environment.
func target(repository, environment string, env *config.Environment) Target {
	return Target{Repository: repository, Environment: environment, Region: env.Region, RoleARN: env.RoleARN}
}

// Targets gives the clients for a target.
type Targets interface {
	// ECS returns the ECS client of a target. It returns an error when the
	// target's role cannot be assumed.
	ECS(ctx context.Context, t Target) (ECSAPI, error)
	// ECR returns the ECR client of a target, for checking that an image is
	// replicated to the registry an environment pulls from.
	ECR(ctx context.Context, t Target) (ECRAPI, error)
	// SSM returns the SSM client of a target, for checking secrets.
	SSM(ctx context.Context, t Target) (SSMAPI, error)
}

// ClientPool makes the clients of each target from a base configuration
// and keeps them, and the credentials of assumed roles (refreshed shortly
// before they expire), for the life of the function.
type ClientPool struct {
	Base aws.Config
	// STS assumes target roles; nil means a client from Base.
	STS stscreds.AssumeRoleAPIClient

	mu    sync.Mutex
	ecs   map[Target]*ecs.Client
	ecr   map[Target]*ecr.Client
	creds map[Target]*aws.CredentialsCache
}

// ECS returns the target's ECS client.
func (p *ClientPool) ECS(ctx context.Context, t Target) (ECSAPI, error) {
	cfg, err := p.config(ctx, t)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.ecs[t]; ok {
		return c, nil
	}
	if p.ecs == nil {
		p.ecs = map[Target]*ecs.Client{}
	}
	c := ecs.NewFromConfig(cfg)
	p.ecs[t] = c
	return c, nil
}

// ECR returns the target's ECR client.
func (p *ClientPool) ECR(ctx context.Context, t Target) (ECRAPI, error) {
	cfg, err := p.config(ctx, t)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.ecr[t]; ok {
		return c, nil
	}
	if p.ecr == nil {
		p.ecr = map[Target]*ecr.Client{}
	}
	c := ecr.NewFromConfig(cfg)
	p.ecr[t] = c
	return c, nil
}

// SSM returns the target's SSM client. Verification is rare, so it is not
// kept.
func (p *ClientPool) SSM(ctx context.Context, t Target) (SSMAPI, error) {
	cfg, err := p.config(ctx, t)
	if err != nil {
		return nil, err
	}
	return ssm.NewFromConfig(cfg), nil
}

// config returns the AWS configuration of a target: its region and, with a
// role, credentials from assuming it. The role is assumed now (or taken from
// the cache), so that a role that cannot be assumed fails clearly here.
func (p *ClientPool) config(ctx context.Context, t Target) (aws.Config, error) {
	cfg := p.Base.Copy()
	if t.Region != "" {
		cfg.Region = t.Region
	}
	if t.RoleARN == "" {
		return cfg, nil
	}
	key := Target{Repository: t.Repository, Environment: t.Environment, RoleARN: t.RoleARN}
	p.mu.Lock()
	if p.creds == nil {
		p.creds = map[Target]*aws.CredentialsCache{}
	}
	cache, ok := p.creds[key]
	if !ok {
		client := p.STS
		if client == nil {
			client = sts.NewFromConfig(p.Base)
		}
		cache = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, t.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = SessionName(t.Repository, t.Environment)
		}), func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = 2 * time.Minute })
		p.creds[key] = cache
	}
	p.mu.Unlock()
	if _, err := cache.Retrieve(ctx); err != nil {
		return cfg, fmt.Errorf("assume role %s for %s/%s: %w", t.RoleARN, t.Repository, t.Environment, err)
	}
	cfg.Credentials = cache
	return cfg, nil
}

var sessionUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName is the role session name of a repository's environment, so
// CloudTrail says which deployment acted: "ecrdeploy-team.web-production",
// at most 64 characters.
func SessionName(repository, environment string) string {
	name := sessionUnsafe.ReplaceAllString("ecrdeploy-"+repository+"-"+environment, ".")
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}
