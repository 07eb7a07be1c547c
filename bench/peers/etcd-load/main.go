// etcd-load - a closed-loop load generator for an etcd cluster, through
// etcd's own Go client (clientv3), for bench/etcdcompare.sh.
//
// It keeps W requests in flight: W goroutines, each issuing one request,
// waiting for its answer and issuing the next, spread over N clients
// (one clientv3.Client, so one gRPC connection, each; goroutine i uses
// client i mod N). The operation is either
//
//	put: Put(key, value) of a --value-size B value (etcd: one Raft entry,
//	     fsynced by a quorum before the answer), or
//	get: Get(key), etcd's default linearizable range (serializable=false:
//	     the server's ReadIndex, answered once applied reaches it).
//
// Keys are "key-%08d" over --keys keys, picked at random per request. A
// get run first writes every key once (not measured), so each get finds
// a value of --value-size B.
//
// The clients talk to the leader only (found with Maintenance.Status on
// every endpoint): a follower would forward a put to the leader and ask
// the leader for a read index, one hop more; zraft's clients also send
// to the leader. --target all spreads them over every endpoint instead.
//
// The run lasts --warmup + --duration seconds; only requests that
// complete inside the measured window count: ops/s is their number over
// the window's length, and their latencies (from the call to its answer)
// give the percentiles (nearest rank, exact: every sample is kept).
// A request that fails is counted in "errors"; the exit code is then 1.
//
// --serializable makes a get a serializable range (answered from the
// member's state as it is, no ReadIndex): not what the comparison
// measures, a way to see what the ReadIndex costs.
//
// Output: a summary on stdout, or with --json one JSON object:
//
//	{"impl":"etcd","op":"put","inflight":W,"clients":N,"value_size":128,
//	 "keys":K,"duration_s":..,"ops":..,"ops_per_s":..,"mb_per_s":..,
//	 "latency_ms":{"min","p50","p90","p99","p999","max","avg","stddev"},
//	 "errors":0,"leader":"http://..","target":"leader"}
//
// Exit: 0, 1 on failure (cluster unreachable, no leader, a request failed),
// 64 on a bad flag.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"

	"../loadstat"
)

type options struct {
	endpoints []string
	op        string
	inflight  int
	clients   int
	valueSize int
	keys      int
	duration  time.Duration
	warmup    time.Duration
	timeout   time.Duration
	target    string
	serial    bool
	json      bool
}

func usageExit(format string, a ...interface{}) {
	loadstat.UsageExit("etcd-load", format, a...)
}

func parse() options {
	var o options
	fs := flag.NewFlagSet("etcd-load", flag.ContinueOnError)
	eps := fs.String("endpoints", "", "client URLs, comma separated (required)")
	fs.StringVar(&o.op, "op", "put", "put, or get (linearizable range)")
	fs.IntVar(&o.inflight, "inflight", 256, "requests in flight (1..65536)")
	fs.IntVar(&o.clients, "clients", 0, "clients (gRPC connections); 0: min(W, 16)")
	fs.IntVar(&o.valueSize, "value-size", 128, "bytes per value (0..1048576)")
	fs.IntVar(&o.keys, "keys", 10000, "distinct keys (1..10000000)")
	dur := fs.Int("duration", 10, "measured seconds (1..3600)")
	warm := fs.Int("warmup", 1, "unmeasured seconds first (0..600)")
	tmo := fs.Int("timeout", 10000, "ms per request before it counts as an error")
	fs.StringVar(&o.target, "target", "leader", "leader (clients on the leader) or all")
	fs.BoolVar(&o.serial, "serializable", false,
		"get: a serializable (local, possibly stale) range instead; not what the comparison uses")
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	loadstat.Parse(fs)
	o.endpoints = loadstat.List(*eps)
	if len(o.endpoints) == 0 {
		usageExit("--endpoints is required")
	}
	if o.op != "put" && o.op != "get" {
		usageExit("--op must be put or get (got %q)", o.op)
	}
	if o.inflight < 1 || o.inflight > 65536 {
		usageExit("--inflight must be in 1..65536")
	}
	if o.clients == 0 {
		o.clients = o.inflight
		if o.clients > 16 {
			o.clients = 16
		}
	}
	if o.clients < 1 || o.clients > o.inflight {
		usageExit("--clients must be in 1..--inflight")
	}
	if o.valueSize < 0 || o.valueSize > 1<<20 {
		usageExit("--value-size must be in 0..1048576")
	}
	if o.keys < 1 || o.keys > 10000000 {
		usageExit("--keys must be in 1..10000000")
	}
	if *dur < 1 || *dur > 3600 || *warm < 0 || *warm > 600 {
		usageExit("--duration must be in 1..3600 and --warmup in 0..600")
	}
	if *tmo < 1 {
		usageExit("--timeout must be >= 1 ms")
	}
	if o.target != "leader" && o.target != "all" {
		usageExit("--target must be leader or all")
	}
	o.duration = time.Duration(*dur) * time.Second
	o.warmup = time.Duration(*warm) * time.Second
	o.timeout = time.Duration(*tmo) * time.Millisecond
	return o
}

func fail(format string, a ...interface{}) {
	loadstat.Fail("etcd-load", format, a...)
}

func quietLog() *zap.Config {
	c := zap.NewProductionConfig()
	c.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	c.OutputPaths = []string{"stderr"}
	c.ErrorOutputPaths = []string{"stderr"}
	return &c
}

