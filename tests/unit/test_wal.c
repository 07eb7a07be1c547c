/*  =========================================================================
    test_wal - unit tests of actors/wal: segments, records, recovery

    Each test works in a fresh directory under /tmp with 64 KiB segments,
    so a few hundred entries cross segments. Files are damaged by hand to
    check recovery: a torn tail is truncated, anything else is refused
    (wal.h, invariant 5).
    =========================================================================
*/
#include "../../raft/raft.h"
#include "../../actors/wal.h"

#include <check.h>
#include "../lib/check_run.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG (64u * 1024u)               /* segment size in every test */
#define REC_HEADER 32                   /* record header, as in wal.h */
#define SEG_HEADER 32                   /* segment header, as in wal.h */

/* Bytes a record with len payload bytes occupies (wal.h layout). */
static size_t
s_rec_bytes (size_t len)
{
    return (REC_HEADER + len + 7) & ~(size_t) 7;
}

static void
s_dir_new (char *dir)
{
    strcpy (dir, "/tmp/zrwal-XXXXXX");
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

/* Writes the path of segment seq: its closed name "wal-<seq>-<first>-
   <last>.seg" if it has one, else "wal-<seq>.seg" (wal.h, invariant 10). */
static void
s_seg_path (char *path, const char *dir, uint64_t seq)
{
    char prefix [32];
    snprintf (prefix, sizeof prefix, "wal-%016llx-", (unsigned long long) seq);
    snprintf (path, 512, "%s/wal-%016llx.seg", dir, (unsigned long long) seq);
    DIR *d = opendir (dir);
    ck_assert_ptr_nonnull (d);
    struct dirent *de;
    while ((de = readdir (d)))
        if (strncmp (de->d_name, prefix, strlen (prefix)) == 0)
            snprintf (path, 512, "%s/%s", dir, de->d_name);
    closedir (d);
}

/* Returns the number of segment files in dir, asserting each has the
   preallocated size and allocated blocks (not a sparse file). */
static int
s_segments_count (const char *dir)
{
    DIR *d = opendir (dir);
    ck_assert_ptr_nonnull (d);
    struct dirent *de;
    int count = 0;
    char path [512];
    while ((de = readdir (d)))
        if (strstr (de->d_name, ".seg")) {
            struct stat st;
            snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
            ck_assert_int_eq (stat (path, &st), 0);
            ck_assert_int_eq (st.st_size, SEG);
            ck_assert_int_ge ((long long) st.st_blocks * 512, SEG);
            count++;
        }
    closedir (d);
    return count;
}

static void
s_patch (const char *path, off_t off, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (pwrite (fd, data, len, off), (ssize_t) len);
    close (fd);
}

static void
s_peek (const char *path, off_t off, void *data, size_t len)
{
    int fd = open (path, O_RDONLY);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (pread (fd, data, len, off), (ssize_t) len);
    close (fd);
}

static uint8_t
s_byte (zr_index_t index, size_t j)
{
    return (uint8_t) (index * 7 + j * 13);
}

/* The type of the i-th entry s_entries makes: every type the log holds. */
static uint8_t
s_type (uint32_t i)
{
    return i % 5 == 4 ? ZR_ENTRY_NOOP : i % 5 == 2 ? ZR_ENTRY_BUS : ZR_ENTRY_COMMAND;
}

/* Returns n entries from index first, payloads of size bytes filled by
   s_byte, sharing one blob; caller destroys with zr_entries_destroy. */
static zr_entry_t *
s_entries (zr_index_t first, uint32_t n, zr_term_t term, uint32_t size)
{
    zr_entry_t *entries = (zr_entry_t *) calloc (n, sizeof (zr_entry_t));
    zr_blob_t *blob = zr_blob_new ((size_t) n * size);
    ck_assert (entries && blob);
    for (uint32_t i = 0; i < n; i++) {
        zr_entry_t *e = &entries [i];
        e->index = first + i;
        e->term = term;
        e->type = s_type (i);
        e->size = size;
        if (size > 0) {
            uint8_t *p = blob->data + (size_t) i * size;
            for (uint32_t j = 0; j < size; j++)
                p [j] = s_byte (e->index, j);
            e->data = p;
            e->blob = zr_blob_ref (blob);
        }
    }
    zr_blob_unref (&blob);
    return entries;
}

/* Appends n entries as s_entries makes them. */
static void
s_append (zr_wal_t *wal, zr_index_t first, uint32_t n, zr_term_t term,
          uint32_t size)
{
    zr_entry_t *entries = s_entries (first, n, term, size);
    ck_assert_int_eq (zr_wal_append (wal, entries, n), 0);
    zr_entries_destroy (&entries, n);
}

static void
s_sync (zr_wal_t *wal)
{
    char err [256];
    int rc = zr_wal_sync (wal, err, sizeof err);
    ck_assert_msg (rc == 0, "sync: %s", err);
}

/* Opens dir, the newest snapshot covering indexes up to snap_index. */
static zr_wal_t *
s_open_snap (const char *dir, zr_index_t snap_index, zr_wal_state_t *state)
{
    zr_wal_t *wal = NULL;
    char err [256];
    int rc = zr_wal_open (dir, SEG, snap_index, &wal, state, err, sizeof err);
    ck_assert_msg (rc == 0, "open: %s", err);
    ck_assert_ptr_nonnull (wal);
    return wal;
}

static zr_wal_t *
s_open (const char *dir, zr_wal_state_t *state)
{
    return s_open_snap (dir, 0, state);
}

/* A new directory holding entries 1..n of size B in term 1, synced and
   closed. */
static void
s_written (char *dir, uint32_t n, uint32_t size)
{
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    s_append (wal, 1, n, 1, size);
    s_sync (wal);
    zr_wal_destroy (&wal);
}

/* Expects open to fail with rc and a message containing want. */
static void
s_open_fails (const char *dir, int rc, const char *want)
{
    zr_wal_t *wal = NULL;
    zr_wal_state_t state;
    char err [256];
    int got = zr_wal_open (dir, SEG, 0, &wal, &state, err, sizeof err);
    ck_assert_int_eq (got, rc);
    ck_assert_ptr_null (wal);
    ck_assert_ptr_null (state.entries);
    ck_assert_msg (strstr (err, want), "errmsg '%s' lacks '%s'", err, want);
}

/* Checks entries first..first+n-1 of state match s_entries (term, size). */
static void
s_check_entries (const zr_wal_state_t *state, zr_index_t first, uint32_t n,
                 zr_term_t term, uint32_t size)
{
    ck_assert_uint_ge (state->n_entries, first + n - 1);
    for (uint32_t i = 0; i < n; i++) {
        const zr_entry_t *e = &state->entries [first - 1 + i];
        ck_assert_uint_eq (e->index, first + i);
        ck_assert_uint_eq (e->term, term);
        ck_assert_uint_eq (e->type, s_type (i));
        ck_assert_uint_eq (e->size, size);
        for (uint32_t j = 0; j < size; j++)
            ck_assert_uint_eq (e->data [j], s_byte (e->index, j));
    }
}

/* Reopens dir, checks n entries of size bytes and term, returns state. */
static void
s_reopen_check (const char *dir, uint32_t n, zr_term_t term, uint32_t size,
                zr_wal_state_t *state)
{
    zr_wal_t *wal = s_open (dir, state);
    ck_assert_uint_eq (state->n_entries, n);
    ck_assert_uint_eq (zr_wal_last_index (wal), n);
    s_check_entries (state, 1, n, term, size);
    zr_wal_destroy (&wal);
}

/* Hand-encodes at rec a record per the layout table in wal.h: type
   (1 ENTRY, 2 HARDSTATE, 3 LOGSTART), sub-type, term, index, and len zero
   payload bytes; rec has REC_HEADER + len bytes, len a multiple of 8. */
static void
s_record (uint8_t *rec, uint8_t type, uint8_t sub, uint64_t term,
          uint64_t index, uint32_t len)
{
    memset (rec, 0, REC_HEADER + len);
    for (int i = 0; i < 8; i++) {
        rec [4 + i] = i < 4 ? (uint8_t) (len >> (8 * i)) : 0;
        rec [12 + i] = (uint8_t) (term >> (8 * i));
        rec [20 + i] = (uint8_t) (index >> (8 * i));
    }
    rec [8] = type;
    rec [9] = sub;
    uint32_t crc = zr_wal_crc32c (0, rec + 4, REC_HEADER - 4 + len);
    for (int i = 0; i < 4; i++)
        rec [i] = (uint8_t) (crc >> (8 * i));
}

/* Returns how many file descriptors this process has open. */
static int
s_open_fds (void)
{
    DIR *d = opendir ("/proc/self/fd");
    ck_assert_ptr_nonnull (d);
    int n = 0;
    while (readdir (d))
        n++;
    closedir (d);
    return n;
}

/* Runs zr_wal_spare_prepare on another thread, as the persister does. */
static void *
s_prepare_thread (void *job)
{
    zr_wal_spare_prepare ((zr_wal_spare_t *) job);
    return NULL;
}

START_TEST (crc32c_check_value)
{
    /* The standard check value of CRC-32C, and that crc continues. */
    ck_assert_uint_eq (zr_wal_crc32c (0, "123456789", 9), 0xE3069283u);
    uint32_t crc = zr_wal_crc32c (0, "1234", 4);
    ck_assert_uint_eq (zr_wal_crc32c (crc, "56789", 5), 0xE3069283u);
    ck_assert_uint_eq (zr_wal_crc32c (0, NULL, 0), 0);
}
END_TEST

START_TEST (wal_open_empty)
{
    /* A missing directory is created, holds nothing, and gets a current and a
       spare segment. */
    char base [64], dir [128];
    s_dir_new (base);
    snprintf (dir, sizeof dir, "%s/wal", base);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_uint_eq (state.term, 0);
    ck_assert_uint_eq (state.vote, 0);
    ck_assert_uint_eq (state.n_entries, 0);
    ck_assert_ptr_null (state.entries);
    ck_assert_uint_eq (state.torn_bytes, 0);
    ck_assert_uint_eq (zr_wal_last_index (wal), 0);
    ck_assert_int_eq (zr_wal_sync (wal, NULL, 0), 0);
    zr_wal_stats_t stats;
    zr_wal_stats (wal, &stats);
    ck_assert_uint_eq (stats.syncs, 0);
    zr_wal_destroy (&wal);
    zr_wal_destroy (&wal);
    ck_assert_ptr_null (wal);
    ck_assert_int_eq (s_segments_count (dir), 2);
    struct stat st;
    ck_assert_int_eq (stat (dir, &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0700);
    s_dir_remove (dir);
    s_dir_remove (base);
}
END_TEST

START_TEST (wal_discard_removes_only_a_fresh_start)
{
    /* A failed first start leaves nothing behind: a directory the open
       made goes, an empty one given is emptied again. Anything else (a
       log that holds something, a foreign file, a hard state written)
       is kept, and the WAL is only closed. */
    char base [64], dir [128];
    s_dir_new (base);
    snprintf (dir, sizeof dir, "%s/wal", base);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    zr_wal_discard (&wal);
    ck_assert_ptr_null (wal);
    ck_assert_int_eq (access (dir, F_OK), -1);
    zr_wal_discard (&wal);              /* NULL: nothing */

    ck_assert_int_eq (mkdir (dir, 0700), 0);
    wal = s_open (dir, &state);
    zr_wal_discard (&wal);
    ck_assert_int_eq (access (dir, F_OK), 0);
    ck_assert_int_eq (s_segments_count (dir), 0);
    char path [256];
    snprintf (path, sizeof path, "%s/LOCK", dir);
    ck_assert_int_eq (access (path, F_OK), -1);

    wal = s_open (dir, &state);         /* a term written, then a restart */
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 3, 1), 0);
    s_sync (wal);
    zr_wal_discard (&wal);
    ck_assert_int_eq (s_segments_count (dir), 2);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.term, 3);
    zr_wal_discard (&wal);
    ck_assert_int_eq (s_segments_count (dir), 2);
    s_dir_remove (dir);

    ck_assert_int_eq (mkdir (dir, 0700), 0);
    wal = s_open (dir, &state);         /* queued, not synced */
    s_append (wal, 1, 1, 1, 8);
    zr_wal_discard (&wal);
    ck_assert_int_eq (s_segments_count (dir), 2);
    s_dir_remove (dir);

    ck_assert_int_eq (mkdir (dir, 0700), 0);
    snprintf (path, sizeof path, "%s/README", dir);
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    fclose (f);
    wal = s_open (dir, &state);         /* a directory with a file of its own */
    zr_wal_discard (&wal);
    ck_assert_int_eq (s_segments_count (dir), 2);
    ck_assert_int_eq (access (path, F_OK), 0);
    s_dir_remove (dir);
    s_dir_remove (base);
}
END_TEST

