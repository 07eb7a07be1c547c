/*  =========================================================================
    procs - the --procs parent: one process per server, supervised

    Picks the data dir and free ports without ZeroMQ, then re-executes
    itself once per server (see child.h), so no ZeroMQ state ever
    crosses a fork. It elects the loader (the process whose server
    leads; the load moves with the leader), forwards the measured
    window, gathers every child's figures and histogram, samples their
    RSS and data dirs, and on any error, timeout or interrupt kills and
    reaps every child.
    =========================================================================
*/
#include "bench.h"
#include "procs.h"

#define S_START_MS 20000                /* children have this long to start */
#define S_EXIT_MS 5000                  /* ... and to exit once told */
#define S_CHILD_ARGS 24                 /* flags a --procs child gets */

/* What the parent knows of one child. */
typedef struct {
    pid_t pid;                          /* 0 once reaped */
    int fd;                             /* our end of the socketpair; -1 */
    char *buf;                          /* partial line, ZB_LINE_MAX */
    size_t used;                        /* bytes in buf */
    bool ready;                         /* READY received */
    bool reported;                      /* a STATUS received */
    int role;                           /* from STATUS */
    uint64_t term;                      /* from STATUS */
    uint32_t leader;                    /* from STATUS */
    bool loading;                       /* from STATUS */
    uint64_t done;                      /* from STATUS: completions */
    uint64_t next_k;                    /* from STATUS: open loop */
    uint64_t commit;                    /* from STATUS: its commit index */
    bool final;                         /* FINAL received */
    zb_node_fig_t fig;                  /* from NODE */
    uint64_t committed, lost, last_index, cap_hits, peak;   /* FINAL */
    int verified;                       /* -1 asked, 0 failed, 1 ok */
} s_kid_t;

enum {S_PHASE_START, S_PHASE_ELECT, S_PHASE_RUN, S_PHASE_VERIFY,
      S_PHASE_EXIT};

struct _zb_procs_t {
    zb_opts_t opts;                     /* parsed flags */
    const char *argv0;                  /* our name, for the children */
    zb_dirs_t dirs;                     /* data dirs, made here */
    uint16_t ports [ZRAFT_NODES_MAX];   /* by id - 1 */
    s_kid_t kids [ZRAFT_NODES_MAX];     /* by id - 1 */
    int phase;                          /* S_PHASE_* */
    int64_t deadline_us;                /* the phase fails after this */
    uint32_t leader;                    /* agreed leader, 0 before */
    uint64_t term;                      /* its term */
    bool load_sent;                     /* LOAD sent to it for term */
    uint32_t leader_changes;            /* after the first agreed */
    int64_t t0_us;                      /* open loop schedule origin */
    int64_t start_us, end_us;           /* the measured window */
    uint64_t last_index;                /* highest index proposed */
    zr_histogram_t *hist;               /* every child's, merged */
    zb_samples_t *samples;              /* RSS and disk over time */
    zb_progress_t progress;             /* stderr progress line */
};

/* Sends a command line to child i; a dead child shows as EOF later. */
static void s_procs_tell (zb_procs_t *self, uint32_t i, const char *format,
                          ...) __attribute__ ((format (printf, 3, 4)));
static void
s_procs_tell (zb_procs_t *self, uint32_t i, const char *format, ...)
{
    char line [ZB_CMD_MAX];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line - 1, format, args);
    va_end (args);
    assert (n > 0 && (size_t) n < sizeof line - 1);
    line [n++] = '\n';
    if (self->kids [i].fd >= 0)
        (void) zb_fd_send (self->kids [i].fd, line, (size_t) n);
}

