/*  =========================================================================
    zraft-ctl - the command-line client of a zraft-node cluster

    Reads and writes keys, shows every server's state, moves leadership,
    asks for a snapshot and sets the fault filter for chaos drills, all
    through the client protocol (transport/client.h); publishes,
    subscribes and lists cursors through the bus protocol
    (transport/bus.h). Finding the leader, retries and the outcome of a
    request are bin/lib/client.h's and bin/lib/busclient.h's work; this
    file parses the command line, fans requests out and prints.

    Exit codes (scripts and tests depend on them; docs/man/zraft-ctl.1):
    | 0  | it took effect (get: the value was read; cas: the outcome is  |
    |    | in the output; status: at least one server answered)         |
    | 1  | it certainly did not take effect                              |
    | 2  | unknown: a request left and no reply settled it (timed out,   |
    |    | or the connection dropped); fault, partition, heal: some      |
    |    | links were changed and others not                             |
    | 64 | usage error (EX_USAGE): a bad flag, verb, argument or endpoint|

    With -w json exactly one JSON object goes to stdout, whatever
    happens (pub from stdin and sub: one per message, then one more if
    something fails); messages for people go to stderr. Keys and values are
    bytes: in JSON, bytes that are not UTF-8 and control characters are
    written as \u00XX.

    The program's functions take their output streams and environment as
    arguments so tests/unit/test_ctl.c can include this file (with
    ZR_CTL_NO_MAIN) and drive them without a process.
    =========================================================================
*/
#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "lib/busclient.h"
#include "lib/client.h"
#include "lib/endpoint.h"
#include "../raft/raft.h"

#ifndef ZR_CTL_VERSION
#define ZR_CTL_VERSION "0.1.0"
#endif

#define S_EXIT_DONE 0
#define S_EXIT_FAILED 1
#define S_EXIT_UNKNOWN 2
#define S_EXIT_USAGE 64                 /* sysexits.h EX_USAGE */

#define S_ARGS_MAX 3                    /* positional arguments after the verb */
#define S_WINDOW 128                    /* requests in flight in a fan-out */
#define S_NODES_MAX (ZR_KVCLIENT_ENDPOINTS_MAX + ZR_NODES_MAX)
#define S_POLL_MS 50                    /* transfer: status poll interval */
#define S_MESSAGE_MAX 1024              /* one error message */
#define S_FAULT_DELAY_MS_MAX 60000      /* transport/client.h */
#define S_PPM 1000000u
#define S_COMMIT_EVERY 1000             /* sub --cursor: commit this often */
#define S_COMMIT_MS 1000                /* ... or after this long */
#define S_TICK_MS 200                   /* sub: check signals this often */
#define S_SIGNAL_AGAIN_MS 500           /* sub --cursor: the same stop, twice */
#define S_MOVE_ON_MAX 3                 /* sub --cursor --from first: tries */

typedef enum {
    S_PUT, S_GET, S_DEL, S_CAS, S_STATUS, S_TRANSFER, S_SNAPSHOT,
    S_FAULT, S_PARTITION, S_HEAL, S_PUB, S_SUB, S_CURSORS
} s_verb_t;

static const struct {
    const char *name;
    size_t n_args;                      /* positional arguments it takes */
    size_t n_args_max;                  /* ... at most (0: n_args) */
} s_verbs [] = {
    [S_PUT] = {"put", 2, 0}, [S_GET] = {"get", 1, 0}, [S_DEL] = {"del", 1, 0},
    [S_CAS] = {"cas", 3, 0}, [S_STATUS] = {"status", 0, 0},
    [S_TRANSFER] = {"transfer", 1, 0}, [S_SNAPSHOT] = {"snapshot", 0, 0},
    [S_FAULT] = {"fault", 1, 0}, [S_PARTITION] = {"partition", 1, 0},
    [S_HEAL] = {"heal", 0, 0}, [S_PUB] = {"pub", 1, 2},
    [S_SUB] = {"sub", 0, 0}, [S_CURSORS] = {"cursors", 0, 0},
};
#define S_VERBS (sizeof s_verbs / sizeof s_verbs [0])

#define S_OPTIONS_MAX 16                /* distinct options a line may give */
#define S_OPTION_NAME_MAX 20            /* the longest option's name + 1 */

/* The command line, parsed. Strings point into argv or endpoints_buf. */
typedef struct {
    bool help, version;                 /* --help, --version: print, exit 0 */
    s_verb_t verb;
    const char *args [S_ARGS_MAX];      /* the verb's arguments */
    size_t n_args;
    char *endpoints_buf;                /* owned copy of the list, split */
    const char *endpoints [ZR_KVCLIENT_ENDPOINTS_MAX];
    size_t n_endpoints;
    char *bus_endpoints_buf;            /* owned copy of the bus list, split */
    const char *bus_endpoints [ZR_BUSCLIENT_ENDPOINTS_MAX];
    size_t n_bus_endpoints;
    char found [ZR_NODES_MAX][ZR_CLIENT_ENDPOINT_MAX + 1];  /* bus endpoints
                                           status named (s_bus_discover) */
    int timeout_ms;                     /* --timeout, default 5000 */
    bool timeout_given;                 /* sub: stop at --timeout */
    bool has_from;                      /* sub --from given */
    zr_busmsg_from_t from_mode;            /* sub --from: default next */
    uint64_t from;                      /* ... an index */
    const char *subject;                /* sub --subject PREFIX, or NULL */
    const char *cursor;                 /* sub --cursor NAME, or NULL */
    uint64_t count;                     /* sub --count N; 0: no limit */
    bool json;                          /* -w json */
    bool stale;                         /* get --stale */
    bool has_drop, has_delay;           /* fault --drop, --delay given */
    uint32_t drop_ppm;                  /* fault --drop P, in ppm */
    uint32_t delay_ms;                  /* fault --delay MS */
    char given [S_OPTIONS_MAX][S_OPTION_NAME_MAX];  /* options seen */
    size_t n_given;
    char error [S_MESSAGE_MAX];         /* the first usage error, "" none */
} ctl_args_t;

/* One run: the arguments, where output goes, the client. */
typedef struct {
    ctl_args_t *args;
    FILE *out;                          /* results (the JSON object) */
    FILE *err;                          /* messages for people */
    zr_kvclient_t *client;              /* the key/value verbs' */
    zr_busclient_t *bus;                /* the bus verbs' */
    FILE *in;                           /* pub SUBJECT: the messages */
    int64_t deadline;                   /* zclock_mono: --timeout from start */
} ctl_t;

static const char s_usage [] =
"Usage: zraft-ctl [OPTIONS] VERB [ARGS]\n"
"\n"
"The command-line client of a zraft-node cluster. It finds the leader\n"
"itself, follows redirects and retries within --timeout.\n"
"\n"
"Verbs:\n"
"  put K V                 set key K to value V\n"
"  get K [--stale]         read K (linearizable; --stale: from the first\n"
"                          server that answers, leader or not)\n"
"  del K                   delete K\n"
"  cas K OLD NEW           set K to NEW if its value is OLD\n"
"  status                  every server: name, role, term, leader, commit,\n"
"                          applied, first and last index, snapshot index,\n"
"                          bus endpoint\n"
"  transfer NAME           hand leadership to NAME and wait until it leads\n"
"  snapshot                ask the leader to take a snapshot now\n"
"  fault NAME [--drop P] [--delay MS]\n"
"                          every message into and out of NAME is dropped\n"
"                          with probability P (0..1) and held MS ms\n"
"                          (0..60000); neither (or both 0) clears\n"
"                          NAME's links\n"
"  partition NAME          cut NAME off from the others, both ways\n"
"  heal                    clear every fault on every link\n"
"  pub SUBJECT DATA        publish DATA under SUBJECT on the bus; prints\n"
"                          where it went: index term\n"
"  pub SUBJECT             publish each line of standard input (pipelined,\n"
"                          one producer id: retries never duplicate)\n"
"  sub [--from N|first|last|next] [--subject PREFIX] [--cursor NAME]\n"
"      [--count N]         print what is published, one line each:\n"
"                          index term subject data (default --from next);\n"
"                          with --cursor, resume after the cursor NAME (if\n"
"                          it exists; if the log no longer holds where it\n"
"                          stands, at --from if given) and commit it as\n"
"                          messages go by;\n"
"                          stops after N messages, at --timeout if given,\n"
"                          or on SIGINT/SIGTERM\n"
"  cursors                 every durable cursor: name index\n"

"\n"
"Options (anywhere on the line; -- ends them):\n"
"  --endpoints E1,E2,...   client endpoints of the servers (ZRAFT_ENDPOINTS)\n"
"  --bus-endpoints E1,...  bus endpoints of the servers, for pub, sub and\n"
"                          cursors (ZRAFT_BUS_ENDPOINTS); without them,\n"
"                          those the client endpoints' status names\n"
"  --timeout MS            give up after MS ms (default 5000)\n"
"  -w, --write-out FORMAT  table (default) or json\n"
"  -h, --help              print this and exit\n"
"  --version               print the version and exit\n"
"\n"
"Environment:\n"
"  ZRAFT_ENDPOINTS         the endpoints, when --endpoints is not given\n"
"  ZRAFT_BUS_ENDPOINTS     the bus endpoints, when --bus-endpoints is not\n"
"                          given\n"
"\n"
"Output with -w json, exactly one object on stdout:\n"
"  put, del, snapshot, transfer, fault, partition, heal: {\"ok\":true}\n"
"  get: {\"found\":true,\"value\":\"...\"} or {\"found\":false}\n"
"  cas: {\"swapped\":true} or {\"swapped\":false}\n"
"  status: {\"nodes\":[{\"name\":..,\"id\":..,\"endpoint\":..,\n"
"          \"bus_endpoint\":..,\"role\":\"leader|follower|candidate|\n"
"          unreachable|unknown|wrong-endpoint\",\"health\":\"\" (or\n"
"          what ails it: \"disk failed\", \"stopping\"),\"term\":..,\"leader\":..,\n"
"          \"leader_id\":..,\"commit\":..,\"applied\":..,\"first_index\":..,\n"
"          \"last_index\":..,\"snapshot_index\":..}]}\n"
"  pub: {\"index\":..,\"term\":..,\"duplicate\":false}, one per line read\n"
"  sub: {\"index\":..,\"term\":..,\"subject\":\"...\",\"data\":\"...\"} per\n"
"       message\n"
"  cursors: {\"cursors\":{\"NAME\":INDEX,...}}\n"
"  any failure: {\"error\":\"...\"}\n"
"\n"
"Exit status:\n"
"  0   it took effect (get: the value was read; cas: the outcome is in the\n"
"      output; status: at least one server answered; sub: it ran until\n"
"      --count, --timeout or a signal, and committed its cursor)\n"
"  1   it certainly did not take effect (sub: it ended early, e.g. its\n"
"      start is no longer in the log, no server took it, or --count was\n"
"      not reached in time)\n"
"  2   unknown: it timed out or the connection dropped after the request\n"
"      left; it may have taken effect (fault, partition, heal: some links\n"
"      were changed and others not)\n"
"  64  usage error\n";

/* ----------------------------------------------------------------------
   Arguments
   ---------------------------------------------------------------------- */

