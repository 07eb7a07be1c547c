/*  =========================================================================
    bus - zraft-node's bus endpoint (see bus.h)

    Design notes

    A subscription lives in one slot of subs [ZR_BUSEND_SUBS_MAX]; its
    id, the library's subscription id and the token of its events, is
    (serial << 16) | slot, so an event of an old occupant of the slot
    is never taken for the new one's.

        FREE --SUBSCRIBE--> CURSOR --cursor read--+
          \                                        v
           `------------------------------> OPENING --SUBSCRIBED 0--> OPEN
        OPENING --SUBSCRIBED ERANGE/error--> FREE (OUT_OF_RANGE / ERROR)
        OPENING, OPEN --UNSUBSCRIBE, session closed--> CLOSING
        CLOSING --UNSUBSCRIBED--> FREE
        OPEN --UNSUBSCRIBED ERANGE/error--> FREE (OUT_OF_RANGE / ERROR)

        s_on_subscribe        FREE -> CURSOR, OPENING
        s_result_cursor       CURSOR -> OPENING, FREE
        s_on_subscribed       OPENING -> OPEN, FREE
        s_sub_unsubscribe     OPENING, OPEN -> CLOSING
        s_on_unsubscribed     any -> FREE

    Invariants:
    1. A slot not FREE is in its session's list exactly when sub->session
       is set; a session exists only while its list is not empty, or
       until the sweep of zr_busend_tick removes it.
    2. Every request read gets exactly one answer: at once (refusals),
       from its RESULT, or from zr_busend_node_gone.
    3. Nothing is sent for a subscription after its session closed: a
       DELIVER that cannot be queued closes the session (ROUTER
       mandatory), so what a client receives of a subscription is a
       prefix of what it should. A run gathered for a subscription
       (Invariant (6)) is dropped, not sent, when it is detached.
    4. retries counts the slots with credit_owed or unsubscribe_due.
    5. The publications of one wake-up (zr_busend_handle: every PUBLISH
       run read) go to the library together, in the order read, before
       any other request of the wake-up is handed on and before it
       returns (zraft_publish_many: one message to the node, consecutive
       indexes, per S_BATCH_MAX publications or ZRAFT_SUBMIT_BYTES_MAX):
       outside it the batch is empty. Each still gets its own ACK (or
       refusal), from its own RESULT.
    6. Runs. The library's DELIVER events of an OPEN subscription add
       their records to its run (sub->run: consecutive deliveries, at
       most the SUBSCRIBE's run_max records and ZR_BUSMSG_RUN_BYTES_MAX
       bytes), and its slot to the queue (queued [], sub->queued) when
       the run starts. A run leaves as one DELIVER when it is full,
       before anything that ends its subscription is sent (s_sub_end,
       zr_busend_stop), and when the burst of events the server drains
       ends (zr_busend_flush): outside a burst every run and the queue
       are empty, and a delivery waits for at most the rest of its
       burst. A queued slot may be freed in the burst (its run goes
       with it: the flush passes over it) but not reused before the
       flush, as only the ROUTER's SUBSCRIBEs take slots. Credit still
       counts deliveries (the library's), not messages.
    7. PUBLISH runs. Each publication of a PUBLISH run is a request of
       its own (id + k: its own pending entry, answer and batch slot);
       the frame that holds their payloads goes to the batch once, when
       its last publication is in (the batch frees it when it flushes).
       The ACKs of publications that came in a run of two or more
       (pending type S_PUBLISH_IN_RUN) are joined: an ACK adds to the
       open ACK run (acks) when it is the same client's and its id
       follows the run's last (possibly across two of its PUBLISH
       runs), else the open run leaves and this one opens the next. The
       open run leaves when full and when the burst of events ends
       (zr_busend_flush): outside a burst none is open.
       Refusals and errors go alone, at once. A client that sends no
       PUBLISH run so never gets an ACK run (transport/bus.h).
    =========================================================================
*/
#include "bus.h"

#include <czmq.h>
#include <inttypes.h>
#include <msgpack.h>

#include "../../transport/bus.h"
#include "journal.h"
#include "pending.h"
#include "raft.h"
#include "../../transport/peer.h"

#define S_BATCH_MAX 256                 /* messages read per wake-up, and
                                           publications per library call */
#define S_RCVHWM 10000                  /* messages queued in, per client */
#define S_LINGER_MS 500                 /* frames still going out at close */
#define S_RETRY_MS 10                   /* refused credit, retried after */
#define S_FRAME_DROP (2 * ZR_BUSMSG_FRAME_MAX)
/* What one client may have queued: the credit of its subscriptions,
   the answers to its requests, heartbeats. */
#define S_SNDHWM (ZR_BUSEND_SESSION_SUBS_MAX * ZRAFT_CREDIT_MAX \
                  + ZR_BUSEND_PENDING_MAX + 1024)
#define S_ROUTING_MAX 255               /* ZeroMQ routing id bytes */
#define S_ENTRY_OVERHEAD 64             /* a BUS entry's bytes beside its
                                           subject and payload, at most */
#define S_RUN_KEEP (64u << 10)          /* a run's buffer kept between runs */
/* The pending type of a publication that came in a PUBLISH run of two
   or more (Invariant (7)): a PUBLISH whose ACK may join an ACK run. */
#define S_PUBLISH_IN_RUN (ZR_BUSMSG_TYPE_MAX + 1)
_Static_assert (S_BATCH_MAX <= ZRAFT_SUBMIT_MANY_MAX, "a batch is one call");
_Static_assert (ZRAFT_ENTRY_BYTES_MAX + ZRAFT_SUBJECT_MAX + S_ENTRY_OVERHEAD
                <= ZRAFT_SUBMIT_BYTES_MAX, "any publication fits a batch");

_Static_assert (ZR_BUSMSG_SUBJECT_MAX == ZRAFT_SUBJECT_MAX
                && ZR_BUSMSG_NAME_MAX == ZRAFT_CURSOR_NAME_MAX
                && ZR_BUSMSG_CREDIT_MAX == ZRAFT_CREDIT_MAX
                && ZR_BUSMSG_CURSORS_MAX == ZRAFT_CURSORS_MAX
                && ZR_BUSMSG_PAYLOAD_MAX == ZRAFT_ENTRY_BYTES_MAX,
                "the wire's limits are the library's");
_Static_assert ((int) ZR_BUSMSG_FROM_INDEX == (int) ZRAFT_FROM_INDEX
                && (int) ZR_BUSMSG_FROM_FIRST == (int) ZRAFT_FROM_FIRST
                && (int) ZR_BUSMSG_FROM_LAST == (int) ZRAFT_FROM_LAST
                && (int) ZR_BUSMSG_FROM_NEXT == (int) ZRAFT_FROM_NEXT,
                "from modes are the library's");
_Static_assert (ZR_BUSEND_SUBS_MAX <= 65536, "a slot fits 16 bits");
_Static_assert (ZR_BUSEND_PENDING_MAX <= ZR_PENDING_CAPACITY_MAX,
                "pending holds the bus's requests");
_Static_assert (ZR_OPTIONS_BUS_HEARTBEAT_MAX <= ZR_BUSMSG_HEARTBEAT_MS_MAX
                && ZR_OPTIONS_BUS_TIMEOUT_MAX <= ZR_BUSMSG_TIMEOUT_MS_MAX,
                "the options keep the OK's limits");

