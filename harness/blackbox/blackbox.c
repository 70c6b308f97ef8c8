/* blackbox: see blackbox.h. */
#include "blackbox/blackbox.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shims/bbfault.h"
#include "fdutil.h"
#include "contract/scenario.h"
#include "lib/sockdiag.h"

#define FIU_PRELOAD "/usr/lib/fiu/fiu_posix_preload.so"

/* Faults tried when none are named: each libc call the issue lists, in
 * the master the upgrade is sent to, then in the new generation. */
static const char *const default_faults[] = {
	"old:posix/proc/fork@1:error=EAGAIN",
	"old:posix/io/rw/write@1:error=EIO",
	"old:posix/io/rw/read@1:error=EIO",
	"old:posix/io/net/sendmsg@1:error=ENOBUFS",
	"old:posix/io/net/recvmsg@1:error=ECONNRESET",
	/* EINTR, not ECHILD: waitpid(-1, WNOHANG) says ECHILD only when no
	 * child is left, and HAProxy's master rightly exits on it */
	"old:posix/proc/waitpid@1:error=EINTR",
	"old:libc/mm/malloc@1:error=ENOMEM",
	"new:posix/proc/fork@1:error=EAGAIN",
	"new:libc/mm/malloc@1:error=ENOMEM",
	NULL};

static struct bb_opts with_defaults(const struct bb_opts *in)
{
	struct bb_opts o = *in;

	if (o.upgrades <= 0)
		o.upgrades = 5;
	if (o.concurrency == 0)
		o.concurrency = 8;
	if (o.load_before_ms <= 0)
		o.load_before_ms = 300;
	if (o.load_after_ms <= 0)
		o.load_after_ms = 200;
	if (o.deadline_ms <= 0)
		o.deadline_ms = 5000;
	if (!o.work_dir)
		o.work_dir = "build/faultcheck";
	if (!o.report_dir)
		o.report_dir = "build/reports";
	return o;
}

int bb_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* --- sockets that C5 does not count --- */

/* The master's own sockets, each marked once the kernel's tables show it
 * listening (or on the service port).  Looking up only these few inodes,
 * rather than collecting every socket of the machine, keeps the answer
 * right however many sockets the machine has: a busy loopback holds
 * thousands in TIME_WAIT. */
struct own_sockets {
	unsigned long *inode;
	bool *excluded;
	size_t n;
};

static void mark_inode(struct own_sockets *s, unsigned long ino)
{
	for (size_t i = 0; ino && i < s->n; i++)
		if (s->inode[i] == ino)
			s->excluded[i] = true;
}

/* TCP sockets asked of sock_diag: every one whose local port is PORT
 * (0: any) is marked. */
struct port_filter {
	int port;
	struct own_sockets *set;
};

static void mark_if_port(const struct inet_diag_msg *d, void *arg)
{
	struct port_filter *f = arg;

	if (!f->port || ntohs(d->id.idiag_sport) == f->port)
		mark_inode(f->set, d->idiag_inode);
}

static void tcp_sockets(int family, unsigned states, int port, struct own_sockets *s)
{
	struct port_filter f = {.port = port, .set = s};

	/* a failed dump leaves listeners unmarked: they then count as
	 * leaked fds, a finding one sees, not one that hides */
	(void)sockdiag_tcp(family, states, mark_if_port, &f);
}

/* Unix sockets with __SO_ACCEPTCON (0x10000) in /proc/net/unix. */
static void unix_listeners(struct own_sockets *s)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long flags, ino;

		if (sscanf(line, "%*s %*x %*x %lx %*x %*x %lu", &flags, &ino) == 2 &&
		    (flags & 0x10000))
			mark_inode(s, ino);
	}
	fclose(f);
}

/* What C5 leaves out: every listening socket, and the data plane (TCP
 * connections on the service PORT: a process that serves as well, like
 * HAProxy without a master, holds them for a while). */
static void mark_listeners(struct own_sockets *s, int port)
{
	tcp_sockets(AF_INET, SOCKDIAG_LISTEN, 0, s);
	tcp_sockets(AF_INET6, SOCKDIAG_LISTEN, 0, s);
	tcp_sockets(AF_INET, SOCKDIAG_ANY, port, s);
	tcp_sockets(AF_INET6, SOCKDIAG_ANY, port, s);
	unix_listeners(s);
}

static unsigned long socket_inode(const struct fdutil_entry *e)
{
	unsigned long ino;

	return sscanf(e->target, "socket:[%lu]", &ino) == 1 ? ino : 0;
}

/* The master's fds other than listening sockets and data-plane
 * connections on PORT, malloc'd (*out). */
static size_t master_fds(pid_t master, int port, struct fdutil_entry **out)
{
	struct fdutil_entry *v = NULL;
	struct own_sockets own = {0};
	size_t n = 0, k = 0;

	*out = NULL;
	if (master <= 0 || fdutil_list(master, &v, &n, NULL) != 0)
		return 0;
	own.inode = calloc(n ? n : 1, sizeof *own.inode);
	own.excluded = calloc(n ? n : 1, sizeof *own.excluded);
	if (own.inode && own.excluded) {
		for (size_t i = 0; i < n; i++)
			own.inode[i] = socket_inode(&v[i]);
		own.n = n;
		mark_listeners(&own, port);
	}
	/* out of memory: nothing is excluded, C5 overcounts visibly */
	for (size_t i = 0; i < n; i++)
		if (!own.excluded || !own.excluded[i])
			v[k++] = v[i];
	free(own.inode);
	free(own.excluded);
	*out = v;
	return k;
}

/* The master's fds at rest: a connection the harness just closed (a
 * status probe) may still be open on the daemon's side for a moment, so
 * the fewest of a few samples counts.  *out as in master_fds. */
static size_t steady_fds(pid_t master, int port, size_t at_most,
			 struct fdutil_entry **out)
{
	size_t n = master_fds(master, port, out);

