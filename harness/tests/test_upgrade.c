/* test_upgrade: batond's master and worker upgrades, end to end, judged by
 * the contract checker. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "channel.h"
#include "contract/contract.h"
#include "lib/ctlc.h"
#include "fdutil.h"
#include "lib/proc.h"
#include "contract/scenario.h"
#include "tests/testutil.h"

#define SUITE "test_upgrade"

static struct scen_opts base_opts(const char *name)
{
	struct scen_opts o = {
		.batond = tu_batond(),
		.dir = tu_dir(SUITE, name),
		.workers = 2,
		.listeners = 1,
		.upgrade_timeout_ms = 2000,
		.load_concurrency = 8,
		/* every scenario here also proves the children allocate
		 * nothing between fork and exec (clause S1) */
		.forkalloc_shim = getenv("BATON_NO_FORKALLOC") ? NULL
					: tu_beside_self("libforkalloc.so"),
	};
	return o;
}

static void assert_clean(const char *what, struct scen_result *r)
{
	if (!r->ran || r->report.n)
		tu_print_report(what, r);
	assert_true(r->ran);
	assert_int_equal(r->report.n, 0);
}

/* 1: one master upgrade under load: no failed request, C1-C9 hold, and
 * the new master's fd table is exactly its inventory. */
static void master_upgrade_under_load(void **state)
{
	struct scen_opts o = base_opts("master-load");
	struct scen_run_opts r = {.kind = UPGRADE_MASTER, .expect = EXPECT_UPGRADED,
				  .load_ms_before = 200};
	struct scen_result res;

	(void)state;
	assert_int_equal(scen_run(&o, &r, &res), 0);
	assert_clean("master upgrade under load", &res);
	assert_true(res.up.ok);
	assert_int_not_equal(res.after.master, res.before.master);
	assert_int_equal(res.after.master, res.up.new_pid);
	assert_true(res.load.ok > 0);
	assert_int_equal(loadgen_failed(&res.load), 0);
	/* every fd above 2 is CLOEXEC and in the inventory (C5 also says so;
	 * this is the direct statement) */
	for (size_t i = 0; i < res.after.n_fds; i++)
		if (res.after.fds[i].fd > 2)
			assert_true(res.after.fds[i].cloexec);
	assert_int_equal(res.after.n_fds,
			 json_array_size(json_object_get(res.after.status, "fds")));
	scen_result_free(&res);
}

/* 2: twenty chained master upgrades. */
static void chained_upgrades(void **state)
{
	struct scen_opts o = base_opts("chained");
	struct observation first, prev, cur;
	struct scen s;
	struct bt_err err;

	(void)state;
	o.load_concurrency = 2;
	assert_int_equal(scen_start(&s, &o, &err), 0);
	assert_int_equal(scen_observe(&s, &first), 0);
	assert_int_equal(scen_observe(&s, &prev), 0);
	assert_int_equal(scen_load_start(&s, &err), 0);
	for (int i = 1; i <= 20; i++) {
		struct upgrade_record u;
		struct contract_report rep;
		struct contract_input in = {.before = &prev, .after = &cur, .up = &u,
					    .expect = EXPECT_UPGRADED};
		size_t from;

		notifyrec_drain(&s.notify);
		from = s.notify.n;
		scen_upgrade_master(&s, NULL, &u);
		scen_settle(&s, &prev, &u);
		assert_int_equal(scen_observe(&s, &cur), 0);
		notifyrec_drain(&s.notify);
		in.notify = s.notify.msgs + from;
		in.n_notify = s.notify.n - from;
		contract_check(&in, &rep);
		for (size_t k = 0; k < rep.n; k++)
			fprintf(stderr, "upgrade %d: %s: %s\n", i, rep.v[k].clause,
				rep.v[k].reason);
		assert_int_equal(rep.n, 0);
		assert_int_equal(cur.state.boot_generation, (uint64_t)i);
		/* the master's fd count does not grow with generations */
		assert_int_equal(cur.n_fds, first.n_fds);
		json_decref(u.answer);
		observation_free(&prev);
		prev = cur;
	}
	scen_load_stop(&s);
	assert_int_equal(loadgen_failed(&s.load.result), 0);
	assert_true(s.load.result.ok > 0);
	/* the same worker processes served all along */
	assert_int_equal(prev.state.n_workers, first.state.n_workers);
	for (size_t i = 0; i < first.state.n_workers; i++)
		assert_int_equal(prev.state.workers[i].pid, first.state.workers[i].pid);
	for (size_t i = 0; i < prev.n_procs; i++)
		assert_int_not_equal(prev.procs[i].state, 'Z');
	observation_free(&first);
	observation_free(&prev);
	scen_stop(&s);
}

