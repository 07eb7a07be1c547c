/*  =========================================================================
    node - the actor that owns one server's Raft state

    The node owns the core (raft/core.h) and the peer ROUTER, and starts
    the server's other actors: timer, persister, applier and one
    replicator per peer. It is the only thread that reads or changes
    protocol state; everything else reaches it as messages. After each
    burst of input it collects the core's Ready and dispatches it:
    entries and hard state to the persister, AppendEntries and votes to
    the replicators (in parallel with the write: thesis §10.2.1), replies
    only once the persister says they are durable, committed runs to the
    applier.

    Bursts. A burst takes inputs until none is waiting, ZR_NODE_BURST_MAX
    were taken or ZR_NODE_BURST_MS passed, whichever comes first: the
    bound in time keeps a node whose inputs are costly (snapshot chunks,
    a slow sanitizer build) from holding its Ready, and with it every
    reply and heartbeat, for hundreds of inputs' worth of time. After a
    burst that took every input waiting, and before the Ready, the node
    ticks the core if the deadline the timer was armed with has passed:
    not sooner, for a tick judges silence (check-quorum, an election
    timeout) and a node that ran late must first hear what reached it
    meanwhile; not later, as when the timer's TICK waited its turn
    behind the node's other sockets. The TICK only wakes an idle node
    (as does the poll's timeout, at least once a heartbeat: below).

    The node's clock. The core judges silence by time: a leader steps
    down when it heard no majority within an election timeout
    (check-quorum), a follower campaigns when it heard no leader. A node
    whose thread, process or machine stalls (a starved CPU, SIGSTOP, a
    frozen VM) heard nothing meanwhile because it was not listening, and
    judging that time as its peers' silence deposes a healthy leader
    the moment it wakes. So the node wakes at least once a heartbeat,
    idle or not, and the time it gives the core advances by at most two
    heartbeats between two readings: the rest of a stall is counted in
    zraft_status's stalls and stalled_ms (and logged when over a
    heartbeat) and leaves the node's clock behind zclock_mono, as
    etcd's ticks are dropped while its loop runs late. Only liveness
    rules read the clock (no read is served on a lease), so a slower
    clock can delay a step-down or an election, never make one unsafe.
    Two consequences: the protection needs an election timeout well
    above three heartbeats (a leader last heard from a heartbeat and a
    round trip before a stall finds two more heartbeats gone when it
    wakes; zraft-node's defaults are 100 and 1,000 ms); and a thread
    that only ever runs in gaps over two heartbeats (a CPU quota far
    too small, a query or apply on the node's thread that takes that
    long) runs its elections and check-quorum on a clock slower than
    real time, by the share written off, which zraft_status shows.

    Direct sends. What needs neither a replicator nor the disk leaves from
    the node itself, on a DEALER per peer of its own (kind 'd',
    transport/peer.h), one thread hand-off less on the way:
    - heartbeats: AppendEntries with no entries and no storage range to
      read, so nothing to encode at length or fill; the read rounds of
      ReadIndex (raft/core.h Invariant 14) travel in them;
    - a small AppendEntries from memory (entries the core holds, at
      most ZR_NODE_DIRECT_BYTES_MAX of them: a W=1 write's) when the
      peer's replicator is idle (it counts the SENDs it is done with in
      an atomic the node reads), so it comes after what the replicator
      sent rather than overtaking it in its queue; the first one after
      a storage read or a snapshot chunk still goes through the
      replicator (which then drops its WAL reader). Larger batches go
      through the replicator, which encodes them off the node's thread;
    - the replies (msgs_synced) of a Ready that writes nothing (no hard
      state, entries, chunks or compaction) when no WRITE is with the
      persister or held: everything they acknowledge is then durable
      already, so Invariant 7 holds without the persister, and no reply
      of the persister's is still to be sent before them (it sends a
      WRITE's replies before its PERSISTED). Otherwise replies go with a
      WRITE, as before. The counter replies_direct (zraft_status) counts
      these.
    The node's link, the replicator's and the persister's are not
    ordered with each other: a heartbeat may pass an AppendEntries sent
    before it. Raft allows any order (a heartbeat checks only an entry
    the follower holds or the probe point; a late reply never moves
    progress back, raft/progress.h).

    Queries on the node (config.query_on_node). A confirmed linearizable
    query whose read index the applier has applied, when the applier
    holds nothing (no APPLY or SNAPSHOT out, nothing waiting to be
    handed to it, no query queued before this one), runs on the node's
    thread with zr_applier_query_run and its RESULT leaves with the
    Ready's: one hand-off less per read. Otherwise it is queued for the
    applier (below). The state machine changes threads only with the
    APPLY/APPLIED and SNAPSHOT/SNAPSHOTTED messages (applier.h), so no
    two callbacks ever run at once.

    Applies on the node (config.apply_on_node). Under the same rule
    (the applier holds nothing, nothing waits to be handed to it, no
    snapshot is being taken), a committed run of at most
    ZR_APPLIER_HERE_ENTRIES_MAX entries, or queries alone, is applied
    on the node's thread with zr_applier_apply_here, on the applier's
    own state: its RESULTs leave with the Ready's and the applied index
    moves at once, without the APPLY/APPLIED pair (two thread wake-ups
    per commit on every server, one of them on a write's path). A
    larger run, a restore, or anything behind work the applier holds
    goes to the applier as before, so the applier still carries the
    batches of a loaded server in parallel with the node. A feed
    (config.subs_max > 0) hears of such a run at once, before its
    RESULTs leave (feed.h).

    Snapshots: the node asks the applier for one when the entries applied
    since the last reach snapshot_entries or the log's payload reaches
    snapshot_bytes (or on SNAPSHOT); once the file is durable it tells the
    core, whose Ready then says up to where the WAL may drop segments. At
    start it restores the newest snapshot first (the applier reads it
    before any run) and opens the WAL past it; a snapshot a leader sent is
    restored, in order with the runs, once the persister made it durable.

    The application (zraft.c). The zactor pipe carries only the start-up
    result and $TERM. Everything else goes over the api socket, a PAIR
    the handle binds and the node connects: submissions and queries (no
    reply: their outcome is a RESULT on the events socket, results.h)
    and synchronous commands (one reply each; the handle waits for it).
    Requests are handled in the order sent, and a reply leaves only
    after every event the requests before it produced (the node sends
    its pending results first): a STATUS after a SUBMIT sees it handled.
    The api socket holds at most submit_max SUBMIT/QUERY messages (the
    handle's bound), one RECEIVED and one command, and its HWM is sized
    for that (results.h, zr_events_hwm).

    Protocol (api socket, application thread <-> node):
    | verb      | direction  | frames                        | reply |
    |-----------|------------|-------------------------------|-------|
    | (start)   | node -> app| pipe: "i": 0 or a ZR_E* code  | after the zactor signal |
    | SUBMIT    | app -> node| "spff": zr_blob_t* (node owns), sizes (u32 each), tokens (u64 each) | none: one RESULT per token, from the node (refused: ENOTLEADER with the leader, EBUSY, EIO; or later ELOST, EUNKNOWN, ESHUTDOWN) or from the applier (applied) |
    | BUS       | app -> node| "spff": zr_blob_t* (node owns) holding n BUS entries (bus.h) back to back, sizes (u32 each), tokens (u64 each) | none: one RESULT per token, as SUBMIT's (the gate's or the applier's may say duplicate, ZR_ESTALE, ZR_EBUSY, ZR_EINVAL) |
    | QUERY     | app -> node| "s8f4": token, data, flags (ZRAFT_QUERY_STALE, ZR_QUERY_CURSORS) | none: one RESULT, from the applier (ran, or EINVAL) or the node (ENOTLEADER, EBUSY, EIO, ESHUTDOWN) |
    | RECEIVED  | app -> node| "s": the handle read a ROLE event | none; the node may send the next ROLE |
    | WAIT      | app -> node| "si": timeout ms (-1: none)   | "i4": 0 and the leader once one is known, or ZR_ETIMEDOUT and 0 at the deadline (deferred) |
    | STATUS    | app -> node| "s"                           | "b": zraft_status_t |
    | PARTITION | app -> node| "s444": peer, cut_out, cut_in | signal 0 (1 if peer unknown) |
    | PAUSE     | app -> node| "s8": milliseconds            | signal 0, then the node thread stops that long |
    | TRANSFER  | app -> node| "s4": peer (0: the core picks) | "i4": 0 or ZR_E* code, and the target (0 on error) |
    | FAULT     | app -> node| "s414444": peer, cut, drop_ppm, dup_ppm, delay_ms, jitter_ms | signal 0 (1 if invalid) |
    | SNAPSHOT  | app -> node| "s"                           | "i": 0, ZR_EBUSY (one is being taken) or ZR_EINVAL (no snapshots: zr_applier_snapshots) |
    | HOST      | app -> node| "sp": zr_node_host_t* (the app's, borrowed until done) | none on api: done (its pipe) is signalled 0 when handle ends hosting, 1 if the node stopped first, 2 if a host is already in |
    | $TERM     | app -> node| pipe: "s"                     | actor ends: what is outstanding is answered ZR_ESHUTDOWN |
    Hosting (zraft_host, zraft.h). After HOST the node adds the host's
    readers to its poller, after its own, and calls handle on its thread
    with one that has input (inside a burst, as a reader of its own) or
    with NULL once the host's timeout passed (after the burst, before
    the Ready), asking
    timeout again after each call. The application's thread meanwhile
    waits on done, so the handle and its sockets belong to the node's
    thread until done is signalled. A request made from handle does not
    go through the api socket: zraft.c hands it to the node as a call
    (zr_node_host_request), handled at once as if it had been read there
    (a synchronous one's reply is on the api socket when the call
    returns). Nothing else is on the api socket meanwhile: the
    application sent HOST last. Since handle may send and receive on its
    readers, they are all
    marked (zr_poller_sent) after each call. The hosting ends when
    handle returns false or the node stops (done signalled 1 first).
    Events socket (PUSH, node -> application): RESULTS and ROLE, see
    results.h. A ROLE is sent after a Ready that changed this server's
    role, term or known leader, when the previous one was RECEIVED;
    otherwise at the RECEIVED, with the state then (coalesced).

    The message bus (bus.h). A BUS request is a run of publications and
    cursor commits, already encoded (zraft_publish_many), refused all
    together like a SUBMIT or judged one by one, the admitted ones
    appended at consecutive indexes; the leader's gate (zr_bus_gate_t, fed the
    committed runs the applier is fed, and the snapshots it restores)
    judges a publication before it is appended: a repeat of a committed
    one is answered at once (status 0, duplicate, the first's index and
    term), a stale one ZR_ESTALE, one whose first copy is still in flight
    or that comes before this leader's first entry is committed ZR_EBUSY;
    so the log holds only publications the bus state accepts (bus.h,
    Invariant 1), and the feed delivers every one it reads. A cursor
    commit naming a new cursor when the copy holds ZR_BUS_CURSORS_MAX is
    answered ZR_EINVAL without being appended, as apply would answer it.

    Linearizable queries (ReadIndex, raft/core.h Invariant 14): the node
    records the query under a context number with the core, which
    confirms it in a later Ready with its read index (or fails it: the
    RESULT is ZR_ENOTLEADER). The query then waits in the node until
    every committed entry up to the read index was queued for the
    applier, and is queued behind them (APPLY below): it runs after
    they are applied. A stale query is queued behind what was queued
    already. Queries ride with the next run or restore, or alone.
    The node's other sockets: the peer ROUTER (every RPC in, requests and
    replies, as single codec frames behind the sender's routing id), its
    links (above), and the pipes of its child actors, whose protocols
    are in their headers.
    =========================================================================
*/
#ifndef ZR_NODE_H_INCLUDED
#define ZR_NODE_H_INCLUDED

