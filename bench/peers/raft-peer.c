/*  raft-peer - one server of a canonical/raft (0.15) cluster, used as the
    reference peer of zraft's benchmark comparison (bench/compare.sh).

    One process per node. Every node runs libraft's libuv backend (TCP
    transport, segment files with fsync on, as shipped) and a trivial FSM
    that only counts. The node that wins the election becomes the load
    generator: it keeps --inflight raft_apply requests of --entry-size bytes
    pending (one request per slot; each completion records the latency from
    its submission and submits the next), ignores the first --warmup seconds,
    measures for --duration seconds and prints ONE JSON line on stdout with
    the figures, then shuts down and exits 0. Followers run until SIGTERM or
    SIGINT, print one JSON line describing themselves, and exit 0.

    Exit: 0 ok, 1 start-up failure, 3 leadership lost or proposals failed
    while measuring, 64 bad flag, 130 interrupted while measuring.

    --snapshots leaves libraft's default snapshot threshold and trailing
    (1024 and 2048 in 0.15); without it snapshots never happen in a run.

    Usage:
      raft-peer --id 1 --dir /tmp/x/n1 --cluster 127.0.0.1:9001,9002,9003 \
                --inflight 256 --entry-size 128 --duration 10 --warmup 1
*/

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#define P_MAX_NODES     7
#define P_ADDR_MAX      64
#define P_TICK_MS       5               /* state poll / phase timer */
#define P_DRAIN_NS      2000000000ull   /* wait for pending proposals at end */
#define P_SAMPLES_MAX   (1u << 22)      /* latency samples kept (32 MiB) */

#define EX_OK           0
#define EX_FAIL         1
#define EX_LOST         3
#define EX_USAGE        64
#define EX_INTERRUPTED  130

typedef struct {
    unsigned id;                        /* 1-based, index into addresses */
    const char *dir;
    unsigned nodes;
    char addresses [P_MAX_NODES][P_ADDR_MAX];
    unsigned inflight;
    unsigned entry_size;
    double duration_s;
    double warmup_s;
    unsigned heartbeat_ms;
    unsigned election_ms;
    unsigned connect_retry_ms;
    bool snapshots;                     /* --snapshots: libraft's defaults */
} opts_t;

enum {
    PH_WAIT,                            /* not leader (yet) */
    PH_WARMUP,                          /* leader, load on, not counted */
    PH_MEASURE,                         /* leader, load on, counted */
    PH_DRAIN,                           /* reported, waiting for pending */
    PH_CLOSING
};

struct peer;

typedef struct {
    struct raft_apply req;              /* req.data points back here */
    struct peer *peer;
    uint64_t submitted_ns;
} slot_t;

typedef struct peer {
    opts_t opts;
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft raft;
    uv_timer_t tick;
    uv_signal_t sigterm, sigint;
    bool raft_open;                     /* raft_init succeeded */

    uint64_t fsm_applied;               /* commands seen by the FSM */
    uint64_t fsm_snapshots;             /* snapshots the FSM produced */
    uint64_t fsm_restores;              /* snapshots the FSM restored */
    slot_t *slots;
    unsigned outstanding;               /* raft_apply requests pending */

    int phase;
    bool measured;                      /* measured once; never again */
    uint64_t t_leader, t_start, t_end, t_drain_end;
    uint64_t entries;                   /* committed inside the window */
    uint64_t lost;                      /* proposals failed while loaded */
    unsigned leader_changes;
    uint64_t *samples;                  /* latency in ns, window only */
    size_t n_samples, cap_samples;
    uint64_t samples_dropped;
    struct rusage ru_start;
    /* A follower times its CPU over the same window: warm-up and duration
       from the first command it applies. */
    uint64_t f_t_load;                  /* first command seen, 0 = not yet */
    int f_window;                       /* 0 before, 1 in, 2 done */
    struct rusage f_ru_start, f_ru_end;
    int exit_code;
} peer_t;

static void s_shutdown (peer_t *self, int code);

