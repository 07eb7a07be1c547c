/*  =========================================================================
    cluster - in-process clusters of real zraft nodes for tests
    =========================================================================
*/
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>
#include "cluster.h"

#define CLUSTER_NODES_MAX 9
#define CLUSTER_LOG_MAX (1u << 20)      /* indexes the checker tracks */
#define CLUSTER_INBOX_MAX 8192          /* events kept per server, oldest
                                           dropped past it */

typedef struct {
    cluster_t *cluster;                 /* back pointer for the callback */
    uint32_t id;                        /* server id */
    zraft_t *node;                      /* running server, or NULL */
    uint64_t applied;                   /* last index applied, this incarnation */
    bool connected;                     /* not partitioned by the test */
    char endpoint [64];                 /* tcp://127.0.0.1:port */
    char dir [256];                     /* data directory */
    /* Snapshot mode: the state machine the checker drives (applier
       thread only, except at start and stop, when no applier runs). */
    uint64_t *record;                   /* command applied at index, 0 if
                                           none (a no-op), up to applied */
    uint64_t record_top;                /* highest index ever written */
    uint64_t restores;                  /* restores, this incarnation */
    uint64_t last_value;                /* the last command applied, this
                                           incarnation (fsm.query) */
    zlist_t *inbox;                     /* zraft_event_t *: received from the
                                           handle, not yet taken by a test */
    uint32_t in_callback;               /* callbacks running now: at most 1
                                           (under the cluster's mutex) */
} cluster_node_t;

struct _cluster_t {
    uint32_t n;                         /* servers */
    bool unreliable;                    /* links drop, delay and reorder */
    cluster_node_t nodes [CLUSTER_NODES_MAX + 1];   /* by id */
    char root [128];                    /* temp directory of the data dirs */
    pthread_mutex_t mutex;              /* guards everything below */
    pthread_cond_t changed;             /* an apply happened */
    uint64_t *values;                   /* value applied at index, by anyone */
    uint8_t *appliers;                  /* bit per server that applied index */
    char violation [256];               /* first checker violation, or "" */
    bool long_payloads;                 /* commands over 8 bytes were proposed
                                           (cluster_propose_bytes) */
    pthread_mutex_t handles;            /* cluster_lock: one thread at a
                                           time on the server handles */
    bool snapshots;                     /* snapshot mode (cluster_new_snapshots) */
    cluster_snapshots_t snap;           /* its thresholds and padding */
    uint8_t *skipped;                   /* index a server applied as a
                                           non-command (a no-op) */
    uint64_t tokens;                    /* the last token given (all servers) */
    uint32_t subs_max;                  /* config.subs_max of servers started
                                           from now on, if subs_max_set */
    bool subs_max_set;
    uint32_t submit_max;                /* config.submit_max of servers started
                                           from now on; 0: the default */
    bool query_on_node;                 /* config.query_on_node of servers
                                           started from now on */
    bool apply_on_node;                 /* config.apply_on_node, likewise */
    bool feed_foreground;               /* config.feed_background off */
};

static bool s_payload_ok (const void *data, size_t size);

/* The strict sequence (the lab's "apply out of order"), with zraft's
   no-ops: zraft applies every index in order but calls apply for
   commands only, so a server that jumps from applied to index skipped
   from..index-1 as non-commands. That is right only if no server ever
   applies a command there: marks them, and reports one that another
   server applied (the other order is caught in s_apply). Called with
   the mutex held. */
static void
s_skip (cluster_t *self, cluster_node_t *node, uint64_t from, uint64_t index)
{
    for (uint64_t k = from; k < index; k++) {
        if (self->values [k] && !self->violation [0])
            snprintf (self->violation, sizeof self->violation,
                      "n%u skipped index %llu where another applied %llu", node->id,
                      (unsigned long long) k, (unsigned long long) self->values [k]);
        self->skipped [k] = 1;
        if (node->record)
            node->record [k] = 0;
    }
}

/* fsm.apply: the checker, and apply's result: the command's value and
   its index (CLUSTER_RESULT_BYTES). */
static void
s_apply_checked (void *arg, uint64_t index, uint64_t term, const void *data,
                 size_t size, void **result, size_t *result_size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    cluster_t *self = node->cluster;
    (void) term;
    ck_assert (result && !*result && result_size && *result_size == 0);
    uint64_t value = 0;
    if (size >= sizeof value)
        memcpy (&value, data, sizeof value);
    pthread_mutex_lock (&self->mutex);
    /* Longer commands are accepted only from tests that proposed some
       (cluster_propose_bytes), and only with the content derived from
       their value. */
    bool well_formed = size == sizeof value
                       || (self->long_payloads && s_payload_ok (data, size));
    /* Entries are applied in order; no-ops are skipped by the applier, so
       an index may jump forward, but never back or repeat. */
    if (index <= node->applied && !self->violation [0])
        snprintf (self->violation, sizeof self->violation,
                  "n%u applied index %llu after %llu", node->id,
                  (unsigned long long) index, (unsigned long long) node->applied);
    else
    if (index >= CLUSTER_LOG_MAX || !well_formed)
        snprintf (self->violation, sizeof self->violation,
                  "n%u applied a bad entry at %llu", node->id, (unsigned long long) index);
    else
    if (self->values [index] && self->values [index] != value && !self->violation [0])
        snprintf (self->violation, sizeof self->violation,
                  "n%u applied %llu at %llu where another applied %llu", node->id,
                  (unsigned long long) value, (unsigned long long) index,
                  (unsigned long long) self->values [index]);
    else
    if (self->skipped [index] && !self->violation [0])
        snprintf (self->violation, sizeof self->violation,
                  "n%u applied %llu at %llu where another applied a no-op",
                  node->id, (unsigned long long) value, (unsigned long long) index);
    else {
        s_skip (self, node, node->applied + 1, index);
        self->values [index] = value;
        self->appliers [index] |= (uint8_t) (1u << (node->id - 1));
        if (node->record) {
            node->record [index] = value;
            if (index > node->record_top)
                node->record_top = index;
        }
    }
    node->applied = index;
    node->last_value = value;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->mutex);
    uint64_t *answer = (uint64_t *) malloc (CLUSTER_RESULT_BYTES);
    ck_assert_ptr_nonnull (answer);
    answer [0] = value;
    answer [1] = index;
    *result = answer;
    *result_size = CLUSTER_RESULT_BYTES;
}

