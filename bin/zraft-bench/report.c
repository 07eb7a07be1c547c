/*  =========================================================================
    report - what a run shows: the progress line and the report

    The progress line on stderr (when it is a terminal) and the report on
    stdout, in the style of etcd's benchmark: summary, latency histogram
    and percentiles, then what explains the figure per server, and the
    memory and disk samples; or one JSON object (--json) with exactly the
    keys the bench/ scripts parse. Both run modes fill the same zb_result_t.
    =========================================================================
*/
#include "bench.h"
#include "report.h"

#define S_PROGRESS_US 1000000           /* progress line period */
#define S_BARS 10                       /* histogram bars, as etcd */
#define S_BAR_WIDTH 40                  /* characters of the longest bar */

void
zb_progress_init (zb_progress_t *self)
{
    memset (self, 0, sizeof *self);
    self->on = isatty (STDERR_FILENO) == 1;
    self->last_us = zb_now_us ();
    self->next_us = self->last_us + S_PROGRESS_US;
}

/* Redraws, about every second, the entries/s of the last second from
   done (completions so far), and where the run stands. */
void
zb_progress_tick (zb_progress_t *self, int64_t now, uint64_t done,
                 int64_t measure_us, uint32_t duration_s)
{
    if (!self->on || now < self->next_us)
        return;
    double seconds = (double) (now - self->last_us) / 1e6;
    double eps = (double) (done - self->last_done) / seconds;
    if (measure_us && now >= measure_us)
        fprintf (stderr, "\r\033[Kzraft-bench: measuring %.0f/%u s,"
                 " %.0f entries/s", (double) (now - measure_us) / 1e6,
                 duration_s, eps);
    else
        fprintf (stderr, "\r\033[Kzraft-bench: warming up, %.0f entries/s",
                 eps);
    fflush (stderr);
    self->shown = true;
    self->last_us = now;
    self->last_done = done;
    self->next_us = now + S_PROGRESS_US;
}

void
zb_progress_clear (zb_progress_t *self)
{
    if (self->shown)
        fputs ("\r\033[K", stderr);
    fflush (stderr);
    self->shown = false;
}

void
zb_node_fig_set (zb_node_fig_t *fig, const zraft_status_t *a,
                const zraft_status_t *b, int64_t cpu_us, int64_t rss_kib)
{
    fig->syncs = b->wal_syncs - a->wal_syncs;
    fig->wal_entries = b->wal_entries - a->wal_entries;
    fig->appends = b->appends_out - a->appends_out;
    fig->entries_out = b->entries_out - a->entries_out;
    fig->bytes_out = b->bytes_out - a->bytes_out;
    fig->cpu_us = cpu_us;
    fig->rss_kib = rss_kib;
    fig->fault_dropped = b->fault_dropped - a->fault_dropped;
    fig->fault_delayed = b->fault_delayed - a->fault_delayed;
    fig->fault_duplicated = b->fault_duplicated - a->fault_duplicated;
    fig->snapshot_index = b->snapshot_index;
}

/* Writes num / den with two decimals, or "-" (text) / null (JSON). */
static void
s_ratio (char *buf, size_t size, double num, double den, bool json)
{
    if (den <= 0)
        snprintf (buf, size, "%s", json ? "null" : "-");
    else
        snprintf (buf, size, "%.2f", num / den);
}

static double
s_ms (uint64_t us)
{
    return (double) us / 1000.0;
}

/* Prints etcd's "Response time histogram": S_BARS + 1 lines from the
   fastest to the slowest, each counting the latencies above the previous
   line's value and up to its own (to the histogram's resolution). */
static void
s_print_bars (const zr_histogram_t *hist)
{
    uint64_t lo = zr_histogram_min (hist), hi = zr_histogram_max (hist);
    uint64_t counts [S_BARS + 1], peak = 0, below = 0;
    for (int i = 0; i <= S_BARS; i++) {
        uint64_t edge = lo + (hi - lo) * (uint64_t) i / S_BARS;
        uint64_t upto = i == S_BARS ? zr_histogram_count (hist)
                                    : zr_histogram_count_upto (hist, edge);
        counts [i] = upto > below ? upto - below : 0;
        below = upto > below ? upto : below;
        peak = counts [i] > peak ? counts [i] : peak;
    }
    printf ("\nResponse time histogram (ms):\n");
    for (int i = 0; i <= S_BARS; i++) {
        uint64_t edge = lo + (hi - lo) * (uint64_t) i / S_BARS;
        char bar [S_BAR_WIDTH + 1];
        size_t width = peak ? (size_t) (counts [i] * S_BAR_WIDTH / peak) : 0;
        memset (bar, '#', width);
        bar [width] = 0;
        printf ("  %10.4f [%" PRIu64 "]\t|%s\n", s_ms (edge), counts [i], bar);
    }
}

