package config

import (
	"regexp"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// TestPatternsCompile: every name and ARN rule of the package compiles
// (they are compiled when first used, not when the program starts).
func TestPatternsCompile(t *testing.T) {
	for _, p := range []*input.Pattern{ecsName, clusterARN, serviceARN, roleARN, calendarName, calendarARN, lambdaARN} {
		if _, err := regexp.Compile(p.String()); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
