/*  =========================================================================
    test_node_options - unit tests of bin/zraft-node/options: flags,
    environment and config file, their precedence, and every bad value

    Each test parses a command line built from a valid base (three
    members, this one n2) with some flags replaced or added, an
    environment array and, for some, a config file written to a
    temporary path. A bad value must be refused with -1 and one line
    that names the setting, and where the value came from when it did not
    come from a flag.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/check_run.h"
#include "../../bin/zraft-node/options.h"

#define S_ARGS_MAX 64                   /* argv entries a test builds */
#define S_CLUSTER "n1=tcp://127.0.0.1:7001,n2=tcp://127.0.0.1:7002," \
                  "n3=tcp://127.0.0.1:7003"

/* The valid base: flag, value pairs. */
static const char *s_base [] = {
    "--name", "n2",
    "--data-dir", "/tmp/zraft-options-test",
    "--initial-cluster", S_CLUSTER,
    "--listen-client", "tcp://127.0.0.1:7102",
    NULL};

static zr_options_t s_options;
static char s_why [ZR_OPTIONS_WHY_MAX];
static char s_path [64];                /* the config file, "" if none */

/* In extra, a value that drops the base's flag instead of setting it. */
static const char s_drop [] = "(drop)";

/* True if arg sets flag ("--flag" or "--flag=..."). */
static bool
s_sets (const char *arg, const char *flag)
{
    size_t length = strlen (flag);
    return !strncmp (arg, flag, length) && (!arg [length] || arg [length] == '=');
}

/* Parses the base with extra (flag, value pairs, NULL-terminated) and
   env. A flag in extra replaces the base's; value NULL passes the flag
   alone ("--help", "--flag=value"), value s_drop only removes it. */
static int
s_parse (const char *const *extra, char *const *env)
{
    const char *argv [S_ARGS_MAX] = {"zraft-node"};
    int argc = 1;
    for (int i = 0; s_base [i]; i += 2) {
        bool replaced = false;
        for (int j = 0; extra && extra [j]; j += 2)
            replaced = replaced || s_sets (extra [j], s_base [i]);
        if (!replaced) {
            argv [argc++] = s_base [i];
            argv [argc++] = s_base [i + 1];
        }
    }
    for (int j = 0; extra && extra [j]; j += 2) {
        if (extra [j + 1] == s_drop)
            continue;
        argv [argc++] = extra [j];
        if (extra [j + 1])
            argv [argc++] = extra [j + 1];
        ck_assert_int_lt (argc, S_ARGS_MAX);
    }
    argv [argc] = NULL;
    return zr_options_parse (&s_options, argc, (char *const *) argv, env,
                             s_why, sizeof s_why);
}

/* Expects a refusal whose message holds each of the NULL-terminated
   fragments. */
static void
s_refused (int rc, const char *fragment, ...)
{
    ck_assert_msg (rc == -1, "accepted, expected '%s'", fragment);
    ck_assert_msg (strchr (s_why, '\n') == NULL, "one line: %s", s_why);
    va_list args;
    va_start (args, fragment);
    for (const char *f = fragment; f; f = va_arg (args, const char *))
        ck_assert_msg (strstr (s_why, f), "'%s' lacks '%s'", s_why, f);
    va_end (args);
}

/* Writes text to a fresh temporary config file; returns its path. */
static const char *
s_file (const char *text)
{
    snprintf (s_path, sizeof s_path, "/tmp/zraft-options-XXXXXX");
    int fd = mkstemp (s_path);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    return s_path;
}

static void
s_teardown (void)
{
    if (*s_path)
        unlink (s_path);
    s_path [0] = 0;
}

/* ------------------------------------------------------------ defaults */