/* 3: worker upgrade under load. */
static void worker_upgrade_under_load(void **state)
{
	struct scen_opts o = base_opts("worker-load");
	struct scen_run_opts r = {.kind = UPGRADE_WORKER, .worker_id = 0,
				  .expect = EXPECT_UPGRADED, .load_ms_before = 200};
	struct scen_result res;
	pid_t old = -1;

	(void)state;
	assert_int_equal(scen_run(&o, &r, &res), 0);
	assert_clean("worker upgrade under load", &res);
	assert_true(res.up.ok);
	for (size_t i = 0; i < res.before.state.n_workers; i++)
		if (res.before.state.workers[i].id == 0)
			old = res.before.state.workers[i].pid;
	assert_true(old > 0);
	/* gone and reaped: not even a zombie */
	assert_false(proc_exists(old));
	assert_int_equal(res.after.listener_inode[0], res.before.listener_inode[0]);
	assert_int_equal(loadgen_failed(&res.load), 0);
	scen_result_free(&res);
}

/* 4: failing new binaries.  Each time: rolled back, step named, the old
 * master stays, reaps the child, restores its fds (C1-C9 all hold). */
static void failing_binary(const char *name, const char *binary, int timeout_ms,
			   const char *step)
{
	struct scen_opts o = base_opts(name);
	struct scen_run_opts r = {.kind = UPGRADE_MASTER, .binary = binary,
				  .expect = EXPECT_ROLLED_BACK};
	struct scen_result res;

	o.upgrade_timeout_ms = timeout_ms;
	assert_int_equal(scen_run(&o, &r, &res), 0);
	assert_clean(name, &res);
	assert_false(res.up.ok);
	assert_string_equal(json_string_value(json_object_get(res.up.answer, "step")), step);
	assert_int_equal(res.after.master, res.before.master);
	assert_int_equal(res.after.state.boot_generation, res.before.state.boot_generation);
	scen_result_free(&res);
}

static void binary_missing(void **state)
{
	(void)state;
	failing_binary("missing", "/nonexistent/batond", 2000, "child/exec");
}

static void binary_exits(void **state)
{
	(void)state;
	failing_binary("exits", "/bin/false", 2000, "old/confirm-read");
}

static void binary_hangs(void **state)
{
	char path[600];

	(void)state;
	snprintf(path, sizeof path, "%s/hang.sh", tu_dir(SUITE, "hang-bin"));
	assert_int_equal(tu_write_script(path, "#!/bin/sh\nexec sleep 60\n"), 0);
	/* the deadline ends it; the old master answers status meanwhile (C8) */
	failing_binary("hangs", path, 800, "old/confirm-wait");
}

static void binary_garbage(void **state)
{
	char path[600];

	(void)state;
	snprintf(path, sizeof path, "%s/garbage.sh", tu_dir(SUITE, "garbage-bin"));
	/* $3 is the --fd value: a well-framed payload that is not JSON */
	assert_int_equal(tu_write_script(path,
					 "#!/bin/bash\n"
					 "printf '\\x0b\\x00\\x00\\x00\\x00\\x00\\x00\\x00not-a-frame' >&$3\n"
					 "sleep 5\n"), 0);
	failing_binary("garbage", path, 2000, "old/confirm-read");
}

static void binary_garbage_bytes(void **state)
{
	char path[600];

	(void)state;
	snprintf(path, sizeof path, "%s/bytes.sh", tu_dir(SUITE, "bytes-bin"));
	/* no framing at all: the length reads as petabytes */
	assert_int_equal(tu_write_script(path,
					 "#!/bin/bash\n"
					 "printf 'GARBAGE GARBAGE GARBAGE' >&$3\n"
					 "sleep 5\n"), 0);
	failing_binary("garbage-bytes", path, 2000, "old/confirm-read");
}

/* 5: `batond main` refuses bad input with a clear message.  Each case is
 * run on fds the test made; tokens in the arguments and in the state file
 * name them:
 *   %C the confirmation socket   %S the state file   %L a listening socket
 *   %R a regular file            %A, %B two numbers for one socket
 *   %W another socket            %P this test's pid (a live "worker")
 *   %M a second number for the listening socket */
struct main_case {
	const char *name;
	const char *args;
	const char *state;	/* state file content, NULL: no state fd */
	bool pipe_as_fd;	/* --fd gets a pipe */
	bool pipe_as_state;	/* --upgrade-fd gets a pipe */
	bool huge_state;	/* the state file is over the 64 MiB limit */
	bool via_shell;		/* batond is a grandchild: not the peer's child */
	int exit_code;
	const char *message;	/* on stderr */
	const char *frame_step;	/* expected error frame, NULL: none */
};

struct case_fds {
	int conf[2], state, listen, listen_dup, reg, alias_a, alias_b, other[2];
};

