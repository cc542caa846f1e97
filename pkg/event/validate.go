package event

import "regexp"

var (
	// repositoryRE is ECR's repository name rule; names are 2 to 256 characters.
	repositoryRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	// tagRE is the Docker tag grammar with ECR's length limit of 300.
	tagRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$`)
	digestRE  = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
)

// ValidRepository reports whether s is a valid ECR repository name.
func ValidRepository(s string) bool {
	return len(s) >= 2 && len(s) <= 256 && repositoryRE.MatchString(s)
}

// ValidTag reports whether s is a valid image tag.
func ValidTag(s string) bool { return tagRE.MatchString(s) }

// ValidDigest reports whether s is a sha256 image digest.
func ValidDigest(s string) bool { return digestRE.MatchString(s) }

func validAccount(s string) bool { return accountRE.MatchString(s) }
func validRegion(s string) bool  { return regionRE.MatchString(s) }
