/*  =========================================================================
    broker - a small message broker with libzraft as its store

    In the spirit of Malamute's streams (mlm_client_set_producer,
    mlm_client_send, mlm_client_set_consumer): producers send messages
    to a named stream under a subject; consumers read a stream, the
    subjects starting with a pattern, in one total order. Unlike a broker
    that keeps messages in memory, this one keeps them in a replicated
    log: three zraft servers, threads of this process, hold every message
    durably (a quorum's fsync before the producer hears SENT), and a
    server's death loses nothing.

    The library's message bus does the work:
      SEND     zraft_publish on the leader, with the client's producer id
               and a sequence number: when a server dies with publishes
               in flight the broker sends them again to the next leader,
               and the bus's deduplication makes the retry harmless;
      CONSUME  zraft_subscribe on one of the servers (followers serve
               subscriptions too) with the prefix "stream/pattern"; a
               named (durable) consumer starts after its cursor
               (zraft_cursors); when its server dies the broker
               subscribes again elsewhere from the last index it
               forwarded, so the consumer sees nothing twice and nothing
               missed;
      CREDIT   the consumer processed messages: zraft_credit gives the
               subscription that many more, and a named consumer's
               cursor moves (zraft_cursor_commit), so memory is bounded
               by the credit and a slow consumer slows nobody else.

    The protocol (ZeroMQ DEALER to the broker's ROUTER, one text frame
    per field):
      SEND stream subject content        -> SENT index | ERROR reason
      CONSUME stream pattern name        -> CONSUMING from | ERROR reason
      CREDIT n index                     (no answer)
      broker -> consumer: DELIVER stream subject index content

        broker [--dir DIR] [--endpoint ENDPOINT] [--demo]

    Without --demo the broker serves ENDPOINT (default
    tcp://127.0.0.1:9999) until interrupted. With --demo it serves
    inproc://broker and runs a producer and two consumers against
    itself: 240 messages over three subjects, the leader killed after the
    first 80 and restarted a second later; then it checks that each
    consumer received exactly its messages, in the order sent, and that
    the durable consumer's cursor is where it stopped, and prints "ok".

    Build: make (build/examples/broker), or against an installed library:
        cc -std=c11 broker.c $(pkg-config --cflags --libs libzraft)
    =========================================================================
*/
#ifndef _GNU_SOURCE
#   define _GNU_SOURCE                  /* mkdtemp, with -std=c11 */
#endif
#include <zraft.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 3                         /* servers in the cluster */
#define CLIENTS_MAX 32                  /* clients the broker knows */
#define PENDING_MAX 256                 /* publishes awaiting their RESULT */
#define CREDIT 64                       /* deliveries a consumer may hold */
#define TEXT_MAX 64                     /* bytes of a stream, pattern, name */
#define CONTENT_MAX 4096                /* bytes of a message */
#define CURSOR_TOKEN (1ull << 62)       /* cursor commits' tokens (| client) */
#define CURSORS_TOKEN (1ull << 61)      /* tokens of cursor reads (| client) */
#define DEMO_TOKEN (1ull << 60)         /* the demo's own cursor read */

/* ------------------------------------------------------------- the broker */

typedef struct {
    zframe_t *identity;                 /* its ROUTER routing id, owned */
    uint64_t producer;                  /* its producer id (deduplication) */
    uint64_t seq;                       /* its last sequence number */
    bool consumer;                      /* it sent CONSUME */
    char name [TEXT_MAX + 1];           /* durable consumer's name, or "" */
    char prefix [2 * TEXT_MAX + 2];     /* "stream/pattern" */
    uint32_t node;                      /* server of its subscription, 0 none */
    uint64_t sub;                       /* its subscription's id */
    uint64_t from;                      /* its first index; 0: what came next */
    bool answered;                      /* CONSUMING (or ERROR) sent */
    uint64_t last;                      /* last index forwarded to it (or
                                           before its first) */
    uint64_t cursor;                    /* a named consumer's last CREDIT */
    uint64_t committed;                 /* its cursor as the store confirmed */
    uint64_t committing;                /* the index of its commit in flight */
    uint32_t commit_node;               /* that commit's server; 0: none */
} client_t;

typedef struct {
    uint64_t token;                     /* 0: the slot is free */
    uint32_t node;                      /* server it went to; 0: to send */
    int client;                         /* who sent it */
    uint64_t seq;                       /* its sequence number */
    char subject [2 * TEXT_MAX + 2];    /* "stream/subject" */
    size_t size;                        /* content bytes */
    byte content [CONTENT_MAX];
} pending_t;

