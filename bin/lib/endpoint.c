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
    size_t host_length = (size_t) (colon - host);
    if (wildcard)
        *wildcard = (host_length == 1 && *host == '*')
                    || (host_length == 7 && !strncmp (host, "0.0.0.0", 7));
    return true;
}
