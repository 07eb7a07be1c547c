/*  =========================================================================
    bench - umbrella header of zraft-bench's modules

    bin/zraft-bench.c and every .c in bin/zraft-bench/ include this
    header (plus their own): the public API, the bench's histogram, the
    system headers, the limits more than one module uses, then every
    module's header in the order they build on each other. Names a
    module exports are zb_<module>_*; what stays in one file is static
    and s_*. No module keeps mutable state but sys (the interrupt flag)
    and server (the state machines, by server id).
    =========================================================================
*/
#ifndef ZB_BENCH_H_INCLUDED
#define ZB_BENCH_H_INCLUDED

#include "../../include/zraft.h"
#include "../../bench/histogram.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ZB_EX_INTERRUPTED 130           /* 128 + SIGINT, as shells report */
#define ZB_OUTSTANDING_MAX ZRAFT_SUBMIT_MAX_MAX   /* open loop: outstanding at
                                           most (a handle's submit_max) */
#define ZB_DIR_MAX 900                  /* --dir length bound */
#define ZB_POLL_MS 5                    /* leader and verify poll period */
#define ZB_LOOP_MS 10                   /* longest wait of a load loop */
#define ZB_VERIFY_MS 5000               /* verify waits this long at most */
#define ZB_PPM 1000000u                 /* --drop 100% in parts per million */
#define ZB_FIRST_MINUTE_S 60            /* RSS growth is counted from here */

#include "sys.h"
#include "opts.h"
#include "samples.h"
#include "report.h"
#include "load.h"
#include "dirs.h"
#include "server.h"
#include "harness.h"
#include "drill.h"
#include "procs.h"

#endif