/* --- options ----------------------------------------------------------- */

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: raft-peer --id I --dir DIR --cluster HOST:P1,P2,P3 [flags]\n"
        "One server of a canonical/raft cluster (libuv backend, fsync on).\n"
        "The elected leader drives the load and prints one JSON line.\n"
        "  --id I             this server, 1..N (position in --cluster)\n"
        "  --dir DIR          data directory (created; bootstrapped if new)\n"
        "  --cluster LIST     comma-separated HOST:PORT; a bare PORT reuses\n"
        "                     the previous host (max %d servers)\n"
        "  --inflight W       proposals kept pending, 1..65536 (default 64)\n"
        "  --entry-size B     bytes per proposal, 1..1048576 (default 128)\n"
        "  --duration S       measured seconds (default 5)\n"
        "  --warmup S         seconds of load before measuring (default 1)\n"
        "  --heartbeat-ms MS  heartbeat timeout (default 50)\n"
        "  --election-ms MS   election timeout (default 500)\n"
        "  --snapshots        take snapshots at libraft's default threshold"
        " and\n"
        "                     trailing (default: off, both set to UINT_MAX)\n"
        "  --help             print this and exit\n"
        "Exit: 0 ok, 1 failure, 3 leadership lost while measuring,\n"
        "64 bad flag, 130 interrupted while measuring.\n", P_MAX_NODES);
}

static int
s_parse_uint (const char *name, const char *text, unsigned long lo,
              unsigned long hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul (text, &end, 10);
    if (errno || end == text || *end || text [0] == '-' || v < lo || v > hi) {
        fprintf (stderr, "raft-peer: %s wants an integer in %lu..%lu, got '%s'\n",
                 name, lo, hi, text);
        return -1;
    }
    *out = (unsigned) v;
    return 0;
}

static int
s_parse_seconds (const char *name, const char *text, double lo, double hi,
                 double *out)
{
    char *end;
    errno = 0;
    double v = strtod (text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi)) {
        fprintf (stderr, "raft-peer: %s wants seconds in %g..%g, got '%s'\n",
                 name, lo, hi, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int
s_parse_cluster (opts_t *o, const char *text)
{
    char host [P_ADDR_MAX] = "";
    const char *p = text;
    o->nodes = 0;
    while (*p) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        char item [P_ADDR_MAX];
        if (len == 0 || len >= sizeof item || o->nodes == P_MAX_NODES)
            goto bad;
        memcpy (item, p, len);
        item [len] = 0;
        const char *port = item;
        char *colon = strrchr (item, ':');
        if (colon) {
            *colon = 0;
            if (!*item)
                goto bad;
            snprintf (host, sizeof host, "%s", item);
            port = colon + 1;
        }
        unsigned portno;
        if (!*host || s_parse_uint ("--cluster port", port, 1, 65535, &portno))
            goto bad;
        int n = snprintf (o->addresses [o->nodes], P_ADDR_MAX, "%s:%u",
                          host, portno);
        if (n < 0 || n >= P_ADDR_MAX)
            goto bad;
        o->nodes++;
        p += len + (comma ? 1 : 0);
        if (comma && !*p)
            goto bad;
    }
    if (o->nodes == 0)
        goto bad;
    return 0;
bad:
    fprintf (stderr, "raft-peer: bad --cluster '%s' (HOST:PORT,PORT,...)\n",
             text);
    return -1;
}

/* Returns 0 ok, 1 help, -1 bad flag. */
static int
s_opts_parse (opts_t *o, int argc, char *argv [])
{
    memset (o, 0, sizeof *o);
    o->inflight = 64;
    o->entry_size = 128;
    o->duration_s = 5;
    o->warmup_s = 1;
    o->heartbeat_ms = 50;
    o->election_ms = 500;
    o->connect_retry_ms = 100;
    bool have_cluster = false;
    for (int i = 1; i < argc; i++) {
        const char *name = argv [i];
        if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0)
            return 1;
        if (strcmp (name, "--snapshots") == 0) {
            o->snapshots = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf (stderr, "raft-peer: unknown flag or missing value: %s\n",
                     name);
            return -1;
        }
        const char *v = argv [++i];
        int rc;
        if (strcmp (name, "--id") == 0)
            rc = s_parse_uint (name, v, 1, P_MAX_NODES, &o->id);
        else if (strcmp (name, "--dir") == 0) {
            o->dir = v;
            rc = 0;
        }
        else if (strcmp (name, "--cluster") == 0) {
            rc = s_parse_cluster (o, v);
            have_cluster = true;
        }
        else if (strcmp (name, "--inflight") == 0)
            rc = s_parse_uint (name, v, 1, 65536, &o->inflight);
        else if (strcmp (name, "--entry-size") == 0)
            rc = s_parse_uint (name, v, 1, 1048576, &o->entry_size);
        else if (strcmp (name, "--duration") == 0)
            rc = s_parse_seconds (name, v, 0.1, 3600, &o->duration_s);
        else if (strcmp (name, "--warmup") == 0)
            rc = s_parse_seconds (name, v, 0, 600, &o->warmup_s);
        else if (strcmp (name, "--heartbeat-ms") == 0)
            rc = s_parse_uint (name, v, 1, 60000, &o->heartbeat_ms);
        else if (strcmp (name, "--election-ms") == 0)
            rc = s_parse_uint (name, v, 2, 600000, &o->election_ms);
        else {
            fprintf (stderr, "raft-peer: unknown flag: %s\n", name);
            return -1;
        }
        if (rc)
            return -1;
    }
    if (!o->id || !o->dir || !have_cluster) {
        fprintf (stderr, "raft-peer: --id, --dir and --cluster are required\n");
        return -1;
    }
    if (o->id > o->nodes) {
        fprintf (stderr, "raft-peer: --id %u but --cluster has %u servers\n",
                 o->id, o->nodes);
        return -1;
    }
    if (o->heartbeat_ms >= o->election_ms) {
        fprintf (stderr, "raft-peer: --heartbeat-ms must be < --election-ms\n");
        return -1;
    }
    return 0;
}

