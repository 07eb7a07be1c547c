/*  =========================================================================
    test_totalorder - unit tests of tests/lib/totalorder: the checker the
    process tests run over their producers' and consumers' histories

    Hand-written histories first: a log of ten acknowledged messages read
    by consumers whole, filtered, resumed, and with each violation planted
    alone (a loss, a duplicate, a reordering, a disagreement between
    consumers, a gap at a resume, a retry that published twice, a message
    nobody sent, a filter ignored). Then histories generated from a
    simulated bus (seeded: ZR_SEED, printed) with retries, unknown
    outcomes, entries that are not publications and resumes, which must
    pass, and into which each fault is planted, which must not; the
    recorder under threads; its misuse; the dump.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/check_run.h"
#include "../lib/nemesis.h"
#include "../lib/totalorder.h"

//  --------------------------------------------------------------------------
//  Hand-written histories

#define LOG_SIZE 10

/* Message i (1..LOG_SIZE) of the hand-written log: "m<i>", subject "a"
   when i is odd, "b" when even, producer 1, seq i, at index 10 + i. */
static void
s_msg (int i, char *id, size_t size, const char **subject)
{
    snprintf (id, size, "m%d", i);
    *subject = i % 2 ? "a" : "b";
}

static uint64_t
s_index (int i)
{
    return (uint64_t) (10 + i);
}

/* A history whose LOG_SIZE messages were all acknowledged. */
static totalorder_t *
s_log (void)
{
    totalorder_t *h = totalorder_new ();
    for (int i = 1; i <= LOG_SIZE; i++) {
        char id [16];
        const char *subject;
        s_msg (i, id, sizeof id, &subject);
        uint64_t n = totalorder_publish (h, 1, 1, (uint64_t) i, subject, id);
        totalorder_ok (h, n, s_index (i), 1, false);
    }
    return h;
}

/* Consumer receives the messages listed in spec ("1 2 3 5": message
   numbers, at their own indexes). */
static void
s_feed (totalorder_t *h, uint32_t consumer, const char *spec)
{
    char *end;
    for (const char *p = spec; *p; p = end) {
        long i = strtol (p, &end, 10);
        ck_assert_ptr_ne (end, p);
        ck_assert (i >= 1 && i <= LOG_SIZE);
        char id [16];
        const char *subject;
        s_msg ((int) i, id, sizeof id, &subject);
        totalorder_deliver (h, consumer, s_index ((int) i), 1, subject, id);
    }
}

/* Checks h with flags, expecting want violations of kind (and total in
   all); returns nothing, destroys h. */
static void
s_expect (totalorder_t **h_p, int flags, totalorder_kind_t kind, uint64_t want,
          uint64_t total)
{
    totalorder_stats_t stats;
    char *report = NULL;
    uint64_t got = totalorder_check (*h_p, flags, &stats, &report);
    ck_assert_ptr_nonnull (report);
    ck_assert_msg (got == total && stats.total == total
                   && stats.violations [kind] == want,
                   "expected %llu %s of %llu violations, got %llu of %llu:\n%s",
                   (unsigned long long) want, totalorder_kind_str (kind),
                   (unsigned long long) total,
                   (unsigned long long) stats.violations [kind],
                   (unsigned long long) got, report);
    if (want)
        ck_assert_msg (strstr (report, totalorder_kind_str (kind)), "%s", report);
    free (report);
    totalorder_destroy (h_p);
    ck_assert_ptr_null (*h_p);
}

static void
s_expect_clean (totalorder_t **h_p, int flags)
{
    s_expect (h_p, flags, TOTALORDER_LOST, 0, 0);
}

