/*  floor - what a replicated 128 B commit cannot go below on this machine.

    Measures, in one run:
    (a) a 128 B durable append on the disk holding --dir, two ways:
        - in place: a preallocated, zero-filled (and synced) file rewritten
          at successive offsets, pwrite + fdatasync each time;
        - growing: a fresh file appended to, write + fdatasync each time,
          so every sync also commits the file's new size;
        - for reference, O_DIRECT|O_DSYNC: one write of an aligned 4 KiB
          block per append, no fdatasync (canonical/raft's way, where the
          file system allows it; null where it does not);
    (a') the disk's bandwidth floor for a log: 64 KiB appends rewritten in
        place in a preallocated, zero-filled file, pwrite + fdatasync each
        (fdatasync_64k_*: time per write, and mb_per_s = bytes / total
        time of the writes, 1 MB = 10^6 B, as zraft-bench's MB/s);
    (b) a ZeroMQ round trip of a 128 B message between two threads, REQ to
        REP over tcp://127.0.0.1 (and, for reference, over inproc://).

    Prints ONE JSON line on stdout, all times in microseconds:
      {"fdatasync_inplace_p50_us":..,"fdatasync_grow_p50_us":..,
       "fdatasync_64k_p50_us":..,"fdatasync_64k_mb_per_s":..,
       "zmq_rtt_p50_us":..,...}

    Usage: floor [--dir DIR] [--iterations N] [--zmq-iterations N]
                 [--size B]
    Exit: 0 ok, 1 failure, 64 bad flag.
*/

#include <zmq.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define F_WARMUP_SYNCS  20
#define F_WARMUP_RTTS   200
#define F_BULK_SIZE     (64u << 10)     /* the bandwidth floor's append */

typedef struct {
    double p50, p90, p99, min, max, avg;
    double total_us;                    /* sum of the samples */
} stats_t;

static uint64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

static double
s_rank_us (const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t) ceil (p / 100.0 * (double) n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double) sorted [rank - 1] / 1e3;
}

static void
s_stats (uint64_t *ns, size_t n, stats_t *st)
{
    qsort (ns, n, sizeof *ns, s_cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double) ns [i];
    st->p50 = s_rank_us (ns, n, 50);
    st->p90 = s_rank_us (ns, n, 90);
    st->p99 = s_rank_us (ns, n, 99);
    st->min = (double) ns [0] / 1e3;
    st->max = (double) ns [n - 1] / 1e3;
    st->avg = sum / (double) n / 1e3;
    st->total_us = sum / 1e3;
}

/* --- disk -------------------------------------------------------------- */

static int
s_fail (const char *what, const char *path)
{
    fprintf (stderr, "floor: %s %s: %s\n", what, path, strerror (errno));
    return -1;
}

/* Writes zeros over [0, size) and syncs: the file's blocks and size are
   on disk before the measured rewrites start. */
static int
s_prefill (int fd, const char *path, size_t size)
{
    static char zeros [1 << 16];
    (void) posix_fallocate (fd, 0, (off_t) size);   /* zeros do it too */
    for (size_t off = 0; off < size; ) {
        size_t len = size - off < sizeof zeros ? size - off : sizeof zeros;
        ssize_t n = pwrite (fd, zeros, len, (off_t) off);
        if (n <= 0)
            return s_fail ("pwrite", path);
        off += (size_t) n;
    }
    if (fsync (fd))
        return s_fail ("fsync", path);
    return 0;
}

enum { D_INPLACE, D_GROW, D_DIRECT };
static const char *s_mode_name [] = { "inplace", "grow", "direct" };

/* D_INPLACE: pwrite + fdatasync over a preallocated, zero-filled file;
   D_GROW: write + fdatasync appending to a fresh file; D_DIRECT: one
   O_DIRECT|O_DSYNC pwrite of an aligned block at successive offsets of a
   preallocated file (how canonical/raft's libuv backend writes its log).
   Returns 0, -1 on failure, 1 when the file system refuses O_DIRECT. */
