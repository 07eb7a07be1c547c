/*  =========================================================================
    logger - where the library's log lines go (zraft_log_set)

    Every line the library logs goes through zr_logger_print, never
    through czmq's zsys_* (which write on the application's stdout by
    default): lines at or above the level set go to the application's
    callback, or to stderr when it set none. The default is stderr at
    ZR_LOG_NOTICE. The setting is process-wide, as a log destination is;
    it is the library's one piece of global state, guarded by a mutex
    (set) and an atomic (the level, read on every call).

    Line shape (STYLE.md): "n<id> <actor>[/<peer>]: <event> key=value ...";
    the logger adds nothing to the line it hands to the callback. On
    stderr it prefixes a level letter and the time, as czmq does:
    "N: 2025-01-31 12:00:00 n1 node: started".

    Transport layer: the lowest one that logs (raft/ does not log).
    =========================================================================
*/
#ifndef ZR_LOGGER_H_INCLUDED
#define ZR_LOGGER_H_INCLUDED

/* Levels, most severe first (the same values as ZRAFT_LOG_*). */
enum {
    ZR_LOG_ERROR = 0,                   /* this server cannot continue correctly */
    ZR_LOG_WARNING = 1,                 /* a peer or the disk misbehaves */
    ZR_LOG_NOTICE = 2,                  /* role, term, start and stop */
    ZR_LOG_INFO = 3,                    /* periodic statistics */
    ZR_LOG_DEBUG = 4                    /* per RPC */
};

#define ZR_LOG_LINE_MAX 1024            /* bytes of one line, longer ones cut */

typedef void (zr_logger_fn) (void *arg, int level, const char *line);

/* Sets where lines at or above level go: fn(arg, level, line) on the
   calling thread of the logging code, one call at a time (they are
   serialised), or stderr if fn is NULL. When it returns, no call to the
   previous fn is in progress or will start. fn must not call
   zr_logger_set. level is clamped to ZR_LOG_ERROR..ZR_LOG_DEBUG. */
void zr_logger_set (int level, zr_logger_fn *fn, void *arg);

/* Returns true if a line at level would be logged. */
bool zr_logger_enabled (int level);

/* Formats one line (printf) and logs it at level. Never fails: a line
   over ZR_LOG_LINE_MAX bytes is cut. */
void zr_logger_print (int level, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

#define zr_error(...) zr_logger_print (ZR_LOG_ERROR, __VA_ARGS__)
#define zr_warning(...) zr_logger_print (ZR_LOG_WARNING, __VA_ARGS__)
#define zr_notice(...) zr_logger_print (ZR_LOG_NOTICE, __VA_ARGS__)
#define zr_info(...) zr_logger_print (ZR_LOG_INFO, __VA_ARGS__)
#define zr_debug(...)                                                        \
    do {                                                                     \
        if (zr_logger_enabled (ZR_LOG_DEBUG))                                \
            zr_logger_print (ZR_LOG_DEBUG, __VA_ARGS__);                     \
    } while (0)

#endif
