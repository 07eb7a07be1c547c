/*  =========================================================================
    test_config - a bad configuration is refused, never aborts, leaks nothing

    zraft_new returns NULL and logs one line naming the problem, for every
    kind of bad configuration: the up-front checks in actors/zraft.c, and
    failures only an actor meets while starting (an address libzmq refuses,
    an endpoint already bound), which reach zraft_new through the actors'
    start-up result (actors/actors.h). The fixture's teardown fails a test
    that leaves a socket open; under make VARIANT=asan, LeakSanitizer
    fails one that leaks memory.
    =========================================================================
*/
#include <dirent.h>
#include <check.h>
#include <unistd.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"
#include "actors.h"

/* Three loopback endpoints no other process held when first asked for:
   ports above the range the cluster fixture picks from (20000..31999)
   and below the kernel's ephemeral range, from an offset of this
   process's own, so that copies of this test running at once (make
   test beside make asan) do not meet. */
static const char *
s_endpoint (uint32_t i)
{
    static char endpoints [3][64];
    if (!endpoints [0][0]) {
        uint32_t port = 32100 + (uint32_t) (getpid () * 7) % 600;
        uint32_t n = 0;
        for (uint32_t tries = 0; n < 3 && tries < 600;
             tries++, port = port + 1 >= 32700 ? 32100 : port + 1) {
            zsock_t *probe = zsock_new (ZMQ_ROUTER);
            ck_assert_ptr_nonnull (probe);
            if (zsock_bind (probe, "tcp://127.0.0.1:%u", port) == (int) port)
                snprintf (endpoints [n++], sizeof endpoints [0],
                          "tcp://127.0.0.1:%u", port);
            zsock_destroy (&probe);
        }
        ck_assert_msg (n == 3, "no free ports in 32100..32699");
    }
    return endpoints [i];
}

/* A valid three-server configuration for server 1, in dir. */
static void
s_config (zraft_config_t *config, const char *dir)
{
    zraft_config_defaults (config);
    config->id = 1;
    config->n_servers = 3;
    for (uint32_t i = 0; i < 3; i++)
        config->servers [i] = (zraft_server_t) {i + 1, s_endpoint (i)};
    config->data_dir = dir;
    config->heartbeat_ms = CLUSTER_HEARTBEAT_MS;
    config->election_timeout_ms = CLUSTER_ELECTION_MS;
}

/* Asserts that config is refused with an error line containing expect. */
static void
s_refused (const zraft_config_t *config, const char *expect)
{
    char why [1024];
    cluster_log_errors (why, sizeof why);   /* forget earlier lines */
    zraft_t *node = zraft_new (config, NULL);
    ck_assert_msg (node == NULL, "accepted a config with %s", expect);
    cluster_log_errors (why, sizeof why);
    ck_assert_msg (strstr (why, expect), "expected '%s' in: %s", expect, why);
}

/* Spoils config with bad case i (one field each) and returns the text
   its error line must hold, or NULL past the last case. file is a plain
   file, under_file a path below it. */
static const char *
s_bad_case (int i, zraft_config_t *c, const char *file, const char *under_file)
{
    switch (i) {
        case 0: c->servers [1].endpoint = "tcp://no-port-here";
                return "servers[1].endpoint 'tcp://no-port-here'";
        case 1: c->servers [2].endpoint = "tcp://127.0.0.1:70000";
                return "servers[2].endpoint";
        case 2: c->servers [2].endpoint = "ipc:///tmp/x:1";
                return "servers[2].endpoint";
        case 3: c->servers [1].endpoint = NULL;
                return "servers[1].endpoint is missing";
        case 4: c->servers [2].endpoint = c->servers [1].endpoint;
                return "is listed twice";
        case 5: c->servers [2].id = 2;
                return "server id 2 is listed twice";
        case 6: c->id = 4;
                return "id 4 is not one of the servers";
        case 7: c->servers [2].id = 10;
                return "servers[2].id 10";
        case 8: c->servers [0].id = c->id = 0;
                return "servers[0].id 0";
        case 9: c->n_servers = 0;
                return "n_servers 0";
        case 10: c->n_servers = ZRAFT_NODES_MAX + 1;
                return "n_servers 10";
        case 11: c->data_dir = NULL;
                return "data_dir is required";
        case 12: c->data_dir = file;
                return "Not a directory";
        case 13: c->data_dir = under_file;
                return "Not a directory";
        case 14: c->data_dir = "/nonexistent-zraft/a/b";
                return "No such file or directory";
        case 15: c->heartbeat_ms = c->election_timeout_ms;
                return "heartbeat_ms";
        case 16: c->heartbeat_ms = 0;
                return "heartbeat_ms (0)";
        case 17: c->inflight_max = 0;
                return "inflight_max 0";
        case 18: c->inflight_bytes_max = 0;
                return "inflight_bytes_max";
        case 19: c->batch_bytes = 0;
                return "batch_bytes 0";
        case 20: c->segment_bytes = 0;
                return "segment_bytes 0";
        case 21: c->dedup_window = 0;
                return "dedup_window 0 is not in 1..65536";
        case 22: c->dedup_window = 65537;
                return "dedup_window 65537";
        case 23: c->producers_max = 0;
                return "producers_max 0 is not in 1..";
        case 24: c->subs_max = 65537;
                return "subs_max 65537";
        case 25: c->servers [0].endpoint = "tcp://*:32199";     /* its own */
                return "servers[0].endpoint 'tcp://*:32199'";
        case 26: c->servers [0].endpoint = "tcp://0.0.0.0:32199";
                return "host not a wildcard such as * or 0.0.0.0";
        case 27: c->servers [1].endpoint = "tcp://[::]:32199";
                return "servers[1].endpoint 'tcp://[::]:32199'";
        case 28: c->servers [2].endpoint = "tcp://[*]:32199";
                return "servers[2].endpoint 'tcp://[*]:32199'";
        default: return NULL;
    }
}