START_TEST (parse_fills_defaults)
{
    /* The base alone: the required four, everything else defaulted. */
    ck_assert_int_eq (s_parse (NULL, NULL), ZR_OPTIONS_RUN);
    ck_assert_str_eq (s_options.name, "n2");
    ck_assert_uint_eq (s_options.id, 2);
    ck_assert_uint_eq (s_options.n_members, 3);
    ck_assert_str_eq (s_options.members [2].name, "n3");
    ck_assert_str_eq (s_options.members [2].endpoint, "tcp://127.0.0.1:7003");
    ck_assert_str_eq (s_options.listen_peer, "tcp://127.0.0.1:7002");
    ck_assert_str_eq (s_options.advertise_client, "tcp://127.0.0.1:7102");
    ck_assert_uint_eq (s_options.heartbeat_ms, 100);
    ck_assert_uint_eq (s_options.election_timeout_ms, 1000);
    ck_assert_uint_eq (s_options.snapshot_entries, 65536);
    ck_assert_uint_eq (s_options.snapshot_trailing, 32768);
    ck_assert_int_eq (s_options.log_level, ZR_OPTIONS_LOG_NOTICE);
    ck_assert_int_eq (s_options.log_format, ZR_OPTIONS_TEXT);
    ck_assert_str_eq (s_options.config_file, "");
    ck_assert_str_eq (s_options.listen_bus, "");
    ck_assert_str_eq (s_options.advertise_bus, "");
    ck_assert_uint_eq (s_options.bus_heartbeat_ms, 1000);
    ck_assert_uint_eq (s_options.bus_timeout_ms, 10000);
    ck_assert (s_options.sched_batch);
}
END_TEST

START_TEST (parse_takes_every_flag)
{
    const char *extra [] = {
        "--listen-peer", "tcp://127.0.0.1:7002",
        "--listen-client=tcp://*:7102",
        NULL,
        "--advertise-client", "tcp://10.1.2.3:7102",
        "--heartbeat-interval", "20", "--election-timeout", "300",
        "--snapshot-entries", "0", "--snapshot-trailing", "100",
        "--log-level", "debug",
        "--log-format", "json", "--listen-bus", "tcp://*:7202",
        "--advertise-bus", "tcp://10.1.2.3:7202", "--bus-heartbeat", "50",
        "--bus-timeout", "100", "--sched", "normal", NULL};
    ck_assert_int_eq (s_parse (extra, NULL), ZR_OPTIONS_RUN);
    ck_assert (!s_options.sched_batch);
    ck_assert_str_eq (s_options.listen_bus, "tcp://*:7202");
    ck_assert_str_eq (s_options.advertise_bus, "tcp://10.1.2.3:7202");
    ck_assert_uint_eq (s_options.bus_heartbeat_ms, 50);
    ck_assert_uint_eq (s_options.bus_timeout_ms, 100);
    /* --advertise-bus defaults to --listen-bus. */
    const char *bus [] = {"--listen-bus", "tcp://127.0.0.1:7202", NULL};
    ck_assert_int_eq (s_parse (bus, NULL), ZR_OPTIONS_RUN);
    ck_assert_str_eq (s_options.advertise_bus, "tcp://127.0.0.1:7202");
    char *env [] = {"ZRAFT_LISTEN_BUS=tcp://127.0.0.1:7203", NULL};
    ck_assert_int_eq (s_parse (NULL, env), ZR_OPTIONS_RUN);
    ck_assert_str_eq (s_options.advertise_bus, "tcp://127.0.0.1:7203");
    ck_assert_int_eq (s_parse (extra, NULL), ZR_OPTIONS_RUN);
    ck_assert_str_eq (s_options.listen_client, "tcp://*:7102");
    ck_assert_str_eq (s_options.advertise_client, "tcp://10.1.2.3:7102");
    ck_assert_uint_eq (s_options.heartbeat_ms, 20);
    ck_assert_uint_eq (s_options.election_timeout_ms, 300);
    ck_assert_uint_eq (s_options.snapshot_entries, 0);
    ck_assert_uint_eq (s_options.snapshot_trailing, 100);
    ck_assert_int_eq (s_options.log_level, ZR_OPTIONS_LOG_DEBUG);
    ck_assert_int_eq (s_options.log_format, ZR_OPTIONS_JSON);
}
END_TEST

