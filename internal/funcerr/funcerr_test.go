package funcerr

import (
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
)

func TestIn(t *testing.T) {
	tail := base64.StdEncoding.EncodeToString([]byte("START RequestId: 1\nsomething broke\n"))
	tests := []struct {
		name string
		out  lambda.InvokeOutput
		want *Error
	}{
		{"result", lambda.InvokeOutput{Payload: []byte(`{"repository":"hello-color","results":[]}`)}, nil},
		{"result with an error field", lambda.InvokeOutput{Payload: []byte(`{"repository":"x","results":[],"error":"bad"}`)}, nil},
		{"not JSON, no header", lambda.InvokeOutput{Payload: []byte(`[1,2]`)}, nil},
		{"error payload without the header (the emulator)",
			lambda.InvokeOutput{Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)},
			&Error{Function: "f", Kind: "Unhandled", Type: "errorString", Message: "boom"}},
		{"header, with the log tail",
			lambda.InvokeOutput{FunctionError: aws.String("Handled"), LogResult: aws.String(tail),
				Payload: []byte(`{"errorMessage":"describe services: throttled","errorType":"OperationError"}`)},
			&Error{Function: "f", Kind: "Handled", Type: "OperationError", Message: "describe services: throttled", Log: "START RequestId: 1\nsomething broke"}},
		{"header, payload not JSON",
			lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte("Task timed out after 900.00 seconds\n")},
			&Error{Function: "f", Kind: "Unhandled", Message: "Task timed out after 900.00 seconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, In("f", &tt.out)); diff != "" {
				t.Errorf("In (-want +got):\n%s", diff)
			}
		})
	}
}

func TestError(t *testing.T) {
	e := &Error{Function: "f", Kind: "Unhandled", Type: "errorString", Message: "boom", Log: "line"}
	if got, want := e.Error(), "function f failed (Unhandled): errorString: boom\nlog tail:\nline"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &Error{Function: "f", Kind: "Unhandled", Message: "Task timed out"}
	if got, want := e.Error(), "function f failed (Unhandled): Task timed out"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