typedef struct {
    zraft_t *nodes [NODES];             /* server i + 1, or NULL if down */
    char endpoints [NODES][64];         /* tcp://127.0.0.1:port */
    char root [256];                    /* the data directories' parent */
    bool own_root;                      /* made here: removed at the end */
    uint32_t leader;                    /* last server that said it leads */
    zsock_t *router;                    /* the clients' endpoint */
    client_t clients [CLIENTS_MAX];
    int n_clients;
    pending_t pending [PENDING_MAX];
    uint64_t next_token;                /* publish tokens, from 1 */
    uint64_t next_sub;                  /* subscription ids, from 1 */
    uint64_t producer_base;             /* this run's producer ids */
    uint64_t retried, duplicates;       /* publishes sent again; of which
                                           the bus said duplicate */
    bool cursor_read_asked;             /* the demo's cursor read in flight */
    uint64_t cursor_read;               /* its answer */
    bool cursor_read_done;
} broker_t;

/* Starts server id (again: same directory, same port). */
static int
node_start (broker_t *self, uint32_t id)
{
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = id;
    config.n_servers = NODES;
    for (uint32_t i = 0; i < NODES; i++)
        config.servers [i] = (zraft_server_t) {i + 1, self->endpoints [i]};
    char dir [300];
    snprintf (dir, sizeof dir, "%s/n%u", self->root, id);
    config.data_dir = dir;
    config.heartbeat_ms = 50;
    config.election_timeout_ms = 300;
    zraft_fsm_t fsm = {0};              /* the bus alone: no commands */
    self->nodes [id - 1] = zraft_new (&config, &fsm);
    if (!self->nodes [id - 1])
        fprintf (stderr, "broker: server %u did not start\n", id);
    return self->nodes [id - 1] ? 0 : -1;
}

/* Sends frames (NULL-ended, text) to client c. */
static void
client_send (broker_t *self, int c, const char *first, ...)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) {zframe_dup (self->clients [c].identity)});
    va_list args;
    va_start (args, first);
    for (const char *f = first; f; f = va_arg (args, const char *))
        zmsg_addstr (msg, f);
    va_end (args);
    zmsg_send (&msg, self->router);
    zmsg_destroy (&msg);                /* if the send failed */
}

/* The client with identity, created if new; -1 if there is no room. */
static int
client_find (broker_t *self, zframe_t *identity)
{
    for (int c = 0; c < self->n_clients; c++)
        if (zframe_eq (self->clients [c].identity, identity))
            return c;
    if (self->n_clients == CLIENTS_MAX)
        return -1;
    client_t *client = &self->clients [self->n_clients];
    memset (client, 0, sizeof *client);
    client->identity = zframe_dup (identity);
    client->producer = self->producer_base + (uint64_t) self->n_clients;
    return self->n_clients++;
}

/* A live server other than avoid (the leader if it is live and avoid is
   0), for a subscription; 0 if none. */
static uint32_t
node_pick (broker_t *self, uint32_t avoid)
{
    if (!avoid && self->leader && self->nodes [self->leader - 1])
        return self->leader;
    for (uint32_t id = 1; id <= NODES; id++)
        if (id != avoid && self->nodes [id - 1])
            return id;
    return 0;
}

/* Subscribes client c on a live server other than avoid, from index
   (0: what comes next). Returns 0 or -1. */
static int
consumer_subscribe (broker_t *self, int c, uint32_t avoid, uint64_t from)
{
    client_t *client = &self->clients [c];
    uint32_t id = node_pick (self, avoid);
    zraft_sub_options_t options = {
        .from_mode = from ? ZRAFT_FROM_INDEX : ZRAFT_FROM_NEXT, .from = from,
        .prefix = client->prefix, .credit = CREDIT};
    client->sub = ++self->next_sub;
    client->from = from;
    int rc = id ? zraft_subscribe (self->nodes [id - 1], client->sub, &options)
                : ZRAFT_ESHUTDOWN;
    client->node = rc == 0 ? id : 0;
    if (rc == 0 && from)
        printf ("consumer of %s reads on n%u from index %" PRIu64 "\n",
                client->prefix, id, from);
    else
    if (rc == 0)
        printf ("consumer of %s reads on n%u what comes next\n",
                client->prefix, id);
    return rc == 0 ? 0 : -1;
}

