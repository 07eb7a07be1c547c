/*  =========================================================================
    zraft-bench - closed-loop throughput and latency of an in-process cluster

    Starts N zraft servers inside this process (each server is a set of
    actor threads) on tcp://127.0.0.1, with their write-ahead logs (fsync
    on) under <dir>/n<id>. Waits until exactly one leader is agreed by
    all, then keeps W proposals pending on it for warm-up + duration
    seconds. A proposal is done when the first server to apply its index
    reports it in an applied run: committed if the run's term for that
    index matches, lost if another leader overwrote it. Latencies of the
    proposals completed after warm-up are kept in a bounded array and
    sorted at the end, so percentiles are exact. Prints an etcd-benchmark
    like summary (or one JSON object), then checks that every server
    applied through the last proposed index.

    It measures; it injects no faults (tests do that). Exit codes: 0 on
    success, 1 if the cluster failed (no leader, stall, verify), 64 on a
    bad flag (EX_USAGE), 130 if interrupted (data still removed).
    =========================================================================
*/
#include "../include/zraft.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_EX_USAGE 64                   /* sysexits.h EX_USAGE */
#define S_SAMPLES_MAX (1u << 22)        /* latency samples kept (4 Mi) */
#define S_INFLIGHT_MAX 65536u           /* --inflight upper bound */
#define S_DIR_MAX 900                   /* --dir length bound */
#define S_POLL_MS 5                     /* leader and verify poll period */
#define S_VERIFY_MS 2000                /* verify waits this long at most */
#define S_NEW_ATTEMPTS 10               /* zraft_new retries (port release) */
#define S_DRAIN_MAX 1024                /* runs taken per socket per pass */
#define S_FILL_MAX 1024                 /* proposals per pass, so the loop
                                           still drains and reads the clock */
#define S_EX_INTERRUPTED 130            /* 128 + SIGINT, as shells report */

/* Set by SIGINT and SIGTERM: the one mutable global (process-wide signal
   setup, which STYLE leaves to bin/). It replaces czmq's handler and
   zsys_interrupted, and the signals are kept off the nodes' threads:
   interrupted actors quit on their own, and then zraft_destroy can hang
   (seen with the library of 2026-11-23); stopping the nodes in our order
   is what ends a run cleanly and removes its data. */
static volatile sig_atomic_t s_interrupted = 0;

/* ------------------------------------------------------------- signals */

static void
s_signal_cb (int signal_value)
{
    (void) signal_value;
    s_interrupted = 1;
}

/* Blocks or unblocks SIGINT and SIGTERM on this thread. Threads started
   while they are blocked (ZeroMQ's and every node's) inherit the block,
   so the signals reach only this, the main thread. */
static void
s_signals_block (bool block)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    int rc = pthread_sigmask (block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
    assert (rc == 0);
    (void) rc;
}

/* ------------------------------------------------------------- options */

typedef struct {
    uint32_t nodes;                     /* servers: 1, 3, 5 or 7 */
    const char *dir;                    /* --dir, NULL for a fresh mkdtemp */
    bool keep;                          /* keep the data dirs at the end */
    bool json;                          /* one JSON object instead of text */
    uint32_t heartbeat_ms;              /* config heartbeat_ms */
    uint32_t election_ms;               /* config election_timeout_ms */
    uint32_t window;                    /* config inflight_max */
    uint64_t batch_bytes;               /* config batch_bytes */
    uint32_t entry_size;                /* payload bytes per proposal */
    uint32_t inflight;                  /* proposals kept pending */
    uint32_t duration_s;                /* measured seconds */
    uint32_t warmup_s;                  /* unmeasured seconds first */
    uint64_t seed;                      /* election seed; 0 = clock */
} s_opts_t;

typedef struct {
    const char *name;                   /* the flag, e.g. "--nodes" */
    size_t offset;                      /* its field in s_opts_t */
    size_t width;                       /* 4 (uint32_t) or 8 (uint64_t) */
    uint64_t min;                       /* accepted range, inclusive */
    uint64_t max;                       /* accepted range, inclusive */
    const char *accepted;               /* range in words, if not min..max */
} s_flag_t;

