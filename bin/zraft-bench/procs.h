/*  =========================================================================
    procs - --procs: real zraft-node processes, loaded as a client would

    Starts one zraft-node process per server (the server program every
    process-level run uses; --node-bin, or zraft-node next to this
    program) on 127.0.0.1 with free peer and client ports, each with its
    data dir DIR/n<id> and its stderr in DIR/n<id>.log. It forks them
    before this process has any ZeroMQ state. It then asks every node
    for its STATUS over the client protocol (transport/client.h), sends
    the FAULT requests of --drop and --delay, waits for a leader all
    agree on, and runs the --kv load (kv.h) on the cluster: --inflight
    PUTs of --entry-size B values in flight over --clients connections
    to the leader. While it runs, each node is watched (an exit fails
    the run), asked its STATUS every S_STATUS_MS (leader changes, commit
    index), and sampled: VmRSS of its process and its data dir's disk use.
    The CPU of each node's process over the measured window comes from
    /proc/<pid>/stat, its peak RSS from VmHWM. Verify: every node must
    apply through the highest index a write's reply named. Every node
    gets SIGTERM at the end (zraft-node's clean stop) and SIGKILL if it
    is still there after S_EXIT_MS, on any error or interrupt as well;
    the nodes also get SIGKILL if this process dies (PR_SET_PDEATHSIG).
    =========================================================================
*/
#ifndef ZB_PROCS_H_INCLUDED
#define ZB_PROCS_H_INCLUDED

typedef struct _zb_procs_t zb_procs_t;

/* Returns a supervisor for opts (copied), or NULL if out of memory. */
zb_procs_t *zb_procs_new (const zb_opts_t *opts);

/* Frees the supervisor and removes the run's data unless --keep; its
   nodes must be reaped (zb_procs_main does). NULLs *self_p. */
void zb_procs_destroy (zb_procs_t **self_p);

/* Runs the cluster as zraft-node processes. Returns the exit code. */
int zb_procs_main (zb_procs_t *self);

#endif
