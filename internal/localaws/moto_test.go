package localaws

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMotoEnv(t *testing.T) {
	got := motoEnv(
		[]string{"PATH=/bin", "MOTO_ECS_SERVICE_RUNNING=3", "MOTO_ACCOUNT_ID=111111111111", "HOME=/root"},
		[]string{"MOTO_ECS_SERVICE_RUNNING=1"},
	)
	want := []string{"PATH=/bin", "HOME=/root", "MOTO_ECS_SERVICE_RUNNING=1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("motoEnv (-want +got):\n%s", diff)
	}
}
