/*  =========================================================================
    test_snapshot - unit tests of actors/snapshot: write, find, read, prune

    Each test works in a fresh directory under /tmp. Files are damaged by
    hand (every header byte flipped, truncated at every header offset) to
    check that a bad snapshot is refused with a message naming the file
    and the offset, never trusted (snapshot.h, invariants 2 and 3).
    =========================================================================
*/
#include "../../raft/raft.h"
#include "../../actors/snapshot.h"
#include "../../actors/wal.h"

#include <check.h>
#include "../lib/check_run.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

static void
s_dir_new (char *dir)
{
    strcpy (dir, "/tmp/zrsnap-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (dir));
}

static void
s_dir_remove (const char *dir)
{
    DIR *d = opendir (dir);
    ck_assert_ptr_nonnull (d);
    struct dirent *de;
    char path [512];
    while ((de = readdir (d)))
        if (de->d_name [0] != '.') {
            snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
            ck_assert_int_eq (unlink (path), 0);
        }
    closedir (d);
    ck_assert_int_eq (rmdir (dir), 0);
}

/* Returns the number of files in dir whose name contains part. */
static int
s_files_count (const char *dir, const char *part)
{
    DIR *d = opendir (dir);
    ck_assert_ptr_nonnull (d);
    struct dirent *de;
    int count = 0;
    while ((de = readdir (d)))
        if (strstr (de->d_name, part))
            count++;
    closedir (d);
    return count;
}

static void
s_snap_path (char *path, const char *dir, zr_index_t index, zr_term_t term)
{
    snprintf (path, 512, "%s/snap-%016llx-%016llx.zsnap", dir,
              (unsigned long long) index, (unsigned long long) term);
}

/* The byte at data offset off of every test snapshot. */
static uint8_t
s_byte (uint64_t off)
{
    return (uint8_t) ((off * 2654435761u) >> 11);
}

static void
s_fill (uint8_t *buf, uint64_t off, size_t size)
{
    for (size_t i = 0; i < size; i++)
        buf [i] = s_byte (off + i);
}

/* A configuration of n servers, ids 1..n. */
static zr_snapshot_meta_t
s_meta (zr_index_t index, zr_term_t term, uint32_t n)
{
    zr_snapshot_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.index = index;
    meta.term = term;
    meta.n_servers = n;
    for (uint32_t i = 0; i < n; i++) {
        meta.ids [i] = i + 1;
        snprintf (meta.endpoints [i], sizeof meta.endpoints [i],
                  "tcp://127.0.0.1:%u", 7100 + i);
    }
    return meta;
}

/* Writes and commits snapshot (index, term) of size bytes of s_byte data
   in chunks of chunk bytes; returns the committed meta. */
static zr_snapshot_meta_t
s_write (const char *dir, zr_index_t index, zr_term_t term, uint64_t size,
         size_t chunk)
{
    zr_snapshot_meta_t meta = s_meta (index, term, 3);
    char errmsg [256];
    zr_snapshot_writer_t *w =
        zr_snapshot_writer_new (dir, &meta, errmsg, sizeof errmsg);
    ck_assert_msg (w != NULL, "%s", errmsg);
    uint8_t *buf = (uint8_t *) malloc (chunk);
    ck_assert_ptr_nonnull (buf);
    for (uint64_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? (size_t) (size - off) : chunk;
        s_fill (buf, off, n);
        ck_assert_int_eq (zr_snapshot_writer_append (w, buf, n), 0);
    }
    free (buf);
    ck_assert_uint_eq (zr_snapshot_writer_size (w), size);
    zr_snapshot_meta_t out;
    int rc = zr_snapshot_writer_commit (&w, &out, errmsg, sizeof errmsg);
    ck_assert_msg (rc == 0, "%s", errmsg);
    ck_assert_ptr_null (w);
    ck_assert_uint_eq (out.size, size);
    return out;
}

/* Reads the whole data of path in chunks of chunk bytes, checking every
   byte against s_byte and returning its crc32c. */
static uint32_t
s_read_check (const char *path, size_t chunk)
{
    char errmsg [256];
    zr_snapshot_reader_t *r =
        zr_snapshot_reader_new (path, NULL, errmsg, sizeof errmsg);
    ck_assert_msg (r != NULL, "%s", errmsg);
    uint64_t size = zr_snapshot_reader_meta (r)->size;
    uint8_t *buf = (uint8_t *) malloc (chunk);
    uint8_t *want = (uint8_t *) malloc (chunk);
    ck_assert (buf && want);
    uint32_t crc = 0;
    uint64_t off = 0;
    size_t got = 0;
    do {
        ck_assert_int_eq (zr_snapshot_reader_read (r, off, buf, chunk, &got),
                          0);
        s_fill (want, off, got);
        ck_assert (memcmp (buf, want, got) == 0);
        crc = zr_wal_crc32c (crc, buf, got);
        off += got;
    } while (got > 0);
    ck_assert_uint_eq (off, size);
    free (buf);
    free (want);
    zr_snapshot_reader_destroy (&r);
    ck_assert_ptr_null (r);
    return crc;
}

static void
s_meta_eq (const zr_snapshot_meta_t *a, const zr_snapshot_meta_t *b)
{
    ck_assert_uint_eq (a->index, b->index);
    ck_assert_uint_eq (a->term, b->term);
    ck_assert_uint_eq (a->size, b->size);
    ck_assert_uint_eq (a->crc, b->crc);
    ck_assert_uint_eq (a->n_servers, b->n_servers);
    for (uint32_t i = 0; i < a->n_servers; i++) {
        ck_assert_uint_eq (a->ids [i], b->ids [i]);
        ck_assert_str_eq (a->endpoints [i], b->endpoints [i]);
    }
}

/* Finds the newest snapshot in dir, asserting success; path has 512
   bytes. */
static zr_snapshot_meta_t
s_find (const char *dir, char *path)
{
    zr_snapshot_meta_t meta;
    char errmsg [512];
    int rc = zr_snapshot_find (dir, &meta, path, 512, errmsg, sizeof errmsg);
    ck_assert_msg (rc == 0, "find: %d %s", rc, errmsg);
    return meta;
}

/* Asserts find in dir fails with rc and a message naming file and an
   offset. */
static void
s_find_refuses (const char *dir, const char *file, int rc, const char *what)
{
    zr_snapshot_meta_t meta;
    char path [512], errmsg [512];
    int got = zr_snapshot_find (dir, &meta, path, sizeof path, errmsg,
                                sizeof errmsg);
    ck_assert_msg (got == rc, "%s: rc %d, want %d (%s)", what, got, rc,
                   errmsg);
    ck_assert_msg (strstr (errmsg, file) != NULL, "%s: %s", what, errmsg);
    ck_assert_msg (strstr (errmsg, "offset") != NULL, "%s: %s", what, errmsg);
    ck_assert_uint_eq (meta.index, 0);
    ck_assert_str_eq (path, "");
}

static void
s_peek (const char *path, off_t off, void *data, size_t len)
{
    int fd = open (path, O_RDONLY);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (pread (fd, data, len, off), (ssize_t) len);
    close (fd);
}

static void
s_patch (const char *path, off_t off, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (pwrite (fd, data, len, off), (ssize_t) len);
    close (fd);
}

/* Writes len bytes as the whole content of path. */
static void
s_put_file (const char *path, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, data, len), (ssize_t) len);
    close (fd);
}