static const s_flag_t s_flags [] = {
    {"--nodes", offsetof (s_opts_t, nodes), 4, 1, 7, "1, 3, 5 or 7"},
    {"--heartbeat-ms", offsetof (s_opts_t, heartbeat_ms), 4, 1, 60000, NULL},
    {"--election-ms", offsetof (s_opts_t, election_ms), 4, 2, 600000, NULL},
    {"--window", offsetof (s_opts_t, window), 4, 1, 256, NULL},
    {"--batch-bytes", offsetof (s_opts_t, batch_bytes), 8, 1, 8u << 20, NULL},
    {"--entry-size", offsetof (s_opts_t, entry_size), 4, 1,
     ZRAFT_ENTRY_BYTES_MAX, NULL},
    {"--inflight", offsetof (s_opts_t, inflight), 4, 1, S_INFLIGHT_MAX, NULL},
    {"--duration", offsetof (s_opts_t, duration_s), 4, 1, 3600, NULL},
    {"--warmup", offsetof (s_opts_t, warmup_s), 4, 0, 600, NULL},
    {"--seed", offsetof (s_opts_t, seed), 8, 0, UINT64_MAX, NULL},
};
#define S_FLAGS (sizeof s_flags / sizeof s_flags [0])

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: zraft-bench [flags]\n"
        "Runs an in-process zraft cluster on tcp://127.0.0.1 (fsync on) and\n"
        "measures committed proposals per second and their latency.\n"
        "  --nodes N          servers, 1|3|5|7 (default 3)\n"
        "  --dir DIR          data under DIR/n<id> (default: mkdtemp in /tmp)\n"
        "  --keep             keep the data dirs at the end\n"
        "  --heartbeat-ms MS  leader heartbeat, 1..60000 (default 50)\n"
        "  --election-ms MS   election timeout, > heartbeat, <= 600000"
        " (default 500)\n"
        "  --window N         AppendEntries in flight per follower, 1..256"
        " (default 64)\n"
        "  --batch-bytes B    payload per AppendEntries, 1..8388608"
        " (default 262144)\n"
        "  --entry-size B     bytes per proposal, 1..%u (default 128)\n"
        "  --inflight W       proposals kept pending, 1..%u (default 64)\n"
        "  --duration S       measured seconds, 1..3600 (default 5)\n"
        "  --warmup S         seconds before measuring, 0..600 (default 1)\n"
        "  --seed N           election seed, 0 = from the clock (default 0)\n"
        "  --json             print one JSON object instead of the summary\n"
        "  --help             print this and exit\n"
        "Exit: 0 ok, 1 cluster failure, 64 bad flag, 130 interrupted.\n",
        ZRAFT_ENTRY_BYTES_MAX, S_INFLIGHT_MAX);
}

/* Sets flag's field from text. Returns 0, or -1 after printing a
   one-line message naming the flag and its accepted range. */
static int
s_flag_set (s_opts_t *opts, const s_flag_t *flag, const char *text)
{
    assert (opts && flag);
    assert (flag->width == 4 || flag->width == 8);
    bool ok = text && *text >= '0' && *text <= '9';
    unsigned long long value = 0;
    if (ok) {
        char *end = NULL;
        errno = 0;
        value = strtoull (text, &end, 10);
        ok = errno == 0 && *end == 0 && value >= flag->min
             && value <= flag->max;
    }
    if (!ok && flag->accepted)
        fprintf (stderr, "zraft-bench: %s must be %s (got '%s')\n",
                 flag->name, flag->accepted, text ? text : "nothing");
    else
    if (!ok)
        fprintf (stderr, "zraft-bench: %s must be an integer in %" PRIu64
                 "..%" PRIu64 " (got '%s')\n", flag->name, flag->min,
                 flag->max, text ? text : "nothing");
    if (!ok)
        return -1;
    char *field = (char *) opts + flag->offset;
    if (flag->width == 4) {
        uint32_t v32 = (uint32_t) value;
        memcpy (field, &v32, sizeof v32);
    }
    else {
        uint64_t v64 = (uint64_t) value;
        memcpy (field, &v64, sizeof v64);
    }
    return 0;
}

/* Checks what single flags cannot. Returns 0 or -1 after a message. */
static int
s_opts_check (const s_opts_t *opts)
{
    if (opts->nodes % 2 == 0) {
        fprintf (stderr, "zraft-bench: --nodes must be 1, 3, 5 or 7"
                 " (got '%u')\n", opts->nodes);
        return -1;
    }
    if (opts->election_ms <= opts->heartbeat_ms) {
        fprintf (stderr, "zraft-bench: --election-ms must be in %u..600000"
                 " (above --heartbeat-ms %u; got %u)\n",
                 opts->heartbeat_ms + 1, opts->heartbeat_ms, opts->election_ms);
        return -1;
    }
    if (opts->dir && (*opts->dir == 0 || strlen (opts->dir) >= S_DIR_MAX)) {
        fprintf (stderr, "zraft-bench: --dir must be 1..%d characters\n",
                 S_DIR_MAX - 1);
        return -1;
    }
    for (uint32_t id = 1; opts->dir && id <= opts->nodes; id++) {
        char path [S_DIR_MAX + 16];
        snprintf (path, sizeof path, "%s/n%u", opts->dir, id);
        if (zsys_file_mode (path) != -1) {
            fprintf (stderr, "zraft-bench: --dir must not hold n1..n%u yet"
                     " (%s exists)\n", opts->nodes, path);
            return -1;
        }
    }
    return 0;
}

