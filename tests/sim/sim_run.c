/*  =========================================================================
    sim_run - runs the deterministic simulation over a range of seeds

    Usage: sim_run [--seed S] [--seeds N] [--nodes N] [--trace]
    Prints one line per failing seed with the exact command that replays
    it, and a summary with seeds and events per second.
    =========================================================================
*/
#include <time.h>
#include "sim.h"

int
main (int argc, char **argv)
{
    sim_config_t config = {.fault_ms = 3000, .liveness_ms = 5000};
    uint64_t first = 1, count = 1000;
    bool seed_given = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv [i], "--seed") && i + 1 < argc) {
            first = strtoull (argv [++i], NULL, 10);
            seed_given = true;
        }
        else if (!strcmp (argv [i], "--seeds") && i + 1 < argc)
            count = strtoull (argv [++i], NULL, 10);
        else if (!strcmp (argv [i], "--nodes") && i + 1 < argc)
            config.nodes = (uint32_t) strtoul (argv [++i], NULL, 10);
        else if (!strcmp (argv [i], "--trace"))
            config.trace = true;
        else {
            fprintf (stderr, "usage: sim_run [--seed S] [--seeds N] [--nodes 3|5|7] [--trace]\n");
            return 64;
        }
    }
    if (seed_given && count == 1000)
        count = 1;
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    uint64_t failed = 0, events = 0;
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
            printf ("ok seed=%llu (%s) events=%llu committed=%llu elections=%llu digest=%016llx\n",
                    (unsigned long long) seed, result.faults,
                    (unsigned long long) result.events, (unsigned long long) result.committed,
                    (unsigned long long) result.elections, (unsigned long long) result.digest);
        events += result.events;
    }
    clock_gettime (CLOCK_MONOTONIC, &t1);
    double secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf ("%llu seeds, %llu failed, %llu events in %.1f s (%.0f seeds/s, %.0f events/s)\n",
            (unsigned long long) count, (unsigned long long) failed,
            (unsigned long long) events, secs, (double) count / secs, (double) events / secs);
    return failed ? 1 : 0;
}