START_TEST (check_whole_log_to_every_consumer_passes)
{
    totalorder_t *h = s_log ();
    for (uint32_t c = 1; c <= 3; c++) {
        totalorder_subscribe (h, c, 1, NULL, TOTALORDER_FRESH);
        s_feed (h, c, "1 2 3 4 5 6 7 8 9 10");
    }
    totalorder_stats_t stats;
    char *report = NULL;
    ck_assert_uint_eq (totalorder_check (h, TOTALORDER_COMPLETE, &stats, &report), 0);
    ck_assert_msg (strstr (report, "no violation"), "%s", report);
    ck_assert_uint_eq (stats.attempts, LOG_SIZE);
    ck_assert_uint_eq (stats.messages, LOG_SIZE);
    ck_assert_uint_eq (stats.acked, LOG_SIZE);
    ck_assert_uint_eq (stats.consumers, 3);
    ck_assert_uint_eq (stats.segments, 3);
    ck_assert_uint_eq (stats.deliveries, 3 * LOG_SIZE);
    ck_assert_uint_eq (stats.indexes, LOG_SIZE);
    ck_assert_uint_eq (stats.max_acked, s_index (LOG_SIZE));
    free (report);
    totalorder_destroy (&h);
}
END_TEST

START_TEST (check_filter_resume_and_late_start_pass)
{
    /* A consumer of "a" sees the odd ones; one resumed after 4 and
       after 7 from the next index; one starting at message 6. */
    totalorder_t *h = s_log ();
    totalorder_subscribe (h, 1, 1, "a", TOTALORDER_FRESH);
    s_feed (h, 1, "1 3 5 7 9");
    totalorder_subscribe (h, 2, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 2, "1 2 3 4");
    totalorder_subscribe (h, 2, s_index (5), NULL, TOTALORDER_RESUME);
    s_feed (h, 2, "5 6 7");
    totalorder_subscribe (h, 2, s_index (8), NULL, TOTALORDER_RESUME);
    s_feed (h, 2, "8 9 10");
    totalorder_subscribe (h, 3, s_index (6), "", TOTALORDER_FRESH);
    s_feed (h, 3, "6 7 8 9 10");
    s_expect_clean (&h, TOTALORDER_COMPLETE);
}
END_TEST

START_TEST (check_resume_across_unknown_indexes_passes)
{
    /* Indexes the history does not know (1..10 below the log, and the
       ones past it) are not gaps; a consumer resumed from a later index
       that holds nothing known skipped nothing. */
    totalorder_t *h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8 9 10");
    totalorder_covered (h, 1, 100);
    totalorder_subscribe (h, 1, 150, NULL, TOTALORDER_RESUME);
    totalorder_covered (h, 1, 200);
    s_expect_clean (&h, TOTALORDER_COMPLETE);
}
END_TEST

START_TEST (check_retries_and_unknown_outcomes_pass)
{
    /* A retry deduplicated (ok, duplicate, at the first's index); an
       unknown attempt that landed, and one that did not; a failed one. */
    totalorder_t *h = totalorder_new ();
    uint64_t a = totalorder_publish (h, 1, 7, 1, "s", "x");
    totalorder_unknown (h, a);
    uint64_t b = totalorder_publish (h, 1, 7, 1, "s", "x");
    totalorder_ok (h, b, 3, 2, true);
    uint64_t c = totalorder_publish (h, 1, 7, 2, "s", "y");
    totalorder_failed (h, c);
    uint64_t d = totalorder_publish (h, 1, 7, 2, "s", "y");
    totalorder_ok (h, d, 4, 2, false);
    uint64_t e = totalorder_publish (h, 2, 8, 1, "s", "z");
    totalorder_unknown (h, e);                  /* landed at 6 */
    uint64_t f = totalorder_publish (h, 2, 8, 2, "s", "w");
    totalorder_unknown (h, f);                  /* never landed */
    (void) totalorder_publish (h, 2, 8, 3, "s", "v");   /* pending */
    for (uint32_t k = 1; k <= 2; k++) {
        totalorder_subscribe (h, k, 1, NULL, TOTALORDER_FRESH);
        totalorder_deliver (h, k, 3, 2, "s", "x");
        totalorder_deliver (h, k, 4, 2, "s", "y");
        totalorder_deliver (h, k, 6, 0, "s", "z");
    }
    totalorder_stats_t stats;
    ck_assert_uint_eq (totalorder_check (h, TOTALORDER_COMPLETE, &stats, NULL), 0);
    ck_assert_uint_eq (stats.attempts, 7);
    ck_assert_uint_eq (stats.messages, 5);
    ck_assert_uint_eq (stats.acked, 2);
    ck_assert_uint_eq (stats.unknown, 3);
    ck_assert_uint_eq (stats.failed, 0);
    ck_assert_uint_eq (stats.duplicates_acked, 1);
    ck_assert_uint_eq (stats.indexes, 3);
    totalorder_destroy (&h);
}
END_TEST

