/*  =========================================================================
    bus - zraft-bench --bus: the message bus under load

    P producers publish 128 B messages (--payload-size) with W publishes
    in flight in all (--inflight; W/P per producer, the first W mod P one
    more), each with its producer id (new in each run) and sequence
    number (deduplication; --no-dedup: producer 0), and C consumers (--consumers) each read
    every message, with --credit deliveries in flight, topped up as they
    take them. Two ways to reach the bus:

      --endpoints E1,..  a running cluster's bus endpoints (zraft-node
                         --listen-bus), through the bus protocol
                         (transport/bus.h): the producers' DEALERs on the
                         leader (found by asking every endpoint CURSORS:
                         only the leader answers), the consumers' spread
                         over the endpoints (followers serve too);
      --inproc           a cluster of --nodes servers started in this
                         process, through the library's API
                         (zraft_publish on the leader's handle,
                         zraft_subscribe on each server's in turn).

    Every consumer subscribes (from what comes next) before the first
    publish. A publish's first 24 bytes are its send time (this host's
    monotonic microseconds: the servers' clocks are not involved), its
    producer and its seq. A publish answered "busy", "not the leader" or
    "outcome unknown" is sent again (after 1 ms), same producer and seq,
    until it is acknowledged (so every message ends in the log exactly
    once); any other refusal fails the run. The run lasts --warmup + --duration;
    what completes inside the measured window counts: acknowledged
    publishes/s, publish->ack latency (first send to the ACK), and
    publish->deliver latency (first send to a consumer's delivery, every
    consumer's). Then every consumer must receive every message
    acknowledged, in strictly increasing indexes, within --timeout
    ("delivered_all"). Output: a summary, or with --json one object (see
    zb_bus_usage). Invariants:
    1. Tokens (publish attempts) increase from 1; an attempt's slot is
       token mod the ring's size (twice W or more); a token whose slot an
       older attempt still holds is skipped, so no two share one.
    2. A producer has at most its window of messages unacknowledged; a
       message keeps its seq across attempts.
    3. A consumer counts a delivery only at an index above its last one.
    =========================================================================
*/
#ifndef ZB_BUS_H_INCLUDED
#define ZB_BUS_H_INCLUDED

#define ZB_BUS_ROLES_MAX 256u           /* --producers, --consumers bound */
#define ZB_BUS_INFLIGHT_MAX 65536u      /* --inflight bound */
#define ZB_BUS_HEADER 24                /* send time, producer, seq */

/* The flags of --bus. */
typedef struct {
    const char *endpoints [ZB_KV_ENDPOINTS_MAX];    /* remote; borrowed */
    uint32_t n_endpoints;
    bool inproc;                        /* an in-process cluster instead */
    uint32_t nodes;                     /* --inproc: its servers */
    const char *dir;                    /* --inproc: data dirs' parent */
    uint32_t inflight;                  /* publishes in flight, W */
    uint32_t producers;                 /* 1..min (W, 256) */
    uint32_t consumers;                 /* 0..256 */
    uint32_t payload_size;              /* ZB_BUS_HEADER..1 MiB */
    uint32_t credit;                    /* per consumer, 2..65536 */
    uint32_t duration_s, warmup_s;      /* measured, unmeasured first */
    uint32_t timeout_ms;                /* a publish's answer, the drain */
    bool dedup;                         /* producer ids and seqs */
    bool json;                          /* one JSON object */
} zb_bus_params_t;

/* How an attempt ended, for zb_bus_acked. */
typedef enum {
    ZB_BUS_OK = 0,                      /* acknowledged at index */
    ZB_BUS_RETRY = 1,                   /* not appended, or not known:
                                           send it again */
    ZB_BUS_FAILED = 2                   /* refused: the run fails */
} zb_bus_outcome_t;

typedef struct _zb_bus_t zb_bus_t;

/* What the load needs of a way to the bus. Each returns 0, or -1 after
   a message (the run fails); publish may return 1: not now (queue
   full), try after the next wait. */
typedef struct {
    /* Sends attempt token of producer's message (seq) with payload. */
    int (*publish) (void *arg, uint32_t producer, uint64_t token,
                    const char *subject, const void *payload, size_t size,
                    uint64_t producer_id, uint64_t seq);
    /* Gives consumer credit more deliveries. */
    int (*credit) (void *arg, uint32_t consumer, uint32_t credit);
    /* Waits up to ms for answers and deliveries and hands each to
       zb_bus_acked or zb_bus_delivered. */
    int (*wait) (void *arg, zb_bus_t *load, int ms);
    void *arg;
} zb_bus_way_t;

/* An attempt's answer (unknown tokens, late answers, are ignored). */
void zb_bus_acked (zb_bus_t *self, uint64_t token, zb_bus_outcome_t outcome,
                   uint64_t index, bool duplicate, const char *why);

/* A delivery to consumer (0..C-1). */
void zb_bus_delivered (zb_bus_t *self, uint32_t consumer, uint64_t index,
                       const void *payload, size_t size);

/* Runs the load over way, whose consumers are subscribed. Returns the
   exit code (0; 1 failed, after a message; 130 interrupted) and prints
   the report when the load ran. leader names what was loaded. */
int zb_bus_run (const zb_bus_params_t *params, const zb_bus_way_t *way,
                const char *leader);

/* True if argv asks for the bus mode (--bus anywhere). */
bool zb_bus_wanted (int argc, char *argv []);

/* Prints the bus mode's usage on out. */
void zb_bus_usage (FILE *out);

/* Runs the bus mode with argv's flags. Returns the exit code: 0, 1 (no
   leader, a publish refused or unanswered, a consumer short), 64 (a bad
   flag, after a one-line message), 130 (interrupted). */
int zb_bus_main (int argc, char *argv []);

#endif
