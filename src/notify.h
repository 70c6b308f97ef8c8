/* notify: the sd_notify(3) datagram, without libsystemd.
 *
 * SOCKET is the value of $NOTIFY_SOCKET: a path, or "@name" for the
 * abstract namespace.  NULL or "" means "not under systemd": nothing is
 * sent and 0 is returned.  Each call opens, sends and closes its own
 * datagram socket (CLOEXEC), so no fd outlives it. */
#ifndef BATON_NOTIFY_H
#define BATON_NOTIFY_H

#include <sys/types.h>

#include "err.h"

int notify_send(const char *socket, const char *message, struct bt_err *err);

/* "RELOADING=1\nMONOTONIC_USEC=<now>" as systemd's Type=notify-reload
 * expects it. */
int notify_reloading(const char *socket, struct bt_err *err);

#endif