static void
s_print_latency (const zr_histogram_t *hist)
{
    static const double ps [] = {10, 25, 50, 75, 90, 95, 99, 99.9};
    printf ("\nLatency distribution:\n");
    for (size_t i = 0; i < sizeof ps / sizeof ps [0]; i++)
        printf ("  %g%% in %.4f ms.\n", ps [i],
                s_ms (zr_histogram_value_at_percentile (hist, ps [i])));
    printf ("  max in %.4f ms.\n", s_ms (zr_histogram_max (hist)));
}

static void
s_print_summary (const zb_opts_t *o, const zb_result_t *r)
{
    const zr_histogram_t *h = r->hist;
    double eps = r->seconds > 0 ? (double) r->committed / r->seconds : 0;
    printf ("Summary:\n");
    printf ("  Total:\t%.4f secs.\n", r->seconds);
    if (zr_histogram_count (h)) {
        printf ("  Slowest:\t%.4f ms.\n", s_ms (zr_histogram_max (h)));
        printf ("  Fastest:\t%.4f ms.\n", s_ms (zr_histogram_min (h)));
        printf ("  Average:\t%.4f ms.\n", zr_histogram_mean (h) / 1000);
        printf ("  Stddev:\t%.4f ms.\n", zr_histogram_stddev (h) / 1000);
    }
    printf ("  Requests/sec:\t%.1f (committed entries/s)\n", eps);
    printf ("  MB/s:\t\t%.3f (payload, 1 MB = 10^6 B)\n",
            eps * o->entry_size / 1e6);
    if (zr_histogram_count (h)) {
        s_print_bars (h);
        s_print_latency (h);
    }
    else
        printf ("\nNo latency samples: nothing committed in the window.\n");
}