/* Builds child id's argv into args (strings in store). */
static void
s_procs_argv (zb_procs_t *self, uint32_t id, int fd, char store [][64],
              char *args [], char *ports, size_t ports_size)
{
    const zb_opts_t *o = &self->opts;
    size_t n = 0, used = 0;
    for (uint32_t i = 0; i < o->nodes; i++)
        used += (size_t) snprintf (ports + used, ports_size - used, "%s%u",
                                   i ? "," : "", self->ports [i]);
    snprintf (store [n++], 64, "--nodes=%u", o->nodes);
    snprintf (store [n++], 64, "--heartbeat-ms=%u", o->heartbeat_ms);
    snprintf (store [n++], 64, "--election-ms=%u", o->election_ms);
    snprintf (store [n++], 64, "--window=%u", o->window);
    snprintf (store [n++], 64, "--batch-bytes=%" PRIu64, o->batch_bytes);
    snprintf (store [n++], 64, "--entry-size=%u", o->entry_size);
    if (o->propose_batch)
        snprintf (store [n++], 64, "--propose-batch=%u", o->propose_batch);
    if (o->rate)
        snprintf (store [n++], 64, "--rate=%" PRIu64, o->rate);
    else
        snprintf (store [n++], 64, "--inflight=%u", o->inflight);
    snprintf (store [n++], 64, "--duration=%u", o->duration_s);
    snprintf (store [n++], 64, "--warmup=%u", o->warmup_s);
    snprintf (store [n++], 64, "--seed=%" PRIu64, o->seed);
    snprintf (store [n++], 64, "--drop=%u.%04u", o->drop_ppm / 10000,
              o->drop_ppm % 10000);     /* exact: ppm is 1e-4 percent */
    snprintf (store [n++], 64, "--delay=%u:%u", o->delay_ms, o->jitter_ms);
    if (o->no_snapshots)
        snprintf (store [n++], 64, "--no-snapshots");
    if (o->snapshot_entries)
        snprintf (store [n++], 64, "--snapshot-entries=%" PRIu64, o->snapshot_entries);
    if (o->snapshot_bytes_set)
        snprintf (store [n++], 64, "--snapshot-bytes=%" PRIu64,
                  o->snapshot_bytes);
    if (o->snapshot_chunk_bytes)
        snprintf (store [n++], 64, "--snapshot-chunk-bytes=%u",
                  o->snapshot_chunk_bytes);
    if (o->state_bytes)
        snprintf (store [n++], 64, "--state-bytes=%" PRIu64, o->state_bytes);
    snprintf (store [n++], 64, "--child-id=%u", id);
    snprintf (store [n++], 64, "--child-fd=%d", fd);
    assert (n <= S_CHILD_ARGS);
    args [0] = (char *) self->argv0;
    for (size_t i = 0; i < n; i++)
        args [i + 1] = store [i];
    args [n + 1] = (char *) "--child-ports";
    args [n + 2] = ports;
    args [n + 3] = (char *) "--child-dir";
    args [n + 4] = self->dirs.dir;
    args [n + 5] = NULL;
}

/* Forks and re-executes child id (1..nodes) with a socketpair to us.
   Between fork and exec only async-signal-safe calls. Returns 0 or -1. */
static int
s_procs_spawn (zb_procs_t *self, uint32_t id)
{
    s_kid_t *kid = &self->kids [id - 1];
    int pair [2];
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        fprintf (stderr, "zraft-bench: socketpair: %s\n", strerror (errno));
        return -1;
    }
    char store [S_CHILD_ARGS][64], ports [ZRAFT_NODES_MAX * 8];
    char *args [S_CHILD_ARGS + 6];
    s_procs_argv (self, id, pair [1], store, args, ports, sizeof ports);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        setpgid (0, 0);                 /* ^C reaches the parent only */
        prctl (PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        if (getppid () != parent)
            _exit (1);                  /* the parent died already */
        fcntl (pair [1], F_SETFD, 0);   /* survives exec; pair [0] not */
        execv ("/proc/self/exe", args);
        _exit (127);
    }
    close (pair [1]);
    if (pid < 0) {
        fprintf (stderr, "zraft-bench: fork: %s\n", strerror (errno));
        close (pair [0]);
        return -1;
    }
    kid->pid = pid;
    kid->fd = pair [0];
    fcntl (kid->fd, F_SETFL, O_NONBLOCK);
    return 0;
}

