/* fuzz_heapcount: a malloc shim that counts live heap blocks, for the
 * oracle's leak check (oracle.h) outside ASan.
 *
 * Linked on purpose, never from an archive: a malloc definition in
 * libharness would be pulled into every program that calls malloc and hide
 * LD_PRELOAD allocators (the forkalloc shim) from it.  The fuzz builds link
 * its object; test_oracle.c and test_fuzz_replay.c #include it.  oracle.c
 * reads fuzz_heap_blocks through a weak reference (0 when absent). */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

long fuzz_heap_blocks;

/* Every heap block of the process, counted by a malloc shim (glibc lets a
 * program replace malloc; its own calls go through the replacement too).
 * mallinfo2 cannot do this job: blocks freed into the tcache still count
 * as in use.  Under ASan the shim would fight the sanitizer's allocator,
 * so it is left out and LeakSanitizer does the job. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ORACLE_NO_SHIM 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ORACLE_NO_SHIM 1
#endif

#ifndef ORACLE_NO_SHIM
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

void *malloc(size_t size)
{
	void *p = __libc_malloc(size);

	fuzz_heap_blocks += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	fuzz_heap_blocks += p != NULL;
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p = __libc_realloc(old, size);

	/* NULL behaves as malloc; size 0 frees OLD; a failure keeps OLD */
	if (!old)
		fuzz_heap_blocks += p != NULL;
	else if (!p && size == 0)
		fuzz_heap_blocks--;
	return p;
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	fuzz_heap_blocks++;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
	void *p = __libc_memalign(align, size);

	fuzz_heap_blocks += p != NULL;
	return p;
}

void *memalign(size_t align, size_t size)
{
	return aligned_alloc(align, size);
}

void free(void *p)
{
	fuzz_heap_blocks -= p != NULL;
	__libc_free(p);
}
#endif

