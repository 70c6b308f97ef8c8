/* contract: see contract.h. */
#include "contract/contract.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void observation_free(struct observation *o)
{
	json_decref(o->status);
	if (o->have_state)
		state_free(&o->state);
	free(o->fds);
	free(o->procs);
	memset(o, 0, sizeof *o);
	o->master = -1;
}

void contract_add(struct contract_report *rep, const char *clause,
		  const char *fmt, ...)
{
	struct violation *v;
	va_list ap;

	if (rep->n == CONTRACT_MAX_VIOLATIONS)
		return;
	v = &rep->v[rep->n++];
	snprintf(v->clause, sizeof v->clause, "%s", clause);
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof v->reason, fmt, ap);
	va_end(ap);
}

/* The word after "batond" on a batond command line, whatever runs it
 * (valgrind puts its own words first): start/main are masters. */
static const char *batond_role(const struct proc_info *p)
{
	const char *b = strstr(p->cmdline, "batond ");

	if (!b)
		return "";
	b += 7;
	if (strncmp(b, "start", 5) == 0 || strncmp(b, "main", 4) == 0)
		return "master";
	if (strncmp(b, "worker", 6) == 0)
		return "worker";
	return "";
}

static pid_t expected_master(const struct contract_input *in)
{
	if (in->up->kind == UPGRADE_MASTER && in->up->ok)
		return in->up->new_pid;
	return in->before->master;
}

static void check_c1(const struct contract_input *in, struct contract_report *rep)
{
	const struct observation *a = in->after;
	pid_t want = expected_master(in);
	int masters = 0;

	if (a->master != want)
		contract_add(rep, "C1", "status answered by pid %d, expected %d (%s)",
			     (int)a->master, (int)want,
			     in->up->ok ? "the new master" : "the old master");
	for (size_t i = 0; i < a->n_procs; i++)
		if (a->procs[i].state != 'Z' &&
		    strcmp(batond_role(&a->procs[i]), "master") == 0)
			masters++;
	if (masters != 1)
		contract_add(rep, "C1", "%d master processes alive, expected exactly 1",
			     masters);
}

static bool fault_is_named(const struct fp_spec *f)
{
	return f && strncmp(f->point, "posix/", 6) != 0 &&
	       strncmp(f->point, "libc/", 5) != 0 && strcmp(f->point, "mem/alloc") != 0;
}

static void check_c2(const struct contract_input *in, struct contract_report *rep)
{
	const struct upgrade_record *u = in->up;
	const char *step;
	json_int_t e;

	if (!u->answer) {
		contract_add(rep, "C2", "no answer to the upgrade request: %s",
			     u->answer_error);
		return;
	}
	if (in->expect == EXPECT_UPGRADED && !u->ok)
		contract_add(rep, "C2", "expected the upgrade to succeed, it failed at %s: %s",
			     json_string_value(json_object_get(u->answer, "step")),
			     json_string_value(json_object_get(u->answer, "error")));
	if (in->expect == EXPECT_ROLLED_BACK && u->ok)
		contract_add(rep, "C2", "expected the upgrade to be rolled back, it succeeded");
	if (u->ok) {
		if (u->new_pid <= 0)
			contract_add(rep, "C2", "success answer without a new pid");
		return;
	}
	step = json_string_value(json_object_get(u->answer, "step"));
	e = json_integer_value(json_object_get(u->answer, "errno"));
	if (!step || !*step || e <= 0) {
		contract_add(rep, "C2", "the failure does not name a step and an errno "
			     "(step \"%s\", errno %lld)", step ? step : "", (long long)e);
		return;
	}
	if (!fault_is_named(in->fault) || in->report == REPORT_ANY)
		return;
	if (strcmp(step, in->fault->point) != 0)
		contract_add(rep, "C2", "the failure names step %s, the fault was injected at %s",
			     step, in->fault->point);
	else if (in->report == REPORT_EXACT && in->fault->kind == FP_ERROR &&
		 e != in->fault->errnum)
		contract_add(rep, "C2", "the failure names errno %lld, %d was injected",
			     (long long)e, in->fault->errnum);
}

