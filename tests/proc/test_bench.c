/*  =========================================================================
    test_bench - zraft-bench --procs: real zraft-node processes, loaded
    through the client protocol

    1. `zraft-bench --procs --duration 1 --json` exits 0 and prints one
       JSON object: server "zraft-node", procs true, ops > 0 (and
       entries, the key the bench/ scripts read, the same), entries_per_s
       > 0, verified true, no failed request, a p50 latency, one per_node
       object per node with its process's CPU and peak RSS (the WAL
       counters zraft-node does not report are null), and the samples of
       every node. The run's data dir is gone afterwards.
    2. A flag zraft-node has no setting for is refused with --procs (exit
       64, a message naming it), and so is a --node-bin that is not an
       executable.
    3. `zraft-bench --bus --inproc` (P producers, C consumers on the
       message bus of an in-process cluster) exits 0 with one JSON object
       whose counts agree: publishes acknowledged in the window and in
       all, every consumer received every message in index order
       (delivered_all, nothing missing, no disorder), deliveries in the
       window no more than C times the messages, latencies of both kinds,
       no error; and a bad --bus flag exits 64 naming it. The same with
       --endpoints, on three zraft-node processes' bus endpoints (the
       procs fixture), through the bus protocol.
    4. With --endpoints, churn subscribers and the servers' pids: 4 idle
       subscribers (credit 0) are all still open at the end and got no
       delivery; 2 dropping subscribers each subscribed once and
       disconnected once (at least one mid-stream: deliveries taken;
       the first drops a third of a second in, which a loaded machine
       may not fill), a reading one
       took deliveries, with nothing ended by a server; the servers'
       memory is reported (3 values > 0 at the start and the end, peaks
       at least the end, anonymous memory within the end's), while the
       consumers still get every message. Bad churn or pid flags
       (out of range, --drop-every without dropping subscribers, with
       --inproc) exit 64 naming the flag.

    The bench is <build>/bin/zraft-bench next to this test's build dir;
    its nodes are procs_binary () (build/bin/zraft-node or
    $ZRAFT_NODE_BIN), passed as --node-bin.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../lib/check_run.h"
#include "../lib/procs.h"

/* A run of zraft-bench --procs takes at most: its nodes' start and
   election (the bench waits 20 s + 20 election timeouts of 500 ms), the
   measured second, verify (5 s) and the nodes' stop (10 s); twice that
   on a loaded machine. */
#define S_RUN_MS (2 * (20000 + 20 * 500 + 1000 + 5000 + 10000))
#define S_USAGE_MS 10000                /* a refused flag: at once */
#define S_PATH_MAX 512

/* <build>/bin/zraft-bench, from this test's <build>/tests/proc/test_x. */
static const char *
s_bench (void)
{
    static char path [S_PATH_MAX];
    char exe [S_PATH_MAX] = "";
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt (n, 0);
    exe [n] = 0;
    snprintf (path, sizeof path, "%s/bin/zraft-bench",
              dirname (dirname (dirname (exe))));
    return path;
}

/* Check refuses a failure message longer than CK_MAX_MSG_SIZE (4 KiB
   by default) and ends the test with exit 2 instead: messages quote at
   most S_SHOWN bytes of the output, its end (s_tail) or a JSON object's
   start ("%.1500s"); a failing run's whole output goes to stderr. */
#define S_SHOWN 1500

/* The last S_SHOWN bytes of text. */
static const char *
s_tail (const char *text)
{
    size_t size = strlen (text);
    return size > S_SHOWN ? text + size - S_SHOWN : text;
}

/* The line of output that starts with '{' (the JSON object), or NULL. */
static const char *
s_json_line (const char *output)
{
    for (const char *line = output; line && *line;) {
        if (*line == '{')
            return line;
        line = strchr (line, '\n');
        line = line ? line + 1 : NULL;
    }
    return NULL;
}

/* The text after "key": in json (first occurrence), or NULL. */
static const char *
s_value (const char *json, const char *key)
{
    char quoted [64];
    snprintf (quoted, sizeof quoted, "\"%s\":", key);
    const char *at = strstr (json, quoted);
    return at ? at + strlen (quoted) : NULL;
}

