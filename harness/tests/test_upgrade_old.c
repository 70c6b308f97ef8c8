/* test_upgrade_old: the old side of the master upgrade, in process: the
 * checks that must stop an upgrade before fork, and that nothing is left
 * behind (fds, CLOEXEC flags, children, files) whichever way it ends.
 *
 * Every run-time check of the old side is made to fire here: the round
 * trip (through the serializer seam of upgrade_old_opts: a serializer
 * that loses a worker, moves the generation, changes another field, fails
 * the second time, or writes other bytes, of another length or the same),
 * the identity check of the handed fds, every branch of the confirmation
 * frame's judgement, and the bound on EINTR of the state write. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "channel.h"
#include "failpoint_control.h"
#include "fdutil.h"
#include "state.h"
#include "state_json.h"
#include "tests/testutil.h"
#include "upgrade.h"

#define SUITE "test_upgrade_old"

extern char **environ;

struct live {
	struct state st;
	int lfd, ch[2], scm[2];
	char dir[300], sock[400];
};

/* A live master's state: a listening command socket and one worker. */
static void live_init(struct live *l, const char *name, bool alias)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct state_worker w = {.id = 0, .pid = getpid(), .run_state = STATE_RUNNING};

	snprintf(l->dir, sizeof l->dir, "%s", tu_dir(SUITE, name));
	snprintf(l->sock, sizeof l->sock, "%s/baton.sock", l->dir);
	l->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", l->sock);
	unlink(l->sock);
	assert_int_equal(bind(l->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(l->lfd, 4), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->ch), 0);
	if (alias) {
		/* two numbers, one kernel object: only identity tells */
		l->scm[0] = fcntl(l->ch[0], F_DUPFD_CLOEXEC, 3);
		l->scm[1] = -1;
	} else {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->scm), 0);
	}
	state_init(&l->st);
	state_set_string(&l->st.config.command_socket, l->sock);
	state_set_string(&l->st.config.pid_file_path, "/nonexistent/baton.pid");
	l->st.config.command_buffer_size = 4096;
	l->st.config.max_command_buffer_size = 65536;
	l->st.config.upgrade_timeout_ms = 2000;
	l->st.config.worker_count = 1;
	l->st.command_socket_fd = l->lfd;
	l->st.next_worker_id = 1;
	w.channel_fd = l->ch[0];
	w.scm_fd = l->scm[0];
	state_add_worker(&l->st, &w);
}

static void live_free(struct live *l)
{
	close(l->lfd);
	close(l->ch[0]);
	close(l->ch[1]);
	close(l->scm[0]);
	if (l->scm[1] >= 0)
		close(l->scm[1]);
	state_free(&l->st);
	unlink(l->sock);
}

static size_t open_fds(void)
{
	struct fdutil_entry *v;
	size_t n;

	assert_int_equal(fdutil_list(0, &v, &n, NULL), 0);
	free(v);
	return n;
}

static void assert_flags_restored(const struct live *l)
{
	assert_int_equal(fdutil_get_cloexec(l->lfd), 1);
	assert_int_equal(fdutil_get_cloexec(l->ch[0]), 1);
	assert_int_equal(fdutil_get_cloexec(l->scm[0]), 1);
}

static void assert_dir_holds_only_socket(const struct live *l)
{
	char cmd[600], out[256] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd, "ls -A '%s'", l->dir);
	p = popen(cmd, "re");
	assert_non_null(p);
	out[fread(out, 1, sizeof out - 1, p)] = 0;
	pclose(p);
	assert_string_equal(out, "baton.sock\n");
}

static struct upgrade_old_opts opts_for(const struct live *l, const char *binary)
{
	struct upgrade_old_opts o = {.binary = binary, .runtime_dir = l->dir,
				     .envp = environ};

	sigemptyset(&o.child_mask);
	return o;
}

/* upgrade_old_start on L with O fails at STEP with ERRNUM, its message
 * holding each of MESSAGES (NULL-terminated), and leaves nothing behind:
 * no fd, no child, no file, every CLOEXEC flag as it was.  It counts its
 * own fault hits: nobody arms around it. */
