/*  =========================================================================
    link - a client's connection to one server (see link.h)
    =========================================================================
*/
#include "link.h"
#include <string.h>
#include "../../raft/raft.h"
#include "../../transport/bus.h"
#include "../../transport/client.h"

int
zr_link_open (zr_link_t *link, const char *name, size_t max_name, int hwm,
              size_t frame_max)
{
    zr_assert (link && name && !link->dealer);
    zr_assert (hwm > 0 && frame_max <= INT_MAX);
    size_t len = strlen (name);
    if (len == 0 || len > max_name)
        return -1;
    link->dealer = zsock_new (ZMQ_DEALER);
    if (!link->dealer)
        return -1;
    zsock_set_immediate (link->dealer, 1);
    zsock_set_linger (link->dealer, 0);
    zsock_set_sndhwm (link->dealer, hwm);
    zsock_set_rcvhwm (link->dealer, hwm);
    zsock_set_maxmsgsize (link->dealer, (int) frame_max);
    zsock_set_heartbeat_ivl (link->dealer, ZR_LINK_HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout (link->dealer, ZR_LINK_HEARTBEAT_TIMEOUT_MS);
    zsock_set_reconnect_ivl (link->dealer, ZR_LINK_RECONNECT_IVL_MS);
    link->monitor = zactor_new (zmonitor, link->dealer);
    if (!link->monitor) {
        zr_link_close (link);
        return -1;
    }
    zstr_sendx (link->monitor, "LISTEN", "CONNECTED", "DISCONNECTED", NULL);
    zstr_send (link->monitor, "START");
    zsock_wait (link->monitor);
    link->name = strdup (name);
    zr_assert (link->name);
    if (zsock_connect (link->dealer, "%s", name) != 0) {
        zr_link_close (link);
        return -1;
    }
    return 0;
}

void
zr_link_close (zr_link_t *link)
{
    zr_assert (link);
    zactor_destroy (&link->monitor);    /* before the socket it watches */
    zsock_destroy (&link->dealer);
    free (link->name);
    link->name = NULL;
}

bool
zr_link_disconnected (zr_link_t *link)
{
    zr_assert (link && link->monitor);
    bool disconnected = false;
    while (zsock_events (zactor_sock (link->monitor)) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (link->monitor);
        if (!msg)
            break;
        char *event = zmsg_popstr (msg);
        if (event && streq (event, "CONNECTED"))
            link->accepted = true;
        else
        if (event && streq (event, "DISCONNECTED")) {
            link->accepted = false;
            link->answered = false;     /* the next may be another process */
            disconnected = true;
        }
        zstr_free (&event);
        zmsg_destroy (&msg);
    }
    return disconnected;
}

zframe_t *
zr_link_recv (zr_link_t *link, uint64_t *dropped)
{
    zr_assert (link && link->dealer && dropped);
    while (zsock_events (link->dealer) & ZMQ_POLLIN) {
        zframe_t *frame = zframe_recv (link->dealer);
        if (!frame)
            return NULL;
        if (!zframe_more (frame))
            return frame;
        (*dropped)++;
        while (frame && zframe_more (frame)) {
            zframe_destroy (&frame);
            frame = zframe_recv (link->dealer);
        }
        zframe_destroy (&frame);
    }
    return NULL;
}

bool
zr_link_poll (zr_link_t *links, size_t n, const bool *want_out,
              int64_t timeout_ms, short *revents, bool *dropped)
{
    zr_assert (links && want_out && revents && dropped && n <= 64);
    zmq_pollitem_t items [2 * 64];
    for (size_t e = 0; e < n; e++) {
        items [2 * e] = (zmq_pollitem_t) {
            zsock_resolve (links [e].dealer), 0,
            (short) (ZMQ_POLLIN | (want_out [e] ? ZMQ_POLLOUT : 0)), 0};
        items [2 * e + 1] = (zmq_pollitem_t) {
            zsock_resolve (links [e].monitor), 0, ZMQ_POLLIN, 0};
    }
    if (zmq_poll (items, (int) (2 * n), (long) timeout_ms) <= 0)
        return false;                   /* nothing, or EINTR */
    for (size_t e = 0; e < n; e++) {
        revents [e] = items [2 * e].revents;
        dropped [e] = (items [2 * e + 1].revents & ZMQ_POLLIN)
                      && zr_link_disconnected (&links [e]);
    }
    return true;
}

uint8_t *
zr_link_copy_bytes (const uint8_t **datas [], const size_t *sizes, size_t n)
{
    zr_assert (datas && sizes);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sizes [i];
    uint8_t *copy = (uint8_t *) malloc (total ? total : 1);
    zr_assert (copy);
    uint8_t *at = copy;
    for (size_t i = 0; i < n; i++) {
        if (sizes [i])
            memcpy (at, *datas [i], sizes [i]);
        *datas [i] = sizes [i] ? at : NULL;
        at += sizes [i];
    }
    return copy;
}

bool
zr_link_unreadable (const void *data, size_t size, bool bus, bool answered,
                    char *why, size_t why_size)
{
    zr_assert (data || size == 0);
    zr_assert (why && why_size > 0);
    zr_busmsg_t msg;
    zr_client_reply_t reply;
    bool is_msg = false, is_reply = false;  /* its own protocol first */
    if (bus) {
        is_msg = zr_busmsg_decode (data, size, &msg) == 0
                 && zr_busmsg_from_server (msg.type);
        is_reply = !is_msg && zr_client_reply_decode (data, size, &reply) == 0;
    }
    else {
        is_reply = zr_client_reply_decode (data, size, &reply) == 0;
        is_msg = !is_reply && zr_busmsg_decode (data, size, &msg) == 0;
    }
    if (bus && is_msg) {
        if (answered || msg.type != ZR_BUSMSG_ERROR || msg.id != 0
            || msg.code != ZR_BUSMSG_CODE_MALFORMED)
            return false;
        snprintf (why, why_size, "could not read what was sent: %.*s",
                  (int) msg.text.size, msg.text.size ? (const char *) msg.text.data : "");
        return true;
    }
    if (bus && is_reply && reply.code == ZR_CLIENT_MALFORMED) {
        snprintf (why, why_size, "answered in the client protocol: it is a client"
                  " endpoint, not a bus endpoint");
        return true;
    }
    if (!bus && is_reply) {
        if (answered || reply.request_id != 0 || reply.code != ZR_CLIENT_MALFORMED)
            return false;
        snprintf (why, why_size, "could not read the request: %.*s",
                  (int) reply.message.size,
                  reply.message.size ? (const char *) reply.message.data : "");
        return true;
    }
    if (!bus && is_msg && msg.type == ZR_BUSMSG_ERROR) {
        snprintf (why, why_size, "answered in the bus protocol: it is a bus"
                  " endpoint, not a client endpoint");
        return true;
    }
    return false;
}
