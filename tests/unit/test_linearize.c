/*  =========================================================================
    test_linearize - unit tests of tests/lib/linearize: the checker the
    process tests run over their clients' histories

    Hand-written histories first (times in microseconds, one line per
    operation), each a case of the register's model: sequential ones,
    overlapping ones, the stale read the checker must reject, operations
    of unknown outcome both ways, cas; then a few hundred operations
    generated from a simulated atomic register (seeded: ZR_SEED, printed),
    the work budget, the recorder under threads, and the JSON-lines dump
    and loader, including the histories kept in tests/unit/linearize/
    (ok-*.jsonl must be linearizable, bad-*.jsonl must not).
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/check_run.h"
#include "../lib/linearize.h"

#ifndef LIN_DIR
#define LIN_DIR "tests/unit/linearize"
#endif

//  --------------------------------------------------------------------------
//  Hand-written histories

/* Adds one operation written as "put K V", "get K V", "get K -" (not
   found), "del K", "cas K OLD NEW y|n"; a trailing "?" makes it unknown
   and "!" failed (their result fields are then left out: "get K ?",
   "cas K OLD NEW ?"). Ids number the operations 0, 1, ... */
static void
s_op (linearize_t *h, uint32_t client, const char *spec, int64_t t0, int64_t t1)
{
    char verb [8], key [64], a [64] = "", b [64] = "", c [64] = "";
    int n = sscanf (spec, "%7s %63s %63s %63s %63s", verb, key, a, b, c);
    ck_assert_int_ge (n, 2);
    const char *last = n == 2 ? "" : n == 3 ? a : n == 4 ? b : c;
    lin_outcome_t outcome = strcmp (last, "?") == 0 ? LIN_UNKNOWN
                          : strcmp (last, "!") == 0 ? LIN_FAILED : LIN_OK;
    bool ok = outcome == LIN_OK;
    lin_op_t op = {.id = linearize_size (h), .outcome = outcome, .client = client,
                   .invoke_us = t0, .complete_us = t1, .key = key};
    if (strcmp (verb, "put") == 0)
        op.type = LIN_PUT, op.value = a;
    else if (strcmp (verb, "get") == 0)
        op.type = LIN_GET, op.value = ok && strcmp (a, "-") != 0 ? a : NULL;
    else if (strcmp (verb, "del") == 0)
        op.type = LIN_DEL;
    else {
        ck_assert_str_eq (verb, "cas");
        op.type = LIN_CAS, op.old = a, op.value = b;
        op.swapped = ok && strcmp (c, "y") == 0;
    }
    char error [256] = "";
    ck_assert_msg (linearize_add (h, &op, error, sizeof error) == 0, "%s: %s",
                   spec, error);
}

/* Checks h, expecting verdict; returns the report (caller frees). */
static char *
s_expect (linearize_t *h, lin_verdict_t verdict)
{
    char *report = NULL;
    lin_verdict_t got = linearize_check (h, &report);
    ck_assert_ptr_nonnull (report);
    ck_assert_msg (got == verdict, "expected %s, got %s:\n%s",
                   linearize_verdict_str (verdict), linearize_verdict_str (got),
                   report);
    return report;
}

static void
s_expect_free (linearize_t *h, lin_verdict_t verdict)
{
    free (s_expect (h, verdict));
}

START_TEST (check_sequential_history_linearizable)
{
    /* One client, no overlap: the history is its own linearization. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "get x -", 0, 10);
    s_op (h, 1, "put x a", 20, 30);
    s_op (h, 1, "get x a", 40, 50);
    s_op (h, 1, "cas x a b y", 60, 70);
    s_op (h, 1, "cas x a c n", 80, 90);
    s_op (h, 1, "get x b", 100, 110);
    s_op (h, 1, "del x", 120, 130);
    s_op (h, 1, "get x -", 140, 150);
    s_op (h, 1, "del x", 160, 170);      /* del of a missing key */
    s_expect_free (h, LIN_LINEARIZABLE);
    ck_assert_uint_le (linearize_states (h), 10);    /* the start, and one per step */
    linearize_destroy (&h);
    ck_assert_ptr_null (h);
}
END_TEST

START_TEST (check_sequential_wrong_reads_rejected)
{
    /* A value never written, a missing key read as present, a present key
       read as missing: each alone is a violation. */
    const char *const bad [] = {"get x z", "get y a", "get x -"};
    for (size_t i = 0; i < 3; i++) {
        linearize_t *h = linearize_new ();
        s_op (h, 1, "put x a", 0, 10);
        s_op (h, 1, bad [i], 20, 30);
        s_expect_free (h, LIN_VIOLATION);
        linearize_destroy (&h);
    }
}
END_TEST

