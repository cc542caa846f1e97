package event

import "github.com/ecrdeploy/ecrdeploy/pkg/input"

// ValidRepository reports whether s is a valid ECR repository name.
//
// Deprecated: use input.ValidRepository.
func ValidRepository(s string) bool { return input.ValidRepository(s) }

// ValidTag reports whether s is a valid image tag.
//
// Deprecated: use input.ValidTag.
func ValidTag(s string) bool { return input.ValidTag(s) }