static void s_usage_error (ctl_args_t *args, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Records the first usage error. */
static void
s_usage_error (ctl_args_t *args, const char *format, ...)
{
    if (args->error [0])
        return;
    va_list ap;
    va_start (ap, format);
    vsnprintf (args->error, sizeof args->error, format, ap);
    va_end (ap);
}

/* A whole decimal integer in [lo, hi]; returns false otherwise. */
static bool
s_parse_int (const char *text, long long lo, long long hi, long long *value)
{
    if (!text || !*text)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || *end || end == text || v < lo || v > hi)
        return false;
    *value = v;
    return true;
}

/* A probability "0".."1" (decimal, as strtod reads it) as ppm. */
static bool
s_parse_probability (const char *text, uint32_t *ppm)
{
    if (!text || !*text)
        return false;
    char *end = NULL;
    errno = 0;
    double p = strtod (text, &end);
    if (errno || *end || end == text || !isfinite (p) || p < 0 || p > 1)
        return false;
    *ppm = (uint32_t) llround (p * S_PPM);
    return true;
}

_Static_assert (ZR_BUSCLIENT_ENDPOINTS_MAX == ZR_KVCLIENT_ENDPOINTS_MAX,
                "one endpoint table size");

/* Splits a comma-separated list into endpoints [] (*n of them), the
   strings in *buf_p (a copy of list, owned by args). */
static void
s_split_endpoints (ctl_args_t *args, char **buf_p, const char **endpoints,
                   size_t *n, const char *list, const char *from)
{
    free (*buf_p);
    *buf_p = strdup (list);
    zr_assert (*buf_p);
    *n = 0;
    char *rest = *buf_p;
    while (rest) {
        char *item = strsep (&rest, ",");
        item += strspn (item, " \t");  /* "a, b" as "a,b" */
        size_t length = strlen (item);
        while (length > 0 && (item [length - 1] == ' ' || item [length - 1] == '\t'))
            item [--length] = 0;
        if (!*item) {
            s_usage_error (args, "%s: an empty endpoint in '%s'", from, list);
            return;
        }
        bool wildcard = false;
        if (!zr_endpoint_tcp_valid (item, ZR_CLIENT_ENDPOINT_MAX, &wildcard)
            || wildcard) {
            s_usage_error (args, "%s: '%s' is not an endpoint to connect to"
                                 " (tcp://HOST:PORT, a port in 1..65535, a host"
                                 " that is not a wildcard such as * or 0.0.0.0,"
                                 " at most %u bytes)",
                           from, item, ZR_CLIENT_ENDPOINT_MAX);
            return;
        }
        if (*n == ZR_KVCLIENT_ENDPOINTS_MAX) {
            s_usage_error (args, "%s: at most %d endpoints", from,
                           ZR_KVCLIENT_ENDPOINTS_MAX);
            return;
        }
        endpoints [(*n)++] = item;
    }
}

/* The client endpoints, and the bus endpoints. */
static void
s_parse_endpoints (ctl_args_t *args, const char *list, const char *from)
{
    s_split_endpoints (args, &args->endpoints_buf, args->endpoints,
                       &args->n_endpoints, list, from);
}

static void
s_parse_bus_endpoints (ctl_args_t *args, const char *list, const char *from)
{
    s_split_endpoints (args, &args->bus_endpoints_buf, args->bus_endpoints,
                       &args->n_bus_endpoints, list, from);
}

/* sub --from: an index >= 1, first, last or next. */
static void
s_parse_from (ctl_args_t *args, const char *text)
{
    static const char *modes [] = {[ZR_BUSMSG_FROM_FIRST] = "first",
                                   [ZR_BUSMSG_FROM_LAST] = "last",
                                   [ZR_BUSMSG_FROM_NEXT] = "next"};
    args->has_from = true;
    for (int m = ZR_BUSMSG_FROM_FIRST; m <= ZR_BUSMSG_FROM_MAX; m++)
        if (streq (text, modes [m])) {
            args->from_mode = (zr_busmsg_from_t) m;
            return;
        }
    long long index;
    if (!s_parse_int (text, 1, LLONG_MAX, &index)) {
        s_usage_error (args, "--from '%s': an index (1 or more), first, last "
                             "or next", text);
        return;
    }
    args->from_mode = ZR_BUSMSG_FROM_INDEX;
    args->from = (uint64_t) index;
}

/* The value of option argv [*i] (either "--opt=value" or "--opt value"),
   advancing *i past it; NULL (and a usage error) if there is none. */
static const char *
s_option_value (ctl_args_t *args, int argc, char **argv, int *i, const char *eq)
{
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc) {
        s_usage_error (args, "%s needs a value", argv [*i]);
        return NULL;
    }
    return argv [++*i];
}

/* Parses sub's options at argv [*i] (--from, --subject, --cursor,
   --count); returns false if it is not one. */
static bool
s_parse_bus_option (ctl_args_t *args, int argc, char **argv, int *i)
{
    const char *arg = argv [*i];
    const char *eq = strncmp (arg, "--", 2) == 0 ? strchr (arg, '=') : NULL;
    size_t len = eq ? (size_t) (eq - arg) : strlen (arg);
#define S_IS(name) (len == strlen (name) && strncmp (arg, name, len) == 0)
    if (S_IS ("--from")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        if (v)
            s_parse_from (args, v);
    }
    else if (S_IS ("--subject") || S_IS ("--cursor")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        size_t max = S_IS ("--subject") ? ZR_BUSMSG_SUBJECT_MAX : ZR_BUSMSG_NAME_MAX;
        if (v && strlen (v) > max)
            s_usage_error (args, "%.*s: at most %zu bytes", (int) len, arg, max);
        else if (v && S_IS ("--subject"))
            args->subject = v;
        else if (v && !*v)
            s_usage_error (args, "--cursor: a name of 1..%u bytes",
                           ZR_BUSMSG_NAME_MAX);
        else if (v)
            args->cursor = v;
    }
    else if (S_IS ("--count")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        long long n;
        if (v && !s_parse_int (v, 1, LLONG_MAX, &n))
            s_usage_error (args, "--count '%s': a number of messages, 1 or "
                                 "more", v);
        else if (v)
            args->count = (uint64_t) n;
    }
    else
        return false;
#undef S_IS
    return true;
}

/* Parses one option at argv [*i]; returns false if it is not one. */
static bool
s_parse_option (ctl_args_t *args, int argc, char **argv, int *i)
{
    const char *arg = argv [*i];
    const char *eq = strncmp (arg, "--", 2) == 0 ? strchr (arg, '=') : NULL;
    size_t len = eq ? (size_t) (eq - arg) : strlen (arg);
#define S_IS(name) (len == strlen (name) && strncmp (arg, name, len) == 0)
    if (S_IS ("-h") || S_IS ("--help"))
        args->help = true;
    else if (S_IS ("--version"))
        args->version = true;
    else if (S_IS ("--stale"))
        args->stale = true;
    else if (S_IS ("--endpoints")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        if (v)
            s_parse_endpoints (args, v, "--endpoints");
    }
    else if (S_IS ("--bus-endpoints")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        if (v)
            s_parse_bus_endpoints (args, v, "--bus-endpoints");
    }
    else if (S_IS ("--timeout")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        long long ms;
        if (v && !s_parse_int (v, 1, ZR_KVCLIENT_TIMEOUT_MS_MAX, &ms))
            s_usage_error (args, "--timeout '%s': milliseconds, 1..%d", v,
                           ZR_KVCLIENT_TIMEOUT_MS_MAX);
        else if (v) {
            args->timeout_ms = (int) ms;
            args->timeout_given = true;
        }
    }
    else if (S_IS ("-w") || S_IS ("--write-out")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        if (v && (streq (v, "json") || streq (v, "table")))
            args->json = streq (v, "json");
        else if (v)
            s_usage_error (args, "%.*s '%s': table or json", (int) len, arg, v);
    }
    else if (S_IS ("--drop")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        args->has_drop = true;
        if (v && !s_parse_probability (v, &args->drop_ppm))
            s_usage_error (args, "--drop '%s': a probability, 0..1", v);
    }
    else if (S_IS ("--delay")) {
        const char *v = s_option_value (args, argc, argv, i, eq);
        long long ms;
        args->has_delay = true;
        if (v && !s_parse_int (v, 0, S_FAULT_DELAY_MS_MAX, &ms))
            s_usage_error (args, "--delay '%s': milliseconds, 0..%d", v,
                           S_FAULT_DELAY_MS_MAX);
        else if (v)
            args->delay_ms = (uint32_t) ms;
    }
    else
        return s_parse_bus_option (args, argc, argv, i);
#undef S_IS
    return true;
}

static bool
s_is_bus_verb (s_verb_t verb)
{
    return verb == S_PUB || verb == S_SUB || verb == S_CURSORS;
}

/* The rules of one verb's arguments and options. */
static void
s_check_verb_args (ctl_args_t *args)
{
    const char *verb = s_verbs [args->verb].name;
    size_t min = s_verbs [args->verb].n_args;
    size_t max = s_verbs [args->verb].n_args_max ? s_verbs [args->verb].n_args_max
                                                 : min;
    if (args->n_args < min || args->n_args > max)
        s_usage_error (args, "%s takes %zu%s%.0zu argument%s, not %zu (see"
                       " --help)", verb, min, max > min ? " or " : "",
                       max > min ? max : 0, max == 1 ? "" : "s",
                       args->n_args);
    if (args->stale && args->verb != S_GET)
        s_usage_error (args, "--stale is for get only");
    if ((args->has_drop || args->has_delay) && args->verb != S_FAULT)
        s_usage_error (args, "--drop and --delay are for fault only");
    if ((args->has_from || args->subject || args->cursor || args->count)
        && args->verb != S_SUB)
        s_usage_error (args, "--from, --subject, --cursor and --count are for"
                             " sub only");
    bool keyed = args->verb == S_PUT || args->verb == S_GET
                 || args->verb == S_DEL || args->verb == S_CAS;
    if (keyed && args->n_args >= 1) {
        size_t key = strlen (args->args [0]);
        if (key == 0 || key > ZR_CLIENT_KEY_MAX)
            s_usage_error (args, "key: 1..%u bytes", ZR_CLIENT_KEY_MAX);
        for (size_t i = 1; i < args->n_args; i++)
            if (strlen (args->args [i]) > ZR_CLIENT_VALUE_MAX)
                s_usage_error (args, "value: at most %u bytes", ZR_CLIENT_VALUE_MAX);
    }
    if (args->verb == S_PUB && args->n_args >= 1) {
        size_t subject = strlen (args->args [0]);
        if (subject == 0 || subject > ZR_BUSMSG_SUBJECT_MAX)
            s_usage_error (args, "subject: 1..%u bytes", ZR_BUSMSG_SUBJECT_MAX);
        if (args->n_args == 2 && strlen (args->args [1]) > ZR_BUSMSG_PAYLOAD_MAX)
            s_usage_error (args, "data: at most %u bytes", ZR_BUSMSG_PAYLOAD_MAX);
    }
}

/* The rules between arguments, once all are read: the key/value verbs
   need client endpoints, the bus verbs bus endpoints, from the command
   line or else the environment. */
