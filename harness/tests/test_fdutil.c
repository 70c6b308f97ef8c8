/* test_fdutil: facts about fds, and the two small files and datagrams the
 * upgrade leaves behind (pidfile, notify).
 *
 * CLOEXEC get/set, identities (a dup aliases, a distinct object does not),
 * the type checks on every kind of fd the daemon meets, the /proc fd table
 * of this process and of a child, the fd argument parser; the pid file's
 * round trip, atomic replacement and strict reading; sd_notify datagrams
 * to a loopback (abstract) socket. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "fdutil.h"
#include "notify.h"
#include "pidfile.h"
#include "json_guard.h"
#include "tests/testutil.h"

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the message \"%s\"", needle, hay);
}

static int open_null(int flags)
{
	int fd = open("/dev/null", O_RDONLY | flags);

	assert_true(fd >= 0);
	return fd;
}

/* An fd number that is closed and stays closed while the test opens
 * more: the top of the table, not the lowest free number. */
static int closed_fd(void)
{
	struct rlimit rl;
	int fd;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	fd = rl.rlim_cur > 4096 ? 4095 : (int)rl.rlim_cur - 1;
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	return fd;
}

/* --- CLOEXEC --- */

static void test_cloexec_get_set(void **unused)
{
	int fd = open_null(0), bad = closed_fd();

	(void)unused;
	assert_int_equal(fdutil_get_cloexec(fd), 0);
	assert_int_equal(fdutil_set_cloexec(fd, true), 0);
	assert_int_equal(fdutil_get_cloexec(fd), 1);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fdutil_set_cloexec(fd, true), 0); /* idempotent */
	assert_int_equal(fdutil_get_cloexec(fd), 1);
	assert_int_equal(fdutil_set_cloexec(fd, false), 0);
	assert_int_equal(fdutil_get_cloexec(fd), 0);
	close(fd);
	errno = 0;
	assert_int_equal(fdutil_get_cloexec(bad), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fdutil_set_cloexec(bad, true), -1);
	assert_int_equal(errno, EBADF);
}

/* --- identity --- */

static void test_identity(void **unused)
{
	struct fdutil_id a, b, c, d;
	int sv[2], dupd;

	(void)unused;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	dupd = fcntl(sv[0], F_DUPFD_CLOEXEC, 100);
	assert_true(dupd >= 100);
	assert_int_equal(fdutil_identity(sv[0], &a), 0);
	assert_int_equal(fdutil_identity(sv[1], &b), 0);
	assert_int_equal(fdutil_identity(dupd, &c), 0);
	/* another number, the same object: an alias */
	assert_true(fdutil_id_equal(&a, &c));
	/* the two ends of a pair are two objects */
	assert_false(fdutil_id_equal(&a, &b));
	assert_false(fdutil_id_equal(&b, &c));
	close(dupd);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(fdutil_identity(sv[0], &d), -1);
	assert_int_equal(errno, EBADF);
}

/* No alias among several fds: both sides of the upgrade ask it. */
static int nth_fd(size_t i, const void *ctx)
{
	return ((const int *)ctx)[i];
}

static void nth_label(size_t i, const void *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "role %zu (fd %d)", i, ((const int *)ctx)[i]);
}

static void test_check_distinct(void **unused)
{
	struct bt_err err = {0};
	int sv[2], fds[4];
	char want[96];

	(void)unused;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fds[0] = sv[0];
	fds[1] = sv[1];
	fds[2] = open_null(O_CLOEXEC);
	fds[3] = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
	assert_int_equal(fdutil_check_distinct(3, nth_fd, nth_label, fds, "t/alias", &err), 0);
	/* two numbers, one socket: named in the order they were listed */
	assert_int_equal(fdutil_check_distinct(4, nth_fd, nth_label, fds, "t/alias", &err), -1);
	assert_string_equal(err.step, "t/alias");
	assert_int_equal(err.errnum, EEXIST);
	snprintf(want, sizeof want, "role 1 (fd %d) and role 3 (fd %d) are the same kernel object",
		 fds[1], fds[3]);
	assert_string_equal(err.msg, want);
	/* a closed fd cannot be checked */
	close(fds[3]);
	assert_int_equal(fdutil_check_distinct(4, nth_fd, nth_label, fds, "t/alias", &err), -1);
	assert_int_equal(err.errnum, EBADF);
	snprintf(want, sizeof want, "cannot fstat role 3 (fd %d)", fds[3]);
	assert_string_equal(err.msg, want);
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
}

