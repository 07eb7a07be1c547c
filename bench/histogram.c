/*  =========================================================================
    histogram - a log-linear latency histogram for the benchmark

    See histogram.h for the layout and the error bound. Design notes:

    Definitions: a bucket index i < 256 holds exactly the value i. Above,
    i = 256 + g * 128 + s holds [(128 + s) << (g + 1), (129 + s) << (g + 1)),
    a bucket of width 2^(g + 1) whose lower bound is at least 128 times
    its width.

    Invariants (checked by s_check in debug and by the unit tests):
    1. count == sum of counts [i] over every bucket.
    2. count == 0, or min <= max and counts [index (min)] > 0 and
       counts [index (max)] > 0, with no count below index (min) nor
       above index (max).
    3. m2 >= 0 (Welford's sum of squared deviations from the mean).
    =========================================================================
*/
#include "histogram.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_EXACT 256u                    /* buckets holding one value each */
#define S_SUB (1u << ZR_HISTOGRAM_SUB_BITS)     /* sub-buckets per octave */
#define S_TAG "zrh1"                    /* first word of the encoding */

_Static_assert (S_EXACT == 2 * S_SUB, "exact range ends at an octave");
_Static_assert (ZR_HISTOGRAM_BUCKETS == S_EXACT + (32 - 8) * S_SUB,
                "octaves 2^8 .. 2^31 above the exact range");
_Static_assert (ZR_HISTOGRAM_VALUE_MAX == UINT32_MAX, "top of 2^31 octave");

struct _zr_histogram_t {
    uint64_t count;                     /* values recorded; Invariant (1) */
    uint64_t saturated;                 /* of them, above VALUE_MAX */
    uint64_t min;                       /* smallest value; Invariant (2) */
    uint64_t max;                       /* largest value; Invariant (2) */
    double mean;                        /* running mean (Welford) */
    double m2;                          /* sum of squared deviations; (3) */
    uint64_t counts [ZR_HISTOGRAM_BUCKETS];     /* values per bucket */
};

/* Returns the bucket index of value (<= VALUE_MAX). */
static uint32_t
s_index (uint64_t value)
{
    assert (value <= ZR_HISTOGRAM_VALUE_MAX);
    if (value < S_EXACT)
        return (uint32_t) value;
    uint32_t k = 63u - (uint32_t) __builtin_clzll (value);  /* 8..31 */
    uint32_t shift = k - ZR_HISTOGRAM_SUB_BITS;
    uint32_t sub = (uint32_t) (value >> shift) - S_SUB;
    assert (k >= 8 && k <= 31 && sub < S_SUB);
    return S_EXACT + (k - 8) * S_SUB + sub;
}

/* Returns the lowest value of bucket i and sets *width. */
static uint64_t
s_lower (uint32_t i, uint64_t *width)
{
    assert (i < ZR_HISTOGRAM_BUCKETS);
    if (i < S_EXACT) {
        *width = 1;
        return i;
    }
    uint32_t g = (i - S_EXACT) / S_SUB;
    uint32_t sub = (i - S_EXACT) % S_SUB;
    *width = (uint64_t) 1 << (g + 1);
    return (uint64_t) (S_SUB + sub) << (g + 1);
}

/* Returns the value reported for bucket i: its midpoint, clamped into
   [min, max] (which always intersects a non-empty bucket). */
static uint64_t
s_reported (const zr_histogram_t *self, uint32_t i)
{
    uint64_t width;
    uint64_t value = s_lower (i, &width) + width / 2;
    if (value < self->min)
        value = self->min;
    if (value > self->max)
        value = self->max;
    return value;
}

/* Asserts invariants (1) to (3); linear in the buckets, so debug only. */
static void
s_check (const zr_histogram_t *self)
{
#ifndef NDEBUG
    uint64_t sum = 0;
    for (uint32_t i = 0; i < ZR_HISTOGRAM_BUCKETS; i++)
        sum += self->counts [i];
    assert (sum == self->count);
    assert (self->m2 >= 0);
    if (self->count) {
        assert (self->min <= self->max);
        assert (self->counts [s_index (self->min)] > 0);
        assert (self->counts [s_index (self->max)] > 0);
    }
#else
    (void) self;
#endif
}

zr_histogram_t *
zr_histogram_new (void)
{
    zr_histogram_t *self = (zr_histogram_t *) calloc (1, sizeof *self);
    return self;
}

