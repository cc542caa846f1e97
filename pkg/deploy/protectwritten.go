package deploy

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// The keep tags of a repository whose document sets protect follow its
// records: after a request wrote a record whose Digest or Good changed,
// protect runs once for that repository, when the request is done. The
// writes are noted where every record write is made (amend, record), and
// acted on at the entry points of the Deployer (Deploy, Manual,
// DeploymentChanged, Reconcile, CalendarChanged, ResumeRestores): once per
// request rather than once per write, because one request writes a record
// per environment, often concurrently, and a protect per write would read
// the records and list the images as many times, and race with itself; and
// after the write rather than before, because the tags follow what the
// records say. A request without a write of that kind, or of a repository
// without protect, costs nothing more.

// written is the note a request keeps of the repositories whose records
// it changed in what protect keeps.
type written struct {
	mu    sync.Mutex
	repos map[string]bool
}

type writtenKey struct{}

// protecting returns ctx carrying a note of the records written under it,
// and the function to call once the request is done, which protects the
// repositories noted (protectWritten). A request made within another (a
// push's Deploy, a rollback's, a resumed restore's in a reconcile) shares
// the outer one's note: only the outermost protects.
func (d *Deployer) protecting(ctx context.Context) (context.Context, func()) {
	if _, ok := ctx.Value(writtenKey{}).(*written); ok {
		return ctx, func() {}
	}
	w := &written{repos: map[string]bool{}}
	return context.WithValue(ctx, writtenKey{}, w), func() { d.protectWritten(ctx, w) }
}

// noteWrite notes, in the request's note (if any), that a record was
// written as after over before, if it changed what protect keeps.
func noteWrite(ctx context.Context, before, after state.Record) {
	if !protectedChange(before, after) {
		return
	}
	if w, ok := ctx.Value(writtenKey{}).(*written); ok {
		w.mu.Lock()
		w.repos[after.Repository] = true
		w.mu.Unlock()
	}
}

// protectedChange reports whether a write changes what protect keeps: the
// digest that runs, or the known-good deployments' digests.
func protectedChange(before, after state.Record) bool {
	return before.Digest != after.Digest ||
		!slices.EqualFunc(before.Good, after.Good, func(a, b state.Deployment) bool { return a.Digest == b.Digest })
}

// protectWritten protects the keep tags of each repository a request
// changed a record of, when its document sets protect, from all its
// records read once. A keep tag that cannot be written does not fail the
// request, which is done: it is logged, and the repository's next write,
// or ecrdeploy lifecycle --protect, puts it right.
func (d *Deployer) protectWritten(ctx context.Context, w *written) {
	w.mu.Lock()
	repos := slices.Sorted(maps.Keys(w.repos))
	w.mu.Unlock()
	for _, repo := range repos {
		doc, err := d.Config.Get(ctx, repo)
		if err != nil {
			d.log().ErrorContext(ctx, "protect: read configuration", "repository", repo, "error", err.Error())
			continue
		}
		if !doc.Protect {
			continue
		}
		recs, err := d.State.GetMany(ctx, repo, doc.Names())
		if err != nil {
			// Without every record (one unreadable, an *state.Unreadable),
			// a needed digest could lose its tag.
			d.log().ErrorContext(ctx, "protect: read the records: no keep tag changed", "repository", repo, "error", err.Error())
			continue
		}
		if _, err := d.protect(ctx, repo, doc, recs); err != nil {
			d.log().ErrorContext(ctx, "protect: keep tags", "repository", repo, "error", err.Error())
		}
	}
}
