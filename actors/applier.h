/*  =========================================================================
    applier - applies committed entries to the state machine, in runs

    The node hands the applier runs of committed entries in index order.
    The applier calls the application's apply callback for each command
    (no-ops are skipped), then tells the application the run is applied
    through the events socket (one message per run, never per entry), and
    reports the last applied index to the node.

    Protocol (pipe between node and applier):
    | verb    | direction       | frames                   | ownership / reply |
    |---------|-----------------|--------------------------|-------------------|
    | APPLY   | node -> applier | "sp": zr_apply_req_t*    | applier owns and frees it |
    | APPLIED | applier -> node | "s8": last applied index | none |
    | $TERM   | node -> applier | "s"                      | actor ends |
    Events socket (PAIR, applier -> application), one message per run:
      "APPLIED" | first (8 bytes) | last (8 bytes) | terms (8 bytes each,
      host order, terms[i] for index first + i)
    =========================================================================
*/
#ifndef ZR_APPLIER_H_INCLUDED
#define ZR_APPLIER_H_INCLUDED

typedef struct {
    zr_entry_t *entries;                /* owned run, consecutive indexes */
    uint32_t n_entries;
} zr_apply_req_t;

/* Frees a request and its entries' blob references. */
void zr_apply_req_destroy (zr_apply_req_t **self_p);

/* The table above, which both ends use (actor.h). */
#define ZR_APPLIER_PROTOCOL(X)                                               \
    X (APPLIER, APPLY, "sp", NULL)                                           \
    X (APPLIER, APPLIED, "s8", NULL)
ZR_PROTOCOL_DECLARE (applier, ZR_APPLIER_PROTOCOL);

/* Hands a run to the applier, taking *req_p (NULLed). Returns 0, or -1
   if the pipe is full or gone: the run is then destroyed. */
static inline int
zr_applier_send_apply (zsock_t *pipe, zr_apply_req_t **req_p)
{
    zr_apply_req_t *req = *req_p;
    *req_p = NULL;
    zr_handoff_send (req);
    int rc = zr_verb_send (pipe, zr_applier_verbs, ZR_APPLIER_APPLY, req);
    if (rc != 0)
        zr_apply_req_destroy (&req);
    return rc;
}

typedef struct {
    zraft_fsm_t fsm;                    /* the application's callbacks */
    char events_endpoint [64];          /* inproc endpoint to connect */
    zr_id_t id;                         /* server id, for logs */
} zr_applier_args_t;

/* zactor body; args is a zr_applier_args_t * (copied during start). */
void zr_applier_actor (zsock_t *pipe, void *args);

#endif
