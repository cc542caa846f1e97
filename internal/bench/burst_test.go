package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
)

const (
	burstRepositories = 10
	burstVersions     = 100
)

// burstEnvironments are the environments of every burst repository: dev takes
// every version (pre-releases too), staging only 1.x releases.
var burstEnvironments = map[string]environment{
	"dev":     {Versions: ">=0.1.0", Prereleases: true},
	"staging": {Versions: "^1.0.0"},
}

// burstTags returns the 100 version tags of burst repository r: 0.1.0 to
// 0.3.9, 1.0.0 to 1.4.9, 2.0.0-rc.1 to 2.0.0-rc.10, then ten more that
// make the highest version differ: 2.0.0 to 2.0.9 for even r (dev ends on
// 2.0.9), 1.5.0 to 1.5.9 for odd r (dev ends on the pre-release
// 2.0.0-rc.10, staging on 1.5.9).
func burstTags(r int) []string {
	var tags []string
	for minor := 1; minor <= 3; minor++ {
		for patch := range 10 {
			tags = append(tags, fmt.Sprintf("0.%d.%d", minor, patch))
		}
	}
	for minor := range 5 {
		for patch := range 10 {
			tags = append(tags, fmt.Sprintf("1.%d.%d", minor, patch))
		}
	}
	for rc := 1; rc <= 10; rc++ {
		tags = append(tags, fmt.Sprintf("2.0.0-rc.%d", rc))
	}
	for patch := range 10 {
		if r%2 == 0 {
			tags = append(tags, fmt.Sprintf("2.0.%d", patch))
		} else {
			tags = append(tags, fmt.Sprintf("1.5.%d", patch))
		}
	}
	return tags
}

func burstRepository(r int) string { return fmt.Sprintf("svc-%02d", r) }

// burstRepository seeds one repository with burstEnvironments: the ECR
// repository, a service and family per environment running
// repository:0.0.1, and the configuration, with an ENVIRONMENT variable
// when variables.
func (w *world) burstRepository(t *testing.T, repo string, variables bool) {
	t.Helper()
	awstest.Must(w.env.Local.CreateRepository(t.Context(), repo))(t)
	envs := map[string]environment{}
	for name, e := range burstEnvironments {
		svc := repo + "-" + name
		w.service(t, repo, svc, svc, "0.0.1")
		e.Cluster, e.Services, e.Container = cluster, []string{svc}, container
		if variables {
			e.Environment = map[string]string{"ENVIRONMENT": name}
		}
		envs[name] = e
	}
	w.configure(t, repo, envs)
}

// burstResult is one burst: what it did and whether it converged.
type burstResult struct {
	Workers      int // concurrent function instances
	Events       int
	Latency      time.Duration // every call takes this in all (Proxy.SetCallTime); 0: moto's own time
	Wall         time.Duration
	Calls        map[string]int
	Outcomes     map[string]int // outcome (and reason) -> service rows
	Errors       int            // invocations that returned an error
	Environments int
	Wrong        []string      // environments not on their highest accepted version
	PeakRSS      int64         // VmHWM of this process during the burst, bytes; 0 if unknown
	AllocPer     uint64        // bytes allocated per event by this process
	CPU          time.Duration // CPU time (user and system) of this process during the burst
}

// Total returns the number of calls.
func (b burstResult) Total() int { return sum(b.Calls) }

