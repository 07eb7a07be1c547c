/*  =========================================================================
    scratch - a directory for fuzz targets that recover from files, and a
    descriptor-leak probe

    The directory is made once per process under $TMPDIR, else /dev/shm
    (fdatasync on tmpfs costs nothing), else /tmp, emptied before each
    input by the target, and removed at exit. Targets are
    single-threaded: one directory per process.
    =========================================================================
*/
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir [256];                /* the directory, "" until made */

void
fuzz_scratch_clear (void)
{
    FUZZ_CHECK (s_dir [0]);
    DIR *d = opendir (s_dir);
    FUZZ_CHECK (d);
    struct dirent *de;
    while ((de = readdir (d)))
        if (de->d_name [0] != '.')
            FUZZ_CHECK (unlinkat (dirfd (d), de->d_name, 0) == 0);
    closedir (d);
}

static void
s_remove (void)
{
    fuzz_scratch_clear ();
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
