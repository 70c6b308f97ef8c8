/* state: see state.h. */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const run_names[STATE_RUN_COUNT] = {
	"RUNNING", "STOPPING", "STOPPED", "NOT_ANSWERING"};

const char *state_run_name(enum state_run r)
{
	return (unsigned)r < STATE_RUN_COUNT ? run_names[r] : "?";
}

int state_run_from_name(const char *name, enum state_run *out)
{
	for (int i = 0; i < STATE_RUN_COUNT; i++) {
		if (strcmp(name, run_names[i]) == 0) {
			*out = (enum state_run)i;
			return 0;
		}
	}
	return -1;
}

void state_init(struct state *s)
{
	memset(s, 0, sizeof *s);
	s->version = STATE_VERSION;
	s->command_socket_fd = -1;
}

static void free_cluster(struct state_cluster *c)
{
	for (size_t i = 0; i < c->n_backends; i++)
		free(c->backends[i]);
	free(c->backends);
	free(c->name);
}

void state_free(struct state *s)
{
	free(s->config.command_socket);
	free(s->config.pid_file_path);
	for (size_t i = 0; i < s->config.n_listeners; i++) {
		free(s->config.listeners[i].address);
		free(s->config.listeners[i].protocol);
	}
	free(s->config.listeners);
	free(s->workers);
	for (size_t i = 0; i < s->n_clusters; i++)
		free_cluster(&s->clusters[i]);
	free(s->clusters);
	state_init(s);
}

int state_set_string(char **slot, const char *value)
{
	char *copy = strdup(value ? value : "");

	if (!copy)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

/* Grow an array by one element; the new element is zeroed. */
static void *grow(void *array, size_t n, size_t size)
{
	char *p = realloc(array, (n + 1) * size);

	if (p)
		memset(p + n * size, 0, size);
	return p;
}

int state_add_listener(struct state *s, const char *address,
		       const char *protocol)
{
	struct state_config *c = &s->config;
	struct state_listener *l = grow(c->listeners, c->n_listeners, sizeof *l);

	if (!l)
		return -1;
	c->listeners = l;
	l = &c->listeners[c->n_listeners];
	if (state_set_string(&l->address, address) ||
	    state_set_string(&l->protocol, protocol)) {
		free(l->address);
		free(l->protocol);
		return -1;
	}
	c->n_listeners++;
	return 0;
}

int state_add_worker(struct state *s, const struct state_worker *w)
{
	struct state_worker *ws = grow(s->workers, s->n_workers, sizeof *ws);

	if (!ws)
		return -1;
	s->workers = ws;
	s->workers[s->n_workers++] = *w;
	return 0;
}

int state_remove_worker(struct state *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_workers; i++) {
		if (s->workers[i].id == id) {
			memmove(&s->workers[i], &s->workers[i + 1],
				(s->n_workers - i - 1) * sizeof *s->workers);
			s->n_workers--;
			return 0;
		}
	}
	errno = ENOENT;
	return -1;
}

struct state_worker *state_find_worker(struct state *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_workers; i++)
		if (s->workers[i].id == id)
			return &s->workers[i];
	return NULL;
}

int state_add_cluster(struct state *s, const char *name)
{
	struct state_cluster *cs = grow(s->clusters, s->n_clusters, sizeof *cs);

	if (!cs)
		return -1;
	s->clusters = cs;
	if (state_set_string(&s->clusters[s->n_clusters].name, name))
		return -1;
	return (int)s->n_clusters++;
}

int state_add_backend(struct state_cluster *c, const char *backend)
{
	char **bs = grow(c->backends, c->n_backends, sizeof *bs);

	if (!bs)
		return -1;
	c->backends = bs;
	if (state_set_string(&c->backends[c->n_backends], backend))
		return -1;
	c->n_backends++;
	return 0;
}

