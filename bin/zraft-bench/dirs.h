/*  =========================================================================
    dirs - a run's data dirs and ports

    Makes the data dirs DIR/n<id> (never on data the run did not make),
    removes them at the end unless --keep, and picks free ports with
    plain sockets, so that --procs has no ZeroMQ state when it forks its
    zraft-node processes.
    =========================================================================
*/
#ifndef ZB_DIRS_H_INCLUDED
#define ZB_DIRS_H_INCLUDED

/* A run's data dirs: <dir>/n<id>, one per server. */
typedef struct {
    char dir [ZB_DIR_MAX];              /* parent of the n<id> dirs */
    bool dir_made;                      /* we made dir: remove it too */
    bool dirs_made;                     /* n<id> dirs are ours to remove */
    char data [ZRAFT_NODES_MAX][ZB_DIR_MAX + 16];    /* by id - 1 */
} zb_dirs_t;

/* Picks the data dirs: DIR/n<id> must not exist yet (we never run on,
   nor remove, data we did not make). Returns 0, or -1 after a message. */
int zb_dirs_make (zb_dirs_t *self, const zb_opts_t *opts);

/* Removes the data the run made, unless --keep (then says where). */
void zb_dirs_remove (zb_dirs_t *self, const zb_opts_t *opts);

/* Picks n free ports (n <= 2 x ZRAFT_NODES_MAX: a peer and a client port
   per node) with plain sockets (no ZeroMQ, so that --procs forks clean):
   binds port 0 of 127.0.0.1 for each, all at once so they differ, reads
   the port, closes them. Returns 0 or -1. */
int zb_ports_pick (uint16_t *ports, uint32_t n);

#endif