/* Recomputes the header crc of a header of bytes bytes at buf. */
static void
s_recrc (uint8_t *buf, size_t bytes)
{
    uint32_t crc = zr_wal_crc32c (0, buf, bytes - 4);
    for (int i = 0; i < 4; i++)
        buf [bytes - 4 + (size_t) i] = (uint8_t) (crc >> (8 * i));
}

/*  -------------------------------------------------------------------------
    Round trips
*/

START_TEST (snapshot_round_trip_small)
{
    /* A committed snapshot is found with its index, term, configuration
       and data, byte for byte. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_snapshot_meta_t wrote = s_write (dir, 42, 7, 10000, 333);
    ck_assert_uint_eq (wrote.index, 42);
    ck_assert_uint_eq (wrote.term, 7);
    zr_snapshot_meta_t meta;
    meta = s_find (dir, path);
    s_meta_eq (&meta, &wrote);
    zr_snapshot_meta_t want = s_meta (42, 7, 3);
    ck_assert_str_eq (meta.endpoints [2], want.endpoints [2]);
    char want_path [512];
    s_snap_path (want_path, dir, 42, 7);
    ck_assert_str_eq (path, want_path);
    ck_assert_uint_eq (s_read_check (path, 4096), meta.crc);
    ck_assert_uint_eq (s_read_check (path, 7), meta.crc);
    ck_assert_int_eq (s_files_count (dir, ".tmp"), 0);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_round_trip_empty)
{
    /* A state machine with no bytes still makes a valid snapshot. */
    char dir [64], path [512];
    s_dir_new (dir);
    s_write (dir, 1, 1, 0, 16);
    zr_snapshot_meta_t meta;
    meta = s_find (dir, path);
    ck_assert_uint_eq (meta.index, 1);
    ck_assert_uint_eq (meta.size, 0);
    zr_snapshot_reader_t *r = zr_snapshot_reader_new (path, NULL, NULL, 0);
    ck_assert_ptr_nonnull (r);
    uint8_t byte;
    size_t got = 99;
    ck_assert_int_eq (zr_snapshot_reader_read (r, 0, &byte, 1, &got), 0);
    ck_assert_uint_eq (got, 0);
    ck_assert_int_eq (zr_snapshot_reader_read (r, 1, &byte, 1, &got),
                      ZR_EINVAL);
    zr_snapshot_reader_destroy (&r);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_round_trip_largest_config)
{
    /* Nine servers with 255-byte endpoints: the largest version 1
       header round-trips. */
    char dir [64], path [512], errmsg [256];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_meta (5, 2, ZR_NODES_MAX);
    for (uint32_t i = 0; i < ZR_NODES_MAX; i++) {
        memset (meta.endpoints [i], 'a' + (int) i, ZR_SNAPSHOT_ENDPOINT_MAX);
        meta.endpoints [i][ZR_SNAPSHOT_ENDPOINT_MAX] = '\0';
        meta.ids [i] = ZR_NODES_MAX - i;
    }
    zr_snapshot_writer_t *w =
        zr_snapshot_writer_new (dir, &meta, errmsg, sizeof errmsg);
    ck_assert_ptr_nonnull (w);
    ck_assert_int_eq (zr_snapshot_writer_append (w, "abc", 3), 0);
    zr_snapshot_meta_t wrote;
    ck_assert_int_eq (zr_snapshot_writer_commit (&w, &wrote, NULL, 0), 0);
    zr_snapshot_meta_t found;
    ck_assert_int_eq (zr_snapshot_find (dir, &found, path, sizeof path,
                                        errmsg, sizeof errmsg), 0);
    s_meta_eq (&found, &wrote);
    ck_assert_uint_eq (found.ids [0], ZR_NODES_MAX);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_round_trip_64mib)
{
    /* 64 MiB written in 1 MiB chunks and read back in chunks: same crc,
       and the process never holds the data (invariant 5). */
    char dir [64], path [512];
    s_dir_new (dir);
    uint64_t size = 64ull * MIB;
    zr_snapshot_meta_t wrote = s_write (dir, 1000, 3, size, MIB);
    zr_snapshot_meta_t meta;
    meta = s_find (dir, path);
    s_meta_eq (&meta, &wrote);
    ck_assert_uint_eq (meta.size, size);
    ck_assert_uint_eq (s_read_check (path, MIB + 17), wrote.crc);
    struct rusage ru;
    ck_assert_int_eq (getrusage (RUSAGE_SELF, &ru), 0);
    ck_assert_msg (ru.ru_maxrss < 32 * 1024, "max rss %ld KiB",
                   ru.ru_maxrss);
    s_dir_remove (dir);
}
END_TEST

