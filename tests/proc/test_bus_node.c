/*  =========================================================================
    test_bus_node - the message bus through zraft-node's bus endpoint,
    on real processes (tests/lib/procs.h, every node with --listen-bus)

    1. zraft-ctl as a user runs it: pub (one message, then lines from
       stdin), sub --from first (text and JSON), cursors.
    2. The client library pointed at a follower only: a publication
       follows NOT_LEADER to the leader's bus endpoint and is applied
       once.
    3. A subscriber on a follower gets every publication in order, and
       stays there.
    4. A consumer with a cursor takes three messages (committing the
       cursor), its server (the leader, which reads cursors) is killed,
       two more are published: the next consumer with the cursor starts
       exactly after the third, on the new leader.
    5. A subscription whose server is killed moves to another and goes
       on from the next index: nothing lost, nothing repeated; the same
       when its server stops in order (SIGTERM: ERROR UNAVAILABLE).
    6. A client that says nothing for --bus-timeout loses its
       subscription; a frame that does not decode gets ERROR MALFORMED
       with its id, and the server goes on.
    7. A backlog reaches a subscriber that asks for runs in DELIVERs of
       at most its run_max records, fewer DELIVERs than deliveries,
       every record in order; one that asks for none gets one record
       per DELIVER.
    8. A server stopped (SIGSTOP) for longer than --bus-timeout, its
       client as silent meanwhile, keeps that client's subscription.
    9. PUBLISH runs: each publication of a run is answered on its own
       id, exactly once; the ACKs of a run's publications come joined
       in ACK runs (fewer frames than publications), those of a
       publication sent alone alone; a run repeating (producer, seq)
       pairs is acknowledged as duplicates at the first ones' indexes;
       a follower answers NOT_LEADER to each publication of a run.
   10. A server that is stopping answers each publication of a run
       that reaches it with an ERROR UNAVAILABLE of its own.
   11. zraft-ctl when things go wrong: a sub that no server takes, a
       publication too big for a log entry, an over-long input line
       (its error after the lines before it), a cursor whose position
       the log compacted away (a hint; with --from, resumed there).

    Waits derive from procs.h's PROCS_*_MS and the bus timing below
    (--bus-heartbeat, --bus-timeout); on a failure the nodes' logs are
    printed.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <libgen.h>
#include <assert.h>
#include <signal.h>
#include <sys/wait.h>

#include "../lib/check_run.h"
#include "../lib/procs.h"
#include "../../bin/lib/busclient.h"

#define S_BUS_HEARTBEAT_MS 100
#define S_BUS_TIMEOUT_MS 1000
/* zraft-ctl's --timeout, and a run's bound: an election on a loaded
   machine, with room. */
#define S_CTL_TIMEOUT_MS PROCS_LEADER_WAIT_MS
#define S_ENV_MAX 256

extern char **environ;

static procs_t *s_procs;

#define S_ASSERT(expr, ...)                                                  \
    do {                                                                     \
        if (!(expr)) {                                                       \
            if (s_procs)                                                     \
                procs_dump (s_procs);                                        \
            ck_abort_msg (__VA_ARGS__);                                      \
        }                                                                    \
    } while (0)

static void
s_teardown (void)
{
    procs_destroy (&s_procs);
}

/* Three nodes with bus endpoints, and snapshots after entries with
   trailing entries kept behind them (NULL: the defaults); returns the
   leader's id. */
static uint32_t
s_cluster_snapshots (const char *entries, const char *trailing)
{
    char beat [16], timeout [16];
    snprintf (beat, sizeof beat, "%d", S_BUS_HEARTBEAT_MS);
    snprintf (timeout, sizeof timeout, "%d", S_BUS_TIMEOUT_MS);
    const char *extra [] = {PROCS_BUS, "--bus-heartbeat", beat,
                            "--bus-timeout", timeout,
                            entries ? "--snapshot-entries" : NULL, entries,
                            "--snapshot-trailing", trailing, NULL};
    s_procs = procs_new (3, extra);
    uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (leader, "no leader within %d ms", PROCS_LEADER_WAIT_MS);
    return leader;
}

/* Three nodes with bus endpoints; returns the leader's id. */
static uint32_t
s_cluster (void)
{
    return s_cluster_snapshots (NULL, NULL);
}

/* The bus endpoints of the running nodes, comma-separated. */
static void
s_bus_list (char *list, size_t size)
{
    list [0] = 0;
    for (uint32_t id = 1; id <= 3; id++)
        if (procs_running (s_procs, id)) {
            size_t at = strlen (list);
            snprintf (list + at, size - at, "%s%s", at ? "," : "",
                      procs_bus_endpoint (s_procs, id));
        }
}

static const char *
s_ctl_binary (void)
{
    static char path [1024];
    char node [1024 - 16];
    snprintf (node, sizeof node, "%s", procs_binary ());
    snprintf (path, sizeof path, "%s/zraft-ctl", dirname (node));
    return path;
}

/* Runs a shell command line with ZRAFT_BUS_ENDPOINTS set to the running
   nodes; returns its exit code, its output (stdout and stderr) in
   *output (caller frees). */
static int
s_sh (const char *command, char **output)
{
    char list [1024], variable [1100];
    s_bus_list (list, sizeof list);
    snprintf (variable, sizeof variable, "ZRAFT_BUS_ENDPOINTS=%s", list);
    char *env [S_ENV_MAX];
    size_t n = 0;
    for (char **e = environ; *e && n + 2 < S_ENV_MAX; e++)
        if (strncmp (*e, "ZRAFT_", 6) != 0)
            env [n++] = *e;
    env [n++] = variable;
    env [n] = NULL;
    const char *argv [] = {"/bin/sh", "-c", command, NULL};
    int status = procs_run (argv, env, S_CTL_TIMEOUT_MS + PROCS_EXIT_MS,
                            output);
    S_ASSERT (status >= 0 && WIFEXITED (status), "'%s' did not exit: %s",
              command, *output ? *output : "");
    return WEXITSTATUS (status);
}

/* zraft-ctl with args (one string, shell words). */
static int
s_ctl (const char *args, char **output)
{
    char command [8192];
    snprintf (command, sizeof command, "%s --timeout %d %s", s_ctl_binary (),
              S_CTL_TIMEOUT_MS, args);
    return s_sh (command, output);
}

/* A client of the bus endpoints of ids (a 0-terminated list). */
static zr_busclient_t *
s_client (const uint32_t *ids)
{
    const char *endpoints [3];
    size_t n = 0;
    for (; ids [n]; n++)
        endpoints [n] = procs_bus_endpoint (s_procs, ids [n]);
    zr_busclient_config_t config;
    zr_busclient_config_defaults (&config);
    config.calls.timeout_ms = S_CTL_TIMEOUT_MS;
    config.calls.window = 16;
    config.credit = 8;
    zr_busclient_t *client = zr_busclient_new (endpoints, n, &config);
    S_ASSERT (client, "cannot make a bus client");
    return client;
}

/* Publishes text under subject through client; returns its index. */
static uint64_t
s_publish (zr_busclient_t *client, const char *subject, const char *text)
{
    S_ASSERT (zr_busclient_publish (client, subject, text, strlen (text), 0)
              == 0, "publish refused");
    zr_busclient_event_t event;
    S_ASSERT (zr_busclient_recv (client, &event, -1) == 0
              && event.type == ZR_BUSCLIENT_RESULT, "no result");
    S_ASSERT (event.outcome == ZR_KVCLIENT_DONE, "publish of %s: %s", text,
              event.error);
    uint64_t index = event.msg.index;
    zr_busclient_event_release (&event);
    return index;
}

