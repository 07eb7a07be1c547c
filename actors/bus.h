/*  =========================================================================
    bus - the message bus's log entries and replicated state

    A BUS entry (ZR_ENTRY_BUS, raft/message.h) is a publication or a
    cursor commit. Its payload is a msgpack array, strictly decoded
    (every field's type and range checked, nothing after it):
      [1, subject (str 1..ZRAFT_SUBJECT_MAX, no NUL), payload (bin),
          producer (uint), seq (uint)]                         PUBLISH
      [2, name (str 1..ZRAFT_CURSOR_NAME_MAX, no NUL), index (uint)] CURSOR
    Only unsigned formats are integers here (what msgpack-c's uint
    packers write); the decoder allocates nothing and points into the
    entry's bytes.

    The bus state (zr_bus_t) is what every server derives from the BUS
    entries it applies, in log order, and carries in its snapshots:
    - deduplication (JetStream's message id; the Raft thesis's client
      sessions, §6.3): per producer (id >= 1; 0 means "no
      deduplication"), its highest sequence number applied and, for
      each of the window seqs up to it that were applied, the index and
      term of that publication. A publication is accepted (new), a
      duplicate of an earlier index, or stale (its seq is not above
      highest - window: refused, ZR_ESTALE), as zr_bus_apply says.
    - at most producers_max producers: a publication from a new one
      when that many are remembered forgets the one least recently
      heard from (every publication naming a producer, whatever its
      outcome, makes it the most recent).
    - durable cursors: name -> index, which only moves forward (a
      commit below or at the current index changes nothing), at most
      ZR_BUS_CURSORS_MAX names.
    Its outcomes depend on the entries alone, and on window and
    producers_max, which must therefore be the same on every server.

    The leader's gate (zr_bus_gate_t). The feed (actors/feed.h) delivers
    every PUBLISH entry of the log, so a publication the bus state would
    not accept (a duplicate, a stale seq) must never be appended: the
    node's gate decides before it appends, against a copy of the bus
    state as of the commit index (fed the committed runs the applier is
    fed) and the publications this leader appended since (pending):
      Invariant (1): every PUBLISH entry a leader appends, the bus state
      accepts when it applies it. Why: the gate admits a publication
      only when no entry above what it was fed comes from an earlier
      term (the leader's own first entry is committed and was fed to
      it: everything before it is in the copy) and neither the copy
      nor pending holds its (producer, seq); it refuses a seq at or below the highest the
      copy and pending know less the window. Between admission and
      apply, the state only learns what pending held (accept),
      or forgets producers (which can only turn a refusal into an
      acceptance). So apply finds the publication neither seen nor
      stale.
    A duplicate the gate finds in the copy is answered at once (status
    0, duplicate, the original's index and term: committed); one still
    pending, or a publication arriving before the leader's first entry
    is committed, is answered ZR_EBUSY (retry: it is then decided).

    Snapshot section (zr_bus_section_encode): a msgpack array
      [1 (version), [producer...], {cursor name (str): index (uint)}]
      producer: [id (uint >= 1), seq, index, term, seq, index, term, ...]
    with producers from least to most recently heard from, each with at
    least one (seq, index, term), seqs increasing (the last is the
    highest), indexes 1..the snapshot's index, terms >= 1; names
    distinct. Restoring it with another window or producers_max keeps
    the newest seqs and producers that fit.

    Memory: a producer holds at most window slots of 16 bytes (its ring
    grows from 16 slots as its seqs spread), so the state is bounded by
    producers_max x window x 16 bytes (64 MiB at the defaults, reached
    only when every producer published window messages), plus
    ZR_BUS_CURSORS_MAX cursors. The gate holds a second copy.

    This module uses czmq's containers and msgpack-c's packer; it does
    no I/O and has no thread: the applier owns the state, the node the
    gate.
    =========================================================================
*/
#ifndef ZR_BUS_H_INCLUDED
#define ZR_BUS_H_INCLUDED

