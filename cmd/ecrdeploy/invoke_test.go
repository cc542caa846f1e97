package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// fakeLambda is a Lambda client whose Invoke is InvokeFn.
type fakeLambda struct {
	InvokeFn func(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ lambdaAPI = (*fakeLambda)(nil)

func (f *fakeLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	return f.InvokeFn(ctx, in, optFns...)
}

func TestInvoke(t *testing.T) {
	payload := []byte(`{"action":"status","repository":"hello-color"}`)
	logTail := base64.StdEncoding.EncodeToString([]byte("START RequestId: 1\nsomething broke\n"))
	tests := []struct {
		name    string
		out     *lambda.InvokeOutput
		err     error
		want    deploy.Result
		wantErr string
	}{
		{"result, with a field this CLI does not know",
			&lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"repository":"hello-color","results":[],"future":1,"error":"x"}`)}, nil,
			deploy.Result{Repository: "hello-color", Results: []deploy.Row{}, Error: "x"}, ""},
		{"function error",
			&lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), LogResult: aws.String(logTail),
				Payload: []byte(`{"errorMessage":"describe services: throttled","errorType":"OperationError"}`)}, nil,
			deploy.Result{}, "function ecrdeploy-promoter failed (Unhandled): OperationError: describe services: throttled\nlog tail:\nSTART RequestId: 1\nsomething broke"},
		{"function error without a JSON payload",
			&lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: []byte("Task timed out after 900.00 seconds")}, nil,
			deploy.Result{}, "function ecrdeploy-promoter failed (Unhandled): Task timed out after 900.00 seconds"},
		{"error payload without the header (the emulator)",
			&lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)}, nil,
			deploy.Result{}, "function ecrdeploy-promoter failed (Unhandled): errorString: boom"},
		{"not a result",
			&lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`[1,2]`)}, nil,
			deploy.Result{}, "invoke function ecrdeploy-promoter: the response is not a result: "},
		{"API error",
			nil, &lambdatypes.ResourceNotFoundException{Message: aws.String("Function not found")},
			deploy.Result{}, "invoke function ecrdeploy-promoter: ResourceNotFoundException: Function not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &fakeLambda{InvokeFn: func(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
				if aws.ToString(in.FunctionName) != "ecrdeploy-promoter" || in.InvocationType != lambdatypes.InvocationTypeRequestResponse || string(in.Payload) != string(payload) {
					t.Errorf("Invoke(%s, %s, %s)", aws.ToString(in.FunctionName), in.InvocationType, in.Payload)
				}
				return tt.out, tt.err
			}}
			rep, err := invoke(t.Context(), client, "ecrdeploy-promoter", payload)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if setupExitCode(err) != exitFailed {
					t.Errorf("exit code %d, want %d", setupExitCode(err), exitFailed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rep.Result); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if string(rep.Payload) != string(tt.out.Payload) {
				t.Errorf("payload = %s, want the function's unchanged", rep.Payload)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		rep  reply
		want int
	}{
		{"nothing failed", reply{Result: deploy.Result{Results: []deploy.Row{{Outcome: deploy.Deployed}, {Outcome: deploy.Skipped}}}}, exitOK},
		{"a service failed", reply{Result: deploy.Result{Results: []deploy.Row{{Outcome: deploy.Deployed}, {Outcome: deploy.Failed}}}}, exitFailed},
		{"bad request", reply{Result: deploy.Result{Error: "bad request: tag: missing"}}, exitBadInput},
		{"retryable", reply{Result: deploy.Result{Error: "throttled"}, Err: errors.New("throttled")}, exitFailed},
		{"rollout failed", reply{Result: deploy.Result{Results: []deploy.Row{{Outcome: deploy.Deployed, Rollout: state.Failed}}}}, exitFailed},
		{"rollout unfinished", reply{Result: deploy.Result{Results: []deploy.Row{{Outcome: deploy.Deployed, Rollout: state.InProgress}}}}, exitFailed},
		{"rollout completed", reply{Result: deploy.Result{Results: []deploy.Row{{Outcome: deploy.Deployed, Rollout: state.Completed}}}}, exitOK},
		{"status", reply{Result: deploy.Result{Environments: []deploy.EnvironmentStatus{{Rollout: state.Failed}}}}, exitOK},
	}
	for _, tt := range tests {
		if got := deploy.Judge(tt.rep.Result, tt.rep.Err).ExitCode(); got != tt.want {
			t.Errorf("%s: exit code = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestRequestPayload pins the JSON a verb sends, which is what the promoter
// function receives with --function.
func TestRequestPayload(t *testing.T) {
	got, err := json.Marshal(request.Request{Action: "promote", Repository: "hello-color", To: "production", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"action":"promote","repository":"hello-color","to":"production","wait":true}`; string(got) != want {
		t.Errorf("payload = %s, want %s", got, want)
	}
}

// TestFunctionInterrupted interrupts (Ctrl-C) a request while the deployed
// function carries it out: the CLI stops waiting at once, says that the
// function goes on, and exits 130.
func TestFunctionInterrupted(t *testing.T) {
	seedPromoter(t)
	arrived, stop := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-stop // the function does not answer while the test runs
	}))
	defer srv.Close()
	defer close(stop)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", srv.URL)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	go func() {
		<-arrived
		cancel(&signalError{os.Interrupt})
	}()
	var stdout, stderr strings.Builder
	code := run(ctx, []string{"promote", "hello-color", "--to", "production", "--function", "ecrdeploy-promoter"}, strings.NewReader(""), &stdout, &stderr, os.Getenv)
	want := "ecrdeploy: interrupted: stopped waiting for function ecrdeploy-promoter, which goes on with the request ('ecrdeploy status' shows what it did)\n"
	if code != 130 || stderr.String() != want {
		t.Errorf("exit code %d, stderr %q; want 130 and %q", code, stderr.String(), want)
	}
}