/* SEND stream subject content: queued, sent when a leader is known. */
static void
on_send (broker_t *self, int c, zmsg_t *msg)
{
    char *stream = zmsg_popstr (msg), *subject = zmsg_popstr (msg);
    zframe_t *content = zmsg_pop (msg);
    int slot = -1;
    for (int i = 0; i < PENDING_MAX && slot < 0; i++)
        if (!self->pending [i].token)
            slot = i;
    if (!stream || !subject || !content || strlen (stream) > TEXT_MAX
        || strlen (subject) > TEXT_MAX || zframe_size (content) > CONTENT_MAX)
        client_send (self, c, "ERROR", "malformed SEND", NULL);
    else
    if (slot < 0)
        client_send (self, c, "ERROR", "busy: too many publishes in flight", NULL);
    else {
        pending_t *p = &self->pending [slot];
        p->token = ++self->next_token;
        p->node = 0;
        p->client = c;
        p->seq = ++self->clients [c].seq;
        snprintf (p->subject, sizeof p->subject, "%s/%s", stream, subject);
        p->size = zframe_size (content);
        memcpy (p->content, zframe_data (content), p->size);
    }
    zstr_free (&stream);
    zstr_free (&subject);
    zframe_destroy (&content);
}

/* CONSUME stream pattern name: a named consumer first reads its cursor. */
static void
on_consume (broker_t *self, int c, zmsg_t *msg)
{
    client_t *client = &self->clients [c];
    char *stream = zmsg_popstr (msg), *pattern = zmsg_popstr (msg);
    char *name = zmsg_popstr (msg);
    if (!stream || !pattern || !name || strlen (stream) > TEXT_MAX
        || strlen (pattern) > TEXT_MAX || strlen (name) > TEXT_MAX
        || client->consumer)
        client_send (self, c, "ERROR", "malformed or second CONSUME", NULL);
    else {
        client->consumer = true;
        snprintf (client->name, sizeof client->name, "%s", name);
        snprintf (client->prefix, sizeof client->prefix, "%s/%s", stream, pattern);
        int rc = -1;
        if (*name && self->leader && self->nodes [self->leader - 1])
            rc = zraft_cursors (self->nodes [self->leader - 1],
                                CURSORS_TOKEN | (uint64_t) c, 0);
        else
        if (!*name)
            rc = consumer_subscribe (self, c, 0, 0);
        if (rc != 0)
            client_send (self, c, "ERROR", "no server to read from", NULL);
    }
    zstr_free (&stream);
    zstr_free (&pattern);
    zstr_free (&name);
}

/* CREDIT n index: more deliveries, and a durable consumer's cursor
   (committed by broker_commit). */
static void
on_credit (broker_t *self, int c, zmsg_t *msg)
{
    client_t *client = &self->clients [c];
    char *n = zmsg_popstr (msg), *index = zmsg_popstr (msg);
    uint32_t credit = n ? (uint32_t) strtoul (n, NULL, 10) : 0;
    uint64_t done = index ? strtoull (index, NULL, 10) : 0;
    if (client->node && credit && credit <= CREDIT)
        zraft_credit (self->nodes [client->node - 1], client->sub, credit);
    if (*client->name && done > client->cursor)
        client->cursor = done;
    zstr_free (&n);
    zstr_free (&index);
}

/* Takes every request waiting on the ROUTER. */
static void
broker_requests (broker_t *self)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv_nowait (self->router))) {
        zframe_t *identity = zmsg_pop (msg);
        char *command = zmsg_popstr (msg);
        int c = identity ? client_find (self, identity) : -1;
        if (c >= 0 && command && streq (command, "SEND"))
            on_send (self, c, msg);
        else
        if (c >= 0 && command && streq (command, "CONSUME"))
            on_consume (self, c, msg);
        else
        if (c >= 0 && command && streq (command, "CREDIT"))
            on_credit (self, c, msg);
        else
        if (c >= 0)
            client_send (self, c, "ERROR", "unknown command", NULL);
        zstr_free (&command);
        zframe_destroy (&identity);
        zmsg_destroy (&msg);
    }
}

/* Sends every queued publish to the leader. */
static void
broker_publish (broker_t *self)
{
    zraft_t *leader = self->leader ? self->nodes [self->leader - 1] : NULL;
    for (int i = 0; leader && i < PENDING_MAX; i++) {
        pending_t *p = &self->pending [i];
        if (!p->token || p->node)
            continue;
        int rc = zraft_publish (leader, p->token, p->subject, p->content,
                                p->size, self->clients [p->client].producer,
                                p->seq);
        if (rc == ZRAFT_EAGAIN)
            return;                     /* later */
        if (rc == 0)
            p->node = self->leader;
        else {
            client_send (self, p->client, "ERROR", zraft_strerror (rc), NULL);
            p->token = 0;
        }
    }
}

/* Commits each named consumer's cursor on the leader, one commit in
   flight per consumer (a cursor only moves forward: one sent again
   after a failure or a server's death is harmless). */