START_TEST (check_planted_loss_rejected)
{
    totalorder_t *h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8 9 10");
    totalorder_subscribe (h, 2, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 2, "1 2 3 5 6 7 8 9 10");           /* 4 lost */
    s_expect (&h, 0, TOTALORDER_LOST, 1, 1);

    /* A filtered consumer loses one of its subject. */
    h = s_log ();
    totalorder_subscribe (h, 1, 1, "a", TOTALORDER_FRESH);
    s_feed (h, 1, "1 3 7 9");
    s_expect (&h, 0, TOTALORDER_LOST, 1, 1);

    /* The tail: a consumer that stopped short is fine as it is, not when
       every consumer must reach the last acknowledged index, nor when it
       said it had covered the log. */
    h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8");
    s_expect_clean (&h, 0);
    h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8");
    s_expect (&h, TOTALORDER_COMPLETE, TOTALORDER_LOST, 2, 2);
    h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8");
    totalorder_covered (h, 1, s_index (9));
    s_expect (&h, 0, TOTALORDER_LOST, 1, 1);
}
END_TEST

START_TEST (check_planted_gap_at_resume_rejected)
{
    /* Resumed from one past where it should have: message 5 skipped. */
    totalorder_t *h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4");
    totalorder_subscribe (h, 1, s_index (6), NULL, TOTALORDER_RESUME);
    s_feed (h, 1, "6 7 8 9 10");
    s_expect (&h, 0, TOTALORDER_LOST, 1, 1);

    /* The same as a fresh subscription is a deliberate jump: fine. */
    h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4");
    totalorder_subscribe (h, 1, s_index (6), NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "6 7 8 9 10");
    s_expect_clean (&h, TOTALORDER_COMPLETE);
}
END_TEST

START_TEST (check_planted_duplicate_rejected)
{
    /* Within a subscription. */
    totalorder_t *h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 4 5 6 7 8 9 10");
    s_expect (&h, 0, TOTALORDER_DUPLICATE, 1, 1);

    /* After a resume from a cursor behind what it had seen. */
    h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5");
    totalorder_subscribe (h, 1, s_index (4), NULL, TOTALORDER_RESUME);
    s_feed (h, 1, "4 5 6 7 8 9 10");
    s_expect (&h, 0, TOTALORDER_DUPLICATE, 2, 2);

    /* A deliberate re-read (fresh) may repeat. */
    h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5");
    totalorder_subscribe (h, 1, s_index (4), NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "4 5 6 7 8 9 10");
    s_expect_clean (&h, TOTALORDER_COMPLETE);
}
END_TEST

START_TEST (check_planted_reordering_rejected)
{
    /* One consumer gets 6 before 5: 5 was not there in its place (lost
       there) and came after a later one. */
    totalorder_t *h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 6 5 7 8 9 10");
    s_expect (&h, 0, TOTALORDER_REORDER, 1, 2);

    /* A delivery below the subscription's start. */
    h = s_log ();
    totalorder_subscribe (h, 1, s_index (5), NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "3 5 6 7 8 9 10");
    s_expect (&h, 0, TOTALORDER_REORDER, 1, 1);

    /* Two consumers see messages 5 and 6 in opposite orders (each in
       increasing indexes): they disagree at both indexes. */
    h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8 9 10");
    totalorder_subscribe (h, 2, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 2, "1 2 3 4");
    totalorder_deliver (h, 2, s_index (5), 1, "b", "m6");
    totalorder_deliver (h, 2, s_index (6), 1, "a", "m5");
    s_feed (h, 2, "7 8 9 10");
    s_expect (&h, 0, TOTALORDER_DISAGREE, 2, 2);
}
END_TEST

