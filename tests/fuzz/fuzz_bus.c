/*  =========================================================================
    fuzz_bus - the message bus's decoders (actors/bus.h): BUS entries and
    snapshot sections

    Both come from other servers: a BUS entry in a leader's log, which
    every server applies and the feed decodes to deliver; a section in a
    leader's snapshot. Input: a control byte, then the bytes.
    - bit 0 clear, an entry: zr_bus_entry_decode allocates nothing and
      returns 0 or -1 (the struct zeroed); a decoded entry re-encodes
      (zr_bus_entry_encode) to at most the input's size, decodes to the
      same fields, re-encodes to the same bytes, and the entry less a
      byte or plus one is refused; applied to a small state
      (zr_bus_apply), it is ZR_EINVAL exactly when it does not decode,
      the state then unchanged (its section, byte for byte).
    - bit 0 set, a section restored at snapshot index (control >> 1) +
      1 into a small state (window 8, 4 producers, some content):
      zr_bus_section_restore returns 0 or -1; refused, the state is
      unchanged; accepted, its section is at most the input's size (the
      canonical form, trimmed to the window), restores into a fresh
      state whose section is the same bytes, with as many producers.
    Allocation: decode 0; apply 16 KiB; restore 128 x input + 64 KiB
    (per producer, at least 5 input bytes: a struct, a ring of 8 slots
    and table items, about 400 bytes; per cursor, 3 bytes: a name copy,
    a value and a table item).
    =========================================================================
*/
#include "../../actors/actors.h"
#include "../../actors/bus.h"
#include "fuzz.h"

const char fuzz_target [] = "bus";

#define S_WINDOW 8
#define S_PRODUCERS 4

/* A small state with two producers and a cursor. */
static zr_bus_t *
s_state_new (void)
{
    zr_bus_t *bus = zr_bus_new (S_WINDOW, S_PRODUCERS);
    FUZZ_CHECK (bus);
    for (uint64_t i = 1; i <= 6; i++) {
        zr_bus_entry_t e = {.op = ZR_BUS_PUBLISH, .subject = "s",
                            .subject_size = 1, .producer = 1 + i % 2, .seq = i};
        if (i == 6)
            e = (zr_bus_entry_t) {.op = ZR_BUS_CURSOR, .name = "c",
                                  .name_size = 1, .index = 3};
        size_t size;
        void *data = zr_bus_entry_encode (&e, &size);
        FUZZ_CHECK (data);
        zr_bus_outcome_t out;
        zr_bus_apply (bus, i, 1, data, size, &out);
        FUZZ_CHECK (out.status == 0 && !out.duplicate);
        free (data);
    }
    return bus;
}

static bool
s_same (const void *a, size_t a_size, const void *b, size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp (a, b, a_size) == 0);
}

static bool
s_entry_equal (const zr_bus_entry_t *a, const zr_bus_entry_t *b)
{
    return a->op == b->op && a->producer == b->producer && a->seq == b->seq
           && a->index == b->index
           && s_same (a->subject, a->subject_size, b->subject, b->subject_size)
           && s_same (a->payload, a->payload_size, b->payload, b->payload_size)
           && s_same (a->name, a->name_size, b->name, b->name_size);
}

/* Checks a decoded entry's round trip and its neighbours by a byte. */
static void
s_entry_round_trip (const uint8_t *data, size_t size, const zr_bus_entry_t *entry)
{
    size_t encoded_size = 0;
    uint8_t *encoded = (uint8_t *) zr_bus_entry_encode (entry, &encoded_size);
    FUZZ_CHECK (encoded && encoded_size <= size);
    zr_bus_entry_t again;
    FUZZ_CHECK (zr_bus_entry_decode (encoded, encoded_size, &again) == 0);
    FUZZ_CHECK (s_entry_equal (entry, &again));
    size_t twice_size = 0;
    void *twice = zr_bus_entry_encode (&again, &twice_size);
    FUZZ_CHECK (s_same (encoded, encoded_size, twice, twice_size));
    free (twice);
    free (encoded);
    FUZZ_CHECK (zr_bus_entry_decode (data, size - 1, &again) == -1);
    uint8_t *longer = (uint8_t *) malloc (size + 1);
    FUZZ_CHECK (longer);
    memcpy (longer, data, size);
    longer [size] = 0;
    FUZZ_CHECK (zr_bus_entry_decode (longer, size + 1, &again) == -1);
    free (longer);
}

static void
s_entry (const uint8_t *data, size_t size)
{
    zr_bus_entry_t entry;
    memset (&entry, 0x5a, sizeof entry);
    fuzz_alloc_begin ();
    int rc = zr_bus_entry_decode (size ? data : NULL, size, &entry);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, 0, 0);
    FUZZ_CHECK (rc == 0 || rc == -1);
    if (rc == 0) {
        FUZZ_CHECK (entry.op == ZR_BUS_PUBLISH || entry.op == ZR_BUS_CURSOR);
        s_entry_round_trip (data, size, &entry);
    }
    else {
        zr_bus_entry_t zero;
        memset (&zero, 0, sizeof zero);
        FUZZ_CHECK (memcmp (&entry, &zero, sizeof entry) == 0);
    }
    zr_bus_t *bus = s_state_new ();
    size_t before_size, after_size;
    void *before = zr_bus_section_encode (bus, &before_size);
    zr_bus_outcome_t out;
    fuzz_alloc_begin ();
    zr_bus_apply (bus, 100, 2, size ? data : NULL, size, &out);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, 0, 16384);
    FUZZ_CHECK ((out.status == ZR_EINVAL) == (rc != 0));
    void *after = zr_bus_section_encode (bus, &after_size);
    if (rc != 0)
        FUZZ_CHECK (s_same (before, before_size, after, after_size));
    free (before);
    free (after);
    zr_bus_destroy (&bus);
}

static void
s_section (zr_index_t snap_index, const uint8_t *data, size_t size)
{
    zr_bus_t *bus = s_state_new ();
    size_t before_size, after_size;
    void *before = zr_bus_section_encode (bus, &before_size);
    fuzz_alloc_begin ();
    int rc = zr_bus_section_restore (bus, snap_index, size ? data : NULL, size);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, 128, 65536);
    FUZZ_CHECK (rc == 0 || rc == -1);
    void *after = zr_bus_section_encode (bus, &after_size);
    if (rc != 0)
        FUZZ_CHECK (s_same (before, before_size, after, after_size));
    else {
        FUZZ_CHECK (size == 0 || after_size <= size);
        FUZZ_CHECK (zr_bus_producers (bus) <= S_PRODUCERS);
        zr_bus_t *copy = zr_bus_new (S_WINDOW, S_PRODUCERS);
        FUZZ_CHECK (zr_bus_section_restore (copy, snap_index, after, after_size) == 0);
        size_t again_size;
        void *again = zr_bus_section_encode (copy, &again_size);
        FUZZ_CHECK (s_same (after, after_size, again, again_size));
        FUZZ_CHECK (zr_bus_producers (copy) == zr_bus_producers (bus));
        free (again);
        zr_bus_destroy (&copy);
    }
    free (before);
    free (after);
    zr_bus_destroy (&bus);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data [0] & 1)
        s_section ((zr_index_t) (data [0] >> 1) + 1, data + 1, size - 1);
    else
        s_entry (data + 1, size - 1);
    return 0;
}