	/* slow builds (coverage, sanitizers) take longer to let go */
	for (int i = 0; i < 8 * scen_time_scale() && n > at_most; i++) {
		struct fdutil_entry *v;
		size_t k;

		proc_sleep_ms(25);
		k = master_fds(master, port, &v);
		if (k < n && v) {
			free(*out);
			*out = v, n = k;
		} else {
			free(v);
		}
	}
	return n;
}

/* --- the fault page (bbfault.h) --- */

struct fault_page {
	struct bbf_page *p;
	char path[400];
	char env_preload[900], env_page[450];
	char *env[3];
};

static int role_code(const char *role)
{
	if (!strcmp(role, "old"))
		return BBF_OLD;
	if (!strcmp(role, "new"))
		return BBF_NEW;
	if (!strcmp(role, "worker"))
		return BBF_WORKER;
	return BBF_ANY;
}

static int check_spec(const struct fp_spec *f, char *why, size_t len)
{
	bool known = false;

	for (size_t i = 0; fp_posix_points[i]; i++)
		known |= strcmp(fp_posix_points[i], f->point) == 0;
	if (!known) {
		snprintf(why, len, "%s is not a libfiu POSIX preload point baton "
			 "injects into a black box (posix/proc/fork, posix/io/rw/write, "
			 "posix/io/rw/read, posix/io/net/sendmsg, posix/io/net/recvmsg, "
			 "posix/proc/waitpid, libc/mm/malloc)", f->point);
		return -1;
	}
	if (f->kind == FP_SHORT) {
		snprintf(why, len, "kind short is not available in a black box "
			 "(use error=ERRNO, hang or crash)");
		return -1;
	}
	return 0;
}

static const char *shim_path(const struct bb_opts *o)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n;

	if (o->shim)
		return o->shim;
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = 0;
	if (strrchr(self, '/'))
		*strrchr(self, '/') = 0;
	snprintf(path, sizeof path, "%s/libbbfault.so", self);
	return path;
}

static int page_open(struct fault_page *fp, const char *dir, const struct fp_spec *f,
		     const char *shim, struct bt_err *err)
{
	struct bbf_spec *s;
	void *map;
	int fd;

	if (access(FIU_PRELOAD, R_OK) != 0)
		return err_set(err, "bb-fault", errno, "%s is missing: install "
			       "fiu-utils (ci/install-deps base)", FIU_PRELOAD);
	if (access(shim, R_OK) != 0)
		return err_set(err, "bb-fault", errno, "the fault shim %s is "
			       "missing: run make", shim);
	snprintf(fp->path, sizeof fp->path, "%s/faults.page", dir);
	fd = open(fp->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof *fp->p) != 0) {
		if (fd >= 0)
			close(fd);
		return err_set(err, "bb-fault", errno, "cannot create %s", fp->path);
	}
	map = mmap(NULL, sizeof *fp->p, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return err_set(err, "bb-fault", errno, "cannot map %s", fp->path);
	fp->p = map;
	fp->p->hang_seconds = 30;
	fp->p->n_specs = 1;
	s = &fp->p->specs[0];
	snprintf(s->point, sizeof s->point, "%s", f->point);
	s->nth = f->nth;
	s->role = role_code(f->role);
	s->kind = f->kind == FP_CRASH ? BBF_CRASH : f->kind == FP_HANG ? BBF_HANG
									: BBF_ERROR;
	s->errnum = f->errnum;
	s->persistent = f->mode == FP_PERSISTENT;
	__atomic_store_n(&fp->p->magic, BBF_MAGIC, __ATOMIC_RELEASE);
	snprintf(fp->env_preload, sizeof fp->env_preload, "LD_PRELOAD=%s %s",
		 FIU_PRELOAD, shim);
	snprintf(fp->env_page, sizeof fp->env_page, "BATON_BB_PAGE=%s", fp->path);
	fp->env[0] = fp->env_preload;
	fp->env[1] = fp->env_page;
	fp->env[2] = NULL;
	return 0;
}

static void page_arm(struct fault_page *fp, pid_t old)
{
	if (!fp->p)
		return;
	__atomic_store_n(&fp->p->old_pid, (int32_t)old, __ATOMIC_RELEASE);
	__atomic_store_n(&fp->p->armed, 1, __ATOMIC_RELEASE);
}

static void page_disarm(struct fault_page *fp)
{
	if (fp->p)
		__atomic_store_n(&fp->p->armed, 0, __ATOMIC_RELEASE);
}

static void page_close(struct fault_page *fp, struct bb_session *s)
{
	if (!fp->p)
		return;
	s->hits = __atomic_load_n(&fp->p->specs[0].hits, __ATOMIC_ACQUIRE);
	s->fired = __atomic_load_n(&fp->p->specs[0].fired, __ATOMIC_ACQUIRE);
	munmap(fp->p, sizeof *fp->p);
	fp->p = NULL;
}

/* --- the load window --- */

/* No load at all when concurrency is 0 (the control window stays empty). */
static void load_start(struct loadgen_window *l, const char *addr, int concurrency)
{
	struct loadgen_opts lo = {
		.address = addr,
		.concurrency = concurrency,
		.timeout_ms = LOADGEN_WINDOW_TIMEOUT_MS,
		.accept_any_200 = true,
	};
	struct bt_err err;

	memset(l, 0, sizeof *l);
	if (concurrency > 0 && loadgen_window_start(l, &lo, &err) != 0)
		snprintf(l->result.first_failure, sizeof l->result.first_failure,
			 "loadgen: %s", err.msg);
}

/* --- one upgrade: settle, observe, judge --- */

struct baseline {
	struct fdutil_entry *fds;
	size_t n;
};

/* Wait until one master with its workers and nothing else is left; give
 * up early when nothing of the daemon is left (no master will come, and
 * the load would only spin on refused connections). */
