/*  =========================================================================
    test_sim - the deterministic simulation as part of the suite

    Runs 2,000 seeds (fault mixes and cluster sizes chosen by each seed)
    through tests/sim/sim.c and fails with the replay command of the first
    seed that breaks a checker (Figure 3's four properties, state machines
    that never go back, linearizable ReadIndex reads, liveness), and
    that followers catch up through snapshots and storage reads alike.
    Also checks that a seed replays bit for bit. Long sweeps: make sim SEEDS=N.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include "sim.h"

#define SEEDS_PER_TEST 500

static void
s_run_seeds (uint64_t first)
{
    sim_config_t config = {.fault_ms = 3000, .liveness_ms = 5000};
    uint64_t reads = 0, failed = 0, installs = 0, storage = 0, lost = 0;
    for (uint64_t seed = first; seed < first + SEEDS_PER_TEST; seed++) {
        config.seed = seed;
        sim_result_t result;
        bool ok = sim_run (&config, &result);
        ck_assert_msg (ok, "seed %llu (%s): %s\nreplay: build/tests/sim/sim_run --seed %llu",
                       (unsigned long long) seed, result.faults, result.error,
                       (unsigned long long) seed);
        ck_assert_uint_gt (result.elections, 0);
        reads += result.reads;
        failed += result.reads_failed;
        installs += result.installs;
        storage += result.storage_reads;
        lost += result.storage_lost;
    }
    /* Reads are answered, and some fail on a deposed leader. */
    ck_assert_uint_gt (reads, 10 * SEEDS_PER_TEST);
    ck_assert_uint_gt (failed, 0);
    /* Followers catch up every way (raft/core.h Invariants 13 and 15):
       snapshots, reads from storage, and reads that find storage
       compacted meanwhile. */
    ck_assert_uint_gt (installs, 0);
    ck_assert_uint_gt (storage, 0);
    ck_assert_uint_gt (lost, 0);
}

/* Figure 3's four safety properties, linearizable reads (thesis §6.4)
   and liveness, seeds 1..500. */
START_TEST (sim_seeds_1) { s_run_seeds (1); }
END_TEST
/* Seeds 501..1000. */
START_TEST (sim_seeds_2) { s_run_seeds (501); }
END_TEST
/* Seeds 1001..1500. */
START_TEST (sim_seeds_3) { s_run_seeds (1001); }
END_TEST
/* Seeds 1501..2000. */
START_TEST (sim_seeds_4) { s_run_seeds (1501); }
END_TEST

/* A seed replays bit for bit: same events, same trace digest. */
START_TEST (sim_replay_is_exact)
{
    sim_config_t config = {.seed = 4242, .fault_ms = 3000, .liveness_ms = 5000};
    sim_result_t a, b;
    ck_assert (sim_run (&config, &a));
    ck_assert (sim_run (&config, &b));
    ck_assert_uint_eq (a.events, b.events);
    ck_assert_uint_eq (a.digest, b.digest);
    ck_assert_uint_eq (a.committed, b.committed);
    config.seed = 4243;
    ck_assert (sim_run (&config, &b));
    ck_assert_uint_ne (a.digest, b.digest);
}
END_TEST

/* The workload commits entries and answers reads: the simulation is
   not vacuous. */
START_TEST (sim_commits_entries)
{
    sim_config_t config = {.seed = 7, .nodes = 3, .fault_ms = 3000, .liveness_ms = 5000};
    sim_result_t result;
    ck_assert (sim_run (&config, &result));
    ck_assert_uint_gt (result.committed, 20);
    ck_assert_uint_gt (result.reads, 20);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sim");
    TCase *tc = tcase_create ("sim");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, sim_seeds_1);
    tcase_add_test (tc, sim_seeds_2);
    tcase_add_test (tc, sim_seeds_3);
    tcase_add_test (tc, sim_seeds_4);
    tcase_add_test (tc, sim_replay_is_exact);
    tcase_add_test (tc, sim_commits_entries);
    suite_add_tcase (s, tc);
    return check_run (s);
}