/* The deadline timer: silent before its time, readable after. */
static void test_timerfd(void **unused)
{
	uint64_t expirations = 0;
	int fd = fdutil_timerfd(50);

	(void)unused;
	assert_true(fd >= 0);
	assert_int_equal(fdutil_get_cloexec(fd), 1);
	assert_int_equal(read(fd, &expirations, sizeof expirations), -1);
	assert_int_equal(errno, EAGAIN);	/* non-blocking, not yet */
	assert_int_equal(channel_wait_fd(fd, POLLIN, channel_now_ms() + 5000, "t", NULL), 0);
	assert_int_equal(read(fd, &expirations, sizeof expirations), sizeof expirations);
	assert_int_equal(expirations, 1);
	close(fd);
}

/* --- types --- */

struct kinds {
	int unix_stream, listening, regular;
};

static void expect_kinds(const char *what, int fd, struct kinds want)
{
	struct kinds got = {fdutil_is_unix_stream(fd), fdutil_is_listening(fd),
			    fdutil_is_regular(fd)};

	if (memcmp(&got, &want, sizeof got) != 0)
		fail_msg(
		    "%s: unix stream %d listening %d regular %d, want %d %d %d",
		    what, got.unix_stream, got.listening, got.regular,
		    want.unix_stream, want.listening, want.regular);
	assert_true(fdutil_is_open(fd));
}

static int tcp_listener(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* A unix listener in the abstract namespace: no file to clean up, and the
 * pid in the name keeps parallel runs apart. */
static int unix_listener(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int len = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1,
			   "baton-test-listen-%d", (int)getpid());

	assert_true(fd >= 0);
	assert_int_equal(
	    bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)),
	    0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int regular_file(void)
{
	char path[] = "/tmp/baton-fdutil-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	return fd;
}

static void test_types(void **unused)
{
	int sp[2], dg[2], pp[2];
	int tcp = tcp_listener(), ul = unix_listener(), reg = regular_file();
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0),
	    bad = closed_fd();

	(void)unused;
	assert_true(udp >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp),
			 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dg),
			 0);
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	expect_kinds("unix stream pair", sp[0], (struct kinds){1, 0, 0});
	expect_kinds("unix datagram pair", dg[0], (struct kinds){0, 0, 0});
	expect_kinds("tcp listener", tcp, (struct kinds){0, 1, 0});
	expect_kinds("unix listener", ul, (struct kinds){1, 1, 0});
	expect_kinds("udp socket", udp, (struct kinds){0, 0, 0});
	expect_kinds("regular file", reg, (struct kinds){0, 0, 1});
	expect_kinds("pipe read end", pp[0], (struct kinds){0, 0, 0});
	expect_kinds("pipe write end", pp[1], (struct kinds){0, 0, 0});
	assert_int_equal(fdutil_is_unix_stream(bad), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fdutil_is_listening(bad), -1);
	assert_int_equal(fdutil_is_regular(bad), -1);
	assert_false(fdutil_is_open(bad));
	assert_false(fdutil_is_open(-1));
	for (int i = 0; i < 2; i++) {
		close(sp[i]);
		close(dg[i]);
		close(pp[i]);
	}
	close(tcp);
	close(ul);
	close(reg);
	close(udp);
}

/* --- the fd table from /proc --- */

