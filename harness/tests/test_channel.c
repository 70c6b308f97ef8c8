/* test_channel: framed messages on a unix stream socket.
 *
 * The decoder row by row, frames split over many reads and packed into
 * one, the max buffer size on both sides, deadlines, a peer that goes away
 * mid-frame or cleanly, signals during the wait, and the fault hook. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "failpoint_control.h"
#include "fdutil.h"
#include "json_guard.h"
#include "tests/testutil.h"

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the message \"%s\"", needle, hay);
}

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
}

static void close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

/* Header + payload in a malloc'd buffer. */
static unsigned char *make_frame(const char *payload, size_t len, size_t *total)
{
	unsigned char *f = malloc(CHANNEL_HEADER + len);

	assert_non_null(f);
	channel_frame_header(f, len);
	memcpy(f + CHANNEL_HEADER, payload, len);
	*total = CHANNEL_HEADER + len;
	return f;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* A payload whose bytes say where they are, so a lost or doubled byte
 * anywhere shows. */
static char *pattern(size_t len)
{
	char *p = malloc(len + 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (char)('a' + (i * 7 + i / 26) % 26);
	p[len] = 0;
	return p;
}

/* Signals may be flying (test_eintr_during_recv): retry on EINTR. */
static void reap_ok(pid_t pid)
{
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	assert_int_equal(r, pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A child that writes BUF to FD in chunks of 1..MAXCHUNK bytes after
 * DELAY_MS, then exits.  Never asserts: the exit status says. */
static pid_t fork_writer(int fd, int other, const unsigned char *buf,
			 size_t len, size_t maxchunk, int delay_ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec ts = {delay_ms / 1000,
				      (delay_ms % 1000) * 1000000L};
		size_t off = 0, k = 0;

		close(other);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		while (off < len) {
			size_t n = 1 + (k++ * 3) % maxchunk;
			ssize_t w;

			if (n > len - off)
				n = len - off;
			w = write(fd, buf + off, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	return pid;
}

/* --- the decoder --- */

struct decode_row {
	uint64_t announced;
	size_t have; /* bytes in the buffer, header included */
	size_t max_frame;
	int rc;
	size_t payload_len;
};

/* clang-format off */
static const struct decode_row decode_rows[] = {
	{5, 0, 64, 0, 0},		/* nothing yet */
	{5, 7, 64, 0, 0},		/* header incomplete */
	{0, 8, 64, 1, 0},		/* empty payload */
	{5, 12, 64, 0, 0},		/* payload incomplete */
	{5, 13, 64, 1, 5},		/* exactly one frame */
	{5, 40, 64, 1, 5},		/* and the start of the next */
	{56, 8, 64, 0, 0},		/* fits exactly: wait for it */
	{56, 64, 64, 1, 56},
	{57, 8, 64, -1, 0},		/* one byte too many */
	{0, 8, 8, 1, 0},
	{1, 8, 8, -1, 0},
	{UINT64_MAX, 8, 64, -1, 0},	/* n + header would wrap */
	{UINT64_MAX - 7, 8, 64, -1, 0},
	{(uint64_t)1 << 63, 8, 64, -1, 0},
	{(uint64_t)1 << 32, 8, SIZE_MAX, 0, 0},	/* big but allowed */
};
/* clang-format on */

static void test_frame_decode_rows(void **unused)
{
	size_t n = sizeof decode_rows / sizeof decode_rows[0];
	unsigned char buf[80];

	(void)unused;
	for (size_t i = 0; i < n; i++) {
		const struct decode_row *r = &decode_rows[i];
		struct bt_err err = {0};
		size_t off = 99, len = 99;
		int rc;

		memset(buf, 'x', sizeof buf);
		channel_frame_header(buf, r->announced);
		rc = channel_frame_decode(buf, r->have, r->max_frame, &off,
					  &len, &err);
		if (rc != r->rc)
			fail_msg("row %zu: rc %d, want %d", i, rc, r->rc);
		if (rc == 1) {
			assert_int_equal(off, CHANNEL_HEADER);
			assert_int_equal(len, r->payload_len);
		} else if (rc == -1) {
			char want[32];

			assert_int_equal(err.errnum, EMSGSIZE);
			snprintf(want, sizeof want, "%zu bytes", r->max_frame);
			assert_has(err.msg, want);
			snprintf(want, sizeof want, "%llu bytes",
				 (unsigned long long)r->announced);
			assert_has(err.msg, want);
		}
	}
}

static void test_frame_header_little_endian(void **unused)
{
	unsigned char h[CHANNEL_HEADER];

	(void)unused;
	channel_frame_header(h, 0x0102030405060708ull);
	for (int i = 0; i < CHANNEL_HEADER; i++)
		assert_int_equal(h[i], 8 - i);
}

static void test_init_rejects_sizes(void **unused)
{
	struct channel ch;
	struct bt_err err = {0};
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 8, 64, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(channel_init(&ch, sv[0], 64, 63, &err), -1);
	assert_has(err.msg, "64");
	assert_has(err.msg, "63");
	assert_int_equal(channel_init(&ch, -1, 16, 64, &err), -1);
	assert_int_equal(err.errnum, EBADF);
	close_pair(sv);
}

/* --- splitting and packing --- */

/* One byte a read: partial until the last byte, then the whole frame. */
static void test_split_one_byte_at_a_time(void **unused)
{
	const char *msg = "{\"ok\":true,\"pid\":4242,\"boot_generation\":7}";
	struct channel ch;
	struct bt_err err = {0};
	size_t total, len;
	unsigned char *f = make_frame(msg, strlen(msg), &total);
	char *payload = NULL;
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 1024, &err), 0);
	for (size_t i = 0; i < total; i++) {
		write_all(sv[1], f + i, 1);
		assert_int_equal(channel_fill(&ch, 0, &err), 1);
		if (i + 1 < total) {
			assert_int_equal(
			    channel_next(&ch, &payload, &len, &err), 0);
			assert_true(channel_partial(&ch));
		}
	}
	assert_int_equal(channel_next(&ch, &payload, &len, &err), 1);
	assert_int_equal(len, strlen(msg));
	assert_string_equal(payload, msg);
	assert_false(channel_partial(&ch));
	/* nothing more: EAGAIN, not an error */
	assert_int_equal(channel_fill(&ch, 0, &err), -1);
	assert_int_equal(errno, EAGAIN);
	free(payload);
	free(f);
	channel_close(&ch);
	close(sv[1]);
}

/* A separate process dribbles a 5000-byte frame in 1..7-byte writes while
 * channel_recv waits; then it exits and the next receive is a clean EOF. */
static void test_split_forked_writer(void **unused)
{
	char *msg = pattern(5000), *payload = NULL;
	struct channel ch;
	struct bt_err err = {0};
	size_t total, len;
	unsigned char *f = make_frame(msg, 5000, &total);
	int sv[2];
	pid_t pid;

	(void)unused;
	make_pair(sv);
	pid = fork_writer(sv[1], sv[0], f, total, 7, 0);
	close(sv[1]);
	assert_int_equal(channel_init(&ch, sv[0], 64, 1 << 16, &err), 0);
	assert_int_equal(channel_recv(&ch, &payload, &len, 5000, &err), 0);
	assert_int_equal(len, 5000);
	assert_memory_equal(payload, msg, 5000);
	reap_ok(pid);
	assert_int_equal(channel_recv(&ch, &payload, &len, 5000, &err), 1);
	free(payload);
	free(msg);
	free(f);
	channel_close(&ch);
}

/* Three frames queued, one read takes them all, three nexts give them in
 * order. */
static void test_several_frames_one_read(void **unused)
{
	static const char *const msgs[] = {"first", "", "third frame"};
	struct channel tx, rx;
	struct bt_err err = {0};
	size_t total = 0, len;
	char *payload;
	int sv[2], avail = -1;

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&tx, sv[1], 16, 1024, &err), 0);
	assert_int_equal(channel_init(&rx, sv[0], 256, 1024, &err), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    channel_queue(&tx, msgs[i], strlen(msgs[i]), &err), 0);
		total += CHANNEL_HEADER + strlen(msgs[i]);
	}
	assert_true(channel_pending(&tx));
	assert_int_equal(channel_flush(&tx, &err), 1);
	assert_false(channel_pending(&tx));
	assert_int_equal(channel_fill(&rx, 0, &err), (ssize_t)total);
	assert_int_equal(ioctl(sv[0], FIONREAD, &avail), 0);
	assert_int_equal(avail, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(channel_next(&rx, &payload, &len, &err), 1);
		assert_int_equal(len, strlen(msgs[i]));
		assert_string_equal(payload, msgs[i]);
		free(payload);
	}
	assert_int_equal(channel_next(&rx, &payload, &len, &err), 0);
	channel_close(&tx);
	channel_close(&rx);
}

/* channel_fill's LIMIT caps one read. */
static void test_fill_limit(void **unused)
{
	struct channel ch;
	struct bt_err err = {0};
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 64, 64, &err), 0);
	write_all(sv[1], "0123456789", 10);
	assert_int_equal(channel_fill(&ch, 3, &err), 3);
	assert_int_equal(channel_fill(&ch, 0, &err), 7);
	assert_int_equal(ch.rlen, 10);
	channel_close(&ch);
	close(sv[1]);
}