/* --- trivial FSM ------------------------------------------------------- */

static int
s_fsm_apply (struct raft_fsm *fsm, const struct raft_buffer *buf,
             void **result)
{
    (void) buf;
    peer_t *self = fsm->data;
    self->fsm_applied++;
    *result = NULL;
    return 0;
}

/* The state is the counter: its snapshot is 8 bytes, so with
   --snapshots the cost measured is libraft's (snapshot files, log
   compaction, InstallSnapshot), not the application's. Without it they
   are configured never to happen (see s_start). */
static int
s_fsm_snapshot (struct raft_fsm *fsm, struct raft_buffer *bufs [],
                unsigned *n_bufs)
{
    peer_t *self = fsm->data;
    struct raft_buffer *b = raft_malloc (sizeof *b);
    if (!b)
        return RAFT_NOMEM;
    b->len = sizeof (uint64_t);
    b->base = raft_malloc (b->len);
    if (!b->base) {
        raft_free (b);
        return RAFT_NOMEM;
    }
    memcpy (b->base, &self->fsm_applied, b->len);
    self->fsm_snapshots++;
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

static int
s_fsm_restore (struct raft_fsm *fsm, struct raft_buffer *buf)
{
    peer_t *self = fsm->data;
    if (buf->len != sizeof (uint64_t))
        return RAFT_MALFORMED;
    memcpy (&self->fsm_applied, buf->base, sizeof (uint64_t));
    raft_free (buf->base);
    self->fsm_restores++;
    return 0;
}

/* --- figures ----------------------------------------------------------- */

static double
s_cpu_seconds (const struct rusage *ru)
{
    return (double) ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6
         + (double) ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/* Nearest rank, on a sorted array; in milliseconds. */
static double
s_percentile_ms (const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t) ceil (p / 100.0 * (double) n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double) sorted [rank - 1] / 1e6;
}

static void
s_sample (peer_t *self, uint64_t ns)
{
    if (self->n_samples == self->cap_samples) {
        size_t cap = self->cap_samples ? self->cap_samples * 2 : 65536;
        if (cap > P_SAMPLES_MAX)
            cap = P_SAMPLES_MAX;
        uint64_t *grown = cap > self->cap_samples
                        ? realloc (self->samples, cap * sizeof *grown) : NULL;
        if (!grown) {
            self->samples_dropped++;
            return;
        }
        self->samples = grown;
        self->cap_samples = cap;
    }
    self->samples [self->n_samples++] = ns;
}

static void
s_report_leader (peer_t *self)
{
    const opts_t *o = &self->opts;
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    double seconds = (double) (self->t_end - self->t_start) / 1e9;
    double eps = seconds > 0 ? (double) self->entries / seconds : 0;
    size_t n = self->n_samples;
    printf ("{\"impl\":\"canonical-raft\",\"version\":\"0.15\",\"nodes\":%u,"
            "\"procs\":true,\"fsync\":true,\"role\":\"leader\",\"id\":%u,\"inflight\":%u,"
            "\"entry_size\":%u,\"heartbeat_ms\":%u,\"election_ms\":%u,"
            "\"warmup_s\":%.3f,\"duration_s\":%.3f,\"entries\":%" PRIu64 ","
            "\"entries_per_s\":%.1f,\"mb_per_s\":%.3f,",
            o->nodes, o->id, o->inflight, o->entry_size, o->heartbeat_ms,
            o->election_ms, o->warmup_s, seconds, self->entries, eps,
            eps * o->entry_size / 1e6);
    if (n) {
        qsort (self->samples, n, sizeof *self->samples, s_cmp_u64);
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += (double) self->samples [i];
        printf ("\"latency_ms\":{\"samples\":%zu,\"dropped\":%" PRIu64 ","
                "\"min\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
                "\"p999\":%.3f,\"max\":%.3f,\"avg\":%.3f},",
                n, self->samples_dropped, (double) self->samples [0] / 1e6,
                s_percentile_ms (self->samples, n, 50),
                s_percentile_ms (self->samples, n, 90),
                s_percentile_ms (self->samples, n, 99),
                s_percentile_ms (self->samples, n, 99.9),
                (double) self->samples [n - 1] / 1e6, sum / (double) n / 1e6);
    }
    else
        printf ("\"latency_ms\":null,");
    printf ("\"cpu_s\":%.3f,\"rss_peak_mib\":%.1f,\"leader_changes\":%u,"
            "\"lost\":%" PRIu64 ",\"snapshots_on\":%s,"
            "\"snapshot_threshold\":%u,\"snapshot_trailing\":%u,"
            "\"snapshots\":%" PRIu64 ",\"restores\":%" PRIu64 "}\n",
            s_cpu_seconds (&ru) - s_cpu_seconds (&self->ru_start),
            (double) ru.ru_maxrss / 1024.0, self->leader_changes, self->lost,
            o->snapshots ? "true" : "false", self->raft.snapshot.threshold,
            self->raft.snapshot.trailing, self->fsm_snapshots,
            self->fsm_restores);
    fflush (stdout);
}

static void
s_report_follower (peer_t *self)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    char cpu [32] = "null";
    if (self->f_window == 2)
        snprintf (cpu, sizeof cpu, "%.3f", s_cpu_seconds (&self->f_ru_end)
                                         - s_cpu_seconds (&self->f_ru_start));
    printf ("{\"impl\":\"canonical-raft\",\"role\":\"follower\",\"id\":%u,"
            "\"fsm_applied\":%" PRIu64 ",\"cpu_s\":%s,\"cpu_total_s\":%.3f,"
            "\"rss_peak_mib\":%.1f,\"snapshots\":%" PRIu64 ","
            "\"restores\":%" PRIu64 "}\n", self->opts.id, self->fsm_applied,
            cpu, s_cpu_seconds (&ru), (double) ru.ru_maxrss / 1024.0,
            self->fsm_snapshots, self->fsm_restores);
    fflush (stdout);
}

