/* bbfault: the page that carries fault specs into a black-box daemon.
 *
 * A real daemon has no failpoints of its own, so faults reach it through
 * libfiu's POSIX preload (fiu_posix_preload.so) plus baton's shim
 * (shims/bbfault.c, built as libbbfault.so).  The harness writes this page
 * into a small file and names it in BATON_BB_PAGE; the shim maps it
 * (MAP_SHARED, fd closed at once, so the daemon's fd table is untouched)
 * and registers a libfiu external callback on every point the page names.
 * The harness then arms and disarms by writing the page: no signal, no
 * fifo, no thread in the daemon.
 *
 * Counting (what N means for a black box): while armed, every call of
 * POINT made by a process the spec's role selects adds one to the spec's
 * shared counter; the spec fires at the Nth (transient) or from the Nth on
 * (persistent).  The harness arms right before it triggers the upgrade and
 * disarms once the upgrade is decided and settled, so N is "the Nth call
 * of POINT during the upgrade" in those processes together.  Roles:
 *   old     the master the harness triggers (for HAProxy's master-worker,
 *           the same pid after it re-executes itself)
 *   new     a process whose program image started while armed (nginx's
 *           new master, the new haproxy of a classic reload) and whatever
 *           it forks
 *   worker  every other process carrying the preload (the old
 *           generation's workers, the child a master forks before exec)
 *   ""      every process carrying the preload
 * Layout only: shared by the harness and the shim, no functions. */
#ifndef BATON_HARNESS_BBFAULT_H
#define BATON_HARNESS_BBFAULT_H

#include <stdint.h>

#define BBF_MAGIC 0x62626631u	/* "bbf1" */
#define BBF_MAX_SPECS 8
#define BBF_POINT_MAX 64

enum bbf_role { BBF_ANY = 0, BBF_OLD, BBF_NEW, BBF_WORKER };
enum bbf_kind { BBF_ERROR = 1, BBF_HANG, BBF_CRASH };

struct bbf_spec {
	char point[BBF_POINT_MAX];
	uint32_t nth;		/* >= 1 */
	int32_t role;		/* enum bbf_role */
	int32_t kind;		/* enum bbf_kind */
	int32_t errnum;		/* BBF_ERROR: errno pinned */
	int32_t persistent;
	/* written by the shim */
	uint32_t hits;		/* calls counted while armed */
	uint32_t fired;
	int32_t fired_pid;	/* last process it fired in */
};

struct bbf_page {
	uint32_t magic;
	int32_t armed;
	int32_t old_pid;	/* the master the upgrade is sent to */
	int32_t hang_seconds;	/* BBF_HANG */
	uint32_t n_specs;
	struct bbf_spec specs[BBF_MAX_SPECS];
};

#endif
