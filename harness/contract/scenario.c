/* scenario: see scenario.h. */
#include "contract/scenario.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ctlc.h"
#include "pidfile.h"
#include "lib/proc.h"
#include "lib/sockdiag.h"
#include "lib/timeline.h"
#include "state_json.h"

#define FIU_PRELOAD "/usr/lib/fiu/fiu_posix_preload.so"

int scen_time_scale(void)
{
	const char *v = getenv("BATON_TIME_SCALE");
	int k = v ? atoi(v) : 1;

	return k >= 1 && k <= 100 ? k : 1;
}

static void log_tail(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	char buf[4096];
	size_t n;

	out[0] = 0;
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	if (ftell(f) > (long)sizeof buf - 1)
		fseek(f, -(long)(sizeof buf - 1), SEEK_END);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	snprintf(out, len, "%s", n > len - 1 ? buf + n - (len - 1) : buf);
}

static void fill_paths(struct scen *s)
{
	snprintf(s->run_dir, sizeof s->run_dir, "%s/run", s->o.dir);
	snprintf(s->sock, sizeof s->sock, "%s/baton.sock", s->run_dir);
	snprintf(s->pidfile, sizeof s->pidfile, "%s/baton.pid", s->run_dir);
	snprintf(s->log, sizeof s->log, "%s/batond.log", s->o.dir);
	snprintf(s->trace, sizeof s->trace, "%s/trace", s->o.dir);
	snprintf(s->forkalloc_log, sizeof s->forkalloc_log, "%s/forkalloc.log", s->o.dir);
}

static int spawn_master(struct scen *s, struct bt_err *err)
{
	char workers[16], timeout[16], notify[300], faults[1200], trace[300],
		hang[48], preload[300], falog[300], faonly[4200];
	char **argv = calloc(48 + 2 * (size_t)s->o.listeners, sizeof *argv);
	char wrapper[1024];
	char *env[16];
	static char *const unset[] = {"BATON_FAULTS", "BATON_FAULT_TRACE", "LD_PRELOAD",
				      "NOTIFY_SOCKET", "BATON_HANG_SECONDS",
				      "BATON_FORKALLOC_LOG", "BATON_FORKALLOC_ONLY", NULL};
	struct proc_spawn ps = {.env_set = env, .env_unset = unset,
				.log_path = s->log};
	const char *addr = s->o.ipv6 ? "[::1]:0" : "127.0.0.1:0";
	int a = 0, e = 0;
	pid_t pid;

	snprintf(workers, sizeof workers, "%d", s->o.workers);
	snprintf(timeout, sizeof timeout, "%d", s->o.upgrade_timeout_ms);
	/* BATON_WRAPPER (memcheck: "valgrind --trace-children=yes ...")
	 * runs batond under another program; words split on spaces */
	if (getenv("BATON_WRAPPER") && *getenv("BATON_WRAPPER")) {
		snprintf(wrapper, sizeof wrapper, "%s", getenv("BATON_WRAPPER"));
		for (char *w = strtok(wrapper, " "); w && a < 32; w = strtok(NULL, " "))
			argv[a++] = w;
	}
	argv[a++] = (char *)s->o.batond;
	argv[a++] = "start";
	argv[a++] = "--runtime-dir";
	argv[a++] = s->run_dir;
	argv[a++] = "--workers";
	argv[a++] = workers;
	argv[a++] = "--upgrade-timeout";
	argv[a++] = timeout;
	if (!argv)
		return err_set(err, "scenario", ENOMEM, "out of memory");
	for (int i = 0; i < s->o.listeners; i++) {
		argv[a++] = "--listen";
		argv[a++] = (char *)addr;
	}
	argv[a] = NULL;
	snprintf(notify, sizeof notify, "NOTIFY_SOCKET=%s", s->notify.path);
	env[e++] = notify;
	snprintf(hang, sizeof hang, "BATON_HANG_SECONDS=%d", s->o.hang_seconds);
	env[e++] = hang;
	if (s->o.faults) {
		snprintf(faults, sizeof faults, "BATON_FAULTS=%s", s->o.faults);
		env[e++] = faults;
	}
	if (s->o.trace) {
		snprintf(trace, sizeof trace, "BATON_FAULT_TRACE=%s", s->trace);
		env[e++] = trace;
	}
	if (s->o.preload) {
		snprintf(preload, sizeof preload, "LD_PRELOAD=%s", FIU_PRELOAD);
		env[e++] = preload;
	} else if (s->o.forkalloc_shim) {
		snprintf(preload, sizeof preload, "LD_PRELOAD=%s", s->o.forkalloc_shim);
		env[e++] = preload;
		snprintf(falog, sizeof falog, "BATON_FORKALLOC_LOG=%s", s->forkalloc_log);
		env[e++] = falog;
		snprintf(faonly, sizeof faonly, "BATON_FORKALLOC_ONLY=%s", s->o.batond);
		env[e++] = faonly;
	}
	for (size_t i = 0; s->o.extra_env && s->o.extra_env[i] && e < 15; i++)
		env[e++] = s->o.extra_env[i];
	env[e] = NULL;
	ps.argv = argv;
	pid = proc_spawn(&ps, err);
	free(argv);
	if (pid < 0)
		return -1;
	s->first_master = pid;
	return 0;
}

