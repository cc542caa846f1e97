package awstest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// TestCalendarModel reads the model's calendars through the SDK, as the
// deployer does: open, closed until a time, open until a freeze starts,
// several at once, by name and by ARN, and one that does not exist.
func TestCalendarModel(t *testing.T) {
	env := awstest.New(t)
	now := time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC)
	env.Calendars.SetNow(func() time.Time { return now })
	own := awstest.CalendarARN(localaws.Region, localaws.AccountID, "release-freeze")
	shared := awstest.CalendarARN("eu-west-1", "222222222222", "sales-peak")
	env.Calendars.Create(own)
	env.Calendars.Close(shared, now.Add(-time.Hour), now.Add(48*time.Hour))
	client := ssm.NewFromConfig(env.Config)

	open, err := target.CalendarState(t.Context(), client, "release-freeze")
	if err != nil || !open.Open || !open.Next.IsZero() {
		t.Errorf("open calendar by name: %+v, %v; want OPEN with no transition", open, err)
	}
	closed, err := target.CalendarState(t.Context(), client, shared)
	if err != nil || closed.Open || !closed.Next.Equal(now.Add(48*time.Hour)) {
		t.Errorf("closed shared calendar by ARN: %+v, %v; want CLOSED until %s", closed, err, now.Add(48*time.Hour))
	}

	// A freeze to come: OPEN, closing when it starts; over: OPEN again.
	env.Calendars.Close(own, now.Add(time.Hour), now.Add(2*time.Hour))
	if c, err := target.CalendarState(t.Context(), client, own); err != nil || !c.Open || !c.Next.Equal(now.Add(time.Hour)) {
		t.Errorf("before a freeze: %+v, %v; want OPEN until %s", c, err, now.Add(time.Hour))
	}
	now = now.Add(3 * time.Hour)
	if c, err := target.CalendarState(t.Context(), client, own); err != nil || !c.Open {
		t.Errorf("after the freeze: %+v, %v; want OPEN", c, err)
	}

	// Several calendars: OPEN only if all are.
	out, err := client.GetCalendarState(t.Context(), &ssm.GetCalendarStateInput{CalendarNames: []string{"release-freeze", shared}})
	if err != nil || out.State != "CLOSED" {
		t.Errorf("one of two closed: %+v, %v; want CLOSED", out, err)
	}

	_, err = target.CalendarState(t.Context(), client, "no-such-calendar")
	if !errors.Is(err, target.ErrCalendar) {
		t.Errorf("unknown calendar: %v, want ErrCalendar", err)
	}
}
