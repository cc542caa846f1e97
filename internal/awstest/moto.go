package awstest

import (
	"context"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// ErrMotoNotFound is returned by [StartMoto] when moto_server is not on PATH.
var ErrMotoNotFound = localaws.ErrMotoNotFound

// Option configures the moto_server process started by [RunMain].
type Option = localaws.Option

// Moto is a running moto_server process.
type Moto = localaws.Moto

// WithMotoEnv sets an environment variable for moto_server, such as
// MOTO_ECS_SERVICE_RUNNING=2, which makes services created with a desired
// count of at most 2 report a COMPLETED rollout.
func WithMotoEnv(key, value string) Option { return localaws.WithMotoEnv(key, value) }

// StartMoto starts moto_server on a free loopback port and waits until it
// answers; see [localaws.StartMoto]. The caller must call [Moto.Stop].
func StartMoto(ctx context.Context, opts ...Option) (*Moto, error) {
	return localaws.StartMoto(ctx, opts...)
}