/* fsm.query: this server's last applied index and command value
   (CLUSTER_RESULT_BYTES); refuses a query of CLUSTER_QUERY_REFUSED. */
static int
s_query_checked (void *arg, const void *data, size_t size, void **result,
                 size_t *result_size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    cluster_t *self = node->cluster;
    uint64_t asked = 0;
    if (size == sizeof asked)
        memcpy (&asked, data, sizeof asked);
    /* Under the mutex either way: what this thread read of the cluster
       is released before the test thread frees it (TSan cannot see the
       actor's end through czmq). */
    pthread_mutex_lock (&self->mutex);
    uint64_t answer [2] = {node->last_value, node->applied};
    pthread_mutex_unlock (&self->mutex);
    if (asked == CLUSTER_QUERY_REFUSED)
        return -1;
    *result = malloc (CLUSTER_RESULT_BYTES);
    ck_assert_ptr_nonnull (*result);
    memcpy (*result, answer, CLUSTER_RESULT_BYTES);
    *result_size = CLUSTER_RESULT_BYTES;
    return 0;
}

/* ---------------------------------------------------------------------
   Snapshot mode: the lab's snapshot state machine (LAB-TESTS.md 2.7). A
   snapshot is the last applied index and the record of every command
   applied up to it, then pad_bytes of padding derived from the index:
   | magic | index | pad_bytes | record [1..index] (u64 each) | padding | */

#define CLUSTER_SNAP_MAGIC 0x7a72736e61703031ull    /* "zrsnap01" */
#define CLUSTER_SNAP_HEADER (3 * sizeof (uint64_t))

/* Byte k of the padding of the snapshot at index. */
static inline uint8_t
s_pad_byte (uint64_t index, uint64_t k)
{
    return (uint8_t) (k * 167 + (k >> 12) + index);
}

#define CLUSTER_PAD_BLOCK 4096u         /* (k >> 12) is constant in a block */

/* The padding's block b (bytes b * 4096 ..) of the snapshot at index: the
   same bytes as s_pad_byte gives, made a block at a time so that filling
   and checking 64 MiB is a few memcpy/memcmp calls per block, not one
   instrumented access per byte (under TSan the byte loop starved the
   node threads of a loaded machine long enough for an election). */
static void
s_pad_block (uint64_t index, uint64_t b, uint8_t block [CLUSTER_PAD_BLOCK])
{
    for (uint64_t k = 0; k < 256; k++)
        block [k] = s_pad_byte (index, b * CLUSTER_PAD_BLOCK + k);
    for (uint64_t k = 256; k < CLUSTER_PAD_BLOCK; k += 256)
        memcpy (block + k, block, 256);     /* k * 167 repeats every 256 */
}

/* fsm.snapshot: serialises the record up to index (the applier's last
   applied index: the last command, or no-ops after it). The record is
   read under the mutex, like every access to it: the test thread resets
   it at the next start, after this applier ended. */
static int
s_snapshot_checked (void *arg, uint64_t index, void **data, size_t *size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    cluster_t *self = node->cluster;
    ck_assert_uint_lt (index, CLUSTER_LOG_MAX);
    uint64_t pad = self->snap.pad_bytes;
    size_t bytes = CLUSTER_SNAP_HEADER + index * sizeof (uint64_t) + pad;
    uint8_t *buf = (uint8_t *) malloc (bytes);
    ck_assert_ptr_nonnull (buf);
    pthread_mutex_lock (&self->mutex);
    bool ok = index >= node->applied;
    if (!ok && !self->violation [0])
        snprintf (self->violation, sizeof self->violation,
                  "n%u asked for a snapshot at %llu having applied %llu", node->id,
                  (unsigned long long) index, (unsigned long long) node->applied);
    if (ok) {
        s_skip (self, node, node->applied + 1, index + 1);
        node->applied = index;
        memcpy (buf + CLUSTER_SNAP_HEADER, node->record + 1, index * sizeof (uint64_t));
    }
    pthread_mutex_unlock (&self->mutex);
    if (!ok) {
        free (buf);
        return -1;
    }
    uint64_t header [3] = {CLUSTER_SNAP_MAGIC, index, pad};
    memcpy (buf, header, sizeof header);
    uint8_t *padding = buf + CLUSTER_SNAP_HEADER + index * sizeof (uint64_t);
    uint8_t block [CLUSTER_PAD_BLOCK];
    for (uint64_t k = 0; k < pad; k += CLUSTER_PAD_BLOCK) {
        s_pad_block (index, k / CLUSTER_PAD_BLOCK, block);
        memcpy (padding + k, block, (size_t) (pad - k < CLUSTER_PAD_BLOCK
                                              ? pad - k : CLUSTER_PAD_BLOCK));
    }
    *data = buf;
    *size = bytes;
    return 0;
}

/* Checks a snapshot's bytes: its header, size and padding. */
static bool
s_snapshot_ok (uint64_t index, const uint8_t *data, size_t size)
{
    uint64_t header [3];
    if (size < CLUSTER_SNAP_HEADER || index >= CLUSTER_LOG_MAX)
        return false;
    memcpy (header, data, sizeof header);
    if (header [0] != CLUSTER_SNAP_MAGIC || header [1] != index
        || size != CLUSTER_SNAP_HEADER + index * sizeof (uint64_t) + header [2])
        return false;
    const uint8_t *padding = data + CLUSTER_SNAP_HEADER + index * sizeof (uint64_t);
    uint8_t block [CLUSTER_PAD_BLOCK];
    for (uint64_t k = 0; k < header [2]; k += CLUSTER_PAD_BLOCK) {
        s_pad_block (index, k / CLUSTER_PAD_BLOCK, block);
        size_t n = (size_t) (header [2] - k < CLUSTER_PAD_BLOCK
                             ? header [2] - k : CLUSTER_PAD_BLOCK);
        if (memcmp (padding + k, block, n) != 0)
            return false;
    }
    return true;
}

/* Takes in the command (0: a no-op) that a snapshot says was applied at
   k, checking it against what every server applied. Mutex held. */