static void
s_check_args (ctl_args_t *args, bool have_verb, const char *env_endpoints,
              const char *env_bus_endpoints)
{
    if (!have_verb) {
        s_usage_error (args, "no verb (put, get, del, cas, status, transfer, "
                             "snapshot, fault, partition, heal, pub, sub, "
                             "cursors)");
        return;
    }
    s_check_verb_args (args);
    if (args->error [0])
        return;
    if (s_is_bus_verb (args->verb)) {
        if (args->n_bus_endpoints > 0)
            return;
        if (env_bus_endpoints && *env_bus_endpoints) {
            s_parse_bus_endpoints (args, env_bus_endpoints, "ZRAFT_BUS_ENDPOINTS");
            return;
        }
        /* Else the client endpoints, whose status names the bus's. */
        if (args->n_endpoints == 0 && env_endpoints && *env_endpoints)
            s_parse_endpoints (args, env_endpoints, "ZRAFT_ENDPOINTS");
        else
        if (args->n_endpoints == 0)
            s_usage_error (args, "no bus endpoints: give --bus-endpoints or set"
                                 " ZRAFT_BUS_ENDPOINTS (or the client endpoints,"
                                 " --endpoints or ZRAFT_ENDPOINTS, whose status"
                                 " names them)");
        return;
    }
    if (args->n_endpoints == 0) {
        if (env_endpoints && *env_endpoints)
            s_parse_endpoints (args, env_endpoints, "ZRAFT_ENDPOINTS");
        else
            s_usage_error (args, "no endpoints: give --endpoints or set ZRAFT_ENDPOINTS");
    }
}

/* Refuses a known option given a second time (-w and --write-out are
   one): the later value would silently win. --help and --version may
   come any number of times. */
static void
s_option_once (ctl_args_t *args, const char *arg)
{
    size_t len = strcspn (arg, "=");
    if (streq (arg, "-w"))
        arg = "--write-out", len = strlen (arg);
    if (streq (arg, "-h") || streq (arg, "--help") || streq (arg, "--version"))
        return;
    zr_assert (len < S_OPTION_NAME_MAX);
    for (size_t k = 0; k < args->n_given; k++)
        if (strlen (args->given [k]) == len && !strncmp (args->given [k], arg, len)) {
            s_usage_error (args, "%.*s is given twice", (int) len, arg);
            return;
        }
    zr_assert (args->n_given < S_OPTIONS_MAX);
    memcpy (args->given [args->n_given], arg, len);
    args->given [args->n_given++][len] = 0;
}

/* Parses argv into *args (which it initialises). env_endpoints and
   env_bus_endpoints are ZRAFT_ENDPOINTS and ZRAFT_BUS_ENDPOINTS (or
   NULL). Returns 0, or -1 with args->error set (a usage error: exit
   64). --help and --version return 0 at once with args->help or
   args->version set. Release with s_args_release. */
static int
s_args_parse (ctl_args_t *args, int argc, char **argv, const char *env_endpoints,
              const char *env_bus_endpoints)
{
    memset (args, 0, sizeof *args);
    args->timeout_ms = 5000;
    args->from_mode = ZR_BUSMSG_FROM_NEXT;
    bool have_verb = false, options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        if (!options_done && streq (arg, "--")) {
            options_done = true;
            continue;
        }
        if (!options_done && arg [0] == '-' && arg [1]) {
            if (!s_parse_option (args, argc, argv, &i))
                s_usage_error (args, have_verb ? "unknown option '%s' (a key"
                                     " or value starting with '-' goes after"
                                     " --)" : "unknown option '%s'", arg);
            else
                s_option_once (args, arg);
            continue;
        }
        if (!have_verb) {
            size_t v = 0;
            while (v < S_VERBS && !streq (s_verbs [v].name, arg))
                v++;
            if (v == S_VERBS)
                s_usage_error (args, "unknown verb '%s' (see --help)", arg);
            args->verb = v < S_VERBS ? (s_verb_t) v : S_STATUS;
            have_verb = true;
        }
        else if (args->n_args < S_ARGS_MAX)
            args->args [args->n_args++] = arg;
        else
            s_usage_error (args, "too many arguments from '%s'", arg);
    }
    if (args->help || args->version)
        return 0;
    s_check_args (args, have_verb, env_endpoints, env_bus_endpoints);
    return args->error [0] ? -1 : 0;
}

static void
s_args_release (ctl_args_t *args)
{
    free (args->endpoints_buf);
    args->endpoints_buf = NULL;
    free (args->bus_endpoints_buf);
    args->bus_endpoints_buf = NULL;
}

/* ----------------------------------------------------------------------
   Output
   ---------------------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no
   overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t
s_utf8_length (const uint8_t *s, size_t n)
{
    zr_assert (n >= 1);
    uint8_t c = s [0];
    size_t length;
    uint8_t lo = 0x80, hi = 0xbf;       /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf)
        length = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        length = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    }
    else if (c >= 0xf0 && c <= 0xf4) {
        length = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    }
    else
        return 0;
    if (n < length || s [1] < lo || s [1] > hi)
        return 0;
    for (size_t i = 2; i < length; i++)
        if (s [i] < 0x80 || s [i] > 0xbf)
            return 0;
    return length;
}

/* Writes bytes as a JSON string: '"' and '\' escaped, control bytes,
   DEL and bytes that are not part of well-formed UTF-8 as \u00XX (so a
   byte b reads back as the code point U+00bb), UTF-8 as it is. */
static void
s_json_bytes (FILE *out, const void *data, size_t size)
{
    const uint8_t *s = (const uint8_t *) data;
    fputc ('"', out);
    for (size_t i = 0; i < size; i++) {
        uint8_t c = s [i];
        size_t length = c >= 0x80 ? s_utf8_length (s + i, size - i) : 0;
        if (c == '"' || c == '\\')
            fprintf (out, "\\%c", c);
        else if (c == '\n')
            fputs ("\\n", out);
        else if (c == '\t')
            fputs ("\\t", out);
        else if (c == '\r')
            fputs ("\\r", out);
        else if (c >= 0x20 && c < 0x7f)
            fputc (c, out);
        else if (length > 0) {
            fwrite (s + i, 1, length, out);
            i += length - 1;
        }
        else
            fprintf (out, "\\u%04x", c);
    }
    fputc ('"', out);
}

static void
s_json_string (FILE *out, const char *text)
{
    s_json_bytes (out, text, strlen (text));
}

/* Writes bytes for a terminal: printable ASCII and UTF-8 as they are,
   anything else as \xXX; a field that other fields follow on its line
   (field) has its spaces and backslashes escaped too, so that the line
   splits where it should and the escapes read back. */
static void
s_text_write (FILE *out, const void *data, size_t size, bool field)
{
    const uint8_t *s = (const uint8_t *) data;
    for (size_t i = 0; i < size; i++) {
        size_t length = s [i] >= 0x80 ? s_utf8_length (s + i, size - i) : 0;
        if (field && (s [i] == ' ' || s [i] == '\\'))
            fprintf (out, "\\x%02x", s [i]);
        else if (s [i] >= 0x20 && s [i] < 0x7f)
            fputc (s [i], out);
        else if (length > 0) {
            fwrite (s + i, 1, length, out);
            i += length - 1;
        }
        else
            fprintf (out, "\\x%02x", s [i]);
    }
}

static void
s_text_bytes (FILE *out, const void *data, size_t size)
{
    s_text_write (out, data, size, false);
}

static void
s_text_field (FILE *out, const void *data, size_t size)
{
    s_text_write (out, data, size, true);
}