/* Sets a flag that takes no value. Returns 1 for --help, 0 if name was
   such a flag, -1 if it takes a value. */
static int
s_opts_switch (s_opts_t *opts, const char *name)
{
    if (streq (name, "--help") || streq (name, "-h"))
        return 1;
    if (streq (name, "--keep"))
        opts->keep = true;
    else
    if (streq (name, "--json"))
        opts->json = true;
    else
        return -1;
    return 0;
}

/* Parses argv ("--flag value" or "--flag=value") into opts. Returns 0
   to run, 1 after --help, or -1 after a one-line message on stderr (the
   caller exits 64). */
static int
s_opts_parse (s_opts_t *opts, int argc, char *argv [])
{
    *opts = (s_opts_t) {.nodes = 3, .heartbeat_ms = 50, .election_ms = 500,
                        .window = 64, .batch_bytes = 256u << 10,
                        .entry_size = 128, .inflight = 64, .duration_s = 5,
                        .warmup_s = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        const char *eq = strchr (arg, '=');
        char name [64];
        snprintf (name, sizeof name, "%.*s",
                  (int) (eq ? (size_t) (eq - arg) : strlen (arg)), arg);
        int rc = eq ? -1 : s_opts_switch (opts, name);
        if (rc >= 0) {
            if (rc == 1)
                return 1;
            continue;
        }
        const char *value = eq ? eq + 1 : i + 1 < argc ? argv [++i] : NULL;
        if (streq (name, "--dir") && !value) {
            fprintf (stderr, "zraft-bench: --dir needs a directory\n");
            return -1;
        }
        if (streq (name, "--dir")) {
            opts->dir = value;
            continue;
        }
        size_t f = 0;
        while (f < S_FLAGS && !streq (s_flags [f].name, name))
            f++;
        if (f == S_FLAGS) {
            fprintf (stderr, "zraft-bench: unknown flag '%s' (see --help)\n",
                     arg);
            return -1;
        }
        if (s_flag_set (opts, &s_flags [f], value))
            return -1;
    }
    return s_opts_check (opts);
}

/* --------------------------------------------------------------- bench */

typedef struct {
    uint64_t index;                     /* 0 when the slot is free */
    uint64_t term;                      /* the term the leader gave it */
    int64_t sent_us;                    /* zclock_usecs at propose */
} s_pending_t;

typedef struct {
    s_opts_t opts;                      /* parsed flags */
    char dir [S_DIR_MAX];               /* parent of the n<id> dirs */
    bool dir_made;                      /* we made dir: remove it too */
    bool dirs_made;                     /* n<id> dirs are ours to remove */
    char endpoints [ZRAFT_NODES_MAX][64];   /* by id - 1 */
    char data_dirs [ZRAFT_NODES_MAX][S_DIR_MAX + 16];   /* by id - 1 */
    zraft_t *nodes [ZRAFT_NODES_MAX];   /* by id - 1, owned */
    zpoller_t *poller;                  /* every node's events socket */
    uint32_t leader;                    /* current leader id, 0 if none */
    uint64_t term;                      /* its term */
    uint32_t leader_changes;            /* leader or term changed after start */
    s_pending_t *ring;                  /* pending proposals by index */
    uint64_t ring_mask;                 /* ring size - 1; size >= 2W + 64 */
    uint32_t pending;                   /* ring entries of `term`; <= W */
    uint64_t applied_seen;              /* highest index any node applied */
    uint64_t last_index;                /* index the last propose returned */
    byte *payload;                      /* entry_size bytes, each proposal */
    bool measuring;                     /* between warm-up and the end */
    int64_t measure_us;                 /* when measuring began */
    int64_t end_us;                     /* when measuring ended */
    int64_t progress_us;                /* last completion or leader change */
    uint64_t committed;                 /* completed while measuring, ok */
    uint64_t lost;                      /* overwritten by another leader */
    uint32_t *samples;                  /* latencies (usecs) while measuring */
    size_t n_samples;                   /* <= S_SAMPLES_MAX */
    uint64_t samples_dropped;           /* beyond S_SAMPLES_MAX */
    zraft_status_t before [ZRAFT_NODES_MAX];    /* counters at measure_us */
    zraft_status_t after [ZRAFT_NODES_MAX];     /* counters at end_us */
} s_bench_t;

/* Returns a bench with its buffers, or NULL if out of memory. */
static s_bench_t *
s_bench_new (const s_opts_t *opts)
{
    s_bench_t *self = (s_bench_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    uint64_t size = 1;
    while (size < 2 * (uint64_t) opts->inflight + 64)
        size <<= 1;
    self->ring_mask = size - 1;
    self->ring = (s_pending_t *) calloc (size, sizeof (s_pending_t));
    self->samples = (uint32_t *) malloc (S_SAMPLES_MAX * sizeof (uint32_t));
    self->payload = (byte *) malloc (opts->entry_size);
    if (!self->ring || !self->samples || !self->payload) {
        free (self->ring);
        free (self->samples);
        free (self->payload);
        free (self);
        return NULL;
    }
    uint64_t x = opts->seed ? opts->seed : 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < opts->entry_size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        self->payload [i] = (byte) x;
    }
    return self;
}