static void settle(struct target *t, long long until)
{
	struct target_procs tp;
	long long empty_since = 0;

	while (proc_now_ms() < until) {
		if (target_procs(t, &tp) != 0)
			break;
		if (tp.n_masters == 1 && !tp.n_zombies && !tp.n_strays &&
		    tp.n_workers == (size_t)t->workers)
			return;
		if (tp.n_masters || tp.n_workers || tp.n_strays)
			empty_since = 0;
		else if (!empty_since)
			empty_since = proc_now_ms();
		else if (proc_now_ms() - empty_since > 300)
			return;
		proc_sleep_ms(20);
	}
}

static void list_pids(char *buf, size_t len, const pid_t *v, size_t n)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 12 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? " " : "",
					 (int)v[i]);
}

static void describe_pids(char *buf, size_t len, const pid_t *v, size_t n)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 40 < len; i++) {
		struct proc_info pi;
		int k;

		if (proc_info(v[i], &pi) != 0)
			continue;
		k = snprintf(buf + used, len - used, "%s%d (%c, parent %d, \"%.60s\")",
			     used ? ", " : "", (int)v[i], pi.state, (int)pi.ppid, pi.cmdline);
		if (k < 0 || used + (size_t)k >= len)
			break;
		used += (size_t)k;
	}
}

/* fds of the master beyond the baseline's numbers, "5 -> pipe:[12]". */
static void extra_fds(char *buf, size_t len, const struct fdutil_entry *v, size_t n,
		      const struct baseline *b)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 40 < len; i++) {
		bool known = false;
		int k;

		for (size_t j = 0; j < b->n; j++)
			known |= b->fds[j].fd == v[i].fd;
		if (known)
			continue;
		k = snprintf(buf + used, len - used, "%s%d -> %.60s", used ? ", " : "",
			     v[i].fd, v[i].target);
		if (k < 0 || used + (size_t)k >= len)
			break;
		used += (size_t)k;
	}
}

static void judge_c1(const struct bb_upgrade *u, const struct target_procs *tp,
		     struct contract_report *rep)
{
	char pids[200];
	pid_t want = u->tu.upgraded ? u->tu.new_master : u->tu.old_master;

	if (!u->tu.triggered)
		contract_add(rep, "C1", "the upgrade could not be triggered: %s",
			     u->tu.detail);
	else if (u->expect_upgrade && !u->tu.upgraded)
		contract_add(rep, "C1", "no upgrade happened: %s", u->tu.detail);
	if (tp->n_masters != 1) {
		list_pids(pids, sizeof pids, tp->masters, tp->n_masters);
		contract_add(rep, "C1", "%zu masters alive (%s), expected exactly 1",
			     tp->n_masters, pids[0] ? pids : "none");
	} else if (tp->masters[0] != want) {
		contract_add(rep, "C1", "the master is %d, expected %d (the %s one)",
			     (int)tp->masters[0], (int)want,
			     u->tu.upgraded ? "new" : "old");
	}
}

static void judge_c4(const struct bb_upgrade *u, struct contract_report *rep)
{
	const struct loadgen_result *r = &u->load;
	long failed = loadgen_failed(r);

	if (u->loaded && failed > 0)
		contract_add(rep, "C4", "%ld of %ld requests failed (refused %ld, "
			     "reset %ld, timeout %ld, bad %ld); first: %s", failed,
			     r->sent, r->refused, r->reset, r->timeout, r->bad,
			     r->first_failure);
	if (u->inode_before && u->inode_after && u->inode_before != u->inode_after)
		contract_add(rep, "C4", "the listener was re-bound (socket inode %lu "
			     "-> %lu): connections queued on the old one are lost",
			     u->inode_before, u->inode_after);
	if (u->inode_before && !u->inode_after)
		contract_add(rep, "C4", "nothing listens on the port any more");
}

static void judge_c6(const struct target *t, const struct target_procs *tp,
		     struct contract_report *rep)
{
	char who[400];

	if (tp->n_zombies) {
		describe_pids(who, sizeof who, tp->zombies, tp->n_zombies);
		contract_add(rep, "C6", "%zu zombie(s): %s", tp->n_zombies, who);
	}
	if (tp->n_strays) {
		describe_pids(who, sizeof who, tp->strays, tp->n_strays);
		contract_add(rep, "C6", "%zu stray process(es): %s", tp->n_strays, who);
	}
	if (tp->n_workers != (size_t)t->workers) {
		list_pids(who, sizeof who, tp->workers, tp->n_workers);
		contract_add(rep, "C6", "%zu workers alive (%s), expected %d",
			     tp->n_workers, who, t->workers);
	}
}

static void judge_c7(const struct target *t, const struct bb_upgrade *u,
		     struct contract_report *rep)
{
	char residue[400];

	if (u->n_masters == 1 && u->pidfile_pid == -1)
		contract_add(rep, "C7", "the pid file %s is missing, empty or unreadable; "
			     "the live master is %d", t->pidfile, (int)u->master);
	else if (u->n_masters == 1 && u->pidfile_pid != u->master)
		contract_add(rep, "C7", "the pid file %s names %d, the live master is %d",
			     t->pidfile, (int)u->pidfile_pid, (int)u->master);
	t->ops->residue(t, residue, sizeof residue);
	if (residue[0])
		contract_add(rep, "C7", "left behind: %s", residue);
}

