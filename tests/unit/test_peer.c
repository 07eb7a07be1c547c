/*  =========================================================================
    test_peer - the peer sockets (transport/peer.h): binding a ROUTER,
    the links' identities
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include <pthread.h>
#include "../../transport/transport.h"

/* Binds a ROUTER to a free loopback port; writes its endpoint. */
static zsock_t *
s_router_on_free_port (char *endpoint, size_t size)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (sock);
    ck_assert_int_gt (zsock_bind (sock, "tcp://127.0.0.1:!"), 0);
    snprintf (endpoint, size, "%s", zsock_endpoint (sock));
    return sock;
}

/* Closes the socket it is given after a delay: the previous incarnation
   of a server, still holding its port while the new one starts. */
static void *
s_release_later (void *sock)
{
    zclock_sleep (ZR_PEER_BIND_RETRY_MS / 10);
    zsock_t *s = (zsock_t *) sock;
    zsock_destroy (&s);
    return NULL;
}

/* A port held by a socket being closed is bound once it is released. */
START_TEST (peer_router_binds_once_the_port_is_released)
{
    char endpoint [256];
    zsock_t *old = s_router_on_free_port (endpoint, sizeof endpoint);
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_release_later, old), 0);
    int64_t start = zclock_mono ();
    zsock_t *router = zr_peer_router_new (endpoint);
    int64_t waited = zclock_mono () - start;
    ck_assert_int_eq (pthread_join (thread, NULL), 0);
    ck_assert_ptr_nonnull (router);
    ck_assert_int_lt (waited, ZR_PEER_BIND_RETRY_MS);
    zsock_destroy (&router);
}
END_TEST

/* A port that stays taken fails after the retry period, with NULL. */
START_TEST (peer_router_gives_up_on_a_port_kept_busy)
{
    char endpoint [256];
    zsock_t *holder = s_router_on_free_port (endpoint, sizeof endpoint);
    int64_t start = zclock_mono ();
    zsock_t *router = zr_peer_router_new (endpoint);
    ck_assert_ptr_null (router);
    ck_assert_int_ge (zclock_mono () - start, ZR_PEER_BIND_RETRY_MS);
    zsock_destroy (&holder);
}
END_TEST

/* A malformed endpoint fails at once. */
START_TEST (peer_router_refuses_a_bad_endpoint)
{
    int64_t start = zclock_mono ();
    ck_assert_ptr_null (zr_peer_router_new ("tcp://127.0.0.1:notaport"));
    ck_assert_int_lt (zclock_mono () - start, ZR_PEER_BIND_RETRY_MS);
}
END_TEST

/* A host that is not this machine's is refused at once, and the reason
   says so in words (libzmq's own is "No such device"). */
START_TEST (peer_router_names_a_host_not_of_this_machine)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (sock);
    ck_assert_int_lt (zsock_bind (sock, "tcp://nosuchhost.invalid.:7001"), 0);
    int err = zmq_errno ();
    zsock_destroy (&sock);
    ck_assert_msg (err == ENODEV || err == EADDRNOTAVAIL, "errno %d", err);
    ck_assert_ptr_nonnull (strstr (zr_bind_strerror (err),
                                   "not an address of this machine"));
    ck_assert_ptr_nonnull (strstr (zr_bind_strerror (EADDRNOTAVAIL),
                                   "not an address of this machine"));
    ck_assert_str_eq (zr_bind_strerror (EADDRINUSE), zmq_strerror (EADDRINUSE));
    ck_assert_ptr_null (zr_peer_router_new ("tcp://nosuchhost.invalid.:7001"));
}
END_TEST

/* Routing identities name the link's kind (the replicator's requests
   'n', the persister's replies 'r', the node's direct sends 'd'), the
   server, its cluster and its instance; what zr_peer_identity writes
   parses back, and anything else is refused. */