typedef enum {
    S_FREE = 0,
    S_CURSOR,                           /* reading its cursor */
    S_OPENING,                          /* zraft_subscribe, no SUBSCRIBED yet */
    S_OPEN,                             /* delivering */
    S_CLOSING                           /* zraft_unsubscribe'd */
} s_state_t;

typedef struct _s_session_t s_session_t;

typedef struct {
    s_state_t state;
    uint64_t id;                        /* (serial << 16) | slot */
    uint64_t client_id;                 /* the client's subscription id */
    s_session_t *session;               /* Invariant (1); NULL: client gone */
    zraft_from_t mode;                  /* what SUBSCRIBE asked */
    uint64_t from;
    char prefix [ZRAFT_SUBJECT_MAX + 1];
    char cursor [ZRAFT_CURSOR_NAME_MAX + 1];    /* "" none */
    uint32_t credit;                    /* the SUBSCRIBE's */
    uint32_t credit_owed;               /* refused (EAGAIN), to give again */
    bool unsubscribe_due;               /* refused (EAGAIN), to ask again */
    uint32_t run_max;                   /* records per DELIVER, 1.. */
    zr_busmsg_run_t run;                /* deliveries not sent yet:
                                           Invariant (6) */
    bool queued;                        /* its slot is in queued [] */
} s_sub_t;

struct _s_session_t {
    char key [2 * S_ROUTING_MAX + 1];   /* the routing id in hex */
    zframe_t *routing;                  /* owned */
    int64_t heard;                      /* its last frame (zclock_mono),
                                           moved on by a stall (s_stalled) */
    int64_t sent;                       /* our last frame to it */
    bool closed;                        /* to be removed by the sweep */
    uint32_t n_subs;                    /* Invariant (1) */
    uint32_t subs [ZR_BUSEND_SESSION_SUBS_MAX];     /* slots */
};

struct _zr_busend_t {
    const zr_options_t *options;        /* borrowed */
    zr_kv_t *kv;                        /* borrowed: the member directory */
    zraft_t *node;                      /* borrowed; NULL when none */
    zsock_t *router;                    /* the bus endpoint; owned */
    zr_pending_t *pending;              /* requests in the library */
    zhashx_t *sessions;                 /* key -> s_session_t, owned */
    s_sub_t subs [ZR_BUSEND_SUBS_MAX];  /* by slot */
    uint64_t serial;                    /* the last subscription's */
    uint32_t n_subs;                    /* slots not FREE */
    zraft_role_t role;                  /* from ROLE events */
    uint32_t leader;                    /* ditto, 0 unknown */
    bool stopping;                      /* zr_busend_stop was called */
    int64_t due;                        /* the next sweep (zclock_mono) */
    uint32_t retries;                   /* Invariant (4) */
    zr_journal_limit_t malformed;       /* frames that did not decode */
    /* PUBLISHes read in this wake-up, not handed to the library yet:
       one zraft_publish_many when the wake-up ends (Invariant (5)). */
    zraft_publication_t batch [S_BATCH_MAX];
    zframe_t *batch_frames [S_BATCH_MAX];       /* their payloads; owned
                                                   (Invariant (7)) */
    size_t batch_n_frames;
    char batch_subjects [S_BATCH_MAX][ZRAFT_SUBJECT_MAX + 1];
    size_t batch_n;
    size_t batch_bytes;                 /* encoded, estimated from above */
    /* The open ACK run: Invariant (7). */
    zr_busmsg_run_t acks;               /* type ACK */
    zframe_t *acks_routing;             /* its client; owned; NULL: none */
    uint64_t acks_id;                   /* its first ack's id */
    /* Slots whose run holds deliveries: Invariant (6). */
    uint32_t queued [ZR_BUSEND_SUBS_MAX];
    uint32_t n_queued;
};

/* ------------------------------------------------------------- sending */

static zr_busmsg_bytes_t
s_bytes (const void *data, size_t size)
{
    return (zr_busmsg_bytes_t) {(const uint8_t *) data, size};
}

static zr_busmsg_bytes_t
s_str (const char *text)
{
    return s_bytes (text, strlen (text));
}

/* A message of type ZeroMQ could not queue (the client is gone, or its
   queue is full): logged; returns -1. */
static int
s_dropped (int type)
{
    zr_journal_log (ZR_OPTIONS_LOG_DEBUG, "bus: %s to a client dropped: %s",
                    zr_busmsg_type_name (type), zmq_strerror (zmq_errno ()));
    return -1;
}

/* Sends msg to routing (borrowed): 0, or -1 if ZeroMQ could not queue it
   (the client is gone, or its queue is full). */
static int
s_send (zr_busend_t *self, zframe_t *routing, const zr_busmsg_t *msg)
{
    assert (routing);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_busmsg_encode (msg, &data, &size);
    assert (rc == 0);                   /* our messages keep the limits */
    rc = zr_peer_send_to (self->router, zframe_data (routing),
                          zframe_size (routing), data, size);
    free (data);
    return rc == 0 ? 0 : s_dropped (msg->type);
}

/* Sends run (a DELIVER's or ACK's, built by zr_busmsg_run_add) with id
   to routing: its head and records copied once into the frame, not
   encoded again (zr_busmsg_run_head). 0, or -1 as s_send. */
static int
s_send_run (zr_busend_t *self, zframe_t *routing, const zr_busmsg_run_t *run,
            uint64_t id)
{
    assert (routing);
    uint8_t head [ZR_BUSMSG_RUN_HEAD_MAX];
    size_t head_size = zr_busmsg_run_head (run, id, head);
    assert (head_size);                 /* our runs keep the limits */
    if (zr_peer_send_joined_to (self->router, zframe_data (routing),
                                zframe_size (routing), head, head_size,
                                run->data, run->size) == 0)
        return 0;
    return s_dropped (run->type ? (int) run->type : ZR_BUSMSG_DELIVER);
}

static void
s_send_error (zr_busend_t *self, zframe_t *routing, uint64_t id,
              zr_busmsg_code_t code, const char *text)
{
    zr_busmsg_t msg = {.type = ZR_BUSMSG_ERROR, .id = id, .code = code,
                       .text = s_str (text)};
    s_send (self, routing, &msg);
}

/* NOT_LEADER naming leader's bus endpoint (this server's, or from the
   member directory; "" if unknown). */
static void
s_send_not_leader (zr_busend_t *self, zframe_t *routing, uint64_t id,
                   uint32_t leader)
{
    char endpoint [ZR_BUSMSG_ENDPOINT_MAX + 1] = "";
    if (leader == self->options->id)
        snprintf (endpoint, sizeof endpoint, "%s", self->options->advertise_bus);
    else
    if (!leader || !zr_kv_member_bus_endpoint (self->kv, leader, endpoint,
                                               sizeof endpoint))
        endpoint [0] = 0;
    zr_busmsg_t msg = {.type = ZR_BUSMSG_NOT_LEADER, .id = id,
                       .endpoint = s_str (endpoint)};
    s_send (self, routing, &msg);
}

_Static_assert (ZRAFT_ENTRY_BYTES_MAX == 1048576,
                "s_send_status's too-big text names the entry limit");

