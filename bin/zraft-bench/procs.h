/*  =========================================================================
    procs - the --procs parent: one process per server, supervised

    Picks the data dir and free ports without ZeroMQ, then re-executes
    itself once per server (see child.h), so no ZeroMQ state ever
    crosses a fork. It elects the loader (the process whose server
    leads; the load moves with the leader), forwards the measured
    window, gathers every child's figures and histogram, samples their
    RSS and data dirs, and on any error, timeout or interrupt kills and
    reaps every child.
    =========================================================================
*/
#ifndef ZB_PROCS_H_INCLUDED
#define ZB_PROCS_H_INCLUDED

typedef struct _zb_procs_t zb_procs_t;

/* Returns a supervisor for opts (copied); argv0 is borrowed and must
   outlive it. NULL if out of memory. */
zb_procs_t *zb_procs_new (const zb_opts_t *opts, const char *argv0);

/* Frees the supervisor and removes the run's data unless --keep; its
   children must be reaped (zb_procs_main does). NULLs *self_p. */
void zb_procs_destroy (zb_procs_t **self_p);

/* Runs the cluster as one process per server. Returns the exit code. */
int zb_procs_main (zb_procs_t *self);

#endif
