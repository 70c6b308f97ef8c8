/* test_scm: handing fds over SCM_RIGHTS in manifest-described batches.
 *
 * Round trips of 0 to 1,000 fds (the kernel carries 253 a message) with
 * the kernel objects, the names and CLOEXEC checked on arrival; every
 * malformed transfer (truncated control data, a manifest that disagrees
 * with the fds, garbage, batches out of order, end of file, a silent peer)
 * is an error that leaves no fd behind; the manifest decoder row by row. */
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "failpoint_control.h"
#include "fdutil.h"
#include "scm.h"
#include "json_guard.h"
#include "tests/testutil.h"

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the message \"%s\"", needle, hay);
}

static size_t count_fds(void)
{
	struct fdutil_entry *v = NULL;
	struct bt_err err = {0};
	size_t n = 0;

	assert_int_equal(fdutil_list(0, &v, &n, &err), 0);
	free(v);
	return n;
}

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
}

static void reap_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child %d: status 0x%x", (int)pid, status);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* N fds on N distinct kernel objects: both ends of socketpairs (the two
 * ends of a pipe would share one inode). */
static int *open_objects(size_t n, struct fdutil_id *ids)
{
	int *fds = malloc((n + 1) * sizeof *fds);

	assert_non_null(fds);
	for (size_t i = 0; i < n; i += 2) {
		int sv[2];

		make_pair(sv);
		fds[i] = sv[0];
		if (i + 1 < n)
			fds[i + 1] = sv[1];
		else
			close(sv[1]);
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fdutil_identity(fds[i], &ids[i]), 0);
	return fds;
}

/* Listener-like names, some with 2- and 4-byte UTF-8. */
static char **make_names(size_t n)
{
	char **names = calloc(n + 1, sizeof *names);

	assert_non_null(names);
	for (size_t i = 0; i < n; i++) {
		char buf[64];

		if (i % 3 == 0)
			snprintf(buf, sizeof buf, "127.0.0.1:%zu", 1000 + i);
		else if (i % 3 == 1)
			snprintf(buf, sizeof buf, "[::1]:%zu", 1000 + i);
		else
			snprintf(buf, sizeof buf,
				 "h\xc3\xb4te-%zu-\xf0\x9f\x9a\x80:80", i);
		names[i] = strdup(buf);
		assert_non_null(names[i]);
	}
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* A child that sends the fds and exits 0 on success.  It runs while the
 * parent receives: the socket buffer would not hold 1,000 fds' worth of
 * manifests otherwise. */
static pid_t fork_sender(int sock, int other, const int *fds,
			 char *const *names, size_t n)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct bt_err err;

		close(other);
		_exit(scm_send(sock, fds, (const char *const *)names, n, 10000,
			       &err) == 0
			  ? 0
			  : 1);
	}
	return pid;
}

/* --- round trips --- */

static void round_trip(size_t n)
{
	size_t before = count_fds(), rn = 0;
	struct fdutil_id *ids = calloc(n + 1, sizeof *ids);
	struct scm_recv_opts opts = {0, 0, 10000};
	struct bt_err err = {0};
	char **names = make_names(n), **rnames = NULL;
	int *objs, *fds = NULL, sv[2];
	pid_t pid;

	assert_non_null(ids);
	objs = open_objects(n, ids);
	make_pair(sv);
	pid = fork_sender(sv[1], sv[0], objs, names, n);
	close(sv[1]);
	/* the child holds the objects now: what arrives can only be theirs */
	close_all(objs, n);
	if (scm_recv(sv[0], &opts, &fds, &rnames, &rn, &err))
		fail_msg("%zu fds: %s", n, err.msg);
	reap_ok(pid);
	assert_int_equal(rn, n);
	assert_non_null(fds);
	for (size_t i = 0; i < n; i++) {
		struct fdutil_id id;

		assert_int_equal(fdutil_identity(fds[i], &id), 0);
		if (!fdutil_id_equal(&id, &ids[i]))
			fail_msg("%zu fds: fd %zu is another object", n, i);
		assert_int_equal(fdutil_get_cloexec(fds[i]), 1);
		assert_string_equal(rnames[i], names[i]);
	}
	close_all(fds, rn);
	close(sv[0]);
	assert_int_equal(count_fds(), before);
	free(fds);
	scm_free_names(rnames, rn);
	free_names(names, n);
	free(objs);
	free(ids);
}