static int s_fail (ctl_t *ctl, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Reports a failure: {"error":...} on out with -w json, a line on err
   otherwise. Returns code. */
static int
s_fail (ctl_t *ctl, int code, const char *format, ...)
{
    char message [S_MESSAGE_MAX];
    va_list ap;
    va_start (ap, format);
    vsnprintf (message, sizeof message, format, ap);
    va_end (ap);
    if (ctl->args->json) {
        fputs ("{\"error\":", ctl->out);
        s_json_string (ctl->out, message);
        fputs ("}\n", ctl->out);
    }
    else
        fprintf (ctl->err, "zraft-ctl: %s\n", message);
    return code;
}

/* {"ok":true}, or a line for people. */
static int
s_ok (ctl_t *ctl, const char *text)
{
    if (ctl->args->json)
        fputs ("{\"ok\":true}\n", ctl->out);
    else
        fprintf (ctl->out, "%s\n", text);
    return S_EXIT_DONE;
}

static int
s_exit_code (zr_kvclient_outcome_t outcome)
{
    return outcome == ZR_KVCLIENT_DONE ? S_EXIT_DONE
           : outcome == ZR_KVCLIENT_FAILED ? S_EXIT_FAILED
                                           : S_EXIT_UNKNOWN;
}

/* A call's end that is not DONE, reported; returns its exit code. */
static int
s_fail_result (ctl_t *ctl, const zr_kvclient_result_t *result)
{
    zr_assert (result->outcome != ZR_KVCLIENT_DONE);
    return s_fail (ctl, s_exit_code (result->outcome), "%s", result->error);
}

static int
s_remaining_ms (ctl_t *ctl)
{
    int64_t left = ctl->deadline - zclock_mono ();
    return left < 1 ? 1 : left > INT32_MAX ? INT32_MAX : (int) left;
}

static zr_client_bytes_t
s_bytes (const char *text)
{
    return (zr_client_bytes_t) {(const uint8_t *) text, text ? strlen (text) : 0};
}

/* ----------------------------------------------------------------------
   put, get, del, cas, snapshot
   ---------------------------------------------------------------------- */

static int
s_print_kv (ctl_t *ctl, const zr_client_reply_t *reply)
{
    FILE *out = ctl->out;
    bool json = ctl->args->json;
    switch (ctl->args->verb) {
    case S_GET:
        if (json && reply->found) {
            fputs ("{\"found\":true,\"value\":", out);
            s_json_bytes (out, reply->value.data, reply->value.size);
            fputs ("}\n", out);
        }
        else if (json)
            fputs ("{\"found\":false}\n", out);
        else if (reply->found) {
            fwrite (reply->value.data, 1, reply->value.size, out);
            fputc ('\n', out);
        }
        return S_EXIT_DONE;
    case S_CAS:
        if (json)
            fprintf (out, "{\"swapped\":%s}\n", reply->swapped ? "true" : "false");
        else
            fputs (reply->swapped ? "swapped\n" : "not swapped\n", out);
        return S_EXIT_DONE;
    default:
        return s_ok (ctl, "OK");
    }
}

static int
s_verb_kv (ctl_t *ctl)
{
    const ctl_args_t *args = ctl->args;
    zr_client_request_t request = {0};
    request.key = s_bytes (args->args [0]);
    switch (args->verb) {
    case S_PUT:
        request.type = ZR_CLIENT_PUT;
        request.value = s_bytes (args->args [1]);
        break;
    case S_GET:
        request.type = ZR_CLIENT_GET;
        request.stale = args->stale;
        break;
    case S_DEL:
        request.type = ZR_CLIENT_DEL;
        break;
    default:
        zr_assert (args->verb == S_CAS);
        request.type = ZR_CLIENT_CAS;
        request.old = s_bytes (args->args [1]);
        request.value = s_bytes (args->args [2]);
    }
    zr_kvclient_result_t result;
    int rc = zr_kvclient_call (ctl->client, &request, &result);
    if (rc != 0)
        return s_fail (ctl, S_EXIT_USAGE, "the request breaks the protocol's limits");
    int code = result.outcome == ZR_KVCLIENT_DONE ? s_print_kv (ctl, &result.reply)
                                                  : s_fail_result (ctl, &result);
    zr_kvclient_result_release (&result);
    return code;
}

/* ----------------------------------------------------------------------
   The cluster as STATUS shows it: status, transfer, fault, partition, heal
   ---------------------------------------------------------------------- */

typedef struct {
    uint32_t id;
    uint8_t name [ZR_CLIENT_NAME_MAX];  /* bytes, not NUL-terminated */
    size_t name_size;
    char endpoint [ZR_CLIENT_ENDPOINT_MAX + 1];     /* client endpoint, "" unknown */
    char bus [ZR_CLIENT_ENDPOINT_MAX + 1];  /* bus endpoint, "" unknown or none */
} s_member_t;

typedef struct {
    char endpoint [ZR_CLIENT_ENDPOINT_MAX + 1];     /* where asked, "" nowhere */
    bool answered;                      /* result holds its STATUS reply */
    bool hidden;                        /* the same server, shown elsewhere */
    bool unasked;                       /* a member no request went to */
    bool refused;                       /* it answered in another protocol:
                                           no server's client endpoint */
    zr_kvclient_result_t result;        /* the reply, when answered */
    zr_kvclient_outcome_t outcome;      /* of the STATUS call */
    uint32_t id;                        /* 0 unknown */
    char error [ZR_KVCLIENT_ERROR_MAX]; /* why it did not answer */
} s_node_t;

typedef struct {
    s_node_t nodes [S_NODES_MAX];
    size_t n_nodes;
    s_member_t members [ZR_NODES_MAX];  /* union of the member lists */
    size_t n_members;
} s_cluster_t;

static void
s_cluster_release (s_cluster_t *cluster)
{
    for (size_t i = 0; i < cluster->n_nodes; i++)
        zr_kvclient_result_release (&cluster->nodes [i].result);
    cluster->n_nodes = 0;
}

static s_node_t *
s_cluster_add (s_cluster_t *cluster, const char *endpoint)
{
    zr_assert (cluster->n_nodes < S_NODES_MAX);
    s_node_t *node = &cluster->nodes [cluster->n_nodes++];
    memset (node, 0, sizeof *node);
    snprintf (node->endpoint, sizeof node->endpoint, "%s", endpoint);
    node->outcome = ZR_KVCLIENT_FAILED;
    return node;
}

/* Asks STATUS of nodes [first..n), all at once, each pinned. */
static void
s_cluster_ask (ctl_t *ctl, s_cluster_t *cluster, size_t first)
{
    zr_client_request_t request = {.type = ZR_CLIENT_STATUS};
    int timeout_ms = s_remaining_ms (ctl);
    for (size_t i = first; i < cluster->n_nodes; i++) {
        s_node_t *node = &cluster->nodes [i];
        if (zr_kvclient_send_at (ctl->client, node->endpoint, &request,
                                 timeout_ms, i) != 0)
            snprintf (node->error, sizeof node->error, "cannot connect to '%s'",
                      node->endpoint);
    }
    zr_kvclient_result_t result;
    while (zr_kvclient_pending (ctl->client) > 0) {
        int rc = zr_kvclient_recv (ctl->client, &result, -1);
        zr_assert (rc == 0);
        zr_assert (result.token < cluster->n_nodes);
        s_node_t *node = &cluster->nodes [result.token];
        node->outcome = result.outcome;
        if (result.outcome == ZR_KVCLIENT_DONE) {
            node->answered = true;
            node->id = result.reply.id;
            node->result = result;
        }
        else {
            node->refused = result.refused;
            snprintf (node->error, sizeof node->error, "%s", result.error);
            zr_kvclient_result_release (&result);
        }
    }
}

static s_member_t *
s_member_by_id (s_cluster_t *cluster, uint32_t id)
{
    for (size_t i = 0; i < cluster->n_members; i++)
        if (cluster->members [i].id == id)
            return &cluster->members [i];
    return NULL;
}

/* Sets endpoint (ZR_CLIENT_ENDPOINT_MAX + 1 bytes) to from, if it is
   still "" and from is a string that fits. */
static void
s_endpoint_learn (char *endpoint, zr_client_bytes_t from)
{
    if (!endpoint [0] && from.size > 0 && from.size <= ZR_CLIENT_ENDPOINT_MAX
        && !memchr (from.data, 0, from.size)) {
        memcpy (endpoint, from.data, from.size);
        endpoint [from.size] = 0;
    }
}

/* Adds what the answered nodes' member lists say to cluster->members. */
static void
s_cluster_learn (s_cluster_t *cluster)
{
    for (size_t i = 0; i < cluster->n_nodes; i++) {
        if (!cluster->nodes [i].answered)
            continue;
        const zr_client_reply_t *reply = &cluster->nodes [i].result.reply;
        for (uint32_t m = 0; m < reply->n_members; m++) {
            const zr_client_member_t *from = &reply->members [m];
            s_member_t *member = s_member_by_id (cluster, from->id);
            if (!member && cluster->n_members < ZR_NODES_MAX) {
                member = &cluster->members [cluster->n_members++];
                memset (member, 0, sizeof *member);
                member->id = from->id;
                member->name_size = from->name.size < ZR_CLIENT_NAME_MAX
                                        ? from->name.size : ZR_CLIENT_NAME_MAX;
                if (member->name_size)
                    memcpy (member->name, from->name.data, member->name_size);
            }
            if (member) {
                s_endpoint_learn (member->endpoint, from->client_endpoint);
                s_endpoint_learn (member->bus, from->bus_endpoint);
            }
        }
    }
}

static s_node_t *
s_node_answered (s_cluster_t *cluster, uint32_t id)
{
    for (size_t i = 0; i < cluster->n_nodes; i++)
        if (cluster->nodes [i].answered && cluster->nodes [i].id == id)
            return &cluster->nodes [i];
    return NULL;
}

static s_node_t *
s_node_at (s_cluster_t *cluster, const char *endpoint)
{
    for (size_t i = 0; i < cluster->n_nodes; i++)
        if (streq (cluster->nodes [i].endpoint, endpoint))
            return &cluster->nodes [i];
    return NULL;
}

static int
s_node_compare (const void *a, const void *b)
{
    const s_node_t *x = (const s_node_t *) a, *y = (const s_node_t *) b;
    uint64_t kx = x->id ? x->id : UINT64_MAX, ky = y->id ? y->id : UINT64_MAX;
    return kx < ky ? -1 : kx > ky ? 1 : 0;
}

static s_node_t *
s_node_with_id (s_cluster_t *cluster, uint32_t id)
{
    for (size_t i = 0; i < cluster->n_nodes; i++)
        if (cluster->nodes [i].id == id)
            return &cluster->nodes [i];
    return NULL;
}

/* Gives the members nobody could ask a row (or, when exactly one member
   and one endpoint given are left unmatched, pairs them: followers do
   not announce their client endpoints, only leaders do), hides a
   server met twice, sorts by id. An endpoint that answered in another
   protocol (a peer or bus endpoint) is nobody's: it keeps a row of its
   own, so that the table shows every endpoint given. */
static void
s_cluster_settle (s_cluster_t *cluster)
{
    for (size_t i = 0; i < cluster->n_nodes; i++) {
        s_node_t *node = &cluster->nodes [i];
        for (size_t m = 0; !node->answered && !node->refused && node->endpoint [0]
                           && m < cluster->n_members; m++)
            if (streq (cluster->members [m].endpoint, node->endpoint))
                node->id = cluster->members [m].id;
    }
    s_node_t *lone_node = NULL;
    size_t lone_nodes = 0, lone_members = 0;
    for (size_t i = 0; i < cluster->n_nodes; i++)
        if (!cluster->nodes [i].answered && !cluster->nodes [i].id
            && !cluster->nodes [i].refused) {
            lone_node = &cluster->nodes [i];
            lone_nodes++;
        }
    const s_member_t *lone_member = NULL;
    for (size_t m = 0; m < cluster->n_members; m++)
        if (!s_node_with_id (cluster, cluster->members [m].id)) {
            lone_member = &cluster->members [m];
            lone_members++;
        }
    if (lone_nodes == 1 && lone_members == 1)
        lone_node->id = lone_member->id;
    else
        for (size_t m = 0; m < cluster->n_members; m++) {
            const s_member_t *member = &cluster->members [m];
            if (s_node_with_id (cluster, member->id))
                continue;
            const s_node_t *refused = s_node_at (cluster, member->endpoint);
            bool wrong = member->endpoint [0] && refused && refused->refused;
            s_node_t *node = s_cluster_add (cluster, member->endpoint);
            node->id = member->id;
            node->unasked = true;
            snprintf (node->error, sizeof node->error, "%s", wrong
                      ? "not asked: the client endpoint it announced answered in"
                        " another protocol"
                      : member->endpoint [0]
                      ? "not asked" : "not asked: its client endpoint is not known"
                        " (a member announces it when it leads); give it in"
                        " --endpoints");
        }
    for (size_t i = 0; i < cluster->n_nodes; i++) {
        s_node_t *node = &cluster->nodes [i];
        s_node_t *twin = node->id ? s_node_answered (cluster, node->id) : NULL;
        if (!twin && node->id)
            twin = s_node_with_id (cluster, node->id);
        /* An endpoint nobody claims, when members are missing: one of them. */
        node->hidden = (twin && twin != node)
                       || (!node->id && !node->answered && !node->refused
                           && lone_members > 0
                           && !(lone_nodes == 1 && lone_members == 1));
    }
    qsort (cluster->nodes, cluster->n_nodes, sizeof (s_node_t), s_node_compare);
}

/* STATUS from every endpoint given, then from every member they name
   that was not asked yet. */
static void
s_cluster_gather (ctl_t *ctl, s_cluster_t *cluster)
{
    memset (cluster, 0, sizeof *cluster);
    for (size_t i = 0; i < ctl->args->n_endpoints; i++)
        if (!s_node_at (cluster, ctl->args->endpoints [i]))
            s_cluster_add (cluster, ctl->args->endpoints [i]);
    s_cluster_ask (ctl, cluster, 0);
    s_cluster_learn (cluster);
    size_t first = cluster->n_nodes;
    for (size_t i = 0; i < cluster->n_members; i++) {
        s_member_t *member = &cluster->members [i];
        if (member->endpoint [0] && !s_node_at (cluster, member->endpoint)
            && !s_node_answered (cluster, member->id))
            s_cluster_add (cluster, member->endpoint);
    }
    s_cluster_ask (ctl, cluster, first);
    s_cluster_learn (cluster);
    s_cluster_settle (cluster);
}

/* The role shown for a node that did not answer STATUS. */
static const char *
s_unanswered_role (const s_node_t *node)
{
    return node->unasked ? "unknown" : node->refused ? "wrong-endpoint" : "unreachable";
}

static const char *
s_role_name (uint32_t role)
{
    return role == 0 ? "follower" : role == 1 ? "candidate" : role == 2 ? "leader" : "unknown";
}

/* A node's name: its own, else the member lists', else its endpoint. */
static zr_client_bytes_t
s_node_name (s_cluster_t *cluster, const s_node_t *node)
{
    if (node->answered)
        return node->result.reply.name;
    const s_member_t *member = node->id ? s_member_by_id (cluster, node->id) : NULL;
    if (member)
        return (zr_client_bytes_t) {member->name, member->name_size};
    return s_bytes (node->endpoint);
}

/* The name of server id as the cluster knows it ("" if unknown). */
static zr_client_bytes_t
s_id_name (s_cluster_t *cluster, uint32_t id)
{
    const s_member_t *member = id ? s_member_by_id (cluster, id) : NULL;
    return member ? (zr_client_bytes_t) {member->name, member->name_size} : s_bytes ("");
}

/* The bus endpoint of node ("" if unknown or none): what it says of
   itself if it answered (its --advertise-bus now), else what the member
   lists say (announced when it last led). Its own entry is copied into
   buf (ZR_CLIENT_ENDPOINT_MAX + 1 bytes). */
static const char *
s_node_bus (s_cluster_t *cluster, const s_node_t *node, char *buf)
{
    if (node->answered)
        for (uint32_t m = 0; m < node->result.reply.n_members; m++) {
            const zr_client_member_t *own = &node->result.reply.members [m];
            if (own->id == node->id) {
                buf [0] = 0;
                s_endpoint_learn (buf, own->bus_endpoint);
                return buf;
            }
        }
    const s_member_t *member = node->id ? s_member_by_id (cluster, node->id) : NULL;
    return member ? member->bus : "";
}

static void
s_status_json (ctl_t *ctl, s_cluster_t *cluster)
{
    FILE *out = ctl->out;
    fputs ("{\"nodes\":[", out);
    bool first = true;
    for (size_t i = 0; i < cluster->n_nodes; i++) {
        const s_node_t *node = &cluster->nodes [i];
        if (node->hidden)
            continue;
        zr_client_bytes_t name = s_node_name (cluster, node);
        fputs (first ? "{\"name\":" : ",{\"name\":", out);
        first = false;
        s_json_bytes (out, name.data, name.size);
        fprintf (out, ",\"id\":%" PRIu32 ",\"endpoint\":", node->id);
        s_json_string (out, node->endpoint);
        fputs (",\"bus_endpoint\":", out);
        char bus [ZR_CLIENT_ENDPOINT_MAX + 1];
        s_json_string (out, s_node_bus (cluster, node, bus));
        if (!node->answered) {
            fprintf (out, ",\"role\":\"%s\",\"error\":", s_unanswered_role (node));
            s_json_string (out, node->error);
            fputc ('}', out);
            continue;
        }
        const zr_client_reply_t *r = &node->result.reply;
        zr_client_bytes_t leader = s_id_name (cluster, r->leader);
        fprintf (out, ",\"role\":\"%s\",\"health\":", s_role_name (r->role));
        s_json_bytes (out, r->health.data, r->health.size);
        fprintf (out, ",\"term\":%" PRIu64 ",\"leader\":", r->term);
        s_json_bytes (out, leader.data, leader.size);
        fprintf (out, ",\"leader_id\":%" PRIu32 ",\"commit\":%" PRIu64
                      ",\"applied\":%" PRIu64 ",\"first_index\":%" PRIu64
                      ",\"last_index\":%" PRIu64 ",\"snapshot_index\":%" PRIu64 "}",
                 r->leader, r->commit, r->applied, r->first_index, r->last_index,
                 r->snapshot_index);
    }
    fputs ("]}\n", out);
}

#define S_COLUMNS 12
#define S_CELL_MAX (4 * ZR_CLIENT_ENDPOINT_MAX + 1)

typedef char s_row_t [S_COLUMNS][S_CELL_MAX];

/* Bytes for a table cell (s_text_bytes' escapes, truncated to fit). */
static void
s_cell (char *cell, zr_client_bytes_t bytes)
{
    FILE *f = fmemopen (cell, S_CELL_MAX, "w");
    zr_assert (f);
    setvbuf (f, NULL, _IONBF, 0);
    s_text_bytes (f, bytes.data, bytes.size);
    fclose (f);
}

static void
s_status_row (s_cluster_t *cluster, const s_node_t *node, s_row_t row)
{
    s_cell (row [0], s_node_name (cluster, node));
    snprintf (row [1], S_CELL_MAX, "%" PRIu32, node->id);
    s_cell (row [2], s_bytes (node->endpoint));
    char buf [ZR_CLIENT_ENDPOINT_MAX + 1];
    const char *bus = s_node_bus (cluster, node, buf);
    s_cell (row [11], s_bytes (*bus ? bus : "-"));
    if (!node->answered) {
        snprintf (row [3], S_CELL_MAX, "%s", s_unanswered_role (node));
        for (int c = 4; c < S_COLUMNS - 1; c++)
            snprintf (row [c], S_CELL_MAX, "-");
        return;
    }
    const zr_client_reply_t *r = &node->result.reply;
    if (r->health.size) {
        char health [S_CELL_MAX];
        s_cell (health, r->health);
        snprintf (row [3], S_CELL_MAX, "%s, %.*s", s_role_name (r->role),
                  S_CELL_MAX - 16, health);
    }
    else
        snprintf (row [3], S_CELL_MAX, "%s", s_role_name (r->role));
    snprintf (row [4], S_CELL_MAX, "%" PRIu64, r->term);
    s_cell (row [5], r->leader ? s_id_name (cluster, r->leader) : s_bytes ("-"));
    uint64_t numbers [5] = {r->commit, r->applied, r->first_index, r->last_index,
                            r->snapshot_index};
    for (int c = 0; c < 5; c++)
        snprintf (row [6 + c], S_CELL_MAX, "%" PRIu64, numbers [c]);
}

static void
s_status_table (ctl_t *ctl, s_cluster_t *cluster)
{
    static const char *heads [S_COLUMNS] = {"NAME", "ID", "ENDPOINT", "ROLE", "TERM",
                                            "LEADER", "COMMIT", "APPLIED", "FIRST",
                                            "LAST", "SNAPSHOT", "BUS"};
    s_row_t *rows = (s_row_t *) calloc (cluster->n_nodes + 1, sizeof (s_row_t));
    zr_assert (rows);
    size_t n = 1;
    for (int c = 0; c < S_COLUMNS; c++)
        snprintf (rows [0][c], S_CELL_MAX, "%s", heads [c]);
    for (size_t i = 0; i < cluster->n_nodes; i++)
        if (!cluster->nodes [i].hidden)
            s_status_row (cluster, &cluster->nodes [i], rows [n++]);
    int width [S_COLUMNS] = {0};
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < S_COLUMNS; c++)
            if ((int) strlen (rows [r][c]) > width [c])
                width [c] = (int) strlen (rows [r][c]);
    for (size_t r = 0; r < n; r++) {
        for (int c = 0; c < S_COLUMNS; c++)
            fprintf (ctl->out, "%-*s%s", c + 1 < S_COLUMNS ? width [c] : 0,
                     rows [r][c], c + 1 < S_COLUMNS ? "  " : "\n");
    }
    free (rows);
    for (size_t i = 0; i < cluster->n_nodes; i++) {
        const s_node_t *node = &cluster->nodes [i];
        if (node->hidden || (node->answered && !node->result.reply.health.size))
            continue;
        if (node->answered) {
            zr_client_bytes_t name = s_node_name (cluster, node);
            fputs ("zraft-ctl: ", ctl->err);
            s_text_bytes (ctl->err, name.data, name.size);
            fputs (": ", ctl->err);
            s_text_bytes (ctl->err, node->result.reply.health.data,
                          node->result.reply.health.size);
            fputc ('\n', ctl->err);
            continue;
        }
        zr_client_bytes_t name = s_node_name (cluster, node);
        fputs ("zraft-ctl: ", ctl->err);
        s_text_bytes (ctl->err, name.data, name.size);
        if (node->unasked)
            fprintf (ctl->err, ": %s\n", node->error);
        else
        if (node->refused)
            fprintf (ctl->err, " is not a client endpoint: %s\n", node->error);
        else
            fprintf (ctl->err, " is unreachable: %s\n", node->error);
    }
}

