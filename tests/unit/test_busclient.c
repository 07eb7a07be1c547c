/*  =========================================================================
    test_busclient - unit tests of bin/lib/busclient: the bus client's
    rules against fake servers

    Each fake server is a ROUTER on a loopback port, in this thread,
    that the test reads and answers by hand with transport/bus.h's
    codec, so every answer a real zraft-node may give, and every silence,
    comes when the test says: redirects, back-pressure, doubt, credit,
    heartbeats, a server that dies under a subscription. Waits are
    bounded by the client's configured timeouts, never sleeps.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"

#include "../../transport/transport.h"
#include "../../bin/lib/busclient.h"

#define S_WAIT_MS 5000                  /* the longest any step may take */
#define S_EVENTS_MAX 8
#define S_OK_TIMEOUT_MS 300             /* the fake server's OK: its timeout */

typedef struct {
    zsock_t *router;
    char endpoint [64];
} s_fake_t;

/* What a fake received: the message, its frame and who sent it. */
typedef struct {
    zr_busmsg_t msg;
    zframe_t *frame;
    zframe_t *routing;
} s_got_t;

/* Events the client returned while the test waited on a fake. */
static zr_busclient_event_t s_events [S_EVENTS_MAX];
static size_t s_n_events;

static void
s_fake_new (s_fake_t *fake)
{
    fake->router = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (fake->router);
    int port = zsock_bind (fake->router, "tcp://127.0.0.1:!");
    ck_assert_int_gt (port, 0);
    snprintf (fake->endpoint, sizeof fake->endpoint, "tcp://127.0.0.1:%d",
              port);
}

static void
s_fake_destroy (s_fake_t *fake)
{
    zsock_destroy (&fake->router);
}

static void
s_got_release (s_got_t *got)
{
    zframe_destroy (&got->frame);
    zframe_destroy (&got->routing);
}

/* Takes one message from fake if one waits. */
static bool
s_fake_take (s_fake_t *fake, s_got_t *got)
{
    if (!(zsock_events (fake->router) & ZMQ_POLLIN))
        return false;
    zmsg_t *msg = zmsg_recv (fake->router);
    ck_assert_ptr_nonnull (msg);
    ck_assert_uint_eq (zmsg_size (msg), 2);
    got->routing = zmsg_pop (msg);
    got->frame = zmsg_pop (msg);
    zmsg_destroy (&msg);
    ck_assert_int_eq (zr_busmsg_decode (zframe_data (got->frame),
                                         zframe_size (got->frame),
                                         &got->msg), 0);
    return true;
}

static void
s_fake_send (s_fake_t *fake, zframe_t *routing, const zr_busmsg_t *msg)
{
    uint8_t *data;
    size_t size;
    ck_assert_int_eq (zr_busmsg_encode (msg, &data, &size), 0);
    zmsg_t *out = zmsg_new ();
    zmsg_addmem (out, zframe_data (routing), zframe_size (routing));
    zmsg_addmem (out, data, size);
    free (data);
    ck_assert_int_eq (zmsg_send (&out, fake->router), 0);
}

/* Drives the client until fake receives a message of type (others it
   skips, HEARTBEATs too, unless type is HEARTBEAT); events the client
   returns meanwhile are kept for s_event. */
static void
s_expect (zr_busclient_t *client, s_fake_t *fake, int type, s_got_t *got)
{
    int64_t end = zclock_mono () + S_WAIT_MS;
    while (zclock_mono () < end) {
        while (s_fake_take (fake, got)) {
            if ((int) got->msg.type == type)
                return;
            s_got_release (got);
        }
        ck_assert_uint_lt (s_n_events, S_EVENTS_MAX);
        if (zr_busclient_recv (client, &s_events [s_n_events], 5) == 0)
            s_n_events++;
    }
    ck_abort_msg ("the fake at %s got no %s", fake->endpoint,
                  zr_busmsg_type_name (type));
}

/* The next event: one kept by s_expect, or one the client returns. */
static void
s_event (zr_busclient_t *client, zr_busclient_event_t *event)
{
    if (s_n_events > 0) {
        *event = s_events [0];
        memmove (s_events, s_events + 1, --s_n_events * sizeof *event);
        return;
    }
    ck_assert_int_eq (zr_busclient_recv (client, event, S_WAIT_MS), 0);
}