START_TEST (parse_help_and_version_win)
{
    const char *help [] = {"--bogus", "x", "--help", NULL, NULL};
    ck_assert_int_eq (s_parse (help, NULL), ZR_OPTIONS_HELP);
    const char *version [] = {"--heartbeat-interval", "0", "--version", NULL,
                              NULL};
    ck_assert_int_eq (s_parse (version, NULL), ZR_OPTIONS_SHOW_VERSION);
    const char *both [] = {"--version", NULL, "-h", NULL, NULL};
    ck_assert_int_eq (s_parse (both, NULL), ZR_OPTIONS_HELP);
    /* The usage text names every flag and its variable. */
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    zr_options_usage (out);
    fclose (out);
    const char *names [] = {"--name", "ZRAFT_NAME", "--data-dir",
        "ZRAFT_DATA_DIR", "--listen-peer", "ZRAFT_LISTEN_PEER",
        "--listen-client", "ZRAFT_LISTEN_CLIENT", "--advertise-client",
        "ZRAFT_ADVERTISE_CLIENT", "--initial-cluster", "ZRAFT_INITIAL_CLUSTER",
        "--heartbeat-interval", "ZRAFT_HEARTBEAT_INTERVAL",
        "--election-timeout", "ZRAFT_ELECTION_TIMEOUT", "--snapshot-entries",
        "ZRAFT_SNAPSHOT_ENTRIES", "--config-file", "ZRAFT_CONFIG_FILE",
        "--log-level", "ZRAFT_LOG_LEVEL", "--log-format", "ZRAFT_LOG_FORMAT",
        "--listen-bus", "ZRAFT_LISTEN_BUS", "--advertise-bus",
        "ZRAFT_ADVERTISE_BUS", "--bus-heartbeat", "ZRAFT_BUS_HEARTBEAT",
        "--bus-timeout", "ZRAFT_BUS_TIMEOUT", "--sched", "ZRAFT_SCHED",
        "--snapshot-trailing", "ZRAFT_SNAPSHOT_TRAILING", "--help", "--version", "flag > environment > config file > default",
        "64", "SIGTERM", NULL};
    for (int i = 0; names [i]; i++)
        ck_assert_msg (strstr (text, names [i]), "usage lacks %s", names [i]);
    free (text);
}
END_TEST

/* ---------------------------------------------------------- precedence */

START_TEST (precedence_flag_env_file_default)
{
    /* heartbeat-interval from each source in turn, the higher ones
       present too. */
    const char *path = s_file ("heartbeat-interval = 30\n"
                               "log-level = info\n");
    char config [96];
    snprintf (config, sizeof config, "ZRAFT_CONFIG_FILE=%s", path);
    char *env [] = {config, "ZRAFT_HEARTBEAT_INTERVAL=20", NULL};
    const char *flag [] = {"--heartbeat-interval", "10", NULL};
    ck_assert_int_eq (s_parse (flag, env), 0);
    ck_assert_uint_eq (s_options.heartbeat_ms, 10);
    ck_assert_int_eq (s_options.log_level, ZR_OPTIONS_LOG_INFO);
    ck_assert_str_eq (s_options.config_file, path);
    ck_assert_int_eq (s_parse (NULL, env), 0);
    ck_assert_uint_eq (s_options.heartbeat_ms, 20);
    char *env_file [] = {config, NULL};
    ck_assert_int_eq (s_parse (NULL, env_file), 0);
    ck_assert_uint_eq (s_options.heartbeat_ms, 30);
    ck_assert_int_eq (s_parse (NULL, NULL), 0);
    ck_assert_uint_eq (s_options.heartbeat_ms, 100);
    ck_assert_int_eq (s_options.log_level, ZR_OPTIONS_LOG_NOTICE);
}
END_TEST

/* ZRAFT_* variables it does not read are listed (a misspelt setting is
   reported, not silently ignored), but for zraft-ctl's, which an
   operator's shell may hold; they stop nothing. */
