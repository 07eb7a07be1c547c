/*  =========================================================================
    server - zraft-node's server: the client endpoint in front of one
    zraft node running the key/value state machine

    See server.h for what it does, where its loop runs and its stop
    states. One thread at a time owns everything here: the ROUTER, the
    node handle, the pending table. The main thread builds them, then
    zr_server_run runs the loop on the node's thread (zraft_host) while
    it is light and on the main thread while it is busy, until the
    server is done. The kv map lives on the library's applier thread
    (its callbacks; the node's, for applies on the node); the loop only
    reads its member directory, which kv.h makes thread-safe.

    Invariants:
    1. Every request read from the ROUTER gets exactly one reply: at
       once (STATUS, admin verbs, refusals), or from the RESULT event of
       its token, or, for what is still pending when the node is
       destroyed, UNKNOWN (writes) or UNAVAILABLE (reads).
    2. pending holds exactly the tokens the library accepted and has not
       answered yet (a refused submit takes its entry back at once), plus
       the writes of the batch being read: those are submitted together
       (zraft_submit_many) before the loop waits again, so the batch is
       empty whenever the loop polls.
    3. The ROUTER never blocks the loop: replies to a client that is gone
       or slow are dropped by ZeroMQ (ROUTER, non-mandatory), and a frame
       over S_FRAME_DROP drops the connection (ZMQ_MAXMSGSIZE) rather
       than being received.
    =========================================================================
*/
#include "server.h"

#include <czmq.h>
#include <inttypes.h>
#include <netdb.h>

#include "../../include/zraft.h"
#include "../../transport/poller.h"
#include "../../raft/raft.h"
#include "../../transport/peer.h"
#include "bus.h"
#include "client.h"
#include "identity.h"
#include "kv.h"
#include "journal.h"
#include "pending.h"
#include "raft.h"
#include "sigterm.h"
#include "../../transport/peer.h"

#define S_BATCH_MAX 256                 /* requests read per wake-up */
/* Where the loop runs (server.h): over windows of S_PLACE_TURNS turns
   with input, the mean number of requests and events a turn took moves
   it off the node's thread at S_PLACE_OWN_AT or more, back on at
   S_PLACE_HOST_AT or less. */
#define S_PLACE_TURNS 64
#define S_PLACE_OWN_AT 4
#define S_PLACE_HOST_AT 2
#define S_HWM 10000                     /* ROUTER send and receive HWM */
#define S_LINGER_MS 500                 /* replies still going out at close */
/* A frame over ZR_CLIENT_FRAME_MAX is answered MALFORMED (too big); one
   over this is not even received: ZeroMQ drops the connection. */
#define S_FRAME_DROP (2 * ZR_CLIENT_FRAME_MAX)

_Static_assert ((int) ZR_OPTIONS_LOG_ERROR == (int) ZRAFT_LOG_ERROR
                && (int) ZR_OPTIONS_LOG_DEBUG == (int) ZRAFT_LOG_DEBUG,
                "option levels are the library's");
_Static_assert (ZR_JOURNAL_FOLLOWER == (int) ZRAFT_FOLLOWER
                && ZR_JOURNAL_CANDIDATE == (int) ZRAFT_CANDIDATE
                && ZR_JOURNAL_LEADER == (int) ZRAFT_LEADER,
                "journal roles are zraft_role_t's");
_Static_assert (ZR_PENDING_CAPACITY_MAX >= ZRAFT_SUBMIT_MAX_MAX,
                "pending holds submit_max tokens");
_Static_assert (S_BATCH_MAX <= ZRAFT_SUBMIT_MANY_MAX, "a batch is one call");
_Static_assert (ZR_CLIENT_FRAME_MAX <= ZRAFT_SUBMIT_BYTES_MAX,
                "any command fits in a batch");
_Static_assert (ZR_OPTIONS_MEMBERS_MAX == ZRAFT_NODES_MAX
                && ZR_OPTIONS_NAME_MAX == ZR_CLIENT_NAME_MAX
                && ZR_OPTIONS_ENDPOINT_MAX == ZR_CLIENT_ENDPOINT_MAX,
                "options keep the protocol's limits");

typedef enum {
    S_RUNNING,
    S_HANDING_OVER,
    S_DRAINING,
    S_DONE
} s_state_t;

static const char *s_state_names [] = {"running", "handing over", "draining",
                                       "done"};

struct _zr_server_t {
    zr_options_t options;               /* a copy */
    zr_kv_t *kv;                        /* the state machine; owned */
    zraft_t *node;                      /* owned; NULL once destroyed */
    zsock_t *router;                    /* the client endpoint; owned */
    zr_busend_t *bus;                   /* the bus endpoint (bus.h), or NULL */
    int signal_fd;                      /* zr_server_run's, a reader of the
                                           loop (its address is) */
    zr_pending_t *pending;              /* tokens in the library (inv. 2) */
    s_state_t state;                    /* see server.h */
    int64_t deadline;                   /* HANDING_OVER, DRAINING end by */
    uint64_t term;                      /* from the last ROLE event (the
                                           log's, recovered, before one) */
    zraft_role_t role;                  /* ditto */
    bool role_seen;                     /* a ROLE event came */
    uint32_t leader;                    /* ditto, 0 unknown */
    bool announce_due;                  /* leader, ANNOUNCE not accepted yet */
    bool disk_failed;                   /* a RESULT said ZRAFT_EIO */
    bool failed;                        /* the node went away under us */
    bool second_armed;                  /* a signal came: the next exits */
    bool hosted;                        /* the loop runs on the node's thread */
    bool move;                          /* end this placement (s_place) */
    uint32_t place_turns;               /* turns with input in the window */
    size_t place_items;                 /* requests and events they took */
    uint64_t moves;                     /* placements changed */
    uint32_t transfer_to;               /* the last transfer's target, 0 none */
    uint64_t batch_tokens [S_BATCH_MAX];/* writes read, not submitted yet */
    void *batch_datas [S_BATCH_MAX];    /* their commands; owned */
    size_t batch_sizes [S_BATCH_MAX];   /* their sizes */
    size_t batch_n;                     /* writes in the batch */
    size_t batch_bytes;                 /* their bytes, <= SUBMIT_BYTES_MAX */
    zr_journal_limit_t malformed;       /* frames that did not decode */
};