/* Follower side of the window, approximated from the first command. */
static void
s_follower_window (peer_t *self, uint64_t now)
{
    const opts_t *o = &self->opts;
    uint64_t warmup = (uint64_t) (o->warmup_s * 1e9);
    uint64_t duration = (uint64_t) (o->duration_s * 1e9);
    if (self->f_t_load == 0) {
        if (self->fsm_applied > 0)
            self->f_t_load = now;
    }
    else
    if (self->f_window == 0 && now - self->f_t_load >= warmup) {
        getrusage (RUSAGE_SELF, &self->f_ru_start);
        self->f_window = 1;
    }
    else
    if (self->f_window == 1 && now - self->f_t_load >= warmup + duration) {
        getrusage (RUSAGE_SELF, &self->f_ru_end);
        self->f_window = 2;
    }
}

/* --- load -------------------------------------------------------------- */

static void s_apply_cb (struct raft_apply *req, int status, void *result);

static int
s_submit (peer_t *self, slot_t *slot)
{
    struct raft_buffer buf;
    buf.len = self->opts.entry_size;
    buf.base = raft_malloc (buf.len);   /* ownership passes to libraft */
    if (!buf.base) {
        fprintf (stderr, "raft-peer: out of memory\n");
        return RAFT_NOMEM;
    }
    memset (buf.base, 'x', buf.len);
    slot->req.data = slot;
    slot->submitted_ns = uv_hrtime ();
    self->outstanding++;
    int rc = raft_apply (&self->raft, &slot->req, &buf, 1, s_apply_cb);
    if (rc) {
        self->outstanding--;
        raft_free (buf.base);           /* not taken on failure */
        fprintf (stderr, "raft-peer: n%u raft_apply: %s\n", self->opts.id,
                 raft_strerror (rc));
    }
    return rc;
}