START_TEST (check_planted_disagreement_rejected)
{
    /* An acknowledged index delivered with another payload, subject or
       term. */
    const char *const bad [][2] = {{"a", "m7x"}, {"b", "m7"}};
    for (int i = 0; i < 3; i++) {
        totalorder_t *h = s_log ();
        uint64_t n = totalorder_publish (h, 2, 2, 1, "a", "m7x");
        totalorder_unknown (h, n);
        totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
        s_feed (h, 1, "1 2 3 4 5 6");
        if (i < 2)
            totalorder_deliver (h, 1, s_index (7), 1, bad [i][0], bad [i][1]);
        else
            totalorder_deliver (h, 1, s_index (7), 5, "a", "m7");
        s_feed (h, 1, "8 9 10");
        s_expect (&h, 0, TOTALORDER_DISAGREE, 1, 1);
    }
}
END_TEST

START_TEST (check_planted_double_publish_rejected)
{
    /* A retry acknowledged at a second index. */
    totalorder_t *h = s_log ();
    uint64_t n = totalorder_publish (h, 1, 1, 3, "a", "m3");
    totalorder_ok (h, n, 30, 1, false);
    s_expect (&h, 0, TOTALORDER_DOUBLE, 1, 1);

    /* A retry of unknown outcome that landed a second time: consumers
       receive the message at two indexes. */
    h = s_log ();
    n = totalorder_publish (h, 1, 1, 3, "a", "m3");
    totalorder_unknown (h, n);
    for (uint32_t c = 1; c <= 2; c++) {
        totalorder_subscribe (h, c, 1, NULL, TOTALORDER_FRESH);
        s_feed (h, c, "1 2 3 4 5 6 7 8 9 10");
        totalorder_deliver (h, c, 30, 1, "a", "m3");
    }
    s_expect (&h, TOTALORDER_COMPLETE, TOTALORDER_DOUBLE, 1, 1);

    /* Without a producer id nothing deduplicates: two attempts of one
       message may land twice. */
    h = totalorder_new ();
    uint64_t a = totalorder_publish (h, 1, 0, 0, "a", "plain");
    totalorder_unknown (h, a);
    uint64_t b = totalorder_publish (h, 1, 0, 0, "a", "plain");
    totalorder_ok (h, b, 2, 1, false);
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    totalorder_deliver (h, 1, 1, 1, "a", "plain");
    totalorder_deliver (h, 1, 2, 1, "a", "plain");
    s_expect_clean (&h, TOTALORDER_COMPLETE);
}
END_TEST

START_TEST (check_planted_unexpected_and_filter_rejected)
{
    totalorder_t *h = s_log ();
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8 9 10");
    totalorder_deliver (h, 1, 40, 1, "a", "ghost");
    s_expect (&h, 0, TOTALORDER_UNEXPECTED, 1, 1);

    h = s_log ();
    uint64_t n = totalorder_publish (h, 3, 3, 1, "a", "refused");
    totalorder_failed (h, n);
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3 4 5 6 7 8 9 10");
    totalorder_deliver (h, 1, 40, 1, "a", "refused");
    s_expect (&h, 0, TOTALORDER_UNEXPECTED, 1, 1);

    h = s_log ();
    totalorder_subscribe (h, 1, 1, "a", TOTALORDER_FRESH);
    s_feed (h, 1, "1 3 4 5 7 9");
    s_expect (&h, 0, TOTALORDER_FILTER, 1, 1);
}
END_TEST

//  --------------------------------------------------------------------------
//  Generated histories: a simulated bus

/* Uniform in [0, n). */
static uint64_t
s_below (nemesis_rng_t *rng, uint64_t n)
{
    return (uint64_t) nemesis_between (rng, 0, (int64_t) n - 1);
}

#define GEN_PRODUCERS 4
#define GEN_PER_PRODUCER 60
#define GEN_CONSUMERS 3
#define GEN_LOG_MAX (4 * GEN_PRODUCERS * GEN_PER_PRODUCER)

