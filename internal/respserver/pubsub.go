package respserver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/cairndb/cairn/internal/service"
	cwatch "github.com/cairndb/cairn/internal/watch"
)

// Pub/sub (SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH) and
// keyspace notifications.
//
// PUBLISH goes through raft, so subscribers on every node receive each
// message, in commit order; its reply counts the receivers on the node
// that served it. Every committed write is also published as Redis
// keyspace notifications (__keyspace@0__:<key> with the event name,
// __keyevent@0__:<event> with the key), whatever notify-keyspace-events
// says.
//
// A connection with a subscription has a second goroutine, the pusher,
// that writes its messages. From then on the connection goroutine holds
// wmu while it executes a command and flushes, and the pusher holds it
// while it writes a message, so replies and messages never interleave
// inside one another. A connection whose messages pile up past the hub's
// queue bound is closed, as Redis closes a pub/sub client over its
// output buffer limit.

// PubSub is what the pub/sub commands need (Options.PubSub).
type PubSub interface {
	Publish(ctx context.Context, channel, message []byte) (int64, error)
	Subscribe(match func(pattern, channel []byte) bool, buffer int) (*cwatch.Subscription, error)
	// SubscriptionCounts returns this node's subscriptions per channel
	// and its number of distinct patterns (PUBSUB).
	SubscriptionCounts() (channels map[string]int, patterns int, err error)
}

var _ PubSub = (*service.Service)(nil)

// pubsubState is a connection's subscription.
type pubsubState struct {
	sub *cwatch.Subscription // nil until the first (P)SUBSCRIBE
	// pushing: a pusher goroutine shares c.w, so the connection goroutine
	// locks wmu to use it. Set for the rest of the connection's life.
	pushing bool
	wmu     sync.Mutex // guards c.w once pushing
	cur     *pusher    // the pusher of sub
}

// pusher is one subscription's writer goroutine.
type pusher struct {
	sub   *cwatch.Subscription
	done  chan struct{} // closed when the goroutine exits
	stale bool          // guarded by wmu: the subscription was dropped (RESET)
}

func pubsubCommands() []*spec {
	return []*spec{
		{name: "subscribe", arity: -2, flags: []string{"pubsub", "noscript", "loading", "stale"},
			summary: "Listens for messages published to channels.", run: runSubscribe},
		{name: "psubscribe", arity: -2, flags: []string{"pubsub", "noscript", "loading", "stale"},
			summary: "Listens for messages published to channels matching glob patterns.", run: runPSubscribe},
		{name: "unsubscribe", arity: -1, flags: []string{"pubsub", "noscript", "loading", "stale"},
			summary: "Stops listening to channels (all without arguments).", run: runUnsubscribe},
		{name: "punsubscribe", arity: -1, flags: []string{"pubsub", "noscript", "loading", "stale"},
			summary: "Stops listening to patterns (all without arguments).", run: runPUnsubscribe},
		{name: "publish", arity: 3, flags: []string{"pubsub", "loading", "stale", "fast"},
			summary: "Publishes a message to a channel on every node; replies the receivers on this node.", run: runPublish},
		{name: "pubsub", arity: -2, flags: []string{"pubsub", "loading", "stale"},
			summary: "Inspects this node's pub/sub subscriptions (CHANNELS, NUMSUB, NUMPAT).", run: runPubSub},
	}
}

// subscribed reports whether the connection is in RESP2 subscribe mode,
// where only a few commands are allowed.
func (c *conn) subscribed() bool {
	return c.ps.sub != nil && c.w.Protocol() == 2 && c.ps.sub.Count() > 0
}