static int wait_serving(struct scen *s, struct bt_err *err)
{
	long long deadline = proc_now_ms() + 10000LL * scen_time_scale();
	char tail[600];

	while (proc_now_ms() < deadline) {
		json_t *st = NULL;
		pid_t pid = ctlc_status(s->sock, 500, &st);

		if (pid == s->first_master) {
			json_t *ls = json_object_get(json_object_get(json_object_get(
							     st, "state"), "config"), "listeners");
			const char *a = json_string_value(
				json_object_get(json_array_get(ls, 0), "address"));

			snprintf(s->listen_addr, sizeof s->listen_addr, "%s", a ? a : "");
			json_decref(st);
			return 0;
		}
		json_decref(st);
		if (!proc_alive(s->first_master))
			break;
		proc_sleep_ms(10);
	}
	log_tail(s->log, tail, sizeof tail);
	return err_set(err, "scenario", ETIMEDOUT,
		       "batond start (pid %d) did not serve %s; log: %s",
		       (int)s->first_master, s->sock, tail);
}

int scen_start(struct scen *s, const struct scen_opts *o, struct bt_err *err)
{
	char path[300];

	memset(s, 0, sizeof *s);
	s->o = *o;
	if (!s->o.workers)
		s->o.workers = 2;
	if (!s->o.listeners)
		s->o.listeners = 1;
	if (!s->o.upgrade_timeout_ms)
		s->o.upgrade_timeout_ms = 2000;
	/* slow runs (valgrind, coverage) stretch every deadline alike */
	s->o.upgrade_timeout_ms *= scen_time_scale();
	if (!s->o.hang_seconds)
		s->o.hang_seconds = 30;
	s->root = getpid();
	s->notify.fd = -1;
	fill_paths(s);
	if (proc_mkdir_p(o->dir))
		return err_set(err, "scenario", errno, "cannot create %s", o->dir);
	proc_rm_tree(s->run_dir);
	unlink(s->log);
	unlink(s->trace);
	unlink(s->forkalloc_log);
	snprintf(path, sizeof path, "%s/notify.sock", o->dir);
	if (notifyrec_open(&s->notify, path, err))
		return -1;
	if (spawn_master(s, err) || wait_serving(s, err)) {
		scen_stop(s);
		return -1;
	}
	notifyrec_drain(&s->notify);
	return 0;
}

/* Listeners on the ports asked for, as sock_diag sees them. */
struct port_count {
	const int *ports;
	size_t n;
	unsigned long *inode;
	int *count;
};

static void count_listener(const struct inet_diag_msg *d, void *arg)
{
	struct port_count *pc = arg;

	for (size_t i = 0; i < pc->n; i++) {
		if (pc->ports[i] == ntohs(d->id.idiag_sport)) {
			pc->count[i]++;
			pc->inode[i] = d->idiag_inode;
		}
	}
}

void scen_listen_inodes(const int *ports, size_t n, unsigned long *inode,
			int *count)
{
	for (size_t i = 0; i < n; i++) {
		inode[i] = 0;
		count[i] = 0;
	}
	struct port_count pc = {.ports = ports, .n = n, .inode = inode,
				.count = count};

	/* a failed dump counts no listener: C4 then fails, visibly */
	(void)sockdiag_tcp(AF_INET, SOCKDIAG_LISTEN, count_listener, &pc);
	(void)sockdiag_tcp(AF_INET6, SOCKDIAG_LISTEN, count_listener, &pc);
}

unsigned long scen_listen_inode(int port, int *count)
{
	unsigned long inode;

	scen_listen_inodes(&port, 1, &inode, count);
	return inode;
}

