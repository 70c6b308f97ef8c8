/* fuzz_frame: the channel frame decoder, against a model and a re-encode.
 *
 * Input: byte 0 picks the max frame size from a table of edges (the header
 * alone, one payload byte, realistic sizes, and the top of size_t where
 * header arithmetic can wrap); a byte past the table means "the next 8
 * bytes, little-endian, are the max".  The rest is the byte stream.
 *
 * Oracle: channel_frame_decode agrees with a 128-bit model of the contract
 * (channel.h); draining the stream with channel_next and re-queueing every
 * payload with channel_queue gives back the consumed bytes exactly, and
 * what is left is the unconsumed tail; an oversized frame is an EMSGSIZE
 * error that the model also calls oversized. */
#include "fuzz/targets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"

static const size_t max_table[] = {
	CHANNEL_HEADER, CHANNEL_HEADER + 1, 16, 64, 4096, (size_t)1 << 20,
	SIZE_MAX / 2, SIZE_MAX - CHANNEL_HEADER, SIZE_MAX - CHANNEL_HEADER + 1,
	SIZE_MAX - 1, SIZE_MAX,
};
#define N_MAX (sizeof max_table / sizeof max_table[0])

/* The contract of channel_frame_decode, without overflow. */
static int model_decode(const unsigned char *buf, size_t len, size_t max,
			size_t *plen)
{
	unsigned __int128 n = 0;

	if (len < CHANNEL_HEADER)
		return 0;
	for (int i = CHANNEL_HEADER - 1; i >= 0; i--)
		n = (n << 8) | buf[i];
	if (n + CHANNEL_HEADER > max)
		return -1;
	if (n > len - CHANNEL_HEADER)
		return 0;
	*plen = (size_t)n;
	return 1;
}

static enum oracle_outcome check_decode(const unsigned char *buf, size_t len,
					size_t max, struct oracle_report *rep)
{
	struct bt_err err = {0};
	size_t off = 0, plen = 0, mplen = 0;
	int rc = channel_frame_decode(buf, len, max, &off, &plen, &err);
	int want = model_decode(buf, len, max, &mplen);

	if (rc != want)
		return oracle_fail(rep, "decode",
				   "channel_frame_decode returned %d, the contract "
				   "says %d (stream of %zu bytes, max frame %zu)",
				   rc, want, len, max);
	if (rc == 1 && (off != CHANNEL_HEADER || plen != mplen))
		return oracle_fail(rep, "decode", "payload at %zu+%zu, want %d+%zu",
				   off, plen, CHANNEL_HEADER, mplen);
	if (rc == -1 && (err.errnum != EMSGSIZE || !err.msg[0]))
		return oracle_fail(rep, "decode", "oversized frame reported as "
				   "errno %d \"%s\"", err.errnum, err.msg);
	return ORACLE_PASS;
}

/* Drain IN with channel_next, re-queue each payload on OUT. */
static enum oracle_outcome drain(struct channel *in, struct channel *out,
				 struct oracle_report *rep)
{
	struct bt_err err = {0};
	char *p;
	size_t plen;
	int rc;

	while ((rc = channel_next(in, &p, &plen, &err)) == 1) {
		int q = channel_queue(out, p, plen, &err);
		bool terminated = p[plen] == 0;

		free(p);
		if (q)
			return oracle_fail(rep, "requeue", "a payload of %zu bytes "
					   "that decoded does not queue: %s", plen,
					   err.msg);
		if (!terminated)
			return oracle_fail(rep, "next", "payload not NUL-terminated");
	}
	if (rc == -1 && err.errnum != EMSGSIZE)
		return oracle_fail(rep, "next", "errno %d \"%s\"", err.errnum, err.msg);
	return ORACLE_PASS;
}

static enum oracle_outcome check_stream(const unsigned char *buf, size_t len,
					size_t max, struct oracle_report *rep)
{
	struct channel in = {.fd = -1}, out = {.fd = -1};
	enum oracle_outcome o = ORACLE_PASS;
	size_t used;

	in.max_buffer_size = out.max_buffer_size = max;
	in.rbuf = malloc(len ? len : 1);
	if (!in.rbuf)
		return ORACLE_PASS;
	memcpy(in.rbuf, buf, len);
	in.rlen = in.rcap = len;
	o = drain(&in, &out, rep);
	used = len - in.rlen;
	if (o == ORACLE_PASS && (out.wlen != used ||
				 (used && memcmp(out.wbuf, buf, used) != 0)))
		o = oracle_fail(rep, "bytes", "re-encoding the %zu consumed bytes "
				"gave %zu different bytes", used, out.wlen);
	if (o == ORACLE_PASS && in.rlen && memcmp(in.rbuf, buf + used, in.rlen))
		o = oracle_fail(rep, "tail", "the unconsumed %zu bytes changed",
				in.rlen);
	channel_close(&in);
	channel_close(&out);
	return o;
}

enum oracle_outcome fuzz_frame_check(const uint8_t *data, size_t size,
				     struct oracle_report *rep)
{
	struct oracle_mark mark;
	size_t max = 0, skip = 1;
	enum oracle_outcome o;

	memset(rep, 0, sizeof *rep);
	if (size < 1)
		return ORACLE_REJECTED;
	if (data[0] < N_MAX) {
		max = max_table[data[0]];
	} else {
		if (size < 9)
			return ORACLE_REJECTED;
		for (int i = 8; i >= 1; i--)
			max = (max << 8) | data[i];
		skip = 9;
	}
	oracle_mark(&mark);
	o = check_decode(data + skip, size - skip, max, rep);
	if (o == ORACLE_PASS)
		o = check_stream(data + skip, size - skip, max, rep);
	if (o == ORACLE_VIOLATION)
		return o;
	return oracle_check_leaks(&mark, rep);
}

FUZZ_ENTRY("fuzz_frame", fuzz_frame_check)
