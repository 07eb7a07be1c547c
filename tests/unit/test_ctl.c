/*  =========================================================================
    test_ctl - zraft-ctl (bin/zraft-ctl.c) and its client library
    (bin/lib/client.h) without a zraft-node

    Four parts:
    1. Pure rules: argument parsing, JSON escaping, what a reply makes a
       call do (zr_kvclient_on_reply) and the outcome of a call's tries
       (zr_kvclient_classify).
    2. The client against scripted fake servers: each fake is a czmq
       actor with a ROUTER on 127.0.0.1 that answers every request with
       the next step of its script (a reply code, silence, a late reply,
       or closing its socket) and records what it received, so a test
       can check that every retry carried the same client_id and seq.
    3. zraft-ctl's whole run (ctl_main) against the fakes: exit codes
       and the one JSON object on stdout.
    4. Fan-outs: status with a dead endpoint, fault and partition.
    Timeouts are explicit in each test's config; the only timing asserts
    are upper bounds far from them ("within the try timeout").
    Real servers: tests/proc/test_ctl.c.
    =========================================================================
*/
#define ZR_CTL_NO_MAIN
#include "../../bin/zraft-ctl.c"
#include "../../actors/actors.h"     /* zr_handoff_send/recv */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../lib/check_run.h"

/* ======================================================================
   1. Pure rules
   ====================================================================== */

static int
s_parse (ctl_args_t *args, const char *env, ...)
{
    char *argv [32] = {"zraft-ctl"};
    int argc = 1;
    va_list ap;
    va_start (ap, env);
    for (const char *a = va_arg (ap, const char *); a; a = va_arg (ap, const char *))
        argv [argc++] = (char *) a;
    va_end (ap);
    return s_args_parse (args, argc, argv, env, NULL);
}

/* put with its two arguments, options before and after the verb. */
START_TEST (args_parse_put_with_options_anywhere)
{
    ctl_args_t a;
    ck_assert_int_eq (s_parse (&a, NULL, "--endpoints", "tcp://a:1,tcp://b:2", "put",
                               "k", "v", "-w", "json", "--timeout=250", NULL), 0);
    ck_assert_int_eq (a.verb, S_PUT);
    ck_assert_uint_eq (a.n_args, 2);
    ck_assert_str_eq (a.args [0], "k");
    ck_assert_str_eq (a.args [1], "v");
    ck_assert_uint_eq (a.n_endpoints, 2);
    ck_assert_str_eq (a.endpoints [1], "tcp://b:2");
    ck_assert (a.json);
    ck_assert_int_eq (a.timeout_ms, 250);
    s_args_release (&a);
}
END_TEST

/* ZRAFT_ENDPOINTS is used only when --endpoints is not given. */
START_TEST (args_parse_endpoints_flag_beats_environment)
{
    ctl_args_t a;
    ck_assert_int_eq (s_parse (&a, "tcp://env:1", "status", NULL), 0);
    ck_assert_uint_eq (a.n_endpoints, 1);
    ck_assert_str_eq (a.endpoints [0], "tcp://env:1");
    ck_assert_int_eq (a.timeout_ms, 5000);
    ck_assert (!a.json);
    s_args_release (&a);
    ck_assert_int_eq (s_parse (&a, "tcp://env:1", "--endpoints=tcp://flag:1", "status", NULL), 0);
    ck_assert_str_eq (a.endpoints [0], "tcp://flag:1");
    s_args_release (&a);
    ck_assert_int_eq (s_parse (&a, NULL, "status", NULL), -1);
    ck_assert_ptr_nonnull (strstr (a.error, "ZRAFT_ENDPOINTS"));
    s_args_release (&a);
}
END_TEST