/* Nobody answered: the outcome of the first endpoint's STATUS call
   (UNKNOWN if any was sent and never answered). */
static int
s_cluster_fail (ctl_t *ctl, s_cluster_t *cluster)
{
    bool unknown = false;
    for (size_t i = 0; i < cluster->n_nodes; i++)
        unknown |= cluster->nodes [i].outcome == ZR_KVCLIENT_UNKNOWN;
    const char *why = cluster->n_nodes ? cluster->nodes [0].error : "";
    return s_fail (ctl, unknown ? S_EXIT_UNKNOWN : S_EXIT_FAILED,
                   "no server answered (%s: %s)",
                   cluster->n_nodes ? cluster->nodes [0].endpoint : "", why);
}

static bool
s_cluster_answered (const s_cluster_t *cluster)
{
    for (size_t i = 0; i < cluster->n_nodes; i++)
        if (cluster->nodes [i].answered)
            return true;
    return false;
}

static int
s_verb_status (ctl_t *ctl, s_cluster_t *cluster)
{
    if (!s_cluster_answered (cluster))
        return s_cluster_fail (ctl, cluster);
    if (ctl->args->json)
        s_status_json (ctl, cluster);
    else
        s_status_table (ctl, cluster);
    return S_EXIT_DONE;
}

static s_member_t *
s_member_by_name (s_cluster_t *cluster, const char *name)
{
    for (size_t i = 0; i < cluster->n_members; i++) {
        s_member_t *member = &cluster->members [i];
        if (member->name_size == strlen (name)
            && memcmp (member->name, name, member->name_size) == 0)
            return member;
    }
    return NULL;
}

/* Resolves NAME through the member lists; NULL after reporting why. */
static s_member_t *
s_resolve (ctl_t *ctl, s_cluster_t *cluster, const char *name, int *code)
{
    s_member_t *member = s_member_by_name (cluster, name);
    if (member)
        return member;
    if (!s_cluster_answered (cluster)) {
        *code = s_cluster_fail (ctl, cluster);
        return NULL;
    }
    char names [S_MESSAGE_MAX / 2] = "";
    for (size_t i = 0; i < cluster->n_members; i++) {
        size_t at = strlen (names);
        snprintf (names + at, sizeof names - at, "%s%.*s", i ? ", " : "",
                  (int) cluster->members [i].name_size,
                  (const char *) cluster->members [i].name);
    }
    *code = s_fail (ctl, S_EXIT_FAILED, "no member is named '%s' (members: %s)",
                    name, names);
    return NULL;
}

/* The endpoint that answered for server id, or NULL. */
static const char *
s_reach (s_cluster_t *cluster, uint32_t id)
{
    s_node_t *node = s_node_answered (cluster, id);
    return node ? node->endpoint : NULL;
}

/* Polls STATUS at the new leader (or anywhere, if its endpoint is not
   known) until it says it leads, or the deadline. */
static int
s_transfer_wait (ctl_t *ctl, s_cluster_t *cluster, const s_member_t *target)
{
    const char *at = s_reach (cluster, target->id);
    zr_client_request_t request = {.type = ZR_CLIENT_STATUS};
    while (zclock_mono () < ctl->deadline && !zsys_interrupted) {
        zr_kvclient_result_t result;
        int rc = zr_kvclient_call_at (ctl->client, at, &request,
                                      s_remaining_ms (ctl), &result);
        zr_assert (rc == 0);
        bool leads = result.outcome == ZR_KVCLIENT_DONE
                     && result.reply.leader == target->id;
        zr_kvclient_result_release (&result);
        if (leads)
            return s_ok (ctl, "OK");
        if (zclock_mono () + S_POLL_MS < ctl->deadline)
            zclock_sleep (S_POLL_MS);   /* a remote state: nothing to wait on */
        else
            break;
    }
    return s_fail (ctl, S_EXIT_UNKNOWN, "the leader started the transfer, but "
                   "%.*s did not lead within the timeout", (int) target->name_size,
                   (const char *) target->name);
}

