/*  =========================================================================
    child - a --procs child: one server, driven by its parent

    --procs: the parent re-executes itself once per server with the
    hidden --child-* flags. Each child runs one server (zb_server_start)
    and talks to the parent in text lines over a socketpair: it reports
    its status, loads its server when told that it leads, measures the
    window the parent set, sends its figures and histogram, answers
    VERIFY, and quits on EXIT or EOF. The protocol is below.
    =========================================================================
*/
#include "bench.h"
#include "child.h"

typedef struct {
    zb_opts_t opts;                     /* parsed flags, --child-* set */
    int fd;                             /* socketpair to the parent */
    char data_dir [ZB_DIR_MAX + 16];    /* child_dir/n<id> */
    zraft_t *node;                      /* this child's server */
    zb_load_t *load;                    /* used while this child loads */
    char in [ZB_CMD_MAX];               /* partial command line */
    size_t in_used;                     /* bytes in `in` */
    char *out;                          /* ZB_LINE_MAX, for the HIST line */
    bool windowed;                      /* WINDOW received */
    int64_t start_us, end_us;           /* the measured window */
    bool started, ended;                /* its snapshots were taken */
    zraft_status_t before, after;       /* counters at start and end */
    int64_t cpu_us [2];                 /* process CPU at start and end */
    int64_t status_at_us;               /* next STATUS report */
    uint64_t verify_index;              /* VERIFY target; 0 = none */
    int64_t verify_until_us;            /* and its deadline */
    bool quit;                          /* EXIT, EOF or failure */
    bool failed;                        /* exit 1 */
} s_child_t;

/* Sends len bytes to the parent, whole. Returns 0 or -1 (parent gone). */
int
zb_fd_send (int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t sent = send (fd, data, len, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        data += sent;
        len -= (size_t) sent;
    }
    return 0;
}

/* Sends one printf-formatted line (newline added) to the parent. */
static int s_child_say (s_child_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static int
s_child_say (s_child_t *self, const char *format, ...)
{
    char line [ZB_CMD_MAX * 2];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line - 1, format, args);
    va_end (args);
    assert (n > 0 && (size_t) n < sizeof line - 1);
    line [n++] = '\n';
    if (zb_fd_send (self->fd, line, (size_t) n) == 0)
        return 0;
    self->quit = true;                  /* the parent is gone */
    return -1;
}

static void
s_child_destroy (s_child_t **self_p)
{
    assert (self_p);
    s_child_t *self = *self_p;
    if (!self)
        return;
    zraft_destroy (&self->node);
    zb_load_destroy (&self->load);
    if (self->fd >= 0)
        close (self->fd);
    free (self->out);
    free (self);
    *self_p = NULL;
}

