// Package bench measures ecrdeploy where its time goes: a deployment spends
// almost all of it waiting on AWS API calls, so the figures that matter are
// how many calls a decision takes and how many of them wait on each other.
//
// Its tests run the deployment library and the Lambda handlers against moto
// through the call-counting proxy of internal/awstest, with every call
// taking a fixed time L in all, moto's own time included
// (awstest.Proxy.SetCallTime), as an AWS round trip does; and report:
//
//   - the goals: sequential levels of calls of a push (cold, warm, five
//     environments), from the proxy's timeline and as wall time ÷ L, and
//     the calls of an ECS event for a service no configuration names;
//   - the cost per event: calls by operation of a push (cold and warm
//     configuration), a duplicate, a non-version tag, ECS deployment state
//     changes, and a reconcile of ten repositories (nothing to do, and one
//     environment behind), per repository;
//   - API calls by operation, with the purpose of each, for those and for
//     a skipped downgrade, a promote and a plan;
//   - the levels and wall time of one and five environments;
//   - a burst of push events through one warm handler and through four,
//     verified to leave every environment on its highest accepted version;
//   - cold start of each bootstrap under the Lambda Runtime Interface
//     Emulator, binary sizes and peak memory;
//   - the Go benchmarks of the pure parts (pkg/policy, pkg/taskdef,
//     pkg/deploy), read from the output of go test -bench.
//
// L defaults to 100ms, levelCallTime of the level tests: moto serves
// concurrent requests largely one after another, and the calls of one level
// overlap in the timeline only if moto answers each of them within L. On a
// loaded 2-CPU machine (load average 4) the five-environment push had a
// call of 124 ms at L = 50ms and came out at 5 or 6 levels from run to run
// (its wall time 7.9 L); at 100ms every call took L (the longest 103 ms)
// and every run 5 levels, 5.2 L. The report's longest-call column shows
// whether that held.
//
// The report is a benchmark, not a test: it runs only when asked. make bench
// prints it; make bench-report also writes docs/benchmarks.md, the tracked
// copy, and refuses a partial run (-skip). By hand:
//
//	go test ./internal/bench -run TestReport -v -args -report=-    # print only
//	go test ./internal/bench -run TestReport -v -args -report=../../docs/benchmarks.md
//
// Without -report, TestReport is skipped, so make test stays fast; the
// package's other tests check the pure helpers the report relies on, and
// the level tests check the level goals from the timeline.
package bench
