/*  =========================================================================
    test_poller - unit tests of transport/poller: a thread's wait on its
    sockets that asks ZMQ_EVENTS only of the readers that may hold input

    The readers are inproc PAIR sockets (the actors' pipes are PAIRs), or
    an actor's pipe. The design notes of poller.h are cited by number:
    (1) a clean reader with an unreadable fd holds nothing, (2) a reader
    returned stays dirty, (3) a send (or anything else that processes a
    reader's commands) may take its signal: zr_poller_sent.
    =========================================================================
*/
#include "../../transport/transport.h"
#include <check.h>
#include "../lib/check_run.h"

#define S_WAIT_MS 5000                  /* far longer than any hand-off */

/* A connected PAIR: *in is the reader, *out writes to it. */
static void
s_pair (zsock_t **in, zsock_t **out, const char *name)
{
    char *bind_ep = zsys_sprintf ("@inproc://poller-%s", name);
    char *connect_ep = zsys_sprintf (">inproc://poller-%s", name);
    *in = zsock_new_pair (bind_ep);
    *out = zsock_new_pair (connect_ep);
    zstr_free (&bind_ep);
    zstr_free (&connect_ep);
    ck_assert_ptr_nonnull (*in);
    ck_assert_ptr_nonnull (*out);
}

/* Reads one string off sock and checks it is want. */
static void
s_recv_is (zsock_t *sock, const char *want)
{
    char *got = zstr_recv (sock);
    ck_assert_str_eq (got, want);
    zstr_free (&got);
}

/* Two readers with input: the first added comes first, as with zpoller,
   then the other once the first is empty. */
START_TEST (poller_wait_returns_readers_in_order)
{
    zsock_t *a, *a_out, *b, *b_out;
    s_pair (&a, &a_out, "order-a");
    s_pair (&b, &b_out, "order-b");
    zr_poller_t *poller = zr_poller_new (a, b, NULL);
    zstr_send (b_out, "b");
    zstr_send (a_out, "a");
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), a);
    s_recv_is (a, "a");
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), b);
    s_recv_is (b, "b");
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    ck_assert (zr_poller_expired (poller));
    ck_assert (!zr_poller_terminated (poller));
    zr_poller_destroy (&poller);
    ck_assert_ptr_null (poller);
    zr_poller_destroy (&poller);        /* idempotent */
    zsock_destroy (&a);
    zsock_destroy (&a_out);
    zsock_destroy (&b);
    zsock_destroy (&b_out);
}
END_TEST

/* Nothing arrives: a wait of 20 ms returns NULL, expired, no earlier. */
START_TEST (poller_wait_times_out)
{
    zsock_t *a, *a_out;
    s_pair (&a, &a_out, "timeout");
    zr_poller_t *poller = zr_poller_new (a, NULL);
    int64_t start = zclock_mono ();
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 20));
    ck_assert_int_ge (zclock_mono () - start, 20);
    ck_assert (zr_poller_expired (poller));
    zr_poller_destroy (&poller);
    zsock_destroy (&a);
    zsock_destroy (&a_out);
}
END_TEST

/* Invariant 2: three messages queued at once signal the fd once; each
   wait still returns the reader until it is empty. */
START_TEST (poller_wait_returns_a_reader_until_empty)
{
    zsock_t *a, *a_out;
    s_pair (&a, &a_out, "dirty");
    zr_poller_t *poller = zr_poller_new (a, NULL);
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    zstr_send (a_out, "1");
    zstr_send (a_out, "2");
    zstr_send (a_out, "3");
    const char *want [] = {"1", "2", "3"};
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), a);
        s_recv_is (a, want [i]);
    }
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    zr_poller_destroy (&poller);
    zsock_destroy (&a);
    zsock_destroy (&a_out);
}
END_TEST

/* A mask leaves out a reader with input: the wait does not report it
   and does not spin on it; a later wait over all finds it. */
START_TEST (poller_mask_keeps_what_it_leaves_out)
{
    zsock_t *a, *a_out, *b, *b_out;
    s_pair (&a, &a_out, "mask-a");
    s_pair (&b, &b_out, "mask-b");
    zr_poller_t *poller = zr_poller_new (a, b, NULL);
    uint32_t only_a = zr_poller_bit (poller, a);
    ck_assert_uint_eq (only_a | zr_poller_bit (poller, b), 3);
    zstr_send (b_out, "b");
    ck_assert_ptr_null (zr_poller_wait (poller, only_a, 0));
    int64_t start = zclock_mono ();
    ck_assert_ptr_null (zr_poller_wait (poller, only_a, 20));
    ck_assert (zr_poller_expired (poller));
    ck_assert_int_ge (zclock_mono () - start, 20);
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), b);
    s_recv_is (b, "b");
    zr_poller_destroy (&poller);
    zsock_destroy (&a);
    zsock_destroy (&a_out);
    zsock_destroy (&b);
    zsock_destroy (&b_out);
}
END_TEST

/* Invariant 3: when something else processes a reader's commands (here
   ZMQ_EVENTS asked by the caller; a send does the same, at most once a
   millisecond), the message is there but the fd says nothing: without
   zr_poller_sent the wait misses it, with it the wait finds it. */
