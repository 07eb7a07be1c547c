/*  =========================================================================
    alloc - counts the bytes a fuzz target's decoder asks the heap for

    Two ways, one per kind of build, both seeing every allocation of the
    process, shared libraries (msgpack-c, libc's opendir) included:
    - under a sanitizer (libFuzzer's ASan+UBSan build, make asan, make
      tsan), the sanitizer owns malloc; its allocation hook counts.
    - in a plain build (the replay test of make test), this file replaces
      malloc, calloc, realloc and free for the whole process (ELF symbol
      interposition, as glibc's manual describes under "Replacing
      malloc"), forwarding to glibc's own __libc_* functions.
    Counting is on only between fuzz_alloc_begin and fuzz_alloc_bytes;
    fuzz targets are single-threaded, so plain variables suffice.
    =========================================================================
*/
#include "fuzz.h"

static bool s_counting;                 /* between begin and bytes */
static uint64_t s_bytes;                /* requested while counting */

static void
s_count (size_t size)
{
    if (s_counting)
        s_bytes += size;
}

void
fuzz_alloc_begin (void)
{
    s_bytes = 0;
    s_counting = true;
}

uint64_t
fuzz_alloc_bytes (void)
{
    s_counting = false;
    return s_bytes;
}

#if defined (__SANITIZE_ADDRESS__) || defined (__SANITIZE_THREAD__)
#   define S_SANITIZER 1
#elif defined (__has_feature)
#   if __has_feature (address_sanitizer) || __has_feature (thread_sanitizer)
#       define S_SANITIZER 1
#   endif
#endif

#if defined (S_SANITIZER)
/* From <sanitizer/allocator_interface.h>, which gcc does not ship. The
   hook sees the size asked for; realloc shows as a new allocation. */
int __sanitizer_install_malloc_and_free_hooks (
    void (*malloc_hook) (const volatile void *, size_t),
    void (*free_hook) (const volatile void *));

static void
s_malloc_hook (const volatile void *ptr, size_t size)
{
    (void) ptr;
    s_count (size);
}

static void
s_free_hook (const volatile void *ptr)
{
    (void) ptr;
}

__attribute__ ((constructor)) static void
s_hooks_install (void)
{
    __sanitizer_install_malloc_and_free_hooks (s_malloc_hook, s_free_hook);
}

#else
void *__libc_malloc (size_t size);
void *__libc_calloc (size_t n, size_t size);
void *__libc_realloc (void *ptr, size_t size);
void __libc_free (void *ptr);

void *
malloc (size_t size)
{
    s_count (size);
    return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
    if (size == 0 || n <= SIZE_MAX / size)
        s_count (n * size);
    return __libc_calloc (n, size);
}

void *
realloc (void *ptr, size_t size)
{
    s_count (size);
    return __libc_realloc (ptr, size);
}

void
free (void *ptr)
{
    __libc_free (ptr);
}
#endif
