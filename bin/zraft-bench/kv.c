/*  =========================================================================
    kv - zraft-bench --kv: load on a running zraft-node cluster through
    its client endpoint (see kv.h)

    One thread drives every DEALER with zmq_poll. A request's id is
    (serial << S_SLOT_BITS) | slot: a reply names its slot, and one whose
    id is not the slot's current request (a late reply to a request
    that timed out) is dropped. Invariants:
    1. A slot has at most one request in flight (request_id != 0 then),
       always on the same DEALER (slot mod N).
    2. A slot's session sends seqs 1, 2, ... one at a time; a BUSY retry
       resends the same seq.
    3. The load ends when the window closed and no slot is in flight, or
       at the first request without a reply after --timeout ms (then the
       run fails: the cluster stalled or lost its leader).
    =========================================================================
*/
#include "bench.h"
#include "kv.h"
#include "../../transport/client.h"
#include "../lib/link.h"
#include "../lib/endpoint.h"

#define S_SLOT_BITS 20                  /* request_id = serial | slot */
#define S_INFLIGHT_MAX 65536u           /* --inflight bound (< 2^S_SLOT_BITS) */
#define S_CLIENTS_MAX 256u              /* --clients bound */
#define S_CLIENTS_DEFAULT 16u           /* --clients: min(W, this) */
#define S_KEYS_MAX 10000000u            /* --keys bound (8 digits) */
#define S_KEY_BYTES 13                  /* "key-%08u" and its NUL */
#define S_ENDPOINTS_MAX ZB_KV_ENDPOINTS_MAX
#define S_FILL_INFLIGHT 256u            /* a get run's fill: in flight */
#define S_LEADER_WAIT_MS 30000          /* find a leader within this */
#define S_STATUS_WAIT_MS 1000           /* one STATUS round */
#define S_BUSY_RETRY_US 1000            /* BUSY: retry after this */
#define S_SCAN_US 100000                /* timeout scan period */
#define S_POLL_MS 10                    /* longest poll */
#define S_ERROR_MAX 256                 /* first error, for people */
#define S_EX_USAGE 64

_Static_assert (S_INFLIGHT_MAX < (1u << S_SLOT_BITS), "slot fits its bits");
_Static_assert (S_FILL_INFLIGHT <= S_INFLIGHT_MAX, "fill fits the slots");
_Static_assert (ZR_CLIENT_ENDPOINT_MAX < ZB_KV_TEXT_MAX, "an endpoint fits");
_Static_assert (S_ERROR_MAX <= ZB_KV_TEXT_MAX, "the first error fits");

/* The flags of --kv. */
typedef struct {
    char *endpoints_text;               /* --endpoints, owned copy */
    const char *endpoints [S_ENDPOINTS_MAX];    /* into endpoints_text */
    uint32_t n_endpoints;
    uint32_t clients;                   /* DEALERs; 0 until defaulted */
    uint32_t inflight;                  /* requests in flight, W */
    double get_ratio;                   /* 0..1: share of GETs */
    uint32_t value_size;                /* PUT value bytes */
    uint32_t keys;                      /* distinct keys */
    uint32_t duration_s, warmup_s;      /* measured, unmeasured first */
    uint32_t timeout_ms;                /* a request's reply, at most */
    bool stale;                         /* GETs with stale=true */
    bool json;                          /* one JSON object */
} s_opts_t;

/* One request slot. */
typedef struct {
    uint64_t client_id;                 /* its session, unique in the run */
    uint64_t seq;                       /* last seq sent (0: none yet) */
    uint64_t request_id;                /* in flight; 0 = idle */
    int64_t sent_us;                    /* first try's send time */
    int64_t retry_us;                   /* BUSY: resend at; 0 = none */
    uint32_t key;                       /* its key's index */
    bool get;                           /* GET, else PUT */
} s_slot_t;

typedef enum { S_FILL, S_LOAD } s_phase_t;

typedef struct {
    zb_kv_params_t opts;                /* what to do */
    bool json;                          /* --json (the report) */
    zb_kv_tick_fn *tick;                /* called each loop; may be NULL */
    void *tick_arg;
    bool ticked_out;                    /* tick stopped the load */
    zsock_t *dealers [S_CLIENTS_MAX];   /* to the leader, N of them */
    zmq_pollitem_t items [S_CLIENTS_MAX];
    s_slot_t *slots;                    /* max (W, fill) of them */
    uint32_t n_slots;
    uint8_t *value;                     /* value_size bytes */
    zr_histogram_t *hist;               /* latencies in the window, us;
                                           the caller's */
    char leader [ZR_CLIENT_ENDPOINT_MAX + 1];
    zb_kv_probed_t probed;              /* endpoints that cannot read us */
    char hint [ZR_CLIENT_ENDPOINT_MAX + 1]; /* the leader's client endpoint
                                           a follower named, not among
                                           --endpoints; "" none */
    uint64_t serial;                    /* request ids, from 1 */
    uint64_t rng;                       /* xorshift64 state */
    s_phase_t phase;
    uint32_t active;                    /* slots in use this phase */
    uint32_t inflight;                  /* slots with a request out */
    uint64_t fill_next;                 /* fill: next key to write */
    int64_t from_us, until_us;          /* the measured window */
    uint64_t ops, puts, gets;           /* completed in the window */
    uint64_t errors, busy;              /* in the whole load */
    uint64_t done;                      /* completed OK, every phase */
    uint64_t last_index;                /* highest index a write's reply
                                           named */
    bool stalled;                       /* a request timed out */
    bool ran;                           /* the load ran without error */
    char first_error [S_ERROR_MAX];
} s_kv_t;


