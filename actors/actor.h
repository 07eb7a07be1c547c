/*  =========================================================================
    actor - what every actor of a server shares: start-up, protocol tables

    Every actor follows czmq's skeleton (zbeacon, zmonitor, zproxy): a
    private self_t built by s_self_new and freed by s_self_destroy, a
    start-up result sent once init is done (zr_actor_ready), a zpoller
    loop while (!self->terminated), and one s_self_handle_<socket> per
    socket. This module holds the parts they would otherwise each write:

    - Starting: zr_actor_new / zr_actor_ready carry the start-up result,
      which czmq's zactor_new drops, so a failure reaches zraft_new.
    - Ending: zr_actor_start runs the actor in a shim that publishes, as
      its thread's last act, what the actor did; zr_actor_destroy (not
      zactor_destroy) acquires it once the actor ended. czmq's actor
      threads are detached and zactor_destroy waits for the actor's last
      signal through libzmq, a happens-before ThreadSanitizer cannot see:
      without this, freeing what an actor wrote (the state machine the
      applier applied to, freed after zraft_destroy) is reported as a
      race. No-ops outside TSan but the shim.
    - Protocols: each actor's header declares its pipe protocol ONCE, as
      an X-macro table of rows X (ACTOR, VERB, picture, reply):
        ZR_VERB_ENUM  makes the constants ZR_<ACTOR>_<VERB>, and
        ZR_VERB_ROW   the table of verb strings and pictures
      which the sender (zr_verb_send, or the typed helpers beside the
      table) and the receiver (zr_verb_recv) both read: a verb or a
      picture cannot drift between the two ends.
    - Receiving: zr_verb_recv takes one message off a pipe, checks the
      verb against the table (an unknown verb from our own code is a
      programming error: it asserts), answers $TERM and a pipe that ended
      uniformly, and decodes the frames by the row's picture.

    Pictures are czmq's (zsock.h), verb frame included: 's' string, 'p'
    pointer, '1' '2' '4' '8' unsigned numbers, 'i' int, 'f' frame. A 'p'
    frame hands an object over: zr_verb_recv acquires it for TSan
    (zr_handoff_recv), the sender releases it (zr_handoff_send).
    =========================================================================
*/
#ifndef ZR_ACTOR_H_INCLUDED
#define ZR_ACTOR_H_INCLUDED

/* Names the calling thread "zr<ID>-<role>" (ID 0: "zr-<role>"), cut to
   the 15 characters Linux keeps, so top -H, perf and gdb tell a server's
   threads apart. Every actor calls it first. */
void zr_actor_name (const char *role, unsigned id);

/* zactor_new (actor, args), the actor run by the shim above; every
   actor of a server starts here. NULL if it could not start. */
zactor_t *zr_actor_start (zactor_fn *actor, void *args);

/* zactor_destroy, then acquires (TSan) what every ended actor did. */
void zr_actor_destroy (zactor_t **self_p);

/* Starts an actor and reads its start-up result (actors.h). Returns NULL
   if it could not start (it logged why) and ended. Caller owns the
   result and must destroy it. */
zactor_t *zr_actor_new (zactor_fn *actor, void *args);

/* In an actor: signals the creator, then sends the start-up result rc
   (0 or a ZR_E* code). On failure the actor must already have released
   what it made; this waits for the creator's $TERM, and the actor then
   returns. args (may be NULL) is released for TSan first: the creator
   reuses it once zr_actor_new returns. Returns rc. */
int zr_actor_ready (zsock_t *pipe, void *args, int rc);

/* The skeleton's wait: zpoller_wait on poller for up to timeout ms (-1:
   no limit). Returns the socket that is ready, or NULL on a timeout or
   if the poller ended (the context ended; with zpoller_set_nonstop a
   signal does not end it), in which case it sets *terminated. */
void *zr_actor_wait (zpoller_t *poller, int timeout, bool *terminated);

