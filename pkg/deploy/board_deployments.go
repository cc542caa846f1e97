package deploy

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// The board judges the fleet's blue-green, linear and canary rollouts, and
// shows the stage of those under way, from their service deployments
// (ecsViews, one description each): all read first, twenty a call per
// client (describeBoardDeployments). The environments' clients are then
// wrapped so that what was read is answered from memory (deploymentMemo).

// describeBoardDeployments describes, twenty a call per client, every
// service deployment judging or showing the board's rollouts asks for, and
// has each environment ask its client's memo of them from then on.
func (d *Deployer) describeBoardDeployments(ctx context.Context, reads []*boardRead) {
	memos := map[target.ECSAPI]*deploymentMemo{}
	arns := map[*deploymentMemo][]string{}
	for _, r := range reads {
		if r.rec == nil || !r.described {
			continue
		}
		m, ok := memos[r.client]
		if !ok {
			m = &deploymentMemo{ECSAPI: r.client, known: map[string]*ecstypes.ServiceDeployment{}}
			memos[r.client] = m
		}
		r.client = m
		for name, entry := range r.rec.Services {
			svc, ok := r.services[ecsref.ServiceName(name)]
			if !ok {
				continue
			}
			if arn := blueGreenDeployment(entry, svc); arn != "" {
				arns[m] = append(arns[m], arn)
			}
		}
	}
	sem := make(chan struct{}, boardConcurrency)
	var wg sync.WaitGroup
	for m, list := range arns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := target.DescribeServiceDeployments(ctx, m, list); err != nil && !errors.Is(err, target.ErrNoServiceDeployments) {
				d.log().WarnContext(ctx, "board: describe service deployments", "error", err.Error())
			}
		})
	}
	wg.Wait()
}

// deploymentMemo is an ECS client that remembers the service deployments
// it described, and those ECS did not know: a description of only those is
// answered from memory; any other is asked of ECS, and remembered.
type deploymentMemo struct {
	target.ECSAPI
	mu    sync.Mutex
	known map[string]*ecstypes.ServiceDeployment // nil: ECS did not know it
}

func (m *deploymentMemo) DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	m.mu.Lock()
	out := &ecs.DescribeServiceDeploymentsOutput{}
	remembered := true
	for _, arn := range in.ServiceDeploymentArns {
		sd, ok := m.known[arn]
		if !ok {
			remembered = false
			break
		}
		if sd != nil {
			out.ServiceDeployments = append(out.ServiceDeployments, *sd)
		}
	}
	m.mu.Unlock()
	if remembered {
		return out, nil
	}
	out, err := m.ECSAPI.DescribeServiceDeployments(ctx, in, optFns...)
	if err != nil {
		return out, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, arn := range in.ServiceDeploymentArns {
		m.known[arn] = nil
	}
	for i, sd := range out.ServiceDeployments {
		if sd.ServiceDeploymentArn != nil {
			m.known[*sd.ServiceDeploymentArn] = &out.ServiceDeployments[i]
		}
	}
	return out, nil
}
