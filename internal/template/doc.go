// Package template holds the tests that pin the security properties of the
// AWS SAM template, template.yaml at the repository root: no wildcard IAM
// actions, iam:PassRole only to ECS tasks, sts:AssumeRole only on the
// configured target roles, SSM writes only under {Prefix}/state/, and the
// shape of the functions, their EventBridge rules and failure handling. It
// has no code of its own; a later edit that widens a permission fails
// `go test ./internal/template/` rather than passing review unnoticed.
package template