static zr_busclient_t *
s_client (s_fake_t *fakes, size_t n, uint32_t credit)
{
    const char *endpoints [4];
    for (size_t i = 0; i < n; i++)
        endpoints [i] = fakes [i].endpoint;
    zr_busclient_config_t config;
    zr_busclient_config_defaults (&config);
    config.calls.timeout_ms = 3000;
    config.calls.try_timeout_ms = 300;
    config.calls.window = 4;
    config.credit = credit;
    config.producer = 0x77;
    s_n_events = 0;
    zr_busclient_t *client = zr_busclient_new (endpoints, n, &config);
    ck_assert_ptr_nonnull (client);
    return client;
}

static zr_busmsg_bytes_t
s_cstr (const char *text)
{
    return (zr_busmsg_bytes_t) { (const uint8_t *) text, strlen (text) };
}

//  --------------------------------------------------------------------------
//  Requests

/* A follower's NOT_LEADER names the leader; the client retries there
   with the same producer and seq (and a new id); the ACK ends it DONE. */
START_TEST (busclient_publish_follows_not_leader)
{
    s_fake_t fakes [2];
    s_fake_new (&fakes [0]);
    s_fake_new (&fakes [1]);
    zr_busclient_t *client = s_client (fakes, 1, 16);
    ck_assert_int_eq (zr_busclient_publish (client, "orders", "o1", 2, 41), 0);
    s_got_t first, second;
    s_expect (client, &fakes [0], ZR_BUSMSG_PUBLISH, &first);
    ck_assert_uint_eq (first.msg.producer, 0x77);
    ck_assert_uint_eq (first.msg.seq, 1);
    zr_busmsg_t redirect = { .type = ZR_BUSMSG_NOT_LEADER,
                              .id = first.msg.id,
                              .endpoint = s_cstr (fakes [1].endpoint) };
    s_fake_send (&fakes [0], first.routing, &redirect);
    s_expect (client, &fakes [1], ZR_BUSMSG_PUBLISH, &second);
    ck_assert_uint_eq (second.msg.producer, 0x77);
    ck_assert_uint_eq (second.msg.seq, 1);
    ck_assert_uint_ne (second.msg.id, first.msg.id);
    ck_assert_uint_eq (second.msg.payload.size, 2);
    zr_busmsg_t ack = { .type = ZR_BUSMSG_ACK, .id = second.msg.id,
                         .index = 9, .term = 2 };
    s_fake_send (&fakes [1], second.routing, &ack);
    zr_busclient_event_t event;
    s_event (client, &event);
    ck_assert_int_eq (event.type, ZR_BUSCLIENT_RESULT);
    ck_assert_uint_eq (event.token, 41);
    ck_assert_int_eq (event.outcome, ZR_KVCLIENT_DONE);
    ck_assert_uint_eq (event.msg.index, 9);
    ck_assert_uint_eq (event.seq, 1);
    ck_assert_uint_eq (event.tries, 2);
    ck_assert_str_eq (zr_busclient_leader (client), fakes [1].endpoint);
    zr_busclient_event_release (&event);
    /* The next publication goes to the leader at once, seq 2. */
    ck_assert_int_eq (zr_busclient_publish (client, "orders", "o2", 2, 42), 0);
    s_got_release (&second);
    s_expect (client, &fakes [1], ZR_BUSMSG_PUBLISH, &second);
    ck_assert_uint_eq (second.msg.seq, 2);
    s_got_release (&first);
    s_got_release (&second);
    zr_busclient_destroy (&client);
    s_fake_destroy (&fakes [0]);
    s_fake_destroy (&fakes [1]);
}
END_TEST

/* BUSY backs off and asks the same server again; UNKNOWN moves on in
   doubt and an ACK later still settles it DONE; STALE ends it in doubt;
   INVALID ends it FAILED. */