#define DOC_HEAD \
	"{\"format\":\"baton-upgrade-state\",\"version\":%s,\"boot_generation\":1," \
	"\"command_socket_fd\":%s,\"config\":{\"command_socket\":\"/tmp/x.sock\"," \
	"\"command_buffer_size\":4096,\"max_command_buffer_size\":8192," \
	"\"pid_file_path\":\"/tmp/x.pid\",\"worker_count\":0,\"upgrade_timeout_ms\":1000," \
	"\"listeners\":[]},\"next_client_id\":0,\"next_session_id\":0," \
	"\"next_task_id\":0,\"next_worker_id\":2,\"workers\":["
#define DOC_TAIL "],\"state\":{\"clusters\":{}}}"
#define WORKER(id, ch, scm) \
	"{\"id\":" id ",\"pid\":%P,\"run_state\":\"RUNNING\",\"channel_fd\":" ch \
	",\"scm_fd\":" scm "}"

/* Replace the tokens of TEXT with the case's fd numbers. */
static void expand(const char *text, const struct case_fds *f, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = text; *p && o + 12 < len; p++) {
		int v = -2;

		if (p[0] == '%' && p[1]) {
			switch (p[1]) {
			case 'C': v = f->conf[1]; break;
			case 'S': v = f->state; break;
			case 'L': v = f->listen; break;
			case 'R': v = f->reg; break;
			case 'A': v = f->alias_a; break;
			case 'B': v = f->alias_b; break;
			case 'W': v = f->other[1]; break;
			case 'M': v = f->listen_dup; break;
			case 'P': v = (int)getpid(); break;
			}
		}
		if (v == -2) {
			out[o++] = *p;
			continue;
		}
		o += (size_t)snprintf(out + o, len - o, "%d", v);
		p++;
	}
	out[o] = 0;
}

static int state_file(const char *content)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void make_case_fds(const struct main_case *c, struct case_fds *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char doc[4096];

	if (c->pipe_as_fd)
		assert_int_equal(pipe2(f->conf, O_CLOEXEC), 0);
	else
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->conf), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->other), 0);
	f->listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/listen.sock", tu_dir(SUITE, "main-args"));
	unlink(sa.sun_path);
	assert_int_equal(bind(f->listen, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(f->listen, 4), 0);
	f->listen_dup = fcntl(f->listen, F_DUPFD_CLOEXEC, 3);
	f->reg = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	f->alias_a = f->other[0];
	f->alias_b = fcntl(f->other[0], F_DUPFD_CLOEXEC, 3);
	f->state = -1;
	if (c->pipe_as_state) {
		int p[2];

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		close(p[1]);
		f->state = p[0];
	} else if (c->huge_state) {
		f->state = state_file("{}");
		assert_int_equal(ftruncate(f->state, (off_t)65 << 20), 0);
	} else if (c->state) {
		expand(c->state, f, doc, sizeof doc);
		f->state = state_file(doc);
	}
}

static void close_case_fds(struct case_fds *f)
{
	int all[] = {f->conf[1], f->state, f->listen, f->reg, f->other[0], f->other[1],
		     f->alias_b, f->listen_dup};

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (all[i] >= 0)
			close(all[i]);
}

static void assert_error_frame(int fd, const char *step)
{
	struct channel ch;
	char *payload = NULL;
	size_t len;
	json_t *o;

	assert_int_equal(channel_init(&ch, fd, 4096, 65536, NULL), 0);
	assert_int_equal(channel_recv(&ch, &payload, &len, 2000, NULL), 0);
	o = json_loads(payload, 0, NULL);
	assert_true(json_is_false(json_object_get(o, "ok")));
	assert_string_equal(json_string_value(json_object_get(o, "step")), step);
	json_decref(o);
	free(payload);
	channel_close(&ch);
}

static void run_main_case(const struct main_case *c)
{
	struct case_fds f;
	char args[512], cmd[1024], log[600], out[4096] = "";
	char *argv[24];
	int keep[9], status, a = 0;
	struct proc_spawn ps = {.argv = argv, .keep_fds = keep};
	pid_t pid;

	make_case_fds(c, &f);
	keep[0] = f.conf[1], keep[1] = f.state, keep[2] = f.listen, keep[3] = f.reg;
	keep[4] = f.other[0], keep[5] = f.other[1], keep[6] = f.alias_b;
	keep[7] = f.listen_dup;
	ps.n_keep = 8;
	if (f.state < 0)
		keep[1] = f.listen;	/* no state fd: keep a harmless duplicate */
	snprintf(log, sizeof log, "%s/%s.log", tu_dir(SUITE, "main-args"), c->name);
	unlink(log);
	ps.log_path = log;
	expand(c->args, &f, args, sizeof args);
	if (c->via_shell) {
		/* "&" forks: batond's parent is the shell, not the socket's peer */
		snprintf(cmd, sizeof cmd, "'%s' main %s & wait $!", tu_batond(), args);
		argv[a++] = "/bin/sh", argv[a++] = "-c", argv[a++] = cmd;
	} else {
		argv[a++] = (char *)tu_batond();
		argv[a++] = "main";
		for (char *w = strtok(args, " "); w && a < 22; w = strtok(NULL, " "))
			argv[a++] = w;
	}
	argv[a] = NULL;
	pid = proc_spawn(&ps, NULL);
	assert_true(pid > 0);
	close_case_fds(&f);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(tu_read_text(log, out, sizeof out), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != c->exit_code ||
	    !strstr(out, c->message))
		fprintf(stderr, "case %s: status 0x%x, stderr:\n%s\n", c->name, status, out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), c->exit_code);
	assert_non_null(strstr(out, c->message));
	if (c->frame_step)
		assert_error_frame(f.conf[0], c->frame_step);
	else
		close(f.conf[0]);
}