/* The number after "key": in json; fails the test if there is none. */
static double
s_number (const char *json, const char *key)
{
    const char *at = s_value (json, key);
    ck_assert_msg (at, "no \"%s\" in %.400s", key, json);
    char *end = NULL;
    double value = strtod (at, &end);
    ck_assert_msg (end != at, "\"%s\" is not a number: %.40s", key, at);
    return value;
}

/* True if "key": is followed by text in json. */
static bool
s_is (const char *json, const char *key, const char *text)
{
    const char *at = s_value (json, key);
    return at && strncmp (at, text, strlen (text)) == 0;
}

/* How many times needle occurs in haystack. */
static int
s_count (const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *at = strstr (haystack, needle); at;
         at = strstr (at + 1, needle))
        n++;
    return n;
}

START_TEST (procs_json_ops_verified)
{
    char dir [] = "/tmp/zraft-test-bench-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    char run [S_PATH_MAX];
    snprintf (run, sizeof run, "%s/run", dir);
    const char *argv [] = {s_bench (), "--procs", "--duration", "1",
                           "--warmup", "0", "--inflight", "32", "--json",
                           "--sample-interval", "1", "--dir", run,
                           "--node-bin", procs_binary (), NULL};
    char *output = NULL;
    int status = procs_run (argv, NULL, S_RUN_MS, &output);
    ck_assert_ptr_nonnull (output);
    bool exited = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    if (!exited)
        fprintf (stderr, "zraft-bench --procs: its output:\n%s\n", output);
    ck_assert_msg (exited, "zraft-bench --procs: wait status %d; its end:\n%s",
                   status, s_tail (output));
    const char *json = s_json_line (output);
    ck_assert_msg (json, "no JSON object in (its end):\n%s", s_tail (output));
    ck_assert_msg (s_is (json, "server", "\"zraft-node\""), "%.1500s", json);
    ck_assert_msg (s_is (json, "procs", "true"), "%.1500s", json);
    ck_assert_msg (s_is (json, "verified", "true"), "%.1500s", json);
    double ops = s_number (json, "ops");
    ck_assert_msg (ops > 0, "ops %g", ops);
    ck_assert_msg (s_number (json, "entries") == ops, "entries != ops");
    ck_assert_msg (s_number (json, "entries_per_s") > 0, "%.1500s", json);
    ck_assert_msg (s_number (json, "errors") == 0, "%.1500s", json);
    ck_assert_msg (s_number (json, "nodes") == 3, "%.1500s", json);
    ck_assert_msg (s_number (json, "p50") > 0, "%.1500s", json);
    /* Every node: its own process's figures; what zraft-node does not
       report is null. */
    ck_assert_int_eq (s_count (json, "\"cpu_s\":"), 3);
    ck_assert_int_eq (s_count (json, "\"rss_peak_mib\":"), 3);
    ck_assert_int_eq (s_count (json, "\"fsyncs_per_s\":null"), 3);
    const char *per_node = s_value (json, "per_node");
    ck_assert_ptr_nonnull (per_node);
    ck_assert_msg (s_number (per_node, "rss_peak_mib") > 0, "%.1500s", json);
    /* Samples at 0 s, 1 s and the end (1 s): every node at least twice. */
    ck_assert_msg (s_is (json, "rss_of", "\"node process\""), "%.1500s", json);
    const char *samples = s_value (json, "samples");
    ck_assert_ptr_nonnull (samples);
    ck_assert_int_ge (s_count (samples, "\"node\":3"), 2);
    ck_assert_msg (s_number (samples, "rss_bytes") > 0, "%.1500s", json);
    free (output);
    /* The bench made the data dir: it removed it. */
    ck_assert_msg (access (run, F_OK) != 0, "%s is still there", run);
    ck_assert_int_eq (rmdir (dir), 0);
}
END_TEST

START_TEST (procs_refuses_what_does_not_apply)
{
    static const char *const cases [][3] = {
        {"--window", "1", "--window does not apply with --procs"},
        {"--rate", "100", "--rate does not apply with --procs"},
        {"--state-bytes", "64", "--state-bytes does not apply with --procs"},
        {"--delay", "5:2", "jitter does not apply"},
        {"--node-bin", "/nonexistent/zraft-node", "--node-bin must name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        const char *argv [] = {s_bench (), "--procs", cases [i][0],
                               cases [i][1], NULL};
        char *output = NULL;
        int status = procs_run (argv, NULL, S_USAGE_MS, &output);
        ck_assert_ptr_nonnull (output);
        ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 64,
                       "%s %s: wait status %d:\n%s", cases [i][0],
                       cases [i][1], status, s_tail (output));
        ck_assert_msg (strstr (output, cases [i][2]),
                       "%s %s: no '%s' in:\n%s", cases [i][0], cases [i][1],
                       cases [i][2], s_tail (output));
        free (output);
    }
}
END_TEST