/* Answers a request the library refused or failed (status, a ZRAFT_E*),
   knowing whether it may have reached the log (write). */
static void
s_send_status (zr_busend_t *self, zframe_t *routing, uint64_t id, int status,
               uint32_t leader, bool write)
{
    switch (status) {
    case ZRAFT_ENOTLEADER:
    case ZRAFT_ELOST:
        s_send_not_leader (self, routing, id, leader ? leader : self->leader);
        return;
    case ZRAFT_EBUSY:
    case ZRAFT_EAGAIN:
        s_send_error (self, routing, id, ZR_BUSMSG_CODE_BUSY,
                      "busy (too many requests, a transfer, or the leader"
                      " cannot tell a repeat yet): retry");
        return;
    case ZRAFT_ESTALE:
        s_send_error (self, routing, id, ZR_BUSMSG_CODE_STALE,
                      "sequence number below the producer's window");
        return;
    case ZRAFT_EINVAL:
        s_send_error (self, routing, id, ZR_BUSMSG_CODE_INVALID,
                      "refused by the server");
        return;
    case ZRAFT_ETOOBIG:
        /* 27: the entry's array, op, str8 and bin32 headers, producer
           and seq as uint64 (actors/bus.c, s_pack_entry). */
        s_send_error (self, routing, id, ZR_BUSMSG_CODE_INVALID,
                      "too big: the subject, the payload and up to 27 bytes"
                      " of framing must fit in one log entry of 1,048,576"
                      " bytes");
        return;
    case ZRAFT_EIO:
        s_send_error (self, routing, id, ZR_BUSMSG_CODE_UNAVAILABLE,
                      "the disk failed: refused, not applied");
        return;
    default:                            /* EUNKNOWN, ESHUTDOWN */
        s_send_error (self, routing, id, write ? ZR_BUSMSG_CODE_UNKNOWN
                                               : ZR_BUSMSG_CODE_UNAVAILABLE,
                      write ? "outcome unknown: retry with the same producer"
                              " and seq" : "shutting down");
    }
}

/* ------------------------------------------------------------ sessions */

static void
s_session_key (zframe_t *routing, char *key)
{
    size_t size = zframe_size (routing);
    assert (size <= S_ROUTING_MAX);
    static const char hex [] = "0123456789abcdef";
    const uint8_t *id = zframe_data (routing);
    for (size_t i = 0; i < size; i++) {  /* per message: no snprintf */
        key [2 * i] = hex [id [i] >> 4];
        key [2 * i + 1] = hex [id [i] & 15];
    }
    key [2 * size] = 0;
}

static s_session_t *
s_session_find (zr_busend_t *self, zframe_t *routing)
{
    char key [2 * S_ROUTING_MAX + 1];
    s_session_key (routing, key);
    return (s_session_t *) zhashx_lookup (self->sessions, key);
}

static void
s_session_free (void **item_p)
{
    s_session_t *session = (s_session_t *) *item_p;
    if (session) {
        zframe_destroy (&session->routing);
        free (session);
        *item_p = NULL;
    }
}

/* The session of routing (borrowed), created if new. */
static s_session_t *
s_session_get (zr_busend_t *self, zframe_t *routing, int64_t now)
{
    s_session_t *session = s_session_find (self, routing);
    if (session)
        return session;
    session = (s_session_t *) calloc (1, sizeof *session);
    assert (session);
    s_session_key (routing, session->key);
    session->routing = zframe_dup (routing);
    session->heard = session->sent = now;
    int rc = zhashx_insert (self->sessions, session->key, session);
    assert (rc == 0);
    int64_t beat = now + self->options->bus_heartbeat_ms;
    self->due = self->due && self->due < beat ? self->due : beat;
    return session;
}

static void s_sub_detach (zr_busend_t *self, s_sub_t *sub);

/* The client is gone or silent: its subscriptions close; the sweep
   removes the session (not removed here: the caller may be iterating). */
static void
s_session_close (zr_busend_t *self, s_session_t *session, const char *why)
{
    if (session->closed)
        return;
    zr_journal_log (ZR_OPTIONS_LOG_INFO, "bus: a client with %" PRIu32
                    " subscriptions is %s", session->n_subs, why);
    session->closed = true;
    while (session->n_subs > 0)
        s_sub_detach (self, &self->subs [session->subs [0]]);
    self->due = zclock_mono ();         /* sweep it away soon */
}

/* Sends msg to session: 0, or -1 after closing it (Invariant (3)). */
static int
s_session_send (zr_busend_t *self, s_session_t *session, const zr_busmsg_t *msg,
                const zr_busmsg_run_t *run)
{
    if (session->closed)
        return -1;
    int rc = run ? s_send_run (self, session->routing, run, msg->id)
                 : s_send (self, session->routing, msg);
    if (rc != 0) {
        s_session_close (self, session, "gone or not reading");
        return -1;
    }
    session->sent = zclock_mono ();
    return 0;
}

/* ------------------------------------------------------- subscriptions */

static s_sub_t *
s_sub_find (zr_busend_t *self, uint64_t id)
{
    if ((id & 0xffff) >= ZR_BUSEND_SUBS_MAX)
        return NULL;
    s_sub_t *sub = &self->subs [id & 0xffff];
    return sub->state != S_FREE && sub->id == id ? sub : NULL;
}

static s_sub_t *
s_sub_of_client (zr_busend_t *self, s_session_t *session, uint64_t client_id)
{
    for (uint32_t i = 0; session && i < session->n_subs; i++)
        if (self->subs [session->subs [i]].client_id == client_id)
            return &self->subs [session->subs [i]];
    return NULL;
}

/* Takes a free slot for session's subscription client_id; NULL if none. */
static s_sub_t *
s_sub_new (zr_busend_t *self, s_session_t *session, uint64_t client_id)
{
    if (self->n_subs == ZR_BUSEND_SUBS_MAX
        || session->n_subs == ZR_BUSEND_SESSION_SUBS_MAX)
        return NULL;
    uint32_t slot = 0;
    while (self->subs [slot].state != S_FREE)
        slot++;
    s_sub_t *sub = &self->subs [slot];
    memset (sub, 0, sizeof *sub);
    sub->id = (++self->serial << 16) | slot;
    sub->client_id = client_id;
    sub->session = session;
    session->subs [session->n_subs++] = slot;   /* Invariant (1) */
    self->n_subs++;
    return sub;
}

/* Takes sub out of its session's list. */
static void
s_sub_unlink (zr_busend_t *self, s_sub_t *sub)
{
    s_session_t *session = sub->session;
    if (!session)
        return;
    uint32_t slot = (uint32_t) (sub - self->subs);
    for (uint32_t i = 0; i < session->n_subs; i++)
        if (session->subs [i] == slot) {
            session->subs [i] = session->subs [--session->n_subs];
            break;
        }
    sub->session = NULL;
}

static void
s_sub_free (zr_busend_t *self, s_sub_t *sub)
{
    assert (sub->state != S_FREE);
    s_sub_unlink (self, sub);
    if (sub->credit_owed || sub->unsubscribe_due)
        self->retries--;                /* Invariant (4) */
    zr_busmsg_run_free (&sub->run);
    memset (sub, 0, sizeof *sub);
    self->n_subs--;
}

