/*  =========================================================================
    hex - fixed-width lower-case hex numbers (see hex.h)
    =========================================================================
*/
#include "transport.h"

bool
zr_hex16_parse (const char *p, uint64_t *v)
{
    zr_assert (p && v);
    *v = 0;
    for (int i = 0; i < 16; i++) {
        char c = p [i];
        int digit = c >= '0' && c <= '9' ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return false;
        *v = *v << 4 | (uint64_t) digit;
    }
    return true;
}
