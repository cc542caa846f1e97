package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/ecrdeploy/ecrdeploy"
	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// The release board of a fleet, read as the board function reads it (its
// handler's Widget: the read-only source, then the HTML the dashboard
// shows) under AWS's request buckets.

var boardFleetFlag = flag.Int("board", 0, "measure the release board of this many repositories (× 3 environments, in 10 clusters) under AWS's request buckets (TestBoardOfAFleet); 0 skips it")

// boardShape is a fleet for the board: Repositories repositories of the
// three environments of fleetEnvironments, one service each, spread over
// Clusters clusters, every environment recorded and in sync, the prod ones
// behind an (open) change calendar.
type boardShape struct {
	Repositories, Clusters int
}

func (s boardShape) services() int { return s.Repositories * len(fleetEnvironments) }

// place is the cluster of environment e of repository r.
func (s boardShape) place(r, e int) string {
	return fleetShape{Clusters: s.Clusters}.place(r, e)
}

// boardCalendar is the change calendar of the fleet's prod environments.
const boardCalendar = "release-freeze"

// boardRun is one measured read of a fleet's board.
type boardRun struct {
	Shape     boardShape
	Setup     time.Duration
	Wall      time.Duration
	Calls     map[string]int // by operation, throttled attempts included
	Throttled map[string]int
	Mutating  int
	// MaxServices is the most services one DescribeServices named, MaxKeys
	// the most records one BatchGetItem asked for.
	MaxServices, MaxKeys int
	States               map[board.State]int
	PageBytes            int
	// AnswerBytes is the size of the promoter's answer to a board request
	// (the board laid out), and AnswerHTMLBytes with "output": "html".
	AnswerBytes, AnswerHTMLBytes int
	Err                          error
}

// seedBoardFleet seeds moto directly (not through the proxy): the clusters,
// one task definition per environment name, a service per environment,
// the configuration documents, and a record of every environment naming
// the deployment ECS lists for its service (in sync: nothing to judge).
func seedBoardFleet(t *testing.T, w *world, s boardShape) {
	t.Helper()
	ctx := t.Context()
	for c := range s.Clusters {
		awstest.Must(w.env.Local.CreateCluster(ctx, fleetCluster(c)))(t)
	}
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	revisions := make([]string, len(fleetEnvironments))
	for e, name := range fleetEnvironments {
		in, err := localaws.ParseTaskDefinition(data)
		if err != nil {
			t.Fatal(err)
		}
		in.Family = aws.String("board-" + name)
		revisions[e] = awstest.Must(w.env.Local.RegisterTaskDefinition(ctx, in))(t)
	}
	w.env.Calendars.Create(awstest.CalendarARN(localaws.Region, localaws.AccountID, boardCalendar))

	items := make([][]ddbtypes.WriteRequest, s.Repositories)
	seedEach(t, s.Repositories, func(r int) (err error) {
		items[r], err = seedBoardRepository(ctx, w, s, r, revisions)
		return err
	})
	ddb := dynamodb.NewFromConfig(w.env.Local.Config)
	for chunk := range slices.Chunk(slices.Concat(items...), 25) {
		out, err := ddb.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{w.env.Table: chunk}})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out.UnprocessedItems[w.env.Table]); n > 0 {
			t.Fatalf("moto left %d records unwritten", n)
		}
	}
}

// seedBoardRepository seeds one repository of the board's fleet and
// returns the writes of its records.
func seedBoardRepository(ctx context.Context, w *world, s boardShape, r int, revisions []string) ([]ddbtypes.WriteRequest, error) {
	repo := fleetRepository(r)
	envs := map[string]any{}
	var writes []ddbtypes.WriteRequest
	at := time.Now().Add(-time.Duration(r+1) * time.Minute).UTC()
	for e, name := range fleetEnvironments {
		svc := repo + "-" + name
		created, err := w.env.Local.CreateService(ctx, s.place(r, e), svc, revisions[e], 1)
		if err != nil {
			return nil, err
		}
		env := map[string]any{"versions": "^1.0.0", "cluster": s.place(r, e), "services": []string{svc}, "container": container}
		if name == "prod" {
			env["trigger"], env["promoteFrom"] = "manual", "staging"
			env["freeze"] = map[string]any{"calendars": []string{boardCalendar}}
		} else if name == "staging" {
			env["promoteFrom"] = "dev"
		}
		envs[name] = env
		var id string
		if len(created.Deployments) > 0 {
			id = aws.ToString(created.Deployments[0].Id)
		}
		rec, err := json.Marshal(state.Record{
			Repository: repo, Environment: name, Version: "1.0.0", Tag: "1.0.0", Digest: "sha256:" + strings.Repeat("0c", 32),
			Image: localaws.ImageURI(repo, "1.0.0"), Cause: state.CausePush, Time: at, Rollout: state.Completed,
			Services: map[string]state.Service{svc: {Cluster: s.place(r, e), TaskDefinition: revisions[e], DeploymentID: id, Rollout: state.Completed}},
		})
		if err != nil {
			return nil, err
		}
		writes = append(writes, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: repo}, "sk": &ddbtypes.AttributeValueMemberS{Value: "record#" + name},
			"rev": &ddbtypes.AttributeValueMemberN{Value: "1"}, "record": &ddbtypes.AttributeValueMemberS{Value: string(rec)},
			"environment": &ddbtypes.AttributeValueMemberS{Value: name},
		}}})
	}
	b, err := json.Marshal(map[string]any{"environments": envs})
	if err != nil {
		return nil, err
	}
	_, err = w.env.Local.PutParameter(ctx, prefix+"/config/"+repo, string(b))
	return writes, err
}