/* Removes one data dir and everything in it; warns if it stays. */
static void
s_dir_remove (const char *path)
{
    zdir_t *dir = zdir_new (path, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    if (zsys_file_mode (path) != -1)
        fprintf (stderr, "zraft-bench: could not remove %s\n", path);
}

/* Stops every node, then removes the data unless --keep. */
static void
s_bench_destroy (s_bench_t **self_p)
{
    assert (self_p);
    s_bench_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++)
        zraft_destroy (&self->nodes [i]);
    if (!self->opts.keep && self->dirs_made) {
        for (uint32_t i = 0; i < self->opts.nodes; i++)
            s_dir_remove (self->data_dirs [i]);
        if (self->dir_made && zsys_dir_delete ("%s", self->dir) != 0)
            fprintf (stderr, "zraft-bench: could not remove %s\n", self->dir);
    }
    else
    if (self->opts.keep && self->dirs_made)
        fprintf (stderr, "zraft-bench: data kept in %s\n", self->dir);
    free (self->ring);
    free (self->samples);
    free (self->payload);
    free (self);
    *self_p = NULL;
}

/* Picks the data dirs: DIR/n<id> must not exist yet (we never run on,
   nor remove, data we did not make). Returns 0, or -1 after a message. */
static int
s_bench_dirs (s_bench_t *self)
{
    if (self->opts.dir) {
        snprintf (self->dir, sizeof self->dir, "%s", self->opts.dir);
        self->dir_made = zsys_file_mode (self->dir) == -1;
    }
    else {
        snprintf (self->dir, sizeof self->dir, "/tmp/zraft-bench-XXXXXX");
        if (!mkdtemp (self->dir)) {
            fprintf (stderr, "zraft-bench: mkdtemp: %s\n", strerror (errno));
            return -1;
        }
        self->dir_made = true;
    }
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        snprintf (self->data_dirs [i], sizeof self->data_dirs [i], "%s/n%u",
                  self->dir, i + 1);
        if (zsys_file_mode (self->data_dirs [i]) != -1) {
            fprintf (stderr, "zraft-bench: --dir: %s already exists; remove it"
                     " or pick another --dir\n", self->data_dirs [i]);
            return -1;
        }
    }
    if (zsys_dir_create ("%s", self->dir) != 0) {
        fprintf (stderr, "zraft-bench: cannot create %s: %s\n", self->dir,
                 strerror (errno));
        return -1;
    }
    self->dirs_made = true;
    return 0;
}

/* Picks a free port per node: binds a temporary socket on port "*" of
   127.0.0.1 for each (all at once, so they differ), reads the port from
   zsock_endpoint, then closes them all. Returns 0 or -1. */
static int
s_bench_ports (s_bench_t *self)
{
    zsock_t *probes [ZRAFT_NODES_MAX] = {NULL};
    int rc = 0;
    for (uint32_t i = 0; i < self->opts.nodes && rc == 0; i++) {
        probes [i] = zsock_new (ZMQ_ROUTER);
        rc = -1;
        if (probes [i] && zsock_bind (probes [i], "tcp://127.0.0.1:*") > 0) {
            const char *endpoint = zsock_endpoint (probes [i]);
            const char *colon = endpoint ? strrchr (endpoint, ':') : NULL;
            int port = colon ? atoi (colon + 1) : 0;
            if (port > 0 && port < 65536) {
                snprintf (self->endpoints [i], sizeof self->endpoints [i],
                          "tcp://127.0.0.1:%d", port);
                rc = 0;
            }
        }
    }
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        zsock_destroy (&probes [i]);
    if (rc)
        fprintf (stderr, "zraft-bench: cannot find free ports on 127.0.0.1\n");
    return rc;
}

/* Starts server id. The port probe may still be closing in ZeroMQ's I/O
   thread, so a failed start is retried a few times. Returns 0 or -1. */
static int
s_bench_start_node (s_bench_t *self, uint32_t id)
{
    assert (id >= 1 && id <= self->opts.nodes);
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = id;
    config.n_servers = self->opts.nodes;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        config.servers [i].id = i + 1;
        config.servers [i].endpoint = self->endpoints [i];
    }
    config.data_dir = self->data_dirs [id - 1];
    config.heartbeat_ms = self->opts.heartbeat_ms;
    config.election_timeout_ms = self->opts.election_ms;
    config.inflight_max = self->opts.window;
    config.batch_bytes = self->opts.batch_bytes;
    config.seed = self->opts.seed ? self->opts.seed + id : 0;
    for (int attempt = 0; attempt < S_NEW_ATTEMPTS; attempt++) {
        self->nodes [id - 1] = zraft_new (&config, NULL);
        if (self->nodes [id - 1] || s_interrupted)
            break;
        zclock_sleep (50);
    }
    if (!self->nodes [id - 1]) {
        fprintf (stderr, "zraft-bench: n%u did not start (%s, %s)\n", id,
                 self->endpoints [id - 1], self->data_dirs [id - 1]);
        return -1;
    }
    return 0;
}