/* --------------------------------------------------------------- tests */

/* 1. zraft-ctl pub, pub from stdin, sub (text and JSON), cursors; status
   shows the bus endpoints, and pub given client endpoints only finds
   them. */
START_TEST (bus_ctl_pub_sub_cursors)
{
    s_cluster ();
    char *out = NULL;
    int code = s_ctl ("pub orders.eu hello", &out);
    unsigned long long first, term;
    S_ASSERT (code == 0 && sscanf (out, "%llu %llu", &first, &term) == 2,
              "pub: exit %d: %s", code, out);
    free (out);
    char command [8192];
    snprintf (command, sizeof command, "printf 'a\\nb b\\n\\nd\\n' | %s"
              " --timeout %d pub orders.bulk", s_ctl_binary (),
              S_CTL_TIMEOUT_MS);
    code = s_sh (command, &out);
    /* Each line's own term: a leader may change between the two pubs. */
    unsigned long long index [4], terms [4];
    S_ASSERT (code == 0 && sscanf (out, "%llu %llu %llu %llu %llu %llu %llu"
                                   " %llu", &index [0], &terms [0], &index [1],
                                   &terms [1], &index [2], &terms [2],
                                   &index [3], &terms [3]) == 8,
              "pub from stdin: exit %d: %s", code, out);
    for (int i = 0; i < 4; i++)
        S_ASSERT (index [i] > first && (i == 0 || index [i] > index [i - 1])
                  && terms [i] >= (i == 0 ? term : terms [i - 1]),
                  "line %d at %llu: %s", i, index [i], out);
    free (out);
    code = s_ctl ("sub --from first --count 5", &out);
    char expected [512];
    snprintf (expected, sizeof expected, "%llu %llu orders.eu hello\n%llu %llu"
              " orders.bulk a\n%llu %llu orders.bulk b b\n%llu %llu"
              " orders.bulk \n%llu %llu orders.bulk d\n", first, term,
              index [0], terms [0], index [1], terms [1], index [2], terms [2],
              index [3], terms [3]);
    S_ASSERT (code == 0 && streq (out, expected), "sub: exit %d: '%s', not"
              " '%s'", code, out, expected);
    free (out);
    code = s_ctl ("-w json sub --from first --subject orders.b --count 1"
                  " --cursor json-reader", &out);
    snprintf (expected, sizeof expected, "{\"index\":%llu,\"term\":%llu,"
              "\"subject\":\"orders.bulk\",\"data\":\"a\"}\n", index [0],
              terms [0]);
    S_ASSERT (code == 0 && streq (out, expected), "sub -w json: exit %d: %s",
              code, out);
    free (out);
    code = s_ctl ("cursors", &out);
    snprintf (expected, sizeof expected, "json-reader %llu\n", index [0]);
    S_ASSERT (code == 0 && streq (out, expected), "cursors: exit %d: %s",
              code, out);
    free (out);
    code = s_ctl ("sub --from 0", &out);
    S_ASSERT (code == 64, "a usage error exits 64, not %d: %s", code, out);
    free (out);
    /* status names each member's bus endpoint (each says its own). */
    char args [1024];
    snprintf (args, sizeof args, "-w json --endpoints %s,%s,%s status",
              procs_client_endpoint (s_procs, 1),
              procs_client_endpoint (s_procs, 2),
              procs_client_endpoint (s_procs, 3));
    code = s_ctl (args, &out);
    S_ASSERT (code == 0, "status: exit %d: %s", code, out);
    for (uint32_t id = 1; id <= 3; id++) {
        snprintf (expected, sizeof expected, "\"id\":%u,\"endpoint\":\"%s\","
                  "\"bus_endpoint\":\"%s\",", id,
                  procs_client_endpoint (s_procs, id),
                  procs_bus_endpoint (s_procs, id));
        S_ASSERT (strstr (out, expected), "status: no '%s' in %s", expected,
                  out);
    }
    free (out);
    /* Given only one client endpoint, pub finds the bus through status. */
    snprintf (command, sizeof command, "ZRAFT_BUS_ENDPOINTS= %s --timeout %d"
              " --endpoints %s pub found.bus hi", s_ctl_binary (),
              S_CTL_TIMEOUT_MS, procs_client_endpoint (s_procs, 1));
    code = s_sh (command, &out);
    unsigned long long found;
    S_ASSERT (code == 0 && sscanf (out, "%llu", &found) == 1 && found > index [3],
              "pub through status: exit %d: %s", code, out);
    free (out);
    /* ... also when the first endpoint given is a dead member's. */
    uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    uint32_t dead = leader % 3 + 1, live = dead % 3 + 1;
    procs_kill (s_procs, dead);
    snprintf (command, sizeof command, "ZRAFT_BUS_ENDPOINTS= %s --timeout %d"
              " --endpoints %s,%s pub found.bus again", s_ctl_binary (),
              S_CTL_TIMEOUT_MS, procs_client_endpoint (s_procs, dead),
              procs_client_endpoint (s_procs, live));
    code = s_sh (command, &out);
    unsigned long long again;
    S_ASSERT (code == 0 && sscanf (out, "%llu", &again) == 1 && again > found,
              "pub through status, n%u down: exit %d: %s", dead, code, out);
    free (out);
}
END_TEST

/* 2. Pointed at a follower only, a publication follows NOT_LEADER to
   the leader's bus endpoint, learnt through the log. */
START_TEST (bus_publish_follows_not_leader)
{
    uint32_t leader = s_cluster ();
    uint32_t follower = leader % 3 + 1;
    /* The leader announces its endpoints when elected: the follower
       knows the bus endpoint once it applied that entry. */
    zr_busclient_t *client = s_client ((uint32_t []) {follower, 0});
    uint64_t index = s_publish (client, "s", "one");
    S_ASSERT (index >= 1, "no index");
    const char *at = zr_busclient_leader (client);
    S_ASSERT (at && streq (at, procs_bus_endpoint (s_procs, leader)),
              "the leader is %s, not %s", procs_bus_endpoint (s_procs, leader),
              at ? at : "(none)");
    uint64_t next = s_publish (client, "s", "two");
    S_ASSERT (next > index, "indexes %" PRIu64 " then %" PRIu64, index, next);
    zr_busclient_destroy (&client);
}
END_TEST

/* Publishes n messages "m<i>" under "t.x" through pub (each after one
   under "other" if noise), pipelined, while driving sub as a consumer
   does; returns when every publication is acknowledged and n delivered,
   and checks that the deliveries are exactly the acknowledged indexes,
   in increasing order, with their payloads. */
