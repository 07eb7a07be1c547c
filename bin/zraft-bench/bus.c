/*  =========================================================================
    bus - zraft-bench --bus: the message bus under load (see bus.h)

    The flags, the load (producers' windows, the attempts' ring, the
    retry queue, the consumers' accounts), the drain and the report; the
    ways to the bus are buslocal.c (--inproc) and busremote.c
    (--endpoints).
    =========================================================================
*/
#include "bench.h"
#include "kv.h"
#include "bus.h"
#include "buslocal.h"
#include "busremote.h"

#define S_SCAN_US 100000                /* timeout scan period */
#define S_RETRY_US 1000                 /* an attempt sent again after this */
#define S_WAIT_MS 10                    /* longest wait of the loop */
#define S_ERROR_MAX 256                 /* first error, for people */
#define S_SUBJECT_MAX 32                /* "bench.p<n>" and its NUL */
#define S_EX_USAGE 64

/* One attempt in flight (invariant 1). */
typedef struct {
    uint64_t token;                     /* 0: the slot is free */
    uint32_t producer;                  /* whose message */
    uint64_t seq;                       /* which of its messages */
    int64_t first_us;                   /* the message's first send */
    int64_t sent_us;                    /* this attempt's send */
} s_attempt_t;

typedef struct {
    uint32_t window;                    /* messages in flight at most */
    uint32_t open;                      /* unacknowledged (invariant 2) */
    uint64_t seq;                       /* the last seq given */
    char subject [S_SUBJECT_MAX];
} s_producer_t;

typedef struct {
    uint64_t received;                  /* deliveries counted (invariant 3) */
    uint64_t last;                      /* index of the last counted */
    uint64_t disorder;                  /* deliveries at or below last */
    uint32_t taken;                     /* deliveries since the last credit */
} s_consumer_t;

struct _zb_bus_t {
    const zb_bus_params_t *p;           /* the flags */
    const zb_bus_way_t *way;            /* the way to the bus */
    s_attempt_t *ring;                  /* attempts in flight, by token */
    uint64_t mask;                      /* ring size - 1 */
    s_attempt_t *retries;               /* messages to send again (FIFO;
                                           sent_us: not before then) */
    size_t n_retries;                   /* in retries, <= W */
    s_producer_t *producers;
    s_consumer_t *consumers;
    uint8_t *payload;                   /* payload_size bytes */
    uint64_t next_token;                /* the last token given */
    uint64_t producer_base;             /* producer i's id: base + i + 1 */
    uint32_t inflight;                  /* attempts in the ring */
    zr_histogram_t *ack_hist;           /* publish->ack in the window, us */
    zr_histogram_t *dlv_hist;           /* publish->deliver in the window */
    int64_t from_us, until_us;          /* the measured window */
    uint64_t acked;                     /* acknowledged in the window */
    uint64_t acked_total;               /* messages acknowledged, ever */
    uint64_t duplicates;                /* ACKs that said duplicate */
    uint64_t retried;                   /* attempts sent again */
    uint64_t delivered;                 /* deliveries in the window */
    uint64_t last_index;                /* highest index acknowledged */
    uint64_t errors;                    /* refusals, timeouts */
    char first_error [S_ERROR_MAX];
    bool rss_taken;                     /* rss_start is (the window began) */
    uint64_t rss_start [ZB_BUS_PIDS_MAX];   /* --server-pids: VmRSS, KiB */
    uint64_t anon_start [ZB_BUS_PIDS_MAX];  /* ... RssAnon, KiB */
};


/* --------------------------------------------------------------------------
 * The load */

static bool
s_in_window (const zb_bus_t *self, int64_t now)
{
    return now >= self->from_us && now < self->until_us;
}

/* Sends one attempt of producer's message seq (first sent at first_us).
   Returns 0, 1 (not now: the caller keeps it) or -1. */
static int
s_send (zb_bus_t *self, uint32_t producer, uint64_t seq, int64_t first_us)
{
    uint64_t token = self->next_token + 1;
    while (self->ring [token & self->mask].token)
        token++;                        /* an old attempt holds it */
    s_attempt_t *a = &self->ring [token & self->mask];
    uint64_t header [3] = {(uint64_t) first_us, producer + 1u, seq};
    memcpy (self->payload, header, sizeof header);
    s_producer_t *pr = &self->producers [producer];
    int rc = self->way->publish (self->way->arg, producer, token, pr->subject,
                                 self->payload, self->p->payload_size,
                                 self->p->dedup ? self->producer_base + producer + 1u
                                                : 0,
                                 self->p->dedup ? seq : 0);
    if (rc != 0)
        return rc;
    self->next_token = token;
    *a = (s_attempt_t) {token, producer, seq, first_us, zb_now_us ()};
    self->inflight++;
    return 0;
}

