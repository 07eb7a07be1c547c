/*  =========================================================================
    test_pause - process faults: a leader SIGSTOPped for longer than the
    election timeout, and servers killed with SIGKILL and restarted, each
    server in its own process

    The test binary re-executes itself (fork, then execv of /proc/self/exe
    with the hidden flag --server) once per server, so no ZeroMQ state ever
    crosses a fork: the parent (the Check test process) uses no czmq at
    all. Each child runs one zraft_t on tcp://127.0.0.1 and talks to the
    parent over a socketpair, one text line per message (the protocol table
    is above s_server_main). The parent checks, across processes:

    1. Agreement: every server applies the same command (value and term)
       at each index; each incarnation applies indexes in increasing order,
       never twice (the apply checker, fed by every child's APPLIED lines).
    2. Election safety: no two servers ever report leading the same term.
    3. A stale leader never commits: the leader is SIGSTOPped in the
       middle of a flood of proposals (so one is often queued in its node)
       for three of the longest election timeouts; each proposal it
       accepted either committed on every server or was lost everywhere,
       its own RESULT events say the same, and any it accepted in its old
       term after SIGCONT (seen through a signalfd) is lost.
    4. Durability: no acknowledged (committed) command is lost when a
       follower or the leader is killed with SIGKILL and restarted.
    5. Clean shutdown: each child stops its server, shuts czmq down, and
       reports whether czmq saw a socket left open (the leak gate); under
       ASan its exit status also carries LeakSanitizer's verdict.

    Every wait derives from CLUSTER_HEARTBEAT_MS and CLUSTER_ELECTION_MS
    (tests/lib/cluster.h) and polls with a deadline; nothing synchronises
    on a bare sleep. Children are never orphaned: the parent kills and
    reaps them on any failure, they get SIGKILL if it dies
    (PR_SET_PDEATHSIG), they quit on EOF, and they stay in the test's
    process group, which Check kills on a timeout.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "../lib/cluster.h"

#define S_NODES 3                       /* servers per test */
#define S_LOG_MAX 4096                  /* indexes the checker tracks */
#define S_TERMS_MAX 4096                /* terms the election checker tracks */
#define S_LINE_MAX 256                  /* one protocol line */
#define S_INBUF_MAX (16 * S_LINE_MAX)   /* unparsed bytes from one peer */
#define S_FLOOD_MAX 1000                /* proposals in one FLOOD */
#define S_REPLIES_MAX (S_FLOOD_MAX + 256)   /* PROPOSED replies kept per child */
#define S_DONES_MAX S_REPLIES_MAX       /* DONE reports kept per child */

/* Bounds, from the configured timing (cluster.h). The longest randomised
   election timeout is twice the configured one. */
#define S_ELECTION_MAX_MS (2 * CLUSTER_ELECTION_MS)
/* A leader stays stopped at least this long: three of the longest
   election timeouts, so the others certainly time out and elect. */
#define S_PAUSE_MS (3 * S_ELECTION_MAX_MS)
/* A child answers a command, starts, or exits within this. */
#define S_REPLY_MS CLUSTER_COMMIT_WAIT_MS
/* A restarted server catches up with the cluster within this. */
#define S_CATCHUP_MS CLUSTER_COMMIT_WAIT_MS

_Static_assert (S_PAUSE_MS > S_ELECTION_MAX_MS, "pause outlasts elections");
_Static_assert (S_NODES <= 8, "appliers is a byte");
_Static_assert (S_LOG_MAX > 2 * S_REPLIES_MAX, "the checker holds a test");

/* ================================================================ child */

typedef struct {
    uint32_t id;                        /* this server's id */
    int fd;                             /* socketpair to the parent */
    uint16_t ports [S_NODES];           /* every server's port, by id - 1 */
    const char *dir;                    /* the test's directory */
    uint32_t heartbeat_ms;              /* configuration, from the parent */
    uint32_t election_ms;               /* configuration, from the parent */
    char data_dir [256];                /* dir/n<id> */
    zraft_t *node;                      /* this child's server */
    FILE *log;                          /* czmq's log, scanned at exit */
    pthread_mutex_t say;                /* one line at a time on fd */
    uint64_t applied;                   /* last index applied (applier thread) */
    char in [S_INBUF_MAX];              /* partial command line */
    size_t in_used;                     /* bytes in `in` */
    uint64_t flood_value;               /* next value a FLOOD proposes */
    uint32_t flood_left;                /* proposals it may still make */
    uint32_t flood_accepted;            /* of those made, accepted */
    int continued_fd;                   /* signalfd of SIGCONT */
    bool continued;                     /* a SIGCONT was seen */
    bool quit;                          /* EXIT or EOF */
} s_server_t;

/* Sends one printf-formatted line (newline added) to the parent, whole.
   Called by the main and the applier thread. A parent that is gone shows
   as EOF on the next read; the child then quits. */
static void s_say (s_server_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static void
s_say (s_server_t *self, const char *format, ...)
{
    char line [S_LINE_MAX];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line - 1, format, args);
    va_end (args);
    assert (n > 0 && (size_t) n < sizeof line - 1);
    line [n++] = '\n';
    pthread_mutex_lock (&self->say);
    const char *at = line;
    size_t left = (size_t) n;
    while (left > 0) {
        ssize_t sent = send (self->fd, at, left, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            break;
        at += sent;
        left -= (size_t) sent;
    }
    pthread_mutex_unlock (&self->say);
}

/* The state machine: reports every applied command to the parent, which
   checks it against every other server's. Checks order here too. */
static void
s_server_apply (void *arg, uint64_t index, uint64_t term, const void *data,
                size_t size, void **result, size_t *result_size)
{
    s_server_t *self = (s_server_t *) arg;
    (void) result, (void) result_size;
    uint64_t value = 0;
    if (size != sizeof value || index <= self->applied) {
        s_say (self, "FAIL n%u applied %zu bytes at %" PRIu64 " after %"
               PRIu64, self->id, size, index, self->applied);
        return;
    }
    memcpy (&value, data, sizeof value);
    self->applied = index;
    s_say (self, "APPLIED %" PRIu64 " %" PRIu64 " %" PRIu64, index, term,
           value);
}

/* Parses the hidden flags: --server ID --ports P1,P2,P3 --dir DIR --fd N
   --heartbeat MS --election MS (written by s_spawn: trusted). */
static void
s_server_args (s_server_t *self, int argc, char *argv [])
{
    assert (argc == 13);
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *name = argv [i], *value = argv [i + 1];
        if (streq (name, "--server"))
            self->id = (uint32_t) atoi (value);
        else
        if (streq (name, "--ports")) {
            unsigned a, b, c;
            int got = sscanf (value, "%u,%u,%u", &a, &b, &c);
            assert (got == S_NODES);
            self->ports [0] = (uint16_t) a;
            self->ports [1] = (uint16_t) b;
            self->ports [2] = (uint16_t) c;
        }
        else
        if (streq (name, "--dir"))
            self->dir = value;
        else
        if (streq (name, "--fd"))
            self->fd = atoi (value);
        else
        if (streq (name, "--heartbeat"))
            self->heartbeat_ms = (uint32_t) atoi (value);
        else {
            assert (streq (name, "--election"));
            self->election_ms = (uint32_t) atoi (value);
        }
    }
    assert (self->id >= 1 && self->id <= S_NODES && self->fd > 2 && self->dir);
    snprintf (self->data_dir, sizeof self->data_dir, "%s/n%u", self->dir,
              self->id);
}