static int cmp_worker_id(const void *a, const void *b)
{
	const struct state_worker *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The parts of a state that an upgrade may change, set to fixed values so
 * state_equal compares the rest. */
static void normalize(struct state *s)
{
	s->next_client_id = 0;
	qsort(s->workers, s->n_workers, sizeof *s->workers, cmp_worker_id);
}

static void check_c3_worker(const struct contract_input *in, struct state *b,
			    struct state *a, struct contract_report *rep)
{
	uint32_t id = in->up->worker_id;
	struct state_worker *nw = NULL;

	if (!in->up->ok) {
		/* a failed worker upgrade may have used an id: nothing else */
		a->next_worker_id = b->next_worker_id;
		if (!state_equal(b, a))
			contract_add(rep, "C3", "a failed worker upgrade changed the state");
		return;
	}
	for (size_t i = 0; i < a->n_workers; i++)
		if (a->workers[i].pid == in->up->new_pid)
			nw = &a->workers[i];
	if (state_find_worker(a, id))
		contract_add(rep, "C3", "worker %u is still in the state after its upgrade", id);
	if (!nw || nw->run_state != STATE_RUNNING)
		contract_add(rep, "C3", "the new worker (pid %d) is not RUNNING in the state",
			     (int)in->up->new_pid);
	if (a->n_workers != b->n_workers)
		contract_add(rep, "C3", "%zu workers before, %zu after", b->n_workers,
			     a->n_workers);
}

static void check_c3(const struct contract_input *in, struct contract_report *rep)
{
	struct state b, a;
	uint64_t want;

	if (!in->before->have_state || !in->after->have_state) {
		contract_add(rep, "C3", "no state to compare (status did not answer)");
		return;
	}
	if (state_copy(&b, &in->before->state, NULL))
		return;
	if (state_copy(&a, &in->after->state, NULL)) {
		state_free(&b);
		return;
	}
	if (a.next_client_id < b.next_client_id)
		contract_add(rep, "C3", "next_client_id went back from %llu to %llu",
			     (unsigned long long)b.next_client_id,
			     (unsigned long long)a.next_client_id);
	want = b.boot_generation +
	       (in->up->kind == UPGRADE_MASTER && in->up->ok ? 1 : 0);
	if (a.boot_generation != want)
		contract_add(rep, "C3", "boot_generation is %llu, expected %llu",
			     (unsigned long long)a.boot_generation,
			     (unsigned long long)want);
	a.boot_generation = b.boot_generation;
	normalize(&a);
	normalize(&b);
	if (in->up->kind == UPGRADE_WORKER)
		check_c3_worker(in, &b, &a, rep);
	else if (!state_equal(&b, &a))
		contract_add(rep, "C3", "the state after the upgrade differs from the "
			     "state before (beyond the generation)");
	state_free(&a);
	state_free(&b);
}

static bool pid_in_state(const struct state *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_workers; i++)
		if (s->workers[i].pid == pid)
			return true;
	return false;
}

static bool proc_listed_alive(const struct observation *o, pid_t pid);

static pid_t worker_pid_of(const struct state *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_workers; i++)
		if (s->workers[i].id == id)
			return s->workers[i].pid;
	return -1;
}

static void check_c4(const struct contract_input *in, struct contract_report *rep)
{
	const struct observation *b = in->before, *a = in->after;

	if (in->load && loadgen_failed(in->load)) {
		char line[400];

		loadgen_summary(in->load, line, sizeof line);
		contract_add(rep, "C4", "%ld failed requests: %s", loadgen_failed(in->load),
			     line);
	}
	if (in->load && in->load->ok == 0)
		contract_add(rep, "C4", "the load generator got no answer at all");
	if (a->have_state)
		for (size_t i = 0; i < a->state.n_workers && i < OBS_MAX_WORKERS; i++)
			if (a->state.workers[i].run_state == STATE_RUNNING &&
			    !a->worker_alive[i])
				contract_add(rep, "C4", "worker %u (pid %d) is RUNNING in the "
					     "state but not alive", a->state.workers[i].id,
					     (int)a->state.workers[i].pid);
	if (b->have_state && a->have_state)
		for (size_t i = 0; i < b->state.n_workers; i++) {
			pid_t p = b->state.workers[i].pid;
			bool replaced = in->up->kind == UPGRADE_WORKER && in->up->ok &&
					b->state.workers[i].id == in->up->worker_id;

			if (!replaced && !pid_in_state(&a->state, p))
				contract_add(rep, "C4", "worker pid %d is gone from the state", (int)p);
		}
	/* every worker process alive before is alive after (but the one a
	 * worker upgrade replaced): a worker the state forgot would exit
	 * quietly when its master does, without a failed request */
	for (size_t i = 0; i < b->n_procs; i++) {
		const struct proc_info *p = &b->procs[i];
		bool replaced = in->up->kind == UPGRADE_WORKER && in->up->ok &&
				b->have_state &&
				p->pid == worker_pid_of(&b->state, in->up->worker_id);

		if (p->state == 'Z' || strcmp(batond_role(p), "worker") != 0 || replaced)
			continue;
		if (!proc_listed_alive(a, p->pid))
			contract_add(rep, "C4", "worker pid %d, alive before the upgrade, "
				     "is gone", (int)p->pid);
		else if (a->have_state && !pid_in_state(&a->state, p->pid))
			contract_add(rep, "C4", "worker pid %d is alive but not in the "
				     "state", (int)p->pid);
	}
	for (size_t i = 0; i < b->n_listeners && i < a->n_listeners; i++) {
		if (a->listener_inode[i] != b->listener_inode[i])
			contract_add(rep, "C4", "listener %zu is a different socket: inode "
				     "%lu before, %lu after", i, b->listener_inode[i],
				     a->listener_inode[i]);
		if (a->listener_sockets[i] != 1)
			contract_add(rep, "C4", "listener %zu: %d listening sockets on its "
				     "port, expected 1", i, a->listener_sockets[i]);
	}
}

