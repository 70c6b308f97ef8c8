/* scm: see scm.h. */
#include "scm.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "json_guard.h"

/* --- manifest --- */

void scm_manifest_free(struct scm_manifest *m)
{
	scm_free_names(m->names, m->n_names);
	memset(m, 0, sizeof *m);
}

void scm_free_names(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int manifest_count(json_t *o, const char *key, size_t *out,
			  struct bt_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return err_set(err, "scm-manifest", EPROTO,
			       "manifest.%s: missing field (expected an integer)", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 16777216)
		return err_set(err, "scm-manifest", EPROTO,
			       "manifest.%s: expected an integer in [0, 16777216]", key);
	*out = (size_t)json_integer_value(v);
	return 0;
}

static int manifest_names(json_t *arr, struct scm_manifest *m,
			  struct bt_err *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return err_set(err, "scm-manifest", EPROTO,
			       "manifest.names: expected an array of strings");
	if (json_array_size(arr) > SCM_BATCH_MAX + 1)
		return err_set(err, "scm-manifest", EPROTO,
			       "manifest.names: %zu names, more than one message "
			       "can carry", json_array_size(arr));
	m->names = calloc(json_array_size(arr) + 1, sizeof *m->names);
	if (!m->names)
		return err_set(err, "scm-manifest", ENOMEM, "out of memory");
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 255)
			return err_set(err, "scm-manifest", EPROTO,
				       "manifest.names[%zu]: expected a string of "
				       "1 to 255 bytes", i);
		m->names[i] = strdup(json_string_value(v));
		if (!m->names[i])
			return err_set(err, "scm-manifest", ENOMEM, "out of memory");
		m->n_names++;
	}
	return 0;
}

int scm_manifest_parse(const char *buf, size_t len, struct scm_manifest *m,
		       struct bt_err *err)
{
	static const char *const allowed[] = {"batch", "batches", "total",
					      "names", NULL};
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	bool oom;
	int rc = -1;

	memset(m, 0, sizeof *m);
	if (len > SCM_MANIFEST_MAX)
		return err_set(err, "scm-manifest", EMSGSIZE,
			       "manifest of %zu bytes is over the limit of %zu",
			       len, SCM_MANIFEST_MAX);
	root = json_guard_load(buf, len, JSON_REJECT_DUPLICATES, &jerr, &oom);
	if (oom)
		return err_set(err, "scm-manifest", ENOMEM,
			       "manifest: out of memory parsing it");
	if (!root)
		return err_set(err, "scm-manifest", EPROTO,
			       "manifest: invalid JSON at byte %d: %s",
			       jerr.position, jerr.text);
	if (!json_is_object(root)) {
		err_set(err, "scm-manifest", EPROTO, "manifest: expected an object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		bool known = false;

		for (size_t i = 0; allowed[i]; i++)
			known |= strcmp(key, allowed[i]) == 0;
		if (!known) {
			err_set(err, "scm-manifest", EPROTO,
				"manifest.%.40s: unknown field", key);
			goto out;
		}
	}
	if (manifest_count(root, "batch", &m->batch, err) ||
	    manifest_count(root, "batches", &m->batches, err) ||
	    manifest_count(root, "total", &m->total, err))
		goto out;
	v = json_object_get(root, "names");
	if (!v) {
		err_set(err, "scm-manifest", EPROTO,
			"manifest.names: missing field (expected an array of strings)");
		goto out;
	}
	if (manifest_names(v, m, err))
		goto out;
	if (m->batches == 0 || m->batch >= m->batches) {
		err_set(err, "scm-manifest", EPROTO,
			"manifest: batch %zu of %zu is not a batch index",
			m->batch, m->batches);
		goto out;
	}
	if (m->n_names > m->total) {
		err_set(err, "scm-manifest", EPROTO,
			"manifest: %zu names in one batch, more than the total %zu",
			m->n_names, m->total);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc)
		scm_manifest_free(m);
	return rc;
}

/* --- send --- */

static char *manifest_json(size_t batch, size_t batches, size_t total,
			   const char *const *names, size_t n)
{
	json_t *o = json_object(), *arr = json_array();
	char *text = NULL;

	if (!o || !arr)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(names[i])))
			goto out;
	if (json_object_set_new(o, "batch", json_integer((json_int_t)batch)) ||
	    json_object_set_new(o, "batches", json_integer((json_int_t)batches)) ||
	    json_object_set_new(o, "total", json_integer((json_int_t)total)))
		goto out;
	if (json_object_set(o, "names", arr))
		goto out;
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(arr);
	json_decref(o);
	return text;
}