/* ------------------------------------------------------------- helpers */

/* The name of member id, "none" for 0. */
static const char *
s_member_name (zr_server_t *self, uint32_t id)
{
    if (id >= 1 && id <= self->options.n_members)
        return self->options.members [id - 1].name;
    return id ? "?" : "none";
}

static const char *
s_role_name (zraft_role_t role)
{
    return role == ZRAFT_LEADER ? "leader"
           : role == ZRAFT_CANDIDATE ? "candidate" : "follower";
}

static zr_client_bytes_t
s_bytes (const void *data, size_t size)
{
    return (zr_client_bytes_t) {(const uint8_t *) data, size};
}

static zr_client_bytes_t
s_str (const char *text)
{
    return s_bytes (text, strlen (text));
}

/* Encodes reply and sends it to routing_id (borrowed). Send failures
   (the client is gone) drop the reply (invariant 3). */
static void
s_send (zr_server_t *self, zframe_t *routing_id, const zr_client_reply_t *reply)
{
    assert (routing_id);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_client_reply_encode (reply, &data, &size);
    assert (rc == 0);                   /* our replies keep the limits */
    rc = zr_peer_send_to (self->router, zframe_data (routing_id),
                          zframe_size (routing_id), data, size);
    free (data);
    if (rc != 0)
        zr_journal_log (ZR_OPTIONS_LOG_DEBUG, "client: reply dropped: %s",
                        zmq_strerror (zmq_errno ()));
}

/* Sends an error reply: code, the leader as this server knows it (id,
   and its client endpoint from the directory) and message. */
static void
s_send_error (zr_server_t *self, zframe_t *routing_id, int type,
              uint64_t request_id, zr_client_code_t code, uint32_t leader,
              const char *message)
{
    assert (code != ZR_CLIENT_OK);
    char endpoint [ZR_CLIENT_ENDPOINT_MAX + 1] = "";
    if (leader == self->options.id)
        snprintf (endpoint, sizeof endpoint, "%s",
                  self->options.advertise_client);
    else
    if (leader && !zr_kv_member_endpoint (self->kv, leader, endpoint,
                                          sizeof endpoint))
        endpoint [0] = 0;
    zr_client_reply_t reply = {
        .type = (zr_client_type_t) type, .request_id = request_id,
        .code = code, .leader = leader, .leader_endpoint = s_str (endpoint),
        .message = s_str (message)};
    s_send (self, routing_id, &reply);
}

/* The client code for a library status (ZRAFT_E*) on a write (which may
   have reached the log) or on anything else; *message for people. */
static zr_client_code_t
s_code_of (zr_server_t *self, int status, bool write, const char **message)
{
    switch (status) {
        case ZRAFT_ENOTLEADER:
            *message = "not the leader";
            return ZR_CLIENT_NOT_LEADER;
        case ZRAFT_ELOST:
            *message = "lost to another leader's entry: not applied";
            return ZR_CLIENT_NOT_LEADER;
        case ZRAFT_EBUSY:
            *message = "busy (a leadership transfer, or the disk is behind)";
            return ZR_CLIENT_BUSY;
        case ZRAFT_EAGAIN:
            *message = "too many requests in flight";
            return ZR_CLIENT_BUSY;
        case ZRAFT_EINVAL:
        case ZRAFT_ETOOBIG:
            *message = "refused by the server";
            return ZR_CLIENT_INVALID;
        case ZRAFT_EUNKNOWN:
            *message = "a snapshot covered the entry: outcome unknown";
            return write ? ZR_CLIENT_UNKNOWN : ZR_CLIENT_UNAVAILABLE;
        case ZRAFT_EIO:
            if (!self->disk_failed)
                zr_journal_log (ZR_OPTIONS_LOG_ERROR, "raft: the disk failed;"
                                " writes are refused from now on");
            self->disk_failed = true;
            /* The library answers EIO only to a submission it refused
               before appending it (include/zraft.h): not applied. */
            *message = "the disk failed: refused, not applied";
            return ZR_CLIENT_UNAVAILABLE;
        default:
            *message = write ? "shutting down: outcome unknown"
                             : "shutting down";
            return write ? ZR_CLIENT_UNKNOWN : ZR_CLIENT_UNAVAILABLE;
    }
}

static bool
s_is_write (int type)
{
    return type == ZR_CLIENT_PUT || type == ZR_CLIENT_DEL
           || type == ZR_CLIENT_CAS;
}

/* ------------------------------------------------------------ requests */

/* Answers the request of token (in pending) with the refusal rc, and
   forgets it (invariant 2). */
static void
s_refuse (zr_server_t *self, uint64_t token, int rc)
{
    zr_pending_entry_t entry;
    bool found = zr_pending_take (self->pending, token, &entry);
    assert (found);
    (void) found;
    const char *message;
    zr_client_code_t code = s_code_of (self, rc, false, &message);
    s_send_error (self, entry.routing_id, entry.type, entry.request_id, code,
                  self->leader, message);
    zframe_destroy (&entry.routing_id);
}

/* Takes a token for the request (the routing id goes into pending), or
   answers BUSY and returns 0. */