static void test_round_trip_0(void **unused)
{
	(void)unused;
	round_trip(0);
}

static void test_round_trip_1(void **unused)
{
	(void)unused;
	round_trip(1);
}

static void test_round_trip_252(void **unused)
{
	(void)unused;
	round_trip(252);
}

static void test_round_trip_253(void **unused)
{
	(void)unused;
	round_trip(253);
}

static void test_round_trip_1000(void **unused)
{
	(void)unused;
	round_trip(1000);
}

/* --- hand-crafted transfers --- */

/* One message: header + manifest, FDS attached to its first byte. */
static void send_raw(int sock, const char *manifest, const int *fds,
		     size_t nfds)
{
	size_t mlen = strlen(manifest), total = CHANNEL_HEADER + mlen;
	unsigned char *frame = malloc(total);
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	assert_non_null(frame);
	assert_true(nfds <= 64);
	channel_frame_header(frame, mlen);
	memcpy(frame + CHANNEL_HEADER, manifest, mlen);
	iov = (struct iovec){frame, total};
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)total);
	free(frame);
}

/* Receive, expect failure with errno and message, and check that nothing
 * was left open: the fd count is what it was before the test opened
 * anything. */
static void expect_recv_error(int sock, const struct scm_recv_opts *opts,
			      int errnum, const char *needle)
{
	struct bt_err err = {0};
	char **names = (char **)1;
	int *fds = (int *)1;
	size_t n = 1;

	assert_int_equal(scm_recv(sock, opts, &fds, &names, &n, &err), -1);
	assert_int_equal(err.errnum, errnum);
	assert_has(err.msg, needle);
	assert_null(fds);
	assert_null(names);
	assert_int_equal(n, 0);
}

struct crafted {
	const char *manifest;
	size_t nfds;
	int errnum;
	const char *needle;
};

/* clang-format off */
static const struct crafted crafted_rows[] = {
	/* the manifest says 3 names, 2 fds came */
	{"{\"batch\":0,\"batches\":1,\"total\":3,\"names\":[\"a\",\"b\",\"c\"]}",
	 2, EPROTO, "the manifest names 3 fds but 2 arrived"},
	/* the manifest says 1, 2 came */
	{"{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"a\"]}",
	 2, EPROTO, "names 1 fds but 2 arrived"},
	/* garbage */
	{"{\"batch\":0,\"batches\":1,", 2, EPROTO, "invalid JSON"},
	{"[1,2]", 2, EPROTO, "expected an object"},
	{"{\"batch\":0,\"batches\":1,\"total\":2,\"names\":[\"a\",\"b\"],\"x\":1}",
	 2, EPROTO, "manifest.x: unknown field"},
	/* batch 1 first */
	{"{\"batch\":1,\"batches\":2,\"total\":4,\"names\":[\"a\",\"b\"]}",
	 2, EPROTO, "expected batch 0, got batch 1"},
	/* one batch that does not hold the announced total */
	{"{\"batch\":0,\"batches\":1,\"total\":4,\"names\":[\"a\",\"b\"]}",
	 2, EPROTO, "the last batch leaves 2 fds of the announced 4"},
};
/* clang-format on */

/* Each crafted message carries fds on real objects; after the error the
 * process holds exactly what it held before. */