START_TEST (busclient_publish_answers_each_code)
{
    s_fake_t fake;
    s_fake_new (&fake);
    zr_busclient_t *client = s_client (&fake, 1, 16);
    ck_assert_int_eq (zr_busclient_publish (client, "s", "x", 1, 1), 0);
    s_got_t got;
    s_expect (client, &fake, ZR_BUSMSG_PUBLISH, &got);
    zr_busmsg_t answer = { .type = ZR_BUSMSG_ERROR, .id = got.msg.id,
                            .code = ZR_BUSMSG_CODE_BUSY };
    s_fake_send (&fake, got.routing, &answer);
    s_got_release (&got);
    s_expect (client, &fake, ZR_BUSMSG_PUBLISH, &got);
    answer = (zr_busmsg_t) { .type = ZR_BUSMSG_ERROR, .id = got.msg.id,
                              .code = ZR_BUSMSG_CODE_UNKNOWN };
    s_fake_send (&fake, got.routing, &answer);
    s_got_release (&got);
    s_expect (client, &fake, ZR_BUSMSG_PUBLISH, &got);   /* the only one */
    answer = (zr_busmsg_t) { .type = ZR_BUSMSG_ACK, .id = got.msg.id,
                              .index = 5, .term = 1, .duplicate = true };
    s_fake_send (&fake, got.routing, &answer);
    s_got_release (&got);
    zr_busclient_event_t event;
    s_event (client, &event);
    ck_assert_int_eq (event.outcome, ZR_KVCLIENT_DONE);
    ck_assert (event.msg.duplicate);
    ck_assert_uint_eq (event.tries, 3);
    zr_busclient_event_release (&event);
    uint32_t codes [] = { ZR_BUSMSG_CODE_STALE, ZR_BUSMSG_CODE_INVALID };
    zr_kvclient_outcome_t outcomes [] = { ZR_KVCLIENT_UNKNOWN,
                                          ZR_KVCLIENT_FAILED };
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq (zr_busclient_publish (client, "s", "x", 1, 2), 0);
        s_expect (client, &fake, ZR_BUSMSG_PUBLISH, &got);
        answer = (zr_busmsg_t) { .type = ZR_BUSMSG_ERROR, .id = got.msg.id,
                                  .code = codes [i], .text = s_cstr ("no") };
        s_fake_send (&fake, got.routing, &answer);
        s_got_release (&got);
        s_event (client, &event);
        ck_assert_int_eq (event.outcome, outcomes [i]);
        ck_assert_ptr_nonnull (strstr (event.error, "no"));
        zr_busclient_event_release (&event);
    }
    zr_busclient_destroy (&client);
    s_fake_destroy (&fake);
}
END_TEST

/* A publication nobody answers ends UNKNOWN at the deadline; one that
   never left (nothing listens) ends FAILED. */
START_TEST (busclient_publish_silence_is_unknown)
{
    s_fake_t fake;
    s_fake_new (&fake);
    zr_busclient_t *client = s_client (&fake, 1, 16);
    ck_assert_int_eq (zr_busclient_publish (client, "s", "x", 1, 1), 0);
    zr_busclient_event_t event;
    s_event (client, &event);
    ck_assert_int_eq (event.type, ZR_BUSCLIENT_RESULT);
    ck_assert_int_eq (event.outcome, ZR_KVCLIENT_UNKNOWN);
    ck_assert_uint_ge (event.tries, 2);
    zr_busclient_event_release (&event);
    zr_busclient_destroy (&client);
    const char *nowhere = "tcp://127.0.0.1:1";
    zr_busclient_config_t config;
    zr_busclient_config_defaults (&config);
    config.calls.timeout_ms = 500;
    client = zr_busclient_new (&nowhere, 1, &config);
    ck_assert_int_eq (zr_busclient_publish (client, "s", "x", 1, 1), 0);
    ck_assert_int_eq (zr_busclient_recv (client, &event, S_WAIT_MS), 0);
    ck_assert_int_eq (event.outcome, ZR_KVCLIENT_FAILED);
    ck_assert_uint_eq (event.tries, 0);
    zr_busclient_event_release (&event);
    zr_busclient_destroy (&client);
    s_fake_destroy (&fake);
}
END_TEST