/* --------------------------------------------------------------------------
 * Flags */

void
zb_kv_usage (FILE *out)
{
    fprintf (out,
        "usage: zraft-bench --kv --endpoints E1,E2,.. [flags]\n"
        "Loads a running zraft-node cluster through its client endpoint"
        " (the client\nprotocol): finds the leader by STATUS (among the"
        " endpoints, or the one a\nfollower names), opens N DEALERs to it"
        " and keeps W requests in flight,\npipelined, W/N per DEALER, each"
        " slot with its own session.\n"
        "  --endpoints LIST   client endpoints, comma separated, at most %u"
        " (required);\n"
        "                     one that answers in another protocol (a peer"
        " or bus\n"
        "                     endpoint) is named and left out\n"
        "  --inflight W       requests in flight, 1..%u (default 64)\n"
        "  --clients N        DEALERs (connections), 1..min(W, %u)"
        " (default min(W, %u))\n"
        "  --get-ratio R      share of GETs (linearizable), 0..1 (default 0:"
        " all PUTs);\n"
        "                     with R > 0 every key is written once first,"
        " unmeasured\n"
        "  --value-size B     PUT value bytes, 0..%u (default 128)\n"
        "  --keys K           distinct keys \"key-%%08u\", picked at random,"
        " 1..%u\n"
        "                     (default 10000)\n"
        "  --duration S       measured seconds, 1..3600 (default 5)\n"
        "  --warmup S         seconds loaded before measuring, 0..600"
        " (default 1)\n"
        "  --stale            GETs with stale=true (the leader's state as it"
        " is, no\n"
        "                     ReadIndex): not linearizable; shows what the"
        " ReadIndex costs\n"
        "  --timeout MS       a request without a reply this long fails the"
        " run,\n"
        "                     100..600000 (default 10000)\n"
        "  --json             one JSON object: impl op get_ratio inflight"
        " clients\n"
        "                     value_size keys duration_s ops puts gets"
        " ops_per_s mb_per_s\n"
        "                     latency_ms{min p50 p90 p99 p999 max avg"
        " stddev} errors busy\n"
        "                     leader stale (op: put, get or mix; latencies"
        " null without\n"
        "                     samples)\n"
        "Exit: 0 ok, 1 no leader or a request failed or timed out, 64 bad"
        " flag,\n130 interrupted.\n",
        S_ENDPOINTS_MAX, S_INFLIGHT_MAX, S_CLIENTS_MAX, S_CLIENTS_DEFAULT,
        ZR_CLIENT_VALUE_MAX, S_KEYS_MAX);
}

bool
zb_kv_wanted (int argc, char *argv [])
{
    return zb_argv_has (argc, argv, "--kv");
}

/* Parses text as an integer in min..max into *value; see kv.h. */
int
zb_kv_uint_parse (const char *flag, const char *text, uint32_t min,
                  uint32_t max, uint32_t *value)
{
    bool ok = text && *text >= '0' && *text <= '9';
    unsigned long long v = 0;
    if (ok) {
        char *end = NULL;
        errno = 0;
        v = strtoull (text, &end, 10);
        ok = errno == 0 && *end == 0 && v >= min && v <= max;
    }
    if (!ok) {
        fprintf (stderr, "zraft-bench: %s must be an integer in %u..%u"
                 " (got '%s')\n", flag, min, max, text ? text : "nothing");
        return -1;
    }
    *value = (uint32_t) v;
    return 0;
}

/* Parses --get-ratio: digits with at most one '.', in 0..1. */
static int
s_opts_ratio (const char *text, double *ratio)
{
    const char *at = text;
    size_t digits = 0;
    for (; at && *at >= '0' && *at <= '9'; at++)
        digits++;
    if (at && *at == '.')
        for (at++; *at >= '0' && *at <= '9'; at++)
            digits++;
    double v = at && digits && *at == 0 ? strtod (text, NULL) : -1;
    if (v < 0 || v > 1) {
        fprintf (stderr, "zraft-bench: --get-ratio must be a number in"
                 " 0..1, e.g. 0.5 (got '%s')\n", text ? text : "nothing");
        return -1;
    }
    *ratio = v;
    return 0;
}

