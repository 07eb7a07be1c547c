/*  =========================================================================
    blob - an immutable, reference-counted byte buffer (see blob.h)
    =========================================================================
*/
#include "raft.h"

zr_blob_t *
zr_blob_new (size_t size)
{
    zr_blob_t *self = (zr_blob_t *) malloc (sizeof (zr_blob_t) + size);
    if (!self)
        return NULL;
    atomic_init (&self->refs, 1);
    self->size = size;
    return self;
}

zr_blob_t *
zr_blob_ref (zr_blob_t *blob)
{
    zr_assert (blob);
    unsigned prev = atomic_fetch_add_explicit (&blob->refs, 1,
                                               memory_order_relaxed);
    zr_assert (prev > 0);
    return blob;
}

void
zr_blob_unref (zr_blob_t **blob_p)
{
    zr_assert (blob_p);
    zr_blob_t *blob = *blob_p;
    if (!blob)
        return;
    *blob_p = NULL;
    unsigned prev = atomic_fetch_sub_explicit (&blob->refs, 1,
                                               memory_order_acq_rel);
    zr_assert (prev > 0);
    if (prev == 1)
        free (blob);
}

const char *
zr_strerror (int rc)
{
    switch (rc) {
    case 0:
        return "success";
#define ZR_ERR_CASE(name, value, text)                                       \
    case name:                                                               \
        return text;
        ZR_ERRORS (ZR_ERR_CASE)
#undef ZR_ERR_CASE
    default:
        return "unknown error";
    }
}