#define ZR_NODE_DIRECT_BYTES_MAX 8192   /* entry bytes of an AppendEntries
                                           the node may send itself */
#define ZR_NODE_BURST_MAX 256           /* inputs handled per Ready; a burst
                                           polls only api, router, persister
                                           and applier (what batches) */
#define ZR_NODE_BURST_MS 10             /* ms after which a burst takes no
                                           more input: well under a
                                           heartbeat period */

/* Back-pressure: a bound on every hand-off to a child, so the node never
   blocks on a full pipe (its sends to children have a zero timeout).
   - WRITE: at most ZR_NODE_WRITES_MAX requests are with the persister;
     more wait in the node, in order. While that many are out, or their
     entries total ZR_NODE_WRITE_BYTES_MAX, submissions are answered
     ZR_EBUSY ("the disk is behind, retry"); votes, appends and their
     replies still go through, so a slow disk slows submissions, never
     heartbeats. A request that only carries replies is dropped (as a
     lossy network would; the sender retries) once ZR_NODE_HELD_MAX
     wait, so a stalled disk cannot grow the node without bound; one
     with state (hard state, entries, snapshot chunks, compaction) never
     is: the persister must see every chunk of a transfer in order.
   - APPLY: at most ZR_NODE_APPLY_RUNS_MAX runs are with the applier;
     later committed runs wait in the node, in order, and are handed as
     APPLIED reports come back. They reference the log's blobs, so
     waiting costs an entry array, not the payloads. Queries wait with
     them (at most submit_max: the handle's bound).
   - SEND: a replicator whose pipe is full is treated as an unreachable
     link: the message is dropped and the core probes that peer again.
   - ARM: a timer that cannot take it is re-armed at the next Ready.
   Every child pipe holds at least ZR_NODE_PIPE_MSGS_MAX messages
   (zsys_pipehwm, checked by zraft_new), more than the node ever queues
   on one, control verbs included. */
