/*  =========================================================================
    procs - --procs: real zraft-node processes, loaded as a client would
    (see procs.h)

    The run goes: pick the node binary, the data dirs and 2 x N free
    ports; fork and execute every node (no ZeroMQ state yet, so none
    crosses a fork); start czmq and one DEALER per node for STATUS and
    FAULT; wait until every node answered a STATUS, then for the FAULT
    answers, then for an agreed leader; run the kv load, whose tick
    (every ZB_POLL_MS at most) watches, asks and samples the nodes;
    verify; stop every node; report. Invariants:
    1. A node has at most one STATUS in flight (status_id), asked again
       after S_STATUS_LOST_MS without an answer; a reply with another
       id is late and dropped.
    2. Every node forked is reaped before zb_procs_main returns: SIGTERM,
       then SIGKILL after S_EXIT_MS.
    =========================================================================
*/
#include "bench.h"
#include "procs.h"
#include "kv.h"
#include "../../transport/client.h"

#define S_START_MS 20000                /* nodes have this long to answer */
#define S_EXIT_MS 10000                 /* ... and to stop once told */
#define S_STATUS_MS 100                 /* each node is asked this often */
#define S_STATUS_LOST_MS 2000           /* then asked again if unanswered */
#define S_ARGS_MAX 20                   /* a node's command line */
#define S_ENV_MAX 256                   /* variables passed on */
#define S_PATH_MAX (ZB_DIR_MAX + 64)    /* a path under the run's dir */
#define S_ENDPOINT_MAX 32               /* tcp://127.0.0.1:65535 */
#define S_CLUSTER_MAX (ZRAFT_NODES_MAX * (S_ENDPOINT_MAX + 8))
#define S_TAIL_BYTES 2048               /* of a node's log, on a failure */
#define S_KEYS 10000u                   /* the keys PUTs go to (kv's) */
#define S_CLIENTS 16u                   /* --clients default: min (W, 16) */
#define S_TIMEOUT_MS 10000              /* a request's reply, at least */

/* One zraft-node process and what it last said. */
typedef struct {
    pid_t pid;                          /* 0 before the fork, once reaped */
    bool exited;                        /* reaped: status holds */
    int status;                         /* its wait status */
    char peer [S_ENDPOINT_MAX];         /* tcp://127.0.0.1:port */
    char client [S_ENDPOINT_MAX];       /* ditto */
    char log [S_PATH_MAX];              /* DIR/n<id>.log: its stderr */
    zsock_t *dealer;                    /* STATUS and FAULT requests */
    uint64_t next_id;                   /* the last request id used */
    uint64_t status_id;                 /* the STATUS in flight; 0: none */
    int64_t status_us;                  /* it was sent then; or the next
                                           one is due then (none in flight) */
    uint32_t faults_pending;            /* FAULT requests not answered */
    bool reported;                      /* a STATUS answered OK */
    uint32_t role;                      /* from STATUS: 2 = leader */
    uint64_t term;                      /* from STATUS */
    uint32_t leader;                    /* from STATUS */
    uint64_t commit, applied;           /* from STATUS */
    uint64_t snapshot_index;            /* from STATUS */
    int64_t cpu_us [2];                 /* CPU of its process at the
                                           window's start and end */
    uint64_t hwm_bytes;                 /* its peak RSS, at the end */
} s_node_t;

struct _zb_procs_t {
    zb_opts_t opts;                     /* parsed flags */
    char bin [S_PATH_MAX];              /* the zraft-node executed */
    zb_dirs_t dirs;                     /* data dirs, made here */
    bool logs;                          /* log files may exist */
    s_node_t nodes [ZRAFT_NODES_MAX];   /* by id - 1 */
    uint32_t leader;                    /* agreed leader, 0 before */
    uint64_t term;                      /* its term */
    uint32_t leader_changes;            /* after the first agreed */
    int64_t from_us, until_us;          /* the measured window; 0 before */
    bool cpu_taken [2];                 /* every node's cpu_us [i] taken */
    int64_t tick_us;                    /* next time the tick does work */
    zr_histogram_t *hist;               /* the load's latencies */
    zb_samples_t *samples;              /* RSS and disk over time */
    bool sampling;                      /* zb_samples_start was called */
    zb_progress_t progress;             /* stderr progress line */
    zb_kv_figures_t fig;                /* what the load measured */
};


