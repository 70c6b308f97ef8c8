/* failpoint: the registry; see failpoint.h and failpoint_control.h. */
#ifdef FP_DISABLE
#error "failpoint.c is the fault registry: a -DFP_DISABLE build leaves it out"
#endif
#include "failpoint_control.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const fp_posix_points[] = {
	"posix/proc/fork",     "posix/io/rw/write",   "posix/io/rw/read",
	"posix/io/net/sendmsg", "posix/io/net/recvmsg", "posix/proc/waitpid",
	"libc/mm/malloc",      "libc/mm/calloc",       "libc/mm/realloc",
	NULL};

#define FP_ENTRIES_MAX 128

struct fp_entry {
	char point[FP_NAME_MAX];
	unsigned hits;
	unsigned fired;
	int spec;	/* index in registry.specs, or -1 (traced only) */
};

/* The failpoint registry: the one piece of global mutable state. */
static struct {
	bool initialized;
	unsigned armed;		/* fp_arm brackets open */
	bool deciding;		/* fp_decide: report hang/crash, do not act */
	pid_t armed_pid;	/* a forked child never counts its parent's hits */
	char role[FP_ROLE_MAX];
	char trace_path[512];
	unsigned hang_seconds;
	struct fp_spec specs[FP_SPECS_MAX];
	size_t n_specs;
	struct fp_entry entries[FP_ENTRIES_MAX];
	size_t n_entries;
	const char **code_points;
	size_t n_code_points;
} registry = {.hang_seconds = 3600};

static const char *const kind_names[] = {"none", "error", "short", "hang",
					 "crash"};
static const char *const known_roles[] = {"old", "new", "worker", NULL};

const char *fp_kind_name(enum fp_kind k)
{
	return (unsigned)k <= FP_CRASH ? kind_names[k] : "?";
}

/* --- spec parser --- */

static int spec_error(struct bt_err *err, const char *text, size_t col,
		      const char *what)
{
	/* The caret line: spaces up to the column, so the message can be
	 * printed under the input as it was given. */
	char pad[FP_NAME_MAX * 4];
	size_t n = col < sizeof pad - 1 ? col : sizeof pad - 1;

	memset(pad, ' ', n);
	pad[n] = 0;
	return err_set(err, "fault-spec", EINVAL,
		       "%s at column %zu:\n  %s\n  %s^", what, col + 1, text, pad);
}

static bool point_char(int c)
{
	return islower(c) || isdigit(c) || c == '/' || c == '-' || c == '_' ||
	       c == '.';
}

static int parse_role(const char *text, const char **p, struct fp_spec *out,
		      struct bt_err *err)
{
	const char *colon = strchr(*p, ':'), *at = strchr(*p, '@');
	size_t len;

	if (!colon || (at && colon > at))
		return 0;	/* no role prefix */
	len = (size_t)(colon - *p);
	for (int i = 0; known_roles[i]; i++) {
		if (strlen(known_roles[i]) == len &&
		    strncmp(*p, known_roles[i], len) == 0) {
			memcpy(out->role, *p, len);
			out->role[len] = 0;
			*p = colon + 1;
			return 0;
		}
	}
	return spec_error(err, text, (size_t)(*p - text),
			  "unknown role (expected old, new or worker)");
}

static int parse_point(const char *text, const char **p, struct fp_spec *out,
		       struct bt_err *err)
{
	const char *s = *p;
	size_t len = 0;

	while (point_char((unsigned char)s[len]))
		len++;
	if (s[len] != '@') {
		if (s[len] == 0)
			return spec_error(err, text, (size_t)(s + len - text),
					  "expected '@N' after the point name");
		return spec_error(err, text, (size_t)(s + len - text),
				  "unexpected character in point name "
				  "(allowed: a-z 0-9 / - _ .)");
	}
	if (len == 0)
		return spec_error(err, text, (size_t)(s - text),
				  "expected a point name such as old/write");
	if (len >= FP_NAME_MAX)
		return spec_error(err, text, (size_t)(s - text),
				  "point name too long");
	if (!memchr(s, '/', len))
		return spec_error(err, text, (size_t)(s - text),
				  "point name must be a path such as old/write");
	memcpy(out->point, s, len);
	out->point[len] = 0;
	*p = s + len + 1;
	return 0;
}

static int parse_nth(const char *text, const char **p, struct fp_spec *out,
		     struct bt_err *err)
{
	const char *s = *p;
	unsigned long v = 0;
	size_t len = 0;