static uint64_t
s_token (zr_server_t *self, zframe_t **routing_p,
         const zr_client_request_t *request)
{
    uint64_t token = zr_pending_add (self->pending, routing_p,
                                     request->request_id, request->type,
                                     zclock_mono ());
    if (!token)
        s_send_error (self, *routing_p, request->type, request->request_id,
                      ZR_CLIENT_BUSY, self->leader, "too many requests in flight");
    return token;
}

/* Submits the writes read so far in one zraft_submit_many: one message
   to the node, one batch to the disk and the followers. All or nothing:
   if it is refused, every one of them is answered with the refusal. */
static void
s_batch_flush (zr_server_t *self)
{
    if (self->batch_n == 0)
        return;
    int rc = zraft_submit_many (self->node, self->batch_tokens,
                                (const void *const *) self->batch_datas,
                                self->batch_sizes, self->batch_n);
    for (size_t i = 0; i < self->batch_n; i++) {
        if (rc != 0)
            s_refuse (self, self->batch_tokens [i], rc);
        free (self->batch_datas [i]);
    }
    self->batch_n = 0;
    self->batch_bytes = 0;
}

/* PUT, DEL, CAS: a kv command for the log, in the batch. */
static void
s_request_write (zr_server_t *self, zframe_t **routing_p,
                 const zr_client_request_t *request)
{
    zr_kv_cmd_t cmd = {
        .type = request->type == ZR_CLIENT_PUT ? ZR_KV_PUT
                : request->type == ZR_CLIENT_DEL ? ZR_KV_DEL : ZR_KV_CAS,
        .time_ms = (uint64_t) zclock_time (),
        .client_id = request->client_id, .seq = request->seq,
        .key = request->key.data, .key_size = request->key.size,
        .value = request->value.data, .value_size = request->value.size,
        .old = request->old.data, .old_size = request->old.size};
    void *data = NULL;
    size_t size = 0;
    if (zr_kv_cmd_encode (&cmd, &data, &size) != 0) {
        s_send_error (self, *routing_p, request->type, request->request_id,
                      ZR_CLIENT_INVALID, self->leader,
                      "the command breaks the key/value limits");
        return;
    }
    uint64_t token = s_token (self, routing_p, request);
    if (!token) {
        free (data);
        return;
    }
    if (self->batch_n == S_BATCH_MAX
        || self->batch_bytes + size > ZRAFT_SUBMIT_BYTES_MAX)
        s_batch_flush (self);
    self->batch_tokens [self->batch_n] = token;
    self->batch_datas [self->batch_n] = data;
    self->batch_sizes [self->batch_n] = size;
    self->batch_n++;
    self->batch_bytes += size;
}

/* GET: a query of the key, linearizable or stale. */
static void
s_request_read (zr_server_t *self, zframe_t **routing_p,
                const zr_client_request_t *request)
{
    uint64_t token = s_token (self, routing_p, request);
    int rc = token ? zraft_query (self->node, token, request->key.data,
                                  request->key.size,
                                  request->stale ? ZRAFT_QUERY_STALE : 0)
                   : 0;
    if (rc != 0)
        s_refuse (self, token, rc);
}

/* STATUS: the node's status and the member directory. */
static void
s_request_status (zr_server_t *self, zframe_t *routing_id,
                  const zr_client_request_t *request)
{
    zraft_status_t status;
    if (zraft_status (self->node, &status) != 0) {
        s_send_error (self, routing_id, request->type, request->request_id,
                      ZR_CLIENT_UNAVAILABLE, 0, "shutting down");
        return;
    }
    zr_client_reply_t reply = {
        .type = request->type, .request_id = request->request_id,
        .code = ZR_CLIENT_OK, .name = s_str (self->options.name),
        .id = self->options.id, .role = (uint32_t) status.role,
        .term = status.term, .leader = status.leader, .commit = status.commit,
        .applied = status.applied, .first_index = status.first_index,
        .last_index = status.last_index,
        .snapshot_index = status.snapshot_index,
        .n_members = self->options.n_members,
        .health = s_str (self->disk_failed || status.disk_failed ? "disk failed"
                         : self->state != S_RUNNING ? "stopping" : "")};
    char endpoints [ZR_OPTIONS_MEMBERS_MAX][ZR_CLIENT_ENDPOINT_MAX + 1];
    char buses [ZR_OPTIONS_MEMBERS_MAX][ZR_CLIENT_ENDPOINT_MAX + 1];
    for (uint32_t i = 0; i < self->options.n_members; i++) {
        uint32_t id = i + 1;
        if (id == self->options.id) {
            snprintf (endpoints [i], sizeof endpoints [i], "%s",
                      self->options.advertise_client);
            snprintf (buses [i], sizeof buses [i], "%s",
                      self->options.advertise_bus);
        }
        else {
            if (!zr_kv_member_endpoint (self->kv, id, endpoints [i],
                                        sizeof endpoints [i]))
                endpoints [i][0] = 0;
            if (!zr_kv_member_bus_endpoint (self->kv, id, buses [i],
                                            sizeof buses [i]))
                buses [i][0] = 0;
        }
        reply.members [i] = (zr_client_member_t) {
            .id = id, .name = s_str (self->options.members [i].name),
            .peer_endpoint = s_str (self->options.members [i].endpoint),
            .client_endpoint = s_str (endpoints [i]),
            .bus_endpoint = s_str (buses [i])};
    }
    s_send (self, routing_id, &reply);
}

/* Starts a leadership transfer to peer, or with peer 0 to the follower
   the library picks: the most up to date among those it heard from
   lately, never one down or lagging (zraft.h). Returns zraft_transfer's
   code; on success the target is in transfer_to. */
