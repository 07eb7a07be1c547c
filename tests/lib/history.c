/*  =========================================================================
    history - what the history checkers of tests/lib share (see
    history.h)
    =========================================================================
*/
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "history.h"

char *
history_strdup (const char *text)
{
    if (!text)
        return NULL;
    char *copy = strdup (text);
    HISTORY_REQUIRE ("history", copy, "out of memory");
    return copy;
}

void
history_json_text (FILE *out, const char *text, size_t max)
{
    size_t i = 0;
    for (; text [i] && i < max; i++) {
        unsigned char c = (unsigned char) text [i];
        if (c == '"' || c == '\\')
            fprintf (out, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            fprintf (out, "\\u%04x", c);
        else
            fputc (c, out);
    }
    if (text [i])
        fputs ("...", out);
}

int
history_close (FILE *out)
{
    int failed = ferror (out);
    if (fclose (out) != 0 || failed) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