static void
broker_commit (broker_t *self)
{
    zraft_t *leader = self->leader ? self->nodes [self->leader - 1] : NULL;
    for (int c = 0; leader && c < self->n_clients; c++) {
        client_t *client = &self->clients [c];
        if (*client->name && client->cursor > client->committed
            && !client->commit_node
            && zraft_cursor_commit (leader, CURSOR_TOKEN | (uint64_t) c,
                                    client->name, client->cursor) == 0) {
            client->committing = client->cursor;
            client->commit_node = self->leader;
        }
    }
}

/* A cursor commit's RESULT: confirmed, or to send again (given up on
   at ZRAFT_EINVAL or ZRAFT_EIO until the next CREDIT). */
static void
on_commit_result (broker_t *self, const zraft_event_t *event)
{
    int c = (int) (event->token & ~CURSOR_TOKEN);
    if (c < 0 || c >= self->n_clients)
        return;
    client_t *client = &self->clients [c];
    client->commit_node = 0;
    if (event->status == 0 && client->committing > client->committed)
        client->committed = client->committing;
    else
    if (event->status == ZRAFT_EINVAL || event->status == ZRAFT_EIO)
        client->cursor = client->committed;
    else
    if (event->status == ZRAFT_ENOTLEADER && event->leader)
        self->leader = event->leader;
}

/* A publish's RESULT: SENT, or sent again where the outcome is not
   certain (the bus deduplicates), or an error. */
static void
on_publish_result (broker_t *self, const zraft_event_t *event)
{
    pending_t *p = NULL;
    for (int i = 0; i < PENDING_MAX && !p; i++)
        if (self->pending [i].token == event->token)
            p = &self->pending [i];
    if (!p)
        return;
    if (event->status == 0) {
        char index [24];
        snprintf (index, sizeof index, "%" PRIu64, event->index);
        client_send (self, p->client, "SENT", index, NULL);
        self->duplicates += event->duplicate;
        p->token = 0;
    }
    else
    if (event->status == ZRAFT_ESTALE || event->status == ZRAFT_EINVAL
        || event->status == ZRAFT_ETOOBIG || event->status == ZRAFT_EIO) {
        client_send (self, p->client, "ERROR", zraft_strerror (event->status), NULL);
        p->token = 0;
    }
    else {                              /* not the leader, busy, unknown */
        if (event->status == ZRAFT_ENOTLEADER && event->leader)
            self->leader = event->leader;
        p->node = 0;
        self->retried++;
    }
}

/* A delivery for a consumer: forwarded with the stream and subject
   split at the first '/'. */
static void
on_deliver (broker_t *self, const zraft_event_t *event)
{
    for (int c = 0; c < self->n_clients; c++) {
        client_t *client = &self->clients [c];
        if (!client->consumer || client->sub != event->token)
            continue;
        char stream [TEXT_MAX + 1], index [24];
        const char *slash = strchr (event->subject, '/');
        size_t len = slash ? (size_t) (slash - event->subject) : 0;
        snprintf (stream, sizeof stream, "%.*s", (int) len, event->subject);
        snprintf (index, sizeof index, "%" PRIu64, event->index);
        zmsg_t *msg = zmsg_new ();
        zmsg_append (msg, &(zframe_t *) {zframe_dup (client->identity)});
        zmsg_addstr (msg, "DELIVER");
        zmsg_addstr (msg, stream);
        zmsg_addstr (msg, slash ? slash + 1 : event->subject);
        zmsg_addstr (msg, index);
        zmsg_addmem (msg, event->data, event->size);
        zmsg_send (&msg, self->router);
        zmsg_destroy (&msg);
        client->last = event->index;
        return;
    }
}

/* A subscription's answer: the consumer's first one is told where it
   starts (a later one, after a server's death, is the broker's
   business). */
static void
on_subscribed (broker_t *self, const zraft_event_t *event)
{
    for (int c = 0; c < self->n_clients; c++) {
        client_t *client = &self->clients [c];
        if (!client->consumer || client->sub != event->token || client->answered)
            continue;
        client->answered = true;
        if (event->status == 0)
            client->last = client->from ? client->from - 1 : event->last;
        char first [24];
        snprintf (first, sizeof first, "%" PRIu64, client->last + 1);
        client_send (self, c, event->status ? "ERROR" : "CONSUMING",
                     event->status ? zraft_strerror (event->status) : first,
                     NULL);
    }
}