/* --------------------------------------------------------------------------
 * The processes */

/* Sets self->bin: --node-bin, or zraft-node in this program's directory.
   Returns 0, or -1 after a message if it is not executable. */
static int
s_procs_bin (zb_procs_t *self)
{
    if (self->opts.node_bin)
        snprintf (self->bin, sizeof self->bin, "%s", self->opts.node_bin);
    else {
        char exe [S_PATH_MAX] = "";
        ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
        char *slash = n > 0 ? (exe [n] = 0, strrchr (exe, '/')) : NULL;
        if (slash)
            slash [1] = 0;
        const char *dir = slash ? exe : "./";
        if (strlen (dir) + sizeof "zraft-node" > sizeof self->bin) {
            fprintf (stderr, "zraft-bench: --procs: the path of this program"
                     " is too long; name zraft-node with --node-bin\n");
            return -1;
        }
        memcpy (self->bin, dir, strlen (dir));
        memcpy (self->bin + strlen (dir), "zraft-node", sizeof "zraft-node");
    }
    if (access (self->bin, X_OK) == 0)
        return 0;
    fprintf (stderr, "zraft-bench: --procs: no executable zraft-node at %s"
             " (build it with make, or name it with --node-bin)\n",
             self->bin);
    return -1;
}

/* Fills env with this process's environment minus ZRAFT_* (borrowed
   strings): the command line says everything a node is to use. */
static void
s_procs_env (char **env, size_t size)
{
    extern char **environ;
    size_t n = 0;
    for (size_t i = 0; environ [i] && n + 1 < size; i++)
        if (strncmp (environ [i], "ZRAFT_", 6) != 0)
            env [n++] = environ [i];
    env [n] = NULL;
}

/* Forks and executes node id with its stderr and stdout on its log.
   Between fork and exec only async-signal-safe calls. Returns 0 or -1
   after a message. */
static int
s_procs_spawn (zb_procs_t *self, uint32_t id)
{
    const zb_opts_t *o = &self->opts;
    s_node_t *node = &self->nodes [id - 1];
    char name [16], cluster [S_CLUSTER_MAX], heartbeat [16], election [16];
    char snapshots [32];
    size_t used = 0;
    for (uint32_t i = 0; i < o->nodes; i++)
        used += (size_t) snprintf (cluster + used, sizeof cluster - used,
                                   "%sn%u=%s", i ? "," : "", i + 1,
                                   self->nodes [i].peer);
    assert (used < sizeof cluster);
    snprintf (name, sizeof name, "n%u", id);
    snprintf (heartbeat, sizeof heartbeat, "%u", o->heartbeat_ms);
    snprintf (election, sizeof election, "%u", o->election_ms);
    snprintf (snapshots, sizeof snapshots, "%" PRIu64,
              o->no_snapshots ? 0 : o->snapshot_entries);
    const char *args [S_ARGS_MAX];
    size_t n = 0;
    args [n++] = self->bin;
    args [n++] = "--name";
    args [n++] = name;
    args [n++] = "--data-dir";
    args [n++] = self->dirs.data [id - 1];
    args [n++] = "--initial-cluster";
    args [n++] = cluster;
    args [n++] = "--listen-client";
    args [n++] = node->client;
    args [n++] = "--heartbeat-interval";
    args [n++] = heartbeat;
    args [n++] = "--election-timeout";
    args [n++] = election;
    if (o->no_snapshots || o->snapshot_entries) {
        args [n++] = "--snapshot-entries";
        args [n++] = snapshots;
    }
    args [n] = NULL;
    assert (n < S_ARGS_MAX);
    char *env [S_ENV_MAX];
    s_procs_env (env, S_ENV_MAX);
    int fd = open (node->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf (stderr, "zraft-bench: cannot create %s: %s\n", node->log,
                 strerror (errno));
        return -1;
    }
    self->logs = true;
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        setpgid (0, 0);                 /* ^C reaches us only: we stop it */
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);                /* we died already */
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        signal (SIGPIPE, SIG_DFL);
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        if (dup2 (fd, 1) < 0 || dup2 (fd, 2) < 0)
            _exit (127);
        execve (args [0], (char *const *) args, env);
        static const char why [] = "zraft-bench: cannot execute zraft-node\n";
        if (write (2, why, sizeof why - 1) < 0)
            _exit (127);
        _exit (127);
    }
    close (fd);
    if (pid < 0) {
        fprintf (stderr, "zraft-bench: fork: %s\n", strerror (errno));
        return -1;
    }
    node->pid = pid;
    return 0;
}

