/*  =========================================================================
    dirs - a run's data dirs and ports

    Makes the data dirs DIR/n<id> (never on data the run did not make),
    removes them at the end unless --keep, and picks free ports with
    plain sockets, so that --procs has no ZeroMQ state when it forks its
    zraft-node processes.
    =========================================================================
*/
#include "bench.h"
#include "dirs.h"

/* Picks the data dirs: DIR/n<id> must not exist yet (we never run on,
   nor remove, data we did not make). Returns 0, or -1 after a message. */
int
zb_dirs_make (zb_dirs_t *self, const zb_opts_t *opts)
{
    memset (self, 0, sizeof *self);
    if (opts->dir) {
        snprintf (self->dir, sizeof self->dir, "%s", opts->dir);
        self->dir_made = access (self->dir, F_OK) != 0;
    }
    else {
        snprintf (self->dir, sizeof self->dir, "/tmp/zraft-bench-XXXXXX");
        if (!mkdtemp (self->dir)) {
            fprintf (stderr, "zraft-bench: mkdtemp: %s\n", strerror (errno));
            return -1;
        }
        self->dir_made = true;
    }
    size_t length = strlen (self->dir);
    assert (length < ZB_DIR_MAX);
    for (uint32_t i = 0; i < opts->nodes; i++) {
        memcpy (self->data [i], self->dir, length);  /* GCC -Wrestrict: no snprintf */
        snprintf (self->data [i] + length, 16, "/n%u", i + 1);
        if (access (self->data [i], F_OK) == 0) {
            fprintf (stderr, "zraft-bench: --dir: %s already exists; remove it"
                     " or pick another --dir\n", self->data [i]);
            return -1;
        }
    }
    if (zsys_dir_create ("%s", self->dir) != 0) {
        fprintf (stderr, "zraft-bench: cannot create %s: %s\n", self->dir,
                 strerror (errno));
        return -1;
    }
    self->dirs_made = true;
    return 0;
}

/* Removes one data dir and everything in it; warns if it stays. */
static void
s_dir_remove (const char *path)
{
    zdir_t *dir = zdir_new (path, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    if (access (path, F_OK) == 0)
        fprintf (stderr, "zraft-bench: could not remove %s\n", path);
}

/* Removes the data the run made, unless --keep (then says where). */
void
zb_dirs_remove (zb_dirs_t *self, const zb_opts_t *opts)
{
    if (!self->dirs_made)
        return;
    if (opts->keep) {
        fprintf (stderr, "zraft-bench: data kept in %s\n", self->dir);
        return;
    }
    for (uint32_t i = 0; i < opts->nodes; i++)
        if (access (self->data [i], F_OK) == 0)
            s_dir_remove (self->data [i]);
    if (self->dir_made && rmdir (self->dir) != 0)
        fprintf (stderr, "zraft-bench: could not remove %s\n", self->dir);
    self->dirs_made = false;
}

/* Picks n free ports (n <= 2 x ZRAFT_NODES_MAX: a peer and a client port
   per node) with plain sockets (no ZeroMQ, so that --procs forks clean):
   binds port 0 of 127.0.0.1 for each, all at once so they differ, reads
   the port, closes them. Returns 0 or -1. */
int
zb_ports_pick (uint16_t *ports, uint32_t n)
{
    int fds [2 * ZRAFT_NODES_MAX];
    assert (n <= 2 * ZRAFT_NODES_MAX);
    int rc = 0;
    uint32_t opened = 0;
    for (; opened < n && rc == 0; opened++) {
        fds [opened] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
        socklen_t len = sizeof addr;
        rc = fds [opened] < 0 ? -1
             : bind (fds [opened], (struct sockaddr *) &addr, sizeof addr)
               || getsockname (fds [opened], (struct sockaddr *) &addr, &len)
             ? -1 : 0;
        ports [opened] = ntohs (addr.sin_port);
    }
    for (uint32_t i = 0; i < opened; i++)
        if (fds [i] >= 0)
            close (fds [i]);
    if (rc)
        fprintf (stderr, "zraft-bench: cannot find free ports on 127.0.0.1:"
                 " %s\n", strerror (errno));
    return rc;
}