/* The answer to a named consumer's cursor read: subscribe after it. */
static void
on_cursors (broker_t *self, const zraft_event_t *event)
{
    int c = (int) (event->token & ~CURSORS_TOKEN);
    if (c < 0 || c >= self->n_clients)
        return;
    uint64_t cursor = 0;
    if (event->status == 0)
        zraft_cursor_find (event->data, event->size, self->clients [c].name,
                           &cursor);
    if (event->status != 0 || consumer_subscribe (self, c, 0, cursor + 1) != 0)
        client_send (self, c, "ERROR", "cannot read the cursor", NULL);
}

static void
on_event (broker_t *self, uint32_t id, const zraft_event_t *event)
{
    if (event->type == ZRAFT_EVENT_ROLE && event->role == ZRAFT_LEADER)
        self->leader = id;
    else
    if (event->type == ZRAFT_EVENT_DELIVER)
        on_deliver (self, event);
    else
    if (event->type == ZRAFT_EVENT_SUBSCRIBED)
        on_subscribed (self, event);
    else
    if (event->type == ZRAFT_EVENT_RESULT && (event->token & CURSOR_TOKEN))
        on_commit_result (self, event);
    else
    if (event->type == ZRAFT_EVENT_RESULT && event->token == DEMO_TOKEN) {
        self->cursor_read_asked = false;    /* asked again if it failed */
        self->cursor_read_done = event->status == 0;
        if (event->status != 0
            || zraft_cursor_find (event->data, event->size, "audit",
                                  &self->cursor_read) != 0)
            self->cursor_read = 0;
    }
    else
    if (event->type == ZRAFT_EVENT_RESULT && (event->token & CURSORS_TOKEN))
        on_cursors (self, event);
    else
    if (event->type == ZRAFT_EVENT_RESULT)
        on_publish_result (self, event);
}

/* Takes every event of every live server. */
static void
broker_events (broker_t *self)
{
    for (uint32_t id = 1; id <= NODES; id++) {
        zraft_event_t event;
        while (self->nodes [id - 1]
               && zraft_recv (self->nodes [id - 1], &event, 0) == 0) {
            on_event (self, id, &event);
            zraft_event_release (&event);
        }
    }
}

/* Server id dies (as kill -9 would have it: its queued events are
   lost): its consumers move to another server from the index after the
   last one forwarded, its publishes in flight are sent again. */
static void
broker_kill (broker_t *self, uint32_t id)
{
    zraft_destroy (&self->nodes [id - 1]);
    if (self->leader == id)
        self->leader = 0;
    for (int i = 0; i < PENDING_MAX; i++)
        if (self->pending [i].token && self->pending [i].node == id) {
            self->pending [i].node = 0;
            self->retried++;
        }
    for (int c = 0; c < self->n_clients; c++) {
        if (self->clients [c].commit_node == id)
            self->clients [c].commit_node = 0;  /* lost with it: sent again */
        if (self->clients [c].consumer && self->clients [c].node == id)
            consumer_subscribe (self, c, id, self->clients [c].last + 1);
    }
}

/* Waits up to ms for the ROUTER, a live server's events or one of the
   n extra sockets to have input (a poller made for the sockets of the
   moment: servers come and go). */
static void
broker_wait (broker_t *self, zsock_t **extra, int n, int ms)
{
    zpoller_t *poller = zpoller_new (self->router, NULL);
    for (uint32_t id = 1; poller && id <= NODES; id++)
        if (self->nodes [id - 1])
            zpoller_add (poller, zraft_events (self->nodes [id - 1]));
    for (int i = 0; poller && i < n; i++)
        zpoller_add (poller, extra [i]);
    if (poller)
        zpoller_wait (poller, ms);
    zpoller_destroy (&poller);
}

/* ------------------------------------------------------------- the demo */

#define DEMO_MESSAGES 240               /* the producer sends these */
#define DEMO_WINDOW 8                   /* SENDs in flight */
#define DEMO_KILL_AFTER 80              /* acknowledged, then the leader dies */
#define DEMO_DOWN_MS 1000               /* how long it stays down */
#define DEMO_CREDIT_EVERY 16            /* a consumer's CREDIT period */
#define DEMO_WAIT_MS 60000              /* the whole demo, at most */

typedef struct {
    zsock_t *dealer;
    const char *name;                   /* "" anonymous, or durable */
    const char *pattern;
    bool consuming;                     /* CONSUMING received */
    uint64_t got;                       /* messages received */
    uint64_t last_index;                /* index of the last one */
    int ks [DEMO_MESSAGES];             /* message numbers, in order got */
    bool seen [DEMO_MESSAGES + 1];      /* by message number */
    bool failed;                        /* a check failed (said why) */
} demo_consumer_t;

