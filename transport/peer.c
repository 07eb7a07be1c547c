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
    /* A restarted peer reconnects with the same identity before this side
       notices the old connection died: let the new one take over. */
    zsock_set_router_handover (sock, 1);
    int64_t deadline = zclock_mono () + ZR_PEER_BIND_RETRY_MS;
    int rc;
    while ((rc = zsock_bind (sock, "%s", endpoint)) < 0
           && zmq_errno () == EADDRINUSE && zclock_mono () < deadline)
        zclock_sleep (10);              /* back-off while it is released */
    if (rc < 0) {
        zr_error ("peer: cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

zsock_t *
zr_peer_dealer_new (char kind, zr_id_t self_id, const char *endpoint)
{
    zr_assert (self_id > 0 && self_id <= ZR_NODES_MAX);
    zr_assert (kind == 'n' || kind == 'r' || kind == 'd');
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    char identity [16];
    snprintf (identity, sizeof identity, "%c%u", kind, self_id);
    zsock_set_identity (sock, identity);
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
zr_peer_send (zsock_t *sock, zr_id_t to, const void *data, size_t size)
{
    zr_assert (sock && data);
    void *handle = zsock_resolve (sock);
    if (zsock_type (sock) == ZMQ_ROUTER) {
        char identity [16];
        int len = snprintf (identity, sizeof identity, "n%u", to);
        if (zmq_send (handle, identity, (size_t) len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            return ZR_EBUSY;
    }
    if (zmq_send (handle, data, size, ZMQ_DONTWAIT) < 0)
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

zr_id_t
zr_peer_id_parse (const void *data, size_t size, char *kind)
{
    zr_assert (kind);
    const char *s = (const char *) data;
    if (!s || size < 2 || size > 4
        || (s [0] != 'n' && s [0] != 'r' && s [0] != 'd'))
        return 0;
    *kind = s [0];
    zr_id_t id = 0;
    for (size_t i = 1; i < size; i++) {
        if (s [i] < '0' || s [i] > '9')
            return 0;
        id = id * 10 + (zr_id_t) (s [i] - '0');
    }
    return (id >= 1 && id <= ZR_NODES_MAX) ? id : 0;
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