static void observe_listeners(struct observation *obs)
{
	int ports[OBS_MAX_LISTENERS];
	size_t n = obs->state.config.n_listeners;

	if (n > OBS_MAX_LISTENERS)
		n = OBS_MAX_LISTENERS;
	for (size_t i = 0; i < n; i++) {
		const char *a = obs->state.config.listeners[i].address;
		const char *colon = strrchr(a, ':');

		ports[i] = colon ? atoi(colon + 1) : 0;
	}
	scen_listen_inodes(ports, n, obs->listener_inode, obs->listener_sockets);
	obs->n_listeners = n;
}

static void observe_rundir(struct scen *s, struct observation *obs)
{
	DIR *d = opendir(s->run_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && obs->n_rundir < OBS_MAX_RUNDIR)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			snprintf(obs->rundir[obs->n_rundir++], sizeof obs->rundir[0],
				 "%s", e->d_name);
	closedir(d);
}

static void observe_forkalloc(struct scen *s, struct observation *obs)
{
	FILE *f = fopen(s->forkalloc_log, "re");

	if (!f)
		return;
	if (!fgets(obs->forkalloc, sizeof obs->forkalloc, f))
		obs->forkalloc[0] = 0;
	obs->forkalloc[strcspn(obs->forkalloc, "\n")] = 0;
	fclose(f);
}

/* A process cannot open an fd at or above the RLIMIT_NOFILE it sees
 * (status reports it as fd_limit): those belong to a tool it runs under,
 * like valgrind, which keeps its own fds there and shows the process a
 * lower limit than /proc does. */
static void drop_unreachable_fds(struct observation *obs)
{
	json_int_t limit = json_integer_value(json_object_get(obs->status, "fd_limit"));
	size_t k = 0;

	if (limit <= 0)
		return;
	for (size_t i = 0; i < obs->n_fds; i++)
		if (obs->fds[i].fd < limit)
			obs->fds[k++] = obs->fds[i];
	obs->n_fds = k;
}

/* status, then the fd table while our connection is still open, so the
 * inventory and /proc describe the same moment. */
static void observe_master(struct scen *s, struct observation *obs)
{
	struct ctlc_pending p;
	json_t *a = NULL;
	char *text;

	if (ctlc_begin(s->sock, "{\"command\":\"status\"}", &p, NULL))
		return;
	if (ctlc_poll(&p, 2000, &a, NULL) == 1 && json_is_true(json_object_get(a, "ok"))) {
		obs->master = (pid_t)json_integer_value(json_object_get(a, "pid"));
		obs->status = a;
		fdutil_list(obs->master, &obs->fds, &obs->n_fds, NULL);
		drop_unreachable_fds(obs);
		text = json_dumps(json_object_get(a, "state"), JSON_COMPACT);
		if (text && state_json_parse(text, strlen(text), 0, &obs->state, NULL) == 0)
			obs->have_state = true;
		free(text);
	} else {
		json_decref(a);
	}
	ctlc_end(&p);
}

int scen_observe(struct scen *s, struct observation *obs)
{
	memset(obs, 0, sizeof *obs);
	obs->master = -1;
	obs->pidfile_pid = -1;
	observe_master(s, obs);
	proc_reap_all();
	proc_descendants(s->root, &obs->procs, &obs->n_procs, NULL);
	observe_rundir(s, obs);
	pidfile_read(s->pidfile, &obs->pidfile_pid, NULL);
	observe_forkalloc(s, obs);
	if (obs->have_state) {
		observe_listeners(obs);
		contract_observe_workers(obs);
	}
	return obs->master > 0 ? 0 : -1;
}

/* A reader of the pid file must always find a pid: atomic replacement
 * (write a temporary file, rename it) guarantees it; truncate-and-write
 * does not. */
static void probe_pidfile(struct scen *s, struct upgrade_record *u)
{
	char buf[64] = "";
	pid_t pid;
	FILE *f;

	if (pidfile_read(s->pidfile, &pid, NULL) == 0)
		return;
	f = fopen(s->pidfile, "re");
	if (f) {
		buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
		fclose(f);
	} else {
		snprintf(buf, sizeof buf, "(missing)");
	}
	if (!u->pidfile_bad++)
		snprintf(u->pidfile_seen, sizeof u->pidfile_seen, "%s", buf);
}

static void run_upgrade(struct scen *s, const char *request, pid_t old,
			struct upgrade_record *u)
{
	struct ctlc_pending p;
	long long give_up;
	struct bt_err err = {0};
	json_t *a = NULL;
	int rc = 0;