static void
s_apply_cb (struct raft_apply *req, int status, void *result)
{
    (void) result;
    slot_t *slot = req->data;
    peer_t *self = slot->peer;
    self->outstanding--;
    bool loaded = self->phase == PH_WARMUP || self->phase == PH_MEASURE;
    if (status != 0) {
        if (loaded) {
            self->lost++;
            fprintf (stderr, "raft-peer: n%u proposal failed: %s\n",
                     self->opts.id, raft_strerror (status));
        }
        return;                         /* the tick sees lost leadership */
    }
    if (self->phase == PH_MEASURE) {
        self->entries++;
        s_sample (self, uv_hrtime () - slot->submitted_ns);
    }
    if (loaded && s_submit (self, slot) != 0)
        self->lost++;
}

static void
s_load_start (peer_t *self)
{
    self->phase = PH_WARMUP;
    self->measured = true;
    self->t_leader = uv_hrtime ();
    fprintf (stderr, "raft-peer: n%u is leader, %u proposals in flight\n",
             self->opts.id, self->opts.inflight);
    for (unsigned i = 0; i < self->opts.inflight; i++)
        if (s_submit (self, &self->slots [i]) != 0) {
            s_shutdown (self, EX_LOST);
            return;
        }
}

static void
s_tick_cb (uv_timer_t *timer)
{
    peer_t *self = timer->data;
    uint64_t now = uv_hrtime ();
    bool leader = raft_state (&self->raft) == RAFT_LEADER;
    switch (self->phase) {
    case PH_WAIT:
        if (leader && !self->measured)
            s_load_start (self);
        else
            s_follower_window (self, now);
        break;
    case PH_WARMUP:
    case PH_MEASURE:
        if (!leader || self->lost) {
            if (!leader)
                self->leader_changes++;
            fprintf (stderr, "raft-peer: n%u %s while %s; no figures\n",
                     self->opts.id, leader ? "proposals failed"
                                           : "lost leadership",
                     self->phase == PH_WARMUP ? "warming up" : "measuring");
            s_shutdown (self, EX_LOST);
            break;
        }
        if (self->phase == PH_WARMUP
        &&  now - self->t_leader >= (uint64_t) (self->opts.warmup_s * 1e9)) {
            self->phase = PH_MEASURE;
            self->t_start = now;
            getrusage (RUSAGE_SELF, &self->ru_start);
        }
        else
        if (self->phase == PH_MEASURE
        &&  now - self->t_start >= (uint64_t) (self->opts.duration_s * 1e9)) {
            self->t_end = now;
            self->phase = PH_DRAIN;
            self->t_drain_end = now + P_DRAIN_NS;
            s_report_leader (self);
        }
        break;
    case PH_DRAIN:
        if (self->outstanding == 0 || now >= self->t_drain_end)
            s_shutdown (self, EX_OK);
        break;
    default:
        break;
    }
}

