/*  =========================================================================
    test_ctl - zraft-ctl against real zraft-node processes on 127.0.0.1
    (tests/lib/procs.h), run as a user runs it: a child process, its
    stdout, stderr and exit code

    1. put, get (--stale too), del, cas: exit 0 and the JSON of the issue;
       a usage error exits 64 and prints {"error":...}.
    2. status -w json: every node, one leader; a killed node is shown
       "unreachable", named through the others' member lists.
    3. Pointed at a follower only, zraft-ctl follows NOT_LEADER's
       leader_endpoint and succeeds.
    4. Exit 1, a certain failure: every node SIGSTOPped before zraft-ctl
       starts (no connection ever comes up, nothing leaves); and a
       cluster without a leader (every answer NOT_LEADER).
    5. Exit 2, unknown: the followers SIGSTOPped, the request reaches the
       leader, which can no longer commit. The same through the library
       (bin/lib/client.h) in this process: connected, then every node
       SIGSTOPped, then the request leaves: UNKNOWN.
    6. transfer moves leadership; partition cuts a leader off (the others
       elect another), heal brings it back; snapshot is taken.
    7. A follower's disk fills: status shows it ("disk failed").

    Every wait derives from procs.h's PROCS_*_MS; polls wake every
    heartbeat until a deadline. zraft-ctl is build/bin/zraft-ctl next to
    zraft-node (or $ZRAFT_CTL_BIN). On a failure the nodes' logs and
    zraft-ctl's stderr are printed.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/check_run.h"
#include "../lib/procs.h"
#include "../../bin/lib/client.h"

#define S_OUTPUT_MAX (64u << 10)        /* stdout or stderr kept per run */
#define S_ENV_MAX 256
/* zraft-ctl's own --timeout in these tests: enough for an election on a
   loaded machine, and the bound on a run (plus the time to exit). */
#define S_CTL_TIMEOUT_MS PROCS_LEADER_WAIT_MS

extern char **environ;

static procs_t *s_procs;                /* the test's cluster */

#define S_ASSERT(expr, ...)                                                  \
    do {                                                                     \
        if (!(expr)) {                                                       \
            if (s_procs)                                                     \
                procs_dump (s_procs);                                        \
            ck_abort_msg (__VA_ARGS__);                                      \
        }                                                                    \
    } while (0)

static char s_mounted [1024];           /* a tmpfs a test mounted, or "" */

static void
s_teardown (void)
{
    if (*s_mounted)
        umount2 (s_mounted, MNT_DETACH);    /* the test failed before it did */
    s_mounted [0] = 0;
    procs_destroy (&s_procs);
}

static uint32_t
s_cluster (uint32_t n)
{
    s_procs = procs_new (n, NULL);
    uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (leader, "no leader within %d ms", PROCS_LEADER_WAIT_MS);
    return leader;
}

/* ----------------------------------------------------------------------
   Running zraft-ctl
   ---------------------------------------------------------------------- */

typedef struct {
    int code;                           /* exit code, or -1 */
    char out [S_OUTPUT_MAX + 1];        /* stdout */
    char err [S_OUTPUT_MAX + 1];        /* stderr */
} s_ctl_t;

static const char *
s_ctl_binary (void)
{
    static char path [4096];
    const char *env = getenv ("ZRAFT_CTL_BIN");
    if (env)
        return env;
    char node [4096];
    snprintf (node, sizeof node, "%s", procs_binary ());
    snprintf (path, sizeof path, "%s/zraft-ctl", dirname (node));
    return path;
}

/* The test's environment without ZRAFT_*, plus extra (may be NULL). */
static void
s_env (char **env, const char *extra)
{
    size_t n = 0;
    for (char **e = environ; *e && n + 2 < S_ENV_MAX; e++)
        if (strncmp (*e, "ZRAFT_", 6) != 0)
            env [n++] = *e;
    if (extra)
        env [n++] = (char *) extra;
    env [n] = NULL;
}

/* Reads what is there from fd into buffer (of S_OUTPUT_MAX + 1); returns
   false at end of file. */