static void
s_restore_one (cluster_t *self, cluster_node_t *node, uint64_t k, uint64_t value)
{
    if (!self->violation [0]
        && ((value == 0 && self->values [k])
            || (value && self->skipped [k])
            || (value && self->values [k] && self->values [k] != value)))
        snprintf (self->violation, sizeof self->violation,
                  "n%u restored %llu at %llu where another applied %llu%s", node->id,
                  (unsigned long long) value, (unsigned long long) k,
                  (unsigned long long) self->values [k],
                  self->skipped [k] ? " (a no-op)" : "");
    if (value) {
        self->values [k] = value;
        self->appliers [k] |= (uint8_t) (1u << (node->id - 1));
    }
    else
        self->skipped [k] = 1;
    node->record [k] = value;
}

/* fsm.restore: replaces the record with the snapshot's and sets the last
   applied index to its index. zraft's rule on top of the lab's: within
   an incarnation a restore never goes backwards. */
static int
s_restore_checked (void *arg, uint64_t index, const void *data, size_t size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    cluster_t *self = node->cluster;
    bool ok = s_snapshot_ok (index, (const uint8_t *) data, size);
    pthread_mutex_lock (&self->mutex);
    if (!ok && !self->violation [0])
        snprintf (self->violation, sizeof self->violation,
                  "n%u restored a malformed snapshot at %llu (%zu bytes)",
                  node->id, (unsigned long long) index, size);
    else
    if (index <= node->applied && !self->violation [0])
        snprintf (self->violation, sizeof self->violation,
                  "n%u restored a snapshot at %llu having applied %llu",
                  node->id, (unsigned long long) index,
                  (unsigned long long) node->applied);
    if (ok) {
        const uint8_t *list = (const uint8_t *) data + CLUSTER_SNAP_HEADER;
        for (uint64_t k = 1; k <= index; k++) {
            uint64_t value;
            memcpy (&value, list + (k - 1) * sizeof value, sizeof value);
            s_restore_one (self, node, k, value);
        }
        if (index > node->record_top)
            node->record_top = index;
        node->applied = index;
        node->restores++;
    }
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->mutex);
    return ok ? 0 : -1;
}

/* The callbacks as zraft calls them: the checked ones above, each
   inside a check that no other callback of the server runs meanwhile
   (zraft.h: one at a time, whichever thread runs it). The count is
   under the mutex, which TSan sees (it cannot see an actor's end
   through czmq before the test frees the cluster). */
static void
s_callback_enter (cluster_node_t *node)
{
    cluster_t *self = node->cluster;
    pthread_mutex_lock (&self->mutex);
    if (node->in_callback++ > 0 && !self->violation [0])
        snprintf (self->violation, sizeof self->violation,
                  "n%u ran two callbacks at once", node->id);
    pthread_mutex_unlock (&self->mutex);
}

static void
s_callback_leave (cluster_node_t *node)
{
    cluster_t *self = node->cluster;
    pthread_mutex_lock (&self->mutex);
    node->in_callback--;
    pthread_mutex_unlock (&self->mutex);
}

static void
s_apply (void *arg, uint64_t index, uint64_t term, const void *data, size_t size,
         void **result, size_t *result_size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    s_callback_enter (node);
    s_apply_checked (arg, index, term, data, size, result, result_size);
    s_callback_leave (node);
}

static int
s_query (void *arg, const void *data, size_t size, void **result,
         size_t *result_size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    s_callback_enter (node);
    int rc = s_query_checked (arg, data, size, result, result_size);
    s_callback_leave (node);
    return rc;
}

static int
s_snapshot (void *arg, uint64_t index, void **data, size_t *size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    s_callback_enter (node);
    int rc = s_snapshot_checked (arg, index, data, size);
    s_callback_leave (node);
    return rc;
}

static int
s_restore (void *arg, uint64_t index, const void *data, size_t size)
{
    cluster_node_t *node = (cluster_node_t *) arg;
    s_callback_enter (node);
    int rc = s_restore_checked (arg, index, data, size);
    s_callback_leave (node);
    return rc;
}

/* Picks free loopback ports BELOW the kernel's ephemeral range (32768
   and up on Linux), so no outgoing connection can take one between this
   check and the server's bind; each process starts its search at its own
   offset so concurrent test processes rarely collide, and a port found
   busy is skipped. */
static void
s_reserve_endpoints (cluster_t *self)
{
    static uint32_t next;               /* forked tests inherit and advance it */
    if (next == 0)
        next = 20000 + (uint32_t) (getpid () * 97) % 10000;
    for (uint32_t id = 1; id <= self->n; id++) {
        bool found = false;
        for (int tries = 0; tries < 1000 && !found; tries++) {
            uint32_t port = next;
            next = next + 1 >= 32000 ? 20000 : next + 1;
            zsock_t *probe = zsock_new (ZMQ_ROUTER);
            ck_assert_ptr_nonnull (probe);
            found = zsock_bind (probe, "tcp://127.0.0.1:%u", port) == (int) port;
            zsock_destroy (&probe);
            if (found)
                snprintf (self->nodes [id].endpoint, sizeof self->nodes [id].endpoint,
                          "tcp://127.0.0.1:%u", port);
        }
        ck_assert_msg (found, "no free port below the ephemeral range");
    }
}

static void s_faults (cluster_t *self, uint32_t id);

static cluster_t *s_new (uint32_t n, const cluster_snapshots_t *snap);

cluster_t *
cluster_new (uint32_t n)
{
    return s_new (n, NULL);
}

cluster_t *
cluster_new_snapshots (uint32_t n, const cluster_snapshots_t *snap)
{
    ck_assert_ptr_nonnull (snap);
    return s_new (n, snap);
}