/* --- the max buffer size --- */

/* A frame announcing 1000 bytes against a 64-byte max: EMSGSIZE with both
 * sizes, and the rest of the stream stays unread. */
static void test_oversized_frame_recv(void **unused)
{
	unsigned char hdr[CHANNEL_HEADER];
	char body[200];
	struct channel ch;
	struct bt_err err = {0};
	size_t len;
	char *payload = NULL;
	int sv[2], avail = 0;

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 64, &err), 0);
	channel_frame_header(hdr, 1000);
	memset(body, 'b', sizeof body);
	write_all(sv[1], hdr, sizeof hdr);
	write_all(sv[1], body, sizeof body);
	assert_int_equal(channel_recv(&ch, &payload, &len, 2000, &err), -1);
	assert_int_equal(err.errnum, EMSGSIZE);
	assert_has(err.msg, "1000 bytes");
	assert_has(err.msg, "64 bytes");
	assert_null(payload);
	assert_int_equal(ioctl(sv[0], FIONREAD, &avail), 0);
	assert_true(avail > 0);
	/* asking again reads nothing more */
	assert_int_equal(channel_fill(&ch, 0, &err), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(ioctl(sv[0], FIONREAD, &avail), 0);
	assert_true(avail > 0);
	channel_close(&ch);
	close(sv[1]);
}