/* Prints the run's shape and what explains the figure, per server. */
static void
s_print_explain (const zb_opts_t *o, const zb_result_t *r)
{
    printf ("\nSetup: %u nodes (%s), fsync on, ", o->nodes,
            r->procs ? "zraft-node processes" : "threads of one process");
    if (o->rate)
        printf ("open loop %" PRIu64 "/s", o->rate);
    else
    if (r->procs)
        printf ("closed loop, %u PUTs in flight over %u client connections"
                " to the leader", o->inflight, r->clients);
    else
        printf ("closed loop, %u in flight", o->inflight);
    printf (", %u B %s, window %u, batch %" PRIu64 " B, ", o->entry_size,
            r->procs ? "values" : "entries", o->window, o->batch_bytes);
    if (zb_opts_faults_on (o))
        printf ("every link: drop %g%%, delay %u ms + [0, %u) ms jitter\n",
                (double) o->drop_ppm / (ZB_PPM / 100), o->delay_ms,
                o->jitter_ms);
    else
        printf ("no faults\n");
    printf ("Leader: n%u, term %" PRIu64 "; %u leader changes, %" PRIu64
            " proposals lost; %" PRIu64 " committed, peak %" PRIu64
            " pending\n", r->leader, r->term, r->leader_changes, r->lost,
            r->committed, r->outstanding_peak);
    if (r->procs)
        printf ("Requests: %" PRIu64 " failed, %" PRIu64 " BUSY answers"
                " retried\n", r->errors, r->busy);
    if (zb_opts_faults_on (o) && r->counters) {
        uint64_t dropped = 0, delayed = 0, duplicated = 0;
        for (uint32_t i = 0; i < o->nodes; i++) {
            dropped += r->nodes [i].fault_dropped;
            delayed += r->nodes [i].fault_delayed;
            duplicated += r->nodes [i].fault_duplicated;
        }
        printf ("Faults: the filters dropped %" PRIu64 " and delayed %"
                PRIu64 " messages in the window (%" PRIu64 " duplicated),"
                " all nodes\n", dropped, delayed, duplicated);
    }
    else
    if (zb_opts_faults_on (o))
        printf ("Faults: set by a FAULT request on every link; zraft-node"
                " does not count what its filters dropped or delayed\n");
    if (o->rate && r->cap_hits)
        printf ("Open loop: the cap of %u outstanding was hit %" PRIu64
                " times (due proposals waited, timed from their intended"
                " times)\n", ZB_OUTSTANDING_MAX, r->cap_hits);
    printf ("\nPer node, measured window (appends include heartbeats):\n");
    printf ("  node  fsyncs/s  entries/fsync  appends_out  entries/append"
            "  bytes/append   cpu_s  rss_peak_MiB  snapshot\n");
    for (uint32_t i = 0; i < o->nodes; i++) {
        const zb_node_fig_t *f = &r->nodes [i];
        char syncs [32] = "-", per_sync [32] = "-", appends [32] = "-";
        char per_append [32] = "-", bytes [32] = "-";
        if (r->counters) {
            snprintf (syncs, sizeof syncs, "%.1f",
                      (double) f->syncs / r->seconds);
            snprintf (appends, sizeof appends, "%" PRIu64, f->appends);
            s_ratio (per_sync, sizeof per_sync, (double) f->wal_entries,
                     (double) f->syncs, false);
            s_ratio (per_append, sizeof per_append, (double) f->entries_out,
                     (double) f->appends, false);
            s_ratio (bytes, sizeof bytes, (double) f->bytes_out,
                     (double) f->appends, false);
        }
        printf ("  n%u%s %9s %14s %12s %15s %13s %7.2f %13.1f %9" PRIu64
                "\n", i + 1, i + 1 == r->leader ? "*" : " ", syncs, per_sync,
                appends, per_append, bytes, (double) f->cpu_us / 1e6,
                (double) f->rss_kib / 1024.0, f->snapshot_index);
    }
    printf ("  (* leader; bytes/append is every byte sent over appends_out;"
            " %s)\n", r->procs ? "zraft-node reports no WAL or append"
                                 " counters; cpu_s and rss are each node"
                                 " process's, the load runs in this one"
                               : "cpu_s and rss are the whole process's:"
                                 " all nodes and the load");
}

static double
s_mib (uint64_t bytes)
{
    return (double) bytes / 1048576.0;
}

/* Prints per node what the RSS and disk samples add up to, and the most
   any node's RSS grew after the first minute. Nothing if none taken. */
static void
s_print_memory (const zb_opts_t *o, const zb_samples_t *samples)
{
    if (samples->count == 0)
        return;
    printf ("\nMemory and disk per node, sampled every %u s from the start"
            " of the load\n(rss: %s):\n", o->sample_interval_s,
            samples->per_process ? "each node's own process"
            : "the whole process, the same for every node");
    printf ("  node  rss_peak_MiB  rss_60s_MiB  rss_last_MiB  MiB/min_after"
            "_60s  disk_MiB  apparent_MiB   committed\n");
    for (uint32_t id = 1; id <= o->nodes; id++) {
        zb_node_mem_t m = zb_samples_node (samples, id);
        char at_60 [32] = "-", per_min [32] = "-";
        if (m.minute) {
            snprintf (at_60, sizeof at_60, "%.1f", s_mib (m.rss_at_60));
            snprintf (per_min, sizeof per_min, "%.1f",
                      (double) m.growth_per_min / 1048576.0);
        }
        printf ("  n%-3u %13.1f %12s %13.1f %18s %9.1f %13.1f %11" PRIu64
                "\n", id, s_mib (m.rss_peak), at_60, s_mib (m.rss_last),
                per_min, s_mib (m.disk_last), s_mib (m.disk_apparent_last),
                m.committed_last);
    }
    uint32_t node = 0;
    int64_t most = zb_samples_growth_max (samples, &node);
    if (node)
        printf ("  RSS growth after the first minute (last - at 60 s), most"
                " of any node: %.1f MiB (n%u)\n", (double) most / 1048576.0,
                node);
    else
        printf ("  RSS growth after the first minute: - (no sample at or"
                " after %d s)\n", ZB_FIRST_MINUTE_S);
}

