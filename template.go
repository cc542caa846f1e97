// Package ecrdeploy is the SAM template of the application, embedded so
// that the demo and the tests create the state table from the very
// resource `sam deploy` creates, and cannot drift from it.
package ecrdeploy

import _ "embed"

// Template is the text of template.yaml.
//
//go:embed template.yaml
var Template []byte
