// Package target is the AWS side of a deployment: the clients of each
// account and region an environment lives in (assuming its role there), the
// ECS and ECR calls ecrdeploy makes with their errors translated into a few
// named ones, and which errors a retry of the invocation can fix. Nothing
// here decides anything about a deployment.
package target

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Target is where one environment's deployment runs: a region, and the role
// assumed there (cross-account), on behalf of a repository's environment.
type Target struct {
	Repository, Environment string
	Region                  string // "" for the function's own region
	RoleARN                 string // "" for the function's own credentials
}

// Of returns the target of an environment of a repository.
func Of(repository, environment, region, roleARN string) Target {
	return Target{Repository: repository, Environment: environment, Region: region, RoleARN: roleARN}
}

// ECSAPI is the part of the ECS API ecrdeploy calls; *ecs.Client satisfies
// it.
type ECSAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	ContinueServiceDeployment(ctx context.Context, in *ecs.ContinueServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
}

// ECRAPI is the part of the ECR API ecrdeploy calls; *ecr.Client satisfies
// it. Besides reading images, it restores archived ones
// (UpdateImageStorageClass), reads lifecycle policies and their previews,
// and, only for a repository whose document asks for protection, tags and
// untags images (BatchGetImage, PutImage, BatchDeleteImage).
type ECRAPI interface {
	DescribeImages(ctx context.Context, in *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
	UpdateImageStorageClass(ctx context.Context, in *ecr.UpdateImageStorageClassInput, optFns ...func(*ecr.Options)) (*ecr.UpdateImageStorageClassOutput, error)
	GetLifecyclePolicy(ctx context.Context, in *ecr.GetLifecyclePolicyInput, optFns ...func(*ecr.Options)) (*ecr.GetLifecyclePolicyOutput, error)
	StartLifecyclePolicyPreview(ctx context.Context, in *ecr.StartLifecyclePolicyPreviewInput, optFns ...func(*ecr.Options)) (*ecr.StartLifecyclePolicyPreviewOutput, error)
	GetLifecyclePolicyPreview(ctx context.Context, in *ecr.GetLifecyclePolicyPreviewInput, optFns ...func(*ecr.Options)) (*ecr.GetLifecyclePolicyPreviewOutput, error)
	BatchGetImage(ctx context.Context, in *ecr.BatchGetImageInput, optFns ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
	PutImage(ctx context.Context, in *ecr.PutImageInput, optFns ...func(*ecr.Options)) (*ecr.PutImageOutput, error)
	BatchDeleteImage(ctx context.Context, in *ecr.BatchDeleteImageInput, optFns ...func(*ecr.Options)) (*ecr.BatchDeleteImageOutput, error)
}

// SSMAPI is the part of the SSM API a target's checks call (that secret
// parameters exist); *ssm.Client satisfies it.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Pool makes the clients of each target from a base configuration
// and keeps them, and the credentials of assumed roles (refreshed shortly
// before they expire), for the life of the function.
type Pool struct {
	Base aws.Config
	// STS assumes target roles; nil means a client from Base.
	STS stscreds.AssumeRoleAPIClient

	mu         sync.Mutex
	ecs        map[Target]*ecs.Client
	ecr        map[Target]*ecr.Client
	codedeploy map[Target]*codedeploy.Client
	calendars  map[string]*ssm.Client
	creds      map[Target]*aws.CredentialsCache
}

// ECS returns the target's ECS client.
func (p *Pool) ECS(ctx context.Context, t Target) (ECSAPI, error) {
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
func (p *Pool) ECR(ctx context.Context, t Target) (ECRAPI, error) {
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
func (p *Pool) SSM(ctx context.Context, t Target) (SSMAPI, error) {
	cfg, err := p.config(ctx, t)
	if err != nil {
		return nil, err
	}
	return ssm.NewFromConfig(cfg), nil
}

// Calendars returns the SSM client that reads change calendars in region
// ("" for the function's own), with the function's own credentials: a
// calendar of another account is read by its ARN once shared with this one.
// It returns no error of its own.
func (p *Pool) Calendars(_ context.Context, region string) (CalendarAPI, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.calendars[region]; ok {
		return c, nil
	}
	if p.calendars == nil {
		p.calendars = map[string]*ssm.Client{}
	}
	cfg := p.Base.Copy()
	if region != "" {
		cfg.Region = region
	}
	c := ssm.NewFromConfig(cfg)
	p.calendars[region] = c
	return c, nil
}

// config returns the AWS configuration of a target: its region and, with a
// role, credentials from assuming it. The role is assumed now (or taken from
// the cache), so that a role that cannot be assumed fails clearly here.
func (p *Pool) config(ctx context.Context, t Target) (aws.Config, error) {
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
			o.RoleSessionName = sessionName(t.Repository, t.Environment)
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

// sessionName is the role session name of a repository's environment, so
// CloudTrail says which deployment acted: "ecrdeploy-team.web-production",
// at most 64 characters.
func sessionName(repository, environment string) string {
	name := sessionUnsafe.ReplaceAllString("ecrdeploy-"+repository+"-"+environment, ".")
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}
