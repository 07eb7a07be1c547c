/*  =========================================================================
    zraft.h - the public API of libzraft, a Raft runtime on czmq actors

    A zraft_t is one Raft server: a node actor owning the protocol state,
    with an election timer, a persister (write-ahead log), an applier and
    one replicator per peer, each on its own thread. Peers talk over tcp
    (ZeroMQ ROUTER/DEALER, msgpack RPCs). The application supplies a state
    machine as callbacks, submits commands with tokens of its own, and
    receives, through one pollable socket, a RESULT event per submission
    (the state machine's answer, with the token) and ROLE events.

    Threading: a zraft_t is used from one application thread at a time
    (like every czmq class); zraft_host lends that role to the node's own
    thread, to run the application's loop there. The state machine's
    callbacks run on the applier's thread, in log order. No call blocks
    on the cluster: a submission or a query is queued and answered by an
    event; only zraft_wait_leader waits, and only as long as asked.

    Back-pressure: at most config.submit_max submissions and queries are
    outstanding on a handle (accepted, their RESULT not yet received by
    zraft_recv); past that, zraft_submit and zraft_query return
    ZRAFT_EAGAIN at once. That bound sizes every queue between the
    application and the server's threads, so none grows without limit
    and none ever blocks a sender.

    Logging: the library writes nothing on stdout. Its lines go to stderr
    (level NOTICE and above) or wherever zraft_log_set sends them.
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

/* Errors returned by the functions below (negative), and the status of
   a RESULT event. */
#define ZRAFT_ENOMEM (-1)               /* out of memory */
#define ZRAFT_EINVAL (-2)               /* invalid argument; RESULT of a
                                           query: fsm.query refused it */
#define ZRAFT_ETOOBIG (-4)              /* command over ZRAFT_ENTRY_BYTES_MAX */
#define ZRAFT_ENOTLEADER (-8)           /* not the leader; the leader's id is
                                           in event.leader (0 if unknown) */
#define ZRAFT_EIO (-10)                 /* the disk failed; node stopped acking */
#define ZRAFT_ESHUTDOWN (-11)           /* the node is shutting down; as a
                                           RESULT: it stopped before knowing
                                           the outcome */
#define ZRAFT_EBUSY (-12)               /* busy, retry: a leadership transfer is
                                           under way, the disk is behind, or
                                           (zraft_publish) a repeat is not
                                           decided yet */
#define ZRAFT_EAGAIN (-16)              /* retry later: submit_max outstanding,
                                           subs_max open, the feed's queue
                                           full, or no event within the
                                           timeout */
#define ZRAFT_ELOST (-17)               /* another leader's entry took the
                                           index: certainly not applied */
#define ZRAFT_ETIMEDOUT (-18)           /* zraft_wait_leader: no leader in time */
#define ZRAFT_EUNKNOWN (-19)            /* outcome unknown: a snapshot from the
                                           leader covered the index (below) */
#define ZRAFT_ESTALE (-20)              /* zraft_publish: sequence number below
                                           the producer's dedup window */
