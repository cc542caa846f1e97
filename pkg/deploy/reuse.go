package deploy

import (
	"context"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// A rollback or redeploy of a version whose revision the record knows (a
// deployment of that version and digest that completed there) reuses that
// revision when rendering the request gives the same definition: no
// registration, and none of RegisterTaskDefinition's scarce requests (one
// a second per account and region) spent on a revision ECS already has.

// knownRevisions returns the revision of each service that a record knows
// for the version and digest a request deploys: those of a known-good
// deployment of them. It calls nothing.
func knownRevisions(rec *state.Record, req Request, v *semver.Version) map[string]string {
	if rec == nil || v == nil {
		return nil
	}
	for _, g := range rec.Good {
		if g.Version == v.String() && g.Digest == req.Digest {
			return g.TaskDefinitions
		}
	}
	return nil
}

// observeKnown describes the revision the record knows for a service, when
// it is neither the one the service runs nor the family's newest (both
// described already), so that planning can reuse it. A revision that cannot
// be described is no candidate: the plan registers one.
func observeKnown(ctx context.Context, client target.ECSAPI, o serviceObservation, known string) serviceObservation {
	switch {
	case known == "" || o.err != nil || o.current.ARN == "":
	case ecsref.SameRevision(known, o.current.ARN):
	case o.latest != nil && ecsref.SameRevision(known, o.latest.ARN):
	default:
		if td, ok, err := target.DescribeTaskDefinition(ctx, client, known); err == nil && ok {
			o.known = &td
		}
	}
	return o
}