START_TEST (check_overlapping_writes_either_order)
{
    /* Two overlapping puts may take effect in either order; a later read
       fixes which, and a second read must agree with it. */
    const char *const reads [] = {"get x a", "get x b"};
    for (size_t i = 0; i < 2; i++) {
        linearize_t *h = linearize_new ();
        s_op (h, 1, "put x a", 0, 10);
        s_op (h, 2, "put x b", 5, 15);
        s_op (h, 3, reads [i], 20, 30);
        s_op (h, 3, reads [i], 40, 50);
        s_expect_free (h, LIN_LINEARIZABLE);
        linearize_destroy (&h);
    }
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "put x b", 5, 15);
    s_op (h, 3, "get x a", 20, 30);
    s_op (h, 3, "get x b", 40, 50);      /* no write between the reads */
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_read_overlapping_write_sees_either)
{
    /* A read concurrent with a write may see the old or the new value,
       but once some read saw the new one, a later read may not see the
       old one (new-old inversion). */
    const char *const reads [] = {"get x a", "get x b"};
    for (size_t i = 0; i < 2; i++) {
        linearize_t *h = linearize_new ();
        s_op (h, 1, "put x a", 0, 10);
        s_op (h, 1, "put x b", 20, 40);
        s_op (h, 2, reads [i], 25, 30);
        s_expect_free (h, LIN_LINEARIZABLE);
        linearize_destroy (&h);
    }
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 1, "put x b", 20, 40);
    s_op (h, 2, "get x b", 22, 26);
    s_op (h, 3, "get x a", 28, 32);
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_planted_stale_read_rejected_and_explained)
{
    /* The planted stale read (issue 10): a get that starts after put(b)
       completed returns a, the value b replaced. Forty linearizable
       operations on x and one on y come first; the explanation must
       name x, end the failing prefix at the get, and narrow the window
       to put(b) and the get, pointing at put(a) for where a came from. */
    linearize_t *h = linearize_new ();
    for (int i = 0; i < 20; i++) {
        char put [32], get [32];
        snprintf (put, sizeof put, "put x v%d", i);
        snprintf (get, sizeof get, "get x v%d", i);
        s_op (h, 1 + (uint32_t) (i % 3), put, 40 * i, 40 * i + 15);
        s_op (h, 1 + (uint32_t) ((i + 1) % 3), get, 40 * i + 10, 40 * i + 30);
    }
    s_op (h, 4, "put y other", 0, 2000);
    s_op (h, 1, "put x a", 1000, 1010);  /* #41 */
    s_op (h, 2, "put x b", 1020, 1030);  /* #42 */
    s_op (h, 3, "get x a", 1040, 1050);  /* #43: stale */
    char *report = s_expect (h, LIN_VIOLATION);
    ck_assert_ptr_nonnull (strstr (report, "key \"x\": not linearizable (43 operations)"));
    ck_assert_ptr_null (strstr (report, "key \"y\""));
    ck_assert_ptr_nonnull (strstr (report, "when #43 completed"));
    char *window = strstr (report, "the smallest window found");
    ck_assert_msg (window, "%s", report);
    ck_assert_ptr_nonnull (strstr (window, "#42     client 2    put \"b\""));
    ck_assert_ptr_nonnull (strstr (window, "#43     client 3    get = \"a\""));
    char *writers = strstr (window, "the value #43 read, \"a\", was written outside");
    ck_assert_msg (writers, "%s", report);
    ck_assert_ptr_nonnull (strstr (writers, "#41     client 1    put \"a\""));
    ck_assert_ptr_null (strstr (window, "#40 "));    /* nothing earlier */
    ck_assert_ptr_nonnull (strstr (report, "not linearizable: 44 operations on 2 keys"));
    free (report);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_unknown_write_applied)
{
    /* A put whose outcome is unknown may have taken effect: a read of its
       value is fine, and from then on the old value may not come back. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "put x b ?", 20, 25);
    s_op (h, 3, "get x b", 100, 110);
    s_op (h, 3, "get x b", 120, 130);
    s_expect_free (h, LIN_LINEARIZABLE);
    s_op (h, 3, "get x a", 140, 150);
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_unknown_write_not_applied)
{
    /* ... or never taken effect, even long after it was invoked; and it
       may take effect late, after reads that did not see it. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "put x b ?", 20, 25);
    s_op (h, 2, "cas x a c ?", 30, 35);
    s_op (h, 3, "get x a", 100, 110);
    s_op (h, 3, "get x a", 1000, 1010);
    s_expect_free (h, LIN_LINEARIZABLE);
    s_op (h, 3, "get x b", 2000, 2010);
    s_expect_free (h, LIN_LINEARIZABLE);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_unknown_write_not_before_invocation)
{
    /* An unknown put cannot explain a read that completed before the put
       was invoked. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "get x b", 0, 10);
    s_op (h, 2, "put x b ?", 20, 25);
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_failed_write_dropped)
{
    /* A failed put certainly did not take effect. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "put x b !", 20, 30);
    s_op (h, 3, "get x a", 40, 50);
    s_expect_free (h, LIN_LINEARIZABLE);
    s_op (h, 3, "get x b", 60, 70);
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_unknown_read_dropped)
{
    /* A get of unknown outcome says nothing, whatever it would have read. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "get x ?", 20, 30);
    s_op (h, 3, "get x a", 40, 50);
    s_expect_free (h, LIN_LINEARIZABLE);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_unknown_writes_nobody_read_pruned)
{
    /* Forty timed-out puts that no read ever saw would cost 2^40 states
       to refute a stale read after them (design note 5 drops them); one
       whose value is read stays, and explains that read. */
    linearize_t *h = linearize_new ();
    for (int i = 0; i < 40; i++) {
        char put [32];
        snprintf (put, sizeof put, "put x u%d ?", i);
        s_op (h, 1 + (uint32_t) i, put, i, i + 5);
    }
    s_op (h, 50, "put x a", 1000, 1010);
    s_op (h, 50, "put x b", 1020, 1030);
    s_op (h, 51, "get x a", 1040, 1050);
    char *report = s_expect (h, LIN_VIOLATION);
    ck_assert_uint_le (linearize_states (h), 100);
    ck_assert_ptr_nonnull (strstr (report, "(and 40 writes of unknown outcome"));
    free (report);
    linearize_destroy (&h);

    h = linearize_new ();
    for (int i = 0; i < 40; i++) {
        char put [32];
        snprintf (put, sizeof put, "put x u%d ?", i);
        s_op (h, 1 + (uint32_t) i, put, i, i + 5);
    }
    s_op (h, 50, "put x a", 1000, 1010);
    s_op (h, 51, "get x u7", 1040, 1050);
    s_op (h, 51, "get x u7", 1060, 1070);
    s_expect_free (h, LIN_LINEARIZABLE);
    ck_assert_uint_le (linearize_states (h), 100);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_unknown_write_kept_when_cas_unswapped)
{
    /* A cas that failed to swap tells the key did not hold its old value:
       an unknown put nobody read may be what changed it, so it is kept. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "put x u ?", 20, 25);
    s_op (h, 3, "cas x a b n", 40, 50);
    s_expect_free (h, LIN_LINEARIZABLE);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_cas_swaps_only_on_match)
{
    /* cas(old, new) swaps exactly when the key holds old; a missing key
       never matches. */
    struct {
        const char *cas;
        lin_verdict_t verdict;
    } cases [] = {
        {"cas x a b y", LIN_LINEARIZABLE}, {"cas x a b n", LIN_VIOLATION},
        {"cas x z b y", LIN_VIOLATION}, {"cas x z b n", LIN_LINEARIZABLE},
    };
    for (size_t i = 0; i < 4; i++) {
        linearize_t *h = linearize_new ();
        s_op (h, 1, "put x a", 0, 10);
        s_op (h, 1, cases [i].cas, 20, 30);
        s_expect_free (h, cases [i].verdict);
        linearize_destroy (&h);
    }
    linearize_t *h = linearize_new ();
    s_op (h, 1, "cas x a b y", 0, 10);
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
    h = linearize_new ();
    s_op (h, 1, "cas x a b n", 0, 10);
    s_op (h, 1, "get x -", 20, 30);
    s_expect_free (h, LIN_LINEARIZABLE);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_cas_two_winners_rejected)
{
    /* Two concurrent cas from the same old value: one may win, not both. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 1, "cas x a b y", 20, 40);
    s_op (h, 2, "cas x a c n", 20, 40);
    s_op (h, 3, "get x b", 50, 60);
    s_expect_free (h, LIN_LINEARIZABLE);
    linearize_destroy (&h);
    h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 1, "cas x a b y", 20, 40);
    s_op (h, 2, "cas x a c y", 20, 40);
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_cas_unknown_either_way)
{
    /* A cas of unknown outcome: applied (a read sees new) or not (reads
       see old); but if it applies, it swaps only from old. */
    const char *const reads [] = {"get x b", "get x a"};
    for (size_t i = 0; i < 2; i++) {
        linearize_t *h = linearize_new ();
        s_op (h, 1, "put x a", 0, 10);
        s_op (h, 2, "cas x a b ?", 20, 30);
        s_op (h, 3, reads [i], 40, 50);
        s_expect_free (h, LIN_LINEARIZABLE);
        linearize_destroy (&h);
    }
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "cas x z b ?", 20, 30);
    s_op (h, 3, "get x b", 40, 50);
    s_expect_free (h, LIN_VIOLATION);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_keys_independent)
{
    /* Each key is its own register: a write to y does not explain x. */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "put y b", 0, 10);
    s_op (h, 3, "get x a", 20, 30);
    s_op (h, 3, "get y b", 20, 30);
    s_expect_free (h, LIN_LINEARIZABLE);
    s_op (h, 3, "get x b", 40, 50);
    char *report = s_expect (h, LIN_VIOLATION);
    ck_assert_ptr_nonnull (strstr (report, "key \"x\": not linearizable"));
    ck_assert_ptr_null (strstr (report, "key \"y\""));
    free (report);
    linearize_destroy (&h);
}
END_TEST

