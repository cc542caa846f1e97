package awstest

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// PutParameter writes a String parameter in moto, overwriting any previous
// value, and returns its new version.
func (e *Env) PutParameter(t testing.TB, name, value string) int64 {
	t.Helper()
	out, err := e.direct.ssm.PutParameter(t.Context(), &ssm.PutParameterInput{
		Name:      aws.String(name),
		Value:     aws.String(value),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("put parameter %s: %v", name, err)
	}
	return out.Version
}

// GetParameter returns the decrypted value of a parameter in moto, and false
// if it does not exist.
func (e *Env) GetParameter(t testing.TB, name string) (string, bool) {
	t.Helper()
	out, err := e.direct.ssm.GetParameter(t.Context(), &ssm.GetParameterInput{
		Name:           aws.String(name),
		WithDecryption: aws.Bool(true),
	})
	var notFound *ssmtypes.ParameterNotFound
	if errors.As(err, &notFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("get parameter %s: %v", name, err)
	}
	return aws.ToString(out.Parameter.Value), true
}