static void observe(struct target *t, struct bb_upgrade *u, const struct baseline *b)
{
	struct target_procs tp;
	struct fdutil_entry *fds = NULL;
	char extra[300];
	int count = 0;

	target_procs(t, &tp);
	u->n_masters = tp.n_masters;
	u->master = tp.n_masters == 1 ? tp.masters[0] : -1;
	u->pidfile_pid = t->ops->pidfile_pid(t);
	u->zombies = tp.n_zombies;
	u->strays = tp.n_strays;
	u->workers = tp.n_workers;
	u->inode_after = scen_listen_inode(t->port, &count);
	u->listeners_after = count;
	u->master_fds = steady_fds(u->master, t->port, b->n, &fds);
	u->fd_growth = (long)u->master_fds - (long)b->n;
	judge_c1(u, &tp, &u->rep);
	judge_c4(u, &u->rep);
	if (u->master > 0 && u->fd_growth > 0) {
		extra_fds(extra, sizeof extra, fds, u->master_fds, b);
		contract_add(&u->rep, "C5", "the master %d has %zu fds besides its "
			     "listeners, %ld more than the first master: %s",
			     (int)u->master, u->master_fds, u->fd_growth,
			     extra[0] ? extra : "(renumbered)");
	}
	free(fds);
	judge_c6(t, &tp, &u->rep);
	judge_c7(t, u, &u->rep);
	/* the daemon's own time: what the harness waits for afterwards (a
	 * worker that never comes) is judged by the other clauses */
	if (u->tu.total_ms > t->o.deadline_ms)
		contract_add(&u->rep, "C8", "the upgrade took %lld ms from the trigger "
			     "to the old generation gone, the bound is %d ms",
			     u->tu.total_ms, t->o.deadline_ms);
	if (u->n_masters == 1)
		t->master = u->master;
}

static void one_upgrade(struct target *t, const struct bb_opts *o,
			struct fault_page *fp, struct bb_upgrade *u,
			const struct baseline *b)
{
	struct loadgen_window l;
	long long t0;
	int count;

	u->inode_before = scen_listen_inode(t->port, &count);
	load_start(&l, t->listen_addr, o->concurrency);
	u->loaded = l.running;
	proc_sleep_ms(o->load_before_ms);
	if (u->faulted)
		page_arm(fp, t->master);
	t0 = proc_now_ms();
	target_upgrade(t, &u->tu);
	settle(t, t0 + o->deadline_ms + 500);
	u->ms = proc_now_ms() - t0;
	if (u->faulted)
		page_disarm(fp);
	proc_sleep_ms(o->load_after_ms);
	loadgen_window_stop(&l);
	u->load = l.result;
	observe(t, u, b);
}

/* --- a session --- */

/* Load without an upgrade: the control window of a clean session (what
 * the load alone does here), a short warm-up for a fault session.  Either
 * way the daemon has served before its fds are taken as the baseline
 * (HAProxy opens a pipe pair only once it runs). */
static void warm_up(struct target *t, const struct bb_opts *o, struct bb_session *s,
		    bool control)
{
	struct loadgen_window l;

	load_start(&l, t->listen_addr, o->concurrency);
	proc_sleep_ms(control ? o->load_before_ms + o->load_after_ms + 100 : 200);
	if (!l.running)
		return;
	loadgen_window_stop(&l);
	if (control) {
		s->control = l.result;
		s->has_control = true;
	}
}

static void stop_and_judge(struct target *t, struct bb_session *s)
{
	char residue[400];

	target_stop(t);
	if (t->ops->removes_pidfile && access(t->pidfile, F_OK) == 0)
		contract_add(&s->stop_rep, "C7", "after %s stopped, its pid file %s "
			     "is still there (names %d)", t->ops->name, t->pidfile,
			     (int)target_read_pid(t->pidfile));
	t->ops->residue(t, residue, sizeof residue);
	if (residue[0])
		contract_add(&s->stop_rep, "C7", "after %s stopped, left behind: %s",
			     t->ops->name, residue);
}

static void session_names(const struct bb_opts *o, const struct target_ops *ops,
			  const struct fp_spec *fault, struct bb_session *s)
{
	static int seq;

	if (fault) {
		fp_spec_format(fault, s->spec, sizeof s->spec);
		snprintf(s->name, sizeof s->name, "fault-%02d", ++seq);
	} else {
		snprintf(s->name, sizeof s->name, "clean");
	}
	snprintf(s->dir, sizeof s->dir, "%s/bb-%s/%s", o->work_dir, ops->name, s->name);
}

static int session_setup(const struct bb_opts *o, const struct target_ops *ops,
			 struct bb_session *s, struct fault_page *fp,
			 struct target_opts *to, struct bt_err *err)
{
	char abs[PATH_MAX];

	proc_rm_tree(s->dir);
	if (target_mkdir(s->dir, err))
		return -1;
	if (!realpath(s->dir, abs))
		return err_set(err, "bb-session", errno, "realpath %s", s->dir);
	snprintf(s->dir, sizeof s->dir, "%s", abs);
	memset(to, 0, sizeof *to);
	to->dir = s->dir;
	to->binary = ops == &target_reference ? NULL : o->binary;
	to->batond = o->batond;
	to->relative_argv0 = o->relative_argv0;
	to->deadline_ms = o->deadline_ms;
	if (s->has_fault) {
		if (page_open(fp, s->dir, &s->fault, shim_path(o), err))
			return -1;
		to->env = fp->env;
	}
	return 0;
}

static int run_session(const struct bb_opts *in, const struct target_ops *ops,
		       const struct fp_spec *fault, int n_up, struct bb_session *s)
{
	struct bb_opts o = with_defaults(in);
	struct fault_page fp = {0};
	struct target_opts to;
	struct target t;
	struct baseline b = {0};
	struct bt_err err = {0};
	long long t0 = proc_now_ms();

	memset(s, 0, sizeof *s);
	s->has_fault = fault != NULL;
	if (fault)
		s->fault = *fault;
	session_names(&o, ops, fault, s);
	s->n_up = n_up;
	s->up = calloc((size_t)s->n_up, sizeof *s->up);
	if (!s->up || session_setup(&o, ops, s, &fp, &to, &err) ||
	    target_start(&t, ops, &to, &err)) {
		snprintf(s->error, sizeof s->error, "%s", s->up ? err.msg : "out of memory");
		page_close(&fp, s);
		s->n_up = 0;
		return -1;
	}
	warm_up(&t, &o, s, !fault);
	b.n = steady_fds(t.master, t.port, 0, &b.fds);
	s->baseline_fds = b.n;
	for (int i = 0; i < s->n_up; i++) {
		struct bb_upgrade *u = &s->up[i];

		u->n = i + 1;
		u->faulted = fault && i == 0;
		u->expect_upgrade = !u->faulted;
		one_upgrade(&t, &o, &fp, u, &b);
		if (u->n_masters == 0) {
			s->n_up = i + 1;	/* nothing left to upgrade */
			break;
		}
	}
	stop_and_judge(&t, s);
	page_close(&fp, s);
	free(b.fds);
	s->ran = true;
	s->wall_ms = proc_now_ms() - t0;
	return 0;
}