#define S_EXCHANGE_MAX 64
static void
s_exchange (zr_busclient_t *pub, zr_busclient_t *sub, int n, bool noise)
{
    assert (n <= S_EXCHANGE_MAX);
    uint64_t acked [S_EXCHANGE_MAX], got [S_EXCHANGE_MAX];
    char texts [S_EXCHANGE_MAX][32];
    int sent = 0, acks = 0, delivered = 0, total = noise ? 2 * n : n;
    int64_t end = zclock_mono () + 2 * PROCS_LEADER_WAIT_MS;
    while ((acks < total || delivered < n) && zclock_mono () < end) {
        if (sent < total && zr_busclient_pending (pub) < 8) {
            bool other = noise && sent % 2 == 0;
            char text [16];
            snprintf (text, sizeof text, "m%d", noise ? sent / 2 : sent);
            S_ASSERT (zr_busclient_publish (pub, other ? "other" : "t.x",
                                            text, strlen (text),
                                            (uint64_t) sent) == 0, "publish");
            sent++;
        }
        zr_busclient_event_t event;
        if (zr_busclient_recv (pub, &event, 0) == 0) {
            S_ASSERT (event.outcome == ZR_KVCLIENT_DONE, "publish: %s",
                      event.error);
            if (!noise || event.token % 2 == 1)
                acked [noise ? event.token / 2 : event.token] = event.msg.index;
            acks++;
            zr_busclient_event_release (&event);
        }
        if (zr_busclient_recv (sub, &event, 5) != 0)
            continue;
        S_ASSERT (event.type == ZR_BUSCLIENT_DELIVERY
                  || event.type == ZR_BUSCLIENT_SUBSCRIBED,
                  "event %d: %s", event.type, event.error);
        if (event.type == ZR_BUSCLIENT_DELIVERY) {
            S_ASSERT (delivered < n, "more deliveries than publications");
            got [delivered] = event.msg.index;
            snprintf (texts [delivered], sizeof texts [delivered], "%.*s",
                      (int) event.msg.payload.size,
                      (const char *) event.msg.payload.data);
            delivered++;
        }
        zr_busclient_event_release (&event);
    }
    S_ASSERT (acks == total && delivered == n, "%d of %d acknowledged, %d of"
              " %d delivered in time", acks, total, delivered, n);
    for (int i = 0; i < n; i++) {
        int rank = 0;                   /* where m<i> sits in index order */
        for (int j = 0; j < n; j++)
            rank += acked [j] < acked [i];
        char text [16];
        snprintf (text, sizeof text, "m%d", i);
        S_ASSERT (got [rank] == acked [i] && streq (texts [rank], text),
                  "delivery %d is %" PRIu64 " '%s', expected %" PRIu64 " '%s'",
                  rank, got [rank], texts [rank], acked [i], text);
    }
}

/* Subscribes sub to what comes next under "t.", and waits until a
   server took it. */
static void
s_subscribe_next (zr_busclient_t *sub)
{
    zr_busclient_sub_t options = {.from_mode = ZR_BUSMSG_FROM_NEXT,
                                  .prefix = "t."};
    S_ASSERT (zr_busclient_subscribe (sub, &options) == 0, "subscribe");
    zr_busclient_event_t event;
    S_ASSERT (zr_busclient_recv (sub, &event, PROCS_REPLY_MS) == 0
              && event.type == ZR_BUSCLIENT_SUBSCRIBED, "not subscribed");
    zr_busclient_event_release (&event);
}

/* 3. A subscriber on a follower gets every publication in order. */
START_TEST (bus_subscriber_on_follower)
{
    uint32_t leader = s_cluster ();
    uint32_t follower = leader % 3 + 1;
    zr_busclient_t *sub = s_client ((uint32_t []) {follower, 0});
    zr_busclient_t *pub = s_client ((uint32_t []) {1, 2, 3, 0});
    s_subscribe_next (sub);
    s_exchange (pub, sub, 20, true);
    S_ASSERT (streq (zr_busclient_sub_endpoint (sub),
                     procs_bus_endpoint (s_procs, follower))
              && zr_busclient_subscribes (sub) == 1,
              "the subscription moved");
    zr_busclient_destroy (&sub);
    zr_busclient_destroy (&pub);
}
END_TEST

/* 4. A cursor survives the death of the server its consumer was on. */
START_TEST (bus_cursor_resumes_after_kill)
{
    uint32_t leader = s_cluster ();
    zr_busclient_t *pub = s_client ((uint32_t []) {1, 2, 3, 0});
    uint64_t indexes [6];
    const char *texts [6] = {"c0", "c1", "c2", "c3", "c4", "c5"};
    for (int i = 0; i < 3; i++)
        indexes [i] = s_publish (pub, "work", texts [i]);
    char *out = NULL;
    int code = s_ctl ("sub --from first --subject work --cursor billing"
                      " --count 3", &out);
    S_ASSERT (code == 0, "first consumer: exit %d: %s", code, out);
    free (out);
    procs_kill (s_procs, leader);
    uint32_t next = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (next && next != leader, "no new leader");
    for (int i = 3; i < 5; i++)
        indexes [i] = s_publish (pub, "work", texts [i]);
    code = s_ctl ("sub --from first --subject work --cursor billing"
                  " --count 2", &out);
    uint64_t got [2];
    S_ASSERT (code == 0 && sscanf (out, "%" SCNu64 " %*u work c3\n%" SCNu64
                                   " %*u work c4\n", &got [0], &got [1]) == 2
              && got [0] == indexes [3] && got [1] == indexes [4],
              "second consumer: exit %d: '%s'", code, out);
    free (out);
    /* The cursor exists: it wins over --from, even one ahead of the
       log, and nothing is said about that --from. */
    indexes [5] = s_publish (pub, "work", texts [5]);
    code = s_ctl ("sub --from 999999 --subject work --cursor billing"
                  " --count 1 2>&1", &out);
    S_ASSERT (code == 0 && sscanf (out, "%" SCNu64 " %*u work c5\n", &got [0]) == 1
              && got [0] == indexes [5] && !strstr (out, "ahead"),
              "third consumer, --from ahead: exit %d: '%s'", code, out);
    free (out);
    zr_busclient_destroy (&pub);
}
END_TEST

/* 5. A subscription whose server dies (_i 0: SIGKILL) or stops in
   order (_i 1: SIGTERM, which ends the subscription with ERROR
   UNAVAILABLE and exits 0) goes on elsewhere from the next index:
   every publication once, in order. */
START_TEST (bus_subscription_survives_its_server)
{
    uint32_t leader = s_cluster ();
    uint32_t follower = leader % 3 + 1;
    uint32_t other = follower % 3 + 1;
    zr_busclient_t *sub = s_client ((uint32_t []) {follower, other, 0});
    zr_busclient_t *pub = s_client ((uint32_t []) {1, 2, 3, 0});
    s_subscribe_next (sub);
    s_exchange (pub, sub, 5, false);
    S_ASSERT (zr_busclient_subscribes (sub) == 1, "moved before the end");
    if (_i == 0)
        procs_kill (s_procs, follower);
    else {
        procs_signal (s_procs, follower, SIGTERM);
        int status = procs_wait_exit (s_procs, follower, PROCS_EXIT_MS);
        S_ASSERT (status >= 0 && WIFEXITED (status)
                  && WEXITSTATUS (status) == 0,
                  "the follower did not stop in order");
    }
    s_exchange (pub, sub, 10, false);
    S_ASSERT (streq (zr_busclient_sub_endpoint (sub),
                     procs_bus_endpoint (s_procs, other))
              && zr_busclient_subscribes (sub) >= 2,
              "the subscription did not move");
    zr_busclient_destroy (&sub);
    zr_busclient_destroy (&pub);
}
END_TEST