typedef struct {
    zsock_t *producer;
    int sent, acked;                    /* SENDs, and SENTs back */
    bool failed;
    demo_consumer_t consumers [2];      /* "temp." anonymous, all "audit" */
    uint32_t killed;                    /* server killed, 0 not yet */
    int64_t restart_at;                 /* when it comes back; 0 done */
} demo_t;

static const char *
demo_subject (int k)
{
    return k % 3 == 0 ? "wind.oslo" : k % 3 == 1 ? "temp.paris" : "temp.oslo";
}

static zsock_t *
demo_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (dealer && zsock_connect (dealer, "%s", endpoint) != 0)
        zsock_destroy (&dealer);
    return dealer;
}

/* One DELIVER for consumer c: checked, recorded, credit given back. */
static void
demo_deliver (demo_consumer_t *c, zmsg_t *msg)
{
    char *stream = zmsg_popstr (msg), *subject = zmsg_popstr (msg);
    char *index = zmsg_popstr (msg), *content = zmsg_popstr (msg);
    int k = content && content [0] == 'm' ? atoi (content + 1) : 0;
    uint64_t at = index ? strtoull (index, NULL, 10) : 0;
    const char *why = NULL;
    if (!stream || !streq (stream, "weather") || k < 1 || k > DEMO_MESSAGES
        || !subject || !streq (subject, demo_subject (k)))
        why = "a message it did not expect";
    else
    if (strncmp (subject, c->pattern, strlen (c->pattern)) != 0)
        why = "a subject outside its pattern";
    else
    if (c->seen [k] || at <= c->last_index)
        why = "a message twice, or out of index order";
    if (why) {
        fprintf (stderr, "broker: consumer %s got %s (%s)\n",
                 *c->name ? c->name : c->pattern, why, content ? content : "?");
        c->failed = true;
    }
    else {
        c->seen [k] = true;
        c->ks [c->got++] = k;
        c->last_index = at;
        if (c->got % DEMO_CREDIT_EVERY == 0) {
            char n [8];
            snprintf (n, sizeof n, "%d", DEMO_CREDIT_EVERY);
            zstr_sendx (c->dealer, "CREDIT", n, index, NULL);
        }
    }
    zstr_free (&stream);
    zstr_free (&subject);
    zstr_free (&index);
    zstr_free (&content);
}

/* Takes what the broker sent the demo's clients. */
static void
demo_receive (demo_t *d)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv_nowait (d->producer))) {
        char *what = zmsg_popstr (msg);
        if (what && streq (what, "SENT"))
            d->acked++;
        else {
            fprintf (stderr, "broker: producer got %s\n", what ? what : "nothing");
            d->failed = true;
        }
        zstr_free (&what);
        zmsg_destroy (&msg);
    }
    for (int i = 0; i < 2; i++) {
        demo_consumer_t *c = &d->consumers [i];
        while ((msg = zmsg_recv_nowait (c->dealer))) {
            char *what = zmsg_popstr (msg);
            if (what && streq (what, "DELIVER"))
                demo_deliver (c, msg);
            else
            if (what && streq (what, "CONSUMING"))
                c->consuming = true;
            else {
                fprintf (stderr, "broker: consumer got %s\n", what ? what : "?");
                c->failed = true;
            }
            zstr_free (&what);
            zmsg_destroy (&msg);
        }
    }
}

/* The producer keeps DEMO_WINDOW messages in flight once both consumers
   are reading; the leader dies after DEMO_KILL_AFTER acknowledgements,
   with publishes in flight, and comes back DEMO_DOWN_MS later. */
static void
demo_step (broker_t *b, demo_t *d)
{
    bool reading = d->consumers [0].consuming && d->consumers [1].consuming;
    while (reading && d->sent < DEMO_MESSAGES && d->sent - d->acked < DEMO_WINDOW) {
        char content [16];
        snprintf (content, sizeof content, "m%d", ++d->sent);
        zstr_sendx (d->producer, "SEND", "weather", demo_subject (d->sent),
                    content, NULL);
    }
    int inflight = 0;                   /* on the leader, unanswered */
    for (int i = 0; b->leader && i < PENDING_MAX; i++)
        inflight += b->pending [i].token && b->pending [i].node == b->leader;
    if (!d->killed && d->acked >= DEMO_KILL_AFTER && inflight) {
        d->killed = b->leader;
        printf ("killing n%u, the leader, with %d publishes in flight\n",
                d->killed, inflight);
        broker_kill (b, d->killed);
        d->restart_at = zclock_mono () + DEMO_DOWN_MS;
    }
    if (d->restart_at && zclock_mono () >= d->restart_at) {
        d->restart_at = 0;
        if (node_start (b, d->killed) == 0)
            printf ("restarted n%u\n", d->killed);
        else
            d->failed = true;
    }
}