static s_child_t *
s_child_new (const zb_opts_t *opts)
{
    s_child_t *self = (s_child_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    self->fd = (int) opts->child_fd;
    self->load = zb_load_new (&self->opts);
    self->out = (char *) malloc (ZB_LINE_MAX);
    snprintf (self->data_dir, sizeof self->data_dir, "%s/n%u",
              opts->child_dir, opts->child_id);
    if (!self->load || !self->out)
        s_child_destroy (&self);
    return self;
}

/* Stops loading (the server stepped down, or the window ended) and says
   so at once, so that the parent can hand the load on. */
static void
s_child_unload (s_child_t *self)
{
    if (!self->load->leader)
        return;
    zb_load_set_leader (self->load, NULL, self->load->term);
    self->status_at_us = 0;             /* report now */
}

/* Reports role, term, leader, whether loading, completions, the open
   loop's next proposal number and the commit index, every ZB_STATUS_MS. */
static void
s_child_status (s_child_t *self, int64_t now)
{
    if (now < self->status_at_us)
        return;
    self->status_at_us = now + 1000 * ZB_STATUS_MS;
    zraft_status_t s;
    if (zraft_status (self->node, &s) != 0)
        return;
    s_child_say (self, "STATUS %d %" PRIu64 " %u %d %" PRIu64 " %" PRIu64
                 " %" PRIu64, (int) s.role, s.term, s.leader,
                 self->load->leader != NULL, self->load->done,
                 self->load->next_k, s.commit);
}

/* Sends the window's figures: NODE, HIST, then FINAL. */
static void
s_child_final (s_child_t *self)
{
    zb_node_fig_t f;
    zb_node_fig_set (&f, &self->before, &self->after,
                    self->cpu_us [1] - self->cpu_us [0], zb_rss_kib ());
    s_child_say (self, "NODE %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64, f.syncs, f.wal_entries, f.appends,
                 f.entries_out, f.bytes_out, f.cpu_us, f.rss_kib,
                 f.fault_dropped, f.fault_delayed, f.fault_duplicated);
    memcpy (self->out, "HIST ", 5);
    int n = zr_histogram_encode (self->load->hist, self->out + 5,
                                 ZB_LINE_MAX - 6);
    assert (n > 0);
    self->out [5 + n] = '\n';
    if (zb_fd_send (self->fd, self->out, (size_t) n + 6))
        self->quit = true;
    zb_load_t *l = self->load;
    s_child_say (self, "FINAL %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64, l->committed, l->lost, l->last_index,
                 l->cap_hits, l->outstanding_peak);
}

/* Takes the window's snapshots when its start and end come. */
static int
s_child_window (s_child_t *self, int64_t now)
{
    if (!self->windowed)
        return 0;
    if (!self->started && now >= self->start_us) {
        if (zraft_status (self->node, &self->before) != 0)
            return -1;
        self->cpu_us [0] = zb_cpu_us ();
        self->load->measuring = true;
        self->started = true;
    }
    if (self->started && !self->ended && now >= self->end_us) {
        self->load->measuring = false;
        s_child_unload (self);
        if (zraft_status (self->node, &self->after) != 0)
            return -1;
        self->cpu_us [1] = zb_cpu_us ();
        self->ended = true;
        s_child_final (self);
    }
    return 0;
}

/* While loading: proposes, and stops when the server is no longer the
   leader; fails after 20 election timeouts without a completion. */
static int
s_child_load (s_child_t *self, int64_t now)
{
    zb_load_t *load = self->load;
    if (!load->leader)
        return 0;
    int rc = zb_load_fill (load, now);
    if (rc == 1)
        s_child_unload (self);
    if (rc)
        return rc < 0 ? -1 : 0;
    int64_t quiet_us = now - load->progress_us;
    int64_t election_us = 1000 * (int64_t) self->opts.election_ms;
    if (load->pending == 0 || quiet_us < election_us)
        return 0;
    zraft_status_t status;
    if (zraft_status (self->node, &status) != 0)
        return -1;
    if (status.role != ZRAFT_LEADER || status.term != load->term)
        s_child_unload (self);
    else
    if (quiet_us >= 20 * election_us) {
        s_child_say (self, "FAIL stalled: %" PRIu64 " pending, nothing"
                     " applied for %" PRId64 " ms", load->pending,
                     quiet_us / 1000);
        return -1;
    }
    return 0;
}

/* Answers VERIFY once the server applied through the index asked, or
   when ZB_VERIFY_MS have passed. */
static void
s_child_verify (s_child_t *self, int64_t now)
{
    if (!self->verify_index)
        return;
    zraft_status_t s;
    bool through = zraft_status (self->node, &s) == 0
                   && s.commit >= self->verify_index
                   && s.applied >= self->verify_index;
    if (!through && now < self->verify_until_us)
        return;
    if (!through)
        zb_server_dump (self->node, self->opts.child_id);
    s_child_say (self, "VERIFIED %d", through ? 1 : 0);
    self->verify_index = 0;
}

/* LOAD t0 next_k: this child's server leads; load it (unless already,
   or the window is over), continuing the open loop's schedule. */
static void
s_child_on_load (s_child_t *self, int64_t t0_us, uint64_t next_k)
{
    zb_load_t *load = self->load;
    if (load->leader || (self->windowed && zb_now_us () >= self->end_us))
        return;
    zraft_status_t s;
    if (zraft_status (self->node, &s) != 0 || s.role != ZRAFT_LEADER)
        return;                         /* the parent will see it */
    load->t0_us = t0_us;
    load->next_k = next_k > load->next_k ? next_k : load->next_k;
    zb_load_set_leader (load, self->node, s.term);
    self->status_at_us = 0;
}

/* Handles one command line from the parent (trusted: our own parent,
   so a malformed line is a programming error). */
static void
s_child_command (s_child_t *self, const char *line)
{
    int64_t a = 0, b = 0;
    uint64_t u = 0;
    if (sscanf (line, "WINDOW %" SCNd64 " %" SCNd64, &a, &b) == 2) {
        assert (a <= b && !self->windowed);
        self->windowed = true;
        self->start_us = a;
        self->end_us = b;
        self->load->stop_us = b;
    }
    else
    if (sscanf (line, "LOAD %" SCNd64 " %" SCNu64, &a, &u) == 2)
        s_child_on_load (self, a, u);
    else
    if (sscanf (line, "VERIFY %" SCNu64, &u) == 1) {
        self->verify_index = u ? u : 1;
        self->verify_until_us = zb_now_us () + 1000 * ZB_VERIFY_MS;
    }
    else
    if (streq (line, "EXIT"))
        self->quit = true;
    else
        assert (false);
}

/* Reads what the parent sent; EOF means it is gone: quit. */
static void
s_child_read (s_child_t *self)
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
    while ((newline = strchr (line, '\n'))) {
        *newline = 0;
        s_child_command (self, line);
        line = newline + 1;
    }
    self->in_used = strlen (line);
    memmove (self->in, line, self->in_used);
    assert (self->in_used < sizeof self->in - 1);
}