START_TEST (precedence_unknown_env_listed)
{
    char *env [] = {"ZRAFT_HEARTBEAT_INTERVAL=20", "ZRAFT_ELECTION_TIMEOUT_MS=500",
                    "ZRAFT_ENDPOINTS=tcp://127.0.0.1:1", "ZRAFT_BUS_ENDPOINTS=x",
                    "PATH=/bin", "ZRAFT_=1", "ZRAFT_LOGLEVEL=debug", NULL};
    ck_assert_int_eq (s_parse (NULL, env), 0);
    ck_assert_uint_eq (s_options.heartbeat_ms, 20);
    ck_assert_uint_eq (s_options.election_timeout_ms, 1000);
    ck_assert_str_eq (s_options.unknown_env,
                      "ZRAFT_ELECTION_TIMEOUT_MS ZRAFT_ ZRAFT_LOGLEVEL");
    char *known [] = {"ZRAFT_HEARTBEAT_INTERVAL=20", "ZRAFT_ENDPOINTS=e", NULL};
    ck_assert_int_eq (s_parse (NULL, known), 0);
    ck_assert_str_eq (s_options.unknown_env, "");
    /* Many: the list is cut, and says so. */
    static char names [200][40];
    char *many [201];
    for (int i = 0; i < 200; i++) {
        snprintf (names [i], sizeof names [i], "ZRAFT_UNKNOWN_%03d=1", i);
        many [i] = names [i];
    }
    many [200] = NULL;
    ck_assert_int_eq (s_parse (NULL, many), 0);
    size_t length = strlen (s_options.unknown_env);
    ck_assert_uint_eq (length, sizeof s_options.unknown_env - 1);
    ck_assert_str_eq (s_options.unknown_env + length - 3, "...");
    ck_assert_ptr_nonnull (strstr (s_options.unknown_env, "ZRAFT_UNKNOWN_000 "));
}
END_TEST

START_TEST (precedence_required_from_env_and_file)
{
    /* The required settings may all come from the environment or the
       file; a flag still overrides them. */
    const char *path = s_file ("name = n3\n"
                               "initial-cluster = \"" S_CLUSTER "\"\n"
                               "listen-client = tcp://127.0.0.1:7103\n");
    const char *drop [] = {"--name", s_drop, "--initial-cluster", s_drop,
                           "--listen-client", s_drop, "--data-dir", s_drop,
                           "--config-file", NULL, NULL};
    char config [96];
    snprintf (config, sizeof config, "--config-file=%s", path);
    drop [8] = config;
    char *env [] = {"ZRAFT_DATA_DIR=/tmp/from-env", NULL};
    ck_assert_int_eq (s_parse (drop, env), 0);
    ck_assert_str_eq (s_options.name, "n3");
    ck_assert_uint_eq (s_options.id, 3);
    ck_assert_str_eq (s_options.data_dir, "/tmp/from-env");
    ck_assert_str_eq (s_options.advertise_client, "tcp://127.0.0.1:7103");
    const char *flags [] = {config, NULL, "--name", "n1", "--data-dir",
                            s_drop, NULL};
    ck_assert_int_eq (s_parse (flags, env), 0);
    ck_assert_uint_eq (s_options.id, 1);
    ck_assert_str_eq (s_options.data_dir, "/tmp/from-env");
}
END_TEST

START_TEST (precedence_config_file_flag_over_env)
{
    /* --config-file picks the file over ZRAFT_CONFIG_FILE. */
    char *env [] = {"ZRAFT_CONFIG_FILE=/nonexistent/zraft.conf", NULL};
    s_refused (s_parse (NULL, env), "/nonexistent/zraft.conf", NULL);
    const char *path = s_file ("election-timeout = 700\n");
    const char *flag [] = {"--config-file", path, NULL};
    ck_assert_int_eq (s_parse (flag, env), 0);
    ck_assert_uint_eq (s_options.election_timeout_ms, 700);
    /* An empty flag means no file at all. */
    const char *none [] = {"--config-file=", NULL, NULL};
    ck_assert_int_eq (s_parse (none, env), 0);
    ck_assert_uint_eq (s_options.election_timeout_ms, 1000);
}
END_TEST

START_TEST (precedence_message_names_source)
{
    char *env [] = {"ZRAFT_ELECTION_TIMEOUT=soon", NULL};
    s_refused (s_parse (NULL, env), "--election-timeout",
               "from ZRAFT_ELECTION_TIMEOUT", "'soon'", NULL);
    const char *path = s_file ("log-format = xml\n");
    const char *flag [] = {"--config-file", path, NULL};
    s_refused (s_parse (flag, NULL), "--log-format", path, "text or json",
               NULL);
    const char *bad [] = {"--log-level", "loud", NULL};
    s_refused (s_parse (bad, NULL), "--log-level", "from flag", NULL);
}
END_TEST