static void start_fails_cleanly(struct live *l, const struct upgrade_old_opts *o,
				const char *step, int errnum, const char *const *messages)
{
	struct upgrade_flight f;
	struct bt_err err = {0};
	size_t before = open_fds();

	assert_int_equal(upgrade_old_start(&l->st, o, &f, &err), -1);
	assert_false(fp_armed());
	if (strcmp(err.step, step) != 0 || (errnum >= 0 && err.errnum != errnum))
		fail_msg("got %s (errno %d): %s; expected %s (errno %d)", err.step,
			 err.errnum, err.msg, step, errnum);
	for (size_t i = 0; messages[i]; i++)
		if (!strstr(err.msg, messages[i]))
			fail_msg("\"%s\" lacks \"%s\"", err.msg, messages[i]);
	assert_int_equal(open_fds(), before);
	assert_flags_restored(l);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);	/* no child */
	assert_int_equal(errno, ECHILD);
	assert_dir_holds_only_socket(l);
}

/* Aliasing is checked by identity (st_dev, st_ino), not by integer. */
static void alias_by_identity_stops_the_upgrade(void **state)
{
	static const char *const msgs[] = {"worker 0's channel", "worker 0's scm socket",
					   "same kernel object", NULL};
	struct live l;
	struct upgrade_old_opts o;

	(void)state;
	live_init(&l, "alias", true);
	o = opts_for(&l, "/bin/true");
	start_fails_cleanly(&l, &o, "old/alias", EEXIST, msgs);
	live_free(&l);
}

/* A write that fails leaves nothing: no fd, no file, every flag back. */
static void failed_write_leaves_nothing(void **state)
{
	static const char *const msgs[] = {"cannot write the state file", NULL};
	struct fp_spec spec = {.point = "old/write", .nth = 1, .kind = FP_ERROR,
			       .errnum = ENOSPC, .mode = FP_PERSISTENT};
	struct live l;
	struct upgrade_old_opts o;

	(void)state;
	live_init(&l, "write", false);
	o = opts_for(&l, "/bin/true");
	fp_reset();
	assert_int_equal(fp_enable(&spec, NULL), 0);
	start_fails_cleanly(&l, &o, "old/write", ENOSPC, msgs);
	assert_int_equal(fp_fired("old/write"), 1);
	fp_reset();
	live_free(&l);
}

/* A child that never confirms: EOF is a failure, the child is reaped and
 * described, and finishing leaves nothing. */
static void child_without_confirmation(void **state)
{
	struct live l;
	struct upgrade_old_opts o;
	struct upgrade_flight f;
	struct bt_err err = {0};
	char how[96];
	pid_t new_pid = -1;
	size_t before;
	int rc;

	(void)state;
	live_init(&l, "noconfirm", false);
	o = opts_for(&l, "/bin/true");
	before = open_fds();
	assert_int_equal(upgrade_old_start(&l.st, &o, &f, &err), 0);
	assert_true(f.child > 0);
	assert_int_equal(f.generation, 1);
	/* the flags were put back right after fork, not at the end */
	assert_flags_restored(&l);
	assert_int_equal(state_validate(&l.st, &err), 0);
	assert_int_equal(l.st.boot_generation, 0);	/* live state untouched */
	do {
		struct pollfd p = {.fd = f.confirm.fd, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 3000), 1);
		rc = upgrade_old_on_confirm(&f, &new_pid, &err);
	} while (rc == 0);
	assert_int_equal(rc, -1);
	assert_string_equal(err.step, "old/confirm-read");
	assert_int_equal(err.errnum, ECONNRESET);
	upgrade_old_abort(&f, how, sizeof how);
	assert_string_equal(how, "exited 0");
	assert_int_equal(open_fds(), before);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_dir_holds_only_socket(&l);
	live_free(&l);
}

/* --- the run-time round trip, through the serializer seam --- */

enum fake_mode {
	FAKE_GARBAGE,		/* not JSON */
	FAKE_DROP_WORKER,	/* a worker lost */
	FAKE_GENERATION,	/* the generation moved */
	FAKE_COUNTER,		/* another field changed */
	FAKE_FAIL_FIRST,	/* the serializer fails */
	FAKE_FAIL_AGAIN,	/* ... the second time only */
	FAKE_LONGER,		/* the second text is one byte longer */
	FAKE_SAME_LENGTH,	/* the second text keeps the length, changes a byte */
};

static enum fake_mode fake_mode;
static int fake_calls;

static int fake_serialize(const struct state *s, char **out, size_t *len,
			  struct bt_err *err)
{
	struct state copy;
	int first = fake_calls++ == 0, rc;