START_TEST (check_equal_times_overlap)
{
    /* Equal stamps are read as overlapping (the lenient choice). */
    linearize_t *h = linearize_new ();
    s_op (h, 1, "put x a", 0, 10);
    s_op (h, 2, "get x -", 10, 20);
    s_expect_free (h, LIN_LINEARIZABLE);
    linearize_destroy (&h);
}
END_TEST

//  --------------------------------------------------------------------------
//  Generated histories: a simulated atomic register

static uint64_t
s_seed (void)
{
    const char *env = getenv ("ZR_SEED");
    uint64_t seed = env ? strtoull (env, NULL, 0) : (uint64_t) zclock_usecs ();
    fprintf (stderr, "test_linearize: seed=%llu (replay: ZR_SEED=%llu)\n",
             (unsigned long long) seed, (unsigned long long) seed);
    return seed;
}

/* splitmix64, uniform in [0, n). */
static uint64_t
s_below (uint64_t *state, uint64_t n)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (z ^ (z >> 31)) % n;
}

#define GEN_KEYS 4
#define GEN_CLIENTS 6
#define GEN_PER_CLIENT 100
#define GEN_OPS (GEN_CLIENTS * GEN_PER_CLIENT)

typedef struct {
    lin_op_t op;
    int64_t at;                         /* its linearization point */
    bool applied;                       /* it took effect (at `at`) */
    char key [8], value [16], old [16];
} gen_op_t;

static int
s_gen_at_cmp (const void *a, const void *b)
{
    const gen_op_t *x = *(gen_op_t *const *) a, *y = *(gen_op_t *const *) b;
    return (x->at > y->at) - (x->at < y->at);
}

/* Operations of GEN_CLIENTS clients, each one at a time with overlapping
   intervals (up to 30 us long, 1 to 5 us apart); times, kinds, keys and
   outcomes drawn from seed, values unique. */
static void
s_gen_ops (gen_op_t *ops, uint64_t *seed)
{
    int serial = 0;
    for (int c = 0; c < GEN_CLIENTS; c++) {
        int64_t t = (int64_t) s_below (seed, 10);
        for (int i = 0; i < GEN_PER_CLIENT; i++) {
            gen_op_t *g = &ops [c * GEN_PER_CLIENT + i];
            uint64_t kind = s_below (seed, 100), fate = s_below (seed, 100);
            int64_t length = 1 + (int64_t) s_below (seed, 30);
            snprintf (g->key, sizeof g->key, "k%d", (int) s_below (seed, GEN_KEYS));
            snprintf (g->value, sizeof g->value, "v%d", ++serial);
            g->op = (lin_op_t) {
                .type = kind < 40 ? LIN_PUT : kind < 75 ? LIN_GET
                      : kind < 85 ? LIN_DEL : LIN_CAS,
                .outcome = fate < 3 ? LIN_FAILED : fate < 8 ? LIN_UNKNOWN : LIN_OK,
                .client = (uint32_t) c + 1, .invoke_us = t,
                .complete_us = t + length, .key = g->key};
            g->at = t + (int64_t) s_below (seed, (uint64_t) length + 1);
            g->applied = g->op.outcome == LIN_OK
                         || (g->op.outcome == LIN_UNKNOWN && s_below (seed, 2));
            t += length + 1 + (int64_t) s_below (seed, 5);
        }
    }
}

