/*  =========================================================================
    zraft - the public API (include/zraft.h) over the node actor

    A zraft_t is a handle on the node actor's pipe plus the application's
    end of the events socket. Every call here runs on the application's
    thread and talks to the node synchronously, as czmq classes do.
    =========================================================================
*/
#include "actors.h"
#include "node.h"


_Static_assert (ZRAFT_NODES_MAX == ZR_NODES_MAX, "one limit");
_Static_assert (ZRAFT_PROPOSE_MAX <= ZR_BATCH_ENTRIES_MAX, "a batch fits a message");
_Static_assert (ZRAFT_ENTRY_BYTES_MAX == ZR_ENTRY_BYTES_MAX, "one limit");
_Static_assert (ZRAFT_ENOMEM == ZR_ENOMEM && ZRAFT_EINVAL == ZR_EINVAL
                && ZRAFT_ETOOBIG == ZR_ETOOBIG && ZRAFT_ENOTLEADER == ZR_ENOTLEADER
                && ZRAFT_EIO == ZR_EIO && ZRAFT_ESHUTDOWN == ZR_ESHUTDOWN
                && ZRAFT_EBUSY == ZR_EBUSY,
                "public codes mirror the internal table");

struct _zraft_t {
    zactor_t *node;                     /* the node actor */
    zsock_t *events;                    /* applied runs arrive here */
};

void
zraft_config_defaults (zraft_config_t *config)
{
    zr_assert (config);
    memset (config, 0, sizeof *config);
    config->heartbeat_ms = 100;
    config->election_timeout_ms = 1000;
    config->inflight_max = 64;
    config->inflight_bytes_max = 8u << 20;
    config->batch_bytes = 256u << 10;
    config->segment_bytes = 8u << 20;
    config->pre_vote = true;
    config->check_quorum = true;
    config->wal_catchup = true;
    config->snapshot_entries = 65536;
    config->snapshot_bytes = 32u << 20;
    config->snapshot_trailing = 32768;
    config->snapshot_chunk_bytes = 1u << 20;
}

/* Returns true if endpoint is "tcp://host:port" with a port 1..65535
   (what the peer ROUTER binds and the DEALERs connect to). */
static bool
s_endpoint_valid (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host || colon [1] == '\0')
        return false;
    char *end = NULL;
    unsigned long port = strtoul (colon + 1, &end, 10);
    return *end == '\0' && colon [1] >= '0' && colon [1] <= '9'
           && port >= 1 && port <= 65535;
}

/* Returns 0 if dir is a writable directory, or is missing and can be
   created in a writable parent directory; else an errno value. */
static int
s_dir_check (const char *dir)
{
    struct stat st;
    char target [1024];
    snprintf (target, sizeof target, "%s", dir);
    if (stat (target, &st) != 0) {
        if (errno != ENOENT)
            return errno;
        char *slash = strrchr (target, '/');
        if (!slash)
            snprintf (target, sizeof target, ".");
        else
            slash [slash == target ? 1 : 0] = '\0';    /* "/x" -> "/" */
        if (stat (target, &st) != 0)
            return errno;
    }
    if (!S_ISDIR (st.st_mode))
        return ENOTDIR;
    return access (target, W_OK | X_OK) == 0 ? 0 : errno;
}

