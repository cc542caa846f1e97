// Package localaws is the local AWS of ecrdeploy's tests and demo: it runs
// moto_server, the AWS emulator, and seeds and inspects it (clusters, task
// definitions, services, ECR repositories and images, SSM parameters).
//
// It does not depend on package testing, so that a program (the demo) can
// use it; tests reach it as internal/awstest's Env.Local, and awstest.Must
// fails the test where this package returns an error.
//
// moto_server must be on PATH; otherwise [StartMoto] returns
// [ErrMotoNotFound]. It is started without any inherited MOTO_* variables
// (so MOTO_ECS_SERVICE_RUNNING is unset and the account is always
// [AccountID]); pass [WithMotoEnv] to set one.
package localaws