/* Writes a latency in ms for JSON, or null without samples. */
static void
s_json_ms (char *buf, size_t size, const zr_histogram_t *h, double us)
{
    if (zr_histogram_count (h))
        snprintf (buf, size, "%.3f", us / 1000.0);
    else
        snprintf (buf, size, "null");
}

static void
s_print_json_node (const zb_result_t *r, uint32_t i)
{
    const zb_node_fig_t *f = &r->nodes [i];
    char syncs [32] = "null", per_sync [32] = "null", appends [32] = "null";
    char per_append [32] = "null", bytes [32] = "null";
    if (r->counters) {
        snprintf (syncs, sizeof syncs, "%.1f", (double) f->syncs / r->seconds);
        snprintf (appends, sizeof appends, "%" PRIu64, f->appends);
        s_ratio (per_sync, sizeof per_sync, (double) f->wal_entries,
                 (double) f->syncs, true);
        s_ratio (per_append, sizeof per_append, (double) f->entries_out,
                 (double) f->appends, true);
        s_ratio (bytes, sizeof bytes, (double) f->bytes_out,
                 (double) f->appends, true);
    }
    printf ("%s{\"id\":%u,\"fsyncs_per_s\":%s,\"entries_per_fsync\":%s,"
            "\"appends_out\":%s,\"entries_per_append\":%s,"
            "\"bytes_per_append\":%s,\"cpu_s\":%.3f,\"rss_peak_mib\":%.1f,"
            "\"snapshot_index\":%" PRIu64 "}", i ? "," : "", i + 1, syncs,
            per_sync, appends, per_append, bytes, (double) f->cpu_us / 1e6,
            (double) f->rss_kib / 1024.0, f->snapshot_index);
}

/* Writes, for JSON, a number of bytes that holds only if `holds`. */
static void
s_json_bytes (char *buf, size_t size, bool holds, int64_t bytes)
{
    if (holds)
        snprintf (buf, size, "%" PRId64, bytes);
    else
        snprintf (buf, size, "null");
}

static void
s_print_json_mem_node (const zb_samples_t *samples, uint32_t id)
{
    zb_node_mem_t m = zb_samples_node (samples, id);
    char at_60 [32], growth [32], per_min [32];
    s_json_bytes (at_60, sizeof at_60, m.minute, (int64_t) m.rss_at_60);
    s_json_bytes (growth, sizeof growth, m.minute, m.growth);
    s_json_bytes (per_min, sizeof per_min, m.minute, m.growth_per_min);
    printf ("%s{\"id\":%u,\"rss_peak_bytes\":%" PRIu64 ",\"rss_last_bytes\":"
            "%" PRIu64 ",\"rss_at_60s_bytes\":%s,\"rss_growth_after_60s_bytes"
            "\":%s,\"rss_growth_per_min_bytes\":%s,\"disk_last_bytes\":%"
            PRIu64 ",\"disk_apparent_last_bytes\":%" PRIu64 ","
            "\"committed_last\":%" PRIu64 "}", id > 1 ? "," : "", id,
            m.rss_peak, m.rss_last, at_60, growth, per_min, m.disk_last,
            m.disk_apparent_last, m.committed_last);
}

/* Writes the keys sample_interval_s, memory (null if no sample was
   taken) and samples, each after a comma. */
static void
s_print_json_memory (const zb_opts_t *o, const zb_samples_t *samples)
{
    printf (",\"sample_interval_s\":%u,\"memory\":", o->sample_interval_s);
    if (samples->count == 0)
        printf ("null");
    else {
        printf ("{\"rss_of\":\"%s\",\"per_node\":[", samples->per_process
                ? "node process" : "whole process");
        for (uint32_t id = 1; id <= o->nodes; id++)
            s_print_json_mem_node (samples, id);
        uint32_t node = 0;
        int64_t most = zb_samples_growth_max (samples, &node);
        char buf [32];
        s_json_bytes (buf, sizeof buf, node != 0, most);
        printf ("],\"rss_growth_after_60s_max_bytes\":%s}", buf);
    }
    printf (",\"samples\":[");
    for (size_t i = 0; i < samples->count; i++) {
        const zb_sample_t *s = &samples->samples [i];
        printf ("%s{\"t_s\":%.3f,\"node\":%u,\"rss_bytes\":%" PRIu64
                ",\"disk_bytes\":%" PRIu64 ",\"disk_apparent_bytes\":%" PRIu64
                ",\"committed\":%" PRIu64 "}", i ? "," : "",
                (double) s->t_us / 1e6, s->node, s->rss_bytes, s->disk_bytes,
                s->disk_apparent_bytes, s->committed);
    }
    printf ("]");
}

