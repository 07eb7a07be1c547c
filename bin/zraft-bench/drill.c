/*  =========================================================================
    drill - timed snapshot drills (--drill restart|install)

    Replaces the load with a timed snapshot drill, in-process so that
    the bench can stop, restart and cut one server: a follower's restart
    from its snapshot and log (restart), or the installation of the
    leader's snapshot on a follower that was cut off while the leader
    compacted past it (install).
    =========================================================================
*/
#include "bench.h"
#include "drill.h"

#define S_DRILL_WAIT_MS 300000          /* a drill step waits this long */

/* What a drill measured; times in us from the drill's step start. */
typedef struct {
    uint32_t follower;                  /* the server stopped or cut off */
    uint64_t snapshot_index;            /* the snapshot it restored */
    uint64_t target;                    /* the leader's commit it must reach */
    uint64_t snapshot_take_us;          /* zraft_snapshot -> all taken */
    int64_t new_us;                     /* restart: zraft_new returned */
    int64_t restore_at_us;              /* restart: restore began */
    int64_t restore_us;                 /* restore's own time (copy, check) */
    int64_t installed_us;               /* install: snapshots_installed++ */
    int64_t serving_us;                 /* applied reached target */
    uint64_t dir_bytes;                 /* follower's data dir, allocated */
} s_drill_fig_t;

/* Status of server id, or -1 if it is stopped or gone. */
static int
s_drill_status (zb_harness_t *self, uint32_t id, zraft_status_t *status)
{
    zraft_t *node = self->nodes [id - 1];
    return node && zraft_status (node, status) == 0 ? 0 : -1;
}

/* Rebuilds the poller over the running servers' events sockets. */
static void
s_drill_poller (zb_harness_t *self)
{
    zpoller_destroy (&self->poller);
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (!self->nodes [i])
            continue;
        if (!self->poller)
            self->poller = zpoller_new (zraft_events (self->nodes [i]), NULL);
        else
            zpoller_add (self->poller, zraft_events (self->nodes [i]));
    }
    assert (self->poller);
}

/* Commits n more entries through the load, then waits until none is
   pending. Returns 0, or -1 after a message (stall, leader lost). */
static int
s_drill_commit (zb_harness_t *self, uint64_t n)
{
    zb_load_t *load = self->load;
    uint64_t target = load->done + n;
    load->progress_us = zb_now_us ();
    while (!zb_interrupted && (load->done < target || load->pending)) {
        int64_t now = zb_now_us ();
        int rc = load->done < target ? zb_load_fill (load, now) : 0;
        if (rc == 1)
            rc = zb_harness_leader_find (self);
        if (rc || zb_harness_watch (self, now))
            return -1;
        zb_progress_tick (&self->progress, now, load->done, 0, 0);
        zpoller_wait (self->poller, ZB_LOOP_MS);
        if (zb_harness_drain (self))
            return -1;
    }
    zb_progress_clear (&self->progress);
    return zb_interrupted ? -1 : 0;
}

/* Waits until cond (id, status) holds for server id, draining events,
   at most S_DRILL_WAIT_MS. Returns the time it held (zb_now_us), or -1
   after a message naming what. */
typedef bool (s_drill_cond_fn) (const zraft_status_t *status, uint64_t arg);

static int64_t
s_drill_until (zb_harness_t *self, uint32_t id, s_drill_cond_fn *cond,
               uint64_t arg, const char *what)
{
    int64_t deadline = zb_now_us () + 1000 * (int64_t) S_DRILL_WAIT_MS;
    while (!zb_interrupted && zb_now_us () < deadline) {
        zraft_status_t status;
        if (s_drill_status (self, id, &status) == 0 && cond (&status, arg))
            return zb_now_us ();
        if (zb_harness_drain (self))
            break;
        zpoller_wait (self->poller, 1);
    }
    if (!zb_interrupted) {
        fprintf (stderr, "zraft-bench: drill: n%u never %s\n", id, what);
        zb_harness_dump (self);
    }
    return -1;
}

static bool
s_cond_snapshots (const zraft_status_t *status, uint64_t arg)
{
    return status->snapshots > arg;
}