/* Creates the cluster, in snapshot mode if snap is not NULL. */
static cluster_t *
s_new (uint32_t n, const cluster_snapshots_t *snap)
{
    ck_assert (n >= 1 && n <= 8);
    cluster_t *self = (cluster_t *) calloc (1, sizeof (cluster_t));
    ck_assert_ptr_nonnull (self);
    self->n = n;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_mutex_init (&self->handles, NULL);
    pthread_cond_init (&self->changed, NULL);
    self->values = (uint64_t *) calloc (CLUSTER_LOG_MAX, sizeof (uint64_t));
    self->appliers = (uint8_t *) calloc (CLUSTER_LOG_MAX, 1);
    self->skipped = (uint8_t *) calloc (CLUSTER_LOG_MAX, 1);
    ck_assert (self->values && self->appliers && self->skipped);
    if (snap) {
        self->snapshots = true;
        self->snap = *snap;
    }
    snprintf (self->root, sizeof self->root, "/tmp/zraft-test-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (self->root));
    s_reserve_endpoints (self);
    for (uint32_t id = 1; id <= n; id++) {
        cluster_node_t *node = &self->nodes [id];
        node->cluster = self;
        node->id = id;
        node->connected = true;
        snprintf (node->dir, sizeof node->dir, "%s/n%u", self->root, id);
        node->inbox = zlist_new ();
        ck_assert_ptr_nonnull (node->inbox);
        if (snap) {
            /* Untouched pages cost nothing: only what is applied is. */
            node->record = (uint64_t *) calloc (CLUSTER_LOG_MAX, sizeof (uint64_t));
            ck_assert_ptr_nonnull (node->record);
        }
    }
    for (uint32_t id = 1; id <= n; id++)
        cluster_start (self, id);
    return self;
}

/* The forked test's log (see cluster_test_setup). */
static FILE *s_log;

/* zraft_log_set's callback: the library's lines go into the test's log,
   with czmq's level letters ("E: ..."), as czmq's own do. */
static void
s_log_line (void *arg, int level, const char *line)
{
    static const char letters [] = "EWNID";
    FILE *file = (FILE *) arg;
    ck_assert (level >= ZRAFT_LOG_ERROR && level <= ZRAFT_LOG_DEBUG);
    fprintf (file, "%c: %s\n", letters [level], line);
}

/* Fills why with the error lines czmq logged in this test since the
   last call (zraft logs why a server could not start), or says there
   are none. */
static long s_log_read;                 /* what s_log_errors has read */

static const char *
s_log_errors (char *why, size_t size)
{
    snprintf (why, size, "(no error logged)");
    if (!s_log || s_log == stderr)
        return why;
    fflush (s_log);
    fseek (s_log, s_log_read, SEEK_SET);
    char line [512];
    why [0] = '\0';
    while (fgets (line, sizeof line, s_log))
        if (!strncmp (line, "E:", 2)) {
            line [strcspn (line, "\n")] = '\0';
            line [200] = '\0';         /* a line is enough to say why */
            size_t used = strlen (why);
            if (used + strlen (line) + 4 > size)
                used = 0;               /* keep the latest ones */
            snprintf (why + used, size - used, "%s%.200s", used ? " | " : "", line);
        }
    fseek (s_log, 0, SEEK_END);
    s_log_read = ftell (s_log);
    if (!why [0])
        snprintf (why, size, "(no error logged)");
    return why;
}

void
cluster_start (cluster_t *self, uint32_t id)
{
    cluster_node_t *node = &self->nodes [id];
    ck_assert_ptr_null (node->node);
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = id;
    config.n_servers = self->n;
    for (uint32_t i = 0; i < self->n; i++) {
        config.servers [i].id = i + 1;
        config.servers [i].endpoint = self->nodes [i + 1].endpoint;
    }
    config.data_dir = node->dir;
    config.heartbeat_ms = CLUSTER_HEARTBEAT_MS;
    config.election_timeout_ms = CLUSTER_ELECTION_MS;
    config.segment_bytes = CLUSTER_SEGMENT_BYTES;
    if (self->submit_max)
        config.submit_max = self->submit_max;
    if (self->subs_max_set)
        config.subs_max = self->subs_max;
    config.query_on_node = self->query_on_node;
    config.apply_on_node = self->apply_on_node;
    config.feed_background = !self->feed_foreground;
    zraft_fsm_t fsm = {.apply = s_apply, .query = s_query, .arg = node};
    if (self->snapshots) {
        /* Snapshots by count only, as the lab's every 10 applies. */
        config.snapshot_entries = self->snap.entries;
        config.snapshot_bytes = 0;
        config.snapshot_trailing = self->snap.trailing;
        config.snapshot_chunk_bytes = self->snap.chunk_bytes;
        config.wal_catchup = self->snap.wal_catchup;
        fsm.snapshot = s_snapshot;
        fsm.restore = s_restore;
    }
    pthread_mutex_lock (&self->mutex);
    node->applied = 0;                  /* a new incarnation applies from 1 */
    node->last_value = 0;
    node->restores = 0;
    if (node->record) {                 /* ...with a fresh record (lab 2025) */
        memset (node->record, 0, (node->record_top + 1) * sizeof (uint64_t));
        node->record_top = 0;
    }
    pthread_mutex_unlock (&self->mutex);
    node->node = zraft_new (&config, &fsm);
    if (!node->node) {
        char why [1024];
        ck_abort_msg ("n%u failed to start: %s", id, s_log_errors (why, sizeof why));
    }
    /* Re-apply the test's partitions to the new incarnation. */
    for (uint32_t other = 1; other <= self->n; other++) {
        if (other == id)
            continue;
        bool cut = !node->connected || !self->nodes [other].connected;
        ck_assert_int_eq (zraft_partition (node->node, other, cut, cut), 0);
    }
    s_faults (self, id);
}

/* Frees the events kept for server id. */
static void
s_inbox_clear (cluster_node_t *node)
{
    zraft_event_t *event;
    while (node->inbox && (event = (zraft_event_t *) zlist_pop (node->inbox))) {
        zraft_event_release (event);
        free (event);
    }
}

void
cluster_set_submit_max (cluster_t *self, uint32_t submit_max)
{
    self->submit_max = submit_max;
}

void
cluster_set_subs_max (cluster_t *self, uint32_t subs_max)
{
    self->subs_max = subs_max;
    self->subs_max_set = true;
}

void
cluster_set_query_on_node (cluster_t *self, bool on)
{
    self->query_on_node = on;
}

void
cluster_set_feed_background (cluster_t *self, bool on)
{
    self->feed_foreground = !on;
}

void
cluster_set_apply_on_node (cluster_t *self, bool on)
{
    self->apply_on_node = on;
}

void
cluster_restart_all (cluster_t *self)
{
    for (uint32_t id = 1; id <= self->n; id++) {
        cluster_stop (self, id);
        cluster_start (self, id);
    }
}

void
cluster_stop (cluster_t *self, uint32_t id)
{
    cluster_node_t *node = &self->nodes [id];
    ck_assert_ptr_nonnull (node->node);
    zraft_destroy (&node->node);
    s_inbox_clear (node);               /* the tokens went with the handle */
}

void
cluster_remove_dir (const char *path)
{
    zdir_t *dir = zdir_new (path, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
}

void
cluster_destroy (cluster_t **self_p)
{
    cluster_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t id = 1; id <= self->n; id++) {
        if (self->nodes [id].node)
            zraft_destroy (&self->nodes [id].node);
        s_inbox_clear (&self->nodes [id]);
        zlist_destroy (&self->nodes [id].inbox);
    }
    cluster_check (self);
    cluster_remove_dir (self->root);
    free (self->values);
    free (self->appliers);
    free (self->skipped);
    for (uint32_t id = 1; id <= self->n; id++)
        free (self->nodes [id].record);
    pthread_cond_destroy (&self->changed);
    pthread_mutex_destroy (&self->mutex);
    pthread_mutex_destroy (&self->handles);
    free (self);
    *self_p = NULL;
}

/* Applies the connected flags of a and b to the link between them. */
static void
s_link (cluster_t *self, uint32_t a, uint32_t b)
{
    bool cut = !self->nodes [a].connected || !self->nodes [b].connected;
    if (self->nodes [a].node)
        ck_assert_int_eq (zraft_partition (self->nodes [a].node, b, cut, cut), 0);
    if (self->nodes [b].node)
        ck_assert_int_eq (zraft_partition (self->nodes [b].node, a, cut, cut), 0);
}

void
cluster_disconnect (cluster_t *self, uint32_t id)
{
    self->nodes [id].connected = false;
    for (uint32_t other = 1; other <= self->n; other++)
        if (other != id)
            s_link (self, id, other);
}

void
cluster_connect (cluster_t *self, uint32_t id)
{
    self->nodes [id].connected = true;
    for (uint32_t other = 1; other <= self->n; other++)
        if (other != id)
            s_link (self, id, other);
}

/* Applies the unreliable flag to every incoming link of server id. */
static void
s_faults (cluster_t *self, uint32_t id)
{
    zraft_link_fault_t fault = {0};
    if (self->unreliable)
        fault = (zraft_link_fault_t) {.drop_ppm = 100000, .jitter_ms = 27};
    for (uint32_t peer = 1; peer <= self->n; peer++)
        if (peer != id && self->nodes [id].node)
            ck_assert_int_eq (zraft_fault (self->nodes [id].node, peer, &fault), 0);
}

void
cluster_unreliable (cluster_t *self, bool unreliable)
{
    self->unreliable = unreliable;
    for (uint32_t id = 1; id <= self->n; id++)
        s_faults (self, id);
}

zraft_t *
cluster_node (cluster_t *self, uint32_t id)
{
    ck_assert (id >= 1 && id <= self->n);
    return self->nodes [id].node;
}

void
cluster_status (cluster_t *self, uint32_t id, zraft_status_t *status)
{
    ck_assert_ptr_nonnull (self->nodes [id].node);
    ck_assert_int_eq (zraft_status (self->nodes [id].node, status), 0);
}

const char *
cluster_endpoint (cluster_t *self, uint32_t id)
{
    return self->nodes [id].endpoint;
}

const char *
cluster_dir (cluster_t *self, uint32_t id)
{
    return self->nodes [id].dir;
}

void
cluster_set_dir (cluster_t *self, uint32_t id, const char *dir)
{
    cluster_node_t *node = &self->nodes [id];
    ck_assert_ptr_null (node->node);
    ck_assert_uint_lt (strlen (dir), sizeof node->dir);
    snprintf (node->dir, sizeof node->dir, "%s", dir);
}

void
cluster_check (cluster_t *self)
{
    pthread_mutex_lock (&self->mutex);
    char violation [256];
    snprintf (violation, sizeof violation, "%s", self->violation);
    pthread_mutex_unlock (&self->mutex);
    ck_assert_msg (violation [0] == 0, "apply checker: %s", violation);
}

/* Blocks until an apply happens or ms pass (whichever first). */
static void
s_wait_change (cluster_t *self, int64_t ms)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + ms * 1000000;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock (&self->mutex);
    pthread_cond_timedwait (&self->changed, &self->mutex, &ts);
    pthread_mutex_unlock (&self->mutex);
}