/* Prints exactly the keys another engineer's compare script parses. */
static void
s_print_json (const zb_opts_t *o, const zb_result_t *r)
{
    const zr_histogram_t *h = r->hist;
    double eps = r->seconds > 0 ? (double) r->committed / r->seconds : 0;
    printf ("{\"impl\":\"zraft\",\"nodes\":%u,\"procs\":%s,\"inflight\":%u,"
            "\"rate\":%" PRIu64 ",\"window\":%u,\"entry_size\":%u,"
            "\"duration_s\":%.3f,\"entries\":%" PRIu64 ",\"entries_per_s\":"
            "%.1f,\"mb_per_s\":%.3f,", o->nodes, r->procs ? "true" : "false",
            o->rate ? 0 : o->inflight, o->rate, o->window, o->entry_size,
            r->seconds, r->committed, eps, eps * o->entry_size / 1e6);
    char v [8][32];
    s_json_ms (v [0], 32, h, (double) zr_histogram_min (h));
    s_json_ms (v [1], 32, h, (double) zr_histogram_value_at_percentile (h, 50));
    s_json_ms (v [2], 32, h, (double) zr_histogram_value_at_percentile (h, 90));
    s_json_ms (v [3], 32, h, (double) zr_histogram_value_at_percentile (h, 99));
    s_json_ms (v [4], 32, h,
               (double) zr_histogram_value_at_percentile (h, 99.9));
    s_json_ms (v [5], 32, h, (double) zr_histogram_max (h));
    s_json_ms (v [6], 32, h, zr_histogram_mean (h));
    s_json_ms (v [7], 32, h, zr_histogram_stddev (h));
    printf ("\"latency_ms\":{\"min\":%s,\"p50\":%s,\"p90\":%s,\"p99\":%s,"
            "\"p999\":%s,\"max\":%s,\"avg\":%s,\"stddev\":%s},\"per_node\":[",
            v [0], v [1], v [2], v [3], v [4], v [5], v [6], v [7]);
    for (uint32_t i = 0; i < o->nodes; i++)
        s_print_json_node (r, i);
    printf ("],\"leader_changes\":%u,\"lost\":%" PRIu64 ",\"drop_pct\":%g,"
            "\"delay_ms\":%u,\"jitter_ms\":%u", r->leader_changes, r->lost,
            (double) o->drop_ppm / (ZB_PPM / 100), o->delay_ms, o->jitter_ms);
    printf (",\"server\":\"%s\",\"ops\":%" PRIu64 ",\"clients\":%u,"
            "\"verified\":%s,\"errors\":%" PRIu64 ",\"busy\":%" PRIu64,
            r->procs ? "zraft-node" : "in-process", r->committed, r->clients,
            r->verified ? "true" : "false", r->errors, r->busy);
    s_print_json_memory (o, r->samples);
    printf ("}\n");
    fflush (stdout);
}

/* Reports the samples of a run that --rss-max or --disk-max stopped:
   the memory table, or a JSON object with "error" and the memory keys. */
void
zb_print_stopped (const zb_opts_t *o, const zb_samples_t *samples)
{
    assert (samples->over);
    if (o->json) {
        printf ("{\"impl\":\"zraft\",\"nodes\":%u,\"procs\":%s,"
                "\"inflight\":%u,\"rate\":%" PRIu64 ",\"error\":\"%s\","
                "\"rss_max_mib\":%u,\"disk_max_mib\":%u", o->nodes,
                o->procs ? "true" : "false", o->rate ? 0 : o->inflight,
                o->rate, samples->over_what, o->rss_max_mib,
                o->disk_max_mib);
        s_print_json_memory (o, samples);
        printf ("}\n");
    }
    else
        s_print_memory (o, samples);
    fflush (stdout);
}

void
zb_print (const zb_opts_t *o, const zb_result_t *r)
{
    assert (r->seconds > 0);
    if (o->json)
        s_print_json (o, r);
    else {
        s_print_summary (o, r);
        s_print_explain (o, r);
        s_print_memory (o, r->samples);
        fflush (stdout);
    }
}