/* The flag's name of arg ("--flag" or "--flag=value"); see kv.h. */
const char *
zb_kv_flag_name (const char *arg, char *name, size_t size)
{
    const char *eq = strchr (arg, '=');
    snprintf (name, size, "%.*s",
              (int) (eq ? (size_t) (eq - arg) : strlen (arg)), arg);
    return eq ? eq + 1 : NULL;
}

/* An answer that says its endpoint cannot read us; see kv.h. */
bool
zb_kv_probe_note (zb_kv_probed_t *probed, const char *const *endpoints,
                  uint32_t n, uint32_t e, const void *data, size_t size, bool bus)
{
    assert (probed && endpoints && e < n && n <= ZB_KV_ENDPOINTS_MAX);
    char why [ZR_CLIENT_MESSAGE_MAX + 128];
    if (!probed->wrong [e]
        && zr_link_unreadable (data, size, bus, false, why, sizeof why)) {
        probed->wrong [e] = true;
        probed->n_wrong++;
        fprintf (stderr, "zraft-bench: %s %s\n", endpoints [e], why);
    }
    return probed->n_wrong == n;
}

/* Splits an --endpoints list; see kv.h. */
int
zb_kv_endpoints_parse (const char *text, char **copy, const char **endpoints,
                       uint32_t *n)
{
    if (*copy) {
        fprintf (stderr, "zraft-bench: --endpoints is given twice\n");
        return -1;
    }
    *copy = strdup (text ? text : "");
    *n = 0;
    if (!*copy)
        return -1;
    char *save = NULL;
    for (char *e = strtok_r (*copy, ",", &save); e;
         e = strtok_r (NULL, ",", &save)) {
        if (*n == S_ENDPOINTS_MAX || strlen (e) > ZR_CLIENT_ENDPOINT_MAX) {
            fprintf (stderr, "zraft-bench: --endpoints takes at most %u"
                     " endpoints of at most %u characters\n",
                     S_ENDPOINTS_MAX, ZR_CLIENT_ENDPOINT_MAX);
            return -1;
        }
        bool wildcard = false;
        if (!zr_endpoint_tcp_valid (e, ZR_CLIENT_ENDPOINT_MAX, &wildcard) || wildcard) {
            fprintf (stderr, "zraft-bench: --endpoints: '%s' is not tcp://HOST:PORT"
                     " (a port 1..65535, a host that is no wildcard)\n", e);
            return -1;
        }
        endpoints [(*n)++] = e;
    }
    if (*n == 0) {
        fprintf (stderr, "zraft-bench: --endpoints must name at least one"
                 " endpoint, e.g. tcp://127.0.0.1:2379\n");
        return -1;
    }
    return 0;
}

/* Sets flag name from value. Returns 0, 1 if name is no kv flag, or -1
   after a message. */
static int
s_opts_set (s_opts_t *o, const char *name, const char *value)
{
    if (streq (name, "--endpoints"))
        return zb_kv_endpoints_parse (value, &o->endpoints_text, o->endpoints,
                                      &o->n_endpoints);
    if (streq (name, "--get-ratio"))
        return s_opts_ratio (value, &o->get_ratio);
    if (streq (name, "--inflight"))
        return zb_kv_uint_parse (name, value, 1, S_INFLIGHT_MAX, &o->inflight);
    if (streq (name, "--clients"))
        return zb_kv_uint_parse (name, value, 1, S_CLIENTS_MAX, &o->clients);
    if (streq (name, "--value-size"))
        return zb_kv_uint_parse (name, value, 0, ZR_CLIENT_VALUE_MAX,
                            &o->value_size);
    if (streq (name, "--keys"))
        return zb_kv_uint_parse (name, value, 1, S_KEYS_MAX, &o->keys);
    if (streq (name, "--duration"))
        return zb_kv_uint_parse (name, value, 1, 3600, &o->duration_s);
    if (streq (name, "--warmup"))
        return zb_kv_uint_parse (name, value, 0, 600, &o->warmup_s);
    if (streq (name, "--timeout"))
        return zb_kv_uint_parse (name, value, 100, 600000, &o->timeout_ms);
    return 1;
}