// allowedSubscribed lists the commands RESP2 allows in subscribe mode.
func allowedSubscribed(name string) bool {
	switch name {
	case "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

func errSubscribed(name string) string {
	return "ERR Can't execute '" + name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
}

func (c *conn) ensureSubscription() bool {
	if c.ps.sub != nil {
		return true
	}
	if c.srv.opts.PubSub == nil {
		c.w.Error("ERR pub/sub is not available on this node")
		return false
	}
	sub, err := c.srv.opts.PubSub.Subscribe(globMatch, 0)
	if err != nil {
		c.replyErr(err)
		return false
	}
	c.ps.sub = sub
	return true
}

func runSubscribe(c *conn, args [][]byte) {
	if !c.ensureSubscription() {
		return
	}
	for _, ch := range args[1:] {
		c.subReply("subscribe", ch, c.ps.sub.Subscribe(ch))
	}
}

func runPSubscribe(c *conn, args [][]byte) {
	if !c.ensureSubscription() {
		return
	}
	for _, p := range args[1:] {
		c.subReply("psubscribe", p, c.ps.sub.PSubscribe(p))
	}
}

func runUnsubscribe(c *conn, args [][]byte) {
	c.unsubscribe("unsubscribe", args[1:], (*cwatch.Subscription).Channels, (*cwatch.Subscription).Unsubscribe)
}

func runPUnsubscribe(c *conn, args [][]byte) {
	c.unsubscribe("punsubscribe", args[1:], (*cwatch.Subscription).Patterns, (*cwatch.Subscription).PUnsubscribe)
}

func (c *conn) unsubscribe(kind string, names [][]byte, all func(*cwatch.Subscription) [][]byte, remove func(*cwatch.Subscription, []byte) int) {
	if c.ps.sub == nil {
		if len(names) == 0 {
			c.subReply(kind, nil, 0)
		}
		for _, n := range names {
			c.subReply(kind, n, 0)
		}
		return
	}
	if len(names) == 0 {
		names = all(c.ps.sub)
		if len(names) == 0 {
			c.subReply(kind, nil, c.ps.sub.Count())
			return
		}
	}
	for _, n := range names {
		c.subReply(kind, n, remove(c.ps.sub, n))
	}
}

// subReply writes one (un)subscribe confirmation: a push in RESP3.
func (c *conn) subReply(kind string, name []byte, count int) {
	if c.w.Protocol() == 3 {
		c.w.Push(3)
	} else {
		c.w.ArrayLen(3)
	}
	c.w.BulkString(kind)
	if name == nil {
		c.w.Null()
	} else {
		c.w.Bulk(name)
	}
	c.w.Int(int64(count))
}

func runPublish(c *conn, args [][]byte) {
	if c.srv.opts.PubSub == nil {
		c.w.Error("ERR pub/sub is not available on this node")
		return
	}
	n, err := c.srv.opts.PubSub.Publish(c.ctx, args[1], args[2])
	if err != nil {
		c.replyErr(err)
		return
	}
	c.w.Int(n)
}

// runPubSub answers PUBSUB CHANNELS [pattern], NUMSUB [channel ...],
// NUMPAT and HELP, as Redis, from the subscriptions of this node only:
// a client subscribed on another node is not counted (each node delivers
// every message to its own subscribers).
func runPubSub(c *conn, args [][]byte) {
	sub := args[1]
	counts := func() (map[string]int, int, bool) {
		if c.srv.opts.PubSub == nil {
			c.w.Error("ERR pub/sub is not available on this node")
			return nil, 0, false
		}
		ch, pats, err := c.srv.opts.PubSub.SubscriptionCounts()
		if err != nil {
			c.replyErr(err)
			return nil, 0, false
		}
		return ch, pats, true
	}
	switch {
	case eqFold(sub, "channels") && len(args) <= 3:
		ch, _, ok := counts()
		if !ok {
			return
		}
		names := make([]string, 0, len(ch))
		for n := range ch {
			if len(args) == 2 || globMatch(args[2], []byte(n)) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		c.w.ArrayLen(len(names))
		for _, n := range names {
			c.w.BulkString(n)
		}
	case eqFold(sub, "numsub"):
		ch, _, ok := counts()
		if !ok {
			return
		}
		c.w.ArrayLen(2 * (len(args) - 2))
		for _, n := range args[2:] {
			c.w.Bulk(n)
			c.w.Int(int64(ch[string(n)]))
		}
	case eqFold(sub, "numpat") && len(args) == 2:
		_, pats, ok := counts()
		if !ok {
			return
		}
		c.w.Int(int64(pats))
	case eqFold(sub, "help") && len(args) == 2:
		lines := []string{
			"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"CHANNELS [<pattern>]", "    Return the currently active channels matching a <pattern> (default: '*'), on this node.",
			"NUMPAT", "    Return the number of distinct patterns subscribed on this node.",
			"NUMSUB [<channel> ...]", "    Return the number of subscribers for the specified channels, excluding", "    pattern subscriptions(default: no channels), on this node.",
			"HELP", "    Print this help.",
		}
		c.w.ArrayLen(len(lines))
		for _, l := range lines {
			c.w.SimpleString(l)
		}
	case eqFold(sub, "channels"), eqFold(sub, "numpat"), eqFold(sub, "help"):
		c.w.Error(errArity("pubsub|" + strings.ToLower(string(sub))))
	default:
		c.w.Error(errUnknownSubcommand("PUBSUB", sub))
	}
}

// pingSubscribed answers PING in RESP2 subscribe mode: ["pong", arg].
func (c *conn) pingSubscribed(args [][]byte) {
	c.w.ArrayLen(2)
	c.w.BulkString("pong")
	if len(args) > 1 {
		c.w.Bulk(args[1])
	} else {
		c.w.BulkString("")
	}
}

// startPusher starts the pusher once the connection has a subscription.
// Called by the connection goroutine between commands, without wmu.
func (c *conn) startPusher() {
	if c.ps.sub == nil || c.ps.cur != nil {
		return
	}
	p := &pusher{sub: c.ps.sub, done: make(chan struct{})}
	c.ps.wmu.Lock()
	c.ps.pushing = true
	c.ps.cur = p
	c.ps.wmu.Unlock()
	go c.push(p)
}

// push writes the subscription's messages until it ends.
func (c *conn) push(p *pusher) {
	defer close(p.done)
	sub := p.sub
	for {
		select {
		case m := <-sub.C():
			c.ps.wmu.Lock()
			if p.stale {
				c.ps.wmu.Unlock()
				return
			}
			c.writeMessage(&m)
			for more := true; more; { // batch what is queued into one flush
				select {
				case m = <-sub.C():
					c.writeMessage(&m)
				default:
					more = false
				}
			}
			err := c.w.Flush()
			c.ps.wmu.Unlock()
			if err != nil {
				c.nc.Close()
				return
			}
		case <-sub.Done():
			if errors.Is(sub.Err(), cwatch.ErrSlowConsumer) {
				c.srv.log.Warn("resp: closing a pub/sub client that fell behind", "addr", c.addr)
				c.nc.Close()
			}
			return
		}
	}
}

func (c *conn) writeMessage(m *cwatch.Message) {
	n := 3
	kind := "message"
	if m.Pattern != nil {
		n, kind = 4, "pmessage"
	}
	if c.w.Protocol() == 3 {
		c.w.Push(n)
	} else {
		c.w.ArrayLen(n)
	}
	c.w.BulkString(kind)
	if m.Pattern != nil {
		c.w.Bulk(m.Pattern)
	}
	c.w.Bulk(m.Channel)
	c.w.Bulk(m.Payload)
}

// resetPubSub drops the subscription (RESET). The connection goroutine
// runs it holding wmu if a pusher runs; the pusher sees it is stale.
func (c *conn) resetPubSub() {
	if c.ps.sub == nil {
		return
	}
	c.ps.sub.Close()
	if c.ps.cur != nil {
		c.ps.cur.stale = true
	}
	c.ps.sub, c.ps.cur = nil, nil
}

// endPubSub drops the subscription when the connection ends and waits
// for the pusher (closing the socket first, so a pusher blocked writing
// to a client that does not read gives up).
func (c *conn) endPubSub() {
	locked := c.lockWriter()
	p := c.ps.cur
	c.resetPubSub()
	c.unlockWriter(locked)
	if p != nil {
		c.nc.Close()
		<-p.done
	}
}

// lockWriter and unlockWriter bracket the connection goroutine's use of
// the writer once a pusher shares it.
func (c *conn) lockWriter() bool {
	if c.ps.pushing {
		c.ps.wmu.Lock()
		return true
	}
	return false
}

func (c *conn) unlockWriter(locked bool) {
	if locked {
		c.ps.wmu.Unlock()
	}
}

// isConfigNotify reports whether a CONFIG SET parameter is
// notify-keyspace-events (accepted and ignored: Cairn always notifies).
func isConfigNotify(p []byte) bool { return strings.EqualFold(string(p), "notify-keyspace-events") }
