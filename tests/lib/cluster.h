/*  =========================================================================
    cluster - in-process clusters of real zraft nodes for tests

    Starts N servers (real actors, tcp on 127.0.0.1), each with its own
    data directory, and runs an apply checker on every one of them: each
    server must apply indexes in order, exactly once per incarnation,
    no two servers (or incarnations) may apply different commands at the
    same index, and an index a server skips (zraft does not apply its
    no-ops) must be one where no server applies a command. Waits are
    bounded by deadlines derived from the configured timeouts and wake
    on events (an apply, a status change), never on a fixed sleep.

    The state machine answers: apply's result is the command's value and
    its index, query's this server's last applied index and command value
    (CLUSTER_RESULT_BYTES each). Every server's events are received into
    an inbox whenever the cluster calls its handle (so submissions never
    pile up against submit_max); tests take the RESULT and ROLE events
    they wait for from there.
    =========================================================================
*/
#ifndef ZR_TEST_CLUSTER_H_INCLUDED
#define ZR_TEST_CLUSTER_H_INCLUDED

#include "../../include/zraft.h"

/* The one knob for slow builds. Under a sanitizer every thread runs
   several times slower, and on a loaded machine one loses the CPU for
   hundreds of milliseconds at a time (TSan, 3 test processes, load 10: a
   follower's node thread 300-500 ms), longer than a 300 ms election
   timeout allows: leaders step down and followers elect with nothing
   wrong in the code. CLUSTER_TIME_SCALE multiplies the timing every
   cluster test configures, and so every bound derived from it: 1 in the
   release build, 2 under ASan, 3 under TSan; -DCLUSTER_TIME_SCALE=n
   overrides it. Bounds that are not derived from the timing (one()'s
   10 s, byte and count budgets) do not change. */
#ifndef CLUSTER_TIME_SCALE
#  if defined (__SANITIZE_THREAD__)
#    define CLUSTER_TIME_SCALE 3
#  elif defined (__SANITIZE_ADDRESS__)
#    define CLUSTER_TIME_SCALE 2
#  else
#    define CLUSTER_TIME_SCALE 1
#  endif
#endif

/* Timing used by every cluster test; every bound below derives from it. */
#define CLUSTER_HEARTBEAT_MS (50 * CLUSTER_TIME_SCALE)
#define CLUSTER_ELECTION_MS (300 * CLUSTER_TIME_SCALE)
/* An election should settle within a few randomised timeouts; allow for a
   loaded machine (fsync on a shared disk, 20 runs in a row). */
#define CLUSTER_LEADER_WAIT_MS (20 * CLUSTER_ELECTION_MS)
/* Time to commit one entry once a leader exists (the lab's one(): 10 s). */
#define CLUSTER_COMMIT_WAIT_MS (10 * 1000)
/* The smallest WAL segment zraft accepts (two maximal entries), so tests
   that write a few MiB cross segments and exercise the persister's spare
   preparation. */
#define CLUSTER_SEGMENT_BYTES ((2u << 20) + (64u << 10))
/* A Check timeout per test, generous over the waits a test chains. */
#define CLUSTER_TEST_TIMEOUT_S (40 * CLUSTER_ELECTION_MS * 10 / 1000)

/* apply's result: {value, index}; query's: {last value, applied index}
   (uint64_t each). A query of this 8-byte value is refused. */
#define CLUSTER_RESULT_BYTES (2 * sizeof (uint64_t))
#define CLUSTER_QUERY_REFUSED UINT64_MAX

typedef struct _cluster_t cluster_t;

/* Creates a cluster of n servers (ids 1..n) and starts them all. */
cluster_t *cluster_new (uint32_t n);

/* Stops every server, checks the apply checker one last time, removes the
   data directories. */
void cluster_destroy (cluster_t **self_p);

/* Stops server id (like a crash: what it made durable stays on disk). */
void cluster_stop (cluster_t *self, uint32_t id);

/* Servers started after this call have config.submit_max submit_max
   (0: the default). */
void cluster_set_submit_max (cluster_t *self, uint32_t submit_max);

/* Servers started after this call have config.subs_max subs_max (0: no
   feed). */
void cluster_set_subs_max (cluster_t *self, uint32_t subs_max);

/* Servers started after this call have config.query_on_node on. */
void cluster_set_query_on_node (cluster_t *self, bool on);

/* Servers started after this call have config.apply_on_node on. */
void cluster_set_apply_on_node (cluster_t *self, bool on);

/* Servers started after this call have config.feed_background on (the
   default) or off. */
void cluster_set_feed_background (cluster_t *self, bool on);

/* Stops and starts every server, one after the other, so that they run
   with the options set since they started (cluster_set_*). */
void cluster_restart_all (cluster_t *self);

/* Starts server id again from its data directory. */
void cluster_start (cluster_t *self, uint32_t id);

/* Cuts server id off from every other server, both ways. */
void cluster_disconnect (cluster_t *self, uint32_t id);