/* The largest frame that fits arrives. */
static void test_frame_at_max_size(void **unused)
{
	char *msg = pattern(64 - CHANNEL_HEADER), *payload;
	struct channel tx, rx;
	struct bt_err err = {0};
	size_t len;
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&tx, sv[1], 16, 64, &err), 0);
	assert_int_equal(channel_init(&rx, sv[0], 16, 64, &err), 0);
	assert_int_equal(channel_send(&tx, msg, 56, 1000, &err), 0);
	assert_int_equal(channel_recv(&rx, &payload, &len, 1000, &err), 0);
	assert_int_equal(len, 56);
	assert_memory_equal(payload, msg, 56);
	assert_int_equal(rx.rcap, 64);
	free(payload);
	free(msg);
	channel_close(&tx);
	channel_close(&rx);
}

static void test_oversized_frame_send(void **unused)
{
	char msg[57] = {0};
	struct channel ch;
	struct bt_err err = {0};
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 64, &err), 0);
	assert_int_equal(channel_send(&ch, msg, sizeof msg, 1000, &err), -1);
	assert_int_equal(err.errnum, EMSGSIZE);
	assert_has(err.msg, "57 bytes");
	assert_has(err.msg, "64 bytes");
	assert_false(channel_pending(&ch));
	channel_close(&ch);
	close(sv[1]);
}