/* One row of a protocol table. */
typedef struct {
    const char *verb;                   /* uppercase word, the first frame */
    const char *picture;                /* zsock picture, verb frame included */
    const char *reply;                  /* reply picture, "" for a signal,
                                           NULL for no reply */
} zr_verb_t;

/* Row makers for X (ACTOR, VERB, picture, reply) tables (see above). */
#define ZR_VERB_ENUM(actor, verb, picture, reply) ZR_##actor##_##verb,
#define ZR_VERB_ROW(actor, verb, picture, reply) {#verb, picture, reply},

/* Declares the constants and the table of an actor's protocol. */
#define ZR_PROTOCOL_DECLARE(name, TABLE)                                     \
    enum { TABLE (ZR_VERB_ENUM) };                                           \
    static const zr_verb_t zr_##name##_verbs [] = { TABLE (ZR_VERB_ROW) }

/* Sends verb V of table on sock with its arguments, as the row's
   picture says. Returns 0, or -1 if it could not be sent (the pipe is
   full and the socket's sndtimeo ran out, or the peer is gone): what a
   'p' argument points to is then still the sender's. */
#define zr_verb_send(sock, table, V, ...)                                    \
    zsock_send ((sock), (table) [V].picture, (table) [V].verb, ##__VA_ARGS__)

/* Sends the reply of verb V of table, as the row's reply picture says. */
#define zr_verb_reply(sock, table, V, ...)                                   \
    zsock_send ((sock), (table) [V].reply, __VA_ARGS__)

#define ZR_VERB_ARGS_MAX 7              /* frames after the verb */
#define ZR_VERB_TERM (-1)               /* zr_verb_recv: $TERM received */
#define ZR_VERB_ENDED (-2)              /* zr_verb_recv: the pipe ended */

/* One frame of a received message, by its picture letter. */
typedef union {
    uint64_t u;                         /* '1' '2' '4' '8' */
    int64_t i;                          /* 'i' */
    void *p;                            /* 'p': handed over, see the row */
    char *s;                            /* 's': owned by the message */
    zframe_t *f;                        /* 'f': owned by the message */
} zr_verb_arg_t;

/* One received message. */
typedef struct {
    const zr_verb_t *row;               /* its row, NULL if none */
    zr_verb_arg_t args [ZR_VERB_ARGS_MAX];  /* frames after the verb */
} zr_verb_msg_t;

/* Receives one message from sock into *msg and returns its row's index
   in table (n rows), ZR_VERB_TERM for $TERM, or ZR_VERB_ENDED if the
   receive failed (the context ended) or the message is the final signal
   of an actor that ended. Asserts on a verb not in the table or frames
   that do not match the picture (our own code sent it). The caller owns
   the objects 'p' frames point to; zr_verb_msg_reset frees the strings
   and frames. */
int zr_verb_recv_table (zsock_t *sock, const zr_verb_t *table, size_t n,
                        zr_verb_msg_t *msg);
#define zr_verb_recv(sock, table, msg)                                       \
    zr_verb_recv_table ((sock), (table), ZR_VERBS_COUNT (table), (msg))

/* The number of rows of a table made by ZR_PROTOCOL_DECLARE. */
#define ZR_VERBS_COUNT(table) (sizeof (table) / sizeof ((table) [0]))

/* Fills *msg as zr_verb_recv would from the message sending row index
   of table with args would make: args are the arguments after the verb,
   as zsock_vsend takes them for the row's picture ('f' frames are
   copied, 's' strings duplicated). For a request its receiver handles
   on the sender's own thread, without the socket. */
void zr_verb_msg_build (const zr_verb_t *table, int index, zr_verb_msg_t *msg,
                        va_list args);

/* Frees the strings and frames left in msg (a handler that keeps one
   NULLs it first). Idempotent. */
void zr_verb_msg_reset (zr_verb_msg_t *msg);

#endif
