/*  =========================================================================
    journal - zraft-node's log: one line per event on stderr, text or json

    See journal.h for the line shapes. JSON escaping: '"', '\' and control
    characters are escaped, and so is every byte from 0x80 up (as \u00XX),
    which keeps each line valid JSON whatever bytes a message holds.
    =========================================================================
*/
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "options.h"

#define S_NAME_MAX 64                   /* node name bytes kept */
#define S_MESSAGE_MAX 1024              /* message bytes kept */

/* The process's log settings (see journal.h). */
static struct {
    char name [S_NAME_MAX + 1];         /* node name, set once */
    int level;                          /* lowest level written */
    bool json;                          /* json lines, else text */
    int fd;                             /* where lines go */
    atomic_uint_fast64_t term;          /* the node's current term */
    atomic_int role;                    /* ZR_JOURNAL_* */
} s_log = {.name = "-", .level = ZR_OPTIONS_LOG_NOTICE, .fd = 2};

static const char *s_roles [] = {"follower", "candidate", "leader", "stopped",
                                 "starting"};

void
zr_journal_setup (const char *name, int level, bool json, int fd)
{
    assert (name && fd >= 0);
    assert (level >= ZR_OPTIONS_LOG_ERROR && level <= ZR_OPTIONS_LOG_DEBUG);
    snprintf (s_log.name, sizeof s_log.name, "%s", name);
    s_log.level = level;
    s_log.json = json;
    s_log.fd = fd;
    atomic_store (&s_log.term, 0);
    atomic_store (&s_log.role, ZR_JOURNAL_STARTING);
}

void
zr_journal_set_state (uint64_t term, int role)
{
    assert (role >= ZR_JOURNAL_FOLLOWER && role <= ZR_JOURNAL_STARTING);
    atomic_store (&s_log.term, term);
    atomic_store (&s_log.role, role);
}

bool
zr_journal_enabled (int level)
{
    return level <= s_log.level;
}

/* Appends text to buf (size bytes, *used so far), JSON-escaped if
   escape, cutting it (with "...") where it would not fit in limit. */
static void
s_append (char *buf, size_t size, size_t *used, const char *text,
          bool escape, size_t limit)
{
    assert (*used < size && limit <= size);
    size_t at = *used;
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        char piece [8];
        size_t n = 1;
        piece [0] = (char) *c;
        if (escape && (*c == '"' || *c == '\\'))
            n = (size_t) snprintf (piece, sizeof piece, "\\%c", *c);
        else
        if (escape && (*c < 0x20 || *c >= 0x80))
            n = (size_t) snprintf (piece, sizeof piece, "\\u%04x", *c);
        else
        if (!escape && (*c < 0x20 || *c == 0x7f))
            piece [0] = '?';           /* one line, whatever the text */
        if (at + n + 4 > limit) {
            memcpy (buf + at, "...", 3);
            at += 3;
            break;
        }
        memcpy (buf + at, piece, n);
        at += n;
    }
    buf [at] = 0;
    *used = at;
}

/* Formats the current UTC time as 2026-01-02T03:04:05.678Z. */
static void
s_timestamp (char *buf, size_t size)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    size_t n = strftime (buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    assert (n > 0 && n + 6 <= size);
    snprintf (buf + n, size - n, ".%03dZ", (int) (now.tv_nsec / 1000000) % 1000);
}

/* Writes one line holding message at level. */
static void
s_write (int level, const char *message)
{
    assert (level >= ZR_OPTIONS_LOG_ERROR && level <= ZR_OPTIONS_LOG_DEBUG);
    char line [ZR_JOURNAL_LINE_MAX];
    char time [40];
    s_timestamp (time, sizeof time);
    unsigned long long term = atomic_load (&s_log.term);
    int role = atomic_load (&s_log.role);
    const char *level_name = zr_options_level_name (level);
    size_t used = (size_t) snprintf (line, sizeof line, s_log.json
        ? "{\"time\":\"%s\",\"level\":\"%s\",\"node\":\"%s\",\"term\":%llu,"
          "\"role\":\"%s\",\"msg\":\""
        : "%s %s %s term=%llu role=%s: ", time, level_name, s_log.name, term,
        s_roles [role]);
    assert (used < sizeof line / 2);
    s_append (line, sizeof line, &used, message, s_log.json, sizeof line - 4);
    memcpy (line + used, s_log.json ? "\"}\n" : "\n", s_log.json ? 4 : 2);
    used += s_log.json ? 3 : 1;
    ssize_t rc;
    do
        rc = write (s_log.fd, line, used);
    while (rc < 0 && errno == EINTR);
}

void
zr_journal_log (int level, const char *format, ...)
{
    if (!zr_journal_enabled (level))
        return;
    char message [S_MESSAGE_MAX];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    s_write (level, message);
}

void
zr_journal_line (void *arg, int level, const char *line)
{
    (void) arg;
    if (level < ZR_OPTIONS_LOG_ERROR)
        level = ZR_OPTIONS_LOG_ERROR;
    if (level > ZR_OPTIONS_LOG_DEBUG)
        level = ZR_OPTIONS_LOG_DEBUG;
    if (zr_journal_enabled (level))
        s_write (level, line ? line : "");
}

void
zr_journal_malformed (zr_journal_limit_t *limit, int64_t now_ms,
                      const char *what, const char *noun, const void *data,
                      size_t size, const char *why)
{
    assert (limit && what && noun && why && (data || size == 0));
    limit->count++;
    if (limit->any && now_ms - limit->logged < ZR_JOURNAL_MALFORMED_MS) {
        limit->quiet++;
        return;
    }
    char sample [2 * ZR_JOURNAL_SAMPLE_BYTES + 1] = "";
    for (size_t i = 0; i < size && i < ZR_JOURNAL_SAMPLE_BYTES; i++)
        snprintf (sample + 2 * i, 3, "%02x", ((const unsigned char *) data) [i]);
    zr_journal_log (ZR_OPTIONS_LOG_WARNING, "%s: malformed %s (%s): %zu bytes,"
                    " starting %s; %llu malformed so far, %llu not logged",
                    what, noun, why, size, sample,
                    (unsigned long long) limit->count,
                    (unsigned long long) limit->quiet);
    limit->logged = now_ms;
    limit->any = true;
    limit->quiet = 0;
}