void
cluster_idle (cluster_t *self, int64_t ms)
{
    int64_t deadline = zclock_mono () + ms;
    while (zclock_mono () < deadline) {
        s_wait_change (self, deadline - zclock_mono ());
        cluster_check (self);
    }
}

/* One look at who leads: the leader of the highest term among running,
   connected servers if exactly one claims it, else 0. */
static uint32_t
s_leader_now (cluster_t *self)
{
    uint64_t top_term = 0;
    uint32_t leader = 0, leaders = 0;
    for (uint32_t id = 1; id <= self->n; id++) {
        if (!self->nodes [id].node || !self->nodes [id].connected)
            continue;
        zraft_status_t st;
        cluster_status (self, id, &st);
        if (st.role != ZRAFT_LEADER)
            continue;
        if (st.term > top_term) {
            top_term = st.term;
            leader = id;
            leaders = 1;
        }
        else
        if (st.term == top_term)
            leaders++;
    }
    ck_assert_msg (leaders <= 1, "two leaders in term %llu", (unsigned long long) top_term);
    return leader;
}

uint32_t
cluster_leader (cluster_t *self)
{
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    while (zclock_mono () < deadline) {
        uint32_t leader = s_leader_now (self);
        if (leader)
            return leader;
        s_wait_change (self, CLUSTER_HEARTBEAT_MS / 2);
    }
    ck_abort_msg ("no leader within %d ms", CLUSTER_LEADER_WAIT_MS);
    return 0;
}

uint32_t
cluster_n_committed (cluster_t *self, uint64_t index, uint64_t *value)
{
    ck_assert (index < CLUSTER_LOG_MAX);
    cluster_check (self);
    pthread_mutex_lock (&self->mutex);
    uint32_t count = (uint32_t) __builtin_popcount (self->appliers [index]);
    if (value)
        *value = self->values [index];
    pthread_mutex_unlock (&self->mutex);
    return count;
}

