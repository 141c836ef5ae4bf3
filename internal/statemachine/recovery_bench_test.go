package statemachine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/raftlog"
	"github.com/cairndb/cairn/internal/storage"
)

// BenchmarkRecoveryOpen times the storage steps of a node's restart on a
// real data dir, as internal/server.Start runs them: Pebble open (which
// replays the WAL), raftlog.Open (reads the whole raft log once), and
// statemachine.Open (loads the meta records). It is skipped unless
// CAIRN_RECOVERY_DIR names a node's data dir (the one holding db/), for
// example the one scripts/mem-1m.sh leaves:
//
//	CAIRN_RECOVERY_DIR=/tmp/cairn-mem1m go test ./internal/statemachine \
//	    -run '^$' -bench RecoveryOpen -benchtime 3x -cpuprofile /tmp/open.cpu
//
// Every iteration opens a fresh copy of the dir (the copy is not timed;
// the page cache is warm, as on a restart). Re-applying committed but
// unapplied entries happens later, in the raft loop, and is not measured
// here.
func BenchmarkRecoveryOpen(b *testing.B) {
	src := os.Getenv("CAIRN_RECOVERY_DIR")
	if src == "" {
		b.Skip("CAIRN_RECOVERY_DIR not set")
	}
	var pebbleD, raftlogD, smD time.Duration
	var entries, logBytes uint64
	var walBytes int64
	tmp := b.TempDir()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		dir := filepath.Join(tmp, "copy", time.Now().Format("150405.000000000"))
		if err := os.CopyFS(dir, os.DirFS(filepath.Join(src, "db"))); err != nil {
			b.Fatal(err)
		}
		walBytes = 0
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if filepath.Ext(e.Name()) == ".log" {
				if fi, err := e.Info(); err == nil {
					walBytes += fi.Size()
				}
			}
		}
		b.StartTimer()

		t0 := time.Now()
		db, err := storage.Open(dir, storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rl, err := raftlog.Open(db, 0)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		sm, err := Open(db, 0, Options{})
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		pebbleD += t1.Sub(t0)
		raftlogD += t2.Sub(t1)
		smD += t3.Sub(t2)
		entries, logBytes = rl.LogSize()

		b.StopTimer()
		_ = sm.Close()
		_ = db.Close()
		_ = os.RemoveAll(dir)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(pebbleD.Milliseconds())/n, "pebble-open-ms")
	b.ReportMetric(float64(raftlogD.Milliseconds())/n, "raftlog-open-ms")
	b.ReportMetric(float64(smD.Microseconds())/1000/n, "sm-open-ms")
	b.ReportMetric(float64(entries), "log-entries")
	b.ReportMetric(float64(logBytes)/(1<<20), "log-MiB")
	b.ReportMetric(float64(walBytes)/(1<<20), "wal-files-MiB")
}