static json_t *inventory_entry(const struct observation *a, int fd)
{
	json_t *inv = json_object_get(a->status, "fds"), *e;
	size_t i;

	json_array_foreach(inv, i, e)
		if (json_integer_value(json_object_get(e, "fd")) == fd)
			return e;
	return NULL;
}

static bool master_socket(const struct observation *a, const char *target)
{
	for (size_t i = 0; i < a->n_fds; i++)
		if (a->fds[i].fd > 2 && strcmp(a->fds[i].target, target) == 0)
			return true;
	return false;
}

static bool proc_listed_alive(const struct observation *o, pid_t pid)
{
	for (size_t i = 0; i < o->n_procs; i++)
		if (o->procs[i].pid == pid)
			return o->procs[i].state != 'Z';
	return false;
}

/* No worker may hold an fd that is one of the master's sockets (a
 * channel end that leaked into the wrong process). */
void contract_observe_workers(struct observation *a)
{
	for (size_t w = 0; a->have_state && w < a->state.n_workers; w++) {
		const struct state_worker *sw = &a->state.workers[w];
		struct fdutil_entry *fds;
		size_t n;

		if (w < OBS_MAX_WORKERS)
			a->worker_alive[w] = proc_listed_alive(a, sw->pid);
		if (fdutil_list(sw->pid, &fds, &n, NULL))
			continue;
		for (size_t i = 0; i < n && a->n_cross < 8; i++)
			if (strncmp(fds[i].target, "socket:", 7) == 0 &&
			    master_socket(a, fds[i].target))
				snprintf(a->cross[a->n_cross++], sizeof a->cross[0],
					 "worker %u (pid %d) holds fd %d, %s, which is "
					 "also the master's", sw->id, (int)sw->pid,
					 fds[i].fd, fds[i].target);
		free(fds);
	}
}

static void check_c5(const struct contract_input *in, struct contract_report *rep)
{
	const struct observation *a = in->after;
	json_t *inv = json_object_get(a->status, "fds"), *e;
	size_t i;

	if (!json_is_array(inv) || a->n_fds == 0) {
		contract_add(rep, "C5", "no fd inventory or fd table to compare");
		return;
	}
	for (i = 0; i < a->n_fds; i++) {
		const struct fdutil_entry *f = &a->fds[i];

		if (!inventory_entry(a, f->fd))
			contract_add(rep, "C5", "fd %d (%s) is open in the master but not in "
				     "its inventory", f->fd, f->target);
		if (f->fd > 2 && !f->cloexec)
			contract_add(rep, "C5", "fd %d (%s) lacks CLOEXEC", f->fd, f->target);
		for (size_t j = i + 1; j < a->n_fds; j++)
			if (f->fd > 2 && strncmp(f->target, "socket:", 7) == 0 &&
			    strcmp(f->target, a->fds[j].target) == 0)
				contract_add(rep, "C5", "fds %d and %d are the same socket %s",
					     f->fd, a->fds[j].fd, f->target);
	}
	json_array_foreach(inv, i, e) {
		int fd = (int)json_integer_value(json_object_get(e, "fd"));
		bool open = false;

		for (size_t j = 0; j < a->n_fds; j++)
			open |= a->fds[j].fd == fd;
		if (!open)
			contract_add(rep, "C5", "the inventory lists fd %d (%s) but it is "
				     "not open", fd,
				     json_string_value(json_object_get(e, "role")));
	}
	for (i = 0; i < a->n_cross; i++)
		contract_add(rep, "C5", "%s", a->cross[i]);
}

static void check_c6(const struct contract_input *in, struct contract_report *rep)
{
	const struct observation *a = in->after;

	for (size_t i = 0; i < a->n_procs; i++) {
		const struct proc_info *p = &a->procs[i];

		if (p->state == 'Z') {
			contract_add(rep, "C6", "zombie pid %d (%s), not reaped by its parent %d",
				     (int)p->pid, p->cmdline, (int)p->ppid);
			continue;
		}
		if (p->pid == a->master)
			continue;
		if (a->have_state && pid_in_state(&a->state, p->pid))
			continue;
		contract_add(rep, "C6", "pid %d (%s) is neither the master nor one of its "
			     "workers", (int)p->pid, p->cmdline);
	}
}