uint32_t
cluster_wait_committed (cluster_t *self, uint64_t index, uint32_t n,
                        int64_t timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    uint32_t count = cluster_n_committed (self, index, NULL);
    while (count < n && zclock_mono () < deadline) {
        s_wait_change (self, deadline - zclock_mono ());
        count = cluster_n_committed (self, index, NULL);
    }
    return count;
}

/* ---------------------------------------------------------------------
   Events: every server's are received into its inbox whenever the
   cluster touches its handle, so its submissions never reach submit_max
   however many a test makes; tests take the ones they wait for. */

/* Receives what server id's handle has (timeout_ms 0), or waits up to
   timeout_ms for one event; keeps them in its inbox. Returns how many
   were received. */
static uint32_t
s_receive (cluster_t *self, uint32_t id, int timeout_ms)
{
    cluster_node_t *node = &self->nodes [id];
    uint32_t got = 0;
    while (node->node) {
        zraft_event_t *event = (zraft_event_t *) calloc (1, sizeof *event);
        ck_assert_ptr_nonnull (event);
        int rc = zraft_recv (node->node, event, got ? 0 : timeout_ms);
        if (rc != 0) {
            ck_assert_int_eq (rc, ZRAFT_EAGAIN);
            free (event);
            break;
        }
        got++;
        ck_assert_int_eq (zlist_append (node->inbox, event), 0);
        if (zlist_size (node->inbox) > CLUSTER_INBOX_MAX) {
            zraft_event_t *old = (zraft_event_t *) zlist_pop (node->inbox);
            zraft_event_release (old);
            free (old);
        }
    }
    return got;
}

void
cluster_drain (cluster_t *self, uint32_t id)
{
    ck_assert (id >= 1 && id <= self->n);
    s_receive (self, id, 0);
}

/* True if event is of type (and, but for a ROLE, of token). */
static bool
s_event_is (const zraft_event_t *event, zraft_event_type_t type, uint64_t token)
{
    return event->type == type && (type == ZRAFT_EVENT_ROLE || event->token == token);
}

/* Takes from server id's inbox the first event of type (and, but for a
   ROLE, of token) into *event; returns false if none. */
static bool
s_take (cluster_node_t *node, zraft_event_type_t type, uint64_t token,
        zraft_event_t *event)
{
    zraft_event_t *kept = (zraft_event_t *) zlist_first (node->inbox);
    while (kept && !s_event_is (kept, type, token))
        kept = (zraft_event_t *) zlist_next (node->inbox);
    if (!kept)
        return false;
    zlist_remove (node->inbox, kept);
    *event = *kept;
    free (kept);
    return true;
}

/* Waits up to timeout_ms for an event of type (and token) on server id. */
static bool
s_wait_event (cluster_t *self, uint32_t id, zraft_event_type_t type,
              uint64_t token, int64_t timeout_ms, zraft_event_t *event)
{
    ck_assert (id >= 1 && id <= self->n && event);
    memset (event, 0, sizeof *event);
    cluster_node_t *node = &self->nodes [id];
    int64_t deadline = zclock_mono () + timeout_ms;
    s_receive (self, id, 0);
    while (!s_take (node, type, token, event)) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0 || !node->node)
            return false;
        s_receive (self, id, (int) left);
    }
    return true;
}

bool
cluster_result (cluster_t *self, uint32_t id, uint64_t token, int64_t timeout_ms,
                zraft_event_t *event)
{
    return s_wait_event (self, id, ZRAFT_EVENT_RESULT, token, timeout_ms, event);
}

void
cluster_result_wait (cluster_t *self, uint32_t id, uint64_t token,
                     zraft_event_t *event)
{
    ck_assert_msg (cluster_result (self, id, token, CLUSTER_COMMIT_WAIT_MS, event),
                   "no RESULT for token %llu on n%u", (unsigned long long) token, id);
    ck_assert_int_eq (event->type, ZRAFT_EVENT_RESULT);
    ck_assert_uint_eq (event->token, token);
}

bool
cluster_role_event (cluster_t *self, uint32_t id, int64_t timeout_ms,
                    zraft_event_t *event)
{
    return s_wait_event (self, id, ZRAFT_EVENT_ROLE, 0, timeout_ms, event);
}

bool
cluster_event (cluster_t *self, uint32_t id, zraft_event_type_t type,
               uint64_t token, int64_t timeout_ms, zraft_event_t *event)
{
    return s_wait_event (self, id, type, token, timeout_ms, event);
}

uint32_t
cluster_events_count (cluster_t *self, uint32_t id, zraft_event_type_t type,
                      uint64_t token)
{
    ck_assert (id >= 1 && id <= self->n);
    cluster_node_t *node = &self->nodes [id];
    s_receive (self, id, 0);
    uint32_t count = 0;
    for (zraft_event_t *kept = (zraft_event_t *) zlist_first (node->inbox); kept;
         kept = (zraft_event_t *) zlist_next (node->inbox))
        count += s_event_is (kept, type, token);
    return count;
}

uint64_t
cluster_token (cluster_t *self)
{
    pthread_mutex_lock (&self->mutex);
    uint64_t token = ++self->tokens;
    pthread_mutex_unlock (&self->mutex);
    return token;
}

int
cluster_submit (cluster_t *self, uint32_t id, uint64_t value, uint64_t *token)
{
    ck_assert (id >= 1 && id <= self->n && token);
    ck_assert_ptr_nonnull (self->nodes [id].node);
    s_receive (self, id, 0);
    *token = cluster_token (self);
    return zraft_submit (self->nodes [id].node, *token, &value, sizeof value);
}

/* Whether status, in a RESULT that came before the submission's STATUS,
   says the node refused it (rather than appending it). */
static bool
s_refused (int status)
{
    return status == ZRAFT_ENOTLEADER || status == ZRAFT_EBUSY
           || status == ZRAFT_EIO || status == ZRAFT_ESHUTDOWN;
}

/* The lab's Start(): submits data on server id and learns at once
   whether it was appended, and where. A STATUS right after the
   submission is answered after it was handled and after its refusal,
   if any, was sent (node.h), so: a refusal is in the events; otherwise
   the entry is the leader's last. Returns 0 or the refusal, with
   *index, *term and *token (each may be NULL). */