/* Starts the server from its data dir (a port still held by a killed
   incarnation is retried by zraft itself, transport/peer.h). Returns 0
   or -1. */
static int
s_server_start (s_server_t *self)
{
    char endpoints [S_NODES][32];
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = self->id;
    config.n_servers = S_NODES;
    for (uint32_t i = 0; i < S_NODES; i++) {
        snprintf (endpoints [i], sizeof endpoints [i], "tcp://127.0.0.1:%u",
                  self->ports [i]);
        config.servers [i].id = i + 1;
        config.servers [i].endpoint = endpoints [i];
    }
    config.data_dir = self->data_dir;
    config.heartbeat_ms = self->heartbeat_ms;
    config.election_timeout_ms = self->election_ms;
    config.segment_bytes = 4u << 20;
    zraft_fsm_t fsm = {.apply = s_server_apply, .arg = self};
    self->node = zraft_new (&config, &fsm);
    return self->node ? 0 : -1;
}

/* Whether a RESULT's status is the node refusing the submission (it
   appended nothing): PROPOSED reports those. */
static bool
s_refusal (int status)
{
    return status == ZRAFT_ENOTLEADER || status == ZRAFT_EBUSY
           || status == ZRAFT_EIO;
}

/* Reports one event: the RESULT of an appended submission as DONE value
   index term status (the token is the value); refusals and ROLE events
   are not reported. */
static void
s_server_event (s_server_t *self, zraft_event_t *event)
{
    if (event->type == ZRAFT_EVENT_RESULT && !s_refusal (event->status))
        s_say (self, "DONE %" PRIu64 " %" PRIu64 " %" PRIu64 " %d", event->token,
               event->index, event->term, event->status);
    zraft_event_release (event);
}

/* Receives and reports every event waiting. Returns the status of
   token's RESULT if it was among them and refused the submission
   (ZRAFT_ENOTLEADER, ZRAFT_EBUSY, ZRAFT_EIO), else 0. */
static int
s_server_drain (s_server_t *self, uint64_t token)
{
    int refused = 0;
    zraft_event_t event;
    int rc;
    while ((rc = zraft_recv (self->node, &event, 0)) == 0) {
        if (event.type == ZRAFT_EVENT_RESULT && event.token == token
            && s_refusal (event.status))
            refused = event.status;
        s_server_event (self, &event);
    }
    if (rc != ZRAFT_EAGAIN)
        self->quit = true;
    return refused;
}

/* Submits value (its own token) and reports it: PROPOSED value rc index
   term after, where after is 1 if the process had been continued
   (SIGCONT) before the call. Like the lab's Start(), it learns at once
   whether the node appended it: a STATUS right after the submission is
   answered once it was handled, after its refusal if any (node.h).
   Returns 0 or the refusal. */
static int
s_server_propose (s_server_t *self, uint64_t value)
{
    struct signalfd_siginfo info;
    if (!self->continued
        && read (self->continued_fd, &info, sizeof info) == sizeof info)
        self->continued = true;
    int after = self->continued;
    zraft_status_t st = {0};
    int rc = zraft_submit (self->node, value, &value, sizeof value);
    if (rc == 0)
        rc = zraft_status (self->node, &st);
    if (rc == 0)
        rc = s_server_drain (self, value);
    if (rc != 0)
        st.last_index = st.term = 0;
    s_say (self, "PROPOSED %" PRIu64 " %d %" PRIu64 " %" PRIu64 " %d",
           value, rc, st.last_index, st.term, after);
    return rc;
}

/* One step of a FLOOD: proposes the next value; the flood ends at its
   count, or at the first refusal once one was accepted (the server is
   no longer the leader), and says FLOODED accepted. */
static void
s_server_flood (s_server_t *self)
{
    assert (self->flood_left > 0);
    int rc = s_server_propose (self, self->flood_value++);
    self->flood_left--;
    if (rc == 0)
        self->flood_accepted++;
    if (rc != 0 && self->flood_accepted > 0)
        self->flood_left = 0;
    if (self->flood_left == 0)
        s_say (self, "FLOODED %u", self->flood_accepted);
}

/* Handles one command from the parent (trusted: a malformed line is a
   programming error). */
static void
s_server_command (s_server_t *self, const char *line)
{
    uint64_t value = 0;
    uint32_t count = 0;
    if (streq (line, "STATUS")) {
        zraft_status_t st;
        int rc = zraft_status (self->node, &st);
        assert (rc == 0);
        s_say (self, "STATUS %d %" PRIu64 " %u %" PRIu64 " %" PRIu64 " %"
               PRIu64, (int) st.role, st.term, st.leader, st.commit,
               st.applied, st.last_index);
    }
    else
    if (sscanf (line, "PROPOSE %" SCNu64, &value) == 1)
        s_server_propose (self, value);
    else
    if (sscanf (line, "FLOOD %" SCNu64 " %u", &value, &count) == 2) {
        assert (self->flood_left == 0 && count > 0 && count <= S_FLOOD_MAX);
        self->flood_value = value;
        self->flood_left = count;
        self->flood_accepted = 0;
    }
    else {
        assert (streq (line, "EXIT"));
        self->quit = true;
    }
}

/* Reads what the parent sent; EOF means it is gone: quit. */
static void
s_server_read (s_server_t *self)
{
    ssize_t got = recv (self->fd, self->in + self->in_used,
                        sizeof self->in - 1 - self->in_used, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        self->quit = true;
        return;
    }
    if (got < 0)
        return;
    self->in_used += (size_t) got;
    self->in [self->in_used] = 0;
    char *line = self->in, *newline;
    while (!self->quit && (newline = strchr (line, '\n'))) {
        *newline = 0;
        s_server_command (self, line);
        line = newline + 1;
    }
    self->in_used = strlen (line);
    memmove (self->in, line, self->in_used);
    assert (self->in_used < sizeof self->in - 1);
}

