/* testutil: see testutil.h. */
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/proc.h"
#include "json_guard.h"

const char *tu_batond(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (getenv("BATOND"))
		return getenv("BATOND");
	if (path[0])
		return path;
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return "build/batond";
	self[n] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(path, sizeof path, "%s/batond", self);
	return path;
}

const char *tu_beside_self(const char *name)
{
	static char path[8][PATH_MAX];
	static unsigned k;
	char self[PATH_MAX];
	char *out = path[k++ % 8];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	self[n > 0 ? n : 0] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(out, PATH_MAX, "%s/%s", slash ? self : ".", name);
	return out;
}

/* BATON_TMP moves the scratch directories (memcheck keeps them under
 * build/); BATON_KEEP=1 keeps them even when every test passed. */
static void suite_base(const char *suite, char *buf, size_t len)
{
	const char *tmp = getenv("BATON_TMP");

	snprintf(buf, len, "%s/baton-%s-%d", tmp && *tmp ? tmp : "/tmp", suite,
		 (int)getpid());
}

const char *tu_dir(const char *suite, const char *name)
{
	static char dir[512];
	char base[400];

	suite_base(suite, base, sizeof base);
	mkdir(base, 0755);
	snprintf(dir, sizeof dir, "%s/%s", base, name);
	mkdir(dir, 0755);
	return dir;
}

void tu_cleanup(const char *suite, int failures)
{
	char base[400];

	suite_base(suite, base, sizeof base);
	if (failures || (getenv("BATON_KEEP") && *getenv("BATON_KEEP") == '1')) {
		fprintf(stderr, "artifacts kept in %s\n", base);
		return;
	}
	if (proc_rm_tree(base) != 0)
		fprintf(stderr, "could not remove %s: %s\n", base, strerror(errno));
}

int tu_need_proc(void)
{
	if (access("/proc/self/stat", R_OK) == 0)
		return 0;
	fprintf(stderr, "/proc is not mounted here (%s): baton observes processes and "
			"fd tables through /proc; in a chroot or container, mount it first "
			"(mount -t proc proc /proc)\n", strerror(errno));
	return -1;
}

int tu_setup(void)
{
	struct bt_err err;

	if (tu_need_proc())
		return -1;
	json_guard_init();
	if (proc_become_subreaper(&err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	if (access(tu_batond(), X_OK) != 0) {
		fprintf(stderr, "batond not found at %s (set BATOND)\n", tu_batond());
		return -1;
	}
	return 0;
}

void tu_filter(void)
{
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	if (getenv("TEST_SKIP") && *getenv("TEST_SKIP"))
		cmocka_set_skip_filter(getenv("TEST_SKIP"));
}

int tu_read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return -1;
	buf[fread(buf, 1, len - 1, f)] = 0;
	fclose(f);
	return 0;
}

void tu_print_report(const char *what, const struct scen_result *r)
{
	char line[512];

	fprintf(stderr, "-- %s: %s in %lld ms, %zu violation(s)\n", what,
		r->up.ok ? "upgraded" : "rolled back", r->wall_ms, r->report.n);
	if (!r->ran)
		fprintf(stderr, "   setup failed: %s\n", r->error);
	for (size_t i = 0; i < r->report.n; i++)
		fprintf(stderr, "   %s: %s\n", r->report.v[i].clause, r->report.v[i].reason);
	if (r->up.answer) {
		char *a = json_dumps(r->up.answer, JSON_COMPACT);

		fprintf(stderr, "   answer: %s\n", a ? a : "?");
		free(a);
	}
	loadgen_summary(&r->load, line, sizeof line);
	fprintf(stderr, "   load: %s\n", line);
}

int tu_write_script(const char *path, const char *body)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, body, strlen(body));
	close(fd);
	return n == (ssize_t)strlen(body) ? 0 : -1;
}
