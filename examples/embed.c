/*  =========================================================================
    embed - libzraft embedded in a program: three servers, one process

    The README's "Using the library", as a program that runs. It starts
    three zraft servers as threads of this process on 127.0.0.1 (the
    ports given on the command line, or free ones), each with a small
    state machine of named counters:

        command  "add NAME N"  adds N to counter NAME; apply's result is
                               the new value, as text
        query    "NAME"        the counter's value, as text

    It waits for a leader, submits a batch of commands on it, each under
    a token of its own, and receives one RESULT per token through the
    pollable events socket (following the leader if it changes). Then a
    linearizable query on the leader must see every write acknowledged
    before it, and a stale query runs on a follower as it stands. It
    prints what it did and exits 0 if everything held, 1 otherwise (64 on
    bad arguments).

        embed [--dir DIR] [PORT1 PORT2 PORT3]

    Build: make (build/examples/embed), or against an installed library:
        cc -std=c11 embed.c $(pkg-config --cflags --libs libzraft)
    =========================================================================
*/
#ifndef _GNU_SOURCE
#   define _GNU_SOURCE                  /* mkdtemp, with -std=c11 */
#endif
#include <zraft.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 3                         /* servers in the cluster */
#define COUNTERS_MAX 16                 /* names one state machine holds */
#define NAME_MAX_LEN 31                 /* bytes of a name */
#define COMMANDS 12                     /* commands the program submits */
#define WAIT_MS 10000                   /* for a leader, for results */

/* ------------------------------------------------------- state machine */

typedef struct {
    char names [COUNTERS_MAX][NAME_MAX_LEN + 1];   /* counter names */
    int64_t values [COUNTERS_MAX];      /* their values */
    int count;                          /* counters in use */
    uint64_t applied;                   /* last index applied */
} counters_t;

/* Returns the slot of name (created if create), or -1. */
static int
counters_find (counters_t *self, const char *name, bool create)
{
    for (int i = 0; i < self->count; i++)
        if (strcmp (self->names [i], name) == 0)
            return i;
    if (!create || self->count == COUNTERS_MAX)
        return -1;
    snprintf (self->names [self->count], sizeof self->names [0], "%s", name);
    self->values [self->count] = 0;
    return self->count++;
}

/* Copies size bytes of data into a NUL-terminated string (false if too
   long: commands come from the log, and a state machine checks them). */
static bool
text_copy (char *out, size_t out_size, const void *data, size_t size)
{
    if (size >= out_size)
        return false;
    memcpy (out, data, size);
    out [size] = '\0';
    return true;
}

/* Returns a malloc'd copy of text as a result buffer. */
static void *
result_text (const char *text, size_t *size)
{
    *size = strlen (text);
    void *copy = malloc (*size ? *size : 1);
    if (copy)
        memcpy (copy, text, *size);
    else
        *size = 0;
    return copy;
}

/* fsm.apply: "add NAME N"; the result is the counter's new value. */
static void
counters_apply (void *arg, uint64_t index, uint64_t term, const void *data,
                size_t size, void **result, size_t *result_size)
{
    counters_t *self = (counters_t *) arg;
    (void) term;
    self->applied = index;
    char command [64], name [NAME_MAX_LEN + 1];
    long long n = 0;
    if (!text_copy (command, sizeof command, data, size)
        || sscanf (command, "add %31s %lld", name, &n) != 2)
        return;                         /* not ours: no result */
    int slot = counters_find (self, name, true);
    if (slot < 0)
        return;
    self->values [slot] += n;
    char text [32];
    snprintf (text, sizeof text, "%" PRId64, self->values [slot]);
    *result = result_text (text, result_size);
}

/* fsm.query: "NAME"; the result is its value (0 if never added to). */
static int
counters_query (void *arg, const void *data, size_t size, void **result,
                size_t *result_size)
{
    counters_t *self = (counters_t *) arg;
    char name [NAME_MAX_LEN + 1];
    if (!text_copy (name, sizeof name, data, size))
        return -1;
    int slot = counters_find (self, name, false);
    char text [32];
    snprintf (text, sizeof text, "%" PRId64, slot < 0 ? 0 : self->values [slot]);
    *result = result_text (text, result_size);
    return 0;
}

/* --------------------------------------------------------------- cluster */