static bool
s_drain (int fd, char *buffer, size_t *used)
{
    char chunk [4096];
    ssize_t n = read (fd, chunk, sizeof chunk);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    size_t keep = (size_t) n < S_OUTPUT_MAX - *used ? (size_t) n : S_OUTPUT_MAX - *used;
    memcpy (buffer + *used, chunk, keep);
    *used += keep;
    buffer [*used] = 0;
    return n > 0;
}

/* Runs zraft-ctl with argv (NULL-terminated, without the program) and
   the environment plus env_extra; waits for it up to its timeout plus
   PROCS_EXIT_MS (then kills it: code -1). */
static void
s_ctl_argv (s_ctl_t *run, const char *env_extra, const char *const *args)
{
    const char *argv [64] = {s_ctl_binary ()};
    size_t argc = 1;
    for (size_t i = 0; args [i]; i++) {
        ck_assert_uint_lt (argc, 63);
        argv [argc++] = args [i];
    }
    char *env [S_ENV_MAX];
    s_env (env, env_extra);
    int out [2], err [2];
    ck_assert_int_eq (pipe2 (out, O_CLOEXEC), 0);
    ck_assert_int_eq (pipe2 (err, O_CLOEXEC), 0);
    pid_t pid = fork ();
    ck_assert_int_ge (pid, 0);
    if (pid == 0) {
        dup2 (out [1], 1);
        dup2 (err [1], 2);
        execve (argv [0], (char *const *) argv, env);
        _exit (127);
    }
    close (out [1]);
    close (err [1]);
    memset (run, 0, sizeof *run);
    size_t used [2] = {0, 0};
    bool open [2] = {true, true};
    int64_t deadline = zclock_mono () + S_CTL_TIMEOUT_MS + PROCS_EXIT_MS;
    while ((open [0] || open [1]) && zclock_mono () < deadline) {
        struct pollfd items [2] = {{open [0] ? out [0] : -1, POLLIN, 0},
                                   {open [1] ? err [0] : -1, POLLIN, 0}};
        if (poll (items, 2, (int) (deadline - zclock_mono ())) <= 0)
            continue;
        if (items [0].revents)
            open [0] = s_drain (out [0], run->out, &used [0]);
        if (items [1].revents)
            open [1] = s_drain (err [0], run->err, &used [1]);
    }
    close (out [0]);
    close (err [0]);
    if (open [0] || open [1])
        kill (pid, SIGKILL);
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    run->code = !(open [0] || open [1]) && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* zraft-ctl --endpoints E --timeout S_CTL_TIMEOUT_MS args... (NULL-
   terminated), E the client endpoints of the nodes in ids, a bit mask
   (bit id for node id); --timeout only if args give none (zraft-ctl
   refuses an option given twice). */
static void
s_ctl (s_ctl_t *run, uint32_t ids, ...)
{
    char endpoints [2048] = "", timeout [32];
    for (uint32_t id = 1; id <= PROCS_NODES_MAX; id++)
        if (ids & (1u << id))
            snprintf (endpoints + strlen (endpoints), sizeof endpoints - strlen (endpoints),
                      "%s%s", endpoints [0] ? "," : "", procs_client_endpoint (s_procs, id));
    snprintf (timeout, sizeof timeout, "%d", S_CTL_TIMEOUT_MS);
    const char *args [48] = {"--endpoints", endpoints, "--timeout", timeout};
    size_t n = 4;
    va_list ap;
    va_start (ap, ids);
    for (const char *a = va_arg (ap, const char *); a; a = va_arg (ap, const char *))
        args [n++] = a;
    va_end (ap);
    args [n] = NULL;
    for (size_t i = 4; i < n; i++)
        if (!strncmp (args [i], "--timeout", 9)
            && (args [i][9] == 0 || args [i][9] == '=')) {
            memmove (args + 2, args + 4, (n - 3) * sizeof args [0]);
            break;                      /* the default dropped, NULL moved */
        }
    s_ctl_argv (run, NULL, args);
}

#define S_ALL 0xeu                      /* nodes 1, 2, 3 */
#define S_ONLY(id) (1u << (id))

#define S_EXPECT(run, code_, out_)                                           \
    S_ASSERT ((run)->code == (code_) && streq ((run)->out, (out_)),          \
              "zraft-ctl: exit %d (want %d), stdout '%s' (want '%s'), "      \
              "stderr '%s'", (run)->code, code_, (run)->out, out_, (run)->err)

/* The JSON object of node `name` in a status -w json output, copied
   into object (up to its closing brace), or false. */
static bool
s_node_object (const char *json, const char *name, char *object, size_t size)
{
    char head [64];
    snprintf (head, sizeof head, "{\"name\":\"%s\"", name);
    const char *at = strstr (json, head);
    const char *end = at ? strchr (at, '}') : NULL;
    if (!end || (size_t) (end - at) + 2 > size)
        return false;
    memcpy (object, at, (size_t) (end - at) + 1);
    object [end - at + 1] = 0;
    return true;
}

static int
s_count (const char *text, const char *what)
{
    int n = 0;
    for (const char *at = strstr (text, what); at; at = strstr (at + 1, what))
        n++;
    return n;
}

/* Asks id STATUS every heartbeat until pred holds, or the deadline. */
static bool
s_until_status (uint32_t id, bool (*pred) (const zr_client_reply_t *, uint64_t),
                uint64_t arg, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zr_client_request_t request = procs_req (ZR_CLIENT_STATUS, NULL, NULL);
        zr_client_reply_t reply;
        if (procs_request (s_procs, id, &request, &reply, PROCS_REPLY_MS) == 0
            && reply.code == ZR_CLIENT_OK && pred (&reply, arg))
            return true;
        zclock_sleep (PROCS_HEARTBEAT_MS);      /* a remote state: poll */
    }
    return false;
}

