// Package taskdef turns the task definition a service runs into the one it
// should run next, without calling AWS.
//
// The flow is: DecodeDescribeJSON (or the SDK's DescribeTaskDefinition output)
// gives an ecstypes.TaskDefinition; FromDescribe copies every field that
// RegisterTaskDefinition accepts into an ecs.RegisterTaskDefinitionInput;
// Render sets the new image, environment, secrets and tags on it; Equal
// decides whether registering the result would change anything; Diff shows
// what would change.
//
// Everything here works on deep copies: no function modifies its arguments.
package taskdef
