/*  =========================================================================
    options - zraft-node's configuration: flags, environment, config file

    One table (s_settings) lists every setting once: its flag, which is
    also its config file key, its environment variable, its default and
    the function that parses and checks a value. Parsing runs in four
    steps, each stopping at the first problem:

    1. argv: --help and --version win over everything; otherwise each
       "--flag value" or "--flag=value" is remembered (not parsed yet);
       an unknown flag, a missing value or a flag given twice is an error.
    2. The config file, named by --config-file, else ZRAFT_CONFIG_FILE:
       a regular file of at most S_FILE_MAX bytes in czmq's ZPL, holding
       only known keys, each once, without children.
    3. Each setting takes its value from the first source that has one
       (flag > environment > file > default) and parses it; a message
       names the setting and the source ("from ZRAFT_NAME").
    4. The rules between settings: --name is a member of
       --initial-cluster, --listen-peer is its endpoint, the election
       timeout is above the heartbeat, the client and bus endpoints are
       usable and distinct, the bus timeout is at least twice its
       heartbeat.
    =========================================================================
*/
#include "options.h"
#include "../lib/endpoint.h"

#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#define S_FILE_MAX (1u << 20)           /* config file bytes */
#define S_ARG_MAX 4096                  /* one flag's value, bytes */

typedef enum { S_FLAG = 0, S_ENV = 1, S_FILE = 2, S_DEFAULT = 3 } s_source_t;

typedef int (s_set_fn) (zr_options_t *self, const char *value, char *why,
                        size_t size);

typedef struct {
    const char *key;                    /* flag without "--", file key */
    const char *env;                    /* environment variable */
    const char *fallback;               /* default, or NULL: required */
    s_set_fn *set;                      /* parses and checks a value */
} s_setting_t;

static s_set_fn s_set_name, s_set_data_dir, s_set_listen_peer,
    s_set_listen_client, s_set_advertise_client, s_set_initial_cluster,
    s_set_heartbeat, s_set_election, s_set_snapshot_entries, s_set_config_file,
    s_set_log_level, s_set_log_format, s_set_listen_bus, s_set_advertise_bus,
    s_set_bus_heartbeat, s_set_bus_timeout, s_set_sched,
    s_set_snapshot_trailing;

/* Defaults "" mean "not set": checked (or derived) in step 4. */
static const s_setting_t s_settings [] = {
    {"name", "ZRAFT_NAME", NULL, s_set_name},
    {"data-dir", "ZRAFT_DATA_DIR", NULL, s_set_data_dir},
    {"listen-peer", "ZRAFT_LISTEN_PEER", "", s_set_listen_peer},
    {"listen-client", "ZRAFT_LISTEN_CLIENT", NULL, s_set_listen_client},
    {"advertise-client", "ZRAFT_ADVERTISE_CLIENT", "", s_set_advertise_client},
    {"initial-cluster", "ZRAFT_INITIAL_CLUSTER", NULL, s_set_initial_cluster},
    {"heartbeat-interval", "ZRAFT_HEARTBEAT_INTERVAL", "100", s_set_heartbeat},
    {"election-timeout", "ZRAFT_ELECTION_TIMEOUT", "1000", s_set_election},
    {"snapshot-entries", "ZRAFT_SNAPSHOT_ENTRIES", "65536",
     s_set_snapshot_entries},
    {"config-file", "ZRAFT_CONFIG_FILE", "", s_set_config_file},
    {"log-level", "ZRAFT_LOG_LEVEL", "notice", s_set_log_level},
    {"log-format", "ZRAFT_LOG_FORMAT", "text", s_set_log_format},
    {"listen-bus", "ZRAFT_LISTEN_BUS", "", s_set_listen_bus},
    {"advertise-bus", "ZRAFT_ADVERTISE_BUS", "", s_set_advertise_bus},
    {"bus-heartbeat", "ZRAFT_BUS_HEARTBEAT", "1000", s_set_bus_heartbeat},
    {"bus-timeout", "ZRAFT_BUS_TIMEOUT", "10000", s_set_bus_timeout},
    {"sched", "ZRAFT_SCHED", "batch", s_set_sched},
    {"snapshot-trailing", "ZRAFT_SNAPSHOT_TRAILING", "32768",
     s_set_snapshot_trailing},
};
#define S_SETTINGS (sizeof s_settings / sizeof s_settings [0])
#define S_CONFIG_FILE 9                 /* its index in s_settings */

