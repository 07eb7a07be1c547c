/*  =========================================================================
    procs - clusters of real zraft-node processes for tests (procs.h)

    Processes are started with fork and execve; between the two the child
    only makes async-signal-safe calls (the test process has ZeroMQ's
    threads): it asks for SIGKILL when its parent dies, restores the
    signal mask and dispositions zraft-node expects, points stdout and
    stderr at its log and executes the binary.
    =========================================================================
*/
#include "procs.h"

#include <check.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define S_DIR_MAX 64                    /* the temporary directory */
#define S_PATH_MAX 512                  /* a path under it */
#define S_ENDPOINT_MAX 64               /* tcp://127.0.0.1:port */
#define S_ARGV_MAX (20 + PROCS_ARGS_MAX) /* one node's command line */
#define S_ENV_MAX 256                   /* variables passed on */
#define S_DUMP_LINES 40                 /* log lines procs_dump prints */
#define S_OUTPUT_MAX (1u << 20)         /* procs_run keeps this much */

typedef struct {
    uint32_t id;                        /* 1..n */
    pid_t pid;                          /* 0 when not running */
    bool stopped;                       /* SIGSTOPped, not continued */
    char peer [S_ENDPOINT_MAX];         /* its peer endpoint */
    char client [S_ENDPOINT_MAX];       /* its client endpoint */
    char bus [S_ENDPOINT_MAX];          /* its bus endpoint (PROCS_BUS) */
    char data_dir [S_PATH_MAX];         /* <dir>/n<id> */
    char log_path [S_PATH_MAX];         /* <dir>/n<id>.log */
    char *argv [S_ARGV_MAX];            /* its command line; owned */
    zsock_t *dealer;                    /* to its client endpoint; lazy */
} s_node_t;

struct _procs_t {
    uint32_t n;                         /* nodes, 1..PROCS_NODES_MAX */
    char dir [S_DIR_MAX];               /* the temporary directory */
    s_node_t nodes [PROCS_NODES_MAX];   /* by id - 1 */
    char *env [S_ENV_MAX];              /* the environment passed on; owned */
    zframe_t *last;                     /* the last reply, which *reply
                                           points into */
    uint64_t request_id;                /* the last one sent */
};

/* --------------------------------------------------------- processes */

/* The test's environment minus ZRAFT_* (borrowed strings), in env. */
static void
s_env_filter (char **env, size_t size)
{
    extern char **environ;
    size_t n = 0;
    for (size_t i = 0; environ [i] && n + 1 < size; i++)
        if (strncmp (environ [i], "ZRAFT_", 6))
            env [n++] = environ [i];
    env [n] = NULL;
}

/* Forks and executes argv with env, stdout and stderr on out_fd. Returns
   the child's pid, or -1 if fork failed. */
static pid_t
s_spawn (const char *const *argv, char *const *env, int out_fd)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    /* The child: async-signal-safe calls only. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        _exit (127);
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    signal (SIGPIPE, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGINT, SIG_DFL);
    if (dup2 (out_fd, 1) < 0 || dup2 (out_fd, 2) < 0)
        _exit (127);
    execve (argv [0], (char *const *) argv, env);
    _exit (127);
}

/* Waits up to timeout_ms for pid to exit, then reaps it. Returns its
   wait status or -1 if it still runs. */
static int
s_reap (pid_t pid, int timeout_ms)
{
    int status = 0;
    int fd = pidfd_open (pid, 0);
    if (fd >= 0) {
        struct pollfd item = {.fd = fd, .events = POLLIN};
        int rc;
        while ((rc = poll (&item, 1, timeout_ms)) < 0 && errno == EINTR)
            ;
        close (fd);
    }
    pid_t got;
    while ((got = waitpid (pid, &status, WNOHANG)) < 0 && errno == EINTR)
        ;
    return got == pid ? status : -1;
}

const char *
procs_binary (void)
{
    static char path [S_PATH_MAX];
    const char *env = getenv ("ZRAFT_NODE_BIN");
    if (env)
        return env;
    char exe [S_PATH_MAX] = "";
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt (n, 0);
    exe [n] = 0;
    /* <build>/tests/<kind>/test_x -> <build>/bin/zraft-node */
    char *build = dirname (dirname (dirname (exe)));
    snprintf (path, sizeof path, "%s/bin/zraft-node", build);
    return path;
}

