package input

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const digest = "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"

// longRepository is a valid repository name of exactly n bytes.
func longRepository(n int) string {
	return "r" + strings.Repeat("/r", (n-1)/2) + strings.Repeat("x", (n-1)%2)
}

func TestNameRules(t *testing.T) {
	rules := map[string]func(string) bool{
		"repository":  ValidRepository,
		"tag":         ValidTag,
		"digest":      ValidDigest,
		"account":     ValidAccount,
		"region":      ValidRegion,
		"environment": ValidEnvironment,
	}
	tests := []struct {
		rule, in string
		want     bool
	}{
		{"repository", "ab", true},
		{"repository", "hello-color", true},
		{"repository", "team/web", true},
		{"repository", "a.b_c-d/e0/f", true},
		{"repository", longRepository(256), true},
		{"repository", "a", false},
		{"repository", "", false},
		{"repository", "Hello", false},
		{"repository", "a//b", false},
		{"repository", "/a", false},
		{"repository", "a/", false},
		{"repository", "a__b", false},
		{"repository", "-a", false},
		{"repository", "a b", false},
		{"repository", longRepository(257), false},
		{"repository", "é", false},

		{"tag", "1", true},
		{"tag", "_", true},
		{"tag", "v1.2.3-rc.1", true},
		{"tag", strings.Repeat("t", 300), true},
		{"tag", "", false},
		{"tag", ".a", false},
		{"tag", "-a", false},
		{"tag", "a:b", false},
		{"tag", strings.Repeat("t", 301), false},
		{"tag", "1\n", false},

		{"digest", digest, true},
		{"digest", strings.ToUpper(digest), false},
		{"digest", "sha256:abc", false},
		{"digest", "sha512:" + strings.TrimPrefix(digest, "sha256:"), false},

		{"account", "123456789012", true},
		{"account", "12345678901", false},
		{"account", "1234567890123", false},
		{"account", "12345678901a", false},
		{"account", "１23456789012", false},

		{"region", "us-east-1", true},
		{"region", "us-gov-west-1", true},
		{"region", "cn-north-1", true},
		{"region", "ap-southeast-5", true},
		{"region", "eu-central-12", true},
		{"region", "", false},
		{"region", "us-east", false},
		{"region", "US-EAST-1", false},
		{"region", "us-east-100", false}, // no region has a three-digit number
		{"region", "useast-1", false},
		{"region", "u-east-1", false},
		{"region", "us--1", false},
		{"region", "us-éast-1", false},
		{"region", "us-east-1\n", false},

		{"environment", "dev", true},
		{"environment", "prod.eu_1-a", true},
		{"environment", strings.Repeat("e", 64), true},
		{"environment", "", false},
		{"environment", ".", false},
		{"environment", "..", false},
		{"environment", "...", true},
		{"environment", "a/b", false},
		{"environment", strings.Repeat("e", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.in, func(t *testing.T) {
			if got := rules[tt.rule](tt.in); got != tt.want {
				t.Errorf("valid %s %q = %v, want %v", tt.rule, tt.in, got, tt.want)
			}
		})
	}
}

func TestRegistryHost(t *testing.T) {
	tests := []struct {
		name, account, region, want string
	}{
		{"commercial", "123456789012", "us-east-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
		{"GovCloud", "123456789012", "us-gov-west-1", "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com"},
		{"China", "123456789012", "cn-north-1", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := RegistryHost(tt.account, tt.region)
			if diff := cmp.Diff(tt.want, host); diff != "" {
				t.Errorf("RegistryHost(%q, %q) mismatch (-want +got):\n%s", tt.account, tt.region, diff)
			}
			account, region, ok := ParseRegistryHost(host)
			if diff := cmp.Diff([]any{tt.account, tt.region, true}, []any{account, region, ok}); diff != "" {
				t.Errorf("ParseRegistryHost(%q) mismatch (-want +got):\n%s", host, diff)
			}
		})
	}
}

func TestParseRegistryHost(t *testing.T) {
	tests := []struct {
		host, wantAccount, wantRegion string
		wantOK                        bool
	}{
		{"222222222222.dkr.ecr.eu-west-1.amazonaws.com", "222222222222", "eu-west-1", true},
		{"222222222222.dkr.ecr.cn-northwest-1.amazonaws.com.cn", "222222222222", "cn-northwest-1", true},
		// The domain is not matched to the region, as it never was.
		{"222222222222.dkr.ecr.eu-west-1.amazonaws.com.cn", "222222222222", "eu-west-1", true},
		{"ghcr.io", "", "", false},
		{"", "", "", false},
		{"222222222222.dkr.ecr.eu-west-1.amazonaws.org", "", "", false},
		{"22222222222.dkr.ecr.eu-west-1.amazonaws.com", "", "", false},
		{"222222222222.dkr.ecr.eu-west-100.amazonaws.com", "", "", false},
		{"222222222222.dkr.ecr.EU-WEST-1.amazonaws.com", "", "", false},
		{"222222222222.dkr.ecr..amazonaws.com", "", "", false},
		{"x.222222222222.dkr.ecr.eu-west-1.amazonaws.com", "", "", false},
		{"222222222222.dkr.ecr.eu-west-1.amazonaws.com/hello-color", "", "", false},
		{"222222222222.dkr.ecr.eu-west-1.amazonaws.com.cn.amazonaws.com", "", "", false},
		{"222222222222.ecr.eu-west-1.amazonaws.com", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			account, region, ok := ParseRegistryHost(tt.host)
			if diff := cmp.Diff([]any{tt.wantAccount, tt.wantRegion, tt.wantOK}, []any{account, region, ok}); diff != "" {
				t.Errorf("ParseRegistryHost(%q) mismatch (-want +got):\n%s", tt.host, diff)
			}
		})
	}
}