/* Prints the end of every node's log on stderr, after a failure. */
static void
s_procs_tails (zb_procs_t *self)
{
    for (uint32_t i = 0; self->logs && i < self->opts.nodes; i++) {
        FILE *file = fopen (self->nodes [i].log, "r");
        if (!file)
            continue;
        char text [S_TAIL_BYTES + 1];
        long end = fseek (file, 0, SEEK_END) == 0 ? ftell (file) : 0;
        long from = end > S_TAIL_BYTES ? end - S_TAIL_BYTES : 0;
        size_t got = fseek (file, from, SEEK_SET) == 0
                     ? fread (text, 1, S_TAIL_BYTES, file) : 0;
        fclose (file);
        text [got] = 0;
        const char *start = text;
        if (from > 0 && strchr (text, '\n'))
            start = strchr (text, '\n') + 1;    /* a whole first line */
        fprintf (stderr, "--- %s%s\n%s", self->nodes [i].log,
                 from > 0 ? " (its end)" : "", start);
        if (got && text [got - 1] != '\n')
            fprintf (stderr, "\n");
    }
}

/* Reaps the nodes that exited. Returns 0, or -1 after a message if one
   did (while the run needs every node). */
static int
s_procs_watch (zb_procs_t *self)
{
    int rc = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        s_node_t *node = &self->nodes [i];
        int status = 0;
        if (node->pid <= 0 || waitpid (node->pid, &status, WNOHANG) <= 0)
            continue;
        node->pid = 0;
        node->exited = true;
        node->status = status;
        zb_progress_clear (&self->progress);
        if (WIFSIGNALED (status))
            fprintf (stderr, "zraft-bench: n%u (zraft-node) was killed by"
                     " signal %d during the run\n", i + 1, WTERMSIG (status));
        else
            fprintf (stderr, "zraft-bench: n%u (zraft-node) exited with"
                     " status %d during the run\n", i + 1,
                     WEXITSTATUS (status));
        rc = -1;
    }
    return rc;
}

/* Stops every node: SIGTERM (zraft-node's clean stop), SIGKILL to those
   still there after S_EXIT_MS. Returns true if every node exited by
   itself with status 0 (none died during the run). */
static bool
s_procs_stop (zb_procs_t *self)
{
    bool clean = true;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        s_node_t *node = &self->nodes [i];
        if (node->pid > 0)
            kill (node->pid, SIGTERM);
        else
        if (node->exited)
            clean = false;              /* it died during the run */
    }
    int64_t until = zb_now_us () + 1000 * (int64_t) S_EXIT_MS;
    for (uint32_t left = self->opts.nodes; left > 0;) {
        left = 0;
        for (uint32_t i = 0; i < self->opts.nodes; i++) {
            s_node_t *node = &self->nodes [i];
            int status = 0;
            if (node->pid > 0 && waitpid (node->pid, &status, WNOHANG) > 0) {
                clean &= WIFEXITED (status) && WEXITSTATUS (status) == 0;
                if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
                    fprintf (stderr, "zraft-bench: n%u (zraft-node) did not"
                             " stop cleanly (wait status %d)\n", i + 1,
                             status);
                node->pid = 0;
            }
            left += node->pid > 0;
        }
        if (left && zb_now_us () >= until) {
            for (uint32_t i = 0; i < self->opts.nodes; i++)
                if (self->nodes [i].pid > 0) {
                    fprintf (stderr, "zraft-bench: n%u did not stop within"
                             " %d ms: killed\n", i + 1, S_EXIT_MS);
                    kill (self->nodes [i].pid, SIGKILL);
                    waitpid (self->nodes [i].pid, NULL, 0);
                    self->nodes [i].pid = 0;
                }
            return false;
        }
        if (left)
            poll (NULL, 0, ZB_POLL_MS);
    }
    return clean;
}

