package main

import "testing"

// The CLI hands no delivery off to the functions' queue: it reads every
// setting but ECRDEPLOY_QUEUE from the caller's environment, even a
// malformed one, which would otherwise fail every command.
func TestSettingsEnvLeavesTheQueueOut(t *testing.T) {
	env := map[string]string{"ECRDEPLOY_QUEUE": "not a URL", "ECRDEPLOY_PREFIX": "/acme"}
	c := &cli{getenv: func(k string) string { return env[k] }}
	if got := c.settingsEnv("ECRDEPLOY_QUEUE"); got != "" {
		t.Errorf("ECRDEPLOY_QUEUE = %q, want none", got)
	}
	if got := c.settingsEnv("ECRDEPLOY_PREFIX"); got != "/acme" {
		t.Errorf("ECRDEPLOY_PREFIX = %q, want the caller's /acme", got)
	}
}
