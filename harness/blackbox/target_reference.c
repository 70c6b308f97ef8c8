/* target_reference: batond behind the target interface (target.h).
 *
 * A thin wrapper on scenario.h: start is scen_start, the upgrade is
 * upgrade-main on the command socket (scen_upgrade_master), stop is
 * scen_stop.  It lets the black-box runner judge batond the way it judges
 * nginx and HAProxy: the reference must pass the black-box clauses too. */
#include "blackbox/target.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/scenario.h"

static int ref_start(struct target *t, struct bt_err *err)
{
	struct scen_opts so = {
		.batond = t->o.batond ? t->o.batond : t->binary,
		.dir = t->dir,
		.workers = t->workers,
		.upgrade_timeout_ms = 2000,
		.extra_env = t->o.env,
	};
	struct scen *s = calloc(1, sizeof *s);
	const char *colon;

	if (!s)
		return err_set(err, "reference", ENOMEM, "out of memory");
	if (!so.batond)
		so.batond = "build/batond";
	if (scen_start(s, &so, err)) {
		free(s);
		return -1;
	}
	t->priv = s;
	t->master = s->first_master;
	snprintf(t->listen_addr, sizeof t->listen_addr, "%s", s->listen_addr);
	colon = strrchr(s->listen_addr, ':');
	t->port = colon ? atoi(colon + 1) : 0;
	snprintf(t->pidfile, sizeof t->pidfile, "%s", s->pidfile);
	snprintf(t->log, sizeof t->log, "%s", s->log);
	return 0;
}

static void answer_detail(const struct upgrade_record *r, char *buf, size_t len)
{
	char *a = r->answer ? json_dumps(r->answer, JSON_COMPACT) : NULL;

	snprintf(buf, len, "upgrade-main answered %s", a ? a : r->answer_error);
	free(a);
}

static void ref_upgrade(struct target *t, struct target_upgrade *u)
{
	struct scen *s = t->priv;
	struct upgrade_record r;
	long long t0 = proc_now_ms();

	scen_upgrade_master(s, NULL, &r);
	u->triggered = r.answer != NULL;
	u->upgraded = r.ok && r.new_pid > 0;
	u->ready_ms = proc_now_ms() - t0;
	answer_detail(&r, u->detail, sizeof u->detail);
	json_decref(r.answer);
	if (u->upgraded) {
		u->new_master = r.new_pid;
		proc_wait_gone(u->old_master, t->o.deadline_ms);
		t->master = r.new_pid;
	}
	u->total_ms = proc_now_ms() - t0;
}

/* "…/batond start …" and "…/batond main …" are masters. */
static enum target_role ref_classify(const struct target *t,
				     const struct proc_info *p,
				     const struct proc_info *all, size_t n)
{
	const char *sp = strchr(p->cmdline, ' ');

	(void)t, (void)all, (void)n;
	if (!sp || !strstr(p->cmdline, "batond"))
		return TARGET_OTHER;
	if (strncmp(sp + 1, "start ", 6) == 0 || strncmp(sp + 1, "main ", 5) == 0)
		return TARGET_MASTER;
	if (strncmp(sp + 1, "worker ", 7) == 0)
		return TARGET_WORKER;
	return TARGET_OTHER;
}

static pid_t ref_pidfile_pid(const struct target *t)
{
	return target_read_pid(t->pidfile);
}

/* The runtime dir holds the command socket and the pid file, nothing else
 * (no linked state file). */
static void ref_residue(const struct target *t, char *buf, size_t len)
{
	const struct scen *s = t->priv;
	DIR *d = s ? opendir(s->run_dir) : NULL;
	struct dirent *e;
	size_t used = 0;

	buf[0] = 0;
	if (!d)
		return;
	while ((e = readdir(d)) && used + 2 < len) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "baton.sock") || !strcmp(e->d_name, "baton.pid"))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s/%s",
					 used ? ", " : "", s->run_dir, e->d_name);
	}
	closedir(d);
}

static void ref_stop(struct target *t)
{
	struct scen *s = t->priv;

	if (!s)
		return;
	scen_stop(s);
	free(s);
	t->priv = NULL;
}

const struct target_ops target_reference = {
	.name = "reference",
	.default_binary = NULL,		/* batond beside the harness */
	.binary_env = "BATOND",
	.describe = "batond, upgrade-main on its command socket",
	.default_workers = 2,
	.removes_pidfile = false,
	.start = ref_start,
	.upgrade = ref_upgrade,
	.classify = ref_classify,
	.pidfile_pid = ref_pidfile_pid,
	.residue = ref_residue,
	.stop = ref_stop,
};
