package deploy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
)

// A reconcile describes the services of one cluster together: a cluster
// named by ARN (here another account's, of the same name) is not the local
// cluster of that name, and its services are not described in it.
func TestFleetGroupsServicesByTheClustersARN(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	const elsewhere = "arn:aws:ecs:us-east-1:111111111111:cluster/" + cluster
	awstest.Must(w.env.Local.CreateRepository(t.Context(), "other"))(t)
	awstest.Must(w.env.Local.PutParameter(t.Context(), "/ecrdeploy/config/other",
		`{"environments": {"live": {"cluster": "`+elsewhere+`", "services": ["other-web"]}}}`))(t)
	w.env.Proxy.Reset()
	w.reconcile(t)

	for _, c := range calls(w.env, "DescribeServices") {
		r := requestOf(t, c)
		local := slices.ContainsFunc(r.Services, func(s string) bool { return strings.HasPrefix(s, "hello-color-") })
		other := slices.Contains(r.Services, "other-web")
		switch {
		case local && other:
			t.Errorf("one DescribeServices in %s names the services of both clusters: %v", r.Cluster, r.Services)
		case other && r.Cluster != elsewhere:
			t.Errorf("other-web described in cluster %s, want %s", r.Cluster, elsewhere)
		case local && r.Cluster != cluster:
			t.Errorf("hello-color's services described in cluster %s, want %s", r.Cluster, cluster)
		}
	}
}