/* The two "%s" of DOC_HEAD: the version and the command socket fd. */
static void fill_head(const char *doc, const char *version, const char *sock,
		      char *out, size_t len)
{
	const char *first = strstr(doc, "%s"), *second = strstr(first + 2, "%s");

	snprintf(out, len, "%.*s%s%.*s%s%s", (int)(first - doc), doc, version,
		 (int)(second - first - 2), first + 2, sock, second + 2);
}

#define SIZES "--command-buffer-size 4096 --max-command-buffer-size 8192"
#define OK_ARGS "--fd %C --upgrade-fd %S " SIZES

static void bad_main_arguments(void **state)
{
	static const struct main_case cases[] = {
		{"non-numeric", "--fd abc --upgrade-fd %S " SIZES, "{}", false, false, false,
		 false, 2, "--fd: \"abc\" is not a non-negative decimal number", NULL},
		{"negative", "--fd -7 --upgrade-fd %S " SIZES, "{}", false, false, false, false,
		 2, "--fd: \"-7\" is not a non-negative decimal number", NULL},
		{"same-fd-twice", "--fd %C --upgrade-fd %C " SIZES, NULL, false, false, false,
		 false, 2, "--fd and --upgrade-fd are both", NULL},
		{"closed-fd", "--fd 777 --upgrade-fd %S " SIZES, "{}", false, false, false, false,
		 1, "--fd 777 is not an open fd", NULL},
		{"pipe-as-socket", OK_ARGS, "{}", true, false, false, false, 1,
		 "is not a unix stream socket", NULL},
		{"missing-arg", "--fd %C", NULL, false, false, false, false, 2,
		 "--upgrade-fd is required", NULL},
		{"unknown-arg", "--fd %C --bogus 1", NULL, false, false, false, false, 2,
		 "unknown argument \"--bogus\"", NULL},
		{"peer-not-parent", OK_ARGS, "{}", false, false, false, true, 1,
		 "not our parent", NULL},
		{"state-fd-closed", "--fd %C --upgrade-fd 778 " SIZES, NULL, false, false, false,
		 false, 1, "--upgrade-fd 778 is not an open fd", "new/args"},
		{"state-fd-is-pipe", OK_ARGS, NULL, false, true, false, false, 1,
		 "is not a regular file", "new/args"},
		{"state-over-limit", OK_ARGS, NULL, false, false, true, false, 1,
		 "over the limit of", "new/read-state"},
		{"truncated-state", OK_ARGS, "{\"format\":\"baton-upgrade-state\",\"vers", false,
		 false, false, false, 1, "invalid JSON", "new/parse"},
		{"unknown-version", OK_ARGS, DOC_HEAD DOC_TAIL, false, false, false, false, 1,
		 "unknown version 2 (this binary knows version 1)", "new/parse"},
		{"fd-not-open", OK_ARGS, DOC_HEAD DOC_TAIL, false, false, false, false, 1,
		 "$.command_socket_fd: fd 900 is not open", "new/validate"},
		{"command-socket-not-listening", OK_ARGS, DOC_HEAD DOC_TAIL, false, false, false,
		 false, 1, "is not a listening socket", "new/validate"},
		{"worker-fd-not-socket", OK_ARGS, DOC_HEAD WORKER("0", "%R", "%W") DOC_TAIL, false,
		 false, false, false, 1, "$.workers[0].channel_fd: fd", "new/validate"},
		{"worker-scm-not-socket", OK_ARGS, DOC_HEAD WORKER("0", "%W", "%R") DOC_TAIL,
		 false, false, false, false, 1, "$.workers[0].scm_fd: fd", "new/validate"},
		{"worker-channel-is-confirm", OK_ARGS, DOC_HEAD WORKER("0", "%C", "%W") DOC_TAIL,
		 false, false, false, false, 1,
		 "$.workers[0].channel_fd and the confirmation socket (--fd", "new/validate"},
		{"worker-scm-is-confirm", OK_ARGS, DOC_HEAD WORKER("0", "%W", "%C") DOC_TAIL,
		 false, false, false, false, 1,
		 "$.workers[0].scm_fd and the confirmation socket (--fd", "new/validate"},
		{"two-numbers-one-socket", OK_ARGS, DOC_HEAD WORKER("0", "%A", "%B") DOC_TAIL,
		 false, false, false, false, 1, "are the same kernel object", "new/validate"},
		{"worker-channel-is-command-socket", OK_ARGS,
		 DOC_HEAD WORKER("0", "%M", "%W") DOC_TAIL, false, false, false, false, 1,
		 "$.command_socket_fd and $.workers[0].channel_fd are the same kernel object",
		 "new/validate"},
	};
	/* the DOC_HEAD cases differ in version and command socket */
	static const char *const heads[][2] = {
		[12] = {"2", "%L"}, [13] = {"1", "900"}, [14] = {"1", "%C"},
		[15] = {"1", "%L"}, [16] = {"1", "%L"}, [17] = {"1", "%L"},
		[18] = {"1", "%L"}, [19] = {"1", "%L"}, [20] = {"1", "%L"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct main_case c = cases[i];
		char doc[2048];

		if (heads[i][0]) {
			fill_head(c.state, heads[i][0], heads[i][1], doc, sizeof doc);
			c.state = doc;
		}
		run_main_case(&c);
	}
}

/* A new binary that confirms with the wrong pid or the wrong generation
 * is not believed: rollback at old/confirm-check. */
static void binary_confirms_wrongly(void **state)
{
	static const char *const frames[] = {
		"{\"ok\":true,\"pid\":1,\"boot_generation\":1}",
		"{\"ok\":true,\"pid\":'$$',\"boot_generation\":99}",
	};
	char path[600], body[1024];

	(void)state;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/confirm%d.sh", tu_dir(SUITE, "confirm-bin"), i);
		/* $3 is the --fd value; the 8-byte little-endian length first */
		snprintf(body, sizeof body,
			 "#!/bin/bash\np='%s'\n"
			 "printf \"\\\\x$(printf %%02x ${#p})\\\\x00\\\\x00\\\\x00\\\\x00\\\\x00\\\\x00\\\\x00%%s\" \"$p\" >&$3\n"
			 "sleep 5\n", frames[i]);
		assert_int_equal(tu_write_script(path, body), 0);
		failing_binary(i ? "confirm-generation" : "confirm-pid", path, 2000,
			       "old/confirm-check");
	}
}