/* CPU microseconds (user + system) process pid used so far, from
   /proc/<pid>/stat; 0 if it cannot be read. */
static int64_t
s_proc_cpu_us (pid_t pid)
{
    char path [64], line [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    bool ok = file && fgets (line, sizeof line, file);
    if (file)
        fclose (file);
    const char *after = ok ? strrchr (line, ')') : NULL;
    unsigned long long user = 0, system = 0;
    if (!after || sscanf (after + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u"
                          " %*u %*u %llu %llu", &user, &system) != 2)
        return 0;
    long hz = sysconf (_SC_CLK_TCK);
    return hz > 0 ? (int64_t) ((user + system) * 1000000ull
                               / (unsigned long long) hz) : 0;
}


/* --------------------------------------------------------------------------
 * STATUS and FAULT over the client protocol */

/* Connects a DEALER to every node's client endpoint. Returns 0 or -1. */
static int
s_procs_connect (zb_procs_t *self)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        s_node_t *node = &self->nodes [i];
        node->dealer = zsock_new (ZMQ_DEALER);
        if (!node->dealer)
            return -1;
        zsock_set_linger (node->dealer, 0);
        zsock_set_maxmsgsize (node->dealer, (int) ZR_CLIENT_FRAME_MAX);
        if (zsock_connect (node->dealer, "%s", node->client)) {
            fprintf (stderr, "zraft-bench: cannot connect to %s\n",
                     node->client);
            return -1;
        }
    }
    return 0;
}

/* Sends request to node i under a new request id. Returns the id, or 0
   if it could not be sent (the node's queue is full: asked again later). */
static uint64_t
s_procs_send (zb_procs_t *self, uint32_t i, zr_client_request_t *request)
{
    s_node_t *node = &self->nodes [i];
    request->request_id = ++node->next_id;
    uint8_t *data = NULL;
    size_t size = 0;
    if (zr_client_request_encode (request, &data, &size))
        return 0;
    int rc = zmq_send (zsock_resolve (node->dealer), data, size, ZMQ_DONTWAIT);
    free (data);
    return rc < 0 ? 0 : request->request_id;
}

/* Handles one reply frame from node i. Returns 0, or -1 after a message
   if the node refused a FAULT. */
static int
s_procs_on_reply (zb_procs_t *self, uint32_t i, const uint8_t *data,
                  size_t size, int64_t now)
{
    s_node_t *node = &self->nodes [i];
    zr_client_reply_t reply;
    if (zr_client_reply_decode (data, size, &reply))
        return 0;                       /* not for us to judge: dropped */
    if (reply.type == ZR_CLIENT_FAULT && node->faults_pending) {
        node->faults_pending--;
        if (reply.code == ZR_CLIENT_OK)
            return 0;
        zb_progress_clear (&self->progress);
        fprintf (stderr, "zraft-bench: n%u refused FAULT: %s %.*s\n", i + 1,
                 zr_client_code_name ((int) reply.code),
                 (int) reply.message.size, (const char *) reply.message.data);
        return -1;
    }
    if (reply.type != ZR_CLIENT_STATUS || !node->status_id
        || reply.request_id != node->status_id)
        return 0;                       /* late */
    node->status_id = 0;
    node->status_us = now + 1000 * S_STATUS_MS;
    if (reply.code != ZR_CLIENT_OK)
        return 0;
    node->reported = true;
    node->role = reply.role;
    node->term = reply.term;
    node->leader = reply.leader;
    node->commit = reply.commit;
    node->applied = reply.applied;
    node->snapshot_index = reply.snapshot_index;
    return 0;
}