/* Commit and cursors: their answers, and the limits checked up front. */
START_TEST (busclient_commit_and_cursors)
{
    s_fake_t fake;
    s_fake_new (&fake);
    zr_busclient_t *client = s_client (&fake, 1, 16);
    ck_assert_int_eq (zr_busclient_commit (client, "", 5, 1), ZR_EINVAL);
    ck_assert_int_eq (zr_busclient_commit (client, "c", 0, 1), ZR_EINVAL);
    ck_assert_int_eq (zr_busclient_publish (client, "", "x", 1, 1), ZR_EINVAL);
    ck_assert_int_eq (zr_busclient_commit (client, "billing", 70, 7), 0);
    ck_assert_int_eq (zr_busclient_cursors (client, 8), 0);
    s_got_t commit, cursors;
    s_expect (client, &fake, ZR_BUSMSG_COMMIT_CURSOR, &commit);
    ck_assert_uint_eq (commit.msg.index, 70);
    s_expect (client, &fake, ZR_BUSMSG_CURSORS, &cursors);
    /* An ACK to CURSORS is not its answer: dropped. */
    zr_busmsg_t answer = { .type = ZR_BUSMSG_ACK, .id = cursors.msg.id,
                            .index = 1, .term = 1 };
    s_fake_send (&fake, cursors.routing, &answer);
    zr_busmsg_cursor_t list [] = { { s_cstr ("billing"), 70 } };
    uint8_t *map;
    size_t size;
    ck_assert_int_eq (zr_busmsg_cursors_encode (list, 1, &map, &size), 0);
    answer = (zr_busmsg_t) { .type = ZR_BUSMSG_CURSORS_REPLY,
                              .id = cursors.msg.id, .cursors = { map, size },
                              .n_cursors = 1 };
    s_fake_send (&fake, cursors.routing, &answer);
    free (map);
    answer = (zr_busmsg_t) { .type = ZR_BUSMSG_ACK, .id = commit.msg.id,
                              .index = 71, .term = 1 };
    s_fake_send (&fake, commit.routing, &answer);
    for (int i = 0; i < 2; i++) {
        zr_busclient_event_t event;
        s_event (client, &event);
        ck_assert_int_eq (event.outcome, ZR_KVCLIENT_DONE);
        if (event.token == 8) {
            ck_assert_int_eq (event.msg.type, ZR_BUSMSG_CURSORS_REPLY);
            zr_busmsg_cursors_iter_t iter;
            zr_busmsg_cursor_t cursor;
            zr_busmsg_cursors_iter (&event.msg, &iter);
            ck_assert (zr_busmsg_cursors_next (&iter, &cursor));
            ck_assert_uint_eq (cursor.index, 70);
        }
        else
            ck_assert_uint_eq (event.msg.index, 71);
        zr_busclient_event_release (&event);
    }
    s_got_release (&commit);
    s_got_release (&cursors);
    zr_busclient_destroy (&client);
    s_fake_destroy (&fake);
}
END_TEST

//  --------------------------------------------------------------------------
//  The subscription

/* Opens a subscription on fake: answers its SUBSCRIBE with OK (first,
   last, heartbeat 50 ms, timeout 300 ms); the SUBSCRIBE is in *got. */
static void
s_open (zr_busclient_t *client, s_fake_t *fake, s_got_t *got, uint64_t last)
{
    s_expect (client, fake, ZR_BUSMSG_SUBSCRIBE, got);
    zr_busmsg_t ok = { .type = ZR_BUSMSG_OK, .id = got->msg.id, .first = 1,
                        .last = last, .heartbeat_ms = 50,
                        .timeout_ms = S_OK_TIMEOUT_MS };
    s_fake_send (fake, got->routing, &ok);
    zr_busclient_event_t event;
    s_event (client, &event);
    ck_assert_int_eq (event.type, ZR_BUSCLIENT_SUBSCRIBED);
    ck_assert_uint_eq (event.msg.last, last);
    zr_busclient_event_release (&event);
}

static void
s_deliver (s_fake_t *fake, const s_got_t *sub, uint64_t index)
{
    zr_busmsg_t deliver = { .type = ZR_BUSMSG_DELIVER, .id = sub->msg.id,
                             .index = index, .term = 1,
                             .subject = s_cstr ("o"),
                             .payload = s_cstr ("p") };
    s_fake_send (fake, sub->routing, &deliver);
}

static void
s_expect_delivery (zr_busclient_t *client, uint64_t index)
{
    zr_busclient_event_t event;
    s_event (client, &event);
    ck_assert_int_eq (event.type, ZR_BUSCLIENT_DELIVERY);
    ck_assert_uint_eq (event.msg.index, index);
    zr_busclient_event_release (&event);
}

