package deploy

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
)

// ClientPool makes one ECS client per region from a base configuration and
// keeps it for the life of the function.
type ClientPool struct {
	Base aws.Config

	mu      sync.Mutex
	clients map[string]*ecs.Client
}

// ECS returns the client for the environment's region (the base
// configuration's region when the environment names none). It never fails.
func (p *ClientPool) ECS(_ context.Context, env *config.Environment) (ECSAPI, error) {
	region := env.Region
	if region == "" {
		region = p.Base.Region
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[region]; ok {
		return c, nil
	}
	if p.clients == nil {
		p.clients = map[string]*ecs.Client{}
	}
	c := ecs.NewFromConfig(p.Base, func(o *ecs.Options) { o.Region = region })
	p.clients[region] = c
	return c, nil
}