/* Waits up to wait_ms for replies, handles every one waiting, and asks
   every running node for its STATUS when due. Returns 0 or -1 (a FAULT
   refused). */
static int
s_procs_poll (zb_procs_t *self, int wait_ms)
{
    const uint32_t nodes = self->opts.nodes;
    zmq_pollitem_t items [ZRAFT_NODES_MAX];
    for (uint32_t i = 0; i < nodes; i++)
        items [i] = (zmq_pollitem_t) {zsock_resolve (self->nodes [i].dealer),
                                      0, ZMQ_POLLIN, 0};
    if (zmq_poll (items, (int) nodes, wait_ms) < 0 && errno != EINTR)
        return -1;
    int64_t now = zb_now_us ();
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    int rc = 0;
    for (uint32_t i = 0; i < nodes && rc == 0; i++) {
        void *handle = zsock_resolve (self->nodes [i].dealer);
        while (rc == 0 && (items [i].revents & ZMQ_POLLIN)
               && zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) >= 0)
            rc = s_procs_on_reply (self, i, zmq_msg_data (&msg),
                                   zmq_msg_size (&msg), now);
    }
    zmq_msg_close (&msg);
    for (uint32_t i = 0; i < nodes && rc == 0; i++) {
        s_node_t *node = &self->nodes [i];
        bool due = node->status_id ? now - node->status_us
                                     >= 1000 * S_STATUS_LOST_MS
                                   : now >= node->status_us;
        if (node->pid <= 0 || !due)
            continue;
        zr_client_request_t request = {.type = ZR_CLIENT_STATUS};
        node->status_id = s_procs_send (self, i, &request);
        node->status_us = now;
    }
    return rc;
}

/* Sends --drop and --delay to every node for every link into it (what
   it receives from each peer), as FAULT requests. Returns 0 or -1. */
static int
s_procs_faults (zb_procs_t *self)
{
    const zb_opts_t *o = &self->opts;
    for (uint32_t i = 0; i < o->nodes; i++)
        for (uint32_t peer = 1; peer <= o->nodes; peer++) {
            if (peer == i + 1)
                continue;
            zr_client_request_t request = {.type = ZR_CLIENT_FAULT,
                .peer = peer, .drop_ppm = o->drop_ppm,
                .delay_ms = o->delay_ms};
            if (!s_procs_send (self, i, &request)) {
                fprintf (stderr, "zraft-bench: cannot send FAULT to n%u\n",
                         i + 1);
                return -1;
            }
            self->nodes [i].faults_pending++;
        }
    return 0;
}

/* Returns the agreed leader and sets *term from the nodes' latest
   STATUS, or 0: exactly one leads and all agree on it and its term. */
static uint32_t
s_procs_agreed (zb_procs_t *self, uint64_t *term)
{
    uint32_t leaders = 0, leader = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (!self->nodes [i].reported)
            return 0;
        if (self->nodes [i].role == 2) {
            leaders++;
            leader = i + 1;
        }
    }
    if (leaders != 1)
        return 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (self->nodes [i].leader != leader
            || self->nodes [i].term != self->nodes [leader - 1].term)
            return 0;
    *term = self->nodes [leader - 1].term;
    return leader;
}

/* Notes a new agreed leader (or term): a leader change after the first. */
static void
s_procs_follow (zb_procs_t *self)
{
    uint64_t term = 0;
    uint32_t agreed = s_procs_agreed (self, &term);
    if (!agreed || (agreed == self->leader && term == self->term))
        return;
    if (self->leader)
        self->leader_changes++;
    self->leader = agreed;
    self->term = term;
}

/* Waits until every node answered a STATUS, every FAULT was answered,
   and a leader is agreed. Returns 0, or -1 after a message. */
