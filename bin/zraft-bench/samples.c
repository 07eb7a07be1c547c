/*  =========================================================================
    samples - RSS and disk use per node over a run

    Every --sample-interval seconds from the start of the load, and at
    its nominal end, each node is sampled: its RSS (VmRSS of its own
    process with --procs; in-process, the whole process's), the disk use
    of its data dir and its commit index. Samples live in one array sized
    for the run at start, so their memory is bounded; a sample above
    --rss-max or --disk-max is noted, and the caller stops the run.
    =========================================================================
*/
#include "bench.h"
#include "samples.h"

#define S_DISK_DEPTH_MAX 4              /* dir levels walked for disk use */
#define S_DISK_FILES_MAX 1000000u       /* entries stat'ed per data dir walk */

/* Resident set of process pid (0: this process) from the VmRSS line of
   /proc/<pid>/status, bytes; 0 if it cannot be read (the process is gone,
   or no /proc). */
/* The "key: N kB" line of /proc/<pid>/status (pid 0: self), bytes; 0
   if it cannot be read. */
static uint64_t
s_status_bytes (pid_t pid, const char *key)
{
    char path [64];
    if (pid)
        snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    else
        snprintf (path, sizeof path, "/proc/self/status");
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;
    char line [256];
    unsigned long long kib = 0;
    bool found = false;
    while (!found && fgets (line, sizeof line, file))
        found = strncmp (line, key, strlen (key)) == 0
                && sscanf (line + strlen (key), ": %llu kB", &kib) == 1;
    fclose (file);
    return found ? (uint64_t) kib * 1024 : 0;
}

uint64_t
zb_rss_bytes (pid_t pid)
{
    return s_status_bytes (pid, "VmRSS");
}

uint64_t
zb_hwm_bytes (pid_t pid)
{
    return s_status_bytes (pid, "VmHWM");
}

uint64_t
zb_anon_bytes (pid_t pid)
{
    return s_status_bytes (pid, "RssAnon");
}

/* Adds the regular files under the directory open as fd (taken: closed
   here), depth levels down at most, to *disk. Entries that vanish while
   we look (a segment deleted by compaction) are skipped. */
static void
s_disk_walk (int fd, int depth, zb_disk_t *disk)
{
    assert (fd >= 0 && depth >= 0);
    DIR *dir = fdopendir (fd);
    if (!dir) {
        close (fd);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir (dir)) && disk->entries < S_DISK_FILES_MAX) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, ".."))
            continue;
        struct stat st;
        disk->entries++;
        if (fstatat (fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISREG (st.st_mode)) {
            disk->allocated += (uint64_t) st.st_blocks * 512;
            disk->apparent += (uint64_t) st.st_size;
        }
        else
        if (S_ISDIR (st.st_mode) && depth > 0) {
            int sub = openat (fd, entry->d_name,
                              O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub >= 0)
                s_disk_walk (sub, depth - 1, disk);
        }
    }
    closedir (dir);                     /* closes fd too */
}

/* Returns the disk use of the files under path (zeros if it is gone). */
zb_disk_t
zb_disk_usage (const char *path)
{
    zb_disk_t disk = {0, 0, 0};
    int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        s_disk_walk (fd, S_DISK_DEPTH_MAX, &disk);
    assert (disk.entries <= S_DISK_FILES_MAX);
    return disk;
}

void
zb_samples_destroy (zb_samples_t **self_p)
{
    assert (self_p);
    zb_samples_t *self = *self_p;
    if (!self)
        return;
    free (self->samples);
    free (self);
    *self_p = NULL;
}

/* Returns the samples of a run with opts (sampling off if its interval
   is 0), or NULL if out of memory. */