void
zr_histogram_destroy (zr_histogram_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

/* Folds n values of mean `mean` and deviation sum m2 into self's moments
   (Chan et al.'s pairwise update). */
static void
s_moments_add (zr_histogram_t *self, uint64_t n, double mean, double m2)
{
    assert (n > 0 && m2 >= 0);
    double na = (double) self->count, nb = (double) n;
    double total = na + nb;
    double delta = mean - self->mean;
    self->mean += delta * nb / total;
    self->m2 += m2 + delta * delta * na * nb / total;
}

void
zr_histogram_record_n (zr_histogram_t *self, uint64_t value, uint64_t n)
{
    assert (self);
    if (n == 0)
        return;
    if (value > ZR_HISTOGRAM_VALUE_MAX) {
        self->saturated += n;
        value = ZR_HISTOGRAM_VALUE_MAX;
    }
    if (self->count == 0 || value < self->min)
        self->min = value;
    if (self->count == 0 || value > self->max)
        self->max = value;
    s_moments_add (self, n, (double) value, 0);
    self->counts [s_index (value)] += n;
    self->count += n;
    assert (self->count >= n);          /* no wrap-around */
}

void
zr_histogram_record (zr_histogram_t *self, uint64_t value)
{
    zr_histogram_record_n (self, value, 1);
}

void
zr_histogram_merge (zr_histogram_t *self, const zr_histogram_t *other)
{
    assert (self && other && self != other);
    if (other->count == 0)
        return;
    if (self->count == 0 || other->min < self->min)
        self->min = other->min;
    if (self->count == 0 || other->max > self->max)
        self->max = other->max;
    s_moments_add (self, other->count, other->mean, other->m2);
    for (uint32_t i = 0; i < ZR_HISTOGRAM_BUCKETS; i++)
        self->counts [i] += other->counts [i];
    self->count += other->count;
    self->saturated += other->saturated;
    s_check (self);
}

void
zr_histogram_reset (zr_histogram_t *self)
{
    assert (self);
    memset (self, 0, sizeof *self);
}

uint64_t
zr_histogram_count (const zr_histogram_t *self)
{
    assert (self);
    return self->count;
}

uint64_t
zr_histogram_saturated (const zr_histogram_t *self)
{
    assert (self);
    return self->saturated;
}

uint64_t
zr_histogram_min (const zr_histogram_t *self)
{
    assert (self);
    return self->min;
}

uint64_t
zr_histogram_max (const zr_histogram_t *self)
{
    assert (self);
    return self->max;
}

double
zr_histogram_mean (const zr_histogram_t *self)
{
    assert (self);
    return self->count ? self->mean : 0;
}

double
zr_histogram_stddev (const zr_histogram_t *self)
{
    assert (self);
    return self->count ? sqrt (self->m2 / (double) self->count) : 0;
}

uint64_t
zr_histogram_value_at_percentile (const zr_histogram_t *self, double p)
{
    assert (self);
    assert (p >= 0 && p <= 100);
    if (self->count == 0)
        return 0;
    /* Nearest rank; the factor absorbs rounding in p / 100 * n, so that
       e.g. p = 99.9 of 1000 values is rank 999, not 1000. */
    double exact = p / 100.0 * (double) self->count * (1 - 1e-12);
    uint64_t rank = (uint64_t) ceil (exact);
    if (rank <= 1)
        return self->min;
    if (rank >= self->count)
        return self->max;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < ZR_HISTOGRAM_BUCKETS; i++) {
        seen += self->counts [i];
        if (seen >= rank)
            return s_reported (self, i);
    }
    assert (false);                     /* Invariant (1) */
    return self->max;
}

uint64_t
zr_histogram_count_upto (const zr_histogram_t *self, uint64_t value)
{
    assert (self);
    if (value > ZR_HISTOGRAM_VALUE_MAX)
        value = ZR_HISTOGRAM_VALUE_MAX;
    uint32_t top = s_index (value);
    uint64_t seen = 0;
    for (uint32_t i = 0; i <= top; i++)
        seen += self->counts [i];
    assert (seen <= self->count);
    return seen;
}

size_t
zr_histogram_bytes (const zr_histogram_t *self)
{
    assert (self);
    return sizeof *self;
}