/* Sends what is due: the retries first, then every producer's new
   messages up to its window while the window is open. Returns 0 or -1. */
static int
s_fill (zb_bus_t *self, int64_t now)
{
    while (self->n_retries > 0 && self->retries [0].sent_us <= now) {
        s_attempt_t *r = &self->retries [0];
        int rc = s_send (self, r->producer, r->seq, r->first_us);
        if (rc)
            return rc < 0 ? -1 : 0;
        self->retried++;
        memmove (self->retries, self->retries + 1,
                 --self->n_retries * sizeof *self->retries);
    }
    if (now >= self->until_us || zb_interrupted)
        return 0;
    for (uint32_t i = 0; i < self->p->producers; i++) {
        s_producer_t *pr = &self->producers [i];
        while (pr->open < pr->window) {
            int rc = s_send (self, i, pr->seq + 1, zb_now_us ());
            if (rc)
                return rc < 0 ? -1 : 0;
            pr->seq++;
            pr->open++;
        }
    }
    return 0;
}

void
zb_bus_acked (zb_bus_t *self, uint64_t token, zb_bus_outcome_t outcome,
              uint64_t index, bool duplicate, const char *why)
{
    s_attempt_t *a = &self->ring [token & self->mask];
    if (token == 0 || a->token != token)
        return;                         /* late: timed out, or not ours */
    s_attempt_t attempt = *a;
    a->token = 0;
    self->inflight--;
    if (outcome == ZB_BUS_RETRY) {
        assert (self->n_retries < self->p->inflight);
        attempt.sent_us = zb_now_us () + S_RETRY_US;    /* not before */
        self->retries [self->n_retries++] = attempt;
        return;
    }
    self->producers [attempt.producer].open--;
    if (outcome != ZB_BUS_OK) {
        ZB_ERROR (self, "publish p%u seq %" PRIu64 " refused: %s",
                 attempt.producer + 1, attempt.seq, why ? why : "?");
        return;
    }
    int64_t now = zb_now_us ();
    self->acked_total++;
    self->duplicates += duplicate;
    if (index > self->last_index)
        self->last_index = index;
    if (s_in_window (self, now)) {
        self->acked++;
        zr_histogram_record (self->ack_hist, (uint64_t) (now - attempt.first_us));
    }
}

void
zb_bus_delivered (zb_bus_t *self, uint32_t consumer, uint64_t index,
                  const void *payload, size_t size, int64_t now)
{
    assert (consumer < self->p->consumers);
    s_consumer_t *c = &self->consumers [consumer];
    if (index <= c->last)
        c->disorder++;
    else {
        c->received++;
        c->last = index;
    }
    uint64_t header [3] = {0};
    if (size >= sizeof header)
        memcpy (header, payload, sizeof header);
    if (s_in_window (self, now) && size >= sizeof header) {
        self->delivered++;
        zr_histogram_record (self->dlv_hist, (uint64_t) (now - (int64_t) header [0]));
    }
    if (++c->taken >= self->p->credit / 2) {
        if (self->way->credit (self->way->arg, consumer, c->taken))
            ZB_ERROR (self, "consumer %u: credit refused", consumer + 1);
        c->taken = 0;
    }
}

/* Fails the run on an attempt older than the timeout. Returns 0 or -1. */
static int
s_scan (zb_bus_t *self, int64_t now)
{
    int64_t timeout_us = (int64_t) self->p->timeout_ms * 1000;
    for (uint64_t i = 0; i <= self->mask; i++) {
        const s_attempt_t *a = &self->ring [i];
        if (a->token && now - a->sent_us > timeout_us) {
            ZB_ERROR (self, "publish p%u seq %" PRIu64 ": no answer within"
                     " %u ms", a->producer + 1, a->seq, self->p->timeout_ms);
            return -1;
        }
    }
    return 0;
}

/* Publishes for warm-up + duration, then until every attempt is
   answered. Returns 0 or -1. */