typedef struct {
    zraft_t *nodes [NODES];             /* server i + 1, or NULL */
    counters_t fsms [NODES];            /* their state machines */
    char endpoints [NODES][64];         /* tcp://127.0.0.1:port */
    char root [256];                    /* the data directories' parent */
    bool own_root;                      /* made here: removed at the end */
} cluster_t;

/* Picks NODES free ports on 127.0.0.1 (czmq's "!": random in its
   dynamic range, so two runs started together rarely pick the same; each
   held until all are picked, so they differ). Returns 0, or -1. */
static int
free_ports (int *ports)
{
    zsock_t *probes [NODES] = {NULL};
    int rc = 0;
    for (int i = 0; i < NODES; i++) {
        probes [i] = zsock_new (ZMQ_ROUTER);
        ports [i] = probes [i] ? zsock_bind (probes [i], "tcp://127.0.0.1:!") : -1;
        if (ports [i] <= 0)
            rc = -1;
    }
    for (int i = 0; i < NODES; i++)
        zsock_destroy (&probes [i]);
    return rc;
}

/* Starts the three servers. Returns 0, or -1 after a message. */
static int
cluster_start (cluster_t *self)
{
    for (uint32_t id = 1; id <= NODES; id++) {
        zraft_config_t config;
        zraft_config_defaults (&config);
        config.id = id;
        config.n_servers = NODES;
        for (uint32_t i = 0; i < NODES; i++)
            config.servers [i] = (zraft_server_t) {i + 1, self->endpoints [i]};
        char dir [300];
        snprintf (dir, sizeof dir, "%s/n%u", self->root, id);
        config.data_dir = dir;
        config.heartbeat_ms = 50;
        config.election_timeout_ms = 300;
        zraft_fsm_t fsm = {.apply = counters_apply, .query = counters_query,
                           .arg = &self->fsms [id - 1]};
        self->nodes [id - 1] = zraft_new (&config, &fsm);
        if (!self->nodes [id - 1]) {
            fprintf (stderr, "embed: server %u did not start (%s)\n", id,
                     self->endpoints [id - 1]);
            return -1;
        }
    }
    printf ("started %d servers: %s %s %s\n", NODES, self->endpoints [0],
            self->endpoints [1], self->endpoints [2]);
    return 0;
}

