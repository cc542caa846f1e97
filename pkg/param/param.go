// Package param is how ecrdeploy writes its SSM Parameter Store parameters
// (configuration documents and state records): as plain strings,
// overwriting, in the standard tier while the value fits it.
package param

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// StandardLimit is the largest value, in bytes, a standard-tier parameter
// holds.
const StandardLimit = 4096

// Put returns the PutParameter input that writes value to the parameter
// name, overwriting it, in the standard tier when the value fits and in
// larger (advanced, or intelligent tiering) when it does not.
func Put(name string, value []byte, larger ssmtypes.ParameterTier) *ssm.PutParameterInput {
	in := &ssm.PutParameterInput{
		Name:      aws.String(name),
		Value:     aws.String(string(value)),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	}
	if len(value) > StandardLimit {
		in.Tier = larger
	}
	return in
}