/* Writes a configuration problem into why; returns -1. */
static int s_problem (char *why, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_problem (char *why, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (why, size, format, args);
    va_end (args);
    return -1;
}

/* Checks the server list; returns 0, or -1 with the problem in why. */
static int
s_servers_problem (const zraft_config_t *c, char *why, size_t size)
{
    bool self_found = false;
    for (uint32_t i = 0; i < c->n_servers; i++) {
        const zraft_server_t *server = &c->servers [i];
        if (server->id < 1 || server->id > ZR_NODES_MAX)
            return s_problem (why, size, "servers[%u].id %u is not in 1..%u", i,
                              server->id, ZR_NODES_MAX);
        if (!server->endpoint || strlen (server->endpoint) >= 256)
            return s_problem (why, size, "servers[%u].endpoint is missing or "
                              "not under 256 chars", i);
        if (!s_endpoint_valid (server->endpoint))
            return s_problem (why, size, "servers[%u].endpoint '%s' is not "
                              "tcp://host:port (port 1..65535)", i,
                              server->endpoint);
        for (uint32_t j = 0; j < i; j++) {
            if (c->servers [j].id == server->id)
                return s_problem (why, size, "server id %u is listed twice",
                                  server->id);
            if (streq (c->servers [j].endpoint, server->endpoint))
                return s_problem (why, size, "endpoint %s is listed twice",
                                  server->endpoint);
        }
        self_found = self_found || server->id == c->id;
    }
    if (!self_found)
        return s_problem (why, size, "id %u is not one of the servers", c->id);
    return 0;
}

/* Checks the whole configuration up front, so a bad one is refused with
   one line naming the field, before any thread or socket exists. Returns
   0, or -1 with the problem in why. */
static int
s_config_problem (const zraft_config_t *c, char *why, size_t size)
{
    if (c->n_servers < 1 || c->n_servers > ZR_NODES_MAX)
        return s_problem (why, size, "n_servers %u is not in 1..%u", c->n_servers,
                          ZR_NODES_MAX);
    if (s_servers_problem (c, why, size) != 0)
        return -1;
    if (!c->data_dir || !c->data_dir [0] || strlen (c->data_dir) >= 1024)
        return s_problem (why, size, "data_dir is required (under 1024 chars)");
    int err = s_dir_check (c->data_dir);
    if (err != 0)
        return s_problem (why, size, "data_dir %s is not a writable directory, "
                           "nor can it be created: %s", c->data_dir, strerror (err));
    if (c->heartbeat_ms == 0 || c->election_timeout_ms <= c->heartbeat_ms)
        return s_problem (why, size, "need 0 < heartbeat_ms (%u) < "
                          "election_timeout_ms (%u)", c->heartbeat_ms,
                          c->election_timeout_ms);
    if (c->inflight_max < 1 || c->inflight_max > ZR_INFLIGHT_MAX)
        return s_problem (why, size, "inflight_max %u is not in 1..%u",
                          c->inflight_max, ZR_INFLIGHT_MAX);
    if (c->inflight_bytes_max == 0)
        return s_problem (why, size, "inflight_bytes_max must be > 0");
    if (c->batch_bytes == 0 || c->batch_bytes > ZR_FRAME_BYTES_MAX / 2)
        return s_problem (why, size, "batch_bytes %llu is not in 1..%u",
                          (unsigned long long) c->batch_bytes,
                          ZR_FRAME_BYTES_MAX / 2);
    size_t hwm = zsys_pipehwm ();
    if (hwm != 0 && hwm < ZR_NODE_PIPE_MSGS_MAX)
        return s_problem (why, size, "zsys_pipehwm %zu is below %u, the most "
                          "messages zraft queues on an actor pipe", hwm,
                          ZR_NODE_PIPE_MSGS_MAX);
    if (c->segment_bytes < 2 * ZR_ENTRY_BYTES_MAX + 4096)
        return s_problem (why, size, "segment_bytes %llu must hold two maximal "
                          "entries (>= %u)", (unsigned long long) c->segment_bytes,
                          2 * ZR_ENTRY_BYTES_MAX + 4096);
    if (c->snapshot_chunk_bytes < 4096 || c->snapshot_chunk_bytes > ZR_CHUNK_BYTES_MAX)
        return s_problem (why, size, "snapshot_chunk_bytes %u is not in 4096..%u",
                          c->snapshot_chunk_bytes, ZR_CHUNK_BYTES_MAX);
    return 0;
}

/* Runs zsock_vsend or zsock_vrecv on the node's pipe until a signal no
   longer cuts it short. A signal caught by the application's thread can
   interrupt a send before the message leaves (libzmq checks its command
   mailbox first), and a receive before the reply is read: the reply is
   still coming, and one left queued would answer the next call. */
static int
s_retry (zraft_t *self, int (*call) (void *, const char *, va_list),
         const char *picture, va_list args)
{
    int rc;
    do {
        va_list copy;
        va_copy (copy, args);
        errno = 0;                      /* czmq can fail without setting it */
        rc = call (self->node, picture, copy);
        va_end (copy);
    } while (rc < 0 && zmq_errno () == EINTR);
    return rc;
}

/* Sends a request to the node (zsock_send's picture). */
static int
s_send_picture (zraft_t *self, const char *picture, ...)
{
    va_list args;
    va_start (args, picture);
    int rc = s_retry (self, zsock_vsend, picture, args);
    va_end (args);
    return rc;
}

/* Receives the node's reply to the request just sent (zsock_recv's). */
static int
s_recv_picture (zraft_t *self, const char *picture, ...)
{
    va_list args;
    va_start (args, picture);
    int rc = s_retry (self, zsock_vrecv, picture, args);
    va_end (args);
    return rc;
}

/* Sends verb V of the node's protocol (node.h) with its arguments. */
#define s_request(self, V, ...)                                              \
    s_send_picture ((self), zr_node_verbs [V].picture, zr_node_verbs [V].verb, \
                    ##__VA_ARGS__)

/* Receives the node's reply to verb V, as its row says. */
#define s_reply(self, V, ...)                                                \
    s_recv_picture ((self), zr_node_verbs [V].reply, __VA_ARGS__)

/* Waits for the node's signal (zsock_wait) that answers verb V, again if
   interrupted. */
static int
s_reply_signal (zraft_t *self, int verb)
{
    zr_assert (zr_node_verbs [verb].reply && !zr_node_verbs [verb].reply [0]);
    int rc;
    while ((rc = zsock_wait (self->node)) < 0 && zmq_errno () == EINTR)
        ;
    return rc;
}

zraft_t *
zraft_new (const zraft_config_t *config, const zraft_fsm_t *fsm)
{
    zr_assert (config);
    char why [512];
    if (s_config_problem (config, why, sizeof why) != 0) {
        zsys_error ("zraft: invalid configuration: %s", why);
        return NULL;
    }
    if (fsm && (fsm->snapshot != NULL) != (fsm->restore != NULL)) {
        zsys_error ("zraft: invalid state machine: snapshot and restore go "
                    "together (both or neither)");
        return NULL;
    }
    zr_node_args_t *args = (zr_node_args_t *) calloc (1, sizeof *args);
    zraft_t *self = (zraft_t *) calloc (1, sizeof *self);
    zr_assert (args && self);
    args->config = *config;
    for (uint32_t i = 0; i < config->n_servers; i++) {
        snprintf (args->endpoints [i], sizeof args->endpoints [i], "%s",
                  config->servers [i].endpoint);
        args->config.servers [i].endpoint = args->endpoints [i];
    }
    snprintf (args->data_dir, sizeof args->data_dir, "%s", config->data_dir);
    args->config.data_dir = args->data_dir;
    if (fsm)
        args->fsm = *fsm;
    /* A fresh name each time: a closed inproc endpoint is released
       asynchronously, and a new zraft_t may reuse the old one's address. */
    zuuid_t *uuid = zuuid_new ();
    zr_assert (uuid);
    snprintf (args->events_endpoint, sizeof args->events_endpoint,
              "inproc://zraft-events-%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    self->events = zsock_new (ZMQ_PAIR);
    zr_assert (self->events);
    int bound = zsock_bind (self->events, "%s", args->events_endpoint);
    zr_assert (bound == 0);
    zsock_set_rcvhwm (self->events, 0);
    self->node = zactor_new (zr_node_actor, args);      /* owns args */
    int rc = ZR_ENOMEM;
    if (self->node)
        s_recv_picture (self, "i", &rc);    /* start-up result (actor.h) */
    else
        free (args);
    if (rc != 0)
        zraft_destroy (&self);
    return self;
}

void
zraft_destroy (zraft_t **self_p)
{
    zr_assert (self_p);
    zraft_t *self = *self_p;
    if (!self)
        return;
    /* zactor_destroy's $TERM and wait must not be cut short by a signal
       (the node would be left running): defer signals until it is done. */
    sigset_t mask;
    zr_signals_block (&mask);
    zactor_destroy (&self->node);
    pthread_sigmask (SIG_SETMASK, &mask, NULL);
    zsock_destroy (&self->events);
    free (self);
    *self_p = NULL;
}

int
zraft_propose (zraft_t *self, const void *data, size_t size, uint64_t *index,
               uint64_t *term, uint32_t *leader)
{
    zr_assert (self);
    zr_assert (data || size == 0);
    if (size > ZR_ENTRY_BYTES_MAX)
        return ZRAFT_ETOOBIG;
    return zraft_propose_many (self, &data, &size, 1, index, term, leader);
}

/* Packs n payloads into one blob, their sizes into a frame. */
static int
s_pack (const void *const *datas, const size_t *sizes, size_t n,
        zr_blob_t **blob_p, zframe_t **sizes_p)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (sizes [i] > ZR_ENTRY_BYTES_MAX)
            return ZRAFT_ETOOBIG;
        zr_assert (datas [i] || sizes [i] == 0);
        total += sizes [i];
    }
    if (total > ZRAFT_PROPOSE_BYTES_MAX)
        return ZRAFT_EINVAL;
    zr_blob_t *blob = zr_blob_new (total);
    zframe_t *frame = zframe_new (NULL, n * sizeof (uint32_t));
    if (!blob || !frame) {
        zr_blob_unref (&blob);
        zframe_destroy (&frame);
        return ZRAFT_ENOMEM;
    }
    uint32_t *size_of = (uint32_t *) zframe_data (frame);
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        if (sizes [i])
            memcpy (blob->data + offset, datas [i], sizes [i]);
        offset += sizes [i];
        size_of [i] = (uint32_t) sizes [i];
    }
    *blob_p = blob;
    *sizes_p = frame;
    return 0;
}

