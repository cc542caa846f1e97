package deploy

import (
	"context"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// Manual carries out a manual request. requestID identifies the invocation
// (the Lambda request id) and is recorded like an event id. A request that
// names an unconfigured repository or environment, a tag missing from ECR or
// a source with nothing deployed is reported in Result.Error and changes
// nothing; the error is non-nil only when a retry could succeed.
func (d *Deployer) Manual(ctx context.Context, req request.Request, requestID string) (Result, error) {
	switch req.Action {
	case request.Deploy:
		return d.DeployTag(ctx, req, requestID)
	case request.Promote:
		return d.Promote(ctx, req, requestID)
	case request.Rollback:
		return d.Rollback(ctx, req, requestID)
	case request.Plan:
		return d.Plan(ctx, req)
	case request.Status:
		return d.Status(ctx, req.Repository)
	}
	return d.fail(ctx, Result{Repository: req.Repository, Results: []ServiceResult{}}, fmt.Errorf("unknown action %q", req.Action))
}