int
procs_run (const char *const *argv, char *const *env, int timeout_ms,
           char **output)
{
    char *filtered [S_ENV_MAX];
    s_env_filter (filtered, S_ENV_MAX);
    int fds [2];
    ck_assert_int_eq (pipe2 (fds, O_CLOEXEC), 0);
    pid_t pid = s_spawn (argv, env ? env : filtered, fds [1]);
    ck_assert_int_gt (pid, 0);
    close (fds [1]);
    char *text = calloc (1, S_OUTPUT_MAX + 1);
    ck_assert_ptr_nonnull (text);
    size_t used = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    bool eof = false;
    while (!eof && zclock_mono () < deadline) {
        struct pollfd item = {.fd = fds [0], .events = POLLIN};
        if (poll (&item, 1, (int) (deadline - zclock_mono ())) <= 0)
            continue;
        char buf [4096];
        ssize_t n = read (fds [0], buf, sizeof buf);
        eof = n == 0 || (n < 0 && errno != EINTR);
        size_t keep = n > 0 ? (size_t) n : 0;
        keep = keep > S_OUTPUT_MAX - used ? S_OUTPUT_MAX - used : keep;
        memcpy (text + used, buf, keep);
        used += keep;
    }
    close (fds [0]);
    int status = s_reap (pid, (int) (deadline - zclock_mono () > 0
                                     ? deadline - zclock_mono () : 0));
    if (status == -1) {
        kill (pid, SIGKILL);
        s_reap (pid, PROCS_EXIT_MS);
    }
    if (output)
        *output = text;
    else
        free (text);
    return status;
}

/* -------------------------------------------------------------- set-up */

/* Picks count free tcp ports on 127.0.0.1 (all bound at once, so they
   differ; then released for the nodes to bind). */
static void
s_ports_pick (uint16_t *ports, uint32_t count)
{
    int fds [3 * PROCS_NODES_MAX];
    ck_assert_uint_le (count, 3 * PROCS_NODES_MAX);
    for (uint32_t i = 0; i < count; i++) {
        fds [i] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
        socklen_t length = sizeof addr;
        ck_assert_int_ge (fds [i], 0);
        ck_assert_int_eq (bind (fds [i], (struct sockaddr *) &addr,
                                sizeof addr), 0);
        ck_assert_int_eq (getsockname (fds [i], (struct sockaddr *) &addr,
                                       &length), 0);
        ports [i] = ntohs (addr.sin_port);
    }
    for (uint32_t i = 0; i < count; i++)
        close (fds [i]);
}

uint16_t
procs_port (void)
{
    uint16_t port;
    s_ports_pick (&port, 1);
    return port;
}

/* Appends a copy of text to node's argv. */
static void
s_arg (s_node_t *node, const char *text)
{
    size_t n = 0;
    while (node->argv [n])
        n++;
    ck_assert_uint_lt (n + 1, S_ARGV_MAX);
    node->argv [n] = strdup (text);
    ck_assert_ptr_nonnull (node->argv [n]);
}

/* Builds node's command line. */
static void
s_node_argv (procs_t *self, s_node_t *node, const char *cluster,
             const char *const *extra)
{
    char text [64];
    s_arg (node, procs_binary ());
    s_arg (node, "--name");
    snprintf (text, sizeof text, "n%u", node->id);
    s_arg (node, text);
    s_arg (node, "--data-dir");
    s_arg (node, node->data_dir);
    s_arg (node, "--initial-cluster");
    s_arg (node, cluster);
    s_arg (node, "--listen-client");
    s_arg (node, node->client);
    s_arg (node, "--heartbeat-interval");
    snprintf (text, sizeof text, "%d", PROCS_HEARTBEAT_MS);
    s_arg (node, text);
    s_arg (node, "--election-timeout");
    snprintf (text, sizeof text, "%d", PROCS_ELECTION_MS);
    s_arg (node, text);
    s_arg (node, "--log-level");
    s_arg (node, "info");
    for (size_t i = 0; extra && extra [i]; i++) {
        ck_assert_uint_lt (i, PROCS_ARGS_MAX);
        if (streq (extra [i], PROCS_BUS)) {
            s_arg (node, "--listen-bus");
            s_arg (node, node->bus);
        }
        else
            s_arg (node, extra [i]);
    }
    (void) self;
}