static bool
s_cond_applied (const zraft_status_t *status, uint64_t arg)
{
    return status->applied >= arg && status->commit >= arg;
}

static bool
s_cond_installed (const zraft_status_t *status, uint64_t arg)
{
    return status->snapshots_installed > arg;
}

/* Asks every running server but skip (0: none) for a snapshot and
   waits for all. Sets fig->snapshot_take_us. Returns 0 or -1 after a
   message. */
static int
s_drill_snapshot (zb_harness_t *self, uint32_t skip, s_drill_fig_t *fig)
{
    uint64_t before [ZRAFT_NODES_MAX] = {0};
    int64_t start = zb_now_us (), done = start;
    for (uint32_t id = 1; id <= self->opts.nodes; id++) {
        zraft_status_t status;
        if (id == skip || s_drill_status (self, id, &status) != 0)
            continue;
        before [id - 1] = status.snapshots;
        int rc = zraft_snapshot (self->nodes [id - 1]);
        if (rc != 0) {
            fprintf (stderr, "zraft-bench: drill: n%u zraft_snapshot: %s\n",
                     id, zraft_strerror (rc));
            return -1;
        }
    }
    for (uint32_t id = 1; id <= self->opts.nodes && done >= 0; id++)
        if (self->nodes [id - 1] && id != skip)
            done = s_drill_until (self, id, s_cond_snapshots,
                                  before [id - 1], "took its snapshot");
    fig->snapshot_take_us = done >= 0 ? (uint64_t) (done - start) : 0;
    return done >= 0 ? 0 : -1;
}

/* The leader's commit index once every running server but skip (0:
   none) applied it. */
static int
s_drill_settle (zb_harness_t *self, uint32_t skip, uint64_t *commit)
{
    zraft_status_t leader;
    if (s_drill_status (self, self->leader, &leader) != 0)
        return -1;
    for (uint32_t id = 1; id <= self->opts.nodes; id++)
        if (self->nodes [id - 1] && id != skip
            && s_drill_until (self, id, s_cond_applied, leader.commit,
                              "applied the leader's commit index") < 0)
            return -1;
    *commit = leader.commit;
    return 0;
}

/* Syncs and drops the page cache (root only): the restarted server then
   reads its snapshot and WAL from the disk. Warns if it cannot. */