/* Ends sub in the library (CLOSING until its UNSUBSCRIBED), or frees
   it if the library no longer holds it. */
static void
s_sub_unsubscribe (zr_busend_t *self, s_sub_t *sub)
{
    assert (sub->state == S_OPENING || sub->state == S_OPEN
            || sub->state == S_CLOSING);
    sub->state = S_CLOSING;
    int rc = self->node ? zraft_unsubscribe (self->node, sub->id)
                        : ZRAFT_ESHUTDOWN;
    bool due = rc == ZRAFT_EAGAIN;
    if (due != sub->unsubscribe_due && !sub->credit_owed)
        self->retries += due ? 1 : (uint32_t) -1;
    sub->unsubscribe_due = due;
    if (rc != 0 && !due)
        s_sub_free (self, sub);         /* already ended, or no node */
}

/* Sends sub's run as one DELIVER (if it holds any and its session is
   there) and empties it (Invariant (6)). */
static void
s_sub_flush (zr_busend_t *self, s_sub_t *sub)
{
    if (sub->run.n && sub->session) {
        zr_busmsg_t deliver = {.type = ZR_BUSMSG_DELIVER,
                               .id = sub->client_id};
        s_session_send (self, sub->session, &deliver, &sub->run);
    }
    zr_busmsg_run_reset (&sub->run, S_RUN_KEEP);
}

/* The client is gone: nothing more is sent for sub, which ends. */
static void
s_sub_detach (zr_busend_t *self, s_sub_t *sub)
{
    zr_busmsg_run_reset (&sub->run, S_RUN_KEEP);    /* Invariant (3) */
    s_sub_unlink (self, sub);
    if (sub->state == S_OPENING || sub->state == S_OPEN)
        s_sub_unsubscribe (self, sub);
    /* CURSOR: freed when its read answers; CLOSING: when it ended. */
}

/* Ends sub with a message to its client (if still there), after the
   deliveries of its run. */
static void
s_sub_end (zr_busend_t *self, s_sub_t *sub, const zr_busmsg_t *msg)
{
    s_sub_flush (self, sub);
    if (sub->session)
        s_session_send (self, sub->session, msg, NULL);
    if (sub->state != S_FREE)
        s_sub_free (self, sub);
}

static void
s_sub_end_error (zr_busend_t *self, s_sub_t *sub, zr_busmsg_code_t code,
                 const char *text)
{
    zr_busmsg_t msg = {.type = ZR_BUSMSG_ERROR, .id = sub->client_id,
                       .code = code, .text = s_str (text)};
    s_sub_end (self, sub, &msg);
}

/* Opens sub in the library (OPENING), or ends it with the refusal. */
static void
s_sub_open (zr_busend_t *self, s_sub_t *sub)
{
    zraft_sub_options_t options = {.from_mode = sub->mode, .from = sub->from,
                                   .prefix = sub->prefix,
                                   .credit = sub->credit};
    int rc = zraft_subscribe (self->node, sub->id, &options);
    if (rc == 0) {
        sub->state = S_OPENING;
        return;
    }
    s_sub_end_error (self, sub, rc == ZRAFT_EAGAIN ? ZR_BUSMSG_CODE_BUSY
                                : rc == ZRAFT_EINVAL ? ZR_BUSMSG_CODE_INVALID
                                                     : ZR_BUSMSG_CODE_UNAVAILABLE,
                     rc == ZRAFT_EAGAIN ? "too many subscriptions on this"
                     " server" : "the subscription was refused");
}

/* ------------------------------------------------------------ requests */

/* Copies str bytes (checked by the decoder: no NUL) into a C string. */
static void
s_cstr (zr_busmsg_bytes_t str, char *buf, size_t size)
{
    assert (str.size < size);
    if (str.size)
        memcpy (buf, str.data, str.size);
    buf [str.size] = 0;
}

/* A token for request id of (pending) type (the routing id goes into
   pending), or 0 after answering BUSY (the routing id left to the
   caller). */
static uint64_t
s_token (zr_busend_t *self, zframe_t **routing_p, uint64_t id, int type)
{
    uint64_t token = zr_pending_add (self->pending, routing_p, id, type,
                                     zclock_mono ());
    if (!token) {
        s_send_error (self, *routing_p, id, ZR_BUSMSG_CODE_BUSY,
                      "too many requests in flight");
        return 0;
    }
    assert ((token & ZR_BUSEND_TOKEN_BIT) == 0);
    return token | ZR_BUSEND_TOKEN_BIT;
}

/* The library refused a request at once: answers it, forgets it. */
static void
s_refuse (zr_busend_t *self, uint64_t token, int rc)
{
    zr_pending_entry_t entry;
    bool found = zr_pending_take (self->pending, token & ~ZR_BUSEND_TOKEN_BIT,
                                  &entry);
    assert (found);
    (void) found;
    if (entry.routing_id)
        s_send_status (self, entry.routing_id, entry.request_id, rc,
                       self->leader, false);
    zframe_destroy (&entry.routing_id);
}

/* Hands the PUBLISHes of the batch to the library in one
   zraft_publish_many (Invariant (5)). All or nothing: refused, each is
   answered with the refusal; one the library finds invalid or too big
   sinks the call, so then each goes alone and only it is refused. */
static void
s_batch_flush (zr_busend_t *self)
{
    if (self->batch_n == 0)
        return;
    int rc = zraft_publish_many (self->node, self->batch, self->batch_n);
    for (size_t i = 0; i < self->batch_n; i++) {
        const zraft_publication_t *pub = &self->batch [i];
        int one = rc;
        if (rc == ZRAFT_EINVAL || rc == ZRAFT_ETOOBIG)
            one = zraft_publish (self->node, pub->token, pub->subject,
                                 pub->data, pub->size, pub->producer, pub->seq);
        if (one != 0)
            s_refuse (self, pub->token, one);
    }
    for (size_t i = 0; i < self->batch_n_frames; i++)
        zframe_destroy (&self->batch_frames [i]);
    self->batch_n = 0;
    self->batch_n_frames = 0;
    self->batch_bytes = 0;
}

/* A publication into the batch; its frame (holding the payload) stays
   the caller's until s_batch_keep. */
static void
s_batch_add (zr_busend_t *self, uint64_t token,
             const zr_busmsg_record_t *record)
{
    size_t bytes = record->payload.size + record->subject.size
                   + S_ENTRY_OVERHEAD;
    if (self->batch_n == S_BATCH_MAX
        || self->batch_bytes + bytes > ZRAFT_SUBMIT_BYTES_MAX)
        s_batch_flush (self);
    size_t i = self->batch_n++;
    s_cstr (record->subject, self->batch_subjects [i], ZRAFT_SUBJECT_MAX + 1);
    self->batch [i] = (zraft_publication_t) {
        .token = token, .subject = self->batch_subjects [i],
        .data = record->payload.data, .size = record->payload.size,
        .producer = record->producer, .seq = record->seq};
    self->batch_bytes += bytes;
}

/* The frame whose last publication went into the batch goes with it
   (Invariant (7)): at most one per publication, so it fits. */
static void
s_batch_keep (zr_busend_t *self, zframe_t **frame_p)
{
    assert (self->batch_n_frames < self->batch_n);
    self->batch_frames [self->batch_n_frames++] = *frame_p;
    *frame_p = NULL;
}

