/*  =========================================================================
    kv - zraft-bench --kv: load on a running zraft-node cluster through
    its client endpoint (the client protocol, transport/client.h)

    Unlike the other modes, --kv starts no server: it drives a cluster
    someone started (bench/etcdcompare.sh starts three zraft-node
    processes), the way a client sees it. It asks every --endpoints
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

/* True if argv asks for the kv mode (--kv anywhere). */
bool zb_kv_wanted (int argc, char *argv []);

/* Prints the kv mode's usage on out. */
void zb_kv_usage (FILE *out);

/* Runs the kv mode with argv's flags. Returns the exit code: 0, 1 (no
   leader, a request failed or timed out), 64 (a bad flag, after a
   one-line message), 130 (interrupted). */
int zb_kv_main (int argc, char *argv []);

#endif