static int
s_start (cluster_t *self, uint32_t id, const void *data, size_t size,
         uint64_t *index, uint64_t *term, uint64_t *token)
{
    zraft_t *handle = self->nodes [id].node;
    s_receive (self, id, 0);
    uint64_t mine = cluster_token (self);
    if (token)
        *token = mine;
    int rc = zraft_submit (handle, mine, data, size);
    zraft_status_t st;
    if (rc == 0)
        rc = zraft_status (handle, &st);
    if (rc != 0)
        return rc;
    s_receive (self, id, 0);
    zraft_event_t event;
    if (s_take (&self->nodes [id], ZRAFT_EVENT_RESULT, mine, &event)) {
        if (s_refused (event.status))
            rc = event.status;
        else {
            st.last_index = event.index;        /* it went fast: the outcome */
            st.term = event.term;
        }
        zraft_event_release (&event);
    }
    if (rc == 0 && index)
        *index = st.last_index;
    if (rc == 0 && term)
        *term = st.term;
    return rc;
}

int
cluster_propose (cluster_t *self, uint32_t id, uint64_t value, uint64_t *index)
{
    ck_assert_ptr_nonnull (self->nodes [id].node);
    return s_start (self, id, &value, sizeof value, index, NULL, NULL);
}

/* Writes every server's state into buf, for failure messages: who is
   stopped or cut off, and each running one's role, term, leader, commit,
   last index and applied index. */
static void
s_describe (cluster_t *self, char *buf, size_t size)
{
    size_t used = 0;
    buf [0] = 0;
    for (uint32_t id = 1; id <= self->n && used < size; id++) {
        cluster_node_t *node = &self->nodes [id];
        zraft_status_t st;
        if (!node->node || zraft_status (node->node, &st) != 0) {
            used += (size_t) snprintf (buf + used, size - used, " n%u stopped;", id);
            continue;
        }
        used += (size_t) snprintf (buf + used, size - used,
                                   " n%u%s role=%d term=%llu leader=%u commit=%llu "
                                   "last=%llu applied=%llu;", id,
                                   node->connected ? "" : " (cut)", (int) st.role,
                                   (unsigned long long) st.term, st.leader,
                                   (unsigned long long) st.commit,
                                   (unsigned long long) st.last_index,
                                   (unsigned long long) st.applied);
    }
}

static uint64_t s_one (cluster_t *self, uint64_t value, size_t size,
                       uint32_t expected, bool retry, bool shared);

uint64_t
cluster_one (cluster_t *self, uint64_t value, uint32_t expected, bool retry)
{
    return s_one (self, value, sizeof value, expected, retry, false);
}

/* ---------------------------------------------------------------------
   Added for the lab suite (tests/cluster/test_lab.c): threads, long
   commands, per-link faults. */

void
cluster_lock (cluster_t *self)
{
    pthread_mutex_lock (&self->handles);
}

void
cluster_unlock (cluster_t *self)
{
    pthread_mutex_unlock (&self->handles);
}

bool
cluster_is_running (cluster_t *self, uint32_t id)
{
    ck_assert (id >= 1 && id <= self->n);
    return self->nodes [id].node != NULL;
}

bool
cluster_is_connected (cluster_t *self, uint32_t id)
{
    ck_assert (id >= 1 && id <= self->n);
    return self->nodes [id].connected;
}

/* Byte k of a long command carrying value: a function of both, so a
   torn, shifted or mixed-up command fails the checker. */
static uint8_t
s_payload_byte (uint64_t value, size_t k)
{
    uint64_t x = value ^ (k * 0x9E3779B97F4A7C15ull);
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    return (uint8_t) (x >> 56);
}

static bool
s_payload_ok (const void *data, size_t size)
{
    if (size < sizeof (uint64_t) || size > ZRAFT_ENTRY_BYTES_MAX)
        return false;
    const uint8_t *bytes = (const uint8_t *) data;
    uint64_t value;
    memcpy (&value, bytes, sizeof value);
    for (size_t k = sizeof value; k < size; k++)
        if (bytes [k] != s_payload_byte (value, k))
            return false;
    return true;
}

/* Proposes value, as a command of size bytes, on server id: returns
   s_start's code, or ZRAFT_ESHUTDOWN if id is stopped. */
static int
s_propose (cluster_t *self, uint32_t id, uint64_t value, size_t size,
           uint64_t *index, uint64_t *term)
{
    if (!self->nodes [id].node)
        return ZRAFT_ESHUTDOWN;
    if (size == sizeof value)
        return s_start (self, id, &value, sizeof value, index, term, NULL);
    ck_assert (size > sizeof value && size <= ZRAFT_ENTRY_BYTES_MAX);
    uint8_t *data = (uint8_t *) malloc (size);
    ck_assert_ptr_nonnull (data);
    memcpy (data, &value, sizeof value);
    for (size_t k = sizeof value; k < size; k++)
        data [k] = s_payload_byte (value, k);
    pthread_mutex_lock (&self->mutex);
    self->long_payloads = true;
    pthread_mutex_unlock (&self->mutex);
    int rc = s_start (self, id, data, size, index, term, NULL);
    free (data);
    return rc;
}

int
cluster_propose_shared (cluster_t *self, uint32_t id, uint64_t value,
                        uint64_t *index, uint64_t *term)
{
    ck_assert (id >= 1 && id <= self->n);
    cluster_lock (self);
    int rc = s_propose (self, id, value, sizeof value, index, term);
    cluster_unlock (self);
    return rc;
}

int
cluster_propose_bytes (cluster_t *self, uint32_t id, uint64_t value,
                       size_t size, uint64_t *index)
{
    ck_assert (id >= 1 && id <= self->n);
    return s_propose (self, id, value, size, index, NULL);
}

/* One round of one(): proposes on the first running, connected server
   that accepts, from start on; returns the index or 0. */
static uint64_t
s_one_propose (cluster_t *self, uint64_t value, size_t size, uint32_t start,
               bool shared)
{
    uint64_t index = 0;
    if (shared)
        cluster_lock (self);
    for (uint32_t k = 0; k < self->n && !index; k++) {
        uint32_t id = (start + k - 1) % self->n + 1;
        if (self->nodes [id].node && self->nodes [id].connected
            && s_propose (self, id, value, size, &index, NULL) != 0)
            index = 0;
    }
    if (shared)
        cluster_unlock (self);
    return index;
}