/*  -------------------------------------------------------------------------
    Writer
*/

START_TEST (snapshot_writer_write_accepts_resent_chunk)
{
    /* InstallSnapshot: a resent chunk is accepted without rewriting, an
       overlapping one appends only its tail, a gap is refused. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_meta (9, 2, 3);
    zr_snapshot_writer_t *w = zr_snapshot_writer_new (dir, &meta, NULL, 0);
    ck_assert_ptr_nonnull (w);
    uint8_t buf [300];
    s_fill (buf, 0, sizeof buf);
    ck_assert_int_eq (zr_snapshot_writer_write (w, 0, buf, 100), 0);
    ck_assert_int_eq (zr_snapshot_writer_write (w, 0, buf, 100), 0);
    ck_assert_uint_eq (zr_snapshot_writer_size (w), 100);
    ck_assert_int_eq (zr_snapshot_writer_write (w, 201, buf + 201, 99),
                      ZR_EINVAL);
    ck_assert_uint_eq (zr_snapshot_writer_size (w), 100);
    ck_assert_int_eq (zr_snapshot_writer_write (w, 50, buf + 50, 150), 0);
    ck_assert_uint_eq (zr_snapshot_writer_size (w), 200);
    ck_assert_int_eq (zr_snapshot_writer_write (w, 200, buf + 200, 100), 0);
    ck_assert_str_eq (zr_snapshot_writer_error (w), "");
    ck_assert_int_eq (zr_snapshot_writer_commit (&w, NULL, NULL, 0), 0);
    meta = s_find (dir, path);
    ck_assert_uint_eq (meta.size, 300);
    ck_assert_uint_eq (meta.crc, zr_wal_crc32c (0, buf, 300));
    s_read_check (path, 64);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_writer_abort_leaves_nothing)
{
    /* An aborted writer removes its temp file. */
    char dir [64];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_meta (3, 1, 1);
    zr_snapshot_writer_t *w = zr_snapshot_writer_new (dir, &meta, NULL, 0);
    ck_assert_ptr_nonnull (w);
    ck_assert_int_eq (zr_snapshot_writer_append (w, "xyz", 3), 0);
    ck_assert_int_eq (s_files_count (dir, ".tmp"), 1);
    zr_snapshot_writer_abort (&w);
    ck_assert_ptr_null (w);
    zr_snapshot_writer_abort (&w);
    ck_assert_int_eq (s_files_count (dir, "snap-"), 0);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_writer_error_is_sticky)
{
    /* Invariant (4): after a failed write every call fails and commit
       refuses, so the file never gets its final name. */
    char dir [64], errmsg [256];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_meta (3, 1, 1);
    zr_snapshot_writer_t *w = zr_snapshot_writer_new (dir, &meta, NULL, 0);
    ck_assert_ptr_nonnull (w);
    ck_assert_int_eq (zr_snapshot_writer_append (w, "abc", 3), 0);
    zr_snapshot_writer_test_fail (w);
    ck_assert_int_eq (zr_snapshot_writer_append (w, "def", 3), ZR_EIO);
    ck_assert_int_eq (zr_snapshot_writer_append (w, "def", 3), ZR_EIO);
    ck_assert_int_eq (zr_snapshot_writer_write (w, 3, "def", 3), ZR_EIO);
    ck_assert_uint_eq (zr_snapshot_writer_size (w), 3);
    const char *why = zr_snapshot_writer_error (w);
    ck_assert_msg (strstr (why, ".zsnap.tmp: write at offset"), "%s", why);
    ck_assert_int_eq (zr_snapshot_writer_commit (&w, NULL, errmsg,
                                                 sizeof errmsg), ZR_EIO);
    ck_assert_ptr_null (w);
    ck_assert_msg (strstr (errmsg, "write at offset"), "%s", errmsg);
    ck_assert_int_eq (s_files_count (dir, "snap-"), 0);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_writer_new_refuses_unwritable_dir)
{
    /* A directory that cannot be written, or is not a directory: NULL
       and a reason naming the path (root may write anywhere else, but
       not in /proc). */
    char dir [64], file [512], errmsg [256];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_meta (3, 1, 1);
    zr_snapshot_writer_t *w =
        zr_snapshot_writer_new ("/proc", &meta, errmsg, sizeof errmsg);
    ck_assert_ptr_null (w);
    ck_assert_msg (strstr (errmsg, "/proc/snap-") != NULL, "%s", errmsg);
    snprintf (file, sizeof file, "%s/plain", dir);
    s_put_file (file, "x", 1);
    w = zr_snapshot_writer_new (file, &meta, errmsg, sizeof errmsg);
    ck_assert_ptr_null (w);
    ck_assert_msg (strstr (errmsg, "open directory") != NULL, "%s", errmsg);
    snprintf (file, sizeof file, "%s/missing", dir);
    ck_assert_ptr_null (zr_snapshot_writer_new (file, &meta, NULL, 0));
    s_dir_remove (dir);
}
END_TEST

