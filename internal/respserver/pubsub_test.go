package respserver_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/testcluster"
	"github.com/redis/go-redis/v9"
)

// TestPubSubAcrossNodes: PUBLISH on one node reaches subscribers on every
// node, in order; keyspace notifications follow writes made on any node;
// RESP2 and RESP3.
func TestPubSubAcrossNodes(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("resp", proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rdbs := clients(t, c, proto)
			sub := rdbs[0].Subscribe(ctx, "news")
			defer sub.Close()
			if _, err := sub.Receive(ctx); err != nil { // the confirmation
				t.Fatal(err)
			}
			psub := rdbs[1].PSubscribe(ctx, "__keyspace@0__:ps*", "__keyevent@0__:del")
			defer psub.Close()
			for range 2 {
				if _, err := psub.Receive(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// The publisher's node has no subscriber: 0 receivers there.
			for i := range 5 {
				eq(t, "PUBLISH receivers on a node without subscribers", must(rdbs[2].Publish(ctx, "news", fmt.Sprint("m", i)).Result()), int64(0))
			}
			eq(t, "PUBLISH receivers on the subscriber's node", must(rdbs[0].Publish(ctx, "news", "m5").Result()), int64(1))
			for i := range 6 {
				m := must(sub.ReceiveMessage(ctx))
				eq(t, "message", m.Channel+"="+m.Payload, fmt.Sprintf("news=m%d", i))
			}
			key := fmt.Sprintf("ps%d", proto)
			must(rdbs[2].Set(ctx, key, "1", 0).Result())
			must(rdbs[0].IncrBy(ctx, key, 2).Result())
			must(rdbs[2].Del(ctx, key).Result())
			var got []string
			for range 4 {
				m := must(psub.ReceiveMessage(ctx))
				got = append(got, m.Pattern+" "+m.Channel+" "+m.Payload)
			}
			want := []string{
				"__keyspace@0__:ps* __keyspace@0__:" + key + " set",
				"__keyspace@0__:ps* __keyspace@0__:" + key + " incrby",
				"__keyspace@0__:ps* __keyspace@0__:" + key + " del",
				"__keyevent@0__:del __keyevent@0__:del " + key,
			}
			eq(t, "keyspace notifications", strings.Join(got, "\n"), strings.Join(want, "\n"))
			// Unsubscribing stops delivery.
			if err := sub.Unsubscribe(ctx, "news"); err != nil {
				t.Fatal(err)
			}
			// go-redis sends UNSUBSCRIBE without waiting for its reply: wait
			// for the confirmation, or the PUBLISH below (another
			// connection) may be applied before the server has read it.
			if msg, err := sub.Receive(ctx); err != nil {
				t.Fatal(err)
			} else if s, ok := msg.(*redis.Subscription); !ok || s.Kind != "unsubscribe" || s.Channel != "news" {
				t.Fatalf("after UNSUBSCRIBE: %#v", msg)
			}
			eq(t, "PUBLISH after UNSUBSCRIBE", must(rdbs[0].Publish(ctx, "news", "late").Result()), int64(0))
		})
	}
}

