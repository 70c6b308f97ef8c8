/* target: see target.h.  The dispatch and what the adapters share. */
#include "blackbox/target.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidfile.h"

static const struct target_ops *const all_targets[] = {
	&target_reference, &target_nginx, &target_haproxy, &target_haproxy_classic,
	NULL};

const struct target_ops *target_find(const char *name)
{
	for (size_t i = 0; all_targets[i]; i++)
		if (strcmp(all_targets[i]->name, name) == 0)
			return all_targets[i];
	return NULL;
}

const char *target_names(void)
{
	return "reference|nginx|haproxy|haproxy-classic";
}

const char *target_binary(const struct target_ops *ops, const char *binary)
{
	const char *env = ops->binary_env ? getenv(ops->binary_env) : NULL;

	if (binary)
		return binary;
	return env && *env ? env : ops->default_binary;
}

int target_available(const struct target_ops *ops, const char *binary,
		     char *why, size_t len)
{
	const char *b = target_binary(ops, binary);

	if (b && access(b, X_OK) == 0)
		return 0;
	if (ops == &target_reference)
		snprintf(why, len, "%s not found: run make", b ? b : "batond");
	else
		snprintf(why, len, "%s is not installed (%s: %s); "
			 "install it with: ci/install-deps blackbox",
			 ops->name, b ? b : "?", strerror(errno));
	return -1;
}

void target_version(const struct target_ops *ops, const char *binary,
		    char *buf, size_t len)
{
	const char *b = target_binary(ops, binary);
	char cmd[512];
	FILE *p;

	buf[0] = 0;
	if (!b || ops == &target_reference) {
		snprintf(buf, len, "batond (this tree)");
		return;
	}
	snprintf(cmd, sizeof cmd, "'%s' -v 2>&1", b);
	p = popen(cmd, "re");
	if (!p)
		return;
	if (fgets(buf, (int)len, p))
		buf[strcspn(buf, "\n")] = 0;
	while (fgetc(p) != EOF)
		;
	pclose(p);
}

int target_start(struct target *t, const struct target_ops *ops,
		 const struct target_opts *o, struct bt_err *err)
{
	memset(t, 0, sizeof *t);
	t->ops = ops;
	t->o = *o;
	t->binary = target_binary(ops, o->binary);
	t->workers = o->workers > 0 ? o->workers : ops->default_workers;
	if (t->o.deadline_ms <= 0)
		t->o.deadline_ms = 5000;
	t->root = getpid();
	t->master = -1;
	snprintf(t->dir, sizeof t->dir, "%s", o->dir);
	if (target_mkdir(t->dir, err))
		return -1;
	if (ops->start(t, err)) {
		target_stop(t);
		return -1;
	}
	return 0;
}

void target_upgrade(struct target *t, struct target_upgrade *u)
{
	memset(u, 0, sizeof *u);
	u->old_master = u->new_master = t->master;
	target_mark_log(t);
	t->ops->upgrade(t, u);
}

void target_stop(struct target *t)
{
	if (t->ops)
		t->ops->stop(t);
	proc_kill_tree(t->root, 3000);
	proc_reap_all();
}

static void add_pid(pid_t *v, size_t *n, size_t max, pid_t pid)
{
	if (*n < max)
		v[(*n)++] = pid;
}

int target_procs(const struct target *t, struct target_procs *out)
{
	struct proc_info *v = NULL;
	size_t n = 0;

	memset(out, 0, sizeof *out);
	proc_reap_all();
	if (proc_descendants(t->root, &v, &n, NULL))
		return -1;
	for (size_t i = 0; i < n; i++) {
		enum target_role r;

		if (v[i].state == 'Z' || v[i].state == 'X') {
			add_pid(out->zombies, &out->n_zombies, 16, v[i].pid);
			continue;
		}
		r = t->ops->classify(t, &v[i], v, n);
		if (r == TARGET_MASTER) {
			add_pid(out->masters, &out->n_masters, 16, v[i].pid);
		} else if (r == TARGET_WORKER) {
			if (out->n_workers < 64)
				out->worker_parent[out->n_workers] = v[i].ppid;
			add_pid(out->workers, &out->n_workers, 64, v[i].pid);
		} else {
			add_pid(out->strays, &out->n_strays, 16, v[i].pid);
		}
	}
	free(v);
	return 0;
}

size_t target_children(const struct target_procs *tp, pid_t master)
{
	size_t k = 0;

	for (size_t i = 0; i < tp->n_workers; i++)
		k += tp->worker_parent[i] == master;
	return k;
}

int target_free_port(struct bt_err *err)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return err_set(err, "target-port", errno, "socket failed");
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
		int e = errno;

		close(fd);
		return err_set(err, "target-port", e, "bind 127.0.0.1:0 failed");
	}
	close(fd);
	return ntohs(a.sin_port);
}

int target_port_accepts(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

pid_t target_read_pid(const char *path)
{
	pid_t pid;

	/* as strict as batond's own reader: "42\n" and nothing else */
	return pidfile_read(path, &pid, NULL) == 0 ? pid : -1;
}

void target_mark_log(struct target *t)
{
	struct stat st;

	t->log_mark = stat(t->log, &st) == 0 ? (long)st.st_size : 0;
}

static bool matches_any(const char *line, const char *needles)
{
	char one[64];

	for (const char *p = needles; *p;) {
		size_t len = strcspn(p, ",");

		snprintf(one, sizeof one, "%.*s", (int)len, p);
		if (len && strstr(line, one))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

void target_log_since(const struct target *t, const char *needles,
		      char *buf, size_t len)
{
	FILE *f = fopen(t->log, "re");
	char line[1024];
	size_t used = 0;

	buf[0] = 0;
	if (!f)
		return;
	fseek(f, t->log_mark, SEEK_SET);
	while (fgets(line, sizeof line, f) && used + 4 < len) {
		int n;

		line[strcspn(line, "\n")] = 0;
		if (!matches_any(line, needles))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? " | " : "", line);
		if (n < 0 || used + (size_t)n >= len)
			break;	/* truncated: the buffer is full */
		used += (size_t)n;
	}
	fclose(f);
}

int target_write_file(const char *path, const char *text, struct bt_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return err_set(err, "target-config", errno, "cannot create %s", path);
	n = write(fd, text, len);
	if (close(fd) != 0 || n != (ssize_t)len)
		return err_set(err, "target-config", errno ? errno : EIO,
			       "cannot write %s", path);
	return 0;
}

int target_mkdir(const char *dir, struct bt_err *err)
{
	if (proc_mkdir_p(dir) != 0)
		return err_set(err, "target-dir", errno, "cannot create %s", dir);
	return 0;
}
