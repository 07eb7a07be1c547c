// nats-load - a load generator for a NATS JetStream cluster, through the
// NATS Go client (nats.go, JetStream API), for bench/natscompare.sh.
//
// It creates (afresh) a stream of --replicas replicas in file storage
// over the subjects "bench.>", then keeps W publishes in flight: N
// producers (one connection each, on the stream leader's server), each
// with a window of W/N (the first W mod N one more) asynchronous
// publishes (PublishAsync): it publishes until its window is full,
// waits for the oldest acknowledgement (a PubAck: the stream leader
// stored it and a quorum of replicas has it; JetStream does not fsync
// before acknowledging unless its sync_interval says so), and publishes
// the next. Each message is --payload-size B, its first 8 bytes the
// publish time (UnixNano), and, with --msg-id (default), carries a
// Nats-Msg-Id "p<producer>-<seq>" so the stream deduplicates a retry
// (zraft-bench --bus publishes with a producer id and seq likewise).
//
// --consumers C starts C ordered consumers (js.Subscribe with
// OrderedConsumer: ephemeral push consumers with flow control, no acks,
// the client's way of reading a stream in order) on the servers in turn,
// before the producers, each reading the whole stream.
//
// The run lasts --warmup + --duration seconds; only what completes inside
// the measured window counts: publishes/s is the acknowledgements in it
// over its length; publish->ack latencies (call to PubAck) and
// publish->deliver latencies (the stamp to the consumer's callback) of
// the window give the percentiles (nearest rank, every sample kept).
// After the producers stop, each consumer must receive every message the
// stream holds (waited for up to --drain seconds): "delivered_all".
//
// Output: a summary on stdout, or with --json one JSON object:
//
//	{"impl":"nats","inflight":W,"producers":N,"consumers":C,
//	 "payload_size":128,"duration_s":..,"acked":..,"ops_per_s":..,
//	 "latency_ms":{"min","p50","p90","p99","p999","max","avg"},
//	 "deliver_ms":{...},"delivered":..,"deliver_per_s":..,
//	 "stream_msgs":..,"delivered_all":true,"errors":0,"leader":"n1",...}
//
// Exit: 0, 1 on failure (cluster unreachable, a publish failed, a
// consumer missed messages), 64 on a bad flag.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"../loadstat"
)

const streamName = "BENCH"

type options struct {
	servers   []string
	inflight  int
	producers int
	consumers int
	payload   int
	replicas  int
	duration  time.Duration
	warmup    time.Duration
	timeout   time.Duration
	drain     time.Duration
	msgID     bool
	json      bool
}

func usageExit(format string, a ...interface{}) {
	loadstat.UsageExit("nats-load", format, a...)
}

func fail(format string, a ...interface{}) {
	loadstat.Fail("nats-load", format, a...)
}

