/*  =========================================================================
    peer - the sockets that carry RPCs between servers (see peer.h)
    =========================================================================
*/
#include "transport.h"

static void
s_set_limits (zsock_t *sock)
{
    zsock_set_maxmsgsize (sock, (int) ZR_FRAME_BYTES_MAX + 1024);
    zsock_set_sndhwm (sock, ZR_PEER_HWM);
    zsock_set_rcvhwm (sock, ZR_PEER_HWM);
    zsock_set_linger (sock, ZR_PEER_LINGER_MS);
    zsock_set_sndtimeo (sock, 0);
}

zsock_t *
zr_peer_router_new (const char *endpoint)
{
    zr_assert (endpoint);
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock)
        return NULL;
    s_set_limits (sock);
    zsock_set_router_mandatory (sock, 1);
    /* A peer's DEALER that reconnects (its connection broke, as it saw
       it) may come back before this side noticed the old connection
       died: let the new one take the route. Only one process has an
       identity (peer.h, Identities), so no other process can take it. */
    zsock_set_router_handover (sock, 1);
    /* This side never writes to its peers' connections, so one whose
       host went away without a word (power, a crash) would stay open:
       the kernel's keepalive probes find and close it. Not ZMTP
       heartbeats: their timeout runs until a whole message arrives, so
       a large frame on a slow link, or a queue the node has not
       drained, would close a healthy link. */
    zsock_set_tcp_keepalive (sock, 1);
    zsock_set_tcp_keepalive_idle (sock, ZR_PEER_KEEPALIVE_IDLE_S);
    zsock_set_tcp_keepalive_intvl (sock, ZR_PEER_KEEPALIVE_INTVL_S);
    zsock_set_tcp_keepalive_cnt (sock, ZR_PEER_KEEPALIVE_CNT);
    int64_t deadline = zclock_mono () + ZR_PEER_BIND_RETRY_MS;
    int rc;
    while ((rc = zsock_bind (sock, "%s", endpoint)) < 0
           && zmq_errno () == EADDRINUSE && zclock_mono () < deadline)
        zclock_sleep (10);              /* back-off while it is released */
    if (rc < 0) {
        zr_error ("peer: cannot bind %s: %s", endpoint, zr_bind_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

uint64_t
zr_peer_cluster (const zr_id_t *ids, const char *const *endpoints, uint32_t n)
{
    zr_assert (ids && endpoints && n <= ZR_NODES_MAX);
    uint64_t hash = 14695981039346656037ULL;    /* FNV-1a 64 offset basis */
    zr_id_t after = 0;                  /* the last id hashed */
    for (uint32_t done = 0; done < n; done++) {
        uint32_t next = n;              /* the smallest id above `after` */
        for (uint32_t i = 0; i < n; i++)
            if (ids [i] > after && (next == n || ids [i] < ids [next]))
                next = i;
        zr_assert (next < n);           /* ids are distinct */
        after = ids [next];
        char line [16];
        snprintf (line, sizeof line, "%u=", ids [next]);
        const char *parts [] = {line, endpoints [next], "\n"};
        for (size_t p = 0; p < 3; p++)
            for (const char *c = parts [p]; *c; c++) {
                hash ^= (uint8_t) *c;
                hash *= 1099511628211ULL;       /* FNV-1a 64 prime */
            }
    }
    return hash;
}

const char *
zr_bind_strerror (int err)
{
    if (err == ENODEV)
        return "not an address of this machine (the host does not resolve,"
               " or to an address no interface here has)";
    if (err == EADDRNOTAVAIL)
        return "not an address of this machine (no interface here has it)";
    return zmq_strerror (err);
}

uint64_t
zr_random_id (void)
{
    zuuid_t *uuid = zuuid_new ();
    zr_assert (uuid);
    uint64_t id;
    memcpy (&id, zuuid_data (uuid), sizeof id);
    zuuid_destroy (&uuid);
    return id ? id : 1;
}

size_t
zr_peer_identity (char kind, const zr_peer_who_t *who, char *text)
{
    zr_assert (who && text);
    zr_assert (kind == 'n' || kind == 'r' || kind == 'd');
    zr_assert (who->id > 0 && who->id <= ZR_NODES_MAX);
    int len = snprintf (text, ZR_PEER_IDENTITY_MAX + 1, "%c%u-%016" PRIx64 "-%016" PRIx64,
                        kind, who->id, who->cluster, who->instance);
    zr_assert (len > 0 && len <= ZR_PEER_IDENTITY_MAX);
    return (size_t) len;
}

zsock_t *
zr_peer_dealer_new (char kind, const zr_peer_who_t *who, const char *endpoint)
{
    char identity [ZR_PEER_IDENTITY_MAX + 1];
    size_t len = zr_peer_identity (kind, who, identity);
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    int rc = zmq_setsockopt (zsock_resolve (sock), ZMQ_ROUTING_ID, identity, len);
    zr_assert (rc == 0);
    s_set_limits (sock);
    zsock_set_immediate (sock, 1);      /* queue only on live connections */
    zsock_set_reconnect_ivl (sock, 50);
    zsock_set_reconnect_ivl_max (sock, 1000);
    if (zsock_connect (sock, "%s", endpoint) < 0) {
        zr_error ("peer: cannot connect %s", endpoint);
        zsock_destroy (&sock);
    }
    return sock;
}

int
zr_peer_send (zsock_t *dealer, const void *data, size_t size)
{
    zr_assert (dealer && data);
    zr_assert (zsock_type (dealer) == ZMQ_DEALER);
    if (zmq_send (zsock_resolve (dealer), data, size, ZMQ_DONTWAIT) < 0)
        return ZR_EBUSY;
    return 0;
}

int
zr_peer_send_to (zsock_t *router, const void *routing, size_t routing_size,
                 const void *data, size_t size)
{
    zr_assert (data);
    return zr_peer_send_joined_to (router, routing, routing_size, data, size,
                                   NULL, 0);
}

int
zr_peer_send_joined_to (zsock_t *router, const void *routing,
                        size_t routing_size, const void *head,
                        size_t head_size, const void *data, size_t size)
{
    zr_assert (router && routing && routing_size > 0 && head && head_size > 0);
    zr_assert (data || size == 0);
    void *handle = zsock_resolve (router);
    if (zmq_send (handle, routing, routing_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return ZR_EBUSY;
    zmq_msg_t msg;
    int rc = zmq_msg_init_size (&msg, head_size + size);
    zr_assert (rc == 0);
    uint8_t *frame = (uint8_t *) zmq_msg_data (&msg);
    memcpy (frame, head, head_size);
    if (size)
        memcpy (frame + head_size, data, size);
    /* A ROUTER checked the peer's room at the first part: the rest of
       the message goes. */
    rc = zmq_msg_send (&msg, handle, ZMQ_DONTWAIT);
    zr_assert (rc == (int) (head_size + size));
    return 0;
}

_Static_assert (ZR_NODES_MAX <= 9, "identities hold a one-digit id");

zr_id_t
zr_peer_id_parse (const void *data, size_t size, char *kind, zr_peer_who_t *who)
{
    zr_assert (kind && who);
    const char *s = (const char *) data;
    /* "<kind><one digit>-<16 hex>-<16 hex>": ZR_NODES_MAX is one digit. */
    if (!s || size != ZR_PEER_IDENTITY_MAX
        || (s [0] != 'n' && s [0] != 'r' && s [0] != 'd')
        || s [1] < '1' || s [1] > '0' + ZR_NODES_MAX
        || s [2] != '-' || s [19] != '-'
        || !zr_hex16_parse (s + 3, &who->cluster)
        || !zr_hex16_parse (s + 20, &who->instance))
        return 0;
    *kind = s [0];
    who->id = (zr_id_t) (s [1] - '0');
    return who->id;
}

bool
zr_peer_id_legacy (const void *data, size_t size)
{
    const char *s = (const char *) data;
    return s && size == 2 && (s [0] == 'n' || s [0] == 'r' || s [0] == 'd')
           && s [1] >= '1' && s [1] <= '9';
}

int
zr_peer_stranger_answer (const uint8_t *frame, size_t frame_size,
                         const char *text, uint8_t **data, size_t *size)
{
    zr_assert (text && data && size);
    size_t length = strlen (text);
    zr_busmsg_t bus;
    if (frame && zr_busmsg_decode (frame, frame_size, &bus) == 0) {
        zr_busmsg_t error = {.type = ZR_BUSMSG_ERROR,
                             .code = ZR_BUSMSG_CODE_MALFORMED,
                             .text = {(const uint8_t *) text,
                                      length < ZR_BUSMSG_TEXT_MAX
                                      ? length : ZR_BUSMSG_TEXT_MAX}};
        return zr_busmsg_encode (&error, data, size);
    }
    zr_client_reply_t reply = {.code = ZR_CLIENT_MALFORMED,
                               .message = {(const uint8_t *) text,
                                           length < ZR_CLIENT_MESSAGE_MAX
                                           ? length : ZR_CLIENT_MESSAGE_MAX}};
    return zr_client_reply_encode (&reply, data, size);
}

bool
zr_peer_heard (zr_peer_heard_t *self, uint64_t instance, int64_t now,
               int64_t span_ms)
{
    zr_assert (self && self->n <= 2 && span_ms > 0);
    uint32_t i = 0;
    while (i < self->n && self->instance [i] != instance)
        i++;
    if (i == self->n) {                 /* new: in a free slot, or in place
                                           of the one heard least lately */
        if (self->n < 2)
            self->n++;
        else
            i = self->last_ms [0] <= self->last_ms [1] ? 0 : 1;
        self->instance [i] = instance;
        self->first_ms [i] = now;
    }
    self->last_ms [i] = now;
    if (self->n < 2)
        return false;
    int64_t later_first = self->first_ms [0] > self->first_ms [1]
                          ? self->first_ms [0] : self->first_ms [1];
    int64_t earlier_last = self->last_ms [0] < self->last_ms [1]
                           ? self->last_ms [0] : self->last_ms [1];
    return earlier_last - later_first >= span_ms;
}

bool
zr_peer_filter_pass (zr_peer_filter_t *filter, zr_id_t self, zr_id_t from,
                     zr_id_t to)
{
    zr_assert (filter);
    zr_assert (from <= ZR_NODES_MAX && to <= ZR_NODES_MAX);
    bool cut = (from == self && filter->cut_out [to])
            || (to == self && filter->cut_in [from]);
    if (cut)
        filter->dropped++;
    return !cut;
}

void
zr_peer_warn (zr_peer_warn_t *limiter, zr_id_t self, const char *who,
              const void *data, size_t size, const char *reason)
{
    zr_assert (limiter && who && reason);
    int64_t now = zclock_mono ();
    if (now < limiter->next_ms) {
        limiter->suppressed++;
        return;
    }
    limiter->next_ms = now + ZR_PEER_WARN_INTERVAL_MS;
    char hex [2 * 16 + 1] = "";
    const uint8_t *bytes = (const uint8_t *) data;
    size_t shown = size < 16 ? size : 16;
    for (size_t i = 0; bytes && i < shown; i++)
        snprintf (hex + 2 * i, 3, "%02x", bytes [i]);
    zr_warning ("n%u %s: dropped frame (%s) size=%zu hex=%s%s suppressed=%llu",
                self, who, reason, size, hex, size > shown ? ".." : "",
                (unsigned long long) limiter->suppressed);
    limiter->suppressed = 0;
}