/* Every usage error is refused with a message naming what is wrong. */
START_TEST (args_parse_refuses_usage_errors)
{
    static const struct {
        const char *argv [6];
        const char *says;
    } cases [] = {
        {{"put", "k", NULL}, "put takes 2 arguments, not 1"},
        {{"get", NULL}, "get takes 1 argument"},
        {{"frob", NULL}, "unknown verb 'frob'"},
        {{NULL}, "no verb"},
        {{"get", "k", "--bogus", NULL}, "unknown option '--bogus'"},
        {{"get", "k", "--timeout", "0", NULL}, "--timeout '0'"},
        {{"get", "k", "--timeout", "12x", NULL}, "--timeout '12x'"},
        {{"get", "k", "--timeout", NULL}, "--timeout needs a value"},
        {{"get", "k", "-w", "yaml", NULL}, "-w 'yaml': table or json"},
        {{"put", "k", "v", "--stale", NULL}, "--stale is for get only"},
        {{"get", "k", "--drop", "0.5", NULL}, "--drop and --delay are for fault only"},
        {{"fault", "n1", "--drop", "1.5", NULL}, "--drop '1.5'"},
        {{"fault", "n1", "--drop", "nan", NULL}, "--drop 'nan'"},
        {{"fault", "n1", "--delay", "60001", NULL}, "--delay '60001'"},
        {{"get", "", NULL}, "key: 1..4096 bytes"},
        {{"cas", "k", "a", "b", "c", NULL}, "too many arguments"},
        {{"put", "k", "v", "--cursor", "c", NULL}, "are for sub only"},
        {{"get", "k", "--count", "2", NULL}, "are for sub only"},
        {{"get", "k", "--endpoints", "tcp://b:1", NULL}, "--endpoints is given twice"},
        {{"-w", "json", "get", "k", "--write-out=table", NULL},
         "--write-out is given twice"},
        {{"--timeout=1", "--timeout", "2", "get", "k", NULL}, "--timeout is given twice"},
        {{"sub", "--from", "1", "--from=2", NULL}, "--from is given twice"},
        {{"--bogus", "get", "k", NULL}, "unknown option '--bogus'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        char *argv [8] = {"zraft-ctl", "--endpoints", "tcp://a:1"};
        int argc = 3;
        for (int i = 0; cases [c].argv [i]; i++)
            argv [argc++] = (char *) cases [c].argv [i];
        ctl_args_t a;
        ck_assert_int_eq (s_args_parse (&a, argc, argv, NULL, NULL), -1);
        ck_assert_msg (strstr (a.error, cases [c].says), "case %zu: '%s' lacks '%s'",
                       c, a.error, cases [c].says);
        /* The hint about -- only where a key or value could be meant. */
        ck_assert (!strstr (a.error, "goes after --")
                   == !(strstr (a.error, "unknown option") && argc > 3
                        && !streq (argv [3], "--bogus")));
        s_args_release (&a);
    }
}
END_TEST

/* The bus verbs: their arguments and options, bus endpoints from the
   flag or ZRAFT_BUS_ENDPOINTS (client endpoints not needed), else the
   client endpoints (whose status names them), else a usage error. */
START_TEST (args_parse_bus_verbs)
{
    ctl_args_t a;
    char *argv [16] = {"zraft-ctl", "sub", "--from", "first", "--subject",
                       "orders.", "--cursor", "billing", "--count", "3"};
    ck_assert_int_eq (s_args_parse (&a, 10, argv, NULL, "tcp://a:1,tcp://b:2"),
                      0);
    ck_assert_int_eq (a.verb, S_SUB);
    ck_assert_int_eq (a.from_mode, ZR_BUSMSG_FROM_FIRST);
    ck_assert_str_eq (a.subject, "orders.");
    ck_assert_str_eq (a.cursor, "billing");
    ck_assert_uint_eq (a.count, 3);
    ck_assert_uint_eq (a.n_bus_endpoints, 2);
    ck_assert_uint_eq (a.n_endpoints, 0);
    ck_assert (!a.timeout_given);
    s_args_release (&a);
    char *index [] = {"zraft-ctl", "--bus-endpoints", "tcp://c:3", "sub",
                      "--from=42", "--timeout", "900"};
    ck_assert_int_eq (s_args_parse (&a, 7, index, NULL, "tcp://a:1"), 0);
    ck_assert_int_eq (a.from_mode, ZR_BUSMSG_FROM_INDEX);
    ck_assert_uint_eq (a.from, 42);
    ck_assert_uint_eq (a.n_bus_endpoints, 1);
    ck_assert_str_eq (a.bus_endpoints [0], "tcp://c:3");
    ck_assert (a.timeout_given);
    s_args_release (&a);
    char *next [] = {"zraft-ctl", "sub"};
    ck_assert_int_eq (s_args_parse (&a, 2, next, NULL, "tcp://a:1"), 0);
    ck_assert_int_eq (a.from_mode, ZR_BUSMSG_FROM_NEXT);
    s_args_release (&a);
    char *pub [] = {"zraft-ctl", "pub", "orders"};
    ck_assert_int_eq (s_args_parse (&a, 3, pub, NULL, "tcp://a:1"), 0);
    ck_assert_uint_eq (a.n_args, 1);
    s_args_release (&a);
    ck_assert_int_eq (s_args_parse (&a, 3, pub, "tcp://k:1,tcp://k:2", NULL), 0);
    ck_assert_uint_eq (a.n_bus_endpoints, 0);
    ck_assert_uint_eq (a.n_endpoints, 2);
    s_args_release (&a);
    ck_assert_int_eq (s_args_parse (&a, 3, pub, NULL, NULL), -1);
    ck_assert_ptr_nonnull (strstr (a.error, "no bus endpoints"));
    ck_assert_ptr_nonnull (strstr (a.error, "ZRAFT_ENDPOINTS"));
    s_args_release (&a);
    struct { char *argv [6]; const char *says; } cases [] = {
        {{"pub", NULL}, "pub takes 1 or 2 arguments, not 0"},
        {{"pub", "", "x", NULL}, "subject: 1..255 bytes"},
        {{"cursors", "x", NULL}, "cursors takes 0 arguments"},
        {{"sub", "--from", "0", NULL}, "--from '0'"},
        {{"sub", "--from", "later", NULL}, "--from 'later'"},
        {{"sub", "--count", "0", NULL}, "--count '0'"},
        {{"sub", "--cursor", "", NULL}, "--cursor: a name"},
        {{"pub", "s", "d", "--subject", "x", NULL}, "are for sub only"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        char *args [8] = {"zraft-ctl"};
        int argc = 1;
        for (int i = 0; cases [c].argv [i]; i++)
            args [argc++] = cases [c].argv [i];
        ck_assert_int_eq (s_args_parse (&a, argc, args, NULL, "tcp://a:1"), -1);
        ck_assert_msg (strstr (a.error, cases [c].says), "case %zu: '%s' lacks"
                       " '%s'", c, a.error, cases [c].says);
        s_args_release (&a);
    }
}
END_TEST

/* Endpoint lists: empty items, non-endpoints and too many are refused. */
START_TEST (args_parse_refuses_bad_endpoint_lists)
{
    ctl_args_t a;
    ck_assert_int_eq (s_parse (&a, NULL, "--endpoints", "tcp://a:1,,tcp://b:1", "status", NULL), -1);
    ck_assert_ptr_nonnull (strstr (a.error, "empty endpoint"));
    s_args_release (&a);
    ck_assert_int_eq (s_parse (&a, NULL, "--endpoints", "localhost:2379", "status", NULL), -1);
    ck_assert_ptr_nonnull (strstr (a.error, "not an endpoint"));
    s_args_release (&a);
    const char *bad [] = {"tcp://127.0.0.1:99999", "tcp://127.0.0.1:0",
                          "tcp://127.0.0.1:65536", "tcp://a,b:1",
                          "tcp://127.0.0.1:80x", "ipc:///tmp/x", "tcp://*:7101",
                          "tcp://0.0.0.0:7101", "tcp://[::]:7101", "tcp://[*]:7101",
                          "tcp://:7101", "http://h:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        ck_assert_int_eq (s_parse (&a, NULL, "--endpoints", bad [i], "status", NULL), -1);
        ck_assert_msg (strstr (a.error, "not an endpoint to connect to"), "%s: %s",
                       bad [i], a.error);
        s_args_release (&a);
    }
    const char *good [] = {"tcp://[::1]:7001", "tcp://my-host_1.example:007001",
                           "tcp://10.0.0.1:65535"};
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++) {
        ck_assert_int_eq (s_parse (&a, NULL, "--endpoints", good [i], "status", NULL), 0);
        s_args_release (&a);
    }
    /* Blanks around the commas are the list's, not the endpoints'. */
    ck_assert_int_eq (s_parse (&a, NULL, "--endpoints", " tcp://a:1, tcp://b:2 ",
                               "status", NULL), 0);
    ck_assert_uint_eq (a.n_endpoints, 2);
    ck_assert_str_eq (a.endpoints [0], "tcp://a:1");
    ck_assert_str_eq (a.endpoints [1], "tcp://b:2");
    s_args_release (&a);
    ck_assert_int_eq (s_parse (&a, "", "status", NULL), -1);
    s_args_release (&a);
    char list [2048] = "";
    for (int i = 0; i <= ZR_KVCLIENT_ENDPOINTS_MAX; i++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%stcp://h:%d",
                  i ? "," : "", 1000 + i);
    ck_assert_int_eq (s_parse (&a, NULL, "--endpoints", list, "status", NULL), -1);
    ck_assert_ptr_nonnull (strstr (a.error, "at most 16 endpoints"));
    s_args_release (&a);
}
END_TEST

/* After --, arguments starting with '-' are keys and values. */
START_TEST (args_parse_double_dash_ends_options)
{
    ctl_args_t a;
    ck_assert_int_eq (s_parse (&a, "tcp://a:1", "put", "--", "-k", "--v", NULL), 0);
    ck_assert_str_eq (a.args [0], "-k");
    ck_assert_str_eq (a.args [1], "--v");
    s_args_release (&a);
}
END_TEST

/* fault's probability becomes ppm; get --stale is kept. */
START_TEST (args_parse_fault_and_stale)
{
    ctl_args_t a;
    ck_assert_int_eq (s_parse (&a, "tcp://a:1", "fault", "n2", "--drop", "0.25",
                               "--delay=40", NULL), 0);
    ck_assert_int_eq (a.verb, S_FAULT);
    ck_assert_uint_eq (a.drop_ppm, 250000);
    ck_assert_uint_eq (a.delay_ms, 40);
    s_args_release (&a);
    ck_assert_int_eq (s_parse (&a, "tcp://a:1", "fault", "n2", "--drop", "1", NULL), 0);
    ck_assert_uint_eq (a.drop_ppm, 1000000);
    s_args_release (&a);
    ck_assert_int_eq (s_parse (&a, "tcp://a:1", "get", "k", "--stale", NULL), 0);
    ck_assert (a.stale);
    s_args_release (&a);
}
END_TEST

/* --help and --version win over any usage error. */
START_TEST (args_parse_help_wins)
{
    ctl_args_t a;
    ck_assert_int_eq (s_parse (&a, NULL, "frob", "--help", "--timeout", "x", NULL), 0);
    ck_assert (a.help);
    s_args_release (&a);
    ck_assert_int_eq (s_parse (&a, NULL, "--version", NULL), 0);
    ck_assert (a.version);
    s_args_release (&a);
}
END_TEST

/* Runs ctl_main, capturing stdout and stderr. */
typedef struct {
    int code;
    char *out, *err;
    size_t out_size, err_size;
} t_run_t;

static void
t_run_argv (t_run_t *run, const char *env, int argc, char **argv)
{
    memset (run, 0, sizeof *run);
    FILE *out = open_memstream (&run->out, &run->out_size);
    FILE *err = open_memstream (&run->err, &run->err_size);
    ck_assert (out && err);
    run->code = ctl_main (argc, argv, env, NULL, stdin, out, err);
    fclose (out);
    fclose (err);
}

static void
t_run (t_run_t *run, const char *env, ...)
{
    char *argv [32] = {"zraft-ctl"};
    int argc = 1;
    va_list ap;
    va_start (ap, env);
    for (const char *a = va_arg (ap, const char *); a; a = va_arg (ap, const char *))
        argv [argc++] = (char *) a;
    va_end (ap);
    t_run_argv (run, env, argc, argv);
}

static void
t_run_free (t_run_t *run)
{
    free (run->out);
    free (run->err);
}

/* Usage errors exit 64; with -w json the error is the one JSON object. */
START_TEST (main_usage_error_exits_64)
{
    t_run_t run;
    t_run (&run, NULL, "put", "k", NULL);
    ck_assert_int_eq (run.code, 64);
    ck_assert_str_eq (run.out, "");
    ck_assert_ptr_nonnull (strstr (run.err, "zraft-ctl: put takes 2 arguments"));
    ck_assert_ptr_nonnull (strstr (run.err, "--help"));
    t_run_free (&run);
    t_run (&run, "tcp://a:1", "-w", "json", "frob", NULL);
    ck_assert_int_eq (run.code, 64);
    ck_assert_str_eq (run.out, "{\"error\":\"unknown verb 'frob' (see --help)\"}\n");
    t_run_free (&run);
}
END_TEST

/* --help documents every verb and exit code; --version prints one line. */
START_TEST (main_help_and_version)
{
    t_run_t run;
    t_run (&run, NULL, "--help", NULL);
    ck_assert_int_eq (run.code, 0);
    const char *must [] = {"put K V", "get K", "del K", "cas K OLD NEW", "status",
                           "transfer NAME", "snapshot", "fault NAME", "partition NAME",
                           "heal", "--endpoints", "--timeout", "-w", "ZRAFT_ENDPOINTS",
                           "  0 ", "  1 ", "  2 ", "  64 ", "unreachable"};
    for (size_t i = 0; i < sizeof must / sizeof must [0]; i++)
        ck_assert_msg (strstr (run.out, must [i]), "--help lacks '%s'", must [i]);
    t_run_free (&run);
    t_run (&run, NULL, "--version", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "zraft-ctl " ZR_CTL_VERSION "\n");
    t_run_free (&run);
}
END_TEST

static char *
s_json (const void *data, size_t size)
{
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream (&text, &length);
    s_json_bytes (f, data, size);
    fclose (f);
    return text;
}

#define S_JSON_EQ(bytes, expect)                                             \
    do {                                                                     \
        char *got = s_json (bytes, sizeof (bytes) - 1);                      \
        ck_assert_str_eq (got, expect);                                      \
        free (got);                                                          \
    } while (0)

/* Quotes, backslashes and control characters are escaped (RFC 8259 §7). */
START_TEST (json_bytes_escapes_specials)
{
    S_JSON_EQ ("plain", "\"plain\"");
    S_JSON_EQ ("a\"b\\c", "\"a\\\"b\\\\c\"");
    S_JSON_EQ ("l1\nl2\tx\r", "\"l1\\nl2\\tx\\r\"");
    S_JSON_EQ ("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    S_JSON_EQ ("nul\0in", "\"nul\\u0000in\"");
    S_JSON_EQ ("", "\"\"");
}
END_TEST

/* Well-formed UTF-8 passes as it is, 2, 3 and 4 bytes long. */
START_TEST (json_bytes_keeps_utf8)
{
    S_JSON_EQ ("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    S_JSON_EQ ("\xe2\x82\xac", "\"\xe2\x82\xac\"");
    S_JSON_EQ ("\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\"");
    S_JSON_EQ ("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");    /* U+10FFFF */
}
END_TEST

/* Bytes that are not well-formed UTF-8 become \u00XX, one per byte:
   stray, overlong, surrogate, truncated, above U+10FFFF. */
START_TEST (json_bytes_escapes_non_utf8)
{
    S_JSON_EQ ("\xff", "\"\\u00ff\"");
    S_JSON_EQ ("\x80x", "\"\\u0080x\"");
    S_JSON_EQ ("\xc0\x80", "\"\\u00c0\\u0080\"");
    S_JSON_EQ ("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");
    S_JSON_EQ ("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
    S_JSON_EQ ("\xe2\x82", "\"\\u00e2\\u0082\"");
    S_JSON_EQ ("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"");
    S_JSON_EQ ("\xc3\xa9\xc3", "\"\xc3\xa9\\u00c3\"");
}
END_TEST

/* The retry table of client.h, code by code. */
START_TEST (kvclient_on_reply_table)
{
    static const struct {
        int code;
        bool pinned;
        zr_kvclient_step_t step;
        zr_kvclient_try_t state;
    } rows [] = {
        {ZR_CLIENT_OK, false, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_OK},
        {ZR_CLIENT_OK, true, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_OK},
        {ZR_CLIENT_NOT_LEADER, false, ZR_KVCLIENT_REDIRECT, ZR_KVCLIENT_TRY_NO},
        {ZR_CLIENT_NOT_LEADER, true, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_NO},
        {ZR_CLIENT_BUSY, false, ZR_KVCLIENT_BACKOFF, ZR_KVCLIENT_TRY_NO},
        {ZR_CLIENT_BUSY, true, ZR_KVCLIENT_BACKOFF, ZR_KVCLIENT_TRY_NO},
        {ZR_CLIENT_INVALID, false, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_NO},
        {ZR_CLIENT_UNAVAILABLE, false, ZR_KVCLIENT_NEXT, ZR_KVCLIENT_TRY_NO},
        {ZR_CLIENT_UNAVAILABLE, true, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_NO},
        {ZR_CLIENT_UNKNOWN, false, ZR_KVCLIENT_REDIRECT, ZR_KVCLIENT_TRY_MAYBE},
        {ZR_CLIENT_UNKNOWN, true, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_MAYBE},
        {ZR_CLIENT_SESSION_EXPIRED, false, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_MAYBE},
        {ZR_CLIENT_MALFORMED, false, ZR_KVCLIENT_FINISH, ZR_KVCLIENT_TRY_NO},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows [0]; i++) {
        zr_kvclient_try_t state = 0;
        ck_assert_int_eq (zr_kvclient_on_reply (rows [i].code, rows [i].pinned, &state),
                          rows [i].step);
        ck_assert_int_eq (state, rows [i].state);
    }
}
END_TEST

/* DONE if any try got OK; UNKNOWN if any is in doubt; else FAILED. */
START_TEST (kvclient_classify_outcomes)
{
    enum { S = ZR_KVCLIENT_TRY_SENT, N = ZR_KVCLIENT_TRY_NO,
           M = ZR_KVCLIENT_TRY_MAYBE, K = ZR_KVCLIENT_TRY_OK };
    static const struct {
        uint8_t tries [4];
        uint32_t n;
        zr_kvclient_outcome_t outcome;
    } rows [] = {
        {{0}, 0, ZR_KVCLIENT_FAILED},   /* never left */
        {{N}, 1, ZR_KVCLIENT_FAILED},
        {{N, N, N}, 3, ZR_KVCLIENT_FAILED},
        {{S}, 1, ZR_KVCLIENT_UNKNOWN},
        {{S, N}, 2, ZR_KVCLIENT_UNKNOWN},   /* a later "no" does not settle try 0 */
        {{M, N}, 2, ZR_KVCLIENT_UNKNOWN},
        {{S, M, K}, 3, ZR_KVCLIENT_DONE},   /* the session answered for all */
        {{K, S}, 2, ZR_KVCLIENT_DONE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows [0]; i++)
        ck_assert_int_eq (zr_kvclient_classify (rows [i].tries, rows [i].n),
                          rows [i].outcome);
    ck_assert_str_eq (zr_kvclient_outcome_name (ZR_KVCLIENT_UNKNOWN), "unknown");
}
END_TEST

/* A config out of range is refused at creation, not at the first call. */
START_TEST (kvclient_new_refuses_bad_arguments)
{
    const char *one [] = {"tcp://127.0.0.1:1"};
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.window = ZR_KVCLIENT_WINDOW_MAX + 1;
    ck_assert_ptr_null (zr_kvclient_new (one, 1, &config));
    zr_kvclient_config_defaults (&config);
    config.backoff_ms_max = 1;
    ck_assert_ptr_null (zr_kvclient_new (one, 1, &config));
    ck_assert_ptr_null (zr_kvclient_new (one, 0, NULL));
    const char *bad [] = {"nonsense"};
    ck_assert_ptr_null (zr_kvclient_new (bad, 1, NULL));
    zr_kvclient_t *client = zr_kvclient_new (one, 1, NULL);
    ck_assert_ptr_nonnull (client);
    zr_client_request_t too_big = {.type = ZR_CLIENT_GET};   /* empty key */
    ck_assert_int_eq (zr_kvclient_send (client, &too_big, 0), ZR_EINVAL);
    ck_assert_uint_eq (zr_kvclient_pending (client), 0);
    zr_kvclient_result_t result;
    ck_assert_int_eq (zr_kvclient_recv (client, &result, 0), ZR_EINVAL);
    zr_kvclient_destroy (&client);
    ck_assert_ptr_null (client);
}
END_TEST

/* ======================================================================
   2. Fake servers
   ====================================================================== */

#define FAKE_STEPS_MAX 8
#define FAKE_SEEN_MAX 128
#define FAKE_HELD_MAX 8
#define FAKE_MEMBERS_MAX 3

/* FAKE_UNREADABLE: a MALFORMED of request 0, type 0, as a peer
   endpoint answers a client; FAKE_TYPELESS: a MALFORMED of type 0 on
   the request's id, as a server answers a type it does not know. */
typedef enum { FAKE_REPLY = 0, FAKE_SILENT, FAKE_CLOSE, FAKE_UNREADABLE,
               FAKE_TYPELESS } fake_action_t;

/* What the fake does with one request. */
typedef struct {
    fake_action_t action;
    int code;                           /* FAKE_REPLY: the reply's code */
    int delay_ms;                       /* FAKE_REPLY: held this long */
    const char *hint;                   /* NOT_LEADER, UNKNOWN: leader_endpoint */
} fake_step_t;

/* A request as the fake received it. */
typedef struct {
    zr_client_type_t type;
    uint64_t request_id, client_id, seq;
    uint32_t peer, drop_ppm, delay_ms, to;
    bool cut, stale;
} fake_seen_t;

typedef struct {
    /* The script: set before fake_start, read by the actor only. */
    fake_step_t steps [FAKE_STEPS_MAX];
    size_t n_steps;                     /* the last step repeats */
    uint32_t id;                        /* STATUS: who it is */
    const char *name;
    uint32_t role, leader;
    zr_client_member_t members [FAKE_MEMBERS_MAX];
    uint32_t n_members;
    bool found, swapped;                /* GET, CAS */
    const char *value;                  /* GET */
    /* Filled by the actor; read once fake_stop joined it. */
    fake_seen_t seen [FAKE_SEEN_MAX];
    size_t n_seen;
    char endpoint [64];                 /* where it listens */
    zsock_t *router;                    /* the actor's once started */
    bool started;                       /* fake_start ran */
    zactor_t *actor;
} fake_t;

typedef struct {
    int64_t due;
    zmsg_t *msg;
} fake_held_t;

static void
s_fake_reply (fake_t *fake, const zr_client_request_t *request, const fake_step_t *step,
              zr_client_reply_t *r)
{
    memset (r, 0, sizeof *r);
    r->type = request->type;
    r->request_id = request->request_id;
    r->code = (zr_client_code_t) step->code;
    if (step->code != ZR_CLIENT_OK) {
        r->leader = step->hint ? 1 : 0;
        r->leader_endpoint = s_bytes (step->hint);
        r->message = s_bytes ("the fake says no");
        return;
    }
    r->index = 100 + fake->n_seen;
    r->found = fake->found;
    r->swapped = fake->swapped;
    if (request->type == ZR_CLIENT_GET && fake->found)
        r->value = s_bytes (fake->value);
    if (request->type == ZR_CLIENT_STATUS) {
        r->name = s_bytes (fake->name);
        r->id = fake->id;
        r->role = fake->role;
        r->leader = fake->leader;
        r->term = 7;
        r->commit = 40, r->applied = 39, r->first_index = 11;
        r->last_index = 41, r->snapshot_index = 10;
        memcpy (r->members, fake->members, sizeof fake->members);
        r->n_members = fake->n_members;
    }
}

/* One request: record it, then answer as the script says. */
static void
s_fake_handle (fake_t *fake, zmsg_t **msg_p, fake_held_t *held, bool *close)
{
    zmsg_t *msg = *msg_p;
    zframe_t *identity = zmsg_pop (msg);
    zframe_t *frame = zmsg_pop (msg);
    zr_client_request_t q;
    ck_assert (identity && frame);
    ck_assert_int_eq (zr_client_request_decode (zframe_data (frame), zframe_size (frame), &q), 0);
    ck_assert_uint_lt (fake->n_seen, FAKE_SEEN_MAX);
    fake->seen [fake->n_seen++] = (fake_seen_t) {
        q.type, q.request_id, q.client_id, q.seq, q.peer, q.drop_ppm,
        q.delay_ms, q.to, q.cut, q.stale};
    const fake_step_t *step = &fake->steps [fake->n_seen <= fake->n_steps
                                                ? fake->n_seen - 1 : fake->n_steps - 1];
    *close = step->action == FAKE_CLOSE;
    if (step->action == FAKE_REPLY || step->action == FAKE_UNREADABLE
        || step->action == FAKE_TYPELESS) {
        zr_client_reply_t reply;
        s_fake_reply (fake, &q, step, &reply);
        if (step->action != FAKE_REPLY)
            reply = (zr_client_reply_t) {
                .code = ZR_CLIENT_MALFORMED,
                .request_id = step->action == FAKE_TYPELESS ? q.request_id : 0,
                .message = s_bytes ("the fake cannot read it")};
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (zr_client_reply_encode (&reply, &data, &size), 0);
        zmsg_t *out = zmsg_new ();
        zmsg_append (out, &identity);
        zmsg_addmem (out, data, size);
        free (data);
        int h = 0;
        while (held [h].msg)
            h++;
        ck_assert_int_lt (h, FAKE_HELD_MAX);
        held [h] = (fake_held_t) {zclock_mono () + step->delay_ms, out};
    }
    zframe_destroy (&identity);
    zframe_destroy (&frame);
    zmsg_destroy (msg_p);
}

/* Sends the held replies that are due; returns the wait until the next. */
static int
s_fake_flush (zsock_t *router, fake_held_t *held)
{
    int wait = -1;
    int64_t now = zclock_mono ();
    for (int h = 0; h < FAKE_HELD_MAX; h++) {
        if (!held [h].msg)
            continue;
        if (held [h].due <= now) {
            if (router)
                zmsg_send (&held [h].msg, router);
            zmsg_destroy (&held [h].msg);
        }
        else if (wait < 0 || held [h].due - now < wait)
            wait = (int) (held [h].due - now);
    }
    return wait;
}

static void
s_fake_actor (zsock_t *pipe, void *arg)
{
    fake_t *fake = (fake_t *) arg;
    zsock_t *router = fake->router;
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    fake_held_t held [FAKE_HELD_MAX] = {{0}};
    zsock_signal (pipe, 0);
    int wait = -1;
    while (true) {
        void *which = zpoller_wait (poller, wait);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (term)
                break;
        }
        else if (which && which == router) {
            zmsg_t *msg = zmsg_recv (router);
            bool close = false;
            s_fake_handle (fake, &msg, held, &close);
            if (close) {
                zpoller_remove (poller, router);
                zsock_destroy (&router);
            }
        }
        else if (zpoller_terminated (poller))
            break;
        wait = s_fake_flush (router, held);
    }
    for (int h = 0; h < FAKE_HELD_MAX; h++)
        zmsg_destroy (&held [h].msg);
    zpoller_destroy (&poller);
    zsock_destroy (&router);
    /* Done with fake: hands it (seen, n_seen) back to fake_stop, whose
       happens-before goes through the actor pipe's signal. */
    zr_handoff_send (fake);
}

/* Binds a fake on an ephemeral port; script it, then fake_start. */
static fake_t *
fake_new (uint32_t id, const char *name)
{
    fake_t *fake = (fake_t *) calloc (1, sizeof *fake);
    ck_assert_ptr_nonnull (fake);
    fake->router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (fake->router, 0);
    int port = zsock_bind (fake->router, "tcp://127.0.0.1:!");
    ck_assert_int_gt (port, 0);
    snprintf (fake->endpoint, sizeof fake->endpoint, "tcp://127.0.0.1:%d", port);
    fake->id = id;
    fake->name = name;
    fake->steps [0] = (fake_step_t) {FAKE_REPLY, ZR_CLIENT_OK, 0, NULL};
    fake->n_steps = 1;
    return fake;
}

static void
fake_script (fake_t *fake, size_t n, const fake_step_t *steps)
{
    ck_assert_uint_le (n, FAKE_STEPS_MAX);
    memcpy (fake->steps, steps, n * sizeof *steps);
    fake->n_steps = n;
}

static void
fake_start (fake_t *fake)
{
    fake->started = true;
    fake->actor = zactor_new (s_fake_actor, fake);
    ck_assert_ptr_nonnull (fake->actor);
}

/* Joins the actor: fake->seen is complete and safe to read after, and
   fake may be freed. */
static void
fake_stop (fake_t *fake)
{
    if (!fake->actor)
        return;
    zactor_destroy (&fake->actor);
    zr_handoff_recv (fake);
}

static void
fake_destroy (fake_t **fake_p)
{
    fake_stop (*fake_p);
    if (!(*fake_p)->started)
        zsock_destroy (&(*fake_p)->router);     /* else the actor's */
    free (*fake_p);
    *fake_p = NULL;
}

/* A TCP socket bound to a free loopback port, not listening; writes its
   endpoint. The caller closes it. */
static int
s_loopback_socket (char *endpoint, size_t size)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge (fd, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    ck_assert_int_eq (bind (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    ck_assert_int_eq (getsockname (fd, (struct sockaddr *) &addr, &length), 0);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", ntohs (addr.sin_port));
    return fd;
}

/* An endpoint where nothing listens: a port the kernel handed out and
   took back at once (a ZeroMQ socket would close it asynchronously). */
static void
s_dead_endpoint (char *endpoint, size_t size)
{
    close (s_loopback_socket (endpoint, size));
}

static zr_kvclient_t *
s_client (const char *a, const char *b, int timeout_ms, int try_timeout_ms, uint32_t window)
{
    const char *endpoints [2] = {a, b};
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.timeout_ms = timeout_ms;
    config.try_timeout_ms = try_timeout_ms;
    config.window = window;
    zr_kvclient_t *client = zr_kvclient_new (endpoints, b ? 2 : 1, &config);
    ck_assert_ptr_nonnull (client);
    return client;
}

static const zr_client_request_t s_put = {
    .type = ZR_CLIENT_PUT, .key = {(const uint8_t *) "k", 1},
    .value = {(const uint8_t *) "v", 1}};

/* Every try the fake saw carried the same client_id and seq. */
static void
s_assert_one_session (const fake_t *fake, size_t n)
{
    ck_assert_uint_eq (fake->n_seen, n);
    for (size_t i = 1; i < n; i++) {
        ck_assert_uint_eq (fake->seen [i].client_id, fake->seen [0].client_id);
        ck_assert_uint_eq (fake->seen [i].seq, fake->seen [0].seq);
        ck_assert_uint_ne (fake->seen [i].request_id, fake->seen [i - 1].request_id);
    }
}

/* An OK reply: DONE, with the server's index; the next write of the
   same client has the same client_id and the next seq (thesis §6.3). */
START_TEST (kvclient_call_done_on_ok)
{
    fake_t *fake = fake_new (1, "n1");
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 3000, 1000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_int_eq (r.code, ZR_CLIENT_OK);
    ck_assert_uint_eq (r.reply.index, 101);
    ck_assert_uint_eq (r.tries, 1);
    ck_assert_str_eq (r.endpoint, fake->endpoint);
    ck_assert_str_eq (r.error, "");
    uint64_t client_id = r.client_id;
    ck_assert_uint_ne (client_id, 0);
    ck_assert_uint_eq (r.seq, 1);
    zr_kvclient_result_release (&r);
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_uint_eq (r.client_id, client_id);
    ck_assert_uint_eq (r.seq, 2);
    zr_kvclient_result_release (&r);
    ck_assert_str_eq (zr_kvclient_leader (client), fake->endpoint);
    zr_kvclient_destroy (&client);
    fake_stop (fake);
    ck_assert_uint_eq (fake->seen [1].client_id, fake->seen [0].client_id);
    ck_assert_uint_eq (fake->seen [1].seq, 2);
    fake_destroy (&fake);
}
END_TEST

/* BUSY twice, then OK: three tries of one request, one session. */
START_TEST (kvclient_busy_retries_same_session)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 3, (fake_step_t []) {{.code = ZR_CLIENT_BUSY},
                                            {.code = ZR_CLIENT_BUSY},
                                            {.code = ZR_CLIENT_OK}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 3000, 1000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_uint_eq (r.tries, 3);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_stop (fake);
    s_assert_one_session (fake, 3);
    fake_destroy (&fake);
}
END_TEST

/* NOT_LEADER naming the leader: the call follows it, and the client
   remembers it, so the next call goes there first. */
START_TEST (kvclient_follows_not_leader)
{
    fake_t *leader = fake_new (2, "n2");
    fake_t *follower = fake_new (1, "n1");
    fake_script (follower, 1, (fake_step_t []) {
        {.code = ZR_CLIENT_NOT_LEADER, .hint = leader->endpoint}});
    fake_start (leader);
    fake_start (follower);
    zr_kvclient_t *client = s_client (follower->endpoint, NULL, 3000, 1000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_str_eq (r.endpoint, leader->endpoint);
    ck_assert_uint_eq (r.tries, 2);
    zr_kvclient_result_release (&r);
    ck_assert_str_eq (zr_kvclient_leader (client), leader->endpoint);
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_uint_eq (r.tries, 1);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_stop (leader);
    fake_stop (follower);
    ck_assert_uint_eq (follower->n_seen, 1);
    ck_assert_uint_eq (leader->n_seen, 2);
    ck_assert_uint_eq (leader->seen [0].client_id, follower->seen [0].client_id);
    ck_assert_uint_eq (leader->seen [0].seq, follower->seen [0].seq);
    fake_destroy (&leader);
    fake_destroy (&follower);
}
END_TEST

/* A server that never answers: the request left, so the outcome is
   UNKNOWN, after several tries of the same request. */
START_TEST (kvclient_silence_is_unknown)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.action = FAKE_SILENT}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 800, 200, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_UNKNOWN);
    ck_assert_int_eq (r.code, -1);
    ck_assert_uint_ge (r.tries, 2);
    ck_assert_ptr_nonnull (strstr (r.error, "may have taken effect"));
    uint32_t tries = r.tries;
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_stop (fake);
    s_assert_one_session (fake, tries);
    fake_destroy (&fake);
}
END_TEST

/* A server that accepts TCP connections and never answers (a stopped
   process: its kernel still accepts for it): no request left, so it
   certainly failed, and the error says it was not absent. */
START_TEST (kvclient_silent_listener_is_named)
{
    char silent [64];
    int fd = s_loopback_socket (silent, sizeof silent);
    ck_assert_int_eq (listen (fd, 8), 0);       /* never accept()ed */
    zr_kvclient_t *client = s_client (silent, NULL, 500, 200, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_FAILED);
    ck_assert_uint_eq (r.tries, 0);
    ck_assert_msg (strstr (r.error, "accepted a connection but did not answer"),
                   "got %s", r.error);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    close (fd);
}
END_TEST

/* Nothing listening: no request ever left, so it certainly failed. */
START_TEST (kvclient_unreachable_is_failed)
{
    char dead [64];
    s_dead_endpoint (dead, sizeof dead);
    zr_kvclient_t *client = s_client (dead, NULL, 500, 200, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_FAILED);
    ck_assert_uint_eq (r.tries, 0);
    ck_assert_ptr_nonnull (strstr (r.error, "could not connect"));
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
}
END_TEST

/* INVALID is a verdict on the request: the call ends at once. */
START_TEST (kvclient_invalid_fails_at_once)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.code = ZR_CLIENT_INVALID}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 3000, 1000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_FAILED);
    ck_assert_int_eq (r.code, ZR_CLIENT_INVALID);
    ck_assert_uint_eq (r.tries, 1);
    ck_assert_ptr_nonnull (strstr (r.error, "INVALID: the fake says no"));
    ck_assert_int_eq ((int) r.reply.message.size, 16);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);
}
END_TEST