static int
s_load (zb_bus_t *self)
{
    self->from_us = zb_now_us () + (int64_t) self->p->warmup_s * 1000000;
    self->until_us = self->from_us + (int64_t) self->p->duration_s * 1000000;
    if (self->way->window)
        self->way->window (self->way->arg, self->from_us, self->until_us);
    int64_t scanned = zb_now_us ();
    while (!zb_interrupted && !self->errors) {
        int64_t now = zb_now_us ();
        if (!self->rss_taken && now >= self->from_us) {
            self->rss_taken = true;
            for (uint32_t i = 0; i < self->p->n_server_pids; i++) {
                self->rss_start [i] = zb_rss_bytes (self->p->server_pids [i]) >> 10;
                self->anon_start [i] = zb_anon_bytes (self->p->server_pids [i]) >> 10;
            }
        }
        if (s_fill (self, now)
            || (self->way->flush && self->way->flush (self->way->arg)))
            return -1;
        if (now >= self->until_us && self->inflight == 0 && self->n_retries == 0)
            return 0;
        if (self->way->wait (self->way->arg, self, S_WAIT_MS))
            return -1;
        now = zb_now_us ();
        if (now - scanned >= S_SCAN_US) {
            scanned = now;
            if (s_scan (self, now))
                return -1;
        }
    }
    return -1;
}

/* Consumers short of every acknowledged message, after waiting up to
   the timeout for them. */
static uint32_t
s_drain (zb_bus_t *self)
{
    int64_t deadline = zb_now_us () + (int64_t) self->p->timeout_ms * 1000;
    for (;;) {
        uint32_t short_ = 0;
        for (uint32_t c = 0; c < self->p->consumers; c++)
            short_ += self->consumers [c].received < self->acked_total;
        if (!short_ || zb_now_us () >= deadline || zb_interrupted
            || self->way->wait (self->way->arg, self, S_WAIT_MS))
            return short_;
    }
}


/* --------------------------------------------------------------------------
 * Report */

/* Writes a histogram's figures in ms as a JSON object, or text. */
static void
s_latencies (FILE *out, const zr_histogram_t *h, bool json)
{
    static const struct {
        const char *key;
        double p;                       /* < 0: mean; > 100: stddev */
    } figs [] = {{"min", 0}, {"p50", 50}, {"p90", 90}, {"p99", 99},
                 {"p999", 99.9}, {"max", 100}, {"avg", -1}, {"stddev", 101}};
    fputs (json ? "{" : "", out);
    for (size_t i = 0; i < sizeof figs / sizeof figs [0]; i++) {
        double us = figs [i].p < 0 ? zr_histogram_mean (h)
                  : figs [i].p > 100 ? zr_histogram_stddev (h)
                  : (double) zr_histogram_value_at_percentile (h, figs [i].p);
        if (!zr_histogram_count (h))
            fprintf (out, json ? "%s\"%s\":null" : "%s%s -", i ? (json ? "," : " ") : "",
                     figs [i].key);
        else
            fprintf (out, json ? "%s\"%s\":%.3f" : "%s%s %.3f",
                     i ? (json ? "," : " ") : "", figs [i].key, us / 1000.0);
    }
    fputs (json ? "}" : "\n", out);
}

/* Writes the churn's figures (bus.h), as JSON members or text. */
static void
s_churn_report (const zb_bus_params_t *p, const zb_bus_churn_t *c,
                double cpu_s, bool json)
{
    if (json)
        printf (",\"idle_subscribers\":%u,\"idle_open\":%u,"
                "\"idle_deliveries\":%" PRIu64 ",\"dropping_subscribers\":%u,"
                "\"drop_every_ms\":%u,\"dropping_subscribes\":%" PRIu64
                ",\"dropping_subscribed\":%" PRIu64 ",\"disconnections\":%"
                PRIu64 ",\"mid_stream\":%" PRIu64
                ",\"dropping_deliveries\":%" PRIu64 ",\"reading_subscribers\":%u"
                ",\"reading_deliveries\":%" PRIu64 ",\"subs_ended\":%" PRIu64
                ",\"bench_cpu_s\":%.2f", p->idle, c->idle_open,
                c->idle_deliveries, p->dropping, p->drop_every_ms,
                c->subscribes, c->subscribed, c->disconnections,
                c->mid_stream, c->deliveries, p->reading,
                c->reading_deliveries, c->ended, cpu_s);
    else
    if (p->idle || p->dropping || p->reading)
        printf ("  churn: %u idle subscribers (credit 0), %u open at the end,"
                " %" PRIu64 " deliveries to them; %u dropping subscribers: %"
                PRIu64 " subscribes (%" PRIu64 " OK), %" PRIu64 " disconnections"
                " (%" PRIu64 " mid-stream), %" PRIu64 " deliveries; %u reading"
                " subscribers: %" PRIu64 " deliveries; %" PRIu64 " subscriptions"
                " ended by a server\n", p->idle, c->idle_open,
                c->idle_deliveries, p->dropping, c->subscribes, c->subscribed,
                c->disconnections, c->mid_stream, c->deliveries, p->reading,
                c->reading_deliveries, c->ended);
}