START_TEST (peer_id_parse_knows_the_three_links)
{
    zr_peer_who_t who = {.id = 3, .cluster = 0x0123456789abcdefULL,
                         .instance = 0xfedcba9876543210ULL};
    char text [ZR_PEER_IDENTITY_MAX + 1];
    const char kinds [] = {'n', 'r', 'd'};
    for (size_t i = 0; i < sizeof kinds; i++) {
        size_t len = zr_peer_identity (kinds [i], &who, text);
        ck_assert_uint_eq (len, ZR_PEER_IDENTITY_MAX);
        char kind = 0;
        zr_peer_who_t back;
        ck_assert_uint_eq (zr_peer_id_parse (text, len, &kind, &back), 3);
        ck_assert_int_eq (kind, kinds [i]);
        ck_assert_uint_eq (back.id, 3);
        ck_assert_uint_eq (back.cluster, who.cluster);
        ck_assert_uint_eq (back.instance, who.instance);
    }
    zr_peer_identity ('n', &who, text);
    ck_assert_str_eq (text, "n3-0123456789abcdef-fedcba9876543210");
    const char *refused [] = {
        "n3",                                       /* the old form */
        "x3-0123456789abcdef-fedcba9876543210",     /* no such kind */
        "n0-0123456789abcdef-fedcba9876543210",     /* id 0 */
        "na-0123456789abcdef-fedcba9876543210",     /* not a digit */
        "n3_0123456789abcdef-fedcba9876543210",     /* separator */
        "n3-0123456789abcdef_fedcba9876543210",
        "n3-0123456789ABCDEF-fedcba9876543210",     /* upper case */
        "n3-0123456789abcdeg-fedcba9876543210",     /* not hex */
        "n3-0123456789abcdef-fedcba987654321",      /* one digit short */
        "n3-0123456789abcdef-fedcba98765432100",    /* one too many */
        "n10-123456789abcdef-fedcba9876543210",     /* > ZR_NODES_MAX */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        char kind = 0;
        zr_peer_who_t back;
        ck_assert_msg (zr_peer_id_parse (refused [i], strlen (refused [i]),
                                         &kind, &back) == 0, "%s", refused [i]);
        /* Only the old form is named as an older zraft's. */
        ck_assert_int_eq (zr_peer_id_legacy (refused [i], strlen (refused [i])),
                          i == 0);
    }
    ck_assert (zr_peer_id_legacy ("r9", 2) && zr_peer_id_legacy ("d1", 2));
    ck_assert (!zr_peer_id_legacy ("d0", 2) && !zr_peer_id_legacy ("x1", 2));
    ck_assert (!zr_peer_id_legacy (text, strlen (text)));
}
END_TEST

/* The cluster's identity depends on the servers' ids and endpoints, not
   on the order they are listed in. */
START_TEST (peer_cluster_names_ids_and_endpoints)
{
    zr_id_t ids [] = {1, 2, 3};
    const char *eps [] = {"tcp://a:1", "tcp://b:2", "tcp://c:3"};
    uint64_t base = zr_peer_cluster (ids, eps, 3);
    zr_id_t ids_shuffled [] = {3, 1, 2};
    const char *eps_shuffled [] = {"tcp://c:3", "tcp://a:1", "tcp://b:2"};
    ck_assert_uint_eq (zr_peer_cluster (ids_shuffled, eps_shuffled, 3), base);
    const char *eps_moved [] = {"tcp://a:1", "tcp://b:9", "tcp://c:3"};
    ck_assert_uint_ne (zr_peer_cluster (ids, eps_moved, 3), base);
    zr_id_t ids_renumbered [] = {1, 2, 4};
    ck_assert_uint_ne (zr_peer_cluster (ids_renumbered, eps, 3), base);
    ck_assert_uint_ne (zr_peer_cluster (ids, eps, 2), base);
    /* The endpoint of one id is not another's: swapping them matters. */
    const char *eps_swapped [] = {"tcp://b:2", "tcp://a:1", "tcp://c:3"};
    ck_assert_uint_ne (zr_peer_cluster (ids, eps_swapped, 3), base);
    ck_assert_uint_ne (zr_random_id (), 0);
    ck_assert_uint_ne (zr_random_id (), zr_random_id ());
}
END_TEST

/* A DEALER of each kind carries its identity to the ROUTER it reaches. */
START_TEST (peer_dealer_identity_names_kind_and_id)
{
    char endpoint [256];
    zsock_t *router = s_router_on_free_port (endpoint, sizeof endpoint);
    const char kinds [] = {'n', 'r', 'd'};
    zr_peer_who_t who = {.id = 7, .cluster = 42, .instance = zr_random_id ()};
    for (size_t i = 0; i < sizeof kinds; i++) {
        zsock_t *dealer = zr_peer_dealer_new (kinds [i], &who, endpoint);
        ck_assert_ptr_nonnull (dealer);
        uint8_t byte = (uint8_t) i;
        /* IMMEDIATE: writable once connected; wait for that event. */
        zmq_pollitem_t item = {zsock_resolve (dealer), 0, ZMQ_POLLOUT, 0};
        ck_assert_int_eq (zmq_poll (&item, 1, 10000), 1);
        ck_assert_int_eq (zr_peer_send (dealer, &byte, 1), 0);
        zmsg_t *msg = zmsg_recv (router);
        ck_assert_ptr_nonnull (msg);
        zframe_t *identity = zmsg_first (msg);
        char kind = 0;
        zr_peer_who_t back;
        ck_assert_uint_eq (zr_peer_id_parse (zframe_data (identity),
                                             zframe_size (identity), &kind,
                                             &back), 7);
        ck_assert_int_eq (kind, kinds [i]);
        ck_assert_uint_eq (back.cluster, 42);
        ck_assert_uint_eq (back.instance, who.instance);
        zmsg_destroy (&msg);
        zsock_destroy (&dealer);
    }
    zsock_destroy (&router);
}
END_TEST

