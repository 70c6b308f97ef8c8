/* channel: see channel.h. */
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int64_t channel_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int channel_init(struct channel *ch, int fd, size_t buffer_size,
		 size_t max_buffer_size, struct bt_err *err)
{
	int fl;

	memset(ch, 0, sizeof *ch);
	ch->fd = fd;
	if (buffer_size < CHANNEL_HEADER + 1 || max_buffer_size < buffer_size)
		return err_set(err, "channel", EINVAL,
			       "buffer size %zu / max buffer size %zu: need "
			       "%d <= buffer size <= max buffer size",
			       buffer_size, max_buffer_size, CHANNEL_HEADER + 1);
	ch->buffer_size = buffer_size;
	ch->max_buffer_size = max_buffer_size;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_set(err, "channel", errno,
			       "cannot make fd %d non-blocking", fd);
	return 0;
}

void channel_close(struct channel *ch)
{
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
	free(ch->rbuf);
	free(ch->wbuf);
	ch->rbuf = ch->wbuf = NULL;
	ch->rlen = ch->rcap = ch->wlen = ch->woff = ch->wcap = 0;
}

int channel_release(struct channel *ch)
{
	int fd = ch->fd;

	ch->fd = -1;
	channel_close(ch);
	return fd;
}

void channel_frame_header(unsigned char out[CHANNEL_HEADER], uint64_t len)
{
	for (int i = 0; i < CHANNEL_HEADER; i++)
		out[i] = (unsigned char)(len >> (8 * i));
}

int channel_frame_decode(const unsigned char *buf, size_t len,
			 size_t max_frame, size_t *payload_off,
			 size_t *payload_len, struct bt_err *err)
{
	uint64_t n = 0;

	if (len < CHANNEL_HEADER)
		return 0;
	for (int i = CHANNEL_HEADER - 1; i >= 0; i--)
		n = (n << 8) | buf[i];
	/* n + CHANNEL_HEADER would wrap for n near 2^64: compare the other way */
	if (n > max_frame || max_frame - n < CHANNEL_HEADER)
		return err_set(err, "channel-read", EMSGSIZE,
			       "a frame of %llu bytes (plus the %d-byte header) "
			       "exceeds the max buffer size of %zu bytes",
			       (unsigned long long)n, CHANNEL_HEADER, max_frame);
	if (len - CHANNEL_HEADER < n)
		return 0;
	*payload_off = CHANNEL_HEADER;
	*payload_len = (size_t)n;
	return 1;
}

/* Room for at least one more byte, growing up to max_buffer_size. */
static int reserve_read(struct channel *ch, struct bt_err *err)
{
	size_t cap;
	unsigned char *p;

	if (ch->rlen < ch->rcap)
		return 0;
	if (ch->rcap >= ch->max_buffer_size)
		return err_set(err, "channel-read", EMSGSIZE,
			       "the receive buffer is full at the max buffer "
			       "size of %zu bytes", ch->max_buffer_size);
	cap = ch->rcap ? ch->rcap * 2 : ch->buffer_size;
	if (cap > ch->max_buffer_size)
		cap = ch->max_buffer_size;
	p = realloc(ch->rbuf, cap);
	if (!p)
		return err_set(err, "channel-read", ENOMEM,
			       "cannot grow the receive buffer to %zu bytes", cap);
	ch->rbuf = p;
	ch->rcap = cap;
	return 0;
}

ssize_t channel_fill(struct channel *ch, size_t limit, struct bt_err *err)
{
	size_t off, plen, room;
	ssize_t n;

	/* Refuse to read past an oversized frame. */
	if (channel_frame_decode(ch->rbuf, ch->rlen, ch->max_buffer_size, &off,
				 &plen, err) < 0)
		return -1;
	if (reserve_read(ch, err))
		return -1;
	room = ch->rcap - ch->rlen;
	if (limit && room > limit)
		room = limit;
	if (ch->fault) {
		enum fp_kind k = ch->fault(false);

		if (k == FP_ERROR)
			return err_set(err, "channel-read", errno,
				       "read from fd %d failed (injected)", ch->fd);
		if (k == FP_SHORT && room > 1)
			room = 1;
	}
	do {
		n = read(ch->fd, ch->rbuf + ch->rlen, room);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		return err_set(err, "channel-read", errno, "read from fd %d failed",
			       ch->fd);
	}
	ch->rlen += (size_t)n;
	return n;
}

int channel_next(struct channel *ch, char **payload, size_t *len,
		 struct bt_err *err)
{
	size_t off, plen;
	int rc = channel_frame_decode(ch->rbuf, ch->rlen, ch->max_buffer_size,
				      &off, &plen, err);
	char *p;

	if (rc <= 0)
		return rc;
	p = malloc(plen + 1);
	if (!p)
		return err_set(err, "channel-read", ENOMEM,
			       "cannot copy a %zu-byte frame", plen);
	memcpy(p, ch->rbuf + off, plen);
	p[plen] = 0;
	memmove(ch->rbuf, ch->rbuf + off + plen, ch->rlen - off - plen);
	ch->rlen -= off + plen;
	*payload = p;
	*len = plen;
	return 1;
}