int bb_run_session(const struct bb_opts *o, const struct target_ops *ops,
		   const struct fp_spec *fault, struct bb_session *s)
{
	return run_session(o, ops, fault, fault ? 2 : with_defaults(o).upgrades, s);
}

/* A fault the daemon rolled back leaves its old master in charge; the
 * recovery upgrade then hides what that master does when it stops (nginx
 * forgets its pid file there).  So the fault runs once more, with the
 * stop right after it, and that stop is judged too. */
static void stop_after_fault(const struct bb_opts *o, const struct target_ops *ops,
			     struct bb_session *s)
{
	struct bb_session again;

	if (!s->ran || !s->n_up || s->up[0].tu.upgraded || s->up[0].n_masters != 1)
		return;
	if (run_session(o, ops, &s->fault, 1, &again) == 0) {
		for (size_t i = 0; i < again.stop_rep.n; i++)
			contract_add(&s->stop_rep, again.stop_rep.v[i].clause,
				     "stopped right after the fault: %s",
				     again.stop_rep.v[i].reason);
		if (!o->keep && !o->repro && !again.stop_rep.n)
			proc_rm_tree(again.dir);
	}
	bb_session_free(&again);
}

void bb_session_free(struct bb_session *s)
{
	free(s->up);
	s->up = NULL;
	s->n_up = 0;
}

size_t bb_session_violations(const struct bb_session *s)
{
	size_t n = s->stop_rep.n;

	for (int i = 0; i < s->n_up; i++)
		n += s->up[i].rep.n;
	return n;
}

long bb_session_failed(const struct bb_session *s)
{
	long n = 0;

	for (int i = 0; i < s->n_up; i++)
		n += loadgen_failed(&s->up[i].load);
	return n;
}

const char *bb_outcome(const struct bb_upgrade *u)
{
	if (!u->tu.triggered)
		return "not triggered";
	if (u->n_masters == 0)
		return "down";
	if (u->n_masters > 1)
		return "split";
	return u->tu.upgraded ? "upgraded" : "rolled back";
}

/* --- the run: sessions, report, table --- */

struct run {
	struct bb_opts o;
	const struct target_ops *ops;
	char version[200];
	int migrate_req, somaxconn;
	struct bb_session clean;
	bool have_clean;
	struct bb_session *faults;
	size_t n_faults;
	long long wall_ms;
};

static json_t *violations_json(const struct contract_report *rep)
{
	json_t *a = json_array();

	for (size_t i = 0; i < rep->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "clause", rep->v[i].clause,
						   "reason", rep->v[i].reason));
	return a;
}

static json_t *load_json(const struct loadgen_result *r)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			 "sent", (json_int_t)r->sent, "ok", (json_int_t)r->ok,
			 "failed", (json_int_t)loadgen_failed(r),
			 "refused", (json_int_t)r->refused, "reset", (json_int_t)r->reset,
			 "timeout", (json_int_t)r->timeout, "bad", (json_int_t)r->bad,
			 "elapsed_ms", (json_int_t)r->elapsed_ms,
			 "max_latency_ms", (json_int_t)r->max_latency_ms,
			 "first_failure", r->first_failure);
}

static const char *listener_word(const struct bb_upgrade *u)
{
	if (!u->inode_after)
		return "none";
	return u->inode_before == u->inode_after ? "kept" : "new";
}

static json_t *upgrade_json(const struct bb_upgrade *u)
{
	json_t *j = json_pack("{s:i, s:b, s:s, s:b, s:b, s:i, s:i, s:i, s:I, s:I, s:s}",
			      "n", u->n, "faulted", u->faulted, "outcome", bb_outcome(u),
			      "triggered", u->tu.triggered, "upgraded", u->tu.upgraded,
			      "old_master", (int)u->tu.old_master,
			      "new_master", (int)u->tu.new_master, "master_after", (int)u->master,
			      "ready_ms", (json_int_t)u->tu.ready_ms, "ms", (json_int_t)u->ms,
			      "detail", u->tu.detail);

	json_object_set_new(j, "listener", json_pack("{s:s, s:I, s:I, s:i}",
		"socket", listener_word(u), "inode_before", (json_int_t)u->inode_before,
		"inode_after", (json_int_t)u->inode_after, "listening", u->listeners_after));
	json_object_set_new(j, "load", u->loaded ? load_json(&u->load) : json_null());
	json_object_set_new(j, "master_fds", json_integer((json_int_t)u->master_fds));
	json_object_set_new(j, "fd_growth", json_integer(u->fd_growth));
	json_object_set_new(j, "zombies", json_integer((json_int_t)u->zombies));
	json_object_set_new(j, "strays", json_integer((json_int_t)u->strays));
	json_object_set_new(j, "workers", json_integer((json_int_t)u->workers));
	json_object_set_new(j, "pidfile_pid", json_integer(u->pidfile_pid));
	json_object_set_new(j, "violations", violations_json(&u->rep));
	return j;
}

struct totals {
	long sent, failed, refused, reset, timeout, bad;
	long long load_ms, ms_sum, ms_max;
	long fd_growth_max;
	size_t zombies, upgraded, kept, rebound, violations;
};