/* 6: the notify transcript, as systemd would see it, on success and on
 * failure. */
static void notify_transcript(void **state)
{
	struct scen_opts o = base_opts("notify");
	struct scen_run_opts ok = {.kind = UPGRADE_MASTER, .expect = EXPECT_UPGRADED};
	struct scen_run_opts bad = {.kind = UPGRADE_MASTER, .binary = "/bin/false",
				    .expect = EXPECT_ROLLED_BACK};
	struct scen_result res;
	char want[128];

	(void)state;
	o.load_concurrency = 0;
	assert_int_equal(scen_run(&o, &ok, &res), 0);
	assert_clean("notify on success", &res);
	snprintf(want, sizeof want, "%d: RELOADING=1\\nMONOTONIC_USEC=", (int)res.before.master);
	assert_non_null(strstr(res.notify, want));
	snprintf(want, sizeof want, "%d: MAINPID=%d\\nREADY=1", (int)res.before.master,
		 (int)res.up.new_pid);
	assert_non_null(strstr(res.notify, want));
	assert_null(strstr(res.notify, "STOPPING=1"));
	scen_result_free(&res);

	assert_int_equal(scen_run(&o, &bad, &res), 0);
	assert_clean("notify on failure", &res);
	snprintf(want, sizeof want, "%d: READY=1\\nSTATUS=upgrade failed at old/confirm-read",
		 (int)res.before.master);
	assert_non_null(strstr(res.notify, want));
	assert_null(strstr(res.notify, "MAINPID"));
	scen_result_free(&res);
}

/* The checker itself can fail: doctored observations of a clean run each
 * break one clause. */
