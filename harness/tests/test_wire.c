/* test_wire: the formats batond's processes send each other, each written
 * and read by one module: the confirmation frame (upgrade_frame.h) and
 * the master-worker messages (worker_msg.h).
 *
 * Every writer's output reads back to what was written, text that needs
 * escaping included; the async-signal-safe exec error frame is bounded by
 * its buffer and refuses a step it cannot write as is; the readers reject
 * what is not their format and say which fields were absent. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "json_guard.h"
#include "upgrade_frame.h"
#include "worker_msg.h"

/* --- the confirmation frame --- */

static void ok_frame_round_trip(void **unused)
{
	char buf[UPGRADE_FRAME_OK_MAX];
	struct upgrade_frame f;
	int n;

	(void)unused;
	n = upgrade_frame_ok(buf, sizeof buf, INT_MAX, UINT64_MAX >> 1);
	assert_true(n > 0);
	assert_int_equal(upgrade_frame_parse(buf, (size_t)n, &f), 0);
	assert_true(f.ok);
	assert_true(f.has_pid && f.has_generation);
	assert_int_equal(f.pid, INT_MAX);
	assert_int_equal(f.generation, (long long)(UINT64_MAX >> 1));
	assert_false(f.has_errno);
	assert_string_equal(f.step, "");
	/* a buffer one byte short is refused, not overrun */
	assert_int_equal(upgrade_frame_ok(buf, (size_t)n, INT_MAX, UINT64_MAX >> 1), -1);
}

