package awstest

import (
	"testing"
)

// PutParameter writes a String parameter in moto, overwriting any previous
// value, and returns its new version.
func (e *Env) PutParameter(t testing.TB, name, value string) int64 {
	t.Helper()
	v, err := e.local.PutParameter(t.Context(), name, value)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// GetParameter returns the decrypted value of a parameter in moto, and false
// if it does not exist.
func (e *Env) GetParameter(t testing.TB, name string) (string, bool) {
	t.Helper()
	v, ok, err := e.local.GetParameter(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return v, ok
}