static void contract_can_fail(void **state)
{
	struct scen_opts o = base_opts("doctored");
	struct scen_run_opts ok = {.kind = UPGRADE_MASTER, .expect = EXPECT_UPGRADED};
	struct scen_result res;
	struct contract_report rep;
	struct notify_msg msgs[2];
	struct contract_input in;
	struct fdutil_entry saved;
	pid_t saved_pid;

	(void)state;
	o.load_concurrency = 0;
	assert_int_equal(scen_run(&o, &ok, &res), 0);
	assert_clean("baseline", &res);
	res.up.probes_by_old = 1;
	in = (struct contract_input){.before = &res.before, .after = &res.after,
				     .up = &res.up, .expect = EXPECT_UPGRADED};
	/* no notify messages at all: C9 */
	assert_true(contract_check(&in, &rep) > 0);
	assert_string_equal(rep.v[0].clause, "C9");
	/* MAINPID from the new master (Sōzu's defect): C9 */
	msgs[0] = (struct notify_msg){.pid = res.before.master, .text = "RELOADING=1\nMONOTONIC_USEC=1"};
	msgs[1] = (struct notify_msg){.pid = res.up.new_pid};
	snprintf(msgs[1].text, sizeof msgs[1].text, "MAINPID=%d\nREADY=1", (int)res.up.new_pid);
	in.notify = msgs;
	in.n_notify = 2;
	assert_true(contract_check(&in, &rep) > 0);
	assert_non_null(strstr(rep.v[0].reason, "MAINPID sent by pid"));
	in.n_notify = 0;
	in.notify = NULL;
	/* a leaked fd without CLOEXEC: C5 */
	saved = res.after.fds[res.after.n_fds - 1];
	res.after.fds[res.after.n_fds - 1].cloexec = false;
	contract_check(&in, &rep);
	assert_true(rep.n >= 2);
	assert_string_equal(rep.v[0].clause, "C5");
	res.after.fds[res.after.n_fds - 1] = saved;
	/* the pid file names someone else: C7 */
	saved_pid = res.after.pidfile_pid;
	res.after.pidfile_pid = 1;
	contract_check(&in, &rep);
	assert_string_equal(rep.v[0].clause, "C7");
	res.after.pidfile_pid = saved_pid;
	/* a zombie in the tree: C6 */
	res.after.procs = realloc(res.after.procs, (res.after.n_procs + 1) *
						   sizeof *res.after.procs);
	res.after.procs[res.after.n_procs++] = (struct proc_info){
		.pid = 999999, .ppid = res.after.master, .state = 'Z', .cmdline = "batond"};
	contract_check(&in, &rep);
	assert_string_equal(rep.v[0].clause, "C6");
	res.after.n_procs--;
	/* the old generation after a success: C3 */
	res.after.state.boot_generation--;
	contract_check(&in, &rep);
	assert_string_equal(rep.v[0].clause, "C3");
	res.after.state.boot_generation++;
	/* a request that failed: C4 */
	res.load.reset = 1;
	in.load = &res.load;
	res.load.ok = 1;
	contract_check(&in, &rep);
	assert_string_equal(rep.v[0].clause, "C4");
	scen_result_free(&res);
}

