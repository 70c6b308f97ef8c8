/* upgrade, old side: see upgrade.h. */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "failpoint.h"
#include "fdutil.h"
#include "spawn.h"
#include "state_json.h"
#include "upgrade_frame.h"

/* One fd handed to the new master: its role for messages and its CLOEXEC
 * flag before we touched it. */
struct handed {
	int fd;
	char role[40];
	bool was_cloexec;
	bool cleared;
};

/* The fds handed over: the command socket and two per worker, then the
 * state file and the child's end of the confirmation pair once they exist. */
#define HANDED_LATE 2

/* A failed child usually exits on its own within this. */
#define EXIT_GRACE_MS 100

/* Everything upgrade_old_start acquires, released in one place. */
struct prep {
	struct state next;
	struct handed *handed;
	size_t n_handed, cap_handed;
	int state_fd;
	int pair[2];		/* [0] parent end, [1] child end */
	char *json;
	size_t json_len;
	char arg_fd[16], arg_state[16], arg_buf[24], arg_max[24];
	char *argv[11];
};

static void restore_cloexec(struct prep *p)
{
	for (size_t i = 0; i < p->n_handed; i++) {
		if (p->handed[i].cleared && p->handed[i].was_cloexec)
			fdutil_set_cloexec(p->handed[i].fd, true);
		p->handed[i].cleared = false;
	}
}

static void prep_release(struct prep *p)
{
	restore_cloexec(p);
	free(p->handed);
	if (p->state_fd >= 0)
		close(p->state_fd);
	if (p->pair[0] >= 0)
		close(p->pair[0]);
	if (p->pair[1] >= 0)
		close(p->pair[1]);
	free(p->json);
	state_free(&p->next);
	p->handed = NULL;
	p->json = NULL;
	p->state_fd = p->pair[0] = p->pair[1] = -1;
}