#define ZR_BUS_WINDOW_MAX 65536u        /* the largest dedup_window */
/* Cursors remembered: at most this many, so that a zraft_cursors result
   (a msgpack map of names up to 255 bytes: 266 bytes a pair at most)
   stays within ZRAFT_RESULT_BYTES_MAX (asserted in bus.c). */
#define ZR_BUS_CURSORS_MAX ZRAFT_CURSORS_MAX
#define ZR_BUS_SECTION_VERSION 1        /* snapshot section format */

typedef enum { ZR_BUS_PUBLISH = 1, ZR_BUS_CURSOR = 2 } zr_bus_op_t;

/* A decoded BUS entry; the pointers borrow the encoded bytes. */
typedef struct {
    uint8_t op;                         /* zr_bus_op_t */
    const char *subject;                /* PUBLISH: subject, NOT NUL-ended */
    uint32_t subject_size;              /* its bytes, 1..ZRAFT_SUBJECT_MAX */
    const void *payload;                /* PUBLISH: payload (NULL if empty) */
    uint32_t payload_size;              /* its bytes */
    uint64_t producer;                  /* PUBLISH: 0 = no deduplication */
    uint64_t seq;                       /* PUBLISH: producer's sequence */
    const char *name;                   /* CURSOR: name, NOT NUL-ended */
    uint32_t name_size;                 /* its bytes, 1..ZRAFT_CURSOR_NAME_MAX */
    uint64_t index;                     /* CURSOR: index committed */
} zr_bus_entry_t;

/* Decodes size bytes at data into *out. Returns 0, or -1 if they are
   not exactly one well-formed BUS entry (*out is then zeroed). Never
   allocates; never asserts on the bytes. */
int zr_bus_entry_decode (const void *data, size_t size, zr_bus_entry_t *out);

/* Encodes entry into a new buffer (malloc) of *size_p bytes. Returns it,
   or NULL if out of memory or entry is invalid (op, sizes out of range,
   a NUL in a subject or name, a payload over ZR_ENTRY_BYTES_MAX once
   encoded). Caller owns the result and must free it. */
void *zr_bus_entry_encode (const zr_bus_entry_t *entry, size_t *size_p);

/* Returns the bytes zr_bus_entry_encode would make of entry, or 0 if it
   refuses it. */
size_t zr_bus_entry_size (const zr_bus_entry_t *entry);

/* Encodes entry into buf (len bytes, at least zr_bus_entry_size). Returns
   the bytes written, or 0 if entry is invalid or does not fit. */
size_t zr_bus_entry_write (const zr_bus_entry_t *entry, uint8_t *buf,
                           size_t len);

/*  -------------------------------------------------------------------------
    Bus state
*/

typedef struct _zr_bus_t zr_bus_t;

/* What applying (or gating) one BUS entry decided. */
typedef struct {
    int status;                         /* 0, ZR_ESTALE, or ZR_EINVAL (the
                                           entry does not decode, or a new
                                           cursor past ZR_BUS_CURSORS_MAX) */
    bool duplicate;                     /* PUBLISH: repeats (producer, seq) */
    zr_index_t index;                   /* the entry's, or for a duplicate
                                           the original's */
    zr_term_t term;                     /* its term */
} zr_bus_outcome_t;

/* Creates an empty state remembering window (1..ZR_BUS_WINDOW_MAX) seqs
   per producer and producers_max (>= 1) producers (asserted). Caller
   owns the result. */
zr_bus_t *zr_bus_new (uint32_t window, uint32_t producers_max);

/* Frees the state; NULLs *self_p; idempotent. */
void zr_bus_destroy (zr_bus_t **self_p);

/* Applies the BUS entry (index >= 1, term >= 1, its bytes borrowed) and
   fills *out; index must follow the last applied (asserted non-
   decreasing). An entry that does not decode changes nothing. */
void zr_bus_apply (zr_bus_t *self, zr_index_t index, zr_term_t term,
                   const void *data, size_t size, zr_bus_outcome_t *out);