/* Each bad field on its own, then a valid config that starts and stops:
   none aborts the process. */
START_TEST (zraft_new_refuses_bad_config)
{
    char dir [] = "/tmp/zraft-config-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    char file [64];
    snprintf (file, sizeof file, "%s/file", dir);
    FILE *f = fopen (file, "w");
    ck_assert_ptr_nonnull (f);
    fclose (f);
    char under_file [80];
    snprintf (under_file, sizeof under_file, "%s/sub", file);
    zraft_config_t c;
    for (int i = 0; ; i++) {
        s_config (&c, dir);
        const char *expect = s_bad_case (i, &c, file, under_file);
        if (!expect)
            break;
        s_refused (&c, expect);
    }
    /* The process's pipe HWM must hold what the node queues on a child
       pipe (back-pressure, actors/node.h). Not under TSan: it reports
       the mutex zsys_set_pipehwm takes inside uninstrumented czmq as
       unlocked by a wrong thread. */
#if !defined (__SANITIZE_THREAD__)
    s_config (&c, dir);
    size_t hwm = zsys_pipehwm ();
    zsys_set_pipehwm (10);
    s_refused (&c, "zsys_pipehwm 10");
    zsys_set_pipehwm (hwm);
#endif
    /* The valid configuration starts: the refusals left nothing behind. */
    s_config (&c, dir);
    zraft_t *node = zraft_new (&c, NULL);
    ck_assert_ptr_nonnull (node);
    zraft_destroy (&node);
    cluster_remove_dir (dir);
}
END_TEST

/* True if directory dir holds nothing. */
static bool
s_dir_empty (const char *dir)
{
    DIR *d = opendir (dir);
    ck_assert_ptr_nonnull (d);
    struct dirent *entry;
    bool empty = true;
    while (empty && (entry = readdir (d)))
        empty = streq (entry->d_name, ".") || streq (entry->d_name, "..");
    closedir (d);
    return empty;
}

/* Failures only a started actor meets reach zraft_new: a peer address
   libzmq refuses (the persister cannot connect its reply DEALER), and
   this server's endpoint already bound (the node cannot bind). The
   data directory, empty before, is empty after each. */
START_TEST (zraft_new_reports_actor_start_failure)
{
    char dir [] = "/tmp/zraft-config-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    zraft_config_t c;
    s_config (&c, dir);
    c.servers [2].endpoint = "tcp://bad host:32103";
    s_refused (&c, "cannot connect");
    ck_assert (s_dir_empty (dir));
    s_config (&c, dir);
    zsock_t *squatter = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (squatter);
    int port = zsock_bind (squatter, "tcp://127.0.0.1:!");
    ck_assert_int_gt (port, 0);
    char endpoint [64], expect [96];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    snprintf (expect, sizeof expect, "cannot bind %s", endpoint);
    c.servers [0].endpoint = endpoint;
    s_refused (&c, expect);
    ck_assert (s_dir_empty (dir));
    zsock_destroy (&squatter);
    zraft_t *node = zraft_new (&c, NULL);
    ck_assert_ptr_nonnull (node);
    zraft_destroy (&node);
    cluster_remove_dir (dir);
}
END_TEST

/* A write-ahead log whose term is below the term of an entry it holds
   lost its newest records (a segment removed or cut short), and the
   vote with them: refused, saying so, rather than started with a term
   it may vote in again. */
START_TEST (zraft_new_refuses_term_below_its_log)
{
    char dir [] = "/tmp/zraft-config-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    zr_wal_t *wal = NULL;
    zr_wal_state_t state;
    char err [256];
    ck_assert_int_eq (zr_wal_open (dir, CLUSTER_SEGMENT_BYTES, 0, &wal, &state,
                                   err, sizeof err), 0);
    zr_entries_destroy (&state.entries, state.n_entries);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 1, 0), 0);
    zr_entry_t entry = {.term = 2, .index = 1, .type = ZR_ENTRY_NOOP};
    ck_assert_int_eq (zr_wal_append (wal, &entry, 1), 0);
    ck_assert_int_eq (zr_wal_sync (wal, err, sizeof err), 0);
    zr_wal_destroy (&wal);
    zraft_config_t c;
    s_config (&c, dir);
    s_refused (&c, "term 1 is below term 2");
    cluster_remove_dir (dir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("config");
    TCase *tc = tcase_create ("zraft_new");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, zraft_new_refuses_bad_config);
    tcase_add_test (tc, zraft_new_reports_actor_start_failure);
    tcase_add_test (tc, zraft_new_refuses_term_below_its_log);
    suite_add_tcase (s, tc);
    return check_run (s);
}
