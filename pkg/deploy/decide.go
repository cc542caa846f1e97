package deploy

import (
	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// admit decides from the request and the environment's policy alone, before
// any AWS call: a tag that no environment takes costs nothing.
func admit(req Request, env *config.Environment) (*semver.Version, Reason) {
	if req.Trigger.Automatic() && env.Trigger == config.TriggerManual {
		return nil, ManualEnvironment
	}
	v, verdict := env.Policy().Evaluate(req.Tag)
	switch verdict {
	case policy.Accepted:
		return v, ""
	case policy.NotSemver:
		return nil, NotSemver
	}
	if req.Force {
		return v, ""
	}
	return v, Reason(verdict)
}

// compareState decides from the environment's state record: a held version,
// a downgrade or an overwritten tag is skipped unless forced. An empty reason
// means go on and compare task definitions.
func compareState(req Request, v *semver.Version, rec *state.Record) Reason {
	if rec == nil || req.Force {
		return ""
	}
	if rec.IsHeld(v.String()) {
		return Held
	}
	current := rec.Version
	if rec.AggregateRollout() == state.Failed && rec.LastCompleted != "" {
		// The failed version was rolled back (by the circuit breaker or a
		// person): what runs, and what a push must not go below, is the last
		// version that completed.
		current = rec.LastCompleted
	}
	cur, err := semver.StrictNewVersion(current)
	if err != nil {
		return ""
	}
	switch c := v.Compare(cur); {
	case c < 0:
		return OlderThanCurrent
	case c == 0 && current == rec.Version && rec.Digest != "" && rec.Digest != req.Digest:
		if rec.Tag == req.Tag {
			return Retagged
		}
		// Another tag of the same version (build metadata differs): not newer.
		return OlderThanCurrent
	}
	return ""
}

// compareImage decides, when an environment has no state record yet, from the
// version tag of the image the service runs: pushing an older version than
// the one running is a downgrade all the same.
func compareImage(req Request, v *semver.Version, p *policy.Policy, runningTag string) Reason {
	if req.Force || runningTag == "" {
		return ""
	}
	cur, ok := p.Version(runningTag)
	if !ok {
		return ""
	}
	if v.Compare(cur) < 0 {
		return OlderThanCurrent
	}
	return ""
}