/* Parses argv. Returns 0 to run, 1 after --help, -1 after a message. */
static int
s_opts_parse (s_opts_t *o, int argc, char *argv [])
{
    *o = (s_opts_t) {.inflight = 64, .value_size = 128, .keys = 10000,
                     .duration_s = 5, .warmup_s = 1, .timeout_ms = 10000};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        char name [64];
        const char *eq = zb_kv_flag_name (arg, name, sizeof name);
        if (streq (name, "--help") || streq (name, "-h"))
            return 1;
        if ((streq (name, "--kv") || streq (name, "--json")
             || streq (name, "--stale")) && !eq) {
            o->json |= streq (name, "--json");
            o->stale |= streq (name, "--stale");
            continue;
        }
        const char *value = eq ? eq : i + 1 < argc ? argv [++i] : NULL;
        int rc = s_opts_set (o, name, value);
        if (rc > 0)
            fprintf (stderr, "zraft-bench: '%s' is no --kv flag (see"
                     " zraft-bench --kv --help)\n", arg);
        if (rc)
            return -1;
    }
    if (!o->n_endpoints) {
        fprintf (stderr, "zraft-bench: --kv needs --endpoints\n");
        return -1;
    }
    if (!o->clients)
        o->clients = o->inflight < S_CLIENTS_DEFAULT ? o->inflight
                                                     : S_CLIENTS_DEFAULT;
    if (o->clients > o->inflight) {
        fprintf (stderr, "zraft-bench: --clients must be in 1..%u (at most"
                 " --inflight; got '%u')\n", o->inflight, o->clients);
        return -1;
    }
    return 0;
}


/* --------------------------------------------------------------------------
 * Requests */

static uint64_t
s_random (s_kv_t *self)
{
    uint64_t x = self->rng;             /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    return x;
}

static const char *
s_op_name (const zb_kv_params_t *o)
{
    return o->get_ratio <= 0 ? "put" : o->get_ratio >= 1 ? "get" : "mix";
}

/* Sends slot's current request (a new try with a new request_id) on its
   DEALER. Returns 0, or -1 if it cannot be encoded or sent. */
static int
s_send (s_kv_t *self, uint32_t slot)
{
    s_slot_t *s = &self->slots [slot];
    char key [S_KEY_BYTES];
    snprintf (key, sizeof key, "key-%08u", s->key);
    zr_client_request_t request = {
        .type = s->get ? ZR_CLIENT_GET : ZR_CLIENT_PUT,
        .request_id = (++self->serial << S_SLOT_BITS) | slot,
        .client_id = s->client_id, .seq = s->seq,
        .stale = s->get && self->opts.stale,
        .key = {(const uint8_t *) key, strlen (key)},
        .value = {self->value, self->opts.value_size}};
    uint8_t *data = NULL;
    size_t size = 0;
    if (zr_client_request_encode (&request, &data, &size))
        return -1;
    zsock_t *dealer = self->dealers [slot % self->opts.clients];
    int rc = zmq_send (zsock_resolve (dealer), data, size, 0);
    free (data);
    if (rc < 0)
        return -1;
    if (!s->request_id)
        self->inflight++;
    s->request_id = request.request_id;
    s->retry_us = 0;
    return 0;
}

/* Starts slot's next request, if the phase has one. Returns 0, or -1
   when a request cannot be sent. */
static int
s_issue (s_kv_t *self, uint32_t slot, int64_t now)
{
    s_slot_t *s = &self->slots [slot];
    assert (!s->request_id);
    if (self->phase == S_FILL) {
        if (self->fill_next >= self->opts.keys)
            return 0;
        s->key = (uint32_t) self->fill_next++;
        s->get = false;
    }
    else {
        if (now >= self->until_us || zb_interrupted)
            return 0;
        s->key = (uint32_t) (s_random (self) % self->opts.keys);
        s->get = (double) (s_random (self) >> 11) * 0x1.0p-53
                 < self->opts.get_ratio;
    }
    if (!s->get)
        s->seq++;
    s->sent_us = now;
    return s_send (self, slot);
}

/* Counts a completed request of slot (OK at now). */
static void
s_done (s_kv_t *self, s_slot_t *s, int64_t now)
{
    if (self->phase != S_LOAD || now < self->from_us
        || now >= self->until_us)
        return;
    self->ops++;
    if (s->get)
        self->gets++;
    else
        self->puts++;
    zr_histogram_record (self->hist, (uint64_t) (now - s->sent_us));
}

/* Handles one reply frame. Returns 0, or -1 if the next request could
   not be sent. */