/* One batch: header+manifest with the fds on the first sendmsg. */
static int send_batch(int sock, const int *fds, size_t nfds, const char *msg,
		      size_t mlen, int64_t deadline, struct bt_err *err)
{
	unsigned char *frame = malloc(CHANNEL_HEADER + mlen);
	union {
		char buf[CMSG_SPACE(sizeof(int) * SCM_BATCH_MAX)];
		struct cmsghdr align;
	} ctl;
	size_t off = 0, total = CHANNEL_HEADER + mlen;
	bool fds_sent = nfds == 0;

	if (!frame)
		return err_set(err, "scm-send", ENOMEM, "out of memory");
	channel_frame_header(frame, mlen);
	memcpy(frame + CHANNEL_HEADER, msg, mlen);
	while (off < total) {
		struct iovec iov = {frame + off, total - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (!fds_sent) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof ctl);
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		/* MSG_DONTWAIT: on a blocking socket too, a peer that does
		 * not read meets the deadline instead of hanging us */
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    channel_wait_fd(sock, POLLOUT, deadline, "scm-send", err) == 0)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ETIMEDOUT)
				err_set(err, "scm-send", errno,
					"sendmsg of %zu fds on fd %d failed", nfds, sock);
			free(frame);
			return -1;
		}
		fds_sent = true;
		off += (size_t)n;
	}
	free(frame);
	return 0;
}

int scm_send(int sock, const int *fds, const char *const *names, size_t n,
	     int timeout_ms, struct bt_err *err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : channel_now_ms() + timeout_ms;
	size_t batches = n == 0 ? 1 : (n + SCM_BATCH_MAX - 1) / SCM_BATCH_MAX;

	for (size_t b = 0; b < batches; b++) {
		size_t first = b * SCM_BATCH_MAX;
		size_t count = n - first < SCM_BATCH_MAX ? n - first : SCM_BATCH_MAX;
		char *msg = manifest_json(b, batches, n, names + first, count);
		int rc;

		if (!msg)
			return err_set(err, "scm-send", ENOMEM,
				       "cannot build the manifest of batch %zu", b);
		rc = send_batch(sock, fds + first, count, msg, strlen(msg),
				deadline, err);
		free(msg);
		if (rc)
			return err_wrap(err, "batch %zu of %zu: ", b + 1, batches);
	}
	return 0;
}

/* --- receive --- */

struct fdset {
	int *fds;
	size_t n, cap;
};

static void fdset_close(struct fdset *s)
{
	for (size_t i = 0; i < s->n; i++)
		close(s->fds[i]);
	free(s->fds);
	memset(s, 0, sizeof *s);
}

static int fdset_add(struct fdset *s, int fd)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		int *p = realloc(s->fds, cap * sizeof *p);

		if (!p)
			return -1;
		s->fds = p;
		s->cap = cap;
	}
	s->fds[s->n++] = fd;
	return 0;
}

/* Take every SCM_RIGHTS fd out of the control data, even on error, so
 * none escapes the caller's bookkeeping. */
static int collect_fds(struct msghdr *mh, struct fdset *into, struct bt_err *err)
{
	int rc = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (fdset_add(into, fd)) {
				close(fd);
				rc = err_set(err, "scm-recv", ENOMEM, "out of memory");
			}
		}
	}
	return rc;
}

/* Read exactly LEN bytes, gathering any fds that come with them. */
static int recv_exact(int sock, void *buf, size_t len, size_t max_fds,
		      struct fdset *into, int64_t deadline, struct bt_err *err)
{
	size_t ctl_len = CMSG_SPACE(sizeof(int) * max_fds);
	char *ctl = malloc(ctl_len);
	size_t got = 0;
	int rc = 0;

	if (!ctl)
		return err_set(err, "scm-recv", ENOMEM, "out of memory");
	while (got < len && rc == 0) {
		struct iovec iov = {(char *)buf + got, len - got};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = ctl_len};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				rc = channel_wait_fd(sock, POLLIN, deadline, "scm-recv", err);
			else
				rc = err_set(err, "scm-recv", errno,
					     "recvmsg on fd %d failed", sock);
			continue;
		}
		rc = collect_fds(&mh, into, err);
		if (rc == 0 && (mh.msg_flags & MSG_CTRUNC))
			rc = err_set(err, "scm-recv", EPROTO,
				     "control data truncated (MSG_CTRUNC): the peer "
				     "sent more fds than one message may carry (%zu)",
				     max_fds);
		if (rc == 0 && n == 0)
			rc = err_set(err, "scm-recv", ECONNRESET,
				     "the peer closed fd %d after %zu of %zu bytes",
				     sock, got, len);
		got += n > 0 ? (size_t)n : 0;
	}
	free(ctl);
	return rc;
}

