/*  =========================================================================
    zraft.h - the public API of libzraft, a Raft runtime on czmq actors

    A zraft_t is one Raft server: a node actor owning the protocol state,
    with an election timer, a persister (write-ahead log), an applier and
    one replicator per peer, each on its own thread. Peers talk over tcp
    (ZeroMQ ROUTER/DEALER, msgpack RPCs). The application supplies a state
    machine as a callback, proposes commands on the leader, and learns that
    its proposals were applied through a pollable socket.

    Threading: a zraft_t is used from one application thread at a time
    (like every czmq class). The apply callback runs on the applier's
    thread, in index order, one call per committed command.
    =========================================================================
*/
#ifndef ZRAFT_H_INCLUDED
#define ZRAFT_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZRAFT_NODES_MAX 9               /* servers in one cluster */
#define ZRAFT_ENTRY_BYTES_MAX (1u << 20) /* payload of one proposal */

/* Errors returned by the functions below (negative). */
#define ZRAFT_ENOMEM (-1)               /* out of memory */
#define ZRAFT_EINVAL (-2)               /* invalid argument */
#define ZRAFT_ETOOBIG (-4)              /* proposal over ZRAFT_ENTRY_BYTES_MAX */
#define ZRAFT_ENOTLEADER (-8)           /* not the leader; see *leader */
#define ZRAFT_EIO (-10)                 /* the disk failed; node stopped acking */
#define ZRAFT_ESHUTDOWN (-11)           /* the node is shutting down */
#define ZRAFT_EBUSY (-12)               /* busy, retry: a leadership transfer is
                                           under way, or the disk is behind */

typedef enum {
    ZRAFT_FOLLOWER = 0,
    ZRAFT_CANDIDATE = 1,
    ZRAFT_LEADER = 2
} zraft_role_t;

typedef struct {
    uint32_t id;                        /* server id, 1..ZRAFT_NODES_MAX */
    const char *endpoint;               /* its peer endpoint, "tcp://host:port" */
} zraft_server_t;

/* Configuration. Strings are copied by zraft_new. */
typedef struct {
    uint32_t id;                        /* this server's id, among servers */
    zraft_server_t servers [ZRAFT_NODES_MAX];   /* every server, self included */
    uint32_t n_servers;                 /* 1..ZRAFT_NODES_MAX */
    const char *data_dir;               /* write-ahead log directory (created) */
    uint32_t heartbeat_ms;              /* leader idle period; default 100 */
    uint32_t election_timeout_ms;       /* min; randomised up to 2x; default 1000 */
    uint32_t inflight_max;              /* AppendEntries in flight per follower, 1..256; default 64 */
    uint64_t inflight_bytes_max;        /* payload bytes in flight per follower; default 8 MiB */
    uint64_t batch_bytes;               /* payload bytes per AppendEntries; default 256 KiB */
    uint64_t segment_bytes;             /* WAL segment size, >= 2 MiB + 4 KiB; default 8 MiB */
    uint64_t seed;                      /* election randomness; 0 = from the clock */
    bool pre_vote;                      /* poll before campaigning (thesis §9.6); default on */
    bool check_quorum;                  /* leader steps down without a majority; default on */
    bool wal_catchup;                   /* a follower behind the log in memory is
                                           sent entries read from the WAL while
                                           it holds them, the snapshot only past
                                           that; default on */
    /* Snapshots (with fsm.snapshot and fsm.restore): the node asks for
       one when the entries applied since the last reach snapshot_entries
       or the log's payload reaches snapshot_bytes; it then forgets the
       log up to snapshot_trailing entries behind it, in memory and on
       disk (the WAL by whole segments). Followers behind what the log
       and the WAL hold receive it in chunks. */
    uint64_t snapshot_entries;          /* default 65,536; 0 = not by count */
    uint64_t snapshot_bytes;            /* log payload bytes; default 32 MiB; 0 = not by size */
    uint64_t snapshot_trailing;         /* entries kept behind a snapshot; default 32,768 */
    uint32_t snapshot_chunk_bytes;      /* InstallSnapshot chunk, 4 KiB..4 MiB; default 1 MiB */
} zraft_config_t;

/* Fills config with the defaults above and no servers. */
void zraft_config_defaults (zraft_config_t *config);