int state_copy(struct state *dst, const struct state *src, struct bt_err *err)
{
	const struct state_config *c = &src->config;

	state_init(dst);
	dst->version = src->version;
	dst->boot_generation = src->boot_generation;
	dst->command_socket_fd = src->command_socket_fd;
	dst->config = *c;
	dst->config.command_socket = NULL;
	dst->config.pid_file_path = NULL;
	dst->config.listeners = NULL;
	dst->config.n_listeners = 0;
	dst->next_client_id = src->next_client_id;
	dst->next_session_id = src->next_session_id;
	dst->next_task_id = src->next_task_id;
	dst->next_worker_id = src->next_worker_id;
	if (state_set_string(&dst->config.command_socket, c->command_socket) ||
	    state_set_string(&dst->config.pid_file_path, c->pid_file_path))
		goto fail;
	for (size_t i = 0; i < c->n_listeners; i++)
		if (state_add_listener(dst, c->listeners[i].address,
				       c->listeners[i].protocol))
			goto fail;
	for (size_t i = 0; i < src->n_workers; i++)
		if (state_add_worker(dst, &src->workers[i]))
			goto fail;
	for (size_t i = 0; i < src->n_clusters; i++) {
		const struct state_cluster *sc = &src->clusters[i];
		int k = state_add_cluster(dst, sc->name);

		if (k < 0)
			goto fail;
		for (size_t j = 0; j < sc->n_backends; j++)
			if (state_add_backend(&dst->clusters[k], sc->backends[j]))
				goto fail;
	}
	return 0;
fail:
	state_free(dst);
	return err_set(err, "state-copy", ENOMEM, "out of memory copying the state");
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool config_equal(const struct state_config *a,
			 const struct state_config *b)
{
	if (!str_eq(a->command_socket, b->command_socket) ||
	    !str_eq(a->pid_file_path, b->pid_file_path) ||
	    a->command_buffer_size != b->command_buffer_size ||
	    a->max_command_buffer_size != b->max_command_buffer_size ||
	    a->worker_count != b->worker_count ||
	    a->upgrade_timeout_ms != b->upgrade_timeout_ms ||
	    a->n_listeners != b->n_listeners)
		return false;
	for (size_t i = 0; i < a->n_listeners; i++)
		if (!str_eq(a->listeners[i].address, b->listeners[i].address) ||
		    !str_eq(a->listeners[i].protocol, b->listeners[i].protocol))
			return false;
	return true;
}

static const struct state_cluster *find_cluster(const struct state *s,
						const char *name)
{
	for (size_t i = 0; i < s->n_clusters; i++)
		if (str_eq(s->clusters[i].name, name))
			return &s->clusters[i];
	return NULL;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return strcmp(x ? x : "", y ? y : "");
}

/* How many times V occurs in LIST. */
static size_t count_of(char *const *list, size_t n, const char *v)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += str_eq(list[i], v);
	return k;
}

/* Backends are a map too (state.h): equal as multisets, in any order.
 * Sorted copies make it O(n log n); without memory, count instead. */
static bool cluster_equal(const struct state_cluster *a,
			  const struct state_cluster *b)
{
	size_t n = a->n_backends;
	char **x, **y;
	bool eq = true;

	if (n != b->n_backends)
		return false;
	if (n == 0)
		return true;
	x = malloc(n * sizeof *x);
	y = malloc(n * sizeof *y);
	if (!x || !y) {
		free(x);
		free(y);
		for (size_t i = 0; i < n && eq; i++)
			eq = count_of(a->backends, n, a->backends[i]) ==
			     count_of(b->backends, n, a->backends[i]);
		return eq;
	}
	memcpy(x, a->backends, n * sizeof *x);
	memcpy(y, b->backends, n * sizeof *y);
	qsort(x, n, sizeof *x, cmp_str_ptr);
	qsort(y, n, sizeof *y, cmp_str_ptr);
	for (size_t i = 0; i < n && eq; i++)
		eq = str_eq(x[i], y[i]);
	free(x);
	free(y);
	return eq;
}

bool state_equal(const struct state *a, const struct state *b)
{
	if (a->version != b->version ||
	    a->boot_generation != b->boot_generation ||
	    a->command_socket_fd != b->command_socket_fd ||
	    a->next_client_id != b->next_client_id ||
	    a->next_session_id != b->next_session_id ||
	    a->next_task_id != b->next_task_id ||
	    a->next_worker_id != b->next_worker_id ||
	    a->n_workers != b->n_workers || a->n_clusters != b->n_clusters ||
	    !config_equal(&a->config, &b->config))
		return false;
	for (size_t i = 0; i < a->n_workers; i++) {
		const struct state_worker *x = &a->workers[i], *y = &b->workers[i];

		if (x->id != y->id || x->pid != y->pid ||
		    x->run_state != y->run_state ||
		    x->channel_fd != y->channel_fd || x->scm_fd != y->scm_fd)
			return false;
	}
	/* Names are unique in a valid state, so one direction plus equal
	 * counts is enough. */
	for (size_t i = 0; i < a->n_clusters; i++) {
		const struct state_cluster *o = find_cluster(b, a->clusters[i].name);

		if (!o || !cluster_equal(&a->clusters[i], o))
			return false;
	}
	return true;
}

bool state_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n;
		uint32_t cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* overlong forms, surrogates and values past U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* --- validation --- */