/* Sends msg on dealer. */
static void
s_raw_send (zsock_t *dealer, const zr_busmsg_t *msg)
{
    uint8_t *data;
    size_t size;
    S_ASSERT (zr_busmsg_encode (msg, &data, &size) == 0, "encode");
    S_ASSERT (zmq_send (zsock_resolve (dealer), data, size, 0)
              == (int) size, "send");
    free (data);
}

/* The next message on dealer within timeout_ms (type 0 if none). */
static void
s_raw_recv (zsock_t *dealer, int timeout_ms, zframe_t **frame,
            zr_busmsg_t *msg)
{
    memset (msg, 0, sizeof *msg);
    *frame = NULL;
    zsock_set_rcvtimeo (dealer, timeout_ms);
    *frame = zframe_recv (dealer);
    if (*frame)
        S_ASSERT (zr_busmsg_decode (zframe_data (*frame), zframe_size (*frame),
                                    msg) == 0, "a frame that does not decode");
}

/* Takes from dealer the DELIVERs of subscription id (HEARTBEATs
   aside) until n records came, each within PROCS_REPLY_MS: they must
   be at indexes [0..n) with payloads "r<i>", at most run_max records
   per DELIVER (1 if run_max is 0). Returns how many DELIVERs. */
static int
s_raw_deliveries (zsock_t *dealer, uint64_t id, const uint64_t *indexes,
                  int n, uint32_t run_max)
{
    int got = 0, frames = 0;
    while (got < n) {
        zframe_t *frame;
        zr_busmsg_t msg;
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (frame, "%d of %d deliveries in time", got, n);
        if (msg.type == ZR_BUSMSG_HEARTBEAT) {
            zframe_destroy (&frame);
            continue;
        }
        S_ASSERT (msg.type == ZR_BUSMSG_DELIVER && msg.id == id
                  && msg.n_records <= (run_max ? run_max : 1),
                  "%s id %" PRIu64 " of %" PRIu32 " records",
                  zr_busmsg_type_name (msg.type), msg.id, msg.n_records);
        frames++;
        zr_busmsg_records_iter_t iter;
        zr_busmsg_record_t record;
        zr_busmsg_records_iter (&msg, &iter);
        while (zr_busmsg_records_next (&iter, &record)) {
            char text [16];
            snprintf (text, sizeof text, "r%d", got);
            S_ASSERT (got < n && record.index == indexes [got]
                      && record.payload.size == strlen (text)
                      && memcmp (record.payload.data, text,
                                 strlen (text)) == 0,
                      "delivery %d: index %" PRIu64, got, record.index);
            got++;
        }
        zframe_destroy (&frame);
    }
    return frames;
}

/* 7. Runs: 40 publications, then a subscriber from the first of them
   asking for runs of up to 16, and one asking for none. */
#define S_RUN_BACKLOG 40
START_TEST (bus_deliveries_come_in_runs)
{
    uint32_t leader = s_cluster ();
    zr_busclient_t *pub = s_client ((uint32_t []) {leader, 0});
    uint64_t indexes [S_RUN_BACKLOG];
    for (int i = 0; i < S_RUN_BACKLOG; i++) {
        char text [16];
        snprintf (text, sizeof text, "r%d", i);
        indexes [i] = s_publish (pub, "r.x", text);
    }
    zr_busclient_destroy (&pub);
    uint32_t run_max [2] = {16, 0};
    int frames [2];
    for (int k = 0; k < 2; k++) {
        zsock_t *dealer = zsock_new_dealer (procs_bus_endpoint (s_procs,
                                                                leader));
        S_ASSERT (dealer, "dealer");
        zr_busmsg_t subscribe = {.type = ZR_BUSMSG_SUBSCRIBE, .id = 3,
                                 .from_mode = ZR_BUSMSG_FROM_INDEX,
                                 .from = indexes [0], .prefix = {
                                     (const uint8_t *) "r.", 2},
                                 .credit = 2 * S_RUN_BACKLOG,
                                 .run_max = run_max [k]};
        s_raw_send (dealer, &subscribe);
        zframe_t *frame;
        zr_busmsg_t msg;
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (msg.type == ZR_BUSMSG_OK && msg.id == 3, "no OK: %s",
                  zr_busmsg_type_name (msg.type));
        zframe_destroy (&frame);
        frames [k] = s_raw_deliveries (dealer, 3, indexes, S_RUN_BACKLOG,
                                       run_max [k]);
        zsock_destroy (&dealer);
    }
    /* The backlog was there at once: the first subscriber's runs are
       as long as its run_max allows, give or take what the server
       had not made deliverable yet. */
    S_ASSERT (frames [0] < S_RUN_BACKLOG && frames [1] == S_RUN_BACKLOG,
              "%d and %d DELIVERs for %d deliveries", frames [0], frames [1],
              S_RUN_BACKLOG);
}
END_TEST

/* 6. A silent client loses its subscription; malformed frames get
   ERROR MALFORMED. */
START_TEST (bus_silent_client_and_bad_frames)
{
    uint32_t leader = s_cluster ();
    zsock_t *dealer = zsock_new_dealer (procs_bus_endpoint (s_procs, leader));
    S_ASSERT (dealer, "dealer");
    static const uint8_t garbage [] = {0x93, 0x01, 0x0c, 0xc1};
    static const uint8_t credit [] = {0x94, 0x01, 0x09, 0x07, 0x00};
    zmq_send (zsock_resolve (dealer), garbage, sizeof garbage, 0);
    zframe_t *frame;
    zr_busmsg_t msg;
    s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
    S_ASSERT (msg.type == ZR_BUSMSG_ERROR && msg.code == ZR_BUSMSG_CODE_MALFORMED
              && msg.id == 0, "garbage: %s", zr_busmsg_type_name (msg.type));
    zframe_destroy (&frame);
    zmq_send (zsock_resolve (dealer), credit, sizeof credit, 0);
    s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
    S_ASSERT (msg.type == ZR_BUSMSG_ERROR && msg.code == ZR_BUSMSG_CODE_MALFORMED
              && msg.id == 7, "credit 0: %s id %" PRIu64,
              zr_busmsg_type_name (msg.type), msg.id);
    zframe_destroy (&frame);
    /* Subscribes, then says nothing: heartbeats come, then nothing. */
    zr_busmsg_t subscribe = {.type = ZR_BUSMSG_SUBSCRIBE, .id = 9,
                             .from_mode = ZR_BUSMSG_FROM_NEXT, .credit = 1};
    s_raw_send (dealer, &subscribe);
    s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
    S_ASSERT (msg.type == ZR_BUSMSG_OK && msg.id == 9
              && msg.heartbeat_ms == S_BUS_HEARTBEAT_MS
              && msg.timeout_ms == S_BUS_TIMEOUT_MS, "no OK");
    zframe_destroy (&frame);
    int beats = 0;
    bool expired = false;
    int64_t end = zclock_mono () + 2 * S_BUS_TIMEOUT_MS + PROCS_REPLY_MS;
    while (!expired && zclock_mono () < end) {
        s_raw_recv (dealer, S_BUS_HEARTBEAT_MS, &frame, &msg);
        beats += msg.type == ZR_BUSMSG_HEARTBEAT;
        zframe_destroy (&frame);
        char *log = procs_log (s_procs, leader);
        expired = strstr (log, "silent: its subscriptions end") != NULL;
        free (log);
    }
    S_ASSERT (expired && beats >= 2, "expired %d after %d heartbeats",
              expired, beats);
    /* The server still answers: the cursors (none), or NOT_LEADER if
       leadership moved meanwhile (the test ran for seconds; under a
       soak's load an election may come, and only the leader reads the
       cursors). */
    zr_busmsg_t cursors = {.type = ZR_BUSMSG_CURSORS, .id = 11};
    s_raw_send (dealer, &cursors);
    s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
    S_ASSERT ((msg.type == ZR_BUSMSG_CURSORS_REPLY && msg.n_cursors == 0)
              || (msg.type == ZR_BUSMSG_NOT_LEADER && msg.id == 11),
              "cursors: %s", zr_busmsg_type_name (msg.type));
    zframe_destroy (&frame);
    zsock_destroy (&dealer);
}
END_TEST