procs_t *
procs_new (uint32_t n, const char *const *extra)
{
    ck_assert (n >= 1 && n <= PROCS_NODES_MAX);
    procs_t *self = (procs_t *) calloc (1, sizeof *self);
    ck_assert_ptr_nonnull (self);
    self->n = n;
    snprintf (self->dir, sizeof self->dir, "/tmp/zraft-procs-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (self->dir));
    char *env [S_ENV_MAX];
    s_env_filter (env, S_ENV_MAX);
    for (size_t i = 0; env [i]; i++)
        ck_assert_ptr_nonnull (self->env [i] = strdup (env [i]));
    uint16_t ports [3 * PROCS_NODES_MAX];
    s_ports_pick (ports, 3 * n);
    char cluster [PROCS_NODES_MAX * S_ENDPOINT_MAX] = "";
    for (uint32_t i = 0; i < n; i++) {
        s_node_t *node = &self->nodes [i];
        node->id = i + 1;
        snprintf (node->peer, sizeof node->peer, "tcp://127.0.0.1:%u",
                  ports [2 * i]);
        snprintf (node->client, sizeof node->client, "tcp://127.0.0.1:%u",
                  ports [2 * i + 1]);
        snprintf (node->bus, sizeof node->bus, "tcp://127.0.0.1:%u",
                  ports [2 * n + i]);
        snprintf (node->data_dir, sizeof node->data_dir, "%s/n%u", self->dir,
                  node->id);
        snprintf (node->log_path, sizeof node->log_path, "%s/n%u.log",
                  self->dir, node->id);
        size_t at = strlen (cluster);
        snprintf (cluster + at, sizeof cluster - at, "%sn%u=%s", i ? "," : "",
                  node->id, node->peer);
    }
    for (uint32_t i = 0; i < n; i++)
        s_node_argv (self, &self->nodes [i], cluster, extra);
    for (uint32_t id = 1; id <= n; id++)
        procs_start (self, id);
    return self;
}

/* Removes one entry of the temporary directory (nftw callback). */
static int
s_remove_cb (const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    remove (path);
    return 0;
}

void
procs_destroy (procs_t **self_p)
{
    ck_assert_ptr_nonnull (self_p);
    procs_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t id = 1; id <= self->n; id++) {
        s_node_t *node = &self->nodes [id - 1];
        if (node->pid)
            procs_kill (self, id);
        zsock_destroy (&node->dealer);
        for (size_t i = 0; node->argv [i]; i++)
            free (node->argv [i]);
    }
    zframe_destroy (&self->last);
    for (size_t i = 0; self->env [i]; i++)
        free (self->env [i]);
    if (getenv ("PROCS_KEEP"))
        fprintf (stderr, "procs: kept %s\n", self->dir);
    else
        nftw (self->dir, s_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
    free (self);
    *self_p = NULL;
}

/* ----------------------------------------------------------- lifecycle */

static s_node_t *
s_node (procs_t *self, uint32_t id)
{
    ck_assert_msg (self && id >= 1 && id <= self->n, "no node %u", id);
    return &self->nodes [id - 1];
}

pid_t
procs_start (procs_t *self, uint32_t id)
{
    s_node_t *node = s_node (self, id);
    ck_assert_msg (node->pid == 0, "n%u runs already", id);
    int fd = open (node->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                   0644);
    ck_assert_int_ge (fd, 0);
    node->pid = s_spawn ((const char *const *) node->argv, self->env, fd);
    close (fd);
    ck_assert_int_gt (node->pid, 0);
    node->stopped = false;
    return node->pid;
}

/* Waits up to timeout_ms until every thread of pid (a child) has
   stopped; true if it did. kill returns once SIGSTOP is queued; one
   thread then has to run to start the group stop, and the others stop
   as they next leave the kernel, so a thread already running or
   runnable can go on for a while (in a busy SCHED_BATCH server, a
   scheduler slice or more: long enough to acknowledge an
   AppendEntries). The kernel reports the stop once the last thread
   stopped; no descriptor polls for it, so it is asked every
   millisecond. WNOWAIT leaves the report (and an exit) to be
   collected, so procs_wait_exit still reaps the child. */
static bool
s_stopped_wait (pid_t pid, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        siginfo_t info;
        memset (&info, 0, sizeof info);
        int rc = waitid (P_PID, (id_t) pid, &info,
                         WSTOPPED | WEXITED | WNOWAIT | WNOHANG);
        if (rc == 0 && info.si_pid == pid)
            return info.si_code == CLD_STOPPED;
        if ((rc < 0 && errno != EINTR) || zclock_mono () >= deadline)
            return false;
        poll (NULL, 0, 1);
    }
}

