package input

import (
	"regexp"
	"strings"
)

var (
	// repositoryRE is ECR's repository name rule; names are 2 to 256 characters.
	repositoryRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	// tagRE is the Docker tag grammar with ECR's length limit of 300.
	tagRE     = NewPattern(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$`)
	digestRE  = NewPattern(`^sha256:[a-f0-9]{64}$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	// regionRE is a region code: two letters, one or more words and a number
	// of one or two digits (us-east-1, us-gov-west-1, ap-southeast-5).
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	environmentRE = NewPattern(EnvironmentPattern)
)

// EnvironmentPattern is the regular expression (RE2 syntax, as in a JSON
// Schema) of ecrdeploy's environment names, which become a segment of an SSM
// parameter name. ValidEnvironment also refuses "." and "..".
const EnvironmentPattern = `^[A-Za-z0-9_.-]{1,64}$`

// ValidRepository reports whether s is a valid ECR repository name: 2 to 256
// characters, lower-case components separated by '/', each of letters and
// digits joined by single '.', '_' or '-'.
func ValidRepository(s string) bool {
	return len(s) >= 2 && len(s) <= 256 && repositoryRE.MatchString(s)
}

// ValidTag reports whether s is a valid image tag: 1 to 300 letters, digits,
// '_', '.' or '-', not starting with '.' or '-'.
func ValidTag(s string) bool { return tagRE.MatchString(s) }

// ValidDigest reports whether s is a sha256 image digest (sha256:<64 hex>).
func ValidDigest(s string) bool { return digestRE.MatchString(s) }

// ValidAccount reports whether s is an AWS account id: 12 digits.
func ValidAccount(s string) bool { return accountRE.MatchString(s) }

// ValidRegion reports whether s is an AWS region code such as us-east-1.
func ValidRegion(s string) bool { return regionRE.MatchString(s) }

// ValidEnvironment reports whether s is a valid environment name: 1 to 64
// letters, digits, '_', '.' or '-', other than "." and "..", which would
// change the meaning of the SSM parameter path it becomes a segment of.
func ValidEnvironment(s string) bool {
	return environmentRE.MatchString(s) && s != "." && s != ".."
}

// Suffixes of ECR registry hosts: AWS China has a domain of its own.
const (
	registrySuffix      = ".amazonaws.com"
	registrySuffixChina = ".amazonaws.com.cn"
	registryInfix       = ".dkr.ecr."
)

// RegistryHost returns the ECR registry host of an account in a region:
// {account}.dkr.ecr.{region}.amazonaws.com, or .amazonaws.com.cn in a cn-
// region.
func RegistryHost(account, region string) string {
	suffix := registrySuffix
	if strings.HasPrefix(region, "cn-") {
		suffix = registrySuffixChina
	}
	return account + registryInfix + region + suffix
}

// ParseRegistryHost returns the account and region of an ECR registry host
// ({account}.dkr.ecr.{region}.amazonaws.com or .amazonaws.com.cn, with a
// valid account id and region code); ok is false for anything else.
func ParseRegistryHost(host string) (account, region string, ok bool) {
	rest, found := strings.CutSuffix(host, registrySuffixChina)
	if !found {
		rest, found = strings.CutSuffix(host, registrySuffix)
	}
	if !found {
		return "", "", false
	}
	account, region, found = strings.Cut(rest, registryInfix)
	if !found || !ValidAccount(account) || !ValidRegion(region) {
		return "", "", false
	}
	return account, region, true
}