START_TEST (wal_open_failing_on_a_full_disk_leaves_nothing)
{
    /* A first open that cannot make its segments (a 1.5 MiB disk, two
       1 MiB segments: pages up to 512 KiB keep the second out) fails
       with a reason and leaves the directory it made gone; one that was
       there and empty stays empty. */
    char small [64], dir [128];
    s_dir_new (small);
    ck_assert_msg (mount ("tmpfs", small, "tmpfs", 0, "size=1536k,mode=0700") == 0,
                   "mount tmpfs on %s: %s (the suite runs as root)", small,
                   strerror (errno));
    snprintf (dir, sizeof dir, "%s/wal", small);
    for (int given = 0; given < 2; given++) {
        if (given)
            ck_assert_int_eq (mkdir (dir, 0700), 0);
        zr_wal_t *wal = NULL;
        zr_wal_state_t state;
        char err [256] = "";
        int rc = zr_wal_open (dir, 1u << 20, 0, &wal, &state, err, sizeof err);
        ck_assert_msg (rc == ZR_EIO && wal == NULL, "open: %d %s", rc, err);
        ck_assert_msg (strstr (err, "No space left"), "%s", err);
        if (given) {
            ck_assert_int_eq (access (dir, F_OK), 0);
            DIR *d = opendir (dir);
            ck_assert_ptr_nonnull (d);
            struct dirent *de;
            while ((de = readdir (d)))
                ck_assert_msg (de->d_name [0] == '.', "%s left", de->d_name);
            closedir (d);
        }
        else
            ck_assert_int_eq (access (dir, F_OK), -1);
    }
    ck_assert_int_eq (rmdir (dir), 0);
    ck_assert_int_eq (umount (small), 0);
    ck_assert_int_eq (rmdir (small), 0);
}
END_TEST