/* Starts the cluster and the poller over its events sockets. */
static int
s_bench_start (s_bench_t *self)
{
    if (s_bench_dirs (self) || s_bench_ports (self))
        return -1;
    for (uint32_t id = 1; id <= self->opts.nodes; id++)
        if (s_bench_start_node (self, id))
            return -1;
    self->poller = zpoller_new (zraft_events (self->nodes [0]), NULL);
    assert (self->poller);
    for (uint32_t i = 1; i < self->opts.nodes; i++)
        zpoller_add (self->poller, zraft_events (self->nodes [i]));
    return 0;
}

/* ------------------------------------------------- completion tracking */

/* Completes the pending proposals that run covers, past what any node
   reported before (every node applies the same sequence). */
static void
s_bench_complete (s_bench_t *self, const zraft_applied_t *run, int64_t now)
{
    assert (run->last >= run->first);
    uint64_t from = run->first > self->applied_seen ? run->first
                                                    : self->applied_seen + 1;
    for (uint64_t index = from; index <= run->last; index++) {
        s_pending_t *slot = &self->ring [index & self->ring_mask];
        if (slot->index != index)
            continue;                   /* a no-op or not ours */
        bool ok = run->terms [index - run->first] == slot->term;
        if (!ok)
            self->lost++;
        else
        if (self->measuring) {
            self->committed++;
            int64_t latency = now - slot->sent_us;
            if (self->n_samples < S_SAMPLES_MAX)
                self->samples [self->n_samples++] =
                    latency < 0 ? 0 : latency > UINT32_MAX ? UINT32_MAX
                                                           : (uint32_t) latency;
            else
                self->samples_dropped++;
        }
        if (slot->term == self->term) {
            assert (self->pending > 0);
            self->pending--;
        }
        slot->index = 0;
        self->progress_us = now;
    }
    if (run->last > self->applied_seen)
        self->applied_seen = run->last;
}

/* Takes every applied run waiting on every node's events socket. */
static int
s_bench_drain (s_bench_t *self)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        zsock_t *events = zraft_events (self->nodes [i]);
        for (int taken = 0; taken < S_DRAIN_MAX
                            && (zsock_events (events) & ZMQ_POLLIN); taken++) {
            zraft_applied_t run;
            if (zraft_applied_recv (self->nodes [i], &run) != 0)
                return -1;
            s_bench_complete (self, &run, zclock_usecs ());
            zraft_applied_release (&run);
        }
    }
    return 0;
}

/* Counts the pending proposals of the current term. */
static void
s_bench_recount (s_bench_t *self)
{
    self->pending = 0;
    for (uint64_t i = 0; i <= self->ring_mask; i++)
        if (self->ring [i].index && self->ring [i].term == self->term)
            self->pending++;
    assert (self->pending <= self->opts.inflight);
}

/* --------------------------------------------------------------- leader */

/* Returns the agreed leader id and sets *term, or 0 if there is none:
   exactly one node must be leader, and all must agree on it and term. */
static uint32_t
s_bench_leader_agreed (s_bench_t *self, uint64_t *term)
{
    zraft_status_t status [ZRAFT_NODES_MAX];
    uint32_t leaders = 0, leader = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (zraft_status (self->nodes [i], &status [i]) != 0)
            return 0;
        if (status [i].role == ZRAFT_LEADER) {
            leaders++;
            leader = i + 1;
        }
    }
    if (leaders != 1)
        return 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (status [i].leader != leader
            || status [i].term != status [leader - 1].term)
            return 0;
    *term = status [leader - 1].term;
    return leader;
}

/* Prints every node's status on stderr, for failure reports. */
static void
s_bench_dump (s_bench_t *self)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        zraft_status_t s;
        if (zraft_status (self->nodes [i], &s) != 0) {
            fprintf (stderr, "  n%u: shut down\n", i + 1);
            continue;
        }
        fprintf (stderr, "  n%u: role=%d term=%" PRIu64 " leader=%u"
                 " commit=%" PRIu64 " applied=%" PRIu64 " last=%" PRIu64
                 " persisted=%" PRIu64 " disk_failed=%d elections=%" PRIu64
                 "\n", i + 1, (int) s.role, s.term, s.leader, s.commit,
                 s.applied, s.last_index, s.persisted, (int) s.disk_failed,
                 s.elections);
    }
}