int
zr_histogram_encode (const zr_histogram_t *self, char *buf, size_t size)
{
    assert (self && buf);
    size_t used = 0;
    int n = snprintf (buf, size, S_TAG " %" PRIu64 " %" PRIu64 " %" PRIu64
                      " %" PRIu64 " %a %a", self->count, self->saturated,
                      self->min, self->max, self->mean, self->m2);
    if (n < 0 || (size_t) n >= size)
        return -1;
    used = (size_t) n;
    for (uint32_t i = 0; i < ZR_HISTOGRAM_BUCKETS; i++) {
        if (self->counts [i] == 0)
            continue;
        n = snprintf (buf + used, size - used, " %" PRIu32 ":%" PRIu64, i,
                      self->counts [i]);
        if (n < 0 || (size_t) n >= size - used)
            return -1;
        used += (size_t) n;
    }
    assert (used < size && buf [used] == 0);
    return (int) used;
}

/* Parses the "index:count" pairs after the header into self. Returns 0,
   or -1 if they are malformed or disagree with the header. */
static int
s_decode_buckets (zr_histogram_t *self, const char *text)
{
    uint64_t sum = 0;
    int64_t last = -1;
    while (*text) {
        char *end = NULL;
        if (text [0] != ' ' || text [1] < '0' || text [1] > '9')
            return -1;
        unsigned long long i = strtoull (text + 1, &end, 10);
        if (end == text + 1 || *end != ':' || i >= ZR_HISTOGRAM_BUCKETS
            || (int64_t) i <= last)
            return -1;
        const char *digits = end + 1;
        if (*digits < '0' || *digits > '9')
            return -1;
        unsigned long long c = strtoull (digits, &end, 10);
        if (end == digits || c == 0 || c > UINT64_MAX - sum)
            return -1;
        self->counts [i] = c;
        sum += c;
        last = (int64_t) i;
        text = end;
    }
    return sum == self->count ? 0 : -1;
}

/* Returns true if the header fields are consistent with the buckets
   (invariants (2) and (3)), which a decoder must not assume. */
static bool
s_decode_consistent (const zr_histogram_t *self)
{
    if (!isfinite (self->mean) || !isfinite (self->m2) || self->m2 < 0
        || self->saturated > self->count)
        return false;
    if (self->count == 0)
        return self->min == 0 && self->max == 0 && self->mean == 0
               && self->m2 == 0;
    if (self->min > self->max || self->max > ZR_HISTOGRAM_VALUE_MAX)
        return false;
    uint32_t lo = s_index (self->min), hi = s_index (self->max);
    if (self->counts [lo] == 0 || self->counts [hi] == 0)
        return false;
    for (uint32_t i = 0; i < ZR_HISTOGRAM_BUCKETS; i++)
        if (self->counts [i] && (i < lo || i > hi))
            return false;
    return true;
}

/* Parses the header's six numbers into self and sets *rest after them.
   Returns 0, or -1 if they are malformed (strtod reads %a's hex). */
static int
s_decode_header (zr_histogram_t *self, const char *text, const char **rest)
{
    if (strncmp (text, S_TAG " ", strlen (S_TAG) + 1) != 0)
        return -1;
    const char *at = text + strlen (S_TAG);
    uint64_t *ints [] = {&self->count, &self->saturated, &self->min,
                         &self->max};
    for (size_t i = 0; i < 4; i++) {
        char *end = NULL;
        if (at [0] != ' ' || at [1] < '0' || at [1] > '9')
            return -1;
        *ints [i] = strtoull (at + 1, &end, 10);
        at = end;
    }
    double *reals [] = {&self->mean, &self->m2};
    for (size_t i = 0; i < 2; i++) {
        char *end = NULL;
        if (at [0] != ' ' || at [1] == ' ' || at [1] == 0)
            return -1;
        *reals [i] = strtod (at + 1, &end);
        if (end == at + 1)
            return -1;
        at = end;
    }
    *rest = at;
    return 0;
}

zr_histogram_t *
zr_histogram_decode (const char *text)
{
    assert (text);
    zr_histogram_t *self = zr_histogram_new ();
    if (!self)
        return NULL;
    const char *rest = NULL;
    bool ok = strlen (text) < ZR_HISTOGRAM_ENCODED_MAX
              && s_decode_header (self, text, &rest) == 0
              && s_decode_buckets (self, rest) == 0
              && s_decode_consistent (self);
    if (!ok)
        zr_histogram_destroy (&self);
    else
        s_check (self);
    return self;
}
