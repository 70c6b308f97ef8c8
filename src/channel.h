/* channel: framed JSON messages on a unix stream socket.
 *
 * A frame is an 8-byte little-endian payload length followed by the
 * payload.  The receive buffer starts at buffer_size bytes and grows, by
 * doubling, up to max_buffer_size; a frame that would not fit (header
 * included) is an error that names both sizes, and nothing past it is
 * read.  Reads and writes are non-blocking underneath; the blocking
 * helpers poll with a deadline, resume after EINTR and partial transfers.
 *
 * Ownership: channel_init takes the fd, when it fails too; channel_close
 * closes it (and frees the buffers); channel_release gives the fd back
 * without closing it.
 *
 * The optional fault hook lets the caller put one of its named fault points
 * (old/confirm-read, new/confirm-write, ...) under every read or write
 * call the channel makes, without the channel knowing the names. */
#ifndef BATON_CHANNEL_H
#define BATON_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "failpoint.h"

#define CHANNEL_HEADER 8

struct channel {
	int fd;
	unsigned char *rbuf;
	size_t rlen, rcap;
	unsigned char *wbuf;
	size_t wlen, woff, wcap;
	size_t buffer_size, max_buffer_size;
	/* called before each read (writing=false) and write (true) */
	enum fp_kind (*fault)(bool writing);
};

int channel_init(struct channel *ch, int fd, size_t buffer_size,
		 size_t max_buffer_size, struct bt_err *err);
void channel_close(struct channel *ch);
int channel_release(struct channel *ch);

/* Connect to the unix stream socket at PATH (a master's command socket)
 * and init CH on the connected fd.  Errors name the path and the errno
 * and leave CH closed (fd -1), so channel_close on it is harmless. */
int channel_connect(struct channel *ch, const char *path, size_t buffer_size,
		    size_t max_buffer_size, struct bt_err *err);

/* Pure decoder, for the channel and the fuzzer.  Returns 1 with the payload
 * offset/length when buf starts with a whole frame, 0 when more bytes are
 * needed, -1 when the announced frame exceeds max_frame bytes (header
 * included). */
int channel_frame_decode(const unsigned char *buf, size_t len,
			 size_t max_frame, size_t *payload_off,
			 size_t *payload_len, struct bt_err *err);
void channel_frame_header(unsigned char out[CHANNEL_HEADER], uint64_t len);

/* Read what the socket has (at most LIMIT bytes when LIMIT > 0).  Returns
 * the number of bytes read, 0 on end of file, -1 with errno (EAGAIN when
 * nothing was there). */
ssize_t channel_fill(struct channel *ch, size_t limit, struct bt_err *err);
/* 1 and a malloc'd NUL-terminated copy of the next payload, 0 when no whole
 * frame is buffered, -1 on an oversized frame. */
int channel_next(struct channel *ch, char **payload, size_t *len,
		 struct bt_err *err);
/* True when the buffer holds a partial frame. */
bool channel_partial(const struct channel *ch);

/* Queue a frame for writing; flush writes what the socket takes: 1 when
 * everything is written, 0 when some is left (EAGAIN), -1 on error. */
int channel_queue(struct channel *ch, const char *payload, size_t len,
		  struct bt_err *err);
int channel_flush(struct channel *ch, struct bt_err *err);
bool channel_pending(const struct channel *ch);

/* Blocking helpers with a deadline (timeout_ms < 0: wait forever).
 * channel_recv returns 0 with a frame, 1 on a clean end of file at a frame
 * boundary, -1 on error: ETIMEDOUT at the deadline, ECONNRESET when the
 * peer closed mid-frame, EMSGSIZE for an oversized frame. */
int channel_send(struct channel *ch, const char *payload, size_t len,
		 int timeout_ms, struct bt_err *err);
int channel_recv(struct channel *ch, char **payload, size_t *len,
		 int timeout_ms, struct bt_err *err);

/* Milliseconds on CLOCK_MONOTONIC; for deadlines everywhere. */
int64_t channel_now_ms(void);

/* Wait until FD has EVENTS (poll's) or DEADLINE (channel_now_ms time, < 0:
 * none) passes: 0, or -1 naming STEP with ETIMEDOUT or poll's errno.
 * EINTR resumes the wait. */
int channel_wait_fd(int fd, short events, int64_t deadline, const char *step,
		    struct bt_err *err);

#endif