/* Writes the servers' memory (--server-pids), KiB: VmRSS at the
   window's start and now, the peak now (VmHWM, or VmRSS if above: the
   kernel updates VmHWM lazily), RssAnon at the start and now; a JSON
   member or text. */
static void
s_memory_report (const zb_bus_t *self, bool json)
{
    const zb_bus_params_t *p = self->p;
    if (!p->n_server_pids) {
        fputs (json ? ",\"servers_rss_kib\":null" : "", stdout);
        return;
    }
    uint64_t kib [5][ZB_BUS_PIDS_MAX];
    for (uint32_t i = 0; i < p->n_server_pids; i++) {
        pid_t pid = p->server_pids [i];
        kib [0][i] = self->rss_start [i];
        kib [1][i] = zb_rss_bytes (pid) >> 10;
        kib [2][i] = zb_hwm_bytes (pid) >> 10;
        kib [2][i] = kib [2][i] > kib [1][i] ? kib [2][i] : kib [1][i];
        kib [3][i] = self->anon_start [i];
        kib [4][i] = zb_anon_bytes (pid) >> 10;
    }
    static const char *const keys [] = {"start", "end", "hwm_end",
                                        "anon_start", "anon_end"};
    printf (json ? ",\"servers_rss_kib\":{" : "  servers' memory (KiB):");
    for (int k = 0; k < 5; k++) {
        printf (json ? "%s\"%s\":[" : "%s%s", k && json ? "," : json ? "" : " ",
                keys [k]);
        for (uint32_t i = 0; i < p->n_server_pids; i++)
            printf ("%s%" PRIu64, i ? (json ? "," : "/") : (json ? "" : " "),
                    kib [k][i]);
        fputs (json ? "]" : "", stdout);
    }
    fputs (json ? "}" : "\n", stdout);
}

/* True (after a message) if the churn broke a rule: an idle subscriber
   got a delivery or lost its session. */
static bool
s_churn_broken (const zb_bus_params_t *p, const zb_bus_churn_t *c)
{
    if (c->idle_deliveries)
        fprintf (stderr, "zraft-bench: %" PRIu64 " deliveries to idle"
                 " subscribers (credit 0)\n", c->idle_deliveries);
    if (c->idle_open < p->idle)
        fprintf (stderr, "zraft-bench: %u of %u idle subscribers still open"
                 " at the end\n", c->idle_open, p->idle);
    return c->idle_deliveries || c->idle_open < p->idle;
}

