/*  =========================================================================
    test_peer - the peer sockets (transport/peer.h): binding a ROUTER
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
    ck_assert_int_gt (zsock_bind (sock, "tcp://127.0.0.1:*"), 0);
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
    suite_add_tcase (s, tc);
    return check_run (s);
}