/* --- life cycle -------------------------------------------------------- */

static void
s_handle_closed (uv_handle_t *handle)
{
    (void) handle;
}

static void
s_raft_closed (struct raft *raft)
{
    peer_t *self = raft->data;
    raft_uv_close (&self->io);
    raft_uv_tcp_close (&self->transport);
}

static void
s_shutdown (peer_t *self, int code)
{
    if (self->phase == PH_CLOSING)
        return;
    bool was_leader = self->measured;
    self->phase = PH_CLOSING;
    self->exit_code = code;
    if (!was_leader && code == EX_OK)
        s_report_follower (self);
    uv_timer_stop (&self->tick);
    uv_close ((uv_handle_t *) &self->tick, s_handle_closed);
    uv_close ((uv_handle_t *) &self->sigterm, s_handle_closed);
    uv_close ((uv_handle_t *) &self->sigint, s_handle_closed);
    if (self->raft_open)
        raft_close (&self->raft, s_raft_closed);
}

static void
s_signal_cb (uv_signal_t *handle, int signum)
{
    peer_t *self = handle->data;
    bool loaded = self->phase == PH_WARMUP || self->phase == PH_MEASURE;
    fprintf (stderr, "raft-peer: n%u got signal %d, stopping\n",
             self->opts.id, signum);
    s_shutdown (self, loaded ? EX_INTERRUPTED : EX_OK);
}

