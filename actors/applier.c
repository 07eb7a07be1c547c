/*  =========================================================================
    applier - applies committed entries to the state machine (see applier.h)
    =========================================================================
*/
#include "actors.h"
#include "applier.h"
#include "bus.h"
#include "feed.h"

#define S_RESTORE_READ_BYTES (4u << 20) /* one read of a snapshot file */

void
zr_apply_req_destroy (zr_apply_req_t **self_p)
{
    zr_assert (self_p);
    zr_apply_req_t *self = *self_p;
    if (!self)
        return;
    zr_entries_destroy (&self->entries, self->n_entries);
    free (self->tokens);
    for (uint32_t i = 0; i < self->n_queries; i++)
        zframe_destroy (&self->queries [i].data);
    free (self->queries);
    free (self);
    *self_p = NULL;
}

void
zr_apply_req_add_query (zr_apply_req_t *req, const zr_query_t *query)
{
    zr_assert (req && query && query->data);
    if (req->n_queries == req->queries_capacity) {
        uint32_t capacity = req->queries_capacity ? 2 * req->queries_capacity : 8;
        zr_query_t *queries = (zr_query_t *) realloc (req->queries,
                                                      capacity * sizeof *queries);
        zr_assert (queries);
        req->queries = queries;
        req->queries_capacity = capacity;
    }
    req->queries [req->n_queries++] = *query;
}

/* ---------------------------------------------------------------- writer */

/* Writes a job's snapshot file, then prunes all but it and the one
   before (a transfer to a follower may still read it). Returns 0 or a
   ZR_E* code, with the reason in job->errmsg (the applier logs it). */
static int
s_writer_write (const char *dir, zr_snapshot_job_t *job)
{
    char *errmsg = job->errmsg;
    errmsg [0] = '\0';
    zr_snapshot_writer_t *writer = zr_snapshot_writer_new (dir, &job->meta, errmsg,
                                                           sizeof job->errmsg);
    int rc = writer ? 0 : ZR_EIO;
    uint8_t head [ZR_SNAPSHOT_BUS_HEAD];
    zr_snapshot_data_head (head, job->bus_size);
    if (writer)
        rc = zr_snapshot_writer_append (writer, head, sizeof head);
    if (rc == 0)
        rc = zr_snapshot_writer_append (writer, job->bus, job->bus_size);
    if (rc == 0)
        rc = zr_snapshot_writer_append (writer, job->data, job->size);
    if (rc == 0)
        rc = zr_snapshot_writer_commit (&writer, NULL, errmsg, sizeof job->errmsg);
    else
        zr_snapshot_writer_abort (&writer);
    if (rc == 0)
        rc = zr_snapshot_prune_older (dir, errmsg, sizeof job->errmsg);
    return rc;
}

/* The writer: a child of the applier that writes snapshot files, so that
   neither the applier nor the node waits for the disk. */
static void
s_writer_actor (zsock_t *pipe, void *args)
{
    zr_actor_name ("snapwrite", 0);
    char dir [1024];
    snprintf (dir, sizeof dir, "%s", (const char *) args);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    zr_assert (poller);
    zpoller_set_nonstop (poller, true);
    bool terminated = zr_actor_ready (pipe, args, 0) != 0;
    while (!terminated) {
        if (zr_actor_wait (poller, -1, &terminated) != pipe)
            continue;
        zr_verb_msg_t msg;
        int verb = zr_verb_recv (pipe, zr_writer_verbs, &msg);
        if (verb < 0)
            terminated = true;
        else {
            zr_assert (verb == ZR_WRITER_WRITE && msg.args [0].p);
            zr_snapshot_job_t *job = (zr_snapshot_job_t *) msg.args [0].p;
            job->rc = s_writer_write (dir, job);
            free (job->data);
            job->data = NULL;
            free (job->bus);
            job->bus = NULL;
            zr_handoff_send (job);
            if (zr_verb_send (pipe, zr_writer_verbs, ZR_WRITER_WRITTEN, job) != 0)
                free (job);
        }
        zr_verb_msg_reset (&msg);
    }
    zpoller_destroy (&poller);
}

/* ---------------------------------------------------------------- applier */

