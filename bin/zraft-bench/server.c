/*  =========================================================================
    server - one zraft server of the bench: its state machine and start

    The benchmark's state machine (a counter of what was applied, plus
    --state-bytes of padding that stands for a large application state),
    one per server id; starting a server with the flags' configuration;
    the link faults of --drop and --delay; a status dump for failure
    reports. Used by the in-process harness and the drills (--procs runs
    zraft-node instead).
    =========================================================================
*/
#include "bench.h"
#include "server.h"

#define S_NEW_ATTEMPTS 10               /* zraft_new retries (port release) */

/* Every server's state machine, by id - 1: static, so that a drill can
   stop a server and restart it on the same state. */
static zb_fsm_t s_fsms [ZRAFT_NODES_MAX];

/* Checksum of size bytes: four 64-bit lanes of multiply-xor, so that a
   GiB takes a fraction of a second; any flipped or moved word changes
   it. */
static uint64_t
s_checksum (const byte *data, size_t size)
{
    uint64_t lane [4] = {1, 2, 3, 4};
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    size_t i = 0;
    for (; i + 32 <= size; i += 32)
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy (&w, data + i + 8 * j, sizeof w);
            lane [j] = (lane [j] ^ w) * k;
        }
    for (; i < size; i++)
        lane [0] = (lane [0] ^ data [i]) * k;
    return lane [0] ^ (lane [1] << 1) ^ (lane [2] << 2) ^ (lane [3] << 3)
           ^ size;
}

/* Gives fsm its padding of bytes (a pseudo-random pattern, so that no
   layer can skip or compress it) once: a restarted server keeps it.
   Returns 0, or -1 if out of memory. */
static int
s_fsm_pad (zb_fsm_t *fsm, uint64_t bytes)
{
    if (bytes == 0)
        fsm->sum = s_checksum (NULL, 0);    /* what restore will compute */
    if (fsm->padding || bytes == 0)
        return 0;
    fsm->padding = (byte *) malloc ((size_t) bytes);
    if (!fsm->padding)
        return -1;
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy (fsm->padding + i, &x, sizeof x);
    }
    memset (fsm->padding + (bytes & ~7ull), 0x5a, bytes & 7);
    fsm->pad_bytes = (size_t) bytes;
    fsm->sum = s_checksum (fsm->padding, fsm->pad_bytes);
    return 0;
}

/* The state machine of server id (1..ZRAFT_NODES_MAX). */
zb_fsm_t *
zb_server_fsm (uint32_t id)
{
    assert (id >= 1 && id <= ZRAFT_NODES_MAX);
    return &s_fsms [id - 1];
}

/* Frees every server's padding, at exit. */
void
zb_server_fsms_free (void)
{
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++) {
        free (s_fsms [i].padding);
        memset (&s_fsms [i], 0, sizeof s_fsms [i]);
    }
}

static void
s_fsm_apply (void *arg, uint64_t index, uint64_t term, const void *data,
             size_t size, void **result, size_t *result_size)
{
    zb_fsm_t *fsm = (zb_fsm_t *) arg;
    (void) term;
    (void) data;
    (void) result;                      /* no result: the load counts */
    (void) result_size;
    fsm->applied = index;
    fsm->bytes += size;
}

static int
s_fsm_snapshot (void *arg, uint64_t index, void **data, size_t *size)
{
    zb_fsm_t *fsm = (zb_fsm_t *) arg;
    assert (index == fsm->applied || fsm->applied == 0);
    byte *buf = (byte *) malloc (ZB_FSM_HEADER + fsm->pad_bytes);
    if (!buf)
        return -1;
    uint64_t header [3] = {fsm->applied, fsm->bytes, fsm->sum};
    memcpy (buf, header, ZB_FSM_HEADER);
    if (fsm->pad_bytes)
        memcpy (buf + ZB_FSM_HEADER, fsm->padding, fsm->pad_bytes);
    *data = buf;
    *size = ZB_FSM_HEADER + fsm->pad_bytes;
    return 0;
}

static int
s_fsm_restore (void *arg, uint64_t index, const void *data, size_t size)
{
    zb_fsm_t *fsm = (zb_fsm_t *) arg;
    int64_t start = zb_now_us ();
    if (size != ZB_FSM_HEADER + fsm->pad_bytes) {
        fprintf (stderr, "zraft-bench: restore: %zu bytes, want %zu"
                 " (--state-bytes differs?)\n", size,
                 ZB_FSM_HEADER + fsm->pad_bytes);
        return -1;
    }
    uint64_t header [3];
    memcpy (header, data, ZB_FSM_HEADER);
    if (fsm->pad_bytes)
        memcpy (fsm->padding, (const byte *) data + ZB_FSM_HEADER,
                fsm->pad_bytes);
    uint64_t sum = s_checksum (fsm->padding, fsm->pad_bytes);
    if (sum != header [2]) {
        fprintf (stderr, "zraft-bench: restore: checksum %016" PRIx64
                 ", the snapshot says %016" PRIx64 "\n", sum, header [2]);
        return -1;
    }
    fsm->applied = index;
    fsm->bytes = header [1];
    fsm->sum = sum;
    fsm->restores++;
    fsm->restore_at_us = start;
    fsm->restore_us = zb_now_us () - start;
    return 0;
}