/* 8. A server stopped (SIGSTOP: a frozen machine) for longer than the
   bus timeout, with its client as silent as the machine it shares,
   keeps the client's subscription when it runs again: time it did not
   run is not the client's silence (bus.c, s_stalled). */
START_TEST (bus_stopped_server_keeps_its_clients)
{
    uint32_t leader = s_cluster ();
    uint32_t server = leader % 3 + 1;   /* a follower: leadership stays */
    zr_busclient_t *pub = s_client ((uint32_t []) {leader, 0});
    zsock_t *dealer = zsock_new_dealer (procs_bus_endpoint (s_procs, server));
    S_ASSERT (dealer, "dealer");
    zr_busmsg_t subscribe = {.type = ZR_BUSMSG_SUBSCRIBE, .id = 5,
                             .from_mode = ZR_BUSMSG_FROM_NEXT, .credit = 8};
    s_raw_send (dealer, &subscribe);
    zframe_t *frame;
    zr_busmsg_t msg;
    s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
    S_ASSERT (msg.type == ZR_BUSMSG_OK && msg.id == 5, "no OK");
    zframe_destroy (&frame);
    /* The stall itself, not a wait for anything: three bus timeouts. */
    procs_signal (s_procs, server, SIGSTOP);
    zclock_sleep (3 * S_BUS_TIMEOUT_MS);
    do {                                /* what it sent before the stop */
        s_raw_recv (dealer, 0, &frame, &msg);
        zframe_destroy (&frame);
    } while (msg.type != 0);
    procs_signal (s_procs, server, SIGCONT);
    /* Its first sweep runs as it wakes, before it can read anything from
       us: a HEARTBEAT from it says that sweep kept the session (a
       session it closes gets none). */
    s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
    S_ASSERT (msg.type == ZR_BUSMSG_HEARTBEAT, "after the stall: %s",
              msg.type ? zr_busmsg_type_name (msg.type) : "nothing");
    zframe_destroy (&frame);
    /* The client speaks again (as its machine runs again), heartbeating
       while a publication commits, and is delivered it. */
    S_ASSERT (zr_busclient_publish (pub, "stall.after", "alive", 5, 0) == 0,
              "publish refused");
    uint64_t index = 0, delivered = 0;
    int64_t end = zclock_mono () + PROCS_REPLY_MS;
    while ((!index || !delivered) && zclock_mono () < end) {
        zr_busmsg_t beat = {.type = ZR_BUSMSG_HEARTBEAT};
        s_raw_send (dealer, &beat);
        s_raw_recv (dealer, S_BUS_HEARTBEAT_MS / 2, &frame, &msg);
        S_ASSERT (!frame || msg.type == ZR_BUSMSG_HEARTBEAT
                  || msg.type == ZR_BUSMSG_DELIVER,
                  "after the stall: %s", zr_busmsg_type_name (msg.type));
        if (msg.type == ZR_BUSMSG_DELIVER && msg.id == 5)
            delivered = msg.index;
        zframe_destroy (&frame);
        zr_busclient_event_t event;
        if (!index && zr_busclient_recv (pub, &event, 0) == 0) {
            S_ASSERT (event.type == ZR_BUSCLIENT_RESULT
                      && event.outcome == ZR_KVCLIENT_DONE, "publish: %s",
                      event.error);
            index = event.msg.index;
            zr_busclient_event_release (&event);
        }
    }
    char *log = procs_log (s_procs, server);
    bool expired = strstr (log, "silent: its subscriptions end") != NULL;
    free (log);
    S_ASSERT (index && delivered == index && !expired,
              "published at %" PRIu64 ", delivered %" PRIu64 ", expired %d",
              index, delivered, expired);
    zr_busclient_destroy (&pub);
    zsock_destroy (&dealer);
}
END_TEST

/* Waits until the leader behind dealer can tell a repeated (producer,
   seq) from a new one: a leader just elected answers BUSY ("cannot
   tell a repeat yet", PROTOCOL.md) until it queued for applying an
   entry of its term (actors/bus.h, the gate). A publication without a
   producer is never held at the gate, and its ACK comes once it was
   applied, after the leader's own first entry: so once it is
   acknowledged, the gate is open. */
static void
s_dedup_ready (zsock_t *dealer)
{
    zr_busmsg_t probe = {.type = ZR_BUSMSG_PUBLISH, .id = 1,
                         .subject = {(const uint8_t *) "ready.x", 7},
                         .payload = {(const uint8_t *) "r", 1}};
    s_raw_send (dealer, &probe);
    zframe_t *frame;
    zr_busmsg_t msg;
    do {                                /* HEARTBEATs (id 0) aside */
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (frame, "no answer to the probe within %d ms",
                  PROCS_REPLY_MS);
        zframe_destroy (&frame);
    } while (msg.id != probe.id);
    S_ASSERT (msg.type == ZR_BUSMSG_ACK, "the probe: %s %s",
              zr_busmsg_type_name (msg.type),
              zr_busmsg_code_name ((int) msg.code));
}

/* 9. PUBLISH runs and their ACK runs (once the leader can tell
   repeats: s_dedup_ready). */
