/*  =========================================================================
    rng - a small seeded pseudo-random generator (see rng.h)
    =========================================================================
*/
#include "raft.h"

static uint64_t
s_splitmix (uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
zr_rng_seed (zr_rng_t *self, uint64_t seed)
{
    zr_assert (self);
    for (int i = 0; i < 4; i++)
        self->s [i] = s_splitmix (&seed);
    zr_assert (self->s [0] | self->s [1] | self->s [2] | self->s [3]);
}

uint64_t
zr_rng_next (zr_rng_t *self)
{
    zr_assert (self);
    uint64_t *s = self->s;
    uint64_t result = s_rotl (s [1] * 5, 7) * 9;
    uint64_t t = s [1] << 17;
    s [2] ^= s [0];
    s [3] ^= s [1];
    s [1] ^= s [2];
    s [0] ^= s [3];
    s [2] ^= t;
    s [3] = s_rotl (s [3], 45);
    return result;
}

uint64_t
zr_rng_range (zr_rng_t *self, uint64_t lo, uint64_t hi)
{
    zr_assert (hi > lo);
    return lo + zr_rng_next (self) % (hi - lo);
}