static int
s_transfer (zr_server_t *self, uint32_t peer)
{
    uint32_t target = 0;
    int rc = zraft_transfer_to (self->node, peer, &target);
    if (rc == 0)
        self->transfer_to = target;
    return rc;
}

/* TRANSFER, SNAPSHOT, FAULT: one library call each, answered at once. */
static void
s_request_admin (zr_server_t *self, zframe_t *routing_id,
                 const zr_client_request_t *request)
{
    int rc = ZRAFT_EINVAL;
    if (request->type == ZR_CLIENT_TRANSFER) {
        rc = s_transfer (self, request->to);
        if (rc == 0)
            zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "transfer: handing"
                            " leadership to %s",
                            s_member_name (self, self->transfer_to));
    }
    else
    if (request->type == ZR_CLIENT_SNAPSHOT)
        rc = zraft_snapshot (self->node);
    else {
        zraft_link_fault_t fault = {.cut = request->cut,
                                    .drop_ppm = request->drop_ppm,
                                    .delay_ms = request->delay_ms};
        rc = zraft_fault (self->node, request->peer, &fault);
        if (rc == 0)
            zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "fault: link from %s: cut=%d"
                            " drop_ppm=%" PRIu32 " delay_ms=%" PRIu32,
                            s_member_name (self, request->peer), request->cut,
                            request->drop_ppm, request->delay_ms);
    }
    if (rc == 0) {
        zr_client_reply_t reply = {.type = request->type,
                                   .request_id = request->request_id,
                                   .code = ZR_CLIENT_OK};
        s_send (self, routing_id, &reply);
        return;
    }
    const char *message;
    zr_client_code_t code = s_code_of (self, rc, false, &message);
    if (rc == ZRAFT_EINVAL)
        message = request->type == ZR_CLIENT_SNAPSHOT
                  ? "snapshots are not possible here"
                  : request->type == ZR_CLIENT_TRANSFER && request->to == 0
                  ? "no follower heard from within an election timeout"
                  : "not a peer of this server";
    s_send_error (self, routing_id, request->type, request->request_id, code,
                  self->leader, message);
}

/* Serves one decoded request (invariant 1). */
static void
s_request (zr_server_t *self, zframe_t **routing_p,
           const zr_client_request_t *request)
{
    zr_journal_log (ZR_OPTIONS_LOG_DEBUG, "client: %s request_id=%" PRIu64,
                    zr_client_type_name (request->type), request->request_id);
    if (request->type == ZR_CLIENT_STATUS) {
        s_request_status (self, *routing_p, request);
        return;
    }
    bool refused = self->state != S_RUNNING
                   || (self->disk_failed && s_is_write (request->type));
    if (refused) {
        s_send_error (self, *routing_p, request->type, request->request_id,
                      ZR_CLIENT_UNAVAILABLE, 0, self->state != S_RUNNING
                      ? "shutting down" : "the disk failed");
        return;
    }
    if (s_is_write (request->type))
        s_request_write (self, routing_p, request);
    else
    if (request->type == ZR_CLIENT_GET)
        s_request_read (self, routing_p, request);
    else
        s_request_admin (self, *routing_p, request);
}

/* Counts a frame that did not decode and logs it (rate-limited, with a
   hex sample of its start). */
static void
s_malformed_log (zr_server_t *self, zframe_t *frame, int rc)
{
    zr_journal_malformed (&self->malformed, zclock_mono (), "client",
                          "request", frame ? zframe_data (frame) : NULL,
                          frame ? zframe_size (frame) : 0,
                          frame ? zr_strerror (rc) : "not one frame");
}

/* Serves one message read from the ROUTER (destroyed here). */
static void
s_handle_router_one (zr_server_t *self, zmsg_t *msg)
{
    zframe_t *routing_id = zmsg_pop (msg);
    zframe_t *frame = zmsg_pop (msg);
    int rc = frame && zmsg_size (msg) == 0 ? 0 : ZR_EMALFORMED;
    zr_client_request_t request;
    if (rc == 0)
        rc = zr_client_request_decode (zframe_data (frame),
                                       zframe_size (frame), &request);
    if (rc != 0 && routing_id) {
        /* The decoder leaves the head's request_id and type, if it could
           read them, so the client can match the MALFORMED reply. */
        bool decoded = frame && zmsg_size (msg) == 0;
        s_malformed_log (self, decoded ? frame : NULL, rc);
        s_send_error (self, routing_id, decoded ? request.type : 0,
                      decoded ? request.request_id : 0, ZR_CLIENT_MALFORMED,
                      0, decoded ? zr_strerror (rc) : "a request is one frame");
    }
    else
    if (rc == 0)
        s_request (self, &routing_id, &request);
    zframe_destroy (&routing_id);       /* NULL if pending took it */
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
}

/* Serves what the ROUTER holds, at most S_BATCH_MAX requests, so the
   node's events get their turn. Returns the requests read. */
static size_t
s_handle_router (zr_server_t *self)
{
    size_t n = 0;
    zmsg_t *msg;
    /* A non-blocking receive, not zsock_events: bus.c, zr_busend_handle. */
    while (n < S_BATCH_MAX && (msg = zmsg_recv_nowait (self->router))) {
        s_handle_router_one (self, msg);
        n++;
    }
    s_batch_flush (self);
    return n;
}

/* -------------------------------------------------------------- events */

/* Submits an ANNOUNCE of this server's client endpoint and bus endpoint
   if any (it leads), so every directory learns them through the log;
   retried from the loop while it is not accepted. */