static const char *s_levels [] = {"error", "warning", "notice", "info", "debug"};

/* What step 1 and 2 found for each setting. */
typedef struct {
    const char *flags [S_SETTINGS];     /* argv's value, or NULL */
    const char *files [S_SETTINGS];     /* the file's value, or NULL */
    zconfig_t *config;                  /* the loaded file; owned */
} s_found_t;

/* ------------------------------------------------------------- helpers */

#define s_fail zr_options_fail

int
zr_options_fail (char *why, size_t size, const char *format, ...)
{
    assert (why && size > 0);
    va_list args;
    va_start (args, format);
    vsnprintf (why, size, format, args);
    va_end (args);
    return -1;
}

/* Copies value into field (size bytes) if it fits and is not empty. */
static int
s_copy (char *field, size_t size, const char *value, const char *what,
        char *why, size_t why_size)
{
    assert (field && value);
    size_t length = strlen (value);
    if (length == 0 || length >= size)
        return s_fail (why, why_size, "must be %s of 1..%zu characters", what,
                       size - 1);
    memcpy (field, value, length + 1);
    return 0;
}

/* Parses a decimal integer in min..max (digits only). */
static int
s_number (const char *value, uint64_t min, uint64_t max, uint64_t *number)
{
    if (*value < '0' || *value > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long parsed = strtoull (value, &end, 10);
    if (errno || *end || parsed < min || parsed > max)
        return -1;
    *number = parsed;
    return 0;
}

/* True if name is 1..ZR_OPTIONS_NAME_MAX of [A-Za-z0-9._-]. */
static bool
s_name_valid (const char *name, size_t length)
{
    if (length == 0 || length > ZR_OPTIONS_NAME_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isalnum ((unsigned char) name [i]) && !strchr ("._-", name [i]))
            return false;
    return true;
}

/* True if endpoint is tcp://host:port (bin/lib/endpoint.h); *wildcard
   says whether host is a wildcard such as * or 0.0.0.0 (bindable, not
   connectable). */
static bool
s_endpoint_valid (const char *endpoint, bool *wildcard)
{
    return zr_endpoint_tcp_valid (endpoint, ZR_OPTIONS_ENDPOINT_MAX, wildcard);
}

/* ------------------------------------------------------------- setters */

static int
s_set_name (zr_options_t *self, const char *value, char *why, size_t size)
{
    if (!s_name_valid (value, strlen (value)))
        return s_fail (why, size, "must be 1..%u characters of A-Z a-z 0-9 . _ -",
                       ZR_OPTIONS_NAME_MAX);
    memcpy (self->name, value, strlen (value) + 1);
    return 0;
}

static int
s_set_data_dir (zr_options_t *self, const char *value, char *why, size_t size)
{
    return s_copy (self->data_dir, sizeof self->data_dir, value, "a path",
                   why, size);
}

/* An endpoint setting: "" (unset) or a valid endpoint. */
static int
s_set_endpoint (char *field, const char *value, char *why, size_t size)
{
    bool wildcard;
    if (*value && !s_endpoint_valid (value, &wildcard))
        return s_fail (why, size, "must be tcp://host:port with a port in"
                       " 1..65535, at most %u characters",
                       ZR_OPTIONS_ENDPOINT_MAX);
    memcpy (field, value, strlen (value) + 1);
    return 0;
}

static int
s_set_listen_peer (zr_options_t *self, const char *value, char *why,
                   size_t size)
{
    return s_set_endpoint (self->listen_peer, value, why, size);
}

static int
s_set_listen_client (zr_options_t *self, const char *value, char *why,
                     size_t size)
{
    if (!*value)
        return s_fail (why, size, "must be tcp://host:port");
    return s_set_endpoint (self->listen_client, value, why, size);
}

/* An advertised endpoint: "" (unset) or one clients can reach. */
static int
s_set_advertised (char *field, const char *value, char *why, size_t size)
{
    bool wildcard = false;
    if (s_set_endpoint (field, value, why, size))
        return -1;
    if (*value && s_endpoint_valid (value, &wildcard) && wildcard)
        return s_fail (why, size, "must name an address clients can reach,"
                       " not a wildcard such as * or 0.0.0.0");
    return 0;
}

static int
s_set_advertise_client (zr_options_t *self, const char *value, char *why,
                        size_t size)
{
    return s_set_advertised (self->advertise_client, value, why, size);
}

static int
s_set_listen_bus (zr_options_t *self, const char *value, char *why,
                  size_t size)
{
    return s_set_endpoint (self->listen_bus, value, why, size);
}

static int
s_set_advertise_bus (zr_options_t *self, const char *value, char *why,
                     size_t size)
{
    return s_set_advertised (self->advertise_bus, value, why, size);
}

/* Parses one "name=tcp://host:port" of --initial-cluster (length bytes
   at item) into member n. */
static int
s_member_parse (zr_options_t *self, const char *item, size_t length,
                char *why, size_t size)
{
    uint32_t n = self->n_members;
    const char *eq = memchr (item, '=', length);
    size_t name_length = eq ? (size_t) (eq - item) : 0;
    if (!eq || !s_name_valid (item, name_length))
        return s_fail (why, size, "must be name=tcp://host:port,... with names"
                       " of 1..%u characters of A-Z a-z 0-9 . _ - (member %u"
                       " is '%.*s')", ZR_OPTIONS_NAME_MAX, n + 1,
                       (int) length, item);
    zr_options_member_t *member = &self->members [n];
    memcpy (member->name, item, name_length);
    member->name [name_length] = 0;
    size_t endpoint_length = length - name_length - 1;
    bool wildcard = false;
    if (endpoint_length > ZR_OPTIONS_ENDPOINT_MAX)
        return s_fail (why, size, "member %s: endpoint over %u characters",
                       member->name, ZR_OPTIONS_ENDPOINT_MAX);
    memcpy (member->endpoint, eq + 1, endpoint_length);
    member->endpoint [endpoint_length] = 0;
    if (!s_endpoint_valid (member->endpoint, &wildcard) || wildcard)
        return s_fail (why, size, "member %s: '%s' is not tcp://host:port"
                       " (a port in 1..65535, a host that is not a"
                       " wildcard such as * or 0.0.0.0)", member->name, member->endpoint);
    for (uint32_t i = 0; i < n; i++) {
        if (streq (self->members [i].name, member->name))
            return s_fail (why, size, "member name %s is listed twice",
                           member->name);
        if (streq (self->members [i].endpoint, member->endpoint))
            return s_fail (why, size, "endpoint %s is listed twice",
                           member->endpoint);
    }
    self->n_members = n + 1;
    return 0;
}

static int
s_set_initial_cluster (zr_options_t *self, const char *value, char *why,
                       size_t size)
{
    self->n_members = 0;
    const char *at = value;
    while (true) {
        const char *comma = strchr (at, ',');
        size_t length = comma ? (size_t) (comma - at) : strlen (at);
        if (self->n_members == ZR_OPTIONS_MEMBERS_MAX)
            return s_fail (why, size, "must list 1..%u members",
                           ZR_OPTIONS_MEMBERS_MAX);
        if (s_member_parse (self, at, length, why, size))
            return -1;
        if (!comma)
            break;
        at = comma + 1;
    }
    return 0;
}

/* A duration in ms, min..max. */
static int
s_set_ms (uint32_t *field, const char *value, uint32_t min, uint32_t max,
          char *why, size_t size)
{
    uint64_t ms;
    if (s_number (value, min, max, &ms))
        return s_fail (why, size, "must be an integer in %u..%u (ms)", min,
                       max);
    *field = (uint32_t) ms;
    return 0;
}

static int
s_set_heartbeat (zr_options_t *self, const char *value, char *why, size_t size)
{
    return s_set_ms (&self->heartbeat_ms, value, 1, ZR_OPTIONS_HEARTBEAT_MAX,
                     why, size);
}

static int
s_set_bus_heartbeat (zr_options_t *self, const char *value, char *why,
                     size_t size)
{
    return s_set_ms (&self->bus_heartbeat_ms, value, 1,
                     ZR_OPTIONS_BUS_HEARTBEAT_MAX, why, size);
}

static int
s_set_bus_timeout (zr_options_t *self, const char *value, char *why,
                   size_t size)
{
    return s_set_ms (&self->bus_timeout_ms, value, 2,
                     ZR_OPTIONS_BUS_TIMEOUT_MAX, why, size);
}

static int
s_set_election (zr_options_t *self, const char *value, char *why, size_t size)
{
    return s_set_ms (&self->election_timeout_ms, value, 2,
                     ZR_OPTIONS_ELECTION_MAX, why, size);
}

/* A count of log entries, 0..ZR_OPTIONS_SNAPSHOT_ENTRIES_MAX, into
   field; note follows the range in the message. */
static int
s_set_entries (uint64_t *field, const char *value, const char *note,
               char *why, size_t size)
{
    if (s_number (value, 0, ZR_OPTIONS_SNAPSHOT_ENTRIES_MAX, field))
        return s_fail (why, size, "must be an integer in 0..%llu%s",
                       (unsigned long long) ZR_OPTIONS_SNAPSHOT_ENTRIES_MAX,
                       note);
    return 0;
}

static int
s_set_snapshot_entries (zr_options_t *self, const char *value, char *why,
                        size_t size)
{
    return s_set_entries (&self->snapshot_entries, value, " (0: not by count)",
                          why, size);
}

static int
s_set_snapshot_trailing (zr_options_t *self, const char *value, char *why,
                         size_t size)
{
    return s_set_entries (&self->snapshot_trailing, value, "", why, size);
}

/* Step 2 already used the value; this only records it. */
static int
s_set_config_file (zr_options_t *self, const char *value, char *why,
                   size_t size)
{
    if (*value)
        return s_copy (self->config_file, sizeof self->config_file, value,
                       "a path", why, size);
    self->config_file [0] = 0;
    return 0;
}

static int
s_set_log_level (zr_options_t *self, const char *value, char *why, size_t size)
{
    for (int level = 0; level < (int) (sizeof s_levels / sizeof s_levels [0]);
         level++)
        if (streq (value, s_levels [level])) {
            self->log_level = level;
            return 0;
        }
    return s_fail (why, size, "must be error, warning, notice, info or debug");
}

static int
s_set_sched (zr_options_t *self, const char *value, char *why, size_t size)
{
    if (streq (value, "batch") || streq (value, "normal")) {
        self->sched_batch = streq (value, "batch");
        return 0;
    }
    return s_fail (why, size, "must be batch or normal");
}

static int
s_set_log_format (zr_options_t *self, const char *value, char *why, size_t size)
{
    if (streq (value, "text") || streq (value, "json")) {
        self->log_format = streq (value, "json") ? ZR_OPTIONS_JSON
                                                 : ZR_OPTIONS_TEXT;
        return 0;
    }
    return s_fail (why, size, "must be text or json");
}

/* --------------------------------------------------------- the steps */

/* Returns the index of the setting called key, or -1. */
static int
s_setting_find (const char *key, size_t length)
{
    for (size_t i = 0; i < S_SETTINGS; i++)
        if (strlen (s_settings [i].key) == length
            && !strncmp (s_settings [i].key, key, length))
            return (int) i;
    return -1;
}

/* Step 1: argv into found->flags. Returns ZR_OPTIONS_RUN, _HELP,
   _SHOW_VERSION or -1. */
static int
s_argv_scan (s_found_t *found, int argc, char *const argv [], char *why,
             size_t size)
{
    for (int i = 1; i < argc; i++)
        if (streq (argv [i], "--help") || streq (argv [i], "-h"))
            return ZR_OPTIONS_HELP;
    for (int i = 1; i < argc; i++)
        if (streq (argv [i], "--version"))
            return ZR_OPTIONS_SHOW_VERSION;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        if (strncmp (arg, "--", 2))
            return s_fail (why, size, "unexpected argument '%s' (flags start"
                           " with --; see --help)", arg);
        const char *eq = strchr (arg, '=');
        size_t length = eq ? (size_t) (eq - arg - 2) : strlen (arg + 2);
        int setting = s_setting_find (arg + 2, length);
        if (setting < 0)
            return s_fail (why, size, "unknown flag '%.*s' (see --help)",
                           (int) (length + 2), arg);
        const char *value = eq ? eq + 1 : i + 1 < argc ? argv [++i] : NULL;
        if (!value)
            return s_fail (why, size, "--%s needs a value", arg + 2);
        if (found->flags [setting])
            return s_fail (why, size, "--%s is given twice",
                           s_settings [setting].key);
        if (strlen (value) > S_ARG_MAX)
            return s_fail (why, size, "--%s: value over %u bytes",
                           s_settings [setting].key, S_ARG_MAX);
        found->flags [setting] = value;
    }
    return ZR_OPTIONS_RUN;
}

