/*  =========================================================================
    drill - timed snapshot drills (--drill restart|install)

    Replaces the load with a timed snapshot drill, in-process so that
    the bench can stop, restart and cut one server: a follower's restart
    from its snapshot and log (restart), or the installation of the
    leader's snapshot on a follower that was cut off while the leader
    compacted past it (install).
    =========================================================================
*/
#ifndef ZB_DRILL_H_INCLUDED
#define ZB_DRILL_H_INCLUDED

/* Runs a drill in one process. Returns the exit code. */
int zb_drill_main (zb_harness_t *self);

#endif
