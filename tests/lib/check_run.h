/*  =========================================================================
    check_run - the one way every test binary runs its Check suite
    =========================================================================
*/
#ifndef ZR_TEST_CHECK_RUN_H_INCLUDED
#define ZR_TEST_CHECK_RUN_H_INCLUDED

#include <check.h>

/* Runs suite s (taking it), prints Check's summary; returns main's exit
   status: 0 if every test passed, 1 otherwise. */
static inline int
check_run (Suite *s)
{
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? 1 : 0;
}

#endif