/* PUBLISH: each publication of its run a request of its own, into the
   batch (Invariant (7)); the frame with them once one is in. */
static void
s_on_publish (zr_busend_t *self, zframe_t **routing_p, zframe_t **frame_p,
              const zr_busmsg_t *msg)
{
    bool in_run = msg->n_records > 1;
    zr_busmsg_records_iter_t iter;
    zr_busmsg_records_iter (msg, &iter);
    zr_busmsg_record_t record;
    bool added = false;
    for (uint64_t id = msg->id; zr_busmsg_records_next (&iter, &record); id++) {
        /* Each pending entry holds a routing id: the last takes ours. */
        zframe_t *routing = *routing_p;
        if (iter.left)
            routing = zframe_dup (routing);
        else
            *routing_p = NULL;
        assert (routing);
        uint64_t token = s_token (self, &routing, id, in_run
                                                      ? S_PUBLISH_IN_RUN
                                                      : ZR_BUSMSG_PUBLISH);
        if (!token) {
            zframe_destroy (&routing);
            continue;
        }
        s_batch_add (self, token, &record);
        added = true;
    }
    if (added)
        s_batch_keep (self, frame_p);
}

/* PUBLISH: into the batch; COMMIT_CURSOR, CURSORS: one library call
   each. */
static void
s_on_request (zr_busend_t *self, zframe_t **routing_p, zframe_t **frame_p,
              const zr_busmsg_t *msg)
{
    if (msg->type == ZR_BUSMSG_PUBLISH) {
        s_on_publish (self, routing_p, frame_p, msg);
        return;
    }
    uint64_t token = s_token (self, routing_p, msg->id, msg->type);
    if (!token)
        return;
    char name [ZRAFT_SUBJECT_MAX + 1];
    int rc;
    if (msg->type == ZR_BUSMSG_COMMIT_CURSOR) {
        s_cstr (msg->name, name, sizeof name);
        rc = zraft_cursor_commit (self->node, token, name, msg->index);
    }
    else
        rc = zraft_cursors (self->node, token, 0);
    if (rc != 0)
        s_refuse (self, token, rc);
}

/* SUBSCRIBE: a session's new subscription, through its cursor if it
   names one (read linearizably: the leader only). */
static void
s_on_subscribe (zr_busend_t *self, zframe_t **routing_p, s_session_t *session,
                const zr_busmsg_t *msg)
{
    if (s_sub_of_client (self, session, msg->id)) {
        s_send_error (self, *routing_p, msg->id, ZR_BUSMSG_CODE_INVALID,
                      "subscription id already open on this connection");
        return;
    }
    s_sub_t *sub = s_sub_new (self, session, msg->id);
    if (!sub) {
        s_send_error (self, *routing_p, msg->id, ZR_BUSMSG_CODE_BUSY,
                      "too many subscriptions");
        return;
    }
    sub->mode = (zraft_from_t) msg->from_mode;
    sub->from = msg->from;
    sub->credit = msg->credit;
    sub->run_max = msg->run_max ? msg->run_max : 1;
    s_cstr (msg->prefix, sub->prefix, sizeof sub->prefix);
    s_cstr (msg->name, sub->cursor, sizeof sub->cursor);
    zr_journal_log (ZR_OPTIONS_LOG_INFO, "bus: subscription %" PRIu64 " from"
                    " mode %" PRIu32 "%s%s", sub->id, msg->from_mode,
                    sub->cursor [0] ? ", cursor " : "", sub->cursor);
    if (!sub->cursor [0]) {
        s_sub_open (self, sub);
        return;
    }
    sub->state = S_CURSOR;
    zframe_t *none = NULL;
    uint64_t token = zr_pending_add (self->pending, &none, sub->id,
                                     ZR_BUSMSG_SUBSCRIBE, zclock_mono ());
    int rc = token ? zraft_cursors (self->node, token | ZR_BUSEND_TOKEN_BIT, 0)
                   : ZRAFT_EAGAIN;
    if (rc == 0)
        return;
    if (token) {
        zr_pending_entry_t entry;
        zr_pending_take (self->pending, token, &entry);
    }
    s_send_status (self, *routing_p, msg->id, rc, self->leader, false);
    s_sub_free (self, sub);
}

/* CREDIT: given to the library now, or kept for the tick if its queue
   is full. */
static void
s_sub_credit (zr_busend_t *self, s_sub_t *sub, uint32_t credit)
{
    uint64_t owed = (uint64_t) sub->credit_owed + credit;
    owed = owed > ZRAFT_CREDIT_MAX ? ZRAFT_CREDIT_MAX : owed;
    bool was = sub->credit_owed || sub->unsubscribe_due;
    sub->credit_owed = 0;
    if (owed && (sub->state == S_OPEN || sub->state == S_OPENING)) {
        int rc = zraft_credit (self->node, sub->id, (uint32_t) owed);
        sub->credit_owed = rc == ZRAFT_EAGAIN ? (uint32_t) owed : 0;
    }
    else
    if (sub->state == S_CURSOR)
        sub->credit += (uint32_t) owed; /* it opens with it */
    bool now = sub->credit_owed || sub->unsubscribe_due;
    if (was != now)
        self->retries += now ? 1 : (uint32_t) -1;
}

/* CREDIT and UNSUBSCRIBE name a subscription of this session. */
static void
s_on_sub_message (zr_busend_t *self, zframe_t *routing, s_session_t *session,
                  const zr_busmsg_t *msg)
{
    s_sub_t *sub = s_sub_of_client (self, session, msg->id);
    if (!sub) {
        if (msg->type == ZR_BUSMSG_CREDIT)
            s_send_error (self, routing, msg->id, ZR_BUSMSG_CODE_INVALID,
                          "no such subscription");
        return;
    }
    if (msg->type == ZR_BUSMSG_CREDIT) {
        s_sub_credit (self, sub, msg->credit);
        return;
    }
    /* UNSUBSCRIBE: nothing more is sent; a CURSOR one is freed when
       its read answers and finds no session. */
    s_sub_detach (self, sub);
}

/* One decoded message from routing (taken if pending keeps it), decoded
   from *frame_p (taken if the batch keeps it). */
static void
s_dispatch (zr_busend_t *self, zframe_t **routing_p, zframe_t **frame_p,
            const zr_busmsg_t *msg)
{
    if (msg->type != ZR_BUSMSG_PUBLISH)
        s_batch_flush (self);           /* in the order read (Invariant (5)) */
    int64_t now = zclock_mono ();
    s_session_t *session = s_session_find (self, *routing_p);
    if (session && !session->closed)
        session->heard = now;
    if (!zr_busmsg_from_client (msg->type)) {
        s_send_error (self, *routing_p, msg->id, ZR_BUSMSG_CODE_INVALID,
                      "not a message a client sends");
        return;
    }
    if (msg->type == ZR_BUSMSG_HEARTBEAT)
        return;
    if (self->stopping || !self->node) {
        /* Every publication of a PUBLISH run is a request (Invariant
           (7)): each gets its answer. */
        uint64_t n = msg->type == ZR_BUSMSG_PUBLISH && msg->n_records
                     ? msg->n_records : 1;
        if (msg->type != ZR_BUSMSG_CREDIT && msg->type != ZR_BUSMSG_UNSUBSCRIBE)
            for (uint64_t k = 0; k < n; k++)
                s_send_error (self, *routing_p, msg->id + k,
                              ZR_BUSMSG_CODE_UNAVAILABLE, "shutting down");
        return;
    }
    if (msg->type == ZR_BUSMSG_SUBSCRIBE) {
        if (session && session->closed) {
            /* Empty (Invariant (1)) and not iterated here: replaced. */
            zhashx_delete (self->sessions, session->key);
            session = NULL;
        }
        if (!session)
            session = s_session_get (self, *routing_p, now);
        s_on_subscribe (self, routing_p, session, msg);
    }
    else
    if (msg->type == ZR_BUSMSG_CREDIT || msg->type == ZR_BUSMSG_UNSUBSCRIBE)
        s_on_sub_message (self, *routing_p, session, msg);
    else
        s_on_request (self, routing_p, frame_p, msg);
}