/* zraft_log_set's callback: the library's lines go to the child's log. */
static void
s_server_log (void *arg, int level, const char *line)
{
    fprintf ((FILE *) arg, "%c: %s\n", "EWNID" [level], line);
}

/* Stops the server and czmq, then returns "ok" or the first czmq line
   that reports a socket left open (into buf). */
static const char *
s_server_stop (s_server_t *self, char *buf, size_t size)
{
    zraft_destroy (&self->node);
    zsys_shutdown ();
    zraft_log_set (ZRAFT_LOG_NOTICE, NULL, NULL);
    snprintf (buf, size, "ok");
    if (self->log == stderr)
        return buf;
    rewind (self->log);
    char line [512];
    while (fgets (line, sizeof line, self->log))
        if (strstr (line, "dangling")) {
            line [strcspn (line, "\n")] = 0;
            snprintf (buf, size, "%.200s", line);
            break;
        }
    fclose (self->log);
    return buf;
}

/*  A child runs server --server and talks to its parent over --fd, one
    text line per message (numbers in decimal):

    child -> parent                 when
    READY                           its server started
    APPLIED index term value        it applied a command (applier thread)
    STATUS role term leader commit applied last_index
                                    answers STATUS
    PROPOSED value rc index term after
                                    answers PROPOSE, and each proposal of
                                    a FLOOD (rc: 0 if appended at index
                                    in term, else the refusal; after: 1
                                    if proposed after a SIGCONT)
    FLOODED accepted                a FLOOD ended
    DONE value index term status    the RESULT of a proposal it accepted
                                    (status 0: applied at index in term;
                                    ZRAFT_ELOST: another leader's entry
                                    took index)
    FAIL message                    it saw something wrong
    BYE ok|message                  answers EXIT: the leak gate's verdict

    parent -> child
    STATUS                          report the server's status
    PROPOSE value                   propose the 8-byte command value
    FLOOD value count               propose value, value + 1, ... back to
                                    back (commands are still read between
                                    two) until count were made, or one is
                                    refused after one was accepted
    EXIT                            stop the server and czmq, say BYE,
                                    exit 0 (EOF: the same, without BYE)

    Returns the exit code. */
static int
s_server_main (int argc, char *argv [])
{
    s_server_t *self = (s_server_t *) calloc (1, sizeof *self);
    assert (self);
    s_server_args (self, argc, argv);
    pthread_mutex_init (&self->say, NULL);
    /* SIGCONT, blocked in every thread (those started later inherit the
       mask), is read from a signalfd: a handler would interrupt the
       servers' polls, which SIGSTOP and SIGCONT alone do not. Blocked, it
       still continues the process. */
    sigset_t cont;
    sigemptyset (&cont);
    sigaddset (&cont, SIGCONT);
    int rc = pthread_sigmask (SIG_BLOCK, &cont, NULL);
    assert (rc == 0);
    self->continued_fd = signalfd (-1, &cont, SFD_NONBLOCK | SFD_CLOEXEC);
    assert (self->continued_fd >= 0);
    zsys_init ();
    zsys_handler_set (NULL);            /* signals keep their defaults */
    char ident [32];
    snprintf (ident, sizeof ident, "test_pause/n%u", self->id);
    zsys_set_logident (ident);
    self->log = getenv ("ZR_VERBOSE") ? stderr : tmpfile ();
    assert (self->log);
    zsys_set_logstream (self->log);
    if (self->log != stderr)
        zraft_log_set (ZRAFT_LOG_NOTICE, s_server_log, self->log);
    if (s_server_start (self) != 0) {
        s_say (self, "FAIL n%u did not start", self->id);
        return 1;
    }
    s_say (self, "READY");
    zmq_pollitem_t items [2] = {
        {zsock_resolve (zraft_events (self->node)), 0, ZMQ_POLLIN, 0},
        {NULL, self->fd, ZMQ_POLLIN, 0}};
    while (!self->quit) {
        if (zmq_poll (items, 2, self->flood_left ? 0 : -1) < 0
            && errno != EINTR)
            break;
        if (items [0].revents & ZMQ_POLLIN)
            s_server_drain (self, 0);
        if (items [1].revents & ZMQ_POLLIN)
            s_server_read (self);
        if (self->flood_left && !self->quit)
            s_server_flood (self);
    }
    char verdict [256];
    s_say (self, "BYE %s", s_server_stop (self, verdict, sizeof verdict));
    pthread_mutex_destroy (&self->say);
    close (self->continued_fd);
    free (self);
    return 0;
}

/* =============================================================== parent */

typedef struct {
    uint64_t value;                     /* the command proposed */
    int rc;                             /* 0 (appended) or the refusal */
    uint64_t index;                     /* where it went, if rc == 0 */
    uint64_t term;                      /* in which term */
    bool after;                         /* proposed after a SIGCONT */
} s_reply_t;

typedef struct {
    uint64_t value;                     /* the proposal (its token) */
    uint64_t index;                     /* its index */
    uint64_t term;                      /* its term */
    int status;                         /* its RESULT: 0 or ZRAFT_ELOST */
} s_done_t;

typedef struct {
    int role;                           /* zraft_role_t */
    uint64_t term;                      /* current term */
    uint32_t leader;                    /* leader's id or 0 */
    uint64_t commit;                    /* commit index */
    uint64_t applied;                   /* applied index */
    uint64_t last;                      /* last log index */
} s_status_t;

typedef struct {
    pid_t pid;                          /* running process, 0 once reaped */
    int fd;                             /* our end of the socketpair, or -1 */
    bool stopped;                       /* SIGSTOPped by the test */
    bool exiting;                       /* EXIT sent or killed: EOF expected */
    bool ready;                         /* READY received */
    char bye [S_LINE_MAX];              /* BYE's verdict, "" before */
    char in [S_INBUF_MAX];              /* partial line */
    size_t in_used;                     /* bytes in `in` */
    uint64_t applied;                   /* last index applied, this incarnation */
    uint64_t statuses;                  /* STATUS lines received */
    s_status_t status;                  /* the latest */
    s_reply_t replies [S_REPLIES_MAX];  /* PROPOSED, this incarnation */
    uint32_t n_replies;                 /* entries in replies */
    s_done_t dones [S_DONES_MAX];       /* DONE, this incarnation */
    uint32_t n_dones;                   /* entries in dones */
    bool flooded;                       /* FLOODED received */
} s_kid_t;