/* Returns the agreed leader and sets *term from the children's latest
   STATUS, or 0: exactly one leads and all agree on it and its term. */
static uint32_t
s_procs_agreed (zb_procs_t *self, uint64_t *term)
{
    uint32_t leaders = 0, leader = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (!self->kids [i].reported)
            return 0;
        if (self->kids [i].role == ZRAFT_LEADER) {
            leaders++;
            leader = i + 1;
        }
    }
    if (leaders != 1)
        return 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (self->kids [i].leader != leader
            || self->kids [i].term != self->kids [leader - 1].term)
            return 0;
    *term = self->kids [leader - 1].term;
    return leader;
}

/* Keeps the load on the agreed leader: a new leader (or term) gets LOAD
   once no other child is still loading, continuing the open loop's
   numbering where the previous loader stopped. */
static void
s_procs_follow (zb_procs_t *self)
{
    uint64_t term = 0, next_k = 0;
    uint32_t agreed = s_procs_agreed (self, &term);
    if (agreed && (agreed != self->leader || term != self->term)) {
        if (self->leader)
            self->leader_changes++;
        self->leader = agreed;
        self->term = term;
        self->load_sent = false;
    }
    if (self->load_sent || !self->leader)
        return;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (i + 1 != self->leader && self->kids [i].loading)
            return;                     /* wait until it stopped */
        if (self->kids [i].next_k > next_k)
            next_k = self->kids [i].next_k;
    }
    s_procs_tell (self, self->leader - 1, "LOAD %" PRId64 " %" PRIu64,
                  self->t0_us, next_k);
    self->load_sent = true;
}

/* Handles STATUS and NODE lines. Returns 0, or -1 if malformed. */
static int
s_procs_on_report (s_kid_t *kid, const char *line)
{
    int loading = 0;
    zb_node_fig_t *f = &kid->fig;
    if (strncmp (line, "STATUS ", 7) == 0) {
        if (sscanf (line + 7, "%d %" SCNu64 " %u %d %" SCNu64 " %" SCNu64
                    " %" SCNu64, &kid->role, &kid->term, &kid->leader,
                    &loading, &kid->done, &kid->next_k, &kid->commit) != 7)
            return -1;
        kid->loading = loading != 0;
        kid->reported = true;
        return 0;
    }
    if (sscanf (line, "NODE %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                " %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %" SCNu64
                " %" SCNu64, &f->syncs, &f->wal_entries, &f->appends,
                &f->entries_out, &f->bytes_out, &f->cpu_us, &f->rss_kib,
                &f->fault_dropped, &f->fault_delayed,
                &f->fault_duplicated) != 10)
        return -1;
    return 0;
}

/* Handles one line from child i. Returns 0, or -1 after a message (a
   FAIL, or a line that does not parse). */
static int
s_procs_on_line (zb_procs_t *self, uint32_t i, const char *line)
{
    s_kid_t *kid = &self->kids [i];
    int ok = 1;
    if (streq (line, "READY"))
        kid->ready = true;
    else
    if (strncmp (line, "STATUS ", 7) == 0 || strncmp (line, "NODE ", 5) == 0)
        ok = s_procs_on_report (kid, line) == 0;
    else
    if (strncmp (line, "HIST ", 5) == 0) {
        zr_histogram_t *hist = zr_histogram_decode (line + 5);
        ok = hist != NULL;
        if (hist)
            zr_histogram_merge (self->hist, hist);
        zr_histogram_destroy (&hist);
    }
    else
    if (strncmp (line, "FINAL ", 6) == 0) {
        ok = sscanf (line + 6, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                     " %" SCNu64, &kid->committed, &kid->lost,
                     &kid->last_index, &kid->cap_hits, &kid->peak) == 5;
        kid->final = ok;
    }
    else
    if (strncmp (line, "VERIFIED ", 9) == 0)
        kid->verified = streq (line + 9, "1") ? 1 : 0;
    else
    if (strncmp (line, "FAIL ", 5) == 0) {
        zb_progress_clear (&self->progress);
        fprintf (stderr, "zraft-bench: n%u: %s\n", i + 1, line + 5);
        return -1;
    }
    else
        ok = 0;
    if (!ok)
        fprintf (stderr, "zraft-bench: n%u sent a malformed line: %.60s\n",
                 i + 1, line);
    return ok ? 0 : -1;
}