/* The child's loop: window, load, reports, then waits on its server's
   events and the parent's socket. */
static int
s_child_run (s_child_t *self)
{
    zmq_pollitem_t items [2] = {
        {zsock_resolve (zraft_events (self->node)), 0, ZMQ_POLLIN, 0},
        {NULL, self->fd, ZMQ_POLLIN, 0}};
    while (!self->quit && !zb_interrupted) {
        int64_t now = zb_now_us ();
        if (s_child_window (self, now) || s_child_load (self, now))
            return -1;
        s_child_status (self, now);
        s_child_verify (self, now);
        int wait_ms = zb_load_wait_ms (self->load, zb_now_us ());
        if (zmq_poll (items, 2, wait_ms) < 0 && errno != EINTR)
            return -1;
        if (zb_load_drain (self->load, self->node))
            return -1;
        if (items [1].revents & ZMQ_POLLIN)
            s_child_read (self);
    }
    return 0;
}

/* Runs a --procs child: one server, driven by the parent over
   --child-fd. Returns the exit code. */
int
zb_child_main (const zb_opts_t *opts)
{
    zb_signals_block (true);
    zsys_init ();
    zsys_handler_set (zb_signal_cb);
    char ident [32];
    snprintf (ident, sizeof ident, "zraft-bench/n%u", opts->child_id);
    zsys_set_logident (ident);
    zsys_set_logstream (stderr);
    s_child_t *self = s_child_new (opts);
    if (!self)
        return 1;
    self->node = zb_server_start (&self->opts, opts->child_id, opts->ports,
                               self->data_dir);
    zb_signals_block (false);
    int rc = self->node ? 0 : -1;
    if (rc != 0)
        s_child_say (self, "FAIL n%u did not start", opts->child_id);
    else
    if (zb_server_faults (&self->opts, self->node, opts->child_id)) {
        s_child_say (self, "FAIL n%u: cannot set its links' faults",
                     opts->child_id);
        rc = -1;
    }
    if (rc == 0)
        rc = s_child_say (self, "READY");
    if (rc == 0)
        rc = s_child_run (self);
    s_child_destroy (&self);
    return rc == 0 ? 0 : zb_interrupted ? ZB_EX_INTERRUPTED : 1;
}