static const struct fdutil_entry *find_entry(const struct fdutil_entry *v,
					     size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].fd == fd)
			return &v[i];
	return NULL;
}

static void test_list_self(void **unused)
{
	int with = open_null(O_CLOEXEC), without = open_null(0);
	const struct fdutil_entry *e;
	struct fdutil_entry *v = NULL;
	struct bt_err err = {0};
	size_t n = 0;

	(void)unused;
	assert_int_equal(fdutil_list(0, &v, &n, &err), 0);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(v[i - 1].fd < v[i].fd);
		/* every fd listed is still open: the listing's own
		 * directory fd is not among them */
		if (!fdutil_is_open(v[i].fd))
			fail_msg("fd %d listed but not open (%s)", v[i].fd,
				 v[i].target);
	}
	e = find_entry(v, n, with);
	assert_non_null(e);
	assert_true(e->cloexec);
	assert_true(e->flags & 02000000);
	assert_string_equal(e->target, "/dev/null");
	e = find_entry(v, n, without);
	assert_non_null(e);
	assert_false(e->cloexec);
	assert_false(e->flags & 02000000);
	free(v);
	close(with);
	close(without);
	assert_int_equal(fdutil_list(0, &v, &n, &err), 0);
	assert_null(find_entry(v, n, with));
	free(v);
}

/* Another process's table: a child parked on a pipe holds an fd at a
 * number we chose, without CLOEXEC. */
static void test_list_child(void **unused)
{
	const struct fdutil_entry *e = NULL;
	struct fdutil_entry *v = NULL;
	struct bt_err err = {0};
	int p[2], status;
	size_t n = 0;
	pid_t pid;
	char c;

	(void)unused;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		if (dup2(p[0], 777) != 777)
			_exit(1);
		/* returns at EOF, when the parent closes its end */
		_exit(read(777, &c, 1) == 0 ? 0 : 2);
	}
	close(p[0]);
	/* wait until the child has its fd 777 */
	for (int i = 0; i < 500; i++) {
		assert_int_equal(fdutil_list(pid, &v, &n, &err), 0);
		e = find_entry(v, n, 777);
		if (e)
			break;
		free(v);
		v = NULL;
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	}
	assert_non_null(e);
	assert_false(e->cloexec);
	assert_has(e->target, "pipe:[");
	free(v);
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* gone: the listing says which directory it could not open */
	assert_int_equal(fdutil_list(pid, &v, &n, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_has(err.msg, "/proc/");
}

/* --- fd arguments --- */

struct parse_row {
	const char *text;
	int rc, fd;
};

/* clang-format off */
static const struct parse_row parse_rows[] = {
	{"0", 0, 0},
	{"3", 0, 3},
	{"1048575", 0, 1048575},
	{"2147483647", 0, INT_MAX},
	{"007", 0, 7},
	{"2147483648", -1, 0},
	{"99999999999999999999999", -1, 0},
	{"", -1, 0},
	{"-1", -1, 0},
	{"+3", -1, 0},
	{" 3", -1, 0},
	{"3 ", -1, 0},
	{"3\n", -1, 0},
	{"0x10", -1, 0},
	{"1e3", -1, 0},
	{"\xd9\xa3", -1, 0},	/* ARABIC-INDIC DIGIT THREE: not a digit here */
};
/* clang-format on */

static void test_parse_fd(void **unused)
{
	size_t n = sizeof parse_rows / sizeof parse_rows[0];

	(void)unused;
	for (size_t i = 0; i < n; i++) {
		int fd = -42;
		int rc = fdutil_parse_fd(parse_rows[i].text, &fd);

		if (rc != parse_rows[i].rc)
			fail_msg("parse row %zu (\"%s\"): rc %d", i,
				 parse_rows[i].text, rc);
		/* a rejected argument leaves the output alone */
		assert_int_equal(fd, rc == 0 ? parse_rows[i].fd : -42);
	}
	assert_int_equal(fdutil_parse_fd(NULL, &(int){0}), -1);
}

/* --- the pid file --- */

struct tmpdir {
	char dir[64];
	char path[96];
};

static void tmpdir_make(struct tmpdir *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/baton-pidfile-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/baton.pid", t->dir);
}

/* How many entries the directory holds (a leftover PATH.tmp.PID shows). */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void tmpdir_remove(struct tmpdir *t)
{
	unlink(t->path);
	assert_int_equal(rmdir(t->dir), 0);
}

static void put_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void expect_file(const char *path, const char *text)
{
	char buf[64] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof buf - 1) >= 0);
	close(fd);
	assert_string_equal(buf, text);
}