/*  -------------------------------------------------------------------------
    Find and prune
*/

START_TEST (snapshot_find_none)
{
    /* No snapshot, or no directory: 0 with index 0 ("none"). */
    char dir [64], path [512], errmsg [256], missing [128];
    s_dir_new (dir);
    zr_snapshot_meta_t meta;
    meta = s_find (dir, path);
    ck_assert_uint_eq (meta.index, 0);
    ck_assert_str_eq (path, "");
    snprintf (missing, sizeof missing, "%s/nope", dir);
    ck_assert_int_eq (zr_snapshot_find (missing, &meta, path, sizeof path,
                                        errmsg, sizeof errmsg), 0);
    ck_assert_uint_eq (meta.index, 0);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_find_removes_crash_leftover)
{
    /* Invariant (1): a writer killed before commit leaves only a temp
       file; find ignores it, keeps the older snapshot, removes it. */
    char dir [64], path [512];
    s_dir_new (dir);
    s_write (dir, 10, 1, 1000, 100);
    pid_t pid = fork ();
    ck_assert_int_ge (pid, 0);
    if (pid == 0) {
        zr_snapshot_meta_t meta = s_meta (20, 2, 3);
        zr_snapshot_writer_t *w = zr_snapshot_writer_new (dir, &meta, NULL, 0);
        uint8_t buf [4096];
        s_fill (buf, 0, sizeof buf);
        if (!w || zr_snapshot_writer_append (w, buf, sizeof buf))
            _exit (1);
        _exit (0);                      /* the crash: no commit, no abort */
    }
    int status;
    ck_assert_int_eq (waitpid (pid, &status, 0), pid);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_int_eq (s_files_count (dir, ".zsnap.tmp"), 1);
    zr_snapshot_meta_t meta;
    meta = s_find (dir, path);
    ck_assert_uint_eq (meta.index, 10);
    ck_assert_int_eq (s_files_count (dir, ".tmp"), 0);
    ck_assert_int_eq (s_files_count (dir, ".zsnap"), 1);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_find_newest_then_prune)
{
    /* Two snapshots: the newest is found; prune deletes the older, keeps
       the newest even when asked to go past it (invariant 3); a reader
       still open on a deleted file goes on reading it. */
    char dir [64], path [512], errmsg [256], old_path [512];
    s_dir_new (dir);
    s_write (dir, 100, 2, 5000, 1000);
    s_write (dir, 250, 3, 7000, 1000);
    s_write (dir, 250, 2, 10, 10);      /* same index, older term */
    zr_snapshot_meta_t meta;
    meta = s_find (dir, path);
    ck_assert_uint_eq (meta.index, 250);
    ck_assert_uint_eq (meta.term, 3);
    ck_assert_uint_eq (meta.size, 7000);
    char named [512];                   /* what readers open: the same file */
    ck_assert_int_eq (zr_snapshot_path (dir, 250, 3, named, sizeof named), 0);
    ck_assert_str_eq (named, path);
    s_snap_path (old_path, dir, 100, 2);
    zr_snapshot_reader_t *r = zr_snapshot_reader_new (old_path, NULL, NULL, 0);
    ck_assert_ptr_nonnull (r);
    ck_assert_int_eq (zr_snapshot_prune (dir, 250, errmsg, sizeof errmsg), 0);
    ck_assert_int_eq (s_files_count (dir, ".zsnap"), 2);
    ck_assert_int_eq (access (old_path, F_OK), -1);
    ck_assert_int_eq (zr_snapshot_reader_verify (r, errmsg, sizeof errmsg),
                      0);
    zr_snapshot_reader_destroy (&r);
    ck_assert_int_eq (zr_snapshot_prune (dir, 1000, errmsg, sizeof errmsg),
                      0);
    ck_assert_int_eq (s_files_count (dir, ".zsnap"), 1);
    meta = s_find (dir, path);
    ck_assert_uint_eq (meta.index, 250);
    ck_assert_uint_eq (meta.term, 3);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_prune_older_keeps_two_newest)
{
    /* Whoever wrote them, only the two newest stay (by index, then
       term); with fewer than two nothing goes; a file being written
       stays. */
    char dir [64], path [512], errmsg [256];
    s_dir_new (dir);
    ck_assert_int_eq (zr_snapshot_prune_older (dir, errmsg, sizeof errmsg), 0);
    s_write (dir, 100, 2, 10, 10);
    ck_assert_int_eq (zr_snapshot_prune_older (dir, errmsg, sizeof errmsg), 0);
    ck_assert_int_eq (s_files_count (dir, ".zsnap"), 1);
    s_write (dir, 250, 2, 10, 10);
    s_write (dir, 250, 3, 10, 10);
    s_write (dir, 90, 4, 10, 10);
    zr_snapshot_meta_t meta = s_meta (300, 1, 3);
    zr_snapshot_writer_t *w = zr_snapshot_writer_new (dir, &meta, errmsg, sizeof errmsg);
    ck_assert_ptr_nonnull (w);
    ck_assert_int_eq (zr_snapshot_prune_older (dir, errmsg, sizeof errmsg), 0);
    ck_assert_int_eq (s_files_count (dir, ".zsnap"), 3);      /* two + .tmp */
    ck_assert_int_eq (s_files_count (dir, ".zsnap.tmp"), 1);
    s_snap_path (path, dir, 250, 2);
    ck_assert_int_eq (access (path, F_OK), 0);
    s_snap_path (path, dir, 250, 3);
    ck_assert_int_eq (access (path, F_OK), 0);
    zr_snapshot_writer_abort (&w);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_find_refuses_without_fallback)
{
    /* Invariant (3): a damaged newest snapshot is refused even though an
       older, valid one exists. */
    char dir [64], path [512];
    s_dir_new (dir);
    s_write (dir, 10, 1, 1000, 100);
    s_write (dir, 20, 1, 1000, 100);
    s_snap_path (path, dir, 20, 1);
    s_patch (path, 2, "X", 1);
    s_find_refuses (dir, "snap-0000000000000014-0000000000000001.zsnap",
                    ZR_ECORRUPT, "newest damaged");
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_find_refuses_misnamed_file)
{
    /* A valid file under another snapshot's name is refused. */
    char dir [64], from [512], to [512];
    s_dir_new (dir);
    s_write (dir, 10, 1, 100, 100);
    s_snap_path (from, dir, 10, 1);
    s_snap_path (to, dir, 11, 1);
    ck_assert_int_eq (rename (from, to), 0);
    s_find_refuses (dir, "snap-000000000000000b", ZR_ECORRUPT, "misnamed");
    s_dir_remove (dir);
}
END_TEST

