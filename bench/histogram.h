/*  =========================================================================
    histogram - a log-linear latency histogram for the benchmark

    An HdrHistogram-like counter of non-negative integer values (the
    benchmark records microseconds) in fixed, bounded memory allocated
    once by zr_histogram_new, whatever the number of values recorded.

    Layout: values 0..255 each have their own bucket (exact). Above, each
    power of two [2^k, 2^(k+1)) for k = 8..31 is split into 128 linear
    sub-buckets of width 2^(k-7), so a bucket's width is at most 1/128 of
    its lower bound. A value is reported as the midpoint of its bucket
    (clamped into [min, max]), hence:

    1. Every reported percentile v' of a recorded set whose exact
       nearest-rank percentile is v satisfies |v' - v| <= v / 256
       (ZR_HISTOGRAM_ERROR, about 0.4%; the brief asked for <= 1%).
    2. count, min and max are exact; mean and stddev are exact up to
       floating-point rounding (Welford's running moments, merged with
       Chan's formula), not bucketed.
    3. Values above ZR_HISTOGRAM_VALUE_MAX (2^32 - 1 us, 71 minutes) are
       recorded as ZR_HISTOGRAM_VALUE_MAX and counted by
       zr_histogram_saturated.

    Percentiles use the nearest-rank definition: the value at percentile
    p of n values is the ceil(p / 100 * n)-th smallest (the smallest for
    p = 0). This module is a bench/ helper: it is not part of libzraft.
    =========================================================================
*/
#ifndef ZR_HISTOGRAM_H_INCLUDED
#define ZR_HISTOGRAM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZR_HISTOGRAM_SUB_BITS 7                 /* 128 sub-buckets */
#define ZR_HISTOGRAM_VALUE_MAX 0xFFFFFFFFull    /* 2^32 - 1 */
#define ZR_HISTOGRAM_BUCKETS 3328               /* 256 + 24 * 128 */
#define ZR_HISTOGRAM_ERROR (1.0 / 256.0)        /* relative, see (1) */
#define ZR_HISTOGRAM_ENCODED_MAX 131072         /* zr_histogram_encode */

typedef struct _zr_histogram_t zr_histogram_t;

/* Returns an empty histogram (one allocation, zr_histogram_bytes long),
   or NULL if out of memory. Caller owns the result and must destroy it. */
zr_histogram_t *zr_histogram_new (void);

/* Frees the histogram and NULLs *self_p; idempotent. */
void zr_histogram_destroy (zr_histogram_t **self_p);

/* Records one value (see (3) for values above the maximum). Cannot fail. */
void zr_histogram_record (zr_histogram_t *self, uint64_t value);

/* Records value n times, as n calls of zr_histogram_record would. */
void zr_histogram_record_n (zr_histogram_t *self, uint64_t value,
                            uint64_t n);

/* Adds every value recorded in other to self, as if self had recorded
   them too (other is unchanged). Cannot fail. */
void zr_histogram_merge (zr_histogram_t *self, const zr_histogram_t *other);

/* Forgets every value: the histogram is as zr_histogram_new made it. */
void zr_histogram_reset (zr_histogram_t *self);

/* Number of values recorded. */
uint64_t zr_histogram_count (const zr_histogram_t *self);

/* How many of them were above ZR_HISTOGRAM_VALUE_MAX. */
uint64_t zr_histogram_saturated (const zr_histogram_t *self);

/* Smallest and largest value recorded (exact); 0 when empty. */
uint64_t zr_histogram_min (const zr_histogram_t *self);
uint64_t zr_histogram_max (const zr_histogram_t *self);

/* Mean and population standard deviation of the values; 0 when empty. */
double zr_histogram_mean (const zr_histogram_t *self);
double zr_histogram_stddev (const zr_histogram_t *self);

/* Returns the value at percentile p (0..100, asserted), nearest rank,
   within (1); p = 0 gives min and p = 100 gives max. 0 when empty. */
uint64_t zr_histogram_value_at_percentile (const zr_histogram_t *self,
                                           double p);

/* Returns how many values were recorded at or below value, to the
   histogram's resolution: values sharing value's bucket count as below.
   Used to draw a histogram of arbitrary bars. */
uint64_t zr_histogram_count_upto (const zr_histogram_t *self,
                                  uint64_t value);

/* Returns the bytes the histogram occupies: constant, whatever was
   recorded (the memory bound the benchmark relies on). */
size_t zr_histogram_bytes (const zr_histogram_t *self);

/* Writes the histogram as one line of printable ASCII (no newline) into
   buf, so that another process can rebuild it exactly. Returns the
   length written, or -1 if size is too small (ZR_HISTOGRAM_ENCODED_MAX
   always suffices). */
int zr_histogram_encode (const zr_histogram_t *self, char *buf,
                         size_t size);

/* Rebuilds a histogram from zr_histogram_encode's text. Returns NULL on
   malformed text (never asserts on it) or out of memory. Caller owns the
   result and must destroy it. */
zr_histogram_t *zr_histogram_decode (const char *text);

#endif
