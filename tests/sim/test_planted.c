/*  =========================================================================
    test_planted - the simulation's checkers can fail

    Built once per planted bug (PLANTED names it), linked with a raft/
    compiled with -DZR_PLANT_BUG_<PLANTED>: the simulation must find the
    bug within PLANTED_SEEDS_MAX seeds.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include "sim.h"

#define PLANTED_SEEDS_MAX 200

/* The planted bug breaks a checker within PLANTED_SEEDS_MAX seeds. */
START_TEST (sim_finds_planted_bug)
{
    sim_config_t config = {.fault_ms = 3000, .liveness_ms = 5000};
    for (uint64_t seed = 1; seed <= PLANTED_SEEDS_MAX; seed++) {
        config.seed = seed;
        sim_result_t result;
        if (!sim_run (&config, &result)) {
            printf ("planted %s found by seed %llu: %s\n", PLANTED,
                    (unsigned long long) seed, result.error);
            return;
        }
    }
    ck_abort_msg ("planted bug %s not found in %d seeds", PLANTED, PLANTED_SEEDS_MAX);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("planted");
    TCase *tc = tcase_create (PLANTED);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, sim_finds_planted_bug);
    suite_add_tcase (s, tc);
    return check_run (s);
}