// TestSubscribeModeRESP2 checks the RESP2 subscribe-mode rules with a raw
// connection: only (P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT, RESET.
func TestSubscribeModeRESP2(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	nc, err := net.Dial("tcp", c.Running()[0].Server.RESPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(nc)
	send := func(cmd string) {
		t.Helper()
		if _, err := fmt.Fprintf(nc, "%s\r\n", cmd); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(lines ...string) {
		t.Helper()
		for _, want := range lines {
			got, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading %q: %v", want, err)
			}
			if strings.TrimRight(got, "\r\n") != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	}
	send("SUBSCRIBE a b")
	expect("*3", "$9", "subscribe", "$1", "a", ":1", "*3", "$9", "subscribe", "$1", "b", ":2")
	send("GET x")
	expect("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
	send("PING")
	expect("*2", "$4", "pong", "$0", "")
	send("UNSUBSCRIBE")
	expect("*3", "$11", "unsubscribe", "$1", "a", ":1", "*3", "$11", "unsubscribe", "$1", "b", ":0")
	send("GET x") // out of subscribe mode (an inline GET of a missing key)
	expect("-ERR key not found")
	send("PSUBSCRIBE k*")
	expect("*3", "$10", "psubscribe", "$2", "k*", ":1")
	send("RESET")
	expect("+RESET")
	send("PING")
	expect("+PONG")
}

// TestRedisCLIKeyspaceNotifications: redis-cli --csv psubscribe
// '__keyspace@0__:*' on one node sees the writes another client makes on
// another node.
func TestRedisCLIKeyspaceNotifications(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not on PATH (apt-get install redis-tools); skipping the end-to-end check")
	}
	if testing.Short() {
		t.Skip("end-to-end redis-cli test skipped with -short")
	}
	c := testcluster.New(t, 3, testcluster.Options{})
	nodes := c.Running()
	_, port, err := net.SplitHostPort(nodes[0].Server.RESPAddr())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "-h", "127.0.0.1", "-p", port, "--csv", "psubscribe", "__keyspace@0__:*")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("redis-cli exited")
			}
			return l
		case <-ctx.Done():
			t.Fatal("timed out waiting for redis-cli output")
		}
		return ""
	}
	// redis-cli prints the confirmation ("Reading messages..." goes to
	// the terminal only).
	for l := next(); !strings.Contains(l, `"psubscribe","__keyspace@0__:*",1`); l = next() {
	}
	other := redis.NewClient(&redis.Options{Addr: nodes[2].Server.RESPAddr(), Protocol: 2})
	defer other.Close()
	must(other.Set(ctx, "greeting", "hi", 0).Result())
	must(other.Append(ctx, "greeting", "!").Result())
	must(other.Del(ctx, "greeting").Result())
	for _, want := range []string{
		`"pmessage","__keyspace@0__:*","__keyspace@0__:greeting","set"`,
		`"pmessage","__keyspace@0__:*","__keyspace@0__:greeting","append"`,
		`"pmessage","__keyspace@0__:*","__keyspace@0__:greeting","del"`,
	} {
		if got := next(); got != want {
			t.Fatalf("redis-cli printed %s, want %s", got, want)
		}
	}
}

// TestKeyspaceNotificationsPerWrite: a key written several times in one
// revision gets one keyspace notification per write, in order, as Redis
// sends them (SET EX: "set" then "expire"; MULTI SET SET and MSET k 1 k 2:
// two "set"s; SET KEEPTTL: one "set").
func TestKeyspaceNotificationsPerWrite(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := clients(t, c, 3)[0]
	psub := rdb.PSubscribe(ctx, "__keyspace@0__:kn*", "__keyevent@0__:expire")
	defer psub.Close()
	for range 2 {
		if _, err := psub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		write func(key string)
		want  string // the keyspace events of key, then the expire keyevents
	}{
		{"SET EX", func(k string) { must(rdb.Set(ctx, k, "v", time.Hour).Result()) }, "set expire | " + "expire"},
		{"SET PX GET", func(k string) {
			if err := rdb.SetArgs(ctx, k, "v", redis.SetArgs{TTL: time.Hour, Get: true}).Err(); err != redis.Nil {
				t.Fatalf("SET PX GET of a new key: %v", err)
			}
		}, "set expire | expire"},
		{"SETEX", func(k string) { must(rdb.SetEx(ctx, k, "v", time.Hour).Result()) }, "set expire | expire"},
		{"PSETEX", func(k string) { must(rdb.Do(ctx, "PSETEX", k, 3600000, "v").Result()) }, "set expire | expire"},
		{"SET KEEPTTL", func(k string) { must(rdb.Set(ctx, k, "v", redis.KeepTTL).Result()) }, "set | "},
		{"MULTI SET SET", func(k string) {
			must(rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, k, "a", 0)
				p.Set(ctx, k, "b", 0)
				return nil
			}))
		}, "set set | "},
		{"MSET k 1 k 2", func(k string) { must(rdb.MSet(ctx, k, "1", k, "2").Result()) }, "set set | "},
		{"MULTI SET DEL", func(k string) {
			must(rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, k, "a", 0)
				p.Del(ctx, k)
				return nil
			}))
		}, "set del | "},
	} {
		key := "kn:" + tc.name
		tc.write(key)
		// A sentinel write ends the notifications of the case.
		must(rdb.Set(ctx, "kn:end", "x", 0).Result())
		var space, event []string
		for {
			m := must(psub.ReceiveMessage(ctx))
			if m.Channel == "__keyspace@0__:kn:end" {
				break
			}
			switch m.Channel {
			case "__keyspace@0__:" + key:
				space = append(space, m.Payload)
			case "__keyevent@0__:expire":
				event = append(event, m.Payload)
				if m.Payload != key {
					t.Errorf("%s: expire keyevent names %q", tc.name, m.Payload)
				}
			default:
				t.Errorf("%s: unexpected message %s %s", tc.name, m.Channel, m.Payload)
			}
		}
		got := strings.Join(space, " ") + " | " + strings.Repeat("expire", len(event))
		eq(t, tc.name+" notifications", got, tc.want)
	}
}