static int
s_mkdirs (const char *path)
{
    char buf [PATH_MAX];
    if (snprintf (buf, sizeof buf, "%s", path) >= (int) sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (buf, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir (buf, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

/* Brings the node up inside the loop. Returns 0 or EX_FAIL. */
static int
s_start (peer_t *self)
{
    const opts_t *o = &self->opts;
    const char *address = o->addresses [o->id - 1];
    int rc;
    if (s_mkdirs (o->dir)) {
        fprintf (stderr, "raft-peer: cannot create %s: %s\n", o->dir,
                 strerror (errno));
        return EX_FAIL;
    }
    if ((rc = raft_uv_tcp_init (&self->transport, &self->loop)) != 0) {
        fprintf (stderr, "raft-peer: raft_uv_tcp_init: %s\n",
                 raft_strerror (rc));
        return EX_FAIL;
    }
    if ((rc = raft_uv_init (&self->io, &self->loop, o->dir,
                            &self->transport)) != 0) {
        fprintf (stderr, "raft-peer: raft_uv_init %s: %s\n", o->dir,
                 self->io.errmsg [0] ? self->io.errmsg : raft_strerror (rc));
        raft_uv_tcp_close (&self->transport);
        return EX_FAIL;
    }
    raft_uv_set_connect_retry_delay (&self->io, o->connect_retry_ms);

    self->fsm.version = 1;
    self->fsm.data = self;
    self->fsm.apply = s_fsm_apply;
    self->fsm.snapshot = s_fsm_snapshot;
    self->fsm.restore = s_fsm_restore;

    if ((rc = raft_init (&self->raft, &self->io, &self->fsm, o->id,
                         address)) != 0) {
        fprintf (stderr, "raft-peer: raft_init: %s\n", raft_errmsg (&self->raft));
        raft_uv_close (&self->io);
        raft_uv_tcp_close (&self->transport);
        return EX_FAIL;
    }
    self->raft_open = true;
    self->raft.data = self;
    raft_set_heartbeat_timeout (&self->raft, o->heartbeat_ms);
    raft_set_election_timeout (&self->raft, o->election_ms);
    /* Without --snapshots, snapshots are effectively off: never reached
       in a run. With it, libraft keeps its defaults (0.15: a snapshot
       every 1024 entries, 2048 kept behind it). */
    if (!o->snapshots) {
        raft_set_snapshot_threshold (&self->raft, UINT_MAX);
        raft_set_snapshot_trailing (&self->raft, UINT_MAX);
    }

    struct raft_configuration conf;
    raft_configuration_init (&conf);
    for (unsigned i = 0; i < o->nodes; i++)
        if ((rc = raft_configuration_add (&conf, i + 1, o->addresses [i],
                                          RAFT_VOTER)) != 0) {
            fprintf (stderr, "raft-peer: raft_configuration_add: %s\n",
                     raft_strerror (rc));
            raft_configuration_close (&conf);
            return EX_FAIL;
        }
    rc = raft_bootstrap (&self->raft, &conf);
    raft_configuration_close (&conf);
    if (rc != 0 && rc != RAFT_CANTBOOTSTRAP) {
        fprintf (stderr, "raft-peer: raft_bootstrap: %s\n",
                 raft_errmsg (&self->raft));
        return EX_FAIL;
    }
    if (rc == RAFT_CANTBOOTSTRAP)
        fprintf (stderr, "raft-peer: n%u: %s not fresh, restarting from it\n",
                 o->id, o->dir);
    if ((rc = raft_start (&self->raft)) != 0) {
        fprintf (stderr, "raft-peer: raft_start: %s\n",
                 raft_errmsg (&self->raft));
        return EX_FAIL;
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    static peer_t peer;                 /* zeroed; large-ish */
    peer_t *self = &peer;
    int rc = s_opts_parse (&self->opts, argc, argv);
    if (rc == 1) {
        s_usage (stdout);
        return EX_OK;
    }
    if (rc != 0) {
        s_usage (stderr);
        return EX_USAGE;
    }
    signal (SIGPIPE, SIG_IGN);
    self->slots = calloc (self->opts.inflight, sizeof *self->slots);
    if (!self->slots) {
        fprintf (stderr, "raft-peer: out of memory\n");
        return EX_FAIL;
    }
    for (unsigned i = 0; i < self->opts.inflight; i++)
        self->slots [i].peer = self;
    if ((rc = uv_loop_init (&self->loop)) != 0) {
        fprintf (stderr, "raft-peer: uv_loop_init: %s\n", uv_strerror (rc));
        return EX_FAIL;
    }
    uv_timer_init (&self->loop, &self->tick);
    self->tick.data = self;
    uv_signal_init (&self->loop, &self->sigterm);
    uv_signal_init (&self->loop, &self->sigint);
    self->sigterm.data = self->sigint.data = self;
    uv_signal_start (&self->sigterm, s_signal_cb, SIGTERM);
    uv_signal_start (&self->sigint, s_signal_cb, SIGINT);
    self->phase = PH_WAIT;

    rc = s_start (self);
    if (rc != 0)
        s_shutdown (self, rc);
    else
        uv_timer_start (&self->tick, s_tick_cb, P_TICK_MS, P_TICK_MS);

    uv_run (&self->loop, UV_RUN_DEFAULT);
    if (uv_loop_close (&self->loop) == UV_EBUSY) {
        fprintf (stderr, "raft-peer: n%u: handles left open at exit\n",
                 self->opts.id);
        if (self->exit_code == EX_OK)
            self->exit_code = EX_FAIL;
    }
    free (self->slots);
    free (self->samples);
    return self->exit_code;
}
