/*  =========================================================================
    lab - what the lab suites share (test_lab.c, parts A to C, and
    test_snapshot.c, part D): the lab's time unit and Check timeouts, a
    test's own seeded random choices, and server arithmetic

    The lab's constants and rules are in ../shared/LAB-TESTS.md section 1.
    =========================================================================
*/
#ifndef ZR_TEST_LAB_H_INCLUDED
#define ZR_TEST_LAB_H_INCLUDED

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cluster.h"

/* The lab's RaftElectionTimeout (1 s): "long enough for an election",
   about three of our minimum election timeouts (300 ms, drawn up to
   600). Every sleep of the lab is expressed in it. */
#define LAB_ET_MS (CLUSTER_ELECTION_MS * 10 / 3)

/* Check timeouts: the worst case of the waits a test chains (one() 10 s,
   an election CLUSTER_LEADER_WAIT_MS, its idle seconds) plus a margin
   for starting and stopping servers on a loaded machine. */
#define LAB_ONE_S (CLUSTER_COMMIT_WAIT_MS / 1000)
#define LAB_LEADER_S ((CLUSTER_LEADER_WAIT_MS + 999) / 1000)
#define LAB_MARGIN_S 30
#define LAB_TIMEOUT_S(ones, leaders, idle_s) \
    ((ones) * LAB_ONE_S + (leaders) * LAB_LEADER_S + (idle_s) + LAB_MARGIN_S)

/* A test's own random choices (splitmix64), seeded and replayable. */
typedef struct {
    uint64_t state;
} lab_rng_t;

static inline uint64_t
lab_rand (lab_rng_t *rng)
{
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t
lab_below (lab_rng_t *rng, uint64_t n)
{
    ck_assert_uint_gt (n, 0);
    return lab_rand (rng) % n;
}

/* A command value: never 0, which the checker reads as "none". */
static inline uint64_t
lab_value (lab_rng_t *rng)
{
    return 1 + lab_below (rng, 1000000000ull);
}

/* Seeds test tcase of binary (build/tests/cluster/<binary>) from ZR_SEED
   or the clock, and prints how to replay it. */
static inline lab_rng_t
lab_seeded (const char *binary, const char *tcase)
{
    const char *env = getenv ("ZR_SEED");
    uint64_t seed = env ? strtoull (env, NULL, 0)
                        : (uint64_t) zclock_usecs () ^ ((uint64_t) getpid () << 32);
    fprintf (stderr, "%s: seed=%llu (replay: ZR_SEED=%llu CK_RUN_CASE=%s "
             "build/tests/cluster/%s)\n", tcase, (unsigned long long) seed,
             (unsigned long long) seed, tcase, binary);
    return (lab_rng_t) {.state = seed};
}

/* Server id + k, wrapping over 1..n (the lab's (i + k) % servers). */
static inline uint32_t
lab_plus (uint32_t n, uint32_t id, uint32_t k)
{
    return (id - 1 + k) % n + 1;
}

/* One tcase per test, named after it, so CK_RUN_CASE runs one. */
static inline void
lab_add (Suite *s, const char *name, const TTest *test, int timeout_s)
{
    TCase *tc = tcase_create (name);
    tcase_set_timeout (tc, timeout_s);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, test);
    suite_add_tcase (s, tc);
}

#endif
