/*  =========================================================================
    codec - msgpack encoding of the Raft RPCs, with strict validation

    Turns a zr_message_t (raft/message.h) into one versioned msgpack frame
    and back. The decoder treats every frame as hostile: it never asserts
    on input, never allocates more than a constant factor of the frame
    size, and reports what is wrong with a distinct error code so callers
    can count and log it (zr_codec_stats_t). It does not frame, send or
    route anything: that is peer and router.

    Wire layout. One frame is one top-level msgpack array; all integers
    are unsigned (msgpack positive integers, any width), bools are msgpack
    true/false, payloads are msgpack bin:

    | type (wire) | fields after [version, type, from, to, term]        | n  |
    |-------------|-----------------------------------------------------|----|
    | VOTE (1)    | last_index, last_term                               | 7  |
    | VOTE_REPLY  | granted (bool)                                      | 6  |
    |   (2)       |                                                     |    |
    | APPEND (3)  | prev_index, prev_term, commit, round,               | 10 |
    |             |   [[entry_term, entry_type, data (bin)], ...]       |    |
    | APPEND_REPLY| success (bool), match_index, conflict_term,         | 11 |
    |   (4)       |   conflict_index, last_index, round                 |    |
    | PREVOTE (5) | last_index, last_term                               | 7  |
    | PREVOTE_    | granted (bool)                                      | 6  |
    |  REPLY (6)  |                                                     |    |
    | TIMEOUT_NOW | (none)                                              | 5  |
    |   (7)       |                                                     |    |
    | SNAPSHOT (8)| last_index, last_term, snap_offset, snap_size,      | 10 |
    |             |   chunk (bin)                                       |    |
    | SNAPSHOT_   | last_index, snap_offset, success (bool),            | 9  |
    |  REPLY (9)  |   installed (bool)                                  |    |

    version is ZR_CODEC_VERSION; from and to are server ids 1..ZR_NODES_MAX
    and differ; term >= 1. Entry indexes are implicit: entry i (0-based)
    of an APPEND has index prev_index + 1 + i. round is the leader's
    heartbeat round, echoed by the reply (ReadIndex, raft/core.h
    Invariant 14): any unsigned integer. Fields a type does not carry
    decode as zero. Version 2 added round to APPEND and APPEND_REPLY;
    a version 1 frame is ZR_EVERSION.

    Semantic rules (checked by the decoder, asserted by the encoder, so a
    frame we encode always decodes):
    - VOTE: last_term <= term; last_index == 0 exactly when last_term == 0.
    - APPEND: prev_term <= term; prev_index == 0 exactly when prev_term == 0;
      prev_index + n_entries does not overflow; every entry has a known
      type and 1 <= entry term <= term; entry terms never decrease and the
      first is >= prev_term.
    - APPEND_REPLY: conflict_term <= term; when conflict_term > 0,
      1 <= conflict_index <= match_index (the echoed prev_index).
    - SNAPSHOT: last_index >= 1; 1 <= last_term <= term; snap_offset <=
      snap_size; the chunk fits: chunk_size <= snap_size - snap_offset.
      A chunk over ZR_CHUNK_BYTES_MAX is ZR_ETOOBIG.
    - SNAPSHOT_REPLY: last_index >= 1; installed implies success.

    Decoder precedence, first match wins:
    1. size > ZR_FRAME_BYTES_MAX                                -> ZR_ETOOBIG
    2. the frame opens with an array header whose first element is a
       complete unsigned integer != ZR_CODEC_VERSION            -> ZR_EVERSION
       (even if the rest of the frame is garbage)
    3. structural walk over the raw bytes, in byte order, first error
       wins: a header or fixed-size scalar cut short, or a container left
       unfinished -> ZR_ETRUNCATED; a container count (map: 2 x count) or
       a str/bin/ext length larger than the bytes left -> ZR_ECOUNT;
       containers claiming more than ZR_CODEC_OBJECTS_MAX objects in all
       -> ZR_ETOOBIG; byte 0xc1 or more than ZR_CODEC_DEPTH_MAX nested
       containers -> ZR_EMALFORMED; bytes after the top-level object
       -> ZR_ETRAILING. Only then does msgpack-c build the object tree.
    4. schema: version (in any integer encoding) != ZR_CODEC_VERSION
       -> ZR_EVERSION; wrong types, field count, message or entry type,
       ids -> ZR_EMALFORMED; more than ZR_BATCH_ENTRIES_MAX entries, an
       entry payload larger than ZR_ENTRY_BYTES_MAX or a snapshot chunk
       larger than ZR_CHUNK_BYTES_MAX -> ZR_ETOOBIG
    5. semantic rules above                                     -> ZR_EMALFORMED
    =========================================================================
*/
#ifndef ZR_CODEC_H_INCLUDED
#define ZR_CODEC_H_INCLUDED

#define ZR_CODEC_VERSION 2
/* Containers nested in one frame: frame, entry list, entry. */
#define ZR_CODEC_DEPTH_MAX 3
/* Objects nested in one frame, over all containers: a full APPEND plus
   one entry. Bounds what msgpack-c allocates for the object tree. */
#define ZR_CODEC_OBJECTS_MAX (16 + 4 * (ZR_BATCH_ENTRIES_MAX + 1))
/* Slots in zr_codec_stats_t: one per error code, slot 0 for successes. */
#define ZR_CODEC_STATS_SLOTS 32

/* Appends the encoding of msg to sbuf (the caller clears or reuses sbuf).
   Borrows both. Returns 0; ZR_ETOOBIG if the message has more than
   ZR_BATCH_ENTRIES_MAX entries, an entry payload over ZR_ENTRY_BYTES_MAX
   or the frame would exceed ZR_FRAME_BYTES_MAX (checked before anything
   is written); ZR_ENOMEM if sbuf cannot grow. On error the content of
   sbuf is unspecified and the caller clears it. Asserts that msg is valid
   (known type, ids, the semantic rules above, entry i has index
   prev_index + 1 + i, size > 0 implies data): our own code made it. */
int zr_codec_encode (const zr_message_t *msg, msgpack_sbuffer *sbuf);

/* Decodes one frame of size bytes at data (borrowed; may be NULL only
   when size is 0). On success returns 0 and sets *msg_p to a new message:
   caller owns it and must zr_message_destroy it. All entry payloads of an
   APPEND are copied into one zr_blob_t shared by the entries (each entry
   with size > 0 holds its own reference; entries of size 0 have data and
   blob NULL). On failure returns ZR_ETOOBIG, ZR_EVERSION, ZR_ETRUNCATED,
   ZR_ECOUNT, ZR_ETRAILING, ZR_EMALFORMED (see the precedence above) or
   ZR_ENOMEM, and leaves *msg_p untouched. Never asserts on the frame. */
int zr_codec_decode (const void *data, size_t size, zr_message_t **msg_p);

/* Counters for callers: count [-rc] for rc a ZR_E* code, count [0] for
   successes. */
typedef struct {
    uint64_t count [ZR_CODEC_STATS_SLOTS];  /* frames per result code */
} zr_codec_stats_t;

/* Counts one result rc (0 or a ZR_E* code) in stats. Asserts that stats
   is not NULL and rc is 0 or a code with a slot. */
void zr_codec_stats_add (zr_codec_stats_t *stats, int rc);

#endif