/* One entry of the simulated log. */
typedef struct {
    bool publication;                   /* else a cursor or a command */
    uint64_t term;
    char subject [8];
    char id [24];
} gen_entry_t;

typedef struct {
    nemesis_rng_t rng;
    gen_entry_t log [GEN_LOG_MAX + 1];  /* 1-based: log [index] */
    uint64_t last;                      /* last index used */
    uint64_t term;                      /* current term */
} gen_t;

static uint64_t
s_gen_append (gen_t *g, const char *subject, const char *id)
{
    ck_assert_uint_lt (g->last, GEN_LOG_MAX);
    if (s_below (&g->rng, 20) == 0)
        g->term++;
    gen_entry_t *e = &g->log [++g->last];
    e->publication = subject != NULL;
    e->term = g->term;
    snprintf (e->subject, sizeof e->subject, "%s", subject ? subject : "");
    snprintf (e->id, sizeof e->id, "%s", id ? id : "");
    return g->last;
}

/* The index id sits at, 0 if not appended. */
static uint64_t
s_gen_find (const gen_t *g, const char *id)
{
    for (uint64_t i = 1; i <= g->last; i++)
        if (g->log [i].publication && streq (g->log [i].id, id))
            return i;
    return 0;
}

/* One message of producer p: attempts until one is ok or the producer
   gives up on an unknown outcome. The bus deduplicates: an attempt of a
   message already in the log is ok, duplicate, at its index. */
static void
s_gen_message (gen_t *g, totalorder_t *h, uint32_t p, uint64_t seq)
{
    char id [24];
    snprintf (id, sizeof id, "p%u-%llu", p, (unsigned long long) seq);
    const char *subject = seq % 3 ? "a.x" : "b.y";
    for (;;) {
        uint64_t n = totalorder_publish (h, p, p, seq, subject, id);
        uint64_t at = s_gen_find (g, id), r = s_below (&g->rng, 10);
        if (r == 0 && !at) {
            totalorder_failed (h, n);
            continue;
        }
        if (r <= 2) {                   /* lost answer: landed or not */
            if (!at && s_below (&g->rng, 2))
                s_gen_append (g, subject, id);
            totalorder_unknown (h, n);
            if (s_below (&g->rng, 4) == 0)
                return;                 /* the producer gives up */
            continue;
        }
        bool duplicate = at != 0;
        if (!at)
            at = s_gen_append (g, subject, id);
        totalorder_ok (h, n, at, g->log [at].term, duplicate);
        return;
    }
}

/* The log of GEN_PRODUCERS producers' messages, interleaved, with
   entries that are not publications between them. */
static void
s_gen_log (gen_t *g, totalorder_t *h)
{
    uint64_t next [GEN_PRODUCERS + 1] = {0};
    g->term = 1;
    for (int left = GEN_PRODUCERS * GEN_PER_PRODUCER; left > 0;) {
        uint32_t p = 1 + (uint32_t) s_below (&g->rng, GEN_PRODUCERS);
        if (next [p] == GEN_PER_PRODUCER)
            continue;
        if (s_below (&g->rng, 5) == 0)
            s_gen_append (g, NULL, NULL);       /* a cursor, a command */
        s_gen_message (g, h, p, ++next [p]);
        left--;
    }
}

/* Consumer c's deliveries: the matching publications in index order. */
static size_t
s_gen_stream (const gen_t *g, const char *prefix, uint64_t *out)
{
    size_t n = 0;
    for (uint64_t i = 1; i <= g->last; i++)
        if (g->log [i].publication
            && strncmp (g->log [i].subject, prefix, strlen (prefix)) == 0)
            out [n++] = i;
    return n;
}

/* Records consumer c reading stream (n indexes), resuming now and then
   from its last index + 1, and covering the log at the end. skip plants
   a gap: one resume (at the latest halfway) starts past the next
   message, which the server then does not send. */