/* The state machine. Every callback runs on the applier thread, one at
   a time, in log order.

   apply is called for every committed command, in index order, exactly
   once per node incarnation, starting after the snapshot it restored
   (from index 1 without one). data is valid only during the call.

   snapshot (optional) captures the state as of the last applied index:
   it returns the state as one buffer the application allocated with
   malloc (a serialised copy, or anything it can produce quickly: the
   applier waits for it), which the library then writes to a snapshot
   file on another thread and releases with free(). It returns 0, or -1
   to skip this snapshot. restore (required with snapshot) replaces the
   whole state with a snapshot's bytes, valid during the call: once at
   start when the data directory holds a snapshot, and whenever a leader
   sends one. It returns 0, or -1 if it cannot use them: the node then
   stops acknowledging (as on a disk error) and says why in its log. */
typedef struct {
    void (*apply) (void *arg, uint64_t index, uint64_t term,
                   const void *data, size_t size);
    int (*snapshot) (void *arg, uint64_t index, void **data, size_t *size);
    int (*restore) (void *arg, uint64_t index, const void *data, size_t size);
    void *arg;                          /* passed to every callback */
} zraft_fsm_t;

typedef struct _zraft_t zraft_t;

/* Creates and starts a server: recovers its log from data_dir, binds its
   endpoint, starts its actors. Returns NULL (and logs why through zsys)
   on an invalid configuration, a log it cannot read or that is corrupt,
   or an endpoint it cannot bind. Caller owns the result and must destroy
   it. fsm is copied; fsm->apply may be NULL. */
zraft_t *zraft_new (const zraft_config_t *config, const zraft_fsm_t *fsm);

/* Stops every actor, closes every socket, flushes nothing further (what
   was acknowledged is already durable). NULLs *self_p; idempotent. */
void zraft_destroy (zraft_t **self_p);

/* Proposes a command (size bytes, copied). On success returns 0 and sets
   *index and *term: the command is committed when an applied run reports
   that index with that term. Errors: ZRAFT_ENOTLEADER (*leader is the
   leader's id if known, else 0), ZRAFT_EBUSY (leadership is being
   transferred: retry on the new leader; or back-pressure: the disk is
   behind, so many writes are waiting for it that new proposals are
   refused until it catches up: retry after a moment), ZRAFT_ETOOBIG,
   ZRAFT_EIO, ZRAFT_ENOMEM.
   index, term and leader may be NULL. */
int zraft_propose (zraft_t *self, const void *data, size_t size,
                   uint64_t *index, uint64_t *term, uint32_t *leader);

/* Proposes n commands in one call: one round trip to the node, and they
   travel to the followers and the disk in one batch. datas[i] holds
   sizes[i] bytes (copied). All or nothing: on success returns 0, and the
   commands take consecutive indexes *first .. *first + n - 1 in term
   *term. n is 1..ZRAFT_PROPOSE_MAX and the total size at most
   ZRAFT_PROPOSE_BYTES_MAX. Errors as zraft_propose, plus ZRAFT_EINVAL for
   n or a total out of range. first, term and leader may be NULL. */
#define ZRAFT_PROPOSE_MAX 4096
#define ZRAFT_PROPOSE_BYTES_MAX (8u << 20)
int zraft_propose_many (zraft_t *self, const void *const *datas,
                        const size_t *sizes, size_t n, uint64_t *first,
                        uint64_t *term, uint32_t *leader);

/* A socket that becomes readable when a run of entries was applied on
   this server; add it to a zpoller, then call zraft_applied_recv. */
zsock_t *zraft_events (zraft_t *self);

/* One run of applied entries: indexes first..last and the term of each
   (terms[i] is the term of index first + i). A proposal (index, term) is
   done when a run covers index: it succeeded if the terms match, and was
   lost to another leader if they differ. */
typedef struct {
    uint64_t first;                     /* first index of the run */
    uint64_t last;                      /* last index of the run */
    uint64_t *terms;                    /* owned; freed by zraft_applied_release */
} zraft_applied_t;

/* Receives one run (blocking; poll zraft_events first to avoid waiting).
   Returns 0, or -1 if interrupted or the node is gone. The caller
   releases run with zraft_applied_release. */
int zraft_applied_recv (zraft_t *self, zraft_applied_t *run);