static int recv_batch(int sock, const struct scm_recv_opts *o,
		      struct scm_manifest *m, struct fdset *batch,
		      int64_t deadline, struct bt_err *err)
{
	unsigned char hdr[CHANNEL_HEADER];
	uint64_t mlen = 0;
	char *body;
	int rc;

	if (recv_exact(sock, hdr, sizeof hdr, o->max_fds_per_msg, batch,
		       deadline, err))
		return -1;
	for (int i = CHANNEL_HEADER - 1; i >= 0; i--)
		mlen = (mlen << 8) | hdr[i];
	if (mlen == 0 || mlen > SCM_MANIFEST_MAX)
		return err_set(err, "scm-recv", EPROTO,
			       "manifest length %llu is not in [1, %zu]",
			       (unsigned long long)mlen, SCM_MANIFEST_MAX);
	body = malloc(mlen);
	if (!body)
		return err_set(err, "scm-recv", ENOMEM, "out of memory");
	rc = recv_exact(sock, body, mlen, o->max_fds_per_msg, batch, deadline, err);
	if (rc == 0)
		rc = scm_manifest_parse(body, mlen, m, err);
	free(body);
	if (rc == 0 && m->n_names != batch->n) {
		rc = err_set(err, "scm-recv", EPROTO,
			     "batch %zu: the manifest names %zu fds but %zu arrived",
			     m->batch, m->n_names, batch->n);
		scm_manifest_free(m);
	}
	return rc;
}

/* Move the names of M to the end of NAMES. */
static int take_names(struct scm_manifest *m, char ***names, size_t *n)
{
	char **p = realloc(*names, (*n + m->n_names + 1) * sizeof *p);

	if (!p)
		return -1;
	memcpy(p + *n, m->names, m->n_names * sizeof *p);
	*names = p;
	*n += m->n_names;
	free(m->names);
	m->names = NULL;
	m->n_names = 0;
	return 0;
}

static int check_sequence(const struct scm_manifest *m, size_t expect_batch,
			  const struct scm_manifest *first, size_t received,
			  size_t max_total, struct bt_err *err)
{
	if (m->batch != expect_batch)
		return err_set(err, "scm-recv", EPROTO,
			       "expected batch %zu, got batch %zu", expect_batch,
			       m->batch);
	if (first && (m->batches != first->batches || m->total != first->total))
		return err_set(err, "scm-recv", EPROTO,
			       "batch %zu announces %zu batches / %zu fds, the "
			       "first announced %zu / %zu", m->batch, m->batches,
			       m->total, first->batches, first->total);
	if (m->total > max_total)
		return err_set(err, "scm-recv", EPROTO,
			       "the peer announces %zu fds, over the limit of %zu",
			       m->total, max_total);
	if (received + m->n_names > m->total)
		return err_set(err, "scm-recv", EPROTO,
			       "more fds (%zu) than the announced total %zu",
			       received + m->n_names, m->total);
	if (m->batch + 1 == m->batches && received + m->n_names != m->total)
		return err_set(err, "scm-recv", EPROTO,
			       "the last batch leaves %zu fds of the announced %zu",
			       received + m->n_names, m->total);
	return 0;
}

int scm_recv(int sock, const struct scm_recv_opts *opts, int **fds,
	     char ***names, size_t *n, struct bt_err *err)
{
	struct scm_recv_opts o = {253, 65536, -1};
	struct scm_manifest first = {0};
	struct fdset all = {0};
	char **nm = NULL;
	size_t n_nm = 0;
	int64_t deadline;

	if (opts) {
		o = *opts;
		if (!o.max_fds_per_msg)
			o.max_fds_per_msg = 253;
		if (!o.max_total)
			o.max_total = 65536;
	}
	deadline = o.timeout_ms < 0 ? -1 : channel_now_ms() + o.timeout_ms;
	*fds = NULL;
	*names = NULL;
	*n = 0;
	for (size_t b = 0;; b++) {
		struct scm_manifest m = {0};
		struct fdset batch = {0};
		bool last;

		if (recv_batch(sock, &o, &m, &batch, deadline, err) ||
		    check_sequence(&m, b, b ? &first : NULL, all.n, o.max_total,
				   err)) {
			fdset_close(&batch);
			scm_manifest_free(&m);
			goto fail;
		}
		for (size_t i = 0; i < batch.n; i++) {
			if (fdset_add(&all, batch.fds[i])) {
				/* the rest of this batch is still ours to close */
				for (size_t j = i; j < batch.n; j++)
					close(batch.fds[j]);
				free(batch.fds);
				scm_manifest_free(&m);
				err_set(err, "scm-recv", ENOMEM, "out of memory");
				goto fail;
			}
		}
		free(batch.fds);
		first.batches = m.batches;
		first.total = m.total;
		last = m.batch + 1 == m.batches;
		if (take_names(&m, &nm, &n_nm)) {
			scm_manifest_free(&m);
			err_set(err, "scm-recv", ENOMEM, "out of memory");
			goto fail;
		}
		if (last)
			break;
	}
	*fds = all.fds;
	*names = nm;
	*n = all.n;
	if (!*fds)
		*fds = calloc(1, sizeof(int));
	return 0;
fail:
	fdset_close(&all);
	scm_free_names(nm, n_nm);
	return -1;
}
