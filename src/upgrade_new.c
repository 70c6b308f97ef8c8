/* upgrade, new side: see upgrade.h. */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failpoint.h"
#include "fdutil.h"
#include "pidfile.h"
#include "state_json.h"
#include "upgrade_frame.h"

/* A new master that gives up sends its error frame within this: the old
 * master reads at once, and past it the old master is gone or stuck. */
#define ERROR_FRAME_MS 1000

/* --- arguments --- */

static int parse_u64(const char *opt, const char *text, uint64_t lo,
		     uint64_t hi, uint64_t *out, struct bt_err *err)
{
	uint64_t v = 0;

	if (!text || !*text)
		return err_set(err, "new/args", EINVAL, "%s: expected a number", opt);
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return err_set(err, "new/args", EINVAL,
				       "%s: \"%.40s\" is not a non-negative decimal number",
				       opt, text);
		if (v > (UINT64_MAX - 9) / 10)
			return err_set(err, "new/args", ERANGE, "%s: \"%.40s\" is too large",
				       opt, text);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < lo || v > hi)
		return err_set(err, "new/args", ERANGE,
			       "%s: %llu is not in [%llu, %llu]", opt,
			       (unsigned long long)v, (unsigned long long)lo,
			       (unsigned long long)hi);
	*out = v;
	return 0;
}

struct option_slot {
	const char *name;
	uint64_t lo, hi;
	uint64_t value;
	bool seen;
};

int upgrade_new_parse_args(int argc, char *const argv[],
			   struct upgrade_new_args *a, struct bt_err *err)
{
	struct option_slot opts[] = {
		{"--fd", 3, INT_MAX, 0, false},
		{"--upgrade-fd", 3, INT_MAX, 0, false},
		{"--command-buffer-size", 16, 1u << 30, 0, false},
		{"--max-command-buffer-size", 16, 1u << 30, 0, false},
	};
	const size_t n_opts = sizeof opts / sizeof opts[0];

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = NULL, *eq = strchr(arg, '=');
		size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
		struct option_slot *o = NULL;

		for (size_t k = 0; k < n_opts && !o; k++)
			if (strlen(opts[k].name) == name_len &&
			    strncmp(arg, opts[k].name, name_len) == 0)
				o = &opts[k];
		if (!o)
			return err_set(err, "new/args", EINVAL,
				       "unknown argument \"%.60s\"", arg);
		if (o->seen)
			return err_set(err, "new/args", EINVAL, "%s given twice", o->name);
		if (eq)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		if (!value)
			return err_set(err, "new/args", EINVAL, "%s needs a value", o->name);
		if (parse_u64(o->name, value, o->lo, o->hi, &o->value, err))
			return -1;
		o->seen = true;
	}
	for (size_t k = 0; k < n_opts; k++)
		if (!opts[k].seen)
			return err_set(err, "new/args", EINVAL, "%s is required",
				       opts[k].name);
	a->confirm_fd = (int)opts[0].value;
	a->state_fd = (int)opts[1].value;
	a->command_buffer_size = opts[2].value;
	a->max_command_buffer_size = opts[3].value;
	if (a->confirm_fd == a->state_fd)
		return err_set(err, "new/args", EINVAL,
			       "--fd and --upgrade-fd are both %d", a->confirm_fd);
	if (a->command_buffer_size > a->max_command_buffer_size)
		return err_set(err, "new/args", EINVAL,
			       "--command-buffer-size %llu is over "
			       "--max-command-buffer-size %llu",
			       (unsigned long long)a->command_buffer_size,
			       (unsigned long long)a->max_command_buffer_size);
	return 0;
}

/* --- step 1: the two fds we were given --- */