static void
s_report (const zb_bus_t *self, const char *leader, uint32_t short_,
          const zb_bus_churn_t *churn, double cpu_s)
{
    const zb_bus_params_t *p = self->p;
    double secs = p->duration_s, ops = (double) self->acked / secs;
    uint64_t disorder = 0, missing = 0;
    for (uint32_t c = 0; c < p->consumers; c++) {
        disorder += self->consumers [c].disorder;
        missing += self->acked_total - self->consumers [c].received;
    }
    bool all = short_ == 0 && disorder == 0;
    double dlv = (double) self->delivered / secs;
    if (p->json) {
        printf ("{\"impl\":\"zraft\",\"mode\":\"bus\",\"way\":\"%s\","
                "\"inflight\":%u,\"producers\":%u,\"consumers\":%u,"
                "\"payload_size\":%u,\"credit\":%u,\"dedup\":%s,"
                "\"duration_s\":%.3f,\"acked\":%" PRIu64 ",\"acked_total\":%"
                PRIu64 ",\"ops_per_s\":%.1f,\"mb_per_s\":%.3f,\"latency_ms\":",
                p->inproc ? "inproc" : "remote", p->inflight, p->producers,
                p->consumers, p->payload_size, p->credit,
                p->dedup ? "true" : "false", secs, self->acked,
                self->acked_total, ops, ops * p->payload_size / 1e6);
        s_latencies (stdout, self->ack_hist, true);
        printf (",\"deliver_ms\":");
        s_latencies (stdout, self->dlv_hist, true);
        printf (",\"delivered\":%" PRIu64 ",\"deliver_per_s\":%.1f,"
                "\"consumer_per_s\":%.1f,\"retries\":%" PRIu64 ","
                "\"duplicates\":%" PRIu64 ",\"missing\":%" PRIu64 ","
                "\"disorder\":%" PRIu64 ",\"delivered_all\":%s,\"errors\":%"
                PRIu64 ",\"last_index\":%" PRIu64 ",\"leader\":\"%s\"",
                self->delivered, dlv, p->consumers ? dlv / p->consumers : 0,
                self->retried, self->duplicates, missing, disorder,
                all ? "true" : "false", self->errors, self->last_index, leader);
        s_churn_report (p, churn, cpu_s, true);
        s_memory_report (self, true);
        printf ("}\n");
    }
    else {
        printf ("zraft bus (%s): W=%u over %u producers to %s, %u B, %u"
                " consumers (credit %u)%s\n", p->inproc ? "in-process" : "remote",
                p->inflight, p->producers, leader, p->payload_size, p->consumers,
                p->credit, p->dedup ? "" : ", no dedup");
        printf ("  %" PRIu64 " acknowledged in %.0f s: %.1f publishes/s, %.3f"
                " MB/s\n  publish->ack ms: ", self->acked, secs, ops,
                ops * p->payload_size / 1e6);
        s_latencies (stdout, self->ack_hist, false);
        printf ("  publish->deliver ms: ");
        s_latencies (stdout, self->dlv_hist, false);
        printf ("  %" PRIu64 " deliveries in the window (%.1f/s per consumer);"
                " %" PRIu64 " messages in all, every consumer got them all"
                " in order: %s\n  retries %" PRIu64 ", duplicates %" PRIu64
                ", errors %" PRIu64 "\n", self->delivered,
                p->consumers ? dlv / p->consumers : 0, self->acked_total,
                all ? "yes" : "NO", self->retried, self->duplicates,
                self->errors);
        s_churn_report (p, churn, cpu_s, false);
        s_memory_report (self, false);
    }
    fflush (stdout);
}


/* --------------------------------------------------------------------------
 * Run */

static void
s_free (zb_bus_t *self)
{
    free (self->ring);
    free (self->retries);
    free (self->producers);
    free (self->consumers);
    free (self->payload);
    zr_histogram_destroy (&self->ack_hist);
    zr_histogram_destroy (&self->dlv_hist);
}

/* Allocates what the load needs. Returns 0 or -1. */
static int
s_init (zb_bus_t *self)
{
    const zb_bus_params_t *p = self->p;
    uint64_t size = 1;
    while (size < 2u * p->inflight)
        size <<= 1;
    self->mask = size - 1;
    self->ring = calloc (size, sizeof *self->ring);
    self->retries = calloc (p->inflight, sizeof *self->retries);
    self->producers = calloc (p->producers, sizeof *self->producers);
    self->consumers = calloc (p->consumers + 1u, sizeof *self->consumers);
    self->payload = malloc (p->payload_size);
    self->ack_hist = zr_histogram_new ();
    self->dlv_hist = zr_histogram_new ();
    if (!self->ring || !self->retries || !self->producers || !self->consumers
        || !self->payload || !self->ack_hist || !self->dlv_hist)
        return -1;
    memset (self->payload, 'x', p->payload_size);
    /* Ids of this run only: a cluster remembers a producer's seqs, and
       a seq below its window is refused as stale. */
    self->producer_base = (((uint64_t) getpid () << 40)
                           ^ (uint64_t) zb_now_us () << 16)
                          & ((UINT64_C (1) << 62) - 1);
    for (uint32_t i = 0; i < p->producers; i++) {
        s_producer_t *pr = &self->producers [i];
        pr->window = p->inflight / p->producers + (i < p->inflight % p->producers);
        snprintf (pr->subject, sizeof pr->subject, "bench.p%u", i + 1);
    }
    return 0;
}