/* An endpoint that cannot read requests (a peer endpoint: MALFORMED of
   request 0) before it ever answered one: the call fails at once, in
   its words. From one that answered before, such a reply is about one
   frame and is dropped: the call ends UNKNOWN at its timeout. A
   MALFORMED of type 0 on the call's id ends the call. */
START_TEST (kvclient_unreadable_endpoint_fails_at_once)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.action = FAKE_UNREADABLE}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 10000, 3000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_FAILED);
    ck_assert_int_eq (r.code, -1);     /* its conclusion, not a reply */
    ck_assert_uint_eq (r.tries, 1);
    ck_assert_ptr_nonnull (strstr (r.error, "could not read the request: the"
                                   " fake cannot read it"));
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);

    fake = fake_new (1, "n1");
    fake_script (fake, 2, (fake_step_t []) {{.code = ZR_CLIENT_OK},
                                             {.action = FAKE_UNREADABLE}});
    fake_start (fake);
    client = s_client (fake->endpoint, NULL, 1000, 300, 1);
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    zr_kvclient_result_release (&r);
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_UNKNOWN);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);

    /* A MALFORMED of type 0 on the call's own id (a server that read
       the id, not the type): the call's answer, not applied. */
    fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.action = FAKE_TYPELESS}});
    fake_start (fake);
    client = s_client (fake->endpoint, NULL, 10000, 3000, 1);
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_FAILED);
    ck_assert_int_eq (r.code, ZR_CLIENT_MALFORMED);
    ck_assert_uint_eq (r.tries, 1);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);
}
END_TEST