/* Heals every link of server id to connected servers. */
void cluster_connect (cluster_t *self, uint32_t id);

/* Makes every link unreliable (the lab's network: 10% of messages lost,
   each delayed up to 27 ms, which reorders them) or reliable again. */
void cluster_unreliable (cluster_t *self, bool unreliable);

/* Returns the server handle (NULL if stopped). */
zraft_t *cluster_node (cluster_t *self, uint32_t id);

/* Waits until exactly one running, connected server is leader of the
   highest term among them and returns its id; fails the test after
   CLUSTER_LEADER_WAIT_MS. */
uint32_t cluster_leader (cluster_t *self);

/* Waits ms milliseconds of wall time, waking on applies (for tests
   whose point is that something does NOT happen in that time). */
void cluster_idle (cluster_t *self, int64_t ms);

/* Returns how many servers applied index, failing the test if they
   disagree on its value; *value gets the value if any did. */
uint32_t cluster_n_committed (cluster_t *self, uint64_t index, uint64_t *value);

/* The lab's one(): proposes value on a leader until expected servers
   apply it, within CLUSTER_COMMIT_WAIT_MS; returns its index. Retries on
   another leader if retry is true, otherwise fails on the first miss. */
uint64_t cluster_one (cluster_t *self, uint64_t value, uint32_t expected, bool retry);

/* The lab's Start(): submits value on server id and learns at once
   whether the node appended it (a STATUS after the submission sees it
   handled, node.h): returns 0 and its index (may be NULL), or the
   node's refusal (ZRAFT_ENOTLEADER, ZRAFT_EBUSY, ...) or zraft_submit's
   code. */
int cluster_propose (cluster_t *self, uint32_t id, uint64_t value, uint64_t *index);

/* Submits value on server id (running) under a fresh token (*token);
   returns zraft_submit's code. Its RESULT comes through cluster_result. */
int cluster_submit (cluster_t *self, uint32_t id, uint64_t value, uint64_t *token);

/* Returns a token no other call of this cluster returned. */
uint64_t cluster_token (cluster_t *self);

/* Waits up to timeout_ms for the RESULT of token on server id: true and
   *event filled (the caller releases it), or false. */
bool cluster_result (cluster_t *self, uint32_t id, uint64_t token,
                     int64_t timeout_ms, zraft_event_t *event);

/* cluster_result within CLUSTER_COMMIT_WAIT_MS, failing the test
   without one. */
void cluster_result_wait (cluster_t *self, uint32_t id, uint64_t token,
                          zraft_event_t *event);

/* Waits up to timeout_ms for the next ROLE event of server id: true and
   *event filled, or false. */
bool cluster_role_event (cluster_t *self, uint32_t id, int64_t timeout_ms,
                         zraft_event_t *event);

/* Waits up to timeout_ms for the first event of type whose token is
   token (a RESULT's, or a subscription's) on server id: true and *event
   filled (the caller releases it), or false. Events of one type and
   token are taken in the order they arrived. */
bool cluster_event (cluster_t *self, uint32_t id, zraft_event_type_t type,
                    uint64_t token, int64_t timeout_ms, zraft_event_t *event);

/* Receives what server id's handle holds, then returns how many events
   of type and token its inbox keeps. */
uint32_t cluster_events_count (cluster_t *self, uint32_t id,
                               zraft_event_type_t type, uint64_t token);

/* Receives server id's waiting events into its inbox. */
void cluster_drain (cluster_t *self, uint32_t id);

/* Waits until at least n servers applied index; returns how many did. */
uint32_t cluster_wait_committed (cluster_t *self, uint64_t index, uint32_t n,
                                 int64_t timeout_ms);

/* Status of server id (must be running). */
void cluster_status (cluster_t *self, uint32_t id, zraft_status_t *status);

/* Returns the peer endpoint of server id. */
const char *cluster_endpoint (cluster_t *self, uint32_t id);

/* Check fixture for every cluster test (runs in the forked child, where
   czmq re-initialises its logging): czmq's and zraft's logs (through
   zraft_log_set, at INFO) go to a temporary file, or to stderr with
   ZR_VERBOSE=1. The teardown is the leak gate: it shuts czmq
   down and fails the test if czmq reports a socket left open. */
void cluster_test_setup (void);
void cluster_test_teardown (void);

/* Fills why with the error lines logged since the last call (the
   latest ones if they do not fit), or "(no error logged)"; returns why. */
const char *cluster_log_errors (char *why, size_t size);

/* Fails the test if the apply checker saw a violation. */
void cluster_check (cluster_t *self);

/* ---------------------------------------------------------------------
   Added for the lab suite (tests/cluster/test_lab.c). */

/* Serialises the use of server handles between test threads (a zraft_t
   is used by one thread at a time). A test that calls the cluster from
   several threads holds it around every call that touches a server
   (start, stop, connect, disconnect, unreliable, status, leader,
   propose, fault_link); the _shared calls take it themselves. The
   checker calls (n_committed, wait_committed, idle, check) need not. */