/* Deliveries come back in order; consumed credit returns at half the
   credit; a silent server is left for the next one, asked from the last
   index + 1 with a new id, and what the old one still sends is dropped. */
START_TEST (busclient_subscription_survives_its_server)
{
    s_fake_t fakes [2];
    s_fake_new (&fakes [0]);
    s_fake_new (&fakes [1]);
    zr_busclient_t *client = s_client (fakes, 2, 4);
    zr_busclient_sub_t options = { .from_mode = ZR_BUSMSG_FROM_FIRST,
                                   .prefix = "o" };
    ck_assert_int_eq (zr_busclient_subscribe (client, &options), 0);
    ck_assert_int_eq (zr_busclient_subscribe (client, &options), ZR_EINVAL);
    s_got_t sub;
    s_open (client, &fakes [0], &sub, 10);
    ck_assert_uint_eq (sub.msg.from_mode, ZR_BUSMSG_FROM_FIRST);
    ck_assert_uint_eq (sub.msg.credit, 4);
    ck_assert_uint_eq (sub.msg.prefix.size, 1);
    s_deliver (&fakes [0], &sub, 5);
    s_deliver (&fakes [0], &sub, 6);
    s_expect_delivery (client, 5);
    s_expect_delivery (client, 6);
    s_got_t credit;
    s_expect (client, &fakes [0], ZR_BUSMSG_CREDIT, &credit);
    ck_assert_uint_eq (credit.msg.credit, 2);
    ck_assert_uint_eq (credit.msg.id, sub.msg.id);
    s_got_release (&credit);
    /* Idle: the client heartbeats with its last index. */
    s_got_t beat;
    s_expect (client, &fakes [0], ZR_BUSMSG_HEARTBEAT, &beat);
    ck_assert_uint_eq (beat.msg.index, 6);
    s_got_release (&beat);
    /* fakes [0] goes silent: after its 300 ms timeout, fakes [1]. */
    s_got_t again;
    s_open (client, &fakes [1], &again, 12);
    ck_assert_uint_ne (again.msg.id, sub.msg.id);
    ck_assert_uint_eq (again.msg.from_mode, ZR_BUSMSG_FROM_INDEX);
    ck_assert_uint_eq (again.msg.from, 7);
    ck_assert_str_eq (zr_busclient_sub_endpoint (client), fakes [1].endpoint);
    ck_assert_uint_eq (zr_busclient_subscribes (client), 2);
    s_deliver (&fakes [0], &sub, 7);        /* the old one: dropped */
    s_deliver (&fakes [1], &again, 7);
    s_expect_delivery (client, 7);
    zr_busclient_unsubscribe (client);
    ck_assert_ptr_null (zr_busclient_sub_endpoint (client));
    zr_busclient_event_t event;
    ck_assert_int_eq (zr_busclient_recv (client, &event, 0), ZR_EINVAL);
    s_got_release (&sub);
    s_got_release (&again);
    zr_busclient_destroy (&client);
    s_fake_destroy (&fakes [0]);
    s_fake_destroy (&fakes [1]);
}
END_TEST

/* A server that cannot read what the client sends (a peer endpoint
   given as a bus endpoint: ERROR MALFORMED with id 0, before any
   answer) is left at once for the next one, without an UNSUBSCRIBE it
   could not read either, and the reason is kept. From a server that
   has answered, such an ERROR is about one frame: the subscription
   stays. (Calls moving on: proc test_bus_node.) */
