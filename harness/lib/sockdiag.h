/* sockdiag: the kernel's TCP socket table, asked of NETLINK_SOCK_DIAG.
 *
 * The kernel filters by family and state, so a question about listeners
 * does not walk the TIME_WAIT entries of every earlier test the way
 * reading /proc/net/tcp does.  Each matching socket is handed to VISIT
 * once; nothing is kept. */
#ifndef BATON_HARNESS_SOCKDIAG_H
#define BATON_HARNESS_SOCKDIAG_H

#include <linux/inet_diag.h>

#define SOCKDIAG_LISTEN (1u << 10)	/* 1 << TCP_LISTEN */
#define SOCKDIAG_ANY 0xfffu		/* every TCP state */

typedef void (*sockdiag_visit)(const struct inet_diag_msg *d, void *arg);

/* Visit every TCP socket of FAMILY (AF_INET, AF_INET6) whose state is in
 * STATES.  Returns 0 when the dump ran to its end, -1 with errno when the
 * netlink socket could not be opened, written or read (the sockets seen
 * before the error were visited). */
int sockdiag_tcp(int family, unsigned states, sockdiag_visit visit, void *arg);

#endif