/* Stops the servers and removes the data it made. */
static void
cluster_stop (cluster_t *self)
{
    for (int i = 0; i < NODES; i++)
        zraft_destroy (&self->nodes [i]);
    if (self->own_root) {
        zdir_t *dir = zdir_new (self->root, NULL);
        if (dir)
            zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
}

/* Waits for a leader known to server 1; returns its id, or 0. */
static uint32_t
cluster_leader (cluster_t *self)
{
    uint32_t leader = 0;
    int rc = zraft_wait_leader (self->nodes [0], WAIT_MS, &leader);
    if (rc != 0)
        fprintf (stderr, "embed: no leader: %s\n", zraft_strerror (rc));
    return rc == 0 ? leader : 0;
}

/* ------------------------------------------------------------- the work */

typedef enum {
    TO_SEND,                            /* not submitted, or refused */
    SENT,                               /* submitted, its RESULT to come */
    DONE                                /* its RESULT said applied */
} state_t;

typedef struct {
    char text [64];                     /* the command */
    state_t state;                      /* where it stands */
} command_t;

/* Submits every command to send on leader, in one message (its token:
   its number). A command is sent again only after its RESULT said it
   was not appended, so it is never applied twice. Returns
   zraft_submit_many's code. */
static int
submit_pending (cluster_t *c, uint32_t leader, command_t *commands)
{
    uint64_t tokens [COMMANDS];
    const void *datas [COMMANDS];
    size_t sizes [COMMANDS];
    size_t n = 0;
    for (int i = 0; i < COMMANDS; i++)
        if (commands [i].state == TO_SEND) {
            tokens [n] = (uint64_t) i + 1;
            datas [n] = commands [i].text;
            sizes [n] = strlen (commands [i].text);
            n++;
        }
    int rc = n ? zraft_submit_many (c->nodes [leader - 1], tokens, datas, sizes, n)
               : 0;
    for (size_t k = 0; rc == 0 && k < n; k++)
        commands [tokens [k] - 1].state = SENT;
    return rc;
}

/* Handles one event of server id. A RESULT: applied marks its command
   done; a refusal sends it again (*resubmit, *leader from its hint).
   Returns -1 on an outcome that leaves it unknown. */
static int
on_event (zraft_event_t *event, uint32_t id, command_t *commands,
          uint32_t *leader, bool *resubmit)
{
    if (event->type == ZRAFT_EVENT_ROLE) {
        char leader_name [16] = "unknown";
        if (event->leader)
            snprintf (leader_name, sizeof leader_name, "n%u", event->leader);
        printf ("n%u: role %s, term %" PRIu64 ", leader %s\n", id,
                event->role == ZRAFT_LEADER ? "leader"
                : event->role == ZRAFT_CANDIDATE ? "candidate" : "follower",
                event->term, leader_name);
        return 0;
    }
    if (event->token < 1 || event->token > COMMANDS)
        return 0;                       /* not a command's */
    command_t *command = &commands [event->token - 1];
    if (event->status == 0) {
        printf ("token %2" PRIu64 ": \"%s\" applied at index %" PRIu64
                " term %" PRIu64 " -> %.*s\n", event->token, command->text,
                event->index, event->term, (int) event->size,
                (const char *) event->data);
        command->state = DONE;
        return 0;
    }
    if (event->status == ZRAFT_ENOTLEADER || event->status == ZRAFT_EBUSY) {
        command->state = TO_SEND;       /* nothing was appended: again */
        *resubmit = true;
        if (event->leader)
            *leader = event->leader;
        return 0;
    }
    /* ELOST: certainly not applied, so resubmitting is safe; an unknown
       outcome (EUNKNOWN, ESHUTDOWN) is not, for a non-idempotent "add". */
    fprintf (stderr, "embed: token %" PRIu64 ": %s\n", event->token,
             zraft_strerror (event->status));
    if (event->status == ZRAFT_ELOST) {
        command->state = TO_SEND;
        *resubmit = true;
        return 0;
    }
    return -1;
}

/* Takes every event waiting on every server. Returns -1 on failure. */
static int
drain_events (cluster_t *c, command_t *commands, uint32_t *leader, bool *resubmit)
{
    for (uint32_t id = 1; id <= NODES; id++) {
        zraft_event_t event;
        while (zraft_recv (c->nodes [id - 1], &event, 0) == 0) {
            int rc = on_event (&event, id, commands, leader, resubmit);
            zraft_event_release (&event);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

/* Returns how many commands are done. */
static int
commands_done (const command_t *commands)
{
    int done = 0;
    for (int i = 0; i < COMMANDS; i++)
        done += commands [i].state == DONE;
    return done;
}

/* Submits every command and waits for all of their RESULTs, following
   the leader. Returns 0 or -1 after a message. */
static int
run_commands (cluster_t *c, uint32_t leader, command_t *commands)
{
    zpoller_t *poller = zpoller_new (zraft_events (c->nodes [0]),
                                     zraft_events (c->nodes [1]),
                                     zraft_events (c->nodes [2]), NULL);
    int64_t deadline = zclock_mono () + WAIT_MS;
    bool resubmit = true;
    int rc = 0;
    while (rc == 0 && commands_done (commands) < COMMANDS) {
        if (zclock_mono () >= deadline) {
            fprintf (stderr, "embed: %d of %d results in %d ms\n",
                     commands_done (commands), COMMANDS, WAIT_MS);
            rc = -1;
            break;
        }
        if (resubmit) {
            int sent = submit_pending (c, leader, commands);
            if (sent != 0 && sent != ZRAFT_EAGAIN) {
                fprintf (stderr, "embed: submit: %s\n", zraft_strerror (sent));
                rc = -1;
                break;
            }
            resubmit = false;
        }
        zpoller_wait (poller, 100);
        rc = drain_events (c, commands, &leader, &resubmit);
    }
    zpoller_destroy (&poller);
    return rc;
}

/* Runs a query on server id and waits for its RESULT (draining that
   server's other events). Returns its status; *value gets the result. */
static int
query (cluster_t *c, uint32_t id, const char *name, int flags, int64_t *value,
       uint64_t *index)
{
    uint64_t token = 1000 + (uint64_t) flags;
    int rc = zraft_query (c->nodes [id - 1], token, name, strlen (name), flags);
    if (rc != 0)
        return rc;
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        zraft_event_t event;
        if (zraft_recv (c->nodes [id - 1], &event, 100) != 0)
            continue;
        bool mine = event.type == ZRAFT_EVENT_RESULT && event.token == token;
        if (mine) {
            rc = event.status;
            char text [32] = "";
            if (rc == 0)
                text_copy (text, sizeof text, event.data, event.size);
            *value = strtoll (text, NULL, 10);
            *index = event.index;
        }
        zraft_event_release (&event);
        if (mine)
            return rc;
    }
    return ZRAFT_ETIMEDOUT;
}

/* The program's checks: the writes, then a linearizable read on the
   leader that must see them all, then a stale read on a follower.
   Returns 0 or 1. */
static int
run (cluster_t *c)
{
    uint32_t leader = cluster_leader (c);
    if (!leader)
        return 1;
    printf ("leader: n%u\n", leader);
    command_t commands [COMMANDS];
    int64_t apples = 0;
    for (int i = 0; i < COMMANDS; i++) {
        int n = i + 1;
        snprintf (commands [i].text, sizeof commands [i].text, "add %s %d",
                  i % 3 ? "apples" : "pears", n);
        apples += i % 3 ? n : 0;
        commands [i].state = TO_SEND;
    }
    if (run_commands (c, leader, commands) != 0)
        return 1;
    printf ("all %d results received\n", COMMANDS);
    leader = cluster_leader (c);
    int64_t value = 0;
    uint64_t index = 0;
    int rc = leader ? query (c, leader, "apples", 0, &value, &index) : ZRAFT_ENOTLEADER;
    if (rc != 0 || value != apples) {
        fprintf (stderr, "embed: linearizable read of apples: %s, %" PRId64
                 " (expected %" PRId64 ")\n", zraft_strerror (rc), value, apples);
        return 1;
    }
    printf ("linearizable read on n%u: apples = %" PRId64 " (read index %"
            PRIu64 ")\n", leader, value, index);
    uint32_t follower = leader % NODES + 1;
    rc = query (c, follower, "apples", ZRAFT_QUERY_STALE, &value, &index);
    if (rc != 0 || value > apples) {
        fprintf (stderr, "embed: stale read on n%u: %s\n", follower,
                 zraft_strerror (rc));
        return 1;
    }
    printf ("stale read on n%u: apples = %" PRId64 " (applied through %" PRIu64
            ")\n", follower, value, index);
    return 0;
}

/* Parses [--dir DIR] [PORT1 PORT2 PORT3]. Returns 0 or 64 (usage). */
static int
parse (cluster_t *c, int argc, char *argv [])
{
    int ports [NODES] = {0};
    int n_ports = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        long port = strtol (argv [i], &end, 10);
        if (strcmp (argv [i], "--dir") == 0 && i + 1 < argc
            && strlen (argv [i + 1]) < 200)
            snprintf (c->root, sizeof c->root, "%s", argv [++i]);
        else
        if (n_ports < NODES && end && *end == '\0' && port >= 1 && port <= 65535)
            ports [n_ports++] = (int) port;
        else
            return 64;
    }
    if (n_ports != 0 && n_ports != NODES)
        return 64;
    if (n_ports == 0 && free_ports (ports) != 0) {
        fprintf (stderr, "embed: no free port on 127.0.0.1\n");
        return 1;
    }
    for (int i = 0; i < NODES; i++)
        snprintf (c->endpoints [i], sizeof c->endpoints [i], "tcp://127.0.0.1:%d",
                  ports [i]);
    return 0;
}

int
main (int argc, char *argv [])
{
    cluster_t c;
    memset (&c, 0, sizeof c);
    int rc = parse (&c, argc, argv);
    if (rc == 64)
        fprintf (stderr, "usage: embed [--dir DIR] [PORT1 PORT2 PORT3]\n");
    if (rc != 0)
        return rc;
    if (!c.root [0]) {
        snprintf (c.root, sizeof c.root, "/tmp/zraft-embed-XXXXXX");
        if (!mkdtemp (c.root)) {
            fprintf (stderr, "embed: mkdtemp: %s\n", strerror (errno));
            return 1;
        }
        c.own_root = true;
    }
    zraft_log_set (ZRAFT_LOG_WARNING, NULL, NULL);  /* quiet: stderr, warnings up */
    rc = cluster_start (&c) == 0 ? run (&c) : 1;
    cluster_stop (&c);
    printf ("%s\n", rc == 0 ? "ok" : "FAILED");
    return rc;
}