/* 7: more listeners than one SCM message can carry. */
static void worker_upgrade_300_listeners(void **state)
{
	struct scen_opts o = base_opts("listeners-300");
	struct scen_run_opts r = {.kind = UPGRADE_WORKER, .worker_id = 1,
				  .expect = EXPECT_UPGRADED, .load_ms_before = 100};
	struct scen_result res;

	(void)state;
	o.listeners = 300;
	o.workers = 2;
	o.load_concurrency = 4;
	if (scen_run(&o, &r, &res))
		fprintf(stderr, "setup: %s\n", res.error);
	assert_clean("300 listeners", &res);
	assert_int_equal(json_integer_value(json_object_get(res.up.answer, "listeners")), 300);
	assert_int_equal(res.after.n_listeners, 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(res.after.listener_inode[i], res.before.listener_inode[i]);
	scen_result_free(&res);
}

/* The allocator shim sees an allocation between fork and exec, and only
 * that: forkprobe does one and then none. */
static void forkalloc_shim_works(void **state)
{
	char log[600], out[512] = "";
	char *argv[] = {(char *)tu_beside_self("forkprobe"), "alloc", NULL};
	char env_log[700], env_pre[700];
	char *env[] = {env_log, env_pre, NULL};
	struct proc_spawn ps = {.argv = argv, .env_set = env};
	int status;
	pid_t pid;
	FILE *f;

	(void)state;
	if (getenv("BATON_NO_FORKALLOC")) {
		/* sanitizer builds: ASan owns malloc, the shim cannot stand in */
		printf("[  SKIP    ] forkalloc_shim_works: BATON_NO_FORKALLOC is set "
		       "(sanitizer build: ASan owns malloc)\n");
		fflush(stdout);
		skip();
	}
	snprintf(log, sizeof log, "%s/forkalloc.log", tu_dir(SUITE, "forkalloc"));
	unlink(log);
	snprintf(env_log, sizeof env_log, "BATON_FORKALLOC_LOG=%s", log);
	snprintf(env_pre, sizeof env_pre, "LD_PRELOAD=%s", tu_beside_self("libforkalloc.so"));
	argv[1] = "clean";
	pid = proc_spawn(&ps, NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(access(log, F_OK), -1);
	argv[1] = "alloc";
	pid = proc_spawn(&ps, NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	f = fopen(log, "re");
	assert_non_null(f);
	assert_non_null(fgets(out, sizeof out, f));
	fclose(f);
	assert_non_null(strstr(out, "allocated 64 bytes between fork and exec"));
}

/* The new side closes the fds of workers that are stopped or gone, so no
 * fd stays open without an owner (a Sōzu defect).  Built by hand: a state
 * with one RUNNING worker (played by this test) and one STOPPED worker,
 * both with live socket pairs, handed to `batond main` directly. */
static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static bool fd_in_table(const struct fdutil_entry *fds, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i].fd == fd)
			return true;
	return false;
}

static void stopped_worker_fds_closed(void **state)
{
	const char *dir = tu_dir(SUITE, "stopped-worker");
	char sock[300], pidf[300], doc[2048], log[300];
	int lfd, run_ch[2], run_scm[2], stop_ch[2], stop_scm[2], conf[2], sfd;
	int keep[7];
	char args[4][16];
	char *argv[12];
	struct proc_spawn ps = {.argv = argv, .keep_fds = keep, .n_keep = 7};
	struct channel ch;
	char *payload;
	size_t len;
	struct fdutil_entry *fds;
	size_t n;
	json_t *st = NULL;
	struct ctlc_pending pend;
	pid_t pid;

	(void)state;
	snprintf(sock, sizeof sock, "%s/baton.sock", dir);
	snprintf(pidf, sizeof pidf, "%s/baton.pid", dir);
	snprintf(log, sizeof log, "%s/batond.log", dir);
	lfd = listen_unix(sock);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, run_ch), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, run_scm), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stop_ch), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stop_scm), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conf), 0);
	snprintf(doc, sizeof doc,
		 "{\"format\":\"baton-upgrade-state\",\"version\":1,\"boot_generation\":4,"
		 "\"command_socket_fd\":%d,\"config\":{\"command_socket\":\"%s\","
		 "\"command_buffer_size\":4096,\"max_command_buffer_size\":65536,"
		 "\"pid_file_path\":\"%s\",\"worker_count\":1,\"upgrade_timeout_ms\":2000,"
		 "\"listeners\":[]},\"next_client_id\":0,\"next_session_id\":0,"
		 "\"next_task_id\":0,\"next_worker_id\":2,\"workers\":["
		 "{\"id\":0,\"pid\":%d,\"run_state\":\"RUNNING\",\"channel_fd\":%d,\"scm_fd\":%d},"
		 "{\"id\":1,\"pid\":%d,\"run_state\":\"STOPPED\",\"channel_fd\":%d,\"scm_fd\":%d}],"
		 "\"state\":{\"clusters\":{}}}",
		 lfd, sock, pidf, (int)getpid(), run_ch[1], run_scm[1], (int)getpid(),
		 stop_ch[1], stop_scm[1]);
	sfd = state_file(doc);
	keep[0] = lfd, keep[1] = run_ch[1], keep[2] = run_scm[1], keep[3] = stop_ch[1];
	keep[4] = stop_scm[1], keep[5] = conf[1], keep[6] = sfd;
	snprintf(args[0], 16, "%d", conf[1]);
	snprintf(args[1], 16, "%d", sfd);
	argv[0] = (char *)tu_batond();
	argv[1] = "main";
	argv[2] = "--fd", argv[3] = args[0], argv[4] = "--upgrade-fd", argv[5] = args[1];
	argv[6] = "--command-buffer-size", argv[7] = "4096";
	argv[8] = "--max-command-buffer-size", argv[9] = "65536", argv[10] = NULL;
	ps.log_path = log;
	pid = proc_spawn(&ps, NULL);
	assert_true(pid > 0);
	for (int i = 1; i < 7; i++)
		if (i != 5)
			close(keep[i]);
	close(conf[1]);
	assert_int_equal(channel_init(&ch, conf[0], 4096, 65536, NULL), 0);
	assert_int_equal(channel_recv(&ch, &payload, &len, 3000, NULL), 0);
	assert_non_null(strstr(payload, "\"ok\":true"));
	free(payload);
	channel_close(&ch);
	/* the new master serves: its table is its inventory, without the
	 * STOPPED worker's two fds */
	/* status and /proc while the status connection is open: one moment */
	assert_int_equal(ctlc_begin(sock, "{\"command\":\"status\"}", &pend, NULL), 0);
	assert_int_equal(ctlc_poll(&pend, 2000, &st, NULL), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "pid")), pid);
	assert_int_equal(fdutil_list(pid, &fds, &n, NULL), 0);
	ctlc_end(&pend);
	assert_false(fd_in_table(fds, n, stop_ch[1]));
	assert_false(fd_in_table(fds, n, stop_scm[1]));
	assert_true(fd_in_table(fds, n, run_ch[1]));
	assert_int_equal(n, json_array_size(json_object_get(st, "fds")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(st, "state"),
							 "workers")), 1);
	free(fds);
	json_decref(st);
	close(lfd);
	/* our "worker" leaves: the master drops it and stops at once */
	close(run_ch[0]);
	close(run_scm[0]);
	close(stop_ch[0]);
	close(stop_scm[0]);
	kill(pid, SIGTERM);
	assert_int_equal(proc_wait_gone(pid, 5000), 0);
}

/* `batond start --config FILE`: the file's keys reach the state; a bad
 * key is refused with the file and line named, before anything binds. */