/* Serves one message read from the ROUTER (destroyed here). */
static void
s_handle_one (zr_busend_t *self, zmsg_t *msg)
{
    zframe_t *routing = zmsg_pop (msg);
    zframe_t *frame = zmsg_pop (msg);
    bool one = frame && zmsg_size (msg) == 0;
    zr_busmsg_t decoded;
    int rc = one ? zr_busmsg_decode (zframe_data (frame), zframe_size (frame),
                                     &decoded)
                 : ZR_EMALFORMED;
    if (rc != 0 && routing) {
        zr_journal_malformed (&self->malformed, zclock_mono (), "bus",
                              "message", one ? zframe_data (frame) : NULL,
                              one ? zframe_size (frame) : 0,
                              one ? zr_strerror (rc) : "not one frame");
        s_send_error (self, routing, one ? decoded.id : 0,
                      ZR_BUSMSG_CODE_MALFORMED,
                      one ? zr_strerror (rc) : "a message is one frame");
    }
    else
    if (rc == 0 && routing)
        s_dispatch (self, &routing, &frame, &decoded);
    zframe_destroy (&routing);          /* NULL if pending took it */
    zframe_destroy (&frame);            /* NULL if the batch took it */
    zmsg_destroy (&msg);
}

/* -------------------------------------------------------------- events */

/* A CURSORS RESULT: the library's map, sorted and checked, as a
   CURSORS_REPLY. */
static void
s_result_cursors (zr_busend_t *self, const zr_pending_entry_t *entry,
                  const zraft_event_t *event)
{
    msgpack_unpacked tree;
    msgpack_unpacked_init (&tree);
    size_t offset = 0;
    zr_busmsg_cursor_t *list = NULL;
    uint8_t *map = NULL;
    size_t n = 0, size = 0;
    int rc = msgpack_unpack_next (&tree, (const char *) event->data,
                                  event->size, &offset) == MSGPACK_UNPACK_SUCCESS
             && tree.data.type == MSGPACK_OBJECT_MAP ? 0 : -1;
    if (rc == 0) {
        n = tree.data.via.map.size;
        list = (zr_busmsg_cursor_t *) calloc (n ? n : 1, sizeof *list);
        assert (list);
        for (size_t i = 0; i < n && rc == 0; i++) {
            const msgpack_object_kv *kv = &tree.data.via.map.ptr [i];
            rc = kv->key.type == MSGPACK_OBJECT_STR
                 && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER ? 0 : -1;
            list [i].name = s_bytes (kv->key.via.str.ptr, kv->key.via.str.size);
            list [i].index = kv->val.via.u64;
        }
    }
    if (rc == 0)
        rc = zr_busmsg_cursors_encode (list, n, &map, &size);
    if (rc == 0) {
        zr_busmsg_t reply = {.type = ZR_BUSMSG_CURSORS_REPLY,
                             .id = entry->request_id,
                             .cursors = s_bytes (map, size),
                             .n_cursors = (uint32_t) n};
        s_send (self, entry->routing_id, &reply);
    }
    else {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "bus: the library's cursors do"
                        " not encode (%zu bytes)", event->size);
        s_send_error (self, entry->routing_id, entry->request_id,
                      ZR_BUSMSG_CODE_UNAVAILABLE, "cursors unreadable");
    }
    free (map);
    free (list);
    msgpack_unpacked_destroy (&tree);
}

/* The RESULT of a SUBSCRIBE's cursor read: open the subscription from
   the cursor's index + 1 (or as asked, without the cursor). */
static void
s_result_cursor (zr_busend_t *self, const zr_pending_entry_t *entry,
                 const zraft_event_t *event)
{
    s_sub_t *sub = s_sub_find (self, entry->request_id);
    if (!sub || sub->state != S_CURSOR)
        return;
    if (!sub->session) {
        s_sub_free (self, sub);         /* the client left meanwhile */
        return;
    }
    if (event->status != 0) {
        zframe_t *routing = sub->session->routing;
        s_send_status (self, routing, sub->client_id, event->status,
                       event->leader, false);
        s_sub_free (self, sub);
        return;
    }
    uint64_t index;
    if (zraft_cursor_find (event->data, event->size, sub->cursor, &index) == 0) {
        sub->mode = ZRAFT_FROM_INDEX;
        sub->from = index + 1;
    }
    zr_journal_log (ZR_OPTIONS_LOG_DEBUG, "bus: subscription %" PRIu64
                    " resumes cursor %s at %" PRIu64, sub->id, sub->cursor,
                    sub->mode == ZRAFT_FROM_INDEX ? sub->from : 0);
    s_sub_open (self, sub);
}

/* Sends the open ACK run, if any (Invariant (7)). */
static void
s_acks_flush (zr_busend_t *self)
{
    if (self->acks.n)
        s_send_run (self, self->acks_routing, &self->acks, self->acks_id);
    zr_busmsg_run_reset (&self->acks, S_RUN_KEEP);
    zframe_destroy (&self->acks_routing);
}

/* An ACK of a publication that came in a run joins the open ACK run, or
   opens the next (Invariant (7)); takes entry's routing id if it opens
   one. */
static void
s_acks_add (zr_busend_t *self, zr_pending_entry_t *entry,
            const zraft_event_t *event)
{
    zr_busmsg_record_t ack = {.index = event->index, .term = event->term,
                              .duplicate = event->duplicate};
    bool follows = self->acks.n > 0
                   && entry->request_id == self->acks_id + self->acks.n
                   && zframe_eq (entry->routing_id, self->acks_routing);
    if (!follows || zr_busmsg_run_add (&self->acks, &ack,
                                       ZR_BUSMSG_RUN_MAX) != 0) {
        s_acks_flush (self);
        self->acks_routing = entry->routing_id;
        entry->routing_id = NULL;
        self->acks_id = entry->request_id;
        int rc = zr_busmsg_run_add (&self->acks, &ack, ZR_BUSMSG_RUN_MAX);
        assert (rc == 0);               /* the library's index and term
                                           are >= 1, as s_send's ACK */
        (void) rc;
    }
    if (self->acks.n == ZR_BUSMSG_RUN_MAX)
        s_acks_flush (self);            /* full: it leaves now */
}

