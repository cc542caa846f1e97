package target

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// CalendarAPI is the part of the SSM API that reads change calendars;
// *ssm.Client satisfies it.
type CalendarAPI interface {
	GetCalendarState(ctx context.Context, in *ssm.GetCalendarStateInput, optFns ...func(*ssm.Options)) (*ssm.GetCalendarStateOutput, error)
}

// ErrCalendar is a change calendar that cannot be read as one: it does not
// exist, is not shared with this account, or is not a ChangeCalendar
// document. Retrying does not fix it; the configuration names the wrong
// calendar.
var ErrCalendar = errors.New("not a change calendar this account can read")

// Calendar is what SSM says of one change calendar now.
type Calendar struct {
	// Name is the calendar as the configuration names it (a name or an
	// ARN).
	Name string
	// Open reports whether actions may proceed (OPEN), rather than not
	// (CLOSED).
	Open bool
	// Next is when the state changes next (a CLOSED calendar opens, an
	// OPEN one closes); zero when SSM says of no change to come.
	Next time.Time
}

// CalendarState reads the state of one change calendar, by name (in the
// client's account and region) or ARN, with GetCalendarState. It returns
// an error wrapping ErrCalendar, naming the calendar, when SSM refuses the
// calendar itself (InvalidDocument, InvalidDocumentType,
// UnsupportedCalendarException); other errors are wrapped as they are.
//
// The times in the answer are ISO 8601 strings ("GetCalendarState", AWS
// Systems Manager API Reference; the Change Calendar events show them as
// 2020-10-11T18:00:07Z); one that does not parse as RFC 3339 is read as no
// time at all.
func CalendarState(ctx context.Context, client CalendarAPI, name string) (Calendar, error) {
	out, err := client.GetCalendarState(ctx, &ssm.GetCalendarStateInput{CalendarNames: []string{name}})
	var invalid *ssmtypes.InvalidDocument
	var wrongType *ssmtypes.InvalidDocumentType
	var unsupported *ssmtypes.UnsupportedCalendarException
	switch {
	case errors.As(err, &invalid), errors.As(err, &wrongType), errors.As(err, &unsupported):
		return Calendar{}, fmt.Errorf("change calendar %s: %w (%s)", name, ErrCalendar, apiMessage(err))
	case err != nil:
		return Calendar{}, fmt.Errorf("read change calendar %s: %w", name, err)
	}
	c := Calendar{Name: name, Open: out.State != ssmtypes.CalendarStateClosed}
	if next := aws.ToString(out.NextTransitionTime); next != "" {
		if t, err := time.Parse(time.RFC3339, next); err == nil {
			c.Next = t.UTC()
		}
	}
	return c, nil
}

// CalendarRegion returns the region whose SSM a calendar is read in: an
// ARN's own, or own for a name.
func CalendarRegion(calendar, own string) string {
	if !strings.HasPrefix(calendar, "arn:") {
		return own
	}
	parts := strings.SplitN(calendar, ":", 6)
	if len(parts) < 6 || parts[3] == "" {
		return own
	}
	return parts[3]
}

// apiMessage is the message of an AWS error, or the error's own text.
func apiMessage(err error) string {
	var api interface{ ErrorMessage() string }
	if errors.As(err, &api) && api.ErrorMessage() != "" {
		return api.ErrorMessage()
	}
	return err.Error()
}
