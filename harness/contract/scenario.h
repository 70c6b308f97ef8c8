/* scenario: run batond through an upgrade and judge it (contract.h).
 *
 * A scenario lives in its own directory: the runtime directory (DIR/run),
 * the notify socket (DIR/notify.sock), batond's log (DIR/batond.log), the
 * fault trace (DIR/trace).  Listeners bind port 0, so scenarios run side
 * by side.  The calling process must be a child subreaper
 * (proc_become_subreaper): every process of the scenario is its
 * descendant, observed through /proc and killed by pid at the end.
 *
 * The pieces are usable alone (tests chain upgrades with them):
 *   scen_start      start `batond start`, wait until it answers status
 *   scen_observe    status + the master's fd table + process tree +
 *                   runtime dir + listener inodes, as one observation
 *   scen_upgrade    send upgrade-main or upgrade-worker and wait for the
 *                   answer, probing status meanwhile
 *   scen_load_*     the load generator in a thread
 *   scen_stop       stop batond and kill whatever is left, by pid
 * and scen_run does start, observe, load, upgrade, settle, observe, judge,
 * stop. */
#ifndef BATON_HARNESS_SCENARIO_H
#define BATON_HARNESS_SCENARIO_H

#include <stdatomic.h>
#include <stdbool.h>

#include "contract/contract.h"
#include "lib/loadgen.h"
#include "lib/notifyrec.h"

struct scen_opts {
	const char *batond;		/* absolute path of batond */
	const char *dir;		/* absolute; created if missing */
	int workers;			/* default 2 */
	int listeners;			/* default 1 */
	int upgrade_timeout_ms;		/* default 2000 */
	const char *faults;		/* BATON_FAULTS, or NULL */
	bool trace;			/* BATON_FAULT_TRACE=DIR/trace */
	bool preload;			/* libfiu's POSIX preload in batond */
	const char *forkalloc_shim;	/* libforkalloc.so to preload (clause
					 * S1), or NULL; not with preload */
	int hang_seconds;		/* BATON_HANG_SECONDS; default 30 */
	int load_concurrency;		/* 0: no load */
	bool ipv6;			/* listen on [::1] */
	char *const *extra_env;
};

struct scen {
	struct scen_opts o;
	char run_dir[256], sock[256], pidfile[256], log[256], trace[256];
	char forkalloc_log[256];
	struct notifyrec notify;
	pid_t root;			/* this process */
	pid_t first_master;
	char listen_addr[64];		/* the first listener, for load */
	struct loadgen_window load;
	char events[300];		/* the timeline's events file, or "" */
};

int scen_start(struct scen *s, const struct scen_opts *o, struct bt_err *err);
int scen_observe(struct scen *s, struct observation *obs);
/* BINARY NULL: default.  Fills *u (answer owned by u: json_decref). */
void scen_upgrade_master(struct scen *s, const char *binary,
			 struct upgrade_record *u);
void scen_upgrade_worker(struct scen *s, uint32_t id, struct upgrade_record *u);
int scen_load_start(struct scen *s, struct bt_err *err);
void scen_load_stop(struct scen *s);
/* Let processes that are on their way out go (old master, draining old
 * worker), reaping what is ours; bounded. */
void scen_settle(struct scen *s, const struct observation *before,
		 const struct upgrade_record *u);
void scen_stop(struct scen *s);

/* BATON_TIME_SCALE (1..100, default 1): every deadline of a scenario is
 * multiplied by it, for runs under valgrind or coverage. */
int scen_time_scale(void);

/* One whole scenario. */
struct scen_run_opts {
	enum upgrade_kind kind;
	const char *binary;		/* master upgrades */
	uint32_t worker_id;		/* worker upgrades */
	enum expect expect;
	const struct fp_spec *fault;
	enum report_rule report;
	int load_ms_before;		/* load before the upgrade (default 30) */
};

struct scen_result {
	bool ran;			/* false: setup failed, see error */
	char error[512];
	struct upgrade_record up;
	struct observation before, after;
	struct loadgen_result load;
	struct contract_report report;
	char *notify;			/* transcript */
	long long wall_ms;
};

int scen_run(const struct scen_opts *o, const struct scen_run_opts *r,
	     struct scen_result *res);
void scen_result_free(struct scen_result *res);

/* Inode of the LISTEN socket on PORT (tcp and tcp6), and how many there
 * are; 0 when none. */
unsigned long scen_listen_inode(int port, int *count);
void scen_listen_inodes(const int *ports, size_t n, unsigned long *inode,
			int *count);

#endif