static bool
s_knows_leader_endpoint (const zr_client_reply_t *reply, uint64_t leader)
{
    if (reply->leader != leader)
        return false;
    for (uint32_t i = 0; i < reply->n_members; i++)
        if (reply->members [i].id == leader && reply->members [i].client_endpoint.size)
            return true;
    return false;
}

static bool
s_not_leading (const zr_client_reply_t *reply, uint64_t unused)
{
    (void) unused;
    return reply->role != 2;
}

static bool
s_snapshot_at_least (const zr_client_reply_t *reply, uint64_t index)
{
    return reply->snapshot_index >= index;
}

/* Reads key on node id (stale: its own state) every heartbeat until it
   holds value, or the deadline. */
static bool
s_until_value (uint32_t id, const char *key, const char *value, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zr_client_request_t request = procs_req (ZR_CLIENT_GET, key, NULL);
        request.stale = true;
        zr_client_reply_t reply;
        if (procs_request (s_procs, id, &request, &reply, PROCS_REPLY_MS) == 0
            && reply.code == ZR_CLIENT_OK && reply.found
            && reply.value.size == strlen (value)
            && memcmp (reply.value.data, value, reply.value.size) == 0)
            return true;
        zclock_sleep (PROCS_HEARTBEAT_MS);      /* a remote state: poll */
    }
    return false;
}

/* A leader other than `not`, agreed by a majority, or 0. */
static uint32_t
s_leader_other_than (uint32_t not, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        uint32_t leader = procs_leader (s_procs, (int) (deadline - zclock_mono ()));
        if (leader && leader != not)
            return leader;
        zclock_sleep (PROCS_HEARTBEAT_MS);
    }
    return 0;
}

/* ----------------------------------------------------------------------
   Tests
   ---------------------------------------------------------------------- */

/* put, get, del, cas: exit 0 and exactly the JSON; a table get
   prints the value; bytes that are not UTF-8 come back \u00XX-escaped;
   a usage error exits 64; ZRAFT_ENDPOINTS stands for --endpoints. */
