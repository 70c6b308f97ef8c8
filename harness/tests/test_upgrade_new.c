/* test_upgrade_new: the new side of the master upgrade, in a forked child
 * whose parent (this test) holds the other end of the confirmation
 * socket, as an old master would.
 *
 * The bound on EINTR of the state read (one EINTR is retried; EINTR on
 * every try is reported at new/read-state after ERR_EINTR_MAX retries) and
 * the peer check of --fd (a process whose parent is not the peer is
 * refused).  The end-to-end refusals of `batond main` are test_upgrade's
 * bad_main_arguments. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failpoint_control.h"
#include "json_guard.h"
#include "upgrade.h"

#define CHILD_SECONDS 10

/* What the child reports through a pipe. */
struct outcome {
	int rc;
	unsigned hits;
	struct bt_err err;
};

struct fixture {
	int conf[2], listener, state_fd;
	char dir[64];
};

static int state_file(const struct fixture *fx)
{
	char doc[1024];
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int n = snprintf(doc, sizeof doc,
			 "{\"format\":\"baton-upgrade-state\",\"version\":1,\"boot_generation\":3,"
			 "\"command_socket_fd\":%d,\"config\":{\"command_socket\":\"%s/s\","
			 "\"command_buffer_size\":4096,\"max_command_buffer_size\":65536,"
			 "\"pid_file_path\":\"%s/pid\",\"worker_count\":0,\"upgrade_timeout_ms\":1000,"
			 "\"listeners\":[]},\"next_client_id\":0,\"next_session_id\":0,"
			 "\"next_task_id\":0,\"next_worker_id\":0,\"workers\":[],"
			 "\"state\":{\"clusters\":{}}}",
			 fx->listener, fx->dir, fx->dir);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc, (size_t)n), n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void fixture_init(struct fixture *fx)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(fx->dir, sizeof fx->dir, "/tmp/baton-test_upgrade_new-%d", (int)getpid());
	mkdir(fx->dir, 0700);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/s", fx->dir);
	unlink(sa.sun_path);
	fx->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fx->listener, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fx->listener, 4), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx->conf), 0);
	fx->state_fd = state_file(fx);
}

static void fixture_free(struct fixture *fx)
{
	char path[128];

	close(fx->conf[0]);
	close(fx->conf[1]);
	close(fx->listener);
	close(fx->state_fd);
	snprintf(path, sizeof path, "%s/s", fx->dir);
	unlink(path);
	rmdir(fx->dir);
}

/* In the child: the new side's first steps, with SPEC enabled (NULL:
 * none).  No cmocka here: the outcome goes up the pipe. */
static void child_begin(const struct fixture *fx, const struct fp_spec *spec, int out)
{
	struct upgrade_new_args a = {.confirm_fd = fx->conf[1], .state_fd = fx->state_fd,
				     .command_buffer_size = 4096,
				     .max_command_buffer_size = 65536};
	struct outcome o = {0};
	struct channel confirm;
	struct state st;

	/* an unbounded retry would spin here: SIGALRM ends it, and the
	 * parent's read of the outcome fails */
	alarm(CHILD_SECONDS);
	fp_reset();
	fp_arm();	/* a new master counts from its start */
	if (spec && fp_enable(spec, &o.err))
		o.rc = -2;
	else
		o.rc = upgrade_new_begin(&a, &st, &confirm, &o.err);
	if (spec)
		o.hits = fp_hits(spec->point);
	if (write(out, &o, sizeof o) != (ssize_t)sizeof o)
		_exit(3);
	_exit(0);
}

/* Fork; the child (or, with GRANDCHILD, the child's child, whose parent
 * is not the socket's peer) runs child_begin. */
static struct outcome run_begin(const struct fixture *fx, const struct fp_spec *spec,
				bool grandchild)
{
	struct outcome o;
	int p[2], status;
	pid_t pid;

	/* the child shares the state file's offset with us */
	assert_int_equal(lseek(fx->state_fd, 0, SEEK_SET), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t g;

		close(p[0]);
		if (!grandchild)
			child_begin(fx, spec, p[1]);
		g = fork();
		if (g == 0)
			child_begin(fx, spec, p[1]);
		_exit(g > 0 && waitpid(g, &status, 0) == g && WIFEXITED(status) &&
				      WEXITSTATUS(status) == 0 ? 0 : 4);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &o, sizeof o), (ssize_t)sizeof o);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return o;
}

static void state_read_eintr_is_bounded(void **unused)
{
	struct fp_spec spec = {.point = "new/read-state", .nth = 1, .kind = FP_ERROR,
			       .errnum = EINTR, .mode = FP_PERSISTENT};
	struct fixture fx;
	struct outcome o;

	(void)unused;
	fixture_init(&fx);
	o = run_begin(&fx, &spec, false);
	assert_int_equal(o.rc, -1);
	assert_string_equal(o.err.step, "new/read-state");
	assert_int_equal(o.err.errnum, EINTR);
	/* the first try and ERR_EINTR_MAX retries */
	assert_int_equal(o.hits, ERR_EINTR_MAX + 1);
	fixture_free(&fx);
}

static void state_read_eintr_once_is_retried(void **unused)
{
	struct fp_spec spec = {.point = "new/read-state", .nth = 1, .kind = FP_ERROR,
			       .errnum = EINTR, .mode = FP_TRANSIENT};
	struct fixture fx;
	struct outcome o;

	(void)unused;
	fixture_init(&fx);
	o = run_begin(&fx, &spec, false);
	if (o.rc != 0)
		fail_msg("%s: %s", o.err.step, o.err.msg);
	assert_int_equal(o.hits, 2);
	fixture_free(&fx);
}

/* SO_PEERCRED names the process that made the pair (this test); the
 * grandchild's parent is the child: refused before anything is read. */
static void peer_must_be_the_parent(void **unused)
{
	struct fixture fx;
	struct outcome o;
	char want[64];

	(void)unused;
	fixture_init(&fx);
	o = run_begin(&fx, NULL, false);
	if (o.rc != 0)
		fail_msg("%s: %s", o.err.step, o.err.msg);
	o = run_begin(&fx, NULL, true);
	assert_int_equal(o.rc, -1);
	assert_string_equal(o.err.step, "new/args");
	assert_int_equal(o.err.errnum, EPERM);
	snprintf(want, sizeof want, "the peer is pid %d, not our parent", (int)getpid());
	if (!strstr(o.err.msg, want))
		fail_msg("\"%s\" lacks \"%s\"", o.err.msg, want);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(state_read_eintr_is_bounded),
	    cmocka_unit_test(state_read_eintr_once_is_retried),
	    cmocka_unit_test(peer_must_be_the_parent),
	};

	json_guard_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