void cluster_lock (cluster_t *self);
void cluster_unlock (cluster_t *self);

/* Returns true if server id is running (not stopped). */
bool cluster_is_running (cluster_t *self, uint32_t id);

/* Returns true if the test has not disconnected server id. */
bool cluster_is_connected (cluster_t *self, uint32_t id);

/* cluster_propose taking the cluster lock; returns its code, or
   ZRAFT_ESHUTDOWN if id is stopped, and sets *index and *term on success
   (either may be NULL). */
int cluster_propose_shared (cluster_t *self, uint32_t id, uint64_t value,
                            uint64_t *index, uint64_t *term);

/* cluster_one for tests that call the cluster from several threads: the
   cluster lock is held while proposing only, not while waiting. */
uint64_t cluster_one_shared (cluster_t *self, uint64_t value, uint32_t expected,
                             bool retry);

/* Proposes, on server id (running), a command of size bytes (8 to
   ZRAFT_ENTRY_BYTES_MAX): value in its first 8 bytes, then bytes derived
   from value, which the apply checker verifies on every server. Returns
   cluster_propose's code and index. */
int cluster_propose_bytes (cluster_t *self, uint32_t id, uint64_t value,
                           size_t size, uint64_t *index);

/* cluster_one with a command of size bytes (see cluster_propose_bytes). */
uint64_t cluster_one_bytes (cluster_t *self, uint64_t value, size_t size,
                            uint32_t expected, bool retry);

/* Removes directory path and everything in it (a test's own data
   directory); nothing if it does not exist. */
void cluster_remove_dir (const char *path);

/* Returns server id's data directory. */
const char *cluster_dir (cluster_t *self, uint32_t id);

/* Moves stopped server id to data directory dir (the test owns it and
   removes it; cluster_destroy removes only the cluster's own). */
void cluster_set_dir (cluster_t *self, uint32_t id, const char *dir);

/* Sets the faults of the link from server from to server to: drop
   probability (ppm), then a delay plus a uniform jitter on what passes
   (a long jitter reorders). Nothing if to is stopped. cluster_unreliable
   and cluster_start (of to) replace it with the cluster-wide setting. */
void cluster_fault_link (cluster_t *self, uint32_t from, uint32_t to,
                         uint32_t drop_ppm, uint32_t delay_ms, uint32_t jitter_ms);

/* ---------------------------------------------------------------------
   Added for the lab's part D (tests/cluster/test_snapshot.c). */

/* Snapshot mode: the servers snapshot by applied count only. */
typedef struct {
    uint64_t entries;                   /* config.snapshot_entries (0: only
                                           on zraft_snapshot) */
    uint64_t trailing;                  /* config.snapshot_trailing */
    uint32_t chunk_bytes;               /* config.snapshot_chunk_bytes */
    uint64_t pad_bytes;                 /* padding in every snapshot, to
                                           make it large */
    bool wal_catchup;                   /* config.wal_catchup; off (the lab's
                                           tests): a follower behind the log
                                           in memory gets the snapshot */
} cluster_snapshots_t;

/* Creates a cluster of n servers in snapshot mode: the apply checker's
   state machine also implements fsm.snapshot (the last applied index and
   the record of every command applied up to it, then pad_bytes of
   padding, as the lab's) and fsm.restore (replaces the record, sets the
   last applied index). Its extra rules: a snapshot asked at index covers
   every command applied; a restored snapshot agrees with what every
   server applied; within an incarnation a restore never goes backwards
   (a restarted server starts with an empty record, as in the lab's 2025
   version, and restores its own snapshot first if it has one). */
cluster_t *cluster_new_snapshots (uint32_t n, const cluster_snapshots_t *snap);

/* Returns how many files in server id's data directory have a name
   starting with prefix ("wal-", "snap-"). */
uint32_t cluster_files (cluster_t *self, uint32_t id, const char *prefix);

/* Returns how many snapshots server id restored in this incarnation
   (its own at start included). */
uint64_t cluster_restores (cluster_t *self, uint32_t id);

/* Returns the last index server id applied a command at, restored a
   snapshot at or snapshotted at, this incarnation (no-ops after it are
   not seen until the next command). */
uint64_t cluster_applied (cluster_t *self, uint32_t id);

/* Copies every file of directory from into directory to (a flat data
   directory), replacing files of the same name, fsyncing each. */
void cluster_copy_files (const char *from, const char *to);

/* Moves server f's data to a new 5 MiB tmpfs and starts it there: home
   gets the directory it had, small the mount point (both caller's
   buffers). Stops f first. Mounting needs root, as the suite's set-up
   does. The caller unmounts small and removes it. */
void cluster_small_disk (cluster_t *c, uint32_t f, char *home, size_t home_size,
                         char *small, size_t small_size);

#endif