static int
s_verb_transfer (ctl_t *ctl, s_cluster_t *cluster)
{
    int code = S_EXIT_DONE;
    s_member_t *target = s_resolve (ctl, cluster, ctl->args->args [0], &code);
    if (!target)
        return code;
    s_node_t *node = s_node_answered (cluster, target->id);
    if (node && node->result.reply.role == 2)
        return s_ok (ctl, "OK (it leads already)");
    zr_client_request_t request = {.type = ZR_CLIENT_TRANSFER, .to = target->id};
    zr_kvclient_result_t result;
    int rc = zr_kvclient_send_at (ctl->client, NULL, &request, s_remaining_ms (ctl), 0);
    zr_assert (rc == 0);
    rc = zr_kvclient_recv (ctl->client, &result, -1);
    zr_assert (rc == 0);
    code = result.outcome == ZR_KVCLIENT_DONE ? S_EXIT_DONE : s_fail_result (ctl, &result);
    zr_kvclient_result_release (&result);
    return code == S_EXIT_DONE ? s_transfer_wait (ctl, cluster, target) : code;
}

/* SNAPSHOT is served by whichever server gets it: it goes, pinned, to
   the one that leads in the highest term STATUS showed. */
static int
s_verb_snapshot (ctl_t *ctl, s_cluster_t *cluster)
{
    if (!s_cluster_answered (cluster))
        return s_cluster_fail (ctl, cluster);
    const s_node_t *leader = NULL;
    for (size_t i = 0; i < cluster->n_nodes; i++) {
        const s_node_t *node = &cluster->nodes [i];
        if (node->answered && node->result.reply.role == 2
            && (!leader || node->result.reply.term > leader->result.reply.term))
            leader = node;
    }
    if (!leader)
        return s_fail (ctl, S_EXIT_FAILED, "no server leads now (see status)");
    zr_client_request_t request = {.type = ZR_CLIENT_SNAPSHOT};
    zr_kvclient_result_t result;
    int rc = zr_kvclient_call_at (ctl->client, leader->endpoint, &request,
                                  s_remaining_ms (ctl), &result);
    zr_assert (rc == 0);
    int code = result.outcome == ZR_KVCLIENT_DONE
                   ? s_ok (ctl, "OK (the leader is taking a snapshot)")
                   : s_fail_result (ctl, &result);
    zr_kvclient_result_release (&result);
    return code;
}

/* One FAULT request of a fan-out: on server `on`, for its link with peer. */
typedef struct {
    uint32_t on, peer;
    zr_kvclient_result_t result;
} s_fault_t;

/* Why server id cannot be asked: the reason its STATUS row gives. */
static const char *
s_unreached_why (s_cluster_t *cluster, uint32_t id)
{
    for (size_t k = 0; k < cluster->n_nodes; k++)
        if (cluster->nodes [k].id == id && cluster->nodes [k].error [0])
            return cluster->nodes [k].error;
    return "it did not answer STATUS";
}

/* Sends every FAULT at once and reports: 0 if all took effect; 1 if
   none did and none may have; else 2 (some unknown, or some changed
   and others not), naming the links not changed. A fault that cuts or
   degrades links is sent only if every server it must reach answered
   STATUS (a partition half made is worse than none: exit 1, "no link
   was changed"); a clear (heal, fault with neither option) is safe to
   repeat, so it clears what it can reach. */
static int
s_fault_send (ctl_t *ctl, s_cluster_t *cluster, s_fault_t *faults, size_t n,
              const zr_client_request_t *fault)
{
    bool clears = !fault->cut && fault->drop_ppm == 0 && fault->delay_ms == 0;
    char why [S_MESSAGE_MAX] = "";
    for (size_t i = 0; i < n && !clears; i++) {
        if (s_reach (cluster, faults [i].on)
            || (i > 0 && faults [i - 1].on == faults [i].on))
            continue;                   /* reachable, or named already */
        zr_client_bytes_t on = s_id_name (cluster, faults [i].on);
        size_t at = strlen (why);
        snprintf (why + at, sizeof why - at, "%s%.*s: %.200s", at ? "; " : "",
                  (int) on.size, (const char *) on.data,
                  s_unreached_why (cluster, faults [i].on));
    }
    if (why [0])
        return s_fail (ctl, S_EXIT_FAILED, "%s; no link was changed", why);
    for (size_t i = 0; i < n; i++) {
        const char *at = s_reach (cluster, faults [i].on);
        zr_client_request_t request = *fault;
        request.peer = faults [i].peer;
        faults [i].result.outcome = ZR_KVCLIENT_FAILED;
        snprintf (faults [i].result.error, sizeof faults [i].result.error,
                  "not asked: %s", s_unreached_why (cluster, faults [i].on));
        if (at && zr_kvclient_send_at (ctl->client, at, &request,
                                       s_remaining_ms (ctl), i) != 0)
            snprintf (faults [i].result.error, sizeof faults [i].result.error,
                      "cannot send to %s", at);
    }
    while (zr_kvclient_pending (ctl->client) > 0) {
        zr_kvclient_result_t result;
        int rc = zr_kvclient_recv (ctl->client, &result, -1);
        zr_assert (rc == 0 && result.token < n);
        faults [result.token].result = result;
    }
    int code = S_EXIT_DONE;
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        zr_kvclient_result_t *result = &faults [i].result;
        if (result->outcome == ZR_KVCLIENT_DONE) {
            done++;
            continue;
        }
        code = code == S_EXIT_UNKNOWN ? code : s_exit_code (result->outcome);
        zr_client_bytes_t on = s_id_name (cluster, faults [i].on);
        zr_client_bytes_t peer = s_id_name (cluster, faults [i].peer);
        size_t at = strlen (why);
        snprintf (why + at, sizeof why - at, "%s%.*s (link with %.*s): %.200s",
                  at ? "; " : "", (int) on.size, (const char *) on.data,
                  (int) peer.size, (const char *) peer.data, result->error);
    }
    for (size_t i = 0; i < n; i++)
        zr_kvclient_result_release (&faults [i].result);
    if (code == S_EXIT_DONE)
        return s_ok (ctl, "OK");
    if (done > 0)                       /* some links changed: not "none" */
        return s_fail (ctl, S_EXIT_UNKNOWN, "%s; the other %zu of %zu links"
                       " were changed", why, done, n);
    return s_fail (ctl, code, "%s", why);
}

/* fault, partition: every link into and out of NAME (the filter acts
   on what a server receives, so both ends are set); heal: every link. */
static int
s_verb_fault (ctl_t *ctl, s_cluster_t *cluster)
{
    const ctl_args_t *args = ctl->args;
    zr_client_request_t fault = {.type = ZR_CLIENT_FAULT};
    uint32_t name_id = 0;
    if (args->verb != S_HEAL) {
        int code = S_EXIT_DONE;
        s_member_t *member = s_resolve (ctl, cluster, args->args [0], &code);
        if (!member)
            return code;
        name_id = member->id;
        fault.cut = args->verb == S_PARTITION;
        fault.drop_ppm = args->drop_ppm;
        fault.delay_ms = args->delay_ms;
    }
    else if (!s_cluster_answered (cluster))
        return s_cluster_fail (ctl, cluster);
    s_fault_t faults [ZR_NODES_MAX * ZR_NODES_MAX];
    size_t n = 0;
    for (size_t a = 0; a < cluster->n_members; a++)
        for (size_t b = 0; b < cluster->n_members; b++) {
            uint32_t on = cluster->members [a].id, peer = cluster->members [b].id;
            if (on != peer && (!name_id || on == name_id || peer == name_id)) {
                memset (&faults [n], 0, sizeof faults [n]);
                faults [n].on = on;
                faults [n++].peer = peer;
            }
        }
    _Static_assert (ZR_NODES_MAX * ZR_NODES_MAX <= S_WINDOW, "one fan-out in flight");
    return s_fault_send (ctl, cluster, faults, n, &fault);
}

/* ----------------------------------------------------------------------
   The bus: pub, sub, cursors
   ---------------------------------------------------------------------- */

/* The worse of two exit codes: unknown over failed over done. */
static int
s_worse (int a, int b)
{
    return a == S_EXIT_UNKNOWN || b == S_EXIT_UNKNOWN ? S_EXIT_UNKNOWN
           : a == S_EXIT_FAILED || b == S_EXIT_FAILED ? S_EXIT_FAILED
                                                      : S_EXIT_DONE;
}

/* Waits for the next RESULT: only requests are in flight. */
static void
s_bus_result (ctl_t *ctl, zr_busclient_event_t *event)
{
    int rc = zr_busclient_recv (ctl->bus, event, -1);
    zr_assert (rc == 0 && event->type == ZR_BUSCLIENT_RESULT);
}

/* An ACK: {"index":..,"term":..,"duplicate":..}, or "index term". */
static void
s_print_ack (ctl_t *ctl, const zr_busmsg_t *ack)
{
    if (ctl->args->json)
        fprintf (ctl->out, "{\"index\":%" PRIu64 ",\"term\":%" PRIu64
                 ",\"duplicate\":%s}\n", ack->index, ack->term,
                 ack->duplicate ? "true" : "false");
    else
        fprintf (ctl->out, "%" PRIu64 " %" PRIu64 "%s\n", ack->index,
                 ack->term, ack->duplicate ? " (duplicate)" : "");
}

/* pub SUBJECT DATA: one publication. */
static int
s_verb_pub_one (ctl_t *ctl)
{
    const char *data = ctl->args->args [1];
    int rc = zr_busclient_publish (ctl->bus, ctl->args->args [0], data,
                                   strlen (data), 0);
    if (rc != 0)
        return s_fail (ctl, S_EXIT_USAGE, "the message breaks the protocol's"
                       " limits");
    zr_busclient_event_t event;
    s_bus_result (ctl, &event);
    int code = S_EXIT_DONE;
    if (event.outcome == ZR_KVCLIENT_DONE)
        s_print_ack (ctl, &event.msg);
    else
        code = s_fail (ctl, s_exit_code (event.outcome), "%s", event.error);
    zr_busclient_event_release (&event);
    return code;
}

/* Whether a line can be read from in without waiting long: its
   descriptor is readable (a memory stream always is). */
static bool
s_input_ready (FILE *in)
{
    int fd = fileno (in);
    if (fd < 0)
        return true;
    struct pollfd item = {.fd = fd, .events = POLLIN};
    return poll (&item, 1, 0) > 0;
}

/* One line's publication, kept until the lines before it are printed. */
typedef struct {
    bool done;
    zr_kvclient_outcome_t outcome;
    zr_busmsg_t ack;                   /* DONE: index, term, duplicate */
    char error [ZR_BUSCLIENT_ERROR_MAX];
} s_line_t;

/* Prints the results of lines [*printed..) that are in, in input order;
   returns the worst exit code among them and code. */
