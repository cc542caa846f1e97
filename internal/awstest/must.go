package awstest

import "testing"

// Must returns a function that fails t if err is not nil and returns v
// otherwise. It turns a call of the [localaws.Client] on [Env.Local], which
// returns an error, into a test step:
//
//	arn := awstest.Must(env.Local.CreateCluster(t.Context(), "apps"))(t)
func Must[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Must2 is [Must] for a call with two results and an error:
//
//	value, ok := awstest.Must2(env.Local.GetParameter(t.Context(), name))(t)
func Must2[T, U any](v T, w U, err error) func(t testing.TB) (T, U) {
	return func(t testing.TB) (T, U) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, w
	}
}
