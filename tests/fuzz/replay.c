/*  =========================================================================
    replay - runs a fuzz target on saved inputs, without libFuzzer

    Linked with one target (tests/fuzz/fuzz_<name>.c) into
    build/tests/fuzz/replay_<name> by gcc, so make test needs no clang.
    - Without arguments it is a Check test, suite "fuzz", tcase <name>:
      replay_corpus replays tests/fuzz/corpus/<name>/ (which must not be
      empty) and replay_crashes every input in tests/fuzz/crashes/<name>/
      that once crashed the target (kept forever). A crash or failed
      check fails the test; the input's path is printed first.
    - With arguments (files or directories) it replays those and prints
      how many inputs it ran: the way to reproduce a crash under gdb.
    Names starting with '.' are skipped (.gitkeep).
    =========================================================================
*/
#include "fuzz.h"

#include <check.h>
#include "../lib/check_run.h"
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_DIR
#   error "FUZZ_DIR, the tests/fuzz directory, comes from the Makefile"
#endif

/* Largest input replayed: libFuzzer's inputs are far smaller. */
#define S_INPUT_BYTES_MAX (64u << 20)
/* A test replays a whole directory, wal inputs touch the disk. */
#define S_TIMEOUT_S 120

static char s_current [1024];           /* input being replayed, for a crash */

static void
s_crashed (int sig)
{
    const char *head = "replay: crashed on ";
    ssize_t rc = write (STDERR_FILENO, head, strlen (head));
    rc = write (STDERR_FILENO, s_current, strlen (s_current));
    rc = write (STDERR_FILENO, "\n", 1);
    (void) rc;
    signal (sig, SIG_DFL);
    raise (sig);
}

/* Replays the file at path. Returns 0, or -1 if it cannot be read. */
static int
s_replay_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    struct stat st;
    if (fstat (fileno (file), &st) || st.st_size > S_INPUT_BYTES_MAX) {
        fclose (file);
        return -1;
    }
    size_t size = (size_t) st.st_size;
    /* One byte more, so an empty input has a buffer too. */
    uint8_t *data = (uint8_t *) malloc (size + 1);
    size_t got = data ? fread (data, 1, size, file) : 0;
    fclose (file);
    if (got != size) {
        free (data);
        return -1;
    }
    snprintf (s_current, sizeof s_current, "%s", path);
    LLVMFuzzerTestOneInput (data, size);
    free (data);
    return 0;
}

static int
s_select (const struct dirent *de)
{
    return de->d_name [0] != '.';
}

/* Replays path, a file or every file of a directory in name order.
   Returns the inputs replayed, or -1 if one could not be read. */
static int
s_replay (const char *path)
{
    struct stat st;
    if (stat (path, &st))
        return -1;
    if (!S_ISDIR (st.st_mode))
        return s_replay_file (path) == 0 ? 1 : -1;
    struct dirent **names;
    int n = scandir (path, &names, s_select, alphasort);
    if (n < 0)
        return -1;
    int replayed = 0;
    for (int i = 0; i < n; i++) {
        char file [1024];
        snprintf (file, sizeof file, "%s/%s", path, names [i]->d_name);
        if (replayed >= 0)
            replayed = s_replay_file (file) == 0 ? replayed + 1 : -1;
        free (names [i]);
    }
    free (names);
    return replayed;
}

START_TEST (replay_corpus)
{
    /* Every input of the checked-in corpus runs without a failed check. */
    char dir [512];
    snprintf (dir, sizeof dir, "%s/corpus/%s", FUZZ_DIR, fuzz_target);
    ck_assert_int_gt (s_replay (dir), 0);
}
END_TEST

START_TEST (replay_crashes)
{
    /* Every input that once crashed the target is handled now. */
    char dir [512];
    snprintf (dir, sizeof dir, "%s/crashes/%s", FUZZ_DIR, fuzz_target);
    struct stat st;
    if (stat (dir, &st) == 0)
        ck_assert_int_ge (s_replay (dir), 0);
}
END_TEST

int
main (int argc, char **argv)
{
    signal (SIGABRT, s_crashed);
    signal (SIGSEGV, s_crashed);
    signal (SIGBUS, s_crashed);
    signal (SIGFPE, s_crashed);
    if (argc > 1) {
        int total = 0;
        for (int i = 1; i < argc; i++) {
            int n = s_replay (argv [i]);
            if (n < 0) {
                fprintf (stderr, "replay: cannot read %s\n", argv [i]);
                return 1;
            }
            total += n;
        }
        printf ("replay %s: %d inputs\n", fuzz_target, total);
        return 0;
    }
    Suite *s = suite_create ("fuzz");
    TCase *tc = tcase_create (fuzz_target);
    tcase_set_timeout (tc, S_TIMEOUT_S);
    tcase_add_test (tc, replay_corpus);
    tcase_add_test (tc, replay_crashes);
    suite_add_tcase (s, tc);
    return check_run (s);
}