#define ZR_NODE_WRITES_MAX 256          /* WRITEs with the persister */
#define ZR_NODE_WRITE_BYTES_MAX (64u << 20)     /* entry bytes in those */
#define ZR_NODE_HELD_MAX 1024           /* WRITEs waiting in the node before
                                           reply-only ones are dropped */
#define ZR_NODE_APPLY_RUNS_MAX 16       /* APPLY runs with the applier */
#define ZR_NODE_SNAPSHOT_RETRY 1024     /* entries applied before retrying a
                                           failed snapshot (bytes threshold) */
#define ZR_NODE_PIPE_MSGS_MAX (ZR_NODE_WRITES_MAX + 16) /* per child pipe */
_Static_assert (ZR_NODE_APPLY_RUNS_MAX < ZR_NODE_PIPE_MSGS_MAX, "APPLY fits its pipe");

/* QUERY flag beside ZRAFT_QUERY_STALE: zraft_cursors, answered by the
   applier from the bus state (applier.h) with no data of its own. */
#define ZR_QUERY_CURSORS (1u << 8)

/* The table above, which both ends use (actor.h); the last column is the
   reply's picture ("" for a signal). */
#define ZR_NODE_PROTOCOL(X)                                                  \
    X (NODE, SUBMIT, "spff", NULL)                                           \
    X (NODE, BUS, "spff", NULL)                                              \
    X (NODE, QUERY, "s8f4", NULL)                                            \
    X (NODE, RECEIVED, "s", NULL)                                            \
    X (NODE, WAIT, "si", "i4")                                               \
    X (NODE, STATUS, "s", "b")                                               \
    X (NODE, PARTITION, "s444", "")                                          \
    X (NODE, PAUSE, "s8", "")                                                \
    X (NODE, TRANSFER, "s4", "i4")                                           \
    X (NODE, FAULT, "s414444", "")                                          \
    X (NODE, SNAPSHOT, "s", "i")                                             \
    X (NODE, HOST, "sp", NULL)