/* Reads what child i sent and handles every whole line. Returns 0, or
   -1 after a message (EOF before EXIT, an over-long line, bad line). */
static int
s_procs_read (zb_procs_t *self, uint32_t i)
{
    s_kid_t *kid = &self->kids [i];
    ssize_t got = recv (kid->fd, kid->buf + kid->used,
                        ZB_LINE_MAX - 1 - kid->used, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (got <= 0) {
        close (kid->fd);
        kid->fd = -1;
        if (self->phase == S_PHASE_EXIT)
            return 0;
        zb_progress_clear (&self->progress);
        fprintf (stderr, "zraft-bench: n%u exited early\n", i + 1);
        return -1;
    }
    kid->used += (size_t) got;
    kid->buf [kid->used] = 0;
    char *line = kid->buf, *newline;
    while ((newline = strchr (line, '\n'))) {
        *newline = 0;
        if (s_procs_on_line (self, i, line))
            return -1;
        line = newline + 1;
    }
    kid->used = strlen (line);
    memmove (kid->buf, line, kid->used);
    if (kid->used < ZB_LINE_MAX - 1)
        return 0;
    fprintf (stderr, "zraft-bench: n%u sent an over-long line\n", i + 1);
    return -1;
}

/* Counts the children for which `what` holds. */
static uint32_t
s_procs_count (zb_procs_t *self, int what)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_kid_t *kid = &self->kids [i];
        n += what == S_PHASE_START ? kid->ready
             : what == S_PHASE_RUN ? kid->final
             : kid->verified >= 0;
    }
    return n;
}

/* Enters phase, failing after ms from now. */
static void
s_procs_phase (zb_procs_t *self, int phase, int64_t now, int64_t ms)
{
    self->phase = phase;
    self->deadline_us = now + 1000 * ms;
}

/* Moves the run along once the current phase's condition holds. */
static void
s_procs_step (zb_procs_t *self, int64_t now)
{
    const zb_opts_t *o = &self->opts;
    int64_t election_ms = (int64_t) o->election_ms;
    uint64_t term = 0;
    if (self->phase == S_PHASE_START
        && s_procs_count (self, S_PHASE_START) == o->nodes)
        s_procs_phase (self, S_PHASE_ELECT, now, 20 * election_ms);
    else
    if (self->phase == S_PHASE_ELECT && s_procs_agreed (self, &term)) {
        self->t0_us = now;
        zb_samples_start (self->samples, now, o->warmup_s + o->duration_s);
        self->start_us = now + 1000000 * (int64_t) o->warmup_s;
        self->end_us = self->start_us + 1000000 * (int64_t) o->duration_s;
        for (uint32_t i = 0; i < o->nodes; i++)
            s_procs_tell (self, i, "WINDOW %" PRId64 " %" PRId64,
                          self->start_us, self->end_us);
        s_procs_follow (self);
        s_procs_phase (self, S_PHASE_RUN, now, (self->end_us - now) / 1000
                                               + 20 * election_ms + 5000);
    }
    else
    if (self->phase == S_PHASE_RUN) {
        s_procs_follow (self);
        uint64_t done = 0;
        for (uint32_t i = 0; i < o->nodes; i++) {
            done += self->kids [i].done;
            if (self->kids [i].last_index > self->last_index)
                self->last_index = self->kids [i].last_index;
        }
        zb_progress_tick (&self->progress, now, done, self->start_us,
                         o->duration_s);
        if (s_procs_count (self, S_PHASE_RUN) < o->nodes)
            return;
        zb_progress_clear (&self->progress);
        for (uint32_t i = 0; i < o->nodes; i++) {
            self->kids [i].verified = -1;
            s_procs_tell (self, i, "VERIFY %" PRIu64, self->last_index);
        }
        s_procs_phase (self, S_PHASE_VERIFY, now, ZB_VERIFY_MS + 5000);
    }
    else
    if (self->phase == S_PHASE_VERIFY
        && s_procs_count (self, S_PHASE_VERIFY) == o->nodes)
        s_procs_phase (self, S_PHASE_EXIT, now, S_EXIT_MS);
}