typedef struct _zr_applier_state_t {
    zsock_t *pipe;                      /* to the node */
    zsock_t *events;                    /* results to the application (PUSH) */
    zactor_t *writer;                   /* writes snapshot files, or NULL */
    zpoller_t *poller;                  /* over the pipe and the writer */
    zraft_fsm_t fsm;                    /* the application's callbacks */
    zr_id_t id;                         /* this server, for logs */
    char data_dir [1024];               /* snapshot files */
    zr_snapshot_meta_t config;          /* servers, for snapshot files */
    zr_index_t applied;                 /* last index applied or restored */
    zr_term_t applied_term;             /* its term */
    zr_results_t results;               /* the current request's, sent at its end */
    zr_bus_t *bus;                      /* the bus state, as of applied */
    struct _zr_feed_news_t *feed_news;  /* the feed's recent entries, or NULL */
    bool writing;                       /* a job is with the writer */
    bool failed;                        /* a restore failed: apply nothing more */
    bool terminated;                    /* $TERM received */
} self_t;

/* Takes a result buffer the application returned: kept within
   ZRAFT_RESULT_BYTES_MAX, else freed and logged (the RESULT then carries
   no data). Returns the size kept. */
static size_t
s_result_keep (zr_id_t id, void **result, size_t size, zr_index_t index)
{
    if (!*result)
        return 0;
    if (size <= ZRAFT_RESULT_BYTES_MAX)
        return size;
    zr_warning ("n%u applier: result of %zu bytes at index %llu is over %u; "
                "dropped", id, size, (unsigned long long) index,
                ZRAFT_RESULT_BYTES_MAX);
    free (*result);
    *result = NULL;
    return 0;
}

void
zr_applier_query_run (const zraft_fsm_t *fsm, zr_id_t id, const zr_query_t *query,
                      zr_index_t index, zr_term_t term, zr_results_t *results)
{
    zr_assert (fsm && fsm->query);      /* zraft_query checks it */
    zr_assert (query && query->data && results);
    void *result = NULL;
    size_t size = 0;
    int rc = fsm->query (fsm->arg, zframe_data (query->data),
                         zframe_size (query->data), &result, &size);
    size = s_result_keep (id, &result, size, index);
    if (rc != 0) {
        free (result);                  /* refused: no data */
        result = NULL;
        size = 0;
    }
    zr_results_add (results, query->token, rc == 0 ? 0 : ZR_EINVAL, 0, index,
                    term, result, size);
}

/* Applies one command; its result goes to the application if token is
   not NULL, and is freed otherwise. */
static void
s_apply_entry (self_t *self, const zr_entry_t *entry, const uint64_t *token)
{
    const zraft_fsm_t *fsm = &self->fsm;
    void *result = NULL;
    size_t size = 0;
    if (fsm->apply)
        fsm->apply (fsm->arg, entry->index, entry->term, entry->data,
                    entry->size, &result, &size);
    size = s_result_keep (self->id, &result, size, entry->index);
    if (token)
        zr_results_add (&self->results, *token, 0, 0, entry->index,
                        entry->term, result, size);
    else
        free (result);
}

/* Hands one BUS entry to the bus state; its outcome goes to the
   application if token is not NULL. */
static void
s_apply_bus (self_t *self, const zr_entry_t *entry, const uint64_t *token)
{
    zr_bus_outcome_t out;
    zr_bus_apply (self->bus, entry->index, entry->term, entry->data, entry->size,
                  &out);
    zr_bus_entry_t decoded;
    if (out.status == ZR_EINVAL && !token
        && zr_bus_entry_decode (entry->data, entry->size, &decoded) != 0)
        zr_warning ("n%u applier: BUS entry %llu does not decode; ignored",
                    self->id, (unsigned long long) entry->index);
    if (token)
        zr_results_add (&self->results, *token, out.status, 0, out.index,
                        out.term, NULL, 0)->flags
            = out.duplicate ? ZR_RESULT_DUPLICATE : 0;
}

/* Applies one run, answering its tokens (applier.h). */
static void
s_apply_run (self_t *self, zr_apply_req_t *req)
{
    zr_assert (req->n_entries > 0);
    zr_index_t first = req->entries [0].index;
    zr_assert (self->applied == 0 || first == self->applied + 1);
    uint32_t next = 0;                  /* the next token to answer */
    for (uint32_t i = 0; i < req->n_entries; i++) {
        const zr_entry_t *entry = &req->entries [i];
        zr_assert (entry->index == first + i);
        const uint64_t *token = NULL;
        if (next < req->n_tokens && req->tokens [next].index == entry->index)
            token = &req->tokens [next++].token;
        zr_assert (!token || entry->type != ZR_ENTRY_NOOP);
        if (entry->type == ZR_ENTRY_COMMAND)
            s_apply_entry (self, entry, token);
        else
        if (entry->type == ZR_ENTRY_BUS)
            s_apply_bus (self, entry, token);
    }
    zr_assert (next == req->n_tokens);  /* every token is the run's */
    self->applied = first + req->n_entries - 1;
    self->applied_term = req->entries [req->n_entries - 1].term;
}

