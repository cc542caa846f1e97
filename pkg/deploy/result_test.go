package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	smithy "github.com/aws/smithy-go"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestJudge(t *testing.T) {
	rows := func(rs ...Row) Result { return Result{Results: rs} }
	tests := []struct {
		name string
		res  Result
		err  error
		want Kind
		exit int
	}{
		{"nothing failed", rows(Row{Outcome: Deployed}, Row{Outcome: Skipped}, Row{Outcome: Unchanged}), nil, "", 0},
		{"a service failed", rows(Row{Outcome: Deployed}, Row{Outcome: Failed}), nil, AWS, 1},
		{"retryable error", Result{Error: "throttled", ErrorKind: AWS}, errors.New("throttled"), AWS, 1},
		{"bad request", Result{Error: "bad request: tag: missing", ErrorKind: BadInput}, nil, BadInput, 2},
		{"not configured", Result{Error: "repository x is not configured", ErrorKind: NotFound}, nil, NotFound, 2},
		{"an AWS call refused", Result{Error: "AccessDenied", ErrorKind: AWS}, nil, AWS, 1},
		{"unclassified error from an older promoter", Result{Error: "something"}, nil, BadInput, 2},
		{"rollout failed", rows(Row{Outcome: Deployed, Rollout: state.Failed}), nil, Rollout, 1},
		{"rollout unfinished when waiting stopped", rows(Row{Outcome: Deployed, Rollout: state.InProgress}), nil, Rollout, 1},
		{"rollout completed", rows(Row{Outcome: Deployed, Rollout: state.Completed}), nil, "", 0},
		{"a failed ECS event recorded", rows(Row{Rollout: state.Failed}), nil, "", 0},
		{"status", Result{Environments: []EnvironmentStatus{{Rollout: state.Failed}}}, nil, "", 0},
		{"reconcile with a failed repository", Result{Repositories: []Result{{}, {Error: "ECR repository x: repository not found", ErrorKind: NotFound}}}, nil, AWS, 1},
		{"reconcile with a failed service", Result{Repositories: []Result{rows(Row{Outcome: Failed})}}, nil, AWS, 1},
		{"reconcile done", Result{Repositories: []Result{rows(Row{Outcome: Deployed})}}, nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(tt.res, tt.err)
			if got != tt.want || got.ExitCode() != tt.exit {
				t.Errorf("Judge = %q (exit %d), want %q (exit %d)", got, got.ExitCode(), tt.want, tt.exit)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want Kind
	}{
		{fmt.Errorf("repository x is not configured: %w", config.ErrNotFound), NotFound},
		{fmt.Errorf("environment %q: %w", "qa", ErrUnknownEnvironment), NotFound},
		{fmt.Errorf("tag 9.9.9: %w", target.ErrImageNotFound), NotFound},
		{fmt.Errorf("promote: %w", ErrNothingDeployed), NotFound},
		{fmt.Errorf("promote: %w", ErrNotCompleted), BadInput},
		{errors.New("unknown action"), BadInput},
		{fmt.Errorf("read config: %w", &smithy.GenericAPIError{Code: "AccessDeniedException"}), AWS},
	}
	for _, tt := range tests {
		if got := kindOf(tt.err); got != tt.want {
			t.Errorf("kindOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// A result always says "results", and leaves escaping the HTML characters
// a diff can hold to the encoder: Lambda's does not escape them.
func TestResultJSON(t *testing.T) {
	out, err := json.Marshal(Result{Repository: "r", Repositories: []Result{{Repository: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"repository":"r","results":[],"repositories":[{"repository":"s","results":[]}]}`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
	if got, _ := (Result{Repository: "a<b>&c"}).MarshalJSON(); string(got) != `{"repository":"a<b>&c","results":[]}` {
		t.Errorf("MarshalJSON = %s, want HTML characters unescaped, as Lambda returns them", got)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Result{Results: []Row{{Diff: "-a <b> & c"}}}); err != nil {
		t.Fatal(err)
	}
	if want := `"diff":"-a <b> & c"`; !strings.Contains(buf.String(), want) {
		t.Errorf("got %s, want it to hold %s", buf.String(), want)
	}
}
