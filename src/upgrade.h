/* upgrade: both sides of the master hot upgrade (docs/design.md, "The upgrade").
 *
 * Old side, driven by the hub's event loop:
 *   upgrade_old_start   steps 2-10: copy the state with boot_generation+1,
 *                       record and clear CLOEXEC on every fd to hand over,
 *                       O_TMPFILE state file, serialize with a run-time
 *                       round-trip check, write, rewind, confirmation
 *                       socketpair, identity check of every handed-over
 *                       fd, fork+exec of `BINARY main ...`, then restore
 *                       every CLOEXEC flag (the child has its own table)
 *                       and arm a timerfd deadline.  The live state is
 *                       never modified.  On error nothing is left behind:
 *                       no fd, no child, every flag as it was.
 *   upgrade_old_on_confirm  the confirmation fd is readable: 1 confirmed,
 *                       0 not yet, -1 failed (error frame, EOF, bad frame,
 *                       a confirmation naming another pid or generation).
 *   upgrade_old_abort   failure (of a flight upgrade_old_start began): SIGKILL
 *                       the child if alive, reap it and what it started,
 *                       close the flight's fds; says how the child ended.
 *   upgrade_old_finish  success: close the flight's fds (the child is the
 *                       new master and is not ours to reap).
 * start, on_confirm and abort count their own fault hits (fp_arm,
 * failpoint.h), so nothing the hub does around them shifts a hit number.
 * Fault points: old/cloexec-clear, old/tmpfile, old/serialize, old/write,
 * old/rewind, old/socketpair, old/fork, child/exec (decided here, acted on
 * in the child), old/confirm-read.
 *
 * New side, in `batond main`:
 *   upgrade_new_parse_args  pure parser of the new master's arguments.
 *   upgrade_new_begin   steps 1-4: validate the fds (open, types, distinct,
 *                       the peer of --fd is our parent), read and parse the
 *                       state, validate it against this process (every fd
 *                       open and of the right type, every worker alive),
 *                       close the fds of workers that are gone or stopped,
 *                       set CLOEXEC on every adopted fd.
 *   upgrade_new_finish  steps 5-6: pid file, confirmation frame, close the
 *                       confirmation fd.  (Every frame: upgrade_frame.h.)
 *   upgrade_new_fail    send the error frame (when the channel is usable)
 *                       and close the confirmation fd.
 * Fault points: new/args, new/read-state, new/parse, new/adopt,
 * new/cloexec-set, new/pidfile, new/confirm-write. */
#ifndef BATON_UPGRADE_H
#define BATON_UPGRADE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "err.h"
#include "state.h"

/* state_json_serialize's signature. */
typedef int (*upgrade_serialize_fn)(const struct state *s, char **out,
				    size_t *len, struct bt_err *err);

struct upgrade_old_opts {
	const char *binary;		/* absolute path of the new binary */
	const char *runtime_dir;	/* where the O_TMPFILE state file lives */
	char *const *envp;
	sigset_t child_mask;
	const char *state_copy;		/* debugging: also write the state here */
	/* The serializer the run-time round trip checks; NULL (always, in
	 * batond) is state_json_serialize.  A test seam: a serializer that
	 * loses a worker or changes a byte must stop the upgrade. */
	upgrade_serialize_fn serialize;
};

struct upgrade_flight {
	/* The child is ours until upgrade_old_abort reaps it or
	 * upgrade_old_finish leaves it to serve; the hub's SIGCHLD loop
	 * reaps only workers. */
	pid_t child;
	struct channel confirm;		/* the parent's end; fd -1 when closed */
	int timer_fd;
	uint64_t generation;		/* what the new master must confirm */
	int64_t started_ms;
};

int upgrade_old_start(const struct state *live, const struct upgrade_old_opts *o,
		      struct upgrade_flight *f, struct bt_err *err);
int upgrade_old_on_confirm(struct upgrade_flight *f, pid_t *new_pid,
			   struct bt_err *err);
void upgrade_old_abort(struct upgrade_flight *f, char *how, size_t len);
void upgrade_old_finish(struct upgrade_flight *f);

struct upgrade_new_args {
	int confirm_fd;
	int state_fd;
	uint64_t command_buffer_size;
	uint64_t max_command_buffer_size;
};

int upgrade_new_parse_args(int argc, char *const argv[],
			   struct upgrade_new_args *a, struct bt_err *err);
int upgrade_new_begin(const struct upgrade_new_args *a, struct state *out,
		      struct channel *confirm, struct bt_err *err);
int upgrade_new_finish(struct channel *confirm, const struct state *s,
		       struct bt_err *err);
void upgrade_new_fail(struct channel *confirm, const struct bt_err *failure);

#endif