/* Runs zraft-bench with argv (after its path), expecting exit 0 and
   one JSON object. Returns the output (caller frees) with *json in it. */
static char *
s_bench_json (const char *const *args, const char **json)
{
    const char *argv [32] = {s_bench ()};
    size_t n = 1;
    for (; args [n - 1] && n < 31; n++)
        argv [n] = args [n - 1];
    argv [n] = NULL;
    char *output = NULL;
    int status = procs_run (argv, NULL, S_RUN_MS, &output);
    ck_assert_ptr_nonnull (output);
    bool exited = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    if (!exited)
        fprintf (stderr, "zraft-bench %s: its output:\n%s\n", args [0], output);
    ck_assert_msg (exited, "zraft-bench %s: wait status %d; its end:\n%s",
                   args [0], status, s_tail (output));
    *json = s_json_line (output);
    ck_assert_msg (*json, "no JSON object in (its end):\n%s", s_tail (output));
    return output;
}

/* The --bus report json agrees with itself (3. above), for C consumers. */
static void
s_bus_report_sane (const char *json, double consumers)
{
    double acked = s_number (json, "acked");
    double total = s_number (json, "acked_total");
    ck_assert_msg (acked > 0 && total >= acked, "%.1500s", json);
    ck_assert_msg (s_is (json, "delivered_all", "true"), "%.1500s", json);
    ck_assert_msg (s_number (json, "missing") == 0, "%.1500s", json);
    ck_assert_msg (s_number (json, "disorder") == 0, "%.1500s", json);
    ck_assert_msg (s_number (json, "errors") == 0, "%.1500s", json);
    double delivered = s_number (json, "delivered");
    ck_assert_msg (delivered > 0 && delivered <= consumers * total, "%.1500s",
                   json);
    ck_assert_msg (s_number (json, "ops_per_s") == acked, "%.1500s", json);
    ck_assert_msg (s_number (s_value (json, "latency_ms"), "p50") > 0,
                   "%.1500s", json);
    ck_assert_msg (s_number (s_value (json, "deliver_ms"), "p50") > 0,
                   "%.1500s", json);
    ck_assert_msg (s_number (json, "last_index") >= total, "%.1500s", json);
}

START_TEST (bus_inproc_counts_agree)
{
    const char *args [] = {"--bus", "--inproc", "--duration", "1", "--warmup",
                           "0", "--inflight", "32", "--producers", "4",
                           "--consumers", "3", "--credit", "64", "--json",
                           NULL};
    const char *json = NULL;
    char *output = s_bench_json (args, &json);
    ck_assert_msg (s_is (json, "mode", "\"bus\"") && s_is (json, "way",
                   "\"inproc\""), "%.1500s", json);
    s_bus_report_sane (json, 3);
    free (output);

    const char *bad [] = {s_bench (), "--bus", "--inproc", "--credit", "1", NULL};
    output = NULL;
    int status = procs_run (bad, NULL, S_USAGE_MS, &output);
    ck_assert_ptr_nonnull (output);
    ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 64
                   && strstr (output, "--credit must be"), "%d:\n%s", status,
                   s_tail (output));
    free (output);
}
END_TEST

/* Three zraft-node processes with bus endpoints and a leader; their
   bus endpoints, comma separated, in endpoints. Caller destroys it. */
static procs_t *
s_bus_cluster (char *endpoints, size_t size)
{
    const char *extra [] = {PROCS_BUS, NULL};
    procs_t *procs = procs_new (3, extra);
    ck_assert_uint_ne (procs_leader (procs, PROCS_LEADER_WAIT_MS), 0);
    snprintf (endpoints, size, "%s,%s,%s", procs_bus_endpoint (procs, 1),
              procs_bus_endpoint (procs, 2), procs_bus_endpoint (procs, 3));
    return procs;
}

/* The numbers of the JSON array after "key": in json, at most max of
   them; fails the test if there is none. Returns how many. */
