//go:build !unix

package bench

import "time"

// cpuTime returns 0: getrusage is a Unix call.
func cpuTime() time.Duration { return 0 }