static int
s_procs_elect (zb_procs_t *self)
{
    const zb_opts_t *o = &self->opts;
    int64_t deadline = zb_now_us ()
                       + 1000 * (S_START_MS + 20 * (int64_t) o->election_ms);
    bool faults_sent = !zb_opts_faults_on (o);
    const char *waiting = "every node to answer STATUS";
    while (!zb_interrupted) {
        if (zb_now_us () >= deadline) {
            fprintf (stderr, "zraft-bench: timed out waiting for %s\n",
                     waiting);
            return -1;
        }
        if (s_procs_watch (self) || s_procs_poll (self, ZB_POLL_MS))
            return -1;
        uint32_t reported = 0, pending = 0;
        for (uint32_t i = 0; i < o->nodes; i++) {
            reported += self->nodes [i].reported;
            pending += self->nodes [i].faults_pending;
        }
        if (reported < o->nodes)
            continue;
        if (!faults_sent) {
            if (s_procs_faults (self))
                return -1;
            faults_sent = true;
            waiting = "the answers to FAULT";
        }
        if (pending)
            continue;
        waiting = "an agreed leader";
        s_procs_follow (self);
        if (self->leader)
            return 0;
    }
    return -1;
}


/* --------------------------------------------------------------------------
 * The load's tick: window, samples, progress */

/* Samples every node when due: VmRSS of its process, its data dir's
   disk use, the commit index of its last STATUS (S_STATUS_MS old at
   most). Returns 0, or -1 if a node is above --rss-max or --disk-max. */
static int
s_procs_sample (zb_procs_t *self, int64_t now)
{
    if (!self->sampling || !zb_samples_due (self->samples, now))
        return 0;
    if (self->samples->print)
        zb_progress_clear (&self->progress);
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_node_t *node = &self->nodes [i];
        uint64_t rss = node->pid > 0 ? zb_rss_bytes (node->pid) : 0;
        zb_samples_add (self->samples, now, i + 1, rss,
                        zb_disk_usage (self->dirs.data [i]), node->commit);
    }
    zb_samples_tick (self->samples, now);
    return self->samples->over ? -1 : 0;
}

/* Takes every node's CPU at the window's start (which = 0) or end (1),
   once, at the first call at or after it. */
static void
s_procs_cpu (zb_procs_t *self, int which, int64_t at_us, int64_t now)
{
    if (self->cpu_taken [which] || !at_us || now < at_us)
        return;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        self->nodes [i].cpu_us [which] = self->nodes [i].pid > 0
                                         ? s_proc_cpu_us (self->nodes [i].pid)
                                         : 0;
    self->cpu_taken [which] = true;
}

/* The load's tick (zb_kv_tick_fn): at most every ZB_POLL_MS, watches
   the nodes, reads their replies, asks their STATUS, takes their CPU at
   the window's edges, samples them, redraws the progress line. */
static int
s_procs_tick (void *arg, int64_t now, int64_t from_us, int64_t until_us,
              uint64_t done)
{
    zb_procs_t *self = (zb_procs_t *) arg;
    if (now < self->tick_us)
        return 0;
    self->tick_us = now + 1000 * ZB_POLL_MS;
    if (from_us && !self->sampling) {
        self->from_us = from_us;
        self->until_us = until_us;
        zb_samples_start (self->samples, from_us - 1000000
                          * (int64_t) self->opts.warmup_s,
                          self->opts.warmup_s + self->opts.duration_s);
        self->sampling = true;
    }
    s_procs_cpu (self, 0, self->from_us, now);
    s_procs_cpu (self, 1, self->until_us, now);
    if (s_procs_watch (self) || s_procs_poll (self, 0)
        || s_procs_sample (self, now))
        return -1;
    s_procs_follow (self);
    zb_progress_tick (&self->progress, now, done, self->from_us,
                      self->opts.duration_s);
    return 0;
}

/* After the load: waits until every node applied through the highest
   index acknowledged (up to ZB_VERIFY_MS), taking the samples still
   due. Returns 1 (verified), 0 (not), or -1 (a node died, or a sample
   passed a --*-max: messages printed). */
