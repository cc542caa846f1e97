package param

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestPut(t *testing.T) {
	for _, tt := range []struct {
		size int
		want ssmtypes.ParameterTier
	}{
		{10, ""},
		{StandardLimit, ""},
		{StandardLimit + 1, ssmtypes.ParameterTierAdvanced},
	} {
		in := Put("/p", []byte(strings.Repeat("x", tt.size)), ssmtypes.ParameterTierAdvanced)
		if in.Tier != tt.want || aws.ToString(in.Name) != "/p" || len(aws.ToString(in.Value)) != tt.size ||
			in.Type != ssmtypes.ParameterTypeString || !aws.ToBool(in.Overwrite) {
			t.Errorf("Put of %d bytes = tier %q, %+v; want tier %q, an overwriting String", tt.size, in.Tier, in, tt.want)
		}
	}
}
