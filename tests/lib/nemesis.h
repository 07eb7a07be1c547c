/*  =========================================================================
    nemesis - seeded faults on a cluster of zraft-node processes

    What the process tests that check a history under faults share
    (test_linearizable, test_bus_order): their own random choices
    (splitmix64, seeded by ZR_SEED or the clock, printed so a run can be
    replayed), how long the faults go on (an environment variable), and
    the faults themselves, one at a time: kill -9 a node and restart it
    on its data; SIGSTOP it and SIGCONT it; partition it from the others
    both ways (FAULT requests on every link into and out of it, as
    zraft-ctl partition does) and heal. The target is the leader half of
    the time. A fault lasts between half an election timeout and three
    of the longest (the others may not notice, or they certainly elect
    another leader), then the cluster gets a quiet spell of up to the
    longest election timeout; the next fault waits for a leader. Every
    wait is bounded by procs.h's PROCS_*_MS; the faults' durations are
    the schedule, not waits for anything.
    =========================================================================
*/
#ifndef ZR_TEST_NEMESIS_H_INCLUDED
#define ZR_TEST_NEMESIS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "procs.h"

/* A fault lasts [NEMESIS_HOLD_MIN_MS, NEMESIS_HOLD_MAX_MS]. */
#define NEMESIS_HOLD_MIN_MS (PROCS_ELECTION_MS / 2)
#define NEMESIS_HOLD_MAX_MS (3 * PROCS_ELECTION_MAX_MS)
/* Quiet between two faults: up to the longest election timeout. */
#define NEMESIS_QUIET_MAX_MS PROCS_ELECTION_MAX_MS

typedef struct {
    uint64_t state;
} nemesis_rng_t;

typedef enum {
    NEMESIS_KILL = 0,                   /* kill -9, then restart */
    NEMESIS_PAUSE = 1,                  /* SIGSTOP, then SIGCONT */
    NEMESIS_CUT = 2,                    /* partition, then heal */
    NEMESIS_FAULTS = 3
} nemesis_fault_t;

/* The next 64 random bits; uniform in [lo, hi] (hi >= lo). */
uint64_t nemesis_rand (nemesis_rng_t *rng);
int64_t nemesis_between (nemesis_rng_t *rng, int64_t lo, int64_t hi);

/* The seed of test (a Check test of build/<binary>, e.g.
   "tests/proc/test_linearizable"), from ZR_SEED or the clock, printed
   with how to replay it. Unit tests draw their own choices the same
   way. */
uint64_t nemesis_seed (const char *binary, const char *test);

/* Seconds of faults: the integer in environment variable name, if it is
   in 1..max, else fallback. */
int nemesis_seconds (const char *name, int fallback, int max);

/* "kill -9", "SIGSTOP", "partition". */
const char *nemesis_fault_name (nemesis_fault_t fault);

/* Cuts node id of procs (n nodes) off from the others, both ways, or
   heals every link of every node. Fails the test (after procs_dump) if
   a node does not answer. */
void nemesis_partition (procs_t *procs, uint32_t n, uint32_t id, bool cut);

/* Waits ms: a fault's or a quiet spell's length in the schedule. */
void nemesis_hold (int64_t ms);

/* One fault on procs (n nodes), chosen by rng, applied and undone, then
   the quiet spell; counts [fault] counts it. With ZR_VERBOSE set, a
   line names it on stderr after tag. Fails the test if no leader is
   known before it. Returns its kind. */
nemesis_fault_t nemesis_fault (procs_t *procs, uint32_t n, nemesis_rng_t *rng,
                               uint32_t *counts, const char *tag);

#endif