typedef struct {
    s_kid_t kids [S_NODES + 1];         /* by id */
    uint16_t ports [S_NODES];           /* by id - 1 */
    char root [64];                     /* temp dir of the data dirs */
    uint64_t values [S_LOG_MAX];        /* value applied at index, by anyone */
    uint64_t terms [S_LOG_MAX];         /* term of that entry */
    uint8_t appliers [S_LOG_MAX];       /* bit per server whose running
                                           incarnation applied index */
    uint32_t leader_of [S_TERMS_MAX];   /* who reported leading a term */
    char violation [S_LINE_MAX];        /* first checker violation, or "" */
} s_procs_t;

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kills (SIGKILL works on stopped processes too) and reaps every child,
   closes every socket. Idempotent. */
static void
s_procs_kill (s_procs_t *self)
{
    for (uint32_t id = 1; id <= S_NODES; id++) {
        s_kid_t *kid = &self->kids [id];
        if (kid->pid > 0) {
            kill (kid->pid, SIGKILL);
            while (waitpid (kid->pid, NULL, 0) < 0 && errno == EINTR)
                ;
            kid->pid = 0;
        }
        if (kid->fd >= 0)
            close (kid->fd);
        kid->fd = -1;
    }
}

/* Removes the test's directory tree. */
static int
s_remove_cb (const char *path, const struct stat *sb, int flag,
             struct FTW *ftw)
{
    (void) sb, (void) flag, (void) ftw;
    return remove (path);
}

/* Fails the test with a message and every child's last status, after
   killing every child: nothing outlives a failed test. */