/* --- deadlines and the end of the stream --- */

/* WATCHDOG: a receive that ignores its deadline kills the suite with
 * SIGALRM instead of hanging it (not when the test owns ITIMER_REAL). */
static void expect_timeout(struct channel *ch, int timeout_ms, bool watchdog)
{
	struct bt_err err = {0};
	int64_t t0 = channel_now_ms(), dt;
	char *payload = NULL;
	size_t len;

	if (watchdog)
		alarm(10);
	assert_int_equal(channel_recv(ch, &payload, &len, timeout_ms, &err),
			 -1);
	if (watchdog)
		alarm(0);
	dt = channel_now_ms() - t0;
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_null(payload);
	assert_in_range(dt, timeout_ms, timeout_ms + 1500);
}

static void test_recv_deadline(void **unused)
{
	struct channel ch;
	struct bt_err err = {0};
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 64, &err), 0);
	expect_timeout(&ch, 120, true);
	/* a partial frame does not stop the clock either */
	write_all(sv[1], "\x05\0\0\0\0\0\0\0ab", 10);
	expect_timeout(&ch, 120, true);
	assert_true(channel_partial(&ch));
	channel_close(&ch);
	close(sv[1]);
}

/* A peer that never reads: channel_send gives up at the deadline and
 * keeps the rest queued. */
static void test_send_deadline(void **unused)
{
	size_t big = (size_t)4 << 20;
	char *msg = calloc(1, big);
	struct channel ch;
	struct bt_err err = {0};
	int sv[2], small = 4096;
	int64_t t0, dt;

	(void)unused;
	assert_non_null(msg);
	make_pair(sv);
	assert_int_equal(
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
	assert_int_equal(
	    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	assert_int_equal(channel_init(&ch, sv[0], 16, big * 2, &err), 0);
	t0 = channel_now_ms();
	alarm(10); /* see expect_timeout */
	assert_int_equal(channel_send(&ch, msg, big, 150, &err), -1);
	alarm(0);
	dt = channel_now_ms() - t0;
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_in_range(dt, 150, 1650);
	assert_true(channel_pending(&ch));
	free(msg);
	channel_close(&ch);
	close(sv[1]);
}

static void test_peer_closed_mid_frame(void **unused)
{
	struct channel ch;
	struct bt_err err = {0};
	char *payload = NULL;
	size_t len;
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 64, &err), 0);
	write_all(sv[1], "\x0a\0\0\0\0\0\0\0abcd", 12);
	close(sv[1]);
	assert_int_equal(channel_recv(&ch, &payload, &len, 1000, &err), -1);
	assert_int_equal(err.errnum, ECONNRESET);
	assert_has(err.msg, "middle of a frame");
	assert_has(err.msg, "12 bytes");
	assert_null(payload);
	channel_close(&ch);
}

static void test_clean_eof(void **unused)
{
	struct channel ch;
	struct bt_err err = {0};
	char *payload = NULL;
	size_t len;
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 64, &err), 0);
	write_all(sv[1], "\x02\0\0\0\0\0\0\0ok", 10);
	close(sv[1]);
	assert_int_equal(channel_recv(&ch, &payload, &len, 1000, &err), 0);
	assert_string_equal(payload, "ok");
	free(payload);
	payload = NULL;
	assert_int_equal(channel_recv(&ch, &payload, &len, 1000, &err), 1);
	assert_null(payload);
	channel_close(&ch);
}

/* --- signals --- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* SIGALRM every 2 ms, without SA_RESTART: every poll and read may fail
 * with EINTR.  A frame still arrives, and a deadline is still a
 * deadline. */
