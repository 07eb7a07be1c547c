/*  =========================================================================
    server - one zraft server of the bench: its state machine and start

    The benchmark's state machine (a counter of what was applied, plus
    --state-bytes of padding that stands for a large application state),
    one per server id; starting a server with the flags' configuration;
    the link faults of --drop and --delay; a status dump for failure
    reports. Used by the in-process harness and the drills (--procs runs
    zraft-node instead).
    =========================================================================
*/
#ifndef ZB_SERVER_H_INCLUDED
#define ZB_SERVER_H_INCLUDED

#define ZB_FSM_HEADER (3 * sizeof (uint64_t))   /* applied, bytes, sum */

/* The benchmark's state machine: how many commands a node applied and
   their bytes, plus --state-bytes of padding that stands for a large
   application state. Its snapshot is one malloc'd buffer: the two
   counters, the padding's checksum, then the padding (24 + N bytes), so
   with N = 0 snapshots cost the runtime's work (capture hand-off, file,
   compaction, InstallSnapshot), not an application's serialisation.
   Restore checks the length and the checksum. One per server id; each is
   only touched by that server's applier thread, except by the drills
   while that server is stopped. */
typedef struct {
    uint64_t applied;                   /* last index applied */
    uint64_t bytes;                     /* payload bytes applied */
    uint64_t sum;                       /* checksum of padding */
    byte *padding;                      /* pad_bytes, allocated once; owned */
    size_t pad_bytes;                   /* --state-bytes */
    uint64_t restores;                  /* restore calls that succeeded */
    int64_t restore_at_us;              /* when the last restore began */
    int64_t restore_us;                 /* how long it took (copy + check) */
} zb_fsm_t;

/* The state machine of server id (1..ZRAFT_NODES_MAX). */
zb_fsm_t *zb_server_fsm (uint32_t id);

/* Frees every server's padding, at exit. */
void zb_server_fsms_free (void);

/* Starts server id of opts->nodes on ports, its WAL in data_dir. The
   port may still be held by a socket closing, so a failed start is
   retried a few times. Returns the server, or NULL after a message. */
zraft_t *zb_server_start (const zb_opts_t *opts, uint32_t id,
                          const uint16_t *ports, const char *data_dir);

/* Applies --drop and --delay to every link into server id: to what it
   receives from each other server. Returns 0, or the first error of
   zraft_fault after a message on stderr. */
int zb_server_faults (const zb_opts_t *opts, zraft_t *node, uint32_t id);

/* Prints a node's status on stderr, for failure reports. */
void zb_server_dump (zraft_t *node, uint32_t id);

#endif