static int
s_on_reply (s_kv_t *self, const uint8_t *data, size_t size, int64_t now)
{
    zr_client_reply_t reply;
    if (zr_client_reply_decode (data, size, &reply)) {
        ZB_ERROR (self, "a reply did not decode (%zu B)", size);
        return 0;
    }
    uint32_t slot = (uint32_t) (reply.request_id & ((1u << S_SLOT_BITS) - 1));
    if (slot >= self->active || !reply.request_id
        || self->slots [slot].request_id != reply.request_id)
        return 0;                       /* late: that try timed out */
    s_slot_t *s = &self->slots [slot];
    if (reply.code == ZR_CLIENT_BUSY) {
        self->busy++;
        s->retry_us = now + S_BUSY_RETRY_US;
        return 0;
    }
    s->request_id = 0;
    self->inflight--;
    if (reply.code != ZR_CLIENT_OK)
        ZB_ERROR (self, "%s %s: %.*s", zr_client_type_name (reply.type),
                 zr_client_code_name ((int) reply.code),
                 (int) reply.message.size, (const char *) reply.message.data);
    else
    if (s->get && (!reply.found || reply.value.size != self->opts.value_size))
        ZB_ERROR (self, "GET key-%08u: %s", s->key,
                 reply.found ? "a value of another size" : "not found");
    else {
        self->done++;
        if (!s->get && reply.index > self->last_index)
            self->last_index = reply.index;
        s_done (self, s, now);
    }
    return s_issue (self, slot, now);
}

/* Reads every reply waiting on dealer. Returns 0 or -1 (send failed). */
static int
s_drain (s_kv_t *self, zsock_t *dealer)
{
    void *handle = zsock_resolve (dealer);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    int rc = 0;
    while (rc == 0 && zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_more (&msg)) {      /* not the protocol's shape */
            ZB_ERROR (self, "a reply of more than one frame");
            while (zmq_msg_more (&msg)
                   && zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) >= 0)
                ;
            continue;
        }
        rc = s_on_reply (self, zmq_msg_data (&msg), zmq_msg_size (&msg),
                         zb_now_us ());
    }
    zmq_msg_close (&msg);
    return rc;
}

/* Resends the BUSY slots whose time came; fails the run on a request
   older than the timeout. Returns 0 or -1. */
static int
s_scan (s_kv_t *self, int64_t now, bool timeouts)
{
    int64_t timeout_us = (int64_t) self->opts.timeout_ms * 1000;
    for (uint32_t i = 0; i < self->active; i++) {
        s_slot_t *s = &self->slots [i];
        if (!s->request_id)
            continue;
        if (timeouts && now - s->sent_us > timeout_us) {
            ZB_ERROR (self, "no reply within %u ms (key-%08u)",
                     self->opts.timeout_ms, s->key);
            self->stalled = true;
            return -1;
        }
        if (s->retry_us && now >= s->retry_us && s_send (self, i))
            return -1;
    }
    return 0;
}

/* Runs a phase on the first active slots until every request issued
   completed. Returns 0, or -1 (stalled, send failed, interrupted). */
static int
s_phase_run (s_kv_t *self, s_phase_t phase, uint32_t active)
{
    assert (active >= 1 && active <= self->n_slots);
    self->phase = phase;
    self->active = active;
    int64_t now = zb_now_us ();
    for (uint32_t i = 0; i < active; i++)
        if (s_issue (self, i, now))
            return -1;
    int64_t scanned = now;
    while (self->inflight > 0 && !zb_interrupted) {
        int n = zmq_poll (self->items, (int) self->opts.clients, S_POLL_MS);
        if (n < 0 && errno != EINTR)
            return -1;
        for (uint32_t c = 0; n > 0 && c < self->opts.clients; c++)
            if ((self->items [c].revents & ZMQ_POLLIN)
                && s_drain (self, self->dealers [c]))
                return -1;
        now = zb_now_us ();
        if (self->tick && self->tick (self->tick_arg, now, self->phase
                                      == S_LOAD ? self->from_us : 0,
                                      self->until_us, self->done)) {
            self->ticked_out = true;
            return -1;
        }
        bool timeouts = now - scanned >= S_SCAN_US;
        if (self->busy || timeouts) {
            if (s_scan (self, now, timeouts))
                return -1;
            scanned = timeouts ? now : scanned;
        }
    }
    return zb_interrupted ? -1 : 0;
}


/* --------------------------------------------------------------------------
 * The leader and the connections */

/* Notes the leader's client endpoint that a follower's STATUS reply
   names, if it is none of --endpoints: the next round asks it too. */
static void
s_leader_hint (s_kv_t *self, const zr_client_reply_t *reply)
{
    const zb_kv_params_t *o = &self->opts;
    for (uint32_t m = 0; reply->leader && m < reply->n_members; m++) {
        const zr_client_member_t *member = &reply->members [m];
        if (member->id != reply->leader || member->client_endpoint.size == 0
            || member->client_endpoint.size > ZR_CLIENT_ENDPOINT_MAX)
            continue;
        char endpoint [ZR_CLIENT_ENDPOINT_MAX + 1];
        memcpy (endpoint, member->client_endpoint.data, member->client_endpoint.size);
        endpoint [member->client_endpoint.size] = 0;
        bool listed = false;
        for (uint32_t e = 0; e < o->n_endpoints && !listed; e++)
            listed = streq (o->endpoints [e], endpoint);
        if (!listed && zr_endpoint_tcp_valid (endpoint, ZR_CLIENT_ENDPOINT_MAX, NULL))
            memcpy (self->hint, endpoint, sizeof endpoint);
    }
}