static int
s_disk (const char *dir, int mode, size_t size, unsigned iterations,
        stats_t *st)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/floor-%s-%ld.dat", dir,
              s_mode_name [mode], (long) getpid ());
    int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return s_fail ("open", path);
    unsigned total = iterations + F_WARMUP_SYNCS;
    uint64_t *ns = calloc (iterations, sizeof *ns);
    char *buf = NULL;
    int rc = -1;
    if (mode == D_DIRECT)
        size = (size + 4095) / 4096 * 4096;
    if (!ns || posix_memalign ((void **) &buf, 4096, size)) {
        fprintf (stderr, "floor: out of memory\n");
        goto done;
    }
    memset (buf, 'f', size);
    if (mode != D_GROW && s_prefill (fd, path, (size_t) total * size))
        goto done;
    if (mode == D_DIRECT) {
        close (fd);
        fd = open (path, O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
        if (fd < 0) {
            if (errno == EINVAL) {
                rc = 1;
                goto done;
            }
            s_fail ("open O_DIRECT", path);
            goto done;
        }
    }
    for (unsigned i = 0; i < total; i++) {
        off_t off = (off_t) i * (off_t) size;
        uint64_t t0 = s_now_ns ();
        ssize_t n = mode == D_GROW ? write (fd, buf, size)
                                   : pwrite (fd, buf, size, off);
        if (n != (ssize_t) size) {
            s_fail ("write", path);
            goto done;
        }
        if (mode != D_DIRECT && fdatasync (fd)) {
            s_fail ("fdatasync", path);
            goto done;
        }
        uint64_t t1 = s_now_ns ();
        if (i >= F_WARMUP_SYNCS)
            ns [i - F_WARMUP_SYNCS] = t1 - t0;
    }
    s_stats (ns, iterations, st);
    rc = 0;
done:
    if (fd >= 0)
        close (fd);
    unlink (path);
    free (ns);
    free (buf);
    return rc;
}

/* --- ZeroMQ round trip ------------------------------------------------- */

typedef struct {
    void *rep;
    unsigned count;
    size_t size;
    int rc;
} echo_t;

static void *
s_echo (void *arg)
{
    echo_t *e = arg;
    char *buf = malloc (e->size);
    e->rc = buf ? 0 : -1;
    for (unsigned i = 0; buf && i < e->count; i++) {
        int n = zmq_recv (e->rep, buf, e->size, 0);
        if (n < 0 || zmq_send (e->rep, buf, (size_t) n, 0) < 0) {
            e->rc = -1;
            break;
        }
    }
    free (buf);
    return NULL;
}