/* Returns the value of environment variable name in envp, or NULL. */
static const char *
s_env (char *const envp [], const char *name)
{
    size_t length = strlen (name);
    for (size_t i = 0; envp && envp [i]; i++)
        if (!strncmp (envp [i], name, length) && envp [i][length] == '=')
            return envp [i] + length + 1;
    return NULL;
}

/* Step 2: loads the file at path into found->files. */
static int
s_file_load (s_found_t *found, const char *path, char *why, size_t size)
{
    struct stat st;
    if (stat (path, &st))
        return s_fail (why, size, "config file %s: %s", path, strerror (errno));
    if (!S_ISREG (st.st_mode) || st.st_size > (off_t) S_FILE_MAX)
        return s_fail (why, size, "config file %s: must be a regular file of"
                       " at most %u bytes", path, S_FILE_MAX);
    /* Read here, parsed from memory: zconfig_load (czmq 4.2.1) leaks its
       zfile when the text is not ZPL. */
    FILE *file = fopen (path, "r");
    if (!file)
        return s_fail (why, size, "config file %s: %s", path, strerror (errno));
    char *text = (char *) calloc (1, S_FILE_MAX + 1);
    assert (text);
    size_t length = fread (text, 1, S_FILE_MAX, file);
    fclose (file);
    if (memchr (text, 0, length)) {
        free (text);
        return s_fail (why, size, "config file %s: holds a NUL byte", path);
    }
    found->config = zconfig_str_load (text);
    free (text);
    if (!found->config)
        return s_fail (why, size, "config file %s: not valid ZPL (czmq's"
                       " zconfig format; its complaint is above)", path);
    for (zconfig_t *item = zconfig_child (found->config); item;
         item = zconfig_next (item)) {
        const char *key = zconfig_name (item);
        int setting = key ? s_setting_find (key, strlen (key)) : -1;
        if (setting < 0 || setting == S_CONFIG_FILE)
            return s_fail (why, size, "config file %s: unknown key '%s' (keys"
                           " are the flags without --, see --help)", path,
                           key ? key : "");
        if (zconfig_child (item))
            return s_fail (why, size, "config file %s: key '%s' must hold a"
                           " value, not a section", path, key);
        if (found->files [setting])
            return s_fail (why, size, "config file %s: key '%s' is given"
                           " twice", path, key);
        const char *value = zconfig_value (item);
        found->files [setting] = value ? value : "";
    }
    return 0;
}