ZR_PROTOCOL_DECLARE (node, ZR_NODE_PROTOCOL);

typedef struct {
    zraft_config_t config;              /* endpoints point into endpoints */
    char endpoints [ZR_NODES_MAX][256]; /* copied endpoint strings */
    char data_dir [1024];               /* copied data directory */
    zraft_fsm_t fsm;                    /* application callbacks */
    char events_endpoint [64];          /* the application's events socket */
    char api_endpoint [64];             /* the application's api socket */
    char feed_endpoint [64];            /* the feed's wake-up PULL (feed.h),
                                           "" if no feed */
    struct _zr_feed_news_t *feed_news;  /* the news it reads (feed.h), the
                                           handle's */
} zr_node_args_t;

/* A HOST request (zraft.c builds it; the node borrows it until done). */
typedef struct {
    zraft_host_t host;                  /* a copy of the application's */
    const void *owner;                  /* the zraft_t hosting */
    zsock_t *done;                      /* signalled when hosting ends */
} zr_node_host_t;

/* Status signalled on zr_node_host_t.done. */
#define ZR_NODE_HOST_ENDED 0            /* handle returned false */
#define ZR_NODE_HOST_STOPPED 1          /* the node stopped first */
#define ZR_NODE_HOST_BUSY 2             /* another host was in */

/* True if the calling thread is the node's, inside the handle of a host
   of owner (a zraft_t). */
bool zr_node_hosting (const void *owner);

/* Inside such a handle: the node handles request verb (msg, built by
   zr_verb_msg_build; reset here) at once, as if read from the api
   socket (a synchronous one's reply is then on it), and returns true.
   Elsewhere returns false and takes nothing. */
bool zr_node_host_request (const void *owner, int verb, zr_verb_msg_t *msg);

/* Blocks every asynchronous signal on the calling thread, saving the old
   mask in *old (if not NULL). The node and all its actors run so: signals
   belong to the application. */
void zr_signals_block (sigset_t *old);

/* zactor body; args is a heap zr_node_args_t * that the actor owns and
   frees (so no other thread touches it after zactor_new). */
void zr_node_actor (zsock_t *pipe, void *args);

#endif