/* Runs req's queries, after its run, in order. */
static void
s_run_queries (self_t *self, zr_apply_req_t *req)
{
    for (uint32_t i = 0; i < req->n_queries; i++) {
        zr_query_t *query = &req->queries [i];
        zr_assert (query->stale || self->applied >= query->read_index);
        zr_index_t index = query->stale ? self->applied : query->read_index;
        zr_term_t term = query->stale ? self->applied_term : query->read_term;
        if (query->cursors) {
            size_t size;
            void *map = zr_bus_cursors_encode (self->bus, &size);
            zr_results_add (&self->results, query->token, 0, 0, index, term,
                            map, size);
        }
        else
            zr_applier_query_run (&self->fsm, self->id, query, index, term,
                                  &self->results);
    }
}

/* Answers req's tokens and queries with status: nothing was applied. */
static void
s_refuse (self_t *self, const zr_apply_req_t *req, int status)
{
    for (uint32_t i = 0; i < req->n_tokens; i++)
        zr_results_add (&self->results, req->tokens [i].token, status, 0,
                        req->tokens [i].index, 0, NULL, 0);
    for (uint32_t i = 0; i < req->n_queries; i++)
        zr_results_add (&self->results, req->queries [i].token, status, 0,
                        req->queries [i].read_index, req->queries [i].read_term,
                        NULL, 0);
}

/* Reads the snapshot (index, term) into memory. Returns 0 with *data_p
   (caller frees) and *size_p, or a ZR_E* code, logged. */
static int
s_restore_read (self_t *self, zr_index_t index, zr_term_t term,
                uint8_t **data_p, uint64_t *size_p)
{
    char path [1200], errmsg [512] = "";
    int rc = zr_snapshot_path (self->data_dir, index, term, path, sizeof path);
    zr_snapshot_reader_t *reader = rc == 0
        ? zr_snapshot_reader_new (path, &rc, errmsg, sizeof errmsg) : NULL;
    uint64_t size = reader ? zr_snapshot_reader_meta (reader)->size : 0;
    uint8_t *data = reader ? (uint8_t *) malloc (size ? size : 1) : NULL;
    zr_assert (!reader || data);        /* actors treat OOM as fatal */
    for (uint64_t done = 0; reader && rc == 0 && done < size;) {
        size_t want = size - done < S_RESTORE_READ_BYTES
                    ? (size_t) (size - done) : S_RESTORE_READ_BYTES;
        size_t got = 0;
        rc = zr_snapshot_reader_read (reader, done, data + done, want, &got);
        if (rc == 0 && got == 0)
            rc = ZR_ECORRUPT;           /* shorter than its header says */
        done += got;
    }
    zr_snapshot_reader_destroy (&reader);
    if (rc != 0) {
        zr_error ("n%u applier: cannot read snapshot %llu: %s %s", self->id,
                  (unsigned long long) index, zr_strerror (rc), errmsg);
        free (data);
        return rc;
    }
    *data_p = data;
    *size_p = size;
    return 0;
}

/* Hands the state machine its part of snapshot index (size bytes at
   data). Returns 0 or ZR_EIO (logged). */
static int
s_restore_fsm (self_t *self, zr_index_t index, const uint8_t *data, uint64_t size)
{
    if (!self->fsm.restore && size == 0)
        return 0;                       /* a bus-only application's */
    if (!self->fsm.restore || self->fsm.restore (self->fsm.arg, index, data,
                                                 size) != 0) {
        zr_error ("n%u applier: the state machine %s snapshot %llu", self->id,
                  self->fsm.restore ? "refused" : "cannot restore (no restore "
                  "callback)", (unsigned long long) index);
        return ZR_EIO;
    }
    return 0;
}

/* Replaces the bus state and the state machine with snapshot (index,
   term): its bus section, then the rest (snapshot.h). */