/* Samples every child when due: VmRSS of its process, its data dir's
   disk use, and the commit index of its last STATUS (ZB_STATUS_MS old at
   most). The children run until S_PHASE_EXIT, past the last sample.
   Returns 0, or -1 if a node is above --rss-max or --disk-max. */
static int
s_procs_sample (zb_procs_t *self, int64_t now)
{
    if (!zb_samples_due (self->samples, now))
        return 0;
    assert (self->phase != S_PHASE_EXIT);
    if (self->samples->print)
        zb_progress_clear (&self->progress);
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_kid_t *kid = &self->kids [i];
        uint64_t rss = kid->pid > 0 ? zb_rss_bytes (kid->pid) : 0;
        zb_samples_add (self->samples, now, i + 1, rss,
                       zb_disk_usage (self->dirs.data [i]), kid->commit);
    }
    zb_samples_tick (self->samples, now);
    return self->samples->over ? -1 : 0;
}

/* Runs the phases up to S_PHASE_EXIT. Returns 0, or -1 after a message
   (or when interrupted). */
static int
s_procs_loop (zb_procs_t *self)
{
    static const char *waiting [] = {"every child to start",
        "an agreed leader", "the end of the run", "verify"};
    s_procs_phase (self, S_PHASE_START, zb_now_us (), S_START_MS);
    while (self->phase != S_PHASE_EXIT && !zb_interrupted) {
        int64_t now = zb_now_us ();
        if (now >= self->deadline_us) {
            zb_progress_clear (&self->progress);
            fprintf (stderr, "zraft-bench: timed out waiting for %s\n",
                     waiting [self->phase]);
            return -1;
        }
        if (s_procs_sample (self, now))
            return -1;
        s_procs_step (self, now);
        struct pollfd fds [ZRAFT_NODES_MAX];
        for (uint32_t i = 0; i < self->opts.nodes; i++)
            fds [i] = (struct pollfd) {self->kids [i].fd, POLLIN, 0};
        if (poll (fds, self->opts.nodes, ZB_LOOP_MS) < 0 && errno != EINTR)
            return -1;
        for (uint32_t i = 0; i < self->opts.nodes; i++)
            if ((fds [i].revents & (POLLIN | POLLHUP | POLLERR))
                && s_procs_read (self, i))
                return -1;
    }
    return zb_interrupted ? -1 : 0;
}

/* Waits until every child has exited, up to ms; then kills and reaps
   the rest. Returns true if all exited by themselves with status 0. */
static bool
s_procs_reap (zb_procs_t *self, int64_t ms)
{
    int64_t until = zb_now_us () + 1000 * ms;
    bool clean = true;
    for (uint32_t left = self->opts.nodes; left > 0;) {
        left = 0;
        for (uint32_t i = 0; i < self->opts.nodes; i++) {
            s_kid_t *kid = &self->kids [i];
            int status = 0;
            if (kid->pid > 0 && waitpid (kid->pid, &status, WNOHANG) > 0) {
                clean &= WIFEXITED (status) && WEXITSTATUS (status) == 0;
                kid->pid = 0;
            }
            left += kid->pid > 0;
        }
        if (left && zb_now_us () >= until) {
            for (uint32_t i = 0; i < self->opts.nodes; i++)
                if (self->kids [i].pid > 0) {
                    kill (self->kids [i].pid, SIGKILL);
                    waitpid (self->kids [i].pid, NULL, 0);
                    self->kids [i].pid = 0;
                }
            return false;
        }
        if (left)
            poll (NULL, 0, ZB_POLL_MS);
    }
    return clean;
}