START_TEST (busclient_leaves_an_endpoint_that_cannot_read_it)
{
    s_fake_t fakes [2];
    s_fake_new (&fakes [0]);
    s_fake_new (&fakes [1]);
    zr_busclient_t *client = s_client (fakes, 2, 4);
    zr_busclient_sub_t options = { .from_mode = ZR_BUSMSG_FROM_FIRST };
    ck_assert_int_eq (zr_busclient_subscribe (client, &options), 0);
    s_got_t sub;
    s_expect (client, &fakes [0], ZR_BUSMSG_SUBSCRIBE, &sub);
    zr_busmsg_t refusal = { .type = ZR_BUSMSG_ERROR, .id = 0,
                            .code = ZR_BUSMSG_CODE_MALFORMED,
                            .text = s_cstr ("this is a peer endpoint") };
    s_fake_send (&fakes [0], sub.routing, &refusal);
    s_got_t again;
    s_expect (client, &fakes [1], ZR_BUSMSG_SUBSCRIBE, &again);
    ck_assert_ptr_nonnull (strstr (zr_busclient_sub_problem (client),
                                   "could not read what was sent: this is a"
                                   " peer endpoint"));
    zr_busmsg_t ok = { .type = ZR_BUSMSG_OK, .id = again.msg.id, .first = 1,
                       .last = 3, .heartbeat_ms = 50,
                       .timeout_ms = S_OK_TIMEOUT_MS };
    s_fake_send (&fakes [1], again.routing, &ok);
    zr_busclient_event_t event;
    s_event (client, &event);
    ck_assert_int_eq (event.type, ZR_BUSCLIENT_SUBSCRIBED);
    zr_busclient_event_release (&event);
    /* Heartbeats to the new server, sent well after any UNSUBSCRIBE
       would have been: the old one got nothing since its refusal. */
    s_got_t beat;
    s_expect (client, &fakes [1], ZR_BUSMSG_HEARTBEAT, &beat);
    s_got_release (&beat);
    s_expect (client, &fakes [1], ZR_BUSMSG_HEARTBEAT, &beat);
    s_got_release (&beat);
    s_got_t nothing;
    ck_assert (!s_fake_take (&fakes [0], &nothing));
    s_fake_send (&fakes [1], again.routing, &refusal);
    s_deliver (&fakes [1], &again, 4);
    s_expect_delivery (client, 4);
    ck_assert_str_eq (zr_busclient_sub_endpoint (client), fakes [1].endpoint);
    ck_assert_uint_eq (zr_busclient_subscribes (client), 2);
    s_got_release (&sub);
    s_got_release (&again);
    zr_busclient_destroy (&client);
    s_fake_destroy (&fakes [0]);
    s_fake_destroy (&fakes [1]);
}
END_TEST

/* Before anything was delivered, a move asks what was asked first: a
   cursor again (following NOT_LEADER), and NEXT as the index after the
   first OK's last. OUT_OF_RANGE ends the subscription. */
START_TEST (busclient_subscription_resumes_as_asked)
{
    s_fake_t fakes [2];
    s_fake_new (&fakes [0]);
    s_fake_new (&fakes [1]);
    zr_busclient_t *client = s_client (fakes, 1, 8);
    zr_busclient_sub_t options = { .from_mode = ZR_BUSMSG_FROM_NEXT,
                                   .cursor = "billing" };
    ck_assert_int_eq (zr_busclient_subscribe (client, &options), 0);
    s_got_t got;
    s_expect (client, &fakes [0], ZR_BUSMSG_SUBSCRIBE, &got);
    ck_assert_uint_eq (got.msg.name.size, 7);
    zr_busmsg_t redirect = { .type = ZR_BUSMSG_NOT_LEADER, .id = got.msg.id,
                              .endpoint = s_cstr (fakes [1].endpoint) };
    s_fake_send (&fakes [0], got.routing, &redirect);
    s_got_release (&got);
    s_open (client, &fakes [1], &got, 40);
    ck_assert_uint_eq (got.msg.name.size, 7);
    ck_assert_uint_eq (got.msg.from_mode, ZR_BUSMSG_FROM_NEXT);
    s_got_release (&got);
    /* fakes [1] silent: back to fakes [0], NEXT now index 41. */
    s_expect (client, &fakes [0], ZR_BUSMSG_SUBSCRIBE, &got);
    ck_assert_uint_eq (got.msg.from_mode, ZR_BUSMSG_FROM_INDEX);
    ck_assert_uint_eq (got.msg.from, 41);
    ck_assert_uint_eq (got.msg.name.size, 7);   /* still the cursor */
    zr_busmsg_t range = { .type = ZR_BUSMSG_OUT_OF_RANGE, .id = got.msg.id,
                           .first = 50 };
    s_fake_send (&fakes [0], got.routing, &range);
    s_got_release (&got);
    zr_busclient_event_t event;
    s_event (client, &event);
    ck_assert_int_eq (event.type, ZR_BUSCLIENT_ENDED);
    ck_assert_int_eq (event.msg.type, ZR_BUSMSG_OUT_OF_RANGE);
    ck_assert_uint_eq (event.msg.first, 50);
    zr_busclient_event_release (&event);
    ck_assert_int_eq (zr_busclient_recv (client, &event, 0), ZR_EINVAL);
    zr_busclient_destroy (&client);
    s_fake_destroy (&fakes [0]);
    s_fake_destroy (&fakes [1]);
}
END_TEST

