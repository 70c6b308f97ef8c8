/* worker: one data-plane process.
 *
 * `batond worker --id N --generation G --channel FD --scm FD [--handoff]`:
 * receives its listening sockets over the scm socket (scm.h), accepts TCP
 * on all of them, answers each HTTP/1.0 request with
 *     baton worker id=N gen=G pid=P
 * and talks to its master over the channel (worker_msg.h lists every
 * message).  End of file on the channel means the master is gone: soft
 * stop, so no worker outlives every master.
 * Fault points: worker/listeners-take, worker/ready (counted in a worker
 * started with --handoff, i.e. by a worker upgrade), worker/listeners-send
 * (counted while returning the listeners).
 */
#ifndef BATON_WORKER_H
#define BATON_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct worker_opts {
	uint32_t id;
	uint64_t generation;
	int channel_fd;
	int scm_fd;
	bool handoff;	/* --handoff: started by a worker upgrade */
};

int worker_parse_args(int argc, char *const argv[], struct worker_opts *o,
		      struct bt_err *err);
/* Runs until stopped; returns the process exit status. */
int worker_run(const struct worker_opts *o);

#endif