/* Returns the number of producers remembered. */
size_t zr_bus_producers (const zr_bus_t *self);

/* Finds cursor name (size bytes): 0 and *index, or -1 if unknown. */
int zr_bus_cursor (const zr_bus_t *self, const char *name, size_t size,
                   uint64_t *index);

/* Encodes the cursors as a msgpack map {name (str): index (uint)}, in
   name order, into a new buffer (malloc) of *size_p bytes (at most
   ZRAFT_RESULT_BYTES_MAX). Caller owns the result. */
void *zr_bus_cursors_encode (const zr_bus_t *self, size_t *size_p);

/* Encodes the whole state as a snapshot section (above) into a new
   buffer (malloc) of *size_p bytes. Caller owns the result. */
void *zr_bus_section_encode (const zr_bus_t *self, size_t *size_p);

/* Replaces the state with the section's (size bytes at data, borrowed)
   of a snapshot whose last index is snap_index. Returns 0, or -1 (the
   state unchanged) if the bytes are not exactly one well-formed section
   (every rule above). An empty section (size 0) is the empty state. */
int zr_bus_section_restore (zr_bus_t *self, zr_index_t snap_index,
                            const void *data, size_t size);

/*  -------------------------------------------------------------------------
    The leader's gate (Invariant 1)
*/

typedef struct _zr_bus_gate_t zr_bus_gate_t;

/* Creates a gate over an empty state (zr_bus_new's limits). Caller owns
   the result. */
zr_bus_gate_t *zr_bus_gate_new (uint32_t window, uint32_t producers_max);

/* Frees the gate; NULLs *self_p; idempotent. */
void zr_bus_gate_destroy (zr_bus_gate_t **self_p);

/* What the gate says of a BUS entry. */
typedef enum {
    ZR_BUS_ADMIT = 0,                   /* append it, then zr_bus_gate_appended */
    ZR_BUS_ANSWERED = 1,                /* do not append: *out holds the
                                           answer (a duplicate, ZR_ESTALE, or
                                           ZR_EINVAL: no room for a cursor) */
    ZR_BUS_WAIT = 2                     /* do not append: answer ZR_EBUSY */
} zr_bus_verdict_t;

/* Judges the decoded entry (borrowed) a leader is about to append.
   term_ready: the leader's first entry of its term is committed (every
   earlier entry is in the gate's copy). A publication without producer
   is always admitted, and a CURSOR entry unless it names a new cursor
   while the copy holds ZR_BUS_CURSORS_MAX (answered ZR_EINVAL, as apply
   would; new names still pending when the table fills are refused
   when applied). */
zr_bus_verdict_t zr_bus_gate_judge (zr_bus_gate_t *self,
                                    const zr_bus_entry_t *entry,
                                    bool term_ready, zr_bus_outcome_t *out);

/* The admitted publication (producer >= 1) was appended at index. */
void zr_bus_gate_appended (zr_bus_gate_t *self, uint64_t producer,
                           uint64_t seq, zr_index_t index);

/* The committed run entries [0..n) (consecutive, from the last
   committed + 1) goes to the applier: the copy applies its BUS
   entries; pending forgets what they commit. */
void zr_bus_gate_committed (zr_bus_gate_t *self, const zr_entry_t *entries,
                            uint32_t n);

/* This server no longer leads: pending is forgotten (its entries are
   decided by commitment, and gated as an earlier term's when it leads
   again). */
void zr_bus_gate_step_down (zr_bus_gate_t *self);

/* Returns the publications pending. */
size_t zr_bus_gate_pending (const zr_bus_gate_t *self);

/* The copy takes a snapshot's section (zr_bus_section_restore); pending
   is forgotten. Returns 0 or -1 (the copy unchanged). */
int zr_bus_gate_restore (zr_bus_gate_t *self, zr_index_t snap_index,
                         const void *data, size_t size);

#endif
