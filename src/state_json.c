/* state_json: see state_json.h. */
#include "state_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"

void *state_json_malloc(size_t size)
{
	void *p = NULL;

	if (fp_alloc_refuse())
		return NULL;
	if (FP_HIT("mem/alloc") != FP_ERROR)
		p = malloc(size);
	fp_alloc_note(p != NULL);
	return p;
}

/* jansson 2.14's parser is not safe when an allocation fails: it reports
 * nothing (NULL with an empty message, or "invalid token"), and when its
 * token buffer cannot grow it drops a byte and goes on, with a wrong value
 * or, if the byte was a closing quote and the next allocation succeeds,
 * reading and writing past a heap block.  So every load runs in an
 * allocation scope (failpoint.h): the first failure makes every later
 * allocation fail too, and a load that saw one is thrown away. */
json_t *state_json_load(const char *buf, size_t len, size_t flags,
			json_error_t *jerr, bool *oom)
{
	json_error_t local;
	json_t *root;

	if (!jerr)
		jerr = &local;
	/* jansson leaves the error code byte uninitialized on some paths */
	memset(jerr, 0, sizeof *jerr);
	fp_alloc_scope_begin();
	root = json_loadb(buf, len, flags, jerr);
	*oom = fp_alloc_scope_end();
	if (*oom) {
		/* even a document that came back may have lost a byte */
		json_decref(root);
		return NULL;
	}
	return root;
}

void state_json_free(void *p)
{
	free(p);
}

void state_json_init(void)
{
	json_set_alloc_funcs(state_json_malloc, state_json_free);
	/* jansson reads its hash seed from /dev/urandom on first use; do it
	 * now, so the read is not one of an upgrade's counted calls */
	json_object_seed(0);
}

/* --- serialize --- */

/* json_object_set_new steals the value even when it fails, so a NULL from a
 * failed allocation is simply reported. */
static int put(json_t *obj, const char *key, json_t *value)
{
	return value ? json_object_set_new_nocheck(obj, key, value) : -1;
}

