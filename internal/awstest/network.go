package awstest

import (
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// Network is a VPC, subnet and security group in moto's EC2, for awsvpc
// services: moto checks the subnets and security groups of create-service
// against its EC2.
type Network = localaws.Network

// Network returns the VPC, subnet and security group of this Env, creating
// them in moto on first use. It fails t if moto's EC2 refuses.
func (e *Env) Network(t testing.TB) Network {
	t.Helper()
	n, err := e.local.Network(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