/* The cursor the store confirmed for the consumer called name. */
static uint64_t
demo_committed (broker_t *b, const char *name)
{
    for (int c = 0; c < b->n_clients; c++)
        if (b->clients [c].consumer && streq (b->clients [c].name, name))
            return b->clients [c].committed;
    return 0;
}

/* Everything sent, acknowledged and received, the server back, the
   broker's commit of the last CREDIT confirmed: the cursor is read
   (again, until a read succeeds). */
static bool
demo_done (broker_t *b, demo_t *d)
{
    bool all = d->acked == DEMO_MESSAGES && d->killed && !d->restart_at
               && d->consumers [0].got == DEMO_MESSAGES * 2 / 3
               && d->consumers [1].got == DEMO_MESSAGES
               && demo_committed (b, "audit") == d->consumers [1].last_index;
    if (all && !b->cursor_read_done && !b->cursor_read_asked && b->leader
        && b->nodes [b->leader - 1])
        b->cursor_read_asked = zraft_cursors (b->nodes [b->leader - 1],
                                              DEMO_TOKEN, 0) == 0;
    return all && b->cursor_read_done;
}

/* The consumers' sequences: the pattern's is the other's, filtered. */
static int
demo_check (broker_t *b, demo_t *d)
{
    demo_consumer_t *some = &d->consumers [0], *all = &d->consumers [1];
    uint64_t j = 0;
    for (uint64_t i = 0; i < all->got; i++)
        if (all->ks [i] % 3 != 0 && (j >= some->got || some->ks [j++] != all->ks [i])) {
            fprintf (stderr, "broker: the consumers disagree on the order\n");
            return 1;
        }
    printf ("producer: %d sent, %d acknowledged; around the leader's death"
            " %" PRIu64 " attempts were sent again, %" PRIu64 " acknowledged"
            " as a duplicate of the first\n", d->sent, d->acked, b->retried,
            b->duplicates);
    printf ("consumer of 'temp.': %" PRIu64 " messages, each once, in the"
            " order the other saw them\n", some->got);
    printf ("consumer 'audit' of everything: %" PRIu64 " messages, each"
            " once; cursor at index %" PRIu64 " (its last: %" PRIu64 ")\n",
            all->got, b->cursor_read, all->last_index);
    return b->cursor_read == all->last_index ? 0 : 1;
}

/* Runs the demo on broker b (serving inproc). Returns 0 or 1. */
static int
demo_run (broker_t *b, const char *endpoint)
{
    demo_t *d = (demo_t *) calloc (1, sizeof *d);
    if (!d)
        return 1;
    d->producer = demo_dealer (endpoint);
    d->consumers [0] = (demo_consumer_t) {.dealer = demo_dealer (endpoint),
                                          .name = "", .pattern = "temp."};
    d->consumers [1] = (demo_consumer_t) {.dealer = demo_dealer (endpoint),
                                          .name = "audit", .pattern = ""};
    int rc = 1;
    if (d->producer && d->consumers [0].dealer && d->consumers [1].dealer) {
        zstr_sendx (d->consumers [0].dealer, "CONSUME", "weather", "temp.", "", NULL);
        zstr_sendx (d->consumers [1].dealer, "CONSUME", "weather", "", "audit", NULL);
        int64_t deadline = zclock_mono () + DEMO_WAIT_MS;
        while (!demo_done (b, d) && zclock_mono () < deadline && !zsys_interrupted
               && !d->failed && !d->consumers [0].failed && !d->consumers [1].failed) {
            zsock_t *clients [] = {d->producer, d->consumers [0].dealer,
                                   d->consumers [1].dealer};
            broker_wait (b, clients, 3, 5);
            broker_requests (b);
            broker_events (b);
            broker_publish (b);
            broker_commit (b);
            demo_receive (d);
            demo_step (b, d);
        }
        if (demo_done (b, d))
            rc = demo_check (b, d);
        else
            fprintf (stderr, "broker: demo unfinished: %d of %d acknowledged,"
                     " %" PRIu64 " and %" PRIu64 " received\n", d->acked,
                     DEMO_MESSAGES, d->consumers [0].got, d->consumers [1].got);
    }
    zsock_destroy (&d->producer);
    zsock_destroy (&d->consumers [0].dealer);
    zsock_destroy (&d->consumers [1].dealer);
    free (d);
    return rc;
}

/* -------------------------------------------------------------- program */

