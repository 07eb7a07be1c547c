/*  =========================================================================
    nemesis - seeded faults on a cluster of zraft-node processes (see
    nemesis.h)
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "nemesis.h"

_Static_assert (NEMESIS_HOLD_MAX_MS > PROCS_ELECTION_MAX_MS, "a fault can elect");

uint64_t
nemesis_rand (nemesis_rng_t *rng)
{
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t
nemesis_between (nemesis_rng_t *rng, int64_t lo, int64_t hi)
{
    ck_assert (hi >= lo);
    return lo + (int64_t) (nemesis_rand (rng) % (uint64_t) (hi - lo + 1));
}

uint64_t
nemesis_seed (const char *binary, const char *test)
{
    const char *env = getenv ("ZR_SEED");
    uint64_t seed = env ? strtoull (env, NULL, 0)
                        : (uint64_t) zclock_usecs () ^ ((uint64_t) getpid () << 32);
    fprintf (stderr, "%s: seed=%" PRIu64 " (replay: ZR_SEED=%" PRIu64
             " CK_RUN_CASE=%s build/%s)\n", test, seed, seed, test, binary);
    return seed;
}

int
nemesis_seconds (const char *name, int fallback, int max)
{
    const char *env = getenv (name);
    long seconds = env ? strtol (env, NULL, 10) : fallback;
    return seconds >= 1 && seconds <= max ? (int) seconds : fallback;
}

const char *
nemesis_fault_name (nemesis_fault_t fault)
{
    static const char *names [NEMESIS_FAULTS] = {"kill -9", "SIGSTOP",
                                                 "partition"};
    return fault < NEMESIS_FAULTS ? names [fault] : "?";
}

/* Sends FAULT to node on for its link with peer: cut or healed. */
static void
s_link (procs_t *procs, uint32_t on, uint32_t peer, bool cut)
{
    zr_client_request_t request = {.type = ZR_CLIENT_FAULT, .peer = peer,
                                   .cut = cut};
    zr_client_reply_t reply;
    int rc = procs_request (procs, on, &request, &reply, PROCS_REPLY_MS);
    if (rc != 0 || reply.code != ZR_CLIENT_OK)
        procs_dump (procs);
    ck_assert_msg (rc == 0 && reply.code == ZR_CLIENT_OK, "n%u: FAULT %s n%u: %s",
                   on, cut ? "cut" : "heal", peer,
                   rc ? "no reply" : zr_client_code_name (reply.code));
}

void
nemesis_partition (procs_t *procs, uint32_t n, uint32_t id, bool cut)
{
    /* The filter acts on what a node receives, so both ends of each
       link are set. */
    for (uint32_t a = 1; a <= n; a++)
        for (uint32_t b = 1; b <= n; b++)
            if (a != b && (!cut || a == id || b == id))
                s_link (procs, a, b, cut);
}

void
nemesis_hold (int64_t ms)
{
    int64_t until = zclock_mono () + ms;
    while (zclock_mono () < until)
        poll (NULL, 0, (int) (until - zclock_mono ()));
}

nemesis_fault_t
nemesis_fault (procs_t *procs, uint32_t n, nemesis_rng_t *rng,
               uint32_t *counts, const char *tag)
{
    uint32_t leader = procs_leader (procs, PROCS_LEADER_WAIT_MS);
    if (!leader)
        procs_dump (procs);
    ck_assert_msg (leader, "no leader within %d ms between faults",
                   PROCS_LEADER_WAIT_MS);
    uint32_t target = nemesis_between (rng, 0, 1)
                          ? leader : (uint32_t) nemesis_between (rng, 1, n);
    nemesis_fault_t fault = (nemesis_fault_t) nemesis_between (rng, NEMESIS_KILL,
                                                               NEMESIS_CUT);
    int64_t hold = nemesis_between (rng, NEMESIS_HOLD_MIN_MS, NEMESIS_HOLD_MAX_MS);
    if (getenv ("ZR_VERBOSE"))
        fprintf (stderr, "%s: %s n%u%s for %" PRId64 " ms\n", tag,
                 nemesis_fault_name (fault), target,
                 target == leader ? " (leader)" : "", hold);
    if (fault == NEMESIS_KILL)
        procs_kill (procs, target);
    else
    if (fault == NEMESIS_PAUSE)
        procs_signal (procs, target, SIGSTOP);
    else
        nemesis_partition (procs, n, target, true);
    nemesis_hold (hold);
    if (fault == NEMESIS_KILL)
        procs_start (procs, target);
    else
    if (fault == NEMESIS_PAUSE)
        procs_signal (procs, target, SIGCONT);
    else
        nemesis_partition (procs, n, target, false);
    counts [fault]++;
    nemesis_hold (nemesis_between (rng, 0, NEMESIS_QUIET_MAX_MS));
    return fault;
}
