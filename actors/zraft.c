/*  =========================================================================
    zraft - the public API (include/zraft.h) over the node actor

    A zraft_t is a handle on the node actor: its zactor pipe (start-up
    and $TERM), the api socket (requests, and the replies of synchronous
    commands) and the application's end of the events socket (results
    and roles), whose protocols are in node.h and results.h. Every call
    here runs on the application's thread. Submissions and queries are
    sent and not waited for; the handle counts them until their RESULT is
    received (at most config.submit_max), which bounds every queue on
    the way (results.h).
    =========================================================================
*/
#include "actors.h"
#include "node.h"
#include "feed.h"
#include "bus.h"


_Static_assert (ZRAFT_NODES_MAX == ZR_NODES_MAX, "one limit");
_Static_assert (ZRAFT_SUBMIT_MANY_MAX <= ZR_BATCH_ENTRIES_MAX, "a batch fits a message");
_Static_assert (ZRAFT_ENTRY_BYTES_MAX == ZR_ENTRY_BYTES_MAX, "one limit");
_Static_assert (ZRAFT_ENOMEM == ZR_ENOMEM && ZRAFT_EINVAL == ZR_EINVAL
                && ZRAFT_ETOOBIG == ZR_ETOOBIG && ZRAFT_ENOTLEADER == ZR_ENOTLEADER
                && ZRAFT_EIO == ZR_EIO && ZRAFT_ESHUTDOWN == ZR_ESHUTDOWN
                && ZRAFT_EBUSY == ZR_EBUSY && ZRAFT_EAGAIN == ZR_EAGAIN
                && ZRAFT_ELOST == ZR_ELOST && ZRAFT_ETIMEDOUT == ZR_ETIMEDOUT
                && ZRAFT_EUNKNOWN == ZR_EUNKNOWN && ZRAFT_ESTALE == ZR_ESTALE
                && ZRAFT_ERANGE == ZR_ERANGE,
                "public codes mirror the internal table");
_Static_assert ((int) ZRAFT_LOG_ERROR == (int) ZR_LOG_ERROR
                && (int) ZRAFT_LOG_WARNING == (int) ZR_LOG_WARNING
                && (int) ZRAFT_LOG_NOTICE == (int) ZR_LOG_NOTICE
                && (int) ZRAFT_LOG_INFO == (int) ZR_LOG_INFO
                && (int) ZRAFT_LOG_DEBUG == (int) ZR_LOG_DEBUG,
                "public levels mirror the logger's");
_Static_assert ((int) ZRAFT_LEADER == (int) ZR_ROLE_LEADER
                && (int) ZRAFT_FOLLOWER == (int) ZR_ROLE_FOLLOWER
                && (int) ZRAFT_CANDIDATE == (int) ZR_ROLE_CANDIDATE, "one role enum");

/* The most producers config.producers_max may remember: a bound on the
   bus state's memory (bus.h), twice over with the gate's copy. */
#define S_PRODUCERS_MAX (1u << 20)

struct _zraft_t {
    zactor_t *node;                     /* the node actor */
    zsock_t *api;                       /* requests to the node (PAIR) */
    zsock_t *events;                    /* results and roles (PULL) */
    bool has_query;                     /* fsm.query was given */
    uint32_t submit_max;                /* config.submit_max */
    uint32_t outstanding;               /* submissions and queries whose
                                           RESULT zraft_recv has not returned;
                                           <= submit_max */
    zframe_t *batch;                    /* the RESULTS being handed out, or NULL */
    size_t batch_next;                  /* its next result */
    zr_subs_t *subs;                    /* subscriptions and the feed
                                           (zraft_sub.c), NULL if subs_max 0 */
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
    config->submit_max = 4096;
    config->dedup_window = 1024;
    config->producers_max = 4096;
    config->subs_max = 1024;
    config->feed_background = true;
}

/* Returns true if endpoint is "tcp://host:port" with a port 1..65535
   (what the peer ROUTER binds and the DEALERs connect to), the host not
   a wildcard: every server is given the same list, which names where
   each one is reached (and makes the cluster's identity, peer.h). */