/* Starts server id of opts->nodes on ports, its WAL in data_dir. The
   port may still be held by a socket closing, so a failed start is
   retried a few times. Returns the server, or NULL after a message. */
zraft_t *
zb_server_start (const zb_opts_t *opts, uint32_t id, const uint16_t *ports,
              const char *data_dir)
{
    assert (id >= 1 && id <= opts->nodes);
    char endpoints [ZRAFT_NODES_MAX][32];
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = id;
    config.n_servers = opts->nodes;
    for (uint32_t i = 0; i < opts->nodes; i++) {
        snprintf (endpoints [i], sizeof endpoints [i], "tcp://127.0.0.1:%u",
                  ports [i]);
        config.servers [i].id = i + 1;
        config.servers [i].endpoint = endpoints [i];
    }
    config.data_dir = data_dir;
    config.heartbeat_ms = opts->heartbeat_ms;
    config.election_timeout_ms = opts->election_ms;
    config.inflight_max = opts->window;
    config.batch_bytes = opts->batch_bytes;
    config.seed = opts->seed ? opts->seed + id : 0;
    config.submit_max = (uint32_t) zb_load_outstanding_max (opts);
    if (opts->snapshot_entries)
        config.snapshot_entries = opts->snapshot_entries;
    if (opts->snapshot_bytes_set)
        config.snapshot_bytes = opts->snapshot_bytes;
    if (opts->snapshot_chunk_bytes)
        config.snapshot_chunk_bytes = opts->snapshot_chunk_bytes;
    zraft_fsm_t fsm = {.apply = s_fsm_apply, .arg = &s_fsms [id - 1]};
    if (s_fsm_pad (&s_fsms [id - 1], opts->state_bytes)) {
        fprintf (stderr, "zraft-bench: n%u: no memory for --state-bytes"
                 " %" PRIu64 "\n", id, opts->state_bytes);
        return NULL;
    }
    if (!opts->no_snapshots) {
        fsm.snapshot = s_fsm_snapshot;
        fsm.restore = s_fsm_restore;
    }
    zraft_t *node = NULL;
    for (int attempt = 0; attempt < S_NEW_ATTEMPTS; attempt++) {
        node = zraft_new (&config, &fsm);
        if (node || zb_interrupted)
            break;
        zclock_sleep (50);
    }
    if (!node)
        fprintf (stderr, "zraft-bench: n%u did not start (%s, %s)\n", id,
                 endpoints [id - 1], data_dir);
    return node;
}

/* Applies --drop and --delay to every link into server id: to what it
   receives from each other server. Returns 0, or the first error of
   zraft_fault after a message on stderr. */
int
zb_server_faults (const zb_opts_t *opts, zraft_t *node, uint32_t id)
{
    zraft_link_fault_t fault = {.drop_ppm = opts->drop_ppm,
                                .delay_ms = opts->delay_ms,
                                .jitter_ms = opts->jitter_ms};
    for (uint32_t peer = 1; zb_opts_faults_on (opts) && peer <= opts->nodes;
         peer++) {
        int rc = peer == id ? 0 : zraft_fault (node, peer, &fault);
        if (rc != 0) {
            fprintf (stderr, "zraft-bench: n%u: cannot set the faults of"
                     " the link from n%u: %s\n", id, peer,
                     zraft_strerror (rc));
            return rc;
        }
    }
    return 0;
}

/* Prints a node's status on stderr, for failure reports. */
void
zb_server_dump (zraft_t *node, uint32_t id)
{
    zraft_status_t s;
    if (zraft_status (node, &s) != 0) {
        fprintf (stderr, "  n%u: shut down\n", id);
        return;
    }
    fprintf (stderr, "  n%u: role=%d term=%" PRIu64 " leader=%u"
             " commit=%" PRIu64 " applied=%" PRIu64 " last=%" PRIu64
             " persisted=%" PRIu64 " disk_failed=%d elections=%" PRIu64
             "\n", id, (int) s.role, s.term, s.leader, s.commit,
             s.applied, s.last_index, s.persisted, (int) s.disk_failed,
             s.elections);
}