#define ZRAFT_ERANGE (-21)              /* subscription: the index is no longer
                                           held (compacted into a snapshot);
                                           event.first: the first one held */

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
    zraft_server_t servers [ZRAFT_NODES_MAX];   /* every server, self included;
                                           the same ids and endpoints, spelt
                                           alike (any order; no wildcard host:
                                           *, 0.0.0.0, [::]), on every server:
                                           they are the cluster's identity, and
                                           a server refuses peers given others
                                           (an error in its log says so) */
    uint32_t n_servers;                 /* 1..ZRAFT_NODES_MAX */
    const char *data_dir;               /* write-ahead log directory (created
                                           if missing; its parent must exist) */
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
       or their payload reaches snapshot_bytes; it then forgets the log
       up to snapshot_trailing entries behind it, and no more than
       snapshot_bytes of payload (when not 0), in memory and on disk (the
       WAL by whole segments). Followers behind what the log
       and the WAL hold receive it in chunks. */
    uint64_t snapshot_entries;          /* default 65,536; 0 = not by count */
    uint64_t snapshot_bytes;            /* payload bytes since the last; default
                                           32 MiB; 0 = not by size */
    uint64_t snapshot_trailing;         /* entries kept behind a snapshot (their
                                           payload within snapshot_bytes);
                                           default 32,768 */
    uint32_t snapshot_chunk_bytes;      /* InstallSnapshot chunk, 4 KiB..4 MiB; default 1 MiB */
    uint32_t submit_max;                /* submissions + queries outstanding on
                                           the handle, 1..ZRAFT_SUBMIT_MAX_MAX;
                                           default 4096 */
    /* The message bus (zraft_publish, zraft_subscribe, at the end). */
    uint32_t dedup_window;              /* sequence numbers remembered per
                                           producer, 1..65536; default 1024 */
    uint32_t producers_max;             /* producers remembered, 1..1048576;
                                           default 4096 */
    uint32_t subs_max;                  /* subscriptions open on the handle,
                                           0..65536; default 1024 (0: no feed) */
    bool feed_background;               /* the feed's thread, which delivers to
                                           subscribers, runs as background work
                                           (Linux: SCHED_BATCH, nice + 10), so
                                           that it yields the CPUs to consensus
                                           under load; default on */
    bool query_on_node;                 /* fsm.query may run on the node's
                                           thread (see zraft_fsm_t); default off */
    bool apply_on_node;                 /* fsm.apply and fsm.query may run on
                                           the node's thread for a small run
                                           (see zraft_fsm_t); default off */
} zraft_config_t;

#define ZRAFT_SUBMIT_MAX_MAX 65536u     /* the largest config.submit_max */

/* Fills config with the defaults above and no servers. */
void zraft_config_defaults (zraft_config_t *config);

/* The state machine. Every callback runs on the applier thread, one at
   a time, in log order. With config.query_on_node, query may instead run
   on the node's thread: a linearizable query whose read index is
   already applied, when the applier has nothing to do, runs there at
   once, saving a thread hand-off per read. Callbacks still never run at
   the same time (the node waits until the applier hands back the state
   machine, and gives it back before the next apply), so this suits any
   state machine that keeps no per-thread state. With config.apply_on_node,
   likewise, a small committed run (at most 16 entries) and the queries
   behind it may be applied on the node's thread when the applier has
   nothing to do, saving the hand-off to the applier and back per commit
   (snapshot and restore stay on the applier's thread); apply then also
   delays the node's work (heartbeats), so it should be quick.

   apply is called for every committed command, in index order, exactly
   once per node incarnation, starting after the snapshot it restored
   (from index 1 without one). data is valid only during the call. It
   may set *result to a buffer allocated with malloc, of *result_size
   bytes (at most ZRAFT_RESULT_BYTES_MAX): the library hands it to the
   submitter in its RESULT event if the command was submitted on this
   server, and frees it otherwise. *result is NULL and *result_size 0 on
   entry; leaving them so is fine. A result over the limit is freed and
   logged, and the RESULT carries no data.

   query (optional) answers a read (zraft_query) between two applies,
   from the state as it is: it returns 0 and may set *result as apply
   does, or returns -1 to refuse the read (its RESULT then has status
   ZRAFT_EINVAL). data is valid only during the call.

   snapshot (optional) captures the state as of the last applied index:
   it returns the state as one buffer the application allocated with
   malloc (a serialised copy, or anything it can produce quickly: the
   applier waits for it), which the library then writes to a snapshot
   file on another thread and releases with free(). It returns 0, or -1
   to skip this snapshot. restore (required with snapshot) replaces the
   whole state with a snapshot's bytes, valid during the call: once at
   start when the data directory holds a snapshot, and whenever a leader
   sends one. It returns 0, or -1 if it cannot use them: the node then
   stops acknowledging (as on a disk error) and says why in its log.
   Snapshot files also hold the message bus's state (its dedup windows
   and cursors), so a bus-only application (apply NULL, no snapshot
   callback) is snapshotted too, and its log stays bounded. */