/* Lists in self->unknown_env the ZRAFT_* variables of envp that are
   neither a setting's nor zraft-ctl's (an operator's shell may hold
   those), so that a misspelt one is reported instead of ignored. */
static void
s_env_unknown (zr_options_t *self, char *const envp [])
{
    static const char *ctl [] = {"ZRAFT_ENDPOINTS", "ZRAFT_BUS_ENDPOINTS"};
    size_t used = 0;
    for (size_t i = 0; envp && envp [i]; i++) {
        const char *entry = envp [i];
        size_t length = strcspn (entry, "=");
        if (strncmp (entry, "ZRAFT_", 6) || entry [length] != '=')
            continue;
        bool known = false;
        for (size_t k = 0; k < S_SETTINGS && !known; k++)
            known = strlen (s_settings [k].env) == length
                    && !strncmp (s_settings [k].env, entry, length);
        for (size_t k = 0; k < sizeof ctl / sizeof ctl [0] && !known; k++)
            known = strlen (ctl [k]) == length && !strncmp (ctl [k], entry, length);
        if (known)
            continue;
        size_t room = sizeof self->unknown_env - used;
        int n = snprintf (self->unknown_env + used, room, "%s%.*s",
                          used ? " " : "", (int) length, entry);
        if (n < 0 || (size_t) n >= room) {
            /* Full: end with "..." where it was cut. */
            memcpy (self->unknown_env + sizeof self->unknown_env - 4, "...", 4);
            return;
        }
        used += (size_t) n;
    }
}