static void
s_gen_consume (gen_t *g, totalorder_t *h, uint32_t c, const char *prefix,
               const uint64_t *stream, size_t n, bool skip)
{
    totalorder_subscribe (h, c, 1, prefix, TOTALORDER_FRESH);
    uint64_t seen = 0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && (s_below (&g->rng, 15) == 0 || (skip && k == n / 2))) {
            uint64_t from = skip ? stream [k++] + 1 : seen + 1;
            totalorder_subscribe (h, c, from, prefix, TOTALORDER_RESUME);
            skip = false;
            if (k == n)
                break;
        }
        const gen_entry_t *e = &g->log [stream [k]];
        totalorder_deliver (h, c, stream [k], e->term, e->subject, e->id);
        seen = stream [k];
    }
    totalorder_covered (h, c, g->last);
}

typedef enum {
    PLANT_NONE, PLANT_LOSS, PLANT_DUPLICATE, PLANT_REORDER, PLANT_GAP,
    PLANT_DOUBLE, PLANTS
} plant_t;

/* A generated history, with plant applied to consumer 1's stream;
   returns the check's stats. */
static totalorder_stats_t
s_gen_run (uint64_t seed, plant_t plant)
{
    gen_t *g = (gen_t *) calloc (1, sizeof *g);
    ck_assert_ptr_nonnull (g);
    g->rng.state = seed;
    totalorder_t *h = totalorder_new ();
    s_gen_log (g, h);
    if (plant == PLANT_DOUBLE) {        /* a retry appended a second time */
        uint64_t first = 0;
        while (!first)
            first = s_gen_find (g, g->log [1 + s_below (&g->rng, g->last)].id);
        gen_entry_t copy = g->log [first];
        s_gen_append (g, copy.subject, copy.id);
    }
    uint64_t stream [GEN_LOG_MAX + 2];
    for (uint32_t c = 1; c <= GEN_CONSUMERS; c++) {
        const char *prefix = c == GEN_CONSUMERS ? "a" : "";
        size_t n = s_gen_stream (g, prefix, stream);
        ck_assert_uint_gt (n, 10);
        size_t k = 2 + s_below (&g->rng, n - 4);
        if (c == 1 && plant == PLANT_LOSS)
            memmove (stream + k, stream + k + 1, (--n - k) * sizeof *stream);
        if (c == 1 && plant == PLANT_DUPLICATE)
            memmove (stream + k + 1, stream + k, (n++ - k) * sizeof *stream);
        if (c == 1 && plant == PLANT_REORDER) {
            uint64_t t = stream [k];
            stream [k] = stream [k + 1], stream [k + 1] = t;
        }
        s_gen_consume (g, h, c, prefix, stream, n, c == 1 && plant == PLANT_GAP);
    }
    totalorder_stats_t stats;
    char *report = NULL;
    totalorder_check (h, TOTALORDER_COMPLETE, &stats, &report);
    if (plant == PLANT_NONE && stats.total)
        fprintf (stderr, "%s", report);
    free (report);
    totalorder_destroy (&h);
    free (g);
    return stats;
}

START_TEST (check_generated_history_passes)
{
    uint64_t seed = nemesis_seed ("tests/unit/test_totalorder", "totalorder_check");
    for (uint64_t i = 0; i < 20; i++) {
        totalorder_stats_t stats = s_gen_run (seed + i, PLANT_NONE);
        ck_assert_msg (stats.total == 0, "seed %llu: %llu violations",
                       (unsigned long long) (seed + i),
                       (unsigned long long) stats.total);
        ck_assert_uint_eq (stats.messages, GEN_PRODUCERS * GEN_PER_PRODUCER);
        ck_assert_uint_gt (stats.acked, stats.messages / 2);
        ck_assert_uint_eq (stats.consumers, GEN_CONSUMERS);
        ck_assert_uint_ge (stats.attempts, stats.messages);
    }
}
END_TEST