static void s_fail (s_procs_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3), noreturn));
static void
s_fail (s_procs_t *self, const char *format, ...)
{
    char text [1024];
    va_list args;
    va_start (args, format);
    int used = vsnprintf (text, sizeof text, format, args);
    va_end (args);
    for (uint32_t id = 1; id <= S_NODES && used > 0
                          && (size_t) used < sizeof text; id++) {
        const s_kid_t *kid = &self->kids [id];
        const s_status_t *st = &kid->status;
        used += snprintf (text + used, sizeof text - (size_t) used,
                          "; n%u%s%s role=%d term=%" PRIu64 " leader=%u"
                          " commit=%" PRIu64 " applied=%" PRIu64 " last=%"
                          PRIu64, id, kid->pid ? "" : " (down)",
                          kid->stopped ? " (stopped)" : "", st->role,
                          st->term, st->leader, st->commit, st->applied,
                          st->last);
    }
    s_procs_kill (self);
    if (self->root [0])
        nftw (self->root, s_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
    ck_abort_msg ("%s", text);
    abort ();                           /* not reached */
}

#define S_ASSERT(self, cond, ...) \
    do { if (!(cond)) s_fail ((self), __VA_ARGS__); } while (0)

/* Records a checker violation (the first one is kept). */
static void
s_violation (s_procs_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static void
s_violation (s_procs_t *self, const char *format, ...)
{
    if (self->violation [0])
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->violation, sizeof self->violation, format, args);
    va_end (args);
}

/* The apply checker: server id applied value (of term) at index. */
static void
s_check_apply (s_procs_t *self, uint32_t id, uint64_t index, uint64_t term,
               uint64_t value)
{
    s_kid_t *kid = &self->kids [id];
    if (index <= kid->applied || index >= S_LOG_MAX)
        s_violation (self, "n%u applied index %" PRIu64 " after %" PRIu64,
                     id, index, kid->applied);
    else
    if (self->terms [index]
        && (self->values [index] != value || self->terms [index] != term))
        s_violation (self, "n%u applied %" PRIu64 " (term %" PRIu64 ") at %"
                     PRIu64 " where another applied %" PRIu64 " (term %"
                     PRIu64 ")", id, value, term, index,
                     self->values [index], self->terms [index]);
    else {
        self->values [index] = value;
        self->terms [index] = term;
        self->appliers [index] |= (uint8_t) (1u << (id - 1));
    }
    kid->applied = index;
}

/* Election safety: at most one leader per term, whenever observed. */
static void
s_check_leader (s_procs_t *self, uint32_t id, const s_status_t *st)
{
    if (st->role != ZRAFT_LEADER)
        return;
    if (st->term >= S_TERMS_MAX)
        s_violation (self, "term %" PRIu64 " beyond the checker", st->term);
    else
    if (self->leader_of [st->term] && self->leader_of [st->term] != id)
        s_violation (self, "n%u and n%u both led term %" PRIu64,
                     self->leader_of [st->term], id, st->term);
    else
        self->leader_of [st->term] = id;
}

/* Handles one line from server id. */
static void
s_on_line (s_procs_t *self, uint32_t id, const char *line)
{
    s_kid_t *kid = &self->kids [id];
    uint64_t a, b, c, d;
    s_status_t st;
    int rc, after;
    if (streq (line, "READY"))
        kid->ready = true;
    else
    if (sscanf (line, "APPLIED %" SCNu64 " %" SCNu64 " %" SCNu64, &a, &b,
                &c) == 3)
        s_check_apply (self, id, a, b, c);
    else
    if (sscanf (line, "STATUS %d %" SCNu64 " %u %" SCNu64 " %" SCNu64 " %"
                SCNu64, &st.role, &st.term, &st.leader, &st.commit,
                &st.applied, &st.last) == 6) {
        kid->status = st;
        kid->statuses++;
        s_check_leader (self, id, &st);
    }
    else
    if (sscanf (line, "PROPOSED %" SCNu64 " %d %" SCNu64 " %" SCNu64 " %d",
                &d, &rc, &a, &b, &after) == 5
        && kid->n_replies < S_REPLIES_MAX)
        kid->replies [kid->n_replies++] = (s_reply_t) {d, rc, a, b, after};
    else
    if (strncmp (line, "FLOODED ", 8) == 0)
        kid->flooded = true;
    else
    if (sscanf (line, "DONE %" SCNu64 " %" SCNu64 " %" SCNu64 " %d", &a, &b,
                &c, &rc) == 4 && kid->n_dones < S_DONES_MAX)
        kid->dones [kid->n_dones++] = (s_done_t) {a, b, c, rc};
    else
    if (strncmp (line, "BYE ", 4) == 0)
        snprintf (kid->bye, sizeof kid->bye, "%s", line + 4);
    else
    if (strncmp (line, "FAIL ", 5) == 0)
        s_violation (self, "%s", line + 5);
    else
        s_violation (self, "n%u sent a bad line: %.60s", id, line);
}

/* Reads what server id sent and handles every whole line; EOF closes
   its socket (a violation unless the test expected it). */
static void
s_read (s_procs_t *self, uint32_t id)
{
    s_kid_t *kid = &self->kids [id];
    ssize_t got = recv (kid->fd, kid->in + kid->in_used,
                        sizeof kid->in - 1 - kid->in_used, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got <= 0) {
        close (kid->fd);
        kid->fd = -1;
        if (!kid->exiting)
            s_violation (self, "n%u exited unexpectedly", id);
        return;
    }
    kid->in_used += (size_t) got;
    kid->in [kid->in_used] = 0;
    char *line = kid->in, *newline;
    while ((newline = strchr (line, '\n'))) {
        *newline = 0;
        s_on_line (self, id, line);
        line = newline + 1;
    }
    kid->in_used = strlen (line);
    memmove (kid->in, line, kid->in_used);
    if (kid->in_used >= sizeof kid->in - 1)
        s_violation (self, "n%u sent an over-long line", id);
}

/* Waits up to ms for lines from any child and handles them; fails the
   test on a checker violation. */
static void
s_pump (s_procs_t *self, int64_t ms)
{
    struct pollfd fds [S_NODES];
    uint32_t ids [S_NODES];
    nfds_t n = 0;
    for (uint32_t id = 1; id <= S_NODES; id++)
        if (self->kids [id].fd >= 0) {
            fds [n] = (struct pollfd) {.fd = self->kids [id].fd, .events = POLLIN};
            ids [n++] = id;
        }
    int rc = poll (fds, n, ms < 0 ? 0 : ms > 1000 ? 1000 : (int) ms);
    S_ASSERT (self, rc >= 0 || errno == EINTR, "poll: %s", strerror (errno));
    for (nfds_t i = 0; rc > 0 && i < n; i++)
        if (fds [i].revents)
            s_read (self, ids [i]);
    S_ASSERT (self, self->violation [0] == 0, "checker: %s", self->violation);
}

/* Handles whatever arrives for ms of wall time (for waits whose point is
   the time that passes: the checkers run meanwhile). */
static void
s_idle (s_procs_t *self, int64_t ms)
{
    int64_t deadline = s_now_ms () + ms;
    while (s_now_ms () < deadline)
        s_pump (self, deadline - s_now_ms ());
}

/* Sends one command line to server id (never blocks: commands are short
   and few, so a socket buffer that is full is a bug). */
static void s_tell (s_procs_t *self, uint32_t id, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
static void
s_tell (s_procs_t *self, uint32_t id, const char *format, ...)
{
    char line [S_LINE_MAX];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line - 1, format, args);
    va_end (args);
    S_ASSERT (self, n > 0 && (size_t) n < sizeof line - 1, "long command");
    line [n++] = '\n';
    S_ASSERT (self, self->kids [id].fd >= 0, "n%u is not running", id);
    ssize_t sent = send (self->kids [id].fd, line, (size_t) n,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
    S_ASSERT (self, sent == n, "cannot tell n%u '%s': %s", id, line,
              sent < 0 ? strerror (errno) : "short send");
}

/* Returns server id's status (it must be running and not stopped). */
static s_status_t
s_status (s_procs_t *self, uint32_t id)
{
    s_kid_t *kid = &self->kids [id];
    S_ASSERT (self, kid->pid && !kid->stopped, "n%u cannot answer", id);
    uint64_t before = kid->statuses;
    s_tell (self, id, "STATUS");
    int64_t deadline = s_now_ms () + S_REPLY_MS;
    while (kid->statuses == before && s_now_ms () < deadline)
        s_pump (self, deadline - s_now_ms ());
    S_ASSERT (self, kid->statuses > before, "n%u: no STATUS in %d ms", id,
              S_REPLY_MS);
    return kid->status;
}

/* Waits until server id answered `count` proposals in all. */
static void
s_wait_replies (s_procs_t *self, uint32_t id, uint32_t count)
{
    s_kid_t *kid = &self->kids [id];
    int64_t deadline = s_now_ms () + S_REPLY_MS;
    while (kid->n_replies < count && s_now_ms () < deadline)
        s_pump (self, deadline - s_now_ms ());
    S_ASSERT (self, kid->n_replies >= count, "n%u: no PROPOSED in %d ms",
              id, S_REPLY_MS);
}

/* Proposes value on server id and returns its reply. */
static s_reply_t
s_propose (s_procs_t *self, uint32_t id, uint64_t value)
{
    s_kid_t *kid = &self->kids [id];
    S_ASSERT (self, kid->n_replies < S_REPLIES_MAX, "too many proposals");
    uint32_t count = kid->n_replies + 1;
    s_tell (self, id, "PROPOSE %" PRIu64, value);
    s_wait_replies (self, id, count);
    return kid->replies [count - 1];
}

/* True if server id runs and can answer (not stopped). */
static bool
s_answers (s_procs_t *self, uint32_t id)
{
    return self->kids [id].pid && !self->kids [id].stopped
           && self->kids [id].fd >= 0;
}

/* Waits until exactly one answering server leads the highest term among
   them, a term of at least min_term; returns its id, its term in *term.
   Fails the test after CLUSTER_LEADER_WAIT_MS. */
static uint32_t
s_leader (s_procs_t *self, uint64_t min_term, uint64_t *term)
{
    int64_t deadline = s_now_ms () + CLUSTER_LEADER_WAIT_MS;
    while (s_now_ms () < deadline) {
        uint64_t top = 0;
        uint32_t leader = 0, leaders = 0;
        for (uint32_t id = 1; id <= S_NODES; id++) {
            if (!s_answers (self, id))
                continue;
            s_status_t st = s_status (self, id);
            if (st.role == ZRAFT_LEADER && st.term > top) {
                top = st.term;
                leader = id;
                leaders = 1;
            }
            else
            if (st.role == ZRAFT_LEADER && st.term == top)
                leaders++;
        }
        if (leaders == 1 && top >= min_term) {
            *term = top;
            return leader;
        }
        s_idle (self, CLUSTER_HEARTBEAT_MS / 2);
    }
    s_fail (self, "no leader of term >= %" PRIu64 " within %d ms", min_term,
            CLUSTER_LEADER_WAIT_MS);
}

/* How many running incarnations applied index. */
static uint32_t
s_count (s_procs_t *self, uint64_t index)
{
    S_ASSERT (self, index < S_LOG_MAX, "index %" PRIu64 " too high", index);
    return (uint32_t) __builtin_popcount (self->appliers [index]);
}

/* Waits up to ms until at least n running incarnations applied index;
   returns whether they did. */
static bool
s_wait_count (s_procs_t *self, uint64_t index, uint32_t n, int64_t ms)
{
    int64_t deadline = s_now_ms () + ms;
    while (s_count (self, index) < n && s_now_ms () < deadline)
        s_pump (self, deadline - s_now_ms ());
    return s_count (self, index) >= n;
}

/* The lab's one(): proposes value on a leader until expected servers
   apply it, retrying on another server, within CLUSTER_COMMIT_WAIT_MS.
   Returns its index: an acknowledged (committed) command. */
static uint64_t
s_one (s_procs_t *self, uint64_t value, uint32_t expected)
{
    int64_t deadline = s_now_ms () + CLUSTER_COMMIT_WAIT_MS;
    uint32_t start = 1;
    while (s_now_ms () < deadline) {
        uint64_t index = 0;
        for (uint32_t k = 0; k < S_NODES && !index; k++) {
            uint32_t id = (start + k - 1) % S_NODES + 1;
            s_reply_t reply = {value, ZRAFT_ESHUTDOWN, 0, 0, false};
            if (s_answers (self, id))
                reply = s_propose (self, id, value);
            index = reply.rc == 0 ? reply.index : 0;
        }
        start = start % S_NODES + 1;
        if (!index) {
            s_idle (self, CLUSTER_HEARTBEAT_MS);
            continue;
        }
        int64_t wait = deadline - s_now_ms ();
        s_wait_count (self, index, expected, wait < 2000 ? wait : 2000);
        if (s_count (self, index) >= expected && self->values [index] == value)
            return index;
    }
    s_fail (self, "one(%" PRIu64 ") failed to reach agreement in %d ms",
            value, CLUSTER_COMMIT_WAIT_MS);
}

/* Picks a free loopback port per server with plain sockets (no ZeroMQ
   in the parent), BELOW the ephemeral range (32768 and up on Linux), so
   no outgoing connection can take one before a child binds it. Each
   process starts at its own offset; a busy port is skipped. */
static void
s_ports_pick (s_procs_t *self)
{
    uint32_t next = 20000 + (uint32_t) (getpid () * 97) % 10000;
    for (uint32_t i = 0; i < S_NODES; i++) {
        bool found = false;
        for (int tries = 0; tries < 1000 && !found; tries++) {
            uint16_t port = (uint16_t) next;
            next = next + 1 >= 32000 ? 20000 : next + 1;
            int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            S_ASSERT (self, fd >= 0, "socket: %s", strerror (errno));
            struct sockaddr_in addr = {.sin_family = AF_INET,
                                       .sin_port = htons (port),
                                       .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
            found = bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
            close (fd);
            if (found)
                self->ports [i] = port;
        }
        S_ASSERT (self, found, "no free port below the ephemeral range");
    }
}

/* Clears what the parent knows of server id's last incarnation: a new
   one applies from index 1 and answers afresh. */
static void
s_kid_reset (s_procs_t *self, uint32_t id)
{
    s_kid_t *kid = &self->kids [id];
    memset (kid, 0, sizeof *kid);
    kid->fd = -1;
    for (uint64_t index = 0; index < S_LOG_MAX; index++)
        self->appliers [index] &= (uint8_t) ~(1u << (id - 1));
}

/* Forks and re-executes server id with a socketpair to us, then waits
   for its READY. Between fork and exec only async-signal-safe calls. */
static void
s_spawn (s_procs_t *self, uint32_t id)
{
    s_kid_reset (self, id);
    s_kid_t *kid = &self->kids [id];
    int pair [2];
    S_ASSERT (self, socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)
                    == 0, "socketpair: %s", strerror (errno));
    char sid [16], ports [32], fd [16], heartbeat [16], election [16];
    snprintf (sid, sizeof sid, "%u", id);
    snprintf (ports, sizeof ports, "%u,%u,%u", self->ports [0],
              self->ports [1], self->ports [2]);
    snprintf (fd, sizeof fd, "%d", pair [1]);
    snprintf (heartbeat, sizeof heartbeat, "%d", CLUSTER_HEARTBEAT_MS);
    snprintf (election, sizeof election, "%d", CLUSTER_ELECTION_MS);
    char *args [] = {(char *) "test_pause", (char *) "--server", sid,
                     (char *) "--ports", ports, (char *) "--dir", self->root,
                     (char *) "--fd", fd, (char *) "--heartbeat", heartbeat,
                     (char *) "--election", election, NULL};
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid () != parent)
            _exit (1);                  /* the parent died already */
        fcntl (pair [1], F_SETFD, 0);   /* survives exec; pair [0] not */
        execv ("/proc/self/exe", args);
        _exit (127);
    }
    close (pair [1]);
    if (pid < 0)
        close (pair [0]);
    S_ASSERT (self, pid > 0, "fork: %s", strerror (errno));
    kid->pid = pid;
    kid->fd = pair [0];
    int64_t deadline = s_now_ms () + S_REPLY_MS;
    while (!kid->ready && kid->fd >= 0 && s_now_ms () < deadline)
        s_pump (self, deadline - s_now_ms ());
    S_ASSERT (self, kid->ready, "n%u did not start in %d ms", id, S_REPLY_MS);
}

