// Package ecsref reads the names and ARNs of ECS resources: task
// definitions, services and clusters.
//
// ECS accepts a task definition, service or cluster by name or by ARN, and
// reports some back in the other form (a service's task definition as an
// ARN although it was updated with family:revision, and moto as it was
// passed). These functions compare and take apart either form. They are
// pure: they never call AWS and never fail; a reference they do not
// recognise is returned, or compared, as it is.
package ecsref

import (
	"strconv"
	"strings"
)

// The part of an ARN before a task definition's family:revision and before
// a cluster's name.
const (
	taskDefinitionPrefix = ":task-definition/"
	clusterPrefix        = ":cluster/"
)

// FamilyRevision returns "family:revision" (or the bare family) from a task
// definition ARN (arn:aws:ecs:region:account:task-definition/family:revision),
// and any other reference unchanged.
func FamilyRevision(ref string) string {
	if i := strings.LastIndex(ref, taskDefinitionPrefix); i >= 0 {
		return ref[i+len(taskDefinitionPrefix):]
	}
	return ref
}

// Family returns the family of a task definition reference: an ARN,
// family:revision or a bare family.
func Family(ref string) string {
	ref = FamilyRevision(ref)
	if i := strings.LastIndexByte(ref, ':'); i >= 0 {
		return ref[:i]
	}
	return ref
}

// Revision returns the revision of a task definition reference (an ARN or
// family:revision), or 0 for a bare family or a revision that is not a
// number. ECS numbers revisions from 1, so 0 is never a revision.
func Revision(ref string) int {
	ref = FamilyRevision(ref)
	i := strings.LastIndexByte(ref, ':')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(ref[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// SameRevision reports whether two task definition references name the
// same revision, comparing family:revision so that an ARN matches the short
// form ECS may report back. It is false when a is empty: no revision is the
// same as an unknown one.
func SameRevision(a, b string) bool {
	return a != "" && FamilyRevision(a) == FamilyRevision(b)
}

// ServiceName returns the name of a service given by name or by ARN, in
// the current form (arn:aws:ecs:region:account:service/cluster/name) or the
// old one without the cluster (arn:aws:ecs:region:account:service/name).
func ServiceName(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref[strings.LastIndexByte(ref, '/')+1:]
	}
	return ref
}

// ClusterName returns the name of a cluster given by name or by ARN
// (arn:aws:ecs:region:account:cluster/name).
func ClusterName(ref string) string {
	if i := strings.LastIndex(ref, clusterPrefix); i >= 0 {
		return ref[i+len(clusterPrefix):]
	}
	return ref
}

// ParseServiceARN returns the cluster and name of the service in an ECS
// service ARN, arn:aws:ecs:region:account:service/cluster/name, as
// EventBridge events carry it. The old form without the cluster,
// arn:aws:ecs:region:account:service/name, gives cluster "". ok is false
// for anything else, including an empty cluster or name.
func ParseServiceARN(arn string) (cluster, service string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", "", false
	}
	resource, ok := strings.CutPrefix(parts[5], "service/")
	if !ok {
		return "", "", false
	}
	cluster, service, long := strings.Cut(resource, "/")
	if !long {
		cluster, service = "", resource
	}
	if service == "" || strings.Contains(service, "/") || (long && cluster == "") {
		return "", "", false
	}
	return cluster, service, true
}
