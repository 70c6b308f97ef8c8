/* sockdiag: see sockdiag.h. */
#include "lib/sockdiag.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* Visit the messages of one datagram; true at the end of the dump. */
static bool visit_datagram(char *buf, ssize_t len, sockdiag_visit visit,
			   void *arg, int *error)
{
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
	     h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return true;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			*error = e->error ? -e->error : EPROTO;
			return true;
		}
		visit(NLMSG_DATA(h), arg);
	}
	return false;
}

int sockdiag_tcp(int family, unsigned states, sockdiag_visit visit, void *arg)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof msg, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.req = {.sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
			.idiag_states = states},
	};
	char buf[32768];
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int error = 0;
	bool done = false;

	if (fd < 0)
		return -1;
	if (send(fd, &msg, sizeof msg, 0) != (ssize_t)sizeof msg)
		error = errno ? errno : EIO;
	while (!error && !done) {
		ssize_t len = recv(fd, buf, sizeof buf, 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0) {
			error = len < 0 ? errno : EPROTO;
			break;
		}
		done = visit_datagram(buf, len, visit, arg, &error);
	}
	close(fd);
	errno = error;
	return error ? -1 : 0;
}
