package taskdef

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/pmezard/go-difflib/difflib"
)

// diffContext is the number of unchanged lines shown around each change, as
// in `diff -u`.
const diffContext = 3

// Diff returns a unified diff (`--- nameA`, `+++ nameB`, `@@` hunks with
// three lines of context, in the format of `diff -u`) from the canonical
// form of a to that of b, or "" when they are the same.
//
// Unlike Equal, Diff includes the tags (sorted by key): a plan should show
// the tags the new revision will carry, even though tags alone never cause a
// registration. So Diff can be non-empty for two inputs that are Equal;
// callers that want a diff without tags clear Tags on copies first (Clone).
//
// Diff returns an error when a or b is nil.
func Diff(a, b *ecs.RegisterTaskDefinitionInput, nameA, nameB string) (string, error) {
	ca, err := canonical(a, true)
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", nameA, err)
	}
	cb, err := canonical(b, true)
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", nameB, err)
	}
	d, err := unified(nameA, nameB, splitLines(string(ca)), splitLines(string(cb)), diffContext)
	if err != nil {
		return "", fmt.Errorf("diff %s and %s: %w", nameA, nameB, err)
	}
	return d, nil
}

// splitLines splits newline-terminated text into its lines, without their
// newlines. (difflib.SplitLines would add an empty last line to such text.)
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// unified formats the difference between lines a and b as a unified diff
// with context lines of context, or returns "" when they are equal. Its
// error is the writer's, which a strings.Builder never returns.
func unified(nameA, nameB string, a, b []string, context int) (string, error) {
	var out strings.Builder
	err := difflib.WriteUnifiedDiff(&out, difflib.UnifiedDiff{
		A:        terminate(a),
		B:        terminate(b),
		FromFile: nameA,
		ToFile:   nameB,
		Context:  context,
	})
	return out.String(), err
}

// terminate returns lines, each with a newline appended: difflib writes
// the lines of a hunk as they are.
func terminate(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l + "\n"
	}
	return out
}
