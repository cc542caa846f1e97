package localaws_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

// The seeding methods are tested in internal/awstest, through Env.Local;
// these are the parts those tests do not reach.

func TestPutImageDigest(t *testing.T) {
	env := awstest.New(t)
	c := env.Local
	ctx := t.Context()
	if _, err := c.CreateRepository(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"
	got, err := c.PutImageDigest(ctx, "web", "1.1.0", localaws.ImageManifest("one"), digest)
	if err != nil || got != digest {
		t.Fatalf("PutImageDigest = %s, %v; want %s", got, err, digest)
	}
	if _, err := c.PutImageDigest(ctx, "web", "1.2.0", []byte("not JSON"), digest); err == nil {
		t.Error("PutImageDigest accepted a manifest that is not JSON")
	}
}

func TestMissing(t *testing.T) {
	env := awstest.New(t)
	c := env.Local
	ctx := t.Context()
	if _, err := c.CreateCluster(ctx, "apps"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeService(ctx, "apps", "nothing"); !errors.Is(err, localaws.ErrServiceNotFound) {
		t.Errorf("DescribeService of a missing service = %v, want ErrServiceNotFound", err)
	}
	if v, ok, err := c.GetParameter(ctx, "/nothing"); ok || err != nil || v != "" {
		t.Errorf("GetParameter of a missing parameter = %q, %v, %v; want not found", v, ok, err)
	}
}

// TestStartMotoCancelled checks that a start given up by the caller (an
// interrupted demo) says so, rather than report a timeout.
func TestStartMotoCancelled(t *testing.T) {
	awstest.RequireIntegration(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m, err := localaws.StartMoto(ctx)
	if err == nil {
		m.Stop()
		t.Fatal("StartMoto with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("StartMoto = %v, want context.Canceled", err)
	}
}