/* Kills server id with SIGKILL, reads what it sent before it died, and
   reaps it. What it made durable stays in its data dir. */
static void
s_kill9 (s_procs_t *self, uint32_t id)
{
    s_kid_t *kid = &self->kids [id];
    S_ASSERT (self, kid->pid > 0, "n%u is not running", id);
    kid->exiting = true;
    kill (kid->pid, SIGKILL);
    int64_t deadline = s_now_ms () + S_REPLY_MS;
    while (kid->fd >= 0 && s_now_ms () < deadline)
        s_pump (self, deadline - s_now_ms ());
    S_ASSERT (self, kid->fd < 0, "n%u: no EOF after SIGKILL", id);
    int status = 0;
    while (waitpid (kid->pid, &status, 0) < 0 && errno == EINTR)
        ;
    kid->pid = 0;
    kid->stopped = false;
    S_ASSERT (self, WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL,
              "n%u died otherwise: status %d", id, status);
}

/* Stops (SIGSTOP) or continues (SIGCONT) server id's whole process and
   waits until the kernel reports that it did. */
static void
s_freeze (s_procs_t *self, uint32_t id, bool stop)
{
    s_kid_t *kid = &self->kids [id];
    S_ASSERT (self, kid->pid > 0 && kid->stopped != stop, "n%u: bad freeze",
              id);
    S_ASSERT (self, kill (kid->pid, stop ? SIGSTOP : SIGCONT) == 0,
              "kill: %s", strerror (errno));
    int status = 0;
    pid_t pid;
    while ((pid = waitpid (kid->pid, &status, stop ? WUNTRACED : WCONTINUED))
           < 0 && errno == EINTR)
        ;
    S_ASSERT (self, pid == kid->pid
                    && (stop ? WIFSTOPPED (status) : WIFCONTINUED (status)),
              "n%u: not %s (status %d)", id, stop ? "stopped" : "continued",
              status);
    kid->stopped = stop;
}

