package jepsen

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

var (
	flagSeed     = flag.Uint64("seed", envSeed(), "nemesis and workload seed (default: $CAIRN_JEPSEN_SEED, else time-based; always printed)")
	flagDuration = flag.Duration("duration", 0, "workload duration per test (default 8s, 2m with -long)")
	flagLong     = flag.Bool("long", os.Getenv("CAIRN_JEPSEN_LONG") != "", "long campaign: longer runs (also CAIRN_JEPSEN_LONG=1)")
	flagRuns     = flag.Int("runs", 1, "runs per test, with seeds seed, seed+1, ...")
	flagOut      = flag.String("out", "", "directory for failure artifacts (history, visualization); default a new temp dir")
	flagVerbose  = flag.Bool("jepsen.verbose", false, "print every node's log at the end of each test")
)

var bins Binaries

func TestMain(m *testing.M) {
	flag.Parse()
	PrintLogs = *flagVerbose
	LogDir = *flagOut
	// Neither the directory nor the binaries contain "cairn": other people's
	// `pkill cairn` on a shared machine must not stop these nodes.
	dir, err := os.MkdirTemp("", "jepsen-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	node := filepath.Join(dir, "jepsen-node")
	bins = Binaries{Cairn: node}
	build := exec.Command("go", "build", "-o", node, "../../cmd/cairn")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cmd/cairn:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func duration() time.Duration {
	switch {
	case *flagDuration > 0:
		return *flagDuration
	case *flagLong:
		return 2 * time.Minute
	}
	return 8 * time.Second
}

// envSeed lets CI fix the seed of a plain `go test ./...` run.
func envSeed() uint64 {
	n, _ := strconv.ParseUint(os.Getenv("CAIRN_JEPSEN_SEED"), 10, 64)
	return n
}

var baseSeed = sync.OnceValue(func() uint64 {
	if *flagSeed != 0 {
		return *flagSeed
	}
	return uint64(time.Now().UnixNano())
})

// forEachSeed runs fn once per -runs with consecutive seeds, as subtests
// named by seed, and prints how to reproduce a failure.
func forEachSeed(t *testing.T, fn func(t *testing.T, seed uint64)) {
	if testing.Short() {
		t.Skip("fault-injection test of real processes")
	}
	for i := range *flagRuns {
		seed := baseSeed() + uint64(i)
		run := func(t *testing.T) {
			t.Logf("seed %d, duration %v", seed, duration())
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("FAILED with seed %d; reproduce: go test ./test/jepsen/ -run '%s' -args -seed %d -duration %v",
						seed, t.Name(), seed, duration())
				}
			})
			fn(t, seed)
		}
		if *flagRuns == 1 {
			run(t)
			continue
		}
		t.Run(strconv.FormatUint(seed, 10), run)
	}
}

// outDir is where failure artifacts go.
func outDir(t *testing.T) string {
	if *flagOut != "" {
		return *flagOut
	}
	d, err := os.MkdirTemp("", "cairn-jepsen-out")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
