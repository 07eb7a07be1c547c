// Package loadstat holds what the Go load generators of the comparisons
// (bench/peers/etcd-load, bench/peers/nats-load) share: their exits, the
// parsing of their command lines and endpoint lists, and the latency
// summary they print. Imported by a relative path ("../loadstat"), which
// GOPATH mode (GO111MODULE=off, how `make` builds them offline) allows
// outside the GOPATH.
package loadstat

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"
)

// ExUsage is the exit code of a bad flag (sysexits.h EX_USAGE).
const ExUsage = 64

// UsageExit prints "prog: message" on stderr and exits ExUsage.
func UsageExit(prog, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", a...)
	os.Exit(ExUsage)
}

// Fail prints "prog: message" on stderr and exits 1.
func Fail(prog, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", a...)
	os.Exit(1)
}

// Parse parses the command line into fs: --help exits 0, a bad flag or
// an argument that is no flag exits ExUsage.
func Parse(fs *flag.FlagSet) {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(ExUsage)
	}
	if fs.NArg() != 0 {
		UsageExit(fs.Name(), "unexpected argument %q", fs.Arg(0))
	}
}

// List splits a comma-separated list, dropping blanks.
func List(text string) []string {
	var out []string
	for _, e := range strings.Split(text, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / 1e6 }

// Pct is the value at percentile p of sorted samples, in ms (nearest
// rank; p = 0 is the smallest), 0 without samples.
func Pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	r := int(math.Ceil(p / 100 * float64(len(sorted))))
	if r < 1 {
		r = 1
	}
	return Ms(sorted[r-1])
}

// Summary sorts s and returns its figures in ms, rounded to the
// microsecond: min p50 p90 p99 p999 max avg stddev.
func Summary(s []time.Duration) map[string]float64 {
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum, sq float64
	for _, d := range s {
		sum += Ms(d)
	}
	avg := 0.0
	if len(s) > 0 {
		avg = sum / float64(len(s))
	}
	for _, d := range s {
		sq += (Ms(d) - avg) * (Ms(d) - avg)
	}
	stddev := 0.0
	if len(s) > 0 {
		stddev = math.Sqrt(sq / float64(len(s)))
	}
	out := map[string]float64{
		"min": Pct(s, 0), "p50": Pct(s, 50), "p90": Pct(s, 90),
		"p99": Pct(s, 99), "p999": Pct(s, 99.9), "max": Pct(s, 100),
		"avg": avg, "stddev": stddev,
	}
	for k, v := range out {
		out[k] = math.Round(v*1000) / 1000
	}
	return out
}
