/*  =========================================================================
    applier - applies committed entries to the state machine, in runs

    The node hands the applier runs of committed entries in index order.
    The applier calls the application's apply callback for each command
    (no-ops are skipped) and hands each BUS entry to the bus state
    (bus.h), which the state machine never sees: its RESULT is the bus's
    outcome (the publication's index and term, or the first's with the
    duplicate flag, or ZR_ESTALE). A run carries the tokens of the commands this
    server's application submitted (tokens.h): their results (apply's
    result buffers) go straight to the application's events socket, one
    RESULTS message per run, never per entry (results.h); the results of
    commands without a token are freed. A run may also carry queries
    (zraft_query), which run after its entries, in order, through
    fsm.query: a stale one as soon as it is handed over, a linearizable
    one once the node saw every entry up to its read index committed and
    handed over (the node queues it behind those runs); a cursors query
    (zraft_cursors) is answered from the bus state instead, with the map
    of cursors. The applier then reports the last applied index to the
    node.

    Queries on the node (config.query_on_node): the node may run a
    linearizable query itself, with zr_applier_query_run, when the
    applier holds no APPLY and no SNAPSHOT (every one it was handed came
    back APPLIED or SNAPSHOTTED) and has applied the query's read index.
    The state machine then changes threads with those messages: the
    applier never calls back between an APPLIED and the next APPLY or
    SNAPSHOT, so no two callbacks ever run at once. (For ThreadSanitizer,
    which cannot see ZeroMQ's ordering, both ends annotate fsm.arg as
    handed over with these messages.)

    Applies on the node (config.apply_on_node): under the same rule,
    the node may apply a small run itself (at most
    ZR_APPLIER_HERE_ENTRIES_MAX entries; never a restore) with
    zr_applier_apply_here, on the applier's own state (applied index,
    results), which the applier publishes at start (args.state): one
    hand-off less per commit, and no APPLY/APPLIED pair. The state
    changes threads with the same messages as the state machine.

    Snapshots: on SNAPSHOT the applier asks the application to capture
    its state as of the last applied index (fsm.snapshot, on this
    thread, between two applies; none when the application has no
    apply, a bus-only one), encodes the bus state's section beside it
    (the data layout is in snapshot.h) and hands both to its writer, a
    child actor that writes the snapshot file (temp file, fsync, rename,
    directory fsync), prunes all but the two newest in the directory
    (the one before may still be sent to a follower) and reports; the applier forwards SNAPSHOTTED to the
    node. At most one snapshot is written at a time. A run may instead
    carry a restore: the applier reads the snapshot file, restores the
    bus state from its section and hands the rest to fsm.restore, in
    order with the runs before and after it.

    Protocol (pipe between node and applier):
    | verb        | direction       | frames                   | ownership / reply |
    |-------------|-----------------|--------------------------|-------------------|
    | APPLY       | node -> applier | "sp": zr_apply_req_t*    | applier owns and frees it; a run or a restore, then queries; one RESULTS message on the events socket if it answers any token |
    | APPLIED     | applier -> node | "s8i": last applied index, rc | one per APPLY; rc != 0: a restore failed (then nothing more is applied: tokens and queries are answered ZR_EIO) |
    | SNAPSHOT    | node -> applier | "s"                      | SNAPSHOTTED follows (rc < 0: none taken) |
    | SNAPSHOTTED | applier -> node | "s888i": index, term, data size, rc | the file is durable when rc == 0 |
    | $TERM       | node -> applier | "s"                      | actor ends (a snapshot being written is abandoned) |
    Writer (pipe between applier and its writer):
    | WRITE       | applier -> writer | "sp": zr_snapshot_job_t* | writer owns it until WRITTEN |
    | WRITTEN     | writer -> applier | "sp": the job, rc set     | applier frees it |
    Events socket (PUSH, applier -> application): RESULTS, see results.h.
    =========================================================================
*/
#ifndef ZR_APPLIER_H_INCLUDED
#define ZR_APPLIER_H_INCLUDED

/* A query to run through fsm.query (zraft_query). */
typedef struct {
    uint64_t token;                     /* the application's */
    zframe_t *data;                     /* its bytes, owned */
    bool stale;                         /* ZRAFT_QUERY_STALE */
    bool cursors;                       /* zraft_cursors: answered from the
                                           bus state, never by fsm.query */
    zr_index_t read_index;              /* linearizable: the read index */
    zr_term_t read_term;                /* linearizable: the leader's term */
} zr_query_t;

/* One hand-off to the applier: a run of committed entries or a restore,
   then queries. */
typedef struct {
    zr_entry_t *entries;                /* owned run, consecutive indexes */
    uint32_t n_entries;
    zr_token_at_t *tokens;              /* owned: tokens of commands in the
                                           run, by increasing index */
    uint32_t n_tokens;
    zr_index_t restore_index;           /* > 0: restore this snapshot instead */
    zr_term_t restore_term;             /* its term */
    zr_query_t *queries;                /* owned: to run after the run */
    uint32_t n_queries;
    uint32_t queries_capacity;          /* slots allocated */
} zr_apply_req_t;