/* Sends STATUS to every endpoint (and to the leader a follower named
   last round, if none of them) and waits up to S_STATUS_WAIT_MS for the
   one that says it leads. Returns true with self->leader set. */
static bool
s_leader_round (s_kv_t *self)
{
    const zb_kv_params_t *o = &self->opts;
    const char *names [S_ENDPOINTS_MAX + 1];
    uint32_t n = o->n_endpoints;
    for (uint32_t e = 0; e < n; e++)
        names [e] = o->endpoints [e];
    if (self->hint [0])
        names [n++] = self->hint;
    zsock_t *probes [S_ENDPOINTS_MAX + 1] = {NULL};
    zpoller_t *poller = zpoller_new (NULL);
    bool found = false;
    for (uint32_t e = 0; poller && e < n; e++) {
        probes [e] = zsock_new (ZMQ_DEALER);
        if (!probes [e])
            break;
        zsock_set_linger (probes [e], 0);
        zr_client_request_t request = {.type = ZR_CLIENT_STATUS,
                                       .request_id = e + 1};
        uint8_t *data = NULL;
        size_t size = 0;
        if (zsock_connect (probes [e], "%s", names [e]) == 0
            && zr_client_request_encode (&request, &data, &size) == 0)
            zmq_send (zsock_resolve (probes [e]), data, size, ZMQ_DONTWAIT);
        free (data);
        zpoller_add (poller, probes [e]);
    }
    int64_t deadline = zclock_mono () + S_STATUS_WAIT_MS;
    while (poller && !found && !zb_interrupted) {
        int64_t left = deadline - zclock_mono ();
        zsock_t *which = left > 0 ? zpoller_wait (poller, (int) left) : NULL;
        if (!which)
            break;
        zframe_t *frame = zframe_recv (which);
        uint32_t e = 0;
        while (e < n && probes [e] != which)
            e++;
        assert (e < n);                 /* the poller holds probes only */
        zr_client_reply_t reply;
        if (frame && e < o->n_endpoints
            && zb_kv_probe_note (&self->probed, o->endpoints, o->n_endpoints,
                                 e, zframe_data (frame), zframe_size (frame),
                                 false)) {
            zframe_destroy (&frame);
            break;                      /* every one cannot read us */
        }
        if (frame && zr_client_reply_decode (zframe_data (frame),
                                             zframe_size (frame), &reply) == 0
            && reply.type == ZR_CLIENT_STATUS && reply.code == ZR_CLIENT_OK
            && reply.request_id == e + 1) {
            if (reply.role == 2) {
                snprintf (self->leader, sizeof self->leader, "%s", names [e]);
                found = true;
            }
            else
                s_leader_hint (self, &reply);
        }
        zframe_destroy (&frame);
    }
    zpoller_destroy (&poller);
    for (uint32_t e = 0; e < n; e++)
        zsock_destroy (&probes [e]);
    return found;
}

/* Finds the leader, retrying for S_LEADER_WAIT_MS. Returns 0 or -1
   after a message. */
static int
s_leader_find (s_kv_t *self)
{
    int64_t deadline = zclock_mono () + S_LEADER_WAIT_MS;
    while (!zb_interrupted && zclock_mono () < deadline
           && self->probed.n_wrong < self->opts.n_endpoints)
        if (s_leader_round (self))
            return 0;
    if (self->probed.n_wrong == self->opts.n_endpoints)
        fprintf (stderr, "zraft-bench: no endpoint of --endpoints is a client"
                 " endpoint (above)\n");
    else
    if (!zb_interrupted)
        fprintf (stderr, "zraft-bench: no server of --endpoints says it"
                 " leads within %d s\n", S_LEADER_WAIT_MS / 1000);
    return -1;
}

/* Opens the N DEALERs to the leader. Returns 0 or -1. */
static int
s_connect (s_kv_t *self)
{
    uint32_t per = (self->n_slots + self->opts.clients - 1)
                   / self->opts.clients;
    for (uint32_t c = 0; c < self->opts.clients; c++) {
        zsock_t *d = zsock_new (ZMQ_DEALER);
        self->dealers [c] = d;
        if (!d)
            return -1;
        zsock_set_linger (d, 0);
        zsock_set_sndhwm (d, (int) per + 16);
        zsock_set_rcvhwm (d, (int) per + 16);
        zsock_set_maxmsgsize (d, (int) ZR_CLIENT_FRAME_MAX);
        if (zsock_connect (d, "%s", self->leader)) {
            fprintf (stderr, "zraft-bench: cannot connect to %s\n",
                     self->leader);
            return -1;
        }
        self->items [c] = (zmq_pollitem_t) {zsock_resolve (d), 0,
                                            ZMQ_POLLIN, 0};
    }
    return 0;
}