START_TEST (check_generated_history_planted_faults_rejected)
{
    /* Each fault alone, on consumer 1, is found as what it is. A loss
       must be of a message the history knows: consumer 2 received it. */
    static const struct {
        plant_t plant;
        totalorder_kind_t kind;
        uint64_t total;                 /* violations in all */
    } cases [] = {
        {PLANT_LOSS, TOTALORDER_LOST, 1},
        {PLANT_DUPLICATE, TOTALORDER_DUPLICATE, 1},
        {PLANT_REORDER, TOTALORDER_REORDER, 2},     /* and lost in place */
        {PLANT_GAP, TOTALORDER_LOST, 1},
        {PLANT_DOUBLE, TOTALORDER_DOUBLE, 1},
    };
    uint64_t seed = nemesis_seed ("tests/unit/test_totalorder", "totalorder_check");
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        for (uint64_t s = 0; s < 10; s++) {
            totalorder_stats_t stats = s_gen_run (seed + s, cases [i].plant);
            ck_assert_msg (stats.violations [cases [i].kind] == 1
                           && stats.total == cases [i].total,
                           "seed %llu, plant %d: %llu %s, %llu in all",
                           (unsigned long long) (seed + s), cases [i].plant,
                           (unsigned long long) stats.violations [cases [i].kind],
                           totalorder_kind_str (cases [i].kind),
                           (unsigned long long) stats.total);
        }
}
END_TEST

//  --------------------------------------------------------------------------
//  The recorder

#define THREAD_MSGS 500

/* A bus in memory: a mutex over a log of ids; grown signals each append. */
typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t grown;
    char ids [4 * THREAD_MSGS][16];
    uint64_t last;
    totalorder_t *h;
} bus_t;

typedef struct {
    bus_t *bus;
    uint32_t who;
} role_t;

static void *
s_producer (void *arg)
{
    role_t *role = (role_t *) arg;
    bus_t *bus = role->bus;
    for (uint64_t seq = 1; seq <= THREAD_MSGS; seq++) {
        char id [16];
        snprintf (id, sizeof id, "t%u-%llu", role->who, (unsigned long long) seq);
        uint64_t n = totalorder_publish (bus->h, role->who, role->who, seq, "s", id);
        pthread_mutex_lock (&bus->mutex);
        uint64_t index = ++bus->last;
        snprintf (bus->ids [index - 1], sizeof bus->ids [0], "%s", id);
        pthread_cond_broadcast (&bus->grown);
        pthread_mutex_unlock (&bus->mutex);
        totalorder_ok (bus->h, n, index, 1, false);
    }
    return NULL;
}

static void *
s_consumer (void *arg)
{
    role_t *role = (role_t *) arg;
    bus_t *bus = role->bus;
    totalorder_subscribe (bus->h, role->who, 1, NULL, TOTALORDER_FRESH);
    for (uint64_t next = 1; next <= 2 * THREAD_MSGS;) {
        pthread_mutex_lock (&bus->mutex);
        while (bus->last < next)        /* wait for the producers */
            pthread_cond_wait (&bus->grown, &bus->mutex);
        uint64_t last = bus->last;
        pthread_mutex_unlock (&bus->mutex);
        for (; next <= last; next++)     /* ids below last are written */
            totalorder_deliver (bus->h, role->who, next, 1, "s",
                                bus->ids [next - 1]);
    }
    return NULL;
}

