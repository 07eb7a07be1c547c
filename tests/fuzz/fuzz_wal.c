/*  =========================================================================
    fuzz_wal - zr_wal_open recovering from arbitrary segment files

    The input is the content of segment 1 (wal-0000000000000001.seg) of
    a fresh WAL directory or, when it holds S_SPLIT, of segments 1 and 2:
    the bytes before the first S_SPLIT and those after it. Each file is
    padded with zeros to the segment size zr_wal_open is given,
    ZR_WAL_SEGMENT_BYTES_MIN, as zr_wal_append's files always are (wal.h
    invariant 3: a segment has its full size from creation), so inputs
    stay small and the seeds, real WALs written by zr_wal_append
    (tests/fuzz/seeds.c) with their zero tails cut, reach the record
    decoder. An input of odd length opens the WAL with segment_bytes
    twice the files' size (the operator raised it between two runs) and,
    after recovery, writes an entry of S_GROWN bytes, too big for the old
    segments. Checks:
    - zr_wal_open returns 0 or ZR_ECORRUPT with a reason in errmsg, and
      on error leaves *wal_p NULL and the state zeroed (ZR_EIO would mean
      the harness's disk failed, ZR_ENOMEM cannot happen here);
    - allocation stays within the bound below (S_ALLOC_*);
    - a recovered log keeps wal.h invariant (4) and holds no more payload
      than the input;
    - recovery is final: an entry and a hard state written after it are
      durable, and a second open finds nothing torn, the same log plus
      that entry, and the new hard state;
    - no file descriptor outlives zr_wal_destroy.
    The directory lives under $TMPDIR, else /dev/shm (fdatasync on tmpfs
    costs nothing), else /tmp, and is removed at exit.
    =========================================================================
*/
#include "../../actors/wal.h"
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char fuzz_target [] = "wal";

/* Separates segment 1 from segment 2 in an input. */
#define S_SPLIT "ZRSPLIT2"
#define S_SPLIT_BYTES (sizeof S_SPLIT - 1)

/* Allocation bound: S_ALLOC_FILE_MULTIPLE x the bytes of the segment
   files, for the read buffer (one file at a time, its size + 1 rounded
   up to a power of two by doubling), plus S_ALLOC_MULTIPLE x the input,
   which holds every non-zero byte: the entry array (a 40-byte
   zr_entry_t per record of at least 32 bytes, doubling), the payload
   buffer (doubling) and its final blob; plus S_ALLOC_CONSTANT for
   opendir's 32 KiB buffer and the zr_wal_t. */
#define S_ALLOC_FILE_MULTIPLE 4
#define S_ALLOC_MULTIPLE 16
#define S_ALLOC_CONSTANT (64 * 1024)

/* Payload bytes of the entry written after a successful recovery: a
   few, or, in S_GROWN mode, more than an old segment holds. */
#define S_PAYLOAD_BYTES 16
#define S_GROWN ZR_WAL_SEGMENT_BYTES_MIN

static char s_dir [256];                /* the WAL directory */
static uint8_t s_payload [S_GROWN];     /* of the entry written after */

/* Removes every file in the WAL directory. */
static void
s_dir_clear (void)
{
    DIR *d = opendir (s_dir);
    FUZZ_CHECK (d);
    struct dirent *de;
    while ((de = readdir (d)))
        if (de->d_name [0] != '.')
            FUZZ_CHECK (unlinkat (dirfd (d), de->d_name, 0) == 0);
    closedir (d);
}

static void
s_dir_remove (void)
{
    s_dir_clear ();
    rmdir (s_dir);
}