static int
s_zmq_rtt (const char *endpoint, size_t size, unsigned iterations,
           stats_t *st)
{
    int rc = -1;
    void *ctx = zmq_ctx_new ();
    void *rep = ctx ? zmq_socket (ctx, ZMQ_REP) : NULL;
    void *req = ctx ? zmq_socket (ctx, ZMQ_REQ) : NULL;
    uint64_t *ns = calloc (iterations, sizeof *ns);
    char *buf = malloc (size);
    char bound [256];
    size_t bound_len = sizeof bound;
    pthread_t thread;
    bool started = false;
    echo_t echo = { rep, iterations + F_WARMUP_RTTS, size, 0 };
    int linger = 0;
    if (!rep || !req || !ns || !buf) {
        fprintf (stderr, "floor: zmq setup failed: %s\n", zmq_strerror (errno));
        goto done;
    }
    zmq_setsockopt (rep, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (req, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind (rep, endpoint)
    ||  zmq_getsockopt (rep, ZMQ_LAST_ENDPOINT, bound, &bound_len)
    ||  zmq_connect (req, bound)) {
        fprintf (stderr, "floor: zmq %s: %s\n", endpoint, zmq_strerror (errno));
        goto done;
    }
    if (pthread_create (&thread, NULL, s_echo, &echo)) {
        fprintf (stderr, "floor: pthread_create failed\n");
        goto done;
    }
    started = true;
    memset (buf, 'z', size);
    for (unsigned i = 0; i < iterations + F_WARMUP_RTTS; i++) {
        uint64_t t0 = s_now_ns ();
        if (zmq_send (req, buf, size, 0) < 0
        ||  zmq_recv (req, buf, size, 0) != (int) size) {
            fprintf (stderr, "floor: zmq ping-pong: %s\n",
                     zmq_strerror (errno));
            goto done;
        }
        uint64_t t1 = s_now_ns ();
        if (i >= F_WARMUP_RTTS)
            ns [i - F_WARMUP_RTTS] = t1 - t0;
    }
    s_stats (ns, iterations, st);
    rc = 0;
done:
    if (req)
        zmq_close (req);
    if (started && rc != 0)
        zmq_ctx_shutdown (ctx);         /* unblocks the echo thread */
    if (started) {
        pthread_join (thread, NULL);
        if (echo.rc && rc == 0)
            rc = -1;
    }
    if (rep)
        zmq_close (rep);
    if (ctx)
        zmq_ctx_term (ctx);
    free (ns);
    free (buf);
    return rc;
}

/* --- main -------------------------------------------------------------- */

static int
s_uint (const char *name, const char *text, unsigned lo, unsigned hi,
        unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul (text, &end, 10);
    if (errno || end == text || *end || text [0] == '-' || v < lo || v > hi) {
        fprintf (stderr, "floor: %s wants %u..%u, got '%s'\n", name, lo, hi,
                 text);
        return -1;
    }
    *out = (unsigned) v;
    return 0;
}

static void
s_print (const char *key, const stats_t *st, bool comma)
{
    printf ("\"%s_p50_us\":%.1f,\"%s_p90_us\":%.1f,\"%s_p99_us\":%.1f,"
            "\"%s_min_us\":%.1f,\"%s_max_us\":%.1f,\"%s_avg_us\":%.1f%s",
            key, st->p50, key, st->p90, key, st->p99, key, st->min, key,
            st->max, key, st->avg, comma ? "," : "");
}

int
main (int argc, char *argv [])
{
    const char *dir = "/tmp";
    unsigned iterations = 1000, zmq_iterations = 5000, size = 128;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--help") == 0) {
            printf ("usage: floor [--dir DIR] [--iterations N]"
                    " [--zmq-iterations N] [--size B]\n"
                    "fdatasync of a B-byte append on DIR's disk (in place and"
                    " growing),\nfdatasync of a 64 KiB append in place (MB/s:"
                    " the disk's bandwidth floor),\nZeroMQ tcp and inproc"
                    " round trip of B bytes; one JSON line, microseconds.\n");
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf (stderr, "floor: unknown flag or missing value: %s\n",
                     argv [i]);
            return 64;
        }
        const char *v = argv [++i];
        int rc;
        if (strcmp (argv [i - 1], "--dir") == 0) {
            dir = v;
            rc = 0;
        }
        else if (strcmp (argv [i - 1], "--iterations") == 0)
            rc = s_uint ("--iterations", v, 10, 1000000, &iterations);
        else if (strcmp (argv [i - 1], "--zmq-iterations") == 0)
            rc = s_uint ("--zmq-iterations", v, 10, 10000000, &zmq_iterations);
        else if (strcmp (argv [i - 1], "--size") == 0)
            rc = s_uint ("--size", v, 1, 1 << 20, &size);
        else {
            fprintf (stderr, "floor: unknown flag: %s\n", argv [i - 1]);
            return 64;
        }
        if (rc)
            return 64;
    }
    stats_t inplace, grow, direct, bulk, tcp, inproc;
    int direct_rc = -1;
    if (s_disk (dir, D_INPLACE, size, iterations, &inplace)
    ||  s_disk (dir, D_GROW, size, iterations, &grow)
    ||  (direct_rc = s_disk (dir, D_DIRECT, size, iterations, &direct)) < 0
    ||  s_disk (dir, D_INPLACE, F_BULK_SIZE, iterations, &bulk)
    ||  s_zmq_rtt ("tcp://127.0.0.1:*", size, zmq_iterations, &tcp)
    ||  s_zmq_rtt ("inproc://floor", size, zmq_iterations, &inproc))
        return 1;
    printf ("{\"dir\":\"");
    for (const char *c = dir; *c; c++)
        if (*c == '"' || *c == '\\')
            printf ("\\%c", *c);
        else
        if ((unsigned char) *c >= 0x20)
            putchar (*c);
    printf ("\",\"size\":%u,\"iterations\":%u,\"zmq_iterations\":%u,",
            size, iterations, zmq_iterations);
    s_print ("fdatasync_inplace", &inplace, true);
    s_print ("fdatasync_grow", &grow, true);
    if (direct_rc == 0)
        s_print ("direct_dsync", &direct, true);
    else
        printf ("\"direct_dsync_p50_us\":null,");
    s_print ("fdatasync_64k", &bulk, true);
    printf ("\"fdatasync_64k_mb_per_s\":%.2f,",
            (double) F_BULK_SIZE * iterations / bulk.total_us);
    s_print ("zmq_rtt", &tcp, true);
    s_print ("zmq_inproc_rtt", &inproc, false);
    printf ("}\n");
    return 0;
}
