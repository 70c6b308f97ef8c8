/* target: a daemon whose hot upgrade baton judges from outside.
 *
 * One adapter per way of upgrading: `reference` (batond's upgrade-main,
 * through scenario.h), `nginx` (binary upgrade: USR2, then WINCH and QUIT
 * to the old master, the .oldbin pid file), `haproxy` (master-worker, the
 * listeners passed to the new worker, reload through the master CLI) and
 * `haproxy-classic` (`haproxy -D -sf OLD`, no fd passing).
 *
 * Contract of every adapter:
 * - start: runs the daemon in T->dir (created; config, pid file and log
 *   live there) on one loopback port it picks, with the environment given
 *   in opts.env added, and returns once the master is up, its workers are
 *   up and the port accepts; T->master, T->port and T->listen_addr are
 *   set.  The caller must be a child subreaper (proc_become_subreaper):
 *   every process of the daemon is its descendant and is killed by pid.
 * - upgrade: triggers one upgrade the way the daemon's documentation says
 *   and returns once it is decided and the old generation is gone (or
 *   opts.deadline_ms passed).  It never judges: it reports what it saw
 *   (upgraded or not, old and new master, times, what the daemon logged)
 *   and sets T->master to the master that serves now.
 * - classify: which processes are masters and which are workers, from
 *   /proc only.
 * - pidfile_pid: the pid the daemon's pid file names, -1 when none.
 * - residue: files the daemon should not have left (e.g. nginx.pid.oldbin
 *   after the old master exited); "" when none.
 * - stop: stops the daemon the documented way, then kills whatever is
 *   left under the harness, by pid.  Idempotent. */
#ifndef BATON_HARNESS_TARGET_H
#define BATON_HARNESS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "lib/proc.h"

enum target_role { TARGET_OTHER = 0, TARGET_MASTER, TARGET_WORKER };

struct target_opts {
	const char *dir;		/* absolute, private; created */
	const char *binary;		/* NULL: the adapter's default */
	const char *batond;		/* reference: batond's path */
	int workers;			/* 0: the adapter's default */
	char *const *env;		/* "KEY=VALUE" added to the daemon's env */
	bool relative_argv0;		/* nginx: start it as "nginx", not by
					 * path (its USR2 exec then fails) */
	int deadline_ms;		/* one upgrade, default 5000 */
};

struct target_upgrade {
	bool triggered;			/* the trigger reached the daemon */
	bool upgraded;			/* a new generation serves */
	pid_t old_master, new_master;	/* new == old for HAProxy's re-exec */
	long long ready_ms;		/* trigger -> decided */
	long long total_ms;		/* trigger -> old generation gone */
	char detail[600];		/* how it was decided, what the daemon said */
};

struct target {
	const struct target_ops *ops;
	struct target_opts o;
	const char *binary;
	char dir[256], conf[320], pidfile[320], log[320];
	char listen_addr[64];
	int port;
	int workers;			/* the worker count it should run */
	pid_t root;			/* the harness, the subreaper */
	pid_t master;
	long log_mark;			/* log size when the upgrade began */
	void *priv;			/* the adapter's own state */
};

struct target_ops {
	const char *name;
	const char *default_binary;
	const char *binary_env;		/* "NGINX": overrides the default */
	const char *describe;		/* one line for --help and reports */
	int default_workers;
	bool removes_pidfile;		/* the daemon deletes it on exit */
	int (*start)(struct target *t, struct bt_err *err);
	void (*upgrade)(struct target *t, struct target_upgrade *u);
	enum target_role (*classify)(const struct target *t,
				     const struct proc_info *p,
				     const struct proc_info *all, size_t n);
	pid_t (*pidfile_pid)(const struct target *t);
	void (*residue)(const struct target *t, char *buf, size_t len);
	void (*stop)(struct target *t);
};

extern const struct target_ops target_reference, target_nginx,
	target_haproxy, target_haproxy_classic;

/* By name; NULL when unknown.  target_names: "reference|nginx|...". */
const struct target_ops *target_find(const char *name);
const char *target_names(void);

/* The binary to run: BINARY if given, else the environment variable the
 * adapter names (NGINX, HAPROXY; like BATOND for batond), else the
 * adapter's default. */
const char *target_binary(const struct target_ops *ops, const char *binary);
/* 0 when the daemon's binary can run; otherwise -1 and WHY says what is
 * missing and how to install it. */
int target_available(const struct target_ops *ops, const char *binary,
		     char *why, size_t len);
/* First line of `BINARY -v`, e.g. "nginx version: nginx/1.22.1". */
void target_version(const struct target_ops *ops, const char *binary,
		    char *buf, size_t len);

int target_start(struct target *t, const struct target_ops *ops,
		 const struct target_opts *o, struct bt_err *err);
void target_upgrade(struct target *t, struct target_upgrade *u);
void target_stop(struct target *t);

/* The daemon's processes under the harness, alive, by role. */
struct target_procs {
	pid_t masters[16];
	size_t n_masters;
	pid_t workers[64];		/* alive, classified workers */
	pid_t worker_parent[64];
	size_t n_workers;
	pid_t zombies[16];		/* not the harness's to reap */
	size_t n_zombies;
	pid_t strays[16];		/* alive, neither master nor worker */
	size_t n_strays;
};

int target_procs(const struct target *t, struct target_procs *out);
/* Workers whose parent is MASTER. */
size_t target_children(const struct target_procs *tp, pid_t master);

/* Helpers the adapters share. */
int target_free_port(struct bt_err *err);
int target_port_accepts(int port);
pid_t target_read_pid(const char *path);
/* Lines of T->log written since T->log_mark that match any of the
 * comma-separated NEEDLES, joined with " | ", truncated to LEN. */
void target_log_since(const struct target *t, const char *needles,
		      char *buf, size_t len);
void target_mark_log(struct target *t);
int target_write_file(const char *path, const char *text, struct bt_err *err);
int target_mkdir(const char *dir, struct bt_err *err);

#endif
