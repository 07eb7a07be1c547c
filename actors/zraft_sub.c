/*  =========================================================================
    zraft_sub - the public subscription API (include/zraft.h) over the
    feed actor (feed.h)

    Runs on the application's thread, never waiting on the feed: a
    request is sent with a zero timeout on the requests PAIR (at most
    ZR_FEED_QUEUE_MAX queued; ZRAFT_EAGAIN past that) and answered by
    records on the events socket, which zraft_recv hands out.

    The handle keeps every subscription open from zraft_subscribe until
    zraft_recv hands out its end (an UNSUBSCRIBED, or a SUBSCRIBED with
    ZRAFT_ERANGE): at most config.subs_max, so ids are checked here, at
    once, and the feed never sees an id twice. Per subscription it keeps
    a window: the credit given and not yet used by a DELIVER that
    zraft_recv handed out. The window never passes ZRAFT_CREDIT_MAX
    (zraft_credit adds only up to it), so credit held by the feed plus
    deliveries on their way never pass it either: that bounds what the
    events pipe holds (feed.h, Memory).
    =========================================================================
*/
#include "actors.h"
#include "feed.h"

/* An open subscription, as the handle sees it. */
typedef struct {
    uint32_t window;                    /* credit given, not yet delivered
                                           to zraft_recv; <= ZRAFT_CREDIT_MAX */
    bool closing;                       /* zraft_unsubscribe was called */
} s_open_t;

struct _zr_subs_t {
    zactor_t *feed;                     /* the feed actor */
    zsock_t *requests;                  /* to the feed (PAIR, bound here) */
    zhashx_t *open;                     /* s_open_t by subscription id */
    uint32_t subs_max;                  /* config.subs_max */
    zframe_t *batch;                    /* the FEED records being handed out */
    uint8_t *bytes;                     /* their deliveries' bytes, or NULL */
    size_t batch_next;                  /* its next record */
    zr_feed_news_t news;                /* the node's news for the feed */
};

static void
s_open_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

