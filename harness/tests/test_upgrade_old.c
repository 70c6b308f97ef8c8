/* test_upgrade_old: the old side of the master upgrade, in process: the
 * checks that must stop an upgrade before fork, and that nothing is left
 * behind (fds, CLOEXEC flags, children, files) whichever way it ends. */
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

/* Aliasing is checked by identity (st_dev, st_ino), not by integer. */
static void alias_by_identity_stops_the_upgrade(void **state)
{
	struct live l;
	struct upgrade_old_opts o;
	struct upgrade_flight f;
	struct bt_err err = {0};
	size_t before;

	(void)state;
	live_init(&l, "alias", true);
	o = opts_for(&l, "/bin/true");
	before = open_fds();
	assert_int_equal(upgrade_old_start(&l.st, &o, &f, &err), -1);
	assert_string_equal(err.step, "old/alias");
	assert_non_null(strstr(err.msg, "worker 0's channel"));
	assert_non_null(strstr(err.msg, "worker 0's scm socket"));
	assert_non_null(strstr(err.msg, "same kernel object"));
	assert_int_equal(open_fds(), before);
	assert_flags_restored(&l);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);	/* no child */
	assert_int_equal(errno, ECHILD);
	assert_dir_holds_only_socket(&l);
	live_free(&l);
}

/* A write that fails leaves nothing: no fd, no file, every flag back. */
static void failed_write_leaves_nothing(void **state)
{
	struct fp_spec spec = {.point = "old/write", .nth = 1, .kind = FP_ERROR,
			       .errnum = ENOSPC, .mode = FP_PERSISTENT};
	struct live l;
	struct upgrade_old_opts o;
	struct upgrade_flight f;
	struct bt_err err = {0};
	size_t before;

	(void)state;
	live_init(&l, "write", false);
	o = opts_for(&l, "/bin/true");
	fp_reset();
	assert_int_equal(fp_enable(&spec, &err), 0);
	before = open_fds();
	/* upgrade_old_start counts its own hits: nobody armed around it */
	assert_int_equal(upgrade_old_start(&l.st, &o, &f, &err), -1);
	assert_false(fp_armed());
	assert_int_equal(fp_fired("old/write"), 1);
	fp_reset();
	assert_string_equal(err.step, "old/write");
	assert_int_equal(err.errnum, ENOSPC);
	assert_int_equal(open_fds(), before);
	assert_flags_restored(&l);
	assert_dir_holds_only_socket(&l);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alias_by_identity_stops_the_upgrade),
		cmocka_unit_test(failed_write_leaves_nothing),
		cmocka_unit_test(child_without_confirmation),
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
