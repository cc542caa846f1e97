package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
)

// fakeSSM is an in-memory parameter store.
type fakeSSM struct {
	params          map[string]string
	history         map[string][]string
	getParamsCalls  int
	putErr, readErr error
}

var _ SSMAPI = (*fakeSSM)(nil)

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if f.readErr != nil {
		return nil, f.readErr
	}
	name, version, _ := strings.Cut(aws.ToString(in.Name), ":")
	if version != "" {
		var n int
		fmt.Sscan(version, &n)
		if n < 1 || n > len(f.history[name]) {
			return nil, &ssmtypes.ParameterVersionNotFound{}
		}
		return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: aws.String(name), Value: aws.String(f.history[name][n-1]), Version: int64(n)}}, nil
	}
	v, ok := f.params[name]
	if !ok {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v), Version: int64(len(f.history[name]))}}, nil
}

func (f *fakeSSM) GetParameters(_ context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	f.getParamsCalls++
	if len(in.Names) > 10 {
		return nil, fmt.Errorf("ValidationException: %d names", len(in.Names))
	}
	out := &ssm.GetParametersOutput{}
	for _, n := range in.Names {
		if v, ok := f.params[n]; ok {
			out.Parameters = append(out.Parameters, ssmtypes.Parameter{Name: aws.String(n), Value: aws.String(v)})
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
}

func (f *fakeSSM) GetParameterHistory(_ context.Context, in *ssm.GetParameterHistoryInput, _ ...func(*ssm.Options)) (*ssm.GetParameterHistoryOutput, error) {
	name := aws.ToString(in.Name)
	if f.history[name] == nil {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	// One value per page, to exercise paging.
	i := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &i)
	}
	out := &ssm.GetParameterHistoryOutput{Parameters: []ssmtypes.ParameterHistory{{Name: in.Name, Value: aws.String(f.history[name][i])}}}
	if i+1 < len(f.history[name]) {
		out.NextToken = aws.String(fmt.Sprint(i + 1))
	}
	return out, nil
}

func (f *fakeSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	if f.putErr != nil {
		return nil, f.putErr
	}
	if !aws.ToBool(in.Overwrite) {
		return nil, errors.New("want Overwrite")
	}
	f.params[aws.ToString(in.Name)] = aws.ToString(in.Value)
	if f.history == nil {
		f.history = map[string][]string{}
	}
	f.history[aws.ToString(in.Name)] = append(f.history[aws.ToString(in.Name)], aws.ToString(in.Value))
	return &ssm.PutParameterOutput{Version: int64(len(f.history[aws.ToString(in.Name)]))}, nil
}

func TestPutGetRoundTrip(t *testing.T) {
	f := &fakeSSM{params: map[string]string{}}
	s := NewStore(f, "/ecrdeploy/")
	pushed := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	rec := Record{
		Repository: "team/web", Environment: "dev", Version: "1.4.0", Tag: "v1.4.0", Digest: "sha256:abc",
		Image: "r/team/web:v1.4.0", Cause: CausePush, EventID: "e1", PushedAt: &pushed, Time: pushed.Add(time.Minute),
		Services: map[string]Service{"web": {Cluster: "c", TaskDefinition: "arn:td:2", PreviousTaskDefinition: "arn:td:1", DeploymentID: "ecs-svc/1", Rollout: InProgress}},
		Rollout:  InProgress, Held: []string{"1.5.0"},
	}
	if n, err := s.Put(context.Background(), rec); err != nil || n != 1 {
		t.Fatalf("Put = %d, %v; want version 1", n, err)
	}
	if _, ok := f.params["/ecrdeploy/state/team/web/dev"]; !ok {
		t.Fatalf("record not written at /ecrdeploy/state/team/web/dev: %v", f.params)
	}
	got, err := s.Get(context.Background(), "team/web", "dev")
	if err != nil {
		t.Fatal(err)
	}
	rec.ParameterVersion = 1
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
}

func TestGetErrors(t *testing.T) {
	f := &fakeSSM{params: map[string]string{"/p/state/r/bad": "{not json"}}
	s := NewStore(f, "/p")
	if _, err := s.Get(context.Background(), "r", "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing record: err = %v, want ErrNotFound", err)
	}
	_, err := s.Get(context.Background(), "r", "bad")
	if err == nil || !strings.Contains(err.Error(), "/p/state/r/bad") {
		t.Errorf("bad record: err = %v, want an error naming the parameter", err)
	}
	f.readErr = errors.New("boom")
	if _, err := s.Get(context.Background(), "r", "x"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("read error: err = %v, want a non-NotFound error", err)
	}
}