/* User and system CPU seconds of this process so far. */
static double
s_cpu_s (void)
{
    struct rusage ru;
    if (getrusage (RUSAGE_SELF, &ru))
        return 0;
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
zb_bus_run (const zb_bus_params_t *params, const zb_bus_way_t *way,
            const char *leader)
{
    assert (params && way && leader);
    assert (params->producers >= 1 && params->producers <= params->inflight);
    assert (params->credit >= 2 && params->payload_size >= ZB_BUS_HEADER);
    zb_bus_t self = {.p = params, .way = way};
    double cpu0 = s_cpu_s ();
    if (s_init (&self)) {
        s_free (&self);
        fprintf (stderr, "zraft-bench: out of memory\n");
        return 1;
    }
    int rc = s_load (&self);
    uint32_t short_ = rc == 0 ? s_drain (&self) : params->consumers;
    if (zb_interrupted)
        rc = ZB_EX_INTERRUPTED;
    else {
        zb_bus_churn_t churn = {0};
        if (way->churn)
            way->churn (way->arg, &churn);
        if (rc == 0 || self.acked)
            s_report (&self, leader, short_, &churn, s_cpu_s () - cpu0);
        if (self.errors)
            fprintf (stderr, "zraft-bench: %" PRIu64 " publish(es) failed;"
                     " first: %s\n", self.errors, self.first_error);
        else
        if (short_)
            fprintf (stderr, "zraft-bench: %u consumer(s) short of the %"
                     PRIu64 " messages after %u ms\n", short_,
                     self.acked_total, params->timeout_ms);
        bool broken = s_churn_broken (params, &churn);
        rc = rc || self.errors || short_ || !self.acked || broken ? 1 : 0;
    }
    s_free (&self);
    return rc;
}


/* --------------------------------------------------------------------------
 * Flags */

void
zb_bus_usage (FILE *out)
{
    fprintf (out,
        "usage: zraft-bench --bus (--endpoints E1,E2,.. | --inproc) [flags]\n"
        "Loads the message bus: P producers with W publishes in flight, C"
        " consumers each\nreading every message (see bin/zraft-bench/bus.h).\n"
        "  --endpoints LIST   a running cluster's bus endpoints (zraft-node"
        " --listen-bus),\n"
        "                     comma separated, at most %u; one that"
        " answers in another\n"
        "                     protocol (a peer or client endpoint) is"
        " named and left out\n"
        "  --inproc           instead, a cluster started in this process"
        " (library API)\n"
        "  --nodes N          --inproc: servers, 1, 3, 5 or 7 (default 3)\n"
        "  --dir DIR          --inproc: parent of the data dirs (default: a"
        " fresh one)\n"
        "  --inflight W       publishes in flight, 1..%u (default 256)\n"
        "  --producers P      producers, 1..min(W, %u) (default min(W, 16))\n"
        "  --consumers C      consumers, 0..%u (default 0)\n"
        "  --payload-size B   bytes per message, %d..%u (default 128)\n"
        "  --credit K         deliveries in flight per consumer, 2..%u"
        " (default 1024)\n"
        "  --duration S       measured seconds, 1..3600 (default 5)\n"
        "  --warmup S         seconds loaded before measuring, 0..600"
        " (default 1)\n"
        "  --timeout MS       a publish's answer, and the consumers' catch-up"
        " at the end,\n"
        "                     at most this, 100..600000 (default 10000)\n"
        "  --no-dedup         publish with producer 0 (no deduplication)\n"
        "  --idle-subscribers N  --endpoints: N more sessions that subscribe"
        " with credit 0\n"
        "                     and never read, open for the whole run,"
        " 0..%u (default 0)\n"
        "  --dropping-subscribers N  --endpoints: N more sessions that read"
        " with --credit,\n"
        "                     then close their socket without UNSUBSCRIBE"
        " mid-stream, once\n"
        "                     each at times spread over the window, 0..%u"
        " (default 0)\n"
        "  --drop-every MS    instead, each reconnects at once and drops again"
        " MS later,\n"
        "                     over and over, 0 (once) or 10..%u (default 0)\n"
        "  --reading-subscribers N  --endpoints: N more sessions that read"
        " like those but\n"
        "                     never drop, 0..%u (default 0)\n"
        "  --server-pids P1,..  --endpoints: the servers' processes on this"
        " host (at most\n"
        "                     %u): VmRSS and RssAnon at the window's start and"
        " the end, VmHWM\n"
        "                     (peak) at the end\n"
        "  --json             one JSON object: impl mode way inflight producers"
        " consumers\n"
        "                     payload_size credit dedup duration_s acked"
        " acked_total\n"
        "                     ops_per_s mb_per_s latency_ms{min p50 p90 p99"
        " p999 max avg\n"
        "                     stddev} deliver_ms{...} delivered deliver_per_s"
        " consumer_per_s\n"
        "                     retries duplicates missing disorder delivered_all"
        " errors\n"
        "                     last_index leader idle_subscribers idle_open"
        " idle_deliveries\n"
        "                     dropping_subscribers drop_every_ms"
        " dropping_subscribes\n"
        "                     dropping_subscribed disconnections"
        " mid_stream\n"
        "                     dropping_deliveries reading_subscribers"
        " reading_deliveries\n"
        "                     subs_ended bench_cpu_s\n"
        "                     servers_rss_kib{start end hwm_end anon_start"
        " anon_end}\n"
        "                     (null without --server-pids)\n"
        "Exit: 0 ok, 1 no leader, a publish refused or unanswered, or a"
        " consumer short,\n64 bad flag, 130 interrupted.\n",
        ZB_KV_ENDPOINTS_MAX, ZB_BUS_INFLIGHT_MAX, ZB_BUS_ROLES_MAX,
        ZB_BUS_ROLES_MAX, ZB_BUS_HEADER, ZRAFT_ENTRY_BYTES_MAX, ZRAFT_CREDIT_MAX,
        ZB_BUS_IDLE_MAX, ZB_BUS_ROLES_MAX, ZB_BUS_DROP_EVERY_MAX,
        ZB_BUS_ROLES_MAX, ZB_BUS_PIDS_MAX);
}

bool
zb_bus_wanted (int argc, char *argv [])
{
    return zb_argv_has (argc, argv, "--bus");
}

/* Parses --server-pids: 1..ZB_BUS_PIDS_MAX process ids, comma
   separated. Returns 0 or -1 after a message. */
static int
s_pids_parse (zb_bus_params_t *o, const char *text)
{
    o->n_server_pids = 0;
    const char *at = text ? text : "";
    bool ok = *at != 0;
    while (ok && *at) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = *at >= '1' && *at <= '9' ? strtoull (at, &end, 10) : 0;
        ok = v > 0 && errno == 0 && v <= INT32_MAX && (*end == 0 || *end == ',')
             && o->n_server_pids < ZB_BUS_PIDS_MAX;
        if (ok) {
            o->server_pids [o->n_server_pids++] = (pid_t) v;
            at = *end ? end + 1 : end;
            ok = *end == 0 || *at != 0;
        }
    }
    if (!ok)
        fprintf (stderr, "zraft-bench: --server-pids takes 1..%u process ids,"
                 " comma separated (got '%s')\n", ZB_BUS_PIDS_MAX,
                 text ? text : "nothing");
    return ok ? 0 : -1;
}

