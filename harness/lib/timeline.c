/* timeline: see timeline.h. */
#include "lib/timeline.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/proc.h"

long long tl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One open, one write, one close: the watcher and the scenario append to
 * the same file, and O_APPEND keeps each line whole. */
void tl_event(const char *path, long long t_us, pid_t pid, const char *kind,
	      const char *detail)
{
	char line[700];
	int n, fd;

	n = snprintf(line, sizeof line, "%lld %d %s %s", t_us, (int)pid, kind,
		     detail ? detail : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	/* one event a line, whatever the detail holds */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = '|';
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* a lost line is a missing mark on the timeline, nothing more */
	}
	close(fd);
}

void tl_notify_events(const char *path, const struct notify_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tl_event(path, msgs[i].t_us ? msgs[i].t_us : tl_now_us(), msgs[i].pid,
			 "notify", msgs[i].text);
}

void tl_load_events(const char *path, const struct loadgen_result *load)
{
	for (size_t i = 0; i < load->n_failures; i++)
		tl_event(path, load->failures[i].t_us, 0, "load", load->failures[i].what);
}

/* --- the watcher --- */

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static bool known(const struct tl_watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->procs[i].pid == pid)
			return true;
	return false;
}

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	buf[0] = 0;
	f = fopen(path, "re");
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n ")] = 0;
	if (!buf[0])
		snprintf(buf, len, "?");
}

static void add_proc(struct tl_watch *w, pid_t pid, pid_t parent, const char *kind)
{
	struct tl_proc *p;
	char detail[96], comm[32];

	if (w->n == TL_MAX_PROCS || known(w, pid))
		return;
	p = &w->procs[w->n++];
	p->pid = pid;
	p->scan_only = false;
	p->pidfd = pidfd_open_(pid);
	comm_of(pid, comm, sizeof comm);
	snprintf(detail, sizeof detail, "parent %d comm %s", (int)parent, comm);
	tl_event(w->events, tl_now_us(), pid, kind, detail);
}

/* /proc/P/task/P/children: the children forked by P's main thread, which
 * is every process batond forks (it has no other threads). */
static void scan_children(struct tl_watch *w, pid_t parent, const char *kind)
{
	char path[64], buf[1024];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%1023s", buf) == 1) {
		pid_t child = (pid_t)atoi(buf);

		if (child > 0 && !known(w, child))
			add_proc(w, child, parent, kind);
	}
	fclose(f);
}

static void scan_all(struct tl_watch *w, const char *kind)
{
	/* w->n grows inside the loop: children of the new ones are found in
	 * the same pass */
	for (size_t i = 0; i < w->n; i++)
		if (w->procs[i].scan_only || w->procs[i].pidfd >= 0)
			scan_children(w, w->procs[i].pid, kind);
}

static void read_pidfile(struct tl_watch *w)
{
	char buf[64] = "", now[64];
	FILE *f = fopen(w->pidfile, "re");

	if (!f) {
		snprintf(now, sizeof now, "missing");
	} else {
		size_t n = fread(buf, 1, sizeof buf - 1, f);

		fclose(f);
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (atoi(buf) > 0 && buf[strspn(buf, "0123456789")] == 0)
			snprintf(now, sizeof now, "%s", buf);
		else
			snprintf(now, sizeof now, "garbage %.40s", buf);
	}
	if (strcmp(now, w->last_pidfile) != 0) {
		snprintf(w->last_pidfile, sizeof w->last_pidfile, "%s", now);
		tl_event(w->events, tl_now_us(), atoi(now), "pidfile", now);
	}
}

/* Wait up to TL_PERIOD_MS for an exit; stamp each one as it comes. */
static void poll_exits(struct tl_watch *w)
{
	struct pollfd pfd[TL_MAX_PROCS];
	size_t map[TL_MAX_PROCS], k = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (w->procs[i].pidfd < 0)
			continue;
		pfd[k] = (struct pollfd){.fd = w->procs[i].pidfd, .events = POLLIN};
		map[k++] = i;
	}
	if (k == 0) {
		proc_sleep_ms(TL_PERIOD_MS);
		return;
	}
	if (poll(pfd, k, TL_PERIOD_MS) <= 0)
		return;
	for (size_t j = 0; j < k; j++) {
		struct tl_proc *p = &w->procs[map[j]];

		if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		tl_event(w->events, tl_now_us(), p->pid, "exit", NULL);
		close(p->pidfd);
		p->pidfd = -1;
	}
}

static void *watch_main(void *arg)
{
	struct tl_watch *w = arg;

	while (!atomic_load(&w->stop)) {
		scan_all(w, "seen");
		read_pidfile(w);
		poll_exits(w);
	}
	/* one last look: what ended while we were told to stop */
	scan_all(w, "seen");
	read_pidfile(w);
	poll_exits(w);
	return NULL;
}

int tl_watch_start(struct tl_watch *w, const char *events, const char *pidfile,
		   pid_t root)
{
	int fd;

	memset(w, 0, sizeof *w);
	snprintf(w->events, sizeof w->events, "%s", events);
	snprintf(w->pidfile, sizeof w->pidfile, "%s", pidfile);
	w->root = root;
	fd = open(events, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	w->procs[0] = (struct tl_proc){.pid = root, .pidfd = -1, .scan_only = true};
	w->n = 1;
	scan_all(w, "alive");
	read_pidfile(w);
	atomic_store(&w->stop, 0);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		tl_watch_stop(w);
		return -1;
	}
	w->running = true;
	return 0;
}

void tl_watch_stop(struct tl_watch *w)
{
	if (w->running) {
		atomic_store(&w->stop, 1);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	for (size_t i = 0; i < w->n; i++) {
		if (w->procs[i].pidfd >= 0)
			close(w->procs[i].pidfd);
		w->procs[i].pidfd = -1;
	}
}