func newClient(eps []string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   eps,
		DialTimeout: 5 * time.Second,
		LogConfig:   quietLog(),
	})
	if err != nil {
		fail("cannot connect to %v: %v", eps, err)
	}
	return c
}

// findLeader asks every endpoint for its status until one says it leads;
// retries for up to 30 s (the cluster may still be electing).
func findLeader(eps []string) string {
	c := newClient(eps)
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, ep := range eps {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := c.Status(ctx, ep)
			cancel()
			if err == nil && st.Leader != 0 && st.Header.MemberId == st.Leader {
				return ep
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("no leader among %v within 30 s", eps)
	return ""
}

func key(i int) string { return fmt.Sprintf("key-%08d", i) }

// fill writes every key once, 256 (or W) at a time, before a get run.
func fill(o options, clients []*clientv3.Client, value string) {
	var next int64 = -1
	var failed int64
	var wg sync.WaitGroup
	writers := o.inflight
	if writers < 256 {
		writers = 256 // the fill is not measured: make it quick
	}
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(c *clientv3.Client) {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(o.keys) || atomic.LoadInt64(&failed) != 0 {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
				_, err := c.Put(ctx, key(int(i)), value)
				cancel()
				if err != nil {
					if atomic.AddInt64(&failed, 1) == 1 {
						fmt.Fprintf(os.Stderr, "etcd-load: fill: %v\n", err)
					}
					return
				}
			}
		}(clients[g%len(clients)])
	}
	wg.Wait()
	if failed != 0 {
		fail("could not write the %d keys a get run reads", o.keys)
	}
}

type worker struct {
	lat    []time.Duration // completed in the window
	errors int64
	first  error
}

func run(o options, clients []*clientv3.Client, value string,
	start, from, until time.Time) []*worker {
	ws := make([]*worker, o.inflight)
	var wg sync.WaitGroup
	for g := 0; g < o.inflight; g++ {
		w := &worker{lat: make([]time.Duration, 0, 4096)}
		ws[g] = w
		wg.Add(1)
		go func(c *clientv3.Client, w *worker, seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for {
				t0 := time.Now()
				if !t0.Before(until) {
					return
				}
				k := key(rng.Intn(o.keys))
				ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
				var err error
				if o.op == "put" {
					_, err = c.Put(ctx, k, value)
				} else {
					var r *clientv3.GetResponse
					if o.serial {
						r, err = c.Get(ctx, k, clientv3.WithSerializable())
					} else {
						r, err = c.Get(ctx, k)
					}
					if err == nil && (len(r.Kvs) != 1 || len(r.Kvs[0].Value) != len(value)) {
						err = fmt.Errorf("get %s: no value of %d B", k, len(value))
					}
				}
				cancel()
				t1 := time.Now()
				if !t1.Before(from) && t1.Before(until) {
					if err != nil {
						w.errors++
						if w.first == nil {
							w.first = err
						}
					} else {
						w.lat = append(w.lat, t1.Sub(t0))
					}
				}
			}
		}(clients[g%len(clients)], w, start.UnixNano()+int64(g)*7919)
	}
	wg.Wait()
	return ws
}

func main() {
	o := parse()
	leader := ""
	targets := o.endpoints
	if o.target == "leader" {
		leader = findLeader(o.endpoints)
		targets = []string{leader}
	}
	clients := make([]*clientv3.Client, o.clients)
	for i := range clients {
		clients[i] = newClient(targets)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	value := strings.Repeat("v", o.valueSize)
	if o.op == "get" {
		fill(o, clients, value)
	}
	start := time.Now()
	from := start.Add(o.warmup)
	until := from.Add(o.duration)
	ws := run(o, clients, value, start, from, until)

	var all []time.Duration
	var errs int64
	var first error
	for _, w := range ws {
		all = append(all, w.lat...)
		errs += w.errors
		if first == nil {
			first = w.first
		}
	}
	secs := o.duration.Seconds()
	n := len(all)
	ops := float64(n) / secs
	lat := loadstat.Summary(all)
	if o.json {
		out := map[string]interface{}{
			"impl": "etcd", "op": o.op, "inflight": o.inflight,
			"clients": o.clients, "value_size": o.valueSize, "keys": o.keys,
			"duration_s": secs, "ops": n,
			"ops_per_s":  math.Round(ops*10) / 10,
			"mb_per_s":   math.Round(ops*float64(o.valueSize)/1e6*1000) / 1000,
			"latency_ms": lat, "errors": errs, "leader": leader,
			"target": o.target, "serializable": o.serial,
		}
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	} else {
		fmt.Printf("etcd %s: W=%d over %d clients to %s, %d B values, %d keys\n",
			o.op, o.inflight, o.clients, strings.Join(targets, ","),
			o.valueSize, o.keys)
		fmt.Printf("  %d ops in %.0f s: %.1f ops/s, %.3f MB/s\n", n, secs,
			ops, ops*float64(o.valueSize)/1e6)
		fmt.Printf("  latency ms: min %.3f p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f\n",
			lat["min"], lat["p50"], lat["p90"], lat["p99"], lat["p999"], lat["max"])
		fmt.Printf("  errors: %d\n", errs)
	}
	if errs != 0 {
		fail("%d requests failed in the window; first: %v", errs, first)
	}
	if n == 0 {
		fail("no request completed in the measured window")
	}
}