static int
s_procs_verify (zb_procs_t *self)
{
    const zb_opts_t *o = &self->opts;
    uint64_t index = self->fig.last_index;
    int64_t deadline = zb_now_us () + 1000 * (int64_t) ZB_VERIFY_MS;
    while (!zb_interrupted) {
        int64_t now = zb_now_us ();
        s_procs_cpu (self, 1, self->until_us, now);
        if (s_procs_watch (self) || s_procs_sample (self, now))
            return -1;
        bool through = true;
        for (uint32_t i = 0; i < o->nodes; i++)
            through &= self->nodes [i].commit >= index
                       && self->nodes [i].applied >= index;
        bool sampled = !self->sampling || self->samples->done;
        if ((through && sampled) || now >= deadline) {
            for (uint32_t i = 0; !through && i < o->nodes; i++)
                fprintf (stderr, "zraft-bench: n%u: commit %" PRIu64
                         " applied %" PRIu64 " (verify wants %" PRIu64 ")\n",
                         i + 1, self->nodes [i].commit,
                         self->nodes [i].applied, index);
            return through ? 1 : 0;
        }
        if (s_procs_poll (self, ZB_POLL_MS))
            return -1;
    }
    return -1;
}


/* --------------------------------------------------------------------------
 * The run */

static void
s_procs_result (zb_procs_t *self, zb_result_t *r, bool verified)
{
    memset (r, 0, sizeof *r);
    r->procs = true;
    r->verified = verified;
    r->seconds = (double) (self->fig.until_us - self->fig.from_us) / 1e6;
    r->committed = self->fig.puts;
    r->leader_changes = self->leader_changes;
    r->leader = self->leader;
    r->term = self->term;
    r->last_index = self->fig.last_index;
    r->outstanding_peak = self->opts.inflight;
    r->hist = self->hist;
    r->samples = self->samples;
    r->clients = self->opts.clients;
    r->errors = self->fig.errors;
    r->busy = self->fig.busy;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_node_t *node = &self->nodes [i];
        zb_node_fig_t *f = &r->nodes [i];
        f->cpu_us = node->cpu_us [1] - node->cpu_us [0];
        f->rss_kib = (int64_t) (node->hwm_bytes / 1024);
        f->snapshot_index = node->snapshot_index;
    }
}

/* Says so if --no-snapshots did not keep a node from taking one. */
static void
s_procs_snapshot_check (zb_procs_t *self)
{
    for (uint32_t i = 0; self->opts.no_snapshots && i < self->opts.nodes;
         i++)
        if (self->nodes [i].snapshot_index) {
            fprintf (stderr, "zraft-bench: --no-snapshots: n%u took a"
                     " snapshot (index %" PRIu64 ") although zraft-node"
                     " --snapshot-entries 0 turns automatic snapshots"
                     " off\n", i + 1, self->nodes [i].snapshot_index);
            return;
        }
}

/* Runs the load on the elected cluster, then verifies. Returns 0, or 1
   after a message (interrupted: zb_interrupted set). */
static int
s_procs_load (zb_procs_t *self, bool *verified)
{
    const zb_opts_t *o = &self->opts;
    zb_kv_params_t params = {.n_endpoints = o->nodes,
        .clients = o->clients, .inflight = o->inflight,
        .value_size = o->entry_size, .keys = S_KEYS,
        .duration_s = o->duration_s, .warmup_s = o->warmup_s,
        .timeout_ms = S_TIMEOUT_MS > 20 * o->election_ms
                      ? S_TIMEOUT_MS : 20 * o->election_ms};
    for (uint32_t i = 0; i < o->nodes; i++)
        params.endpoints [i] = self->nodes [i].client;
    int rc = zb_kv_load (&params, self->hist, s_procs_tick, self, &self->fig);
    zb_progress_clear (&self->progress);
    if (rc != 0)
        return 1;
    int through = s_procs_verify (self);
    if (through < 0)
        return 1;
    for (uint32_t i = 0; i < o->nodes; i++)
        self->nodes [i].hwm_bytes = self->nodes [i].pid > 0
                                    ? zb_hwm_bytes (self->nodes [i].pid) : 0;
    *verified = through == 1;
    return 0;
}

