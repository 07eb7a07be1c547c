/*  =========================================================================
    options - zraft-node's configuration: flags, environment, config file

    Every setting has a flag (--name), an environment variable
    (ZRAFT_NAME) and a key in the ZPL config file (name = n1); the value
    used is the first of flag > environment > config file > default. The
    parser reads nothing but what it is given (argv, an environment
    array, the file named by --config-file or ZRAFT_CONFIG_FILE), checks
    every value and every rule between values, and either fills the
    options or says what is wrong in one line naming the setting, where
    its value came from and what is accepted. It opens no socket and
    touches no data directory: whether the server can start there is
    zraft_new's question.

    Server ids are positions in --initial-cluster, from 1: every member
    must be given the same list in the same order. The bus endpoint
    (--listen-bus) is optional: without it the node serves no bus.
    =========================================================================
*/
#ifndef ZR_OPTIONS_H_INCLUDED
#define ZR_OPTIONS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ZR_OPTIONS_VERSION "0.1.0"      /* the Makefile's VERSION */
#define ZR_OPTIONS_MEMBERS_MAX 9        /* ZRAFT_NODES_MAX */
#define ZR_OPTIONS_NAME_MAX 64          /* ZR_CLIENT_NAME_MAX */
#define ZR_OPTIONS_ENDPOINT_MAX 255     /* ZR_CLIENT_ENDPOINT_MAX */
#define ZR_OPTIONS_PATH_MAX 1023        /* zraft_new's data_dir limit */
#define ZR_OPTIONS_HEARTBEAT_MAX 60000u /* --heartbeat-interval, ms */
#define ZR_OPTIONS_ELECTION_MAX 600000u /* --election-timeout, ms */
#define ZR_OPTIONS_SNAPSHOT_ENTRIES_MAX (1ull << 40)
#define ZR_OPTIONS_BUS_HEARTBEAT_MAX 60000u   /* --bus-heartbeat, ms */
#define ZR_OPTIONS_BUS_TIMEOUT_MAX 600000u    /* --bus-timeout, ms */
#define ZR_OPTIONS_WHY_MAX 512          /* one error line */

/* Log levels, in the order (and values) of include/zraft.h's ZRAFT_LOG_*. */
enum {
    ZR_OPTIONS_LOG_ERROR,
    ZR_OPTIONS_LOG_WARNING,
    ZR_OPTIONS_LOG_NOTICE,
    ZR_OPTIONS_LOG_INFO,
    ZR_OPTIONS_LOG_DEBUG
};

typedef enum { ZR_OPTIONS_TEXT = 0, ZR_OPTIONS_JSON = 1 } zr_options_format_t;

/* What zr_options_parse found the user asking for. */
typedef enum {
    ZR_OPTIONS_RUN = 0,                 /* start the server */
    ZR_OPTIONS_HELP = 1,                /* --help: print zr_options_usage */
    ZR_OPTIONS_SHOW_VERSION = 2         /* --version */
} zr_options_action_t;

typedef struct {
    char name [ZR_OPTIONS_NAME_MAX + 1];        /* [A-Za-z0-9._-], unique */
    char endpoint [ZR_OPTIONS_ENDPOINT_MAX + 1];/* tcp://host:port, unique */
} zr_options_member_t;

typedef struct {
    char name [ZR_OPTIONS_NAME_MAX + 1];        /* --name, one of members */
    uint32_t id;                        /* its position in members, 1-based */
    char data_dir [ZR_OPTIONS_PATH_MAX + 1];    /* --data-dir */
    char listen_peer [ZR_OPTIONS_ENDPOINT_MAX + 1];  /* == members[id-1] */
    char listen_client [ZR_OPTIONS_ENDPOINT_MAX + 1];/* the ROUTER's bind */
    char advertise_client [ZR_OPTIONS_ENDPOINT_MAX + 1]; /* no wildcard */
    char listen_bus [ZR_OPTIONS_ENDPOINT_MAX + 1];   /* "": no bus endpoint */
    char advertise_bus [ZR_OPTIONS_ENDPOINT_MAX + 1];/* "" iff listen_bus is */
    uint32_t bus_heartbeat_ms;          /* 1..ZR_OPTIONS_BUS_HEARTBEAT_MAX */
    uint32_t bus_timeout_ms;            /* 2 x heartbeat..._BUS_TIMEOUT_MAX */
    zr_options_member_t members [ZR_OPTIONS_MEMBERS_MAX]; /* --initial-cluster */
    uint32_t n_members;                 /* 1..ZR_OPTIONS_MEMBERS_MAX */
    uint32_t heartbeat_ms;              /* 1..ZR_OPTIONS_HEARTBEAT_MAX */
    uint32_t election_timeout_ms;       /* heartbeat_ms < it <= ..._MAX */
    uint64_t snapshot_entries;          /* 0 = not by count */
    uint64_t snapshot_trailing;         /* entries kept behind a snapshot */
    char config_file [ZR_OPTIONS_PATH_MAX + 1]; /* "" if none */
    int log_level;                      /* ZR_OPTIONS_LOG_* */
    zr_options_format_t log_format;     /* text or json */
    bool sched_batch;                   /* --sched batch: SCHED_BATCH */
    bool bus_tuned;                     /* --bus-heartbeat or --bus-timeout
                                           came from somewhere, not the
                                           defaults (needs --listen-bus) */
    char unknown_env [ZR_OPTIONS_WHY_MAX];  /* ZRAFT_* variables it does not
                                           read (zraft-ctl's aside), space
                                           separated, "" if none: a typo to
                                           warn about, not a reason to stop */
} zr_options_t;

/* Parses argv (argc entries, argv[0] the program) and envp (a
   NULL-terminated array of "KEY=value", may be NULL) into *self, reading
   the config file they name if any. Returns ZR_OPTIONS_RUN (every field
   set and checked), ZR_OPTIONS_HELP or ZR_OPTIONS_SHOW_VERSION (the
   other fields unset), or -1 with a one-line message in why (no
   trailing newline, at most why_size bytes): the caller exits 64. */
int zr_options_parse (zr_options_t *self, int argc, char *const argv [],
                      char *const envp [], char *why, size_t why_size);

/* Writes --help's text to out. */
void zr_options_usage (FILE *out);

/* Returns a static name for a ZR_OPTIONS_LOG_* level ("notice"). */
const char *zr_options_level_name (int level);

/* Formats a message into why (size bytes); returns -1, for
   "return zr_options_fail (...)" in the checks of options and the data
   directory (identity.h). */
int zr_options_fail (char *why, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