/*  -------------------------------------------------------------------------
    Damage
*/

START_TEST (snapshot_find_refuses_every_header_flip)
{
    /* Invariant (2): flipping any one header byte (all bits, or the low
       bit) is refused as corrupt, naming the file and an offset. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_write (dir, 77, 5, 4096, 4096);
    size_t bytes = zr_snapshot_header_bytes (&meta);
    s_snap_path (path, dir, 77, 5);
    const char *name = strrchr (path, '/') + 1;
    for (size_t off = 0; off < bytes; off++) {
        uint8_t orig, bad;
        s_peek (path, (off_t) off, &orig, 1);
        for (int mask = 0x01; mask <= 0xff; mask += 0xfe) {
            bad = (uint8_t) (orig ^ mask);
            s_patch (path, (off_t) off, &bad, 1);
            char what [64];
            snprintf (what, sizeof what, "flip %#x at %zu", mask, off);
            s_find_refuses (dir, name, ZR_ECORRUPT, what);
        }
        s_patch (path, (off_t) off, &orig, 1);
    }
    meta = s_find (dir, path);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_find_refuses_data_flips)
{
    /* A sample of flipped data bytes, first and last included, fails the
       data crc. */
    char dir [64], path [512];
    s_dir_new (dir);
    uint64_t size = 3 * MIB + 5;
    zr_snapshot_meta_t meta = s_write (dir, 8, 8, size, MIB);
    size_t bytes = zr_snapshot_header_bytes (&meta);
    s_snap_path (path, dir, 8, 8);
    const char *name = strrchr (path, '/') + 1;
    uint64_t offs [] = {0, 1, 4095, MIB, 2 * MIB + 12345, size - 1};
    for (size_t i = 0; i < sizeof offs / sizeof offs [0]; i++) {
        off_t at = (off_t) (bytes + offs [i]);
        uint8_t orig, bad;
        s_peek (path, at, &orig, 1);
        bad = (uint8_t) (orig ^ (1u << (i % 8)));
        s_patch (path, at, &bad, 1);
        s_find_refuses (dir, name, ZR_ECORRUPT, "data flip");
        s_patch (path, at, &orig, 1);
    }
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_find_refuses_truncation)
{
    /* A file cut at any header offset, or inside the data, or with bytes
       added after it, is refused as corrupt. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_write (dir, 6, 2, 2000, 2000);
    size_t bytes = zr_snapshot_header_bytes (&meta);
    size_t total = bytes + 2000;
    s_snap_path (path, dir, 6, 2);
    const char *name = strrchr (path, '/') + 1;
    uint8_t *file = (uint8_t *) malloc (total + 1);
    ck_assert_ptr_nonnull (file);
    s_peek (path, 0, file, total);
    size_t cuts [] = {bytes, bytes + 1, bytes + 1000, total - 1};
    for (size_t len = 0; len < bytes + 4; len++) {
        size_t cut = len < bytes ? len : cuts [len - bytes];
        s_put_file (path, file, cut);
        char what [64];
        snprintf (what, sizeof what, "cut at %zu", cut);
        s_find_refuses (dir, name, ZR_ECORRUPT, what);
    }
    file [total] = 0;
    s_put_file (path, file, total + 1);
    s_find_refuses (dir, name, ZR_ECORRUPT, "trailing byte");
    free (file);
    s_dir_remove (dir);
}
END_TEST

START_TEST (snapshot_find_refuses_unknown_version)
{
    /* A well-formed header of another format version, or with a flag this
       build does not know, is refused with ZR_EVERSION, not as corrupt. */
    char dir [64], path [512], errmsg [512];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_write (dir, 4, 4, 10, 10);
    size_t bytes = zr_snapshot_header_bytes (&meta);
    s_snap_path (path, dir, 4, 4);
    const char *name = strrchr (path, '/') + 1;
    uint8_t header [ZR_SNAPSHOT_HEADER_MAX];
    s_peek (path, 0, header, bytes);
    header [8] = ZR_SNAPSHOT_VERSION + 1;
    s_recrc (header, bytes);
    s_patch (path, 0, header, bytes);
    s_find_refuses (dir, name, ZR_EVERSION, "a later version");
    zr_snapshot_meta_t m;
    ck_assert_int_eq (zr_snapshot_find (dir, &m, path, sizeof path, errmsg,
                                        sizeof errmsg), ZR_EVERSION);
    ck_assert_msg (strstr (errmsg, "format version 3") != NULL, "%s", errmsg);
    /* Version 1, before the bus section, is refused and named so. */
    s_snap_path (path, dir, 4, 4);
    header [8] = 1;
    s_recrc (header, bytes);
    s_patch (path, 0, header, bytes);
    ck_assert_int_eq (zr_snapshot_find (dir, &m, path, sizeof path, errmsg,
                                        sizeof errmsg), ZR_EVERSION);
    ck_assert_msg (strstr (errmsg, "predates the message bus") != NULL, "%s",
                   errmsg);
    s_snap_path (path, dir, 4, 4);
    header [8] = ZR_SNAPSHOT_VERSION;
    header [18] = 0x80;
    s_recrc (header, bytes);
    s_patch (path, 0, header, bytes);
    s_find_refuses (dir, name, ZR_EVERSION, "unknown flag");
    s_dir_remove (dir);
}
END_TEST

