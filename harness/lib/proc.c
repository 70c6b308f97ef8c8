/* proc: see proc.h. */
#include "lib/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int proc_become_subreaper(struct bt_err *err)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		return err_set(err, "subreaper", errno, "PR_SET_CHILD_SUBREAPER failed");
	return 0;
}

long long proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void proc_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool key_matches(const char *entry, const char *key)
{
	size_t k = strcspn(key, "=");

	return strncmp(entry, key, k) == 0 && entry[k] == '=';
}

/* environ minus env_unset, with env_set replacing or adding. */
static char **build_env(const struct proc_spawn *ps)
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (ps->env_set && ps->env_set[m])
		m++;
	env = calloc(n + m + 1, sizeof *env);
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;

		for (size_t j = 0; ps->env_unset && ps->env_unset[j]; j++)
			drop |= key_matches(environ[i], ps->env_unset[j]);
		for (size_t j = 0; j < m; j++)
			drop |= key_matches(environ[i], ps->env_set[j]);
		if (!drop)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = ps->env_set[j];
	return env;
}

pid_t proc_spawn(const struct proc_spawn *ps, struct bt_err *err)
{
	char **env = build_env(ps);
	int log = -1;
	sigset_t none;
	pid_t pid;

	if (!env)
		return err_set(err, "spawn", ENOMEM, "out of memory");
	if (ps->log_path) {
		log = open(ps->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log < 0) {
			free(env);
			return err_set(err, "spawn", errno, "cannot open %s", ps->log_path);
		}
	}
	sigemptyset(&none);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		/* nothing of the harness leaks into the process under test
		 * but the fds asked for */
		if (ps->n_keep == 0) {
			syscall(SYS_close_range, 3, ~0U, 0);
		} else {
			syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
			for (size_t i = 0; i < ps->n_keep; i++)
				fcntl(ps->keep_fds[i], F_SETFD, 0);
		}
		execve(ps->argv[0], ps->argv, env);
		_exit(127);
	}
	if (log >= 0)
		close(log);
	free(env);
	if (pid < 0)
		return err_set(err, "spawn", errno, "fork failed");
	return pid;
}

int proc_info(pid_t pid, struct proc_info *out)
{
	char path[64], buf[1024];
	ssize_t n;
	char *close_paren;
	int fd;

	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: parse after the
	 * last ')' */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %c %d", &out->state,
				   &out->ppid) != 2)
		return -1;
	out->pid = pid;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out->cmdline, sizeof out->cmdline - 1);
		close(fd);
		for (ssize_t i = 0; i < n - 1; i++)
			if (out->cmdline[i] == 0)
				out->cmdline[i] = ' ';
	}
	return 0;
}

bool proc_exists(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

bool proc_alive(pid_t pid)
{
	struct proc_info pi;

	return proc_exists(pid) && proc_info(pid, &pi) == 0 && pi.state != 'Z' &&
	       pi.state != 'X';
}

static int all_procs(struct proc_info **out, size_t *n, struct bt_err *err)
{
	DIR *d = opendir("/proc");
	struct proc_info *v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *e;

	if (!d)
		return err_set(err, "proc", errno, "cannot open /proc");
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (len == cap) {
			struct proc_info *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(d);
				return err_set(err, "proc", ENOMEM, "out of memory");
			}
			v = nv;
		}
		if (proc_info((pid_t)pid, &v[len]) == 0)
			len++;
	}
	closedir(d);
	*out = v;
	*n = len;
	return 0;
}

int proc_descendants(pid_t root, struct proc_info **out, size_t *n,
		     struct bt_err *err)
{
	struct proc_info *all = NULL;
	size_t na = 0, k = 0;
	bool grew = true;
	char *in;

	if (all_procs(&all, &na, err))
		return -1;
	in = calloc(na + 1, 1);
	if (!in) {
		free(all);
		return err_set(err, "proc", ENOMEM, "out of memory");
	}
	/* fixed point: a process is in when its parent is root or in */
	while (grew) {
		grew = false;
		for (size_t i = 0; i < na; i++) {
			if (in[i])
				continue;
			if (all[i].ppid == root)
				in[i] = grew = true;
			for (size_t j = 0; j < na && !in[i]; j++)
				if (in[j] && all[j].pid == all[i].ppid)
					in[i] = grew = true;
		}
	}
	for (size_t i = 0; i < na; i++)
		if (in[i])
			all[k++] = all[i];
	free(in);
	*out = all;
	*n = k;
	return 0;
}

int proc_reap_all(void)
{
	int n = 0, status;

	while (waitpid(-1, &status, WNOHANG) > 0)
		n++;
	return n;
}

int proc_wait_gone(pid_t pid, int timeout_ms)
{
	long long deadline = proc_now_ms() + timeout_ms;

	for (;;) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid || !proc_exists(pid))
			return 0;
		if (!proc_alive(pid) && errno == ECHILD)
			return 0;	/* a zombie of someone else: gone for us */
		if (proc_now_ms() >= deadline)
			return -1;
		proc_sleep_ms(5);
	}
}

void proc_kill_tree(pid_t root, int timeout_ms)
{
	long long deadline = proc_now_ms() + timeout_ms;

	do {
		struct proc_info *v;
		size_t n;

		proc_reap_all();
		if (proc_descendants(root, &v, &n, NULL) != 0)
			return;
		if (n == 0) {
			free(v);
			return;
		}
		for (size_t i = 0; i < n; i++)
			if (v[i].state != 'Z')
				kill(v[i].pid, SIGKILL);
		free(v);
		proc_sleep_ms(5);
	} while (proc_now_ms() < deadline);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	/* go on past an entry that stays: remove what can be removed */
	if (remove(path) != 0 && errno != ENOENT)
		fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

int proc_rm_tree(const char *dir)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		return -1;
	return access(dir, F_OK) == 0 ? (errno = ENOTEMPTY, -1) : 0;
}

const char *proc_absolute(const char *path, char *buf, size_t len)
{
	char cwd[4096];

	if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
		return path;
	snprintf(buf, len, "%s/%s", cwd, path);
	return buf;
}

int proc_mkdir_p(const char *path)
{
	char tmp[512];

	if (strlen(path) >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0755);	/* an existing parent is fine */
			*p = '/';
		}
	}
	return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}
