/* contract: the upgrade contract C1-C9, judged from outside the processes.
 *
 * The caller (scenario.c) observes the system before and after an upgrade
 * (status answers, /proc fd tables, the process tree under the harness's
 * subreaper, the runtime directory, listening-socket inodes, the notify
 * transcript, the load generator's counts) and hands the observations
 * here; contract_check only judges, so every clause can be tested on
 * hand-made observations too.  Each violation names its clause and gives a
 * one-line reason with the values that broke it. */
#ifndef BATON_HARNESS_CONTRACT_H
#define BATON_HARNESS_CONTRACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "failpoint_control.h"
#include "fdutil.h"
#include "lib/loadgen.h"
#include "lib/notifyrec.h"
#include "lib/proc.h"
#include "state.h"

#define OBS_MAX_LISTENERS 1100
#define OBS_MAX_RUNDIR 16
#define OBS_MAX_WORKERS 512

struct observation {
	pid_t master;			/* who answered status; -1: nobody */
	json_t *status;			/* that answer */
	struct state state;
	bool have_state;
	struct fdutil_entry *fds;	/* /proc/<master>/fd */
	size_t n_fds;
	struct proc_info *procs;	/* descendants of the harness root */
	size_t n_procs;
	char rundir[OBS_MAX_RUNDIR][64];	/* names in the runtime dir */
	size_t n_rundir;
	pid_t pidfile_pid;		/* -1: missing or unreadable */
	unsigned long listener_inode[OBS_MAX_LISTENERS];
	int listener_sockets[OBS_MAX_LISTENERS];	/* LISTEN sockets on that port */
	size_t n_listeners;
	/* facts about the workers, read from /proc at observation time */
	bool worker_alive[OBS_MAX_WORKERS];	/* by index in state.workers */
	char cross[8][200];	/* a worker holding one of the master's fds */
	size_t n_cross;
	char forkalloc[200];	/* the allocator shim's first report, if any */
};

void observation_free(struct observation *o);
/* Fill worker_alive and cross from /proc (needs state, fds, procs). */
void contract_observe_workers(struct observation *o);

enum upgrade_kind { UPGRADE_MASTER = 0, UPGRADE_WORKER };
enum expect { EXPECT_ANY = 0, EXPECT_UPGRADED, EXPECT_ROLLED_BACK };
/* How precisely a failure must name the injected fault (catalogue). */
enum report_rule { REPORT_ANY = 0, REPORT_STEP, REPORT_EXACT };

struct upgrade_record {
	enum upgrade_kind kind;
	uint32_t worker_id;		/* worker upgrades */
	json_t *answer;			/* NULL: no answer */
	char answer_error[256];		/* why there is none */
	bool ok;
	pid_t new_pid;			/* new master or new worker */
	long long started_ms, ended_ms;
	long long deadline_ms;		/* the configured upgrade timeout */
	int probes, probes_by_old;	/* status probes while in flight */
	int pidfile_bad;		/* probes that found the pid file
					 * missing, empty or torn */
	char pidfile_seen[64];		/* what the first such probe read */
};

struct contract_input {
	const struct observation *before, *after;
	const struct upgrade_record *up;
	const struct loadgen_result *load;	/* NULL: no load ran */
	const struct notify_msg *notify;	/* this upgrade's messages */
	size_t n_notify;
	enum expect expect;
	const struct fp_spec *fault;		/* NULL: none injected */
	enum report_rule report;
};

struct violation {
	char clause[4];
	char reason[400];
};

#define CONTRACT_MAX_VIOLATIONS 32

struct contract_report {
	struct violation v[CONTRACT_MAX_VIOLATIONS];
	size_t n;
};

/* Judge C1-C9; returns the number of violations. */
size_t contract_check(const struct contract_input *in, struct contract_report *rep);
void contract_add(struct contract_report *rep, const char *clause,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