/* A RESULT of a bus request (invariant 2). */
static void
s_on_result (zr_busend_t *self, const zraft_event_t *event)
{
    zr_pending_entry_t entry;
    bool found = zr_pending_take (self->pending,
                                  event->token & ~ZR_BUSEND_TOKEN_BIT, &entry);
    assert (found);                     /* one RESULT per accepted token */
    (void) found;
    if (entry.type == ZR_BUSMSG_SUBSCRIBE)
        s_result_cursor (self, &entry, event);
    else
    if (event->status != 0)
        s_send_status (self, entry.routing_id, entry.request_id, event->status,
                       event->leader, entry.type != ZR_BUSMSG_CURSORS);
    else
    if (entry.type == ZR_BUSMSG_CURSORS)
        s_result_cursors (self, &entry, event);
    else
    if (entry.type == S_PUBLISH_IN_RUN && entry.routing_id)
        s_acks_add (self, &entry, event);
    else {
        zr_busmsg_t ack = {.type = ZR_BUSMSG_ACK, .id = entry.request_id,
                           .index = event->index, .term = event->term,
                           .duplicate = event->duplicate};
        s_send (self, entry.routing_id, &ack);
    }
    zframe_destroy (&entry.routing_id);
}

static void
s_on_subscribed (zr_busend_t *self, s_sub_t *sub, const zraft_event_t *event)
{
    if (event->status != 0) {           /* the subscription is over */
        zr_busmsg_t end = {.type = ZR_BUSMSG_OUT_OF_RANGE,
                           .id = sub->client_id,
                           .first = event->first ? event->first : 1};
        if (event->status == ZRAFT_ERANGE)
            s_sub_end (self, sub, &end);
        else
            s_sub_end_error (self, sub, ZR_BUSMSG_CODE_UNAVAILABLE,
                             "the subscription failed");
        return;
    }
    if (sub->state == S_CLOSING)
        return;                         /* its UNSUBSCRIBED follows */
    sub->state = S_OPEN;
    zr_busmsg_t ok = {.type = ZR_BUSMSG_OK, .id = sub->client_id,
                      .first = event->first ? event->first : 1,
                      .last = event->last,
                      .heartbeat_ms = self->options->bus_heartbeat_ms,
                      .timeout_ms = self->options->bus_timeout_ms};
    if (ok.first > ok.last + 1)
        ok.first = ok.last + 1;         /* the rule of OK, whatever came */
    if (sub->session)
        s_session_send (self, sub->session, &ok, NULL);
    if (sub->credit_owed)               /* credit that came before */
        s_sub_credit (self, sub, 0);
}

/* A delivery joins its subscription's run, which leaves when full
   (Invariant (6)). */
static void
s_on_deliver (zr_busend_t *self, s_sub_t *sub, const zraft_event_t *event)
{
    if (sub->state != S_OPEN || !sub->session)
        return;                         /* closing: dropped */
    zr_busmsg_record_t record = {.index = event->index, .term = event->term,
                                 .subject = s_str (event->subject),
                                 .payload = s_bytes (event->data,
                                                     event->size)};
    int rc = zr_busmsg_run_add (&sub->run, &record, sub->run_max);
    if (rc == ZR_EBUSY) {               /* full: send it, start anew */
        s_sub_flush (self, sub);
        if (!sub->session)
            return;                     /* that send closed the session */
        rc = zr_busmsg_run_add (&sub->run, &record, sub->run_max);
    }
    assert (rc == 0);                   /* the library's deliveries keep
                                           the rules, in index order */
    if (!sub->queued) {
        assert (self->n_queued < ZR_BUSEND_SUBS_MAX);
        self->queued [self->n_queued++] = (uint32_t) (sub - self->subs);
        sub->queued = true;
    }
    if (sub->run.n >= sub->run_max)
        s_sub_flush (self, sub);
}

static void
s_on_unsubscribed (zr_busend_t *self, s_sub_t *sub, const zraft_event_t *event)
{
    if (sub->state == S_CLOSING || event->status == 0) {
        s_sub_free (self, sub);
        return;
    }
    zr_busmsg_t end = {.type = ZR_BUSMSG_OUT_OF_RANGE, .id = sub->client_id,
                       .first = event->first ? event->first : 1};
    if (event->status == ZRAFT_ERANGE)
        s_sub_end (self, sub, &end);
    else
        s_sub_end_error (self, sub, ZR_BUSMSG_CODE_UNAVAILABLE,
                         "the subscription failed here: subscribe again");
}

bool
zr_busend_on_event (zr_busend_t *self, const zraft_event_t *event)
{
    assert (self && event);
    if (event->type == ZRAFT_EVENT_RESULT) {
        if (!(event->token & ZR_BUSEND_TOKEN_BIT))
            return false;
        s_on_result (self, event);
        return true;
    }
    if (event->type != ZRAFT_EVENT_SUBSCRIBED
        && event->type != ZRAFT_EVENT_DELIVER
        && event->type != ZRAFT_EVENT_UNSUBSCRIBED)
        return false;
    s_sub_t *sub = s_sub_find (self, event->token);
    if (!sub)
        return true;                    /* an old subscription's: dropped */
    if (event->type == ZRAFT_EVENT_SUBSCRIBED)
        s_on_subscribed (self, sub, event);
    else
    if (event->type == ZRAFT_EVENT_DELIVER)
        s_on_deliver (self, sub, event);
    else
        s_on_unsubscribed (self, sub, event);
    return true;
}

/* ------------------------------------------------------------- the rest */

zr_busend_t *
zr_busend_new (const zr_options_t *options, zr_kv_t *kv)
{
    assert (options && options->listen_bus [0] && kv);
    zr_busend_t *self = (zr_busend_t *) calloc (1, sizeof *self);
    assert (self);
    self->options = options;
    self->kv = kv;
    self->role = ZRAFT_FOLLOWER;
    self->pending = zr_pending_new (ZR_BUSEND_PENDING_MAX);
    self->acks.type = ZR_BUSMSG_ACK;
    self->sessions = zhashx_new ();
    assert (self->pending && self->sessions);
    zhashx_set_destructor (self->sessions, s_session_free);
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    zsock_set_router_mandatory (self->router, 1);   /* Invariant (3) */
    zsock_set_maxmsgsize (self->router, (int) S_FRAME_DROP);
    zsock_set_sndhwm (self->router, S_SNDHWM);
    zsock_set_rcvhwm (self->router, S_RCVHWM);
    zsock_set_sndtimeo (self->router, 0);
    zsock_set_linger (self->router, 0); /* until the stop: see destroy */
    if (zsock_bind (self->router, "%s", options->listen_bus) < 0) {
        zr_journal_log (ZR_OPTIONS_LOG_ERROR, "cannot start: --listen-bus"
                        " %s: %s", options->listen_bus,
                        zr_bind_strerror (zmq_errno ()));
        zr_busend_destroy (&self);
        return NULL;
    }
    return self;
}

void
zr_busend_destroy (zr_busend_t **self_p)
{
    assert (self_p);
    zr_busend_t *self = *self_p;
    if (!self)
        return;
    assert (!self->node);               /* zr_busend_node_gone first */
    if (self->router) {
        zsock_set_linger (self->router, S_LINGER_MS);
        zsock_destroy (&self->router);
    }
    zhashx_destroy (&self->sessions);
    zr_pending_destroy (&self->pending);
    zr_busmsg_run_free (&self->acks);
    zframe_destroy (&self->acks_routing);
    free (self);
    *self_p = NULL;
}