static int check_confirm_fd(const struct upgrade_new_args *a, struct channel *ch,
			    struct bt_err *err)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	int r = fdutil_is_unix_stream(a->confirm_fd);

	if (r < 0)
		return err_set(err, "new/args", errno, "--fd %d is not an open fd",
			       a->confirm_fd);
	if (r == 0)
		return err_set(err, "new/args", ENOTSOCK,
			       "--fd %d is not a unix stream socket", a->confirm_fd);
	if (getsockopt(a->confirm_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return err_set(err, "new/args", errno,
			       "--fd %d: cannot read the peer's credentials",
			       a->confirm_fd);
	if (cred.pid != getppid())
		return err_set(err, "new/args", EPERM,
			       "--fd %d: the peer is pid %d, not our parent %d",
			       a->confirm_fd, (int)cred.pid, (int)getppid());
	return channel_init(ch, a->confirm_fd, (size_t)a->command_buffer_size,
			    (size_t)a->max_command_buffer_size, err);
}

/* A regular file: it cannot be the confirmation socket, so the two are
 * distinct kernel objects once both types check out. */
static int check_state_fd(const struct upgrade_new_args *a, struct bt_err *err)
{
	int r = fdutil_is_regular(a->state_fd);

	if (r < 0)
		return err_set(err, "new/args", errno,
			       "--upgrade-fd %d is not an open fd", a->state_fd);
	if (r == 0)
		return err_set(err, "new/args", EINVAL,
			       "--upgrade-fd %d is not a regular file", a->state_fd);
	return 0;
}

/* --- step 2: read, parse, validate against this process --- */

static int read_state(int fd, char **out, size_t *len, struct bt_err *err)
{
	struct stat st;
	size_t size, off = 0;
	unsigned eintr = 0;
	char *buf;

	if (fstat(fd, &st) != 0)
		return err_set(err, "new/read-state", errno, "cannot fstat the state file");
	if ((size_t)st.st_size > STATE_JSON_MAX_BYTES)
		return err_set(err, "new/read-state", EFBIG,
			       "the state file is %lld bytes, over the limit of %zu",
			       (long long)st.st_size, STATE_JSON_MAX_BYTES);
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf)
		return err_set(err, "new/read-state", ENOMEM, "out of memory");
	while (off < size) {
		size_t want = size - off;
		enum fp_kind k = FP_HIT("new/read-state");
		ssize_t n;

		if (k == FP_ERROR) {
			n = -1;
		} else {
			if (k == FP_SHORT && want > 1)
				want /= 2;
			n = read(fd, buf + off, want);
		}
		/* EINTR is retried, a bounded number of times in a row */
		if (n < 0 && errno == EINTR && eintr++ < ERR_EINTR_MAX)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			free(buf);
			return err_set(err, "new/read-state", e,
				       "cannot read the state file (%zu of %zu bytes)",
				       off, size);
		}
		off += (size_t)n;
		eintr = 0;
	}
	buf[size] = 0;
	*out = buf;
	*len = size;
	return 0;
}

static int check_socket_fd(int fd, bool listening, const char *path,
			   struct bt_err *err)
{
	int r = fdutil_is_unix_stream(fd);

	if (r < 0)
		return err_set(err, "new/validate", EBADF,
			       "%s: fd %d is not open in the new master", path, fd);
	if (r == 0)
		return err_set(err, "new/validate", ENOTSOCK,
			       "%s: fd %d is not a unix stream socket", path, fd);
	if (listening && fdutil_is_listening(fd) != 1)
		return err_set(err, "new/validate", EINVAL,
			       "%s: fd %d is not a listening socket", path, fd);
	return 0;
}

static int check_live(const struct state *s, struct bt_err *err)
{
	char path[64];

	if (check_socket_fd(s->command_socket_fd, true, "$.command_socket_fd", err))
		return -1;
	for (size_t i = 0; i < s->n_workers; i++) {
		const struct state_worker *w = &s->workers[i];

		snprintf(path, sizeof path, "$.workers[%zu].channel_fd", i);
		if (check_socket_fd(w->channel_fd, false, path, err))
			return -1;
		snprintf(path, sizeof path, "$.workers[%zu].scm_fd", i);
		if (check_socket_fd(w->scm_fd, false, path, err))
			return -1;
	}
	return 0;
}

/* Distinct numbers are validate's business; distinct kernel objects are
 * ours: two numbers may still be one socket, and no fd of the state may be
 * the confirmation socket we were given.  Positions: 0 the command socket,
 * 1 + 2i and 2 + 2i worker i's channel and scm fds, the last one --fd. */
struct idents {
	const struct state *s;
	int confirm_fd;
};

static size_t idents_count(const struct state *s)
{
	return 2 + 2 * s->n_workers;
}

static int ident_fd(size_t i, const void *ctx)
{
	const struct idents *c = ctx;

	if (i == 0)
		return c->s->command_socket_fd;
	if (i + 1 == idents_count(c->s))
		return c->confirm_fd;
	return i % 2 ? c->s->workers[(i - 1) / 2].channel_fd
		     : c->s->workers[(i - 1) / 2].scm_fd;
}

static void ident_label(size_t i, const void *ctx, char *buf, size_t len)
{
	const struct idents *c = ctx;

	if (i == 0)
		snprintf(buf, len, "$.command_socket_fd");
	else if (i + 1 == idents_count(c->s))
		snprintf(buf, len, "the confirmation socket (--fd %d)", c->confirm_fd);
	else
		snprintf(buf, len, "$.workers[%zu].%s", (i - 1) / 2,
			 i % 2 ? "channel_fd" : "scm_fd");
}