zr_subs_t *
zr_subs_new (const zraft_config_t *config, const char *events_endpoint,
             char *feed_endpoint, size_t feed_endpoint_size,
             zr_feed_news_t **news_p)
{
    zr_assert (config && events_endpoint && feed_endpoint && news_p);
    zr_assert (config->subs_max >= 1 && config->subs_max <= ZR_FEED_SUBS_MAX);
    zr_subs_t *self = (zr_subs_t *) calloc (1, sizeof *self);
    zr_assert (self);
    self->subs_max = config->subs_max;
    self->open = zr_feed_map_new ();
    zhashx_set_destructor (self->open, s_open_free);
    zr_feed_news_init (&self->news);
    zr_feed_args_t args = {.id = config->id, .subs_max = config->subs_max,
                           .background = config->feed_background,
                           .news = &self->news};
    snprintf (args.data_dir, sizeof args.data_dir, "%s", config->data_dir);
    snprintf (args.events_endpoint, sizeof args.events_endpoint, "%s",
              events_endpoint);
    /* Fresh names, as the handle's other sockets (zraft.c, s_bind). */
    zuuid_t *uuid = zuuid_new ();
    zr_assert (uuid);
    snprintf (args.requests_endpoint, sizeof args.requests_endpoint,
              "inproc://zraft-feedq-%s", zuuid_str (uuid));
    snprintf (args.wake_endpoint, sizeof args.wake_endpoint,
              "inproc://zraft-feedw-%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    self->requests = zsock_new (ZMQ_PAIR);
    zr_assert (self->requests);
    zsock_set_sndhwm (self->requests, ZR_FEED_QUEUE_MAX);
    zsock_set_sndtimeo (self->requests, 0);     /* never blocks: EAGAIN */
    int rc = zsock_bind (self->requests, "%s", args.requests_endpoint);
    zr_assert (rc == 0);
    self->feed = zr_actor_new (zr_feed_actor, &args);
    if (!self->feed) {
        zr_subs_destroy (&self);
        return NULL;
    }
    snprintf (feed_endpoint, feed_endpoint_size, "%s", args.wake_endpoint);
    *news_p = &self->news;
    return self;
}

void
zr_subs_destroy (zr_subs_t **self_p)
{
    zr_assert (self_p);
    zr_subs_t *self = *self_p;
    if (!self)
        return;
    zr_actor_destroy (&self->feed);
    zr_feed_records_free (&self->batch, self->bytes);
    zhashx_destroy (&self->open);
    zsock_destroy (&self->requests);
    zr_feed_news_fini (&self->news);   /* after the node: its applier adds */
    free (self);
    *self_p = NULL;
}

void
zr_subs_take (zr_subs_t *self, zframe_t **frame_p, void *bytes)
{
    zr_assert (self && frame_p && *frame_p && !self->batch);
    size_t size = zframe_size (*frame_p);
    zr_assert (size > 0 && size % sizeof (zr_feed_record_t) == 0);
    self->batch = *frame_p;
    self->bytes = (uint8_t *) bytes;
    self->batch_next = 0;
    *frame_p = NULL;
}

/* Accounts for a record handed out: a delivery uses the window; an end
   closes the subscription. */
static void
s_account (zr_subs_t *self, const zr_feed_record_t *r)
{
    s_open_t *open = (s_open_t *) zhashx_lookup (self->open, &r->sub);
    zr_assert (open);                   /* open until its end is handed out */
    if (r->type == ZRAFT_EVENT_DELIVER) {
        zr_assert (open->window > 0);   /* the feed spends credit only */
        open->window--;
    }
    else
    if (r->type == ZRAFT_EVENT_UNSUBSCRIBED || r->status != 0)
        zhashx_delete (self->open, &r->sub);
}

bool
zr_subs_next (zr_subs_t *self, zraft_event_t *event)
{
    zr_assert (event);
    if (!self || !self->batch)
        return false;
    const zr_feed_record_t *items = (const zr_feed_record_t *) zframe_data (self->batch);
    size_t n = zframe_size (self->batch) / sizeof (zr_feed_record_t);
    zr_assert (self->batch_next < n);
    const zr_feed_record_t *r = &items [self->batch_next++];
    zr_assert (r->type >= ZRAFT_EVENT_SUBSCRIBED && r->type <= ZRAFT_EVENT_UNSUBSCRIBED);
    s_account (self, r);
    event->type = (zraft_event_type_t) r->type;
    event->token = r->sub;
    event->status = r->status;
    event->index = r->index;
    event->term = r->term;
    event->first = r->first;
    event->last = r->last;
    if (r->type == ZRAFT_EVENT_DELIVER) {
        /* A copy of its own, made here: feed.h, Memory. */
        zr_assert (self->bytes);
        size_t size = (size_t) r->size + r->subject_size + 1;
        char *data = (char *) malloc (size);
        zr_assert (data);               /* as the feed: OOM is fatal */
        memcpy (data, self->bytes + r->offset, size);
        event->data = data;
        event->size = r->size;
        event->subject = data + r->size;
    }
    if (self->batch_next == n) {
        zr_feed_records_free (&self->batch, self->bytes);
        self->bytes = NULL;
    }
    return true;
}

/* Sends a request to the feed without waiting. Returns 0, ZRAFT_EAGAIN
   (the queue is full, or a signal cut the send short: nothing was
   sent), or ZRAFT_ESHUTDOWN. */
static int
s_send (zr_subs_t *self, const char *picture, ...)
{
    va_list args;
    va_start (args, picture);
    errno = 0;                          /* czmq can fail without setting it */
    int rc = zsock_vsend (self->requests, picture, args);
    va_end (args);
    if (rc == 0)
        return 0;
    int err = zmq_errno ();
    return err == EAGAIN || err == EINTR ? ZRAFT_EAGAIN : ZRAFT_ESHUTDOWN;
}

/* Sends verb V of the feed's protocol (feed.h) with its arguments. */
#define s_request(self, V, ...)                                              \
    s_send ((self), zr_feed_verbs [V].picture, zr_feed_verbs [V].verb,        \
            ##__VA_ARGS__)

static bool
s_options_valid (const zraft_sub_options_t *options)
{
    if ((unsigned) options->from_mode > (unsigned) ZRAFT_FROM_NEXT
        || options->credit > ZRAFT_CREDIT_MAX)
        return false;
    if (options->from_mode == ZRAFT_FROM_INDEX && options->from < 1)
        return false;
    return !options->prefix
           || strnlen (options->prefix, ZRAFT_SUBJECT_MAX + 1) <= ZRAFT_SUBJECT_MAX;
}

int
zraft_subscribe (zraft_t *handle, uint64_t sub, const zraft_sub_options_t *options)
{
    zr_assert (handle);
    zr_subs_t *self = zr_zraft_subs (handle);
    if (!options || !s_options_valid (options)
        || (self && zhashx_lookup (self->open, &sub)))
        return ZRAFT_EINVAL;
    if (!self || zhashx_size (self->open) >= self->subs_max)
        return ZRAFT_EAGAIN;            /* subs_max open (0: no feed) */
    int rc = s_request (self, ZR_FEED_SUBSCRIBE, sub, (uint32_t) options->from_mode,
                        (uint64_t) options->from, options->credit,
                        options->prefix ? options->prefix : "");
    if (rc != 0)
        return rc;
    s_open_t *open = (s_open_t *) calloc (1, sizeof *open);
    zr_assert (open);
    open->window = options->credit;
    rc = zhashx_insert (self->open, &sub, open);
    zr_assert (rc == 0);
    return 0;
}

/* The open subscription sub, if it may still be credited or closed. */
static s_open_t *
s_open_find (zraft_t *handle, uint64_t sub)
{
    zr_assert (handle);
    zr_subs_t *self = zr_zraft_subs (handle);
    s_open_t *open = self ? (s_open_t *) zhashx_lookup (self->open, &sub) : NULL;
    return open && !open->closing ? open : NULL;
}

int
zraft_credit (zraft_t *handle, uint64_t sub, uint32_t credit)
{
    s_open_t *open = s_open_find (handle, sub);
    if (!open)
        return ZRAFT_EINVAL;
    zr_assert (open->window <= ZRAFT_CREDIT_MAX);
    uint32_t room = ZRAFT_CREDIT_MAX - open->window;
    uint32_t add = credit < room ? credit : room;
    if (add == 0)
        return 0;                       /* capped (zraft.h) */
    int rc = s_request (zr_zraft_subs (handle), ZR_FEED_CREDIT, sub, add);
    if (rc == 0)
        open->window += add;
    return rc;
}

int
zraft_unsubscribe (zraft_t *handle, uint64_t sub)
{
    s_open_t *open = s_open_find (handle, sub);
    if (!open)
        return ZRAFT_EINVAL;
    int rc = s_request (zr_zraft_subs (handle), ZR_FEED_UNSUBSCRIBE, sub);
    if (rc == 0)
        open->closing = true;
    return rc;
}