/* Runs the applied operations in linearization-point order against one
   register per key, filling in what each read and whether each cas
   swapped; a cas expects the key's current value half the time. */
static void
s_gen_run (gen_op_t *ops, uint64_t *seed)
{
    gen_op_t *order [GEN_OPS];
    for (int i = 0; i < GEN_OPS; i++)
        order [i] = &ops [i];
    qsort (order, GEN_OPS, sizeof order [0], s_gen_at_cmp);
    const char *state [GEN_KEYS] = {NULL};
    for (int i = 0; i < GEN_OPS; i++) {
        gen_op_t *g = order [i];
        const char **cur = &state [g->key [1] - '0'];
        if (g->op.type == LIN_CAS) {
            bool match = *cur && s_below (seed, 2);
            snprintf (g->old, sizeof g->old, "%s", match ? *cur : "v0");
            g->op.old = g->old;
        }
        if (g->op.type != LIN_GET && g->op.type != LIN_DEL)
            g->op.value = g->value;
        if (!g->applied)
            continue;
        if (g->op.type == LIN_GET && g->op.outcome == LIN_OK)
            g->op.value = *cur;
        if (g->op.type == LIN_PUT)
            *cur = g->value;
        if (g->op.type == LIN_DEL)
            *cur = NULL;
        if (g->op.type == LIN_CAS && *cur && strcmp (*cur, g->old) == 0) {
            *cur = g->value;
            g->op.swapped = g->op.outcome == LIN_OK;
        }
    }
}

static linearize_t *
s_gen_history (gen_op_t *ops)
{
    linearize_t *h = linearize_new ();
    for (int i = 0; i < GEN_OPS; i++) {
        ops [i].op.id = (uint64_t) i;
        char error [256] = "";
        ck_assert_msg (linearize_add (h, &ops [i].op, error, sizeof error) == 0,
                       "%s", error);
    }
    return h;
}

START_TEST (check_generated_history_fast)
{
    /* 600 operations of 6 clients on 4 keys, about six in flight at a
       time, with failed and unknown ones: linearizable by construction,
       and checked with little search (Lowe's cache). */
    uint64_t seed = s_seed ();
    gen_op_t *ops = (gen_op_t *) calloc (GEN_OPS, sizeof (gen_op_t));
    ck_assert_ptr_nonnull (ops);
    s_gen_ops (ops, &seed);
    s_gen_run (ops, &seed);
    linearize_t *h = s_gen_history (ops);
    int64_t started = zclock_usecs ();
    s_expect_free (h, LIN_LINEARIZABLE);
    int64_t took = zclock_usecs () - started;
    uint64_t states = linearize_states (h);
    fprintf (stderr, "check_generated_history_fast: %d operations, %llu states, "
             "%lld us\n", GEN_OPS, (unsigned long long) states, (long long) took);
    ck_assert_uint_ge (states, GEN_OPS / 2);
    ck_assert_uint_le (states, 100000);
    linearize_destroy (&h);
    free (ops);
}
END_TEST

START_TEST (check_generated_history_planted_stale_read)
{
    /* The same history with one read made stale: a get that started after
       a put of its key completed now returns the value of an earlier
       completed put, which nothing writes again (values are unique). */
    uint64_t seed = s_seed ();
    gen_op_t *ops = (gen_op_t *) calloc (GEN_OPS, sizeof (gen_op_t));
    ck_assert_ptr_nonnull (ops);
    s_gen_ops (ops, &seed);
    s_gen_run (ops, &seed);
    gen_op_t *stale = NULL;
    for (int g = GEN_OPS - 1; g >= 0 && !stale; g--) {
        lin_op_t *get = &ops [g].op;
        if (get->type != LIN_GET || get->outcome != LIN_OK)
            continue;
        for (int p = 0; p < GEN_OPS && !stale; p++) {
            lin_op_t *put = &ops [p].op, *older = NULL;
            if (put->type != LIN_PUT || put->outcome != LIN_OK
                || strcmp (put->key, get->key) || put->complete_us >= get->invoke_us)
                continue;
            for (int q = 0; q < GEN_OPS && !older; q++)
                if (ops [q].op.type == LIN_PUT && ops [q].op.outcome == LIN_OK
                    && !strcmp (ops [q].op.key, get->key)
                    && ops [q].op.complete_us < put->invoke_us)
                    older = &ops [q].op;
            if (older) {
                get->value = older->value;
                stale = &ops [g];
            }
        }
    }
    ck_assert_ptr_nonnull (stale);
    linearize_t *h = s_gen_history (ops);
    char *report = s_expect (h, LIN_VIOLATION);
    char needle [64];
    snprintf (needle, sizeof needle, "key \"%s\": not linearizable", stale->key);
    ck_assert_msg (strstr (report, needle), "%s", report);
    fprintf (stderr, "%s", report);
    free (report);
    linearize_destroy (&h);
    free (ops);
}
END_TEST

/* A history of one key as the brute force sees it. */
typedef struct {
    lin_op_t ops [8];
    char values [8][2];                 /* "a", "b", "c" */
    size_t n;
} brute_t;

/* The register's step, written again independently of linearize.c:
   NULL is the missing key. Returns whether op may take effect in *state
   and updates it. */
static bool
s_brute_step (const lin_op_t *op, const char **state)
{
    bool ok = op->outcome == LIN_OK;
    if (op->type == LIN_PUT)
        *state = op->value;
    else if (op->type == LIN_DEL)
        *state = NULL;
    else if (op->type == LIN_GET && ok)
        return (*state == NULL) == (op->value == NULL)
               && (!*state || strcmp (*state, op->value) == 0);
    else if (op->type == LIN_CAS) {
        bool match = *state && strcmp (*state, op->old) == 0;
        if (ok && match != op->swapped)
            return false;
        if (match)
            *state = op->value;
    }
    return true;
}