static void start_from_config_file(void **state)
{
	const char *dir = tu_dir(SUITE, "config");
	char conf[600], bad[600], run[600], sock[700], log[700], out[2048] = "";
	char *argv[] = {(char *)tu_batond(), "start", "--config", conf, NULL};
	struct proc_spawn ps = {.argv = argv, .log_path = log};
	json_t *st = NULL, *cfg;
	int status;
	pid_t pid;
	FILE *f;

	(void)state;
	snprintf(conf, sizeof conf, "%s/baton.conf", dir);
	snprintf(bad, sizeof bad, "%s/bad.conf", dir);
	snprintf(run, sizeof run, "%s/run", dir);
	snprintf(sock, sizeof sock, "%s/baton.sock", run);
	snprintf(log, sizeof log, "%s/batond.log", dir);
	f = fopen(conf, "we");
	assert_non_null(f);
	fprintf(f, "# a comment\nlisten = 127.0.0.1:0\nworkers = 1\n"
		   "runtime_dir = %s\nupgrade_timeout_ms = 3000\n", run);
	fclose(f);
	pid = proc_spawn(&ps, NULL);
	assert_true(pid > 0);
	for (int i = 0; i < 200 && ctlc_status(sock, 200, &st) != pid; i++) {
		json_decref(st);
		st = NULL;
		proc_sleep_ms(10);
	}
	assert_non_null(st);
	cfg = json_object_get(json_object_get(st, "state"), "config");
	assert_int_equal(json_integer_value(json_object_get(cfg, "worker_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(cfg, "upgrade_timeout_ms")), 3000);
	assert_int_equal(json_array_size(json_object_get(json_object_get(st, "state"),
							 "workers")), 1);
	json_decref(st);
	kill(pid, SIGTERM);
	assert_int_equal(proc_wait_gone(pid, 5000), 0);
	/* a bad key: exit 2, the file and the line named */
	f = fopen(bad, "we");
	assert_non_null(f);
	fprintf(f, "workers = 1\nbogus = 1\n");
	fclose(f);
	argv[3] = bad;
	unlink(log);
	pid = proc_spawn(&ps, NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	assert_int_equal(tu_read_text(log, out, sizeof out), 0);
	assert_non_null(strstr(out, "unknown config key \"bogus\""));
	assert_non_null(strstr(out, "bad.conf:2"));
}

/* A start that fails after its workers run (the pid file cannot be
 * written): exit 1 naming the file and errno, and every worker killed and
 * reaped by batond itself.  This process is the subreaper: a worker
 * batond left behind would be re-parented here and show up below. */
static void failed_start_leaves_no_process(void **state)
{
	const char *dir = tu_dir(SUITE, "failed-start");
	char run[600], pidf[600], log[700], out[4096] = "";
	char *argv[] = {(char *)tu_batond(), "start", "--listen", "127.0.0.1:0",
			"--workers", "3", "--runtime-dir", run, "--pid-file", pidf, NULL};
	struct proc_spawn ps = {.argv = argv, .log_path = log};
	int status;
	pid_t pid, left;

	(void)state;
	snprintf(run, sizeof run, "%s/run", dir);
	snprintf(pidf, sizeof pidf, "%s/no-such-dir/baton.pid", dir);
	snprintf(log, sizeof log, "%s/batond.log", dir);
	pid = proc_spawn(&ps, NULL);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	assert_int_equal(tu_read_text(log, out, sizeof out), 0);
	assert_non_null(strstr(out, "no-such-dir/baton.pid"));
	assert_non_null(strstr(out, "ENOENT"));
	proc_sleep_ms(200);
	left = waitpid(-1, &status, WNOHANG);
	if (left > 0)
		fprintf(stderr, "pid %d outlived the failed start\n", (int)left);
	assert_int_equal(left, -1);
	assert_int_equal(errno, ECHILD);
}

/* A failed assertion leaves the scenario's processes behind: kill them
 * by pid so the next test starts from nothing. */
static int kill_leftovers(void **state)
{
	(void)state;
	proc_kill_tree(getpid(), 3000);
	return 0;
}

#define T(f) cmocka_unit_test_teardown(f, kill_leftovers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(master_upgrade_under_load),
		T(chained_upgrades),
		T(worker_upgrade_under_load),
		T(binary_missing),
		T(binary_exits),
		T(binary_hangs),
		T(binary_garbage),
		T(binary_garbage_bytes),
		T(bad_main_arguments),
		T(binary_confirms_wrongly),
		T(notify_transcript),
		T(contract_can_fail),
		T(worker_upgrade_300_listeners),
		T(forkalloc_shim_works),
		T(stopped_worker_fds_closed),
		T(start_from_config_file),
		T(failed_start_leaves_no_process),
	};
	int failures;

	if (tu_setup())
		return 1;
	tu_filter();
	failures = cmocka_run_group_tests(tests, NULL, NULL);
	tu_cleanup(SUITE, failures);
	return failures;
}