bool channel_partial(const struct channel *ch)
{
	return ch->rlen > 0;
}

int channel_queue(struct channel *ch, const char *payload, size_t len,
		  struct bt_err *err)
{
	size_t need = ch->wlen + CHANNEL_HEADER + len;

	if (len + CHANNEL_HEADER > ch->max_buffer_size)
		return err_set(err, "channel-write", EMSGSIZE,
			       "a frame of %zu bytes (plus the %d-byte header) "
			       "exceeds the max buffer size of %zu bytes",
			       len, CHANNEL_HEADER, ch->max_buffer_size);
	if (need > ch->wcap) {
		size_t cap = ch->wcap ? ch->wcap : 256;
		unsigned char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(ch->wbuf, cap);
		if (!p)
			return err_set(err, "channel-write", ENOMEM,
				       "cannot queue a %zu-byte frame", len);
		ch->wbuf = p;
		ch->wcap = cap;
	}
	channel_frame_header(ch->wbuf + ch->wlen, len);
	memcpy(ch->wbuf + ch->wlen + CHANNEL_HEADER, payload, len);
	ch->wlen += CHANNEL_HEADER + len;
	return 0;
}

bool channel_pending(const struct channel *ch)
{
	return ch->woff < ch->wlen;
}

int channel_flush(struct channel *ch, struct bt_err *err)
{
	while (ch->woff < ch->wlen) {
		size_t len = ch->wlen - ch->woff;
		ssize_t n;

		if (ch->fault) {
			enum fp_kind k = ch->fault(true);

			if (k == FP_ERROR)
				return err_set(err, "channel-write", errno,
					       "write to fd %d failed (injected)",
					       ch->fd);
			if (k == FP_SHORT && len > 1)
				len /= 2;
		}
		/* MSG_NOSIGNAL: a peer that went away is an EPIPE error, not a
		 * signal that kills the master. */
		n = send(ch->fd, ch->wbuf + ch->woff, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(ch->fd, ch->wbuf + ch->woff, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return err_set(err, "channel-write", errno,
				       "write to fd %d failed", ch->fd);
		}
		ch->woff += (size_t)n;
	}
	ch->woff = ch->wlen = 0;
	return 1;
}

/* Wait for EVENTS on the channel until the deadline; -1 ETIMEDOUT. */
/* poll takes an int of milliseconds: a far deadline is waited for in
 * slices of this. */
#define POLL_SLICE_MS 1000000

int channel_wait_fd(int fd, short events, int64_t deadline, const char *step,
		    struct bt_err *err)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int timeout = -1, rc;

		if (deadline >= 0) {
			int64_t left = deadline - channel_now_ms();

			if (left <= 0)
				return err_set(err, step, ETIMEDOUT,
					       "no progress on fd %d before the deadline", fd);
			timeout = left > POLL_SLICE_MS ? POLL_SLICE_MS : (int)left;
		}
		rc = poll(&p, 1, timeout);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return err_set(err, step, errno, "poll on fd %d failed", fd);
	}
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : channel_now_ms() + timeout_ms;
}

int channel_send(struct channel *ch, const char *payload, size_t len,
		 int timeout_ms, struct bt_err *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	int rc;

	if (channel_queue(ch, payload, len, err))
		return -1;
	while ((rc = channel_flush(ch, err)) == 0)
		if (channel_wait_fd(ch->fd, POLLOUT, deadline, "channel-write", err))
			return -1;
	return rc < 0 ? -1 : 0;
}

int channel_recv(struct channel *ch, char **payload, size_t *len,
		 int timeout_ms, struct bt_err *err)
{
	int64_t deadline = deadline_of(timeout_ms);

	for (;;) {
		int rc = channel_next(ch, payload, len, err);
		ssize_t n;

		if (rc != 0)
			return rc > 0 ? 0 : -1;
		n = channel_fill(ch, 0, err);
		if (n == 0) {
			if (ch->rlen == 0)
				return 1;
			return err_set(err, "channel-read", ECONNRESET,
				       "the peer closed fd %d in the middle of a "
				       "frame (%zu bytes buffered)", ch->fd, ch->rlen);
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (channel_wait_fd(ch->fd, POLLIN, deadline, "channel-read", err))
				return -1;
		}
	}
}

int channel_connect(struct channel *ch, const char *path, size_t buffer_size,
		    size_t max_buffer_size, struct bt_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	memset(ch, 0, sizeof *ch);
	ch->fd = -1;
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(err, "connect", ENAMETOOLONG, "%s is too long", path);
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, "connect", errno, "cannot connect to %s: socket failed",
			       path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;

		close(fd);
		return err_set(err, "connect", e, "cannot connect to %s", path);
	}
	if (channel_init(ch, fd, buffer_size, max_buffer_size, err)) {
		channel_close(ch);	/* a failed connect leaves nothing open */
		return -1;
	}
	return 0;
}