/* Frees what zraft_applied_recv put in run. */
void zraft_applied_release (zraft_applied_t *run);

typedef struct {
    zraft_role_t role;                  /* this server's role */
    uint64_t term;                      /* current term */
    uint32_t leader;                    /* leader's id, 0 if unknown */
    uint32_t vote;                      /* vote in term, 0 if none */
    uint64_t commit;                    /* highest committed index known */
    uint64_t applied;                   /* highest index applied here */
    uint64_t last_index;                /* last index in the log */
    uint64_t persisted;                 /* log durable up to here */
    uint64_t first_index;               /* first index the log still holds */
    uint64_t snapshot_index;            /* newest snapshot's last index, 0 if none */
    uint64_t snapshots;                 /* snapshots taken here since start */
    uint64_t snapshots_installed;       /* snapshots received from a leader */
    bool disk_failed;                   /* the WAL failed: no more acks */
    /* Counters since start, for benchmarks and tests. */
    uint64_t wal_syncs;                 /* fdatasyncs */
    uint64_t wal_entries;               /* entries written */
    uint64_t wal_bytes;                 /* bytes written */
    uint64_t rpcs_in;                   /* RPC requests received and handled */
    uint64_t appends_out;               /* AppendEntries sent (heartbeats too) */
    uint64_t entries_out;               /* entries carried by them */
    uint64_t bytes_out;                 /* bytes sent to peers */
    uint64_t frames_rejected;           /* malformed frames dropped */
    uint64_t elections;                 /* elections this server started */
    uint64_t fault_dropped;             /* messages the fault filter dropped */
    uint64_t fault_duplicated;          /* ...duplicated */
    uint64_t fault_delayed;             /* ...held back */
} zraft_status_t;

/* Fills *status. Returns 0 or ZRAFT_ESHUTDOWN. */
int zraft_status (zraft_t *self, zraft_status_t *status);

/* Chaos drills and tests: cut (or heal) this server's link to peer, for
   what it sends (out) and what it receives (in). Off by default. */
int zraft_partition (zraft_t *self, uint32_t peer, bool cut_out, bool cut_in);

/* Leadership transfer (thesis §3.10): the leader stops accepting
   proposals (ZRAFT_EBUSY), brings peer up to date and tells it to start
   an election at once. Returns 0 when the transfer started (watch
   zraft_status for the new leader), ZRAFT_ENOTLEADER, ZRAFT_EINVAL (not
   a peer) or ZRAFT_EBUSY (a transfer is under way). A transfer that has
   not completed within an election timeout is abandoned and the leader
   carries on. */
int zraft_transfer (zraft_t *self, uint32_t peer);

/* Asks for a snapshot now, whatever the thresholds say. Returns 0 when
   it was asked for (zraft_status tells when snapshot_index moves),
   ZRAFT_EBUSY if one is being taken, ZRAFT_EINVAL if the state machine
   has no snapshot callback. */
int zraft_snapshot (zraft_t *self);

/* Faults on the link from a peer to this server, applied to every
   message this server receives from it. Off by default. */
typedef struct {
    bool cut;                           /* drop everything */
    uint32_t drop_ppm;                  /* drop probability, parts per million */
    uint32_t dup_ppm;                   /* duplicate probability, ppm */
    uint32_t delay_ms;                  /* hold each message this long... */
    uint32_t jitter_ms;                 /* ...plus uniform [0, jitter): reorders */
} zraft_link_fault_t;

/* Chaos drills and tests: sets the faults of the link from peer to this
   server (all zero: a healthy link). Returns 0, or ZRAFT_EINVAL for an
   unknown peer, a probability over 1,000,000 ppm or a delay + jitter
   over 60 s. */
int zraft_fault (zraft_t *self, uint32_t peer, const zraft_link_fault_t *fault);

/* Chaos drills and tests: freezes this server's node thread for ms
   milliseconds (at most 600,000), as a SIGSTOP would freeze a process:
   it neither sends nor handles anything meanwhile. Returns at once. */
int zraft_pause (zraft_t *self, uint32_t ms);

/* Returns a static message for a ZRAFT_E* code. */
const char *zraft_strerror (int rc);

#ifdef __cplusplus
}
#endif

#endif
