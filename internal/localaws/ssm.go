package localaws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// PutParameter writes a String parameter in moto, overwriting any previous
// value, and returns its new version.
func (c *Client) PutParameter(ctx context.Context, name, value string) (int64, error) {
	out, err := c.ssm.PutParameter(ctx, &ssm.PutParameterInput{
		Name:      aws.String(name),
		Value:     aws.String(value),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	})
	if err != nil {
		return 0, fmt.Errorf("put parameter %s: %w", name, err)
	}
	return out.Version, nil
}

// GetParameter returns the decrypted value of a parameter in moto, and false
// (with a nil error) if it does not exist.
func (c *Client) GetParameter(ctx context.Context, name string) (string, bool, error) {
	out, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{
		Name:           aws.String(name),
		WithDecryption: aws.Bool(true),
	})
	var notFound *ssmtypes.ParameterNotFound
	if errors.As(err, &notFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get parameter %s: %w", name, err)
	}
	return aws.ToString(out.Parameter.Value), true, nil
}