#define S_PUB_RUN 20
#define S_PUB_REPEAT 5
START_TEST (bus_publishes_in_runs)
{
    uint32_t leader = s_cluster ();
    zsock_t *dealer = zsock_new_dealer (procs_bus_endpoint (s_procs, leader));
    S_ASSERT (dealer, "dealer");
    s_dedup_ready (dealer);
    zr_busmsg_run_t run = {.type = ZR_BUSMSG_PUBLISH};
    char texts [S_PUB_RUN][16];
    for (int i = 0; i < S_PUB_RUN; i++) {
        snprintf (texts [i], sizeof texts [i], "p%d", i);
        zr_busmsg_record_t record = {
            .subject = {(const uint8_t *) "runs.x", 6},
            .payload = {(const uint8_t *) texts [i], strlen (texts [i])},
            .producer = 5, .seq = (uint64_t) i + 1};
        S_ASSERT (zr_busmsg_run_add (&run, &record, ZR_BUSMSG_RUN_MAX) == 0,
                  "run add");
    }
    zr_busmsg_t first = {.type = ZR_BUSMSG_PUBLISH, .id = 100,
                         .n_records = run.n,
                         .records = {run.data, run.size}};
    s_raw_send (dealer, &first);
    zr_busmsg_t alone = {.type = ZR_BUSMSG_PUBLISH, .id = 200,
                         .subject = {(const uint8_t *) "runs.x", 6},
                         .payload = {(const uint8_t *) "alone", 5},
                         .producer = 5, .seq = S_PUB_RUN + 1};
    s_raw_send (dealer, &alone);
    /* id -> index and duplicate, answered once each. */
    uint64_t index [S_PUB_RUN + 1] = {0};
    int frames = 0, answered = 0;
    while (answered < S_PUB_RUN + 1) {
        zframe_t *frame;
        zr_busmsg_t msg;
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (frame && msg.type == ZR_BUSMSG_ACK, "%d of %d answers: %s"
                  " id %" PRIu64 " %s", answered, S_PUB_RUN + 1,
                  zr_busmsg_type_name (msg.type), msg.id,
                  zr_busmsg_code_name ((int) msg.code));
        zr_busmsg_records_iter_t iter;
        zr_busmsg_record_t ack;
        zr_busmsg_records_iter (&msg, &iter);
        uint64_t id = msg.id;
        for (; zr_busmsg_records_next (&iter, &ack); id++) {
            int k = id == 200 ? S_PUB_RUN : (int) id - 100;
            S_ASSERT ((id == 200 && msg.n_records == 1)
                      || (id >= 100 && id < 100 + S_PUB_RUN && id != 200),
                      "ACK of id %" PRIu64 " in a frame of %" PRIu32,
                      id, msg.n_records);
            S_ASSERT (index [k] == 0 && !ack.duplicate, "id %" PRIu64
                      " answered twice, or a duplicate", id);
            index [k] = ack.index;
            answered++;
        }
        if (msg.id != 200)
            frames++;
        zframe_destroy (&frame);
    }
    /* One publish_many: consecutive indexes; joined: fewer frames. */
    for (int i = 1; i < S_PUB_RUN; i++)
        S_ASSERT (index [i] == index [0] + (uint64_t) i, "index %d: %" PRIu64
                  " after %" PRIu64, i, index [i], index [0]);
    S_ASSERT (index [S_PUB_RUN] > index [S_PUB_RUN - 1], "the lone one");
    S_ASSERT (frames < S_PUB_RUN, "%d ACK frames for a run of %d", frames,
              S_PUB_RUN);
    /* The last S_PUB_REPEAT again, as a run of their own: duplicates. */
    zr_busmsg_run_t again = {.type = ZR_BUSMSG_PUBLISH};
    zr_busmsg_records_iter_t iter;
    zr_busmsg_record_t record;
    zr_busmsg_records_iter (&first, &iter);
    for (int i = 0; zr_busmsg_records_next (&iter, &record); i++)
        if (i >= S_PUB_RUN - S_PUB_REPEAT)
            S_ASSERT (zr_busmsg_run_add (&again, &record,
                                         ZR_BUSMSG_RUN_MAX) == 0, "add");
    zr_busmsg_t repeat = {.type = ZR_BUSMSG_PUBLISH, .id = 300,
                          .n_records = again.n,
                          .records = {again.data, again.size}};
    s_raw_send (dealer, &repeat);
    for (int got = 0; got < S_PUB_REPEAT;) {
        zframe_t *frame;
        zr_busmsg_t msg;
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (frame && msg.type == ZR_BUSMSG_ACK, "%d of %d repeats: %s",
                  got, S_PUB_REPEAT, zr_busmsg_type_name (msg.type));
        zr_busmsg_records_iter_t acks;
        zr_busmsg_record_t ack;
        zr_busmsg_records_iter (&msg, &acks);
        for (uint64_t id = msg.id; zr_busmsg_records_next (&acks, &ack); id++) {
            int k = S_PUB_RUN - S_PUB_REPEAT + (int) (id - 300);
            S_ASSERT (id >= 300 && id < 300 + S_PUB_REPEAT && ack.duplicate
                      && ack.index == index [k], "repeat %" PRIu64 ": index %"
                      PRIu64 " duplicate %d", id, ack.index, ack.duplicate);
            got++;
        }
        zframe_destroy (&frame);
    }
    zsock_destroy (&dealer);
    /* A follower refuses each publication of a run. */
    uint32_t follower = leader % 3 + 1;
    dealer = zsock_new_dealer (procs_bus_endpoint (s_procs, follower));
    S_ASSERT (dealer, "dealer");
    s_raw_send (dealer, &repeat);
    uint32_t seen = 0;
    for (int got = 0; got < S_PUB_REPEAT; got++) {
        zframe_t *frame;
        zr_busmsg_t msg;
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (frame && msg.type == ZR_BUSMSG_NOT_LEADER && msg.id >= 300
                  && msg.id < 300 + S_PUB_REPEAT
                  && !(seen & (1u << (msg.id - 300))),
                  "follower's answer %d: %s id %" PRIu64, got,
                  zr_busmsg_type_name (msg.type), msg.id);
        seen |= 1u << (msg.id - 300);
        zframe_destroy (&frame);
    }
    zsock_destroy (&dealer);
    zr_busmsg_run_free (&run);
    zr_busmsg_run_free (&again);
}
END_TEST

/* 10. A stopping server answers each publication of a run with its own
   ERROR UNAVAILABLE (PROTOCOL.md, B5). The followers are frozen
   (SIGSTOP), so the leader can neither hand leadership over nor commit:
   its stop lasts an election timeout handing over, then up to another
   draining the publication sent before it (which the SUBSCRIBE's OK,
   answered by the leader alone, shows was read first). The run goes
   once the stop began: the server then ends the subscription with an
   ERROR UNAVAILABLE of its own (zr_busend_stop). */