/* Step 3, first: every required setting no source gives, all named in
   one message (so that a first run is not a round trip per flag). */
static int
s_required_check (const s_found_t *found, char *const envp [], char *why,
                  size_t size)
{
    const s_setting_t *missing [S_SETTINGS];
    size_t n = 0;
    for (size_t i = 0; i < S_SETTINGS; i++)
        if (!s_settings [i].fallback && !found->flags [i]
            && !s_env (envp, s_settings [i].env) && !found->files [i])
            missing [n++] = &s_settings [i];
    if (n == 0)
        return 0;
    if (n == 1)
        return s_fail (why, size, "--%s is required (or %s, or '%s' in the"
                       " config file)", missing [0]->key, missing [0]->env,
                       missing [0]->key);
    char flags [256] = "";
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen (flags);
        snprintf (flags + used, sizeof flags - used, "%s--%s",
                  i == 0 ? "" : i + 1 < n ? ", " : " and ", missing [i]->key);
    }
    return s_fail (why, size, "%s are required (each as a flag, in its"
                   " ZRAFT_ variable or as a key in the config file: --help"
                   " names them)", flags);
}

/* Step 3: every setting from its first source. */
static int
s_settings_apply (zr_options_t *self, const s_found_t *found,
                  char *const envp [], char *why, size_t size)
{
    static const char *from [] = {"flag", "environment", "config file",
                                  "default"};
    if (s_required_check (found, envp, why, size) != 0)
        return -1;
    for (size_t i = 0; i < S_SETTINGS; i++) {
        const s_setting_t *setting = &s_settings [i];
        const char *env = s_env (envp, setting->env);
        s_source_t source = found->flags [i] ? S_FLAG
                            : env ? S_ENV
                            : found->files [i] ? S_FILE : S_DEFAULT;
        const char *value = source == S_FLAG ? found->flags [i]
                            : source == S_ENV ? env
                            : source == S_FILE ? found->files [i]
                            : setting->fallback;
        assert (value);                 /* s_required_check */
        if (source != S_DEFAULT && (setting->set == s_set_bus_heartbeat
                                    || setting->set == s_set_bus_timeout))
            self->bus_tuned = true;
        char problem [ZR_OPTIONS_WHY_MAX];
        if (setting->set (self, value, problem, sizeof problem) == 0)
            continue;
        const char *origin = source == S_ENV ? setting->env
                             : source == S_FILE ? self->config_file
                             : from [source];
        return s_fail (why, size, "--%s %s (got '%.64s' from %s)",
                       setting->key, problem, value, origin);
    }
    return 0;
}