zsock_t *
zr_busend_socket (zr_busend_t *self)
{
    assert (self);
    return self->router;
}

void
zr_busend_start (zr_busend_t *self, zraft_t *node)
{
    assert (self && node && !self->node);
    self->node = node;
}

size_t
zr_busend_handle (zr_busend_t *self)
{
    assert (self);
    size_t n = 0;
    zmsg_t *msg;
    /* Not zsock_events: each call costs a poll(2) of the socket's
       mailbox, where a non-blocking receive looks at it only once the
       queue is empty (czmq deprecates zmsg_recv_nowait for callers that
       do not poll first; this one drains what its poller reported). */
    while (n < S_BATCH_MAX && (msg = zmsg_recv_nowait (self->router))) {
        s_handle_one (self, msg);
        n++;
    }
    s_batch_flush (self);               /* Invariant (5) */
    return n;
}

void
zr_busend_flush (zr_busend_t *self)
{
    assert (self);
    s_acks_flush (self);                /* Invariant (7) */
    for (uint32_t i = 0; i < self->n_queued; i++) {
        s_sub_t *sub = &self->subs [self->queued [i]];
        sub->queued = false;
        s_sub_flush (self, sub);        /* empty if freed or detached */
    }
    self->n_queued = 0;
}

void
zr_busend_on_role (zr_busend_t *self, zraft_role_t role, uint32_t leader)
{
    assert (self);
    self->role = role;
    self->leader = leader;
}

uint32_t
zr_busend_pending (zr_busend_t *self)
{
    assert (self);
    return zr_pending_size (self->pending);
}

/* Retries what the library refused for room (Invariant (4)). */
static void
s_retry (zr_busend_t *self)
{
    for (uint32_t i = 0; i < ZR_BUSEND_SUBS_MAX && self->retries > 0; i++) {
        s_sub_t *sub = &self->subs [i];
        if (sub->state == S_FREE)
            continue;
        if (sub->unsubscribe_due)
            s_sub_unsubscribe (self, sub);
        else
        if (sub->credit_owed)
            s_sub_credit (self, sub, 0);
    }
}

/* Closes silent sessions, removes closed ones, heartbeats idle ones;
   returns when the next is due. */
static int64_t
s_sweep (zr_busend_t *self, int64_t now)
{
    int64_t due = INT64_MAX;
    uint64_t commit = 0;
    bool commit_read = false;
    zlistx_t *closed = zlistx_new ();
    assert (closed);
    for (s_session_t *session = (s_session_t *) zhashx_first (self->sessions);
         session; session = (s_session_t *) zhashx_next (self->sessions)) {
        if (!session->closed
            && now - session->heard >= self->options->bus_timeout_ms)
            s_session_close (self, session, "silent: its subscriptions end");
        if (session->closed || session->n_subs == 0) {
            zlistx_add_end (closed, session->key);
            continue;
        }
        if (now - session->sent >= self->options->bus_heartbeat_ms) {
            if (!commit_read) {
                zraft_status_t status;
                commit = self->node && zraft_status (self->node, &status) == 0
                         ? status.commit : 0;
                commit_read = true;
            }
            zr_busmsg_t beat = {.type = ZR_BUSMSG_HEARTBEAT, .index = commit};
            if (s_session_send (self, session, &beat, NULL) != 0) {
                zlistx_add_end (closed, session->key);
                continue;
            }
        }
        int64_t next = session->heard + self->options->bus_timeout_ms;
        int64_t beat = session->sent + self->options->bus_heartbeat_ms;
        due = next < due ? next : due;
        due = beat < due ? beat : due;
    }
    for (const char *key = (const char *) zlistx_first (closed); key;
         key = (const char *) zlistx_next (closed))
        zhashx_delete (self->sessions, key);
    zlistx_destroy (&closed);
    return due;
}

/* The sweep ran late by more than a heartbeat: the process stalled (a
   starved CPU, SIGSTOP, a frozen machine) and heard nothing meanwhile
   because it was not listening. That time is not the clients' silence
   (actors/node.h, "The node's clock"): each session's is moved on by it. */
static void
s_stalled (zr_busend_t *self, int64_t late, int64_t now)
{
    for (s_session_t *session = (s_session_t *) zhashx_first (self->sessions);
         session; session = (s_session_t *) zhashx_next (self->sessions))
        session->heard = session->heard + late < now ? session->heard + late
                                                     : now;
}

int
zr_busend_tick (zr_busend_t *self)
{
    assert (self);
    int64_t now = zclock_mono ();
    if (self->retries > 0)
        s_retry (self);
    if (self->due && now > self->due + self->options->bus_heartbeat_ms)
        s_stalled (self, now - self->due - self->options->bus_heartbeat_ms, now);
    if (self->due && now >= self->due)
        self->due = zhashx_size (self->sessions) ? s_sweep (self, now) : 0;
    if (self->due == INT64_MAX)
        self->due = 0;
    int64_t wait = self->due ? self->due - now : -1;
    if (self->retries > 0 && (wait < 0 || wait > S_RETRY_MS))
        wait = S_RETRY_MS;
    return wait < 0 && self->due ? 0 : (int) wait;
}

void
zr_busend_stop (zr_busend_t *self)
{
    assert (self);
    if (self->stopping)
        return;
    self->stopping = true;
    for (uint32_t i = 0; i < ZR_BUSEND_SUBS_MAX; i++) {
        s_sub_t *sub = &self->subs [i];
        if (sub->state == S_FREE || !sub->session)
            continue;
        zr_busmsg_t end = {.type = ZR_BUSMSG_ERROR, .id = sub->client_id,
                           .code = ZR_BUSMSG_CODE_UNAVAILABLE,
                           .text = s_str ("the server is stopping:"
                                          " subscribe elsewhere")};
        s_sub_flush (self, sub);
        if (!sub->session)
            continue;                   /* that send closed the session */
        s_session_send (self, sub->session, &end, NULL);
        if (sub->state != S_FREE)
            s_sub_detach (self, sub);
    }
}

void
zr_busend_node_gone (zr_busend_t *self)
{
    assert (self && self->batch_n == 0);    /* Invariant (5) */
    assert (self->n_queued == 0);           /* Invariant (6) */
    assert (self->acks.n == 0);             /* Invariant (7) */
    zr_busend_stop (self);
    self->node = NULL;
    zr_pending_entry_t entry;
    while (zr_pending_take_any (self->pending, &entry)) {
        bool write = entry.type == ZR_BUSMSG_PUBLISH
                     || entry.type == S_PUBLISH_IN_RUN
                     || entry.type == ZR_BUSMSG_COMMIT_CURSOR;
        if (entry.routing_id)
            s_send_status (self, entry.routing_id, entry.request_id,
                           ZRAFT_ESHUTDOWN, 0, write);
        zframe_destroy (&entry.routing_id);
    }
    for (uint32_t i = 0; i < ZR_BUSEND_SUBS_MAX; i++)
        if (self->subs [i].state != S_FREE)
            s_sub_free (self, &self->subs [i]);
    zhashx_purge (self->sessions);
    self->due = 0;
}
