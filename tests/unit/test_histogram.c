/*  =========================================================================
    test_histogram - unit tests of bench/histogram: the log-linear latency
    histogram behind zraft-bench's percentiles

    Each data set is also kept as a sorted array, whose nearest-rank
    percentiles are exact (computed here in integers, independently of the
    histogram's floating-point rank); the histogram's must be within
    ZR_HISTOGRAM_ERROR (histogram.h, invariant 1) of them, and count, min
    and max must be equal. The data comes from a seeded generator
    (ZR_SEED, default 1, printed on failure by the assertion messages).
    =========================================================================
*/
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../bench/histogram.h"

#define S_N 200000                      /* values per generated data set */

/* Percentiles checked, in thousandths of a percent (99.9% is 99900). */
static const uint64_t s_permille [] = {0, 10000, 25000, 50000, 75000,
                                       90000, 95000, 99000, 99900, 99990,
                                       100000};
#define S_PERCENTILES (sizeof s_permille / sizeof s_permille [0])

//  --------------------------------------------------------------------------
//  Helpers: a seeded generator, exact percentiles, the common check

static uint64_t
s_seed (void)
{
    const char *text = getenv ("ZR_SEED");
    return text ? strtoull (text, NULL, 10) : 1;
}

/* xorshift64*: a reproducible stream of 64-bit values. */
static uint64_t
s_next (uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Returns a double uniform in (0, 1]. */
static double
s_unit (uint64_t *state)
{
    return (double) ((s_next (state) >> 11) + 1) / 9007199254740992.0;
}

static int
s_u64_cmp (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/* Exact nearest-rank percentile of sorted [n], p in thousandths of %. */
static uint64_t
s_exact (const uint64_t *sorted, size_t n, uint64_t permille)
{
    uint64_t rank = (permille * n + 99999) / 100000;
    if (rank < 1)
        rank = 1;
    return sorted [rank - 1];
}

/* Records values into a new histogram, sorts them, and checks count,
   min, max, mean, stddev and every percentile of s_permille. Returns the
   histogram (caller destroys it). */
static zr_histogram_t *
s_check_set (uint64_t *values, size_t n, const char *name)
{
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        zr_histogram_record (h, values [i]);
        sum += (double) values [i];
    }
    qsort (values, n, sizeof values [0], s_u64_cmp);
    double mean = sum / (double) n, sq = 0;
    for (size_t i = 0; i < n; i++)
        sq += ((double) values [i] - mean) * ((double) values [i] - mean);
    ck_assert_uint_eq (zr_histogram_count (h), n);
    ck_assert_uint_eq (zr_histogram_min (h), values [0]);
    ck_assert_uint_eq (zr_histogram_max (h), values [n - 1]);
    ck_assert (fabs (zr_histogram_mean (h) - mean) <= 1e-9 * mean + 1e-9);
    double sd = sqrt (sq / (double) n);
    ck_assert (fabs (zr_histogram_stddev (h) - sd) <= 1e-6 * sd + 1e-6);
    for (size_t i = 0; i < S_PERCENTILES; i++) {
        uint64_t exact = s_exact (values, n, s_permille [i]);
        uint64_t got = zr_histogram_value_at_percentile (
            h, (double) s_permille [i] / 1000.0);
        double error = fabs ((double) got - (double) exact);
        ck_assert_msg (error <= ZR_HISTOGRAM_ERROR * (double) exact,
                       "%s (ZR_SEED=%llu): p%.3f is %llu, exact %llu", name,
                       (unsigned long long) s_seed (),
                       (double) s_permille [i] / 1000.0,
                       (unsigned long long) got, (unsigned long long) exact);
    }
    return h;
}

/* Checks a data set and destroys its histogram. */
static void
s_check_set_only (uint64_t *values, size_t n, const char *name)
{
    zr_histogram_t *h = s_check_set (values, n, name);
    zr_histogram_destroy (&h);
    ck_assert_ptr_null (h);
}

static uint64_t *
s_values (size_t n)
{
    uint64_t *values = (uint64_t *) malloc (n * sizeof (uint64_t));
    ck_assert_ptr_nonnull (values);
    return values;
}

//  --------------------------------------------------------------------------
//  zr_histogram_value_at_percentile against exact percentiles

/* Latencies spread evenly over 0..2 s: every octave is exercised. */
START_TEST (value_at_percentile_uniform)
{
    uint64_t state = s_seed (), *v = s_values (S_N);
    for (size_t i = 0; i < S_N; i++)
        v [i] = s_next (&state) % 2000000;
    s_check_set_only (v, S_N, "uniform");
    free (v);
}
END_TEST

/* A long right tail, as latencies have: exponential with mean 1 ms. */
START_TEST (value_at_percentile_exponential)
{
    uint64_t state = s_seed (), *v = s_values (S_N);
    for (size_t i = 0; i < S_N; i++)
        v [i] = (uint64_t) (-log (s_unit (&state)) * 1000.0);
    s_check_set_only (v, S_N, "exponential");
    free (v);
}
END_TEST

/* Every value the same: every percentile is that value, stddev 0. */
START_TEST (value_at_percentile_constant)
{
    uint64_t *v = s_values (S_N);
    for (size_t i = 0; i < S_N; i++)
        v [i] = 12345;
    zr_histogram_t *h = s_check_set (v, S_N, "constant");
    ck_assert_uint_eq (zr_histogram_value_at_percentile (h, 50), 12345);
    ck_assert (zr_histogram_stddev (h) < 1e-6);
    zr_histogram_destroy (&h);
    free (v);
}
END_TEST

/* One value: min, max and every percentile are it, exactly. */
START_TEST (value_at_percentile_single_value)
{
    uint64_t v [1] = {987654321};
    zr_histogram_t *h = s_check_set (v, 1, "single");
    for (size_t i = 0; i < S_PERCENTILES; i++)
        ck_assert_uint_eq (zr_histogram_value_at_percentile (
                               h, (double) s_permille [i] / 1000.0),
                           987654321);
    ck_assert_double_eq (zr_histogram_stddev (h), 0);
    zr_histogram_destroy (&h);
}
END_TEST

/* Two clusters (fsync on / off): 70% near 100 us, 30% near 50 ms. */
START_TEST (value_at_percentile_two_clusters)
{
    uint64_t state = s_seed (), *v = s_values (S_N);
    for (size_t i = 0; i < S_N; i++)
        v [i] = i % 10 < 7 ? 90 + s_next (&state) % 20
                           : 49000 + s_next (&state) % 2000;
    s_check_set_only (v, S_N, "two clusters");
    free (v);
}
END_TEST

/* One stall of an hour among 1 ms latencies: max is exact and the
   outlier does not move the other percentiles. */
START_TEST (value_at_percentile_huge_outlier)
{
    uint64_t state = s_seed (), *v = s_values (S_N);
    for (size_t i = 0; i < S_N; i++)
        v [i] = 950 + s_next (&state) % 100;
    v [S_N / 2] = 3600000000ull;
    zr_histogram_t *h = s_check_set (v, S_N, "outlier");
    ck_assert_uint_eq (zr_histogram_max (h), 3600000000ull);
    ck_assert (zr_histogram_value_at_percentile (h, 99.99)
               <= 1049 * (1 + ZR_HISTOGRAM_ERROR));
    zr_histogram_destroy (&h);
    free (v);
}
END_TEST

/* The bound holds for every magnitude: {0, v, VALUE_MAX} has v as its
   median, for v swept over every octave at many offsets. */
START_TEST (value_at_percentile_every_octave_within_error)
{
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    for (uint64_t v = 1; v < ZR_HISTOGRAM_VALUE_MAX; v += v / 97 + 1) {
        zr_histogram_reset (h);
        zr_histogram_record (h, 0);
        zr_histogram_record (h, v);
        zr_histogram_record (h, ZR_HISTOGRAM_VALUE_MAX);
        uint64_t got = zr_histogram_value_at_percentile (h, 50);
        double error = fabs ((double) got - (double) v);
        ck_assert_msg (error <= ZR_HISTOGRAM_ERROR * (double) v,
                       "median of {0, %llu, max} is %llu",
                       (unsigned long long) v, (unsigned long long) got);
    }
    zr_histogram_destroy (&h);
}
END_TEST

/* Values below 256 have a bucket each: their percentiles are exact. */
START_TEST (value_at_percentile_small_values_exact)
{
    uint64_t *v = s_values (256 * 4);
    for (size_t i = 0; i < 256 * 4; i++)
        v [i] = i % 256;
    zr_histogram_t *h = s_check_set (v, 256 * 4, "small");
    for (size_t i = 0; i < S_PERCENTILES; i++)
        ck_assert_uint_eq (zr_histogram_value_at_percentile (
                               h, (double) s_permille [i] / 1000.0),
                           s_exact (v, 256 * 4, s_permille [i]));
    zr_histogram_destroy (&h);
    free (v);
}
END_TEST

/* An empty histogram reports zeros rather than garbage. */
START_TEST (value_at_percentile_empty_is_zero)
{
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    ck_assert_uint_eq (zr_histogram_count (h), 0);
    ck_assert_uint_eq (zr_histogram_value_at_percentile (h, 99), 0);
    ck_assert_uint_eq (zr_histogram_min (h), 0);
    ck_assert_uint_eq (zr_histogram_max (h), 0);
    ck_assert_double_eq (zr_histogram_mean (h), 0);
    ck_assert_double_eq (zr_histogram_stddev (h), 0);
    zr_histogram_destroy (&h);
}
END_TEST

/* A percentile outside 0..100 is a programming error. */
START_TEST (value_at_percentile_out_of_range_aborts)
{
    zr_histogram_t *h = zr_histogram_new ();
    (void) zr_histogram_value_at_percentile (h, 100.5);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_histogram_merge, zr_histogram_record_n, zr_histogram_reset

/* Checks that a and b report the same figures. */
static void
s_assert_same (const zr_histogram_t *a, const zr_histogram_t *b)
{
    ck_assert_uint_eq (zr_histogram_count (a), zr_histogram_count (b));
    ck_assert_uint_eq (zr_histogram_min (a), zr_histogram_min (b));
    ck_assert_uint_eq (zr_histogram_max (a), zr_histogram_max (b));
    ck_assert_uint_eq (zr_histogram_saturated (a), zr_histogram_saturated (b));
    double ma = zr_histogram_mean (a), sa = zr_histogram_stddev (a);
    ck_assert (fabs (ma - zr_histogram_mean (b)) <= 1e-9 * ma + 1e-9);
    ck_assert (fabs (sa - zr_histogram_stddev (b)) <= 1e-6 * sa + 1e-6);
    for (double p = 0; p <= 100; p += 0.5)
        ck_assert_uint_eq (zr_histogram_value_at_percentile (a, p),
                           zr_histogram_value_at_percentile (b, p));
    for (uint64_t v = 1; v < 100000000; v *= 3)
        ck_assert_uint_eq (zr_histogram_count_upto (a, v),
                           zr_histogram_count_upto (b, v));
}

/* Merging what two processes recorded equals recording both. */
START_TEST (merge_equals_recording_both)
{
    uint64_t state = s_seed ();
    zr_histogram_t *a = zr_histogram_new (), *b = zr_histogram_new ();
    zr_histogram_t *both = zr_histogram_new ();
    ck_assert (a && b && both);
    for (size_t i = 0; i < S_N; i++) {
        uint64_t x = s_next (&state) % 100000;
        uint64_t y = 200 + s_next (&state) % 10000000;
        zr_histogram_record (a, x);
        zr_histogram_record (b, y);
        zr_histogram_record (both, x);
        zr_histogram_record (both, y);
    }
    zr_histogram_merge (a, b);
    s_assert_same (a, both);
    ck_assert_uint_eq (zr_histogram_count (b), S_N);  /* b unchanged */
    zr_histogram_destroy (&a);
    zr_histogram_destroy (&b);
    zr_histogram_destroy (&both);
}
END_TEST

/* Merging into an empty histogram copies; merging an empty one is a
   no-op. */
START_TEST (merge_with_empty)
{
    zr_histogram_t *a = zr_histogram_new (), *b = zr_histogram_new ();
    zr_histogram_t *empty = zr_histogram_new ();
    ck_assert (a && b && empty);
    for (uint64_t v = 300; v < 90000; v += 7)
        zr_histogram_record (b, v);
    zr_histogram_merge (a, b);
    s_assert_same (a, b);
    zr_histogram_merge (a, empty);
    s_assert_same (a, b);
    zr_histogram_destroy (&a);
    zr_histogram_destroy (&b);
    zr_histogram_destroy (&empty);
}
END_TEST

/* record_n (v, n) equals n calls of record (v). */
START_TEST (record_n_equals_repeated_record)
{
    zr_histogram_t *a = zr_histogram_new (), *b = zr_histogram_new ();
    ck_assert (a && b);
    for (uint64_t v = 1; v < 5000000; v = v * 2 + 1) {
        zr_histogram_record_n (a, v, v % 13 + 1);
        for (uint64_t i = 0; i < v % 13 + 1; i++)
            zr_histogram_record (b, v);
    }
    zr_histogram_record_n (a, 42, 0);
    s_assert_same (a, b);
    zr_histogram_destroy (&a);
    zr_histogram_destroy (&b);
}
END_TEST

/* Values above VALUE_MAX are kept as VALUE_MAX and counted. */
START_TEST (record_above_max_saturates)
{
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    zr_histogram_record (h, 10);
    zr_histogram_record (h, UINT64_MAX);
    ck_assert_uint_eq (zr_histogram_saturated (h), 1);
    ck_assert_uint_eq (zr_histogram_max (h), ZR_HISTOGRAM_VALUE_MAX);
    ck_assert_uint_eq (zr_histogram_count (h), 2);
    zr_histogram_destroy (&h);
}
END_TEST

/* After reset the histogram is empty and records afresh. */
START_TEST (reset_forgets_everything)
{
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    for (uint64_t v = 0; v < 100000; v++)
        zr_histogram_record (h, v * 31);
    zr_histogram_reset (h);
    ck_assert_uint_eq (zr_histogram_count (h), 0);
    ck_assert_uint_eq (zr_histogram_count_upto (h, UINT64_MAX), 0);
    zr_histogram_record (h, 777);
    ck_assert_uint_eq (zr_histogram_min (h), 777);
    ck_assert_uint_eq (zr_histogram_max (h), 777);
    ck_assert_double_eq (zr_histogram_mean (h), 777);
    zr_histogram_destroy (&h);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_histogram_count_upto, zr_histogram_bytes

/* count_upto is a cumulative count: exact below 256, within a bucket
   above, and all values at the maximum. */
START_TEST (count_upto_is_cumulative)
{
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    for (uint64_t v = 0; v < 100000; v++)
        zr_histogram_record (h, v);
    ck_assert_uint_eq (zr_histogram_count_upto (h, 0), 1);
    ck_assert_uint_eq (zr_histogram_count_upto (h, 199), 200);
    uint64_t at = zr_histogram_count_upto (h, 50000);
    ck_assert (at >= 50001 && at <= 50001 + 50000 / 128);
    ck_assert_uint_eq (zr_histogram_count_upto (h, 99999), 100000);
    ck_assert_uint_eq (zr_histogram_count_upto (h, UINT64_MAX), 100000);
    zr_histogram_destroy (&h);
}
END_TEST

/* Memory is fixed at creation and small, whatever is recorded. */
START_TEST (bytes_bounded_and_constant)
{
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    size_t bytes = zr_histogram_bytes (h);
    ck_assert_uint_ge (bytes, ZR_HISTOGRAM_BUCKETS * sizeof (uint64_t));
    ck_assert_uint_le (bytes, 100 * 1024);
    uint64_t state = s_seed ();
    for (size_t i = 0; i < 1000000; i++)
        zr_histogram_record (h, s_next (&state));
    ck_assert_uint_eq (zr_histogram_bytes (h), bytes);
    zr_histogram_destroy (&h);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_histogram_encode, zr_histogram_decode

/* What a --procs child sends is what the parent rebuilds. */
START_TEST (encode_decode_round_trip)
{
    uint64_t state = s_seed ();
    zr_histogram_t *h = zr_histogram_new ();
    ck_assert_ptr_nonnull (h);
    for (size_t i = 0; i < S_N; i++)
        zr_histogram_record (h, s_next (&state) >> (s_next (&state) % 64));
    static char text [ZR_HISTOGRAM_ENCODED_MAX];
    int length = zr_histogram_encode (h, text, sizeof text);
    ck_assert_int_gt (length, 0);
    zr_histogram_t *copy = zr_histogram_decode (text);
    ck_assert_ptr_nonnull (copy);
    s_assert_same (h, copy);
    ck_assert_double_eq (zr_histogram_mean (h), zr_histogram_mean (copy));
    ck_assert_int_eq (zr_histogram_encode (h, text, 10), -1);
    zr_histogram_destroy (&copy);
    zr_histogram_reset (h);
    ck_assert_int_gt (zr_histogram_encode (h, text, sizeof text), 0);
    copy = zr_histogram_decode (text);
    ck_assert_ptr_nonnull (copy);
    ck_assert_uint_eq (zr_histogram_count (copy), 0);
    zr_histogram_destroy (&copy);
    zr_histogram_destroy (&h);
}
END_TEST

/* Malformed text is rejected, never asserted on. */
START_TEST (decode_rejects_malformed)
{
    const char *bad [] = {
        "", "zrh1", "zrh2 1 0 5 5 0x1.4p+2 0x0p+0 5:1",
        "zrh1 1 0 5 5 0x1.4p+2 0x0p+0",             /* count, no bucket */
        "zrh1 1 0 5 5 0x1.4p+2 0x0p+0 5:2",         /* sum differs */
        "zrh1 1 0 5 5 0x1.4p+2 0x0p+0 6:1",         /* min's bucket empty */
        "zrh1 1 0 5 5 0x1.4p+2 0x0p+0 99999:1",     /* index too big */
        "zrh1 2 0 5 6 0x1.4p+2 0x0p+0 6:1 5:1",     /* not increasing */
        "zrh1 1 0 5 5 0x1.4p+2 -0x1p+0 5:1",        /* negative m2 */
        "zrh1 1 0 5 5 nan 0x0p+0 5:1",              /* mean not finite */
        "zrh1 1 0 5 5 0x1.4p+2 0x0p+0 5:1 ",        /* trailing space */
        "zrh1 1 0 5 5 0x1.4p+2 0x0p+0 5:-1",        /* negative count */
        "zrh1 -1 0 5 5 0x1.4p+2 0x0p+0 5:1",
        "zrh1 1 2 5 5 0x1.4p+2 0x0p+0 5:1",         /* saturated > count */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        ck_assert_msg (zr_histogram_decode (bad [i]) == NULL,
                       "accepted '%s'", bad [i]);
    zr_histogram_t *ok = zr_histogram_decode (
        "zrh1 1 0 5 5 0x1.4p+2 0x0p+0 5:1");
    ck_assert_ptr_nonnull (ok);
    ck_assert_uint_eq (zr_histogram_max (ok), 5);
    zr_histogram_destroy (&ok);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("histogram");
    TCase *tc = tcase_create ("value_at_percentile");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, value_at_percentile_uniform);
    tcase_add_test (tc, value_at_percentile_exponential);
    tcase_add_test (tc, value_at_percentile_constant);
    tcase_add_test (tc, value_at_percentile_single_value);
    tcase_add_test (tc, value_at_percentile_two_clusters);
    tcase_add_test (tc, value_at_percentile_huge_outlier);
    tcase_add_test (tc, value_at_percentile_every_octave_within_error);
    tcase_add_test (tc, value_at_percentile_small_values_exact);
    tcase_add_test (tc, value_at_percentile_empty_is_zero);
    tcase_add_test_raise_signal (tc, value_at_percentile_out_of_range_aborts,
                                 SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("merge");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, merge_equals_recording_both);
    tcase_add_test (tc, merge_with_empty);
    tcase_add_test (tc, record_n_equals_repeated_record);
    tcase_add_test (tc, record_above_max_saturates);
    tcase_add_test (tc, reset_forgets_everything);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("count_upto");
    tcase_add_test (tc, count_upto_is_cumulative);
    tcase_add_test (tc, bytes_bounded_and_constant);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("encode");
    tcase_add_test (tc, encode_decode_round_trip);
    tcase_add_test (tc, decode_rejects_malformed);
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
