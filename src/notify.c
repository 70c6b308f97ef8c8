/* notify: see notify.h. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int notify_send(const char *socket_path, const char *message,
		struct bt_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen;
	socklen_t salen;
	ssize_t n;
	int fd;

	if (!socket_path || !*socket_path)
		return 0;
	plen = strlen(socket_path);
	if (plen >= sizeof sa.sun_path)
		return err_set(err, "notify", ENAMETOOLONG,
			       "NOTIFY_SOCKET \"%s\" is too long", socket_path);
	if (socket_path[0] != '/' && socket_path[0] != '@')
		return err_set(err, "notify", EAFNOSUPPORT,
			       "NOTIFY_SOCKET \"%s\" is neither a path nor @abstract",
			       socket_path);
	memcpy(sa.sun_path, socket_path, plen);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
			    (socket_path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, "notify", errno, "socket(AF_UNIX) failed");
	n = sendto(fd, message, strlen(message), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, salen);
	if (n < 0) {
		int e = errno;

		close(fd);
		return err_set(err, "notify", e, "sending \"%.40s\" to %s failed",
			       message, socket_path);
	}
	close(fd);
	return 0;
}

int notify_reloading(const char *socket_path, struct bt_err *err)
{
	struct timespec ts;
	char msg[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000);
	return notify_send(socket_path, msg, err);
}