void
zb_procs_destroy (zb_procs_t **self_p)
{
    assert (self_p);
    zb_procs_t *self = *self_p;
    if (!self)
        return;
    zb_progress_clear (&self->progress);
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++) {
        assert (self->nodes [i].pid <= 0);  /* reaped by s_procs_stop */
        zsock_destroy (&self->nodes [i].dealer);
        if (self->logs && !self->opts.keep && *self->nodes [i].log)
            unlink (self->nodes [i].log);
    }
    zb_dirs_remove (&self->dirs, &self->opts);
    zr_histogram_destroy (&self->hist);
    zb_samples_destroy (&self->samples);
    free (self);
    *self_p = NULL;
}

zb_procs_t *
zb_procs_new (const zb_opts_t *opts)
{
    zb_procs_t *self = (zb_procs_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    if (!self->opts.clients)
        self->opts.clients = opts->inflight < S_CLIENTS ? opts->inflight
                                                        : S_CLIENTS;
    self->hist = zr_histogram_new ();
    self->samples = zb_samples_new (&self->opts, true);
    zb_progress_init (&self->progress);
    if (!self->hist || !self->samples)
        zb_procs_destroy (&self);
    return self;
}

/* Picks the binary, the dirs and the ports, and forks every node.
   Returns 0 or -1 after a message. */
static int
s_procs_start (zb_procs_t *self)
{
    const zb_opts_t *o = &self->opts;
    uint16_t ports [2 * ZRAFT_NODES_MAX];
    if (s_procs_bin (self) || zb_dirs_make (&self->dirs, o)
        || zb_ports_pick (ports, 2 * o->nodes))
        return -1;
    for (uint32_t i = 0; i < o->nodes; i++) {
        s_node_t *node = &self->nodes [i];
        snprintf (node->peer, sizeof node->peer, "tcp://127.0.0.1:%u",
                  ports [2 * i]);
        snprintf (node->client, sizeof node->client, "tcp://127.0.0.1:%u",
                  ports [2 * i + 1]);
        snprintf (node->log, sizeof node->log, "%s/n%u.log", self->dirs.dir,
                  i + 1);
    }
    for (uint32_t id = 1; id <= o->nodes; id++)
        if (s_procs_spawn (self, id))
            return -1;
    return 0;
}

/* Runs the cluster as zraft-node processes. Returns the exit code. */
int
zb_procs_main (zb_procs_t *self)
{
    zb_signals_catch ();                /* until czmq's handler, below */
    int rc = s_procs_start (self);
    if (rc == 0) {                      /* every fork is done */
        zb_signals_block (true);        /* ZeroMQ's threads: no signals */
        zsys_init ();
        zb_signals_block (false);
        zsys_handler_set (zb_signal_cb);
        zsys_set_logident ("zraft-bench");
        zsys_set_logstream (stderr);
        rc = s_procs_connect (self) || s_procs_elect (self) ? -1 : 0;
    }
    bool verified = false;
    if (rc == 0 && !zb_interrupted)
        rc = s_procs_load (self, &verified) ? -1 : 0;
    bool clean = s_procs_stop (self);
    if (zb_interrupted)
        return ZB_EX_INTERRUPTED;
    if (rc != 0 && self->samples->over)
        zb_print_stopped (&self->opts, self->samples);
    else
    if (rc != 0)
        s_procs_tails (self);
    if (rc != 0)
        return 1;
    s_procs_snapshot_check (self);
    zb_result_t result;
    s_procs_result (self, &result, verified);
    zb_print (&self->opts, &result);
    if (verified && !self->opts.json)
        printf ("\nverified: all %u nodes applied through index %" PRIu64
                "\n", self->opts.nodes, self->fig.last_index);
    fflush (stdout);
    if (!verified)
        fprintf (stderr, "zraft-bench: verify failed: not all %u nodes"
                 " applied through index %" PRIu64 "\n", self->opts.nodes,
                 self->fig.last_index);
    if (!clean) {
        fprintf (stderr, "zraft-bench: a node did not stop cleanly\n");
        s_procs_tails (self);
    }
    return verified && clean ? 0 : 1;
}
