/*  =========================================================================
    endpoint - what zraft's programs accept as a TCP endpoint

    One rule for zraft-node's flags and zraft-ctl's endpoint lists:
    tcp://HOST:PORT, HOST printable without spaces, '/', ',' or '=',
    PORT a decimal number in 1..65535, the whole at most max bytes.
    =========================================================================
*/
#ifndef ZR_ENDPOINT_H_INCLUDED
#define ZR_ENDPOINT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/* True if endpoint keeps the rule above; *wildcard (may be NULL) says
   whether HOST is a wildcard, "*", "[*]", 0.0.0.0 or "[::]" (bindable,
   not connectable). */
bool zr_endpoint_tcp_valid (const char *endpoint, size_t max, bool *wildcard);

#endif