static int
s_numbers (const char *json, const char *key, double *out, int max)
{
    const char *at = s_value (json, key);
    ck_assert_msg (at && *at == '[', "no \"%s\" array in %.1500s", key, json);
    int n = 0;
    for (at++; n < max && *at != ']';) {
        char *end = NULL;
        out [n] = strtod (at, &end);
        ck_assert_msg (end != at, "\"%s\": %.40s", key, at);
        n++;
        at = *end == ',' ? end + 1 : end;
    }
    return n;
}

START_TEST (bus_remote_churn_counted)
{
    char endpoints [256], pids [64];
    procs_t *procs = s_bus_cluster (endpoints, sizeof endpoints);
    snprintf (pids, sizeof pids, "%d,%d,%d", (int) procs_pid (procs, 1),
              (int) procs_pid (procs, 2), (int) procs_pid (procs, 3));
    const char *args [] = {"--bus", "--endpoints", endpoints, "--duration",
                           "1", "--warmup", "0", "--inflight", "32",
                           "--consumers", "2", "--credit", "64",
                           "--idle-subscribers", "4",
                           "--dropping-subscribers", "2",
                           "--reading-subscribers", "1",
                           "--server-pids", pids, "--json", NULL};
    const char *json = NULL;
    char *output = s_bench_json (args, &json);
    s_bus_report_sane (json, 2);
    ck_assert_msg (s_number (json, "idle_subscribers") == 4
                   && s_number (json, "idle_open") == 4
                   && s_number (json, "idle_deliveries") == 0, "%.1500s", json);
    ck_assert_msg (s_number (json, "dropping_subscribers") == 2
                   && s_number (json, "dropping_subscribes") == 2
                   && s_number (json, "dropping_subscribed") == 2
                   && s_number (json, "disconnections") == 2
                   && s_number (json, "mid_stream") >= 1
                   && s_number (json, "dropping_deliveries") > 0
                   && s_number (json, "reading_subscribers") == 1
                   && s_number (json, "reading_deliveries") > 0
                   && s_number (json, "subs_ended") == 0, "%.1500s", json);
    const char *rss = s_value (json, "servers_rss_kib");
    ck_assert_msg (rss && *rss == '{', "%.1500s", json);
    double start [4], end [4], hwm [4], anon [4];
    ck_assert_int_eq (s_numbers (rss, "anon_end", anon, 4), 3);
    ck_assert_int_eq (s_numbers (rss, "start", start, 4), 3);
    ck_assert_int_eq (s_numbers (rss, "end", end, 4), 3);
    ck_assert_int_eq (s_numbers (rss, "hwm_end", hwm, 4), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_msg (start [i] > 0 && end [i] > 0 && hwm [i] >= end [i]
                       && anon [i] > 0 && anon [i] <= end [i],
                       "server %d: %.400s", i + 1, rss);
    free (output);
    procs_destroy (&procs);

    static const char *const bad [][4] = {
        {"--endpoints", "tcp://127.0.0.1:1", "--idle-subscribers", "1025"},
        {"--endpoints", "tcp://127.0.0.1:1", "--idle-subscribers", "-1"},
        {"--endpoints", "tcp://127.0.0.1:1", "--dropping-subscribers", "257"},
        {"--endpoints", "tcp://127.0.0.1:1", "--drop-every", "100"},
        {"--endpoints", "tcp://127.0.0.1:1", "--reading-subscribers", "x"},
        {"--endpoints", "tcp://127.0.0.1:1", "--server-pids", "1,,2"},
        {"--inproc", "--idle-subscribers", "1", NULL},
        {"--endpoints", "foo", NULL, NULL},
        {"--endpoints", "tcp://127.0.0.1:65536", NULL, NULL},
        {"--endpoints", "tcp://127.0.0.1:1", "--endpoints", "tcp://127.0.0.1:2"},
    };
    static const char *const named [] = {"--idle-subscribers",
        "--idle-subscribers", "--dropping-subscribers", "--drop-every",
        "--reading-subscribers", "--server-pids", "--idle-subscribers",
        "'foo' is not tcp://HOST:PORT", "is not tcp://HOST:PORT",
        "--endpoints is given twice"};
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        const char *argv [] = {s_bench (), "--bus", bad [i][0], bad [i][1],
                               bad [i][2], bad [i][3], NULL};
        output = NULL;
        int status = procs_run (argv, NULL, S_USAGE_MS, &output);
        ck_assert_ptr_nonnull (output);
        ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 64
                       && strstr (output, named [i]), "%s %s: %d:\n%s",
                       bad [i][2], bad [i][3] ? bad [i][3] : "", status,
                       s_tail (output));
        free (output);
    }
}
END_TEST

