// Package param is how ecrdeploy writes its SSM Parameter Store parameters
// (configuration documents and state records): as plain strings,
// overwriting, in the standard tier while the value fits it; and under which
// prefix they are named (Prefix).
package param

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// StandardLimit is the largest value, in bytes, a standard-tier parameter
// holds.
const StandardLimit = 4096

// AdvancedLimit is the largest value, in bytes, an advanced-tier parameter
// holds: the largest any parameter can.
const AdvancedLimit = 8192

// Put returns the PutParameter input that writes value to the parameter
// name, overwriting it, in the standard tier when the value fits and in
// larger (advanced, or intelligent tiering) when it does not.
func Put(name string, value []byte, larger ssmtypes.ParameterTier) *ssm.PutParameterInput {
	in := &ssm.PutParameterInput{
		Name:      aws.String(name),
		Value:     aws.String(string(value)),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	}
	if len(value) > StandardLimit {
		in.Tier = larger
	}
	return in
}

// DefaultPrefix is the prefix of ecrdeploy's parameters when
// ECRDEPLOY_PREFIX is not set.
const DefaultPrefix = "/ecrdeploy"

// MaxPrefixLength is the longest prefix Prefix accepts, in bytes: SSM names
// are at most 1011 characters, and the longest name under a prefix is a
// state record's, {prefix}/state/{repository}/{environment}, with a
// repository name of up to 256 characters and an environment name of up to
// 64.
const MaxPrefixLength = 1011 - len("/state/") - 256 - len("/") - 64

// Prefix returns the canonical form of a parameter prefix (ECRDEPLOY_PREFIX),
// under which configuration documents ({prefix}/config/…) and state records
// ({prefix}/state/…) are named, so that both are read and written under
// the same path: a leading "/" (SSM requires it of a hierarchical name) and
// no trailing "/" ("/ecrdeploy/" and "/ecrdeploy//" are "/ecrdeploy"). The
// root, "/", is "": names then start at "/config/" and "/state/".
//
// Prefix returns an error, naming what is wrong, for an empty prefix (the
// caller supplies DefaultPrefix), one that does not start with "/", an
// empty segment inside it ("/a//b", whose names SSM would refuse), a
// character SSM does not allow in a name (it takes letters, digits, '_',
// '.', '-' and '/'), and a prefix longer than MaxPrefixLength.
func Prefix(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("empty prefix")
	case s[0] != '/':
		return "", errors.New("prefix must start with /")
	case len(s) > MaxPrefixLength:
		return "", fmt.Errorf("prefix is %d bytes, more than %d", len(s), MaxPrefixLength)
	}
	p := strings.TrimRight(s, "/")
	if strings.Contains(p, "//") {
		return "", errors.New("prefix has an empty segment (//)")
	}
	if i := strings.IndexFunc(p, func(r rune) bool { return !nameChar(r) }); i >= 0 {
		return "", fmt.Errorf("prefix has a character that SSM parameter names cannot have at byte %d (want letters, digits, '_', '.', '-' and '/')", i)
	}
	return p, nil
}

func nameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' || r == '/'
}