static void test_eintr_during_recv(void **unused)
{
	struct sigaction sa = {0}, old;
	struct itimerval it = {{0, 2000}, {0, 2000}}, off = {{0, 0}, {0, 0}};
	char *msg = pattern(3000), *payload = NULL;
	struct channel ch;
	struct bt_err err = {0};
	size_t total, len;
	unsigned char *f = make_frame(msg, 3000, &total);
	int sv[2];
	pid_t pid;

	(void)unused;
	make_pair(sv);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	pid = fork_writer(sv[1], sv[0], f, total, 64, 100);
	close(sv[1]);
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(channel_init(&ch, sv[0], 16, 1 << 16, &err), 0);
	assert_int_equal(channel_recv(&ch, &payload, &len, 5000, &err), 0);
	assert_int_equal(len, 3000);
	assert_memory_equal(payload, msg, 3000);
	reap_ok(pid);
	free(payload);
	payload = NULL;
	/* EOF now; a fresh pair for the deadline under signals */
	assert_int_equal(channel_recv(&ch, &payload, &len, 1000, &err), 1);
	channel_close(&ch);
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 64, &err), 0);
	expect_timeout(&ch, 100, false);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	assert_true(alarms > 10);
	channel_close(&ch);
	close(sv[1]);
	free(msg);
	free(f);
}

/* --- the fault hook --- */

static unsigned hook_reads, hook_writes;
static enum fp_kind hook_read_kind, hook_write_kind;

static enum fp_kind hook(bool writing)
{
	enum fp_kind k = writing ? hook_write_kind : hook_read_kind;

	if (writing)
		hook_writes++;
	else
		hook_reads++;
	if (k == FP_ERROR)
		errno = EIO; /* as FP_HIT does: the errno comes with it */
	return k;
}

static void set_hook(enum fp_kind read_kind, enum fp_kind write_kind)
{
	hook_reads = hook_writes = 0;
	hook_read_kind = read_kind;
	hook_write_kind = write_kind;
}

/* Short writes on one side, short reads on the other: many calls, and
 * the frame arrives intact. */
static void test_fault_short(void **unused)
{
	char *msg = pattern(1000), *payload = NULL;
	struct channel tx, rx;
	struct bt_err err = {0};
	size_t len;
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&tx, sv[1], 16, 4096, &err), 0);
	assert_int_equal(channel_init(&rx, sv[0], 16, 4096, &err), 0);
	tx.fault = rx.fault = hook;
	set_hook(FP_SHORT, FP_SHORT);
	assert_int_equal(channel_send(&tx, msg, 1000, 2000, &err), 0);
	assert_true(hook_writes >= 10); /* 1008 halved down to 1 */
	assert_int_equal(channel_recv(&rx, &payload, &len, 2000, &err), 0);
	assert_int_equal(len, 1000);
	assert_memory_equal(payload, msg, 1000);
	assert_true(hook_reads >= 1008); /* one byte a read */
	free(payload);
	free(msg);
	channel_close(&tx);
	channel_close(&rx);
}

static void test_fault_error(void **unused)
{
	struct channel tx, rx;
	struct bt_err err = {0};
	char *payload = NULL;
	size_t len;
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&tx, sv[1], 16, 64, &err), 0);
	assert_int_equal(channel_init(&rx, sv[0], 16, 64, &err), 0);
	tx.fault = rx.fault = hook;
	set_hook(FP_NONE, FP_ERROR);
	assert_int_equal(channel_send(&tx, "x", 1, 1000, &err), -1);
	assert_int_equal(err.errnum, EIO);
	assert_string_equal(err.step, "channel-write");
	assert_has(err.msg, "injected");
	assert_true(channel_pending(&tx));
	/* nothing was written: the receiver times out */
	expect_timeout(&rx, 50, true);
	/* the write goes through once the hook lets it; then reads fail */
	set_hook(FP_ERROR, FP_NONE);
	assert_int_equal(channel_flush(&tx, &err), 1);
	err.errnum = 0;
	assert_int_equal(channel_recv(&rx, &payload, &len, 1000, &err), -1);
	assert_int_equal(err.errnum, EIO);
	assert_string_equal(err.step, "channel-read");
	assert_null(payload);
	channel_close(&tx);
	channel_close(&rx);
}