#define ZRAFT_RESULT_BYTES_MAX (1u << 20)

typedef struct {
    void (*apply) (void *arg, uint64_t index, uint64_t term,
                   const void *data, size_t size, void **result,
                   size_t *result_size);
    int (*query) (void *arg, const void *data, size_t size, void **result,
                  size_t *result_size);
    int (*snapshot) (void *arg, uint64_t index, void **data, size_t *size);
    int (*restore) (void *arg, uint64_t index, const void *data, size_t size);
    void *arg;                          /* passed to every callback */
} zraft_fsm_t;

typedef struct _zraft_t zraft_t;

/* Creates and starts a server: recovers its log from data_dir, binds its
   endpoint, starts its actors. Returns NULL (and logs why, zraft_log_set)
   on an invalid configuration, a log it cannot read or that is corrupt,
   or an endpoint it cannot bind. When it cannot create its log (a full
   disk), bind its endpoint or connect to a peer, a data_dir that was
   missing or empty is left as it was found (the log files it made are
   removed).
   Caller owns the result and must destroy it. fsm is copied;
   fsm->apply may be NULL.
   The threads it starts inherit the calling thread's scheduling class
   and nice value (the feed then lowers its own: config.feed_background).
   zraft-node puts its main thread in SCHED_BATCH before anything starts
   (zraft-node --sched; docs/PERFORMANCE.md measures why); an
   application may do the same with pthread_setschedparam (pthread_self
   (), SCHED_BATCH, ...) before its first zraft_new and before czmq
   creates its context (its first socket), as libzmq's I/O threads
   inherit it too. */
zraft_t *zraft_new (const zraft_config_t *config, const zraft_fsm_t *fsm);

/* Stops every actor, closes every socket, flushes nothing further (what
   was acknowledged is already durable). NULLs *self_p; idempotent. */
void zraft_destroy (zraft_t **self_p);

/* Submits a command (size bytes, copied) under the caller's token, and
   returns at once. 0: queued, and exactly one ZRAFT_EVENT_RESULT with
   this token will follow: status 0 once this server applied it (index
   and term say where, data holds apply's result; none if a snapshot
   from the leader brought it here instead), or ZRAFT_ENOTLEADER
   (event.leader: the leader's id if known), ZRAFT_EBUSY (a leadership
   transfer is under way, or the disk is behind: retry after a moment),
   ZRAFT_EIO (the disk failed), ZRAFT_ELOST (appended, then another
   leader's entry took its index: certainly not applied), ZRAFT_EUNKNOWN
   (appended, then this server, far behind, received a snapshot from a
   later leader that covers the index: it may or may not be in it), or
   ZRAFT_ESHUTDOWN (the node stopped first; zraft_destroy drops the
   events still queued). Tokens are the caller's, not interpreted; reuse
   one only once its RESULT arrived if it must stay unambiguous.
   Refused at once, with nothing queued: ZRAFT_EAGAIN (submit_max
   submissions and queries are outstanding: receive events first),
   ZRAFT_ETOOBIG (size over ZRAFT_ENTRY_BYTES_MAX), ZRAFT_ESHUTDOWN. */
int zraft_submit (zraft_t *self, uint64_t token, const void *data, size_t size);

/* Submits n commands in one call: one message to the node, and they
   travel to the followers and the disk in one batch, at consecutive
   indexes when accepted. datas[i] holds sizes[i] bytes (copied), under
   tokens[i]. All or nothing at submission: 0 and n RESULT events follow
   (one per token; a refusal by the node, such as ZRAFT_ENOTLEADER, comes
   for each), or an error and none. n is 1..ZRAFT_SUBMIT_MANY_MAX and the
   total size at most ZRAFT_SUBMIT_BYTES_MAX (else ZRAFT_EINVAL); the
   other errors are zraft_submit's, ZRAFT_EAGAIN when n more would pass
   submit_max. */
#define ZRAFT_SUBMIT_MANY_MAX 4096
#define ZRAFT_SUBMIT_BYTES_MAX (8u << 20)
int zraft_submit_many (zraft_t *self, const uint64_t *tokens,
                       const void *const *datas, const size_t *sizes, size_t n);

