/* worker_msg: every message between a master and its workers, on the
 * worker's channel (channel.h framing, one JSON object a frame).
 *
 * worker -> master
 *   ready             {"type":"ready","id":N,"pid":P,"listeners":K}
 *                     it accepts on its K listeners
 *   failed            {"type":"failed","step":S,"errno":E,"error":M}
 *                     it could not set itself up, and exits 1
 *   listeners-failed  {"type":"listeners-failed","step":S,"errno":E,"error":M}
 *                     it could not send its listeners back
 *   exec-failed       {"ok":false,"step":S,"errno":E}   (no "type")
 *                     `batond worker` could not be exec'd: the exec error
 *                     frame of upgrade_frame.h, written by the forked child
 * master -> worker
 *   return-listeners  {"type":"return-listeners"}
 *                     send copies of the listeners back over the scm
 *                     socket and keep accepting.  Success needs no
 *                     message: the scm transfer carries its own count
 *                     (scm.h), which the master's receive checks, and
 *                     arrives first; a failure is listeners-failed.
 *   stop              {"type":"stop","mode":"soft"|"hard"}
 *                     soft: stop accepting, finish the connections held
 *                     (bounded), exit 0; hard: exit at once.
 *
 * worker_msg_encode writes any of them but exec-failed (the child writes
 * that one); worker_msg_decode reads all of them. */
#ifndef BATON_WORKER_MSG_H
#define BATON_WORKER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* A worker channel's buffer, and the most it may grow to: every message
 * above fits the first many times over. */
#define WORKER_CHANNEL_BUF 4096
#define WORKER_CHANNEL_MAX (1 << 20)

enum worker_msg_type {
	WMSG_UNKNOWN = 0,	/* a JSON object that is none of the below */
	WMSG_READY,
	WMSG_FAILED,
	WMSG_LISTENERS_FAILED,
	WMSG_EXEC_FAILED,
	WMSG_RETURN_LISTENERS,
	WMSG_STOP,
};

struct worker_msg {
	enum worker_msg_type type;
	/* ready */
	uint32_t id;
	pid_t pid;
	uint64_t listeners;
	/* stop */
	bool hard;
	/* failed, listeners-failed, exec-failed: "" and 0 when absent */
	char step[sizeof(((struct bt_err *)0)->step)];
	int errnum;
	char error[sizeof(((struct bt_err *)0)->msg)];
};

/* The failure message TYPE (WMSG_FAILED or WMSG_LISTENERS_FAILED) of E. */
void worker_msg_failure(struct worker_msg *m, enum worker_msg_type type,
			const struct bt_err *e);

/* M's text, malloc'd and NUL-terminated, *len its length; NULL when out of
 * memory or for a type that is not written here (unknown, exec-failed). */
char *worker_msg_encode(const struct worker_msg *m, size_t *len);

/* 0 and *M for any JSON object (one of no known type is WMSG_UNKNOWN);
 * -1 with errno EPROTO (not a JSON object) or ENOMEM, and *M zeroed. */
int worker_msg_decode(const char *payload, size_t len, struct worker_msg *m);

#endif