static void test_crafted_messages(void **unused)
{
	size_t n = sizeof crafted_rows / sizeof crafted_rows[0];
	struct scm_recv_opts opts = {0, 0, 2000};

	(void)unused;
	for (size_t i = 0; i < n; i++) {
		const struct crafted *r = &crafted_rows[i];
		size_t before = count_fds();
		struct fdutil_id ids[8];
		int *objs = open_objects(r->nfds, ids), sv[2];

		make_pair(sv);
		send_raw(sv[1], r->manifest, objs, r->nfds);
		close_all(objs, r->nfds);
		free(objs);
		expect_recv_error(sv[0], &opts, r->errnum, r->needle);
		close(sv[0]);
		close(sv[1]);
		if (count_fds() != before)
			fail_msg("crafted row %zu leaked %zu fds", i,
				 count_fds() - before);
	}
}

/* The control buffer holds 10 fds, the batch has 20: the kernel sets
 * MSG_CTRUNC and drops ten; the ten that came are closed too. */
static void test_ctrunc(void **unused)
{
	struct scm_recv_opts opts = {10, 0, 2000};
	struct fdutil_id ids[20];
	struct bt_err err = {0};
	size_t before = count_fds();
	char **names = make_names(20);
	int *objs = open_objects(20, ids), sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(
	    scm_send(sv[1], objs, (const char *const *)names, 20, 2000, &err),
	    0);
	close_all(objs, 20);
	expect_recv_error(sv[0], &opts, EPROTO, "MSG_CTRUNC");
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
	free(objs);
	free_names(names, 20);
}

/* More fds than the receiver accepts in total. */
static void test_total_over_limit(void **unused)
{
	struct scm_recv_opts opts = {0, 5, 2000};
	struct fdutil_id ids[6];
	struct bt_err err = {0};
	size_t before = count_fds();
	char **names = make_names(6);
	int *objs = open_objects(6, ids), sv[2];

	(void)unused;
	make_pair(sv);
	assert_int_equal(
	    scm_send(sv[1], objs, (const char *const *)names, 6, 2000, &err),
	    0);
	close_all(objs, 6);
	expect_recv_error(sv[0], &opts, EPROTO, "over the limit of 5");
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
	free(objs);
	free_names(names, 6);
}

/* A header announcing an empty manifest, with fds attached. */
static void test_bad_manifest_length(void **unused)
{
	struct scm_recv_opts opts = {0, 0, 2000};
	struct fdutil_id ids[2];
	size_t before = count_fds();
	int *objs = open_objects(2, ids), sv[2];

	(void)unused;
	make_pair(sv);
	send_raw(sv[1], "", objs, 2);
	close_all(objs, 2);
	expect_recv_error(sv[0], &opts, EPROTO, "manifest length 0");
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
	free(objs);
}

/* The peer goes away: before anything, and after the first of two
 * batches (whose fds must be closed again). */
static void test_end_of_file(void **unused)
{
	struct scm_recv_opts opts = {0, 0, 2000};
	struct fdutil_id ids[2];
	size_t before = count_fds();
	int *objs, sv[2];

	(void)unused;
	make_pair(sv);
	close(sv[1]);
	expect_recv_error(sv[0], &opts, ECONNRESET, "after 0 of 8 bytes");
	close(sv[0]);

	objs = open_objects(2, ids);
	make_pair(sv);
	send_raw(
	    sv[1],
	    "{\"batch\":0,\"batches\":2,\"total\":3,\"names\":[\"a\",\"b\"]}",
	    objs, 2);
	close_all(objs, 2);
	close(sv[1]);
	expect_recv_error(sv[0], &opts, ECONNRESET, "closed");
	close(sv[0]);
	assert_int_equal(count_fds(), before);
	free(objs);
}

/* --- deadlines, on blocking sockets --- */

/* Run FN in a child under alarm(5): a call that ignores its deadline
 * blocks, and the child dies of SIGALRM instead of hanging the suite.
 * The child exits 0 when FN saw ETIMEDOUT within the bound. */
static void in_child_with_alarm(int (*fn)(int sock), int sock, int other)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		close(other);
		alarm(5);
		_exit(fn(sock));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the call ignored its deadline (killed by signal %d)",
			 WTERMSIG(status));
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("the call did not time out cleanly (exit %d)",
			 WEXITSTATUS(status));
}