	while (isdigit((unsigned char)s[len]) && len < 8)
		v = v * 10 + (unsigned long)(s[len++] - '0');
	if (len == 0 || isdigit((unsigned char)s[len]))
		return spec_error(err, text, (size_t)(s - text),
				  "expected a hit number N in [1, 99999999]");
	if (v == 0)
		return spec_error(err, text, (size_t)(s - text),
				  "hit numbers start at 1");
	out->nth = (unsigned)v;
	*p = s + len;
	return 0;
}

static int parse_errno(const char *text, const char **p, struct fp_spec *out,
		       struct bt_err *err)
{
	char name[32];
	size_t len = strcspn(*p, ":");

	if (len == 0 || len >= sizeof name)
		return spec_error(err, text, (size_t)(*p - text),
				  "expected an errno such as ENOSPC");
	memcpy(name, *p, len);
	name[len] = 0;
	if (isdigit((unsigned char)name[0])) {
		char *end;
		long v = strtol(name, &end, 10);

		if (*end || v <= 0 || v > 4095 || !err_errno_name((int)v))
			return spec_error(err, text, (size_t)(*p - text),
					  "unknown errno number");
		out->errnum = (int)v;
	} else {
		int v = err_errno_from_name(name);

		if (v <= 0)
			return spec_error(err, text, (size_t)(*p - text),
					  "unknown errno name");
		out->errnum = v;
	}
	*p += len;
	return 0;
}

static int parse_kind(const char *text, const char **p, struct fp_spec *out,
		      struct bt_err *err)
{
	const char *s = *p;
	size_t len = strcspn(s, ":=");

	for (int k = FP_ERROR; k <= FP_CRASH; k++) {
		if (strlen(kind_names[k]) == len &&
		    strncmp(s, kind_names[k], len) == 0) {
			out->kind = (enum fp_kind)k;
			*p = s + len;
			if (k == FP_ERROR) {
				if (**p != '=')
					return spec_error(err, text, (size_t)(*p - text),
							  "error needs an errno: error=ENOSPC");
				(*p)++;
				return parse_errno(text, p, out, err);
			}
			if (**p == '=')
				return spec_error(err, text, (size_t)(*p - text),
						  "only the error kind takes an argument");
			return 0;
		}
	}
	return spec_error(err, text, (size_t)(s - text),
			  "unknown kind (expected error=ERRNO, short, hang or crash)");
}

static int parse_mode(const char *text, const char **p, struct fp_spec *out,
		      struct bt_err *err)
{
	if (**p == 0)
		return 0;
	if (**p != ':')
		return spec_error(err, text, (size_t)(*p - text),
				  "expected ':' before the mode");
	(*p)++;
	if (strcmp(*p, "transient") == 0) {
		out->mode = FP_TRANSIENT;
	} else if (strcmp(*p, "persistent") == 0) {
		out->mode = FP_PERSISTENT;
	} else {
		return spec_error(err, text, (size_t)(*p - text),
				  "unknown mode (expected transient or persistent)");
	}
	*p += strlen(*p);
	return 0;
}

int fp_spec_parse(const char *text, struct fp_spec *out, struct bt_err *err)
{
	const char *p = text;

	memset(out, 0, sizeof *out);
	if (strlen(text) > 200)
		return err_set(err, "fault-spec", EINVAL,
			       "spec of %zu characters is too long (200 at most)",
			       strlen(text));
	if (parse_role(text, &p, out, err) || parse_point(text, &p, out, err) ||
	    parse_nth(text, &p, out, err))
		return -1;
	if (*p != ':')
		return spec_error(err, text, (size_t)(p - text),
				  "expected ':KIND' after the hit number");
	p++;
	if (parse_kind(text, &p, out, err) || parse_mode(text, &p, out, err))
		return -1;
	return 0;
}