/* -------------------------------------------------------- bad values */

typedef struct {
    const char *flag;
    const char *value;
    const char *fragment;               /* expected in the message */
} s_bad_t;

static const s_bad_t s_bads [] = {
    {"--name", "", "--name must be 1..64"},
    {"--name", "n 1", "--name must be"},
    {"--name", "n/1", "--name must be"},
    {"--name", "01234567890123456789012345678901234567890123456789012345678901234",
     "--name must be"},
    {"--name", "n4", "not a member of --initial-cluster"},
    {"--data-dir", "", "--data-dir must be a path"},
    {"--listen-peer", "tcp://127.0.0.1:7001", "--listen-peer tcp://127.0.0.1:7001 must be tcp://127.0.0.1:7002"},
    {"--listen-peer", "udp://127.0.0.1:7002", "--listen-peer must be tcp://host:port"},
    {"--listen-client", "", "--listen-client must be"},
    {"--listen-client", "tcp://127.0.0.1", "--listen-client must be"},
    {"--listen-client", "tcp://127.0.0.1:0", "--listen-client must be"},
    {"--listen-client", "tcp://127.0.0.1:65536", "--listen-client must be"},
    {"--listen-client", "tcp://127.0.0.1:7x", "--listen-client must be"},
    {"--listen-client", "tcp://:7102", "--listen-client must be"},
    {"--listen-client", "tcp://*:7102", "--advertise-client is required"},
    {"--listen-client", "tcp://0.0.0.0:7102", "--advertise-client is required"},
    {"--listen-client", "tcp://[::]:7102", "--advertise-client is required"},
    {"--listen-client", "tcp://127.0.0.1:7003", "is a peer endpoint"},
    {"--advertise-client", "tcp://*:7102", "--advertise-client must name"},
    {"--advertise-client", "http://a:1", "--advertise-client must be"},
    {"--initial-cluster", "", "--initial-cluster must be name="},
    {"--initial-cluster", "n2", "--initial-cluster must be name="},
    {"--initial-cluster", "n2=", "member n2:"},
    {"--initial-cluster", "=tcp://127.0.0.1:7002", "--initial-cluster must be"},
    {"--initial-cluster", "n2=tcp://127.0.0.1:7002,", "member 2 is ''"},
    {"--initial-cluster", "n2=tcp://*:7002", "member n2:"},
    {"--initial-cluster", "n2=tcp://[*]:7002", "member n2:"},
    {"--initial-cluster", "n2=tcp://127.0.0.1:7002,n2=tcp://127.0.0.1:7003",
     "member name n2 is listed twice"},
    {"--initial-cluster", "n1=tcp://127.0.0.1:7002,n2=tcp://127.0.0.1:7002",
     "endpoint tcp://127.0.0.1:7002 is listed twice"},
    {"--initial-cluster", "a=tcp://h:1,b=tcp://h:2,c=tcp://h:3,d=tcp://h:4,"
     "e=tcp://h:5,f=tcp://h:6,g=tcp://h:7,h=tcp://h:8,i=tcp://h:9,"
     "n2=tcp://h:10", "must list 1..9 members"},
    {"--heartbeat-interval", "0", "--heartbeat-interval must be an integer in 1..60000"},
    {"--heartbeat-interval", "60001", "--heartbeat-interval must be"},
    {"--heartbeat-interval", "-5", "--heartbeat-interval must be"},
    {"--heartbeat-interval", "10ms", "--heartbeat-interval must be"},
    {"--heartbeat-interval", " 10", "--heartbeat-interval must be"},
    {"--heartbeat-interval", "99999999999999999999999", "--heartbeat-interval must be"},
    {"--heartbeat-interval", "1000", "--election-timeout 1000 must be above"},
    {"--election-timeout", "1", "--election-timeout must be an integer in 2..600000"},
    {"--election-timeout", "600001", "--election-timeout must be"},
    {"--election-timeout", "", "--election-timeout must be"},
    {"--election-timeout", "100", "--election-timeout 100 must be above"},
    {"--snapshot-entries", "1099511627777", "--snapshot-entries must be"},
    {"--snapshot-entries", "1e6", "--snapshot-entries must be"},
    {"--snapshot-trailing", "1099511627777", "--snapshot-trailing must be"},
    {"--snapshot-trailing", "-1", "--snapshot-trailing must be"},
    {"--log-level", "NOTICE", "--log-level must be error, warning"},
    {"--log-level", "", "--log-level must be"},
    {"--log-format", "yaml", "--log-format must be text or json"},
    {"--listen-bus", "tcp://127.0.0.1", "--listen-bus must be"},
    {"--listen-bus", "tcp://127.0.0.1:7102", "is --listen-client too"},
    {"--listen-bus", "tcp://127.0.0.1:7001", "--listen-bus tcp://127.0.0.1:7001"
     " is a peer endpoint"},
    {"--listen-bus", "tcp://*:7202", "--advertise-bus is required"},
    {"--advertise-bus", "tcp://127.0.0.1:7202", "needs --listen-bus"},
    {"--advertise-bus", "tcp://0.0.0.0:7202", "--advertise-bus must name"},
    {"--bus-heartbeat", "0", "--bus-heartbeat must be an integer in 1..60000"},
    {"--bus-heartbeat", "60001", "--bus-heartbeat must be"},
    {"--bus-timeout", "1", "--bus-timeout must be an integer in 2..600000"},
    {"--bus-timeout", "600001", "--bus-timeout must be"},
    {"--sched", "idle", "--sched must be batch or normal"},
    {"--sched", "", "--sched must be batch or normal"},
};
#define S_BADS (sizeof s_bads / sizeof s_bads [0])