/* Waits (20 election timeouts at most) for an agreed leader, draining
   events meanwhile. Returns 0, or -1 after a message. */
static int
s_bench_leader_find (s_bench_t *self)
{
    int64_t deadline = zclock_mono () + 20 * (int64_t) self->opts.election_ms;
    uint64_t term = 0;
    uint32_t leader = 0;
    while (!s_interrupted) {
        if (s_bench_drain (self))
            break;
        leader = s_bench_leader_agreed (self, &term);
        if (leader || zclock_mono () >= deadline)
            break;
        zpoller_wait (self->poller, S_POLL_MS);
    }
    if (!leader && s_interrupted)
        return -1;
    if (!leader) {
        fprintf (stderr, "zraft-bench: no agreed leader within %u ms\n",
                 20 * self->opts.election_ms);
        s_bench_dump (self);
        return -1;
    }
    if (self->leader && (leader != self->leader || term != self->term))
        self->leader_changes++;
    self->leader = leader;
    self->term = term;
    self->progress_us = zclock_usecs ();
    s_bench_recount (self);
    return 0;
}

/* ------------------------------------------------------------- the loop */

/* Records a proposal the leader accepted at (index, term). */
static int
s_bench_track (s_bench_t *self, uint64_t index, uint64_t term)
{
    if (index <= self->applied_seen) {
        fprintf (stderr, "zraft-bench: propose returned index %" PRIu64
                 " already applied (through %" PRIu64 ")\n", index,
                 self->applied_seen);
        return -1;
    }
    if (term != self->term) {
        self->leader_changes++;         /* re-elected itself in a new term */
        self->term = term;
        s_bench_recount (self);
    }
    s_pending_t *slot = &self->ring [index & self->ring_mask];
    if (slot->index) {                  /* an old term's entry, overwritten */
        self->lost++;
        if (slot->term == self->term)
            self->pending--;
    }
    *slot = (s_pending_t) {index, term, zclock_usecs ()};
    self->pending++;
    self->last_index = index;           /* the newest term's, so it stays */
    return 0;
}

/* Proposes until W are pending (at most S_FILL_MAX per call); finds the
   new leader if needed. Returns 0 or -1 after a message. */
static int
s_bench_fill (s_bench_t *self)
{
    for (int n = 0; n < S_FILL_MAX && self->pending < self->opts.inflight
                    && !s_interrupted; n++) {
        uint64_t index = 0, term = 0;
        int rc = zraft_propose (self->nodes [self->leader - 1], self->payload,
                                self->opts.entry_size, &index, &term, NULL);
        if (rc == ZRAFT_ENOTLEADER)
            return s_bench_leader_find (self);
        if (rc != 0 && s_interrupted)
            return -1;
        if (rc != 0) {
            fprintf (stderr, "zraft-bench: propose on n%u: %s\n",
                     self->leader, zraft_strerror (rc));
            return -1;
        }
        if (s_bench_track (self, index, term))
            return -1;
    }
    return 0;
}

/* Snapshots every node's counters into status. */
static int
s_bench_counters (s_bench_t *self, zraft_status_t *status)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (zraft_status (self->nodes [i], &status [i]) != 0)
            return -1;
    return 0;
}

/* Checks progress: after an election timeout without completions the
   leader may have stepped down; after 20 the cluster is stalled. */
static int
s_bench_watch (s_bench_t *self, int64_t now)
{
    int64_t quiet_us = now - self->progress_us;
    int64_t election_us = 1000 * (int64_t) self->opts.election_ms;
    if (self->pending == 0 || quiet_us < election_us)
        return 0;
    zraft_status_t status;
    if (zraft_status (self->nodes [self->leader - 1], &status) != 0)
        return -1;
    if (status.role != ZRAFT_LEADER || status.term != self->term)
        return s_bench_leader_find (self);
    if (quiet_us < 20 * election_us)
        return 0;
    fprintf (stderr, "zraft-bench: stalled: %u pending on leader n%u,"
             " nothing applied for %" PRId64 " ms\n", self->pending,
             self->leader, quiet_us / 1000);
    s_bench_dump (self);
    return -1;
}

/* Runs the closed loop for warm-up + duration. Returns 0 or -1. */
static int
s_bench_run (s_bench_t *self)
{
    int64_t start = zclock_usecs ();
    int64_t measure_at = start + 1000000 * (int64_t) self->opts.warmup_s;
    int64_t end_at = INT64_MAX;         /* set once measuring begins */
    self->progress_us = start;
    while (!s_interrupted) {
        int64_t now = zclock_usecs ();
        if (!self->measuring && now >= measure_at) {
            if (s_bench_counters (self, self->before))
                return -1;
            self->measuring = true;
            self->measure_us = zclock_usecs ();
            end_at = self->measure_us
                     + 1000000 * (int64_t) self->opts.duration_s;
        }
        if (now >= end_at)
            break;
        if (s_bench_fill (self) || s_bench_watch (self, now))
            return -1;
        zpoller_wait (self->poller, 10);
        if (s_bench_drain (self))
            return -1;
    }
    self->measuring = false;
    self->end_us = zclock_usecs ();
    if (s_interrupted)
        return -1;
    return s_bench_counters (self, self->after);
}