/* Step 4 for the bus endpoint: optional, distinct from the others,
   advertised (by default where it listens), its timeout at least twice
   its heartbeat so one late heartbeat ends no session. */
static int
s_bus_rules_check (zr_options_t *self, char *why, size_t size)
{
    if (!*self->listen_bus) {
        if (*self->advertise_bus)
            return s_fail (why, size, "--advertise-bus %s needs --listen-bus",
                           self->advertise_bus);
        if (self->bus_tuned)
            return s_fail (why, size, "--bus-heartbeat and --bus-timeout need"
                           " --listen-bus: without it the node serves no bus");
        return 0;
    }
    for (uint32_t i = 0; i < self->n_members; i++)
        if (streq (self->listen_bus, self->members [i].endpoint))
            return s_fail (why, size, "--listen-bus %s is a peer endpoint"
                           " in --initial-cluster", self->listen_bus);
    if (streq (self->listen_bus, self->listen_client))
        return s_fail (why, size, "--listen-bus %s is --listen-client too",
                       self->listen_bus);
    bool wildcard = false;
    s_endpoint_valid (self->listen_bus, &wildcard);
    if (wildcard && !*self->advertise_bus)
        return s_fail (why, size, "--advertise-bus is required when"
                       " --listen-bus %s binds every address",
                       self->listen_bus);
    if (!*self->advertise_bus)
        snprintf (self->advertise_bus, sizeof self->advertise_bus, "%s",
                  self->listen_bus);
    if (self->bus_timeout_ms < 2 * self->bus_heartbeat_ms)
        return s_fail (why, size, "--bus-timeout %u must be at least twice"
                       " --bus-heartbeat %u", self->bus_timeout_ms,
                       self->bus_heartbeat_ms);
    return 0;
}