static int append(json_t *arr, json_t *value)
{
	return value ? json_array_append_new(arr, value) : -1;
}

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *config_to_json(const struct state_config *c)
{
	json_t *o = json_object(), *ls = json_array();

	if (!o || !ls)
		goto fail;
	if (put(o, "command_socket", json_string(c->command_socket)) ||
	    put(o, "command_buffer_size", u64(c->command_buffer_size)) ||
	    put(o, "max_command_buffer_size", u64(c->max_command_buffer_size)) ||
	    put(o, "pid_file_path", json_string(c->pid_file_path)) ||
	    put(o, "worker_count", u64(c->worker_count)) ||
	    put(o, "upgrade_timeout_ms", u64(c->upgrade_timeout_ms)))
		goto fail;
	for (size_t i = 0; i < c->n_listeners; i++) {
		json_t *l = json_object();

		if (append(ls, l) ||
		    put(l, "address", json_string(c->listeners[i].address)) ||
		    put(l, "protocol", json_string(c->listeners[i].protocol)))
			goto fail;
	}
	if (put(o, "listeners", ls)) {
		ls = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(ls);
	json_decref(o);
	return NULL;
}

static json_t *workers_to_json(const struct state *s)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < s->n_workers; i++) {
		const struct state_worker *w = &s->workers[i];
		json_t *o = json_object();

		if (append(arr, o) || put(o, "id", u64(w->id)) ||
		    put(o, "pid", json_integer(w->pid)) ||
		    put(o, "run_state", json_string(state_run_name(w->run_state))) ||
		    put(o, "channel_fd", json_integer(w->channel_fd)) ||
		    put(o, "scm_fd", json_integer(w->scm_fd))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int cmp_cluster_ptr(const void *a, const void *b)
{
	const struct state_cluster *x = *(const struct state_cluster *const *)a;
	const struct state_cluster *y = *(const struct state_cluster *const *)b;

	return strcmp(x->name, y->name);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Backends are a map too (state.h): written sorted, whatever the order
 * they were added in. */
static json_t *backends_to_json(const struct state_cluster *c)
{
	json_t *arr = json_array();
	char **sorted = NULL;

	if (!arr)
		return NULL;
	if (c->n_backends) {
		sorted = malloc(c->n_backends * sizeof *sorted);
		if (!sorted)
			goto fail;
		memcpy(sorted, c->backends, c->n_backends * sizeof *sorted);
		qsort(sorted, c->n_backends, sizeof *sorted, cmp_str_ptr);
	}
	for (size_t j = 0; j < c->n_backends; j++)
		if (append(arr, json_string(sorted[j])))
			goto fail;
	free(sorted);
	return arr;
fail:
	free(sorted);
	json_decref(arr);
	return NULL;
}

/* Clusters in key order: jansson keeps insertion order in compact dumps, so
 * inserting sorted is what makes the bytes canonical. */
static json_t *clusters_to_json(const struct state *s)
{
	const struct state_cluster **sorted = NULL;
	json_t *map = json_object(), *st = json_object();

	if (!map || !st)
		goto fail;
	if (s->n_clusters) {
		sorted = malloc(s->n_clusters * sizeof *sorted);
		if (!sorted)
			goto fail;
		for (size_t i = 0; i < s->n_clusters; i++)
			sorted[i] = &s->clusters[i];
		qsort(sorted, s->n_clusters, sizeof *sorted, cmp_cluster_ptr);
	}
	for (size_t i = 0; i < s->n_clusters; i++) {
		json_t *c = json_object();

		if (put(map, sorted[i]->name, c) ||
		    put(c, "backends", backends_to_json(sorted[i])))
			goto fail;
	}
	free(sorted);
	if (put(st, "clusters", map)) {
		json_decref(st);
		return NULL;
	}
	return st;
fail:
	free(sorted);
	json_decref(map);
	json_decref(st);
	return NULL;
}

static json_t *state_to_json(const struct state *s)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (put(o, "format", json_string(STATE_FORMAT)) ||
	    put(o, "version", u64(s->version)) ||
	    put(o, "boot_generation", u64(s->boot_generation)) ||
	    put(o, "command_socket_fd", json_integer(s->command_socket_fd)) ||
	    put(o, "config", config_to_json(&s->config)) ||
	    put(o, "next_client_id", u64(s->next_client_id)) ||
	    put(o, "next_session_id", u64(s->next_session_id)) ||
	    put(o, "next_task_id", u64(s->next_task_id)) ||
	    put(o, "next_worker_id", u64(s->next_worker_id)) ||
	    put(o, "workers", workers_to_json(s)) ||
	    put(o, "state", clusters_to_json(s))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct outbuf {
	char *data;
	size_t len, cap;
	bool failed;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct outbuf *b = data;

	if (b->len + size + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + size + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p) {
			b->failed = true;
			return -1;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, size);
	b->len += size;
	return 0;
}

static bool strings_valid(const struct state *s, struct bt_err *err)
{
	const struct state_config *c = &s->config;

	/* json_string() refuses NULL and invalid UTF-8 by returning NULL,
	 * which would read as out-of-memory; say what is wrong instead. */
	if (!c->command_socket || !c->pid_file_path)
		return err_set(err, "serialize", EINVAL, "%s: not set",
			       c->command_socket ? "$.config.pid_file_path" :
						   "$.config.command_socket"),
		       false;
	if (!state_utf8_valid(c->command_socket))
		return err_set(err, "serialize", EILSEQ,
			       "$.config.command_socket: not valid UTF-8"), false;
	if (!state_utf8_valid(c->pid_file_path))
		return err_set(err, "serialize", EILSEQ,
			       "$.config.pid_file_path: not valid UTF-8"), false;
	for (size_t i = 0; i < c->n_listeners; i++)
		if (!state_utf8_valid(c->listeners[i].address) ||
		    !state_utf8_valid(c->listeners[i].protocol))
			return err_set(err, "serialize", EILSEQ,
				       "$.config.listeners[%zu]: not valid UTF-8", i),
			       false;
	for (size_t i = 0; i < s->n_clusters; i++) {
		if (!state_utf8_valid(s->clusters[i].name))
			return err_set(err, "serialize", EILSEQ,
				       "$.state.clusters: key %zu is not valid UTF-8", i),
			       false;
		for (size_t j = 0; j < s->clusters[i].n_backends; j++)
			if (!state_utf8_valid(s->clusters[i].backends[j]))
				return err_set(err, "serialize", EILSEQ,
					       "$.state.clusters[\"%s\"].backends[%zu]: "
					       "not valid UTF-8",
					       s->clusters[i].name, j),
				       false;
	}
	return true;
}

int state_json_serialize(const struct state *s, char **out, size_t *len,
			 struct bt_err *err)
{
	struct outbuf b = {0};
	json_t *root;
	int rc;

	*out = NULL;
	*len = 0;
	if (!strings_valid(s, err))
		return -1;
	root = state_to_json(s);
	if (!root)
		return err_set(err, "serialize", ENOMEM,
			       "out of memory building the JSON document");
	rc = json_dump_callback(root, dump_cb, &b, JSON_COMPACT);
	json_decref(root);
	if (rc != 0 || b.failed) {
		free(b.data);
		return err_set(err, "serialize", ENOMEM,
			       "out of memory writing the JSON document");
	}
	if (b.len > STATE_JSON_MAX_BYTES) {
		free(b.data);
		return err_set(err, "serialize", EFBIG,
			       "the state is %zu bytes, over the limit of %zu",
			       b.len, STATE_JSON_MAX_BYTES);
	}
	b.data[b.len] = 0;
	*out = b.data;
	*len = b.len;
	return 0;
}

/* --- parse --- */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";	/* JSON_NULL, the last of jansson's types */
	}
}

static int wrong_type(const char *path, const char *expected, const json_t *v,
		      struct bt_err *err)
{
	return err_set(err, "parse", EINVAL, "%s: expected %s, got %s", path,
		       expected, type_name(v));
}

/* Every key of OBJ must be in ALLOWED (NULL-terminated). */
static int no_unknown_fields(json_t *obj, const char *path,
			     const char *const *allowed, struct bt_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool known = false;

		for (size_t i = 0; allowed[i] && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		if (!known)
			return err_set(err, "parse", EINVAL,
				       "%s.%s: unknown field", path, key);
	}
	return 0;
}

static json_t *field(json_t *obj, const char *path, const char *key,
		     const char *expected, struct bt_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		err_set(err, "parse", EINVAL, "%s.%s: missing field (expected %s)",
			path, key, expected);
	return v;
}

static int get_int(json_t *obj, const char *path, const char *key,
		   int64_t lo, int64_t hi, int64_t *out, struct bt_err *err)
{
	char expected[96], fpath[256];
	json_t *v;

	snprintf(expected, sizeof expected, "an integer in [%" PRId64 ", %" PRId64 "]",
		 lo, hi);
	v = field(obj, path, key, expected, err);
	if (!v)
		return -1;
	snprintf(fpath, sizeof fpath, "%s.%s", path, key);
	if (!json_is_integer(v))
		return wrong_type(fpath, expected, v, err);
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return err_set(err, "parse", ERANGE, "%s: expected %s, got %" PRId64,
			       fpath, expected, (int64_t)json_integer_value(v));
	*out = json_integer_value(v);
	return 0;
}

#define GET_INT(obj, path, key, lo, hi, dst)                                  \
	do {                                                                  \
		int64_t v_;                                                   \
		if (get_int(obj, path, key, lo, hi, &v_, err))                \
			return -1;                                            \
		dst = v_;                                                     \
	} while (0)

static int copy_string(json_t *v, const char *path, char **out,
		       struct bt_err *err)
{
	if (!json_is_string(v))
		return wrong_type(path, "a string", v, err);
	if (json_string_length(v) == 0)
		return err_set(err, "parse", EINVAL,
			       "%s: expected a non-empty string", path);
	if (state_set_string(out, json_string_value(v)))
		return err_set(err, "parse", ENOMEM, "%s: out of memory", path);
	return 0;
}

static int get_string(json_t *obj, const char *path, const char *key,
		      char **out, struct bt_err *err)
{
	char fpath[256];
	json_t *v = field(obj, path, key, "a string", err);

	if (!v)
		return -1;
	snprintf(fpath, sizeof fpath, "%s.%s", path, key);
	return copy_string(v, fpath, out, err);
}

static json_t *get_typed(json_t *obj, const char *path, const char *key,
			 json_type type, const char *expected,
			 struct bt_err *err)
{
	char fpath[256];
	json_t *v = field(obj, path, key, expected, err);

	if (v && json_typeof(v) != type) {
		snprintf(fpath, sizeof fpath, "%s.%s", path, key);
		wrong_type(fpath, expected, v, err);
		return NULL;
	}
	return v;
}

static int parse_listeners(json_t *arr, struct state *s, struct bt_err *err)
{
	static const char *const allowed[] = {"address", "protocol", NULL};
	size_t i;
	json_t *l;

	json_array_foreach(arr, i, l) {
		char path[64];
		struct state_listener *ls;

		snprintf(path, sizeof path, "$.config.listeners[%zu]", i);
		if (!json_is_object(l))
			return wrong_type(path, "an object", l, err);
		if (no_unknown_fields(l, path, allowed, err))
			return -1;
		if (state_add_listener(s, "", ""))
			return err_set(err, "parse", ENOMEM, "%s: out of memory", path);
		ls = &s->config.listeners[s->config.n_listeners - 1];
		if (get_string(l, path, "address", &ls->address, err) ||
		    get_string(l, path, "protocol", &ls->protocol, err))
			return -1;
	}
	return 0;
}

static int parse_config(json_t *c, struct state *s, struct bt_err *err)
{
	static const char *const allowed[] = {
		"command_socket", "command_buffer_size", "max_command_buffer_size",
		"pid_file_path", "worker_count", "upgrade_timeout_ms", "listeners",
		NULL};
	const char *path = "$.config";
	struct state_config *cfg = &s->config;
	json_t *ls;

	if (no_unknown_fields(c, path, allowed, err) ||
	    get_string(c, path, "command_socket", &cfg->command_socket, err))
		return -1;
	GET_INT(c, path, "command_buffer_size", 0, INT64_MAX, cfg->command_buffer_size);
	GET_INT(c, path, "max_command_buffer_size", 0, INT64_MAX,
		cfg->max_command_buffer_size);
	if (get_string(c, path, "pid_file_path", &cfg->pid_file_path, err))
		return -1;
	GET_INT(c, path, "worker_count", 0, UINT32_MAX, cfg->worker_count);
	GET_INT(c, path, "upgrade_timeout_ms", 0, INT64_MAX, cfg->upgrade_timeout_ms);
	ls = get_typed(c, path, "listeners", JSON_ARRAY, "an array", err);
	if (!ls)
		return -1;
	return parse_listeners(ls, s, err);
}

static int parse_worker(json_t *o, const char *path, struct state_worker *w,
			struct bt_err *err)
{
	static const char *const allowed[] = {"id", "pid", "run_state",
					      "channel_fd", "scm_fd", NULL};
	char rpath[80];
	json_t *rs;

	if (!json_is_object(o))
		return wrong_type(path, "an object", o, err);
	if (no_unknown_fields(o, path, allowed, err))
		return -1;
	GET_INT(o, path, "id", 0, UINT32_MAX, w->id);
	GET_INT(o, path, "pid", 1, STATE_PID_MAX, w->pid);
	rs = get_typed(o, path, "run_state", JSON_STRING,
		       "one of RUNNING, STOPPING, STOPPED, NOT_ANSWERING", err);
	if (!rs)
		return -1;
	snprintf(rpath, sizeof rpath, "%s.run_state", path);
	if (state_run_from_name(json_string_value(rs), &w->run_state))
		return err_set(err, "parse", EINVAL,
			       "%s: expected one of RUNNING, STOPPING, STOPPED, "
			       "NOT_ANSWERING, got \"%.40s\"",
			       rpath, json_string_value(rs));
	GET_INT(o, path, "channel_fd", STATE_FD_MIN, STATE_FD_MAX, w->channel_fd);
	GET_INT(o, path, "scm_fd", STATE_FD_MIN, STATE_FD_MAX, w->scm_fd);
	return 0;
}

static int parse_workers(json_t *arr, struct state *s, struct bt_err *err)
{
	size_t i;
	json_t *o;

	s->workers = calloc(json_array_size(arr) ? json_array_size(arr) : 1,
			    sizeof *s->workers);
	if (!s->workers)
		return err_set(err, "parse", ENOMEM, "$.workers: out of memory");
	json_array_foreach(arr, i, o) {
		char path[48];

		snprintf(path, sizeof path, "$.workers[%zu]", i);
		if (parse_worker(o, path, &s->workers[i], err))
			return -1;
		s->n_workers++;
	}
	return 0;
}

static int parse_cluster(json_t *c, const char *name, struct state *s,
			 struct bt_err *err)
{
	static const char *const allowed[] = {"backends", NULL};
	char path[160];
	json_t *bs, *b;
	size_t i;
	int k;

	snprintf(path, sizeof path, "$.state.clusters[\"%.100s\"]", name);
	if (!json_is_object(c))
		return wrong_type(path, "an object", c, err);
	if (no_unknown_fields(c, path, allowed, err))
		return -1;
	bs = get_typed(c, path, "backends", JSON_ARRAY, "an array", err);
	if (!bs)
		return -1;
	if (name[0] == 0)
		return err_set(err, "parse", EINVAL,
			       "$.state.clusters: expected non-empty keys");
	k = state_add_cluster(s, name);
	if (k < 0)
		return err_set(err, "parse", ENOMEM, "%s: out of memory", path);
	json_array_foreach(bs, i, b) {
		char bpath[200];
		struct state_cluster *cl = &s->clusters[k];

		snprintf(bpath, sizeof bpath, "%s.backends[%zu]", path, i);
		if (state_add_backend(cl, "x"))
			return err_set(err, "parse", ENOMEM, "%s: out of memory", bpath);
		if (copy_string(b, bpath, &cl->backends[cl->n_backends - 1], err))
			return -1;
	}
	return 0;
}

static int parse_clusters(json_t *st, struct state *s, struct bt_err *err)
{
	static const char *const allowed[] = {"clusters", NULL};
	const char *key;
	json_t *map, *c;

	if (no_unknown_fields(st, "$.state", allowed, err))
		return -1;
	map = get_typed(st, "$.state", "clusters", JSON_OBJECT, "an object", err);
	if (!map)
		return -1;
	json_object_foreach(map, key, c)
		if (parse_cluster(c, key, s, err))
			return -1;
	return 0;
}

static int parse_header(json_t *root, struct state *s, struct bt_err *err)
{
	json_t *f = get_typed(root, "$", "format", JSON_STRING,
			      "\"" STATE_FORMAT "\"", err);
	int64_t v;

	if (!f)
		return -1;
	if (strcmp(json_string_value(f), STATE_FORMAT) != 0)
		return err_set(err, "parse", EINVAL,
			       "$.format: expected \"%s\", got \"%.40s\"",
			       STATE_FORMAT, json_string_value(f));
	if (get_int(root, "$", "version", 0, INT64_MAX, &v, err))
		return -1;
	if (v != STATE_VERSION)
		return err_set(err, "parse", EPROTO,
			       "$.version: unknown version %" PRId64
			       " (this binary knows version %d)",
			       v, STATE_VERSION);
	s->version = (uint32_t)v;
	return 0;
}

static int parse_root(json_t *root, struct state *s, struct bt_err *err)
{
	static const char *const allowed[] = {
		"format", "version", "boot_generation", "command_socket_fd",
		"config", "next_client_id", "next_session_id", "next_task_id",
		"next_worker_id", "workers", "state", NULL};
	json_t *v;

	if (!json_is_object(root))
		return wrong_type("$", "an object", root, err);
	if (parse_header(root, s, err) ||
	    no_unknown_fields(root, "$", allowed, err))
		return -1;
	GET_INT(root, "$", "boot_generation", 0, INT64_MAX, s->boot_generation);
	GET_INT(root, "$", "command_socket_fd", STATE_FD_MIN, STATE_FD_MAX,
		s->command_socket_fd);
	v = get_typed(root, "$", "config", JSON_OBJECT, "an object", err);
	if (!v || parse_config(v, s, err))
		return -1;
	GET_INT(root, "$", "next_client_id", 0, INT64_MAX, s->next_client_id);
	GET_INT(root, "$", "next_session_id", 0, INT64_MAX, s->next_session_id);
	GET_INT(root, "$", "next_task_id", 0, INT64_MAX, s->next_task_id);
	GET_INT(root, "$", "next_worker_id", 0, UINT32_MAX, s->next_worker_id);
	v = get_typed(root, "$", "workers", JSON_ARRAY, "an array", err);
	if (!v || parse_workers(v, s, err))
		return -1;
	v = get_typed(root, "$", "state", JSON_OBJECT, "an object", err);
	if (!v || parse_clusters(v, s, err))
		return -1;
	return 0;
}

int state_json_parse(const char *buf, size_t len, size_t max_bytes,
		     struct state *out, struct bt_err *err)
{
	json_error_t jerr;
	json_t *root;
	bool oom;
	int rc;

	state_init(out);
	if (max_bytes == 0)
		max_bytes = STATE_JSON_MAX_BYTES;
	if (len > max_bytes)
		return err_set(err, "parse", EFBIG,
			       "$: the document is %zu bytes, over the limit of %zu",
			       len, max_bytes);
	if (len == 0)
		return err_set(err, "parse", ENODATA,
			       "$: the document is empty (expected a JSON object)");
	root = state_json_load(buf, len, JSON_REJECT_DUPLICATES, &jerr, &oom);
	if (oom)
		return err_set(err, "parse", ENOMEM,
			       "$: out of memory parsing the JSON document");
	if (!root)
		return err_set(err, "parse", EINVAL,
			       "$: invalid JSON at byte %d (line %d, column %d): %s",
			       jerr.position, jerr.line, jerr.column, jerr.text);
	rc = parse_root(root, out, err);
	json_decref(root);
	if (rc)
		state_free(out);
	return rc;
}