	if (fake_mode == FAKE_FAIL_FIRST || (fake_mode == FAKE_FAIL_AGAIN && !first))
		return err_set(err, "serialize", ENOMEM, "the fake serializer fails");
	if (fake_mode == FAKE_GARBAGE) {
		*out = strdup("{\"format\":");
		*len = strlen(*out);
		return 0;
	}
	state_init(&copy);
	assert_int_equal(state_copy(&copy, s, NULL), 0);
	if (first && fake_mode == FAKE_DROP_WORKER)
		state_remove_worker(&copy, copy.workers[0].id);
	if (first && fake_mode == FAKE_GENERATION)
		copy.boot_generation += 5;
	if (first && fake_mode == FAKE_COUNTER)
		copy.next_client_id += 1;
	rc = state_json_serialize(&copy, out, len, err);
	state_free(&copy);
	if (rc || first)
		return rc;
	if (fake_mode == FAKE_LONGER) {
		char *p = realloc(*out, *len + 2);

		assert_non_null(p);
		p[(*len)++] = ' ';
		p[*len] = 0;
		*out = p;
	} else if (fake_mode == FAKE_SAME_LENGTH) {
		/* "boot_generation":1 -> 2: a value, not the length */
		char *g = strstr(*out, "\"boot_generation\":1");

		assert_non_null(g);
		g[strlen("\"boot_generation\":")] = '2';
	}
	return 0;
}

static void check_roundtrip_case(enum fake_mode mode, const char *step,
				 const char *message)
{
	const char *const msgs[] = {message, NULL};
	struct live l;
	struct upgrade_old_opts o;

	live_init(&l, "roundtrip", false);
	o = opts_for(&l, "/bin/true");
	o.serialize = fake_serialize;
	fake_mode = mode;
	fake_calls = 0;
	start_fails_cleanly(&l, &o, step, -1, msgs);
	live_free(&l);
}

static void roundtrip_check_fires(void **state)
{
	(void)state;
	check_roundtrip_case(FAKE_GARBAGE, "old/roundtrip", "does not parse back");
	check_roundtrip_case(FAKE_DROP_WORKER, "old/roundtrip", "1 workers became 0");
	check_roundtrip_case(FAKE_GENERATION, "old/roundtrip", "generation 1 became 6");
	check_roundtrip_case(FAKE_COUNTER, "old/roundtrip",
			     "the parsed state differs from the one to hand over");
	check_roundtrip_case(FAKE_FAIL_FIRST, "old/serialize", "the fake serializer fails");
	check_roundtrip_case(FAKE_FAIL_AGAIN, "old/roundtrip", "the fake serializer fails");
	check_roundtrip_case(FAKE_LONGER, "old/roundtrip", "different bytes");
	check_roundtrip_case(FAKE_SAME_LENGTH, "old/roundtrip", "different bytes");
}

/* --- EINTR on the state write: retried, then reported --- */

static void state_write_eintr_is_bounded(void **state)
{
	static const char *const msgs[] = {"cannot write the state file", NULL};
	struct fp_spec spec = {.point = "old/write", .nth = 1, .kind = FP_ERROR,
			       .errnum = EINTR, .mode = FP_PERSISTENT};
	struct live l;
	struct upgrade_old_opts o;

	(void)state;
	live_init(&l, "eintr", false);
	o = opts_for(&l, "/bin/true");
	fp_reset();
	assert_int_equal(fp_enable(&spec, NULL), 0);
	alarm(30);	/* an unbounded retry would spin: SIGALRM ends the suite */
	start_fails_cleanly(&l, &o, "old/write", EINTR, msgs);
	alarm(0);
	/* the first try and ERR_EINTR_MAX retries */
	assert_int_equal(fp_hits("old/write"), ERR_EINTR_MAX + 1);
	fp_reset();
	live_free(&l);
}

/* One EINTR is retried and the upgrade goes on. */
static void state_write_eintr_once_is_retried(void **state)
{
	struct fp_spec spec = {.point = "old/write", .nth = 1, .kind = FP_ERROR,
			       .errnum = EINTR, .mode = FP_TRANSIENT};
	struct live l;
	struct upgrade_old_opts o;
	struct upgrade_flight f;
	struct bt_err err = {0};

	(void)state;
	live_init(&l, "eintr-once", false);
	o = opts_for(&l, "/bin/true");
	fp_reset();
	assert_int_equal(fp_enable(&spec, &err), 0);
	assert_int_equal(upgrade_old_start(&l.st, &o, &f, &err), 0);
	assert_int_equal(fp_fired("old/write"), 1);
	assert_int_equal(fp_hits("old/write"), 2);
	fp_reset();
	upgrade_old_abort(&f, NULL, 0);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	live_free(&l);
}