START_TEST (bad_value_refused)
{
    /* One bad value per run (_i indexes s_bads), as a flag and again
       from the environment. */
    const s_bad_t *bad = &s_bads [_i];
    const char *extra [] = {bad->flag, bad->value, NULL};
    s_refused (s_parse (extra, NULL), bad->fragment, NULL);
    char var [256] = "ZRAFT_";
    for (const char *at = bad->flag + 2; *at; at++)
        var [strlen (var)] = *at == '-' ? '_' : (char) toupper (*at);
    if (streq (bad->flag, "--heartbeat-interval") && streq (bad->value, "1000"))
        return;                         /* a rule between values: any source */
    char entry [512];
    snprintf (entry, sizeof entry, "%s=%s", var, bad->value);
    char *env [] = {entry, NULL};
    const char *drop [] = {bad->flag, s_drop, NULL};
    int rc = s_parse (drop, env);
    ck_assert_msg (rc == -1, "%s accepted", entry);
    /* A value's own problem names its source; a rule between values
       names both values instead. */
    if (strstr (s_why, "(got '"))
        ck_assert_msg (strstr (s_why, var), "'%s' lacks %s", s_why, var);
}
END_TEST

START_TEST (bad_bus_timeout_refused)
{
    /* The bus timeout is at least twice its heartbeat, from any source;
       without a bus endpoint neither may be set (it would do nothing). */
    const char *extra [] = {"--listen-bus", "tcp://127.0.0.1:7202",
                            "--bus-timeout", "1999", NULL};
    s_refused (s_parse (extra, NULL), "--bus-timeout 1999 must be at least"
               " twice --bus-heartbeat 1000", NULL);
    char *env [] = {"ZRAFT_BUS_HEARTBEAT=600", NULL};
    const char *twice [] = {"--listen-bus", "tcp://127.0.0.1:7202",
                            "--bus-timeout", "1200", NULL};
    ck_assert_int_eq (s_parse (twice, env), ZR_OPTIONS_RUN);
    const char *no_bus [] = {"--bus-timeout", "5000", NULL};
    s_refused (s_parse (no_bus, NULL), "--bus-heartbeat and --bus-timeout need"
               " --listen-bus", NULL);
    s_refused (s_parse (NULL, env), "need --listen-bus", NULL);
    const char *path = s_file ("bus-timeout = 5000\n");
    const char *file [] = {"--config-file", path, NULL};
    s_refused (s_parse (file, NULL), "need --listen-bus", NULL);
    /* Their defaults need nothing. */
    ck_assert_int_eq (s_parse (NULL, NULL), ZR_OPTIONS_RUN);
}
END_TEST