/* --------------------------------------------------------------------------
 * Report */

static void
s_ms_text (char *buf, size_t size, const zr_histogram_t *h, double us)
{
    if (zr_histogram_count (h))
        snprintf (buf, size, "%.3f", us / 1000.0);
    else
        snprintf (buf, size, "null");
}

static void
s_report (const s_kv_t *self)
{
    const zb_kv_params_t *o = &self->opts;
    const zr_histogram_t *h = self->hist;
    double secs = o->duration_s;
    double ops = (double) self->ops / secs;
    char v [8][32];
    s_ms_text (v [0], 32, h, (double) zr_histogram_min (h));
    s_ms_text (v [1], 32, h, (double) zr_histogram_value_at_percentile (h, 50));
    s_ms_text (v [2], 32, h, (double) zr_histogram_value_at_percentile (h, 90));
    s_ms_text (v [3], 32, h, (double) zr_histogram_value_at_percentile (h, 99));
    s_ms_text (v [4], 32, h,
               (double) zr_histogram_value_at_percentile (h, 99.9));
    s_ms_text (v [5], 32, h, (double) zr_histogram_max (h));
    s_ms_text (v [6], 32, h, zr_histogram_mean (h));
    s_ms_text (v [7], 32, h, zr_histogram_stddev (h));
    if (self->json)
        printf ("{\"impl\":\"zraft\",\"op\":\"%s\",\"get_ratio\":%g,"
                "\"inflight\":%u,\"clients\":%u,\"value_size\":%u,\"keys\":%u,"
                "\"duration_s\":%.3f,\"ops\":%" PRIu64 ",\"puts\":%" PRIu64
                ",\"gets\":%" PRIu64 ",\"ops_per_s\":%.1f,\"mb_per_s\":%.3f,"
                "\"latency_ms\":{\"min\":%s,\"p50\":%s,\"p90\":%s,\"p99\":%s,"
                "\"p999\":%s,\"max\":%s,\"avg\":%s,\"stddev\":%s},"
                "\"errors\":%" PRIu64 ",\"busy\":%" PRIu64 ",\"leader\":\"%s\","
                "\"stale\":%s}\n",
                s_op_name (o), o->get_ratio, o->inflight, o->clients,
                o->value_size, o->keys, secs, self->ops, self->puts,
                self->gets, ops, ops * o->value_size / 1e6, v [0], v [1],
                v [2], v [3], v [4], v [5], v [6], v [7], self->errors,
                self->busy, self->leader, o->stale ? "true" : "false");
    else {
        printf ("zraft %s: W=%u over %u clients to %s, %u B values, %u keys,"
                " get ratio %g%s\n", s_op_name (o), o->inflight, o->clients,
                self->leader, o->value_size, o->keys, o->get_ratio,
                o->stale ? ", stale gets" : "");
        printf ("  %" PRIu64 " ops (%" PRIu64 " puts, %" PRIu64 " gets) in"
                " %.0f s: %.1f ops/s, %.3f MB/s\n", self->ops, self->puts,
                self->gets, secs, ops, ops * o->value_size / 1e6);
        printf ("  latency ms: min %s p50 %s p90 %s p99 %s p99.9 %s max %s"
                " avg %s stddev %s\n", v [0], v [1], v [2], v [3], v [4],
                v [5], v [6], v [7]);
        printf ("  errors: %" PRIu64 ", busy retries: %" PRIu64 "\n",
                self->errors, self->busy);
    }
    fflush (stdout);
}


/* --------------------------------------------------------------------------
 * Main */

/* Allocates what the run needs. Returns 0 or -1. */
static int
s_kv_init (s_kv_t *self)
{
    const zb_kv_params_t *o = &self->opts;
    self->n_slots = o->inflight;
    if (o->get_ratio > 0 && self->n_slots < S_FILL_INFLIGHT)
        self->n_slots = S_FILL_INFLIGHT;
    self->slots = calloc (self->n_slots, sizeof *self->slots);
    self->value = malloc (o->value_size ? o->value_size : 1);
    if (!self->slots || !self->value)
        return -1;
    memset (self->value, 'v', o->value_size ? o->value_size : 1);
    uint64_t base = ((uint64_t) getpid () << 40) ^ (uint64_t) zb_now_us ();
    base &= (UINT64_C (1) << 62) - 1;
    for (uint32_t i = 0; i < self->n_slots; i++)
        self->slots [i].client_id = base + i + 1;
    self->rng = base | 1;
    return 0;
}

static void
s_kv_free (s_kv_t *self)
{
    for (uint32_t c = 0; c < S_CLIENTS_MAX; c++)
        zsock_destroy (&self->dealers [c]);
    free (self->slots);
    free (self->value);
}

