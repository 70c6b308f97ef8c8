/* upgrade_frame: the confirmation frame, the one message that goes from a
 * new master (or from the child that was to become it) to the old master,
 * on the confirmation socket, framed as channel.h says.
 *
 *   {"ok":true,"pid":P,"boot_generation":G}
 *       the new master P holds the state of generation G and serves;
 *   {"ok":false,"step":S,"errno":E,"error":M}
 *       the new master gave up at step S (upgrade_new_fail sends its
 *       bt_err);
 *   {"ok":false,"step":S,"errno":E}
 *       the child could not exec: written between fork and exec by
 *       upgrade_frame_send_exec_error, which allocates nothing and makes
 *       only async-signal-safe calls.  spawn.h writes the same frame on a
 *       worker's channel when `batond worker` cannot be exec'd.
 *
 * upgrade_frame_parse reads all three.  It does not judge: whether the pid
 * and the generation are the expected ones is the old master's check
 * (upgrade_old_on_confirm). */
#ifndef BATON_UPGRADE_FRAME_H
#define BATON_UPGRADE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "err.h"

#define UPGRADE_FRAME_STEP_MAX sizeof(((struct bt_err *)0)->step)

/* Room for the ok frame's payload: the literal text, a pid and a u64. */
#define UPGRADE_FRAME_OK_MAX \
	(sizeof "{\"ok\":true,\"pid\":,\"boot_generation\":}" + 11 + 20)

/* Room for the exec error frame, header included: the literal text, a
 * step and an errno. */
#define UPGRADE_FRAME_EXEC_MAX                                                \
	(CHANNEL_HEADER + sizeof "{\"ok\":false,\"step\":\"\",\"errno\":}" + \
	 UPGRADE_FRAME_STEP_MAX + 10)

struct upgrade_frame {
	bool ok;
	/* ok frames: each true when the field is there and an integer */
	bool has_pid, has_generation;
	long long pid, generation;
	/* failures: "" when absent; has_errno when "errno" is an integer */
	char step[UPGRADE_FRAME_STEP_MAX];
	bool has_errno;
	int errnum;
	char error[sizeof(((struct bt_err *)0)->msg)];
};

/* The ok frame's payload into BUF: its length, or -1 when it does not fit. */
int upgrade_frame_ok(char *buf, size_t len, pid_t pid, uint64_t generation);

/* The error frame of FAILURE, malloc'd and NUL-terminated (NULL when out
 * of memory); *len is its length. */
char *upgrade_frame_error(const struct bt_err *failure, size_t *len);

/* The exec error frame, header included, into BUF: its length, or 0 when
 * it does not fit or STEP is not a plain point name (a quote, a backslash
 * or a control byte would need escaping).  Async-signal-safe. */
size_t upgrade_frame_exec_error(char *buf, size_t len, const char *step,
				int errnum);

/* Write the exec error frame to FD with the raw write system call (libc's
 * write may be interposed by code that is not async-signal-safe, such as
 * libfiu's preload).  Best effort: the reader sees EOF if it fails.
 * Async-signal-safe; for the child between fork and exec. */
void upgrade_frame_send_exec_error(int fd, const char *step, int errnum);

/* 0 and *F when PAYLOAD (LEN bytes) is a JSON object whose "ok" is a
 * boolean; -1 with errno otherwise: EPROTO (not JSON, not such an object)
 * or ENOMEM. */
int upgrade_frame_parse(const char *payload, size_t len,
			struct upgrade_frame *f);

#endif