func TestGetManyBatchesByTen(t *testing.T) {
	f := &fakeSSM{params: map[string]string{}}
	s := NewStore(f, "/p")
	var envs []string
	for i := range 23 {
		env := fmt.Sprintf("env%02d", i)
		envs = append(envs, env)
		if i%2 == 0 {
			if _, err := s.Put(context.Background(), Record{Repository: "r", Environment: env, Version: "1.0.0"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := s.GetMany(context.Background(), "r", envs)
	if err != nil {
		t.Fatal(err)
	}
	if f.getParamsCalls != 3 {
		t.Errorf("GetParameters calls = %d, want 3 for 23 names", f.getParamsCalls)
	}
	if len(got) != 12 {
		t.Errorf("got %d records, want 12", len(got))
	}
	if got["env04"].Environment != "env04" {
		t.Errorf("env04 = %+v", got["env04"])
	}
	if _, ok := got["env03"]; ok {
		t.Errorf("env03 has no record but is in the result")
	}
}

func TestAggregateRollout(t *testing.T) {
	tests := []struct {
		name     string
		services map[string]Service
		want     Rollout
	}{
		{"all completed", map[string]Service{"a": {Rollout: Completed}, "b": {Rollout: Completed}}, Completed},
		{"one in progress", map[string]Service{"a": {Rollout: Completed}, "b": {Rollout: InProgress}}, InProgress},
		{"one failed", map[string]Service{"a": {Rollout: InProgress}, "b": {Rollout: Failed}}, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{Services: tt.services}
			if got := r.AggregateRollout(); got != tt.want {
				t.Errorf("AggregateRollout() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHold(t *testing.T) {
	var r Record
	for i := range maxHeld + 5 {
		r.Hold(fmt.Sprintf("1.%d.0", i))
	}
	r.Hold("1.24.0") // already held: not added twice
	if len(r.Held) != maxHeld {
		t.Fatalf("len(Held) = %d, want %d", len(r.Held), maxHeld)
	}
	if r.Held[0] != "1.5.0" || !r.IsHeld("1.24.0") {
		t.Errorf("Held = %v, want the newest %d", r.Held, maxHeld)
	}
	r.Unhold(func(v string) bool { return true })
	if r.Held != nil {
		t.Errorf("Held = %v after unholding all, want nil", r.Held)
	}
}

func TestHistoryOldestFirstAcrossPages(t *testing.T) {
	f := &fakeSSM{params: map[string]string{}}
	s := NewStore(f, "/p")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		if _, err := s.Put(context.Background(), Record{Repository: "r", Environment: "prod", Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	f.history["/p/state/r/prod"] = append(f.history["/p/state/r/prod"], "not a record")
	recs, err := s.History(context.Background(), "r", "prod")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Version)
	}
	if diff := cmp.Diff([]string{"1.0.0", "1.1.0", "1.2.0"}, got); diff != "" {
		t.Errorf("History versions (-want +got):\n%s", diff)
	}
	if _, err := s.History(context.Background(), "r", "dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("History of an environment without records: err = %v, want ErrNotFound", err)
	}
}

func TestGetVersion(t *testing.T) {
	f := &fakeSSM{params: map[string]string{}}
	s := NewStore(f, "/p")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if _, err := s.Put(context.Background(), Record{Repository: "r", Environment: "prod", Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetVersion(context.Background(), "r", "prod", 1)
	if err != nil || got.Version != "1.0.0" || got.ParameterVersion != 1 {
		t.Errorf("GetVersion(1) = %+v, %v", got, err)
	}
	if cur, err := s.Get(context.Background(), "r", "prod"); err != nil || cur.ParameterVersion != 2 || cur.Version != "1.1.0" {
		t.Errorf("Get = %+v, %v; want version 2", cur, err)
	}
	if _, err := s.GetVersion(context.Background(), "r", "prod", 7); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetVersion(7) err = %v, want ErrNotFound", err)
	}
}

// Records written before the spelling was unified carry ECS's spelling of
// the rollout; they read as the same states.
func TestRolloutReadsBothSpellings(t *testing.T) {
	var rec Record
	if err := json.Unmarshal([]byte(`{"rollout":"IN_PROGRESS","services":{"a":{"rollout":"COMPLETED"},"b":{"rollout":"failed"}}}`), &rec); err != nil {
		t.Fatal(err)
	}
	want := []Rollout{InProgress, Completed, Failed}
	got := []Rollout{rec.Rollout, rec.Services["a"].Rollout, rec.Services["b"].Rollout}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rollouts (-want +got):\n%s", diff)
	}
	out, _ := json.Marshal(Record{Rollout: InProgress})
	if !strings.Contains(string(out), `"rollout":"in-progress"`) {
		t.Errorf("written as %s, want the one spelling in-progress", out)
	}
}

// The configuration store and the state store read and write under one
// prefix, however it is spelled.
func TestPrefixNormalisedLikeTheConfigStore(t *testing.T) {
	for _, prefix := range []string{"/ecrdeploy", "/ecrdeploy/", "/ecrdeploy//"} {
		if got := NewStore(nil, prefix).Name("hello-color", "dev"); got != "/ecrdeploy/state/hello-color/dev" {
			t.Errorf("prefix %q: state at %s, want /ecrdeploy/state/hello-color/dev", prefix, got)
		}
		if got := config.ParameterName(prefix, "hello-color"); got != "/ecrdeploy/config/hello-color" {
			t.Errorf("prefix %q: config at %s, want /ecrdeploy/config/hello-color", prefix, got)
		}
	}
}

func TestStateOfAFleetIsReadTenACall(t *testing.T) {
	f := &fakeSSM{params: map[string]string{}}
	s := NewStore(f, "/p")
	var keys []Key
	want := map[Key]string{}
	for r := range 7 {
		for _, env := range []string{"dev", "staging", "production"} {
			k := Key{Repository: fmt.Sprintf("team/app-%d", r), Environment: env}
			keys = append(keys, k)
			if r == 3 && env == "staging" {
				continue // no record yet
			}
			if _, err := s.Put(context.Background(), Record{Repository: k.Repository, Environment: env, Version: "1.0.0"}); err != nil {
				t.Fatal(err)
			}
			want[k] = k.Repository + "/" + env
		}
	}
	bad := Key{Repository: "team/app-5", Environment: "dev"}
	f.params[s.Name(bad.Repository, bad.Environment)] = "{not a record"
	delete(want, bad)

	got, err := s.GetKeys(context.Background(), append(keys, keys[0])) // a key asked twice is read once
	var unreadable *Unreadable
	if !errors.As(err, &unreadable) {
		t.Fatalf("GetKeys error = %v, want *Unreadable", err)
	}
	if f.getParamsCalls != 3 {
		t.Errorf("GetParameters calls = %d, want 3 for 21 records of 7 repositories", f.getParamsCalls)
	}
	gotNames := map[Key]string{}
	for k, rec := range got {
		gotNames[k] = rec.Repository + "/" + rec.Environment
	}
	if diff := cmp.Diff(want, gotNames); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if e := unreadable.OfKey(bad); e == nil || !strings.Contains(e.Error(), "not a state record") {
		t.Errorf("OfKey(%v) = %v, want it unreadable", bad, e)
	}
	if e := unreadable.OfKey(Key{Repository: "team/app-6", Environment: "dev"}); e != nil {
		t.Errorf("a record read has error %v", e)
	}
	if !strings.Contains(err.Error(), "team/app-5/dev") {
		t.Errorf("error %q does not name the record", err)
	}

	// One repository's part of the error is what GetMany answers for it.
	var part *Unreadable
	if !errors.As(unreadable.Only("team/app-5"), &part) || part.Of("dev") == nil || len(part.Keys) != 1 {
		t.Errorf("Only(team/app-5) = %v, want the dev record unreadable", unreadable.Only("team/app-5"))
	}
	if e := unreadable.Only("team/app-4"); e != nil {
		t.Errorf("Only(team/app-4) = %v, want nil: its records were read", e)
	}
	recs, err := s.GetMany(context.Background(), "team/app-5", []string{"dev", "staging"})
	if !errors.As(err, &part) || part.Of("dev") == nil || part.Of("staging") != nil || recs["staging"].Version != "1.0.0" {
		t.Errorf("GetMany = %v, %v; want staging read and dev unreadable", recs, err)
	}
}

func TestStateOfAFleetReadFailure(t *testing.T) {
	f := &fakeSSM{params: map[string]string{}}
	s := NewStore(&failingGetParameters{fakeSSM: f}, "/p")
	_, err := s.GetKeys(context.Background(), []Key{{Repository: "r", Environment: "dev"}})
	var unreadable *Unreadable
	if err == nil || errors.As(err, &unreadable) || !strings.Contains(err.Error(), "/p/state/r/dev") {
		t.Errorf("GetKeys error = %v, want a read error naming the parameter", err)
	}
}

// failingGetParameters is a parameter store whose GetParameters fails.
type failingGetParameters struct{ *fakeSSM }

func (f *failingGetParameters) GetParameters(context.Context, *ssm.GetParametersInput, ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	return nil, errors.New("ThrottlingException: Rate exceeded")
}
