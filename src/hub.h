/* hub: the master process, an epoll loop around the live state.
 *
 * The loop serves the command socket (mode 0600 in a 0700 runtime
 * directory), its clients, the workers' channels, and the upgrades in
 * flight: the confirmation fd and the timerfd deadline of a master upgrade,
 * the scm socket, the new worker and the deadline of a worker upgrade are
 * all just more events, so the master keeps answering `status` and its
 * workers while it waits.  Signals arrive on a signalfd.
 *
 * Commands: JSON frames on the command socket (channel.h framing).
 *   {"command":"status"}
 *   {"command":"upgrade-main"[,"binary":"/abs/path"]}
 *   {"command":"upgrade-worker","id":N}
 *   {"command":"stop"[,"mode":"soft"|"hard"]}
 * Answers: {"ok":true,...} or {"ok":false,"step":S,"errno":E,
 * "errno_name":"ENOSPC","error":"sentence"}.  `status` returns the full
 * state, the master's pid and its fd inventory (which fd plays which
 * role); the answer to `upgrade-main` comes when the upgrade is decided.
 *
 * One upgrade at a time, master or worker.  A master upgrade follows
 * upgrade.h; on success the old master sends MAINPID=<new> and READY=1 in
 * one datagram, answers, stops serving the command socket without
 * unlinking it, closes everything and exits 0 without signalling a worker.
 */
#ifndef BATON_HUB_H
#define BATON_HUB_H

#include "channel.h"
#include "state.h"

/* `batond start`: CFG is complete (defaults applied); the hub binds the
 * command socket and the listeners, spawns the workers, writes the pid
 * file, and serves until stopped.  Returns the process exit status. */
int hub_main_start(const struct state_config *cfg, const char *self_path);

/* `batond main`: ADOPTED comes from upgrade_new_begin and CONFIRM is still
 * open; the hub takes both, confirms (upgrade_new_finish) and serves. */
int hub_main_adopted(struct state *adopted, struct channel *confirm,
		     const char *self_path);

#endif