/* The data's bus section (snapshot.h): its head says B, the section is
   the B bytes after it, and a head claiming more than the data holds is
   ZR_ECORRUPT, for the split in memory and for the reader. */
START_TEST (snapshot_data_bus_section)
{
    uint8_t data [32];
    zr_snapshot_data_head (data, 5);
    memcpy (data + ZR_SNAPSHOT_BUS_HEAD, "bus..app", 8);
    uint64_t bus = 99;
    ck_assert_int_eq (zr_snapshot_data_split (data, 16, &bus), 0);
    ck_assert_uint_eq (bus, 5);
    ck_assert_int_eq (zr_snapshot_data_split (data, 13, &bus), 0);
    ck_assert_int_eq (zr_snapshot_data_split (data, 12, &bus), ZR_ECORRUPT);
    ck_assert_int_eq (zr_snapshot_data_split (data, 7, &bus), ZR_ECORRUPT);
    zr_snapshot_data_head (data, UINT64_MAX);
    ck_assert_int_eq (zr_snapshot_data_split (data, 32, &bus), ZR_ECORRUPT);
    zr_snapshot_data_head (data, 5);
    char dir [64], path [512];
    s_dir_new (dir);
    zr_snapshot_meta_t meta = s_meta (9, 2, 3);
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            zr_snapshot_data_head (data, 6);    /* one byte past the data */
        zr_snapshot_writer_t *w = zr_snapshot_writer_new (dir, &meta, NULL, 0);
        ck_assert_ptr_nonnull (w);
        ck_assert_int_eq (zr_snapshot_writer_append (w, data, 13), 0);
        ck_assert_int_eq (zr_snapshot_writer_commit (&w, NULL, NULL, 0), 0);
        s_snap_path (path, dir, 9, 2);
        zr_snapshot_reader_t *r = zr_snapshot_reader_new (path, NULL, NULL, 0);
        ck_assert_ptr_nonnull (r);
        uint8_t *section = NULL;
        uint64_t size = 0;
        int rc = zr_snapshot_reader_bus (r, &section, &size);
        ck_assert_int_eq (rc, round == 0 ? 0 : ZR_ECORRUPT);
        ck_assert_uint_eq (size, round == 0 ? 5 : 0);
        if (round == 0)
            ck_assert_mem_eq (section, "bus..", 5);
        else
            ck_assert_ptr_null (section);
        free (section);
        zr_snapshot_reader_destroy (&r);
    }
    s_dir_remove (dir);
}
END_TEST

