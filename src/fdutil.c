/* fdutil: see fdutil.h. */
#include "fdutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

int fdutil_get_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	return f < 0 ? -1 : (f & FD_CLOEXEC) != 0;
}

int fdutil_set_cloexec(int fd, bool on)
{
	int f = fcntl(fd, F_GETFD);

	if (f < 0)
		return -1;
	f = on ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, f);
}

int fdutil_identity(int fd, struct fdutil_id *id)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

bool fdutil_id_equal(const struct fdutil_id *a, const struct fdutil_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

int fdutil_id_cmp(const struct fdutil_id *a, const struct fdutil_id *b)
{
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return 0;
}

struct alias_entry {
	struct fdutil_id id;
	size_t i;
};

/* By identity, then by position: the pair reported is the same every run. */
static int cmp_alias(const void *a, const void *b)
{
	const struct alias_entry *x = a, *y = b;
	int c = fdutil_id_cmp(&x->id, &y->id);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

int fdutil_check_distinct(size_t n, int (*fd_at)(size_t i, const void *ctx),
			  fdutil_label_fn label, const void *ctx, const char *step,
			  struct bt_err *err)
{
	struct alias_entry *v = calloc(n ? n : 1, sizeof *v);
	char a[128], b[128];
	int rc = 0;

	if (!v)
		return err_set(err, step, ENOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		v[i].i = i;
		if (fdutil_identity(fd_at(i, ctx), &v[i].id)) {
			label(i, ctx, a, sizeof a);
			rc = err_set(err, step, errno, "cannot fstat %s", a);
		}
	}
	if (rc == 0)
		qsort(v, n, sizeof *v, cmp_alias);
	for (size_t i = 1; i < n && rc == 0; i++) {
		if (!fdutil_id_equal(&v[i - 1].id, &v[i].id))
			continue;
		label(v[i - 1].i, ctx, a, sizeof a);
		label(v[i].i, ctx, b, sizeof b);
		rc = err_set(err, step, EEXIST, "%s and %s are the same kernel object", a, b);
	}
	free(v);
	return rc;
}

bool fdutil_is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static int sockopt_int(int fd, int level, int name, int *value)
{
	socklen_t len = sizeof *value;

	return getsockopt(fd, level, name, value, &len);
}

int fdutil_is_unix_stream(int fd)
{
	struct stat st;
	int domain, type;

	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISSOCK(st.st_mode))
		return 0;
	if (sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &domain) ||
	    sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type))
		return -1;
	return domain == AF_UNIX && type == SOCK_STREAM;
}

int fdutil_is_listening(int fd)
{
	struct stat st;
	int on;

	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISSOCK(st.st_mode))
		return 0;
	if (sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &on))
		return -1;
	return on != 0;
}

int fdutil_is_regular(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	return S_ISREG(st.st_mode) != 0;
}

int fdutil_parse_fd(const char *text, int *fd)
{
	long v = 0;

	if (!text || !*text)
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > INT_MAX)
			return -1;
	}
	*fd = (int)v;
	return 0;
}

int fdutil_timerfd(uint64_t ms)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ms / 1000),
					      .tv_nsec = (long)(ms % 1000) * 1000000}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct fdutil_entry *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* Fill flags/cloexec from /proc/PID/fdinfo/N ("flags:\t02000002"). */
static void read_fdinfo(const char *proc, int fd, struct fdutil_entry *e)
{
	char path[96], line[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/fdinfo/%d", proc, fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags:", 6) == 0) {
			e->flags = strtoul(line + 6, NULL, 8);
			e->cloexec = (e->flags & 02000000) != 0;
			break;
		}
	}
	fclose(f);
}

int fdutil_list(pid_t pid, struct fdutil_entry **out, size_t *n,
		struct bt_err *err)
{
	char proc[48], dirpath[64];
	struct fdutil_entry *v = NULL;
	size_t cap = 0, len = 0;
	struct dirent *d;
	DIR *dir;

	if (pid > 0)
		snprintf(proc, sizeof proc, "/proc/%d", (int)pid);
	else
		snprintf(proc, sizeof proc, "/proc/self");
	snprintf(dirpath, sizeof dirpath, "%s/fd", proc);
	dir = opendir(dirpath);
	if (!dir)
		return err_set(err, "fd-list", errno, "cannot open %s", dirpath);
	while ((d = readdir(dir)) != NULL) {
		char link[96];
		ssize_t r;
		int fd;

		if (fdutil_parse_fd(d->d_name, &fd))
			continue;
		/* the directory stream's own fd, when listing ourselves */
		if (pid <= 0 && fd == dirfd(dir))
			continue;
		if (len == cap) {
			struct fdutil_entry *nv;

			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(dir);
				return err_set(err, "fd-list", ENOMEM, "out of memory");
			}
			v = nv;
		}
		memset(&v[len], 0, sizeof v[len]);
		v[len].fd = fd;
		snprintf(link, sizeof link, "%s/%d", dirpath, fd);
		r = readlink(link, v[len].target, sizeof v[len].target - 1);
		if (r < 0)
			continue;	/* closed while we looked */
		v[len].target[r] = 0;
		read_fdinfo(proc, fd, &v[len]);
		len++;
	}
	closedir(dir);
	if (len)
		qsort(v, len, sizeof *v, cmp_entry);
	*out = v;
	*n = len;
	return 0;
}