/* A stranger on a peer endpoint is answered in the protocol it spoke:
   a bus message with a bus ERROR MALFORMED of id 0, anything else
   (a client request, garbage, nothing) with a client MALFORMED reply of
   request 0, type 0; both carry the text, cut to the protocol's limit. */
START_TEST (peer_stranger_answer_speaks_its_protocol)
{
    const char *text = "this is a peer endpoint";
    uint8_t *request = NULL, *answer = NULL;
    size_t request_size = 0, answer_size = 0;
    zr_busmsg_t publish = {.type = ZR_BUSMSG_PUBLISH, .id = 7,
                           .subject = {(const uint8_t *) "s", 1}};
    ck_assert_int_eq (zr_busmsg_encode (&publish, &request, &request_size), 0);
    ck_assert_int_eq (zr_peer_stranger_answer (request, request_size, text,
                                               &answer, &answer_size), 0);
    zr_busmsg_t bus;
    ck_assert_int_eq (zr_busmsg_decode (answer, answer_size, &bus), 0);
    ck_assert_int_eq (bus.type, ZR_BUSMSG_ERROR);
    ck_assert_uint_eq (bus.id, 0);
    ck_assert_int_eq (bus.code, ZR_BUSMSG_CODE_MALFORMED);
    ck_assert_uint_eq (bus.text.size, strlen (text));
    ck_assert (memcmp (bus.text.data, text, strlen (text)) == 0);
    free (request);
    free (answer);

    zr_client_request_t put = {.type = ZR_CLIENT_PUT, .request_id = 9,
                               .client_id = 1, .seq = 1,
                               .key = {(const uint8_t *) "k", 1}};
    ck_assert_int_eq (zr_client_request_encode (&put, &request, &request_size), 0);
    const uint8_t garbage [] = {0xc1, 0x00, 0x42};
    struct { const uint8_t *data; size_t size; } frames [] = {
        {request, request_size}, {garbage, sizeof garbage}, {NULL, 0}};
    for (size_t f = 0; f < sizeof frames / sizeof frames [0]; f++) {
        ck_assert_int_eq (zr_peer_stranger_answer (frames [f].data, frames [f].size,
                                                   text, &answer, &answer_size), 0);
        zr_client_reply_t reply;
        ck_assert_int_eq (zr_client_reply_decode (answer, answer_size, &reply), 0);
        ck_assert_int_eq (reply.type, 0);
        ck_assert_uint_eq (reply.request_id, 0);
        ck_assert_int_eq (reply.code, ZR_CLIENT_MALFORMED);
        ck_assert_uint_eq (reply.message.size, strlen (text));
        free (answer);
    }
    free (request);

    /* A text over both limits is cut, not refused. */
    char *long_text = malloc (4096);
    ck_assert_ptr_nonnull (long_text);
    memset (long_text, 'x', 4095);
    long_text [4095] = 0;
    ck_assert_int_eq (zr_peer_stranger_answer (NULL, 0, long_text, &answer,
                                               &answer_size), 0);
    zr_client_reply_t reply;
    ck_assert_int_eq (zr_client_reply_decode (answer, answer_size, &reply), 0);
    ck_assert_uint_eq (reply.message.size, ZR_CLIENT_MESSAGE_MAX);
    free (answer);
    ck_assert_int_eq (zr_busmsg_encode (&publish, &request, &request_size), 0);
    ck_assert_int_eq (zr_peer_stranger_answer (request, request_size, long_text,
                                               &answer, &answer_size), 0);
    ck_assert_int_eq (zr_busmsg_decode (answer, answer_size, &bus), 0);
    ck_assert_uint_eq (bus.text.size, ZR_BUSMSG_TEXT_MAX);
    free (answer);
    free (request);
    free (long_text);
}
END_TEST

/* Twins are two instances heard side by side for the span; a restart
   (the old instance silent once its last frames are read, even a few
   after the new one's first) never is. */