/* Sets flag name from value. Returns 0, 1 if name is no bus flag, or -1
   after a message. */
static int
s_opts_set (zb_bus_params_t *o, char **text, const char *name,
            const char *value)
{
    if (streq (name, "--endpoints"))
        return zb_kv_endpoints_parse (value, text, o->endpoints, &o->n_endpoints);
    if (streq (name, "--dir")) {
        o->dir = value;
        if (!value || !*value || strlen (value) >= ZB_DIR_MAX)
            fprintf (stderr, "zraft-bench: --dir needs a path shorter than"
                     " %d characters\n", ZB_DIR_MAX);
        return value && *value && strlen (value) < ZB_DIR_MAX ? 0 : -1;
    }
    if (streq (name, "--server-pids"))
        return s_pids_parse (o, value);
    static const struct {
        const char *name;
        size_t offset;
        uint32_t min, max;
    } flags [] = {
        {"--nodes", offsetof (zb_bus_params_t, nodes), 1, 7},
        {"--inflight", offsetof (zb_bus_params_t, inflight), 1, ZB_BUS_INFLIGHT_MAX},
        {"--producers", offsetof (zb_bus_params_t, producers), 1, ZB_BUS_ROLES_MAX},
        {"--consumers", offsetof (zb_bus_params_t, consumers), 0, ZB_BUS_ROLES_MAX},
        {"--payload-size", offsetof (zb_bus_params_t, payload_size),
         ZB_BUS_HEADER, ZRAFT_ENTRY_BYTES_MAX},
        {"--credit", offsetof (zb_bus_params_t, credit), 2, ZRAFT_CREDIT_MAX},
        {"--duration", offsetof (zb_bus_params_t, duration_s), 1, 3600},
        {"--warmup", offsetof (zb_bus_params_t, warmup_s), 0, 600},
        {"--timeout", offsetof (zb_bus_params_t, timeout_ms), 100, 600000},
        {"--idle-subscribers", offsetof (zb_bus_params_t, idle), 0,
         ZB_BUS_IDLE_MAX},
        {"--dropping-subscribers", offsetof (zb_bus_params_t, dropping), 0,
         ZB_BUS_ROLES_MAX},
        {"--drop-every", offsetof (zb_bus_params_t, drop_every_ms), 0,
         ZB_BUS_DROP_EVERY_MAX},
        {"--reading-subscribers", offsetof (zb_bus_params_t, reading), 0,
         ZB_BUS_ROLES_MAX}};
    for (size_t f = 0; f < sizeof flags / sizeof flags [0]; f++)
        if (streq (name, flags [f].name))
            return zb_kv_uint_parse (name, value, flags [f].min, flags [f].max,
                                     (uint32_t *) ((char *) o + flags [f].offset));
    return 1;
}