START_TEST (bus_stopping_server_answers_runs)
{
    uint32_t leader = s_cluster ();
    zsock_t *dealer = zsock_new_dealer (procs_bus_endpoint (s_procs, leader));
    S_ASSERT (dealer, "dealer");
    for (uint32_t id = 1; id <= 3; id++)
        if (id != leader)
            procs_signal (s_procs, id, SIGSTOP);
    zr_busmsg_t held = {.type = ZR_BUSMSG_PUBLISH, .id = 10,
                        .subject = {(const uint8_t *) "stop.x", 6},
                        .payload = {(const uint8_t *) "held", 4}};
    s_raw_send (dealer, &held);
    zr_busmsg_t subscribe = {.type = ZR_BUSMSG_SUBSCRIBE, .id = 11,
                             .from_mode = ZR_BUSMSG_FROM_NEXT};
    s_raw_send (dealer, &subscribe);
    zframe_t *frame;
    zr_busmsg_t msg;
    do {
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (frame, "no OK to the SUBSCRIBE");
        zframe_destroy (&frame);
    } while (msg.type != ZR_BUSMSG_OK || msg.id != 11);
    procs_signal (s_procs, leader, SIGTERM);
    do {
        s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
        S_ASSERT (frame, "the stop did not end the subscription");
        zframe_destroy (&frame);
    } while (msg.id != 11);
    S_ASSERT (msg.type == ZR_BUSMSG_ERROR
              && msg.code == ZR_BUSMSG_CODE_UNAVAILABLE,
              "the subscription ended with %s", zr_busmsg_type_name (msg.type));
    zr_busmsg_run_t run = {.type = ZR_BUSMSG_PUBLISH};
    for (int i = 0; i < 5; i++) {
        zr_busmsg_record_t record = {
            .subject = {(const uint8_t *) "stop.x", 6},
            .payload = {(const uint8_t *) "late", 4}};
        S_ASSERT (zr_busmsg_run_add (&run, &record, ZR_BUSMSG_RUN_MAX) == 0,
                  "run add");
    }
    zr_busmsg_t late = {.type = ZR_BUSMSG_PUBLISH, .id = 400,
                        .n_records = run.n, .records = {run.data, run.size}};
    s_raw_send (dealer, &late);
    /* Each id once: 400..404 refused, 10 answered as the node goes. */
    int answers [5] = {0}, held_answers = 0;
    for (int got = 0; got < 6; got++) {
        do {                            /* HEARTBEATs (id 0) aside */
            s_raw_recv (dealer, PROCS_REPLY_MS, &frame, &msg);
            S_ASSERT (frame, "%d of 6 answers", got);
            if (msg.id == 0)
                zframe_destroy (&frame);
        } while (!frame);
        if (msg.id >= 400 && msg.id < 405) {
            S_ASSERT (msg.type == ZR_BUSMSG_ERROR
                      && msg.code == ZR_BUSMSG_CODE_UNAVAILABLE,
                      "id %" PRIu64 ": %s", msg.id, zr_busmsg_type_name (msg.type));
            answers [msg.id - 400]++;
        }
        else {
            S_ASSERT (msg.id == 10, "an answer to id %" PRIu64, msg.id);
            held_answers++;
        }
        zframe_destroy (&frame);
    }
    for (int i = 0; i < 5; i++)
        S_ASSERT (answers [i] == 1, "id %d answered %d times", 400 + i,
                  answers [i]);
    S_ASSERT (held_answers == 1, "the held publication answered %d times",
              held_answers);
    /* It ends its stop and exits 0; the followers run on. */
    int status = procs_wait_exit (s_procs, leader, PROCS_EXIT_MS);
    S_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
              "n%u after SIGTERM: status %d", leader, status);
    for (uint32_t id = 1; id <= 3; id++)
        if (id != leader)
            procs_signal (s_procs, id, SIGCONT);
    zr_busmsg_run_free (&run);
    zsock_destroy (&dealer);
}
END_TEST

/* 11. zraft-ctl's bus verbs when things go wrong: a sub no server takes
   exits 1 saying so (text and JSON); a publication too big for a log
   entry is refused saying so; an over-long line of pub's input is
   reported after the results of the lines before it; a cursor whose
   position was compacted away ends sub with a hint, and with --from
   resumes at the first index held, the cursor moving on from there. */