static void add_totals(struct totals *t, const struct bb_session *s)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < s->n_up; i++) {
		const struct bb_upgrade *u = &s->up[i];

		t->sent += u->load.sent;
		t->failed += loadgen_failed(&u->load);
		t->refused += u->load.refused;
		t->reset += u->load.reset;
		t->timeout += u->load.timeout;
		t->bad += u->load.bad;
		t->load_ms += u->load.elapsed_ms;
		t->ms_sum += u->ms;
		t->ms_max = u->ms > t->ms_max ? u->ms : t->ms_max;
		t->fd_growth_max = u->fd_growth > t->fd_growth_max ? u->fd_growth
								   : t->fd_growth_max;
		t->zombies += u->zombies;
		t->upgraded += u->tu.upgraded;
		t->kept += u->inode_after && u->inode_before == u->inode_after;
		t->rebound += u->inode_after && u->inode_before != u->inode_after;
	}
	t->violations = bb_session_violations(s);
}

/* clean, fail, or inconclusive: zero failures under tcp_migrate_req=1, or
 * a control window that failed on its own, prove nothing. */
static const char *session_verdict(const struct run *r, const struct bb_session *s)
{
	struct totals t;

	if (!s->ran)
		return "error";
	add_totals(&t, s);
	if (t.violations)
		return "fail";
	if (s->has_control && loadgen_failed(&s->control) > 0)
		return "inconclusive";
	if (r->migrate_req == 1 && t.sent > 0)
		return "inconclusive";
	return "clean";
}

static json_t *summary_json(const struct run *r, const struct bb_session *s)
{
	struct totals t;
	json_t *per = json_array();

	add_totals(&t, s);
	for (int i = 0; i < s->n_up; i++)
		json_array_append_new(per, json_integer(loadgen_failed(&s->up[i].load)));
	return json_pack("{s:i, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:o, s:f, s:f, "
			 "s:i, s:I, s:I, s:f, s:I, s:I, s:I, s:s}",
			 "upgrades", s->n_up, "upgraded", (json_int_t)t.upgraded,
			 "requests", (json_int_t)t.sent, "failed", (json_int_t)t.failed,
			 "failed_by_class", "refused", (json_int_t)t.refused,
			 "reset", (json_int_t)t.reset, "timeout", (json_int_t)t.timeout,
			 "bad", (json_int_t)t.bad, "failed_per_upgrade", per,
			 "failed_per_upgrade_mean", s->n_up ? (double)t.failed / s->n_up : 0.0,
			 "connections_per_s", t.load_ms ? t.sent * 1000.0 / (double)t.load_ms : 0.0,
			 "concurrency", r->o.concurrency > 0 ? r->o.concurrency : 0,
			 "fd_growth_max", (json_int_t)t.fd_growth_max,
			 "zombies", (json_int_t)t.zombies,
			 "ms_per_upgrade_mean", s->n_up ? (double)t.ms_sum / s->n_up : 0.0,
			 "ms_per_upgrade_max", (json_int_t)t.ms_max,
			 "listener_kept", (json_int_t)t.kept,
			 "listener_rebound", (json_int_t)t.rebound,
			 "verdict", session_verdict(r, s));
}

static json_t *session_json(const struct run *r, const struct bb_session *s)
{
	json_t *ups = json_array();
	json_t *j = json_pack("{s:s, s:s, s:b, s:s, s:I}", "name", s->name, "dir", s->dir,
			      "ran", s->ran, "error", s->error, "wall_ms",
			      (json_int_t)s->wall_ms);

	for (int i = 0; i < s->n_up; i++)
		json_array_append_new(ups, upgrade_json(&s->up[i]));
	json_object_set_new(j, "control", s->has_control ? load_json(&s->control)
							  : json_null());
	json_object_set_new(j, "summary", summary_json(r, s));
	json_object_set_new(j, "upgrades", ups);
	json_object_set_new(j, "after_stop", violations_json(&s->stop_rep));
	return j;
}

static void repro_line(const struct run *r, const struct bb_session *s, char *buf,
		       size_t len)
{
	snprintf(buf, len, "make repro TARGET=%s FAULT='%s'", r->ops->name, s->spec);
}

static const char *fault_status(const struct run *r, const struct bb_session *s)
{
	if (!s->ran)
		return "error";
	if (!s->fired)
		return "not fired";
	return bb_session_violations(s) ? "fail" : session_verdict(r, s);
}

static json_t *fault_json(const struct run *r, const struct bb_session *s)
{
	char repro[300];
	json_t *j = session_json(r, s);

	repro_line(r, s, repro, sizeof repro);
	json_object_set_new(j, "spec", json_string(s->spec));
	json_object_set_new(j, "hits", json_integer(s->hits));
	json_object_set_new(j, "fired", json_integer(s->fired));
	json_object_set_new(j, "outcome", json_string(s->n_up ? bb_outcome(&s->up[0])
							      : "error"));
	json_object_set_new(j, "next_upgrade", json_string(s->n_up > 1
		? bb_outcome(&s->up[1]) : "-"));
	json_object_set_new(j, "status", json_string(fault_status(r, s)));
	json_object_set_new(j, "repro", json_string(repro));
	return j;
}

static void write_json(const struct run *r, const char *skipped)
{
	char path[600];
	json_t *faults = json_array(), *root;

	for (size_t i = 0; i < r->n_faults; i++)
		json_array_append_new(faults, fault_json(r, &r->faults[i]));
	root = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:{s:i, s:i, s:i}, "
			 "s:{s:i, s:i, s:i, s:i, s:i}, s:I}",
			 "target", r->ops->name, "describe", r->ops->describe,
			 "binary", target_binary(r->ops, r->o.binary)
			 ? target_binary(r->ops, r->o.binary) : "batond",
			 "version", r->version, "skipped", skipped != NULL,
			 "skip_reason", skipped ? skipped : "",
			 "machine", "tcp_migrate_req", r->migrate_req, "somaxconn",
			 r->somaxconn, "cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "settings", "upgrades", r->o.upgrades, "concurrency",
			 r->o.concurrency > 0 ? r->o.concurrency : 0, "load_before_ms",
			 r->o.load_before_ms, "load_after_ms", r->o.load_after_ms,
			 "deadline_ms", r->o.deadline_ms, "wall_ms", (json_int_t)r->wall_ms);
	json_object_set_new(root, "clean", r->have_clean ? session_json(r, &r->clean)
							  : json_null());
	json_object_set_new(root, "faults", faults);
	target_mkdir(r->o.report_dir, NULL);
	snprintf(path, sizeof path, "%s/faultcheck-%s.json", r->o.report_dir, r->ops->name);
	if (json_dump_file(root, path, JSON_INDENT(1)) != 0)
		fprintf(stderr, "faultcheck: cannot write %s: %s\n", path, strerror(errno));
	json_decref(root);
}