/* The checks across flags. Returns 0 or -1 after a message. */
static int
s_opts_check (zb_bus_params_t *o)
{
    if (!o->n_endpoints == !o->inproc) {
        fprintf (stderr, "zraft-bench: --bus needs --endpoints or --inproc"
                 " (one of them)\n");
        return -1;
    }
    if (o->inproc && (o->idle || o->dropping || o->reading
                      || o->n_server_pids)) {
        fprintf (stderr, "zraft-bench: --%s does not apply with --inproc\n",
                 o->idle ? "idle-subscribers" : o->dropping
                 ? "dropping-subscribers" : o->reading ? "reading-subscribers"
                 : "server-pids");
        return -1;
    }
    if (o->drop_every_ms && (o->drop_every_ms < 10 || !o->dropping)) {
        fprintf (stderr, "zraft-bench: --drop-every must be 0 or 10..%u, with"
                 " --dropping-subscribers\n", ZB_BUS_DROP_EVERY_MAX);
        return -1;
    }
    if (o->inproc && o->nodes % 2 == 0) {
        fprintf (stderr, "zraft-bench: --nodes must be 1, 3, 5 or 7\n");
        return -1;
    }
    if (!o->producers)
        o->producers = o->inflight < 16 ? o->inflight : 16;
    if (o->producers > o->inflight) {
        fprintf (stderr, "zraft-bench: --producers must be in 1..%u (at most"
                 " --inflight)\n", o->inflight);
        return -1;
    }
    return 0;
}

/* Parses argv. Returns 0 to run, 1 after --help, -1 after a message. */
static int
s_opts_parse (zb_bus_params_t *o, char **text, int argc, char *argv [])
{
    *o = (zb_bus_params_t) {.nodes = 3, .inflight = 256, .payload_size = 128,
                            .credit = 1024, .duration_s = 5, .warmup_s = 1,
                            .timeout_ms = 10000, .dedup = true};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        char name [64];
        const char *eq = zb_kv_flag_name (arg, name, sizeof name);
        if (streq (name, "--help") || streq (name, "-h"))
            return 1;
        if (!eq && (streq (name, "--bus") || streq (name, "--json")
                    || streq (name, "--inproc") || streq (name, "--no-dedup"))) {
            o->json |= streq (name, "--json");
            o->inproc |= streq (name, "--inproc");
            o->dedup &= !streq (name, "--no-dedup");
            continue;
        }
        const char *value = eq ? eq : i + 1 < argc ? argv [++i] : NULL;
        int rc = s_opts_set (o, text, name, value);
        if (rc > 0)
            fprintf (stderr, "zraft-bench: '%s' is no --bus flag (see"
                     " zraft-bench --bus --help)\n", arg);
        if (rc)
            return -1;
    }
    return s_opts_check (o);
}

int
zb_bus_main (int argc, char *argv [])
{
    zb_bus_params_t o;
    char *text = NULL;
    int rc = s_opts_parse (&o, &text, argc, argv);
    if (rc) {
        free (text);
        if (rc > 0)
            zb_bus_usage (stdout);
        return rc > 0 ? 0 : S_EX_USAGE;
    }
    zb_signals_block (true);            /* ZeroMQ's and the nodes' threads:
                                           no signals (buslocal unblocks) */
    zsys_init ();
    if (!o.inproc)
        zb_signals_block (false);
    zsys_handler_set (zb_signal_cb);
    zsys_set_logident ("zraft-bench");
    zsys_set_logstream (stderr);
    rc = o.inproc ? zb_buslocal_main (&o) : zb_busremote_main (&o);
    free (text);
    if (rc == ZB_EX_INTERRUPTED)
        fprintf (stderr, "zraft-bench: interrupted\n");
    return rc;
}