/* Sends sub one DELIVER carrying records at indexes [0..n) (term 2,
   subject "o", payload "p<index>"). */
static void
s_deliver_run (s_fake_t *fake, const s_got_t *sub, const uint64_t *indexes,
               size_t n)
{
    static char payloads [16][24];
    ck_assert_uint_le (n, 16);
    zr_busmsg_run_t run = { 0 };
    for (size_t i = 0; i < n; i++) {
        snprintf (payloads [i], sizeof payloads [i], "p%" PRIu64, indexes [i]);
        zr_busmsg_record_t record = {.index = indexes [i], .term = 2,
                                     .subject = s_cstr ("o"),
                                     .payload = s_cstr (payloads [i])};
        ck_assert_int_eq (zr_busmsg_run_add (&run, &record,
                                             ZR_BUSMSG_RUN_MAX), 0);
    }
    zr_busmsg_t deliver = { .type = ZR_BUSMSG_DELIVER, .id = sub->msg.id,
                             .n_records = run.n,
                             .records = { run.data, run.size } };
    s_fake_send (fake, sub->routing, &deliver);
    zr_busmsg_run_free (&run);
}

/* Takes the next event: a DELIVERY of index with its own record. */
static void
s_take_delivery (zr_busclient_t *client, uint64_t index,
                 zr_busclient_event_t *event)
{
    s_event (client, event);
    ck_assert_int_eq (event->type, ZR_BUSCLIENT_DELIVERY);
    ck_assert_uint_eq (event->msg.index, index);
    ck_assert_uint_eq (event->msg.term, 2);
    ck_assert_uint_eq (event->msg.n_records, 1);
    char payload [24];
    snprintf (payload, sizeof payload, "p%" PRIu64, index);
    ck_assert_uint_eq (event->msg.payload.size, strlen (payload));
    ck_assert_int_eq (memcmp (event->msg.payload.data, payload,
                              strlen (payload)), 0);
    ck_assert_uint_eq (event->msg.subject.size, 1);
    /* The event's msg is a DELIVER of that one record. */
    zr_busmsg_records_iter_t iter;
    zr_busmsg_records_iter (&event->msg, &iter);
    zr_busmsg_record_t record;
    ck_assert (zr_busmsg_records_next (&iter, &record));
    ck_assert_uint_eq (record.index, index);
    ck_assert (!zr_busmsg_records_next (&iter, &record));
}

/* The SUBSCRIBE asks for runs; a DELIVER's run comes back one DELIVERY
   at a time, in order, each holding its bytes whatever order events are
   released in (the run's frame outlives the client); credit counts
   deliveries, not messages; records at or below the last one returned
   are skipped (a run wholly so is dropped); a move drops what is left of
   the run and asks from the last index returned + 1. */
