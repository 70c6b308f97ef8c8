/* blackbox: judge a real daemon's hot upgrades from outside
 * (`faultcheck --target nginx|haproxy|haproxy-classic|reference`).
 *
 * A session starts the daemon through its adapter (target.h) in a private
 * directory on one loopback port, then runs UPGRADES upgrades in a row.
 * Each upgrade has its own load window: the load generator starts
 * (CONCURRENCY connections in flight, HTTP/1.0, one request a
 * connection), runs LOAD_BEFORE_MS, the upgrade is triggered and settles,
 * the load runs LOAD_AFTER_MS more and stops; so every upgrade has its
 * own failed-request count.  A first window without an upgrade (the
 * control) shows what the load alone does on this machine.
 *
 * Every upgrade is judged by the clauses that apply to a black box:
 *   C1  exactly one master alive, and the right one (the new one after an
 *       upgrade, the old one otherwise); a clean run must upgrade
 *   C4  no request of the window failed (refused, reset, timeout, bad:
 *       counted by class), and the listening socket is the same kernel
 *       object (inode) as before: a re-bound listener drops the
 *       connections queued on the old one, whatever the load shows
 *   C5  the master's fds other than listening sockets do not grow across
 *       generations (compared with the first master)
 *   C6  no zombie, no stray process: one master and its workers
 *   C7  the pid file names the live master, no residue (nginx's .oldbin;
 *       after stop, a pid file the daemon should have removed)
 *   C8  trigger to settled within the deadline
 *
 * Faults: each spec (failpoint.h syntax, a libfiu POSIX preload point,
 * role old, new, worker or none; see bbfault.h for what N means) runs in a
 * session of its own: the daemon starts with the preload and the shim, the
 * fault is armed right before the first upgrade's trigger and disarmed
 * once it settled, then one more upgrade runs clean (does the daemon
 * recover?).  Its outcome: upgraded, rolled back, down (no master),
 * split (two masters); fired or not; the clauses.
 *
 * Reports: a terminal table and REPORT_DIR/faultcheck-<target>.json with
 * the machine's net.ipv4.tcp_migrate_req (with 1 the kernel migrates
 * queued connections between listeners, so a run without a failed request
 * is called inconclusive, not clean) and net.core.somaxconn.
 * Exit status: 0 clean (or inconclusive), 1 a clause failed, 2 usage or
 * setup error, 77 skipped (the daemon is not installed: never a pass).
 * NGINX=path and HAPROXY=path run another build of the daemon, as
 * BATOND=path does for batond. */
#ifndef BATON_HARNESS_BLACKBOX_H
#define BATON_HARNESS_BLACKBOX_H

#include <stdbool.h>

#include "contract/contract.h"
#include "failpoint_control.h"
#include "lib/loadgen.h"
#include "blackbox/target.h"

#define BB_EXIT_SKIPPED 77

struct bb_opts {
	const char *target;		/* a target_find name */
	const char *binary;		/* NULL: the adapter's default */
	const char *batond;		/* the reference target's daemon */
	const char *shim;		/* NULL: libbbfault.so beside this program */
	const char *work_dir;		/* sessions in WORK/bb-<target>/ */
	const char *report_dir;
	int upgrades;			/* default 5 */
	int concurrency;		/* default 8; -1: no load */
	int load_before_ms;		/* default 300 */
	int load_after_ms;		/* default 200 */
	int deadline_ms;		/* C8, default 5000 */
	const char *faults;		/* comma list; NULL: the default list;
					 * "none": no fault session */
	const char *only;		/* fnmatch glob on the specs */
	const char *repro;		/* one spec, verbose, artifacts kept */
	bool relative_argv0;		/* nginx started as "nginx" */
	bool keep;			/* keep every session directory */
	bool verbose;
	bool quiet;			/* no table, no progress (tests) */
};

struct bb_upgrade {
	int n;				/* 1-based, in its session */
	bool faulted;			/* the fault was armed for it */
	bool expect_upgrade;
	struct target_upgrade tu;
	bool loaded;
	struct loadgen_result load;
	unsigned long inode_before, inode_after;
	int listeners_after;
	size_t n_masters;
	pid_t master, pidfile_pid;
	size_t master_fds;		/* fds other than listening sockets */
	long fd_growth;
	size_t zombies, strays, workers;
	long long ms;			/* trigger to settled */
	struct contract_report rep;
};

struct bb_session {
	char name[64], dir[300];
	bool ran;
	char error[600];
	bool has_fault;
	struct fp_spec fault;
	char spec[160];
	unsigned hits, fired;		/* the fault's, from the shim */
	bool has_control;
	struct loadgen_result control;
	size_t baseline_fds;
	struct bb_upgrade *up;
	int n_up;
	struct contract_report stop_rep;	/* C7 once the daemon stopped */
	long long wall_ms;
};

/* One session (see above); FAULT NULL: the clean session of o->upgrades
 * upgrades, with a control window.  Returns 0 when it ran (judged in
 * *s), -1 on a setup error (s->error).  Free with bb_session_free. */
int bb_run_session(const struct bb_opts *o, const struct target_ops *ops,
		   const struct fp_spec *fault, struct bb_session *s);
void bb_session_free(struct bb_session *s);
size_t bb_session_violations(const struct bb_session *s);
long bb_session_failed(const struct bb_session *s);
/* "upgraded", "rolled back", "down", "split", "not triggered". */
const char *bb_outcome(const struct bb_upgrade *u);

/* net.ipv4.tcp_migrate_req, net.core.somaxconn; -1 when unreadable. */
int bb_sysctl(const char *path);

/* The whole run: sessions, table, JSON; returns the exit status. */
int blackbox_main(const struct bb_opts *o);

#endif