static void
s_announce (zr_server_t *self)
{
    zr_kv_cmd_t cmd = {.type = ZR_KV_ANNOUNCE,
                       .time_ms = (uint64_t) zclock_time (),
                       .member = self->options.id,
                       .endpoint = self->options.advertise_client,
                       .endpoint_size = strlen (self->options.advertise_client),
                       .bus_endpoint = self->options.advertise_bus,
                       .bus_endpoint_size = strlen (self->options.advertise_bus)};
    void *data = NULL;
    size_t size = 0;
    int rc = zr_kv_cmd_encode (&cmd, &data, &size);
    assert (rc == 0);                   /* options checked the endpoint */
    zframe_t *none = NULL;
    uint64_t token = zr_pending_add (self->pending, &none, 0, 0, zclock_mono ());
    rc = token ? zraft_submit (self->node, token, data, size) : ZRAFT_EAGAIN;
    free (data);
    zr_pending_entry_t entry;
    if (rc != 0 && token)
        zr_pending_take (self->pending, token, &entry);
    self->announce_due = rc != 0;
    zr_journal_log (ZR_OPTIONS_LOG_DEBUG, "announce: %s %s",
                    self->options.advertise_client,
                    rc ? zraft_strerror (rc) : "submitted");
}

/* The RESULT of the server's own ANNOUNCE. */
static void
s_on_announced (zr_server_t *self, const zraft_event_t *event)
{
    if (event->status == 0)
        zr_journal_log (ZR_OPTIONS_LOG_INFO, "announce: client endpoint %s"
                        " at index %" PRIu64, self->options.advertise_client,
                        event->index);
    else
        self->announce_due = self->role == ZRAFT_LEADER;
}

/* The RESULT of a client's GET: the query's answer. */
static void
s_on_read (zr_server_t *self, const zr_pending_entry_t *entry,
           const zraft_event_t *event)
{
    bool found = false;
    const void *value = NULL;
    size_t value_size = 0;
    int status = event->status;
    if (status == 0 && zr_kv_answer_decode (event->data, event->size, &found,
                                            &value, &value_size) != 0)
        status = ZRAFT_EINVAL;          /* cannot happen: kv answered */
    if (status == 0) {
        zr_client_reply_t reply = {
            .type = ZR_CLIENT_GET, .request_id = entry->request_id,
            .code = ZR_CLIENT_OK, .found = found,
            .value = s_bytes (value, found ? value_size : 0)};
        s_send (self, entry->routing_id, &reply);
        return;
    }
    const char *message;
    zr_client_code_t code = s_code_of (self, status, false, &message);
    s_send_error (self, entry->routing_id, entry->type, entry->request_id,
                  code, event->leader ? event->leader : self->leader, message);
}

/* The RESULT of a client's PUT, DEL or CAS: the kv result. */
static void
s_on_written (zr_server_t *self, const zr_pending_entry_t *entry,
              const zraft_event_t *event)
{
    zr_kv_result_t result = {0};
    int status = event->status;
    if (status == 0
        && zr_kv_result_decode (event->data, event->size, &result) != 0) {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "kv: result of index %" PRIu64
                        " does not decode", event->index);
        result.code = ZR_CLIENT_UNKNOWN;
    }
    if (status == 0 && result.code == ZR_CLIENT_OK) {
        zr_client_reply_t reply = {
            .type = (zr_client_type_t) entry->type,
            .request_id = entry->request_id, .code = ZR_CLIENT_OK,
            .index = result.index, .swapped = result.swapped};
        s_send (self, entry->routing_id, &reply);
        return;
    }
    const char *message = result.code == ZR_CLIENT_SESSION_EXPIRED
                          ? "sequence number older than the session's, or"
                            " the session expired"
                          : result.code == ZR_CLIENT_INVALID
                          ? "the command was refused" : "outcome unknown";
    zr_client_code_t code = status == 0 ? (zr_client_code_t) result.code
                            : s_code_of (self, status, true, &message);
    s_send_error (self, entry->routing_id, entry->type, entry->request_id,
                  code, event->leader ? event->leader : self->leader, message);
}

/* A RESULT: the reply to the request of its token (invariant 1). */
static void
s_on_result (zr_server_t *self, const zraft_event_t *event)
{
    zr_pending_entry_t entry;
    bool found = zr_pending_take (self->pending, event->token, &entry);
    assert (found);                     /* one RESULT per accepted token */
    (void) found;
    if (entry.type == 0)
        s_on_announced (self, event);
    else
    if (entry.type == ZR_CLIENT_GET)
        s_on_read (self, &entry, event);
    else
        s_on_written (self, &entry, event);
    zframe_destroy (&entry.routing_id);
}

/* A ROLE event: the log's term and role, the leader, the ANNOUNCE, and
   the end of a handover (server.h). */
static void
s_on_role (zr_server_t *self, const zraft_event_t *event)
{
    bool changed = !self->role_seen || event->role != self->role
                   || event->term != self->term || event->leader != self->leader;
    self->role_seen = true;
    /* ROLE events are coalesced: leader in a new term may hide a lost
       and regained leadership, which needs its own ANNOUNCE. */
    bool elected = event->role == ZRAFT_LEADER
                   && (self->role != ZRAFT_LEADER || event->term != self->term);
    self->role = event->role;
    self->term = event->term;
    self->leader = event->leader;
    zr_journal_set_state (self->term, (int) self->role);
    if (self->bus)
        zr_busend_on_role (self->bus, self->role, self->leader);
    if (changed)                        /* the library's line is notice */
        zr_journal_log (ZR_OPTIONS_LOG_INFO, "raft: %s in term %" PRIu64
                        ", leader %s", s_role_name (self->role), self->term,
                        s_member_name (self, self->leader));
    if (elected && self->state == S_RUNNING)
        s_announce (self);
    if (self->state == S_HANDING_OVER && self->role != ZRAFT_LEADER) {
        zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "stop: leadership handed over"
                        " (to %s); draining %" PRIu32 " requests",
                        s_member_name (self, self->leader ? self->leader
                                                         : self->transfer_to),
                        zr_pending_size (self->pending));
        self->state = S_DRAINING;
        self->deadline = zclock_mono () + self->options.election_timeout_ms;
    }
}