	u->deadline_ms = s->o.upgrade_timeout_ms;
	u->started_ms = proc_now_ms();
	give_up = u->started_ms + u->deadline_ms + 5000LL * scen_time_scale();
	if (s->events[0])
		tl_event(s->events, tl_now_us(), 0, "request", request);
	if (ctlc_begin(s->sock, request, &p, &err)) {
		snprintf(u->answer_error, sizeof u->answer_error, "%s", err.msg);
		u->ended_ms = proc_now_ms();
		return;
	}
	while ((rc = ctlc_poll(&p, 20, &a, &err)) == 0 && proc_now_ms() < give_up) {
		/* is the old master still answering while it waits, and does
		 * the pid file name a master at every moment? */
		pid_t who = ctlc_status(s->sock, 300, NULL);

		u->probes++;
		if (who == old)
			u->probes_by_old++;
		probe_pidfile(s, u);
	}
	u->ended_ms = proc_now_ms();
	ctlc_end(&p);
	if (rc != 1 && s->events[0])
		tl_event(s->events, tl_now_us(), 0, "answer", "none");
	if (rc != 1) {
		snprintf(u->answer_error, sizeof u->answer_error, "%s",
			 rc == 0 ? "no answer before the deadline plus 5 s" : err.msg);
		return;
	}
	u->answer = a;
	u->ok = json_is_true(json_object_get(a, "ok"));
	if (s->events[0])
		tl_event(s->events, tl_now_us(), 0, "answer",
			 u->ok ? "ok" : json_string_value(json_object_get(a, "step")));
	u->new_pid = (pid_t)json_integer_value(json_object_get(
		a, u->kind == UPGRADE_MASTER ? "new_pid" : "new_pid"));
}

void scen_upgrade_master(struct scen *s, const char *binary,
			 struct upgrade_record *u)
{
	json_t *req = binary ? json_pack("{s:s, s:s}", "command", "upgrade-main",
					 "binary", binary)
			     : json_pack("{s:s}", "command", "upgrade-main");
	char *text = json_dumps(req, JSON_COMPACT);
	pid_t old = ctlc_status(s->sock, 1000, NULL);

	memset(u, 0, sizeof *u);
	u->kind = UPGRADE_MASTER;
	run_upgrade(s, text, old, u);
	free(text);
	json_decref(req);
}

void scen_upgrade_worker(struct scen *s, uint32_t id, struct upgrade_record *u)
{
	char req[96];
	pid_t old = ctlc_status(s->sock, 1000, NULL);

	memset(u, 0, sizeof *u);
	u->kind = UPGRADE_WORKER;
	u->worker_id = id;
	snprintf(req, sizeof req, "{\"command\":\"upgrade-worker\",\"id\":%u}", id);
	run_upgrade(s, req, old, u);
}

int scen_load_start(struct scen *s, struct bt_err *err)
{
	struct loadgen_opts lo = {
		.address = s->listen_addr,
		.concurrency = s->o.load_concurrency > 0 ? s->o.load_concurrency : 4,
		.timeout_ms = LOADGEN_WINDOW_TIMEOUT_MS,
	};

	return loadgen_window_start(&s->load, &lo, err);
}

void scen_load_stop(struct scen *s)
{
	loadgen_window_stop(&s->load);
}

static pid_t worker_pid(const struct observation *o, uint32_t id)
{
	for (size_t i = 0; o->have_state && i < o->state.n_workers; i++)
		if (o->state.workers[i].id == id)
			return o->state.workers[i].pid;
	return -1;
}

void scen_settle(struct scen *s, const struct observation *before,
		 const struct upgrade_record *u)
{
	if (u->kind == UPGRADE_MASTER && u->ok)
		proc_wait_gone(before->master, 3000 * scen_time_scale());
	if (u->kind == UPGRADE_WORKER && u->ok) {
		pid_t old = worker_pid(before, u->worker_id);

		if (old > 0)
			proc_wait_gone(old, 8000 * scen_time_scale());
	}
	proc_sleep_ms(10);
	proc_reap_all();
	(void)s;
}

static void wait_descendants_gone(pid_t root, int timeout_ms)
{
	long long deadline = proc_now_ms() + timeout_ms;

	while (proc_now_ms() < deadline) {
		struct proc_info *v = NULL;
		size_t n = 0, alive = 0;

		proc_reap_all();
		if (proc_descendants(root, &v, &n, NULL) != 0)
			return;
		for (size_t i = 0; i < n; i++)
			alive += v[i].state != 'Z';
		free(v);
		if (alive == 0)
			return;
		proc_sleep_ms(10);
	}
}

