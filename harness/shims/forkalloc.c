/* forkalloc: an LD_PRELOAD allocator shim that fails every allocation
 * made in a forked child before it execs.
 *
 * Between fork and exec only async-signal-safe calls are allowed (another
 * thread may have held the allocator's lock at fork time); Sōzu's
 * `Command::exec` built its argv there.  This shim marks the child in a
 * pthread_atfork handler, and from then until exec (which replaces the
 * whole image, shim state included) malloc, calloc and realloc return
 * NULL with ENOMEM and append one line to $BATON_FORKALLOC_LOG
 * (only in children of $BATON_FORKALLOC_ONLY's executable, when set):
 *     forkalloc: pid 1234 (parent 1200) allocated 64 bytes between fork and exec
 * The harness's scenarios preload it into batond and report any line as a
 * violation (clause S1).
 *
 * State here is necessarily global: it belongs to the process it is
 * preloaded into, not to baton. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);

static volatile bool in_forked_child;

static void on_fork_child(void)
{
	in_forked_child = true;
}

__attribute__((constructor)) static void shim_init(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

static size_t put_num(char *buf, size_t at, unsigned long v)
{
	char d[24];
	size_t n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[at++] = d[--n];
	return at;
}

static size_t put_str(char *buf, size_t at, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + at, s, n);
	return at + n;
}

/* Async-signal-safe on purpose: raw system calls, no stdio. */
static void report(size_t size)
{
	const char *path = getenv("BATON_FORKALLOC_LOG");
	char line[160];
	size_t n = 0;
	long fd;

	if (!path)
		return;
	n = put_str(line, n, "forkalloc: pid ");
	n = put_num(line, n, (unsigned long)syscall(SYS_getpid));
	n = put_str(line, n, " (parent ");
	n = put_num(line, n, (unsigned long)syscall(SYS_getppid));
	n = put_str(line, n, ") allocated ");
	n = put_num(line, n, size);
	n = put_str(line, n, " bytes between fork and exec\n");
	fd = syscall(SYS_open, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (syscall(SYS_write, fd, line, n) < 0) {
		/* nothing else can be done from here */
	}
	syscall(SYS_close, fd);
}

/* BATON_FORKALLOC_ONLY=PATH limits the shim to children of that
 * executable: a shell script standing in for a broken new binary may fork
 * and allocate as it likes, it is not the code under test. */
static bool watched(void)
{
	const char *only = getenv("BATON_FORKALLOC_ONLY");
	char exe[4096];
	long n;

	if (!only)
		return true;
	n = syscall(SYS_readlink, "/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		return true;
	exe[n] = 0;
	return strcmp(exe, only) == 0;
}

static bool refuse(size_t size)
{
	if (!in_forked_child || !watched())
		return false;
	report(size);
	errno = ENOMEM;
	return true;
}

void *malloc(size_t size)
{
	return refuse(size) ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return refuse(n * size) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return refuse(size) ? NULL : __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}