static int hand(struct prep *p, struct bt_err *err, int fd, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int hand(struct prep *p, struct bt_err *err, int fd, const char *fmt, ...)
{
	struct handed *h;
	va_list ap;

	if (p->n_handed == p->cap_handed)
		return err_set(err, "old/prepare", EOVERFLOW,
			       "more fds to hand over than the %zu planned", p->cap_handed);
	h = &p->handed[p->n_handed++];
	h->fd = fd;
	va_start(ap, fmt);
	vsnprintf(h->role, sizeof h->role, fmt, ap);
	va_end(ap);
	return 0;
}

/* Step 3: record, then clear, every handed fd's CLOEXEC flag. */
static int clear_cloexec(struct prep *p, struct bt_err *err)
{
	for (size_t i = 0; i < p->n_handed; i++) {
		struct handed *h = &p->handed[i];
		int was = fdutil_get_cloexec(h->fd);

		if (was < 0)
			return err_set(err, "old/cloexec-clear", errno,
				       "%s (fd %d) is not open", h->role, h->fd);
		h->was_cloexec = was;
		if (FP_HIT("old/cloexec-clear") == FP_ERROR ||
		    fdutil_set_cloexec(h->fd, false) != 0)
			return err_set(err, "old/cloexec-clear", errno,
				       "cannot clear CLOEXEC on %s (fd %d)", h->role,
				       h->fd);
		h->cleared = true;
	}
	return 0;
}

static int list_handed(struct prep *p, struct bt_err *err)
{
	const struct state *s = &p->next;
	int rc;

	p->cap_handed = 1 + 2 * s->n_workers + HANDED_LATE;
	p->handed = calloc(p->cap_handed, sizeof *p->handed);
	if (!p->handed)
		return err_set(err, "old/prepare", ENOMEM, "out of memory");
	rc = hand(p, err, s->command_socket_fd, "the command socket");
	for (size_t i = 0; i < s->n_workers && rc == 0; i++)
		rc = hand(p, err, s->workers[i].channel_fd, "worker %u's channel",
			  s->workers[i].id) ||
		     hand(p, err, s->workers[i].scm_fd, "worker %u's scm socket",
			  s->workers[i].id) ? -1 : 0;
	return rc;
}

/* Step 4: an anonymous file in the runtime directory (the hub's runtime
 * directory is shorter than PATH_MAX, so the fallback's name fits). */
#define STATE_FILE_TEMPLATE "/.baton-state-XXXXXX"

static int open_state_file(const char *dir, struct bt_err *err)
{
	char path[PATH_MAX + sizeof STATE_FILE_TEMPLATE];
	int fd;

	/* an injected error takes the real call's path: EOPNOTSUPP falls
	 * back like a file system without O_TMPFILE */
	fd = FP_HIT("old/tmpfile") == FP_ERROR
		     ? -1 : open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return err_set(err, "old/tmpfile", errno,
			       "cannot create the state file in %s", dir);
	/* file systems without O_TMPFILE: a named file, unlinked at once */
	snprintf(path, sizeof path, "%s" STATE_FILE_TEMPLATE, dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return err_set(err, "old/tmpfile", errno, "cannot create %s", path);
	if (unlink(path) != 0) {
		int e = errno;

		close(fd);
		return err_set(err, "old/tmpfile", e, "cannot unlink %s", path);
	}
	return fd;
}

/* Step 5: what we are about to write must parse back to the state we
 * hand over, and serializing what was parsed must give the same bytes (a
 * serializer that loses something, or is not canonical, stops the
 * upgrade).  The workers and the generation are named first: they are
 * what a new master acts on. */
static int roundtrip_check(const struct prep *p, upgrade_serialize_fn ser,
			   struct bt_err *err)
{
	struct state back;
	char *again = NULL;
	size_t again_len = 0;
	int rc = -1;

	if (state_json_parse(p->json, p->json_len, 0, &back, err)) {
		err_wrap(err, "run-time round trip: the serialized state "
			      "does not parse back: ");
		return err_step(err, "old/roundtrip");
	}
	if (back.n_workers != p->next.n_workers)
		err_set(err, "old/roundtrip", EPROTO,
			"run-time round trip: %zu workers became %zu",
			p->next.n_workers, back.n_workers);
	else if (back.boot_generation != p->next.boot_generation)
		err_set(err, "old/roundtrip", EPROTO,
			"run-time round trip: generation %llu became %llu",
			(unsigned long long)p->next.boot_generation,
			(unsigned long long)back.boot_generation);
	else if (!state_equal(&back, &p->next))
		err_set(err, "old/roundtrip", EPROTO,
			"run-time round trip: the parsed state differs from the one "
			"to hand over");
	else if (ser(&back, &again, &again_len, err))
		err_wrap(err, "run-time round trip: ");
	else if (again_len != p->json_len || memcmp(again, p->json, again_len))
		err_set(err, "old/roundtrip", EPROTO,
			"run-time round trip: re-serializing gives different bytes "
			"(%zu vs %zu)", again_len, p->json_len);
	else
		rc = 0;
	if (rc)
		err_step(err, "old/roundtrip");
	free(again);
	state_free(&back);
	return rc;
}

/* Step 6: write everything, then rewind and check where we are. */
static int write_state(struct prep *p, struct bt_err *err)
{
	size_t off = 0;
	unsigned eintr = 0;
	off_t pos;

	while (off < p->json_len) {
		size_t len = p->json_len - off;
		enum fp_kind k = FP_HIT("old/write");
		ssize_t n;

		/* an injected error takes the same path as a real one, so
		 * EINTR is retried like the kernel's, a bounded number of
		 * times in a row */
		if (k == FP_SHORT && len > 1)
			len /= 2;
		n = k == FP_ERROR ? -1 : write(p->state_fd, p->json + off, len);
		if (n < 0 && errno == EINTR && eintr++ < ERR_EINTR_MAX)
			continue;
		if (n <= 0)
			return err_set(err, "old/write", n < 0 ? errno : EIO,
				       "cannot write the state file (%zu of %zu bytes written)",
				       off, p->json_len);
		off += (size_t)n;
		eintr = 0;
	}
	/* rewind(3) would hide a failing lseek */
	pos = FP_HIT("old/rewind") == FP_ERROR ? -1 : lseek(p->state_fd, 0, SEEK_SET);
	if (pos != 0)
		return err_set(err, "old/rewind", pos < 0 ? errno : EIO,
			       "cannot rewind the state file (at %lld)", (long long)pos);
	return 0;
}

/* Step 7: the confirmation pair; only the child's end crosses exec. */
static int make_pair(struct prep *p, struct bt_err *err)
{
	if (FP_HIT("old/socketpair") == FP_ERROR ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->pair) != 0) {
		p->pair[0] = p->pair[1] = -1;
		return err_set(err, "old/socketpair", errno,
			       "cannot create the confirmation socket pair");
	}
	return 0;
}

static int handed_fd(size_t i, const void *ctx)
{
	return ((const struct prep *)ctx)->handed[i].fd;
}

static void handed_label(size_t i, const void *ctx, char *buf, size_t len)
{
	const struct handed *h = &((const struct prep *)ctx)->handed[i];

	snprintf(buf, len, "%s (fd %d)", h->role, h->fd);
}

/* Step 8: no two roles may share a kernel object, whatever their numbers. */
static int check_aliasing(const struct prep *p, struct bt_err *err)
{
	return fdutil_check_distinct(p->n_handed, handed_fd, handed_label, p,
				     "old/alias", err);
}

static void build_argv(struct prep *p, const char *binary)
{
	const struct state_config *c = &p->next.config;

	snprintf(p->arg_fd, sizeof p->arg_fd, "%d", p->pair[1]);
	snprintf(p->arg_state, sizeof p->arg_state, "%d", p->state_fd);
	snprintf(p->arg_buf, sizeof p->arg_buf, "%llu",
		 (unsigned long long)c->command_buffer_size);
	snprintf(p->arg_max, sizeof p->arg_max, "%llu",
		 (unsigned long long)c->max_command_buffer_size);
	p->argv[0] = (char *)binary;
	p->argv[1] = "main";
	p->argv[2] = "--fd";
	p->argv[3] = p->arg_fd;
	p->argv[4] = "--upgrade-fd";
	p->argv[5] = p->arg_state;
	p->argv[6] = "--command-buffer-size";
	p->argv[7] = p->arg_buf;
	p->argv[8] = "--max-command-buffer-size";
	p->argv[9] = p->arg_max;
	p->argv[10] = NULL;
}

static enum fp_kind confirm_read_fault(bool writing)
{
	return writing ? FP_NONE : FP_HIT("old/confirm-read");
}

static int arm_flight(struct upgrade_flight *f, struct prep *p,
		      const struct state *live, pid_t child, struct bt_err *err)
{
	int rc;

	f->child = child;
	f->generation = p->next.boot_generation;
	f->started_ms = channel_now_ms();
	f->timer_fd = fdutil_timerfd(live->config.upgrade_timeout_ms);
	if (f->timer_fd < 0)
		return err_set(err, "old/deadline", errno, "cannot arm the deadline (timerfd)");
	/* the flight owns it now, when channel_init fails too */
	rc = channel_init(&f->confirm, p->pair[0], live->config.command_buffer_size,
			  live->config.max_command_buffer_size, err);
	p->pair[0] = -1;
	if (rc)
		return -1;
	f->confirm.fault = confirm_read_fault;
	return 0;
}

/* BATON_STATE_COPY: what was handed over, for `make repro`.  Best effort:
 * a debugging aid never fails an upgrade. */
static void keep_copy(const char *path, const char *json, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	if (write(fd, json, len) != (ssize_t)len) {
		/* nothing to do: the copy is incomplete, the upgrade is not */
	}
	close(fd);
}

static int prepare(struct prep *p, const struct state *live,
		   const struct upgrade_old_opts *o, struct bt_err *err)
{
	upgrade_serialize_fn ser = o->serialize ? o->serialize : state_json_serialize;
	char *json = NULL;

	if (state_copy(&p->next, live, err))
		return -1;
	p->next.boot_generation = live->boot_generation + 1;
	if (list_handed(p, err) || clear_cloexec(p, err))
		return -1;
	p->state_fd = open_state_file(o->runtime_dir, err);
	if (p->state_fd < 0)
		return -1;
	if (FP_HIT("old/serialize") == FP_ERROR)
		return err_set(err, "old/serialize", errno,
			       "cannot serialize the state");
	if (ser(&p->next, &json, &p->json_len, err)) {
		err_step(err, "old/serialize");
		return -1;
	}
	p->json = json;
	if (roundtrip_check(p, ser, err) || write_state(p, err) || make_pair(p, err))
		return -1;
	if (o->state_copy)
		keep_copy(o->state_copy, p->json, p->json_len);
	if (hand(p, err, p->state_fd, "the state file") ||
	    hand(p, err, p->pair[1], "the confirmation socket"))
		return -1;
	/* the two new fds: cleared like the others; they are closed after
	 * fork so there is nothing to restore */
	for (size_t i = p->n_handed - HANDED_LATE; i < p->n_handed; i++)
		if (FP_HIT("old/cloexec-clear") == FP_ERROR ||
		    fdutil_set_cloexec(p->handed[i].fd, false) != 0)
			return err_set(err, "old/cloexec-clear", errno,
				       "cannot clear CLOEXEC on %s (fd %d)",
				       p->handed[i].role, p->handed[i].fd);
	if (check_aliasing(p, err))
		return -1;
	build_argv(p, o->binary);
	return 0;
}

static int start(const struct state *live, const struct upgrade_old_opts *o,
		 struct upgrade_flight *f, struct bt_err *err)
{
	struct prep p = {.state_fd = -1, .pair = {-1, -1}};
	struct spawn sp = {0};
	enum fp_kind fork_fault;
	pid_t child;

	memset(f, 0, sizeof *f);
	f->child = -1;
	f->timer_fd = -1;
	f->confirm.fd = -1;
	state_init(&p.next);
	if (prepare(&p, live, o, err))
		goto fail;
	sp.path = o->binary;
	sp.argv = p.argv;
	sp.envp = o->envp;
	sp.child_mask = o->child_mask;
	sp.report_fd = p.pair[1];
	sp.exec_step = "child/exec";
	sp.new_group = true;
	sp.hang_seconds = fp_hang_seconds();
	/* decided here: the child may not touch the fault registry */
	sp.exec_fault = FP_DECIDE("child/exec");
	sp.exec_errno = errno;
	fork_fault = FP_HIT("old/fork");
	child = spawn_run(&sp, fork_fault, err);
	if (child < 0) {
		err_step(err, "old/fork");
		goto fail;
	}
	/* The child has its own fd table now: put every flag back at once,
	 * whatever happens next. */
	restore_cloexec(&p);
	if (arm_flight(f, &p, live, child, err)) {
		upgrade_old_abort(f, NULL, 0);
		goto fail;
	}
	prep_release(&p);
	return 0;
fail:
	prep_release(&p);
	return -1;
}

/* The frame of upgrade_frame.h, judged: a failure frame is the new
 * master's own report; a success must name our child and the generation we
 * handed it. */
static int judge_frame(struct upgrade_flight *f, const char *payload, size_t len,
		       pid_t *new_pid, struct bt_err *err)
{
	struct upgrade_frame fr;

	if (upgrade_frame_parse(payload, len, &fr))
		return err_set(err, "old/confirm-read", EPROTO,
			       "the new master sent something that is not a "
			       "confirmation frame: \"%.60s\"", payload);
	if (!fr.ok)
		return err_set(err, fr.step[0] ? fr.step : "new/unknown",
			       fr.has_errno ? fr.errnum : 0, "the new master failed: %s",
			       fr.error[0] ? fr.error
					   : "the child could not exec the new binary");
	if (!fr.has_pid || fr.pid != f->child)
		return err_set(err, "old/confirm-check", EPROTO,
			       "the confirmation names pid %lld, the child is %d",
			       fr.has_pid ? fr.pid : -1LL, (int)f->child);
	if (!fr.has_generation || (uint64_t)fr.generation != f->generation)
		return err_set(err, "old/confirm-check", EPROTO,
			       "the confirmation names generation %lld, expected %llu",
			       fr.has_generation ? fr.generation : -1LL,
			       (unsigned long long)f->generation);
	*new_pid = f->child;
	return 1;
}

static int on_confirm(struct upgrade_flight *f, pid_t *new_pid, struct bt_err *err)
{
	for (;;) {
		char *payload = NULL;
		size_t len;
		int rc = channel_next(&f->confirm, &payload, &len, err);
		ssize_t n;

		if (rc < 0) {
			err_step(err, "old/confirm-read");
			return -1;
		}
		if (rc > 0) {
			rc = judge_frame(f, payload, len, new_pid, err);
			free(payload);
			return rc;
		}
		n = channel_fill(&f->confirm, 0, err);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			err_step(err, "old/confirm-read");
			return -1;
		}
		if (n == 0)
			return err_set(err, "old/confirm-read", ECONNRESET,
				       "the new master closed the confirmation "
				       "channel without confirming");
	}
}

