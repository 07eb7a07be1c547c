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

    Snapshots: the node asks the applier for one when the entries applied
    since the last reach snapshot_entries or the log's payload reaches
    snapshot_bytes (or on SNAPSHOT); once the file is durable it tells the
    core, whose Ready then says up to where the WAL may drop segments. At
    start it restores the newest snapshot first (the applier reads it
    before any run) and opens the WAL past it; a snapshot a leader sent is
    restored, in order with the runs, once the persister made it durable.

    Protocol (pipe between the application thread, zraft.c, and node):
    | verb      | direction  | frames                        | reply |
    |-----------|------------|-------------------------------|-------|
    | (start)   | node -> app| "i": 0 or a ZR_E* code        | after the zactor signal |
    | PROPOSE   | app -> node| "spf": zr_blob_t* (node owns), sizes (u32 each) | "i884": rc, first index, term, leader |
    | STATUS    | app -> node| "s"                           | "b": zraft_status_t |
    | PARTITION | app -> node| "s444": peer, cut_out, cut_in | signal 0 (1 if peer unknown) |
    | PAUSE     | app -> node| "s8": milliseconds            | signal 0, then the node thread stops that long |
    | TRANSFER  | app -> node| "s4": peer                    | "i": 0 or ZR_E* code |
    | FAULT     | app -> node| "s414444": peer, cut, drop_ppm, dup_ppm, delay_ms, jitter_ms | signal 0 (1 if invalid) |
    | SNAPSHOT  | app -> node| "s"                           | "i": 0, ZR_EBUSY (one is being taken) or ZR_EINVAL (no snapshot callback) |
    | $TERM     | app -> node| "s"                           | actor ends |
    The node's other sockets: the peer ROUTER (RPC requests in, replies
    out, both as single codec frames behind a routing id "n<id>"), and the
    pipes of its child actors, whose protocols are in their headers.
    =========================================================================
*/
#ifndef ZR_NODE_H_INCLUDED
#define ZR_NODE_H_INCLUDED

#define ZR_NODE_BURST_MAX 256           /* inputs handled per Ready */

/* Back-pressure: a bound on every hand-off to a child, so the node never
   blocks on a full pipe (its sends to children have a zero timeout).
   - WRITE: at most ZR_NODE_WRITES_MAX requests are with the persister;
     more wait in the node, in order. While that many are out, or their
     entries total ZR_NODE_WRITE_BYTES_MAX, proposals are answered
     ZR_EBUSY ("the disk is behind, retry"); votes, appends and their
     replies still go through, so a slow disk slows proposals, never
     heartbeats. A request that only carries replies is dropped (as a
     lossy network would; the sender retries) once ZR_NODE_HELD_MAX
     wait, so a stalled disk cannot grow the node without bound; one
     with state (hard state, entries, snapshot chunks, compaction) never
     is: the persister must see every chunk of a transfer in order.
   - APPLY: at most ZR_NODE_APPLY_RUNS_MAX runs are with the applier;
     later committed runs wait in the node, in order, and are handed as
     APPLIED reports come back. They reference the log's blobs, so
     waiting costs an entry array, not the payloads.
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

/* The table above, which both ends use (actor.h); the last column is the
   reply's picture ("" for a signal). */
#define ZR_NODE_PROTOCOL(X)                                                  \
    X (NODE, PROPOSE, "spf", "i884")                                         \
    X (NODE, STATUS, "s", "b")                                               \
    X (NODE, PARTITION, "s444", "")                                          \
    X (NODE, PAUSE, "s8", "")                                                \
    X (NODE, TRANSFER, "s4", "i")                                            \
    X (NODE, FAULT, "s414444", "")                                          \
    X (NODE, SNAPSHOT, "s", "i")
ZR_PROTOCOL_DECLARE (node, ZR_NODE_PROTOCOL);

typedef struct {
    zraft_config_t config;              /* endpoints point into endpoints */
    char endpoints [ZR_NODES_MAX][256]; /* copied endpoint strings */
    char data_dir [1024];               /* copied data directory */
    zraft_fsm_t fsm;                    /* application callbacks */
    char events_endpoint [64];          /* the application's events socket */
} zr_node_args_t;

/* Blocks every asynchronous signal on the calling thread, saving the old
   mask in *old (if not NULL). The node and all its actors run so: signals
   belong to the application. */
void zr_signals_block (sigset_t *old);

/* zactor body; args is a heap zr_node_args_t * that the actor owns and
   frees (so no other thread touches it after zactor_new). */
void zr_node_actor (zsock_t *pipe, void *args);

#endif