void scen_stop(struct scen *s)
{
	json_t *a = NULL;
	pid_t master;

	scen_load_stop(s);
	master = ctlc_status(s->sock, 500, NULL);
	if (master > 0) {
		ctlc_call(s->sock, "{\"command\":\"stop\",\"mode\":\"hard\"}",
			  1000 * scen_time_scale(), &a, NULL);
		json_decref(a);
		/* a clean exit, so memcheck and coverage see it finish */
		proc_wait_gone(master, 3000 * scen_time_scale());
	}
	/* the workers were told to stop too: let them exit on their own
	 * (leak checkers and coverage write at exit) before anything is
	 * killed */
	wait_descendants_gone(s->root, 1000 * scen_time_scale());
	proc_kill_tree(s->root, 3000);
	proc_reap_all();
	notifyrec_close(&s->notify);
}

/* The harness's half of the timeline (timeline.h): who is who before the
 * upgrade, and the watcher over the processes and the pid file. */
static void timeline_begin(struct scen *s, const struct observation *before,
			   struct tl_watch *w, char *events, size_t len)
{
	char name[32];

	snprintf(events, len, "%s/events", s->o.dir);
	if (tl_watch_start(w, events, s->pidfile, s->root))
		return;
	snprintf(s->events, sizeof s->events, "%s", events);
	tl_event(events, tl_now_us(), before->master, "role", "old master");
	for (size_t i = 0; before->have_state && i < before->state.n_workers; i++) {
		snprintf(name, sizeof name, "worker %u", before->state.workers[i].id);
		tl_event(events, tl_now_us(), before->state.workers[i].pid, "role", name);
	}
}

/* What came back: the request and its answer, the datagrams, the failed
 * requests of the load. */
static void timeline_end(const char *events, const struct upgrade_record *u,
			 const struct notify_msg *msgs, size_t n_msgs,
			 const struct loadgen_result *load)
{
	if (u->ok && u->kind == UPGRADE_MASTER && u->new_pid > 0)
		tl_event(events, u->ended_ms * 1000, u->new_pid, "role", "new master");
	tl_notify_events(events, msgs, n_msgs);
	if (load)
		tl_load_events(events, load);
}

int scen_run(const struct scen_opts *o, const struct scen_run_opts *r,
	     struct scen_result *res)
{
	struct tl_watch watch;
	char events[300];
	struct scen s;
	struct bt_err err = {0};
	struct contract_input in = {0};
	size_t notify_from;
	long long t0 = proc_now_ms();

	memset(res, 0, sizeof *res);
	res->before.master = res->after.master = -1;
	if (scen_start(&s, o, &err)) {
		snprintf(res->error, sizeof res->error, "%s", err.msg);
		return -1;
	}
	scen_observe(&s, &res->before);
	notifyrec_drain(&s.notify);
	notify_from = s.notify.n;
	if (o->load_concurrency > 0 && scen_load_start(&s, &err) == 0)
		proc_sleep_ms(r->load_ms_before > 0 ? r->load_ms_before : 30);
	timeline_begin(&s, &res->before, &watch, events, sizeof events);
	if (r->kind == UPGRADE_MASTER)
		scen_upgrade_master(&s, r->binary, &res->up);
	else
		scen_upgrade_worker(&s, r->worker_id, &res->up);
	proc_sleep_ms(15);
	scen_settle(&s, &res->before, &res->up);
	tl_watch_stop(&watch);
	scen_load_stop(&s);
	res->load = s.load.result;
	scen_observe(&s, &res->after);
	notifyrec_drain(&s.notify);
	in.before = &res->before;
	in.after = &res->after;
	in.up = &res->up;
	in.load = o->load_concurrency > 0 ? &res->load : NULL;
	in.notify = s.notify.msgs + notify_from;
	in.n_notify = s.notify.n - notify_from;
	in.expect = r->expect;
	in.fault = r->fault;
	in.report = r->report;
	contract_check(&in, &res->report);
	timeline_end(events, &res->up, in.notify, in.n_notify, in.load);
	res->notify = notifyrec_transcript(&s.notify);
	scen_stop(&s);
	res->ran = true;
	res->wall_ms = proc_now_ms() - t0;
	return 0;
}

void scen_result_free(struct scen_result *res)
{
	json_decref(res->up.answer);
	observation_free(&res->before);
	observation_free(&res->after);
	free(res->notify);
	memset(res, 0, sizeof *res);
}