START_TEST (busclient_subscription_takes_runs)
{
    s_fake_t fake;
    s_fake_new (&fake);
    zr_busclient_t *client = s_client (&fake, 1, 8);
    zr_busclient_sub_t options = { .from_mode = ZR_BUSMSG_FROM_FIRST };
    ck_assert_int_eq (zr_busclient_subscribe (client, &options), 0);
    s_got_t sub;
    s_open (client, &fake, &sub, 10);
    ck_assert_uint_eq (sub.msg.run_max, ZR_BUSMSG_RUN_MAX);
    s_deliver_run (&fake, &sub, (const uint64_t []) { 5, 6, 8, 9, 12 }, 5);
    zr_busclient_event_t events [5];
    uint64_t indexes [5] = { 5, 6, 8, 9, 12 };
    for (int i = 0; i < 5; i++)
        s_take_delivery (client, indexes [i], &events [i]);
    /* 4 consumed of credit 8: CREDIT 4, for deliveries. */
    s_got_t credit;
    s_expect (client, &fake, ZR_BUSMSG_CREDIT, &credit);
    ck_assert_uint_eq (credit.msg.credit, 4);
    s_got_release (&credit);
    int order [5] = { 3, 0, 4, 2, 1 };
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq (events [order [i]].msg.index, indexes [order [i]]);
        ck_assert_int_eq (events [order [i]].msg.payload.data [0], 'p');
        zr_busclient_event_release (&events [order [i]]);
    }
    /* Overlap: 9 and 12 were returned. */
    s_deliver_run (&fake, &sub, (const uint64_t []) { 9, 12, 13, 14 }, 4);
    s_take_delivery (client, 13, &events [0]);
    s_deliver_run (&fake, &sub, (const uint64_t []) { 3, 13 }, 2);
    s_deliver_run (&fake, &sub, (const uint64_t []) { 15 }, 1);
    s_take_delivery (client, 14, &events [1]);
    s_take_delivery (client, 15, &events [2]);
    zr_busclient_event_release (&events [2]);
    /* A run half taken when the server goes silent for the OK's 300 ms
       timeout: what is left goes, the SUBSCRIBE asks from 17. */
    s_deliver_run (&fake, &sub, (const uint64_t []) { 16, 17, 18 }, 3);
    s_take_delivery (client, 16, &events [2]);
    /* The scenario itself, not a wait for an event: the application
       does not read for longer than the server's timeout, so the next
       read finds the server silent before it would hand out 17. */
    zclock_sleep (S_OK_TIMEOUT_MS + 50);
    s_got_t again;
    s_expect (client, &fake, ZR_BUSMSG_SUBSCRIBE, &again);
    ck_assert_uint_eq (again.msg.from_mode, ZR_BUSMSG_FROM_INDEX);
    ck_assert_uint_eq (again.msg.from, 17);
    for (size_t i = 0; i < s_n_events; i++)
        ck_assert_int_ne (s_events [i].type, ZR_BUSCLIENT_DELIVERY);
    s_got_release (&again);
    s_got_release (&sub);
    zr_busclient_destroy (&client);
    /* Events outlive their client. */
    ck_assert_uint_eq (events [0].msg.index, 13);
    ck_assert_int_eq (memcmp (events [1].msg.payload.data, "p14", 3), 0);
    ck_assert_int_eq (memcmp (events [2].msg.payload.data, "p16", 3), 0);
    for (int i = 0; i < 3; i++)
        zr_busclient_event_release (&events [i]);
    while (s_n_events > 0)
        zr_busclient_event_release (&s_events [--s_n_events]);
    s_fake_destroy (&fake);
}
END_TEST

START_TEST (busclient_code_map)
{
    ck_assert_int_eq (zr_busclient_code_map (ZR_BUSMSG_ACK, 0), ZR_CLIENT_OK);
    ck_assert_int_eq (zr_busclient_code_map (ZR_BUSMSG_CURSORS_REPLY, 0),
                      ZR_CLIENT_OK);
    ck_assert_int_eq (zr_busclient_code_map (ZR_BUSMSG_NOT_LEADER, 0),
                      ZR_CLIENT_NOT_LEADER);
    ck_assert_int_eq (zr_busclient_code_map (ZR_BUSMSG_ERROR,
                                             ZR_BUSMSG_CODE_STALE),
                      ZR_CLIENT_SESSION_EXPIRED);
    ck_assert_int_eq (zr_busclient_code_map (ZR_BUSMSG_ERROR, 99),
                      ZR_CLIENT_MALFORMED);
    ck_assert_int_eq (zr_busclient_code_map (ZR_BUSMSG_DELIVER, 0),
                      ZR_CLIENT_MALFORMED);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("busclient");
    TCase *tc = tcase_create ("requests");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, busclient_publish_follows_not_leader);
    tcase_add_test (tc, busclient_publish_answers_each_code);
    tcase_add_test (tc, busclient_publish_silence_is_unknown);
    tcase_add_test (tc, busclient_commit_and_cursors);
    tcase_add_test (tc, busclient_code_map);
    suite_add_tcase (s, tc);
    tc = tcase_create ("subscription");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, busclient_subscription_survives_its_server);
    tcase_add_test (tc, busclient_leaves_an_endpoint_that_cannot_read_it);
    tcase_add_test (tc, busclient_subscription_resumes_as_asked);
    tcase_add_test (tc, busclient_subscription_takes_runs);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return check_run (s_suite ());
}
