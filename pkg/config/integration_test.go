package config_test

import (
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

func mustReadFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestStoreAgainstMoto reads real SSM answers: a SecureString document, a
// repository name with a slash, the wire form of ParameterNotFound, and a
// recursive listing.
func TestStoreAgainstMoto(t *testing.T) {
	env := awstest.New(t)
	ctx := t.Context()
	sample := mustReadFile(t, "testdata/hello-color.json")
	if _, err := env.SSM().PutParameter(ctx, &ssm.PutParameterInput{
		Name:  aws.String("/ecrdeploy/config/hello-color"),
		Value: aws.String(sample),
		Type:  ssmtypes.ParameterTypeSecureString,
		Tier:  ssmtypes.ParameterTierAdvanced,
	}); err != nil {
		t.Fatal(err)
	}
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/team/web", `{"environments": {"dev": {"cluster": "apps", "services": ["web"]}}}`))(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/broken", `{"environments": {}}`))(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/state/hello-color/dev", `{}`))(t) // outside the config path
	env.Proxy.Reset()

	s := config.NewStore(env.SSM(), "/ecrdeploy", time.Minute)
	s.Log = slog.New(slog.DiscardHandler) // "broken" is logged; TestStoreList checks the line

	doc, err := s.Get(ctx, "hello-color")
	if err != nil {
		t.Fatalf("Get hello-color: %v", err)
	}
	if diff := cmp.Diff([]string{"dev", "production", "staging"}, doc.Names()); diff != "" {
		t.Errorf("hello-color environments mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.Get(ctx, "hello-color"); err != nil {
		t.Fatalf("Get hello-color again: %v", err)
	}

	if doc, err := s.Get(ctx, "team/web"); err != nil || doc.Environments["dev"] == nil {
		t.Errorf("Get team/web = %v, %v", doc, err)
	}

	_, err = s.Get(ctx, "missing")
	if !errors.Is(err, config.ErrNotFound) {
		t.Errorf("Get missing error = %v, want config.ErrNotFound", err)
	}
	_, err = s.Get(ctx, "broken")
	var cerr *input.Error
	if !errors.As(err, &cerr) || cerr.Field != "environments" {
		t.Errorf("Get broken error = %v, want an *input.Error at environments", err)
	}

	docs, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff([]string{"hello-color", "team/web"}, slices.Sorted(maps.Keys(docs))); diff != "" {
		t.Errorf("List repositories mismatch (-want +got):\n%s", diff)
	}

	want := map[string]int{"GetParameter": 4, "GetParametersByPath": 1}
	if diff := cmp.Diff(want, env.Proxy.Calls()); diff != "" {
		t.Errorf("SSM calls mismatch (-want +got):\n%s", diff)
	}
}