/* Step 4: the rules between settings. */
static int
s_rules_check (zr_options_t *self, char *why, size_t size)
{
    self->id = 0;
    for (uint32_t i = 0; i < self->n_members && !self->id; i++)
        if (streq (self->members [i].name, self->name))
            self->id = i + 1;
    if (!self->id)
        return s_fail (why, size, "--name %s is not a member of"
                       " --initial-cluster", self->name);
    const char *peer = self->members [self->id - 1].endpoint;
    if (*self->listen_peer && !streq (self->listen_peer, peer))
        return s_fail (why, size, "--listen-peer %s must be %s, %s's endpoint"
                       " in --initial-cluster", self->listen_peer, peer,
                       self->name);
    snprintf (self->listen_peer, sizeof self->listen_peer, "%s", peer);
    if (self->election_timeout_ms <= self->heartbeat_ms)
        return s_fail (why, size, "--election-timeout %u must be above"
                       " --heartbeat-interval %u", self->election_timeout_ms,
                       self->heartbeat_ms);
    for (uint32_t i = 0; i < self->n_members; i++)
        if (streq (self->listen_client, self->members [i].endpoint))
            return s_fail (why, size, "--listen-client %s is a peer endpoint"
                           " in --initial-cluster", self->listen_client);
    bool wildcard = false;
    s_endpoint_valid (self->listen_client, &wildcard);
    if (wildcard && !*self->advertise_client)
        return s_fail (why, size, "--advertise-client is required when"
                       " --listen-client %s binds every address",
                       self->listen_client);
    if (!*self->advertise_client)
        snprintf (self->advertise_client, sizeof self->advertise_client, "%s",
                  self->listen_client);
    return s_bus_rules_check (self, why, size);
}

/* ------------------------------------------------------------- public */

int
zr_options_parse (zr_options_t *self, int argc, char *const argv [],
                  char *const envp [], char *why, size_t why_size)
{
    assert (self && argv && argc >= 1 && why && why_size > 0);
    memset (self, 0, sizeof *self);
    *why = 0;
    s_found_t found;
    memset (&found, 0, sizeof found);
    int action = s_argv_scan (&found, argc, argv, why, why_size);
    if (action != ZR_OPTIONS_RUN)
        return action;
    const char *file = found.flags [S_CONFIG_FILE];
    if (!file)
        file = s_env (envp, s_settings [S_CONFIG_FILE].env);
    int rc = 0;
    if (file && *file
        && s_set_config_file (self, file, why, why_size) == 0)
        rc = s_file_load (&found, file, why, why_size);
    else
    if (file && *file)
        rc = s_fail (why, why_size, "--config-file must be a path of 1..%u"
                     " characters", ZR_OPTIONS_PATH_MAX);
    if (rc == 0)
        rc = s_settings_apply (self, &found, envp, why, why_size);
    if (rc == 0)
        rc = s_rules_check (self, why, why_size);
    if (rc == 0)
        s_env_unknown (self, envp);
    zconfig_destroy (&found.config);
    assert (rc != 0 || (self->id >= 1 && self->id <= self->n_members));
    return rc;
}

const char *
zr_options_level_name (int level)
{
    assert (level >= 0 && level < (int) (sizeof s_levels / sizeof s_levels [0]));
    return s_levels [level];
}