/* UNKNOWN (leadership lost with the entry in flight), then OK from the
   retry's session: DONE. UNKNOWN then silence: UNKNOWN. */
START_TEST (kvclient_unknown_reply_retries)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 2, (fake_step_t []) {{.code = ZR_CLIENT_UNKNOWN},
                                            {.code = ZR_CLIENT_OK}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 3000, 1000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_uint_eq (r.tries, 2);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_stop (fake);
    s_assert_one_session (fake, 2);
    fake_destroy (&fake);

    fake = fake_new (1, "n1");
    fake_script (fake, 2, (fake_step_t []) {{.code = ZR_CLIENT_UNKNOWN},
                                            {.action = FAKE_SILENT}});
    fake_start (fake);
    client = s_client (fake->endpoint, NULL, 600, 200, 1);
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_UNKNOWN);
    ck_assert_ptr_nonnull (strstr (r.error, "UNKNOWN"));
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);
}
END_TEST

/* SESSION_EXPIRED: the server cannot say; UNKNOWN, no retry. */
START_TEST (kvclient_session_expired_is_unknown)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.code = ZR_CLIENT_SESSION_EXPIRED}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 3000, 1000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_UNKNOWN);
    ck_assert_uint_eq (r.tries, 1);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);
}
END_TEST

/* A reply to an earlier try that arrives during a later one settles the
   call: the first try's OK is held past the try timeout. */