/* A read through fsm.query, answered by a ZRAFT_EVENT_RESULT with the
   token. flags 0: linearizable, by ReadIndex (Raft thesis §6.4): this
   server, which must be the leader (else the RESULT is
   ZRAFT_ENOTLEADER with the leader's id), confirms with a heartbeat
   round that it still leads, then runs the query once it applied every
   entry up to the read index (its commit index at the request); the
   RESULT's index is the read index and term the leader's term. Reads
   arriving together share one round, and no log entry is written.
   ZRAFT_QUERY_STALE: runs on this server after what it has already
   been handed to apply, leader or not, without asking anyone: it may
   miss writes the cluster committed; the RESULT's index and term are
   those of the last entry applied. Status 0 (the query ran: data holds
   its result), ZRAFT_EINVAL (fsm.query refused), ZRAFT_ENOTLEADER (also
   when the leader stepped down before confirming), ZRAFT_EBUSY (too many
   reads pending on the leader), ZRAFT_EIO or ZRAFT_ESHUTDOWN. Returns 0
   (queued), or at once:
   ZRAFT_EAGAIN (as zraft_submit), ZRAFT_ETOOBIG (size over
   ZRAFT_ENTRY_BYTES_MAX), ZRAFT_EINVAL (no fsm.query, or unknown flags),
   ZRAFT_ESHUTDOWN. data (size bytes) is copied. */
#define ZRAFT_QUERY_STALE 1
int zraft_query (zraft_t *self, uint64_t token, const void *data, size_t size,
                 int flags);

typedef enum {
    ZRAFT_EVENT_RESULT = 1,             /* a submission's or a query's outcome */
    ZRAFT_EVENT_ROLE = 2,               /* role, term or leader changed */
    ZRAFT_EVENT_SUBSCRIBED = 3,         /* zraft_subscribe's answer */
    ZRAFT_EVENT_DELIVER = 4,            /* a publication for a subscription */
    ZRAFT_EVENT_UNSUBSCRIBED = 5        /* a subscription ended */
} zraft_event_type_t;

typedef struct {
    zraft_event_type_t type;            /* which event */
    uint64_t token;                     /* RESULT: the submitter's token */
    int status;                         /* RESULT: 0 or a ZRAFT_E* code (above) */
    uint64_t index;                     /* RESULT: the entry's index (also for
                                           ELOST and EUNKNOWN), or the query's
                                           read index */
    uint64_t term;                      /* RESULT: the entry's term, or the
                                           query's; ROLE: the current term */
    uint32_t leader;                    /* ROLE: leader's id (0 unknown);
                                           RESULT ENOTLEADER: the hint */
    zraft_role_t role;                  /* ROLE: this server's new role */
    void *data;                         /* RESULT: apply's or query's result,
                                           owned by the caller (NULL if none) */
    size_t size;                        /* its bytes */
    bool duplicate;                     /* RESULT of zraft_publish: it repeated
                                           an earlier (producer, seq), whose
                                           index and term these are */
    uint64_t first;                     /* SUBSCRIBED, UNSUBSCRIBED: the
                                           first index the log holds */
    uint64_t last;                      /* SUBSCRIBED: last committed index */
    const char *subject;                /* DELIVER: the subject, NUL-ended,
                                           inside data's allocation (freed
                                           with it); data/size: the payload;
                                           index and term: the publication's
                                           entry (what a cursor commits).
                                           The token is the subscription's */
} zraft_event_t;

/* A socket that polls readable when events wait: add it to a zpoller
   or zmq_poll, then call zraft_recv with timeout 0 until it returns
   ZRAFT_EAGAIN (the handle may hold several events received at once, so
   the socket alone does not say that all were taken). Do not read it
   directly. */
zsock_t *zraft_events (zraft_t *self);