static int
s_restore (self_t *self, zr_index_t index, zr_term_t term)
{
    zr_assert (index > 0);
    uint8_t *data = NULL;
    uint64_t size = 0, bus_size = 0;
    int rc = s_restore_read (self, index, term, &data, &size);
    if (rc == 0 && (zr_snapshot_data_split (data, size, &bus_size) != 0
                    || zr_bus_section_restore (self->bus, index,
                                               data + ZR_SNAPSHOT_BUS_HEAD,
                                               bus_size) != 0)) {
        zr_error ("n%u applier: snapshot %llu: its bus section is malformed",
                  self->id, (unsigned long long) index);
        rc = ZR_ECORRUPT;
    }
    uint64_t at = ZR_SNAPSHOT_BUS_HEAD + bus_size;
    if (rc == 0)
        rc = s_restore_fsm (self, index, data + at, size - at);
    free (data);
    if (rc == 0) {
        self->applied = index;
        self->applied_term = term;
        zr_notice ("n%u applier: restored snapshot index=%llu term=%llu size=%llu",
                   self->id, (unsigned long long) index,
                   (unsigned long long) term, (unsigned long long) size);
    }
    return rc;
}

/* Captures the state and hands it to the writer; SNAPSHOTTED follows
   (now, if nothing was captured). */
static void
s_snapshot (self_t *self)
{
    zr_snapshot_job_t *job = (zr_snapshot_job_t *) calloc (1, sizeof *job);
    zr_assert (job);
    int rc = self->writer && self->applied > 0 && !self->writing
             && !self->failed ? 0 : ZR_EBUSY;
    if (rc == 0 && self->fsm.snapshot
        && self->fsm.snapshot (self->fsm.arg, self->applied, &job->data,
                               &job->size) != 0)
        rc = ZR_EBUSY;                  /* the application skipped it */
    if (self->fsm.arg)
        zr_handoff_send (self->fsm.arg);        /* before SNAPSHOTTED (applier.h) */
    if (rc == 0)
        job->bus = zr_bus_section_encode (self->bus, &job->bus_size);
    if (rc == 0) {
        job->meta = self->config;
        job->meta.index = self->applied;
        job->meta.term = self->applied_term;
        zr_handoff_send (job);
        if (zr_verb_send (zactor_sock (self->writer), zr_writer_verbs,
                          ZR_WRITER_WRITE, job) == 0) {
            self->writing = true;
            return;
        }
        rc = ZR_ESHUTDOWN;
    }
    free (job->data);
    free (job->bus);
    free (job);
    zr_verb_send (self->pipe, zr_applier_verbs, ZR_APPLIER_SNAPSHOTTED,
                  (uint64_t) 0, (uint64_t) 0, (uint64_t) 0, rc);
}

static void
s_self_handle_writer (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (zactor_sock (self->writer), zr_writer_verbs, &msg);
    if (verb < 0)
        self->terminated = true;
    else {
        zr_assert (verb == ZR_WRITER_WRITTEN && msg.args [0].p);
        zr_snapshot_job_t *job = (zr_snapshot_job_t *) msg.args [0].p;
        self->writing = false;
        if (job->rc != 0)
            zr_error ("n%u applier: snapshot %llu not written: %s: %s", self->id,
                      (unsigned long long) job->meta.index, zr_strerror (job->rc),
                      job->errmsg);
        uint64_t size = ZR_SNAPSHOT_BUS_HEAD + job->bus_size + job->size;
        zr_verb_send (self->pipe, zr_applier_verbs, ZR_APPLIER_SNAPSHOTTED,
                      (uint64_t) job->meta.index, (uint64_t) job->meta.term,
                      size, job->rc);
        free (job);
    }
    zr_verb_msg_reset (&msg);
}

static void s_self_destroy (self_t **self_p);

/* Returns NULL (having logged why) if the events socket cannot connect. */
static self_t *
s_self_new (zsock_t *pipe, const zr_applier_args_t *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->fsm = args->fsm;
    self->id = args->id;
    self->config = args->config;
    self->feed_news = args->feed_news;
    snprintf (self->data_dir, sizeof self->data_dir, "%s", args->data_dir);
    self->poller = zpoller_new (pipe, NULL);
    zr_assert (self->poller);
    zpoller_set_nonstop (self->poller, true);   /* ended by $TERM only */
    if (zr_applier_snapshots (&self->fsm)) {
        self->writer = zr_actor_new (s_writer_actor, self->data_dir);
        zr_assert (self->writer);
        zpoller_add (self->poller, zactor_sock (self->writer));
    }
    zr_results_init (&self->results);
    self->bus = zr_bus_new (args->dedup_window, args->producers_max);
    self->events = zr_events_connect (args->events_endpoint, args->submit_max,
                                      self->id);
    if (!self->events)
        s_self_destroy (&self);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    zpoller_destroy (&self->poller);
    if (self->writer && self->writing) {
        /* Collect the job being written: an orderly stop waits for it. */
        zr_verb_msg_t msg;
        int verb = zr_verb_recv (zactor_sock (self->writer), zr_writer_verbs, &msg);
        if (verb == ZR_WRITER_WRITTEN)
            free (msg.args [0].p);
        zr_verb_msg_reset (&msg);
    }
    zr_actor_destroy (&self->writer);
    zsock_destroy (&self->events);
    zr_results_clear (&self->results);
    zr_bus_destroy (&self->bus);
    free (self);
    *self_p = NULL;
}

