/*  =========================================================================
    hex - fixed-width lower-case hex numbers in names and identities

    The WAL's segment names (actors/wal.c) and the peer links' routing
    identities (peer.h) write 64-bit numbers as exactly 16 lower-case hex
    digits; this reads them back, strictly.
    =========================================================================
*/
#ifndef ZR_HEX_H_INCLUDED
#define ZR_HEX_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

/* Parses the 16 characters at p as lower-case hex digits into *v;
   returns false (*v unspecified) if any is not one. */
bool zr_hex16_parse (const char *p, uint64_t *v);

#endif