/* --- the confirmation frame, judged --- */

#define FAKE_CHILD 4242	/* never signalled: the flight is finished, not aborted */

struct frame_case {
	const char *payload;	/* NULL: end of file before any frame */
	int rc;
	const char *step;
	int errnum;
	const char *message;
};

static void judge_one(const struct frame_case *c)
{
	struct upgrade_flight f = {.child = FAKE_CHILD, .timer_fd = -1, .generation = 7};
	struct bt_err err = {0};
	unsigned char head[CHANNEL_HEADER];
	pid_t new_pid = -1;
	int sv[2], rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(channel_init(&f.confirm, sv[0], 4096, 65536, NULL), 0);
	/* nothing there yet: not decided */
	assert_int_equal(upgrade_old_on_confirm(&f, &new_pid, &err), 0);
	if (c->payload) {
		channel_frame_header(head, strlen(c->payload));
		assert_int_equal(write(sv[1], head, sizeof head), (ssize_t)sizeof head);
		/* half a frame: still not decided */
		assert_int_equal(upgrade_old_on_confirm(&f, &new_pid, &err), 0);
		assert_int_equal(write(sv[1], c->payload, strlen(c->payload)),
				 (ssize_t)strlen(c->payload));
	}
	close(sv[1]);
	rc = upgrade_old_on_confirm(&f, &new_pid, &err);
	if (rc != c->rc || (c->rc < 0 && (strcmp(err.step, c->step) != 0 ||
					  err.errnum != c->errnum ||
					  !strstr(err.msg, c->message))))
		fail_msg("frame %s: rc %d, %s (errno %d): %s", c->payload ? c->payload : "EOF",
			 rc, err.step, err.errnum, err.msg);
	if (rc > 0)
		assert_int_equal(new_pid, FAKE_CHILD);
	upgrade_old_finish(&f);
	assert_int_equal(f.confirm.fd, -1);
}

static void confirmation_checks_fire(void **state)
{
	static const struct frame_case cases[] = {
		{"{\"ok\":true,\"pid\":4242,\"boot_generation\":7}", 1, NULL, 0, NULL},
		{NULL, -1, "old/confirm-read", ECONNRESET, "without confirming"},
		{"not-a-frame", -1, "old/confirm-read", EPROTO, "not a confirmation frame"},
		{"{\"ok\":1}", -1, "old/confirm-read", EPROTO, "not a confirmation frame"},
		{"{\"ok\":false,\"step\":\"new/parse\",\"errno\":22,\"error\":\"bad doc\"}",
		 -1, "new/parse", EINVAL, "the new master failed: bad doc"},
		{"{\"ok\":false}", -1, "new/unknown", 0,
		 "the child could not exec the new binary"},
		{"{\"ok\":true,\"pid\":1,\"boot_generation\":7}", -1, "old/confirm-check",
		 EPROTO, "names pid 1, the child is 4242"},
		{"{\"ok\":true,\"boot_generation\":7}", -1, "old/confirm-check", EPROTO,
		 "names pid -1, the child is 4242"},
		{"{\"ok\":true,\"pid\":4242,\"boot_generation\":8}", -1, "old/confirm-check",
		 EPROTO, "names generation 8, expected 7"},
		{"{\"ok\":true,\"pid\":4242,\"boot_generation\":\"7\"}", -1,
		 "old/confirm-check", EPROTO, "names generation -1, expected 7"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		judge_one(&cases[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alias_by_identity_stops_the_upgrade),
		cmocka_unit_test(failed_write_leaves_nothing),
		cmocka_unit_test(child_without_confirmation),
		cmocka_unit_test(roundtrip_check_fires),
		cmocka_unit_test(state_write_eintr_is_bounded),
		cmocka_unit_test(state_write_eintr_once_is_retried),
		cmocka_unit_test(confirmation_checks_fire),
	};
	struct bt_err err;
	int failures;

	if (tu_setup())
		return 1;
	if (fp_setup("old", &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	tu_filter();
	failures = cmocka_run_group_tests(tests, NULL, NULL);
	tu_cleanup(SUITE, failures);
	return failures;
}