START_TEST (wal_append_survives_reopen)
{
    /* Entries (payload, term, type) and hard state come back after reopen;
       empty payloads too. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 5, 2), 0);
    s_append (wal, 1, 10, 5, 100);
    s_sync (wal);
    s_append (wal, 11, 3, 5, 0);
    s_sync (wal);
    ck_assert_uint_eq (zr_wal_last_index (wal), 13);
    zr_wal_destroy (&wal);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.term, 5);
    ck_assert_uint_eq (state.vote, 2);
    ck_assert_uint_eq (state.n_entries, 13);
    s_check_entries (&state, 1, 10, 5, 100);
    ck_assert_ptr_null (state.entries [11].data);
    ck_assert_uint_eq (state.entries [12].size, 0);
    /* One blob holds every payload. */
    ck_assert_ptr_eq (state.entries [0].blob, state.entries [9].blob);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_set_hard_state_last_wins)
{
    /* Later hard-state records overwrite earlier ones on replay. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 1, 1), 0);
    s_sync (wal);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 2, 0), 0);
    s_append (wal, 1, 2, 2, 8);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 3, 3), 0);
    s_sync (wal);
    zr_wal_destroy (&wal);
    s_reopen_check (dir, 2, 2, 8, &state);
    ck_assert_uint_eq (state.term, 3);
    ck_assert_uint_eq (state.vote, 3);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_append_truncates_conflicting_suffix)
{
    /* Figure 2, AppendEntries step 3: re-appending at index 6 drops 6..10,
       durably. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    s_append (wal, 1, 10, 1, 20);
    s_sync (wal);
    s_append (wal, 6, 2, 2, 30);
    ck_assert_uint_eq (zr_wal_last_index (wal), 7);
    s_sync (wal);
    zr_wal_destroy (&wal);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.n_entries, 7);
    ck_assert_uint_eq (zr_wal_last_index (wal), 7);
    s_check_entries (&state, 1, 5, 1, 20);
    ck_assert_uint_eq (state.entries [5].term, 2);
    ck_assert_uint_eq (state.entries [6].size, 30);
    ck_assert_uint_eq (state.entries [6].data [29], s_byte (7, 29));
    /* Appending after recovery continues at the end of the last record. */
    s_append (wal, 8, 1, 2, 30);
    s_sync (wal);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.n_entries, 8);
    ck_assert_uint_eq (state.entries [7].data [0], s_byte (8, 0));
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_append_spans_segments)
{
    /* 3000 entries over 15 syncs fill several preallocated segments and all
       come back. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    for (int i = 0; i < 15; i++) {
        s_append (wal, (zr_index_t) i * 200 + 1, 200, 7, 100);
        s_sync (wal);
    }
    zr_wal_destroy (&wal);
    ck_assert_int_ge (s_segments_count (dir), 7);
    s_reopen_check (dir, 3000, 7, 100, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    /* One sync crossing several segments works too. */
    wal = s_open (dir, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_append (wal, 3001, 2000, 7, 100);
    s_sync (wal);
    zr_wal_destroy (&wal);
    s_reopen_check (dir, 5000, 7, 100, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_append_moves_record_to_next_segment)
{
    /* Invariant (1): a record that does not fit the rest of a segment starts
       the next one. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    s_append (wal, 1, 1, 1, 40000);
    s_append (wal, 2, 1, 1, 30000);
    s_sync (wal);
    zr_wal_stats_t stats;
    zr_wal_stats (wal, &stats);
    ck_assert_uint_eq (stats.syncs, 2);     /* one fdatasync per segment */
    zr_wal_destroy (&wal);
    uint8_t head [8], rest [64];
    s_seg_path (path, dir, 2);
    s_peek (path, SEG_HEADER, head, sizeof head);
    ck_assert_uint_eq (head [4] | head [5] << 8 | head [6] << 16, 30000);
    s_seg_path (path, dir, 1);
    s_peek (path, SEG_HEADER + (off_t) s_rec_bytes (40000), rest, sizeof rest);
    for (size_t i = 0; i < sizeof rest; i++)
        ck_assert_uint_eq (rest [i], 0);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.n_entries, 2);
    ck_assert_uint_eq (state.entries [1].data [29999], s_byte (2, 29999));
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_append_rejects_too_big)
{
    /* An entry larger than a segment can hold after its preamble
       (invariant 9) is refused and nothing is queued. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    uint32_t max = SEG - SEG_HEADER - 3 * REC_HEADER;
    zr_entry_t *entries = s_entries (1, 2, 1, max + 8);
    ck_assert_int_eq (zr_wal_append (wal, entries, 2), ZR_ETOOBIG);
    zr_entries_destroy (&entries, 2);
    ck_assert_uint_eq (zr_wal_last_index (wal), 0);
    s_append (wal, 1, 1, 1, max);
    s_sync (wal);
    zr_wal_destroy (&wal);
    s_reopen_check (dir, 1, 1, max, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_truncates_torn_tail)
{
    /* Invariant (5): garbage after the last record of the last segment is a
       torn tail: zeroed, then a clean reopen. */
    char dir [64], path [512];
    s_written (dir, 5, 50);
    uint8_t garbage [100];
    memset (garbage, 0xab, sizeof garbage);
    s_seg_path (path, dir, 1);
    s_patch (path, SEG_HEADER + 5 * (off_t) s_rec_bytes (50), garbage,
             sizeof garbage);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_uint_eq (state.torn_bytes, 100);
    ck_assert_uint_eq (state.n_entries, 5);
    s_check_entries (&state, 1, 5, 1, 50);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_append (wal, 6, 1, 1, 50);
    s_sync (wal);
    zr_wal_destroy (&wal);
    s_reopen_check (dir, 6, 1, 50, &state);
    ck_assert_uint_eq (state.torn_bytes, 0);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_truncates_partial_last_record)
{
    /* Invariant (5): a last record whose end never reached the disk is
       dropped; earlier ones survive. */
    char dir [64], path [512];
    s_written (dir, 5, 200);
    uint8_t zeros [100] = {0};
    s_seg_path (path, dir, 1);
    s_patch (path, SEG_HEADER + 4 * (off_t) s_rec_bytes (200) + 120, zeros,
             sizeof zeros);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_uint_gt (state.torn_bytes, 0);
    ck_assert_uint_eq (state.n_entries, 4);
    ck_assert_uint_eq (zr_wal_last_index (wal), 4);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_reopen_check (dir, 4, 1, 200, &state);
    ck_assert_uint_eq (state.torn_bytes, 0);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_truncates_torn_segment_start)
{
    /* Invariant (5): a torn first record of the last data segment is a torn
       tail, though earlier segments hold data. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    uint32_t per_seg = (SEG - SEG_HEADER) / (uint32_t) s_rec_bytes (100);
    s_append (wal, 1, per_seg, 1, 100);
    s_sync (wal);
    s_append (wal, per_seg + 1, 1, 1, 100);
    s_sync (wal);
    zr_wal_destroy (&wal);
    uint8_t garbage [8];
    memset (garbage, 0x77, sizeof garbage);
    s_seg_path (path, dir, 2);
    s_patch (path, SEG_HEADER + REC_HEADER + 40, garbage, sizeof garbage);
    wal = s_open (dir, &state);
    ck_assert_uint_gt (state.torn_bytes, 0);
    ck_assert_uint_eq (state.n_entries, per_seg);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_append (wal, per_seg + 1, 1, 1, 100);
    s_sync (wal);
    zr_wal_destroy (&wal);
    s_reopen_check (dir, per_seg + 1, 1, 100, &state);
    ck_assert_uint_eq (state.torn_bytes, 0);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_refuses_corrupt_middle)
{
    /* Invariant (5): a bad record followed by valid ones may hide acknowledged
       data: refuse, naming file and offset. */
    char dir [64], path [512];
    s_written (dir, 5, 50);
    s_seg_path (path, dir, 1);
    off_t off = SEG_HEADER + (off_t) s_rec_bytes (50);
    uint8_t byte;
    s_peek (path, off + REC_HEADER + 3, &byte, 1);
    byte ^= 0x10;
    s_patch (path, off + REC_HEADER + 3, &byte, 1);
    char want [128];
    snprintf (want, sizeof want, "wal-0000000000000001.seg: crc mismatch at "
              "offset %lld (valid records follow", (long long) off);
    s_open_fails (dir, ZR_ECORRUPT, want);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_refuses_corrupt_non_last_segment)
{
    /* Invariant (2): a segment is durable before the next is written, so
       damage in it is corruption. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    uint32_t per_seg = (SEG - SEG_HEADER) / (uint32_t) s_rec_bytes (100);
    s_append (wal, 1, per_seg + 10, 1, 100);
    s_sync (wal);
    zr_wal_destroy (&wal);
    s_seg_path (path, dir, 1);
    uint8_t garbage [16];
    memset (garbage, 0x5a, sizeof garbage);
    off_t off = SEG_HEADER + (off_t) (per_seg - 1) * (off_t) s_rec_bytes (100);
    s_patch (path, off + REC_HEADER, garbage, sizeof garbage);
    s_open_fails (dir, ZR_ECORRUPT, "wal-0000000000000001-0000000000000001-"
                  "00000000000001e1.seg: crc mismatch at offset");
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_refuses_missing_segment)
{
    /* A hole in the sequence of segments loses records: refuse, naming the
       missing file. */
    char dir [64], path [512];
    s_written (dir, 1500, 100);
    s_seg_path (path, dir, 2);
    ck_assert_int_eq (unlink (path), 0);
    s_open_fails (dir, ZR_ECORRUPT, "wal-0000000000000002.seg: missing");
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_refuses_resized_segment)
{
    /* Invariant (3): a segment whose size is not the one its header
       records was cut short since it was made (an operator's truncate
       once lost acknowledged entries and the vote silently): refused.
       A header from before the size was recorded (zeros) is not
       checked. */
    char dir [64], path [512];
    s_written (dir, 5, 50);
    s_seg_path (path, dir, 1);
    zr_wal_state_t state;
    zr_wal_t *wal;
    ck_assert_int_eq (truncate (path, SEG - 4096), 0);
    s_open_fails (dir, ZR_ECORRUPT, "cut short or extended");
    ck_assert_int_eq (truncate (path, SEG), 0);
    uint8_t zeros [12] = {0};
    s_patch (path, 20, zeros, sizeof zeros);        /* an older header */
    ck_assert_int_eq (truncate (path, SEG - 4096), 0);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.n_entries, 5);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_refuses_index_gap)
{
    /* Invariant (4): a CRC-valid entry past last + 1 means lost records:
       refuse. */
    char dir [64], path [512];
    s_written (dir, 2, 8);
    uint8_t rec [40];
    s_record (rec, 1, ZR_ENTRY_COMMAND, 1, 9, 8);
    s_seg_path (path, dir, 1);
    s_patch (path, SEG_HEADER + 2 * (off_t) s_rec_bytes (8), rec, sizeof rec);
    s_open_fails (dir, ZR_ECORRUPT, "gap: entry index 9 after last index 2");
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_cleans_preparation_leftovers)
{
    /* Temp files and a garbage-headed empty last segment from a crash during
       preparation are removed. */
    char dir [64], path [512];
    s_written (dir, 3, 10);
    snprintf (path, sizeof path, "%s/wal-0000000000000003.seg.tmp", dir);
    int fd = open (path, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge (fd, 0);
    close (fd);
    s_seg_path (path, dir, 2);
    s_patch (path, 0, "garbage!", 8);
    zr_wal_state_t state;
    s_reopen_check (dir, 3, 1, 10, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    ck_assert_int_eq (s_segments_count (dir), 2);
    snprintf (path, sizeof path, "%s/wal-0000000000000003.seg.tmp", dir);
    ck_assert_int_ne (access (path, F_OK), 0);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_sync_groups_commit)
{
    /* Group commit: 1000 appended entries then one sync cost one fdatasync; an
       empty sync costs none. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    for (zr_index_t i = 1; i <= 1000; i++)
        s_append (wal, i, 1, 1, 16);
    s_sync (wal);
    s_sync (wal);
    zr_wal_stats_t stats;
    zr_wal_stats (wal, &stats);
    ck_assert_uint_eq (stats.syncs, 1);
    ck_assert_uint_eq (stats.records, 1000);
    ck_assert_uint_eq (stats.bytes, 1000 * s_rec_bytes (16));
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 2, 1), 0);
    s_sync (wal);
    zr_wal_stats (wal, &stats);
    ck_assert_uint_eq (stats.syncs, 2);
    ck_assert_uint_eq (stats.records, 1001);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_preallocates_segments)
{
    /* Invariant (3): every segment file has its full size and allocated
       blocks. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_int_eq (s_segments_count (dir), 2);
    s_append (wal, 1, 1000, 1, 100);
    s_sync (wal);
    ck_assert_int_ge (s_segments_count (dir), 3);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_sync_error_is_sticky)
{
    /* Invariant (6): after a failed write every call fails, so nothing is
       acknowledged. */
    char dir [64], err [256];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    s_append (wal, 1, 2, 1, 10);
    s_sync (wal);
    s_append (wal, 3, 1, 1, 10);
    zr_wal_test_fail (wal);
    ck_assert_int_eq (zr_wal_sync (wal, err, sizeof err), ZR_EIO);
    ck_assert_ptr_nonnull (strstr (err, "wal-0000000000000001.seg: pwrite"));
    ck_assert_int_eq (zr_wal_append (wal, NULL, 0), ZR_EIO);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 2, 2), ZR_EIO);
    err [0] = '\0';
    ck_assert_int_eq (zr_wal_sync (wal, err, sizeof err), ZR_EIO);
    ck_assert_ptr_nonnull (strstr (err, "pwrite"));
    zr_wal_destroy (&wal);
    s_reopen_check (dir, 2, 1, 10, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_spares_prepared_elsewhere)
{
    /* zr_wal_spare_*: once the owner asks for spares, sync never creates
       one; a job runs on another thread while the WAL goes on syncing; a
       sync that needs the pending spare is flagged; a failed job is
       retried by the switch itself. */
    char dir [64], path [512];
    s_dir_new (dir);
    int fds = s_open_fds ();
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    zr_wal_spare_t job;
    ck_assert (!zr_wal_spare_wanted (wal, &job));   /* open made a spare */
    /* 800 records of 136 B: the spare (2) becomes current, half full. */
    s_append (wal, 1, 800, 1, 100);
    s_sync (wal);
    ck_assert_int_eq (s_segments_count (dir), 2);   /* none made by sync */
    ck_assert (zr_wal_spare_wanted (wal, &job));
    ck_assert_uint_eq (job.seq, 3);
    ck_assert (!zr_wal_spare_wanted (wal, &job));   /* one job at a time */
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_prepare_thread, &job), 0);
    s_append (wal, 801, 50, 1, 100);                /* still segment 2 */
    ck_assert (!zr_wal_spare_awaited (wal));
    s_sync (wal);
    s_append (wal, 851, 200, 1, 100);               /* crosses into 3 */
    ck_assert (zr_wal_spare_awaited (wal));
    ck_assert_int_eq (pthread_join (thread, NULL), 0);
    ck_assert_int_eq (zr_wal_spare_done (wal, &job), 0);
    ck_assert (!zr_wal_spare_awaited (wal));
    s_sync (wal);
    ck_assert_int_eq (s_segments_count (dir), 3);
    /* A failing job (its temp name taken by a directory) is reported,
       not retried by wanted; the switch creates the spare itself. */
    s_append (wal, 1051, 300, 1, 100);
    s_sync (wal);
    snprintf (path, sizeof path, "%s/wal-%016llx.seg.tmp", dir, 4ULL);
    ck_assert_int_eq (mkdir (path, 0700), 0);
    ck_assert (zr_wal_spare_wanted (wal, &job));
    ck_assert_uint_eq (job.seq, 4);
    zr_wal_spare_prepare (&job);
    ck_assert_int_eq (zr_wal_spare_done (wal, &job), ZR_EIO);
    ck_assert_msg (strstr (job.error, "wal-0000000000000004.seg.tmp: create"),
                   "job error '%s'", job.error);
    ck_assert (!zr_wal_spare_wanted (wal, &job));
    ck_assert_int_eq (rmdir (path), 0);
    s_append (wal, 1351, 400, 1, 100);              /* crosses into 4 */
    s_sync (wal);
    ck_assert_int_eq (s_segments_count (dir), 4);
    /* A job its owner never takes back (the persister gone) is discarded:
       its descriptors close and the segment it made stays, complete. */
    ck_assert (zr_wal_spare_wanted (wal, &job));    /* 4 is half full */
    zr_wal_spare_prepare (&job);
    zr_wal_spare_discard (&job);
    zr_wal_destroy (&wal);
    ck_assert_int_eq (s_open_fds (), fds);          /* every job's dup closed */
    ck_assert_int_eq (s_segments_count (dir), 5);
    wal = s_open (dir, &state);                     /* takes 5 as its spare */
    zr_entries_destroy (&state.entries, state.n_entries);
    ck_assert_int_eq (s_segments_count (dir), 5);
    zr_wal_destroy (&wal);
    s_reopen_check (dir, 1750, 1, 100, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_set_start_empties_log)
{
    /* Invariant (4): a log start discards every entry before it; entries
       resume at start + 1 and entries[i].index == first + i. It is durable
       only after a sync. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    s_append (wal, 1, 10, 1, 20);
    s_sync (wal);
    ck_assert_int_eq (zr_wal_set_start (wal, 40, 3), 0);
    ck_assert_uint_eq (zr_wal_last_index (wal), 40);
    zr_wal_destroy (&wal);                  /* the start was never synced */
    s_reopen_check (dir, 10, 1, 20, &state);
    ck_assert_uint_eq (state.start_index, 0);
    zr_entries_destroy (&state.entries, state.n_entries);
    wal = s_open (dir, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    ck_assert_int_eq (zr_wal_set_start (wal, 40, 3), 0);
    s_append (wal, 41, 5, 4, 20);
    s_append (wal, 43, 1, 5, 20);           /* truncates back to 42 */
    s_sync (wal);
    zr_wal_destroy (&wal);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.start_index, 40);
    ck_assert_uint_eq (state.start_term, 3);
    ck_assert_uint_eq (state.n_entries, 3);
    ck_assert_uint_eq (zr_wal_last_index (wal), 43);
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_uint_eq (state.entries [i].index, 41 + i);
    ck_assert_uint_eq (state.entries [2].term, 5);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_refuses_entry_below_start)
{
    /* Invariant (4): after a log start S, an entry <= S is corruption. */
    char dir [64], path [512];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_int_eq (zr_wal_set_start (wal, 20, 2), 0);
    s_append (wal, 21, 2, 2, 8);
    s_sync (wal);
    zr_wal_destroy (&wal);
    uint8_t rec [40];
    s_record (rec, 1, ZR_ENTRY_COMMAND, 2, 20, 8);
    s_seg_path (path, dir, 1);
    s_patch (path, SEG_HEADER + REC_HEADER + 2 * (off_t) s_rec_bytes (8), rec,
             sizeof rec);
    s_open_fails (dir, ZR_ECORRUPT,
                  "gap: entry index 20 after last index 22 (log start 20)");
    s_dir_remove (dir);
}
END_TEST