/* Fill (get runs), then the measured load. Returns the exit code. */
static int
s_kv_run (s_kv_t *self)
{
    const zb_kv_params_t *o = &self->opts;
    if (s_leader_find (self) || s_connect (self))
        return zb_interrupted ? ZB_EX_INTERRUPTED : 1;
    int rc = 0;
    if (o->get_ratio > 0)
        rc = s_phase_run (self, S_FILL, self->n_slots);
    if (rc == 0 && self->errors == 0) {
        self->busy = 0;
        self->from_us = zb_now_us () + (int64_t) o->warmup_s * 1000000;
        self->until_us = self->from_us + (int64_t) o->duration_s * 1000000;
        rc = s_phase_run (self, S_LOAD, o->inflight);
    }
    if (zb_interrupted)
        return ZB_EX_INTERRUPTED;
    if (self->ticked_out)
        return 1;                       /* the tick said why */
    if (rc || self->errors) {
        fprintf (stderr, "zraft-bench: %s%" PRIu64 " request(s) failed;"
                 " first: %s\n", self->phase == S_FILL ? "fill: " : "",
                 self->errors, *self->first_error ? self->first_error
                                                  : "a send failed");
        return 1;
    }
    self->ran = true;
    return self->ops ? 0 : 1;
}

/* Runs a load with params on a running cluster; see kv.h. */
int
zb_kv_load (const zb_kv_params_t *params, zr_histogram_t *hist,
            zb_kv_tick_fn *tick, void *arg, zb_kv_figures_t *figures)
{
    assert (params && hist && figures);
    assert (params->n_endpoints >= 1
            && params->n_endpoints <= S_ENDPOINTS_MAX);
    assert (params->inflight >= 1 && params->inflight <= S_INFLIGHT_MAX);
    assert (params->clients >= 1 && params->clients <= params->inflight
            && params->clients <= S_CLIENTS_MAX);
    assert (params->keys >= 1 && params->value_size <= ZR_CLIENT_VALUE_MAX);
    s_kv_t *self = (s_kv_t *) calloc (1, sizeof *self);
    if (!self) {
        fprintf (stderr, "zraft-bench: out of memory\n");
        return 1;
    }
    self->opts = *params;
    self->hist = hist;
    self->tick = tick;
    self->tick_arg = arg;
    int rc = 1;
    if (s_kv_init (self))
        fprintf (stderr, "zraft-bench: out of memory\n");
    else
        rc = s_kv_run (self);
    *figures = (zb_kv_figures_t) {
        .ops = self->ops, .puts = self->puts, .gets = self->gets,
        .errors = self->errors, .busy = self->busy,
        .last_index = self->last_index, .from_us = self->from_us,
        .until_us = self->until_us};
    snprintf (figures->leader, sizeof figures->leader, "%s", self->leader);
    snprintf (figures->first_error, sizeof figures->first_error, "%s",
              self->first_error);
    s_kv_free (self);
    free (self);
    return rc;
}

int
zb_kv_main (int argc, char *argv [])
{
    s_opts_t o;
    int rc = s_opts_parse (&o, argc, argv);
    if (rc) {
        free (o.endpoints_text);
        if (rc > 0)
            zb_kv_usage (stdout);
        return rc > 0 ? 0 : S_EX_USAGE;
    }
    zb_signals_block (true);            /* ZeroMQ's threads: no signals */
    zsys_init ();
    zb_signals_block (false);
    zsys_handler_set (zb_signal_cb);
    zsys_set_logident ("zraft-bench");
    zsys_set_logstream (stderr);
    s_kv_t self = {.json = o.json};
    zb_kv_params_t *p = &self.opts;
    *p = (zb_kv_params_t) {.n_endpoints = o.n_endpoints,
        .clients = o.clients, .inflight = o.inflight,
        .get_ratio = o.get_ratio, .value_size = o.value_size, .keys = o.keys,
        .duration_s = o.duration_s, .warmup_s = o.warmup_s,
        .timeout_ms = o.timeout_ms, .stale = o.stale};
    memcpy (p->endpoints, o.endpoints, sizeof p->endpoints);
    self.hist = zr_histogram_new ();
    if (!self.hist || s_kv_init (&self)) {
        fprintf (stderr, "zraft-bench: out of memory\n");
        rc = 1;
    }
    else
        rc = s_kv_run (&self);
    if (self.ran)
        s_report (&self);               /* even with nothing done (exit 1) */
    s_kv_free (&self);
    zr_histogram_destroy (&self.hist);
    free (o.endpoints_text);
    if (rc == ZB_EX_INTERRUPTED)
        fprintf (stderr, "zraft-bench: interrupted\n");
    return rc;
}
