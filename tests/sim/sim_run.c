/*  =========================================================================
    sim_run - runs the deterministic simulation over a range of seeds

    Usage: sim_run [--seed S] [--seeds N] [--nodes 3|5|7] [--trace]
    --seed S alone replays seed S (the command a failure prints); with
    --seeds N it runs seeds S .. S+N-1. A bad flag or number exits 64.
    Prints one line per failing seed with the exact command that replays
    it, and a summary with seeds and events per second.
    =========================================================================
*/
#include <errno.h>
#include <time.h>
#include "sim.h"

/* Parses a whole decimal number in [min, max] into *value; false if not. */
static bool
s_number (const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || end == text || *end || text [0] == '-' || v < min || v > max)
        return false;
    *value = v;
    return true;
}

int
main (int argc, char **argv)
{
    sim_config_t config = {.fault_ms = 3000, .liveness_ms = 5000};
    uint64_t first = 1, count = 1000, nodes = 0;
    bool seed_given = false, count_given = false, ok = true;
    for (int i = 1; ok && i < argc; i++) {
        bool more = i + 1 < argc;
        if (!strcmp (argv [i], "--seed") && more) {
            ok = s_number (argv [++i], 0, UINT64_MAX / 2, &first);
            seed_given = true;
        }
        else if (!strcmp (argv [i], "--seeds") && more) {
            ok = s_number (argv [++i], 1, UINT64_MAX / 2, &count);
            count_given = true;
        }
        else if (!strcmp (argv [i], "--nodes") && more) {
            ok = s_number (argv [++i], 3, 7, &nodes) && nodes % 2 == 1;
            config.nodes = (uint32_t) nodes;
        }
        else if (!strcmp (argv [i], "--trace"))
            config.trace = true;
        else
            ok = false;
    }
    if (!ok) {
        fprintf (stderr, "usage: sim_run [--seed S] [--seeds N>=1] [--nodes 3|5|7] [--trace]\n"
                 "  --seed S alone replays seed S; with --seeds N, runs S..S+N-1\n");
        return 64;
    }
    if (seed_given && !count_given)
        count = 1;                      /* the replay command: one seed */
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    uint64_t failed = 0, events = 0, reads = 0, installs = 0, storage = 0, lost = 0;
    for (uint64_t seed = first; seed < first + count; seed++) {
        config.seed = seed;
        sim_result_t result;
        if (!sim_run (&config, &result)) {
            failed++;
            printf ("FAIL seed=%llu (%s): %s\n  replay: %s --seed %llu%s%s\n",
                    (unsigned long long) seed, result.faults, result.error, argv [0],
                    (unsigned long long) seed, config.nodes ? " --nodes " : "",
                    config.nodes ? (config.nodes == 3 ? "3" : config.nodes == 5 ? "5" : "7") : "");
        }
        else
        if (count == 1)
            printf ("ok seed=%llu (%s) events=%llu committed=%llu elections=%llu "
                    "reads=%llu reads_failed=%llu installs=%llu storage_reads=%llu "
                    "storage_lost=%llu digest=%016llx\n",
                    (unsigned long long) seed, result.faults,
                    (unsigned long long) result.events, (unsigned long long) result.committed,
                    (unsigned long long) result.elections, (unsigned long long) result.reads,
                    (unsigned long long) result.reads_failed,
                    (unsigned long long) result.installs,
                    (unsigned long long) result.storage_reads,
                    (unsigned long long) result.storage_lost,
                    (unsigned long long) result.digest);
        events += result.events;
        reads += result.reads;
        installs += result.installs;
        storage += result.storage_reads;
        lost += result.storage_lost;
    }
    clock_gettime (CLOCK_MONOTONIC, &t1);
    double secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf ("%llu seeds, %llu failed, %llu events, %llu reads, %llu installs, "
            "%llu storage reads (%llu lost) in %.1f s (%.0f seeds/s, %.0f events/s)\n",
            (unsigned long long) count, (unsigned long long) failed,
            (unsigned long long) events, (unsigned long long) reads,
            (unsigned long long) installs, (unsigned long long) storage,
            (unsigned long long) lost, secs,
            (double) count / secs, (double) events / secs);
    return failed ? 1 : 0;
}
