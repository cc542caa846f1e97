package bench

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// goBenchmark is one line of go test -bench -benchmem output.
type goBenchmark struct {
	Package    string
	Name       string // without the Benchmark prefix and the -GOMAXPROCS suffix
	Iterations int64
	NsPerOp    float64
	BytesPerOp int64 // -1 when not reported
	AllocsOp   int64 // -1 when not reported
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseGoBench reads the benchmark lines of go test -bench output, each
// with the package of the "pkg:" line before it. Other lines are ignored.
func parseGoBench(r io.Reader) ([]goBenchmark, error) {
	var out []goBenchmark
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		b := goBenchmark{Package: pkg, Name: procsSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), ""),
			Iterations: n, BytesPerOp: -1, AllocsOp: -1}
		for i := 2; i+1 < len(f); i += 2 {
			switch f[i+1] {
			case "ns/op":
				b.NsPerOp, _ = strconv.ParseFloat(f[i], 64)
			case "B/op":
				b.BytesPerOp, _ = strconv.ParseInt(f[i], 10, 64)
			case "allocs/op":
				b.AllocsOp, _ = strconv.ParseInt(f[i], 10, 64)
			}
		}
		out = append(out, b)
	}
	return out, sc.Err()
}
