package board

import (
	"fmt"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// bigFleet is n repositories of five environments each, one of them
// waiting for approval and one failed in every tenth repository.
func bigFleet(n int) Board {
	var b Board
	at := seedNow.Add(-3 * time.Hour)
	for i := range n {
		repo := Repository{Name: fmt.Sprintf("team-%02d/service-%04d", i%40, i)}
		from := ""
		for _, env := range []string{"dev", "qa", "staging", "production", "dr"} {
			e := Environment{Name: env, PromoteFrom: from, Recorded: true, Version: "1.2.3", Tag: "1.2.3",
				Digest: digest("abcdef"), Rollout: state.Completed, DeployedAt: &at, DeployedBy: state.CausePush}
			if i%10 == 0 && env == "production" {
				e.Rollout = state.InProgress
				e.Approval = &Approval{Stage: "post-test-traffic-shift"}
			}
			if i%10 == 5 && env == "staging" {
				e.Rollout = state.Failed
				e.Failed = &state.Failure{Version: "1.2.3", Reason: "circuit breaker"}
			}
			repo.Environments = append(repo.Environments, e)
			from = env
		}
		b.Repositories = append(b.Repositories, repo)
	}
	return b
}

// BenchmarkBoard1000 lays out and writes the board of 1,000 repositories
// in each format: what the promoter and the widget spend beyond reading
// the fleet.
func BenchmarkBoard1000(b *testing.B) {
	fleet := bigFleet(1000)
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			var size countingWriter
			for b.Loop() {
				size = 0
				if err := Write(&size, Layout(fleet, seedNow), f, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			// The HTML is the widget's answer: "For synchronous invocations,
			// the maximum payload size is 6 MB" (Lambda API Reference,
			// Invoke, https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html).
			b.ReportMetric(float64(size), "bytes/board")
		})
	}
}

// countingWriter counts what is written to it.
type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