/* Whether the operations not in done can follow, from state: try every
   one that no remaining known one must precede; an unknown one may also
   never happen (it may as well come last, unobserved). */
static bool
s_brute (const brute_t *b, unsigned done, const char *state)
{
    bool known_left = false;
    for (size_t i = 0; i < b->n; i++)
        known_left |= !(done >> i & 1) && b->ops [i].outcome == LIN_OK;
    if (!known_left)
        return true;
    for (size_t i = 0; i < b->n; i++) {
        if (done >> i & 1)
            continue;
        bool blocked = false;
        for (size_t j = 0; j < b->n && !blocked; j++)
            blocked = !(done >> j & 1) && b->ops [j].outcome == LIN_OK
                      && b->ops [j].complete_us < b->ops [i].invoke_us;
        const char *next = state;
        if (!blocked && s_brute_step (&b->ops [i], &next)
            && s_brute (b, done | 1u << i, next))
            return true;
    }
    return false;
}

START_TEST (check_agrees_with_brute_force)
{
    /* Small random histories, their results drawn at random (most are
       not linearizable, many are): the checker, with its pruning, cache
       and dominance rules, must agree with trying every order. */
    uint64_t seed = s_seed ();
    int verdicts [2] = {0, 0};
    for (int round = 0; round < 3000; round++) {
        brute_t b = {.n = 1 + s_below (&seed, 7)};
        linearize_t *h = linearize_new ();
        for (size_t i = 0; i < b.n; i++) {
            lin_op_t *op = &b.ops [i];
            uint64_t fate = s_below (&seed, 10);
            int64_t t = (int64_t) s_below (&seed, 20);
            b.values [i][0] = (char) ('a' + s_below (&seed, 3));
            *op = (lin_op_t) {.id = i, .type = (lin_type_t) (1 + s_below (&seed, 4)),
                              .outcome = fate < 7 ? LIN_OK : fate < 9 ? LIN_UNKNOWN : LIN_FAILED,
                              .invoke_us = t, .complete_us = t + (int64_t) s_below (&seed, 8),
                              .key = "x"};
            static const char *const olds [] = {"a", "b", "c"};
            if (op->type == LIN_PUT || op->type == LIN_CAS)
                op->value = b.values [i];
            if (op->type == LIN_CAS)
                op->old = olds [s_below (&seed, 3)];
            if (op->type == LIN_GET && op->outcome == LIN_OK && s_below (&seed, 4))
                op->value = olds [s_below (&seed, 3)];
            op->swapped = op->type == LIN_CAS && op->outcome == LIN_OK && s_below (&seed, 2);
            ck_assert_int_eq (linearize_add (h, op, NULL, 0), 0);
        }
        brute_t live = b;               /* failed operations took no effect */
        live.n = 0;
        for (size_t i = 0; i < b.n; i++)
            if (b.ops [i].outcome != LIN_FAILED)
                live.ops [live.n++] = b.ops [i];
        bool expected = s_brute (&live, 0, NULL);
        char *report = NULL;
        lin_verdict_t got = linearize_check (h, &report);
        if (got != (expected ? LIN_LINEARIZABLE : LIN_VIOLATION)) {
            linearize_dump (h, "/tmp/zrlin-disagreement.jsonl");
            ck_abort_msg ("round %d: brute force says %s, the checker:\n%s"
                          "(history in /tmp/zrlin-disagreement.jsonl)", round,
                          expected ? "linearizable" : "not", report);
        }
        verdicts [expected]++;
        free (report);
        linearize_destroy (&h);
    }
    fprintf (stderr, "check_agrees_with_brute_force: %d linearizable, %d not\n",
             verdicts [1], verdicts [0]);
    ck_assert_int_ge (verdicts [0], 300);
    ck_assert_int_ge (verdicts [1], 300);
}
END_TEST

START_TEST (check_budget_exceeded_reported_apart)
{
    /* Twelve overlapping puts, then a read of a value none wrote: to
       refute it the search must visit every order of the puts that ends
       differently, about 12 * 2^11 states. Under a budget of 100 the
       verdict is "unknown: budget exceeded", not a violation; with the
       default budget it is a violation. A key over budget does not hide
       a violation on another key. */
    linearize_t *h = linearize_new ();
    for (int i = 0; i < 12; i++) {
        char put [32];
        snprintf (put, sizeof put, "put x v%d", i);
        s_op (h, (uint32_t) i + 1, put, i, 100);
    }
    s_op (h, 13, "get x never", 200, 210);
    linearize_set_budget (h, 100);
    char *report = s_expect (h, LIN_BUDGET);
    ck_assert_ptr_nonnull (strstr (report, "key \"x\": unknown: budget exceeded"));
    ck_assert_uint_le (linearize_states (h), 100);
    free (report);
    s_op (h, 1, "put y a", 300, 310);
    s_op (h, 1, "get y b", 320, 330);
    report = s_expect (h, LIN_VIOLATION);
    ck_assert_ptr_nonnull (strstr (report, "key \"x\": unknown: budget exceeded"));
    ck_assert_ptr_nonnull (strstr (report, "key \"y\": not linearizable"));
    ck_assert_ptr_nonnull (strstr (report, "(1 not linearizable, 1 over budget)"));
    free (report);
    linearize_set_budget (h, LINEARIZE_BUDGET_DEFAULT);
    s_expect_free (h, LIN_VIOLATION);
    ck_assert_uint_gt (linearize_states (h), 12 * 2048);
    linearize_destroy (&h);
}
END_TEST

//  --------------------------------------------------------------------------
//  The recorder, from threads

#define REG_KEYS 3
#define REG_THREADS 4
#define REG_OPS 300