/* --- the terminal table (markdown, so it pastes into a README) --- */

static void print_violations(const struct bb_session *s, const char *indent)
{
	for (int i = 0; i < s->n_up; i++)
		for (size_t k = 0; k < s->up[i].rep.n; k++)
			printf("%supgrade %d %s: %s\n", indent, s->up[i].n,
			       s->up[i].rep.v[k].clause, s->up[i].rep.v[k].reason);
	for (size_t k = 0; k < s->stop_rep.n; k++)
		printf("%sstop %s: %s\n", indent, s->stop_rep.v[k].clause,
		       s->stop_rep.v[k].reason);
}

static void clauses_of(const struct contract_report *rep, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < rep->n && used + 5 < len; i++)
		if (!strstr(buf, rep->v[i].clause))
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 used ? " " : "", rep->v[i].clause);
	if (!used)
		snprintf(buf, len, "-");
}

static void print_upgrade_rows(const struct bb_session *s)
{
	char cl[64];

	printf("| # | outcome | ms | requests | failed | refused | reset | timeout "
	       "| bad | listener | master fds | zombies | clauses |\n"
	       "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|\n");
	if (s->has_control)
		printf("| control | no upgrade | - | %ld | %ld | %ld | %ld | %ld | %ld "
		       "| - | %zu | - | - |\n", s->control.sent,
		       loadgen_failed(&s->control), s->control.refused, s->control.reset,
		       s->control.timeout, s->control.bad, s->baseline_fds);
	for (int i = 0; i < s->n_up; i++) {
		const struct bb_upgrade *u = &s->up[i];

		clauses_of(&u->rep, cl, sizeof cl);
		printf("| %d | %s | %lld | %ld | %ld | %ld | %ld | %ld | %ld | %s | "
		       "%zu (%+ld) | %zu | %s |\n", u->n, bb_outcome(u), u->ms,
		       u->load.sent, loadgen_failed(&u->load), u->load.refused,
		       u->load.reset, u->load.timeout, u->load.bad, listener_word(u),
		       u->master_fds, u->fd_growth, u->zombies, cl);
	}
}

static void print_clean(const struct run *r)
{
	const struct bb_session *s = &r->clean;
	struct totals t;

	if (!s->ran) {
		printf("clean session: setup failed: %s\n", s->error);
		return;
	}
	add_totals(&t, s);
	print_upgrade_rows(s);
	printf("\n%d upgrades, %zu upgraded; %ld requests, %ld failed (refused %ld, "
	       "reset %ld, timeout %ld, bad %ld), %.1f per upgrade; %.0f connections/s "
	       "at concurrency %d; listener kept %zu, re-bound %zu; master fd growth "
	       "%ld; zombies %zu; %.0f ms per upgrade (max %lld)\n", s->n_up,
	       t.upgraded, t.sent, t.failed, t.refused, t.reset, t.timeout, t.bad,
	       s->n_up ? (double)t.failed / s->n_up : 0.0,
	       t.load_ms ? t.sent * 1000.0 / (double)t.load_ms : 0.0,
	       r->o.concurrency > 0 ? r->o.concurrency : 0, t.kept, t.rebound,
	       t.fd_growth_max, t.zombies, s->n_up ? (double)t.ms_sum / s->n_up : 0.0,
	       t.ms_max);
	print_violations(s, "  ");
}

static void print_faults(const struct run *r)
{
	char cl[64], cl2[64];

	if (!r->n_faults)
		return;
	printf("\n| fault | fired/calls | outcome | failed | next upgrade | clauses | status |\n"
	       "|---|---:|---|---:|---|---|---|\n");
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct bb_session *s = &r->faults[i];
		struct contract_report all = s->stop_rep;

		for (int k = 0; k < s->n_up; k++)
			for (size_t m = 0; m < s->up[k].rep.n; m++)
				if (all.n < CONTRACT_MAX_VIOLATIONS)
					all.v[all.n++] = s->up[k].rep.v[m];
		clauses_of(&all, cl, sizeof cl);
		snprintf(cl2, sizeof cl2, "%u/%u", s->fired, s->hits);
		printf("| `%s` | %s | %s | %ld | %s | %s | %s |\n", s->spec, cl2,
		       s->n_up ? bb_outcome(&s->up[0]) : "-", bb_session_failed(s),
		       s->n_up > 1 ? bb_outcome(&s->up[1]) : "-", cl,
		       s->ran ? fault_status(r, s) : s->error);
	}
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct bb_session *s = &r->faults[i];
		char repro[300];

		if (!bb_session_violations(s) && !r->o.verbose)
			continue;
		repro_line(r, s, repro, sizeof repro);
		printf("%s  (%s; %s)\n", s->spec, s->n_up ? s->up[0].tu.detail : s->error,
		       repro);
		print_violations(s, "    ");
	}
}

/* --- main --- */

