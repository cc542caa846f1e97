// Package bench measures ecrdeploy where its time goes: a deployment spends
// almost all of it waiting on AWS API calls, so the figures that matter are
// how many calls a decision takes and how many of them wait on each other.
//
// Its tests run the deployment library and the Lambda handlers against moto
// through the call-counting proxy of internal/awstest, with a fixed latency
// L injected into every call, and report:
//
//  1. API calls by operation, with the purpose of each, for a push deployment
//     (cold and warm configuration), a duplicate event, a not-semver tag, a
//     skipped downgrade, a promote and a plan;
//  2. wall time as a multiple of L for one and five environments, and the
//     longest chain of calls that waited on each other;
//  3. a burst of push events through one warm handler and through four,
//     verified to leave every environment on its highest accepted version;
//  4. cold start of each bootstrap under the Lambda Runtime Interface
//     Emulator, binary sizes and peak memory;
//  5. the Go benchmarks of the pure parts (pkg/policy, pkg/taskdef,
//     pkg/deploy), read from the output of go test -bench.
//
// The report is a benchmark, not a test: it runs only when asked. make bench
// prints it; make bench-report also writes docs/benchmarks.md, the tracked
// copy, and refuses a partial run (-skip). By hand:
//
//	go test ./internal/bench -run TestReport -v -args -report=-    # print only
//	go test ./internal/bench -run TestReport -v -args -report=../../docs/benchmarks.md
//
// Without -report, TestReport is skipped, so make test stays fast; the
// package's other tests check the pure helpers the report relies on.
package bench