/* Takes every event the node has ready. Returns how many. */
static size_t
s_handle_events (zr_server_t *self)
{
    zraft_event_t event;
    size_t n = 0;
    int rc;
    while ((rc = zraft_recv (self->node, &event, 0)) == 0) {
        n++;
        if (self->bus && zr_busend_on_event (self->bus, &event))
            ;                           /* the bus's: taken */
        else
        if (event.type == ZRAFT_EVENT_RESULT)
            s_on_result (self, &event);
        else
        if (event.type == ZRAFT_EVENT_ROLE)
            s_on_role (self, &event);
        zraft_event_release (&event);
    }
    if (self->bus)
        zr_busend_flush (self->bus);    /* the burst's deliveries */
    if (rc != ZRAFT_EAGAIN && !self->failed) {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "raft: the node stopped under"
                        " the server: %s", zraft_strerror (rc));
        self->failed = true;
        self->state = S_DONE;
    }
    return n;
}

/* ---------------------------------------------------------------- stop */

/* The first signal: stop taking requests; a leader hands leadership
   over (server.h). */
static void
s_stop_begin (zr_server_t *self, int signal_value)
{
    assert (self->state == S_RUNNING);
    zr_sigterm_arm_second ();           /* on the loop's thread (sigterm.h) */
    self->second_armed = true;
    if (self->bus)
        zr_busend_stop (self->bus);
    self->deadline = zclock_mono () + self->options.election_timeout_ms;
    self->state = S_DRAINING;
    char how [128] = "not the leader";
    if (self->options.n_members == 1) {
        if (self->role == ZRAFT_LEADER)
            snprintf (how, sizeof how, "the only member");
    }
    else {
        /* The node says whether it leads, not self->role: ROLE events
           are coalesced (zraft.h), so a server elected a moment ago may
           not have heard of it yet, and would stop as leader without
           handing over. */
        int rc = s_transfer (self, 0);
        if (rc == 0 || rc == ZRAFT_EBUSY)
            self->state = S_HANDING_OVER;
        if (rc == 0)
            snprintf (how, sizeof how, "handing leadership to %s",
                      s_member_name (self, self->transfer_to));
        else
        if (rc == ZRAFT_EBUSY)
            snprintf (how, sizeof how, "a leadership transfer is under way");
        else
        if (rc != ZRAFT_ENOTLEADER)
            snprintf (how, sizeof how, "cannot hand leadership over: %s",
                      rc == ZRAFT_EINVAL ? "no follower heard from lately"
                                         : zraft_strerror (rc));
    }
    zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "stop: SIG%s; %s; %" PRIu32
                    " requests in flight", sigabbrev_np (signal_value), how,
                    zr_pending_size (self->pending));
}

/* Moves the stop along when its deadline passes or nothing is left in
   flight. */
static void
s_stop_tick (zr_server_t *self)
{
    int64_t now = zclock_mono ();
    if (self->state == S_HANDING_OVER && now >= self->deadline) {
        zr_journal_log (ZR_OPTIONS_LOG_WARNING, "stop: leadership not handed"
                        " over within %" PRIu32 " ms; stopping as leader",
                        self->options.election_timeout_ms);
        self->state = S_DRAINING;
        self->deadline = now + self->options.election_timeout_ms;
    }
    uint32_t left = zr_pending_size (self->pending)
                    + (self->bus ? zr_busend_pending (self->bus) : 0);
    if (self->state == S_DRAINING && (left == 0 || now >= self->deadline))
        self->state = S_DONE;
}

/* Destroys the node, then answers what it left unanswered (invariant 1):
   a write may or may not have been applied, a read was not run. */
static void
s_node_stop (zr_server_t *self)
{
    if (!self->node)
        return;
    assert (self->batch_n == 0);        /* invariant 2 */
    if (!self->failed)
        s_handle_events (self);         /* what is ready already */
    uint32_t left = zr_pending_size (self->pending);
    zraft_destroy (&self->node);
    if (self->bus)
        zr_busend_node_gone (self->bus);
    zr_journal_set_state (self->term, ZR_JOURNAL_STOPPED);
    zr_pending_entry_t entry;
    while (zr_pending_take_any (self->pending, &entry)) {
        if (entry.routing_id) {
            bool write = s_is_write (entry.type);
            s_send_error (self, entry.routing_id, entry.type,
                          entry.request_id, write ? ZR_CLIENT_UNKNOWN
                          : ZR_CLIENT_UNAVAILABLE, 0, write
                          ? "stopped with the request in flight: outcome"
                            " unknown" : "stopped");
        }
        zframe_destroy (&entry.routing_id);
    }
    zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "stop: node stopped; %" PRIu32
                    " requests were still in flight", left);
}

/* ------------------------------------------------------ new, run, destroy */