/*  -------------------------------------------------------------------------
    Header decoder
*/

START_TEST (snapshot_header_decode_checks_fields)
{
    /* Invariant (2): fields are checked even under a good crc (a writer
       bug or a crafted file): counts, ids, endpoint lengths, index. */
    zr_snapshot_meta_t meta = s_meta (12, 3, 2), out;
    meta.size = 5;
    uint8_t buf [ZR_SNAPSHOT_HEADER_MAX], bad [ZR_SNAPSHOT_HEADER_MAX];
    size_t bytes = zr_snapshot_header_encode (&meta, buf, sizeof buf);
    size_t got = 0;
    ck_assert_int_eq (zr_snapshot_header_decode (buf, bytes, &out, &got,
                                                 NULL, 0), 0);
    ck_assert_uint_eq (got, bytes);
    s_meta_eq (&out, &meta);
    struct { size_t off; uint8_t value; const char *why; } cases [] = {
        {20, 0, "server count"},        {20, 10, "server count"},
        {24, 0, "index or term 0"},     {52, 0, "server id"},
        {52, 10, "server id"},          {52 + 5 + 20, 1, "repeated"},
        {56, 0, "endpoint length"},     {56, 200, "endpoint length"},
        {57, 0, "endpoint length"},     {47, 1, "too big"},
        {20, 1, "disagrees"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        memcpy (bad, buf, bytes);
        if (cases [i].off == 24)
            memset (bad + 24, 0, 8);
        bad [cases [i].off] = cases [i].value;
        s_recrc (bad, bytes);
        char errmsg [256];
        int rc = zr_snapshot_header_decode (bad, bytes, &out, NULL, errmsg,
                                            sizeof errmsg);
        ck_assert_msg (rc == ZR_ECORRUPT, "case %zu: rc %d", i, rc);
        ck_assert_msg (strstr (errmsg, cases [i].why)
                           && strstr (errmsg, "offset"),
                       "case %zu: %s", i, errmsg);
    }
    for (size_t len = 0; len < bytes; len++)
        ck_assert_int_eq (zr_snapshot_header_decode (buf, len, &out, NULL,
                                                     NULL, 0),
                          ZR_ETRUNCATED);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("snapshot");
    TCase *tc = tcase_create ("snapshot");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, snapshot_round_trip_small);
    tcase_add_test (tc, snapshot_round_trip_empty);
    tcase_add_test (tc, snapshot_round_trip_largest_config);
    tcase_add_test (tc, snapshot_round_trip_64mib);
    tcase_add_test (tc, snapshot_writer_write_accepts_resent_chunk);
    tcase_add_test (tc, snapshot_writer_abort_leaves_nothing);
    tcase_add_test (tc, snapshot_writer_error_is_sticky);
    tcase_add_test (tc, snapshot_writer_new_refuses_unwritable_dir);
    tcase_add_test (tc, snapshot_find_none);
    tcase_add_test (tc, snapshot_find_removes_crash_leftover);
    tcase_add_test (tc, snapshot_find_newest_then_prune);
    tcase_add_test (tc, snapshot_prune_older_keeps_two_newest);
    tcase_add_test (tc, snapshot_find_refuses_without_fallback);
    tcase_add_test (tc, snapshot_find_refuses_misnamed_file);
    tcase_add_test (tc, snapshot_find_refuses_every_header_flip);
    tcase_add_test (tc, snapshot_find_refuses_data_flips);
    tcase_add_test (tc, snapshot_find_refuses_truncation);
    tcase_add_test (tc, snapshot_find_refuses_unknown_version);
    tcase_add_test (tc, snapshot_data_bus_section);
    tcase_add_test (tc, snapshot_header_decode_checks_fields);
    suite_add_tcase (s, tc);
    return check_run (s);
}