START_TEST (kvclient_late_reply_settles)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 2, (fake_step_t []) {{.code = ZR_CLIENT_OK, .delay_ms = 500},
                                            {.action = FAKE_SILENT}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 10000, 200, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_uint_ge (r.tries, 2);
    ck_assert_uint_eq (r.reply.index, 101);     /* the first try's reply */
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);
}
END_TEST

/* A pinned call never leaves its endpoint: NOT_LEADER ends it. */
START_TEST (kvclient_pinned_does_not_redirect)
{
    fake_t *other = fake_new (2, "n2");
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {
        {.code = ZR_CLIENT_NOT_LEADER, .hint = other->endpoint}});
    fake_start (other);
    fake_start (fake);
    zr_kvclient_t *client = s_client (other->endpoint, NULL, 3000, 1000, 1);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call_at (client, fake->endpoint, &s_put, 0, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_FAILED);
    ck_assert_int_eq (r.code, ZR_CLIENT_NOT_LEADER);
    ck_assert_uint_eq (r.tries, 1);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_stop (other);
    ck_assert_uint_eq (other->n_seen, 0);
    fake_destroy (&other);
    fake_destroy (&fake);
}
END_TEST

/* window calls in flight at once, each slot its own session; one more
   is refused with ZR_EBUSY until a result is taken. */
START_TEST (kvclient_pipelines_a_window)
{
    enum { W = 8 };
    fake_t *fake = fake_new (1, "n1");
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 5000, 2000, W);
    for (uint64_t t = 0; t < W; t++)
        ck_assert_int_eq (zr_kvclient_send (client, &s_put, 1000 + t), 0);
    ck_assert_int_eq (zr_kvclient_send (client, &s_put, 99), ZR_EBUSY);
    ck_assert_uint_eq (zr_kvclient_pending (client), W);
    bool got [W] = {false};
    uint64_t ids [W];
    for (int i = 0; i < W; i++) {
        zr_kvclient_result_t r;
        ck_assert_int_eq (zr_kvclient_recv (client, &r, -1), 0);
        ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
        ck_assert_uint_ge (r.token, 1000);
        ck_assert_uint_lt (r.token, 1000 + W);
        ck_assert (!got [r.token - 1000]);
        got [r.token - 1000] = true;
        ids [i] = r.client_id;
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne (ids [j], ids [i]);
        zr_kvclient_result_release (&r);
    }
    ck_assert_uint_eq (zr_kvclient_pending (client), 0);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_recv (client, &r, 0), ZR_EINVAL);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);
}
END_TEST