/* Appends a query (its data frame taken) to req. */
void zr_apply_req_add_query (zr_apply_req_t *req, const zr_query_t *query);

/* Runs query (borrowed) through fsm->query and adds its RESULT to
   results: status 0 with the query's result (within
   ZRAFT_RESULT_BYTES_MAX, else dropped and logged as server id's), or
   ZR_EINVAL if fsm->query refused; index and term are the RESULT's.
   The caller makes sure no other callback of fsm runs meanwhile (the
   applier's thread, or the node's while the applier holds nothing). */
void zr_applier_query_run (const zraft_fsm_t *fsm, zr_id_t id,
                           const zr_query_t *query, zr_index_t index,
                           zr_term_t term, zr_results_t *results);

/* The applier's state (applied index, results, the state machine's
   callbacks), opaque outside applier.c. */
typedef struct _zr_applier_state_t zr_applier_state_t;

#define ZR_APPLIER_HERE_ENTRIES_MAX 16  /* entries of a run the node may
                                           apply itself (apply_on_node) */

/* Applies the run *req_p (taken, freed; not a restore) and runs its
   queries on the calling thread, as the applier would, with the
   applier's state: the node's thread, while the applier holds no APPLY
   and no SNAPSHOT (config.apply_on_node). Moves the results into
   results (the node sends them) and sets *applied to the last index
   applied. Returns 0, or ZR_EIO if a restore had failed (nothing is
   applied then, and the run's tokens are answered ZR_EIO). */
int zr_applier_apply_here (zr_applier_state_t *state, zr_apply_req_t **req_p,
                           zr_results_t *results, zr_index_t *applied);

/* Returns true if snapshots are taken with this state machine: it has
   a snapshot callback, or no apply (a bus-only application, whose
   snapshots hold the bus section alone). */
static inline bool
zr_applier_snapshots (const zraft_fsm_t *fsm)
{
    return fsm->snapshot != NULL || fsm->apply == NULL;
}

/* A snapshot for the writer: the bus section, the application's buffer,
   and their place. */
typedef struct {
    zr_snapshot_meta_t meta;            /* index, term, configuration */
    void *bus;                          /* the bus section (free()) */
    size_t bus_size;                    /* its bytes */
    void *data;                         /* the application's buffer (free()),
                                           or NULL */
    size_t size;                        /* its bytes */
    int rc;                             /* WRITTEN: 0 or a ZR_E* code */
    char errmsg [512];                  /* WRITTEN: why, if rc != 0 */
} zr_snapshot_job_t;

/* Frees a request: its entries' blob references, tokens and queries
   (without answering them). */
void zr_apply_req_destroy (zr_apply_req_t **self_p);

/* The table above, which both ends use (actor.h). */
#define ZR_APPLIER_PROTOCOL(X)                                               \
    X (APPLIER, APPLY, "sp", NULL)                                           \
    X (APPLIER, APPLIED, "s8i", NULL)                                        \
    X (APPLIER, SNAPSHOT, "s", NULL)                                         \
    X (APPLIER, SNAPSHOTTED, "s888i", NULL)
ZR_PROTOCOL_DECLARE (applier, ZR_APPLIER_PROTOCOL);

#define ZR_WRITER_PROTOCOL(X)                                                \
    X (WRITER, WRITE, "sp", NULL)                                            \
    X (WRITER, WRITTEN, "sp", NULL)
ZR_PROTOCOL_DECLARE (writer, ZR_WRITER_PROTOCOL);

/* Hands a run to the applier, taking *req_p (NULLed). Returns 0, or -1
   if the pipe is full or gone: the run is then destroyed. */
static inline int
zr_applier_send_apply (zsock_t *pipe, zr_apply_req_t **req_p)
{
    zr_apply_req_t *req = *req_p;
    *req_p = NULL;
    zr_handoff_send (req);
    int rc = zr_verb_send (pipe, zr_applier_verbs, ZR_APPLIER_APPLY, req);
    if (rc != 0)
        zr_apply_req_destroy (&req);
    return rc;
}

typedef struct {
    zraft_fsm_t fsm;                    /* the application's callbacks */
    char events_endpoint [64];          /* inproc endpoint to connect */
    uint32_t submit_max;                /* config.submit_max: sizes its HWM */
    zr_id_t id;                         /* server id, for logs */
    char data_dir [1024];               /* where snapshot files go */
    zr_snapshot_meta_t config;          /* servers, for snapshot files */
    uint32_t dedup_window;              /* the bus state's limits (bus.h) */
    uint32_t producers_max;
    zr_applier_state_t **state;         /* if not NULL, set at start to the
                                           state zr_applier_apply_here takes */
    struct _zr_feed_news_t *feed_news;  /* the feed's, for the entries it
                                           applied (feed.h), or NULL */
} zr_applier_args_t;

/* zactor body; args is a zr_applier_args_t * (copied during start). */
void zr_applier_actor (zsock_t *pipe, void *args);

#endif