/* Takes the next event: 0 with *event filled (the caller releases it
   with zraft_event_release), ZRAFT_EAGAIN if none came within
   timeout_ms (0: do not wait; -1: no limit), or ZRAFT_ESHUTDOWN if the
   node is gone. ROLE events are coalesced: a change that happens while
   one is still unread is reported when it has been read (with the state
   then), so they say where the server stands, not every step; a leader
   change always ends in an event with the latest state. Receiving a
   RESULT makes room for one more submission (submit_max). */
int zraft_recv (zraft_t *self, zraft_event_t *event, int timeout_ms);

/* Frees event->data (free()) and zeroes the event. Idempotent. */
void zraft_event_release (zraft_event_t *event);

/* Waits until this server knows a leader (itself included): 0 and
   *leader set (leader may be NULL), ZRAFT_ETIMEDOUT after timeout_ms
   (-1: no limit), or ZRAFT_ESHUTDOWN. The node answers when it learns
   one: no polling. */
int zraft_wait_leader (zraft_t *self, int timeout_ms, uint32_t *leader);

/* Hosting: the application's loop runs on the node's thread.

   A server that answers clients from its own thread pays for two thread
   hand-offs per request: the request goes to the node's thread, and its
   RESULT comes back. Each wakes a sleeping thread (~16 us on a VM). An
   application that hosts its loop on the node's thread does not pay
   them: the requests it makes from there are handled by the same thread
   right after, and the node's events reach it the same way.

   zraft_host hands the node the readers (czmq sockets or actors, or
   int * file descriptors, as zpoller takes them) and the handler of the
   calling thread's loop, and blocks until the handler ends hosting.
   Meanwhile the node polls the readers with its own sockets and calls
   handle (arg, which) on its thread with a reader that has input, or
   with which NULL when timeout (arg) ms have passed since the handler
   last ran. handle returns true to go on, false to end hosting.
   timeout (may be NULL: no limit) is asked after each call of handle
   and when hosting starts, and returns ms (-1: no limit). The readers
   are read by the handler; the node only watches them, after its own.
   They (and everything the handler uses) must not be touched by
   another thread until zraft_host returns.

   From the handler every call on self works as from the application's
   thread, with three differences: zraft_recv does not wait (its timeout
   is taken as 0: the node cannot produce an event while it waits),
   zraft_wait_leader returns ZRAFT_EINVAL (wait for the ROLE event
   instead), and zraft_host and zraft_destroy must not be called. The
   synchronous calls (zraft_status, zraft_transfer_to, ...) are answered
   on the spot. The handler runs within the node's bursts, as one of its
   own readers' handlers would: it must not block (poll its sockets with
   timeout 0, and make no synchronous call on another zraft_t, whose
   node may be waiting for this one), and its time is the node's, so a
   long call delays heartbeats as a slow disk would. A signal does not
   end the wait in zraft_host: the handler (or its timeout) must watch
   for one (a signalfd among the readers, or a flag).

   Returns 0 when handle ended hosting, ZRAFT_ESHUTDOWN if the node
   stopped first (the handler is not called again), ZRAFT_EINVAL for
   more than ZRAFT_HOST_READERS_MAX or no readers, no handle, a call
   from the handler itself, or another host already in. */
#define ZRAFT_HOST_READERS_MAX 8
typedef struct {
    void *readers [ZRAFT_HOST_READERS_MAX];     /* borrowed; in priority order */
    size_t n_readers;                   /* 1 .. ZRAFT_HOST_READERS_MAX */
    bool (*handle) (void *arg, void *which);
    int (*timeout) (void *arg);         /* NULL: no limit */
    void *arg;
} zraft_host_t;
int zraft_host (zraft_t *self, const zraft_host_t *host);

/* Library logging, process-wide: lines at or above level go to fn(arg,
   level, line) (serialised, from the library's threads: fn must be
   thread-safe toward the application and must not call zraft_log_set),
   or to stderr if fn is NULL. The default is stderr at ZRAFT_LOG_NOTICE.
   When it returns, the previous fn is no longer called. Each line starts
   with the server's id ("n2 node: ...") where it concerns one. */
