/* notifyrec: a NOTIFY_SOCKET that records what systemd would receive.
 *
 * A datagram socket bound at a path in the cell's directory, with
 * SO_PASSCRED so each message carries its sender's pid (C9 needs to know
 * whether MAINPID came from the old master) and SO_TIMESTAMPNS so each
 * carries its arrival time.  notifyrec_drain reads what
 * is queued without blocking; messages are kept in arrival order. */
#ifndef BATON_HARNESS_NOTIFYREC_H
#define BATON_HARNESS_NOTIFYREC_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct notify_msg {
	pid_t pid;
	char text[512];
	long long t_us;		/* arrival, CLOCK_MONOTONIC (timeline.h); 0: unknown */
};

struct notifyrec {
	int fd;
	char path[108];
	struct notify_msg *msgs;
	size_t n, cap;
};

int notifyrec_open(struct notifyrec *r, const char *path, struct bt_err *err);
void notifyrec_drain(struct notifyrec *r);
void notifyrec_close(struct notifyrec *r);

/* The transcript, one line per message, "PID: TEXT" with newlines in TEXT
 * shown as "\n"; malloc'd. */
char *notifyrec_transcript(const struct notifyrec *r);

#endif
