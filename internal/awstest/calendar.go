package awstest

// The Change Calendar model: moto has no GetCalendarState, so the proxy
// answers it.
//
// Shapes and behaviour come from AWS's documentation:
//   - "GetCalendarState", AWS Systems Manager API Reference,
//     https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCalendarState.html:
//     request {"CalendarNames": [...], "AtTime": "..."}, "the names or
//     Amazon Resource Names (ARNs) of the Systems Manager documents that
//     represent the calendar entries"; response {"State", "AtTime",
//     "NextTransitionTime"}, the times "as an ISO 8601 string"; "If you
//     specify more than one calendar in a request, the command returns the
//     status of OPEN only if all calendars in the request are open. If one
//     or more calendars in the request are closed, the status returned is
//     CLOSED"; "If the current calendar state is OPEN, NextTransitionTime
//     indicates when the calendar state changes to CLOSED, and vice-versa."
//     Errors InvalidDocument, InvalidDocumentType and
//     UnsupportedCalendarException (their codes as aws-sdk-go-v2/service/ssm
//     v1.82.1 names them).
//   - "AWS Systems Manager Change Calendar", AWS Systems Manager User Guide,
//     https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-change-calendar.html:
//     a calendar is OPEN by default (DEFAULT_OPEN) and CLOSED during its
//     events. The model has only DEFAULT_OPEN calendars whose events close
//     them, which is what a freeze is.
//   - The time format: the examples of "Amazon EventBridge event examples
//     for Systems Manager" (Change Calendar events), AWS Systems Manager
//     User Guide, write "2020-10-11T18:00:07Z".
//
// What AWS does not document, the model decides, and says so: the message
// of InvalidDocument is made up, and for several calendars that are all
// CLOSED, NextTransitionTime is the latest end among them (when all open,
// the earliest close).

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// CalendarModel answers SSM GetCalendarState in front of moto, from the
// calendars a test creates and closes. Its clock is Now (time.Now unless a
// test sets it with [CalendarModel.SetNow]).
type CalendarModel struct {
	proxy *Proxy

	mu        sync.Mutex
	now       func() time.Time
	calendars map[string]*calendar // by ARN
}

// calendar is one DEFAULT_OPEN change calendar: the intervals in which its
// events close it.
type calendar struct {
	closed []window
}

type window struct{ from, until time.Time }

// NewCalendarModel puts a Change Calendar model in front of the proxy's
// SSM: it answers every GetCalendarState call.
func NewCalendarModel(p *Proxy) *CalendarModel {
	m := &CalendarModel{proxy: p, now: time.Now, calendars: map[string]*calendar{}}
	p.Intercept("ssm:GetCalendarState", m.getCalendarState)
	return m
}

// SetNow sets the model's clock.
func (m *CalendarModel) SetNow(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// CalendarARN returns the ARN of the calendar document name in an account
// and region, as GetCalendarState resolves a name: in the caller's own.
func CalendarARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:document/%s", region, account, name)
}

// Create makes an OPEN calendar (a DEFAULT_OPEN calendar without events)
// named by its ARN (see [CalendarARN]). Creating it again changes nothing.
func (m *CalendarModel) Create(arn string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calendars[arn] == nil {
		m.calendars[arn] = &calendar{}
	}
}

// Close adds an event that closes the calendar from from until until,
// creating the calendar if needed.
func (m *CalendarModel) Close(arn string, from, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.calendars[arn]
	if c == nil {
		c = &calendar{}
		m.calendars[arn] = c
	}
	c.closed = append(c.closed, window{from: from.UTC(), until: until.UTC()})
}

// Open removes every event of the calendar: it is OPEN from now on.
func (m *CalendarModel) Open(arn string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.calendars[arn]; c != nil {
		c.closed = nil
	}
}

// state returns whether the calendar is open at t and when that changes
// next (zero: never, as far as its events go).
func (c *calendar) state(t time.Time) (open bool, next time.Time) {
	ws := slices.Clone(c.closed)
	slices.SortFunc(ws, func(a, b window) int { return a.from.Compare(b.from) })
	// Merge overlapping or touching events: the calendar is closed
	// through their union.
	var merged []window
	for _, w := range ws {
		if n := len(merged); n > 0 && !w.from.After(merged[n-1].until) {
			if w.until.After(merged[n-1].until) {
				merged[n-1].until = w.until
			}
			continue
		}
		merged = append(merged, w)
	}
	for _, w := range merged {
		switch {
		case !t.Before(w.from) && t.Before(w.until):
			return false, w.until
		case t.Before(w.from):
			return true, w.from
		}
	}
	return true, time.Time{}
}

// getCalendarState answers GetCalendarState from the model.
func (m *CalendarModel) getCalendarState(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		CalendarNames []string
		AtTime        string
	}
	if err := decodeJSON(in.Call.Request, &req); err != nil || len(req.CalendarNames) == 0 {
		return in.Error(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'calendarNames' failed to satisfy constraint: Member must not be null"), nil
	}
	account, region, _ := m.proxy.caller(ctx, in.Header.Get("Authorization"))

	m.mu.Lock()
	defer m.mu.Unlock()
	at := m.now().UTC()
	if req.AtTime != "" {
		t, err := time.Parse(time.RFC3339, req.AtTime)
		if err != nil {
			return in.Error(http.StatusBadRequest, "ValidationException", "AtTime is not an ISO 8601 time"), nil // made up: AWS does not document this answer
		}
		at = t.UTC()
	}
	allOpen := true
	var closesFirst, opensLast time.Time
	for _, name := range req.CalendarNames {
		arn := name
		if !strings.HasPrefix(name, "arn:") {
			arn = CalendarARN(region, account, name)
		}
		c := m.calendars[arn]
		if c == nil {
			// The message is the model's: AWS does not document it.
			return in.Error(http.StatusBadRequest, "InvalidDocument", "The specified document "+name+" does not exist or is not shared with this account."), nil
		}
		open, next := c.state(at)
		switch {
		case !open:
			allOpen = false
			if next.After(opensLast) {
				opensLast = next
			}
		case !next.IsZero() && (closesFirst.IsZero() || next.Before(closesFirst)):
			closesFirst = next
		}
	}
	out := map[string]string{"AtTime": at.Format(time.RFC3339), "State": "OPEN"}
	next := closesFirst
	if !allOpen {
		out["State"], next = "CLOSED", opensLast
	}
	if !next.IsZero() {
		out["NextTransitionTime"] = next.Format(time.RFC3339)
	}
	return in.JSON(out)
}