enum {
    ZRAFT_LOG_ERROR,                    /* a server cannot continue correctly */
    ZRAFT_LOG_WARNING,                  /* a peer, the disk or a client misbehaves */
    ZRAFT_LOG_NOTICE,                   /* role, term, leader; start and stop */
    ZRAFT_LOG_INFO,                     /* periodic statistics */
    ZRAFT_LOG_DEBUG                     /* per RPC */
};
typedef void (zraft_log_fn) (void *arg, int level, const char *line);
void zraft_log_set (int level, zraft_log_fn *fn, void *arg);

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
    uint64_t replies_direct;            /* replies that had nothing to wait
                                           for on disk, sent at once */
    uint64_t queries_on_node;           /* queries run on the node's thread
                                           (config.query_on_node) */
    uint64_t applies_on_node;           /* runs applied on the node's thread
                                           (config.apply_on_node) */
    uint64_t appends_out;               /* AppendEntries sent (heartbeats too) */
    uint64_t entries_out;               /* entries carried by them */
    uint64_t bytes_out;                 /* bytes sent to peers */
    uint64_t frames_rejected;           /* malformed frames dropped, and
                                           frames of another cluster's peers */
    uint64_t elections;                 /* elections this server started */
    uint64_t fault_dropped;             /* messages the fault filter dropped */
    uint64_t fault_duplicated;          /* ...duplicated */
    uint64_t fault_delayed;             /* ...held back */
    uint64_t stalls;                    /* times the node's thread did not
                                           run for over two heartbeats */
    uint64_t stalled_ms;                /* the time beyond those two
                                           heartbeats, which silence
                                           (check-quorum, elections) does
                                           not count */
} zraft_status_t;

/* Fills *status. Returns 0 or ZRAFT_ESHUTDOWN. */
int zraft_status (zraft_t *self, zraft_status_t *status);

/* Chaos drills and tests: cut (or heal) this server's link to peer, for
   what it sends (out) and what it receives (in). Off by default. */
int zraft_partition (zraft_t *self, uint32_t peer, bool cut_out, bool cut_in);

/* Leadership transfer (thesis §3.10): the leader stops accepting
   submissions (their RESULT: ZRAFT_EBUSY), brings peer up to date and tells it to start
   an election at once. peer 0 lets the leader choose: the follower most
   up to date (the highest index known replicated on it) among those it
   heard from within the last election timeout, the lowest id among
   equals, so never a follower that is down or lagging when another is
   not (zraft_transfer_to tells which). Returns 0 when the
   transfer started (watch zraft_status for the new leader),
   ZRAFT_ENOTLEADER, ZRAFT_EINVAL (not a peer; peer 0: no follower heard
   from within an election timeout) or ZRAFT_EBUSY (a transfer is under
   way). A transfer that has not completed within an election timeout is
   abandoned and the leader carries on. */
int zraft_transfer (zraft_t *self, uint32_t peer);

/* zraft_transfer, telling where leadership goes: on success, *target
   is peer, or the follower the leader picked for peer 0 (the transfer
   may be over already when this returns); 0 on error. */
int zraft_transfer_to (zraft_t *self, uint32_t peer, uint32_t *target);

/* Asks for a snapshot now, whatever the thresholds say. Returns 0 when
   it was asked for (zraft_status tells when snapshot_index moves),
   ZRAFT_EBUSY if one is being taken, ZRAFT_EINVAL if the state machine
   has an apply callback but no snapshot callback. */
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

/*  ---------------------------------------------------------------------
    The message bus

    Every zraft_t is also the store of a message bus. A publication is a
    log entry of its own kind, beside the state machine's commands (which
    never see it): totally ordered by its index, durable once its RESULT
    says so. Subscribers read committed publications from any index the
    log still holds, at their own pace, with credit: the feed actor
    serves them from the WAL (the log store's read-by-index API), never
    from the applier or the node, so a slow or dead subscriber stalls
    nothing but itself, and its memory is bounded by its credit.

    Deduplication (JetStream's message id, the thesis's client sessions,
    §6.3): a publication may carry a producer id (non-zero) and a
    sequence number. The bus remembers, per producer, which of its last
    config.dedup_window sequence numbers it applied and at which index;
    a publication repeating one is not appended again: its RESULT says
    duplicate, with the index and term of the first. A sequence number
    older than the window is refused (ZRAFT_ESTALE). At most
    config.producers_max producers are remembered; past that the one
    least recently heard from is forgotten. This state, and the durable
    cursors, are part of every snapshot: every server decides the same.

    Durable cursors: a named consumer commits its position (the last
    index it processed) through the log like any entry; any server
    answers it after any restart (zraft_cursors).
    --------------------------------------------------------------------- */