/* recv with a timeout returns ZR_EBUSY while the call is in flight and
   still makes progress: the reply, held 300 ms, arrives through short
   recvs (timeout 0 included). */
START_TEST (kvclient_recv_short_timeouts_make_progress)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.code = ZR_CLIENT_OK, .delay_ms = 300}});
    fake_start (fake);
    zr_kvclient_t *client = s_client (fake->endpoint, NULL, 10000, 5000, 1);
    ck_assert_int_eq (zr_kvclient_send (client, &s_put, 7), 0);
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_recv (client, &r, 0), ZR_EBUSY);
    int rc, busy = 0;
    while ((rc = zr_kvclient_recv (client, &r, busy % 2 ? 0 : 20)) == ZR_EBUSY)
        busy++;
    ck_assert_int_eq (rc, 0);
    ck_assert_int_gt (busy, 1);
    ck_assert_uint_eq (r.token, 7);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_uint_eq (r.tries, 1);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&fake);
}
END_TEST

/* A server that drops the connection after the request left: the try
   stays in doubt, the call moves to the next endpoint at once (well
   before the try timeout) and that one's OK settles it. */
START_TEST (kvclient_disconnect_moves_on)
{
    fake_t *closer = fake_new (1, "n1");
    fake_script (closer, 1, (fake_step_t []) {{.action = FAKE_CLOSE}});
    fake_t *fake = fake_new (2, "n2");
    fake_start (closer);
    fake_start (fake);
    zr_kvclient_t *client = s_client (closer->endpoint, fake->endpoint, 20000, 10000, 1);
    int64_t start = zclock_mono ();
    zr_kvclient_result_t r;
    ck_assert_int_eq (zr_kvclient_call (client, &s_put, &r), 0);
    ck_assert_int_eq (r.outcome, ZR_KVCLIENT_DONE);
    ck_assert_uint_eq (r.tries, 2);
    ck_assert_str_eq (r.endpoint, fake->endpoint);
    ck_assert_int_lt (zclock_mono () - start, 10000);
    zr_kvclient_result_release (&r);
    zr_kvclient_destroy (&client);
    fake_destroy (&closer);
    fake_destroy (&fake);
}
END_TEST

/* ======================================================================
   3. zraft-ctl against fakes: exit codes and JSON
   ====================================================================== */

/* put and del: {"ok":true}, exit 0; in a table, OK. */
START_TEST (main_put_del_ok)
{
    fake_t *fake = fake_new (1, "n1");
    fake_start (fake);
    t_run_t run;
    t_run (&run, fake->endpoint, "-w", "json", "put", "k", "v", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "{\"ok\":true}\n");
    t_run_free (&run);
    t_run (&run, fake->endpoint, "del", "k", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "OK\n");
    t_run_free (&run);
    fake_stop (fake);
    ck_assert_int_eq (fake->seen [0].type, ZR_CLIENT_PUT);
    ck_assert_int_eq (fake->seen [1].type, ZR_CLIENT_DEL);
    fake_destroy (&fake);
}
END_TEST

/* get: the value's bytes escaped in JSON, raw in a table; not found is
   {"found":false} and still exit 0 (the value was read). --stale is
   sent as such. */
START_TEST (main_get_found_and_not)
{
    fake_t *fake = fake_new (1, "n1");
    fake->found = true;
    fake->value = "v\xff\"";
    fake_start (fake);
    t_run_t run;
    t_run (&run, fake->endpoint, "get", "k", "-w", "json", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "{\"found\":true,\"value\":\"v\\u00ff\\\"\"}\n");
    t_run_free (&run);
    t_run (&run, fake->endpoint, "get", "k", "--stale", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "v\xff\"\n");
    t_run_free (&run);
    fake_stop (fake);
    ck_assert (!fake->seen [0].stale);
    ck_assert (fake->seen [1].stale);
    fake_destroy (&fake);
    fake = fake_new (1, "n1");
    fake_start (fake);
    t_run (&run, fake->endpoint, "-w", "json", "get", "k", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "{\"found\":false}\n");
    t_run_free (&run);
    fake_destroy (&fake);
}
END_TEST

/* cas: the outcome is in the output, exit 0 either way. */
START_TEST (main_cas_reports_swapped)
{
    fake_t *fake = fake_new (1, "n1");
    fake_start (fake);
    t_run_t run;
    t_run (&run, fake->endpoint, "-w", "json", "cas", "k", "old", "new", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "{\"swapped\":false}\n");
    t_run_free (&run);
    fake_destroy (&fake);
    fake = fake_new (1, "n1");
    fake->swapped = true;
    fake_start (fake);
    t_run (&run, fake->endpoint, "-w", "json", "cas", "k", "old", "new", NULL);
    ck_assert_str_eq (run.out, "{\"swapped\":true}\n");
    t_run_free (&run);
    t_run (&run, fake->endpoint, "cas", "k", "old", "new", NULL);
    ck_assert_str_eq (run.out, "swapped\n");
    t_run_free (&run);
    fake_destroy (&fake);
}
END_TEST

/* No reply after the request left: exit 2 and {"error":...}. */
START_TEST (main_silence_exits_2)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.action = FAKE_SILENT}});
    fake_start (fake);
    t_run_t run;
    t_run (&run, fake->endpoint, "--timeout", "600", "-w", "json", "put", "k", "v", NULL);
    ck_assert_int_eq (run.code, 2);
    ck_assert (strncmp (run.out, "{\"error\":\"outcome unknown", 25) == 0);
    ck_assert_ptr_eq (strchr (run.out, '\n'), run.out + run.out_size - 1);
    ck_assert_int_eq (run.out [run.out_size - 2], '}');     /* one object */
    t_run_free (&run);
    fake_destroy (&fake);
}
END_TEST

/* Certain failures exit 1: a refusal, and a cluster nobody reached. */
START_TEST (main_certain_failure_exits_1)
{
    fake_t *fake = fake_new (1, "n1");
    fake_script (fake, 1, (fake_step_t []) {{.code = ZR_CLIENT_INVALID}});
    fake_start (fake);
    t_run_t run;
    t_run (&run, fake->endpoint, "put", "k", "v", NULL);
    ck_assert_int_eq (run.code, 1);
    ck_assert_str_eq (run.out, "");
    ck_assert_ptr_nonnull (strstr (run.err, "INVALID"));
    t_run_free (&run);
    fake_destroy (&fake);
    char dead [64];
    s_dead_endpoint (dead, sizeof dead);
    t_run (&run, dead, "--timeout", "400", "-w", "json", "get", "k", NULL);
    ck_assert_int_eq (run.code, 1);
    ck_assert_ptr_nonnull (strstr (run.out, "{\"error\":\"could not connect to tcp://127.0.0.1:"));
    t_run_free (&run);
}
END_TEST

/* ======================================================================
   4. Fan-outs: status, fault, partition, heal
   ====================================================================== */

static int
s_count (const char *text, const char *what)
{
    int n = 0;
    for (const char *at = strstr (text, what); at; at = strstr (at + 1, what))
        n++;
    return n;
}

/* Three fakes that know each other as n1 (leader), n2, n3; n1 and n2
   serve a bus, n3 none. */
static void
s_trio (fake_t *f [3])
{
    static const char *names [3] = {"n1", "n2", "n3"};
    static const char *buses [3] = {"tcp://bus1:7201", "tcp://bus2:7202", ""};
    for (int i = 0; i < 3; i++)
        f [i] = fake_new ((uint32_t) i + 1, names [i]);
    for (int i = 0; i < 3; i++) {
        f [i]->role = i == 0 ? 2 : 0;
        f [i]->leader = 1;
        f [i]->n_members = 3;
        for (int m = 0; m < 3; m++)
            f [i]->members [m] = (zr_client_member_t) {
                (uint32_t) m + 1, s_bytes (names [m]), s_bytes ("tcp://peer"),
                s_bytes (f [m]->endpoint), s_bytes (buses [m])};
    }
}

/* status -w json: every member, sorted by id, with its bus endpoint
   (its own word if it answered, over another's stale copy); one that
   does not answer is "unreachable", named and given its bus endpoint
   through the others' member lists; exit 0. The table has a BUS
   column. */
