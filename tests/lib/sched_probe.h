/*  =========================================================================
    sched_probe - may this process's threads switch to SCHED_BATCH?

    zraft-node (--sched batch) and the library's feed put their threads
    in SCHED_BATCH and log a refusal (a runner in SCHED_IDLE without
    CAP_SYS_NICE, a seccomp filter, gVisor). A test that checks their
    class first asks, on a scratch thread, whether the switch is allowed
    here, and otherwise expects the class they started in.
    =========================================================================
*/
#ifndef ZR_TEST_SCHED_PROBE_H_INCLUDED
#define ZR_TEST_SCHED_PROBE_H_INCLUDED

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

static inline void *
sched_probe_try (void *arg)
{
    struct sched_param param = {.sched_priority = 0};
    *(int *) arg = pthread_setschedparam (pthread_self (), SCHED_BATCH, &param);
    return NULL;
}

/* True if a thread of this process may put itself in SCHED_BATCH. */
static inline bool
sched_probe_batch_allowed (void)
{
    int rc = -1;
    pthread_t thread;
    if (pthread_create (&thread, NULL, sched_probe_try, &rc))
        return false;
    pthread_join (thread, NULL);
    return rc == 0;
}

#endif