void
procs_signal (procs_t *self, uint32_t id, int signal)
{
    s_node_t *node = s_node (self, id);
    ck_assert_msg (node->pid > 0, "n%u does not run", id);
    bool was_stopped = node->stopped;
    ck_assert_int_eq (kill (node->pid, signal), 0);
    if (signal == SIGSTOP || signal == SIGCONT)
        node->stopped = signal == SIGSTOP;
    if (signal == SIGSTOP && !was_stopped
        && !s_stopped_wait (node->pid, PROCS_EXIT_MS)) {
        procs_dump (self);
        ck_abort_msg ("n%u did not stop within %d ms of SIGSTOP", id,
                      PROCS_EXIT_MS);
    }
}

int
procs_wait_exit (procs_t *self, uint32_t id, int timeout_ms)
{
    s_node_t *node = s_node (self, id);
    ck_assert_msg (node->pid > 0, "n%u does not run", id);
    int status = s_reap (node->pid, timeout_ms);
    if (status != -1) {
        node->pid = 0;
        node->stopped = false;
        zsock_destroy (&node->dealer);
    }
    return status;
}

void
procs_kill (procs_t *self, uint32_t id)
{
    procs_signal (self, id, SIGKILL);
    int status = procs_wait_exit (self, id, PROCS_EXIT_MS);
    ck_assert_msg (status != -1, "n%u survived SIGKILL", id);
}

bool
procs_running (procs_t *self, uint32_t id)
{
    return s_node (self, id)->pid > 0;
}

pid_t
procs_pid (procs_t *self, uint32_t id)
{
    return s_node (self, id)->pid;
}

/* ------------------------------------------------------------ requests */

/* The node's DEALER, created on first use: it queues nothing for a
   connection that is not up (ZMQ_IMMEDIATE), so a request never reaches
   a later incarnation by surprise. */
static zsock_t *
s_dealer (procs_t *self, s_node_t *node)
{
    if (!node->dealer) {
        node->dealer = zsock_new (ZMQ_DEALER);
        ck_assert_ptr_nonnull (node->dealer);
        zsock_set_immediate (node->dealer, 1);
        zsock_set_linger (node->dealer, 0);
        zsock_set_reconnect_ivl (node->dealer, 20);
        zsock_set_reconnect_ivl_max (node->dealer, 200);
        ck_assert_int_eq (zsock_connect (node->dealer, "%s", node->client), 0);
    }
    (void) self;
    return node->dealer;
}

/* Sends n frames and waits for a reply frame whose request id is
   request_id (any if 0) until deadline; decodes it into *reply. */
static int
s_exchange (procs_t *self, s_node_t *node, const void *const *frames,
            const size_t *sizes, size_t n, uint64_t request_id,
            zr_client_reply_t *reply, int64_t deadline)
{
    zsock_t *dealer = s_dealer (self, node);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t left = deadline - zclock_mono ();
        zsock_set_sndtimeo (dealer, (int) (left > 0 ? left : 0));
        rc = zmq_send (zsock_resolve (dealer), frames [i], sizes [i],
                       i + 1 < n ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
    }
    while (rc == 0) {
        int64_t left = deadline - zclock_mono ();
        zsock_set_rcvtimeo (dealer, (int) (left > 0 ? left : 0));
        zframe_t *frame = zframe_recv (dealer);
        if (!frame) {
            rc = -1;
            break;
        }
        zframe_destroy (&self->last);
        self->last = frame;
        rc = zr_client_reply_decode (zframe_data (frame), zframe_size (frame),
                                     reply) ? -1 : 0;
        if (rc == 0 && request_id && reply->request_id != request_id
            && reply->request_id != 0)
            continue;                   /* a late reply to an earlier one */
        break;
    }
    if (rc != 0)
        zsock_destroy (&node->dealer);  /* drops what is queued either way */
    return rc;
}

int
procs_request (procs_t *self, uint32_t id, zr_client_request_t *request,
               zr_client_reply_t *reply, int timeout_ms)
{
    s_node_t *node = s_node (self, id);
    request->request_id = ++self->request_id;
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (zr_client_request_encode (request, &data, &size), 0);
    const void *frames [1] = {data};
    int rc = s_exchange (self, node, frames, &size, 1, request->request_id,
                         reply, zclock_mono () + timeout_ms);
    free (data);
    return rc;
}