START_TEST (bus_ctl_errors_and_compacted_cursor)
{
    s_cluster_snapshots ("100", "100");
    char *out = NULL;
    /* Nobody listens on a port just bound and closed. */
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    S_ASSERT (port > 0, "no free port");
    zsock_destroy (&router);
    char command [8192];
    snprintf (command, sizeof command, "%s --bus-endpoints tcp://127.0.0.1:%d"
              " sub --timeout 300", s_ctl_binary (), port);
    int code = s_sh (command, &out);
    S_ASSERT (code == 1 && strstr (out, "no server took the subscription"),
              "sub, nobody listening: exit %d: %s", code, out);
    free (out);
    snprintf (command, sizeof command, "%s -w json --bus-endpoints"
              " tcp://127.0.0.1:%d sub --timeout 300 --count 2 2>/dev/null",
              s_ctl_binary (), port);
    code = s_sh (command, &out);
    S_ASSERT (code == 1 && strncmp (out, "{\"error\":\"no server took",
                                 strlen ("{\"error\":\"no server took")) == 0
              && strchr (out, '\n') == out + strlen (out) - 1,
              "sub -w json, nobody listening: exit %d: %s", code, out);
    free (out);
    /* An endpoint of the other protocol, alone, is refused at once, in
       words, as not done (exit 1), not left to time out as "outcome
       unknown"; in a list, the others are tried. */
    char mixed [6][512];
    snprintf (mixed [0], sizeof mixed [0], "%s,%s", procs_bus_endpoint (s_procs, 1),
              procs_client_endpoint (s_procs, 2));
    snprintf (mixed [1], sizeof mixed [1], "%s,%s", procs_client_endpoint (s_procs, 1),
              procs_bus_endpoint (s_procs, 2));
    snprintf (mixed [2], sizeof mixed [2], "%s,%s", procs_bus_endpoint (s_procs, 1),
              procs_bus_endpoint (s_procs, 2));
    snprintf (mixed [3], sizeof mixed [3], "%s,%s", procs_client_endpoint (s_procs, 1),
              procs_client_endpoint (s_procs, 2));
    snprintf (mixed [4], sizeof mixed [4], "%s,%s", procs_peer_endpoint (s_procs, 1),
              procs_client_endpoint (s_procs, 2));
    snprintf (mixed [5], sizeof mixed [5], "%s,%s", procs_peer_endpoint (s_procs, 1),
              procs_bus_endpoint (s_procs, 2));
    struct {
        const char *flag, *endpoint, *verb;
        int code;
        const char *want;
    } wrong [] = {
        {"--endpoints", procs_bus_endpoint (s_procs, 1), "put k v", 1,
         "answered in the bus protocol: it is a bus endpoint, not a client endpoint"},
        {"--endpoints", procs_bus_endpoint (s_procs, 2), "status", 1,
         "it is a bus endpoint, not a client endpoint"},
        {"--bus-endpoints", procs_client_endpoint (s_procs, 1), "pub s d", 1,
         "answered in the client protocol: it is a client endpoint, not a bus endpoint"},
        {"--bus-endpoints", procs_client_endpoint (s_procs, 2), "sub --count 1", 1,
         "the subscription ended: "},
        {"--bus-endpoints", procs_client_endpoint (s_procs, 3), "cursors", 1,
         "it is a client endpoint, not a bus endpoint"},
        /* A peer endpoint answers strangers in their own protocol. */
        {"--endpoints", procs_peer_endpoint (s_procs, 1), "put k v", 1,
         "could not read the request: this is the peer endpoint of server 1"},
        {"--endpoints", procs_peer_endpoint (s_procs, 2), "status", 1,
         "could not read the request: this is the peer endpoint of server 2"},
        {"--bus-endpoints", procs_peer_endpoint (s_procs, 3), "pub s d", 1,
         "could not read what was sent: this is the peer endpoint of server 3"},
        {"--bus-endpoints", procs_peer_endpoint (s_procs, 1), "sub --count 1", 1,
         "this is the peer endpoint of server 1"},
        {"--endpoints", mixed [4], "put k v", 0, "OK"},
        {"--bus-endpoints", mixed [5], "pub s d", 0, ""},
        {"--endpoints", mixed [0], "put k v", 0, "OK"},
        {"--bus-endpoints", mixed [1], "pub s d", 0, ""},
        {"--bus-endpoints", mixed [1], "sub --from first --count 1", 0, ""},
        /* Every one wrong: tried in turn until the time is up, and the
           reason is still given. */
        {"--timeout 2000 --endpoints", mixed [2], "put k v", 1,
         "it is a bus endpoint, not a client endpoint"},
        {"--timeout 2000 --bus-endpoints", mixed [3], "sub", 1,
         "no server took the subscription"},
        {"--timeout 2000 --bus-endpoints", mixed [3], "sub", 1,
         "; the last: tcp://"},
    };
    for (size_t w = 0; w < sizeof wrong / sizeof wrong [0]; w++) {
        snprintf (command, sizeof command, "%s%s %s %s %s", s_ctl_binary (),
                  strstr (wrong [w].flag, "--timeout") ? "" : " --timeout 60000",
                  wrong [w].flag, wrong [w].endpoint, wrong [w].verb);
        code = s_sh (command, &out);
        S_ASSERT (code == wrong [w].code && strstr (out, wrong [w].want),
                  "%s: exit %d: %s", command, code, out);
        free (out);
    }
    /* A start ahead of the log waits for it, and says so. */
    snprintf (command, sizeof command, "%s --timeout 1500 sub --from 999999"
              " --count 1 2>&1", s_ctl_binary ());
    code = s_sh (command, &out);
    S_ASSERT (code == 1 && strstr (out, "--from 999999 is ahead of the log (its"
                                   " last index is ")
              && strstr (out, "timed out after 0 of 1 messages"),
              "sub --from ahead: exit %d: %s", code, out);
    free (out);
    /* A payload of exactly 1 MiB: with its subject and framing, over. */
    snprintf (command, sizeof command, "head -c 1048576 /dev/zero | tr '\\0'"
              " x | %s --timeout %d pub big", s_ctl_binary (),
              S_CTL_TIMEOUT_MS);
    code = s_sh (command, &out);
    S_ASSERT (code == 1 && strstr (out, "line 1") && strstr (out, "too big"),
              "pub of 1 MiB: exit %d: %.300s", code, out);
    free (out);
    snprintf (command, sizeof command, "{ echo ok1; echo ok2; head -c 1048577"
              " /dev/zero | tr '\\0' x; echo; echo never; } | %s -w json"
              " --timeout %d pub order", s_ctl_binary (), S_CTL_TIMEOUT_MS);
    code = s_sh (command, &out);
    unsigned long long i1, i2;
    int end = 0;
    S_ASSERT (code == 1 && sscanf (out, "{\"index\":%llu,\"term\":%*u,"
                                   "\"duplicate\":false}\n{\"index\":%llu,"
                                   "\"term\":%*u,\"duplicate\":false}\n%n",
                                   &i1, &i2, &end) == 2 && end > 0 && i2 > i1
              && streq (out + end, "{\"error\":\"line 3: over 1048576 bytes;"
                        " stopped reading\"}\n"),
              "pub with a line too long: exit %d: %s", code, out);
    free (out);
    /* In text, a subject's spaces and backslashes are escaped: the
       line splits at its first three spaces; the data is as it is. */
    code = s_ctl ("pub 'sp ace\\' 'da ta'", &out);
    unsigned long long spaced;
    S_ASSERT (code == 0 && sscanf (out, "%llu", &spaced) == 1,
              "pub with a space: exit %d: %s", code, out);
    free (out);
    snprintf (command, sizeof command, "sub --from %llu --count 1", spaced);
    code = s_ctl (command, &out);
    char line_want [128];
    snprintf (line_want, sizeof line_want, " sp\\x20ace\\x5c da ta\n");
    S_ASSERT (code == 0 && strstr (out, line_want)
              && strlen (strstr (out, line_want)) == strlen (line_want),
              "sub of a subject with a space: exit %d: '%s'", code, out);
    free (out);
    /* A cursor at the first publication, then ten times what the log
       keeps behind a snapshot published after it. */
    code = s_ctl ("pub work first", &out);
    free (out);
    S_ASSERT (code == 0, "pub: exit %d", code);
    code = s_ctl ("sub --from first --subject work --cursor slow --count 1",
                  &out);
    unsigned long long at;
    S_ASSERT (code == 0 && sscanf (out, "%llu", &at) == 1,
              "sub --cursor: exit %d: %s", code, out);
    free (out);
    snprintf (command, sizeof command, "seq 1000 | %s --timeout %d pub work"
              " >/dev/null", s_ctl_binary (), S_CTL_TIMEOUT_MS);
    code = s_sh (command, &out);
    S_ASSERT (code == 0, "pub of 1000 lines: exit %d: %s", code, out);
    free (out);
    /* The leader (which reads cursors) snapshots after applying: wait,
       bounded, until its log no longer holds the cursor's next index,
       then note the first index it holds. */
    unsigned long long first = 0;
    bool gone = false;
    int64_t deadline = zclock_mono () + PROCS_LEADER_WAIT_MS;
    while (!gone && zclock_mono () < deadline) {
        uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
        S_ASSERT (leader, "no leader");
        snprintf (command, sizeof command, "%s --bus-endpoints %s --timeout %d"
                  " sub --from %llu --count 1", s_ctl_binary (),
                  procs_bus_endpoint (s_procs, leader), S_CTL_TIMEOUT_MS,
                  at + 1);
        code = s_sh (command, &out);
        char *held = out ? strstr (out, "(its first is ") : NULL;
        gone = code == 1 && held
               && sscanf (held, "(its first is %llu", &first) == 1;
        S_ASSERT (gone || code == 0, "sub --from %llu: exit %d: %s", at + 1,
                  code, out);
        free (out);
    }
    S_ASSERT (gone && first > at + 1, "the leader's log still holds %llu",
              at + 1);
    code = s_ctl ("sub --subject work --cursor slow --count 1", &out);
    S_ASSERT (code == 1 && strstr (out, "no longer holds")
              && strstr (out, "--cursor slow --from first"),
              "sub --cursor past compaction: exit %d: %s", code, out);
    free (out);
    /* It resumes on the server that answered (the leader), at or after
       the first index it held when waited for above. */
    code = s_ctl ("sub --subject work --cursor slow --from first --count 1",
                  &out);
    unsigned long long got;
    char *line = out ? strstr (out, "starting where --from says\n") : NULL;
    S_ASSERT (code == 0 && line
              && sscanf (line + strlen ("starting where --from says\n"),
                         "%llu %*u work", &got) == 1 && got >= first,
              "sub --cursor --from first past compaction: exit %d: %s", code,
              out);
    free (out);
    code = s_ctl ("cursors", &out);
    snprintf (command, sizeof command, "slow %llu\n", got);
    S_ASSERT (code == 0 && streq (out, command), "cursors: exit %d: %s, not"
              " %s", code, out, command);
    free (out);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("bus_node");
    TCase *tc = tcase_create ("bus");
    tcase_set_timeout (tc, PROCS_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, bus_ctl_pub_sub_cursors);
    tcase_add_test (tc, bus_publish_follows_not_leader);
    tcase_add_test (tc, bus_subscriber_on_follower);
    tcase_add_test (tc, bus_cursor_resumes_after_kill);
    tcase_add_loop_test (tc, bus_subscription_survives_its_server, 0, 2);
    tcase_add_test (tc, bus_silent_client_and_bad_frames);
    tcase_add_test (tc, bus_deliveries_come_in_runs);
    tcase_add_test (tc, bus_stopped_server_keeps_its_clients);
    tcase_add_test (tc, bus_publishes_in_runs);
    tcase_add_test (tc, bus_stopping_server_answers_runs);
    tcase_add_test (tc, bus_ctl_errors_and_compacted_cursor);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return check_run (s_suite ());
}