/* Waits up to S_VERIFY_MS for every node to commit and apply through
   the last proposed index. Returns 0, or -1 after a message. */
static int
s_bench_verify (s_bench_t *self)
{
    int64_t deadline = zclock_mono () + S_VERIFY_MS;
    while (!s_interrupted) {
        if (s_bench_drain (self))
            break;
        uint32_t through = 0;
        for (uint32_t i = 0; i < self->opts.nodes; i++) {
            zraft_status_t s;
            if (zraft_status (self->nodes [i], &s) == 0
                && s.commit >= self->last_index
                && s.applied >= self->last_index)
                through++;
        }
        if (through == self->opts.nodes)
            return 0;
        if (zclock_mono () >= deadline)
            break;
        zpoller_wait (self->poller, S_POLL_MS);
    }
    if (s_interrupted)
        return -1;
    fprintf (stderr, "zraft-bench: verify failed: not all %u nodes applied"
             " through index %" PRIu64 " within %d ms\n", self->opts.nodes,
             self->last_index, S_VERIFY_MS);
    s_bench_dump (self);
    return -1;
}

/* --------------------------------------------------------------- report */

typedef struct {
    double seconds;                     /* measured window */
    double eps;                         /* committed entries per second */
    double mbps;                        /* payload MB (1e6) per second */
    double p50, p90, p99, p999, max;    /* latency, ms */
    double avg, stddev;                 /* latency, ms */
} s_figures_t;