static int parse_faults(struct run *r, struct fp_spec **out, size_t *n)
{
	const char *list = r->o.repro ? r->o.repro : r->o.faults;
	struct fp_spec *v = calloc(FP_SPECS_MAX, sizeof *v);
	struct bt_err err;
	size_t k = 0;
	char why[400];

	*out = v;
	*n = 0;
	if (!v)
		return -1;
	if (list && (!strcmp(list, "none") || !*list))
		return 0;
	if (list && fp_spec_parse_list(list, v, FP_SPECS_MAX, &k, &err)) {
		fprintf(stderr, "faultcheck: %s\n", err.msg);
		return -1;
	}
	for (size_t i = 0; !list && default_faults[i]; i++)
		if ((!r->o.only || fnmatch(r->o.only, default_faults[i], 0) == 0) &&
		    fp_spec_parse(default_faults[i], &v[k], NULL) == 0)
			k++;
	for (size_t i = 0; i < k; i++) {
		if (check_spec(&v[i], why, sizeof why)) {
			fprintf(stderr, "faultcheck: fault %zu: %s\n", i + 1, why);
			return -1;
		}
	}
	*n = k;
	return 0;
}

static void progress(const struct run *r, const struct bb_session *s)
{
	if (r->o.quiet)
		return;
	fprintf(stderr, "%s %-40s %s in %.1f s%s%s\n", r->ops->name,
		s->has_fault ? s->spec : "clean upgrades",
		s->has_fault ? fault_status(r, s) : session_verdict(r, s),
		(double)s->wall_ms / 1000.0, s->ran ? "" : ": ", s->ran ? "" : s->error);
}

static void finish_session(const struct run *r, const struct bb_session *s)
{
	progress(r, s);
	if (s->ran && !r->o.keep && !r->o.repro && !bb_session_violations(s))
		proc_rm_tree(s->dir);
}

static int run_sessions(struct run *r, const struct fp_spec *specs, size_t n)
{
	if (!r->o.repro) {
		bb_run_session(&r->o, r->ops, NULL, &r->clean);
		r->have_clean = true;
		finish_session(r, &r->clean);
	}
	r->faults = calloc(n ? n : 1, sizeof *r->faults);
	if (!r->faults)
		return -1;
	for (size_t i = 0; i < n; i++) {
		bb_run_session(&r->o, r->ops, &specs[i], &r->faults[i]);
		stop_after_fault(&r->o, r->ops, &r->faults[i]);
		r->n_faults++;
		finish_session(r, &r->faults[i]);
	}
	return 0;
}

static int exit_status(const struct run *r)
{
	size_t fired = 0;

	if (r->have_clean && (!r->clean.ran || bb_session_violations(&r->clean)))
		return 1;
	for (size_t i = 0; i < r->n_faults; i++) {
		if (!r->faults[i].ran)
			return 2;
		if (bb_session_violations(&r->faults[i]))
			return 1;
		fired += r->faults[i].fired > 0;
	}
	/* not one fault fired: the preload did not reach the daemon */
	if (r->n_faults > 1 && fired == 0)
		return 1;
	return 0;
}

static void print_header(const struct run *r)
{
	printf("\n## faultcheck --target %s: %s\n%s; net.ipv4.tcp_migrate_req=%d, "
	       "net.core.somaxconn=%d; concurrency %d, window %d+%d ms around each "
	       "upgrade\n\n", r->ops->name, r->ops->describe, r->version,
	       r->migrate_req, r->somaxconn, r->o.concurrency > 0 ? r->o.concurrency : 0,
	       r->o.load_before_ms, r->o.load_after_ms);
}

static void print_all(const struct run *r, int status)
{
	if (r->o.quiet)
		return;
	print_header(r);
	if (r->have_clean)
		print_clean(r);
	print_faults(r);
	if (r->o.repro && r->n_faults)
		printf("artifacts kept in %s (config, daemon log, fault page)\n",
		       r->faults[0].dir);
	printf("\nverdict: %s; report %s/faultcheck-%s.json; %.1f s\n",
	       status ? "FAIL" : r->have_clean && !strcmp(session_verdict(r, &r->clean),
							"inconclusive")
				 ? "INCONCLUSIVE (0 failures prove nothing here)" : "PASS",
	       r->o.report_dir, r->ops->name, (double)r->wall_ms / 1000.0);
}

static void free_run(struct run *r)
{
	bb_session_free(&r->clean);
	for (size_t i = 0; i < r->n_faults; i++)
		bb_session_free(&r->faults[i]);
	free(r->faults);
}

static int skipped(struct run *r, const char *why)
{
	printf("faultcheck --target %s: SKIPPED: %s\n", r->ops->name, why);
	write_json(r, why);
	return BB_EXIT_SKIPPED;
}

int blackbox_main(const struct bb_opts *in)
{
	struct run r = {.o = with_defaults(in)};
	struct fp_spec *specs = NULL;
	struct bt_err err;
	char why[400];
	size_t n = 0;
	long long t0 = proc_now_ms();
	int status;

	r.ops = target_find(r.o.target ? r.o.target : "reference");
	if (!r.ops) {
		fprintf(stderr, "faultcheck: unknown target \"%s\" (known: %s)\n",
			r.o.target, target_names());
		return 2;
	}
	r.migrate_req = bb_sysctl("/proc/sys/net/ipv4/tcp_migrate_req");
	r.somaxconn = bb_sysctl("/proc/sys/net/core/somaxconn");
	if (target_available(r.ops, r.ops == &target_reference ? r.o.batond : r.o.binary,
			     why, sizeof why))
		return skipped(&r, why);
	target_version(r.ops, r.o.binary, r.version, sizeof r.version);
	if (parse_faults(&r, &specs, &n)) {
		free(specs);
		return 2;
	}
	if (n && r.ops == &target_reference) {
		fprintf(stderr, "faultcheck: batond's faults go through the campaign "
			"(make faultcheck, make repro FAULT=...), not the black box\n");
		free(specs);
		return 2;
	}
	if (proc_become_subreaper(&err)) {
		fprintf(stderr, "faultcheck: %s\n", err.msg);
		free(specs);
		return 2;
	}
	status = run_sessions(&r, specs, n) ? 2 : exit_status(&r);
	r.wall_ms = proc_now_ms() - t0;
	write_json(&r, NULL);
	print_all(&r, status);
	free_run(&r);
	free(specs);
	return status;
}
