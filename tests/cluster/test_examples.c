/*  =========================================================================
    test_examples - the programs of examples/ run, and say they worked

    Runs the built examples (build/examples/, next to this test's own
    directory) as a user would and checks their exit status and what
    they print: examples/embed.c, the README's embedding example, must
    start its three servers, get every one of its RESULTs, read its
    writes back linearizably and end with "ok"; with ports given on its
    command line it must use them; with bad arguments it must refuse
    with the usage and exit status 64 (so a broken example cannot pass by
    printing nothing). examples/broker.c, the Malamute-like broker on the
    bus, runs its demo: a producer and two consumers across the leader's
    death and restart, every message acknowledged and received once, by
    both consumers in one order, the durable consumer's cursor where it
    stopped.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include <libgen.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../lib/cluster.h"

#define S_OUTPUT_MAX 16384              /* bytes of an example's output kept */

/* Fills path with build/examples/name, found from this test binary's
   own path (build/tests/cluster/test_examples). */
static void
s_example_path (const char *name, char *path, size_t size)
{
    char self [1024];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt (n, 0);
    self [n] = '\0';
    char *build = dirname (dirname (dirname (self)));
    snprintf (path, size, "%s/examples/%s", build, name);
    ck_assert_msg (access (path, X_OK) == 0, "%s is not built (make examples)",
                   path);
}

/* Runs the example with args (a shell word list, may be empty), its
   stdout into out, stderr to the test's. Returns its exit status, or -1
   if it did not exit. */
static int
s_run (const char *name, const char *args, char *out, size_t size)
{
    char path [1100], command [1400];
    s_example_path (name, path, sizeof path);
    snprintf (command, sizeof command, "'%s' %s", path, args);
    FILE *pipe = popen (command, "r");
    ck_assert_ptr_nonnull (pipe);
    size_t used = fread (out, 1, size - 1, pipe);
    out [used] = '\0';
    int status = pclose (pipe);
    fprintf (stderr, "--- %s %s:\n%s", name, args, out);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* examples/embed.c with free ports: every submission answered with its
   token, the linearizable read sees them all, a stale read runs, "ok". */
START_TEST (embed_runs_and_reads_its_writes)
{
    char out [S_OUTPUT_MAX];
    ck_assert_int_eq (s_run ("embed", "", out, sizeof out), 0);
    ck_assert_ptr_nonnull (strstr (out, "started 3 servers"));
    for (int token = 1; token <= 12; token++) {
        char line [32];
        snprintf (line, sizeof line, "token %2d: ", token);
        ck_assert_msg (strstr (out, line), "no result for token %d", token);
    }
    ck_assert_ptr_nonnull (strstr (out, "all 12 results received"));
    ck_assert_ptr_nonnull (strstr (out, "apples = 56 (read index"));
    ck_assert_ptr_nonnull (strstr (out, "stale read on n"));
    ck_assert_ptr_nonnull (strstr (out, "\nok\n"));
}
END_TEST

/* Ports on the command line are the ones its servers use. */
START_TEST (embed_uses_the_ports_given)
{
    cluster_t *c = cluster_new (3);     /* only to find three free ports */
    char ports [64] = "";
    for (uint32_t id = 1; id <= 3; id++)
        snprintf (ports + strlen (ports), sizeof ports - strlen (ports), "%s ",
                  strrchr (cluster_endpoint (c, id), ':') + 1);
    char expect [128];
    snprintf (expect, sizeof expect, "started 3 servers: %s", cluster_endpoint (c, 1));
    cluster_destroy (&c);
    char out [S_OUTPUT_MAX];
    ck_assert_int_eq (s_run ("embed", ports, out, sizeof out), 0);
    ck_assert_ptr_nonnull (strstr (out, expect));
    ck_assert_ptr_nonnull (strstr (out, "\nok\n"));
}
END_TEST

/* Bad arguments: the usage, exit status 64, nothing started. */
START_TEST (embed_refuses_bad_arguments)
{
    char out [S_OUTPUT_MAX];
    ck_assert_int_eq (s_run ("embed", "1 2 2>&1", out, sizeof out), 64);
    ck_assert_ptr_nonnull (strstr (out, "usage: embed"));
    ck_assert_int_eq (s_run ("embed", "--bogus 2>&1", out, sizeof out), 64);
    ck_assert_ptr_null (strstr (out, "started"));
}
END_TEST

/* The broker's demo: the leader dies after 80 of 240 messages and comes
   back; nothing is lost or repeated, the consumers agree, "ok". */
START_TEST (broker_demo_survives_the_leaders_death)
{
    char out [S_OUTPUT_MAX];
    ck_assert_int_eq (s_run ("broker", "--demo", out, sizeof out), 0);
    ck_assert_ptr_nonnull (strstr (out, "its store 3 servers"));
    ck_assert_ptr_nonnull (strstr (out, ", the leader, with "));
    ck_assert_ptr_nonnull (strstr (out, "\nrestarted n"));
    ck_assert_ptr_nonnull (strstr (out, "240 sent, 240 acknowledged"));
    ck_assert_ptr_nonnull (strstr (out, "'temp.': 160 messages, each once, in"
                                        " the order the other saw them"));
    ck_assert_ptr_nonnull (strstr (out, "everything: 240 messages, each once"));
    const char *cursor = strstr (out, "cursor at index ");
    ck_assert_ptr_nonnull (cursor);
    unsigned long long at = 0, last = 0;
    ck_assert_int_eq (sscanf (cursor, "cursor at index %llu (its last: %llu)",
                              &at, &last), 2);
    ck_assert_uint_eq (at, last);
    ck_assert_uint_ge (at, 240);
    ck_assert_ptr_nonnull (strstr (out, "\nok\n"));
}
END_TEST

START_TEST (broker_refuses_bad_arguments)
{
    char out [S_OUTPUT_MAX];
    ck_assert_int_eq (s_run ("broker", "--bogus 2>&1", out, sizeof out), 64);
    ck_assert_ptr_nonnull (strstr (out, "usage: broker"));
    ck_assert_ptr_null (strstr (out, "broker on"));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("examples");
    TCase *tc = tcase_create ("embed");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, embed_runs_and_reads_its_writes);
    tcase_add_test (tc, embed_uses_the_ports_given);
    tcase_add_test (tc, embed_refuses_bad_arguments);
    suite_add_tcase (s, tc);
    tc = tcase_create ("broker");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, broker_demo_survives_the_leaders_death);
    tcase_add_test (tc, broker_refuses_bad_arguments);
    suite_add_tcase (s, tc);
    return check_run (s);
}
