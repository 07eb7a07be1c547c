/*  =========================================================================
    poller - a thread's wait on its sockets (see poller.h)
    =========================================================================
*/
#include "transport.h"

struct _zr_poller_t {
    uint32_t n;                         /* readers, <= ZR_POLLER_READERS_MAX */
    void *readers [ZR_POLLER_READERS_MAX];      /* as added (czmq objects) */
    void *handles [ZR_POLLER_READERS_MAX];      /* their libzmq sockets,
                                                   NULL for a raw fd */
    struct pollfd fds [ZR_POLLER_READERS_MAX];  /* their ZMQ_FDs, POLLIN */
    uint32_t dirty;                     /* bit i: ask reader i before a sleep
                                           (Invariants 1-3) */
    bool expired;                       /* the last wait timed out */
    bool terminated;                    /* the last wait saw the end */
};

zr_poller_t *
zr_poller_new (void *reader, ...)
{
    zr_poller_t *self = (zr_poller_t *) calloc (1, sizeof *self);
    zr_assert (self);
    va_list args;
    va_start (args, reader);
    while (reader) {
        zr_poller_add (self, reader);
        reader = va_arg (args, void *);
    }
    va_end (args);
    return self;
}

void
zr_poller_destroy (zr_poller_t **self_p)
{
    zr_assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

void
zr_poller_add (zr_poller_t *self, void *reader)
{
    zr_assert (self && reader);
    zr_assert (self->n < ZR_POLLER_READERS_MAX);
    void *handle = zsock_resolve (reader);      /* NULL: an int * */
    int fd = handle ? -1 : *(int *) reader;
    size_t size = sizeof fd;
    if (handle) {
        int rc = zmq_getsockopt (handle, ZMQ_FD, &fd, &size);
        zr_assert (rc == 0);
    }
    zr_assert (fd >= 0);
    self->readers [self->n] = reader;
    self->handles [self->n] = handle;
    self->fds [self->n] = (struct pollfd) {.fd = fd, .events = POLLIN};
    if (handle)
        self->dirty |= 1u << self->n;   /* it may hold input already */
    self->n++;
}

void
zr_poller_remove (zr_poller_t *self, void *reader)
{
    zr_assert (self && self->n > 0 && self->readers [self->n - 1] == reader);
    self->n--;
    self->dirty &= ~(1u << self->n);
    self->readers [self->n] = NULL;
    self->handles [self->n] = NULL;
}

uint32_t
zr_poller_bit (zr_poller_t *self, void *reader)
{
    zr_assert (self && reader);
    for (uint32_t i = 0; i < self->n; i++)
        if (self->readers [i] == reader)
            return 1u << i;
    zr_assert (false && "reader not in the poller");
    return 0;
}

void
zr_poller_sent (zr_poller_t *self, void *reader)
{
    self->dirty |= zr_poller_bit (self, reader);
}

/* Marks dirty the readers of mask whose fd is readable: one poll() for
   up to timeout ms (the others' fds are not watched: one left readable
   would end every sleep at once). Returns poll's result (-1: failed). */
static int
s_poll (zr_poller_t *self, uint32_t mask, int timeout)
{
    for (uint32_t i = 0; i < self->n; i++)
        self->fds [i].events = (mask >> i) & 1u ? POLLIN : 0;
    int rc = poll (self->fds, self->n, timeout);
    for (uint32_t i = 0; rc > 0 && i < self->n; i++)
        if (self->fds [i].revents && self->handles [i])
            self->dirty |= 1u << i;
    return rc;
}

/* Asks the dirty readers of mask for ZMQ_EVENTS, in order. Returns the
   first with input (it stays dirty: Invariant 2), or NULL, having
   cleared the bits of those without (Invariant 1). A raw fd is ready
   if the last poll() said it is readable: each wait polls first. Sets
   terminated if the context ended. */
static void *
s_ready (zr_poller_t *self, uint32_t mask)
{
    for (uint32_t i = 0; i < self->n; i++) {
        uint32_t bit = 1u << i;
        if (!self->handles [i] && (mask & bit)
            && (self->fds [i].revents & POLLIN))
            return self->readers [i];
        if (!self->handles [i] || !(self->dirty & mask & bit))
            continue;
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt (self->handles [i], ZMQ_EVENTS, &events, &size) != 0) {
            self->terminated = true;    /* ETERM: the context ended */
            return NULL;
        }
        if (events & ZMQ_POLLIN)
            return self->readers [i];
        self->dirty &= ~bit;
    }
    return NULL;
}

void *
zr_poller_wait (zr_poller_t *self, uint32_t mask, int timeout)
{
    zr_assert (self && self->n > 0);
    zr_assert (timeout >= -1);
    self->expired = false;
    self->terminated = false;
    int64_t end = timeout > 0 ? zclock_mono () + timeout : 0;
    int wait = 0;                       /* the first poll only looks */
    while (true) {
        if (s_poll (self, mask, wait) < 0) {
            self->terminated = true;
            return NULL;
        }
        void *reader = s_ready (self, mask);
        if (reader || self->terminated)
            return reader;
        if (timeout == 0 || (timeout > 0 && zclock_mono () >= end)) {
            self->expired = true;
            return NULL;
        }
        /* Nothing for the mask: sleep until an fd is readable (a command
           reached a reader; it may not be input) or the time is up. */
        int64_t left = timeout > 0 ? end - zclock_mono () : -1;
        wait = timeout < 0 ? -1 : left > 0 ? (int) left : 0;
    }
}

bool
zr_poller_expired (zr_poller_t *self)
{
    zr_assert (self);
    return self->expired;
}

bool
zr_poller_terminated (zr_poller_t *self)
{
    zr_assert (self);
    return self->terminated;
}