START_TEST (peer_heard_tells_twins_from_a_restart)
{
    const int64_t span = 1000;
    zr_peer_heard_t heard = {0};
    for (int64_t t = 0; t <= 10000; t += 50)
        ck_assert (!zr_peer_heard (&heard, 0xa, t, span));
    /* A restart: b from 10010, a's queued frames read until 10100. */
    zr_peer_heard_t restart = heard;
    for (int64_t t = 10010; t <= 30000; t += 10)
        ck_assert (!zr_peer_heard (&restart, t <= 10100 && t % 20 ? 0xa : 0xb,
                                   t, span));
    /* Twins: a every 50 ms, b every 300 ms from 10300 on. */
    int64_t found = 0;
    for (int64_t t = 10050; t <= 20000 && !found; t += 50) {
        if (zr_peer_heard (&heard, 0xa, t, span)
            || (t % 300 == 100 && zr_peer_heard (&heard, 0xb, t, span)))
            found = t;
    }
    ck_assert_int_ge (found, 10300 + span);
    ck_assert_int_le (found, 10300 + span + 300);
    /* A third instance takes the place of the one heard least lately. */
    zr_peer_heard_t three = {0};
    ck_assert (!zr_peer_heard (&three, 1, 0, span));
    ck_assert (!zr_peer_heard (&three, 2, 10, span));
    ck_assert (!zr_peer_heard (&three, 1, 20, span));
    ck_assert (!zr_peer_heard (&three, 3, 30, span));   /* 2 goes */
    ck_assert_uint_eq (three.n, 2);
    ck_assert (three.instance [0] == 1 && three.instance [1] == 3);
    ck_assert (!zr_peer_heard (&three, 1, 1030, span));
    ck_assert (zr_peer_heard (&three, 3, 1030, span));
}
END_TEST

/* zr_peer_send_to: a frame reaches the client whose routing id it
   names, as one message after its routing id; a routing id no client
   has is refused (ROUTER_MANDATORY) with nothing queued, and the next
   send to the known one still arrives whole. */
START_TEST (peer_send_to_reaches_the_named_client)
{
    char endpoint [256];
    zsock_t *router = s_router_on_free_port (endpoint, sizeof endpoint);
    zsock_set_router_mandatory (router, 1);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    ck_assert_ptr_nonnull (dealer);
    zsock_set_identity (dealer, "client-1");
    ck_assert_int_eq (zsock_connect (dealer, "%s", endpoint), 0);
    zstr_send (dealer, "hello");        /* the router learns the client */
    zmsg_t *hello = zmsg_recv (router);
    ck_assert_ptr_nonnull (hello);
    zframe_t *routing = zmsg_first (hello);
    const char body [] = "a frame of forty bytes, more than a VSM!";
    ck_assert_int_eq (zr_peer_send_to (router, "nobody", 6, body, sizeof body),
                      ZR_EBUSY);
    ck_assert_int_eq (zr_peer_send_to (router, zframe_data (routing),
                                       zframe_size (routing), body, sizeof body), 0);
    zmsg_t *got = zmsg_recv (dealer);
    ck_assert_ptr_nonnull (got);
    ck_assert_uint_eq (zmsg_size (got), 1);
    zframe_t *frame = zmsg_first (got);
    ck_assert_uint_eq (zframe_size (frame), sizeof body);
    ck_assert_mem_eq (zframe_data (frame), body, sizeof body);
    zmsg_destroy (&got);
    zmsg_destroy (&hello);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}
END_TEST

static void
s_setup (void)
{
    zsys_init ();
    zsys_set_logstream (tmpfile ());    /* the expected bind errors */
}

int
main (void)
{
    Suite *s = suite_create ("peer");
    TCase *tc = tcase_create ("router");
    tcase_add_checked_fixture (tc, s_setup, zsys_shutdown);
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, peer_router_binds_once_the_port_is_released);
    tcase_add_test (tc, peer_router_gives_up_on_a_port_kept_busy);
    tcase_add_test (tc, peer_router_refuses_a_bad_endpoint);
    tcase_add_test (tc, peer_router_names_a_host_not_of_this_machine);
    tcase_add_test (tc, peer_id_parse_knows_the_three_links);
    tcase_add_test (tc, peer_cluster_names_ids_and_endpoints);
    tcase_add_test (tc, peer_dealer_identity_names_kind_and_id);
    tcase_add_test (tc, peer_send_to_reaches_the_named_client);
    tcase_add_test (tc, peer_stranger_answer_speaks_its_protocol);
    tcase_add_test (tc, peer_heard_tells_twins_from_a_restart);
    suite_add_tcase (s, tc);
    return check_run (s);
}
