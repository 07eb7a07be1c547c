/*  =========================================================================
    endpoint - what zraft's programs accept as a TCP endpoint (endpoint.h)
    =========================================================================
*/
#include "endpoint.h"

#include <ctype.h>
#include <string.h>

bool
zr_endpoint_tcp_valid (const char *endpoint, size_t max, bool *wildcard)
{
    size_t length = strlen (endpoint);
    if (length > max || strncmp (endpoint, "tcp://", 6))
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host)
        return false;
    for (const char *at = host; at < colon; at++)
        if (!isgraph ((unsigned char) *at) || strchr ("/,=", *at))
            return false;
    const char *digits = colon + 1;
    size_t n = strlen (digits);
    if (n == 0 || strspn (digits, "0123456789") != n)
        return false;
    unsigned long port = 0;
    for (size_t i = 0; i < n && port <= 65535; i++)
        port = port * 10 + (unsigned long) (digits [i] - '0');
    if (port < 1 || port > 65535)
        return false;
    /* The wildcards actors/zraft.c refuses in a server list, too. */
    static const char *wildcards [] = {"*", "[*]", "0.0.0.0", "[::]"};
    size_t host_length = (size_t) (colon - host);
    bool any = false;
    for (size_t w = 0; w < sizeof wildcards / sizeof wildcards [0]; w++)
        any = any || (host_length == strlen (wildcards [w])
                      && !strncmp (host, wildcards [w], host_length));
    if (wildcard)
        *wildcard = any;
    return true;
}