int
procs_request_raw (procs_t *self, uint32_t id, const void *const *frames,
                   const size_t *sizes, size_t n, zr_client_reply_t *reply,
                   int timeout_ms)
{
    return s_exchange (self, s_node (self, id), frames, sizes, n, 0, reply,
                       zclock_mono () + timeout_ms);
}

void
procs_send (zsock_t *dealer, const zr_client_request_t *request)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (zr_client_request_encode (request, &data, &size), 0);
    ck_assert_int_eq (zmq_send (zsock_resolve (dealer), data, size, 0),
                      (int) size);
    free (data);
}

zr_client_request_t
procs_req (zr_client_type_t type, const char *key, const char *value)
{
    zr_client_request_t request = {.type = type};
    if (key)
        request.key = (zr_client_bytes_t) {(const uint8_t *) key, strlen (key)};
    if (value)
        request.value = (zr_client_bytes_t) {(const uint8_t *) value,
                                             strlen (value)};
    return request;
}

/* One round of STATUS to every running, not stopped node: returns the
   leader a majority of the cluster agrees on in the highest term any
   node leads, or 0. */
static uint32_t
s_leader_round (procs_t *self, int64_t deadline)
{
    uint32_t says [PROCS_NODES_MAX] = {0};      /* leader each node names */
    uint64_t terms [PROCS_NODES_MAX] = {0};
    uint32_t leader = 0;
    uint64_t leader_term = 0;
    for (uint32_t id = 1; id <= self->n; id++) {
        s_node_t *node = s_node (self, id);
        int64_t left = deadline - zclock_mono ();
        if (!node->pid || node->stopped || left <= 0)
            continue;
        zr_client_request_t request = {.type = ZR_CLIENT_STATUS};
        zr_client_reply_t reply;
        int timeout = (int) (left < PROCS_ELECTION_MS ? left : PROCS_ELECTION_MS);
        if (procs_request (self, id, &request, &reply, timeout) != 0
            || reply.code != ZR_CLIENT_OK)
            continue;
        says [id - 1] = reply.leader;
        terms [id - 1] = reply.term;
        if (reply.role == 2 && reply.term >= leader_term) {
            leader = id;
            leader_term = reply.term;
        }
    }
    uint32_t agree = 0;
    for (uint32_t i = 0; i < self->n && leader; i++)
        agree += says [i] == leader && terms [i] == leader_term;
    return agree > self->n / 2 ? leader : 0;
}

uint32_t
procs_leader (procs_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        uint32_t leader = s_leader_round (self, deadline);
        if (leader)
            return leader;
        /* Ask again a heartbeat later: the interval of this poll, not a
           wait for anything in particular. */
        poll (NULL, 0, PROCS_HEARTBEAT_MS);
    }
    return 0;
}

/* ------------------------------------------------------------- access */

const char *
procs_client_endpoint (procs_t *self, uint32_t id)
{
    return s_node (self, id)->client;
}

const char *
procs_bus_endpoint (procs_t *self, uint32_t id)
{
    return s_node (self, id)->bus;
}

const char *
procs_peer_endpoint (procs_t *self, uint32_t id)
{
    return s_node (self, id)->peer;
}

const char *
procs_data_dir (procs_t *self, uint32_t id)
{
    return s_node (self, id)->data_dir;
}

const char *const *
procs_argv (procs_t *self, uint32_t id)
{
    return (const char *const *) s_node (self, id)->argv;
}

char *
procs_log (procs_t *self, uint32_t id)
{
    s_node_t *node = s_node (self, id);
    FILE *file = fopen (node->log_path, "r");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ck_assert_ptr_nonnull (out);
    char buf [4096];
    size_t n;
    while (file && (n = fread (buf, 1, sizeof buf, file)) > 0)
        fwrite (buf, 1, n, out);
    if (file)
        fclose (file);
    fclose (out);
    return text;
}

void
procs_dump (procs_t *self)
{
    for (uint32_t id = 1; id <= self->n; id++) {
        char *text = procs_log (self, id);
        size_t lines = 0;
        const char *at = text + strlen (text);
        while (at > text && lines <= S_DUMP_LINES)
            lines += *--at == '\n';
        fprintf (stderr, "---- n%u (pid %d) %s, last lines:\n%s\n", id,
                 (int) self->nodes [id - 1].pid, self->nodes [id - 1].log_path,
                 at == text ? at : at + 1);
        free (text);
    }
}