// runBoard seeds a fleet, then measures one read of its board by a new
// board function instance (cold configuration cache, new connections),
// through its handler's Widget, with buckets throttling every call, and a
// deadline of the board function's timeout.
func runBoard(t *testing.T, s boardShape, buckets *awstest.Buckets) boardRun {
	t.Helper()
	w := newWorld(t)
	run := boardRun{Shape: s, States: map[board.State]int{}}
	start := time.Now()
	seedBoardFleet(t, w, s)
	run.Setup = time.Since(start)

	w.env.Proxy.Reset()
	counter := countCalls(w.env.Proxy, func(c awstest.Call) {
		if !c.ReadOnly() {
			run.Mutating++
		}
		var in struct {
			Services     []string `json:"services"`
			RequestItems map[string]struct {
				Keys []json.RawMessage `json:"Keys"`
			} `json:"RequestItems"`
		}
		_ = json.Unmarshal(c.Request, &in)
		switch c.Operation {
		case "DescribeServices":
			run.MaxServices = max(run.MaxServices, len(in.Services))
		case "BatchGetItem":
			for _, ri := range in.RequestItems {
				run.MaxKeys = max(run.MaxKeys, len(ri.Keys))
			}
		}
	})
	w.env.Proxy.Throttle(buckets)
	defer w.env.Proxy.Throttle(nil)
	h := handler.Wire(handler.Paced(w.env.Config), settings, handler.Options{Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithTimeout(t.Context(), boardTimeout(t))
	defer cancel()
	start = time.Now()
	page, err := h.Widget().Handle(ctx, board.WidgetEvent{WidgetContext: board.WidgetContext{Theme: "light", Width: 1200, Height: 800}})
	run.Wall = time.Since(start)
	run.Calls, run.Throttled = counter.stop()
	run.Err = err
	run.PageBytes = len(page)
	if err == nil {
		b, err := h.ReadOnlyBoardSource().Board(t.Context()) // unthrottled, uncounted: for the states
		if err != nil {
			t.Fatal(err)
		}
		g := board.Layout(b, time.Now())
		for st, n := range g.Counts {
			run.States[st] = n
		}
		answer, err := json.Marshal(deploy.Result{Board: &g})
		if err != nil {
			t.Fatal(err)
		}
		run.AnswerBytes = len(answer)
		var page strings.Builder
		if err := board.WriteHTML(&page, g, board.HTMLOptions{}); err != nil {
			t.Fatal(err)
		}
		if answer, err = json.Marshal(deploy.Result{Board: &g, Rendered: page.String()}); err != nil {
			t.Fatal(err)
		}
		run.AnswerHTMLBytes = len(answer)
	}
	return run
}

// boardTimeout is the board function's Timeout in template.yaml.
func boardTimeout(t *testing.T) time.Duration {
	t.Helper()
	var tpl struct {
		Resources map[string]struct {
			Properties struct {
				Timeout int `yaml:"Timeout"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(ecrdeploy.Template, &tpl); err != nil {
		t.Fatal(err)
	}
	seconds := tpl.Resources["BoardFunction"].Properties.Timeout
	if seconds <= 0 {
		t.Fatal("template.yaml: BoardFunction has no Timeout")
	}
	return time.Duration(seconds) * time.Second
}

// check reports what is wrong with a run: an error, a cell that is not
// completed (every environment is in sync and no calendar is closed), a
// mutating call, and reads that are not batched as the board batches them:
// the configuration ten documents a page, the records a hundred a call,
// the services ten a call per cluster, the calendar once.
func (r boardRun) check() []string {
	var probs []string
	s := r.Shape
	if r.Err != nil {
		return []string{"the board: " + r.Err.Error()}
	}
	if want := map[board.State]int{board.Completed: s.services()}; fmt.Sprint(r.States) != fmt.Sprint(want) {
		probs = append(probs, fmt.Sprintf("states %v, want %v", r.States, want))
	}
	if r.Mutating > 0 {
		probs = append(probs, fmt.Sprintf("%d mutating calls", r.Mutating))
	}
	perCluster := (s.services() + s.Clusters - 1) / s.Clusters
	answered := func(op string) int { return r.Calls[op] - r.Throttled[op] }
	for op, want := range map[string]int{
		// A last page that is full comes with a token, and the empty page
		// it leads to is one more call (moto answers so).
		"GetParametersByPath": s.Repositories/10 + 1,
		"BatchGetItem":        (s.services() + 99) / 100,
		"DescribeServices":    s.Clusters * ((perCluster + 9) / 10),
		"GetCalendarState":    1,
	} {
		if got := answered(op); got != want {
			probs = append(probs, fmt.Sprintf("%s answered %d times, want %d", op, got, want))
		}
	}
	if r.MaxServices > 10 || r.MaxKeys > 100 {
		probs = append(probs, fmt.Sprintf("a DescribeServices of %d services, a BatchGetItem of %d keys", r.MaxServices, r.MaxKeys))
	}
	for op := range r.Calls {
		if !slices.Contains([]string{"GetParametersByPath", "BatchGetItem", "DescribeServices", "GetCalendarState"}, op) {
			probs = append(probs, fmt.Sprintf("an unexpected call: %s (%d)", op, r.Calls[op]))
		}
	}
	return probs
}

// TestBoardUnderThrottling reads the board of a fleet of 60 repositories
// (× 3 environments in 2 clusters) under AWS's buckets scaled to a tenth
// (SSM's 40 reads a second become 4, ECS's service reads 2 a second with a
// burst of 10): every cell is read, batched, nothing is written, and the
// read is paced through the throttling.
func TestBoardUnderThrottling(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a fleet in moto")
	}
	r := runBoard(t, boardShape{Repositories: 60, Clusters: 2}, awstest.NewBuckets(0.1))
	t.Logf("%d environments in %v (setup %v): %s; throttled: %s; page %d bytes",
		r.Shape.services(), r.Wall, r.Setup, countsText(r.Calls), countsText(r.Throttled), r.PageBytes)
	for _, p := range r.check() {
		t.Error(p)
	}
	if sum(r.Throttled) == 0 {
		t.Error("no call was throttled: the buckets put no pressure on the board")
	}
}

// TestBoardOfAFleet measures the board of -board repositories (× 3
// environments, in 10 clusters) under AWS's request buckets as documented
// (awstest.NewBuckets(1)), against the board function's timeout. It runs
// only when asked:
//
//	go test ./internal/bench -run TestBoardOfAFleet -v -args -board=1000
func TestBoardOfAFleet(t *testing.T) {
	if *boardFleetFlag <= 0 {
		t.Skip("measured only when asked: go test ./internal/bench -run TestBoardOfAFleet -v -args -board=1000")
	}
	r := runBoard(t, boardShape{Repositories: *boardFleetFlag, Clusters: 10}, awstest.NewBuckets(1))
	m := describeMachine()
	t.Logf("machine: %s, %d CPUs, %s %s/%s, moto %s, load %s", m.CPU, m.CPUs, m.Go, m.OS, m.Arch, m.Moto, m.Load)
	t.Logf("board of %d repositories, %d environments, %d clusters: %v (setup %v); timeout %v",
		r.Shape.Repositories, r.Shape.services(), r.Shape.Clusters, r.Wall.Round(time.Millisecond), r.Setup.Round(time.Second), boardTimeout(t))
	t.Logf("calls %d: %s; throttled %d: %s; widget page %d bytes; the promoter's answer %d bytes, %d with the page (Lambda's limit: 6 MB)",
		sum(r.Calls), countsText(r.Calls), sum(r.Throttled), countsText(r.Throttled), r.PageBytes, r.AnswerBytes, r.AnswerHTMLBytes)
	for _, p := range r.check() {
		t.Error(p)
	}
	if timeout := boardTimeout(t); r.Wall >= timeout {
		t.Errorf("the board took %v, the board function's timeout is %v", r.Wall, timeout)
	}
	// "For synchronous invocations, the maximum payload size is 6 MB"
	// (Lambda API Reference, Invoke,
	// https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html).
	if limit := 6 << 20; r.AnswerHTMLBytes >= limit || r.PageBytes >= limit {
		t.Errorf("the widget's page (%d bytes) or the promoter's answer with it (%d bytes) exceeds Lambda's 6 MB", r.PageBytes, r.AnswerHTMLBytes)
	}
}
