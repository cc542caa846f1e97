package main

import (
	"context"
	"flag"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

// awsFlags are the AWS CLI's --region and --profile: they override
// AWS_REGION and AWS_PROFILE (and the shared configuration's region) for
// one command.
type awsFlags struct {
	region, profile string
}

// options are the flags as SDK configuration options.
func (a *awsFlags) options() []func(*awsconfig.LoadOptions) error {
	var opts []func(*awsconfig.LoadOptions) error
	if a.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(a.profile))
	}
	if a.region != "" {
		opts = append(opts, awsconfig.WithRegion(a.region))
	}
	return opts
}

// awsCommand returns a command that calls AWS: it has --region and
// --profile, bound to c.aws.
func (c *cli) awsCommand(name, synopsis, help string) *command {
	cmd := newCommand(name, synopsis, help)
	c.aws.add(cmd.flags)
	return cmd
}

// add defines --region and --profile in fs.
func (a *awsFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&a.region, "region", "", "the AWS `region` to use (default: AWS_REGION, or the profile's)")
	fs.StringVar(&a.profile, "profile", "", "the `profile` of the shared AWS configuration to use (default: AWS_PROFILE)")
}

// newHandler builds the functions' handler with the caller's settings and
// AWS configuration, --region and --profile included.
func (c *cli) newHandler(ctx context.Context, opts handler.Options) (*handler.Handler, error) {
	opts.AWS = append(opts.AWS, c.aws.options()...)
	return handler.New(ctx, c.settingsEnv, opts)
}

// settingsEnv is the caller's environment as the CLI reads its settings:
// without ECRDEPLOY_QUEUE, so that a delivery run here waits for its
// registration slot in the process, in the caller's sight, rather than
// being handed off to the functions' queue and finished by the deployed
// function.
func (c *cli) settingsEnv(key string) string {
	if key == "ECRDEPLOY_QUEUE" {
		return ""
	}
	return c.getenv(key)
}