/* The hook the daemon uses: a named point, driven by a spec. */
static enum fp_kind named_hook(bool writing)
{
	return writing ? FP_HIT("test/channel-write") : FP_NONE;
}

static void test_fault_through_failpoint(void **unused)
{
	struct fp_spec sp = {.point = "test/channel-write",
			     .nth = 2,
			     .kind = FP_ERROR,
			     .errnum = EPIPE};
	struct channel tx, rx;
	struct bt_err err = {0};
	char *payload;
	size_t len;
	int sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&tx, sv[1], 16, 64, &err), 0);
	assert_int_equal(channel_init(&rx, sv[0], 16, 64, &err), 0);
	tx.fault = named_hook;
	fp_reset();
	assert_int_equal(fp_enable(&sp, &err), 0);
	fp_arm();
	assert_int_equal(channel_send(&tx, "one", 3, 1000, &err), 0);
	assert_int_equal(channel_send(&tx, "two", 3, 1000, &err), -1);
	assert_int_equal(err.errnum, EPIPE);
	assert_int_equal(fp_fired("test/channel-write"), 1);
	assert_int_equal(channel_flush(&tx, &err), 1); /* hit 3: passes */
	fp_reset();
	assert_int_equal(channel_recv(&rx, &payload, &len, 1000, &err), 0);
	assert_string_equal(payload, "one");
	free(payload);
	assert_int_equal(channel_recv(&rx, &payload, &len, 1000, &err), 0);
	assert_string_equal(payload, "two");
	free(payload);
	channel_close(&tx);
	channel_close(&rx);
}

static void test_release_keeps_fd(void **unused)
{
	struct channel ch;
	struct bt_err err = {0};
	int sv[2], fd;

	(void)unused;
	make_pair(sv);
	assert_int_equal(channel_init(&ch, sv[0], 16, 64, &err), 0);
	assert_int_equal(channel_queue(&ch, "x", 1, &err), 0);
	fd = channel_release(&ch);
	assert_int_equal(fd, sv[0]);
	assert_true(fdutil_is_open(fd));
	assert_int_equal(ch.fd, -1);
	assert_null(ch.wbuf);
	close_pair(sv);
	assert_false(fdutil_is_open(fd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_decode_rows),
	    cmocka_unit_test(test_frame_header_little_endian),
	    cmocka_unit_test(test_init_rejects_sizes),
	    cmocka_unit_test(test_split_one_byte_at_a_time),
	    cmocka_unit_test(test_split_forked_writer),
	    cmocka_unit_test(test_several_frames_one_read),
	    cmocka_unit_test(test_fill_limit),
	    cmocka_unit_test(test_oversized_frame_recv),
	    cmocka_unit_test(test_frame_at_max_size),
	    cmocka_unit_test(test_oversized_frame_send),
	    cmocka_unit_test(test_recv_deadline),
	    cmocka_unit_test(test_send_deadline),
	    cmocka_unit_test(test_peer_closed_mid_frame),
	    cmocka_unit_test(test_clean_eof),
	    cmocka_unit_test(test_eintr_during_recv),
	    cmocka_unit_test(test_fault_short),
	    cmocka_unit_test(test_fault_error),
	    cmocka_unit_test(test_fault_through_failpoint),
	    cmocka_unit_test(test_release_keeps_fd),
	};

	json_guard_init();
	/* a peer that went away must be an error, not a fatal signal */
	signal(SIGPIPE, SIG_IGN);
	if (tu_need_proc())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