/* Ends every child: EXIT when the run went well, SIGTERM otherwise;
   children still there after S_EXIT_MS are killed. Always reaps all. */
static bool
s_procs_stop (zb_procs_t *self, bool graceful)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (graceful)
            s_procs_tell (self, i, "EXIT");
        else
        if (self->kids [i].pid > 0)
            kill (self->kids [i].pid, SIGTERM);
    }
    bool clean = s_procs_reap (self, S_EXIT_MS);
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (self->kids [i].fd >= 0) {
            close (self->kids [i].fd);
            self->kids [i].fd = -1;
        }
    return clean;
}

static void
s_procs_result (zb_procs_t *self, zb_result_t *r)
{
    memset (r, 0, sizeof *r);
    r->procs = true;
    r->seconds = (double) (self->end_us - self->start_us) / 1e6;
    r->leader_changes = self->leader_changes;
    r->leader = self->leader;
    r->term = self->term;
    r->last_index = self->last_index;
    r->hist = self->hist;
    r->samples = self->samples;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_kid_t *kid = &self->kids [i];
        r->committed += kid->committed;
        r->lost += kid->lost;
        r->cap_hits += kid->cap_hits;
        if (kid->peak > r->outstanding_peak)
            r->outstanding_peak = kid->peak;
        r->nodes [i] = kid->fig;
    }
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
        assert (self->kids [i].pid == 0);   /* reaped by s_procs_stop */
        if (self->kids [i].fd >= 0)
            close (self->kids [i].fd);
        free (self->kids [i].buf);
    }
    zb_dirs_remove (&self->dirs, &self->opts);
    zr_histogram_destroy (&self->hist);
    zb_samples_destroy (&self->samples);
    free (self);
    *self_p = NULL;
}

zb_procs_t *
zb_procs_new (const zb_opts_t *opts, const char *argv0)
{
    zb_procs_t *self = (zb_procs_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    self->argv0 = argv0;
    self->hist = zr_histogram_new ();
    self->samples = zb_samples_new (&self->opts, true);
    bool ok = self->hist && self->samples;
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++) {
        self->kids [i].fd = -1;
        self->kids [i].verified = -1;
        self->kids [i].buf = (char *) malloc (ZB_LINE_MAX);
        ok = ok && self->kids [i].buf;
    }
    zb_progress_init (&self->progress);
    if (!ok)
        zb_procs_destroy (&self);
    return self;
}

/* Runs the cluster as one process per server. Returns the exit code. */
int
zb_procs_main (zb_procs_t *self)
{
    zb_signals_catch ();
    int rc = zb_dirs_make (&self->dirs, &self->opts)
             || zb_ports_pick (self->ports, self->opts.nodes) ? -1 : 0;
    for (uint32_t id = 1; rc == 0 && id <= self->opts.nodes; id++)
        rc = s_procs_spawn (self, id);
    if (rc == 0)
        rc = s_procs_loop (self);
    bool clean = s_procs_stop (self, rc == 0);
    if (rc != 0 && self->samples->over && !zb_interrupted)
        zb_print_stopped (&self->opts, self->samples);
    if (rc != 0)
        return zb_interrupted ? ZB_EX_INTERRUPTED : 1;
    zb_result_t result;
    s_procs_result (self, &result);
    zb_print (&self->opts, &result);
    bool verified = s_procs_count (self, S_PHASE_VERIFY) == self->opts.nodes;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        verified &= self->kids [i].verified == 1;
    if (verified && !self->opts.json)
        printf ("\nverified: all %u nodes applied through index %" PRIu64
                "\n", self->opts.nodes, self->last_index);
    fflush (stdout);
    if (!verified)
        fprintf (stderr, "zraft-bench: verify failed: not all %u nodes"
                 " applied through index %" PRIu64 "\n", self->opts.nodes,
                 self->last_index);
    if (!clean)
        fprintf (stderr, "zraft-bench: a child did not exit cleanly\n");
    return verified && clean ? 0 : 1;
}