/* The service the threads call: one register per key under a mutex. */
typedef struct {
    pthread_mutex_t mutex;
    char values [REG_KEYS][24];         /* "" = missing */
    linearize_t *history;               /* what the clients record */
} reg_t;

/* One random operation: recorded before the call and after it. */
static void
s_reg_op (reg_t *reg, uint32_t client, uint64_t *seed, int i)
{
    char key [8], value [24];
    int k = (int) s_below (seed, REG_KEYS);
    snprintf (key, sizeof key, "r%d", k);
    snprintf (value, sizeof value, "c%u-%d", client, i);
    uint64_t kind = s_below (seed, 4);
    char *cur = reg->values [k];
    uint64_t id;
    if (kind == 0) {
        id = linearize_get (reg->history, client, key);
        pthread_mutex_lock (&reg->mutex);
        char read [24];
        snprintf (read, sizeof read, "%s", cur);
        pthread_mutex_unlock (&reg->mutex);
        linearize_ok_get (reg->history, id, *read ? read : NULL);
    }
    else if (kind == 1) {
        id = linearize_put (reg->history, client, key, value);
        pthread_mutex_lock (&reg->mutex);
        snprintf (cur, 24, "%s", value);
        pthread_mutex_unlock (&reg->mutex);
        if (s_below (seed, 10) == 0)
            linearize_unknown (reg->history, id);   /* as after a timeout */
        else
            linearize_ok (reg->history, id);
    }
    else if (kind == 2) {
        id = linearize_del (reg->history, client, key);
        if (s_below (seed, 10) == 0) {
            linearize_failed (reg->history, id);    /* refused: no effect */
            return;
        }
        pthread_mutex_lock (&reg->mutex);
        *cur = 0;
        pthread_mutex_unlock (&reg->mutex);
        linearize_ok (reg->history, id);
    }
    else {
        char old [24];
        pthread_mutex_lock (&reg->mutex);
        snprintf (old, sizeof old, "%s", *cur && s_below (seed, 2) ? cur : "none");
        pthread_mutex_unlock (&reg->mutex);
        id = linearize_cas (reg->history, client, key, old, value);
        pthread_mutex_lock (&reg->mutex);
        bool swapped = strcmp (cur, old) == 0;
        if (swapped)
            snprintf (cur, 24, "%s", value);
        pthread_mutex_unlock (&reg->mutex);
        linearize_ok_cas (reg->history, id, swapped);
    }
}

typedef struct {
    reg_t *reg;
    uint32_t client;
    uint64_t seed;
} reg_thread_t;

static void *
s_reg_thread (void *arg)
{
    reg_thread_t *t = (reg_thread_t *) arg;
    for (int i = 0; i < REG_OPS; i++)
        s_reg_op (t->reg, t->client, &t->seed, i);
    return NULL;
}

START_TEST (record_threads_atomic_register_linearizable)
{
    /* Four threads call a mutex-guarded register and record as a process
       test's clients would: the history is linearizable, every operation
       is recorded once, and none is left pending. */
    reg_t reg = {.history = linearize_new ()};
    pthread_mutex_init (&reg.mutex, NULL);
    uint64_t seed = s_seed ();
    reg_thread_t threads [REG_THREADS];
    pthread_t ids [REG_THREADS];
    for (uint32_t i = 0; i < REG_THREADS; i++) {
        threads [i] = (reg_thread_t) {.reg = &reg, .client = i + 1,
                                      .seed = seed + i * 7919};
        ck_assert_int_eq (pthread_create (&ids [i], NULL, s_reg_thread, &threads [i]), 0);
    }
    for (int i = 0; i < REG_THREADS; i++)
        ck_assert_int_eq (pthread_join (ids [i], NULL), 0);
    ck_assert_uint_eq (linearize_size (reg.history), REG_THREADS * REG_OPS);
    char *report = s_expect (reg.history, LIN_LINEARIZABLE);
    ck_assert_ptr_nonnull (strstr (report, "1200 operations on 3 keys"));
    free (report);
    pthread_mutex_destroy (&reg.mutex);
    linearize_destroy (&reg.history);
}
END_TEST

static void *
s_stale_writer (void *arg)
{
    linearize_t *h = (linearize_t *) arg;
    linearize_ok (h, linearize_put (h, 1, "x", "a"));
    linearize_ok (h, linearize_put (h, 1, "x", "b"));
    return NULL;
}

static void *
s_stale_reader (void *arg)
{
    linearize_t *h = (linearize_t *) arg;
    uint64_t id = linearize_get (h, 2, "x");
    linearize_ok_get (h, id, "a");      /* served by a replica that lags */
    return NULL;
}

START_TEST (record_threads_stale_replica_rejected)
{
    /* The planted stale read through the recorder: a writer thread puts a
       then b; after it is joined, a reader thread is answered a by a
       lagging replica. The stamps order the threads' events, so the read
       is stale and rejected; a read still pending is not. */
    linearize_t *h = linearize_new ();
    pthread_t writer, reader;
    ck_assert_int_eq (pthread_create (&writer, NULL, s_stale_writer, h), 0);
    ck_assert_int_eq (pthread_join (writer, NULL), 0);
    uint64_t pending = linearize_get (h, 3, "x");
    s_expect_free (h, LIN_LINEARIZABLE);
    ck_assert_int_eq (pthread_create (&reader, NULL, s_stale_reader, h), 0);
    ck_assert_int_eq (pthread_join (reader, NULL), 0);
    char *report = s_expect (h, LIN_VIOLATION);
    ck_assert_ptr_nonnull (strstr (report, "when #3 completed"));
    free (report);
    ck_assert_uint_eq (pending, 2);
    linearize_destroy (&h);
}
END_TEST

START_TEST (record_pending_counts_as_unknown)
{
    /* An operation never completed may have taken effect. */
    linearize_t *h = linearize_new ();
    linearize_ok (h, linearize_put (h, 1, "x", "a"));
    (void) linearize_put (h, 2, "x", "b");
    linearize_ok_get (h, linearize_get (h, 3, "x"), "b");
    s_expect_free (h, LIN_LINEARIZABLE);
    linearize_destroy (&h);
}
END_TEST