int
zraft_propose_many (zraft_t *self, const void *const *datas, const size_t *sizes,
                    size_t n, uint64_t *first, uint64_t *term, uint32_t *leader)
{
    zr_assert (self && datas && sizes);
    if (n < 1 || n > ZRAFT_PROPOSE_MAX)
        return ZRAFT_EINVAL;
    zr_blob_t *blob = NULL;
    zframe_t *size_frame = NULL;
    int rc = s_pack (datas, sizes, n, &blob, &size_frame);
    if (rc != 0)
        return rc;
    /* Ownership of the blob passes to the node with the send. */
    zr_handoff_send (blob);
    if (s_request (self, ZR_NODE_PROPOSE, blob, size_frame) != 0) {
        zr_blob_unref (&blob);
        zframe_destroy (&size_frame);
        return ZRAFT_ESHUTDOWN;
    }
    zframe_destroy (&size_frame);
    rc = ZRAFT_ESHUTDOWN;
    uint64_t i = 0, t = 0;
    uint32_t l = 0;
    if (s_reply (self, ZR_NODE_PROPOSE, &rc, &i, &t, &l) != 0)
        return ZRAFT_ESHUTDOWN;
    if (first)
        *first = i;
    if (term)
        *term = t;
    if (leader)
        *leader = l;
    return rc;
}