/* Applies or restores what req holds and runs its queries; the results
   it produced are left in self->results. Returns 0, or the code of a
   failed restore (sticky: after it nothing is applied, and tokens and
   queries are answered ZR_EIO). */
static int
s_handle_apply (self_t *self, zr_apply_req_t *req)
{
    /* After a failed restore the state machine is not the state the log
       continues from: applying more would corrupt it. The node stops
       acknowledging (it saw rc); runs are only counted. */
    int rc = self->failed ? ZR_EIO : 0;
    if (rc == 0 && req->restore_index)
        rc = s_restore (self, req->restore_index, req->restore_term);
    else
    if (rc == 0 && req->n_entries > 0) {
        s_apply_run (self, req);
        if (self->feed_news)            /* the feed's (feed.h, Recent entries) */
            zr_feed_recent_add (self->feed_news, req->entries, req->n_entries);
    }
    self->failed = rc != 0;
    if (rc == 0)
        s_run_queries (self, req);
    else
        s_refuse (self, req, ZR_EIO);
    return rc;
}

int
zr_applier_apply_here (zr_applier_state_t *self, zr_apply_req_t **req_p,
                       zr_results_t *results, zr_index_t *applied)
{
    zr_assert (self && req_p && *req_p && results && applied);
    zr_assert ((*req_p)->restore_index == 0);   /* restores stay here */
    int rc = s_handle_apply (self, *req_p);
    zr_apply_req_destroy (req_p);
    zr_results_take (results, &self->results);
    *applied = self->applied;
    return rc;
}

static void
s_self_handle_pipe (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->pipe, zr_applier_verbs, &msg);
    if (verb < 0)
        self->terminated = true;        /* $TERM, or the pipe ended */
    else
    if (verb == ZR_APPLIER_SNAPSHOT) {
        zr_handoff_recv (self->fsm.arg);        /* the state machine (applier.h) */
        zr_handoff_recv (self);                 /* and this state (apply_on_node) */
        s_snapshot (self);
        zr_handoff_send (self);
    }
    else {
        zr_assert (verb == ZR_APPLIER_APPLY && msg.args [0].p);
        zr_apply_req_t *req = (zr_apply_req_t *) msg.args [0].p;
        zr_handoff_recv (self->fsm.arg);
        zr_handoff_recv (self);
        int rc = s_handle_apply (self, req);
        zr_apply_req_destroy (&req);
        zr_results_send (&self->results, self->events, self->id);
        uint64_t applied = self->applied;
        if (self->fsm.arg)
            zr_handoff_send (self->fsm.arg);
        zr_handoff_send (self);         /* nothing of self read after it */
        zr_verb_send (self->pipe, zr_applier_verbs, ZR_APPLIER_APPLIED,
                      applied, rc);
    }
    zr_verb_msg_reset (&msg);
}

void
zr_applier_actor (zsock_t *pipe, void *args)
{
    zr_actor_name ("apply", ((zr_applier_args_t *) args)->id);
    self_t *self = s_self_new (pipe, (zr_applier_args_t *) args);
    zr_applier_state_t **state = ((zr_applier_args_t *) args)->state;
    if (self && state)
        *state = self;                  /* for the node (apply_on_node) */
    if (zr_actor_ready (pipe, args, self ? 0 : ZR_EINVAL) != 0)
        return;
    while (!self->terminated) {
        void *which = zr_actor_wait (self->poller, -1, &self->terminated);
        if (which == pipe)
            s_self_handle_pipe (self);
        else
        if (which && self->writer && which == zactor_sock (self->writer))
            s_self_handle_writer (self);
    }
    zr_handoff_recv (self);             /* the node may have applied last */
    s_self_destroy (&self);
}