static int
s_lines_print (ctl_t *ctl, s_line_t *lines, uint64_t *printed, uint64_t sent,
               int code)
{
    while (*printed < sent && lines [*printed % S_WINDOW].done) {
        s_line_t *line = &lines [*printed % S_WINDOW];
        if (line->outcome == ZR_KVCLIENT_DONE)
            s_print_ack (ctl, &line->ack);
        else
            code = s_worse (code, s_fail (ctl, s_exit_code (line->outcome),
                                          "line %" PRIu64 ": %s", *printed + 1,
                                          line->error));
        memset (line, 0, sizeof *line);
        (*printed)++;
    }
    fflush (ctl->out);
    return code;
}

/* Reads lines while the window has room and input is ready (or nothing
   is in flight); publishes each. Returns false at the end of input, or
   at a line too long to send (*too_long: its number; the caller reports
   it after the results of the lines before it). */
static bool
s_lines_send (ctl_t *ctl, char **line, size_t *capacity, uint64_t *sent,
              uint64_t printed, uint64_t *too_long)
{
    while (*sent - printed < S_WINDOW && !zsys_interrupted
           && (zr_busclient_pending (ctl->bus) == 0 || s_input_ready (ctl->in))) {
        ssize_t n = getline (line, capacity, ctl->in);
        if (n < 0)
            return false;
        if (n > 0 && (*line) [n - 1] == '\n')
            (*line) [--n] = 0;
        if ((size_t) n > ZR_BUSMSG_PAYLOAD_MAX) {
            *too_long = *sent + 1;
            return false;
        }
        int rc = zr_busclient_publish (ctl->bus, ctl->args->args [0], *line,
                                       (size_t) n, *sent);
        zr_assert (rc == 0);            /* the window and limits allow it */
        (*sent)++;
    }
    return !zsys_interrupted;
}

/* pub SUBJECT: one publication per line of input, up to S_WINDOW in
   flight, results printed in input order. */
static int
s_verb_pub_lines (ctl_t *ctl)
{
    s_line_t *lines = (s_line_t *) calloc (S_WINDOW, sizeof *lines);
    zr_assert (lines);
    char *line = NULL;
    size_t capacity = 0;
    uint64_t sent = 0, printed = 0, too_long = 0;
    int code = S_EXIT_DONE;
    bool more = true;
    while (more || printed < sent) {
        if (more)
            more = s_lines_send (ctl, &line, &capacity, &sent, printed,
                                 &too_long);
        if (printed == sent)
            continue;
        bool full = sent - printed == S_WINDOW;
        zr_busclient_event_t event;
        if (zr_busclient_recv (ctl->bus, &event, more && !full ? 10 : -1) == 0) {
            zr_assert (event.type == ZR_BUSCLIENT_RESULT);
            s_line_t *slot = &lines [event.token % S_WINDOW];
            slot->done = true;
            slot->outcome = event.outcome;
            slot->ack = event.msg;
            snprintf (slot->error, sizeof slot->error, "%s", event.error);
            zr_busclient_event_release (&event);
        }
        code = s_lines_print (ctl, lines, &printed, sent, code);
    }
    if (too_long)                       /* after the lines before it */
        code = s_worse (code, s_fail (ctl, S_EXIT_FAILED, "line %" PRIu64
                                      ": over %u bytes; stopped reading",
                                      too_long, ZR_BUSMSG_PAYLOAD_MAX));
    free (line);
    free (lines);
    return code;
}

static int
s_verb_pub (ctl_t *ctl)
{
    return ctl->args->n_args == 2 ? s_verb_pub_one (ctl)
                                  : s_verb_pub_lines (ctl);
}

/* One delivery: "index term subject data", or a JSON object. */
static void
s_print_delivery (ctl_t *ctl, const zr_busmsg_t *msg)
{
    FILE *out = ctl->out;
    if (ctl->args->json) {
        fprintf (out, "{\"index\":%" PRIu64 ",\"term\":%" PRIu64
                 ",\"subject\":", msg->index, msg->term);
        s_json_bytes (out, msg->subject.data, msg->subject.size);
        fputs (",\"data\":", out);
        s_json_bytes (out, msg->payload.data, msg->payload.size);
        fputs ("}\n", out);
    }
    else {
        fprintf (out, "%" PRIu64 " %" PRIu64 " ", msg->index, msg->term);
        s_text_field (out, msg->subject.data, msg->subject.size);
        fputc (' ', out);
        s_text_bytes (out, msg->payload.data, msg->payload.size);
        fputc ('\n', out);
    }
    fflush (out);
}

/* What sub knows of its cursor, and of its subscription. */
typedef struct {
    uint64_t last;                      /* the last index printed, 0 none */
    uint64_t committed;                 /* the last index committed */
    uint64_t asked;                     /* the commit in flight, 0 none */
    uint64_t since;                     /* printed since the last commit */
    int64_t due;                        /* zclock_mono of the next commit */
    bool subscribed;                    /* a server took the subscription */
    uint32_t moved_on;                  /* the cursor's position was
                                           compacted: resumed at --from */
} s_cursor_t;

/* Commits the cursor if it moved and is due (S_COMMIT_EVERY messages or
   S_COMMIT_MS), one commit at a time. */
static void
s_cursor_tick (ctl_t *ctl, s_cursor_t *cursor, bool now_please)
{
    int64_t now = zclock_mono ();
    if (!ctl->args->cursor || cursor->asked || cursor->last <= cursor->committed
        || (!now_please && cursor->since < S_COMMIT_EVERY && now < cursor->due))
        return;
    if (zr_busclient_commit (ctl->bus, ctl->args->cursor, cursor->last, 0) == 0) {
        cursor->asked = cursor->last;
        cursor->since = 0;
        cursor->due = now + S_COMMIT_MS;
    }
}

/* A commit's RESULT: the cursor moved, or a line on stderr (the next
   commit tries again). Returns the exit code it stands for. */
static int
s_cursor_result (ctl_t *ctl, s_cursor_t *cursor, zr_busclient_event_t *event)
{
    zr_assert (cursor->asked);
    int code = s_exit_code (event->outcome);
    if (code == S_EXIT_DONE)
        cursor->committed = cursor->asked;
    else
        fprintf (ctl->err, "zraft-ctl: committing cursor %s at %" PRIu64
                 ": %s\n", ctl->args->cursor, cursor->asked, event->error);
    cursor->asked = 0;
    return code;
}

/* At the end: waits for a commit in flight, then commits what was
   printed since. A signal that comes within S_SIGNAL_AGAIN_MS of the
   end is the same request to stop delivered twice (GNU timeout signals
   its child, then the child's process group), not a request to give up
   the commit: the commit it cut short is sent again (a cursor only
   moves forward, so a repeat is harmless). Returns the exit code of the
   last commit. */
static int
s_cursor_final (ctl_t *ctl, s_cursor_t *cursor)
{
    int code = S_EXIT_DONE;
    int64_t stopped = zclock_mono ();
    bool by_signal = zsys_interrupted;
    zsys_interrupted = 0;               /* a signal ended sub: still commit */
    for (int round = 0; round < 4 && ctl->args->cursor; round++) {
        if (!cursor->asked)
            s_cursor_tick (ctl, cursor, true);
        if (!cursor->asked)
            break;
        zr_busclient_event_t event;
        s_bus_result (ctl, &event);
        if (event.outcome != ZR_KVCLIENT_DONE && zsys_interrupted && by_signal
            && round < 3 && zclock_mono () - stopped < S_SIGNAL_AGAIN_MS) {
            zsys_interrupted = 0;
            cursor->asked = 0;          /* the next round sends it again */
            code = s_exit_code (event.outcome);
        }
        else
            code = s_cursor_result (ctl, cursor, &event);
        zr_busclient_event_release (&event);
    }
    if (code == S_EXIT_UNKNOWN)
        return s_fail (ctl, code, "the cursor %s may not have been committed"
                       " at %" PRIu64, ctl->args->cursor, cursor->last);
    if (code != S_EXIT_DONE)
        return s_fail (ctl, code, "the cursor %s was not committed at %" PRIu64,
                       ctl->args->cursor, cursor->last);
    return code;
}

/* The bus endpoints, for a message: "E1, E2, ..." (cut to fit). */
static void
s_bus_endpoints_text (const ctl_args_t *args, char *text, size_t size)
{
    size_t used = 0;
    text [0] = 0;
    for (size_t i = 0; i < args->n_bus_endpoints && used + 1 < size; i++) {
        int n = snprintf (text + used, size - used, "%s%s", i ? ", " : "",
                          args->bus_endpoints [i]);
        used += n > 0 ? (size_t) n : 0;
    }
}

/* The subscription ended. A cursor whose position the log no longer
   holds (compacted into a snapshot: cursors do not hold compaction
   back) resumes where --from says, if it was given, as a consumer with
   no cursor would start (Kafka's auto.offset.reset), on the server that
   said so (whose first index the message names); the cursor then moves
   on from there. Returns false when sub must stop (*code: why). */
static bool
s_sub_ended (ctl_t *ctl, const zr_busclient_event_t *event,
             s_cursor_t *cursor, int *code)
{
    const ctl_args_t *args = ctl->args;
    bool compacted = event->frame && event->msg.type == ZR_BUSMSG_OUT_OF_RANGE;
    bool index_gone = args->from_mode == ZR_BUSMSG_FROM_INDEX
                      && args->from < event->msg.first;   /* --from too */
    /* Once, or (FIRST: the log may be trimmed again between the OK and
       the read) a few times while nothing was delivered. */
    if (compacted && args->cursor && args->has_from && !index_gone
        && cursor->last == 0
        && cursor->moved_on < (args->from_mode == ZR_BUSMSG_FROM_FIRST
                               ? S_MOVE_ON_MAX : 1)) {
        fprintf (ctl->err, "zraft-ctl: the log no longer holds where cursor"
                 " %s stands (its first index is %" PRIu64 "); starting"
                 " where --from says\n", args->cursor, event->msg.first);
        cursor->moved_on++;
        zr_busclient_sub_t options = {.from_mode = args->from_mode,
                                      .from = args->from,
                                      .prefix = args->subject,
                                      .endpoint = event->endpoint [0]
                                                  ? event->endpoint : NULL};
        if (zr_busclient_subscribe (ctl->bus, &options) == 0)
            return true;
    }
    if (compacted && args->cursor && !args->has_from)
        *code = s_fail (ctl, S_EXIT_FAILED, "the subscription ended: %s;"
                        " `sub --cursor %s --from first` resumes at the first"
                        " index held, skipping what was compacted",
                        event->error, args->cursor);
    else
        *code = s_fail (ctl, S_EXIT_FAILED, "the subscription ended: %s",
                        event->error);
    return false;
}

/* One event of the subscription; returns false when sub must stop
   (ENDED: *code says why). */
static bool
s_sub_event (ctl_t *ctl, zr_busclient_event_t *event, s_cursor_t *cursor,
             uint64_t *got, int *code)
{
    switch (event->type) {
    case ZR_BUSCLIENT_DELIVERY:
        s_print_delivery (ctl, &event->msg);
        cursor->last = event->msg.index;
        cursor->since++;
        (*got)++;
        return true;
    case ZR_BUSCLIENT_ENDED:
        return s_sub_ended (ctl, event, cursor, code);
    case ZR_BUSCLIENT_RESULT:
        s_cursor_result (ctl, cursor, event);
        return true;
    default:                            /* SUBSCRIBED: on some server */
        if (!cursor->subscribed && !cursor->last && !ctl->args->cursor
            && ctl->args->from_mode == ZR_BUSMSG_FROM_INDEX
            && ctl->args->from > event->msg.last + 1)
            fprintf (ctl->err, "zraft-ctl: --from %" PRIu64 " is ahead of the"
                     " log (its last index is %" PRIu64 "): waiting for it\n",
                     ctl->args->from, event->msg.last);
        cursor->subscribed = true;
        return true;
    }
}