/* Binds the client endpoint. Returns 0, or -1 after logging why. */
static int
s_router_bind (zr_server_t *self)
{
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    zsock_set_maxmsgsize (self->router, (int) S_FRAME_DROP);
    zsock_set_sndhwm (self->router, S_HWM);
    zsock_set_rcvhwm (self->router, S_HWM);
    zsock_set_sndtimeo (self->router, 0);
    zsock_set_linger (self->router, 0); /* until the stop: see destroy */
    if (zsock_bind (self->router, "%s", self->options.listen_client) < 0) {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "cannot start: --listen-client"
                        " %s: %s", self->options.listen_client,
                        zr_bind_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

/* Warns about each peer whose host does not resolve now: its link
   retries in the background without a word (libzmq resolves at each
   try), so a misspelt host would otherwise look like a dead member.
   Not an error: a name service may come up after the member. */
static void
s_peers_resolve (const zr_options_t *options)
{
    for (uint32_t i = 0; i < options->n_members; i++) {
        if (i + 1 == options->id)
            continue;
        const char *endpoint = options->members [i].endpoint;
        if (strncmp (endpoint, "tcp://", 6))
            continue;                   /* the options checked the form */
        const char *host = endpoint + strlen ("tcp://");
        const char *colon = strrchr (host, ':');
        if (!colon)
            continue;
        int length = (int) (colon - host);
        if (length >= 2 && host [0] == '[' && host [length - 1] == ']') {
            host++;                     /* an IPv6 address, [...] */
            length -= 2;
        }
        char name [ZR_OPTIONS_ENDPOINT_MAX + 1];
        snprintf (name, sizeof name, "%.*s", length, host);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
        struct addrinfo *found = NULL;
        int rc = getaddrinfo (name, NULL, &hints, &found);
        if (rc == 0)
            freeaddrinfo (found);
        else
            zr_journal_log (ZR_OPTIONS_LOG_WARNING, "member %s at %s: host %s"
                            " does not resolve (%s); its link keeps trying",
                            options->members [i].name, endpoint, name,
                            gai_strerror (rc));
    }
}

/* Creates the node. Returns 0, or -1 after logging why (the library
   logged the cause just before). */
static int
s_node_start (zr_server_t *self)
{
    const zr_options_t *o = &self->options;
    char why [2048];
    if (zr_identity_check (o, why, sizeof why) != 0) {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "cannot start: %s", why);
        return -1;
    }
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = o->id;
    config.n_servers = o->n_members;
    for (uint32_t i = 0; i < o->n_members; i++)
        config.servers [i] = (zraft_server_t) {i + 1, o->members [i].endpoint};
    config.data_dir = o->data_dir;
    config.heartbeat_ms = o->heartbeat_ms;
    config.election_timeout_ms = o->election_timeout_ms;
    config.snapshot_entries = o->snapshot_entries;
    config.snapshot_trailing = o->snapshot_trailing;
    if (o->snapshot_entries == 0)
        config.snapshot_bytes = 0;      /* 0: no automatic snapshots at all */
    /* The kv callbacks keep no per-thread state and are quick: a read
       whose index is applied, and a small committed run, run on the
       node's thread, one hand-off less each (zraft.h). */
    config.query_on_node = true;
    config.apply_on_node = true;
    config.subs_max = self->bus ? ZR_BUSEND_SUBS_MAX : 0;
    zraft_fsm_t fsm = {.apply = zr_kv_apply, .query = zr_kv_query,
                       .snapshot = zr_kv_snapshot, .restore = zr_kv_restore,
                       .arg = self->kv};
    self->node = zraft_new (&config, &fsm);
    if (!self->node) {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "cannot start: the node did not"
                        " start on --data-dir %s (the reason is above)",
                        o->data_dir);
        return -1;
    }
    if (zr_identity_record (o, why, sizeof why) != 0) {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "cannot start: %s", why);
        return -1;
    }
    self->pending = zr_pending_new (config.submit_max);
    if (self->bus)
        zr_busend_start (self->bus, self->node);
    return 0;
}

zr_server_t *
zr_server_new (const zr_options_t *options)
{
    assert (options && options->id >= 1 && options->id <= options->n_members);
    zr_server_t *self = (zr_server_t *) calloc (1, sizeof *self);
    assert (self);
    self->options = *options;
    self->state = S_RUNNING;
    self->role = ZRAFT_FOLLOWER;
    s_peers_resolve (options);
    self->kv = zr_kv_new (NULL);
    assert (self->kv);
    if (options->listen_bus [0])
        self->bus = zr_busend_new (&self->options, self->kv);
    if (s_router_bind (self) != 0 || (options->listen_bus [0] && !self->bus)
        || s_node_start (self) != 0) {
        zr_server_destroy (&self);
        return NULL;
    }
    /* Lines carry the term recovered from the log until the node's
       first ROLE. */
    zraft_status_t status;
    if (zraft_status (self->node, &status) == 0)
        self->term = status.term;
    zr_journal_set_state (self->term, ZR_JOURNAL_FOLLOWER);
    char bus [2 * ZR_OPTIONS_ENDPOINT_MAX + 32] = "no bus";
    if (options->listen_bus [0])
        snprintf (bus, sizeof bus, "bus at %s (advertised %s)",
                  options->listen_bus, options->advertise_bus [0]
                  ? options->advertise_bus : options->listen_bus);
    zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "start: id %" PRIu32 " of %" PRIu32
                    ", peers at %s, clients at %s (advertised %s), %s,"
                    " data in %s", options->id, options->n_members,
                    options->listen_peer, options->listen_client,
                    options->advertise_client, bus, options->data_dir);
    return self;
}

void
zr_server_destroy (zr_server_t **self_p)
{
    assert (self_p);
    zr_server_t *self = *self_p;
    if (!self)
        return;
    s_node_stop (self);
    if (self->router) {
        /* The last replies leave within S_LINGER_MS of zsys_shutdown. */
        zsock_set_linger (self->router, S_LINGER_MS);
        zsock_destroy (&self->router);
    }
    zr_busend_destroy (&self->bus);
    zr_pending_destroy (&self->pending);
    zr_kv_destroy (&self->kv);
    free (self);
    *self_p = NULL;
}

/* How long the loop may wait: until the stop's deadline, or a heartbeat
   when an ANNOUNCE is due again; else forever. */