// TestPubSubIntrospection: PUBSUB CHANNELS, NUMSUB and NUMPAT count the
// subscriptions of the node that answers (node-local).
func TestPubSubIntrospection(t *testing.T) {
	c := testcluster.New(t, 2, testcluster.Options{})
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("resp", proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rdbs := clients(t, c, proto)
			p := fmt.Sprintf("in%d.", proto)
			s1 := rdbs[0].Subscribe(ctx, p+"news", p+"sport")
			defer s1.Close()
			s2 := rdbs[0].Subscribe(ctx, p+"news")
			defer s2.Close()
			s3 := rdbs[0].PSubscribe(ctx, p+"n*", p+"s*")
			defer s3.Close()
			s4 := rdbs[0].PSubscribe(ctx, p+"n*")
			defer s4.Close()
			for s, n := range map[*redis.PubSub]int{s1: 2, s2: 1, s3: 2, s4: 1} {
				for range n {
					if _, err := s.Receive(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			local, other := rdbs[0], rdbs[1]
			eq(t, "PUBSUB CHANNELS prefix*", fmt.Sprint(must(local.PubSubChannels(ctx, p+"*").Result())), fmt.Sprintf("[%snews %ssport]", p, p))
			eq(t, "PUBSUB CHANNELS prefix-n*", fmt.Sprint(must(local.PubSubChannels(ctx, p+"n*").Result())), fmt.Sprintf("[%snews]", p))
			eq(t, "PUBSUB CHANNELS on the other node", len(must(other.PubSubChannels(ctx, p+"*").Result())), 0)
			numsub := must(local.PubSubNumSub(ctx, p+"news", p+"sport", p+"none").Result())
			eq(t, "PUBSUB NUMSUB", fmt.Sprint(numsub), fmt.Sprintf("map[%snews:2 %snone:0 %ssport:1]", p, p, p))
			eq(t, "PUBSUB NUMSUB on the other node", must(other.PubSubNumSub(ctx, p+"news").Result())[p+"news"], int64(0))
			eq(t, "PUBSUB NUMSUB without channels", len(must(local.PubSubNumSub(ctx).Result())), 0)
			// Distinct patterns: s3 and s4 share one.
			eq(t, "PUBSUB NUMPAT", must(local.PubSubNumPat(ctx).Result()), int64(2))
			eq(t, "PUBSUB NUMPAT on the other node", must(other.PubSubNumPat(ctx).Result()), int64(0))
			// Unsubscribing is seen once the server has processed it.
			if err := s2.Unsubscribe(ctx, p+"news"); err != nil {
				t.Fatal(err)
			}
			if _, err := s2.Receive(ctx); err != nil { // the confirmation
				t.Fatal(err)
			}
			eq(t, "PUBSUB NUMSUB after UNSUBSCRIBE", must(local.PubSubNumSub(ctx, p+"news").Result())[p+"news"], int64(1))
			help := must(local.Do(ctx, "PUBSUB", "HELP").StringSlice())
			if len(help) < 4 || !strings.HasPrefix(help[0], "PUBSUB <subcommand>") {
				t.Fatalf("PUBSUB HELP: %q", help)
			}
			if err := local.Do(ctx, "PUBSUB", "NOPE").Err(); err == nil || !strings.Contains(err.Error(), "unknown subcommand 'NOPE'") {
				t.Fatalf("PUBSUB NOPE: %v", err)
			}
			if err := local.Do(ctx, "PUBSUB", "NUMPAT", "x").Err(); err == nil || !strings.Contains(err.Error(), "wrong number of arguments for 'pubsub|numpat'") {
				t.Fatalf("PUBSUB NUMPAT x: %v", err)
			}
			// Closed connections release their subscriptions (the next
			// subtest counts patterns from zero).
			for _, s := range []*redis.PubSub{s1, s2, s3, s4} {
				s.Close()
			}
			for deadline := time.Now().Add(10 * time.Second); ; {
				n := must(local.PubSubNumPat(ctx).Result())
				chans := must(local.PubSubChannels(ctx, "*").Result())
				if n == 0 && len(chans) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after closing every subscriber: NUMPAT %d, CHANNELS %q", n, chans)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