START_TEST (poller_sent_finds_input_whose_signal_was_taken)
{
    zsock_t *a, *a_out;
    s_pair (&a, &a_out, "sent");
    zr_poller_t *poller = zr_poller_new (a, NULL);
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    zstr_send (a_out, "hidden");
    ck_assert (zsock_events (a) & ZMQ_POLLIN);  /* takes the signal */
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    zr_poller_sent (poller, a);
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), a);
    s_recv_is (a, "hidden");
    zr_poller_destroy (&poller);
    zsock_destroy (&a);
    zsock_destroy (&a_out);
}
END_TEST

/* A raw fd (as zraft-node's signal fd) is ready while it is readable,
   after the sockets before it in order. */
START_TEST (poller_raw_fd_is_level_triggered)
{
    zsock_t *a, *a_out;
    s_pair (&a, &a_out, "rawfd");
    int fds [2];
    ck_assert_int_eq (pipe (fds), 0);
    zr_poller_t *poller = zr_poller_new (a, &fds [0], NULL);
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    ck_assert_int_eq (write (fds [1], "x", 1), 1);
    zstr_send (a_out, "a");
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), a);
    s_recv_is (a, "a");
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, S_WAIT_MS), &fds [0]);
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), &fds [0]);
    char c;
    ck_assert_int_eq (read (fds [0], &c, 1), 1);
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    zr_poller_destroy (&poller);
    close (fds [0]);
    close (fds [1]);
    zsock_destroy (&a);
    zsock_destroy (&a_out);
}
END_TEST

/* Answers each message on its pipe with the same string. */
static void
s_echo_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_signal (pipe, 0);
    char *text;
    while ((text = zstr_recv (pipe))) {
        bool term = streq (text, "$TERM");
        if (!term)
            zstr_send (pipe, text);
        zstr_free (&text);
        if (term)
            break;
    }
}

/* A blocking wait wakes when another thread writes: an actor's pipe,
   sent on first (zr_poller_sent), answered by the actor. */
START_TEST (poller_wait_wakes_on_another_thread)
{
    zactor_t *echo = zactor_new (s_echo_actor, NULL);
    ck_assert_ptr_nonnull (echo);
    zr_poller_t *poller = zr_poller_new (zactor_sock (echo), NULL);
    for (int i = 0; i < 100; i++) {
        zstr_sendf (zactor_sock (echo), "%d", i);
        zr_poller_sent (poller, zactor_sock (echo));
        void *which = zr_poller_wait (poller, ZR_POLLER_ALL, S_WAIT_MS);
        ck_assert_ptr_eq (which, zactor_sock (echo));
        char *text = zstr_recv (zactor_sock (echo));
        ck_assert_int_eq (atoi (text), i);
        zstr_free (&text);
    }
    zr_poller_destroy (&poller);
    zactor_destroy (&echo);
}
END_TEST

/* A reader that was never added has no bit: asserted. */
/* Readers leave in the reverse order they came (a host's, node.h): the
   others keep their bits, the one removed is not waited on any more
   (its input stays for whoever reads it), and it can come back. */
START_TEST (poller_remove_takes_the_last_reader)
{
    zsock_t *a, *a_out, *b, *b_out;
    s_pair (&a, &a_out, "remove-a");
    s_pair (&b, &b_out, "remove-b");
    zr_poller_t *poller = zr_poller_new (a, b, NULL);
    uint32_t bit_a = zr_poller_bit (poller, a);
    zr_poller_remove (poller, b);
    ck_assert_uint_eq (zr_poller_bit (poller, a), bit_a);
    zstr_send (b_out, "b");
    ck_assert_ptr_null (zr_poller_wait (poller, ZR_POLLER_ALL, 0));
    zr_poller_add (poller, b);
    ck_assert_ptr_eq (zr_poller_wait (poller, ZR_POLLER_ALL, 0), b);
    s_recv_is (b, "b");
    zr_poller_destroy (&poller);
    zsock_destroy (&a);
    zsock_destroy (&a_out);
    zsock_destroy (&b);
    zsock_destroy (&b_out);
}
END_TEST

START_TEST (poller_bit_rejects_a_stranger)
{
    zsock_t *a, *a_out;
    s_pair (&a, &a_out, "stranger");
    zr_poller_t *poller = zr_poller_new (a, NULL);
    zr_poller_bit (poller, a_out);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("poller");
    TCase *tc = tcase_create ("zr_poller_wait");
    tcase_add_test (tc, poller_wait_returns_readers_in_order);
    tcase_add_test (tc, poller_wait_times_out);
    tcase_add_test (tc, poller_wait_returns_a_reader_until_empty);
    tcase_add_test (tc, poller_mask_keeps_what_it_leaves_out);
    tcase_add_test (tc, poller_wait_wakes_on_another_thread);
    tcase_add_test (tc, poller_raw_fd_is_level_triggered);
    tcase_add_test (tc, poller_remove_takes_the_last_reader);
    suite_add_tcase (s, tc);
    tc = tcase_create ("zr_poller_sent");
    tcase_add_test (tc, poller_sent_finds_input_whose_signal_was_taken);
    tcase_add_test_raise_signal (tc, poller_bit_rejects_a_stranger, SIGABRT);
    suite_add_tcase (s, tc);
    return check_run (s);
}
