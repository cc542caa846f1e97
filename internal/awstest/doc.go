// Package awstest runs the integration tests of ecrdeploy against moto, the
// AWS emulator, through a fault-injecting reverse proxy.
//
// moto_server is started once per test binary, on a free loopback port, the
// first time a test calls [New], and is reset at the start of every test that
// calls [New]. A package that uses awstest stops it with [RunMain]:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }
//
// Without RunMain the process is still killed when the test binary exits (the
// child gets SIGKILL when its parent dies, on Linux), but RunMain stops it
// deterministically.
//
// Each [Env] owns a fresh [Proxy] between the SDK and moto. Code under test
// talks to the proxy ([Env.Config], [Env.URL], [Env.SetEnv]); the test seeds
// and inspects moto directly with [Env.Local], the internal/localaws client
// the demo uses too, so its calls are neither counted nor affected by
// injected faults. localaws returns errors; [Must] makes one fail the test:
//
//	awstest.Must(env.Local.PutParameter(t.Context(), name, value))(t)
//
// [Env.ECSModel] shows what moto's ECS lacks: deployments that complete,
// fail or roll back, the service-deployments API, and deployments of the
// blue-green family (blue-green, linear, canary) that go through ECS's
// lifecycle stages, shift test and production traffic, bake, pause at hooks
// until ContinueServiceDeployment or their timeout, roll back on a hook, an
// alarm or StopServiceDeployment, and send ECS Hook State Change events. A
// test moves them ([ECSModel.Progress], [ECSModel.Elapse],
// [ECSModel.LambdaHookReturns], [ECSModel.AlarmFires]). CloudWatch's
// DescribeAlarms is answered from moto's alarms in the protocol the SDK
// speaks.
//
// In throttling mode ([Proxy.Throttle] with [NewBuckets]) the proxy answers
// ThrottlingException as AWS's request token buckets would, one bucket per
// account, region and action category (and, for DynamoDB, table: reads and
// writes, counted in request units), with the sizes and refill rates AWS
// documents (scaled down for a scaled-down fleet), and counts what it
// throttled ([Proxy.Throttled]).
//
// Because every test resets the one moto server, tests that call [New] must
// not run in parallel with each other; [New] fails the test if they overlap.
//
// Environment:
//   - moto_server must be on PATH; otherwise [New] fails with
//     "moto_server not found: install it with pip install 'moto[server]'".
//   - ECRDEPLOY_SKIP_INTEGRATION=1 makes [New] skip the test instead,
//     unless CI=true, where integration tests always run and a missing
//     moto_server always fails.
//   - moto_server is started without any inherited MOTO_* variables (so
//     MOTO_ECS_SERVICE_RUNNING is unset and the account is always
//     localaws.AccountID); pass localaws.WithMotoEnv to RunMain to set one.
package awstest
