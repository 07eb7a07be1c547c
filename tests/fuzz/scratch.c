/*  =========================================================================
    scratch - a directory for fuzz targets that recover from files, and a
    descriptor-leak probe

    The directory is made once per process under $TMPDIR, else /dev/shm
    (fdatasync on tmpfs costs nothing), else /tmp, emptied before each
    input by the target (but for names it rewrites: overwriting a file
    costs less than deleting it and making a new one), and removed at
    exit. It stays open from creation to exit, so emptying it is a
    rewind, a listing and the unlinks. Targets are single-threaded: one
    directory per process.
    =========================================================================
*/
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir [256];                /* the directory, "" until made */
static DIR *s_handle;                   /* open on it while it exists */

void
fuzz_scratch_clear_except (const char *const *names, size_t n)
{
    FUZZ_CHECK (s_dir [0] && s_handle);
    FUZZ_CHECK (names || n == 0);
    rewinddir (s_handle);
    struct dirent *de;
    while ((de = readdir (s_handle))) {
        bool keep = de->d_name [0] == '.';
        for (size_t i = 0; i < n && !keep; i++)
            keep = strcmp (de->d_name, names [i]) == 0;
        if (!keep)
            FUZZ_CHECK (unlinkat (dirfd (s_handle), de->d_name, 0) == 0);
    }
}

void
fuzz_scratch_clear (void)
{
    fuzz_scratch_clear_except (NULL, 0);
}

int
fuzz_scratch_fd (void)
{
    FUZZ_CHECK (s_handle);
    return dirfd (s_handle);
}

static void
s_remove (void)
{
    fuzz_scratch_clear ();
    closedir (s_handle);
    s_handle = NULL;
    rmdir (s_dir);
}

const char *
fuzz_scratch_dir (void)
{
    if (s_dir [0])
        return s_dir;
    const char *base = getenv ("TMPDIR");
    struct stat st;
    if (!base || !*base)
        base = stat ("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    snprintf (s_dir, sizeof s_dir, "%s/zr-fuzz-%s-XXXXXX", base, fuzz_target);
    FUZZ_CHECK (mkdtemp (s_dir));
    s_handle = opendir (s_dir);
    FUZZ_CHECK (s_handle);
    atexit (s_remove);
    return s_dir;
}

int
fuzz_fd_free (void)
{
    /* dup takes the lowest free descriptor, without a path lookup. */
    int fd = dup (STDERR_FILENO);
    FUZZ_CHECK (fd >= 0);
    close (fd);
    return fd;
}
