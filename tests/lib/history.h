/*  =========================================================================
    history - what the history checkers of tests/lib share
    (linearize, totalorder): aborting on a test's misuse, copies that
    cannot fail, JSON text in their dumps and the dumps' end
    =========================================================================
*/
#ifndef ZR_TEST_HISTORY_H_INCLUDED
#define ZR_TEST_HISTORY_H_INCLUDED

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Misuse of a recorder by a test (who: the checker's name): no recovery
   makes sense, so it says where and aborts. */
#define HISTORY_REQUIRE(who, cond, what)                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf (stderr, "%s: %s (%s) at %s:%d\n", who, what, #cond,    \
                     __FILE__, __LINE__);                                   \
            abort ();                                                       \
        }                                                                   \
    } while (0)

/* A copy of text (NULL stays NULL); aborts if out of memory. */
char *history_strdup (const char *text);

/* Writes text as the body of a JSON string: '"' and '\' escaped, bytes
   outside printable ASCII as \u00XX; at most max bytes of it, "..."
   after. */
void history_json_text (FILE *out, const char *text, size_t max);

/* Closes a dump written to out. Returns 0, or -1 with errno set if a
   write or the close failed. */
int history_close (FILE *out);

#endif