static int recv_times_out(int sock)
{
	struct scm_recv_opts opts = {0, 0, 150};
	struct bt_err err = {0};
	int64_t t0 = channel_now_ms(), dt;
	char **names;
	int *fds;
	size_t n;

	if (scm_recv(sock, &opts, &fds, &names, &n, &err) != -1)
		return 2;
	dt = channel_now_ms() - t0;
	if (err.errnum != ETIMEDOUT)
		return 3;
	return dt >= 150 && dt < 2000 ? 0 : 4;
}

/* 1,000 names of 200 bytes against a 4 KiB send buffer nobody reads. */
static int send_times_out(int sock)
{
	static char name[201];
	const char *names[1000];
	int fds[1000], obj = dup(sock);
	struct bt_err err = {0};
	int64_t t0 = channel_now_ms(), dt;
	int small = 4096;

	memset(name, 'n', 200);
	for (int i = 0; i < 1000; i++) {
		names[i] = name;
		fds[i] = obj;
	}
	if (setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &small, sizeof small))
		return 5;
	if (scm_send(sock, fds, names, 1000, 150, &err) != -1)
		return 2;
	dt = channel_now_ms() - t0;
	if (err.errnum != ETIMEDOUT)
		return 3;
	return dt >= 150 && dt < 2000 ? 0 : 4;
}