/* Expects the record at off in segment seq of dir to be a HARDSTATE
   (type 2) or LOGSTART (type 3, sub 1: a restatement) of term and value. */
static void
s_check_preamble (const char *dir, uint64_t seq, off_t off, uint8_t type,
                  uint64_t term, uint64_t value)
{
    char path [512];
    uint8_t got [REC_HEADER], want [REC_HEADER];
    s_seg_path (path, dir, seq);
    s_peek (path, off, got, sizeof got);
    s_record (want, type, type == 3 ? 1 : 0, term, value, 0);
    ck_assert_msg (memcmp (got, want, REC_HEADER) == 0,
                   "segment %llu offset %lld: not the expected preamble",
                   (unsigned long long) seq, (long long) off);
}

START_TEST (wal_segments_start_with_hard_state)
{
    /* Invariant (9): each segment opens with the hard state and log start
       queued before it, the ones synced in the same batch included, so
       deleting older segments loses neither. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 7, 2), 0);
    ck_assert_int_eq (zr_wal_set_start (wal, 5, 6), 0);
    s_sync (wal);
    uint32_t per_seg = (SEG - SEG_HEADER) / (uint32_t) s_rec_bytes (100);
    s_append (wal, 6, per_seg - 1, 7, 100); /* segment 1 all but 160 B */
    s_sync (wal);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 8, 3), 0);  /* fits in 1 */
    s_append (wal, 5 + per_seg, 11, 8, 100);  /* into segment 2 */
    s_sync (wal);
    s_check_preamble (dir, 2, SEG_HEADER, 2, 8, 3);
    s_check_preamble (dir, 2, SEG_HEADER + REC_HEADER, 3, 6, 5);
    zr_wal_destroy (&wal);
    wal = s_open (dir, &state);
    ck_assert_uint_eq (state.term, 8);
    ck_assert_uint_eq (state.vote, 3);
    ck_assert_uint_eq (state.start_index, 5);
    ck_assert_uint_eq (state.n_entries, per_seg + 10);
    ck_assert_uint_eq (state.entries [0].index, 6);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

