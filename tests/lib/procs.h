/*  =========================================================================
    procs - clusters of real zraft-node processes for tests

    Starts N zraft-node processes on 127.0.0.1 (free ports picked by the
    kernel, a peer and a client port each), each with its own data
    directory under one temporary directory, and talks to them only as a
    user would: over the client protocol (transport/client.h), through
    one DEALER per node. It can kill -9, SIGSTOP, SIGCONT and SIGTERM a
    node, wait for it to exit, and start it again on the same data
    directory and ports.

    Waits are bounded by deadlines derived from the configured timing
    below (PROCS_*_MS) and wake on what they wait for: a reply (zpoller),
    a process exit (a pidfd); a leader is known when STATUS replies from
    a majority agree, asked again every heartbeat until the deadline.

    Processes are never orphaned: each gets SIGKILL when the test process
    dies (PR_SET_PDEATHSIG), stays in the test's process group (which
    Check kills on a timeout), and procs_destroy kills and reaps every
    one. Each node's stderr goes to <dir>/n<id>.log (every incarnation
    appended), which procs_dump prints and tests can search. The
    zraft-node binary is build/bin/zraft-node next to the test binary's
    build directory, or $ZRAFT_NODE_BIN. ZRAFT_* variables of the test's
    environment are not passed on (the command line says everything).

    Not thread-safe: one test thread uses a procs_t.
    =========================================================================
*/
#ifndef ZR_TEST_PROCS_H_INCLUDED
#define ZR_TEST_PROCS_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../transport/client.h"

/* Timing of every process cluster; every bound below derives from it. */
#define PROCS_HEARTBEAT_MS 50
#define PROCS_ELECTION_MS 500
/* The longest randomised election timeout is twice the configured one. */
#define PROCS_ELECTION_MAX_MS (2 * PROCS_ELECTION_MS)
/* A leader is elected within a few election timeouts; allow for a loaded
   machine (2 cores shared by many test processes, fsync on). */
#define PROCS_LEADER_WAIT_MS (20 * PROCS_ELECTION_MS)
/* A request on a healthy cluster is answered within this. */
#define PROCS_REPLY_MS (10 * 1000)
/* A process starts (binds, recovers) or exits within this. */
#define PROCS_EXIT_MS (10 * 1000)
/* A Check timeout for a process test, over the waits a test chains. */
#define PROCS_TEST_TIMEOUT_S 120
#define PROCS_NODES_MAX 9
#define PROCS_ARGS_MAX 16               /* extra flags for every node */
/* In procs_new's extra: "--listen-bus <a free port of its own>". */
#define PROCS_BUS "(listen-bus)"

typedef struct _procs_t procs_t;

/* Creates a cluster of n nodes (names n1..n<n>, ids 1..n), each started
   with the fixture's flags plus extra (NULL-terminated, may be NULL;
   copied), and starts them all. Fails the test if a process cannot be
   started. Caller owns the result and must destroy it. */
procs_t *procs_new (uint32_t n, const char *const *extra);

/* Kills (SIGKILL) and reaps every node, closes every socket, removes the
   temporary directory (kept if PROCS_KEEP is set in the environment, and
   its path printed); NULLs *self_p; idempotent. */
void procs_destroy (procs_t **self_p);

/* Starts node id (not running) on its data directory and ports. Returns
   its pid. Fails the test if fork fails. */
pid_t procs_start (procs_t *self, uint32_t id);

/* Sends signal to node id (running). SIGSTOP and SIGCONT are tracked, so
   that procs_leader does not ask a stopped node. SIGSTOP returns once
   every thread of the process stopped (not merely once it is sent). */
void procs_signal (procs_t *self, uint32_t id, int signal);

/* Waits up to timeout_ms for node id to exit and reaps it. Returns its
   wait status (WIFEXITED...), or -1 if it is still running. */
int procs_wait_exit (procs_t *self, uint32_t id, int timeout_ms);

/* SIGKILL and reap: a crash. */
void procs_kill (procs_t *self, uint32_t id);

/* True if node id runs (started and not reaped). */
bool procs_running (procs_t *self, uint32_t id);

/* Node id's process id, 0 when it does not run (for a test that waits
   on the process itself, e.g. waitpid WUNTRACED after SIGSTOP). */
pid_t procs_pid (procs_t *self, uint32_t id);

/* Waits until a leader is known: a node says it leads in term T and a
   majority of the cluster's nodes say the same leader in T. Returns its
   id, or 0 after timeout_ms. */
uint32_t procs_leader (procs_t *self, int timeout_ms);

/* Sends request to node id (setting its request_id) and waits up to
   timeout_ms for the reply with that id. Returns 0 with *reply decoded
   (its pointers valid until the next call on self), or -1 on timeout or
   a reply that does not decode (the socket is then replaced, so a late
   reply or a queued request cannot surface later). */
int procs_request (procs_t *self, uint32_t id, zr_client_request_t *request,
                   zr_client_reply_t *reply, int timeout_ms);

/* Sends the raw frames (n of them, sizes[i] bytes each) to node id and
   waits for one reply frame as procs_request does (any request id). */
int procs_request_raw (procs_t *self, uint32_t id, const void *const *frames,
                       const size_t *sizes, size_t n,
                       zr_client_reply_t *reply, int timeout_ms);

/* Encodes request and sends it on dealer (a DEALER of the test's own,
   connected to a client endpoint) without waiting: for requests in
   flight together, whose replies the test reads itself. */
void procs_send (zsock_t *dealer, const zr_client_request_t *request);

/* A PUT, GET, ... for tests: fills a request of type with key/value. */
zr_client_request_t procs_req (zr_client_type_t type, const char *key,
                               const char *value);

/* Endpoints, paths and the node's stderr (read whole; caller frees). */
const char *procs_client_endpoint (procs_t *self, uint32_t id);
const char *procs_bus_endpoint (procs_t *self, uint32_t id);  /* PROCS_BUS */
const char *procs_peer_endpoint (procs_t *self, uint32_t id);
const char *procs_data_dir (procs_t *self, uint32_t id);
char *procs_log (procs_t *self, uint32_t id);

/* The command line of node id (NULL-terminated, valid while self is), for
   tests that start a variant of it themselves. */
const char *const *procs_argv (procs_t *self, uint32_t id);

/* Prints the last lines of every node's log on stderr (on a failure). */
void procs_dump (procs_t *self);

/* A free tcp port on 127.0.0.1 (free when it returns). */
uint16_t procs_port (void);

/* The zraft-node binary's path. */
const char *procs_binary (void);

/* Runs argv (argv[0] the program), stdout and stderr captured together
   into *output (malloc'd, caller frees; may be NULL), environment env
   (NULL-terminated "K=V"; NULL: the test's minus ZRAFT_*), and waits up
   to timeout_ms. Returns the wait status, or -1 on timeout (the process
   is then killed). */
int procs_run (const char *const *argv, char *const *env, int timeout_ms,
               char **output);

#endif