START_TEST (record_second_completion_aborts)
{
    /* Completing an operation twice is a bug in the test: it aborts. */
    linearize_t *h = linearize_new ();
    uint64_t id = linearize_put (h, 1, "x", "a");
    linearize_ok (h, id);
    linearize_unknown (h, id);
}
END_TEST

START_TEST (record_wrong_result_type_aborts)
{
    linearize_t *h = linearize_new ();
    uint64_t id = linearize_put (h, 1, "x", "a");
    linearize_ok_get (h, id, "a");
}
END_TEST

//  --------------------------------------------------------------------------
//  Dump and load

static char *
s_slurp (const char *path)
{
    FILE *f = fopen (path, "r");
    ck_assert_ptr_nonnull (f);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    int c;
    while ((c = fgetc (f)) != EOF)
        fputc (c, out);
    fclose (f);
    fclose (out);
    return text;
}

static void
s_write (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    fputs (text, f);
    ck_assert_int_eq (fclose (f), 0);
}

START_TEST (dump_load_round_trip)
{
    /* Every kind of operation and outcome, with keys and values holding
       quotes, backslashes, control bytes and non-ASCII bytes, survives a
       dump and a load: the second dump is the same file, the verdict and
       the report the same. */
    linearize_t *h = linearize_new ();
    const char *odd = "q\"b\\s\n\t\x01\xc3\xa9\xff/";
    lin_op_t ops [] = {
        {.type = LIN_PUT, .outcome = LIN_OK, .key = odd, .value = odd},
        {.type = LIN_GET, .outcome = LIN_OK, .key = odd, .value = odd},
        {.type = LIN_GET, .outcome = LIN_OK, .key = "x", .value = NULL},
        {.type = LIN_CAS, .outcome = LIN_OK, .key = odd, .old = odd, .value = "n", .swapped = true},
        {.type = LIN_CAS, .outcome = LIN_OK, .key = odd, .old = odd, .value = "m"},
        {.type = LIN_DEL, .outcome = LIN_FAILED, .key = "x"},
        {.type = LIN_PUT, .outcome = LIN_UNKNOWN, .key = "x", .value = ""},
        {.type = LIN_GET, .outcome = LIN_PENDING, .key = "x"},
        {.type = LIN_GET, .outcome = LIN_OK, .key = "x", .value = "zz"},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops [0]; i++) {
        ops [i].id = 100 + i, ops [i].client = (uint32_t) i;
        ops [i].invoke_us = -5 + 10 * (int64_t) i;
        ops [i].complete_us = ops [i].outcome == LIN_PENDING ? 0 : 10 * (int64_t) i + 3;
        ck_assert_int_eq (linearize_add (h, &ops [i], NULL, 0), 0);
    }
    char first [] = "/tmp/zrlin-XXXXXX", second [64];
    int fd = mkstemp (first);
    ck_assert_int_ge (fd, 0);
    close (fd);
    snprintf (second, sizeof second, "%s.2", first);
    ck_assert_int_eq (linearize_dump (h, first), 0);
    char *error = NULL;
    linearize_t *back = linearize_load (first, &error);
    ck_assert_msg (back, "%s", error);
    ck_assert_uint_eq (linearize_size (back), linearize_size (h));
    ck_assert_int_eq (linearize_dump (back, second), 0);
    char *a = s_slurp (first), *b = s_slurp (second);
    ck_assert_str_eq (a, b);
    ck_assert_ptr_nonnull (strstr (a, "{\"id\":101,\"client\":1,\"op\":\"get\",\"key\":"
                                   "\"q\\\"b\\\\s\\u000a\\u0009\\u0001\\u00c3\\u00a9\\u00ff/\""));
    char *r1 = s_expect (h, LIN_VIOLATION), *r2 = s_expect (back, LIN_VIOLATION);
    ck_assert_str_eq (r1, r2);
    free (a), free (b), free (r1), free (r2);
    unlink (first), unlink (second);
    linearize_destroy (&h);
    linearize_destroy (&back);
}
END_TEST

