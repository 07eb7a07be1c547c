/*  =========================================================================
    rng - a small seeded pseudo-random generator (xoshiro256**)

    The core draws election timeouts from it. The caller seeds it, so a
    simulation replays bit for bit from its seed.
    =========================================================================
*/
#ifndef ZR_RNG_H_INCLUDED
#define ZR_RNG_H_INCLUDED

typedef struct {
    uint64_t s [4];                     /* generator state, never all zero */
} zr_rng_t;

/* Seeds the generator (any seed, 0 included, gives a valid state). */
void zr_rng_seed (zr_rng_t *self, uint64_t seed);

/* Returns the next 64 random bits. */
uint64_t zr_rng_next (zr_rng_t *self);

/* Returns a value uniformly in [lo, hi); hi > lo. */
uint64_t zr_rng_range (zr_rng_t *self, uint64_t lo, uint64_t hi);

#endif
