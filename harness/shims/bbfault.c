/* bbfault: the Nth-call trigger for libfiu's POSIX preload in a
 * black-box daemon (see bbfault.h for the page and what N means).
 *
 * Preloaded after fiu_posix_preload.so:
 *     LD_PRELOAD="/usr/lib/fiu/fiu_posix_preload.so .../libbbfault.so"
 *     BATON_BB_PAGE=/path/to/page
 * libfiu's own environment mode (FIU_ENABLE) has no Nth-call trigger and
 * its control fifo needs a thread and two fds in the daemon; this shim
 * registers a libfiu external callback per point instead, and reads its
 * orders from a shared page.  The callback runs inside malloc, fork and
 * write: it must not allocate, lock or make a wrapped call.
 *
 * State here is necessarily global: it belongs to the process it is
 * preloaded into. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <fiu-control.h>
#include <fiu.h>

#include "shims/bbfault.h"

static struct bbf_page *page;
/* This image started while the fault was armed: a process of the new
 * generation.  A fork copies it, an exec starts over. */
static int born_armed;

static int my_role(void)
{
	if (getpid() == (pid_t)__atomic_load_n(&page->old_pid, __ATOMIC_ACQUIRE))
		return BBF_OLD;
	return born_armed ? BBF_NEW : BBF_WORKER;
}

static void hang(int seconds)
{
	struct timespec ts = {.tv_sec = 1};

	for (int i = 0; i < seconds; i++)
		nanosleep(&ts, NULL);
}

/* Count the hit in every spec of this point the role selects; return the
 * spec that fires, or NULL. */
static struct bbf_spec *count_hit(const char *name)
{
	struct bbf_spec *fire = NULL;
	int role = my_role();

	for (uint32_t i = 0; i < page->n_specs && i < BBF_MAX_SPECS; i++) {
		struct bbf_spec *s = &page->specs[i];
		uint32_t h;

		if (strcmp(s->point, name) != 0 ||
		    (s->role != BBF_ANY && s->role != role))
			continue;
		h = __atomic_add_fetch(&s->hits, 1, __ATOMIC_ACQ_REL);
		if (h == s->nth || (s->persistent && h > s->nth)) {
			__atomic_add_fetch(&s->fired, 1, __ATOMIC_ACQ_REL);
			__atomic_store_n(&s->fired_pid, (int32_t)getpid(),
					 __ATOMIC_RELEASE);
			if (!fire)
				fire = s;
		}
	}
	return fire;
}

static int on_hit(const char *name, int *failnum, void **failinfo,
		  unsigned int *flags)
{
	struct bbf_spec *s;

	(void)flags;
	if (!page || !__atomic_load_n(&page->armed, __ATOMIC_ACQUIRE))
		return 0;
	s = count_hit(name);
	if (!s)
		return 0;
	if (s->kind == BBF_CRASH)
		kill(getpid(), SIGKILL);
	if (s->kind == BBF_HANG)
		hang(page->hang_seconds);
	*failnum = 1;
	/* the preload sets errno from failinfo: pinned, never random (a
	 * random EINTR makes retry loops spin) */
	*failinfo = (void *)(intptr_t)s->errnum;
	return 1;
}

static int already_enabled(uint32_t upto, const char *point)
{
	for (uint32_t j = 0; j < upto; j++)
		if (strcmp(page->specs[j].point, point) == 0)
			return 1;
	return 0;
}

__attribute__((constructor)) static void bbfault_init(void)
{
	const char *path = getenv("BATON_BB_PAGE");
	void *map;
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	map = mmap(NULL, sizeof *page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	page = map;
	if (page->magic != BBF_MAGIC || page->n_specs > BBF_MAX_SPECS) {
		munmap(map, sizeof *page);
		page = NULL;
		return;
	}
	born_armed = __atomic_load_n(&page->armed, __ATOMIC_ACQUIRE) != 0;
	fiu_init(0);
	for (uint32_t i = 0; i < page->n_specs; i++)
		if (!already_enabled(i, page->specs[i].point))
			fiu_enable_external(page->specs[i].point, 1, NULL, 0, on_hit);
}