static bool
s_endpoint_valid (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host || colon [1] == '\0')
        return false;
    size_t host_size = (size_t) (colon - host);
    static const char *wildcards [] = {"*", "[*]", "0.0.0.0", "[::]"};
    for (size_t w = 0; w < sizeof wildcards / sizeof wildcards [0]; w++)
        if (host_size == strlen (wildcards [w])
            && !strncmp (host, wildcards [w], host_size))
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
                              "tcp://host:port (port 1..65535, host not a "
                              "wildcard such as * or 0.0.0.0: the same list, "
                              "naming where each server is reached, goes to "
                              "every server)", i,
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
    if (c->submit_max < 1 || c->submit_max > ZRAFT_SUBMIT_MAX_MAX)
        return s_problem (why, size, "submit_max %u is not in 1..%u",
                          c->submit_max, ZRAFT_SUBMIT_MAX_MAX);
    if (c->subs_max > ZR_FEED_SUBS_MAX)
        return s_problem (why, size, "subs_max %u is not in 0..%u", c->subs_max,
                          ZR_FEED_SUBS_MAX);
    if (c->dedup_window < 1 || c->dedup_window > ZR_BUS_WINDOW_MAX)
        return s_problem (why, size, "dedup_window %u is not in 1..%u",
                          c->dedup_window, ZR_BUS_WINDOW_MAX);
    if (c->producers_max < 1 || c->producers_max > S_PRODUCERS_MAX)
        return s_problem (why, size, "producers_max %u is not in 1..%u",
                          c->producers_max, S_PRODUCERS_MAX);
    return 0;
}

/* Runs zsock_vsend or zsock_vrecv on sock (the api socket, or the
   node's pipe) until a signal no longer cuts it short. A signal caught
   by the application's thread can interrupt a send before the message
   leaves (libzmq checks its command mailbox first), and a receive before
   the reply is read: the reply is still coming, and one left queued
   would answer the next call. */
static int
s_retry (void *sock, int (*call) (void *, const char *, va_list),
         const char *picture, va_list args)
{
    int rc;
    do {
        va_list copy;
        va_copy (copy, args);
        errno = 0;                      /* czmq can fail without setting it */
        rc = call (sock, picture, copy);
        va_end (copy);
    } while (rc < 0 && zmq_errno () == EINTR);
    return rc;
}

/* Hands the node request verb with args, from a host's handle on the
   node's own thread (node.h, "Hosting"): a call, not a message. */
static void
s_direct (zraft_t *self, const char *verb, va_list args)
{
    int index = -1;
    for (size_t i = 0; index < 0 && i < ZR_VERBS_COUNT (zr_node_verbs); i++)
        if (zr_node_verbs [i].verb == verb)
            index = (int) i;
    zr_assert (index >= 0);             /* s_request passes the row's */
    zr_verb_msg_t msg;
    zr_verb_msg_build (zr_node_verbs, index, &msg, args);
    bool handled = zr_node_host_request (self, index, &msg);
    zr_assert (handled);
}

/* Sends a request to the node (zsock_send's picture), or hands it over
   as a call from a host's handle. */
static int
s_send_picture (zraft_t *self, const char *picture, ...)
{
    va_list args;
    va_start (args, picture);
    int rc = 0;
    if (zr_node_hosting (self)) {
        const char *verb = va_arg (args, const char *);
        s_direct (self, verb, args);
    }
    else
        rc = s_retry (self->api, zsock_vsend, picture, args);
    va_end (args);
    return rc;
}

/* Receives the node's reply to the request just sent (zsock_recv's), or
   a message from its pipe when sock is the pipe. */
static int
s_recv_picture (void *sock, const char *picture, ...)
{
    va_list args;
    va_start (args, picture);
    int rc = s_retry (sock, zsock_vrecv, picture, args);
    va_end (args);
    return rc;
}