#define I64_MAX_U ((uint64_t)INT64_MAX)

static int check_string(const char *v, const char *path, struct bt_err *err)
{
	if (!v || !*v)
		return err_set(err, "validate", 0, "%s: expected a non-empty string", path);
	if (!state_utf8_valid(v))
		return err_set(err, "validate", 0, "%s: expected valid UTF-8", path);
	return 0;
}

static int check_u64(uint64_t v, uint64_t lo, uint64_t hi, const char *path,
		     struct bt_err *err)
{
	if (v < lo || v > hi)
		return err_set(err, "validate", 0,
			       "%s: expected an integer in [%llu, %llu], got %llu",
			       path, (unsigned long long)lo,
			       (unsigned long long)hi, (unsigned long long)v);
	return 0;
}

static int check_fd(int fd, const char *path, struct bt_err *err)
{
	if (fd < STATE_FD_MIN || fd > STATE_FD_MAX)
		return err_set(err, "validate", 0,
			       "%s: expected an integer in [%d, %d], got %d",
			       path, STATE_FD_MIN, STATE_FD_MAX, fd);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int validate_config(const struct state_config *c, struct bt_err *err)
{
	char path[64];

	if (check_string(c->command_socket, "$.config.command_socket", err) ||
	    check_string(c->pid_file_path, "$.config.pid_file_path", err))
		return -1;
	if (strlen(c->command_socket) > 107)
		return err_set(err, "validate", 0,
			       "$.config.command_socket: %zu bytes does not fit "
			       "a unix socket address (107 at most)",
			       strlen(c->command_socket));
	if (check_u64(c->command_buffer_size, 16, 1u << 30,
		      "$.config.command_buffer_size", err) ||
	    check_u64(c->max_command_buffer_size, c->command_buffer_size,
		      1u << 30, "$.config.max_command_buffer_size", err) ||
	    check_u64(c->worker_count, 0, 4096, "$.config.worker_count", err) ||
	    check_u64(c->upgrade_timeout_ms, 1, 3600000,
		      "$.config.upgrade_timeout_ms", err))
		return -1;
	for (size_t i = 0; i < c->n_listeners; i++) {
		snprintf(path, sizeof path, "$.config.listeners[%zu].address", i);
		if (check_string(c->listeners[i].address, path, err))
			return -1;
		snprintf(path, sizeof path, "$.config.listeners[%zu].protocol", i);
		if (check_string(c->listeners[i].protocol, path, err))
			return -1;
		if (strcmp(c->listeners[i].protocol, "http") != 0)
			return err_set(err, "validate", 0,
				       "%s: expected \"http\", got \"%s\"", path,
				       c->listeners[i].protocol);
		/* port 0 asks the kernel for a port: never a duplicate */
		for (size_t j = 0; j < i && !ends_with(c->listeners[i].address, ":0"); j++)
			if (strcmp(c->listeners[i].address,
				   c->listeners[j].address) == 0)
				return err_set(err, "validate", 0,
					       "$.config.listeners[%zu].address: "
					       "\"%s\" is also "
					       "$.config.listeners[%zu].address",
					       i, c->listeners[i].address, j);
	}
	return 0;
}

/* Every fd the state names, with the path that names it. */
struct fd_use {
	int fd;
	size_t worker;	/* SIZE_MAX for the command socket */
	const char *field;
};

static void fd_use_path(const struct fd_use *u, char *buf, size_t len)
{
	if (u->worker == SIZE_MAX)
		snprintf(buf, len, "$.command_socket_fd");
	else
		snprintf(buf, len, "$.workers[%zu].%s", u->worker, u->field);
}

/* By fd, then by position, so the message for an alias is the same
 * whatever qsort does with equal keys. */
static int cmp_fd_use(const void *a, const void *b)
{
	const struct fd_use *x = a, *y = b;

	if (x->fd != y->fd)
		return (x->fd > y->fd) - (x->fd < y->fd);
	if (x->worker != y->worker)
		return (x->worker > y->worker) - (x->worker < y->worker);
	return strcmp(x->field ? x->field : "", y->field ? y->field : "");
}

static int validate_fds(const struct state *s, struct bt_err *err)
{
	size_t n = 1 + 2 * s->n_workers;
	struct fd_use *u = malloc(n * sizeof *u);
	char p1[64], p2[64];
	int rc = 0;

	if (!u)
		return err_set(err, "validate", ENOMEM, "out of memory");
	u[0] = (struct fd_use){s->command_socket_fd, SIZE_MAX, NULL};
	for (size_t i = 0; i < s->n_workers; i++) {
		u[1 + 2 * i] = (struct fd_use){s->workers[i].channel_fd, i, "channel_fd"};
		u[2 + 2 * i] = (struct fd_use){s->workers[i].scm_fd, i, "scm_fd"};
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		fd_use_path(&u[i], p1, sizeof p1);
		rc = check_fd(u[i].fd, p1, err);
	}
	if (rc == 0) {
		/* sort, then equal neighbours are the aliases: O(n log n) for
		 * states with 100,000 workers */
		qsort(u, n, sizeof *u, cmp_fd_use);
		for (size_t i = 1; i < n; i++) {
			if (u[i].fd != u[i - 1].fd)
				continue;
			fd_use_path(&u[i - 1], p1, sizeof p1);
			fd_use_path(&u[i], p2, sizeof p2);
			rc = err_set(err, "validate", 0,
				     "%s: fd %d is also %s: fds must be pairwise distinct",
				     p2, u[i].fd, p1);
			break;
		}
	}
	free(u);
	return rc;
}

/* A worker id with its index, so a duplicate can name both paths. */
struct id_use {
	uint32_t id;
	size_t worker;
};

static int cmp_id_use(const void *a, const void *b)
{
	const struct id_use *x = a, *y = b;

	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return (x->worker > y->worker) - (x->worker < y->worker);
}

static int validate_workers(const struct state *s, struct bt_err *err)
{
	struct id_use *ids;
	char path[64];
	int rc = 0;

	for (size_t i = 0; i < s->n_workers; i++) {
		const struct state_worker *w = &s->workers[i];

		snprintf(path, sizeof path, "$.workers[%zu].pid", i);
		if (w->pid <= 0 || w->pid > STATE_PID_MAX)
			return err_set(err, "validate", 0,
				       "%s: expected an integer in [1, %d], got %d",
				       path, STATE_PID_MAX, w->pid);
		if ((unsigned)w->run_state >= STATE_RUN_COUNT)
			return err_set(err, "validate", 0,
				       "$.workers[%zu].run_state: unknown run state %d",
				       i, (int)w->run_state);
		if (w->id >= s->next_worker_id)
			return err_set(err, "validate", 0,
				       "$.workers[%zu].id: %u is not below "
				       "$.next_worker_id (%u)",
				       i, w->id, s->next_worker_id);
	}
	if (s->n_workers < 2)
		return 0;
	ids = malloc(s->n_workers * sizeof *ids);
	if (!ids)
		return err_set(err, "validate", ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n_workers; i++)
		ids[i] = (struct id_use){s->workers[i].id, i};
	qsort(ids, s->n_workers, sizeof *ids, cmp_id_use);
	for (size_t i = 1; i < s->n_workers; i++) {
		if (ids[i].id == ids[i - 1].id) {
			rc = err_set(err, "validate", 0,
				     "$.workers[%zu].id: worker id %u is also "
				     "$.workers[%zu].id",
				     ids[i].worker, ids[i].id, ids[i - 1].worker);
			break;
		}
	}
	free(ids);
	return rc;
}

static int validate_clusters(const struct state *s, struct bt_err *err)
{
	char path[96];

	for (size_t i = 0; i < s->n_clusters; i++) {
		const struct state_cluster *c = &s->clusters[i];

		if (check_string(c->name, "$.state.clusters (a key)", err))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->name, s->clusters[j].name) == 0)
				return err_set(err, "validate", 0,
					       "$.state.clusters: key \"%s\" appears twice",
					       c->name);
		for (size_t j = 0; j < c->n_backends; j++) {
			snprintf(path, sizeof path, "$.state.clusters[\"%.40s\"].backends[%zu]",
				 c->name, j);
			if (check_string(c->backends[j], path, err))
				return -1;
		}
	}
	return 0;
}

int state_validate(const struct state *s, struct bt_err *err)
{
	if (s->version != STATE_VERSION)
		return err_set(err, "validate", 0,
			       "$.version: unknown version %u (this binary knows version %d)",
			       s->version, STATE_VERSION);
	if (check_u64(s->boot_generation, 0, I64_MAX_U, "$.boot_generation", err) ||
	    check_u64(s->next_client_id, 0, I64_MAX_U, "$.next_client_id", err) ||
	    check_u64(s->next_session_id, 0, I64_MAX_U, "$.next_session_id", err) ||
	    check_u64(s->next_task_id, 0, I64_MAX_U, "$.next_task_id", err))
		return -1;
	if (validate_config(&s->config, err) || validate_workers(s, err) ||
	    validate_fds(s, err) || validate_clusters(s, err))
		return -1;
	return 0;
}