static void error_frame_round_trip(void **unused)
{
	struct bt_err e;
	struct upgrade_frame f;
	size_t len;
	char *text;

	(void)unused;
	err_set(&e, "new/parse", EINVAL, "$.workers[0]: \"quoted\"\nand \\ a backslash");
	text = upgrade_frame_error(&e, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_int_equal(upgrade_frame_parse(text, len, &f), 0);
	assert_false(f.ok);
	assert_string_equal(f.step, "new/parse");
	assert_true(f.has_errno);
	assert_int_equal(f.errnum, EINVAL);
	assert_string_equal(f.error, e.msg);
	free(text);
}

/* The exec error frame, header and all, as the reader sees it. */
static void decode_exec_frame(const char *buf, size_t len, struct upgrade_frame *f)
{
	size_t off, plen;

	assert_int_equal(channel_frame_decode((const unsigned char *)buf, len, 4096,
					      &off, &plen, NULL), 1);
	assert_int_equal(off + plen, len);
	assert_int_equal(upgrade_frame_parse(buf + off, plen, f), 0);
}

static void exec_error_frame(void **unused)
{
	char buf[UPGRADE_FRAME_EXEC_MAX], step[UPGRADE_FRAME_STEP_MAX];
	struct upgrade_frame f;
	size_t n;

	(void)unused;
	n = upgrade_frame_exec_error(buf, sizeof buf, "child/exec", ENOENT);
	assert_true(n > CHANNEL_HEADER);
	decode_exec_frame(buf, n, &f);
	assert_false(f.ok);
	assert_string_equal(f.step, "child/exec");
	assert_true(f.has_errno);
	assert_int_equal(f.errnum, ENOENT);
	assert_string_equal(f.error, "");
	/* the longest step a bt_err holds and the largest errno fit */
	memset(step, 'x', sizeof step - 1);
	step[sizeof step - 1] = 0;
	n = upgrade_frame_exec_error(buf, sizeof buf, step, INT_MAX);
	assert_true(n > 0);
	decode_exec_frame(buf, n, &f);
	assert_string_equal(f.step, step);
	assert_int_equal(f.errnum, INT_MAX);
	/* every shorter buffer is refused, none is overrun */
	for (size_t len = 0; len < n; len++) {
		memset(buf, 0x55, sizeof buf);
		assert_int_equal(upgrade_frame_exec_error(buf, len, step, INT_MAX), 0);
		for (size_t i = len; i < sizeof buf; i++)
			assert_int_equal((unsigned char)buf[i], 0x55);
	}
	/* a step that would need escaping is not written */
	assert_int_equal(upgrade_frame_exec_error(buf, sizeof buf, "a\"b", 1), 0);
	assert_int_equal(upgrade_frame_exec_error(buf, sizeof buf, "a\\b", 1), 0);
	assert_int_equal(upgrade_frame_exec_error(buf, sizeof buf, "a\nb", 1), 0);
}

static void exec_error_frame_sent(void **unused)
{
	struct channel ch;
	struct upgrade_frame f;
	char *payload;
	size_t len;
	int sv[2];

	(void)unused;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	upgrade_frame_send_exec_error(sv[1], "worker/exec", EACCES);
	upgrade_frame_send_exec_error(-1, "worker/exec", EACCES);	/* no report fd */
	close(sv[1]);
	assert_int_equal(channel_init(&ch, sv[0], 64, 4096, NULL), 0);
	assert_int_equal(channel_recv(&ch, &payload, &len, 1000, NULL), 0);
	assert_int_equal(upgrade_frame_parse(payload, len, &f), 0);
	assert_string_equal(f.step, "worker/exec");
	assert_int_equal(f.errnum, EACCES);
	free(payload);
	/* one frame, then end of file */
	assert_int_equal(channel_recv(&ch, &payload, &len, 1000, NULL), 1);
	channel_close(&ch);
}

static int parse_text(const char *text, struct upgrade_frame *f)
{
	return upgrade_frame_parse(text, strlen(text), f);
}

static void frame_parse_rejects(void **unused)
{
	static const char *const not_frames[] = {
		"", "not json", "[true]", "{}", "{\"ok\":1}", "{\"ok\":\"true\"}",
		"{\"ok\":null}", "{\"ok\":true,\"ok\":true}", "{\"ok\":true} trailing",
	};
	struct upgrade_frame f;

	(void)unused;
	for (size_t i = 0; i < sizeof not_frames / sizeof not_frames[0]; i++) {
		errno = 0;
		if (parse_text(not_frames[i], &f) != -1)
			fail_msg("accepted \"%s\"", not_frames[i]);
		assert_int_equal(errno, EPROTO);
	}
	/* a frame whose fields are missing or of the wrong type says so */
	assert_int_equal(parse_text("{\"ok\":true,\"pid\":\"1\"}", &f), 0);
	assert_true(f.ok);
	assert_false(f.has_pid);
	assert_false(f.has_generation);
	assert_int_equal(parse_text("{\"ok\":false,\"step\":7,\"errno\":\"x\"}", &f), 0);
	assert_false(f.ok);
	assert_string_equal(f.step, "");
	assert_false(f.has_errno);
}

/* --- master <-> worker messages --- */

static void round_trip(const struct worker_msg *m, struct worker_msg *back)
{
	size_t len;
	char *text = worker_msg_encode(m, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_int_equal(worker_msg_decode(text, len, back), 0);
	assert_int_equal(back->type, m->type);
	free(text);
}

static void worker_msgs_round_trip(void **unused)
{
	struct worker_msg ready = {.type = WMSG_READY, .id = UINT32_MAX, .pid = 4194304,
				   .listeners = 300};
	struct worker_msg ask = {.type = WMSG_RETURN_LISTENERS};
	struct worker_msg soft = {.type = WMSG_STOP}, hard = {.type = WMSG_STOP, .hard = true};
	struct worker_msg m, back;
	struct bt_err e;

	(void)unused;
	round_trip(&ready, &back);
	assert_int_equal(back.id, UINT32_MAX);
	assert_int_equal(back.pid, 4194304);
	assert_int_equal(back.listeners, 300);
	round_trip(&ask, &back);
	round_trip(&soft, &back);
	assert_false(back.hard);
	round_trip(&hard, &back);
	assert_true(back.hard);
	err_set(&e, "worker/listeners-send", ENOBUFS, "listener \"a\"\n\\ failed");
	for (int t = WMSG_FAILED; t <= WMSG_LISTENERS_FAILED; t++) {
		worker_msg_failure(&m, (enum worker_msg_type)t, &e);
		round_trip(&m, &back);
		assert_string_equal(back.step, e.step);
		assert_int_equal(back.errnum, ENOBUFS);
		assert_string_equal(back.error, e.msg);
	}
	/* what only the child writes, or nobody, is not encoded here */
	m.type = WMSG_EXEC_FAILED;
	assert_null(worker_msg_encode(&m, &(size_t){0}));
	m.type = WMSG_UNKNOWN;
	assert_null(worker_msg_encode(&m, &(size_t){0}));
}

static int decode_text(const char *text, struct worker_msg *m)
{
	return worker_msg_decode(text, strlen(text), m);
}

static void worker_msg_decode_cases(void **unused)
{
	char buf[UPGRADE_FRAME_EXEC_MAX];
	struct worker_msg m;
	size_t n;

	(void)unused;
	/* the child's exec error frame on a worker channel */
	n = upgrade_frame_exec_error(buf, sizeof buf, "worker/exec", ENOENT);
	assert_int_equal(worker_msg_decode(buf + CHANNEL_HEADER, n - CHANNEL_HEADER, &m), 0);
	assert_int_equal(m.type, WMSG_EXEC_FAILED);
	assert_string_equal(m.step, "worker/exec");
	assert_int_equal(m.errnum, ENOENT);
	/* objects of no known type */
	assert_int_equal(decode_text("{\"type\":\"listeners-sent\",\"count\":1}", &m), 0);
	assert_int_equal(m.type, WMSG_UNKNOWN);
	assert_int_equal(decode_text("{\"ok\":true,\"pid\":1}", &m), 0);
	assert_int_equal(m.type, WMSG_UNKNOWN);
	assert_int_equal(decode_text("{\"type\":7}", &m), 0);
	assert_int_equal(m.type, WMSG_UNKNOWN);
	assert_int_equal(decode_text("{\"type\":\"stop\",\"mode\":\"HARD\"}", &m), 0);
	assert_int_equal(m.type, WMSG_STOP);
	assert_false(m.hard);
	/* not an object: refused, and nothing left from before */
	m.type = WMSG_READY;
	errno = 0;
	assert_int_equal(decode_text("[\"ready\"]", &m), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(m.type, WMSG_UNKNOWN);
	assert_int_equal(decode_text("{\"type\":\"ready\"", &m), -1);
	assert_int_equal(decode_text("{\"type\":\"ready\",\"type\":\"stop\"}", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ok_frame_round_trip),
	    cmocka_unit_test(error_frame_round_trip),
	    cmocka_unit_test(exec_error_frame),
	    cmocka_unit_test(exec_error_frame_sent),
	    cmocka_unit_test(frame_parse_rejects),
	    cmocka_unit_test(worker_msgs_round_trip),
	    cmocka_unit_test(worker_msg_decode_cases),
	};

	json_guard_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