void
zr_options_usage (FILE *out)
{
    assert (out);
    fprintf (out,
"Usage: zraft-node [FLAGS]\n"
"A replicated key/value server and message bus: one member of a zraft\n"
"(Raft) cluster.\n"
"\n"
"Each flag also comes from an environment variable and from a key in the\n"
"config file (the flag's name without --). The value used is the first of:\n"
"flag > environment > config file > default. Another ZRAFT_* variable\n"
"(but zraft-ctl's ZRAFT_ENDPOINTS and ZRAFT_BUS_ENDPOINTS) is named in a\n"
"warning at start: a misspelt one is not silently ignored.\n"
"\n"
"  --name NAME                 ZRAFT_NAME (required)\n"
"        this member's name in --initial-cluster (A-Z a-z 0-9 . _ -)\n"
"  --data-dir DIR              ZRAFT_DATA_DIR (required)\n"
"        its write-ahead log and snapshots (created; one process at a time)\n"
"  --initial-cluster LIST      ZRAFT_INITIAL_CLUSTER (required)\n"
"        every member's peer endpoint: n1=tcp://host:port,n2=...; the same\n"
"        list, in the same order, on every member (ids are positions, from 1)\n"
"  --listen-peer URL           ZRAFT_LISTEN_PEER (default: NAME's endpoint)\n"
"        where peers reach it; must be NAME's endpoint in --initial-cluster\n"
"  --listen-client URL         ZRAFT_LISTEN_CLIENT (required)\n"
"        where clients reach it (tcp://host:port; tcp://*:port binds all)\n"
"  --advertise-client URL      ZRAFT_ADVERTISE_CLIENT (default: --listen-client)\n"
"        the client endpoint other members send clients to (redirects)\n"
"  --listen-bus URL            ZRAFT_LISTEN_BUS (default: none, no bus)\n"
"        where bus clients publish and subscribe (the bus protocol)\n"
"  --advertise-bus URL         ZRAFT_ADVERTISE_BUS (default: --listen-bus)\n"
"        the bus endpoint other members send publishers to (redirects)\n"
"  --bus-heartbeat MS          ZRAFT_BUS_HEARTBEAT (default 1000; 1..%u)\n"
"        heartbeat to an idle subscriber\n"
"  --bus-timeout MS            ZRAFT_BUS_TIMEOUT (default 10000; at least\n"
"        twice --bus-heartbeat, at most %u): a subscriber silent this long\n"
"        is dropped (both only with --listen-bus)\n"
"  --heartbeat-interval MS     ZRAFT_HEARTBEAT_INTERVAL (default 100; 1..%u)\n"
"  --election-timeout MS       ZRAFT_ELECTION_TIMEOUT (default 1000; above the\n"
"        heartbeat, at most %u; randomised up to twice this)\n"
"  --snapshot-entries N        ZRAFT_SNAPSHOT_ENTRIES (default 65536; 0: off)\n"
"        snapshot the map after N entries applied, then trim the log\n"
"  --snapshot-trailing N       ZRAFT_SNAPSHOT_TRAILING (default 32768)\n"
"        entries the log keeps behind a snapshot (0..2^40): followers\n"
"        behind by fewer catch up without the snapshot, and bus\n"
"        subscribers and cursors may be that far behind\n"
"  --config-file FILE          ZRAFT_CONFIG_FILE (default: none)\n"
"        settings in czmq's ZPL format, one 'key = value' a line, e.g.\n"
"            name = n1\n"
"            initial-cluster = \"n1=tcp://10.0.0.1:7001,n2=tcp://10.0.0.2:7001\"\n"
"  --log-level LEVEL           ZRAFT_LOG_LEVEL (default notice)\n"
"        error, warning, notice, info or debug\n"
"  --log-format FORMAT         ZRAFT_LOG_FORMAT (default text)\n"
"        text or json: one line per event on stderr, with node, term, role\n"
"  --sched CLASS               ZRAFT_SCHED (default batch)\n"
"        the CPU scheduling class of the server's threads: batch (Linux's\n"
"        SCHED_BATCH: a thread woken does not preempt the one running, so\n"
"        the threads that hand each request on run their batches out) or\n"
"        normal (the class it was started in; better where other programs\n"
"        keep the CPUs busy, as batch threads do not preempt them either)\n"
"  -h, --help                  print this and exit\n"
"  --version                   print the version and exit\n"
"\n"
"Signals: SIGTERM or SIGINT stops taking requests (UNAVAILABLE), hands\n"
"leadership to an up-to-date follower if it leads, answers what is in\n"
"flight, and exits 0; a second signal exits at once (status 1).\n"
"Exit status: 0 after a clean stop, 1 if it cannot start (data directory\n"
"in use, corrupt or another member's, an endpoint it cannot bind) or its\n"
"node failed, 64 on a usage error (a bad flag, variable or config file).\n"
"See zraft-node(1) and docs/PROTOCOL.md (the client and bus protocols).\n",
             ZR_OPTIONS_BUS_HEARTBEAT_MAX, ZR_OPTIONS_BUS_TIMEOUT_MAX,
             ZR_OPTIONS_HEARTBEAT_MAX, ZR_OPTIONS_ELECTION_MAX);
}