#define ZRAFT_SUBJECT_MAX 255           /* bytes in a subject: 1..255, no NUL
                                           (bytes: UTF-8 is not checked, and the
                                           bus protocol carries them as a str) */
#define ZRAFT_CURSOR_NAME_MAX 255       /* bytes in a cursor name: 1..255 */
#define ZRAFT_CURSORS_MAX 3840u         /* cursors remembered: their map fits
                                           a RESULT (ZRAFT_RESULT_BYTES_MAX) */
#define ZRAFT_CREDIT_MAX 65536u         /* credit one subscription may hold */


/* Publishes data (size bytes, at most ZRAFT_ENTRY_BYTES_MAX, copied)
   under subject, and returns at once; the leader only. producer 0: no
   deduplication (seq ignored). 0: queued, and one ZRAFT_EVENT_RESULT
   with token follows: status 0 once this server applied it (index and
   term: where it sits in the total order; event.duplicate set if it
   repeated an earlier (producer, seq), whose index and term these are),
   ZRAFT_ESTALE, or any status zraft_submit's RESULT may carry; among
   them ZRAFT_EBUSY also when the leader cannot decide yet whether it
   repeats one (the first copy is in flight, or the leader was just
   elected): retry with the same (producer, seq). Refused at once as
   zraft_submit is, ZRAFT_EINVAL for a bad subject, and ZRAFT_ETOOBIG
   when subject and data do not fit one entry. */
int zraft_publish (zraft_t *self, uint64_t token, const char *subject,
                   const void *data, size_t size, uint64_t producer,
                   uint64_t seq);

/* One publication of zraft_publish_many: zraft_publish's arguments. */
typedef struct {
    uint64_t token;                     /* its RESULT's token */
    const char *subject;                /* NUL-ended, 1..ZRAFT_SUBJECT_MAX bytes */
    const void *data;                   /* size bytes (copied) */
    size_t size;
    uint64_t producer;                  /* 0: no deduplication */
    uint64_t seq;
} zraft_publication_t;

/* Publishes n publications in one call, as zraft_submit_many submits
   commands: one message to the node, and those the leader admits travel
   to the followers and the disk in one batch, at consecutive indexes in
   the order given. Each gets its own RESULT, as from zraft_publish (a
   duplicate, ZRAFT_ESTALE or ZRAFT_EBUSY from the dedup gate concerns
   that publication only). All or nothing at submission: 0 and n RESULT
   events follow, or an error and none: ZRAFT_EINVAL (n not
   1..ZRAFT_SUBMIT_MANY_MAX, a bad subject, or the encoded publications
   over ZRAFT_SUBMIT_BYTES_MAX), ZRAFT_ETOOBIG (one does not fit an
   entry), ZRAFT_EAGAIN (n more would pass submit_max),
   ZRAFT_ESHUTDOWN. */
int zraft_publish_many (zraft_t *self, const zraft_publication_t *pubs,
                        size_t n);

/* Commits cursor name at index (the last index its consumer processed)
   through the log; the leader only. One RESULT with token follows, as
   for zraft_submit (status 0: committed and applied here; ZRAFT_EINVAL
   for a new name when ZRAFT_CURSORS_MAX cursors exist). A cursor only moves forward:
   an index below its current one leaves it where it is (status 0).
   Refused at once as zraft_submit is, and ZRAFT_EINVAL for a bad name
   (NULL, empty, over ZRAFT_CURSOR_NAME_MAX) or index 0. A new name
   when ZRAFT_CURSORS_MAX exist is answered by the leader without being
   appended (unless other new names are on their way to the log). */