zsock_t *
zraft_events (zraft_t *self)
{
    zr_assert (self);
    return self->events;
}

int
zraft_applied_recv (zraft_t *self, zraft_applied_t *run)
{
    zr_assert (self && run);
    memset (run, 0, sizeof *run);
    zmsg_t *msg = zmsg_recv (self->events);
    if (!msg)
        return -1;
    zr_assert (zmsg_size (msg) == 4);
    zframe_t *verb = zmsg_first (msg);
    zframe_t *first = zmsg_next (msg);
    zframe_t *last = zmsg_next (msg);
    zframe_t *terms = zmsg_next (msg);
    zr_assert (zframe_streq (verb, "APPLIED") && terms);
    zr_handoff_recv (zframe_data (terms));  /* the applier wrote it */
    zr_assert (zframe_size (first) == 8 && zframe_size (last) == 8);
    memcpy (&run->first, zframe_data (first), 8);
    memcpy (&run->last, zframe_data (last), 8);
    zr_assert (run->last >= run->first);
    size_t n = (size_t) (run->last - run->first + 1);
    zr_assert (zframe_size (terms) == n * sizeof (uint64_t));
    run->terms = (uint64_t *) malloc (n * sizeof (uint64_t));
    zr_assert (run->terms);
    memcpy (run->terms, zframe_data (terms), n * sizeof (uint64_t));
    zmsg_destroy (&msg);
    return 0;
}