static void check_c7(const struct contract_input *in, struct contract_report *rep)
{
	const struct observation *a = in->after;
	bool sock = false, pid = false;

	for (size_t i = 0; i < a->n_rundir; i++) {
		if (strcmp(a->rundir[i], "baton.sock") == 0)
			sock = true;
		else if (strcmp(a->rundir[i], "baton.pid") == 0)
			pid = true;
		else
			contract_add(rep, "C7", "the runtime directory holds \"%s\"",
				     a->rundir[i]);
	}
	if (in->up->pidfile_bad)
		contract_add(rep, "C7", "the pid file was missing, empty or torn at %d of %d "
			     "probes during the upgrade (first read: \"%s\")",
			     in->up->pidfile_bad, in->up->probes, in->up->pidfile_seen);
	if (!sock)
		contract_add(rep, "C7", "the command socket is gone from the runtime directory");
	if (!pid)
		contract_add(rep, "C7", "the pid file is gone from the runtime directory");
	else if (a->pidfile_pid != a->master)
		contract_add(rep, "C7", "the pid file names %d, the live master is %d",
			     (int)a->pidfile_pid, (int)a->master);
}

static void check_c8(const struct contract_input *in, struct contract_report *rep)
{
	const struct upgrade_record *u = in->up;
	long long took = u->ended_ms - u->started_ms;

	if (took > u->deadline_ms + 2000)
		contract_add(rep, "C8", "the upgrade took %lld ms, the deadline is %lld ms",
			     took, u->deadline_ms);
	/* a flight long enough to probe must have been answered meanwhile */
	if (u->kind == UPGRADE_MASTER && took > 200 && u->probes_by_old == 0)
		contract_add(rep, "C8", "the old master answered none of %d status probes "
			     "during a %lld ms upgrade", u->probes, took);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == 0 || p[n] == '\n' || p[n] == '='))
			return true;
	return false;
}

static void check_c9(const struct contract_input *in, struct contract_report *rep)
{
	pid_t old = in->before->master;
	size_t reloading = SIZE_MAX, mainpid = SIZE_MAX, ready = SIZE_MAX;
	char want[40];

	if (in->up->kind != UPGRADE_MASTER)
		return;
	snprintf(want, sizeof want, "MAINPID=%d", (int)in->up->new_pid);
	for (size_t i = 0; i < in->n_notify; i++) {
		const struct notify_msg *m = &in->notify[i];

		if (m->pid == old && has_line(m->text, "RELOADING=1") && reloading == SIZE_MAX) {
			reloading = i;
			if (!has_line(m->text, "MONOTONIC_USEC"))
				contract_add(rep, "C9", "RELOADING=1 without MONOTONIC_USEC");
		}
		if (has_line(m->text, "MAINPID")) {
			if (m->pid != old)
				contract_add(rep, "C9", "MAINPID sent by pid %d, not by the old "
					     "master %d (NotifyAccess=main drops it)",
					     (int)m->pid, (int)old);
			else if (strstr(m->text, want))
				mainpid = i;
		}
		if (m->pid == old && has_line(m->text, "READY=1") && reloading != SIZE_MAX)
			ready = i;
		if (has_line(m->text, "STOPPING=1") && in->up->ok && m->pid == old)
			contract_add(rep, "C9", "STOPPING=1 from the old master, which handed over");
	}
	if (reloading == SIZE_MAX)
		contract_add(rep, "C9", "no RELOADING=1 from the old master %d", (int)old);
	if (in->up->ok && mainpid == SIZE_MAX)
		contract_add(rep, "C9", "no %s from the old master", want);
	if (ready == SIZE_MAX || (in->up->ok && mainpid != SIZE_MAX && ready < mainpid))
		contract_add(rep, "C9", "no READY=1 from the old master after %s",
			     in->up->ok ? "MAINPID" : "RELOADING=1");
}

/* S1: nothing allocated between fork and exec (the allocator shim of
 * harness/shims/forkalloc.c writes what it saw). */
static void check_s1(const struct contract_input *in, struct contract_report *rep)
{
	if (in->after->forkalloc[0])
		contract_add(rep, "S1", "%s", in->after->forkalloc);
}

size_t contract_check(const struct contract_input *in, struct contract_report *rep)
{
	rep->n = 0;
	check_s1(in, rep);
	check_c1(in, rep);
	check_c2(in, rep);
	check_c3(in, rep);
	check_c4(in, rep);
	if (in->after->master > 0)
		check_c5(in, rep);
	check_c6(in, rep);
	if (in->after->master > 0)
		check_c7(in, rep);
	check_c8(in, rep);
	check_c9(in, rep);
	return rep->n;
}
