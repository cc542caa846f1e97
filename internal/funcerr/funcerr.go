// Package funcerr recognises, in the answer of a synchronous Lambda
// invocation of ecrdeploy's functions, the error a function reported in
// place of a result, from Lambda itself or from the Runtime Interface
// Emulator, and says what it was.
package funcerr

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Error is the error a Lambda function reported instead of a result.
type Error struct {
	Function string
	Kind     string // X-Amz-Function-Error: Unhandled, or Handled
	Type     string // errorType: the Go type of the handler's error, Runtime.ExitError, ...
	Message  string // errorMessage, or the whole payload when it has none
	Log      string // the tail of the invocation's log, when Lambda sent it (LogType Tail)
}

// In returns the error that function reported in out, the answer of a
// RequestResponse invocation, or nil if out carries a result.
//
// Lambda marks a function error with X-Amz-Function-Error; the Runtime
// Interface Emulator does not, so an error payload is also recognised by
// its shape: {"errorMessage": ..., "errorType": ...} without "results",
// which every result of ecrdeploy's functions has.
func In(function string, out *lambda.InvokeOutput) *Error {
	kind := aws.ToString(out.FunctionError)
	if out.FunctionError == nil {
		var probe struct {
			ErrorMessage *string         `json:"errorMessage"`
			Results      json.RawMessage `json:"results"`
		}
		if json.Unmarshal(out.Payload, &probe) != nil || probe.ErrorMessage == nil || probe.Results != nil {
			return nil
		}
		kind = "Unhandled"
	}
	e := &Error{Function: function, Kind: kind}
	var body struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(out.Payload, &body) == nil && body.ErrorMessage != "" {
		e.Type, e.Message = body.ErrorType, body.ErrorMessage
	} else {
		e.Message = strings.TrimSpace(string(out.Payload))
	}
	if tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); err == nil {
		e.Log = strings.TrimSpace(string(tail))
	}
	return e
}

// Error returns "function NAME failed (Kind): Type: Message", followed by the
// log tail when there is one.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "function %s failed (%s): ", e.Function, e.Kind)
	if e.Type != "" {
		b.WriteString(e.Type + ": ")
	}
	b.WriteString(e.Message)
	if e.Log != "" {
		b.WriteString("\nlog tail:\n" + e.Log)
	}
	return b.String()
}