/* Parses [--dir DIR] [--endpoint ENDPOINT] [--demo]. Returns 0 or 64. */
static int
parse (broker_t *b, char *endpoint, size_t size, bool *demo, int argc,
       char *argv [])
{
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (strcmp (argv [i], "--demo") == 0)
            *demo = true;
        else
        if (strcmp (argv [i], "--dir") == 0 && value && strlen (value) < 200) {
            snprintf (b->root, sizeof b->root, "%s", value);
            i++;
        }
        else
        if (strcmp (argv [i], "--endpoint") == 0 && value && strlen (value) < size) {
            snprintf (endpoint, size, "%s", value);
            i++;
        }
        else
            return 64;
    }
    if (!*endpoint)
        snprintf (endpoint, size, "%s", *demo ? "inproc://broker"
                                              : "tcp://127.0.0.1:9999");
    return 0;
}

/* Three free ports on 127.0.0.1 for the servers (czmq's "!": random in
   its dynamic range, so two demos started together rarely pick the same;
   each held until all are picked, so they differ). Returns 0, or -1. */
static int
free_ports (broker_t *b)
{
    zsock_t *probes [NODES] = {NULL};
    int rc = 0;
    for (int i = 0; i < NODES; i++) {
        probes [i] = zsock_new (ZMQ_ROUTER);
        int port = probes [i] ? zsock_bind (probes [i], "tcp://127.0.0.1:!") : -1;
        snprintf (b->endpoints [i], sizeof b->endpoints [i],
                  "tcp://127.0.0.1:%d", port);
        rc = port > 0 ? rc : -1;
    }
    for (int i = 0; i < NODES; i++)
        zsock_destroy (&probes [i]);
    return rc;
}

/* Starts the servers and the ROUTER. Returns 0, or -1 after a message. */
static int
broker_start (broker_t *b, const char *endpoint)
{
    if (!b->root [0]) {
        snprintf (b->root, sizeof b->root, "/tmp/zraft-broker-XXXXXX");
        if (!mkdtemp (b->root)) {
            fprintf (stderr, "broker: mkdtemp: %s\n", strerror (errno));
            return -1;
        }
        b->own_root = true;
    }
    if (free_ports (b) != 0) {
        fprintf (stderr, "broker: no free port on 127.0.0.1\n");
        return -1;
    }
    for (uint32_t id = 1; id <= NODES; id++)
        if (node_start (b, id) != 0)
            return -1;
    b->router = zsock_new (ZMQ_ROUTER);
    if (!b->router || zsock_bind (b->router, "%s", endpoint) < 0) {
        fprintf (stderr, "broker: cannot bind %s\n", endpoint);
        return -1;
    }
    b->producer_base = ((uint64_t) zclock_time () & 0xffffffffffull) << 8;
    printf ("broker on %s, its store 3 servers: %s %s %s\n", endpoint,
            b->endpoints [0], b->endpoints [1], b->endpoints [2]);
    uint32_t leader = 0;
    if (zraft_wait_leader (b->nodes [0], 10000, &leader) == 0)
        b->leader = leader;
    return 0;
}

/* Stops the servers and removes the data it made. */
static void
broker_stop (broker_t *b)
{
    zsock_destroy (&b->router);
    for (int i = 0; i < NODES; i++)
        zraft_destroy (&b->nodes [i]);
    for (int c = 0; c < b->n_clients; c++)
        zframe_destroy (&b->clients [c].identity);
    if (b->own_root) {
        zdir_t *dir = zdir_new (b->root, NULL);
        if (dir)
            zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
}

int
main (int argc, char *argv [])
{
    broker_t *b = (broker_t *) calloc (1, sizeof *b);
    char endpoint [256] = "";
    bool demo = false;
    if (!b)
        return 1;
    int rc = parse (b, endpoint, sizeof endpoint, &demo, argc, argv);
    if (rc == 64)
        fprintf (stderr, "usage: broker [--dir DIR] [--endpoint ENDPOINT]"
                 " [--demo]\n");
    if (rc == 0) {
        zraft_log_set (ZRAFT_LOG_WARNING, NULL, NULL);
        rc = broker_start (b, endpoint) == 0 ? 0 : 1;
        if (rc == 0 && demo)
            rc = demo_run (b, endpoint);
        while (rc == 0 && !demo && !zsys_interrupted) {
            broker_wait (b, NULL, 0, 100);
            broker_requests (b);
            broker_events (b);
            broker_publish (b);
            broker_commit (b);
        }
        broker_stop (b);
        if (demo)
            printf ("%s\n", rc == 0 ? "ok" : "FAILED");
    }
    free (b);
    return rc;
}