static void
s_drill_drop_caches (void)
{
    sync ();
    int fd = open ("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write (fd, "3\n", 2) == 2;
    if (fd >= 0)
        close (fd);
    if (!ok)
        fprintf (stderr, "zraft-bench: warning: cannot drop the page cache"
                 " (%s); the restart may read from memory\n",
                 strerror (errno));
}

/* The first server that is not the leader. */
static uint32_t
s_drill_follower (const zb_harness_t *self)
{
    uint32_t id = self->leader == 1 ? 2 : 1;
    assert (id != self->leader && id <= self->opts.nodes);
    return id;
}

/* Checks that server id restored a snapshot since its state machine
   had counted restores, and that its disk has not failed: a server that
   could not read its snapshot may still apply the entries after it (on
   a wrong state) and would look "serving". Returns 0 or -1 after a
   message. */
static int
s_drill_restored (zb_harness_t *self, uint32_t id, uint64_t restores)
{
    zraft_status_t status;
    if (s_drill_status (self, id, &status) != 0)
        return -1;
    bool ok = zb_server_fsm (id)->restores > restores && !status.disk_failed;
    if (!ok)
        fprintf (stderr, "zraft-bench: drill: n%u %s (see its log above)\n",
                 id, status.disk_failed ? "stopped acknowledging: disk"
                                          " failed or restore refused"
                                        : "never restored a snapshot");
    return ok ? 0 : -1;
}

/* Restart drill: snapshot, commit --drill-entries, stop a follower,
   restart it; times zraft_new and until it applied the leader's commit
   index. Returns 0 or -1 after a message. */
static int
s_drill_restart (zb_harness_t *self, s_drill_fig_t *fig)
{
    uint64_t commit = 0;
    if (s_drill_commit (self, 1000) || s_drill_snapshot (self, 0, fig)
        || s_drill_commit (self, self->opts.drill_entries)
        || s_drill_settle (self, 0, &commit))
        return -1;
    uint32_t id = s_drill_follower (self);
    zraft_status_t status;
    if (s_drill_status (self, id, &status) != 0)
        return -1;
    fig->follower = id;
    fig->snapshot_index = status.snapshot_index;
    fig->target = commit;
    zpoller_destroy (&self->poller);
    zraft_destroy (&self->nodes [id - 1]);
    zb_fsm_t *fsm = zb_server_fsm (id);    /* its applier is gone: ours now */
    uint64_t restores = fsm->restores;
    fsm->applied = fsm->bytes = fsm->sum = 0;
    if (fsm->pad_bytes)
        memset (fsm->padding, 0, fsm->pad_bytes);   /* restore must refill */
    s_drill_poller (self);
    fig->dir_bytes = zb_disk_usage (self->dirs.data [id - 1]).allocated;
    if (self->opts.drop_caches)
        s_drill_drop_caches ();
    int64_t start = zb_now_us ();
    self->nodes [id - 1] = zb_server_start (&self->opts, id, self->ports,
                                         self->dirs.data [id - 1]);
    fig->new_us = zb_now_us () - start;
    if (!self->nodes [id - 1])
        return -1;
    s_drill_poller (self);
    int64_t serving = s_drill_until (self, id, s_cond_applied, commit,
                                     "applied the leader's commit index");
    if (serving < 0 || s_drill_restored (self, id, restores))
        return -1;
    fig->serving_us = serving - start;
    fig->restore_at_us = fsm->restore_at_us - start;
    fig->restore_us = fsm->restore_us;
    return 0;
}

/* Cuts (or heals) every link of server id. Returns 0 or -1. */
static int
s_drill_cut (zb_harness_t *self, uint32_t id, bool cut)
{
    for (uint32_t peer = 1; peer <= self->opts.nodes; peer++)
        if (peer != id
            && zraft_partition (self->nodes [id - 1], peer, cut, cut) != 0) {
            fprintf (stderr, "zraft-bench: drill: cannot cut n%u\n", id);
            return -1;
        }
    return 0;
}

/* Install drill: cut a follower off, commit --drill-entries, snapshot
   every server (the leader's log then starts past the follower's), heal;
   times until the follower installed the leader's snapshot and until it
   applied the leader's commit index. Returns 0 or -1 after a message. */
static int
s_drill_install (zb_harness_t *self, s_drill_fig_t *fig)
{
    uint32_t id = s_drill_follower (self);
    zraft_status_t before, leader;
    uint64_t commit = 0;
    if (s_drill_cut (self, id, true)
        || s_drill_commit (self, self->opts.drill_entries)
        || s_drill_snapshot (self, id, fig)
        || s_drill_settle (self, id, &commit)
        || s_drill_status (self, id, &before) != 0
        || s_drill_status (self, self->leader, &leader) != 0)
        return -1;
    fig->follower = id;
    fig->snapshot_index = leader.snapshot_index;
    fig->target = commit;
    if (leader.first_index <= before.last_index + 1) {
        fprintf (stderr, "zraft-bench: drill: the leader's log (from %"
                 PRIu64 ") still holds n%u's next entry %" PRIu64 ": raise"
                 " --drill-entries\n", leader.first_index, id,
                 before.last_index + 1);
        return -1;
    }
    uint64_t restores = zb_server_fsm (id)->restores;
    int64_t start = zb_now_us ();
    if (s_drill_cut (self, id, false))
        return -1;
    int64_t installed = s_drill_until (self, id, s_cond_installed,
                                       before.snapshots_installed,
                                       "installed a snapshot");
    int64_t serving = installed < 0 ? -1
                      : s_drill_until (self, id, s_cond_applied, commit,
                                       "applied the leader's commit index");
    if (serving < 0 || s_drill_restored (self, id, restores))
        return -1;
    fig->installed_us = installed - start;
    fig->serving_us = serving - start;
    fig->dir_bytes = zb_disk_usage (self->dirs.data [id - 1]).allocated;
    return 0;
}

/* Prints what a drill measured: text, or one JSON object. */
static void
s_drill_print (const zb_opts_t *o, const s_drill_fig_t *fig)
{
    bool restart = streq (o->drill, "restart");
    double state = (double) (ZB_FSM_HEADER + o->state_bytes);
    double install_s = (double) fig->installed_us / 1e6;
    double mb_s = !restart && fig->installed_us > 0 ? state / 1e6 / install_s
                                                    : 0;
    if (o->json) {
        printf ("{\"impl\":\"zraft\",\"drill\":\"%s\",\"nodes\":%u,"
                "\"state_bytes\":%.0f,\"entries\":%" PRIu64 ",\"follower\":%u,"
                "\"snapshot_index\":%" PRIu64 ",\"target\":%" PRIu64 ","
                "\"snapshot_take_s\":%.3f,\"new_s\":%.3f,\"restore_at_s\":%.3f,"
                "\"restore_s\":%.3f,\"installed_s\":%.3f,\"serving_s\":%.3f,"
                "\"install_mb_per_s\":%.1f,\"chunk_bytes\":%u,"
                "\"drop_caches\":%s,\"dir_bytes\":%" PRIu64 "}\n",
                o->drill, o->nodes, state, o->drill_entries, fig->follower,
                fig->snapshot_index, fig->target,
                (double) fig->snapshot_take_us / 1e6,
                (double) fig->new_us / 1e6, (double) fig->restore_at_us / 1e6,
                (double) fig->restore_us / 1e6, install_s,
                (double) fig->serving_us / 1e6, mb_s,
                o->snapshot_chunk_bytes ? o->snapshot_chunk_bytes : 1u << 20,
                o->drop_caches ? "true" : "false", fig->dir_bytes);
        return;
    }
    printf ("drill %s: %u nodes, state %.0f bytes (%.1f MiB), %" PRIu64
            " entries %s, snapshot at index %" PRIu64 "\n", o->drill,
            o->nodes, state, state / 1048576.0, o->drill_entries,
            restart ? "after the snapshot" : "while a follower was cut off",
            fig->snapshot_index);
    printf ("  snapshot taken by every server in %.3f s\n",
            (double) fig->snapshot_take_us / 1e6);
    if (restart)
        printf ("  n%u restarted%s: zraft_new returned after %.3f s,"
                " restore began at %.3f s and took %.3f s,\n  applied the"
                " leader's commit index %" PRIu64 " (serving) at %.3f s;"
                " data dir %.1f MiB\n", fig->follower,
                o->drop_caches ? " (page cache dropped)" : "",
                (double) fig->new_us / 1e6, (double) fig->restore_at_us / 1e6,
                (double) fig->restore_us / 1e6, fig->target,
                (double) fig->serving_us / 1e6,
                (double) fig->dir_bytes / 1048576.0);
    else
        printf ("  n%u healed: snapshot installed after %.3f s (%.1f MB/s,"
                " %u B chunks), applied the leader's commit index %" PRIu64
                " at %.3f s\n", fig->follower, install_s, mb_s,
                o->snapshot_chunk_bytes ? o->snapshot_chunk_bytes : 1u << 20,
                fig->target, (double) fig->serving_us / 1e6);
}

/* Runs a drill in one process. Returns the exit code. */
int
zb_drill_main (zb_harness_t *self)
{
    int rc = zb_harness_start (self);
    zb_signals_block (false);
    if (rc || zb_harness_leader_find (self))
        return zb_interrupted ? ZB_EX_INTERRUPTED : 1;
    s_drill_fig_t fig;
    memset (&fig, 0, sizeof fig);
    rc = streq (self->opts.drill, "restart") ? s_drill_restart (self, &fig)
                                             : s_drill_install (self, &fig);
    if (rc != 0)
        return zb_interrupted ? ZB_EX_INTERRUPTED : 1;
    s_drill_print (&self->opts, &fig);
    fflush (stdout);
    return 0;
}