START_TEST (ctl_kv_verbs_exit_codes_and_json)
{
    uint32_t leader = s_cluster (3);
    s_ctl_t *run = (s_ctl_t *) calloc (1, sizeof *run);
    s_ctl (run, S_ALL, "-w", "json", "put", "k", "v1", NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    s_ctl (run, S_ALL, "-w", "json", "get", "k", NULL);
    S_EXPECT (run, 0, "{\"found\":true,\"value\":\"v1\"}\n");
    s_ctl (run, S_ALL, "get", "k", NULL);
    S_EXPECT (run, 0, "v1\n");
    s_ctl (run, S_ALL, "-w", "json", "cas", "k", "v1", "v2", NULL);
    S_EXPECT (run, 0, "{\"swapped\":true}\n");
    s_ctl (run, S_ALL, "-w", "json", "cas", "k", "v1", "v3", NULL);
    S_EXPECT (run, 0, "{\"swapped\":false}\n");
    S_ASSERT (s_until_value (leader % 3 + 1, "k", "v2", PROCS_REPLY_MS), "follower lags");
    s_ctl (run, S_ONLY (leader % 3 + 1), "-w", "json", "get", "k", "--stale", NULL);
    S_EXPECT (run, 0, "{\"found\":true,\"value\":\"v2\"}\n");
    s_ctl (run, S_ALL, "-w", "json", "del", "k", NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    s_ctl (run, S_ALL, "-w", "json", "get", "k", NULL);
    S_EXPECT (run, 0, "{\"found\":false}\n");
    s_ctl (run, S_ALL, "put", "bin", "\xff\x01\xc3\xa9", NULL);
    S_EXPECT (run, 0, "OK\n");
    s_ctl (run, S_ALL, "-w", "json", "get", "bin", NULL);
    S_EXPECT (run, 0, "{\"found\":true,\"value\":\"\\u00ff\\u0001\xc3\xa9\"}\n");
    s_ctl (run, S_ALL, "put", "k", NULL);
    S_EXPECT (run, 64, "");
    S_ASSERT (strstr (run->err, "put takes 2 arguments"), "stderr '%s'", run->err);
    s_ctl (run, S_ALL, "-w", "json", "--frob", "get", "k", NULL);
    S_EXPECT (run, 64, "{\"error\":\"unknown option '--frob'\"}\n");
    s_ctl (run, S_ALL, "-w", "json", "get", "--frob", NULL);
    S_EXPECT (run, 64, "{\"error\":\"unknown option '--frob' (a key or value starting "
                       "with '-' goes after --)\"}\n");
    char env [512];
    snprintf (env, sizeof env, "ZRAFT_ENDPOINTS=%s", procs_client_endpoint (s_procs, leader));
    s_ctl_argv (run, env, (const char *[]) {"-w", "json", "get", "bin", NULL});
    S_ASSERT (run->code == 0, "with ZRAFT_ENDPOINTS: exit %d, %s", run->code, run->err);
    /* A tcp endpoint without its port is a usage error, not a connect. */
    s_ctl_argv (run, "ZRAFT_ENDPOINTS=tcp://127.0.0.1",
                (const char *[]) {"get", "bin", NULL});
    S_ASSERT (run->code == 64 && strstr (run->err, "is not an endpoint"),
              "a tcp endpoint without a port: exit %d, %s", run->code, run->err);
    free (run);
}
END_TEST

/* status -w json: one object per node with the keys, exactly one
   leader; after kill -9 a node is "unreachable"; when only the live ones
   are given it keeps its row (its name comes from their member lists):
   "unreachable" if they knew its client endpoint (it led once) and it
   was asked, "unknown" if not. */
START_TEST (ctl_status_json_and_unreachable)
{
    uint32_t leader = s_cluster (3);
    s_ctl_t *run = (s_ctl_t *) calloc (1, sizeof *run);
    s_ctl (run, S_ALL, "-w", "json", "status", NULL);
    S_ASSERT (run->code == 0, "exit %d: %s", run->code, run->err);
    S_ASSERT (strncmp (run->out, "{\"nodes\":[{\"name\":\"n1\",\"id\":1,", 30) == 0, "%s", run->out);
    S_ASSERT (s_count (run->out, "\"role\":\"leader\"") == 1, "%s", run->out);
    char object [1024], name [8];
    for (uint32_t id = 1; id <= 3; id++) {
        snprintf (name, sizeof name, "n%u", id);
        S_ASSERT (s_node_object (run->out, name, object, sizeof object), "no %s: %s", name, run->out);
        const char *keys [] = {"\"term\":", "\"leader\":", "\"commit\":", "\"applied\":",
                               "\"first_index\":", "\"last_index\":", "\"snapshot_index\":",
                               procs_client_endpoint (s_procs, id)};
        for (size_t k = 0; k < sizeof keys / sizeof keys [0]; k++)
            S_ASSERT (strstr (object, keys [k]), "%s lacks %s", object, keys [k]);
        S_ASSERT (strstr (object, id == leader ? "\"role\":\"leader\"" : "\"role\":\"follower\""),
                  "%s", object);
    }
    uint32_t victim = leader % 3 + 1;
    procs_kill (s_procs, victim);
    snprintf (name, sizeof name, "n%u", victim);
    uint32_t lists [2] = {S_ALL, S_ALL & ~S_ONLY (victim)};
    for (int l = 0; l < 2; l++) {
        s_ctl (run, lists [l], "-w", "json", "status", NULL);
        S_ASSERT (run->code == 0, "exit %d: %s", run->code, run->err);
        S_ASSERT (s_node_object (run->out, name, object, sizeof object), "%s", run->out);
        bool asked = strstr (object, procs_client_endpoint (s_procs, victim)) != NULL;
        S_ASSERT (l == 1 || asked, "%s", object);
        const char *role = asked ? "\"role\":\"unreachable\"" : "\"role\":\"unknown\"";
        S_ASSERT (strstr (object, role), "%s", object);
        S_ASSERT (s_count (run->out, role) == 1, "%s", run->out);
        S_ASSERT (s_count (run->out, "{\"name\":") == 3, "%s", run->out);
    }
    s_ctl (run, S_ALL, "status", NULL);
    S_ASSERT (run->code == 0 && strstr (run->out, "unreachable"), "%s", run->out);
    free (run);
}
END_TEST

/* Given only a follower, zraft-ctl follows NOT_LEADER's leader_endpoint
   (the leader's client endpoint, learnt by the follower through the
   log) to the leader. */
START_TEST (ctl_follows_redirect_from_follower)
{
    uint32_t leader = s_cluster (3);
    uint32_t follower = leader % 3 + 1;
    S_ASSERT (s_until_status (follower, s_knows_leader_endpoint, leader, PROCS_LEADER_WAIT_MS),
              "n%u never learnt n%u's client endpoint", follower, leader);
    s_ctl_t *run = (s_ctl_t *) calloc (1, sizeof *run);
    s_ctl (run, S_ONLY (follower), "-w", "json", "put", "r", "1", NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    s_ctl (run, S_ONLY (follower), "-w", "json", "get", "r", NULL);
    S_EXPECT (run, 0, "{\"found\":true,\"value\":\"1\"}\n");
    free (run);
}
END_TEST

/* Exit 1, certain failures. Every node SIGSTOPped before zraft-ctl
   starts: no connection completes its handshake, so nothing leaves (and
   the error says the server accepted a connection but did not answer,
   not that nothing was there).
   Then a cluster without a leader (followers stopped, the leader has
   stepped down): every answer is NOT_LEADER. */
START_TEST (ctl_exit_1_when_certainly_not_applied)
{
    uint32_t leader = s_cluster (3);
    for (uint32_t id = 1; id <= 3; id++)
        procs_signal (s_procs, id, SIGSTOP);
    s_ctl_t *run = (s_ctl_t *) calloc (1, sizeof *run);
    s_ctl (run, S_ALL, "--timeout", "1500", "-w", "json", "put", "k", "v", NULL);
    S_ASSERT (run->code == 1
              && strstr (run->out, "accepted a connection but did not answer"),
              "exit %d: %s %s", run->code, run->out, run->err);
    for (uint32_t id = 1; id <= 3; id++)
        procs_signal (s_procs, id, SIGCONT);
    leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (leader, "no leader after SIGCONT");
    for (uint32_t id = 1; id <= 3; id++)
        if (id != leader)
            procs_signal (s_procs, id, SIGSTOP);
    S_ASSERT (s_until_status (leader, s_not_leading, 0, PROCS_LEADER_WAIT_MS),
              "n%u still leads without a quorum", leader);
    s_ctl (run, S_ONLY (leader), "--timeout", "1500", "put", "k", "v", NULL);
    S_ASSERT (run->code == 1 && strstr (run->err, "NOT_LEADER"), "exit %d: %s",
              run->code, run->err);
    free (run);
}
END_TEST

/* Exit 2, unknown. Through the library: connected to the leader (a
   read went through), every node SIGSTOPped, then the put leaves on the
   live connection and nothing ever answers: UNKNOWN. Through zraft-ctl:
   the followers SIGSTOPped, the put reaches the leader, which cannot
   commit it: exit 2. (Should the leader have stepped down before the
   put arrived, it answers NOT_LEADER and exit 1 is the right answer;
   the followers are stopped just before, so that is one election
   timeout away.) Either way, once they continue, get works. */
START_TEST (ctl_exit_2_when_outcome_unknown)
{
    uint32_t leader = s_cluster (3);
    const char *endpoint = procs_client_endpoint (s_procs, leader);
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.timeout_ms = 3 * PROCS_ELECTION_MAX_MS;
    zr_kvclient_t *client = zr_kvclient_new (&endpoint, 1, &config);
    S_ASSERT (client, "zr_kvclient_new");
    zr_client_request_t get = procs_req (ZR_CLIENT_GET, "k", NULL);
    zr_kvclient_result_t result;
    S_ASSERT (zr_kvclient_call (client, &get, &result) == 0, "call");
    S_ASSERT (result.outcome == ZR_KVCLIENT_DONE, "warm-up get: %s", result.error);
    zr_kvclient_result_release (&result);
    for (uint32_t id = 1; id <= 3; id++)
        procs_signal (s_procs, id, SIGSTOP);
    zr_client_request_t put = procs_req (ZR_CLIENT_PUT, "k", "lost?");
    S_ASSERT (zr_kvclient_call (client, &put, &result) == 0, "call");
    S_ASSERT (result.tries >= 1, "the put never left: %s", result.error);
    S_ASSERT (result.outcome == ZR_KVCLIENT_UNKNOWN, "outcome %s: %s",
              zr_kvclient_outcome_name (result.outcome), result.error);
    zr_kvclient_result_release (&result);
    zr_kvclient_destroy (&client);
    for (uint32_t id = 1; id <= 3; id++)
        procs_signal (s_procs, id, SIGCONT);

    leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (leader, "no leader after SIGCONT");
    for (uint32_t id = 1; id <= 3; id++)
        if (id != leader)
            procs_signal (s_procs, id, SIGSTOP);
    s_ctl_t *run = (s_ctl_t *) calloc (1, sizeof *run);
    char timeout [32];
    snprintf (timeout, sizeof timeout, "%d", 3 * PROCS_ELECTION_MAX_MS);
    s_ctl (run, S_ONLY (leader), "--timeout", timeout, "-w", "json", "put", "k", "v", NULL);
    S_ASSERT (run->code == 2 || (run->code == 1 && strstr (run->out, "NOT_LEADER")),
              "exit %d: %s %s", run->code, run->out, run->err);
    if (run->code == 2)
        S_ASSERT (strncmp (run->out, "{\"error\":\"outcome unknown", 25) == 0, "%s", run->out);
    else
        fprintf (stderr, "ctl_exit_2: n%u had stepped down before the put came\n", leader);
    for (uint32_t id = 1; id <= 3; id++)
        if (id != leader)
            procs_signal (s_procs, id, SIGCONT);
    s_ctl (run, S_ALL, "-w", "json", "get", "k", NULL);
    S_ASSERT (run->code == 0 && strstr (run->out, "\"found\":"), "exit %d: %s %s",
              run->code, run->out, run->err);
    free (run);
}
END_TEST

/* partition changes nothing while a server it must reach cannot be
   asked, heal clears what it reaches (exit 2); transfer hands leadership to the named node; fault
   and partition fan out and take effect (a partitioned leader is
   replaced), heal ends them (it catches up); snapshot is taken on the
   leader. */
START_TEST (ctl_transfer_partition_heal_snapshot)
{
    uint32_t leader = s_cluster (3);
    uint32_t target = leader % 3 + 1;
    char name [8];
    snprintf (name, sizeof name, "n%u", target);
    s_ctl_t *run = (s_ctl_t *) calloc (1, sizeof *run);
    /* A server that must cut a link cannot be asked (SIGSTOPped): no
       link is changed anywhere, and exit 1 says so. */
    uint32_t other = 6 - leader - target;
    procs_signal (s_procs, other, SIGSTOP);
    s_ctl (run, S_ALL, "--timeout", "1500", "partition", name, NULL);
    S_ASSERT (run->code == 1 && strstr (run->err, "no link was changed"),
              "partition with n%u stopped: exit %d: %s", other, run->code, run->err);
    for (uint32_t id = 1; id <= 3; id++) {
        char *log = procs_log (s_procs, id);
        S_ASSERT (log && !strstr (log, "fault: link"), "n%u changed a link", id);
        free (log);
    }
    /* heal is safe to repeat: it clears what it reaches, and says that
       the stopped server's links were not (exit 2). */
    s_ctl (run, S_ALL, "--timeout", "1500", "heal", NULL);
    S_ASSERT (run->code == 2 && strstr (run->err, "the other 4 of 6 links were changed"),
              "heal with n%u stopped: exit %d: %s", other, run->code, run->err);
    procs_signal (s_procs, other, SIGCONT);
    s_ctl (run, S_ALL, "-w", "json", "transfer", name, NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    S_ASSERT (procs_leader (s_procs, PROCS_LEADER_WAIT_MS) == target, "n%u does not lead", target);

    s_ctl (run, S_ALL, "fault", "n1", "--drop", "0.2", "--delay", "5", NULL);
    S_EXPECT (run, 0, "OK\n");
    s_ctl (run, S_ALL, "-w", "json", "partition", name, NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    uint32_t next = s_leader_other_than (target, PROCS_LEADER_WAIT_MS);
    S_ASSERT (next, "no leader replaced partitioned n%u", target);
    s_ctl (run, S_ALL, "-w", "json", "put", "p", "after", NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    s_ctl (run, S_ALL, "-w", "json", "heal", NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    S_ASSERT (s_until_value (target, "p", "after", PROCS_LEADER_WAIT_MS),
              "n%u did not catch up after heal", target);

    s_ctl (run, S_ALL, "-w", "json", "snapshot", NULL);
    S_EXPECT (run, 0, "{\"ok\":true}\n");
    uint32_t now = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (now && s_until_status (now, s_snapshot_at_least, 1, PROCS_LEADER_WAIT_MS),
              "no snapshot on n%u", now);
    s_ctl (run, S_ALL, "transfer", "n9", NULL);
    S_ASSERT (run->code == 1 && strstr (run->err, "no member is named 'n9'"), "exit %d: %s",
              run->code, run->err);
    free (run);
}
END_TEST

/* Runs a shell command; fails the test unless it exits 0. */
static void
s_shell (const char *command)
{
    int status = system (command);
    S_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
              "'%s': status %d", command, status);
}

/* 7. A follower whose disk fills up: status shows it ("follower, disk
   failed" in the table, a line on stderr, "health" in JSON), and the
   others as well. Its data directory moves to a 20 MiB tmpfs (root, as
   the suite's set-up), room for its two preallocated segments and a
   little more; the leader then writes until that follower says so. */
START_TEST (ctl_status_shows_a_failed_disk)
{
    uint32_t leader = s_cluster (3);
    uint32_t f = leader % 3 + 1;
    procs_kill (s_procs, f);
    const char *dir = procs_data_dir (s_procs, f);
    char saved [1024], command [4096];
    snprintf (saved, sizeof saved, "%s-saved", dir);
    snprintf (command, sizeof command, "mv '%s' '%s' && mkdir '%s'", dir, saved, dir);
    s_shell (command);
    S_ASSERT (mount ("tmpfs", dir, "tmpfs", 0, "size=20m,mode=0700") == 0,
              "mount tmpfs on %s: %s (the suite runs as root)", dir, strerror (errno));
    snprintf (s_mounted, sizeof s_mounted, "%s", dir);
    snprintf (command, sizeof command, "cp -a '%s'/. '%s'/", saved, dir);
    s_shell (command);
    procs_start (s_procs, f);
    static char value [64 << 10];
    memset (value, 'v', sizeof value - 1);
    bool failed = false;
    for (uint64_t seq = 1; seq <= 1024 && !failed; seq++) {
        zr_client_request_t request = procs_req (ZR_CLIENT_PUT, "big", value);
        request.client_id = 7;
        request.seq = seq;
        zr_client_reply_t reply;
        int rc = procs_request (s_procs, leader, &request, &reply, PROCS_REPLY_MS);
        S_ASSERT (rc == 0 && reply.code == ZR_CLIENT_OK, "put %" PRIu64 ": rc %d code %d",
                  seq, rc, (int) reply.code);
        if (seq % 16)
            continue;
        request = procs_req (ZR_CLIENT_STATUS, NULL, NULL);
        rc = procs_request (s_procs, f, &request, &reply, PROCS_REPLY_MS);
        S_ASSERT (rc == 0 && reply.code == ZR_CLIENT_OK, "status of n%u: rc %d", f, rc);
        failed = reply.health.size == strlen ("disk failed")
                 && memcmp (reply.health.data, "disk failed", reply.health.size) == 0;
    }
    S_ASSERT (failed, "64 MiB written and n%u's disk of 20 MiB did not fail", f);
    s_ctl_t *run = (s_ctl_t *) calloc (1, sizeof *run);
    s_ctl (run, S_ALL, "-w", "json", "status", NULL);
    S_ASSERT (run->code == 0, "exit %d: %s", run->code, run->err);
    char object [1024], name [8];
    for (uint32_t id = 1; id <= 3; id++) {
        snprintf (name, sizeof name, "n%u", id);
        S_ASSERT (s_node_object (run->out, name, object, sizeof object), "%s", run->out);
        S_ASSERT (strstr (object, id == f ? "\"health\":\"disk failed\""
                                          : "\"health\":\"\""), "%s", object);
    }
    s_ctl (run, S_ALL, "status", NULL);
    S_ASSERT (run->code == 0 && strstr (run->out, " follower, disk failed "),
              "exit %d: %s", run->code, run->out);
    snprintf (name, sizeof name, "n%u", f);
    char line [64];
    snprintf (line, sizeof line, "zraft-ctl: %s: disk failed\n", name);
    S_ASSERT (strstr (run->err, line), "stderr: %s", run->err);
    free (run);
    procs_kill (s_procs, f);
    S_ASSERT (umount2 (dir, MNT_DETACH) == 0, "umount %s: %s", dir, strerror (errno));
    s_mounted [0] = 0;
    snprintf (command, sizeof command, "rm -rf '%s'", saved);
    s_shell (command);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("ctl_proc");
    TCase *tc = tcase_create ("zraft_ctl");
    tcase_set_timeout (tc, PROCS_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, ctl_kv_verbs_exit_codes_and_json);
    tcase_add_test (tc, ctl_status_json_and_unreachable);
    tcase_add_test (tc, ctl_follows_redirect_from_follower);
    tcase_add_test (tc, ctl_exit_1_when_certainly_not_applied);
    tcase_add_test (tc, ctl_exit_2_when_outcome_unknown);
    tcase_add_test (tc, ctl_transfer_partition_heal_snapshot);
    tcase_add_test (tc, ctl_status_shows_a_failed_disk);
    suite_add_tcase (s, tc);
    return check_run (s);
}
