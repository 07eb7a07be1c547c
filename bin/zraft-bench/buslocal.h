/*  =========================================================================
    buslocal - zraft-bench --bus --inproc: the bus of a cluster started in
    this process, through the library's API

    Starts --nodes servers as threads of this process (the harness's
    servers: server.h, fsync on), waits for a leader, subscribes consumer
    c on server c mod N (from what comes next; followers serve too) and
    runs bus.h's load with zraft_publish on the leader's handle: a
    RESULT ENOTLEADER moves the publishes to the leader it names (or the
    next that says it leads), and every event of every server is taken
    in the load's waits. Then stops the servers and removes their data.
    =========================================================================
*/
#ifndef ZB_BUSLOCAL_H_INCLUDED
#define ZB_BUSLOCAL_H_INCLUDED

/* Runs the load of params (inproc) on a fresh in-process cluster.
   Returns zb_bus_run's exit code, or 1 if the cluster did not start or
   elect a leader. */
int zb_buslocal_main (const zb_bus_params_t *params);

#endif
