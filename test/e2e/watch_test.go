package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWatchSurvivesServingNodeKill: a `cairn watch` process follows a
// prefix from revision 1 through the first endpoint while writers write
// through the other two; the serving node is killed with SIGKILL mid-way.
// The watch must resume on another node and print exactly the committed
// history: every key under the prefix once, with its value, in strictly
// increasing revision order — nothing lost, nothing repeated.
func TestWatchSurvivesServingNodeKill(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	procs, _ := startCluster(t)
	eps := procs[0].http + "," + procs[1].http + "," + procs[2].http // the watch starts on procs[0]

	cmd := exec.Command(binary, "--endpoints", eps, "--json", "watch", "--prefix", "w/", "--rev", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitDone := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waitDone) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waitDone
	})

	type event struct {
		Type     string  `json:"type"`
		Revision int64   `json:"revision"`
		Key      string  `json:"key"`
		Value    *string `json:"value"`
	}
	var mu sync.Mutex
	var events []event
	var badLine string
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev event
			mu.Lock()
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				badLine = sc.Text()
			} else {
				events = append(events, ev)
			}
			mu.Unlock()
		}
	}()
	seen := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(events)
	}

	// Writers through the nodes that stay up; each key is written once: a
	// failed write (whose outcome is unknown: it may still commit) is
	// retried under a new key, never the same one.
	acked := map[string]string{}
	var amu sync.Mutex
	write := func(w, from, to int) {
		for i := from; i < to; i++ {
			deadline := time.Now().Add(15 * time.Second)
			for attempt := 0; ; attempt++ {
				k, v := fmt.Sprintf("w/%d-%04d-%d", w, i, attempt), fmt.Sprintf("v%d-%d", w, i)
				if err := putKV(procs[1+(w+i)%2].http, k, v); err == nil {
					amu.Lock()
					acked[k] = v
					amu.Unlock()
					break
				}
				if time.Now().After(deadline) {
					break // an unknown outcome: the history read below decides
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	round := func(from, to int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() { defer wg.Done(); write(w, from, to) }()
		}
		wg.Wait()
	}
	round(0, 50)
	eventually(t, 20*time.Second, "the watch to print the first writes", func() error {
		if n := seen(); n < 100 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})
	procs[0].kill(t) // the node serving the watch
	round(50, 100)

	// The committed history under the prefix, read from a surviving node
	// once it has applied everything (each key was written at most once).
	var final map[string]string
	eventually(t, 20*time.Second, "a surviving node to hold every acknowledged write", func() error {
		all := scanAll(t, procs[1].http)
		final = map[string]string{}
		for k, v := range all {
			if strings.HasPrefix(k, "w/") {
				final[k] = v
			}
		}
		amu.Lock()
		defer amu.Unlock()
		for k, v := range acked {
			if final[k] != v {
				return fmt.Errorf("acknowledged %s=%s, node has %q", k, v, final[k])
			}
		}
		return nil
	})
	// A sentinel written last: events come in revision order, so once the
	// watch prints it, any repeated or extra event is already printed.
	const sentinel = "w/~end"
	eventually(t, 15*time.Second, "the sentinel write", func() error {
		return putKV(procs[1].http, sentinel, "end")
	})
	eventually(t, 30*time.Second, "the watch to print the sentinel", func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range events {
			if ev.Key == sentinel {
				return nil
			}
		}
		return fmt.Errorf("%d events of %d committed writes; stderr: %s", len(events), len(final), stderr.String())
	})

	mu.Lock()
	defer mu.Unlock()
	if badLine != "" {
		t.Fatalf("watch printed a line that is not an event: %q", badLine)
	}
	if last := events[len(events)-1]; last.Key != sentinel {
		t.Fatalf("event %+v after the sentinel", last)
	}
	events = events[:len(events)-1]
	if len(events) != len(final) {
		t.Fatalf("watch printed %d events for %d committed keys", len(events), len(final))
	}
	got := map[string]bool{}
	var last int64
	for _, ev := range events {
		if ev.Type != "put" || ev.Value == nil {
			t.Fatalf("unexpected event %+v", ev)
		}
		if ev.Revision <= last {
			t.Fatalf("revision %d after %d: out of order or repeated", ev.Revision, last)
		}
		last = ev.Revision
		if got[ev.Key] {
			t.Fatalf("key %s delivered twice", ev.Key)
		}
		got[ev.Key] = true
		if want, ok := final[ev.Key]; !ok || want != *ev.Value {
			t.Fatalf("event %s=%s, committed %q (present %v)", ev.Key, *ev.Value, want, ok)
		}
	}
	t.Logf("%d events, %d acknowledged writes; the serving node was killed after the first 200 writes", len(events), len(acked))
}