START_TEST (bus_remote_counts_agree)
{
    char endpoints [256], list [512];
    procs_t *procs = s_bus_cluster (endpoints, sizeof endpoints);
    /* A peer endpoint first in the list is named and left out: the 3
       consumers go to the 3 bus endpoints. */
    snprintf (list, sizeof list, "%s,%s", procs_peer_endpoint (procs, 2), endpoints);
    const char *args [] = {"--bus", "--endpoints", list, "--duration",
                           "1", "--warmup", "0", "--inflight", "32",
                           "--consumers", "3", "--credit", "64", "--json",
                           NULL};
    const char *json = NULL;
    char *output = s_bench_json (args, &json);
    ck_assert_msg (s_is (json, "way", "\"remote\""), "%.1500s", json);
    s_bus_report_sane (json, 3);
    ck_assert_msg (strstr (output, "this is the peer endpoint of server 2"), "%s",
                   s_tail (output));
    free (output);
    /* Endpoints that cannot read what the mode sends (a client or bus
       endpoint of the other protocol, a peer endpoint) are named, and
       when none is left the run stops at once (within S_USAGE_MS, a
       third of the leader wait), exit 1. */
    static const struct {
        const char *mode;
        const char *wants;                  /* what every endpoint is not */
        const char *answered;               /* what the other kind says */
    } wrong [] = {
        {"--bus", "a bus endpoint", "answered in the client protocol"},
        {"--kv", "a client endpoint", "answered in the bus protocol"},
    };
    for (size_t w = 0; w < 2; w++) {
        snprintf (list, sizeof list, "%s,%s", w == 0 ? procs_client_endpoint (procs, 1)
                                                     : procs_bus_endpoint (procs, 1),
                  procs_peer_endpoint (procs, 2));
        const char *argv [] = {s_bench (), wrong [w].mode, "--endpoints", list,
                               "--duration", "1", NULL};
        output = NULL;
        int status = procs_run (argv, NULL, S_USAGE_MS, &output);
        ck_assert_ptr_nonnull (output);
        char none [64];
        snprintf (none, sizeof none, "no endpoint of --endpoints is %s", wrong [w].wants);
        ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 1
                       && strstr (output, wrong [w].answered)
                       && strstr (output, "this is the peer endpoint of server 2")
                       && strstr (output, none), "%s: %d:\n%s", wrong [w].mode,
                       status, s_tail (output));
        free (output);
    }
    /* Given only a follower's endpoint, each mode finds the leader
       through what the follower says of it (STATUS's member list, the
       bus's NOT_LEADER) and runs. */
    uint32_t leader = procs_leader (procs, PROCS_LEADER_WAIT_MS);
    ck_assert_uint_gt (leader, 0);
    uint32_t follower = leader % 3 + 1;
    const char *kv [] = {"--kv", "--endpoints", procs_client_endpoint (procs, follower),
                         "--duration", "1", "--warmup", "0", "--inflight", "8",
                         "--json", NULL};
    output = s_bench_json (kv, &json);
    ck_assert_msg (s_number (json, "ops") > 0, "%.1500s", json);
    free (output);
    const char *bus [] = {"--bus", "--endpoints", procs_bus_endpoint (procs, follower),
                          "--duration", "1", "--warmup", "0", "--inflight", "8",
                          "--consumers", "1", "--json", NULL};
    output = s_bench_json (bus, &json);
    s_bus_report_sane (json, 1);
    free (output);
    procs_destroy (&procs);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("bench");
    TCase *tc = tcase_create ("bench");
    tcase_set_timeout (tc, PROCS_TEST_TIMEOUT_S);
    tcase_add_test (tc, procs_json_ops_verified);
    tcase_add_test (tc, procs_refuses_what_does_not_apply);
    tcase_add_test (tc, bus_inproc_counts_agree);
    tcase_add_test (tc, bus_remote_counts_agree);
    tcase_add_test (tc, bus_remote_churn_counted);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
