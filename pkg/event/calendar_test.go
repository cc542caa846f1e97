package event

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// TestDecodeCalendarChange decodes AWS's examples of Calendar State Change
// events (testdata/samples, from the Systems Manager User Guide).
func TestDecodeCalendarChange(t *testing.T) {
	for file, want := range map[string]CalendarChange{
		"calendar-open.json": {
			ID: "47a3f03a-f30d-1011-ac9a-du3bdEXAMPLE", Time: time.Date(2020, 9, 19, 18, 0, 7, 0, time.UTC),
			Account: "123456789012", Region: "us-east-2", Calendar: "arn:aws:ssm:us-east-2:123456789012:document/MyCalendar", State: "OPEN",
			AtTime: time.Date(2020, 9, 19, 18, 0, 7, 0, time.UTC), NextTransition: time.Date(2020, 10, 11, 18, 0, 7, 0, time.UTC),
		},
		"calendar-closed.json": {
			ID: "f30df03a-1011-ac9a-47a3-f761eEXAMPLE", Time: time.Date(2020, 9, 17, 21, 40, 2, 0, time.UTC),
			Account: "123456789012", Region: "us-east-2", Calendar: "arn:aws:ssm:us-east-2:123456789012:document/MyCalendar", State: "CLOSED",
			AtTime: time.Date(2020, 8, 17, 21, 40, 0, 0, time.UTC), NextTransition: time.Date(2020, 9, 19, 18, 0, 7, 0, time.UTC),
		},
	} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/samples/" + file)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ev.(CalendarChange)
			if !ok {
				t.Fatalf("Decode returned %T, want CalendarChange", ev)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
			if got.Name() != "MyCalendar" || got.Open() != (want.State == "OPEN") {
				t.Errorf("Name() = %q, Open() = %v", got.Name(), got.Open())
			}
		})
	}
}

func TestDecodeCalendarChangeErrors(t *testing.T) {
	raw, err := os.ReadFile("testdata/samples/calendar-open.json")
	if err != nil {
		t.Fatal(err)
	}
	sample := string(raw)
	for name, tt := range map[string]struct{ old, new, field, text string }{
		"no calendar":        {`"arn:aws:ssm:us-east-2:123456789012:document/MyCalendar"`, ``, "resources", "exactly one calendar ARN"},
		"not a document":     {`document/MyCalendar`, `parameter/MyCalendar`, "resources[0]", "not an SSM document ARN"},
		"unknown state":      {`"state": "OPEN"`, `"state": "HALF_OPEN"`, "detail.state", "unknown calendar state"},
		"bad time":           {`"nextTransitionTime": "2020-10-11T18:00:07Z"`, `"nextTransitionTime": "tomorrow"`, "detail.nextTransitionTime", "not an ISO 8601 time"},
		"state not a text":   {`"state": "OPEN"`, `"state": 1`, "detail.state", "want string"},
		"state beside State": {`"state": "OPEN"`, `"state": "OPEN", "State": "CLOSED"`, "detail.State", "another case"},
	} {
		t.Run(name, func(t *testing.T) {
			in := strings.Replace(sample, tt.old, tt.new, 1)
			ev, err := Decode([]byte(in))
			if ev != nil {
				t.Errorf("Decode returned %T beside the error", ev)
			}
			e := asInputError(t, err)
			if e.Field != tt.field || !strings.Contains(e.Problem, tt.text) {
				t.Errorf("error %q at %q, want %q at %q", e.Problem, e.Field, tt.text, tt.field)
			}
		})
	}
}

// asInputError returns err as an *input.Error, failing the test otherwise.
func asInputError(t *testing.T, err error) *input.Error {
	t.Helper()
	var e *input.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *input.Error", err, err)
	}
	return e
}