START_TEST (main_status_json_shows_unreachable)
{
    fake_t *f [3];
    s_trio (f);
    f [1]->members [0].bus_endpoint = s_bytes ("tcp://stale:7000");
    for (int i = 0; i < 2; i++)
        f [i]->members [2].bus_endpoint = s_bytes ("tcp://bus3:7203");
    fake_start (f [0]);
    fake_start (f [1]);
    char list [256];
    snprintf (list, sizeof list, "%s,%s", f [1]->endpoint, f [0]->endpoint);
    t_run_t run;
    t_run (&run, list, "--timeout", "1000", "-w", "json", "status", NULL);
    ck_assert_int_eq (run.code, 0);
    char expect [2048];
    snprintf (expect, sizeof expect,
              "{\"nodes\":["
              "{\"name\":\"n1\",\"id\":1,\"endpoint\":\"%s\","
              "\"bus_endpoint\":\"tcp://bus1:7201\",\"role\":\"leader\",\"health\":\"\",\"term\":7,"
              "\"leader\":\"n1\",\"leader_id\":1,\"commit\":40,\"applied\":39,"
              "\"first_index\":11,\"last_index\":41,\"snapshot_index\":10},"
              "{\"name\":\"n2\",\"id\":2,\"endpoint\":\"%s\","
              "\"bus_endpoint\":\"tcp://bus2:7202\",\"role\":\"follower\",\"health\":\"\",\"term\":7,"
              "\"leader\":\"n1\",\"leader_id\":1,\"commit\":40,\"applied\":39,"
              "\"first_index\":11,\"last_index\":41,\"snapshot_index\":10},"
              "{\"name\":\"n3\",\"id\":3,\"endpoint\":\"%s\","
              "\"bus_endpoint\":\"tcp://bus3:7203\",\"role\":\"unreachable\",\"error\":",
              f [0]->endpoint, f [1]->endpoint, f [2]->endpoint);
    ck_assert_msg (strncmp (run.out, expect, strlen (expect)) == 0, "got %s", run.out);
    ck_assert_str_eq (run.out + run.out_size - 5, "\"}]}\n");
    t_run_free (&run);
    t_run (&run, list, "--timeout", "1000", "status", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_ptr_nonnull (strstr (run.out, "NAME"));
    ck_assert_ptr_nonnull (strstr (run.out, "SNAPSHOT  BUS\n"));
    ck_assert_ptr_nonnull (strstr (run.out, "  tcp://bus1:7201\n"));
    ck_assert_ptr_nonnull (strstr (run.out, "  tcp://bus2:7202\n"));
    ck_assert_ptr_nonnull (strstr (run.out, "  tcp://bus3:7203\n"));
    ck_assert_ptr_null (strstr (run.out, "stale"));
    ck_assert_ptr_nonnull (strstr (run.out, "unreachable"));
    ck_assert_ptr_nonnull (strstr (run.err, "n3 is unreachable"));
    t_run_free (&run);
    for (int i = 0; i < 3; i++)
        fake_destroy (&f [i]);
}
END_TEST

/* pub with client endpoints only: status names no bus endpoint, so it
   fails (exit 1) saying so, one JSON object with -w json. */
START_TEST (main_bus_verb_finds_no_bus)
{
    fake_t *f [3];
    s_trio (f);
    for (int i = 0; i < 3; i++)
        for (int m = 0; m < 3; m++)
            f [i]->members [m].bus_endpoint = s_bytes ("");
    fake_start (f [0]);
    t_run_t run;
    t_run (&run, f [0]->endpoint, "--timeout", "1000", "pub", "s", "d", NULL);
    ck_assert_int_eq (run.code, 1);
    ck_assert_msg (strstr (run.err, "no bus endpoints: the servers that answered"
                                    " name none"), "got %s", run.err);
    t_run_free (&run);
    t_run (&run, f [0]->endpoint, "--timeout", "1000", "-w", "json", "cursors", NULL);
    ck_assert_int_eq (run.code, 1);
    ck_assert_msg (strncmp (run.out, "{\"error\":\"no bus endpoints", 25) == 0,
                   "got %s", run.out);
    t_run_free (&run);
    for (int i = 0; i < 3; i++)
        fake_destroy (&f [i]);
}
END_TEST

/* A follower that never led has not announced its client endpoint:
   a dead one is matched with the one endpoint given that did not answer
   (one unmatched member, one unmatched endpoint), not shown twice. */
START_TEST (main_status_pairs_unannounced_member)
{
    fake_t *f [3];
    s_trio (f);
    for (int i = 0; i < 3; i++)
        f [i]->members [2].client_endpoint = s_bytes ("");
    fake_start (f [0]);
    fake_start (f [1]);
    char list [256];
    snprintf (list, sizeof list, "%s,%s,%s", f [0]->endpoint, f [1]->endpoint, f [2]->endpoint);
    t_run_t run;
    t_run (&run, list, "--timeout", "1000", "-w", "json", "status", NULL);
    ck_assert_int_eq (run.code, 0);
    char expect [256];
    snprintf (expect, sizeof expect, "{\"name\":\"n3\",\"id\":3,\"endpoint\":\"%s\","
              "\"bus_endpoint\":\"\",\"role\":\"unreachable\"", f [2]->endpoint);
    ck_assert_msg (strstr (run.out, expect), "got %s", run.out);
    ck_assert_int_eq (s_count (run.out, "\"role\":\"unreachable\""), 1);
    ck_assert_int_eq (s_count (run.out, "{\"name\":"), 3);
    t_run_free (&run);
    /* Given only the live ones, n3 still has its row, endpoint unknown:
       it was not asked, so it is "unknown", not "unreachable". */
    snprintf (list, sizeof list, "%s,%s", f [0]->endpoint, f [1]->endpoint);
    t_run (&run, list, "--timeout", "1000", "-w", "json", "status", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_msg (strstr (run.out, "{\"name\":\"n3\",\"id\":3,\"endpoint\":\"\","
                                    "\"bus_endpoint\":\"\",\"role\":\"unknown\","
                                    "\"error\":\"not asked: its client endpoint is not known"),
                   "got %s", run.out);
    ck_assert_int_eq (s_count (run.out, "unreachable"), 0);
    t_run_free (&run);
    t_run (&run, list, "--timeout", "1000", "status", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_msg (strstr (run.out, " unknown ") && !strstr (run.out, "unreachable"),
                   "got %s", run.out);
    ck_assert_msg (strstr (run.err, "zraft-ctl: n3: not asked: its client endpoint"
                                    " is not known"), "got %s", run.err);
    t_run_free (&run);
    for (int i = 0; i < 3; i++)
        fake_destroy (&f [i]);
}
END_TEST

/* An endpoint given that answers in another protocol (a peer
   endpoint) is no member's, even as the one endpoint left unmatched
   with one member left: it has a row of its own, wrong-endpoint, and
   the member is unknown. */
START_TEST (main_status_wrong_endpoint_is_nobodys)
{
    fake_t *f [3];
    s_trio (f);
    for (int i = 0; i < 3; i++)
        f [i]->members [2].client_endpoint = s_bytes ("");
    fake_script (f [2], 1, (fake_step_t []) {{.action = FAKE_UNREADABLE}});
    for (int i = 0; i < 3; i++)
        fake_start (f [i]);
    char list [256];
    snprintf (list, sizeof list, "%s,%s,%s", f [0]->endpoint, f [1]->endpoint, f [2]->endpoint);
    t_run_t run;
    t_run (&run, list, "--timeout", "1000", "-w", "json", "status", NULL);
    ck_assert_int_eq (run.code, 0);
    char expect [512];
    snprintf (expect, sizeof expect, "{\"name\":\"%s\",\"id\":0,\"endpoint\":\"%s\","
              "\"bus_endpoint\":\"\",\"role\":\"wrong-endpoint\",\"error\":\"%s could not"
              " read the request: the fake cannot read it\"}", f [2]->endpoint,
              f [2]->endpoint, f [2]->endpoint);
    ck_assert_msg (strstr (run.out, expect), "got %s", run.out);
    ck_assert_msg (strstr (run.out, "{\"name\":\"n3\",\"id\":3,\"endpoint\":\"\","
                                    "\"bus_endpoint\":\"\",\"role\":\"unknown\""),
                   "got %s", run.out);
    ck_assert_int_eq (s_count (run.out, "{\"name\":"), 4);
    ck_assert_int_eq (s_count (run.out, "unreachable"), 0);
    t_run_free (&run);
    t_run (&run, list, "--timeout", "1000", "status", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_msg (strstr (run.out, "  wrong-endpoint  "), "got %s", run.out);
    snprintf (expect, sizeof expect, "zraft-ctl: %s is not a client endpoint: %s could"
              " not read the request", f [2]->endpoint, f [2]->endpoint);
    ck_assert_msg (strstr (run.err, expect), "got %s", run.err);
    t_run_free (&run);
    for (int i = 0; i < 3; i++)
        fake_destroy (&f [i]);
}
END_TEST

/* Nobody answers status: exit 1 (no request left), one error object. */
START_TEST (main_status_nobody_exits_1)
{
    char dead [64];
    s_dead_endpoint (dead, sizeof dead);
    t_run_t run;
    t_run (&run, dead, "--timeout", "300", "-w", "json", "status", NULL);
    ck_assert_int_eq (run.code, 1);
    ck_assert (strncmp (run.out, "{\"error\":\"no server answered", 28) == 0);
    t_run_free (&run);
}
END_TEST

/* The FAULT requests each fake received after the STATUS round. */
static size_t
s_faults (const fake_t *fake, fake_seen_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < fake->n_seen; i++)
        if (fake->seen [i].type == ZR_CLIENT_FAULT)
            out [n++] = fake->seen [i];
    return n;
}

/* partition n2: n2 cuts its links from n1 and n3, and they cut theirs
   from n2 (the filter acts on what a server receives). */
START_TEST (main_partition_fans_out)
{
    fake_t *f [3];
    s_trio (f);
    for (int i = 0; i < 3; i++)
        fake_start (f [i]);
    t_run_t run;
    t_run (&run, f [0]->endpoint, "-w", "json", "partition", "n2", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "{\"ok\":true}\n");
    t_run_free (&run);
    fake_seen_t seen [FAKE_SEEN_MAX];
    for (int i = 0; i < 3; i++)
        fake_stop (f [i]);
    ck_assert_uint_eq (s_faults (f [1], seen), 2);
    ck_assert (seen [0].cut && seen [1].cut);
    ck_assert_uint_eq (seen [0].peer + seen [1].peer, 1 + 3);
    for (int i = 0; i < 3; i += 2) {
        ck_assert_uint_eq (s_faults (f [i], seen), 1);
        ck_assert (seen [0].cut);
        ck_assert_uint_eq (seen [0].peer, 2);
    }
    for (int i = 0; i < 3; i++)
        fake_destroy (&f [i]);
}
END_TEST

/* fault n1 --drop 0.5 --delay 20, then heal: every link cleared. */
START_TEST (main_fault_and_heal_fan_out)
{
    fake_t *f [3];
    s_trio (f);
    for (int i = 0; i < 3; i++)
        fake_start (f [i]);
    t_run_t run;
    t_run (&run, f [2]->endpoint, "fault", "n1", "--drop", "0.5", "--delay", "20", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "OK\n");
    t_run_free (&run);
    t_run (&run, f [2]->endpoint, "heal", NULL);
    ck_assert_int_eq (run.code, 0);
    t_run_free (&run);
    fake_seen_t seen [FAKE_SEEN_MAX];
    for (int i = 0; i < 3; i++)
        fake_stop (f [i]);
    ck_assert_uint_eq (s_faults (f [0], seen), 2 + 2);
    ck_assert_uint_eq (seen [0].drop_ppm, 500000);
    ck_assert_uint_eq (seen [0].delay_ms, 20);
    ck_assert (!seen [0].cut);
    ck_assert_uint_eq (seen [2].drop_ppm + seen [3].drop_ppm + seen [2].delay_ms, 0);
    ck_assert_uint_eq (s_faults (f [1], seen), 1 + 2);
    ck_assert_uint_eq (seen [0].peer, 1);
    ck_assert_uint_eq (seen [0].drop_ppm, 500000);
    ck_assert_uint_eq (seen [1].drop_ppm + seen [2].drop_ppm, 0);
    for (int i = 0; i < 3; i++)
        fake_destroy (&f [i]);
}
END_TEST

/* snapshot goes to the leader only (any server would take one of its
   own), found through STATUS even when only a follower is given. */
START_TEST (main_snapshot_goes_to_the_leader)
{
    fake_t *f [3];
    s_trio (f);
    for (int i = 0; i < 3; i++)
        fake_start (f [i]);
    t_run_t run;
    t_run (&run, f [2]->endpoint, "-w", "json", "snapshot", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "{\"ok\":true}\n");
    t_run_free (&run);
    for (int i = 0; i < 3; i++) {
        fake_stop (f [i]);
        size_t snapshots = 0;
        for (size_t q = 0; q < f [i]->n_seen; q++)
            snapshots += f [i]->seen [q].type == ZR_CLIENT_SNAPSHOT;
        ck_assert_uint_eq (snapshots, i == 0 ? 1 : 0);
        fake_destroy (&f [i]);
    }
}
END_TEST

/* A name no member has: exit 1 naming the members; with a member down,
   partition sends nothing (exit 1 naming it) and heal clears what it
   reaches (exit 2: 4 of 6 links). transfer to the leader: nothing to
   do. */
START_TEST (main_names_resolve_through_status)
{
    fake_t *f [3];
    s_trio (f);
    fake_start (f [0]);
    fake_start (f [1]);
    t_run_t run;
    t_run (&run, f [0]->endpoint, "--timeout", "1000", "partition", "n9", NULL);
    ck_assert_int_eq (run.code, 1);
    ck_assert_ptr_nonnull (strstr (run.err, "no member is named 'n9' (members: n1, n2, n3)"));
    t_run_free (&run);
    t_run (&run, f [0]->endpoint, "--timeout", "1000", "partition", "n1", NULL);
    ck_assert_int_eq (run.code, 1);
    ck_assert_ptr_nonnull (strstr (run.err, "n3: "));
    ck_assert_ptr_nonnull (strstr (run.err, "; no link was changed"));
    t_run_free (&run);
    t_run (&run, f [0]->endpoint, "--timeout", "1000", "heal", NULL);
    ck_assert_int_eq (run.code, 2);
    ck_assert_ptr_nonnull (strstr (run.err, "n3 (link with n1): not asked: "));
    ck_assert_ptr_nonnull (strstr (run.err, "the other 4 of 6 links were changed"));
    t_run_free (&run);
    t_run (&run, f [1]->endpoint, "--timeout", "1000", "-w", "json", "transfer", "n1", NULL);
    ck_assert_int_eq (run.code, 0);
    ck_assert_str_eq (run.out, "{\"ok\":true}\n");
    t_run_free (&run);
    fake_stop (f [0]);
    fake_stop (f [1]);
    for (size_t i = 0; i < f [0]->n_seen; i++)
        ck_assert_int_ne (f [0]->seen [i].type, ZR_CLIENT_TRANSFER);
    for (int k = 0; k < 2; k++) {       /* partition: none; heal: 2 each */
        size_t faults = 0;
        for (size_t i = 0; i < f [k]->n_seen; i++)
            faults += f [k]->seen [i].type == ZR_CLIENT_FAULT;
        ck_assert_uint_eq (faults, 2);
    }
    for (int i = 0; i < 3; i++)
        fake_destroy (&f [i]);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("ctl");
    TCase *args = tcase_create ("args");
    tcase_add_test (args, args_parse_put_with_options_anywhere);
    tcase_add_test (args, args_parse_endpoints_flag_beats_environment);
    tcase_add_test (args, args_parse_refuses_usage_errors);
    tcase_add_test (args, args_parse_bus_verbs);
    tcase_add_test (args, args_parse_refuses_bad_endpoint_lists);
    tcase_add_test (args, args_parse_double_dash_ends_options);
    tcase_add_test (args, args_parse_fault_and_stale);
    tcase_add_test (args, args_parse_help_wins);
    tcase_add_test (args, main_usage_error_exits_64);
    tcase_add_test (args, main_help_and_version);
    suite_add_tcase (s, args);
    TCase *json = tcase_create ("json_bytes");
    tcase_add_test (json, json_bytes_escapes_specials);
    tcase_add_test (json, json_bytes_keeps_utf8);
    tcase_add_test (json, json_bytes_escapes_non_utf8);
    suite_add_tcase (s, json);
    TCase *rules = tcase_create ("kvclient_rules");
    tcase_add_test (rules, kvclient_on_reply_table);
    tcase_add_test (rules, kvclient_classify_outcomes);
    tcase_add_test (rules, kvclient_new_refuses_bad_arguments);
    suite_add_tcase (s, rules);
    TCase *fakes = tcase_create ("kvclient_call");
    tcase_set_timeout (fakes, 60);
    tcase_add_test (fakes, kvclient_call_done_on_ok);
    tcase_add_test (fakes, kvclient_busy_retries_same_session);
    tcase_add_test (fakes, kvclient_follows_not_leader);
    tcase_add_test (fakes, kvclient_silence_is_unknown);
    tcase_add_test (fakes, kvclient_unreachable_is_failed);
    tcase_add_test (fakes, kvclient_silent_listener_is_named);
    tcase_add_test (fakes, kvclient_invalid_fails_at_once);
    tcase_add_test (fakes, kvclient_unreadable_endpoint_fails_at_once);
    tcase_add_test (fakes, kvclient_unknown_reply_retries);
    tcase_add_test (fakes, kvclient_session_expired_is_unknown);
    tcase_add_test (fakes, kvclient_late_reply_settles);
    tcase_add_test (fakes, kvclient_pinned_does_not_redirect);
    tcase_add_test (fakes, kvclient_pipelines_a_window);
    tcase_add_test (fakes, kvclient_disconnect_moves_on);
    tcase_add_test (fakes, kvclient_recv_short_timeouts_make_progress);
    suite_add_tcase (s, fakes);
    TCase *main_ = tcase_create ("ctl_main");
    tcase_set_timeout (main_, 60);
    tcase_add_test (main_, main_put_del_ok);
    tcase_add_test (main_, main_get_found_and_not);
    tcase_add_test (main_, main_cas_reports_swapped);
    tcase_add_test (main_, main_silence_exits_2);
    tcase_add_test (main_, main_certain_failure_exits_1);
    tcase_add_test (main_, main_status_json_shows_unreachable);
    tcase_add_test (main_, main_bus_verb_finds_no_bus);
    tcase_add_test (main_, main_status_pairs_unannounced_member);
    tcase_add_test (main_, main_status_wrong_endpoint_is_nobodys);
    tcase_add_test (main_, main_status_nobody_exits_1);
    tcase_add_test (main_, main_partition_fans_out);
    tcase_add_test (main_, main_fault_and_heal_fan_out);
    tcase_add_test (main_, main_names_resolve_through_status);
    tcase_add_test (main_, main_snapshot_goes_to_the_leader);
    suite_add_tcase (s, main_);
    return check_run (s);
}