static void test_recv_deadline_blocking_socket(void **unused)
{
	int sv[2];

	(void)unused;
	make_pair(sv);
	in_child_with_alarm(recv_times_out, sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_send_deadline_blocking_socket(void **unused)
{
	int sv[2], small = 4096;

	(void)unused;
	make_pair(sv);
	assert_int_equal(
	    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	in_child_with_alarm(send_times_out, sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
}

/* --- the manifest decoder --- */

struct manifest_row {
	const char *text;
	int rc;
	size_t batch, batches, total, n_names;
	const char *needle; /* rejects: part of the message */
};

/* clang-format off */
static const struct manifest_row manifest_rows[] = {
	{"{\"batch\":0,\"batches\":1,\"total\":2,\"names\":[\"a\",\"b\"]}",
	 0, 0, 1, 2, 2, NULL},
	{"{\"names\":[],\"total\":0,\"batches\":1,\"batch\":0}", 0, 0, 1, 0, 0, NULL},
	{"{\"batch\":3,\"batches\":4,\"total\":1000,\"names\":[\"x\"]}",
	 0, 3, 4, 1000, 1, NULL},
	{" {\"batch\":0,\"batches\":1,\"total\":2,\"names\":[\"h\xc3\xb4te\","
	 "\"\xf0\x9f\x9a\x80:80\"]}\n", 0, 0, 1, 2, 2, NULL},
	{"", -1, 0, 0, 0, 0, "invalid JSON"},
	{"[]", -1, 0, 0, 0, 0, "expected an object"},
	{"{}", -1, 0, 0, 0, 0, "manifest.batch: missing field"},
	{"{\"batch\":0,\"batches\":1,\"total\":0,\"names\":[],\"extra\":0}",
	 -1, 0, 0, 0, 0, "manifest.extra: unknown field"},
	{"{\"batch\":-1,\"batches\":1,\"total\":0,\"names\":[]}",
	 -1, 0, 0, 0, 0, "manifest.batch: expected an integer"},
	{"{\"batch\":0.0,\"batches\":1,\"total\":0,\"names\":[]}",
	 -1, 0, 0, 0, 0, "manifest.batch: expected an integer"},
	{"{\"batch\":\"0\",\"batches\":1,\"total\":0,\"names\":[]}",
	 -1, 0, 0, 0, 0, "manifest.batch: expected an integer"},
	{"{\"batch\":0,\"batches\":0,\"total\":0,\"names\":[]}",
	 -1, 0, 0, 0, 0, "batch 0 of 0 is not a batch index"},
	{"{\"batch\":2,\"batches\":2,\"total\":0,\"names\":[]}",
	 -1, 0, 0, 0, 0, "batch 2 of 2 is not a batch index"},
	{"{\"batch\":0,\"batches\":1,\"total\":16777217,\"names\":[]}",
	 -1, 0, 0, 0, 0, "manifest.total: expected an integer in [0, 16777216]"},
	{"{\"batch\":0,\"batches\":1,\"total\":0}",
	 -1, 0, 0, 0, 0, "manifest.names: missing field"},
	{"{\"batch\":0,\"batches\":1,\"total\":1,\"names\":\"a\"}",
	 -1, 0, 0, 0, 0, "manifest.names: expected an array"},
	{"{\"batch\":0,\"batches\":1,\"total\":2,\"names\":[\"a\",1]}",
	 -1, 0, 0, 0, 0, "manifest.names[1]: expected a string"},
	{"{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"\"]}",
	 -1, 0, 0, 0, 0, "manifest.names[0]: expected a string of 1 to 255 bytes"},
	{"{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"a\",\"b\"]}",
	 -1, 0, 0, 0, 0, "2 names in one batch, more than the total 1"},
	{"{\"batch\":0,\"batch\":0,\"batches\":1,\"total\":0,\"names\":[]}",
	 -1, 0, 0, 0, 0, "duplicate object key"},
	{"{\"batch\":0,\"batches\":1,\"total\":0,\"names\":[]}x",
	 -1, 0, 0, 0, 0, "end of file expected"},
	{"{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"a\\u0000b\"]}",
	 -1, 0, 0, 0, 0, "invalid JSON"},
};
/* clang-format on */

static void check_manifest(size_t row, const char *text, size_t len, int rc,
			   const struct manifest_row *want)
{
	struct scm_manifest m;
	struct bt_err err = {0};

	memset(&m, 0x5a, sizeof m);
	if (scm_manifest_parse(text, len, &m, &err) != rc)
		fail_msg("manifest row %zu: rc is not %d (%s)", row, rc,
			 err.msg);
	if (rc == 0) {
		assert_int_equal(m.batch, want->batch);
		assert_int_equal(m.batches, want->batches);
		assert_int_equal(m.total, want->total);
		assert_int_equal(m.n_names, want->n_names);
		for (size_t i = 0; i < m.n_names; i++)
			assert_true(m.names[i] && m.names[i][0]);
		scm_manifest_free(&m);
	} else {
		assert_int_equal(err.errnum, EPROTO);
		assert_has(err.msg, want->needle);
		assert_null(m.names);
		assert_int_equal(m.n_names, 0);
	}
}

static void test_manifest_rows(void **unused)
{
	size_t n = sizeof manifest_rows / sizeof manifest_rows[0];

	(void)unused;
	for (size_t i = 0; i < n; i++)
		check_manifest(i, manifest_rows[i].text,
			       strlen(manifest_rows[i].text),
			       manifest_rows[i].rc, &manifest_rows[i]);
}

/* {"batch":0,"batches":1,"total":N,"names":[COUNT names of LEN bytes]} */
static char *names_manifest(size_t count, size_t len)
{
	size_t cap = 64 + count * (len + 3);
	char *s = malloc(cap), *p;

	assert_non_null(s);
	p = s + sprintf(s,
			"{\"batch\":0,\"batches\":1,\"total\":%zu,\"names\":[",
			count);
	for (size_t i = 0; i < count; i++) {
		*p++ = i ? ',' : '"';
		if (i)
			*p++ = '"';
		memset(p, 'n', len);
		p += len;
		*p++ = '"';
	}
	strcpy(p, "]}");
	return s;
}

/* The edges: 253 names (the kernel's per-message maximum) but not 254;
 * a 255-byte name but not 256; the size limit. */
static void test_manifest_limits(void **unused)
{
	struct manifest_row ok253 = {NULL, 0, 0, 1, 253, 253, NULL};
	struct manifest_row ok255 = {NULL, 0, 0, 1, 1, 1, NULL};
	struct manifest_row no254 = {NULL, -1, 0, 0, 0, 0, "254 names"};
	struct manifest_row no256 = {NULL, -1, 0, 0, 0, 0, "manifest.names[0]"};
	struct scm_manifest m;
	struct bt_err err = {0};
	char *s, *big;

	(void)unused;
	s = names_manifest(253, 3);
	check_manifest(0, s, strlen(s), 0, &ok253);
	free(s);
	s = names_manifest(254, 3);
	check_manifest(1, s, strlen(s), -1, &no254);
	free(s);
	s = names_manifest(1, 255);
	check_manifest(2, s, strlen(s), 0, &ok255);
	free(s);
	s = names_manifest(1, 256);
	check_manifest(3, s, strlen(s), -1, &no256);
	free(s);
	big = calloc(1, SCM_MANIFEST_MAX + 1);
	assert_non_null(big);
	assert_int_equal(
	    scm_manifest_parse(big, SCM_MANIFEST_MAX + 1, &m, &err), -1);
	assert_int_equal(err.errnum, EMSGSIZE);
	assert_has(err.msg, "over the limit");
	free(big);
}

/* Out of memory at each jansson allocation of a manifest parse: a clean
 * ENOMEM every time (not "invalid JSON", not a name short of a byte),
 * until a run needs fewer allocations than N. */
/* a name long enough that jansson's token buffer grows inside it */
#define OOM_NAME "h\xc3\xb4te-\xf0\x9f\x9a\x80-listener.example:8080"

static void sweep_manifest_oom(const char *text, enum fp_mode mode)
{
	unsigned n;

	for (n = 1; n < 10000; n++) {
		struct fp_spec sp = {.point = "mem/alloc",
				     .nth = n,
				     .kind = FP_ERROR,
				     .errnum = ENOMEM,
				     .mode = mode};
		struct scm_manifest m;
		struct bt_err err = {0};
		unsigned fired;
		int rc;

		fp_reset();
		assert_int_equal(fp_enable(&sp, &err), 0);
		fp_arm();
		rc = scm_manifest_parse(text, strlen(text), &m, &err);
		fired = fp_fired("mem/alloc");
		fp_reset();
		if (!fired) {
			assert_int_equal(rc, 0);
			assert_string_equal(m.names[1], OOM_NAME);
			scm_manifest_free(&m);
			break;
		}
		if (rc != -1 || err.errnum != ENOMEM)
			fail_msg("allocation %u: rc %d errno %d \"%s\"", n, rc,
				 err.errnum, err.msg);
		assert_null(m.names);
	}
	assert_true(n > 5);
}

static void test_manifest_oom(void **unused)
{
	const char *text = "{\"batch\":0,\"batches\":1,\"total\":2,"
			   "\"names\":[\"127.0.0.1:8080\",\"" OOM_NAME "\"]}";

	(void)unused;
	sweep_manifest_oom(text, FP_TRANSIENT);
	sweep_manifest_oom(text, FP_PERSISTENT);
}

/* 1,000 fds in flight plus the test's own: more than a 1024 soft limit
 * leaves room for.  Take what the hard limit allows, up to 4096. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_0),
	    cmocka_unit_test(test_round_trip_1),
	    cmocka_unit_test(test_round_trip_252),
	    cmocka_unit_test(test_round_trip_253),
	    cmocka_unit_test(test_round_trip_1000),
	    cmocka_unit_test(test_crafted_messages),
	    cmocka_unit_test(test_ctrunc),
	    cmocka_unit_test(test_total_over_limit),
	    cmocka_unit_test(test_bad_manifest_length),
	    cmocka_unit_test(test_end_of_file),
	    cmocka_unit_test(test_recv_deadline_blocking_socket),
	    cmocka_unit_test(test_send_deadline_blocking_socket),
	    cmocka_unit_test(test_manifest_rows),
	    cmocka_unit_test(test_manifest_limits),
	    cmocka_unit_test(test_manifest_oom),
	};

	json_guard_init();
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (tu_need_proc())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
