/*  =========================================================================
    test_rng - unit tests of raft/rng: the seeded generator behind the
    randomized election timeouts (Raft §5.2)

    A simulation replays a run from its seed only if the same seed gives
    the same draws; the core draws timeouts in [ET, 2 * ET) with
    zr_rng_range, so its bounds are checked exactly.
    =========================================================================
*/
#include <check.h>
#include <signal.h>

#include "../../raft/raft.h"

#define S_DRAWS 10000

//  --------------------------------------------------------------------------
//  zr_rng_seed, zr_rng_next

/* Raft §5.2: timeouts are random, yet a run must replay from its seed, so
   two generators with the same seed give the same sequence. */
START_TEST (rng_next_same_seed_same_sequence)
{
    zr_rng_t a, b;
    zr_rng_seed (&a, 42);
    zr_rng_seed (&b, 42);
    for (int i = 0; i < S_DRAWS; i++)
        ck_assert_uint_eq (zr_rng_next (&a), zr_rng_next (&b));
}
END_TEST

/* Raft §5.2: servers seeded differently must not draw the same timeouts,
   or they would split votes forever. */
START_TEST (rng_next_different_seeds_differ)
{
    zr_rng_t a, b;
    zr_rng_seed (&a, 1);
    zr_rng_seed (&b, 2);
    int same = 0;
    for (int i = 0; i < 64; i++)
        same += zr_rng_next (&a) == zr_rng_next (&b);
    ck_assert_int_eq (same, 0);
}
END_TEST

/* Raft §5.2: seed 0 is a valid seed (xoshiro's state must never be all
   zero, which would return 0 forever). */
START_TEST (rng_seed_zero_gives_valid_state)
{
    zr_rng_t rng;
    zr_rng_seed (&rng, 0);
    ck_assert (rng.s [0] | rng.s [1] | rng.s [2] | rng.s [3]);
    uint64_t first = zr_rng_next (&rng);
    uint64_t second = zr_rng_next (&rng);
    ck_assert (first != 0 || second != 0);
    ck_assert_uint_ne (first, second);
}
END_TEST

/* Raft §5.2: reseeding restarts the sequence from the beginning. */
START_TEST (rng_seed_reseed_restarts_sequence)
{
    zr_rng_t rng;
    zr_rng_seed (&rng, 7);
    uint64_t first [8];
    for (int i = 0; i < 8; i++)
        first [i] = zr_rng_next (&rng);
    zr_rng_seed (&rng, 7);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq (zr_rng_next (&rng), first [i]);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_rng_range

/* Raft §5.2: election timeouts are drawn in [ET, 2 * ET): every draw is
   within the half-open range, and both ends are reached over many draws. */
START_TEST (rng_range_stays_within_bounds)
{
    zr_rng_t rng;
    zr_rng_seed (&rng, 1234);
    uint64_t lo = 100, hi = 200;
    uint64_t min = UINT64_MAX, max = 0;
    for (int i = 0; i < S_DRAWS; i++) {
        uint64_t v = zr_rng_range (&rng, lo, hi);
        ck_assert_uint_ge (v, lo);
        ck_assert_uint_lt (v, hi);
        if (v < min)
            min = v;
        if (v > max)
            max = v;
    }
    ck_assert_uint_eq (min, 100);
    ck_assert_uint_eq (max, 199);
}
END_TEST

/* Raft §5.2: a range of one value always returns that value. */
START_TEST (rng_range_single_value)
{
    zr_rng_t rng;
    zr_rng_seed (&rng, 99);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq (zr_rng_range (&rng, 5, 6), 5);
}
END_TEST

/* Raft §5.2: the same seed gives the same timeouts, draw for draw. */
START_TEST (rng_range_same_seed_same_draws)
{
    zr_rng_t a, b;
    zr_rng_seed (&a, 0xfeed);
    zr_rng_seed (&b, 0xfeed);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq (zr_rng_range (&a, 150, 300),
                           zr_rng_range (&b, 150, 300));
}
END_TEST

/* Raft §5.2: an empty range (hi <= lo) is a programming error: asserted. */
START_TEST (rng_range_empty_aborts)
{
    zr_rng_t rng;
    zr_rng_seed (&rng, 1);
    (void) zr_rng_range (&rng, 10, 10);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("rng");
    TCase *tc = tcase_create ("rng_next");
    tcase_add_test (tc, rng_next_same_seed_same_sequence);
    tcase_add_test (tc, rng_next_different_seeds_differ);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("rng_seed");
    tcase_add_test (tc, rng_seed_zero_gives_valid_state);
    tcase_add_test (tc, rng_seed_reseed_restarts_sequence);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("rng_range");
    tcase_add_test (tc, rng_range_stays_within_bounds);
    tcase_add_test (tc, rng_range_single_value);
    tcase_add_test (tc, rng_range_same_seed_same_draws);
    tcase_add_test_raise_signal (tc, rng_range_empty_aborts, SIGABRT);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