/* Returns true if dir holds a file called name. */
static bool
s_exists (const char *dir, const char *name)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    return access (path, F_OK) == 0;
}

#define PER_SEG 481     /* entries of 100 B in a segment (0x1e1) */
#define SEG1 "wal-0000000000000001-0000000000000001-00000000000001e1.seg"
#define SEG2 "wal-0000000000000002-00000000000001e2-00000000000003c2.seg"
#define SEG3 "wal-0000000000000003-00000000000003c3-00000000000005a3.seg"

/* Writes term 3 (vote 2) and entries 1..n of 100 B, synced, in a new
   directory: PER_SEG entries a segment, the preambles included. */
static zr_wal_t *
s_wal_of (char *dir, uint32_t n)
{
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 3, 2), 0);
    s_append (wal, 1, n, 3, 100);
    s_sync (wal);
    return wal;
}

START_TEST (wal_segments_renamed_when_closed)
{
    /* Invariant (10): a full, synced segment is renamed after the indexes
       it writes; recovery completes a rename a crash lost, and drops an
       open name left beside a closed one. */
    char dir [64], path [512], open_name [512];
    zr_wal_t *wal = s_wal_of (dir, 2 * PER_SEG + 10);
    ck_assert (s_exists (dir, SEG1));
    ck_assert (s_exists (dir, SEG2));
    ck_assert (s_exists (dir, "wal-0000000000000003.seg"));     /* current */
    zr_wal_destroy (&wal);
    snprintf (path, sizeof path, "%s/%s", dir, SEG2);
    snprintf (open_name, sizeof open_name, "%s/wal-0000000000000002.seg", dir);
    ck_assert_int_eq (rename (path, open_name), 0);
    zr_wal_state_t state;
    s_reopen_check (dir, 2 * PER_SEG + 10, 3, 100, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    ck_assert (s_exists (dir, SEG2));
    ck_assert (!s_exists (dir, "wal-0000000000000002.seg"));
    /* A directory copied over an older copy of itself holds both names
       of a segment: the open one is the older and is deleted. */
    s_seg_path (path, dir, 1);
    snprintf (open_name, sizeof open_name, "%s/wal-0000000000000001.seg", dir);
    int fd = open (open_name, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge (fd, 0);
    close (fd);
    s_reopen_check (dir, 2 * PER_SEG + 10, 3, 100, &state);
    zr_entries_destroy (&state.entries, state.n_entries);
    ck_assert (!s_exists (dir, "wal-0000000000000001.seg"));
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_compact_deletes_covered_segments)
{
    /* zr_wal_compact deletes closed segments whose indexes are all <= upto,
       never one with a higher index nor the current one; the hard state
       survives in the preambles (invariant 9); the log reopens from the
       snapshot on. */
    char dir [64];
    zr_wal_t *wal = s_wal_of (dir, 3 * PER_SEG + 10);
    ck_assert_int_eq (zr_wal_compact (wal, PER_SEG - 1), 0);
    ck_assert (s_exists (dir, SEG1));
    ck_assert_int_eq (zr_wal_compact (wal, 2 * PER_SEG), 0);
    ck_assert (!s_exists (dir, SEG1));
    ck_assert (!s_exists (dir, SEG2));
    ck_assert (s_exists (dir, SEG3));
    ck_assert_int_eq (zr_wal_compact (wal, 1000000), 0);
    ck_assert (!s_exists (dir, SEG3));
    ck_assert (s_exists (dir, "wal-0000000000000004.seg"));     /* current */
    s_append (wal, 3 * PER_SEG + 11, 5, 3, 100);
    s_sync (wal);
    zr_wal_destroy (&wal);
    zr_wal_state_t state;
    wal = s_open_snap (dir, 3 * PER_SEG + 2, &state);
    ck_assert_uint_eq (state.term, 3);
    ck_assert_uint_eq (state.vote, 2);
    ck_assert_uint_eq (state.n_entries, 15);
    ck_assert_uint_eq (state.entries [0].index, 3 * PER_SEG + 1);
    ck_assert_uint_eq (zr_wal_last_index (wal), 3 * PER_SEG + 15);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    char want [160];
    snprintf (want, sizeof want, "gap: the snapshot covers indexes up to %d "
              "and the log start is 0, but the first entry recovered is %d",
              3 * PER_SEG - 1, 3 * PER_SEG + 1);
    zr_wal_t *refused = NULL;
    char err [256];
    ck_assert_int_eq (zr_wal_open (dir, SEG, 3 * PER_SEG - 1, &refused, &state,
                                   err, sizeof err), ZR_ECORRUPT);
    ck_assert_msg (strstr (err, want), "errmsg '%s'", err);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_skips_covered_segments)
{
    /* zr_wal_open (snap_index) deletes closed segments the snapshot covers
       without reading them, but keeps the newest closed one (the next may
       be empty); the entries start at or before snap_index + 1. */
    char dir [64];
    zr_wal_t *wal = s_wal_of (dir, 3 * PER_SEG + 10);
    zr_wal_destroy (&wal);
    char path [512];
    s_seg_path (path, dir, 1);
    s_patch (path, SEG_HEADER + 200, "garbage!", 8);    /* never read */
    zr_wal_state_t state;
    wal = s_open_snap (dir, 3 * PER_SEG, &state);
    ck_assert (!s_exists (dir, SEG1));
    ck_assert (!s_exists (dir, SEG2));
    ck_assert (s_exists (dir, SEG3));                   /* newest closed */
    ck_assert_uint_eq (state.term, 3);
    ck_assert_uint_eq (state.entries [0].index, 2 * PER_SEG + 1);
    ck_assert_uint_eq (state.n_entries, PER_SEG + 10);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_keeps_segment_holding_snapshot)
{
    /* zr_wal_open (snap_index) keeps the segment that holds snap_index
       itself, even when it ends there: the node checks that entry's term
       against the snapshot's (a log that differs there must restart
       after the snapshot; one that starts after it cannot be checked). */
    char dir [64];
    zr_wal_t *wal = s_wal_of (dir, 3 * PER_SEG + 10);
    zr_wal_destroy (&wal);
    zr_wal_state_t state;
    wal = s_open_snap (dir, 2 * PER_SEG, &state);
    ck_assert (!s_exists (dir, SEG1));
    ck_assert (s_exists (dir, SEG2));                   /* ends at the snapshot */
    ck_assert_uint_eq (state.entries [0].index, PER_SEG + 1);
    ck_assert_uint_le (state.entries [0].index, 2 * PER_SEG);
    ck_assert_uint_eq (state.n_entries, 2 * PER_SEG + 10);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

/* Reads from..to (durable: durable) with r, expecting rc and, when 0,
   n entries from index from of size bytes as s_entries makes them; a
   term of 0 skips the term check. */
static void
s_read_check (zr_wal_reader_t *r, zr_index_t from, zr_index_t to,
              size_t bytes_max, zr_index_t durable, int rc, uint32_t n,
              zr_term_t term, uint32_t size)
{
    zr_entry_t *entries = NULL;
    uint32_t got = 0;
    ck_assert_int_eq (zr_wal_read (r, from, to, bytes_max, durable, &entries,
                                   &got), rc);
    ck_assert_uint_eq (got, n);
    for (uint32_t i = 0; i < got; i++) {
        const zr_entry_t *e = &entries [i];
        ck_assert_uint_eq (e->index, from + i);
        ck_assert (term == 0 || e->term == term);
        ck_assert_uint_eq (e->size, size);
        for (uint32_t j = 0; j < size; j++)
            ck_assert_uint_eq (e->data [j], s_byte (e->index, j));
    }
    zr_entries_destroy (&entries, got);
}

START_TEST (wal_open_resumes_after_snapshot)
{
    /* Invariants (9, 10): with every entry compacted, the hard state lives
       on in the current segment's preamble and the log resumes after the
       snapshot. */
    char dir [64];
    zr_wal_t *wal = s_wal_of (dir, PER_SEG);
    for (zr_term_t t = 4; t <= 6; t++)     /* the third opens segment 2 */
        ck_assert_int_eq (zr_wal_set_hard_state (wal, t, 1), 0);
    s_sync (wal);
    ck_assert_int_eq (zr_wal_compact (wal, PER_SEG), 0);
    ck_assert (!s_exists (dir, SEG1));
    zr_wal_destroy (&wal);
    zr_wal_state_t state;
    wal = s_open_snap (dir, PER_SEG, &state);
    ck_assert_uint_eq (state.term, 6);
    ck_assert_uint_eq (state.n_entries, 0);
    ck_assert_uint_eq (zr_wal_last_index (wal), PER_SEG);
    s_append (wal, PER_SEG + 1, 2, 6, 100);
    s_sync (wal);
    zr_wal_destroy (&wal);
    wal = s_open_snap (dir, PER_SEG, &state);
    ck_assert_uint_eq (state.n_entries, 2);
    ck_assert_uint_eq (state.entries [0].index, PER_SEG + 1);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_read_by_index)
{
    /* Invariant (11): entries by index across segments, at least one, no
       more than bytes_max allows, none above durable. */
    char dir [64];
    uint32_t total = 3 * PER_SEG + 10;
    zr_wal_t *wal = s_wal_of (dir, total);
    zr_wal_reader_t *r = zr_wal_reader_new (dir);
    ck_assert_ptr_nonnull (r);
    s_read_check (r, 1, 5, 1 << 20, total, 0, 5, 3, 100);
    s_read_check (r, PER_SEG - 2, PER_SEG + 3, 1 << 20, total, 0, 6, 3, 100);
    s_read_check (r, 2 * PER_SEG, total, 1 << 20, total, 0, PER_SEG + 11, 3,
                  100);
    s_read_check (r, 10, 1000, 250, total, 0, 2, 3, 100);
    s_read_check (r, 10, 1000, 0, total, 0, 1, 3, 100);
    s_read_check (r, 15, 1000, 1 << 20, 20, 0, 6, 3, 100);
    s_read_check (r, 21, 1000, 1 << 20, 20, 0, 0, 0, 0);
    s_read_check (r, total + 1, total + 5, 1 << 20, total + 5, ZR_ECORRUPT, 0,
                  0, 0);
    s_append (wal, total + 1, 5, 3, 100);   /* the open segment grows */
    s_sync (wal);
    s_read_check (r, total - 1, total + 5, 1 << 20, total + 5, 0, 7, 3, 100);
    zr_wal_reader_destroy (&r);
    zr_wal_reader_destroy (&r);
    ck_assert_ptr_null (zr_wal_reader_new ("/nonexistent/zrwal"));
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_read_loads_past_chunk_boundary)
{
    /* Invariant (11): the reader loads a segment 1 MiB at a time; a record
       ending exactly at a chunk's end does not stop the load. */
    char dir [64], err [256];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = NULL;
    ck_assert_int_eq (zr_wal_open (dir, 2u << 20, 0, &wal, &state, err,
                                   sizeof err), 0);
    s_append (wal, 1, 1, 1, 192);       /* 32 + 224 + 8190 * 128 = 1 MiB */
    s_append (wal, 2, 8190, 1, 96);
    s_append (wal, 8192, 10, 1, 96);
    s_sync (wal);
    zr_wal_reader_t *r = zr_wal_reader_new (dir);
    s_read_check (r, 8190, 8201, 1 << 20, 8201, 0, 12, 1, 96);
    zr_wal_reader_destroy (&r);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_read_compacted)
{
    /* Invariant (11): an index compacted under a reader's index answers
       ZR_ECOMPACTED; so does one before a log start. */
    char dir [64];
    uint32_t total = 3 * PER_SEG + 10;
    zr_wal_t *wal = s_wal_of (dir, total);
    zr_wal_reader_t *r = zr_wal_reader_new (dir);
    s_read_check (r, 1, 5, 1 << 20, total, 0, 5, 3, 100);
    ck_assert_int_eq (zr_wal_compact (wal, 2 * PER_SEG), 0);
    s_read_check (r, 1, 5, 1 << 20, total, ZR_ECOMPACTED, 0, 0, 0);
    s_read_check (r, 2 * PER_SEG + 1, 2 * PER_SEG + 1, 1 << 20, total, 0, 1,
                  3, 100);
    ck_assert_int_eq (zr_wal_set_start (wal, total + 100, 4), 0);
    s_append (wal, total + 101, 3, 4, 100);
    s_sync (wal);
    s_read_check (r, total, total, 1 << 20, total + 103, ZR_ECOMPACTED, 0, 0,
                  0);
    s_read_check (r, total + 101, total + 200, 1 << 20, total + 103, 0, 3, 4,
                  100);
    zr_wal_reader_destroy (&r);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_read_latest_version)
{
    /* Invariant (11): after a truncation the entries read are the ones
       that replaced the old suffix, in the same or a later segment. */
    char dir [64];
    zr_wal_t *wal = s_wal_of (dir, PER_SEG + 10);
    s_append (wal, PER_SEG + 5, 2, 5, 100);     /* same segment (2) */
    s_append (wal, PER_SEG - 5, 3, 6, 100);     /* rewrites segment 1's end */
    s_sync (wal);
    zr_wal_reader_t *r = zr_wal_reader_new (dir);
    s_read_check (r, PER_SEG - 7, PER_SEG - 6, 1 << 20, PER_SEG - 3, 0, 2, 3,
                  100);
    s_read_check (r, PER_SEG - 5, PER_SEG + 10, 1 << 20, PER_SEG - 3, 0, 3, 6,
                  100);
    zr_wal_reader_destroy (&r);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

#define WRITER_ENTRIES 3000     /* entries the writer thread appends */
#define WRITER_KEEP 1200        /* entries it keeps behind when compacting */

typedef struct {
    zr_wal_t *wal;                      /* the writer's WAL */
    zr_index_t durable;                 /* last index synced (atomic) */
    uint32_t reads;                     /* reads done by the reader (atomic) */
} s_writer_t;

/* The writer thread: appends and syncs 30 entries at a time, publishes
   the durable index, and compacts WRITER_KEEP entries behind it. It lets
   the reader finish one read per batch, so the two overlap on any
   machine. */
static void *
s_writer_thread (void *arg)
{
    s_writer_t *w = (s_writer_t *) arg;
    for (zr_index_t i = 1; i <= WRITER_ENTRIES; i += 30) {
        s_append (w->wal, i, 30, 3, 100);
        s_sync (w->wal);
        __atomic_store_n (&w->durable, i + 29, __ATOMIC_RELEASE);
        if (i > WRITER_KEEP && i % 300 == 1)
            ck_assert_int_eq (zr_wal_compact (w->wal, i - WRITER_KEEP), 0);
        while (i + 29 < WRITER_ENTRIES
               && __atomic_load_n (&w->reads, __ATOMIC_ACQUIRE) < i / 30 + 1)
            sched_yield ();
    }
    return NULL;
}

START_TEST (wal_read_beside_writer)
{
    /* Invariant (11): a reader on another thread than the writer's sees
       every durable entry intact while segments switch, get renamed and
       are compacted under it; only what the writer compacted meanwhile
       answers ZR_ECOMPACTED. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    s_writer_t w = {s_open (dir, &state), 0, 0};
    zr_wal_reader_t *r = zr_wal_reader_new (dir);
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_writer_thread, &w), 0);
    uint32_t reads = 0, seed = 7;
    zr_index_t d;
    while ((d = __atomic_load_n (&w.durable, __ATOMIC_ACQUIRE))
           < WRITER_ENTRIES) {
        if (d == 0)
            continue;
        seed = seed * 1103515245u + 12345u;
        zr_index_t back = (seed >> 8) % 600;
        zr_index_t from = d > back ? d - back : 1;
        zr_entry_t *entries = NULL;
        uint32_t n = 0;
        int rc = zr_wal_read (r, from, from + 50, 1 << 20, d, &entries, &n);
        __atomic_add_fetch (&w.reads, 1, __ATOMIC_RELEASE);
        if (rc == ZR_ECOMPACTED) {
            d = __atomic_load_n (&w.durable, __ATOMIC_ACQUIRE);
            ck_assert_uint_le (from + WRITER_KEEP, d + 30);
            continue;
        }
        ck_assert_msg (rc == 0, "read %llu (durable %llu): %d",
                       (unsigned long long) from, (unsigned long long) d, rc);
        ck_assert_uint_ge (n, 1);
        ck_assert_uint_le (entries [n - 1].index, d);
        for (uint32_t i = 0; i < n; i++) {
            ck_assert_uint_eq (entries [i].index, from + i);
            for (uint32_t j = 0; j < 100; j++)
                ck_assert_uint_eq (entries [i].data [j],
                                   s_byte (from + i, j));
        }
        zr_entries_destroy (&entries, n);
        reads++;
    }
    ck_assert_int_eq (pthread_join (thread, NULL), 0);
    ck_assert_uint_ge (reads, WRITER_ENTRIES / 30 - 1);
    zr_wal_reader_destroy (&r);
    zr_wal_destroy (&w.wal);
    s_dir_remove (dir);
}
END_TEST

/* Writes image (SEG bytes) to path, then n bytes of it at off xor'ed
   with flip (0: zeroed instead), and opens dir: the check of the torn
   tail tests. Returns zr_wal_open's rc; state as it filled it. */
static int
s_open_damaged (const char *dir, const char *path, const uint8_t *image,
                off_t off, size_t n, uint8_t flip, zr_wal_state_t *state,
                char *err)
{
    uint8_t damaged [128];
    ck_assert_uint_le (n, sizeof damaged);
    s_patch (path, 0, image, SEG);
    for (size_t i = 0; i < n; i++)
        damaged [i] = flip ? (uint8_t) (image [off + (off_t) i] ^ flip) : 0;
    s_patch (path, off, damaged, n);
    zr_wal_t *wal = NULL;
    int rc = zr_wal_open (dir, SEG, 0, &wal, state, err, 256);
    zr_wal_destroy (&wal);
    return rc;
}

START_TEST (wal_open_torn_tail_exhaustive)
{
    /* Invariant (5), byte by byte: the last record cut at every offset
       (the rest left zero, as a torn preallocated write leaves it) or
       with any one byte flipped recovers exactly the records before it;
       any byte flipped in the record before it is refused, naming the
       file and offset. */
    char dir [64], path [512], err [256], want [128];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    ck_assert_int_eq (zr_wal_set_hard_state (wal, 2, 1), 0);
    s_append (wal, 1, 3, 2, 50);
    s_sync (wal);
    zr_wal_destroy (&wal);
    s_seg_path (path, dir, 1);
    uint8_t *image = (uint8_t *) malloc (SEG);
    ck_assert_ptr_nonnull (image);
    s_peek (path, 0, image, SEG);
    size_t rec = s_rec_bytes (50);
    off_t last = SEG_HEADER + REC_HEADER + 2 * (off_t) rec;
    for (size_t k = 0; k < rec; k++) {
        int rc = s_open_damaged (dir, path, image, last + (off_t) k, rec - k,
                                 0, &state, err);
        ck_assert_msg (rc == 0, "cut at %zu: %s", k, err);
        ck_assert_uint_eq (state.n_entries, k < REC_HEADER + 50 ? 2 : 3);
        ck_assert_uint_eq (state.term, 2);
        zr_entries_destroy (&state.entries, state.n_entries);
        rc = s_open_damaged (dir, path, image, last + (off_t) k, 1, 0xff,
                             &state, err);
        ck_assert_msg (rc == 0, "flip at %zu: %s", k, err);
        ck_assert_uint_eq (state.n_entries, 2);
        s_check_entries (&state, 1, 2, 2, 50);
        ck_assert_uint_gt (state.torn_bytes, 0);
        zr_entries_destroy (&state.entries, state.n_entries);
        snprintf (want, sizeof want, "wal-0000000000000001.seg: ");
        rc = s_open_damaged (dir, path, image, last - (off_t) rec + (off_t) k,
                             1, 0xff, &state, err);
        ck_assert_int_eq (rc, ZR_ECORRUPT);
        ck_assert_msg (strstr (err, want), "flip at %zu: %s", k, err);
        snprintf (want, sizeof want, "at offset %lld (valid records follow",
                  (long long) (last - (off_t) rec));
        ck_assert_msg (strstr (err, want), "flip at %zu: %s", k, err);
    }
    free (image);
    s_dir_remove (dir);
}
END_TEST

START_TEST (wal_open_refuses_locked_directory)
{
    /* Invariant (8): one owner per data directory; a second open is refused
       with a clear message until the first is destroyed. */
    char dir [64];
    s_dir_new (dir);
    zr_wal_state_t state;
    zr_wal_t *wal = s_open (dir, &state);
    char want [256];
    snprintf (want, sizeof want, "data directory %s is in use by another "
              "process (lock %s/LOCK)", dir, dir);
    s_open_fails (dir, ZR_ELOCKED, want);
    zr_wal_destroy (&wal);
    wal = s_open (dir, &state);
    zr_wal_destroy (&wal);
    s_dir_remove (dir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("wal");
    TCase *tc = tcase_create ("wal");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, crc32c_check_value);
    tcase_add_test (tc, wal_open_empty);
    tcase_add_test (tc, wal_discard_removes_only_a_fresh_start);
    tcase_add_test (tc, wal_open_failing_on_a_full_disk_leaves_nothing);
    tcase_add_test (tc, wal_append_survives_reopen);
    tcase_add_test (tc, wal_set_hard_state_last_wins);
    tcase_add_test (tc, wal_append_truncates_conflicting_suffix);
    tcase_add_test (tc, wal_append_spans_segments);
    tcase_add_test (tc, wal_append_moves_record_to_next_segment);
    tcase_add_test (tc, wal_append_rejects_too_big);
    tcase_add_test (tc, wal_open_truncates_torn_tail);
    tcase_add_test (tc, wal_open_truncates_partial_last_record);
    tcase_add_test (tc, wal_open_truncates_torn_segment_start);
    tcase_add_test (tc, wal_open_refuses_corrupt_middle);
    tcase_add_test (tc, wal_open_refuses_corrupt_non_last_segment);
    tcase_add_test (tc, wal_open_refuses_missing_segment);
    tcase_add_test (tc, wal_open_refuses_resized_segment);
    tcase_add_test (tc, wal_open_refuses_index_gap);
    tcase_add_test (tc, wal_open_cleans_preparation_leftovers);
    tcase_add_test (tc, wal_sync_groups_commit);
    tcase_add_test (tc, wal_open_preallocates_segments);
    tcase_add_test (tc, wal_sync_error_is_sticky);
    tcase_add_test (tc, wal_spares_prepared_elsewhere);
    tcase_add_test (tc, wal_open_refuses_locked_directory);
    tcase_add_test (tc, wal_set_start_empties_log);
    tcase_add_test (tc, wal_open_refuses_entry_below_start);
    tcase_add_test (tc, wal_segments_start_with_hard_state);
    tcase_add_test (tc, wal_segments_renamed_when_closed);
    tcase_add_test (tc, wal_compact_deletes_covered_segments);
    tcase_add_test (tc, wal_open_skips_covered_segments);
    tcase_add_test (tc, wal_open_keeps_segment_holding_snapshot);
    tcase_add_test (tc, wal_open_resumes_after_snapshot);
    tcase_add_test (tc, wal_read_by_index);
    tcase_add_test (tc, wal_read_loads_past_chunk_boundary);
    tcase_add_test (tc, wal_read_compacted);
    tcase_add_test (tc, wal_read_latest_version);
    tcase_add_test (tc, wal_read_beside_writer);
    tcase_add_test (tc, wal_open_torn_tail_exhaustive);
    suite_add_tcase (s, tc);
    return check_run (s);
}