/* A child that failed is usually exiting on its own: give it a moment,
 * so the report says "exited 127" rather than "killed".  A pidfd makes the
 * wait an event, not a polling loop: the one waitpid after it is the only
 * one, whatever the timing. */
static bool exits_within(pid_t child, int ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, child, 0);
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	int rc;

	if (pfd < 0)
		return false;
	do {
		rc = poll(&p, 1, ms);
	} while (rc < 0 && errno == EINTR);
	close(pfd);
	return rc > 0;
}

static void abort_flight(struct upgrade_flight *f, char *how, size_t len)
{
	if (f->child > 0) {
		if (!exits_within(f->child, EXIT_GRACE_MS))
			kill(f->child, SIGKILL);
		spawn_wait(f->child, how, len);
		/* whatever the failed binary started dies with it */
		kill(-f->child, SIGKILL);
	}
	upgrade_old_finish(f);
}

/* Fault points count only inside the upgrade's own code: what the hub's
 * loop does meanwhile (status, workers) must not shift hit numbers. */
int upgrade_old_start(const struct state *live, const struct upgrade_old_opts *o,
		      struct upgrade_flight *f, struct bt_err *err)
{
	int rc;

	fp_arm();
	rc = start(live, o, f, err);
	fp_disarm();
	return rc;
}

int upgrade_old_on_confirm(struct upgrade_flight *f, pid_t *new_pid,
			   struct bt_err *err)
{
	int rc;

	fp_arm();
	rc = on_confirm(f, new_pid, err);
	fp_disarm();
	return rc;
}

void upgrade_old_abort(struct upgrade_flight *f, char *how, size_t len)
{
	fp_arm();
	abort_flight(f, how, len);
	fp_disarm();
}

void upgrade_old_finish(struct upgrade_flight *f)
{
	if (f->confirm.fd >= 0 || f->confirm.rbuf || f->confirm.wbuf)
		channel_close(&f->confirm);
	if (f->timer_fd >= 0)
		close(f->timer_fd);
	f->timer_fd = -1;
	f->child = -1;
}