static s_procs_t *
s_procs_new (void)
{
    s_procs_t *self = (s_procs_t *) calloc (1, sizeof *self);
    ck_assert_ptr_nonnull (self);
    for (uint32_t id = 1; id <= S_NODES; id++)
        self->kids [id].fd = -1;
    snprintf (self->root, sizeof self->root, "/tmp/zraft-proc-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (self->root));
    s_ports_pick (self);
    for (uint32_t id = 1; id <= S_NODES; id++)
        s_spawn (self, id);
    return self;
}

/* Stops every child in order (continued first if stopped): EXIT, then
   its BYE, EOF and exit status 0 are checked, which makes each child's
   leak gate (and LeakSanitizer's exit code) the test's. Then checks the
   checkers once more and removes the data. */
static void
s_procs_destroy (s_procs_t **self_p)
{
    s_procs_t *self = *self_p;
    for (uint32_t id = 1; id <= S_NODES; id++) {
        s_kid_t *kid = &self->kids [id];
        if (!kid->pid)
            continue;
        if (kid->stopped)
            s_freeze (self, id, false);
        s_tell (self, id, "EXIT");
        kid->exiting = true;
    }
    int64_t deadline = s_now_ms () + S_REPLY_MS;
    for (uint32_t id = 1; id <= S_NODES; id++) {
        s_kid_t *kid = &self->kids [id];
        while (kid->fd >= 0 && s_now_ms () < deadline)
            s_pump (self, deadline - s_now_ms ());
        S_ASSERT (self, kid->fd < 0, "n%u did not exit", id);
        if (!kid->pid)
            continue;
        int status = 0;
        while (waitpid (kid->pid, &status, 0) < 0 && errno == EINTR)
            ;
        kid->pid = 0;
        S_ASSERT (self, streq (kid->bye, "ok"), "n%u: leak gate: %s", id,
                  kid->bye [0] ? kid->bye : "no BYE");
        S_ASSERT (self, WIFEXITED (status) && WEXITSTATUS (status) == 0,
                  "n%u exited with status %d", id, status);
    }
    S_ASSERT (self, self->violation [0] == 0, "checker: %s", self->violation);
    nftw (self->root, s_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
    free (self);
    *self_p = NULL;
}

/* Waits until every running server reports the same term, a log ending
   at the same index, and everything in it committed and applied. */
static void
s_wait_converged (s_procs_t *self)
{
    int64_t deadline = s_now_ms () + S_CATCHUP_MS;
    while (s_now_ms () < deadline) {
        s_status_t first = s_status (self, 1);
        bool same = first.commit == first.last && first.applied == first.last;
        for (uint32_t id = 2; id <= S_NODES && same; id++) {
            s_status_t st = s_status (self, id);
            same = st.term == first.term && st.last == first.last
                   && st.commit == st.last && st.applied == st.last;
        }
        if (same)
            return;
        s_idle (self, CLUSTER_HEARTBEAT_MS);
    }
    s_fail (self, "logs did not converge in %d ms", S_CATCHUP_MS);
}

/* Returns server id's DONE report for value, waiting for it. */
static s_done_t
s_done (s_procs_t *self, uint32_t id, uint64_t value)
{
    s_kid_t *kid = &self->kids [id];
    int64_t deadline = s_now_ms () + S_CATCHUP_MS;
    while (s_now_ms () < deadline) {
        for (uint32_t i = 0; i < kid->n_dones; i++)
            if (kid->dones [i].value == value)
                return kid->dones [i];
        s_pump (self, deadline - s_now_ms ());
    }
    s_fail (self, "n%u never answered %" PRIu64, id, value);
}

/* True if any server ever applied value, at any index. */
static bool
s_ever_applied (s_procs_t *self, uint64_t value)
{
    for (uint64_t index = 1; index < S_LOG_MAX; index++)
        if (self->terms [index] && self->values [index] == value)
            return true;
    return false;
}

/* ================================================================ tests */

/* Checks a proposal server id answered, as reply: if accepted, it either
   committed (every server applied it, at its index, in its term) or was
   lost (nobody applied it anywhere), and the server's RESULT for it says
   the same, at the same index and term. Accepted after a SIGCONT in a term up to
   stale_term (the server was a stale leader) it must be lost. Returns 0
   if refused, 1 if committed, 2 if lost, 3 if lost as a stale leader. */
static int
s_check_outcome (s_procs_t *self, uint32_t id, s_reply_t reply,
                 uint64_t stale_term)
{
    if (reply.rc != 0)
        return 0;
    s_done_t done = s_done (self, id, reply.value);
    S_ASSERT (self, done.index == reply.index && done.term == reply.term,
              "n%u answered %" PRIu64 " at %" PRIu64 " (term %" PRIu64 "),"
              " accepted at %" PRIu64 " (term %" PRIu64 ")", id, reply.value,
              done.index, done.term, reply.index, reply.term);
    S_ASSERT (self, done.status == 0 || done.status == ZRAFT_ELOST,
              "n%u answered %" PRIu64 " with %d", id, reply.value, done.status);
    bool committed = self->terms [reply.index] == reply.term
                     && self->values [reply.index] == reply.value;
    S_ASSERT (self, committed == (done.status == 0),
              "n%u reported %" PRIu64 " at %" PRIu64 " %s, the others %s",
              id, reply.value, reply.index, done.status == 0
              ? "committed" : "lost", committed ? "committed" : "lost");
    S_ASSERT (self, committed || !s_ever_applied (self, reply.value),
              "lost proposal %" PRIu64 " applied elsewhere", reply.value);
    S_ASSERT (self, !committed || s_count (self, reply.index) == S_NODES,
              "%" PRIu64 " committed but not applied everywhere", reply.value);
    bool stale = reply.after && reply.term <= stale_term;
    S_ASSERT (self, !stale || !committed,
              "n%u committed %" PRIu64 " at %" PRIu64 " as a stale leader"
              " (term %" PRIu64 ")", id, reply.value, reply.index, reply.term);
    return committed ? 1 : stale ? 3 : 2;
}

/* Waits until server id answered a proposal of value; returns it. */
static s_reply_t
s_reply_of (s_procs_t *self, uint32_t id, uint64_t value)
{
    s_kid_t *kid = &self->kids [id];
    int64_t deadline = s_now_ms () + S_REPLY_MS;
    while (s_now_ms () < deadline) {
        for (uint32_t i = kid->n_replies; i-- > 0;)
            if (kid->replies [i].value == value)
                return kid->replies [i];
        s_pump (self, deadline - s_now_ms ());
    }
    s_fail (self, "n%u never answered PROPOSE %" PRIu64, id, value);
}

#define S_FLOOD_VALUE 100000            /* first value of a FLOOD */
#define S_STOPPED_VALUE 9999            /* proposed while stopped */

/* Stops the leader (SIGSTOP) in the middle of a flood of proposals, so
   that one is likely waiting in its node's queue; proposes once more
   while it is stopped; keeps it stopped S_PAUSE_MS while the other two
   elect a leader of a higher term and commit; then continues it.
   Returns the index of its first reply from the flood on. */
static uint32_t
s_pause_leader (s_procs_t *p, uint32_t old, uint64_t old_term,
                uint64_t *new_term)
{
    uint32_t asked = p->kids [old].n_replies;
    s_tell (p, old, "FLOOD %d %d", S_FLOOD_VALUE, S_FLOOD_MAX);
    s_wait_replies (p, old, asked + 1);
    s_freeze (p, old, true);
    int64_t stopped_at = s_now_ms ();
    s_tell (p, old, "PROPOSE %d", S_STOPPED_VALUE);
    uint32_t fresh = s_leader (p, old_term + 1, new_term);
    S_ASSERT (p, fresh != old && *new_term > old_term, "no new leader");
    uint64_t last = 0;
    for (uint64_t v = 11; v <= 15; v++)
        last = s_one (p, v, S_NODES - 1);
    s_idle (p, stopped_at + S_PAUSE_MS - s_now_ms ());
    S_ASSERT (p, s_count (p, last) == S_NODES - 1, "n%u applied while"
              " stopped", old);
    s_freeze (p, old, false);
    return asked;
}

/* The process pause: a leader stopped with SIGSTOP for longer
   than the election timeout resumes, discovers it is stale, and never
   commits as a stale leader: what it accepted in its old term after it
   resumed is lost, what it accepted before is committed or lost, the
   same on every server and in its own report. */
START_TEST (sigstop_leader_resumes_stale_never_commits)
{
    s_procs_t *p = s_procs_new ();
    uint64_t old_term = 0, new_term = 0;
    uint32_t old = s_leader (p, 1, &old_term);
    for (uint64_t v = 1; v <= 5; v++)
        s_one (p, v, S_NODES);
    s_status_t st = s_status (p, old);
    S_ASSERT (p, st.role == ZRAFT_LEADER, "n%u stepped down", old);
    old_term = st.term;
    uint32_t first = s_pause_leader (p, old, old_term, &new_term);
    s_reply_of (p, old, S_STOPPED_VALUE);
    int64_t deadline = s_now_ms () + CLUSTER_LEADER_WAIT_MS;
    while (!p->kids [old].flooded && s_now_ms () < deadline)
        s_pump (p, deadline - s_now_ms ());
    for (st = s_status (p, old);
         (st.role != ZRAFT_FOLLOWER || st.term < new_term)
         && s_now_ms () < deadline; st = s_status (p, old))
        s_idle (p, CLUSTER_HEARTBEAT_MS / 2);
    S_ASSERT (p, p->kids [old].flooded, "n%u: the flood never ended", old);
    S_ASSERT (p, st.role == ZRAFT_FOLLOWER && st.term >= new_term,
              "n%u did not follow term %" PRIu64, old, new_term);
    /* Its log converges on the new leader's; that log grows past every
       index it accepted, so each proposal's outcome is known. */
    uint64_t top = 0, value = 20;
    for (uint32_t i = first; i < p->kids [old].n_replies; i++)
        if (p->kids [old].replies [i].index > top)
            top = p->kids [old].replies [i].index;
    while (s_one (p, value++, S_NODES) <= top)
        ;
    s_wait_converged (p);
    uint32_t outcomes [4] = {0};
    for (uint32_t i = first; i < p->kids [old].n_replies; i++)
        outcomes [s_check_outcome (p, old, p->kids [old].replies [i],
                                   old_term)]++;
    if (getenv ("ZR_VERBOSE"))
        fprintf (stderr, "test_pause: n%u term %" PRIu64 " -> %" PRIu64
                 ": %u refused, %u committed, %u lost, %u lost as a stale"
                 " leader\n", old, old_term, new_term, outcomes [0],
                 outcomes [1], outcomes [2], outcomes [3]);
    s_procs_destroy (&p);
}
END_TEST

/* Waits until server id's incarnation applied every index in acked. */
static void
s_wait_acked (s_procs_t *self, uint32_t id, const uint64_t *acked,
              uint32_t n_acked)
{
    uint8_t bit = (uint8_t) (1u << (id - 1));
    for (uint32_t i = 0; i < n_acked; i++) {
        int64_t deadline = s_now_ms () + S_CATCHUP_MS;
        while (!(self->appliers [acked [i]] & bit) && s_now_ms () < deadline)
            s_pump (self, deadline - s_now_ms ());
        S_ASSERT (self, self->appliers [acked [i]] & bit,
                  "n%u lost acknowledged index %" PRIu64, id, acked [i]);
    }
}

/* SIGKILL a follower, then the leader, restarting each from its data
   dir: no acknowledged (committed) command is lost, every server applies
   all of them again (a restart applies from index 1), and the cluster
   keeps committing. */
START_TEST (sigkill_restart_keeps_committed)
{
    s_procs_t *p = s_procs_new ();
    uint64_t acked [32], term = 0;
    uint32_t n_acked = 0;
    uint32_t leader = s_leader (p, 1, &term);
    for (uint64_t v = 1; v <= 5; v++)
        acked [n_acked++] = s_one (p, v, S_NODES);
    uint32_t follower = leader % S_NODES + 1;
    s_kill9 (p, follower);
    for (uint64_t v = 11; v <= 15; v++)
        acked [n_acked++] = s_one (p, v, S_NODES - 1);
    s_spawn (p, follower);
    s_wait_acked (p, follower, acked, n_acked);
    leader = s_leader (p, term, &term);
    s_kill9 (p, leader);
    uint32_t fresh = s_leader (p, term + 1, &term);
    S_ASSERT (p, fresh != leader, "n%u still leads", leader);
    for (uint64_t v = 21; v <= 25; v++)
        acked [n_acked++] = s_one (p, v, S_NODES - 1);
    s_spawn (p, leader);
    for (uint32_t id = 1; id <= S_NODES; id++)
        s_wait_acked (p, id, acked, n_acked);
    acked [n_acked++] = s_one (p, 30, S_NODES);
    s_wait_converged (p);
    s_procs_destroy (&p);
}
END_TEST

int
main (int argc, char *argv [])
{
    if (argc > 1 && streq (argv [1], "--server"))
        return s_server_main (argc, argv);
    Suite *s = suite_create ("proc");
    TCase *tc = tcase_create ("proc");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_test (tc, sigstop_leader_resumes_stale_never_commits);
    tcase_add_test (tc, sigkill_restart_keeps_committed);
    suite_add_tcase (s, tc);
    return check_run (s);
}