START_TEST (load_rejects_malformed_lines)
{
    /* Bad input gets an error naming the file, the line and the fault. */
    const char *good = "{\"id\":0,\"client\":1,\"op\":\"put\",\"key\":\"x\",\"value\":\"a\","
                       "\"invoke\":1,\"complete\":2,\"outcome\":\"ok\"}\n";
    struct {
        const char *line, *error;
    } cases [] = {
        {"{", "expected a string"},
        {"not json", "expected '{'"},
        {"{}", "empty object"},
        {"{\"id\":1}", "op or outcome missing"},
        {"{\"id\":1,\"id\":2}", "field given twice"},
        {"{\"colour\":1}", "unknown field"},
        {"{\"key\":\"a\\q\"}", "bad escape"},
        {"{\"key\":\"a\\u0000\"}", "outside \\u0001-\\u00ff"},
        {"{\"key\":\"a\\u0100\"}", "outside \\u0001-\\u00ff"},
        {"{\"key\":\"a\\u00g0\"}", "bad hex digit"},
        {"{\"key\":\"a", "unterminated string"},
        {"{\"key\":\"a\tb\"}", "control character"},
        {"{\"id\":99999999999999999999}", "number out of range"},
        {"{\"invoke\":1.5}", "not an integer"},
        {"{\"id\":-1}", "negative number"},
        {"{\"found\":yes}", "expected true or false"},
        {"{\"id\":1} x", "trailing characters"},
        {"{\"id\":1 \"op\":\"put\"}", "expected ',' or '}'"},
        {"{\"id\":0,\"client\":1,\"op\":\"inc\",\"key\":\"x\",\"invoke\":1,"
         "\"complete\":2,\"outcome\":\"ok\"}", "not one of the known words"},
        {"{\"id\":0,\"client\":1,\"op\":\"put\",\"key\":\"x\",\"value\":\"a\","
         "\"invoke\":5,\"complete\":2,\"outcome\":\"ok\"}", "completes before"},
        {"{\"id\":0,\"client\":1,\"op\":\"put\",\"key\":\"x\",\"value\":\"a\","
         "\"invoke\":1,\"complete\":null,\"outcome\":\"ok\"}", "complete must be null"},
        {"{\"id\":0,\"client\":1,\"op\":\"put\",\"key\":\"x\","
         "\"invoke\":1,\"complete\":2,\"outcome\":\"ok\"}", "value missing"},
        {"{\"id\":0,\"client\":1,\"op\":\"put\",\"key\":\"x\",\"value\":\"a\","
         "\"invoke\":1,\"complete\":2,\"outcome\":\"ok\",\"found\":true}", "found belongs"},
        {"{\"id\":0,\"client\":1,\"op\":\"get\",\"key\":\"x\",\"value\":\"a\","
         "\"invoke\":1,\"complete\":2,\"outcome\":\"ok\",\"found\":false}", "exactly when found"},
        {"{\"id\":0,\"client\":1,\"op\":\"cas\",\"key\":\"x\",\"old\":\"a\","
         "\"invoke\":1,\"complete\":2,\"outcome\":\"ok\",\"swapped\":true}", "a cas has old and new"},
        {"{\"id\":0,\"client\":4294967296,\"op\":\"del\",\"key\":\"x\","
         "\"invoke\":1,\"complete\":2,\"outcome\":\"ok\"}", "client out of range"},
    };
    char path [] = "/tmp/zrlin-XXXXXX";
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    close (fd);
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *text = zsys_sprintf ("%s\n%s\n", good, cases [i].line);
        s_write (path, text);
        free (text);
        char *error = NULL;
        linearize_t *h = linearize_load (path, &error);
        ck_assert_msg (h == NULL, "accepted: %s", cases [i].line);
        char *where = zsys_sprintf ("%s:3: ", path);
        ck_assert_msg (strstr (error, where) && strstr (error, cases [i].error),
                       "%s: got \"%s\", expected \"%s\"", cases [i].line, error,
                       cases [i].error);
        free (where);
        free (error);
    }
    unlink (path);
    char *error = NULL;
    ck_assert_ptr_null (linearize_load ("/nonexistent/history.jsonl", &error));
    ck_assert_ptr_nonnull (strstr (error, "/nonexistent/history.jsonl: "));
    free (error);
}
END_TEST

START_TEST (load_replays_kept_histories)
{
    /* Histories kept in tests/unit/linearize/ (dumped by a test, trimmed
       by hand): ok-* must be linearizable, bad-* must not. */
    DIR *dir = opendir (LIN_DIR);
    ck_assert_msg (dir, "%s", LIN_DIR);
    struct dirent *de;
    int ok = 0, bad = 0;
    while ((de = readdir (dir))) {
        const char *name = de->d_name;
        bool want_ok = strncmp (name, "ok-", 3) == 0;
        if (!strstr (name, ".jsonl") || (!want_ok && strncmp (name, "bad-", 4)))
            continue;
        char *path = zsys_sprintf ("%s/%s", LIN_DIR, name), *error = NULL;
        linearize_t *h = linearize_load (path, &error);
        ck_assert_msg (h, "%s", error);
        char *report = NULL;
        lin_verdict_t verdict = linearize_check (h, &report);
        ck_assert_msg (verdict == (want_ok ? LIN_LINEARIZABLE : LIN_VIOLATION),
                       "%s:\n%s", name, report);
        ok += want_ok, bad += !want_ok;
        free (report);
        free (path);
        linearize_destroy (&h);
    }
    closedir (dir);
    ck_assert_int_ge (ok, 1);
    ck_assert_int_ge (bad, 1);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("linearize");
    TCase *tc = tcase_create ("linearize_check");
    tcase_add_test (tc, check_sequential_history_linearizable);
    tcase_add_test (tc, check_sequential_wrong_reads_rejected);
    tcase_add_test (tc, check_overlapping_writes_either_order);
    tcase_add_test (tc, check_read_overlapping_write_sees_either);
    tcase_add_test (tc, check_planted_stale_read_rejected_and_explained);
    tcase_add_test (tc, check_unknown_write_applied);
    tcase_add_test (tc, check_unknown_write_not_applied);
    tcase_add_test (tc, check_unknown_write_not_before_invocation);
    tcase_add_test (tc, check_failed_write_dropped);
    tcase_add_test (tc, check_unknown_read_dropped);
    tcase_add_test (tc, check_unknown_writes_nobody_read_pruned);
    tcase_add_test (tc, check_unknown_write_kept_when_cas_unswapped);
    tcase_add_test (tc, check_cas_swaps_only_on_match);
    tcase_add_test (tc, check_cas_two_winners_rejected);
    tcase_add_test (tc, check_cas_unknown_either_way);
    tcase_add_test (tc, check_keys_independent);
    tcase_add_test (tc, check_equal_times_overlap);
    tcase_add_test (tc, check_generated_history_fast);
    tcase_add_test (tc, check_generated_history_planted_stale_read);
    tcase_add_test (tc, check_agrees_with_brute_force);
    tcase_add_test (tc, check_budget_exceeded_reported_apart);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("linearize_record");
    tcase_add_test (tc, record_threads_atomic_register_linearizable);
    tcase_add_test (tc, record_threads_stale_replica_rejected);
    tcase_add_test (tc, record_pending_counts_as_unknown);
    tcase_add_test_raise_signal (tc, record_second_completion_aborts, SIGABRT);
    tcase_add_test_raise_signal (tc, record_wrong_result_type_aborts, SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("linearize_dump");
    tcase_add_test (tc, dump_load_round_trip);
    tcase_add_test (tc, load_rejects_malformed_lines);
    tcase_add_test (tc, load_replays_kept_histories);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
