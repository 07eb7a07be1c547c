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
                         only the leader answers; a producer's ready
                         publications go as one PUBLISH run, answered
                         in ACK runs), the consumers' spread over the
                         endpoints (followers serve too);
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
    zb_bus_usage).

    Churn (--endpoints only): --idle-subscribers N sessions subscribe
    (from what comes next) with credit 0 and never give any, answering
    the servers' HEARTBEATs so their sessions stay open for the whole
    run; --dropping-subscribers N sessions subscribe with --credit and
    read, then close their socket without a word (no UNSUBSCRIBE) while
    deliveries are flowing: once each, at times spread evenly over the
    measured window (subscriber j of N at warm-up + (j + 1) x duration /
    (N + 1)), or with --drop-every MS over and over: each reconnects at
    once (a new session, from what comes next) and drops again MS later,
    the first drops spread over the window's first MS. Both kinds are
    spread over the endpoints like the consumers and are not consumers:
    the run does not wait for them to catch up; --reading-subscribers N
    sessions read like the dropping ones but never drop (what the
    dropping ones cost by reading, without their disconnections). The
    report counts them,
    their OKs and the disconnections (see zb_bus_churn_t).

    Memory (--server-pids P1,..: the servers' processes, on this host):
    each one's VmRSS and RssAnon (heap and stacks) when the measured
    window starts, and its VmRSS, RssAnon and VmHWM (peak) once the load
    ended, from /proc/<pid>/status, so that a run shows whether the
    servers' memory stayed bounded. Invariants:
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
#define ZB_BUS_IDLE_MAX 1024u           /* --idle-subscribers bound */
#define ZB_BUS_DROP_EVERY_MAX 3600000u  /* --drop-every bound, ms */
#define ZB_BUS_PIDS_MAX ZB_KV_ENDPOINTS_MAX     /* --server-pids bound */

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
    uint32_t idle;                      /* --idle-subscribers, 0..1024 */
    uint32_t dropping;                  /* --dropping-subscribers, 0..256 */
    uint32_t drop_every_ms;             /* 0: each drops once */
    uint32_t reading;                   /* --reading-subscribers, 0..256 */
    pid_t server_pids [ZB_BUS_PIDS_MAX];    /* --server-pids */
    uint32_t n_server_pids;
} zb_bus_params_t;

/* What the churn subscribers did (above), for the report. */
typedef struct {
    uint32_t idle_open;                 /* idle sessions whose OK came and
                                           that nothing ended */
    uint64_t idle_deliveries;           /* DELIVERs to idle ones: 0 if the
                                           servers kept to credit 0 */
    uint64_t subscribes;                /* dropping: SUBSCRIBEs sent */
    uint64_t subscribed;                /* ... OKs received */
    uint64_t disconnections;            /* sockets closed mid-stream */
    uint64_t mid_stream;                /* ... open and delivering (a
                                           delivery taken) when closed */
    uint64_t deliveries;                /* DELIVERs the dropping ones took */
    uint64_t reading_deliveries;        /* ... the reading ones took */
    uint64_t ended;                     /* subscriptions a server ended
                                           (OUT_OF_RANGE, ERROR), any kind */
} zb_bus_churn_t;

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
    /* NULL, or told the measured window (zb_now_us) once the load
       starts, and asked the churn's figures for the report. */
    void (*window) (void *arg, int64_t from_us, int64_t until_us);
    void (*churn) (void *arg, zb_bus_churn_t *out);
    /* NULL, or sends what publish gathered (runs): called after each
       round of publish calls, before the next wait. */
    int (*flush) (void *arg);
} zb_bus_way_t;

/* An attempt's answer (unknown tokens, late answers, are ignored). */
void zb_bus_acked (zb_bus_t *self, uint64_t token, zb_bus_outcome_t outcome,
                   uint64_t index, bool duplicate, const char *why);

/* A delivery to consumer (0..C-1), which arrived at now_us (zb_now_us:
   the deliveries of one DELIVER run arrived together, so a way reads
   the clock once per run). */
void zb_bus_delivered (zb_bus_t *self, uint32_t consumer, uint64_t index,
                       const void *payload, size_t size, int64_t now_us);

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