static int
s_u32_cmp (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

/* Returns percentile p (0..100] of sorted, nearest rank, in ms. */
static double
s_percentile (const uint32_t *sorted, size_t n, double p)
{
    assert (n > 0 && p > 0 && p <= 100);
    size_t rank = (size_t) ceil (p / 100.0 * (double) n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted [rank - 1] / 1000.0;
}

static void
s_figures (s_bench_t *self, s_figures_t *f)
{
    memset (f, 0, sizeof *f);
    f->seconds = (double) (self->end_us - self->measure_us) / 1e6;
    if (f->seconds > 0) {
        f->eps = (double) self->committed / f->seconds;
        f->mbps = f->eps * self->opts.entry_size / 1e6;
    }
    size_t n = self->n_samples;
    if (n == 0)
        return;
    qsort (self->samples, n, sizeof (uint32_t), s_u32_cmp);
    double sum = 0, sumsq = 0;
    for (size_t i = 0; i < n; i++)
        sum += self->samples [i];
    double mean = sum / (double) n;
    for (size_t i = 0; i < n; i++)
        sumsq += (self->samples [i] - mean) * (self->samples [i] - mean);
    f->avg = mean / 1000.0;
    f->stddev = sqrt (sumsq / (double) n) / 1000.0;
    f->p50 = s_percentile (self->samples, n, 50);
    f->p90 = s_percentile (self->samples, n, 90);
    f->p99 = s_percentile (self->samples, n, 99);
    f->p999 = s_percentile (self->samples, n, 99.9);
    f->max = self->samples [n - 1] / 1000.0;
}

/* Writes a ratio, or "-" (text) / null (JSON) when den is 0. */
static void
s_ratio (char *buf, size_t size, uint64_t num, uint64_t den, bool json)
{
    if (den == 0)
        snprintf (buf, size, "%s", json ? "null" : "-");
    else
        snprintf (buf, size, "%.2f", (double) num / (double) den);
}

static void
s_print_node (s_bench_t *self, uint32_t i, bool json)
{
    const zraft_status_t *a = &self->before [i], *b = &self->after [i];
    uint64_t syncs = b->wal_syncs - a->wal_syncs;
    uint64_t entries = b->wal_entries - a->wal_entries;
    uint64_t appends = b->appends_out - a->appends_out;
    uint64_t carried = b->entries_out - a->entries_out;
    char per_sync [32], per_append [32];
    s_ratio (per_sync, sizeof per_sync, entries, syncs, json);
    s_ratio (per_append, sizeof per_append, carried, appends, json);
    if (json)
        printf ("%s{\"id\":%u,\"syncs\":%" PRIu64 ",\"wal_entries\":%" PRIu64
                ",\"entries_per_sync\":%s,\"appends_out\":%" PRIu64
                ",\"entries_out\":%" PRIu64 ",\"entries_per_append\":%s}",
                i ? "," : "", i + 1, syncs, entries, per_sync, appends,
                carried, per_append);
    else
        printf ("%s n%u syncs=%" PRIu64 " entries/sync=%s appends_out=%"
                PRIu64 " entries/append=%s\n", i ? "               "
                                                 : "  Per node:    ",
                i + 1, syncs, per_sync, appends, per_append);
}

static void
s_print_text (s_bench_t *self, const s_figures_t *f)
{
    const s_opts_t *o = &self->opts;
    printf ("Summary:\n");
    printf ("  Nodes:        %u (in-process threads), fsync on\n", o->nodes);
    printf ("  Entries:      %" PRIu64 " committed in %.2f s (%u in flight,"
            " %u B entries, window %u)\n", self->committed, f->seconds,
            o->inflight, o->entry_size, o->window);
    printf ("  Throughput:   %.0f entries/s, %.2f MB/s\n", f->eps, f->mbps);
    if (self->n_samples)
        printf ("  Latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f"
                "  max %.3f  (avg %.3f, stddev %.3f)\n", f->p50, f->p90,
                f->p99, f->p999, f->max, f->avg, f->stddev);
    else
        printf ("  Latency (ms): no samples\n");
    printf ("  Leader:       n%u, term %" PRIu64 " (%u leader changes,"
            " %" PRIu64 " proposals lost)\n", self->leader, self->term,
            self->leader_changes, self->lost);
    for (uint32_t i = 0; i < o->nodes; i++)
        s_print_node (self, i, false);
    fflush (stdout);
}

static void
s_print_json (s_bench_t *self, const s_figures_t *f, bool verified)
{
    const s_opts_t *o = &self->opts;
    printf ("{\"nodes\":%u,\"fsync\":true,\"entries\":%" PRIu64
            ",\"seconds\":%.3f,\"inflight\":%u,\"entry_size\":%u,"
            "\"window\":%u,\"batch_bytes\":%" PRIu64 ",\"heartbeat_ms\":%u,"
            "\"election_ms\":%u,\"entries_per_s\":%.1f,\"mb_per_s\":%.3f,",
            o->nodes, self->committed, f->seconds, o->inflight,
            o->entry_size, o->window, o->batch_bytes, o->heartbeat_ms,
            o->election_ms, f->eps, f->mbps);
    printf ("\"latency_ms\":{\"samples\":%zu,\"dropped\":%" PRIu64
            ",\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99_9\":%.3f,"
            "\"max\":%.3f,\"avg\":%.3f,\"stddev\":%.3f},",
            self->n_samples, self->samples_dropped, f->p50, f->p90, f->p99,
            f->p999, f->max, f->avg, f->stddev);
    printf ("\"leader\":%u,\"term\":%" PRIu64 ",\"leader_changes\":%u,"
            "\"lost\":%" PRIu64 ",\"per_node\":[", self->leader, self->term,
            self->leader_changes, self->lost);
    for (uint32_t i = 0; i < o->nodes; i++)
        s_print_node (self, i, true);
    printf ("],\"verified\":%s,\"verified_through\":%" PRIu64 "}\n",
            verified ? "true" : "false", self->last_index);
    fflush (stdout);
}

/* Measures, reports and verifies. Returns the exit code. */
static int
s_bench_main (s_bench_t *self)
{
    int rc = s_bench_start (self);
    s_signals_block (false);            /* from here on, to us alone */
    if (rc || s_bench_leader_find (self) || s_bench_run (self))
        return s_interrupted ? S_EX_INTERRUPTED : 1;
    s_figures_t figures;
    s_figures (self, &figures);
    if (!self->opts.json)
        s_print_text (self, &figures);
    bool verified = s_bench_verify (self) == 0;
    if (self->opts.json)
        s_print_json (self, &figures, verified);
    else
    if (verified)
        printf ("verified: all %u nodes applied through index %" PRIu64 "\n",
                self->opts.nodes, self->last_index);
    if (s_interrupted)
        return S_EX_INTERRUPTED;
    return verified ? 0 : 1;
}

int
main (int argc, char *argv [])
{
    s_opts_t opts;
    int rc = s_opts_parse (&opts, argc, argv);
    if (rc == 1) {
        s_usage (stdout);
        return 0;
    }
    if (rc != 0)
        return S_EX_USAGE;
    s_signals_block (true);
    zsys_init ();
    zsys_handler_set (s_signal_cb);
    zsys_set_logident ("zraft-bench");
    zsys_set_logstream (stderr);        /* stdout carries the report only */
    s_bench_t *bench = s_bench_new (&opts);
    if (!bench) {
        fprintf (stderr, "zraft-bench: out of memory\n");
        return 1;
    }
    rc = s_bench_main (bench);
    s_bench_destroy (&bench);
    if (rc == S_EX_INTERRUPTED)
        fprintf (stderr, "zraft-bench: interrupted\n");
    return rc;
}
