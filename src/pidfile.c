/* pidfile: see pidfile.h. */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pidfile_tmp_path(const char *path, pid_t writer, char *buf, size_t len,
		     struct bt_err *err)
{
	int n = snprintf(buf, len, "%s.tmp.%d", path, (int)writer);

	if (n < 0 || (size_t)n >= len)
		return err_set(err, "pidfile", ENAMETOOLONG,
			       "pid file path \"%.200s\" is too long", path);
	return 0;
}

int pidfile_write(const char *path, pid_t pid, enum fp_kind (*fault)(void),
		  struct bt_err *err)
{
	char tmp[PIDFILE_TMP_MAX], text[32];
	int fd, len, e;
	ssize_t n;

	if (pidfile_tmp_path(path, getpid(), tmp, sizeof tmp, err))
		return -1;
	len = snprintf(text, sizeof text, "%d\n", (int)pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, "pidfile", errno, "cannot create %s", tmp);
	if (fault && fault() == FP_ERROR) {
		n = -1;
	} else {
		n = write(fd, text, (size_t)len);
	}
	if (n != len || fsync(fd) != 0) {
		e = n >= 0 && n != len ? EIO : errno;
		close(fd);
		unlink(tmp);
		return err_set(err, "pidfile", e, "cannot write %s", tmp);
	}
	if (close(fd) != 0) {
		e = errno;
		unlink(tmp);
		return err_set(err, "pidfile", e, "cannot close %s", tmp);
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return err_set(err, "pidfile", e, "cannot rename %s to %s", tmp,
			       path);
	}
	return 0;
}

/* What pidfile_write writes: decimal digits, no sign, no leading zero,
 * then at most one newline and nothing else. */
static long parse_pid(const char *buf, size_t n)
{
	long v = 0;
	size_t i = 0;

	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n == 0 || n > 7 || buf[0] == '0')
		return -1;
	for (; i < n; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		v = v * 10 + (buf[i] - '0');
	}
	return v;
}

int pidfile_read(const char *path, pid_t *pid, struct bt_err *err)
{
	char buf[32];
	ssize_t n;
	long v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(err, "pidfile", errno, "cannot open %s", path);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return err_set(err, "pidfile", n < 0 ? errno : ENODATA,
			       "cannot read %s", path);
	buf[n] = 0;
	/* strtol would take " 42", "+42" and "42\ngarbage" */
	v = parse_pid(buf, (size_t)n);
	if (v <= 0 || v > 4194304)
		return err_set(err, "pidfile", EINVAL,
			       "%s does not hold a pid: \"%.20s\"", path, buf);
	*pid = (pid_t)v;
	return 0;
}