/* cluster_one, generalised: commands of size bytes, and the cluster
   lock taken around proposals when shared. */
static uint64_t
s_one (cluster_t *self, uint64_t value, size_t size, uint32_t expected,
       bool retry, bool shared)
{
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    uint32_t start = 1;
    while (zclock_mono () < deadline) {
        uint64_t index = s_one_propose (self, value, size, start, shared);
        start = start % self->n + 1;
        if (index) {
            int64_t wait = deadline - zclock_mono ();
            if (wait > 2000)
                wait = 2000;
            cluster_wait_committed (self, index, expected, wait);
            uint64_t got = 0;
            if (cluster_n_committed (self, index, &got) >= expected && got == value)
                return index;
            ck_assert_msg (retry, "one(%llu) failed to reach agreement",
                           (unsigned long long) value);
        }
        else
            s_wait_change (self, CLUSTER_HEARTBEAT_MS);
    }
    char states [512];
    s_describe (self, states, sizeof states);
    ck_abort_msg ("one(%llu) failed to reach agreement in %d ms;%s",
                  (unsigned long long) value, CLUSTER_COMMIT_WAIT_MS, states);
    return 0;
}

uint64_t
cluster_one_shared (cluster_t *self, uint64_t value, uint32_t expected, bool retry)
{
    return s_one (self, value, sizeof value, expected, retry, true);
}

uint64_t
cluster_one_bytes (cluster_t *self, uint64_t value, size_t size,
                   uint32_t expected, bool retry)
{
    return s_one (self, value, size, expected, retry, false);
}

void
cluster_fault_link (cluster_t *self, uint32_t from, uint32_t to,
                    uint32_t drop_ppm, uint32_t delay_ms, uint32_t jitter_ms)
{
    ck_assert (from >= 1 && from <= self->n && to >= 1 && to <= self->n);
    ck_assert (from != to);
    if (!self->nodes [to].node)
        return;
    zraft_link_fault_t fault = {.drop_ppm = drop_ppm, .delay_ms = delay_ms,
                                .jitter_ms = jitter_ms};
    ck_assert_int_eq (zraft_fault (self->nodes [to].node, from, &fault), 0);
}

const char *
cluster_log_errors (char *why, size_t size)
{
    return s_log_errors (why, size);
}

void
cluster_test_setup (void)
{
    zsys_init ();
    s_log_read = 0;
    s_log = getenv ("ZR_VERBOSE") ? stderr : tmpfile ();
    ck_assert_ptr_nonnull (s_log);
    zsys_set_logstream (s_log);
    if (s_log != stderr)
        zraft_log_set (ZRAFT_LOG_INFO, s_log_line, s_log);
}

void
cluster_test_teardown (void)
{
    zsys_shutdown ();
    zraft_log_set (ZRAFT_LOG_NOTICE, NULL, NULL);
    if (s_log == stderr)
        return;
    rewind (s_log);
    char line [512];
    while (fgets (line, sizeof line, s_log))
        ck_assert_msg (!strstr (line, "dangling"), "czmq: %s", line);
    fclose (s_log);
}

/* ---------------------------------------------------------------------
   Added for the lab's part D (tests/cluster/test_snapshot.c). */

uint32_t
cluster_files (cluster_t *self, uint32_t id, const char *prefix)
{
    ck_assert (id >= 1 && id <= self->n);
    DIR *dir = opendir (self->nodes [id].dir);
    ck_assert_ptr_nonnull (dir);
    uint32_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (!strncmp (entry->d_name, prefix, strlen (prefix)))
            count++;
    closedir (dir);
    return count;
}

uint64_t
cluster_restores (cluster_t *self, uint32_t id)
{
    ck_assert (id >= 1 && id <= self->n);
    pthread_mutex_lock (&self->mutex);
    uint64_t restores = self->nodes [id].restores;
    pthread_mutex_unlock (&self->mutex);
    return restores;
}

uint64_t
cluster_applied (cluster_t *self, uint32_t id)
{
    ck_assert (id >= 1 && id <= self->n);
    pthread_mutex_lock (&self->mutex);
    uint64_t applied = self->nodes [id].applied;
    pthread_mutex_unlock (&self->mutex);
    return applied;
}

/* Copies every file of directory from into directory to (WAL segments:
   a flat directory), replacing files of the same name. */
void
cluster_copy_files (const char *from, const char *to)
{
    DIR *d = opendir (from);
    ck_assert_ptr_nonnull (d);
    struct dirent *de;
    char src [512], dst [512];
    static char buf [1 << 16];
    while ((de = readdir (d))) {
        if (de->d_name [0] == '.')
            continue;
        snprintf (src, sizeof src, "%s/%s", from, de->d_name);
        snprintf (dst, sizeof dst, "%s/%s", to, de->d_name);
        int in = open (src, O_RDONLY), out = open (dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ck_assert_msg (in >= 0 && out >= 0, "copy %s -> %s", src, dst);
        ssize_t n;
        while ((n = read (in, buf, sizeof buf)) > 0)
            ck_assert_int_eq (write (out, buf, (size_t) n), n);
        ck_assert_int_eq (n, 0);
        ck_assert_int_eq (fsync (out), 0);
        close (in);
        close (out);
    }
    closedir (d);
}

/* Moves stopped server f's data to a new 5 MiB tmpfs (home keeps the
   path it had, small gets the mount point) and starts it there. */
void
cluster_small_disk (cluster_t *c, uint32_t f, char *home, size_t home_size,
              char *small, size_t small_size)
{
    cluster_stop (c, f);
    snprintf (home, home_size, "%s", cluster_dir (c, f));
    snprintf (small, small_size, "/tmp/zraft-full-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (small));
    ck_assert_msg (mount ("tmpfs", small, "tmpfs", 0, "size=5m,mode=0700") == 0,
                   "mount tmpfs on %s: %s (the suite runs as root)", small,
                   strerror (errno));
    cluster_copy_files (home, small);
    cluster_set_dir (c, f, small);
    cluster_start (c, f);
}