static int
s_timeout (zr_server_t *self)
{
    int timeout = -1;
    if (self->announce_due && self->state == S_RUNNING)
        timeout = (int) self->options.heartbeat_ms;
    if (self->state == S_HANDING_OVER || self->state == S_DRAINING) {
        int64_t left = self->deadline - zclock_mono ();
        left = left < 0 ? 0 : left;
        if (timeout < 0 || left < timeout)
            timeout = (int) left;
    }
    return timeout;
}

/* The loop's wait (the node asks it after each s_loop_handle): until the
   stop's deadline, an ANNOUNCE or the bus endpoint's next tick. */
static int
s_loop_timeout (void *arg)
{
    zr_server_t *self = (zr_server_t *) arg;
    int timeout = s_timeout (self);
    int bus_timeout = self->bus ? zr_busend_tick (self->bus) : -1;
    if (bus_timeout >= 0 && (timeout < 0 || bus_timeout < timeout))
        timeout = bus_timeout;
    return timeout;
}

/* Judges the loop's placement after a turn that took items (requests
   and events) from a reader: a loop that takes many per turn is busy
   enough to be worth a thread of its own, one that takes one or two
   saves two thread hand-offs per request on the node's (server.h). */
static void
s_place (zr_server_t *self, size_t items)
{
    self->place_turns++;
    self->place_items += items;
    if (self->place_turns < S_PLACE_TURNS)
        return;
    if (self->state == S_RUNNING) {
        size_t at = self->hosted ? S_PLACE_OWN_AT : S_PLACE_HOST_AT;
        self->move = self->hosted ? self->place_items >= at * S_PLACE_TURNS
                                  : self->place_items <= at * S_PLACE_TURNS;
    }
    self->place_turns = 0;
    self->place_items = 0;
}

/* One turn of the loop, on the node's thread or its own: which has
   input (NULL: the wait timed out). Returns false when the server is
   done or the loop moves. */
static bool
s_loop_handle (void *arg, void *which)
{
    zr_server_t *self = (zr_server_t *) arg;
    zsock_t *events = zraft_events (self->node);
    size_t items = 0;
    if (which == self->router && self->state != S_DONE)
        items = s_handle_router (self);
    else
    if (which && self->bus && which == zr_busend_socket (self->bus)
        && self->state != S_DONE)
        items = zr_busend_handle (self->bus);
    else
    if (which == events)
        items = s_handle_events (self);
    else
    if (which == &self->signal_fd) {
        int signal_value = zr_sigterm_read (self->signal_fd);
        if (signal_value && self->state == S_RUNNING)
            s_stop_begin (self, signal_value);
    }
    if (self->announce_due && self->state == S_RUNNING
        && self->role == ZRAFT_LEADER)
        s_announce (self);
    if (self->state != S_RUNNING)
        s_stop_tick (self);
    if (which && which != &self->signal_fd)
        s_place (self, items);
    return self->state != S_DONE && !self->move;
}

/* The loop on the calling thread, until it is done or moves. */
static void
s_loop_own (zr_server_t *self, const zraft_host_t *host)
{
    zr_poller_t *poller = zr_poller_new (host->readers [0], NULL);
    for (size_t i = 1; i < host->n_readers; i++)
        zr_poller_add (poller, host->readers [i]);
    bool more = true;
    while (more) {
        void *which = zr_poller_wait (poller, ZR_POLLER_ALL,
                                      s_loop_timeout (self));
        more = s_loop_handle (self, which);
        /* It sends and receives on its readers (poller.h, Invariant 3). */
        for (size_t i = 0; i < host->n_readers; i++)
            zr_poller_sent (poller, host->readers [i]);
    }
    zr_poller_destroy (&poller);
}

int
zr_server_run (zr_server_t *self, int signal_fd)
{
    assert (self && self->node && signal_fd >= 0);
    /* The loop runs on the node's thread (zraft_host) while it is light,
       and on this one while it is busy (s_place, server.h). Hosted, the
       node waits on these readers after its own sockets and marks them
       all (poller.h, Invariant 3) after each s_loop_handle; on its own,
       s_loop_own does. Signals come through signal_fd. */
    self->signal_fd = signal_fd;
    zraft_host_t host = {
        .readers = {self->router, zraft_events (self->node), &self->signal_fd},
        .n_readers = 3, .handle = s_loop_handle, .timeout = s_loop_timeout,
        .arg = self
    };
    if (self->bus)
        host.readers [host.n_readers++] = zr_busend_socket (self->bus);
    self->hosted = true;
    while (self->state != S_DONE) {
        self->move = false;
        if (self->hosted) {
            int rc = zraft_host (self->node, &host);
            /* The loop may have armed the second signal on the node's
               thread, which ends in s_node_stop: this thread takes it
               (sigterm.h). */
            if (self->second_armed)
                zr_sigterm_arm_second ();
            if (rc != 0 && !self->failed) {
                zr_journal_log (ZR_OPTIONS_LOG_ERROR, "raft: the node stopped"
                                " under the server: %s", zraft_strerror (rc));
                self->failed = true;
                self->state = S_DONE;
            }
        }
        else
            s_loop_own (self, &host);
        if (self->move) {
            self->hosted = !self->hosted;
            self->moves++;
            zr_journal_log (ZR_OPTIONS_LOG_INFO, "loop: moves to"
                            " %s (%" PRIu64 " moves)", self->hosted
                            ? "the node's thread" : "its own thread",
                            self->moves);
        }
    }
    if (!self->failed)
        s_handle_router (self);         /* what arrived meanwhile: UNAVAILABLE */
    if (!self->failed && self->bus)
        zr_busend_handle (self->bus);   /* ditto */
    zr_journal_log (ZR_OPTIONS_LOG_DEBUG, "stop: %s, %" PRIu64 " malformed"
                    " requests in all", s_state_names [self->state],
                    self->malformed.count);
    s_node_stop (self);
    return self->failed ? 1 : 0;
}