int fp_spec_parse_list(const char *text, struct fp_spec *out, size_t max,
		       size_t *n, struct bt_err *err)
{
	const char *p = text;

	*n = 0;
	while (*p) {
		char one[256];
		size_t len = strcspn(p, ",");
		size_t lead = 0;

		while (lead < len && isspace((unsigned char)p[lead]))
			lead++;
		while (len > lead && isspace((unsigned char)p[len - 1]))
			len--;
		if (len - lead >= sizeof one)
			return err_set(err, "fault-spec", EINVAL,
				       "spec %zu is too long", *n + 1);
		if (len > lead) {
			if (*n == max)
				return err_set(err, "fault-spec", E2BIG,
					       "more than %zu specs", max);
			memcpy(one, p + lead, len - lead);
			one[len - lead] = 0;
			if (fp_spec_parse(one, &out[*n], err))
				return err_wrap(err, "spec %zu of \"%s\": ",
						*n + 1, text);
			(*n)++;
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

int fp_spec_format(const struct fp_spec *s, char *buf, size_t len)
{
	char arg[40] = "";
	int n;

	if (s->kind == FP_ERROR) {
		const char *name = err_errno_name(s->errnum);

		if (name)
			snprintf(arg, sizeof arg, "=%s", name);
		else
			snprintf(arg, sizeof arg, "=%d", s->errnum);
	}
	n = snprintf(buf, len, "%s%s%s@%u:%s%s:%s", s->role, s->role[0] ? ":" : "",
		     s->point, s->nth, fp_kind_name(s->kind), arg,
		     s->mode == FP_PERSISTENT ? "persistent" : "transient");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* --- the registry --- */

static void trace_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One open+write+close per line: the trace must not leave an fd of its own
 * in a process whose fd table the contract checks. */
static void trace_line(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int fd, n;

	if (!registry.trace_path[0])
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof line)
		return;
	fd = open(registry.trace_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* a lost trace line shows up as a point that never fired */
	}
	close(fd);
}

/* Trace lines end with CLOCK_MONOTONIC in microseconds: one clock for
 * every process, so a harness can put them on one time axis. */
static long long trace_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct fp_entry *find_entry(const char *point)
{
	for (size_t i = 0; i < registry.n_entries; i++)
		if (strcmp(registry.entries[i].point, point) == 0)
			return &registry.entries[i];
	return NULL;
}

static void hang(void)
{
	struct timespec ts = {.tv_sec = 1};

	for (unsigned i = 0; i < registry.hang_seconds; i++)
		nanosleep(&ts, NULL);
}

/* noipa (gcc) or noinline (clang): a call that stays a call, so a
 * debugger can stop in it; the asm keeps its arguments live. */
#ifdef __clang__
#define FP_BREAKPOINT_ATTR __attribute__((noinline))
#else
#define FP_BREAKPOINT_ATTR __attribute__((noipa))
#endif

FP_BREAKPOINT_ATTR void fp_fired_breakpoint(const char *point, unsigned n,
					    enum fp_kind kind)
{
	__asm__ volatile("" : : "r"(point), "r"(n), "r"(kind) : "memory");
	trace_line("fire %d %s %s %u %s %lld\n", (int)getpid(), registry.role, point, n,
		   fp_kind_name(kind), trace_now_us());
}

/* libfiu's external callback: counts hits, decides, and carries out the
 * kinds that never return (hang, crash). */
static int fp_fiu_cb(const char *name, int *failnum, void **failinfo,
		     unsigned int *flags)
{
	struct fp_entry *e;
	const struct fp_spec *s;

	(void)flags;
	if (!registry.armed || getpid() != registry.armed_pid)
		return 0;
	e = find_entry(name);
	if (!e)
		return 0;
	e->hits++;
	trace_line("hit %d %s %s %u %lld\n", (int)getpid(), registry.role, name, e->hits,
		   trace_now_us());
	if (e->spec < 0)
		return 0;
	s = &registry.specs[e->spec];
	if (!(e->hits == s->nth || (s->mode == FP_PERSISTENT && e->hits > s->nth)))
		return 0;
	e->fired++;
	fp_fired_breakpoint(name, e->hits, s->kind);
	if (s->kind == FP_CRASH && !registry.deciding)
		kill(getpid(), SIGKILL);
	if (s->kind == FP_HANG && !registry.deciding)
		hang();
	*failnum = (int)s->kind;
	*failinfo = (void *)(intptr_t)s->errnum;
	return 1;
}

static struct fp_entry *add_entry(const char *point, struct bt_err *err)
{
	struct fp_entry *e = find_entry(point);

	if (e)
		return e;
	if (registry.n_entries == FP_ENTRIES_MAX) {
		err_set(err, "fault-setup", E2BIG, "more than %d fault points",
			FP_ENTRIES_MAX);
		return NULL;
	}
	e = &registry.entries[registry.n_entries];
	memset(e, 0, sizeof *e);
	snprintf(e->point, sizeof e->point, "%s", point);
	e->spec = -1;
	if (fiu_enable_external(e->point, 1, NULL, 0, fp_fiu_cb) != 0) {
		err_set(err, "fault-setup", ENOMEM, "libfiu could not enable %s",
			point);
		return NULL;
	}
	registry.n_entries++;
	return e;
}

int fp_enable(const struct fp_spec *s, struct bt_err *err)
{
	struct fp_entry *e;

	if (fiu_init(0) != 0)
		return err_set(err, "fault-setup", EINVAL, "fiu_init failed");
	registry.initialized = true;
	if (registry.n_specs == FP_SPECS_MAX)
		return err_set(err, "fault-setup", E2BIG, "more than %d specs",
			       FP_SPECS_MAX);
	e = add_entry(s->point, err);
	if (!e)
		return -1;
	if (e->spec >= 0)
		return err_set(err, "fault-setup", EINVAL,
			       "two specs for %s in one process", s->point);
	registry.specs[registry.n_specs] = *s;
	e->spec = (int)registry.n_specs++;
	return 0;
}

static int enable_trace_points(struct bt_err *err)
{
	size_t n;
	const char *const *code = fp_code_points(&n);

	for (size_t i = 0; i < n; i++)
		if (!add_entry(code[i], err))
			return -1;
	for (size_t i = 0; fp_posix_points[i]; i++)
		if (!add_entry(fp_posix_points[i], err))
			return -1;
	return 0;
}

int fp_setup(const char *role, struct bt_err *err)
{
	const char *faults = getenv("BATON_FAULTS");
	const char *trace = getenv("BATON_FAULT_TRACE");
	const char *hang_s = getenv("BATON_HANG_SECONDS");
	struct fp_spec specs[FP_SPECS_MAX];
	size_t n = 0;

	if (fiu_init(0) != 0)
		return err_set(err, "fault-setup", EINVAL, "fiu_init failed");
	registry.initialized = true;
	snprintf(registry.role, sizeof registry.role, "%s", role);
	if (hang_s && *hang_s)
		registry.hang_seconds = (unsigned)strtoul(hang_s, NULL, 10);
	if (trace && *trace) {
		snprintf(registry.trace_path, sizeof registry.trace_path, "%s", trace);
		if (enable_trace_points(err))
			return -1;
	}
	if (faults && *faults &&
	    fp_spec_parse_list(faults, specs, FP_SPECS_MAX, &n, err))
		return err_wrap(err, "BATON_FAULTS: ");
	for (size_t i = 0; i < n; i++) {
		if (specs[i].role[0] && strcmp(specs[i].role, role) != 0)
			continue;
		if (fp_enable(&specs[i], err))
			return err_wrap(err, "BATON_FAULTS: ");
	}
	return 0;
}

void fp_arm(void)
{
	registry.armed++;
	registry.armed_pid = getpid();
}

void fp_disarm(void)
{
	if (registry.armed)
		registry.armed--;
}

bool fp_armed(void)
{
	return registry.armed > 0;
}

unsigned fp_hang_seconds(void)
{
	return registry.hang_seconds;
}

void fp_reset(void)
{
	for (size_t i = 0; i < registry.n_entries; i++)
		fiu_disable(registry.entries[i].point);
	registry.n_entries = 0;
	registry.n_specs = 0;
	registry.armed = 0;
	registry.trace_path[0] = 0;
}

unsigned fp_fired(const char *point)
{
	struct fp_entry *e = find_entry(point);

	return e ? e->fired : 0;
}

unsigned fp_hits(const char *point)
{
	struct fp_entry *e = find_entry(point);

	return e ? e->hits : 0;
}

enum fp_kind fp_hit(const struct fp_site *site)
{
	int kind;

	if (!registry.initialized)
		return FP_NONE;
	kind = fiu_fail(site->point);
	if (kind == 0)
		return FP_NONE;
	if (kind == FP_ERROR)
		errno = (int)(intptr_t)fiu_failinfo();
	return (enum fp_kind)kind;
}

enum fp_kind fp_decide(const struct fp_site *site)
{
	enum fp_kind k;

	registry.deciding = true;
	k = fp_hit(site);
	registry.deciding = false;
	return k;
}

/* --- the points of this binary --- */

extern const struct fp_site __start_baton_fp[] __attribute__((weak));
extern const struct fp_site __stop_baton_fp[] __attribute__((weak));

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *const *fp_code_points(size_t *n)
{
	size_t total, k = 0;

	if (registry.code_points) {
		*n = registry.n_code_points;
		return registry.code_points;
	}
	total = __start_baton_fp ? (size_t)(__stop_baton_fp - __start_baton_fp) : 0;
	registry.code_points = calloc(total + 1, sizeof *registry.code_points);
	if (!registry.code_points) {
		*n = 0;
		return NULL;
	}
	for (size_t i = 0; i < total; i++)
		registry.code_points[i] = __start_baton_fp[i].point;
	qsort(registry.code_points, total, sizeof *registry.code_points, cmp_str);
	for (size_t i = 0; i < total; i++)
		if (k == 0 || strcmp(registry.code_points[k - 1],
				     registry.code_points[i]) != 0)
			registry.code_points[k++] = registry.code_points[i];
	registry.n_code_points = k;
	*n = k;
	return registry.code_points;
}
