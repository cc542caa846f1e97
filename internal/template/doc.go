// Package template holds the tests that pin the security properties of the
// AWS SAM template, template.yaml at the repository root: no wildcard IAM
// actions, iam:PassRole only to ECS tasks, sts:AssumeRole only on the
// configured target roles, SSM writes only under {Prefix}/state/, a board
// function that can only read, sqs:SendMessage only by the deployer on its
// registration queue, and the shape of the functions, their
// EventBridge rules, the registration queue and failure handling; and
// its operations: an alarm on each dead-letter queue and on each function's
// errors, notifying the optional AlarmTopicArn, and a dashboard whose
// metrics are the ones pkg/announce emits (read from its output), with the
// release board's custom widget. It
// has no code of its own; a later edit that widens a permission fails
// `go test ./internal/template/` rather than passing review unnoticed.
package template