/* Creates the WAL directory on the first call. */
static void
s_dir_ready (void)
{
    if (s_dir [0])
        return;
    const char *base = getenv ("TMPDIR");
    struct stat st;
    if (!base || !*base)
        base = stat ("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    snprintf (s_dir, sizeof s_dir, "%s/zr-fuzz-wal-XXXXXX", base);
    for (size_t i = 0; i < sizeof s_payload; i++)
        s_payload [i] = (uint8_t) (i * 13 + 5);
    FUZZ_CHECK (mkdtemp (s_dir));
    atexit (s_dir_remove);
}

/* Writes segment seq: size bytes of data, then zeros up to a segment.
   Returns the file's size. */
static size_t
s_segment_write (uint64_t seq, const uint8_t *data, size_t size)
{
    char path [320];
    snprintf (path, sizeof path, "%s/wal-%016llx.seg", s_dir,
              (unsigned long long) seq);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK (fd >= 0);
    FUZZ_CHECK (write (fd, data, size) == (ssize_t) size);
    if (size < ZR_WAL_SEGMENT_BYTES_MIN)
        FUZZ_CHECK (ftruncate (fd, ZR_WAL_SEGMENT_BYTES_MIN) == 0);
    close (fd);
    return size < ZR_WAL_SEGMENT_BYTES_MIN ? ZR_WAL_SEGMENT_BYTES_MIN : size;
}

/* Returns the lowest free file descriptor. */
static int
s_fd_free (void)
{
    int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK (fd >= 0);
    close (fd);
    return fd;
}

/* Checks invariant (4) and the payload bound on a recovered state. */
static void
s_check_state (const zr_wal_state_t *state, size_t size)
{
    FUZZ_CHECK ((state->n_entries > 0) == (state->entries != NULL));
    uint64_t payload = 0;
    for (uint32_t i = 0; i < state->n_entries; i++) {
        const zr_entry_t *e = &state->entries [i];
        /* Invariant (4): consecutive from the first recovered, which
           follows the log start (LOGSTART) when there is one. */
        FUZZ_CHECK (e->index == state->entries [0].index + i);
        FUZZ_CHECK (state->start_index == 0 || state->entries [0].index > state->start_index);
        FUZZ_CHECK (e->type == ZR_ENTRY_COMMAND || e->type == ZR_ENTRY_NOOP);
        FUZZ_CHECK (e->size <= ZR_ENTRY_BYTES_MAX);
        FUZZ_CHECK ((e->size > 0) == (e->data != NULL));
        FUZZ_CHECK ((e->size > 0) == (e->blob != NULL));
        payload += e->size;
    }
    FUZZ_CHECK (payload <= size);
    FUZZ_CHECK (state->torn_bytes <= size);
}

/* Writes one entry of size bytes and a hard state into a recovered WAL,
   syncs. */
static void
s_append_after (zr_wal_t *wal, const zr_wal_state_t *state, uint32_t size)
{
    zr_index_t last = state->n_entries
                    ? state->entries [state->n_entries - 1].index : state->start_index;
    zr_term_t last_term = state->n_entries
                        ? state->entries [state->n_entries - 1].term : state->start_term;
    zr_entry_t entry = {.term = last_term > 1 ? last_term : 1, .index = last + 1,
                        .type = ZR_ENTRY_COMMAND, .size = size,
                        .data = s_payload};
    FUZZ_CHECK (zr_wal_append (wal, &entry, 1) == 0);
    FUZZ_CHECK (zr_wal_set_hard_state (wal, state->term, 1) == 0);
    char errmsg [256];
    FUZZ_CHECK (zr_wal_sync (wal, errmsg, sizeof errmsg) == 0);
}

/* Opens the WAL again and checks it holds first's log, the entry and
   the hard state s_append_after wrote, and nothing torn. */
static void
s_check_reopen (const zr_wal_state_t *first, size_t segment_bytes,
                uint32_t size)
{
    zr_wal_t *wal = NULL;
    zr_wal_state_t state;
    char errmsg [256];
    int rc = zr_wal_open (s_dir, segment_bytes, 0, &wal, &state, errmsg,
                          sizeof errmsg);
    if (rc)
        fprintf (stderr, "fuzz_wal: reopen: %s\n", errmsg);
    FUZZ_CHECK (rc == 0);
    FUZZ_CHECK (state.torn_bytes == 0);
    FUZZ_CHECK (state.term == first->term && state.vote == 1);
    FUZZ_CHECK (state.n_entries == first->n_entries + 1);
    for (uint32_t i = 0; i < first->n_entries; i++) {
        const zr_entry_t *x = &first->entries [i], *y = &state.entries [i];
        FUZZ_CHECK (x->index == y->index);
        FUZZ_CHECK (x->term == y->term && x->type == y->type);
        FUZZ_CHECK (x->size == y->size);
        FUZZ_CHECK (x->size == 0 || memcmp (x->data, y->data, x->size) == 0);
    }
    const zr_entry_t *last = &state.entries [first->n_entries];
    FUZZ_CHECK (last->size == size);
    FUZZ_CHECK (memcmp (last->data, s_payload, size) == 0);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
}

/* Checks what a failed open promises. */
static void
s_check_refused (int rc, const zr_wal_t *wal, const zr_wal_state_t *state,
                 const char *errmsg)
{
    FUZZ_CHECK (rc == ZR_ECORRUPT);
    FUZZ_CHECK (errmsg [0] != '\0');
    FUZZ_CHECK (wal == NULL);
    FUZZ_CHECK (state->entries == NULL && state->n_entries == 0);
    FUZZ_CHECK (state->term == 0 && state->vote == 0);
    FUZZ_CHECK (state->torn_bytes == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_dir_ready ();
    s_dir_clear ();
    const uint8_t *split = (const uint8_t *) memmem (data, size, S_SPLIT,
                                                     S_SPLIT_BYTES);
    size_t first = split ? (size_t) (split - data) : size;
    size_t disk = s_segment_write (1, data, first);
    if (split)
        disk += s_segment_write (2, split + S_SPLIT_BYTES,
                                 size - first - S_SPLIT_BYTES);
    bool grown = size % 2 == 1;
    size_t segment_bytes = ZR_WAL_SEGMENT_BYTES_MIN * (grown ? 2 : 1);
    uint32_t payload = grown ? S_GROWN : S_PAYLOAD_BYTES;
    int fds = s_fd_free ();
    zr_wal_t *wal = NULL;
    zr_wal_state_t state;
    char errmsg [256] = "";
    fuzz_alloc_begin ();
    int rc = zr_wal_open (s_dir, segment_bytes, 0, &wal, &state, errmsg,
                          sizeof errmsg);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_ALLOC_MULTIPLE,
                       S_ALLOC_FILE_MULTIPLE * disk + S_ALLOC_CONSTANT);
    if (rc) {
        s_check_refused (rc, wal, &state, errmsg);
        FUZZ_CHECK (s_fd_free () == fds);
        return 0;
    }
    FUZZ_CHECK (wal);
    s_check_state (&state, size);
    s_append_after (wal, &state, payload);
    zr_wal_destroy (&wal);
    s_check_reopen (&state, segment_bytes, payload);
    zr_entries_destroy (&state.entries, state.n_entries);
    FUZZ_CHECK (s_fd_free () == fds);
    return 0;
}