int zraft_cursor_commit (zraft_t *self, uint64_t token, const char *name,
                         uint64_t index);

/* Reads every durable cursor: one RESULT with token follows, whose data
   is a msgpack map {name (str): index (uint)}, as of the read's index.
   flags as zraft_query (0: linearizable, on the leader; or
   ZRAFT_QUERY_STALE, any server). zraft_cursor_find looks one up. */
int zraft_cursors (zraft_t *self, uint64_t token, int flags);

/* Finds name in a zraft_cursors result: 0 and *index, or -1 if absent
   or the data is malformed. */
int zraft_cursor_find (const void *data, size_t size, const char *name,
                       uint64_t *index);

/* Where a subscription starts. */
typedef enum {
    ZRAFT_FROM_INDEX = 0,               /* at options.from (>= 1) */
    ZRAFT_FROM_FIRST = 1,               /* the first index the log holds */
    ZRAFT_FROM_LAST = 2,                /* the newest publication committed
                                           (that matches), then what follows */
    ZRAFT_FROM_NEXT = 3                 /* what is committed after now */
} zraft_from_t;

typedef struct {
    zraft_from_t from_mode;
    uint64_t from;                      /* ZRAFT_FROM_INDEX: first index wanted */
    const char *prefix;                 /* deliver subjects starting with it,
                                           0..ZRAFT_SUBJECT_MAX bytes; NULL or
                                           "": every subject (copied) */
    uint32_t credit;                    /* deliveries allowed before the first
                                           zraft_credit, 0..ZRAFT_CREDIT_MAX */
} zraft_sub_options_t;

/* Opens subscription sub (the caller's id, unique among its open ones)
   on this server, leader or not: it delivers publications committed
   and durable here. Returns 0 and one ZRAFT_EVENT_SUBSCRIBED with
   token sub follows (status 0, event.first and event.last: the log's
   first index and last committed index; or ZRAFT_ERANGE with
   event.first); then ZRAFT_EVENT_DELIVER events with token sub, one
   per matching publication in index order with none missed, each
   taking one credit. Returns at once ZRAFT_EINVAL (sub already open,
   options NULL or bad), ZRAFT_EAGAIN (config.subs_max open, or the feed's
   queue full), ZRAFT_ESHUTDOWN. A subscription ends with a
   ZRAFT_EVENT_UNSUBSCRIBED: status 0 after zraft_unsubscribe, or
   ZRAFT_ERANGE if compaction took its position away before it read it
   (event.first: the first index held; resume from a cursor), except
   from ZRAFT_FROM_FIRST before its first delivery: that one moves on to
   the first index held. The write-ahead log lets compacted entries go
   a segment at a time, so an open subscription may still be given
   entries a little below zraft_status's first_index (committed entries
   like any other); a new one asking for them gets ZRAFT_ERANGE. */
int zraft_subscribe (zraft_t *self, uint64_t sub,
                     const zraft_sub_options_t *options);

/* Gives subscription sub credit more deliveries. Its credit is capped
   at ZRAFT_CREDIT_MAX, counting the deliveries zraft_recv has not
   handed out yet: what would pass the cap is dropped (still 0); credit
   0 changes nothing (0). 0,
   ZRAFT_EINVAL (not open, or being closed), ZRAFT_EAGAIN (the feed's
   queue is full: retry), ZRAFT_ESHUTDOWN. */
int zraft_credit (zraft_t *self, uint64_t sub, uint32_t credit);

/* Closes subscription sub: 0 and an UNSUBSCRIBED event follows (after
   which no DELIVER with its token comes), or ZRAFT_EINVAL (not open),
   ZRAFT_EAGAIN, ZRAFT_ESHUTDOWN. */
int zraft_unsubscribe (zraft_t *self, uint64_t sub);

/* Returns a static message for a ZRAFT_E* code. */
const char *zraft_strerror (int rc);

#ifdef __cplusplus
}
#endif

#endif
