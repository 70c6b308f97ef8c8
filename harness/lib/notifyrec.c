/* notifyrec: see notifyrec.h. */
#include "lib/notifyrec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int notifyrec_open(struct notifyrec *r, const char *path, struct bt_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int one = 1;

	memset(r, 0, sizeof *r);
	r->fd = -1;
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(err, "notify", ENAMETOOLONG, "%s is too long", path);
	snprintf(r->path, sizeof r->path, "%s", path);
	memcpy(sa.sun_path, path, strlen(path));
	unlink(path);
	r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->fd < 0 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0 ||
	    bind(r->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;

		notifyrec_close(r);
		return err_set(err, "notify", e, "cannot bind %s", path);
	}
	return 0;
}

/* The kernel stamps a datagram's arrival on the real-time clock; the
 * timeline's clock is CLOCK_MONOTONIC: shift by their difference now
 * (the datagram is at most a scenario old, the clocks do not drift apart
 * that fast). */
static long long realtime_to_monotonic_us(const struct timespec *rt)
{
	struct timespec now_rt, now_mono;

	clock_gettime(CLOCK_REALTIME, &now_rt);
	clock_gettime(CLOCK_MONOTONIC, &now_mono);
	return ((long long)rt->tv_sec - now_rt.tv_sec + now_mono.tv_sec) * 1000000LL +
	       ((long long)rt->tv_nsec - now_rt.tv_nsec + now_mono.tv_nsec) / 1000;
}

void notifyrec_drain(struct notifyrec *r)
{
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred)) +
				 CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctl;
		char text[512];
		struct iovec iov = {text, sizeof text - 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof ctl.buf};
		ssize_t n = recvmsg(r->fd, &mh, 0);
		struct notify_msg *m;

		if (n < 0)
			return;
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			struct notify_msg *p = realloc(r->msgs, cap * sizeof *p);

			if (!p)
				return;
			r->msgs = p;
			r->cap = cap;
		}
		m = &r->msgs[r->n++];
		text[n] = 0;
		snprintf(m->text, sizeof m->text, "%s", text);
		m->pid = -1;
		m->t_us = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_CREDENTIALS) {
				struct ucred cred;

				memcpy(&cred, CMSG_DATA(c), sizeof cred);
				m->pid = cred.pid;
			} else if (c->cmsg_level == SOL_SOCKET &&
				   c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof ts);
				m->t_us = realtime_to_monotonic_us(&ts);
			}
		}
	}
}

void notifyrec_close(struct notifyrec *r)
{
	if (r->fd >= 0) {
		close(r->fd);
		unlink(r->path);
	}
	r->fd = -1;
	free(r->msgs);
	r->msgs = NULL;
	r->n = r->cap = 0;
}

char *notifyrec_transcript(const struct notifyrec *r)
{
	size_t cap = 64 + r->n * 600, len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[0] = 0;
	for (size_t i = 0; i < r->n; i++) {
		len += (size_t)snprintf(out + len, cap - len, "%d: ", (int)r->msgs[i].pid);
		for (const char *p = r->msgs[i].text; *p && len + 3 < cap; p++) {
			if (*p == '\n') {
				out[len++] = '\\';
				out[len++] = 'n';
			} else {
				out[len++] = *p;
			}
		}
		out[len++] = '\n';
		out[len] = 0;
	}
	return out;
}
