/*  =========================================================================
    fuzz.h - what every fuzz target shares: its entry point, a check that
    aborts with a message, and the allocation counter

    A target is tests/fuzz/fuzz_<decoder>.c. It defines
    LLVMFuzzerTestOneInput and fuzz_target (its name), and nothing else
    extern. The same object links into two programs: with clang's
    libFuzzer (make fuzz, build-fuzz/fuzz/fuzz_<decoder>), and with
    tests/fuzz/replay.c, a Check test that replays the checked-in corpus
    and crash inputs under gcc (make test).

    Allocation bound. Every target brackets the decoder call with
    fuzz_alloc_begin / fuzz_alloc_bytes and checks FUZZ_ALLOC_WITHIN: the
    bytes requested from malloc, calloc and realloc during the call (all
    of them, freed or not: a sum, not a peak) may not exceed
    multiple * input size + constant. tests/fuzz/alloc.c counts them.
    =========================================================================
*/
#ifndef ZR_FUZZ_H_INCLUDED
#define ZR_FUZZ_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry point, defined by each target. Returns 0. */
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The target's name, "codec" for fuzz_codec.c: the replay test finds
   tests/fuzz/corpus/<name>/ and tests/fuzz/crashes/<name>/ with it. */
extern const char fuzz_target [];

/* Aborts with the condition, file and line when cond is false: libFuzzer
   saves the input as a crash, the replay test fails. */
#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf (stderr, "fuzz: check failed: %s (%s:%d)\n", #cond,      \
                     __FILE__, __LINE__);                                    \
            abort ();                                                        \
        }                                                                    \
    } while (0)

/* Starts counting the bytes this thread's code asks malloc, calloc and
   realloc for (from zero). */
void fuzz_alloc_begin (void);

/* Stops counting and returns the bytes requested since fuzz_alloc_begin. */
uint64_t fuzz_alloc_bytes (void);

/* Aborts, printing the figures, when bytes > multiple * size + constant. */
#define FUZZ_ALLOC_WITHIN(bytes, size, multiple, constant)                   \
    do {                                                                     \
        uint64_t fuzz_limit_ = (uint64_t) (multiple) * (size) + (constant);  \
        if ((bytes) > fuzz_limit_) {                                         \
            fprintf (stderr, "fuzz: %llu bytes allocated for an input of "   \
                     "%zu bytes, limit %llu (%s:%d)\n",                      \
                     (unsigned long long) (bytes), (size_t) (size),          \
                     (unsigned long long) fuzz_limit_, __FILE__, __LINE__);  \
            abort ();                                                        \
        }                                                                    \
    } while (0)

/* Returns the target's scratch directory (tests/fuzz/scratch.c), made
   on the first call, removed at exit. */
const char *fuzz_scratch_dir (void);

/* Removes every file in the scratch directory, which must exist. */
void fuzz_scratch_clear (void);

/* Removes every file in the scratch directory but names [n]: the files
   the target is about to overwrite (O_TRUNC costs less than an unlink
   and a create) or means to keep. */
void fuzz_scratch_clear_except (const char *const *names, size_t n);

/* A descriptor of the scratch directory, open until exit (for openat:
   no path to walk). The caller must not close it. */
int fuzz_scratch_fd (void);

/* Returns the lowest free file descriptor: equal before and after a
   call, the call leaked none. */
int fuzz_fd_free (void);

#endif