START_TEST (record_threads_in_memory_bus_passes)
{
    bus_t *bus = (bus_t *) calloc (1, sizeof *bus);
    ck_assert_ptr_nonnull (bus);
    pthread_mutex_init (&bus->mutex, NULL);
    pthread_cond_init (&bus->grown, NULL);
    bus->h = totalorder_new ();
    pthread_t threads [4];
    role_t roles [4] = {{bus, 1}, {bus, 2}, {bus, 1}, {bus, 2}};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq (pthread_create (&threads [i], NULL,
                                          i < 2 ? s_producer : s_consumer,
                                          &roles [i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join (threads [i], NULL);
    ck_assert_uint_eq (totalorder_size (bus->h), 2 * THREAD_MSGS * 3 + 2);
    totalorder_stats_t stats;
    ck_assert_uint_eq (totalorder_check (bus->h, TOTALORDER_COMPLETE, &stats, NULL), 0);
    ck_assert_uint_eq (stats.deliveries, 4 * THREAD_MSGS);
    totalorder_destroy (&bus->h);
    pthread_cond_destroy (&bus->grown);
    pthread_mutex_destroy (&bus->mutex);
    free (bus);
}
END_TEST

START_TEST (record_seq_reused_for_another_id_aborts)
{
    totalorder_t *h = totalorder_new ();
    (void) totalorder_publish (h, 1, 5, 1, "s", "x");
    (void) totalorder_publish (h, 1, 5, 1, "s", "y");
}
END_TEST

START_TEST (record_second_completion_aborts)
{
    totalorder_t *h = totalorder_new ();
    uint64_t n = totalorder_publish (h, 1, 5, 1, "s", "x");
    totalorder_ok (h, n, 1, 1, false);
    totalorder_unknown (h, n);
}
END_TEST

START_TEST (record_delivery_before_subscription_aborts)
{
    totalorder_t *h = totalorder_new ();
    totalorder_deliver (h, 1, 1, 1, "s", "x");
}
END_TEST

START_TEST (dump_writes_one_line_per_event)
{
    totalorder_t *h = s_log ();
    uint64_t n = totalorder_publish (h, 2, 2, 1, "q\"uote", "e\\sc\x01");
    totalorder_unknown (h, n);
    totalorder_subscribe (h, 1, 1, NULL, TOTALORDER_FRESH);
    s_feed (h, 1, "1 2 3");
    totalorder_covered (h, 1, s_index (3));
    char path [] = "/tmp/test_totalorder_XXXXXX";
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    close (fd);
    ck_assert_int_eq (totalorder_dump (h, path), 0);
    FILE *in = fopen (path, "r");
    ck_assert_ptr_nonnull (in);
    char line [1024];
    size_t lines = 0, delivers = 0, escaped = 0;
    while (fgets (line, sizeof line, in)) {
        ck_assert_msg (line [0] == '{' && strstr (line, "}\n"), "%s", line);
        lines++;
        delivers += strstr (line, "\"ev\":\"deliver\"") != NULL;
        escaped += strstr (line, "\"q\\\"uote\"") && strstr (line, "e\\\\sc\\u0001");
    }
    fclose (in);
    unlink (path);
    ck_assert_uint_eq (lines, totalorder_size (h));
    ck_assert_uint_eq (lines, LOG_SIZE + 1 + 1 + 3 + 1);
    ck_assert_uint_eq (delivers, 3);
    ck_assert_uint_eq (escaped, 1);
    ck_assert_int_eq (totalorder_dump (h, "/nonexistent/dir/x"), -1);
    totalorder_destroy (&h);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("totalorder");
    TCase *tc = tcase_create ("totalorder_check");
    tcase_add_test (tc, check_whole_log_to_every_consumer_passes);
    tcase_add_test (tc, check_filter_resume_and_late_start_pass);
    tcase_add_test (tc, check_resume_across_unknown_indexes_passes);
    tcase_add_test (tc, check_retries_and_unknown_outcomes_pass);
    tcase_add_test (tc, check_planted_loss_rejected);
    tcase_add_test (tc, check_planted_gap_at_resume_rejected);
    tcase_add_test (tc, check_planted_duplicate_rejected);
    tcase_add_test (tc, check_planted_reordering_rejected);
    tcase_add_test (tc, check_planted_disagreement_rejected);
    tcase_add_test (tc, check_planted_double_publish_rejected);
    tcase_add_test (tc, check_planted_unexpected_and_filter_rejected);
    tcase_add_test (tc, check_generated_history_passes);
    tcase_add_test (tc, check_generated_history_planted_faults_rejected);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("totalorder_record");
    tcase_add_test (tc, record_threads_in_memory_bus_passes);
    tcase_add_test_raise_signal (tc, record_seq_reused_for_another_id_aborts, SIGABRT);
    tcase_add_test_raise_signal (tc, record_second_completion_aborts, SIGABRT);
    tcase_add_test_raise_signal (tc, record_delivery_before_subscription_aborts, SIGABRT);
    tcase_add_test (tc, dump_writes_one_line_per_event);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