func parse() options {
	var o options
	fs := flag.NewFlagSet("nats-load", flag.ContinueOnError)
	srv := fs.String("servers", "", "client URLs of every server, comma separated (required)")
	fs.IntVar(&o.inflight, "inflight", 256, "publishes in flight (1..65536)")
	fs.IntVar(&o.producers, "producers", 0, "producers (connections); 0: min(W, 16)")
	fs.IntVar(&o.consumers, "consumers", 0, "ordered consumers reading the stream (0..256)")
	fs.IntVar(&o.payload, "payload-size", 128, "bytes per message (8..1048576)")
	fs.IntVar(&o.replicas, "replicas", 3, "stream replicas (1..5)")
	dur := fs.Int("duration", 10, "measured seconds (1..3600)")
	warm := fs.Int("warmup", 1, "unmeasured seconds first (0..600)")
	tmo := fs.Int("timeout", 10000, "ms per publish before it counts as an error")
	drain := fs.Int("drain", 60, "seconds the consumers get to catch up at the end")
	fs.BoolVar(&o.msgID, "msg-id", true, "give each message a Nats-Msg-Id (deduplication)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	loadstat.Parse(fs)
	o.servers = loadstat.List(*srv)
	if len(o.servers) == 0 {
		usageExit("--servers is required")
	}
	if o.inflight < 1 || o.inflight > 65536 {
		usageExit("--inflight must be in 1..65536")
	}
	if o.producers == 0 {
		o.producers = o.inflight
		if o.producers > 16 {
			o.producers = 16
		}
	}
	if o.producers < 1 || o.producers > o.inflight {
		usageExit("--producers must be in 1..--inflight")
	}
	if o.consumers < 0 || o.consumers > 256 {
		usageExit("--consumers must be in 0..256")
	}
	if o.payload < 8 || o.payload > 1<<20 {
		usageExit("--payload-size must be in 8..1048576")
	}
	if o.replicas < 1 || o.replicas > 5 {
		usageExit("--replicas must be in 1..5")
	}
	if *dur < 1 || *dur > 3600 || *warm < 0 || *warm > 600 {
		usageExit("--duration must be in 1..3600 and --warmup in 0..600")
	}
	if *tmo < 1 || *drain < 1 {
		usageExit("--timeout and --drain must be >= 1")
	}
	o.duration = time.Duration(*dur) * time.Second
	o.warmup = time.Duration(*warm) * time.Second
	o.timeout = time.Duration(*tmo) * time.Millisecond
	o.drain = time.Duration(*drain) * time.Second
	return o
}

// connect connects to url, retrying for 30 s: the server may still be
// starting when the load does.
func connect(url string) *nats.Conn {
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err := nats.Connect(url, nats.Timeout(5*time.Second),
			nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
		if err == nil {
			return nc
		}
		if time.Now().After(deadline) {
			fail("cannot connect to %s within 30 s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// makeStream creates the stream afresh, retrying for 30 s while the
// cluster elects its meta leader; returns the stream leader's name.
func makeStream(o options, nc *nats.Conn) string {
	js, err := nc.JetStream()
	if err != nil {
		fail("JetStream: %v", err)
	}
	cfg := &nats.StreamConfig{Name: streamName, Subjects: []string{"bench.>"},
		Storage: nats.FileStorage, Replicas: o.replicas}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_ = js.DeleteStream(streamName)
		info, err := js.AddStream(cfg)
		if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			return info.Cluster.Leader
		}
		if err == nil {
			info, err = js.StreamInfo(streamName)
			if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
				return info.Cluster.Leader
			}
		}
		if time.Now().After(deadline) {
			fail("no stream with a leader within 30 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// leaderURL finds which of the servers is named leader.
func leaderURL(o options, leader string) string {
	for _, url := range o.servers {
		nc := connect(url)
		name := nc.ConnectedServerName()
		nc.Close()
		if name == leader {
			return url
		}
	}
	fail("stream leader %q is none of %v", leader, o.servers)
	return ""
}

// samples gathers latencies of the measured window from many goroutines.
type samples struct {
	mu  sync.Mutex
	lat []time.Duration
}

func (s *samples) add(part []time.Duration) {
	s.mu.Lock()
	s.lat = append(s.lat, part...)
	s.mu.Unlock()
}

type window struct {
	start, from, until time.Time
}

func (w window) in(t time.Time) bool { return !t.Before(w.from) && t.Before(w.until) }

// consumer counts what it receives and keeps the deliver latencies of
// the window.
type consumer struct {
	nc       *nats.Conn
	sub      *nats.Subscription
	received int64 // every message
	inWindow int64 // received in the window
	mu       sync.Mutex
	lat      []time.Duration
}

func startConsumer(url string, w *window, ready *int32) *consumer {
	c := &consumer{nc: connect(url), lat: make([]time.Duration, 0, 1<<16)}
	js, err := c.nc.JetStream()
	if err != nil {
		fail("JetStream: %v", err)
	}
	c.sub, err = js.Subscribe("bench.>", func(m *nats.Msg) {
		t1 := time.Now()
		atomic.AddInt64(&c.received, 1)
		if atomic.LoadInt32(ready) == 0 || len(m.Data) < 8 || !w.in(t1) {
			return
		}
		t0 := time.Unix(0, int64(binary.LittleEndian.Uint64(m.Data)))
		c.mu.Lock()
		c.lat = append(c.lat, t1.Sub(t0))
		c.inWindow++
		c.mu.Unlock()
	}, nats.OrderedConsumer())
	if err != nil {
		fail("subscribe on %s: %v", url, err)
	}
	return c
}

type pending struct {
	f  nats.PubAckFuture
	t0 time.Time
}

type producer struct {
	id     int
	window int
	acked  int64 // every acknowledgement, warm-up included
	errors int64
	first  error
}

// run publishes until the window closes, keeping p.window in flight,
// then waits for what is still in flight.
func (p *producer) run(o options, nc *nats.Conn, w window, lat *samples) {
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(2 * p.window))
	if err != nil {
		p.fail(err)
		return
	}
	subject := fmt.Sprintf("bench.p%d", p.id)
	queue := make([]pending, 0, p.window)
	mine := make([]time.Duration, 0, 1<<16)
	timer := time.NewTimer(o.timeout)
	var seq uint64
	for {
		for len(queue) < p.window && time.Now().Before(w.until) && p.errors == 0 {
			seq++
			data := make([]byte, o.payload)
			for i := 8; i < len(data); i++ {
				data[i] = 'x'
			}
			t0 := time.Now()
			binary.LittleEndian.PutUint64(data, uint64(t0.UnixNano()))
			var opts []nats.PubOpt
			if o.msgID {
				opts = append(opts, nats.MsgId(fmt.Sprintf("p%d-%d", p.id, seq)))
			}
			f, err := js.PublishAsync(subject, data, opts...)
			if err != nil {
				p.fail(err)
				break
			}
			queue = append(queue, pending{f, t0})
		}
		if len(queue) == 0 {
			break
		}
		head := queue[0]
		queue = queue[1:]
		timer.Reset(o.timeout)
		select {
		case <-head.f.Ok():
			t1 := time.Now()
			p.acked++
			if w.in(t1) {
				mine = append(mine, t1.Sub(head.t0))
			}
		case err := <-head.f.Err():
			p.fail(err)
		case <-timer.C:
			p.fail(fmt.Errorf("no acknowledgement within %v", o.timeout))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
	lat.add(mine)
}

func (p *producer) fail(err error) {
	p.errors++
	if p.first == nil {
		p.first = err
	}
}

// drain waits until every consumer received the stream's messages;
// returns the stream's count and whether they all did.
func drain(o options, nc *nats.Conn, cs []*consumer) (uint64, bool) {
	js, err := nc.JetStream()
	if err != nil {
		fail("JetStream: %v", err)
	}
	info, err := js.StreamInfo(streamName)
	if err != nil {
		fail("stream info: %v", err)
	}
	msgs := info.State.Msgs
	deadline := time.Now().Add(o.drain)
	for {
		all := true
		for _, c := range cs {
			if uint64(atomic.LoadInt64(&c.received)) < msgs {
				all = false
			}
		}
		if all || time.Now().After(deadline) {
			return msgs, all
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func main() {
	o := parse()
	admin := connect(o.servers[0])
	defer admin.Close()
	leader := makeStream(o, admin)
	target := leaderURL(o, leader)

	var w window
	var ready int32
	cs := make([]*consumer, o.consumers)
	for i := range cs {
		cs[i] = startConsumer(o.servers[i%len(o.servers)], &w, &ready)
	}
	ps := make([]*producer, o.producers)
	conns := make([]*nats.Conn, o.producers)
	for i := range ps {
		ps[i] = &producer{id: i + 1, window: o.inflight / o.producers}
		if i < o.inflight%o.producers {
			ps[i].window++
		}
		conns[i] = connect(target)
	}
	w.start = time.Now()
	w.from = w.start.Add(o.warmup)
	w.until = w.from.Add(o.duration)
	atomic.StoreInt32(&ready, 1)
	var lat samples
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func(p *producer, nc *nats.Conn) {
			defer wg.Done()
			p.run(o, nc, w, &lat)
		}(p, conns[i])
	}
	wg.Wait()
	msgs, all := drain(o, admin, cs)
	report(o, ps, cs, lat.lat, leader, msgs, all)
	for _, nc := range conns {
		nc.Close()
	}
	for _, c := range cs {
		_ = c.sub.Unsubscribe()
		c.nc.Close()
	}
}

func report(o options, ps []*producer, cs []*consumer, lat []time.Duration,
	leader string, msgs uint64, all bool) {
	var errs, acked int64
	var first error
	for _, p := range ps {
		errs += p.errors
		acked += p.acked
		if first == nil {
			first = p.first
		}
	}
	var dl []time.Duration
	var delivered int64
	for _, c := range cs {
		c.mu.Lock()
		dl = append(dl, c.lat...)
		delivered += c.inWindow
		c.mu.Unlock()
	}
	secs := o.duration.Seconds()
	n := len(lat)
	ops := float64(n) / secs
	out := map[string]interface{}{
		"impl": "nats", "inflight": o.inflight, "producers": o.producers,
		"consumers": o.consumers, "payload_size": o.payload,
		"replicas": o.replicas, "msg_id": o.msgID, "duration_s": secs,
		"acked": n, "acked_total": acked,
		"ops_per_s":  math.Round(ops*10) / 10,
		"latency_ms": loadstat.Summary(lat), "errors": errs, "leader": leader,
		"stream_msgs": msgs, "delivered_all": all,
	}
	if o.consumers > 0 {
		out["deliver_ms"] = loadstat.Summary(dl)
		out["delivered"] = delivered
		out["deliver_per_s"] = math.Round(float64(delivered)/secs*10) / 10
	}
	if o.json {
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	} else {
		l := out["latency_ms"].(map[string]float64)
		fmt.Printf("nats: W=%d over %d producers to %s, %d B, %d consumers\n",
			o.inflight, o.producers, leader, o.payload, o.consumers)
		fmt.Printf("  %d acked in %.0f s: %.1f publishes/s\n", n, secs, ops)
		fmt.Printf("  publish->ack ms: p50 %.3f p99 %.3f max %.3f\n",
			l["p50"], l["p99"], l["max"])
		if d, ok := out["deliver_ms"].(map[string]float64); ok {
			fmt.Printf("  publish->deliver ms: p50 %.3f p99 %.3f; %d delivered in the window\n",
				d["p50"], d["p99"], delivered)
		}
		fmt.Printf("  stream holds %d; every consumer got them all: %v; errors: %d\n",
			msgs, all, errs)
	}
	if errs != 0 {
		fail("%d publishes failed; first: %v", errs, first)
	}
	if n == 0 {
		fail("no publish acknowledged in the measured window")
	}
	if !all {
		fail("a consumer did not receive the %d messages within %v", msgs, o.drain)
	}
}
