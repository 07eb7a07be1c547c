/*  =========================================================================
    actor - what every actor of a server shares (see actor.h)
    =========================================================================
*/
#include "actors.h"

/* What ended actors published (actor.h: Ending). One address for all:
   __tsan_release joins each thread's view into it. */
static char s_ended;
#if defined (__SANITIZE_THREAD__)
#   define s_ended_acquire() __tsan_acquire (&s_ended)
#else
#   define s_ended_acquire()
#endif

typedef struct {
    zactor_fn *actor;
    void *args;
} s_shim_t;

static void
s_shim (zsock_t *pipe, void *args)
{
    s_shim_t shim = *(s_shim_t *) args;
    free (args);
    shim.actor (pipe, shim.args);
    zr_handoff_send (&s_ended);         /* before czmq's last signal */
}

void
zr_actor_name (const char *role, unsigned id)
{
    char name [16];
    if (id)
        snprintf (name, sizeof name, "zr%u-%s", id, role);
    else
        snprintf (name, sizeof name, "zr-%s", role);
    pthread_setname_np (pthread_self (), name);     /* best effort */
}

zactor_t *
zr_actor_start (zactor_fn *actor, void *args)
{
    s_shim_t *shim = malloc (sizeof *shim);
    if (!shim)
        return NULL;
    *shim = (s_shim_t) {.actor = actor, .args = args};
    zactor_t *self = zactor_new (s_shim, shim);
    if (!self)
        free (shim);
    return self;
}

void
zr_actor_destroy (zactor_t **self_p)
{
    zr_assert (self_p);
    if (!*self_p)
        return;
    zactor_destroy (self_p);
    s_ended_acquire ();
}

zactor_t *
zr_actor_new (zactor_fn *actor, void *args)
{
    zactor_t *self = zr_actor_start (actor, args);
    zr_handoff_recv (args);
    int rc = ZR_ENOMEM;
    if (self && (zsock_recv (self, "i", &rc) != 0 || rc != 0))
        zr_actor_destroy (&self);
    return self;
}

int
zr_actor_ready (zsock_t *pipe, void *args, int rc)
{
    zr_assert (pipe);
    if (args)
        zr_handoff_send (args);
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", rc);
    if (rc != 0) {
        char *verb = zstr_recv (pipe);  /* zr_actor_new's $TERM */
        zstr_free (&verb);
    }
    return rc;
}

void *
zr_actor_wait (zpoller_t *poller, int timeout, bool *terminated)
{
    zr_assert (poller && terminated);
    void *which = zpoller_wait (poller, timeout);
    if (!which && zpoller_terminated (poller))
        *terminated = true;
    return which;
}

/* Decodes one frame (taken) by its picture letter into *arg. */
static void
s_arg_decode (char letter, zframe_t **frame_p, zr_verb_arg_t *arg)
{
    zframe_t *frame = *frame_p;
    if (letter == 'f') {
        arg->f = frame;
        *frame_p = NULL;
        return;
    }
    if (letter == 'p') {
        zr_assert (zframe_size (frame) == sizeof (void *));
        memcpy (&arg->p, zframe_data (frame), sizeof (void *));
        zr_handoff_recv (arg->p);
    }
    else {
        char *text = zframe_strdup (frame);
        zr_assert (text);
        if (letter == 's') {
            arg->s = text;
            text = NULL;
        }
        else
        if (letter == 'i')
            arg->i = strtoll (text, NULL, 10);
        else {
            zr_assert (strchr ("1248", letter));
            arg->u = strtoull (text, NULL, 10);
        }
        free (text);
    }
    zframe_destroy (frame_p);
}

int
zr_verb_recv_table (zsock_t *sock, const zr_verb_t *table, size_t n,
                    zr_verb_msg_t *msg)
{
    zr_assert (sock && table && msg);
    memset (msg, 0, sizeof *msg);
    zmsg_t *frames = zmsg_recv (sock);
    if (!frames)
        return ZR_VERB_ENDED;           /* interrupted or the context ended */
    if (zmsg_signal (frames) >= 0) {    /* an actor's final signal */
        zmsg_destroy (&frames);
        return ZR_VERB_ENDED;
    }
    char *verb = zmsg_popstr (frames);
    zr_assert (verb);
    int index = streq (verb, "$TERM") ? ZR_VERB_TERM : -3;
    for (size_t i = 0; index == -3 && i < n; i++)
        if (streq (verb, table [i].verb))
            index = (int) i;
    if (index == -3)
        zr_error ("actor: unknown verb %s", verb);
    zr_assert (index != -3);            /* our own code sent it */
    zstr_free (&verb);
    if (index >= 0) {
        msg->row = &table [index];
        const char *picture = msg->row->picture + 1;    /* after the verb */
        zr_assert (strlen (picture) <= ZR_VERB_ARGS_MAX);
        zr_assert (zmsg_size (frames) == strlen (picture));
        for (size_t i = 0; picture [i]; i++) {
            zframe_t *frame = zmsg_pop (frames);
            s_arg_decode (picture [i], &frame, &msg->args [i]);
        }
    }
    zmsg_destroy (&frames);
    return index;
}

void
zr_verb_msg_build (const zr_verb_t *table, int index, zr_verb_msg_t *msg,
                   va_list args)
{
    zr_assert (table && index >= 0 && msg);
    memset (msg, 0, sizeof *msg);
    msg->row = &table [index];
    const char *picture = msg->row->picture + 1;    /* after the verb */
    zr_assert (strlen (picture) <= ZR_VERB_ARGS_MAX);
    for (size_t i = 0; picture [i]; i++) {
        zr_verb_arg_t *arg = &msg->args [i];
        switch (picture [i]) {
            case 'p': arg->p = va_arg (args, void *); break;
            case 'i': arg->i = va_arg (args, int); break;
            case '1': arg->u = (uint8_t) va_arg (args, int); break;
            case '2': arg->u = (uint16_t) va_arg (args, int); break;
            case '4': arg->u = va_arg (args, uint32_t); break;
            case '8': arg->u = va_arg (args, uint64_t); break;
            case 's': {
                const char *text = va_arg (args, const char *);
                arg->s = strdup (text ? text : "");
                zr_assert (arg->s);
                break;
            }
            case 'f': {
                zframe_t *frame = va_arg (args, zframe_t *);
                arg->f = frame ? zframe_dup (frame) : zframe_new_empty ();
                zr_assert (arg->f);
                break;
            }
            default: zr_assert (false && "picture letter");
        }
    }
}

void
zr_verb_msg_reset (zr_verb_msg_t *msg)
{
    zr_assert (msg);
    const char *picture = msg->row ? msg->row->picture + 1 : "";
    for (size_t i = 0; picture [i]; i++) {
        if (picture [i] == 's')
            zstr_free (&msg->args [i].s);
        else
        if (picture [i] == 'f')
            zframe_destroy (&msg->args [i].f);
    }
    msg->row = NULL;
}