zb_samples_t *
zb_samples_new (const zb_opts_t *opts, bool per_process)
{
    zb_samples_t *self = (zb_samples_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->nodes = opts->nodes;
    self->per_process = per_process;
    self->print = !opts->json;
    self->rss_max = (uint64_t) opts->rss_max_mib << 20;
    self->disk_max = (uint64_t) opts->disk_max_mib << 20;
    self->interval_us = 1000000 * (int64_t) opts->sample_interval_s;
    self->done = self->interval_us == 0;
    if (self->done)
        return self;
    uint64_t ticks = ((uint64_t) opts->warmup_s + opts->duration_s)
                     / opts->sample_interval_s + 2;
    self->capacity = (size_t) (ticks * opts->nodes);
    self->samples = (zb_sample_t *) calloc (self->capacity,
                                           sizeof (zb_sample_t));
    if (!self->samples)
        zb_samples_destroy (&self);
    return self;
}

/* Starts the schedule: the load began at t0_us and runs seconds. */
void
zb_samples_start (zb_samples_t *self, int64_t t0_us, uint32_t seconds)
{
    assert (t0_us > 0 && self->t0_us == 0);
    self->t0_us = t0_us;
    self->end_us = t0_us + 1000000 * (int64_t) seconds;
    self->next_us = t0_us;
}

/* True if every node is to be sampled now. */
bool
zb_samples_due (const zb_samples_t *self, int64_t now)
{
    return !self->done && self->t0_us && now >= self->next_us;
}

/* Notes the first sample above --rss-max or --disk-max, with a message
   on stderr: the caller then stops the run. */
static void
s_samples_check (zb_samples_t *self, const zb_sample_t *sample)
{
    bool rss = self->rss_max && sample->rss_bytes > self->rss_max;
    bool disk = self->disk_max && sample->disk_bytes > self->disk_max;
    if (self->over || (!rss && !disk))
        return;
    self->over = sample->node;
    self->over_what = rss ? "rss_max" : "disk_max";
    fprintf (stderr, "zraft-bench: the %s of n%u, %.1f MiB at t=%.1f s, is"
             " above --%s-max %" PRIu64 " MiB: run stopped\n",
             rss ? "RSS of the process" : "disk use of the data dir",
             sample->node, (double) (rss ? sample->rss_bytes
                                         : sample->disk_bytes) / 1048576.0,
             (double) sample->t_us / 1e6, rss ? "rss" : "disk",
             (rss ? self->rss_max : self->disk_max) >> 20);
    assert (self->over_what);
}

/* Records node's figures at now, and prints them unless --json. */
void
zb_samples_add (zb_samples_t *self, int64_t now, uint32_t node,
               uint64_t rss_bytes, zb_disk_t disk, uint64_t committed)
{
    assert (self->count < self->capacity);
    assert (node >= 1 && node <= self->nodes);
    zb_sample_t *sample = &self->samples [self->count++];
    *sample = (zb_sample_t) {now - self->t0_us, node, rss_bytes,
                            disk.allocated, disk.apparent, committed};
    s_samples_check (self, sample);
    if (!self->print)
        return;
    if (self->count == 1)
        printf ("Memory and disk every %" PRId64 " s (rss: %s):\n",
                self->interval_us / 1000000,
                self->per_process ? "each node's own process"
                : "the whole process, shared by every node's threads");
    printf ("sample t=%7.1f s n%u rss %8.1f MiB disk %9.1f MiB (apparent"
            " %9.1f MiB) committed %" PRIu64 "\n",
            (double) sample->t_us / 1e6, node,
            (double) rss_bytes / 1048576.0,
            (double) disk.allocated / 1048576.0,
            (double) disk.apparent / 1048576.0, committed);
    if (node == self->nodes)
        fflush (stdout);
}

/* Ends the tick taken at now (every node added): the next one is the
   next multiple of the interval after now (a late tick, behind a leader
   election, is not repeated), or the end; after the end, none. */
void
zb_samples_tick (zb_samples_t *self, int64_t now)
{
    assert (self->count % self->nodes == 0);
    assert (now >= self->next_us);
    if (self->next_us >= self->end_us) {
        self->done = true;
        return;
    }
    self->ticks = (uint64_t) ((now - self->t0_us) / self->interval_us) + 1;
    self->next_us = self->t0_us + (int64_t) self->ticks * self->interval_us;
    if (self->next_us > self->end_us)
        self->next_us = self->end_us;
}

/* Sums up node's samples (all zero if it has none). */
zb_node_mem_t
zb_samples_node (const zb_samples_t *self, uint32_t node)
{
    assert (node >= 1 && node <= self->nodes);
    zb_node_mem_t m;
    memset (&m, 0, sizeof m);
    const zb_sample_t *at_60 = NULL, *last = NULL;
    for (size_t i = 0; i < self->count; i++) {
        const zb_sample_t *s = &self->samples [i];
        if (s->node != node)
            continue;
        m.rss_peak = s->rss_bytes > m.rss_peak ? s->rss_bytes : m.rss_peak;
        if (!at_60 && s->t_us >= 1000000 * (int64_t) ZB_FIRST_MINUTE_S)
            at_60 = s;
        last = s;
    }
    if (!last)
        return m;
    m.rss_last = last->rss_bytes;
    m.disk_last = last->disk_bytes;
    m.disk_apparent_last = last->disk_apparent_bytes;
    m.committed_last = last->committed;
    m.minute = at_60 != NULL;
    if (!m.minute)
        return m;
    m.rss_at_60 = at_60->rss_bytes;
    m.growth = (int64_t) last->rss_bytes - (int64_t) at_60->rss_bytes;
    int64_t span_us = last->t_us - at_60->t_us;
    m.growth_per_min = span_us > 0 ? (int64_t) ((double) m.growth * 60e6
                                                / (double) span_us) : 0;
    return m;
}

/* Returns the most any node's RSS grew after the first minute, and its
   id in *node; *node is 0 if no node was sampled that late. */
int64_t
zb_samples_growth_max (const zb_samples_t *self, uint32_t *node)
{
    int64_t most = 0;
    *node = 0;
    for (uint32_t id = 1; id <= self->nodes; id++) {
        zb_node_mem_t m = zb_samples_node (self, id);
        if (m.minute && (*node == 0 || m.growth > most)) {
            most = m.growth;
            *node = id;
        }
    }
    return most;
}