static void test_pidfile_round_trip(void **unused)
{
	struct bt_err err = {0};
	struct tmpdir t;
	pid_t pid = 0;

	(void)unused;
	tmpdir_make(&t);
	assert_int_equal(pidfile_write(t.path, 4242, NULL, &err), 0);
	expect_file(t.path, "4242\n");
	assert_int_equal(pidfile_read(t.path, &pid, &err), 0);
	assert_int_equal(pid, 4242);
	/* replaced in place, nothing left beside it */
	assert_int_equal(pidfile_write(t.path, 4194304, NULL, &err), 0);
	assert_int_equal(pidfile_read(t.path, &pid, &err), 0);
	assert_int_equal(pid, 4194304);
	assert_int_equal(pidfile_write(t.path, 1, NULL, &err), 0);
	assert_int_equal(pidfile_read(t.path, &pid, &err), 0);
	assert_int_equal(pid, 1);
	assert_int_equal(dir_entries(t.dir), 1);
	tmpdir_remove(&t);
}

/* The temporary name the writer uses, and the one a path too long for it
 * cannot have. */
static void test_pidfile_tmp_path(void **unused)
{
	char buf[PIDFILE_TMP_MAX], *longpath = malloc(PATH_MAX + 1);
	struct bt_err err = {0};

	(void)unused;
	assert_int_equal(pidfile_tmp_path("/run/baton.pid", 4194304, buf, sizeof buf, &err), 0);
	assert_string_equal(buf, "/run/baton.pid.tmp.4194304");
	memset(longpath, 'a', PATH_MAX);
	longpath[PATH_MAX] = 0;
	assert_int_equal(pidfile_tmp_path(longpath, 1, buf, sizeof buf, &err), 0);
	assert_int_equal(pidfile_tmp_path(longpath, 1, buf, PATH_MAX, &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	assert_int_equal(pidfile_write(longpath, 1, NULL, &err), -1);
	free(longpath);
}

static enum fp_kind failing_write(void)
{
	errno = ENOSPC;
	return FP_ERROR;
}

/* A failed write leaves the old pid file whole and no temporary file. */
static void test_pidfile_write_fault(void **unused)
{
	struct bt_err err = {0};
	struct tmpdir t;
	pid_t pid = 0;

	(void)unused;
	tmpdir_make(&t);
	assert_int_equal(pidfile_write(t.path, 100, NULL, &err), 0);
	assert_int_equal(pidfile_write(t.path, 200, failing_write, &err), -1);
	assert_int_equal(err.errnum, ENOSPC);
	assert_string_equal(err.step, "pidfile");
	assert_int_equal(pidfile_read(t.path, &pid, &err), 0);
	assert_int_equal(pid, 100);
	assert_int_equal(dir_entries(t.dir), 1);
	/* a directory that does not exist */
	assert_int_equal(
	    pidfile_write("/nonexistent-baton/x.pid", 1, NULL, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	tmpdir_remove(&t);
}

struct garbage_row {
	const char *text;
	size_t len;
};

/* clang-format off */
#define G(s) {s, sizeof s - 1}
static const struct garbage_row garbage_rows[] = {
	G(""), G("\n"), G("abc\n"), G("0\n"), G("-5\n"), G("4194305\n"),
	G("12 34\n"), G("12\nxyz"), G("12\n\n"), G(" 12\n"), G("+12\n"),
	G("12abc\n"), G("1e3\n"), G("0012\n"), G("99999999999999999999\n"),
	G("12\0"), G("\xef\xbb\xbf" "12\n"),
};
/* clang-format on */

static void test_pidfile_rejects_garbage(void **unused)
{
	size_t n = sizeof garbage_rows / sizeof garbage_rows[0];
	struct bt_err err = {0};
	struct tmpdir t;
	pid_t pid;

	(void)unused;
	tmpdir_make(&t);
	for (size_t i = 0; i < n; i++) {
		put_file(t.path, garbage_rows[i].text, garbage_rows[i].len);
		pid = -7;
		if (pidfile_read(t.path, &pid, &err) != -1)
			fail_msg("garbage row %zu was read as pid %d", i,
				 (int)pid);
		assert_int_equal(pid, -7);
		assert_true(err.errnum == EINVAL || err.errnum == ENODATA);
	}
	/* and the good forms */
	put_file(t.path, "12", 2);
	assert_int_equal(pidfile_read(t.path, &pid, &err), 0);
	assert_int_equal(pid, 12);
	unlink(t.path);
	assert_int_equal(pidfile_read(t.path, &pid, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	tmpdir_remove(&t);
}

/* --- sd_notify datagrams --- */

/* A datagram socket in the abstract namespace; *name is "@...". */
static int notify_listener(char *name, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int n = snprintf(name, len, "@baton-test-notify-%d", (int)getpid());

	assert_true(fd >= 0);
	memcpy(sa.sun_path + 1, name + 1, (size_t)n - 1);
	assert_int_equal(
	    bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
	    0);
	return fd;
}

static void recv_text(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	assert_true(n > 0);
	buf[n] = 0;
}

static void test_notify(void **unused)
{
	char name[64], buf[256], sock[200];
	struct bt_err err = {0};
	struct timespec ts;
	unsigned long long usec, now;
	int fd = notify_listener(name, sizeof name);

	(void)unused;
	assert_int_equal(notify_send(name, "READY=1", &err), 0);
	recv_text(fd, buf, sizeof buf);
	assert_string_equal(buf, "READY=1");
	assert_int_equal(notify_reloading(name, &err), 0);
	recv_text(fd, buf, sizeof buf);
	assert_int_equal(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec),
			 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000ULL +
	      (unsigned long long)ts.tv_nsec / 1000;
	assert_true(usec <= now && now - usec < 5000000);
	/* not under systemd: nothing sent, no error */
	assert_int_equal(notify_send(NULL, "READY=1", &err), 0);
	assert_int_equal(notify_send("", "READY=1", &err), 0);
	assert_int_equal(recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	/* errors */
	assert_int_equal(notify_send("relative/path", "READY=1", &err), -1);
	assert_int_equal(err.errnum, EAFNOSUPPORT);
	memset(sock, 'x', sizeof sock - 1);
	sock[0] = '/';
	sock[sizeof sock - 1] = 0;
	assert_int_equal(notify_send(sock, "READY=1", &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	assert_int_equal(
	    notify_send("@baton-test-nobody-listens", "READY=1", &err), -1);
	assert_int_equal(err.errnum, ECONNREFUSED);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cloexec_get_set),
	    cmocka_unit_test(test_identity),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_list_self),
	    cmocka_unit_test(test_list_child),
	    cmocka_unit_test(test_parse_fd),
	    cmocka_unit_test(test_check_distinct),
	    cmocka_unit_test(test_timerfd),
	    cmocka_unit_test(test_pidfile_tmp_path),
	    cmocka_unit_test(test_pidfile_round_trip),
	    cmocka_unit_test(test_pidfile_write_fault),
	    cmocka_unit_test(test_pidfile_rejects_garbage),
	    cmocka_unit_test(test_notify),
	};

	json_guard_init();
	if (tu_need_proc())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