START_TEST (bad_flag_syntax_refused)
{
    const char *unknown [] = {"--bogus", "1", NULL};
    s_refused (s_parse (unknown, NULL), "unknown flag '--bogus'", NULL);
    const char *unknown_eq [] = {"--bogus=1", NULL, NULL};
    s_refused (s_parse (unknown_eq, NULL), "unknown flag '--bogus'", NULL);
    const char *positional [] = {"n1", NULL, NULL};
    s_refused (s_parse (positional, NULL), "unexpected argument 'n1'", NULL);
    const char *single_dash [] = {"-name", "n2", NULL};
    s_refused (s_parse (single_dash, NULL), "unexpected argument '-name'",
               NULL);
    const char *twice [] = {"--log-level", "info", "--log-level=debug", NULL,
                            NULL};
    s_refused (s_parse (twice, NULL), "--log-level is given twice", NULL);
    const char *missing [] = {"--log-level", NULL, NULL};
    s_refused (s_parse (missing, NULL), "--log-level needs a value", NULL);
}
END_TEST

START_TEST (bad_required_missing)
{
    const char *required [] = {"--name", "--data-dir", "--initial-cluster",
                               "--listen-client", NULL};
    const char *vars [] = {"ZRAFT_NAME", "ZRAFT_DATA_DIR",
                           "ZRAFT_INITIAL_CLUSTER", "ZRAFT_LISTEN_CLIENT"};
    for (int i = 0; required [i]; i++) {
        const char *drop [] = {required [i], s_drop, NULL};
        s_refused (s_parse (drop, NULL), required [i], "is required", vars [i],
                   NULL);
    }
    /* Every one missing is named at once. */
    const char *three [] = {"--name", s_drop, "--data-dir", s_drop,
                            "--listen-client", s_drop, NULL};
    s_refused (s_parse (three, NULL), "--name, --data-dir and --listen-client"
               " are required", NULL);
}
END_TEST

START_TEST (bad_config_file_refused)
{
    /* Missing, a directory, not ZPL, unknown keys, sections, duplicates,
       config-file inside a file: each refused, naming the file. */
    const char *texts [] = {"colour = blue\n", "config-file = /x\n",
                            "name = n1\nname = n3\n",
                            "name\n    first = n1\n",
                            "name = \"unterminated\n"};
    const char *fragments [] = {"unknown key 'colour'",
                                "unknown key 'config-file'",
                                "key 'name' is given twice",
                                "key 'name' must hold a value",
                                "not valid ZPL"};
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
        const char *path = s_file (texts [i]);
        const char *flag [] = {"--config-file", path, NULL};
        s_refused (s_parse (flag, NULL), path, fragments [i], NULL);
        s_teardown ();
    }
    const char *dir [] = {"--config-file", "/tmp", NULL};
    s_refused (s_parse (dir, NULL), "must be a regular file", NULL);
    const char *missing [] = {"--config-file", "/nonexistent/z.conf", NULL};
    s_refused (s_parse (missing, NULL), "/nonexistent/z.conf",
               "No such file", NULL);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("node_options");
    TCase *tc = tcase_create ("parse");
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, parse_fills_defaults);
    tcase_add_test (tc, parse_takes_every_flag);
    tcase_add_test (tc, parse_help_and_version_win);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("precedence");
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, precedence_flag_env_file_default);
    tcase_add_test (tc, precedence_unknown_env_listed);
    tcase_add_test (tc, precedence_required_from_env_and_file);
    tcase_add_test (tc, precedence_config_file_flag_over_env);
    tcase_add_test (tc, precedence_message_names_source);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("bad");
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_loop_test (tc, bad_value_refused, 0, (int) S_BADS);
    tcase_add_test (tc, bad_flag_syntax_refused);
    tcase_add_test (tc, bad_bus_timeout_refused);
    tcase_add_test (tc, bad_required_missing);
    tcase_add_test (tc, bad_config_file_refused);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
