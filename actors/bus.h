/*  =========================================================================
    bus - the message bus's log entries and replicated state

    CONTRACT (session 5): the entry codec below is fixed; helper bus-core
    implements it in actors/bus.c together with the bus state (dedup
    window, cursors, snapshot section) and documents the rest here.

    A BUS entry's payload (ZR_ENTRY_BUS) is a msgpack array, strictly
    decoded (every field's type and range checked, nothing after it):
      [1, subject (str 1..ZRAFT_SUBJECT_MAX, no NUL), payload (bin),
          producer (uint), seq (uint)]                         PUBLISH
      [2, name (str 1..ZRAFT_CURSOR_NAME_MAX, no NUL), index (uint)] CURSOR
    =========================================================================
*/
#ifndef ZR_BUS_H_INCLUDED
#define ZR_BUS_H_INCLUDED

typedef enum { ZR_BUS_PUBLISH = 1, ZR_BUS_CURSOR = 2 } zr_bus_op_t;

/* A decoded BUS entry; the pointers borrow the encoded bytes. */
typedef struct {
    uint8_t op;                         /* zr_bus_op_t */
    const char *subject;                /* PUBLISH: subject, NOT NUL-ended */
    uint32_t subject_size;              /* its bytes, 1..ZRAFT_SUBJECT_MAX */
    const void *payload;                /* PUBLISH: payload */
    uint32_t payload_size;              /* its bytes */
    uint64_t producer;                  /* PUBLISH: 0 = no deduplication */
    uint64_t seq;                       /* PUBLISH: producer's sequence */
    const char *name;                   /* CURSOR: name, NOT NUL-ended */
    uint32_t name_size;                 /* its bytes, 1..ZRAFT_CURSOR_NAME_MAX */
    uint64_t index;                     /* CURSOR: index committed */
} zr_bus_entry_t;

/* Decodes size bytes at data into *out. Returns 0, or -1 if they are
   not exactly one well-formed BUS entry. */
int zr_bus_entry_decode (const void *data, size_t size, zr_bus_entry_t *out);

/* Encodes entry into a new buffer (malloc) of *size_p bytes. Returns it,
   or NULL if out of memory or entry is invalid (sizes out of range). */
void *zr_bus_entry_encode (const zr_bus_entry_t *entry, size_t *size_p);

#endif
