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

func TestPrefix(t *testing.T) {
	for _, tt := range []struct {
		in, want, wantErr string
	}{
		{"/ecrdeploy", "/ecrdeploy", ""},
		{"/ecrdeploy/", "/ecrdeploy", ""},
		{"/ecrdeploy//", "/ecrdeploy", ""},
		{"/platform/ecrdeploy", "/platform/ecrdeploy", ""},
		{"/a.b_c-D/e1", "/a.b_c-D/e1", ""},
		{"/", "", ""},
		{"//", "", ""},
		{"", "", "empty prefix"},
		{"ecrdeploy", "", "must start with /"},
		{"/a//b", "", "empty segment"},
		{"/eco deploy", "", "character that SSM parameter names cannot have at byte 4"},
		{"/ecrdeploy\n", "", "at byte 10"},
		{"/é", "", "at byte 1"},
		{"/" + strings.Repeat("a", MaxPrefixLength-1), "/" + strings.Repeat("a", MaxPrefixLength-1), ""},
		{"/" + strings.Repeat("a", MaxPrefixLength), "", "more than 683"},
	} {
		got, err := Prefix(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Prefix(%.40q) error %v", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Prefix(%.40q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
		case got != tt.want:
			t.Errorf("Prefix(%.40q) = %q, want %q", tt.in, got, tt.want)
		}
		if err != nil && len(tt.in) > 1 && strings.Contains(err.Error(), tt.in) {
			t.Errorf("Prefix(%.40q) error %q quotes the prefix", tt.in, err)
		}
	}
}
