/*  =========================================================================
    logger - where the library's log lines go (see logger.h)
    =========================================================================
*/
#include "transport.h"
#include <pthread.h>
#include <time.h>

/* The process-wide destination (logger.h): level read lock-free, the
   callback and its argument under the mutex, which also serialises the
   calls so that zr_logger_set can promise the old callback is done. */
static atomic_int s_level = ZR_LOG_NOTICE;
static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static zr_logger_fn *s_fn;              /* NULL: stderr */
static void *s_arg;                     /* passed to s_fn */

void
zr_logger_set (int level, zr_logger_fn *fn, void *arg)
{
    if (level < ZR_LOG_ERROR)
        level = ZR_LOG_ERROR;
    if (level > ZR_LOG_DEBUG)
        level = ZR_LOG_DEBUG;
    int rc = pthread_mutex_lock (&s_mutex);
    zr_assert (rc == 0);
    s_fn = fn;
    s_arg = arg;
    atomic_store (&s_level, level);
    rc = pthread_mutex_unlock (&s_mutex);
    zr_assert (rc == 0);
}

bool
zr_logger_enabled (int level)
{
    return level <= atomic_load_explicit (&s_level, memory_order_relaxed);
}

/* Writes line on stderr in czmq's shape: level letter, time, line. */
static void
s_stderr (int level, const char *line)
{
    static const char letters [] = "EWNID";
    zr_assert (level >= ZR_LOG_ERROR && level <= ZR_LOG_DEBUG);
    time_t now = time (NULL);
    struct tm tm;
    char stamp [32] = "";
    if (localtime_r (&now, &tm))
        strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf (stderr, "%c: %s %s\n", letters [level], stamp, line);
    fflush (stderr);
}

void
zr_logger_print (int level, const char *format, ...)
{
    zr_assert (format);
    if (!zr_logger_enabled (level))
        return;
    char line [ZR_LOG_LINE_MAX];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof line, format, args);
    va_end (args);
    int rc = pthread_mutex_lock (&s_mutex);
    zr_assert (rc == 0);
    if (zr_logger_enabled (level)) {    /* the level may have moved */
        if (s_fn)
            s_fn (s_arg, level, line);
        else
            s_stderr (level, line);
    }
    rc = pthread_mutex_unlock (&s_mutex);
    zr_assert (rc == 0);
}