void
zraft_applied_release (zraft_applied_t *run)
{
    zr_assert (run);
    free (run->terms);
    memset (run, 0, sizeof *run);
}

int
zraft_status (zraft_t *self, zraft_status_t *status)
{
    zr_assert (self && status);
    if (s_request (self, ZR_NODE_STATUS) != 0)
        return ZRAFT_ESHUTDOWN;
    byte *data = NULL;
    size_t size = 0;
    int rc = s_reply (self, ZR_NODE_STATUS, &data, &size) == 0
             && data && size == sizeof *status ? 0 : ZRAFT_ESHUTDOWN;
    if (rc == 0)
        memcpy (status, data, sizeof *status);
    free (data);
    return rc;
}

int
zraft_partition (zraft_t *self, uint32_t peer, bool cut_out, bool cut_in)
{
    zr_assert (self);
    if (s_request (self, ZR_NODE_PARTITION, peer, (uint32_t) cut_out,
                    (uint32_t) cut_in) != 0)
        return ZRAFT_ESHUTDOWN;
    return s_reply_signal (self, ZR_NODE_PARTITION) == 0 ? 0 : ZRAFT_EINVAL;
}

int
zraft_pause (zraft_t *self, uint32_t ms)
{
    zr_assert (self);
    if (ms > 600000)
        return ZRAFT_EINVAL;
    if (s_request (self, ZR_NODE_PAUSE, (uint64_t) ms) != 0)
        return ZRAFT_ESHUTDOWN;
    return s_reply_signal (self, ZR_NODE_PAUSE) == 0 ? 0 : ZRAFT_ESHUTDOWN;
}

int
zraft_transfer (zraft_t *self, uint32_t peer)
{
    zr_assert (self);
    if (s_request (self, ZR_NODE_TRANSFER, peer) != 0)
        return ZRAFT_ESHUTDOWN;
    int rc = ZRAFT_ESHUTDOWN;
    if (s_reply (self, ZR_NODE_TRANSFER, &rc) != 0)
        return ZRAFT_ESHUTDOWN;
    return rc;
}

int
zraft_snapshot (zraft_t *self)
{
    zr_assert (self);
    if (s_request (self, ZR_NODE_SNAPSHOT) != 0)
        return ZRAFT_ESHUTDOWN;
    int rc = ZRAFT_ESHUTDOWN;
    if (s_reply (self, ZR_NODE_SNAPSHOT, &rc) != 0)
        return ZRAFT_ESHUTDOWN;
    return rc;
}

int
zraft_fault (zraft_t *self, uint32_t peer, const zraft_link_fault_t *fault)
{
    zr_assert (self && fault);
    if (s_request (self, ZR_NODE_FAULT, peer, (uint32_t) fault->cut,
                    fault->drop_ppm, fault->dup_ppm, fault->delay_ms,
                    fault->jitter_ms) != 0)
        return ZRAFT_ESHUTDOWN;
    return s_reply_signal (self, ZR_NODE_FAULT) == 0 ? 0 : ZRAFT_EINVAL;
}

const char *
zraft_strerror (int rc)
{
    return zr_strerror (rc);
}