/* Sends verb V of the node's protocol (node.h) with its arguments. */
#define s_request(self, V, ...)                                              \
    s_send_picture ((self), zr_node_verbs [V].picture, zr_node_verbs [V].verb, \
                    ##__VA_ARGS__)

/* Receives the node's reply to verb V, as its row says (from a host's
   handle, s_direct left it there). */
#define s_reply(self, V, ...)                                                \
    s_recv_picture ((self)->api, zr_node_verbs [V].reply, __VA_ARGS__)

/* Waits for the node's signal (zsock_wait) that answers verb V, again if
   interrupted. */
static int
s_reply_signal (zraft_t *self, int verb)
{
    zr_assert (zr_node_verbs [verb].reply && !zr_node_verbs [verb].reply [0]);
    int rc;
    while ((rc = zsock_wait (self->api)) < 0 && zmq_errno () == EINTR)
        ;
    return rc;
}

/* Binds the handle's ends of the api and events sockets, at fresh
   names (a closed inproc endpoint is released asynchronously, and a
   new zraft_t may reuse the old one's address), with high-water marks
   from submit_max (results.h). */
static void
s_bind (zraft_t *self, zr_node_args_t *args)
{
    zuuid_t *uuid = zuuid_new ();
    zr_assert (uuid);
    snprintf (args->events_endpoint, sizeof args->events_endpoint,
              "inproc://zraft-events-%s", zuuid_str (uuid));
    snprintf (args->api_endpoint, sizeof args->api_endpoint,
              "inproc://zraft-api-%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    self->events = zsock_new (ZMQ_PULL);
    zr_assert (self->events);
    zsock_set_rcvhwm (self->events, zr_events_hwm (self->submit_max + 1));
    int rc = zsock_bind (self->events, "%s", args->events_endpoint);
    zr_assert (rc == 0);
    self->api = zsock_new (ZMQ_PAIR);
    zr_assert (self->api);
    zsock_set_sndhwm (self->api, zr_events_hwm (self->submit_max + 4));
    zsock_set_rcvhwm (self->api, zr_events_hwm (self->submit_max + 4));
    rc = zsock_bind (self->api, "%s", args->api_endpoint);
    zr_assert (rc == 0);
}

zraft_t *
zraft_new (const zraft_config_t *config, const zraft_fsm_t *fsm)
{
    zr_assert (config);
    char why [512];
    if (s_config_problem (config, why, sizeof why) != 0) {
        zr_error ("n%u zraft: invalid configuration: %s", config->id, why);
        return NULL;
    }
    if (fsm && (fsm->snapshot != NULL) != (fsm->restore != NULL)) {
        zr_error ("n%u zraft: invalid state machine: snapshot and restore go "
                  "together (both or neither)", config->id);
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
    self->has_query = fsm && fsm->query;
    self->submit_max = config->submit_max;
    s_bind (self, args);
    if (config->subs_max > 0) {
        self->subs = zr_subs_new (config, args->events_endpoint, args->feed_endpoint,
                                  sizeof args->feed_endpoint, &args->feed_news);
        if (!self->subs) {
            free (args);
            zraft_destroy (&self);
            return NULL;
        }
    }
    self->node = zr_actor_start (zr_node_actor, args);      /* owns args */
    int rc = ZR_ENOMEM;
    if (self->node)
        s_recv_picture (self->node, "i", &rc);  /* start-up result (actor.h) */
    else
        free (args);
    if (rc != 0)
        zraft_destroy (&self);
    return self;
}

/* Frees the results of a RESULTS message (one the application will not
   receive). */
static void
s_results_free (zframe_t **frame_p)
{
    zframe_t *frame = *frame_p;
    if (!frame)
        return;
    zr_result_t *items = (zr_result_t *) zframe_data (frame);
    size_t n = zframe_size (frame) / sizeof (zr_result_t);
    for (size_t i = 0; i < n; i++) {
        zr_handoff_recv (items [i].data);
        free (items [i].data);
    }
    zframe_destroy (frame_p);
}

/* Frees what the events socket still holds, once the node is gone: the
   results nobody will receive. */
static void
s_events_drain (zraft_t *self)
{
    zsock_set_rcvtimeo (self->events, 0);
    zr_verb_msg_t msg;
    int verb;
    while ((verb = zr_verb_recv (self->events, zr_events_verbs, &msg)) >= 0) {
        if (verb == ZR_EVENTS_RESULTS)
            s_results_free (&msg.args [0].f);
        else
        if (verb == ZR_EVENTS_FEED)
            zr_feed_records_free (&msg.args [0].f, msg.args [1].p);
        zr_verb_msg_reset (&msg);
    }
}

void
zraft_destroy (zraft_t **self_p)
{
    zr_assert (self_p);
    zraft_t *self = *self_p;
    if (!self)
        return;
    zr_assert (!zr_node_hosting (self)); /* not from a host's handle */
    /* zactor_destroy's $TERM and wait must not be cut short by a signal
       (the node would be left running): defer signals until it is done. */
    sigset_t mask;
    zr_signals_block (&mask);
    zr_actor_destroy (&self->node);
    zr_subs_destroy (&self->subs);      /* after the node (the news), before
                                           the drain (its records) */
    pthread_sigmask (SIG_SETMASK, &mask, NULL);
    s_results_free (&self->batch);
    if (self->events)
        s_events_drain (self);
    zsock_destroy (&self->events);
    zsock_destroy (&self->api);
    free (self);
    *self_p = NULL;
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
    if (total > ZRAFT_SUBMIT_BYTES_MAX)
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
zraft_submit (zraft_t *self, uint64_t token, const void *data, size_t size)
{
    zr_assert (self);
    zr_assert (data || size == 0);
    return zraft_submit_many (self, &token, &data, &size, 1);
}

int
zraft_submit_many (zraft_t *self, const uint64_t *tokens,
                   const void *const *datas, const size_t *sizes, size_t n)
{
    zr_assert (self && tokens && datas && sizes);
    zr_assert (self->outstanding <= self->submit_max);
    if (n < 1 || n > ZRAFT_SUBMIT_MANY_MAX)
        return ZRAFT_EINVAL;
    if (n > self->submit_max - self->outstanding)
        return ZRAFT_EAGAIN;            /* back-pressure (zraft.h) */
    zr_blob_t *blob = NULL;
    zframe_t *size_frame = NULL;
    int rc = s_pack (datas, sizes, n, &blob, &size_frame);
    if (rc != 0)
        return rc;
    zframe_t *token_frame = zframe_new (tokens, n * sizeof (uint64_t));
    zr_assert (token_frame);
    /* Ownership of the blob passes to the node with the send. */
    zr_handoff_send (blob);
    rc = s_request (self, ZR_NODE_SUBMIT, blob, size_frame, token_frame);
    zframe_destroy (&size_frame);
    zframe_destroy (&token_frame);
    if (rc != 0) {
        zr_blob_unref (&blob);
        return ZRAFT_ESHUTDOWN;
    }
    self->outstanding += (uint32_t) n;
    return 0;
}

/* Sends a QUERY (node.h) with flags, counted as outstanding. */
static int
s_query (zraft_t *self, uint64_t token, const void *data, size_t size,
         uint32_t flags)
{
    zr_assert (self->outstanding <= self->submit_max);
    if (self->outstanding == self->submit_max)
        return ZRAFT_EAGAIN;
    zframe_t *frame = zframe_new (data, size);
    zr_assert (frame);
    int rc = s_request (self, ZR_NODE_QUERY, token, frame, flags);
    zframe_destroy (&frame);
    if (rc != 0)
        return ZRAFT_ESHUTDOWN;
    self->outstanding++;
    return 0;
}

int
zraft_query (zraft_t *self, uint64_t token, const void *data, size_t size,
             int flags)
{
    zr_assert (self);
    zr_assert (data || size == 0);
    if (!self->has_query || (flags & ~ZRAFT_QUERY_STALE) != 0)
        return ZRAFT_EINVAL;
    if (size > ZRAFT_ENTRY_BYTES_MAX)
        return ZRAFT_ETOOBIG;
    return s_query (self, token, data, size, (uint32_t) flags);
}

/* ---------------------------------------------------------------- message bus */

/* Encodes the n entries into one blob and sends them as a BUS request
   (node.h) under tokens, counted as outstanding; all or nothing. */
static int
s_bus_send (zraft_t *self, const uint64_t *tokens,
            const zr_bus_entry_t *entries, size_t n)
{
    zr_assert (self->outstanding <= self->submit_max);
    zr_assert (n >= 1 && n <= ZRAFT_SUBMIT_MANY_MAX);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t size = zr_bus_entry_size (&entries [i]);
        if (size == 0)
            return ZRAFT_ETOOBIG;       /* valid fields: too big encoded */
        total += size;
    }
    if (total > ZRAFT_SUBMIT_BYTES_MAX)
        return ZRAFT_EINVAL;
    if (n > self->submit_max - self->outstanding)
        return ZRAFT_EAGAIN;
    zr_blob_t *blob = zr_blob_new (total);
    zframe_t *size_frame = zframe_new (NULL, n * sizeof (uint32_t));
    if (!blob || !size_frame) {
        zr_blob_unref (&blob);
        zframe_destroy (&size_frame);
        return ZRAFT_ENOMEM;
    }
    uint32_t *size_of = (uint32_t *) zframe_data (size_frame);
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        size_t written = zr_bus_entry_write (&entries [i], blob->data + offset,
                                             total - offset);
        zr_assert (written > 0);
        size_of [i] = (uint32_t) written;
        offset += written;
    }
    zr_assert (offset == total);
    zframe_t *token_frame = zframe_new (tokens, n * sizeof (uint64_t));
    zr_assert (token_frame);
    zr_handoff_send (blob);             /* the node owns it once sent */
    int rc = s_request (self, ZR_NODE_BUS, blob, size_frame, token_frame);
    zframe_destroy (&size_frame);
    zframe_destroy (&token_frame);
    if (rc != 0) {
        zr_blob_unref (&blob);
        return ZRAFT_ESHUTDOWN;
    }
    self->outstanding += (uint32_t) n;
    return 0;
}

zr_subs_t *
zr_zraft_subs (zraft_t *self)
{
    zr_assert (self);
    return self->subs;
}

/* Returns the bytes of a NUL-ended name of 1..max bytes, or 0 if it is
   NULL, empty or longer. */
static size_t
s_name_bytes (const char *name, size_t max)
{
    if (!name)
        return 0;
    size_t size = strnlen (name, max + 1);
    return size <= max ? size : 0;
}

/* Fills *entry with publication pub: 0, ZRAFT_EINVAL (bad subject) or
   ZRAFT_ETOOBIG. */
static int
s_publication (const zraft_publication_t *pub, zr_bus_entry_t *entry)
{
    zr_assert (pub->data || pub->size == 0);
    size_t subject_size = s_name_bytes (pub->subject, ZRAFT_SUBJECT_MAX);
    if (subject_size == 0)
        return ZRAFT_EINVAL;
    if (pub->size > ZRAFT_ENTRY_BYTES_MAX)
        return ZRAFT_ETOOBIG;
    *entry = (zr_bus_entry_t) {.op = ZR_BUS_PUBLISH, .subject = pub->subject,
                               .subject_size = (uint32_t) subject_size,
                               .payload = pub->data,
                               .payload_size = (uint32_t) pub->size,
                               .producer = pub->producer,
                               .seq = pub->producer ? pub->seq : 0};
    return 0;
}

int
zraft_publish (zraft_t *self, uint64_t token, const char *subject,
               const void *data, size_t size, uint64_t producer, uint64_t seq)
{
    zr_assert (self);
    zraft_publication_t pub = {.token = token, .subject = subject,
                               .data = data, .size = size,
                               .producer = producer, .seq = seq};
    zr_bus_entry_t entry;
    int rc = s_publication (&pub, &entry);
    return rc ? rc : s_bus_send (self, &token, &entry, 1);
}

int
zraft_publish_many (zraft_t *self, const zraft_publication_t *pubs, size_t n)
{
    zr_assert (self && pubs);
    if (n < 1 || n > ZRAFT_SUBMIT_MANY_MAX)
        return ZRAFT_EINVAL;
    if (n > self->submit_max - self->outstanding)
        return ZRAFT_EAGAIN;            /* before the work below */
    zr_bus_entry_t *entries = (zr_bus_entry_t *) malloc (n * sizeof *entries);
    uint64_t *tokens = (uint64_t *) malloc (n * sizeof *tokens);
    int rc = entries && tokens ? 0 : ZRAFT_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = s_publication (&pubs [i], &entries [i]);
        tokens [i] = pubs [i].token;
    }
    if (rc == 0)
        rc = s_bus_send (self, tokens, entries, n);
    free (entries);
    free (tokens);
    return rc;
}

int
zraft_cursor_commit (zraft_t *self, uint64_t token, const char *name,
                     uint64_t index)
{
    zr_assert (self);
    size_t name_size = s_name_bytes (name, ZRAFT_CURSOR_NAME_MAX);
    if (name_size == 0 || index == 0)
        return ZRAFT_EINVAL;
    zr_bus_entry_t entry = {.op = ZR_BUS_CURSOR, .name = name,
                            .name_size = (uint32_t) name_size, .index = index};
    return s_bus_send (self, &token, &entry, 1);
}

int
zraft_cursors (zraft_t *self, uint64_t token, int flags)
{
    zr_assert (self);
    if ((flags & ~ZRAFT_QUERY_STALE) != 0)
        return ZRAFT_EINVAL;
    return s_query (self, token, NULL, 0, (uint32_t) flags | ZR_QUERY_CURSORS);
}

int
zraft_cursor_find (const void *data, size_t size, const char *name,
                   uint64_t *index)
{
    zr_assert (index);
    zr_assert (data || size == 0);
    size_t name_size = s_name_bytes (name, ZRAFT_CURSOR_NAME_MAX);
    const uint8_t *bytes = (const uint8_t *) data;
    size_t pos = 0;
    zr_msgpack_item_t map, key, value;
    if (name_size == 0 || zr_msgpack_walk_item (bytes, size, &pos, &map) != 0
        || map.kind != ZR_MSGPACK_MAP)
        return -1;
    int found = -1;
    for (uint64_t i = 0; i < map.value; i++) {
        if (zr_msgpack_walk_item (bytes, size, &pos, &key) != 0
            || key.kind != ZR_MSGPACK_STR
            || zr_msgpack_walk_item (bytes, size, &pos, &value) != 0
            || value.kind != ZR_MSGPACK_UINT)
            return -1;                  /* malformed: no answer */
        if (found < 0 && key.value == name_size
            && memcmp (key.body, name, name_size) == 0) {
            *index = value.value;
            found = 0;
        }
    }
    return pos == size ? found : -1;
}

zsock_t *
zraft_events (zraft_t *self)
{
    zr_assert (self);
    return self->events;
}

/* Hands out the next result of the batch held. */
static void
s_batch_next (zraft_t *self, zraft_event_t *event)
{
    zr_result_t *items = (zr_result_t *) zframe_data (self->batch);
    size_t n = zframe_size (self->batch) / sizeof (zr_result_t);
    zr_assert (self->batch_next < n);
    zr_result_t *r = &items [self->batch_next++];
    zr_handoff_recv (r->data);
    event->type = ZRAFT_EVENT_RESULT;
    event->token = r->token;
    event->status = r->status;
    event->index = r->index;
    event->term = r->term;
    event->leader = r->leader;
    event->data = r->data;
    r->data = NULL;                     /* the caller's now: a destroy before
                                           the batch ends must not free it */
    event->size = (size_t) r->size;
    event->duplicate = (r->flags & ZR_RESULT_DUPLICATE) != 0;
    zr_assert (self->outstanding > 0);  /* the node answers each token once */
    self->outstanding--;
    if (self->batch_next == n)
        zframe_destroy (&self->batch);
}

/* Receives one message from the events socket within timeout_ms (-1:
   no limit), again if a signal cuts the wait short. Returns the verb
   (msg filled), or ZRAFT_EAGAIN, or ZRAFT_ESHUTDOWN. */
static int
s_events_recv (zraft_t *self, zr_verb_msg_t *msg, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    while (true) {
        int wait = -1;
        if (deadline != INT64_MAX) {
            int64_t left = deadline - zclock_mono ();
            wait = left > 0 ? (int) left : 0;
        }
        zsock_set_rcvtimeo (self->events, wait);
        errno = 0;
        int verb = zr_verb_recv (self->events, zr_events_verbs, msg);
        if (verb >= 0)
            return verb;
        int err = zmq_errno ();
        if (err == EAGAIN)
            return ZRAFT_EAGAIN;
        if (err != EINTR)
            return ZRAFT_ESHUTDOWN;
    }
}

int
zraft_recv (zraft_t *self, zraft_event_t *event, int timeout_ms)
{
    zr_assert (self && event);
    memset (event, 0, sizeof *event);
    if (self->batch) {
        s_batch_next (self, event);
        return 0;
    }
    if (zr_subs_next (self->subs, event))
        return 0;
    if (zr_node_hosting (self))
        timeout_ms = 0;                 /* the node cannot send meanwhile */
    zr_verb_msg_t msg;
    int verb = s_events_recv (self, &msg, timeout_ms);
    if (verb < 0)
        return verb;
    if (verb == ZR_EVENTS_RESULTS) {
        zframe_t *frame = msg.args [0].f;
        zr_assert (frame && zframe_size (frame) > 0
                   && zframe_size (frame) % sizeof (zr_result_t) == 0);
        self->batch = frame;
        self->batch_next = 0;
        msg.args [0].f = NULL;
        s_batch_next (self, event);
    }
    else
    if (verb == ZR_EVENTS_FEED) {
        zr_assert (self->subs);         /* only its feed sends FEED */
        zr_subs_take (self->subs, &msg.args [0].f, msg.args [1].p);
        bool taken = zr_subs_next (self->subs, event);
        zr_assert (taken);
    }
    else {
        zr_assert (verb == ZR_EVENTS_ROLE);
        event->type = ZRAFT_EVENT_ROLE;
        event->role = (zraft_role_t) msg.args [0].u;
        event->term = msg.args [1].u;
        event->leader = (uint32_t) msg.args [2].u;
        /* The node sends the next ROLE once it knows this one was read. */
        s_request (self, ZR_NODE_RECEIVED);
    }
    zr_verb_msg_reset (&msg);
    return 0;
}

void
zraft_event_release (zraft_event_t *event)
{
    zr_assert (event);
    free (event->data);
    memset (event, 0, sizeof *event);
}

int
zraft_wait_leader (zraft_t *self, int timeout_ms, uint32_t *leader)
{
    zr_assert (self);
    if (zr_node_hosting (self))
        return ZRAFT_EINVAL;            /* it would stop the node (zraft.h) */
    if (s_request (self, ZR_NODE_WAIT, timeout_ms < 0 ? -1 : timeout_ms) != 0)
        return ZRAFT_ESHUTDOWN;
    int rc = ZRAFT_ESHUTDOWN;
    uint32_t who = 0;
    if (s_reply (self, ZR_NODE_WAIT, &rc, &who) != 0)
        return ZRAFT_ESHUTDOWN;
    if (leader)
        *leader = who;
    return rc;
}

void
zraft_log_set (int level, zraft_log_fn *fn, void *arg)
{
    zr_logger_set (level, fn, arg);
}

int
zraft_host (zraft_t *self, const zraft_host_t *host)
{
    zr_assert (self && host);
    if (zr_node_hosting (self) || !host->handle || host->n_readers < 1
        || host->n_readers > ZRAFT_HOST_READERS_MAX)
        return ZRAFT_EINVAL;
    for (size_t i = 0; i < host->n_readers; i++)
        if (!host->readers [i])
            return ZRAFT_EINVAL;
    /* On the heap: if the wait fails (the context ended), the node may
       still read it and signal backend as it stops, so both are left. */
    zr_node_host_t *request = (zr_node_host_t *) malloc (sizeof *request);
    zr_assert (request);
    zsock_t *backend = NULL;
    zsock_t *frontend = zsys_create_pipe (&backend);
    zr_assert (frontend && backend);
    *request = (zr_node_host_t) {*host, self, backend};
    zr_handoff_send (self);             /* the handle and the host's state */
    zr_handoff_send (request);          /* a 'p' argument (actor.h) */
    int status = ZR_NODE_HOST_STOPPED;
    if (s_request (self, ZR_NODE_HOST, request) == 0) {
        while ((status = zsock_wait (frontend)) < 0 && zmq_errno () == EINTR)
            ;
        if (status < 0)
            return ZRAFT_ESHUTDOWN;     /* the process is ending: see above */
        zr_handoff_recv (self);
    }
    zsock_destroy (&backend);
    zsock_destroy (&frontend);
    free (request);
    return status == ZR_NODE_HOST_ENDED ? 0
         : status == ZR_NODE_HOST_BUSY ? ZRAFT_EINVAL : ZRAFT_ESHUTDOWN;
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
zraft_transfer_to (zraft_t *self, uint32_t peer, uint32_t *target)
{
    zr_assert (self);
    if (target)
        *target = 0;
    if (s_request (self, ZR_NODE_TRANSFER, peer) != 0)
        return ZRAFT_ESHUTDOWN;
    int rc = ZRAFT_ESHUTDOWN;
    uint32_t chosen = 0;
    if (s_reply (self, ZR_NODE_TRANSFER, &rc, &chosen) != 0)
        return ZRAFT_ESHUTDOWN;
    zr_assert (rc != 0 || chosen != 0);
    if (target)
        *target = chosen;
    return rc;
}

int
zraft_transfer (zraft_t *self, uint32_t peer)
{
    return zraft_transfer_to (self, peer, NULL);
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
