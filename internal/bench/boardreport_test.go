package bench

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/board"
)

var boardRepos = flag.Int("board-repos", 1000, "repositories of the release board read under AWS's request buckets in the report (× 3 environments, in 10 clusters)")

// boardClusters are the clusters the report's board fleet is spread over.
const boardClusters = 10

// runBoardSection reads the board of a fleet for the report (section 7),
// unless skipped: as the board function reads it, under AWS's buckets,
// with the function's timeout as its deadline.
func (r *report) runBoardSection(t *testing.T, skip map[string]bool) {
	if skip["board"] {
		r.Skipped = append(r.Skipped, "release board (-skip=board)")
		return
	}
	t.Run("board", func(t *testing.T) {
		run := runBoard(t, boardShape{Repositories: *boardRepos, Clusters: boardClusters}, awstest.NewBuckets(*fleetScale))
		for _, p := range run.check() {
			t.Errorf("board of %d repositories: %s", *boardRepos, p)
		}
		r.Board, r.BoardTimeout = &run, boardTimeout(t)
	})
}

// boardMet reports whether the board answered in time, batched, with every
// cell as seeded and nothing written.
func (r *report) boardMet() bool {
	return r.Board != nil && r.Board.Wall < r.BoardTimeout && len(r.Board.check()) == 0
}

// boardGoals is the goal row of the board.
func (r *report) boardGoals() (rows [][]string, notes []string) {
	run := r.Board
	if run == nil {
		return nil, nil
	}
	s := run.Shape
	rows = append(rows, []string{
		fmt.Sprintf("the release board of %d repositories × 3 environments (%d services in %d clusters), under AWS's request buckets, "+
			"within the board function's timeout (%s; the promoter's is 900 s), reads batched, nothing written", s.Repositories, s.services(), s.Clusters, ms(r.BoardTimeout)),
		fmt.Sprintf("%s; %d attempts (%s), %d throttled; %d mutating", ms(run.Wall), sum(run.Calls), countsText(run.Calls), sum(run.Throttled), run.Mutating),
		yes(r.boardMet())})
	if !r.boardMet() {
		probs := run.check()
		if run.Wall >= r.BoardTimeout {
			probs = append(probs, fmt.Sprintf("took %s, the timeout is %s", ms(run.Wall), ms(r.BoardTimeout)))
		}
		notes = append(notes, fmt.Sprintf("**The board of %d repositories:** %s.", s.Repositories, strings.Join(probs, "; ")))
	}
	return rows, notes
}

// boardSection is section 7.
func (r *report) boardSection(b *md) {
	b.p("## 7. The release board of a fleet")
	run := r.Board
	if run == nil {
		b.p("Not measured in this run.")
		return
	}
	s := run.Shape
	b.p("%d repositories, each with `dev`, `staging` and `prod` (prod behind an open change calendar), one service each, %d services in "+
		"%d clusters, every environment recorded and in sync; seeded straight into moto (%s, not measured). Then one read of the board "+
		"by a new board function instance (cold configuration cache), as the CloudWatch custom widget asks for it (`Handler.Widget`: "+
		"the read-only source, the layout, the HTML page), under the buckets of section 6 %s, with the function's timeout (%s) as its "+
		"deadline. The reads are batched: the configuration ten documents a page (GetParametersByPath), the records %d a call "+
		"(BatchGetItem), the services ten a call per cluster (DescribeServices), each change calendar once.",
		s.Repositories, s.services(), s.Clusters, ms(run.Setup), scaleText(*fleetScale), ms(r.BoardTimeout), 100)
	b.table([]string{"figure", "measured"}, [][]string{
		{"wall (the widget's request to its page)", ms(run.Wall)},
		{"attempts by operation", countsText(run.Calls)},
		{"throttled", fmt.Sprintf("%d (%s)", sum(run.Throttled), countsText(run.Throttled))},
		{"largest DescribeServices, BatchGetItem", fmt.Sprintf("%d services, %d keys", run.MaxServices, run.MaxKeys)},
		{"mutating calls", fmt.Sprint(run.Mutating)},
		{"cells by state", fmt.Sprint(run.States)},
		{"the widget's page", fmt.Sprintf("%d bytes", run.PageBytes)},
		{"the promoter's answer to `board` (JSON; with `\"output\": \"html\"`)", fmt.Sprintf("%d bytes; %d bytes (Lambda's synchronous limit: 6 MB)", run.AnswerBytes, run.AnswerHTMLBytes)},
	})
}

// boardReport is a report with only a board of n repositories that took
// wall, read as the board reads.
func boardReport(n int, wall time.Duration) *report {
	s := boardShape{Repositories: n, Clusters: boardClusters}
	perCluster := (s.services() + s.Clusters - 1) / s.Clusters
	calls := map[string]int{"GetParametersByPath": n/10 + 1, "BatchGetItem": (s.services() + 99) / 100,
		"DescribeServices": s.Clusters * ((perCluster + 9) / 10), "GetCalendarState": 1}
	return &report{Latency: time.Second, BoardTimeout: time.Minute, Board: &boardRun{Shape: s, Wall: wall, Calls: calls, Throttled: map[string]int{},
		MaxServices: 10, MaxKeys: 100, States: map[board.State]int{board.Completed: s.services()}, PageBytes: 1 << 20}}
}

func TestMarkdownOfABoardReport(t *testing.T) {
	doc := boardReport(1000, 16500*time.Millisecond).markdown()
	for _, want := range []string{
		"| the release board of 1000 repositories × 3 environments (3000 services in 10 clusters), under AWS's request buckets, within the board function's timeout (60.0 s; the promoter's is 900 s), reads batched, nothing written | 16.5 s; 432 attempts (",
		"| yes |",
		"## 7. The release board of a fleet",
		"| wall (the widget's request to its page) | 16.5 s |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	// Too slow, or a read not batched, misses the goal and says why.
	r := boardReport(1000, 61*time.Second)
	r.Board.Calls["DescribeServices"] += 5
	doc = r.markdown()
	for _, want := range []string{
		"| **no** |",
		"**The board of 1000 repositories:** DescribeServices answered 305 times, want 300; took 61.0 s, the timeout is 60.0 s.",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}
