/*  =========================================================================
    test_install - make install, and examples/ built against the install

    The Check face of tests/install.sh, so that make test counts it: the
    script installs into a temporary DESTDIR, checks the files, the
    soname links and libzraft.pc, builds every .c of examples/ with
    pkg-config alone against that install, and uninstalls (see the
    script's header). A second test shows the script can fail: with no
    example to build it must refuse, not pass vacuously. The Makefile
    gives SRC_DIR (the checkout) and BUILD_DIR (its $(B)).
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined (SRC_DIR) || !defined (BUILD_DIR)
#   error "SRC_DIR and BUILD_DIR come from the Makefile"
#endif

/* make install copies; the examples compile in seconds. A loaded
   machine (the suite runs beside other builds) gets a wide margin. */
#define S_TIMEOUT_S 600
#define S_OUTPUT_MAX 16384              /* script output kept for a check */

/* Runs tests/install.sh on BUILD_DIR with examples_dir as its examples/
   (NULL: the checkout's), its output (stdout and stderr) into out.
   Returns the script's exit status, or -1 if it did not exit. */
static int
s_install_sh (const char *examples_dir, char *out, size_t out_size)
{
    ck_assert (out && out_size > 1);
    char command [1024];
    int n = snprintf (command, sizeof command,
                      "%s%s%s '%s/tests/install.sh' '%s' 2>&1",
                      examples_dir ? "INSTALL_EXAMPLES_DIR='" : "",
                      examples_dir ? examples_dir : "",
                      examples_dir ? "'" : "", SRC_DIR, BUILD_DIR);
    ck_assert (n > 0 && (size_t) n < sizeof command);
    FILE *pipe = popen (command, "r");
    ck_assert_ptr_nonnull (pipe);
    size_t used = 0;
    char line [512];
    while (fgets (line, sizeof line, pipe)) {
        fputs (line, stdout);           /* the suite's log shows each step */
        size_t len = strlen (line);
        if (used + len < out_size) {
            memcpy (out + used, line, len);
            used += len;
        }
    }
    out [used] = 0;
    int status = pclose (pipe);
    fflush (stdout);
    return status != -1 && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* make install into a DESTDIR puts the library, its soname links, the
   header, a libzraft.pc naming PREFIX, the programs and the man pages
   in place; every example builds against it with pkg-config alone and
   needs libzraft.so.0; make uninstall removes it all. */
START_TEST (install_destdir_builds_examples)
{
    char out [S_OUTPUT_MAX];
    int rc = s_install_sh (NULL, out, sizeof out);
    ck_assert_msg (rc == 0, "tests/install.sh exited %d:\n%s", rc, out);
    ck_assert_ptr_nonnull (strstr (out, "install.sh: ok"));
}
END_TEST

/* With no example to build, the install test fails, saying why. */
START_TEST (install_without_examples_fails)
{
    char empty [] = "/tmp/zraft-install-empty-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (empty));
    char out [S_OUTPUT_MAX];
    int rc = s_install_sh (empty, out, sizeof out);
    rmdir (empty);
    ck_assert_int_eq (rc, 1);
    ck_assert_msg (strstr (out, "no .c file in") != NULL,
                   "no reason given:\n%s", out);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("install");
    TCase *tc = tcase_create ("install");
    tcase_set_timeout (tc, S_TIMEOUT_S);
    tcase_add_test (tc, install_destdir_builds_examples);
    tcase_add_test (tc, install_without_examples_fails);
    suite_add_tcase (s, tc);
    return check_run (s);
}