// sum returns the sum of counts.
func sum(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// runBurst delivers the push events of burstRepositories × burstVersions, in
// one shuffled order, through workers warm deployer handlers (one
// *deploy.Deployer each, as one Lambda instance per unit of concurrency),
// each handling one event at a time. It then checks that every environment
// runs, and records, its highest accepted version.
func runBurst(t *testing.T, workers int, latency time.Duration) burstResult {
	w := newWorld(t)
	for r := range burstRepositories {
		w.burstRepository(t, burstRepository(r), true)
	}
	events := seedBurst(t, w)
	rand.New(rand.NewPCG(2026, 11)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	// Count calls with a hook and keep the proxy's log short, so that the
	// log of 10,000 calls does not weigh on the memory figure.
	var mu sync.Mutex
	calls := map[string]int{}
	w.env.Proxy.OnCall(func(c awstest.Call) {
		mu.Lock()
		defer mu.Unlock()
		calls[c.Operation]++
	})
	w.env.Proxy.SetCallTime(latency)
	defer w.env.Proxy.SetCallTime(0)

	res := burstResult{Workers: workers, Events: len(events), Latency: latency, Outcomes: map[string]int{}}
	handlers := make([]*handler.Handler, workers)
	for i := range handlers {
		handlers[i] = w.handler()
	}
	queue := make(chan []byte)
	go func() {
		defer close(queue)
		for i, ev := range events {
			if i%100 == 0 {
				w.env.Proxy.Reset()
			}
			queue <- ev
		}
	}()

	runtime.GC()
	resetPeakRSS()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for _, h := range handlers {
		wg.Go(func() {
			for raw := range queue {
				out, err := h.Event(context.WithoutCancel(t.Context()), raw)
				mu.Lock()
				if err != nil {
					res.Errors++
				}
				for _, r := range out.Results {
					res.Outcomes[rowKey(r)]++
				}
				if out.Error != "" {
					res.Outcomes["error"]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	res.CPU = cpuTime() - cpu
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	res.PeakRSS = peakRSS()
	res.AllocPer = (after.TotalAlloc - before.TotalAlloc) / uint64(len(events))
	w.env.Proxy.SetCallTime(0)
	mu.Lock()
	res.Calls = maps.Clone(calls)
	mu.Unlock()

	for r := range burstRepositories {
		repo := burstRepository(r)
		for _, name := range slices.Sorted(maps.Keys(burstEnvironments)) {
			res.Environments++
			e := burstEnvironments[name]
			want := highestAccepted(t, e, burstTags(r))
			running := w.running(t, repo+"-"+name)
			rec, _ := w.recorded(t, repo, name)
			if running != want || rec.Version != want {
				res.Wrong = append(res.Wrong, fmt.Sprintf("%s/%s runs %s, records %s, want %s", repo, name, running, rec.Version, want))
			}
		}
	}
	return res
}

// seedBurst puts every image of the burst into ECR, as the pushes would
// have, since the deployer checks that each push's tag still names its
// digest, and returns the push events, in order by repository. The images
// are put by a few workers at once, straight into moto.
func seedBurst(t *testing.T, w *world) [][]byte {
	t.Helper()
	type image struct{ repo, tag string }
	var images []image
	for r := range burstRepositories {
		for _, tag := range burstTags(r) {
			images = append(images, image{burstRepository(r), tag})
		}
	}
	events := make([][]byte, len(images))
	errs := make([]error, len(images))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range next {
				im := images[i]
				digest, err := w.env.Local.PutImage(t.Context(), im.repo, im.tag, localaws.ImageManifest(im.repo+":"+im.tag))
				errs[i] = err
				events[i] = rawPush(pushEvent(im.repo, im.tag, digest))
			}
		})
	}
	for i := range images {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return events
}

// highestAccepted returns the highest of tags that e's policy accepts.
func highestAccepted(t *testing.T, e environment, tags []string) string {
	t.Helper()
	p, err := policy.New(e.Versions, e.Prereleases, "")
	if err != nil {
		t.Fatal(err)
	}
	var best *semver.Version
	for _, tag := range tags {
		if v, verdict := p.Evaluate(tag); verdict == policy.Accepted && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return best.Original()
}

// resetPeakRSS resets this process's peak resident set size (VmHWM) to its
// current one, where Linux allows it.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM of this process in bytes, or 0 off Linux.
func peakRSS() int64 { return procStatus("/proc/self/status", "VmHWM") }

// procStatus returns a "kB" field of a /proc/PID/status file in bytes, or 0.
func procStatus(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// countsText formats counts (of outcomes, of calls by operation), most
// frequent first.
func countsText(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