static int check_identities(const struct state *s, int confirm_fd,
			    struct bt_err *err)
{
	struct idents c = {s, confirm_fd};

	return fdutil_check_distinct(idents_count(s), ident_fd, ident_label, &c,
				     "new/validate", err);
}

static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* --- steps 3 and 4 --- */

static int adopt(struct state *s, struct bt_err *err)
{
	if (FP_HIT("new/adopt") == FP_ERROR)
		return err_set(err, "new/adopt", errno, "cannot adopt the workers");
	for (size_t i = 0; i < s->n_workers;) {
		struct state_worker *w = &s->workers[i];

		if (w->run_state == STATE_STOPPED || !pid_alive(w->pid)) {
			/* nobody would own these fds: close them now */
			close(w->channel_fd);
			close(w->scm_fd);
			state_remove_worker(s, w->id);
			continue;
		}
		i++;
	}
	return 0;
}

static int set_cloexec(int fd, const char *what, struct bt_err *err)
{
	if (FP_HIT("new/cloexec-set") == FP_ERROR || fdutil_set_cloexec(fd, true))
		return err_set(err, "new/cloexec-set", errno,
			       "cannot set CLOEXEC on %s (fd %d)", what, fd);
	return 0;
}

static int cloexec_all(const struct state *s, struct bt_err *err)
{
	if (set_cloexec(s->command_socket_fd, "the command socket", err))
		return -1;
	for (size_t i = 0; i < s->n_workers; i++)
		if (set_cloexec(s->workers[i].channel_fd, "a worker channel", err) ||
		    set_cloexec(s->workers[i].scm_fd, "a worker scm socket", err))
			return -1;
	return 0;
}

static int parse_state(const char *buf, size_t len, struct state *out,
		       struct bt_err *err)
{
	if (FP_HIT("new/parse") == FP_ERROR) {
		state_init(out);
		return err_set(err, "new/parse", errno, "cannot parse the state file");
	}
	if (state_json_parse(buf, len, 0, out, err))
		return err_step(err, "new/parse");
	if (state_validate(out, err)) {
		state_free(out);
		return err_step(err, "new/validate");
	}
	return 0;
}

int upgrade_new_begin(const struct upgrade_new_args *a, struct state *out,
		      struct channel *confirm, struct bt_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	state_init(out);
	confirm->fd = -1;
	if (check_confirm_fd(a, confirm, err))
		return -1;
	/* after the confirmation channel exists, so the failure is reported */
	if (FP_HIT("new/args") == FP_ERROR)
		return err_set(err, "new/args", errno, "cannot check --upgrade-fd %d",
			       a->state_fd);
	if (check_state_fd(a, err))
		return -1;
	rc = read_state(a->state_fd, &buf, &len, err);
	close(a->state_fd);
	if (rc)
		return -1;
	rc = parse_state(buf, len, out, err);
	free(buf);
	if (rc)
		return -1;
	if (check_live(out, err) || check_identities(out, a->confirm_fd, err) ||
	    adopt(out, err) || cloexec_all(out, err)) {
		state_free(out);
		return -1;
	}
	return 0;
}

static enum fp_kind pidfile_fault(void)
{
	return FP_HIT("new/pidfile");
}

static enum fp_kind confirm_write_fault(bool writing)
{
	return writing ? FP_HIT("new/confirm-write") : FP_NONE;
}

int upgrade_new_finish(struct channel *confirm, const struct state *s,
		       struct bt_err *err)
{
	char frame[UPGRADE_FRAME_OK_MAX];
	int rc, n;

	if (pidfile_write(s->config.pid_file_path, getpid(), pidfile_fault, err)) {
		err_step(err, "new/pidfile");
		upgrade_new_fail(confirm, err);
		return -1;
	}
	n = upgrade_frame_ok(frame, sizeof frame, getpid(), s->boot_generation);
	confirm->fault = confirm_write_fault;
	rc = channel_send(confirm, frame, (size_t)n,
			  (int)s->config.upgrade_timeout_ms, err);
	confirm->fault = NULL;
	channel_close(confirm);
	return rc ? err_step(err, "new/confirm-write") : 0;
}

void upgrade_new_fail(struct channel *confirm, const struct bt_err *failure)
{
	char *text;
	size_t len;

	if (confirm->fd < 0)
		return;
	text = upgrade_frame_error(failure, &len);
	if (text)
		channel_send(confirm, text, len, ERROR_FRAME_MS, NULL);
	free(text);
	channel_close(confirm);
}
