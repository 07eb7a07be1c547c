/*  =========================================================================
    kv - zraft-bench --kv: load on a running zraft-node cluster through
    its client endpoint (the client protocol, transport/client.h)

    Unlike the other modes, --kv starts no server: it drives a cluster
    someone started (bench/etcdcompare.sh starts three zraft-node
    processes), the way a client sees it. zraft-bench --procs runs the
    same load (zb_kv_load) on the zraft-node processes it starts. It asks every --endpoints
    server for its STATUS until one says it leads, then opens N DEALERs
    (--clients, N TCP connections) to that leader and keeps W requests
    (--inflight) in flight over them, W/N per DEALER, pipelined: each
    request slot issues its next request as soon as its reply arrives.

    A request is a GET (linearizable: stale=false, the server's
    ReadIndex) with probability --get-ratio, else a PUT of a
    --value-size B value; keys are "key-%08u" over --keys keys, picked
    at random. Every slot has its own client session (client_id, seqs
    1, 2, ...): a session remembers only its last seq, so two writes of
    one session in flight could make a retried one look old. A BUSY
    reply is retried after 1 ms with the same client_id and seq (counted
    in "busy"); any other error is counted in "errors" (the exit code is
    then 1). With --get-ratio > 0 every key is written once first (256
    in flight, outside the measured window), so each GET finds a value.

    Only requests that complete inside the measured window (after
    --warmup, --duration long) count: ops/s is their number over the
    window, their latencies (from the first send to the reply) go to
    bench/histogram.h's histogram. Output as the other modes': a summary,
    or with --json one object (see zb_kv_usage).
    =========================================================================
*/
#ifndef ZB_KV_H_INCLUDED
#define ZB_KV_H_INCLUDED

#define ZB_KV_ENDPOINTS_MAX 16u         /* --endpoints bound */
#define ZB_KV_TEXT_MAX 256              /* an endpoint or error, with NUL */

/* A load's parameters: what the --kv flags set (zb_kv_usage), and what
   zraft-bench --procs asks of the zraft-node processes it started. */
typedef struct {
    const char *endpoints [ZB_KV_ENDPOINTS_MAX];    /* borrowed */
    uint32_t n_endpoints;               /* 1..ZB_KV_ENDPOINTS_MAX */
    uint32_t clients;                   /* DEALERs, 1..min (inflight, 256) */
    uint32_t inflight;                  /* requests in flight, W */
    double get_ratio;                   /* 0..1: share of GETs */
    uint32_t value_size;                /* PUT value bytes */
    uint32_t keys;                      /* distinct keys */
    uint32_t duration_s, warmup_s;      /* measured, unmeasured first */
    uint32_t timeout_ms;                /* a request's reply, at most */
    bool stale;                         /* GETs with stale=true */
} zb_kv_params_t;

/* What a load measured. */
typedef struct {
    uint64_t ops, puts, gets;           /* completed OK in the window */
    uint64_t errors, busy;              /* in the whole load */
    uint64_t last_index;                /* highest index a write's reply
                                           named: what every server must
                                           apply (verify) */
    int64_t from_us, until_us;          /* the measured window (zb_now_us) */
    char leader [ZB_KV_TEXT_MAX];       /* the endpoint loaded */
    char first_error [ZB_KV_TEXT_MAX];  /* "" if none */
} zb_kv_figures_t;

/* Called about every 10 ms while a load runs, with the time, the
   measured window (from_us 0 until the measured phase began) and the
   requests completed so far in any phase. Returns 0 to go on, or -1 to
   stop the load at once (it then returns 1 without a message: the
   callback says why). */
typedef int (zb_kv_tick_fn) (void *arg, int64_t now_us, int64_t from_us,
                             int64_t until_us, uint64_t done);

/* Runs a load with params on a running cluster (czmq initialised by
   the caller): finds the leader among the endpoints, writes every key
   once first if get_ratio > 0, then loads warmup_s + duration_s. The
   window's latencies (us) go into hist; figures gets the rest. tick may
   be NULL. Returns 0 (requests completed in the window, none failed),
   1 (no leader, a request failed or timed out, nothing completed, or
   tick stopped it; a message on stderr but for tick), 130 (interrupted). */
int zb_kv_load (const zb_kv_params_t *params, zr_histogram_t *hist,
                zb_kv_tick_fn *tick, void *arg, zb_kv_figures_t *figures);

/* Parses text as an integer in min..max into *value (flag names it in
   the message). Returns 0, or -1 after a one-line message. */
int zb_kv_uint_parse (const char *flag, const char *text, uint32_t min,
                      uint32_t max, uint32_t *value);

/* Copies the name of flag arg ("--flag" or "--flag=value") into name
   (size bytes). Returns the value after '=', or NULL if there is none. */
const char *zb_kv_flag_name (const char *arg, char *name, size_t size);

/* Splits text, comma separated, into at most ZB_KV_ENDPOINTS_MAX
   endpoints, each tcp://HOST:PORT with no wildcard host (bin/lib/
   endpoint.h): *copy (NULL before: else the flag was given twice, an
   error; then owned by the caller) holds them, endpoints [0..*n) point
   into it. Returns 0, or -1 after a message. */
int zb_kv_endpoints_parse (const char *text, char **copy,
                           const char **endpoints, uint32_t *n);

/* What the leader probes learnt of the endpoints that cannot read the
   protocol they were sent (a peer endpoint; a bus endpoint given as a
   client one, or the reverse): nothing sent there can succeed. */
typedef struct {
    bool wrong [ZB_KV_ENDPOINTS_MAX];
    uint32_t n_wrong;
} zb_kv_probed_t;

/* Reads a probe's answer from endpoints [e] (of n): if it says that its
   sender cannot read the protocol (bus or client) it was sent
   (zr_link_unreadable), marks e, once, with a line on stderr naming the
   endpoint and why. Returns true when all n are marked. */
bool zb_kv_probe_note (zb_kv_probed_t *probed, const char *const *endpoints,
                       uint32_t n, uint32_t e, const void *data, size_t size,
                       bool bus);

/* True if argv asks for the kv mode (--kv anywhere). */
bool zb_kv_wanted (int argc, char *argv []);

/* Prints the kv mode's usage on out. */
void zb_kv_usage (FILE *out);

/* Runs the kv mode with argv's flags. Returns the exit code: 0, 1 (no
   leader, a request failed or timed out), 64 (a bad flag, after a
   one-line message), 130 (interrupted). */
int zb_kv_main (int argc, char *argv []);

#endif