/* sub: prints deliveries until --count, --timeout (if given), the end
   of the subscription or a signal; commits the cursor as it goes and
   at the end. */
static int
s_verb_sub (ctl_t *ctl)
{
    const ctl_args_t *args = ctl->args;
    zr_busclient_sub_t options = {.from_mode = args->from_mode,
                                  .from = args->from, .prefix = args->subject,
                                  .cursor = args->cursor};
    if (zr_busclient_subscribe (ctl->bus, &options) != 0)
        return s_fail (ctl, S_EXIT_USAGE, "the subscription breaks the"
                       " protocol's limits");
    s_cursor_t cursor = {.due = zclock_mono () + S_COMMIT_MS};
    uint64_t got = 0;
    int code = S_EXIT_DONE;
    bool going = true;
    char endpoints [S_MESSAGE_MAX / 2];
    s_bus_endpoints_text (args, endpoints, sizeof endpoints);
    int64_t warn_at = args->timeout_given ? 0
                                          : zclock_mono () + args->timeout_ms;
    while (going && !(args->count && got >= args->count) && !zsys_interrupted) {
        if (!cursor.subscribed && warn_at && zclock_mono () >= warn_at) {
            const char *problem = zr_busclient_sub_problem (ctl->bus);
            fprintf (ctl->err, "zraft-ctl: no server has taken the"
                     " subscription in %d ms (%s%s%s); still trying, without"
                     " end (give --timeout to stop trying; Ctrl-C stops)\n",
                     args->timeout_ms, endpoints, *problem ? "; the last: " : "",
                     problem);
            warn_at = 0;                /* once */
        }
        int64_t left = ctl->deadline - zclock_mono ();
        if (args->timeout_given && left <= 0) {
            if (args->count && cursor.subscribed)   /* else: below */
                code = s_fail (ctl, S_EXIT_FAILED, "timed out after %" PRIu64
                               " of %" PRIu64 " messages", got, args->count);
            break;
        }
        s_cursor_tick (ctl, &cursor, false);
        int wait = args->timeout_given && left < S_TICK_MS ? (int) left
                                                           : S_TICK_MS;
        zr_busclient_event_t event;
        if (zr_busclient_recv (ctl->bus, &event, wait) != 0)
            continue;
        going = s_sub_event (ctl, &event, &cursor, &got, &code);
        zr_busclient_event_release (&event);
    }
    zr_busclient_unsubscribe (ctl->bus);
    if (!cursor.subscribed && going)    /* else ENDED said why */
        code = s_worse (code, s_fail (ctl, S_EXIT_FAILED, "no server took the"
                                      " subscription (%s%s%.300s)", endpoints,
                                      *zr_busclient_sub_problem (ctl->bus)
                                      ? "; the last: " : "",
                                      zr_busclient_sub_problem (ctl->bus)));
    return s_worse (code, s_cursor_final (ctl, &cursor));
}

/* cursors: every durable cursor, "name index" a line, or one object. */
static int
s_verb_cursors (ctl_t *ctl)
{
    int rc = zr_busclient_cursors (ctl->bus, 0);
    zr_assert (rc == 0);
    zr_busclient_event_t event;
    s_bus_result (ctl, &event);
    if (event.outcome != ZR_KVCLIENT_DONE) {
        int code = s_fail (ctl, s_exit_code (event.outcome), "%s", event.error);
        zr_busclient_event_release (&event);
        return code;
    }
    zr_busmsg_cursors_iter_t iter;
    zr_busmsg_cursor_t cursor;
    zr_busmsg_cursors_iter (&event.msg, &iter);
    bool first = true;
    if (ctl->args->json)
        fputs ("{\"cursors\":{", ctl->out);
    while (zr_busmsg_cursors_next (&iter, &cursor)) {
        if (ctl->args->json) {
            fputs (first ? "" : ",", ctl->out);
            s_json_bytes (ctl->out, cursor.name.data, cursor.name.size);
            fprintf (ctl->out, ":%" PRIu64, cursor.index);
        }
        else {
            s_text_field (ctl->out, cursor.name.data, cursor.name.size);
            fprintf (ctl->out, " %" PRIu64 "\n", cursor.index);
        }
        first = false;
    }
    if (ctl->args->json)
        fputs ("}}\n", ctl->out);
    zr_busclient_event_release (&event);
    return S_EXIT_DONE;
}

/* A client of the client endpoints given, or NULL if they do not do. */
static zr_kvclient_t *
s_kvclient_new (const ctl_args_t *args)
{
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.timeout_ms = args->timeout_ms;
    config.window = S_WINDOW;
    return zr_kvclient_new (args->endpoints, args->n_endpoints, &config);
}

/* Takes the bus endpoints a STATUS reply's member list names. */
static void
s_bus_learn (ctl_args_t *args, const zr_client_reply_t *reply)
{
    for (uint32_t m = 0; m < reply->n_members
                         && args->n_bus_endpoints < ZR_NODES_MAX; m++) {
        char *slot = args->found [args->n_bus_endpoints];
        slot [0] = 0;
        s_endpoint_learn (slot, reply->members [m].bus_endpoint);
        if (*slot)
            args->bus_endpoints [args->n_bus_endpoints++] = slot;
    }
}

/* Without bus endpoints given: asks the client endpoints for status,
   all at once, and takes the bus endpoints the first answer naming any
   gives (each names every member's it knows), without waiting for a
   server that is down. Returns 0, or an exit code if none does. */
static int
s_bus_discover (ctl_t *ctl)
{
    ctl_args_t *args = ctl->args;
    ctl->client = s_kvclient_new (args);
    if (!ctl->client)
        return s_fail (ctl, S_EXIT_USAGE, "cannot use the endpoints given");
    zr_client_request_t request = {.type = ZR_CLIENT_STATUS};
    int timeout_ms = s_remaining_ms (ctl);
    for (size_t i = 0; i < args->n_endpoints; i++)
        zr_kvclient_send_at (ctl->client, args->endpoints [i], &request,
                             timeout_ms, i);
    bool answered = false, unknown = false;
    char error [ZR_KVCLIENT_ERROR_MAX] = "";
    while (args->n_bus_endpoints == 0 && zr_kvclient_pending (ctl->client) > 0) {
        zr_kvclient_result_t result;
        int rc = zr_kvclient_recv (ctl->client, &result, -1);
        zr_assert (rc == 0);
        if (result.outcome == ZR_KVCLIENT_DONE) {
            answered = true;
            s_bus_learn (args, &result.reply);
        }
        else {
            unknown |= result.outcome == ZR_KVCLIENT_UNKNOWN;
            if (!error [0])
                snprintf (error, sizeof error, "%s", result.error);
        }
        zr_kvclient_result_release (&result);
    }
    zr_kvclient_destroy (&ctl->client);
    if (args->n_bus_endpoints > 0)
        return S_EXIT_DONE;
    if (!answered)
        return s_fail (ctl, unknown ? S_EXIT_UNKNOWN : S_EXIT_FAILED,
                       "no server answered (%s: %s)", args->endpoints [0],
                       error [0] ? error : "cannot connect");
    return s_fail (ctl, S_EXIT_FAILED, "no bus endpoints: the servers that"
                   " answered name none (started without --listen-bus?);"
                   " give --bus-endpoints");
}

/* The bus verbs, on a bus client of their own. */
static int
s_run_bus (ctl_t *ctl)
{
    if (ctl->args->n_bus_endpoints == 0) {
        int code = s_bus_discover (ctl);
        if (code != S_EXIT_DONE)
            return code;
    }
    const ctl_args_t *args = ctl->args;
    zr_busclient_config_t config;
    zr_busclient_config_defaults (&config);
    config.calls.timeout_ms = args->timeout_ms;
    config.calls.window = S_WINDOW;
    ctl->bus = zr_busclient_new (args->bus_endpoints, args->n_bus_endpoints,
                                 &config);
    if (!ctl->bus)
        return s_fail (ctl, S_EXIT_USAGE, "cannot use the bus endpoints given");
    int code = args->verb == S_PUB ? s_verb_pub (ctl)
               : args->verb == S_SUB ? s_verb_sub (ctl)
                                     : s_verb_cursors (ctl);
    zr_busclient_destroy (&ctl->bus);
    return code;
}

/* ----------------------------------------------------------------------
   main
   ---------------------------------------------------------------------- */

static int
s_run (ctl_t *ctl)
{
    s_verb_t verb = ctl->args->verb;
    if (verb <= S_CAS)
        return s_verb_kv (ctl);
    s_cluster_t *cluster = (s_cluster_t *) calloc (1, sizeof *cluster);
    zr_assert (cluster);
    s_cluster_gather (ctl, cluster);
    int code = verb == S_STATUS ? s_verb_status (ctl, cluster)
               : verb == S_TRANSFER ? s_verb_transfer (ctl, cluster)
               : verb == S_SNAPSHOT ? s_verb_snapshot (ctl, cluster)
                                    : s_verb_fault (ctl, cluster);
    s_cluster_release (cluster);
    free (cluster);
    return code;
}

/* The whole program: argv, ZRAFT_ENDPOINTS and ZRAFT_BUS_ENDPOINTS in,
   input on in (pub SUBJECT), output on out and err, the exit code out. */
static int
ctl_main (int argc, char **argv, const char *env_endpoints,
          const char *env_bus_endpoints, FILE *in, FILE *out, FILE *err)
{
    ctl_args_t args;
    ctl_t ctl = {.args = &args, .in = in, .out = out, .err = err};
    int code = S_EXIT_DONE;
    if (s_args_parse (&args, argc, argv, env_endpoints, env_bus_endpoints) != 0) {
        code = s_fail (&ctl, S_EXIT_USAGE, "%s", args.error);
        if (!args.json)
            fputs ("Try 'zraft-ctl --help'.\n", err);
    }
    else if (args.help)
        fputs (s_usage, out);
    else if (args.version)
        fprintf (out, "zraft-ctl %s\n", ZR_CTL_VERSION);
    else
    if (s_is_bus_verb (args.verb)) {
        ctl.deadline = zclock_mono () + args.timeout_ms;
        code = s_run_bus (&ctl);
    }
    else {
        ctl.client = s_kvclient_new (&args);
        ctl.deadline = zclock_mono () + args.timeout_ms;
        if (!ctl.client)
            code = s_fail (&ctl, S_EXIT_USAGE, "cannot use the endpoints given");
        else
            code = s_run (&ctl);
        zr_kvclient_destroy (&ctl.client);
    }
    s_args_release (&args);
    fflush (out);
    return code;
}

#ifndef ZR_CTL_NO_MAIN
int
main (int argc, char **argv)
{
    zsys_set_logstream (stderr);        /* stdout carries results only */
    zsys_set_logident ("zraft-ctl");
    return ctl_main (argc, argv, getenv ("ZRAFT_ENDPOINTS"),
                     getenv ("ZRAFT_BUS_ENDPOINTS"), stdin, stdout, stderr);
}
#endif
