/* state_json: see state_json.h. */
#include "state_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_guard.h"

/* --- serialize --- */

/* The canonical form is written directly, not through a jansson tree: the
 * schema is fixed, so a tree would only cost allocations (several per
 * worker) and time.  Strings are escaped exactly as jansson's compact dump
 * escapes them (\" \\ \b \f \n \r \t, other control bytes as \u00XX,
 * UTF-8 as is), so jansson reads back every byte and the round trip is
 * byte-identical.  The buffer grows through json_guard_malloc: the
 * mem/alloc fault point sits under serialize too. */
struct outbuf {
	char *data;
	size_t len, cap;
	bool failed;
};

static bool reserve(struct outbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = json_guard_malloc(cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	if (b->len)
		memcpy(p, b->data, b->len);
	json_guard_free(b->data);
	b->data = p;
	b->cap = cap;
	return true;
}

static void put_raw(struct outbuf *b, const char *text, size_t n)
{
	if (reserve(b, n)) {
		memcpy(b->data + b->len, text, n);
		b->len += n;
	}
}

#define PUT_LIT(b, lit) put_raw(b, lit, sizeof lit - 1)

static void put_int(struct outbuf *b, int64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof digits, "%" PRId64, v);

	put_raw(b, digits, (size_t)n);
}

/* u64 fields are written as jansson's json_int_t would hold them */
static void put_u64(struct outbuf *b, uint64_t v)
{
	put_int(b, (int64_t)v);
}

static void put_string(struct outbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = s;

	PUT_LIT(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6];
		size_t n = 2;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		put_raw(b, run, (size_t)(s - run));
		run = s + 1;
		esc[0] = '\\';
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			n = 6;
		}
		put_raw(b, esc, n);
	}
	put_raw(b, run, (size_t)(s - run));
	PUT_LIT(b, "\"");
}

static void put_config(struct outbuf *b, const struct state_config *c)
{
	PUT_LIT(b, "{\"command_socket\":");
	put_string(b, c->command_socket);
	PUT_LIT(b, ",\"command_buffer_size\":");
	put_u64(b, c->command_buffer_size);
	PUT_LIT(b, ",\"max_command_buffer_size\":");
	put_u64(b, c->max_command_buffer_size);
	PUT_LIT(b, ",\"pid_file_path\":");
	put_string(b, c->pid_file_path);
	PUT_LIT(b, ",\"worker_count\":");
	put_u64(b, c->worker_count);
	PUT_LIT(b, ",\"upgrade_timeout_ms\":");
	put_u64(b, c->upgrade_timeout_ms);
	PUT_LIT(b, ",\"listeners\":[");
	for (size_t i = 0; i < c->n_listeners; i++) {
		if (i)
			PUT_LIT(b, ",");
		PUT_LIT(b, "{\"address\":");
		put_string(b, c->listeners[i].address);
		PUT_LIT(b, ",\"protocol\":");
		put_string(b, c->listeners[i].protocol);
		PUT_LIT(b, "}");
	}
	PUT_LIT(b, "]}");
}

static void put_workers(struct outbuf *b, const struct state *s)
{
	PUT_LIT(b, "[");
	for (size_t i = 0; i < s->n_workers; i++) {
		const struct state_worker *w = &s->workers[i];

		if (i)
			PUT_LIT(b, ",");
		PUT_LIT(b, "{\"id\":");
		put_u64(b, w->id);
		PUT_LIT(b, ",\"pid\":");
		put_int(b, w->pid);
		PUT_LIT(b, ",\"run_state\":");
		put_string(b, state_run_name(w->run_state));
		PUT_LIT(b, ",\"channel_fd\":");
		put_int(b, w->channel_fd);
		PUT_LIT(b, ",\"scm_fd\":");
		put_int(b, w->scm_fd);
		PUT_LIT(b, "}");
	}
	PUT_LIT(b, "]");
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

/* A sorted copy of N pointers; NULL (and the buffer marked failed) when
 * the allocation fails. */
static void *sorted_ptrs(struct outbuf *b, const void *src, size_t n,
			 int (*cmp)(const void *, const void *))
{
	void *v;

	if (n == 0 || b->failed)
		return NULL;
	v = json_guard_malloc(n * sizeof(void *));
	if (!v) {
		b->failed = true;
		return NULL;
	}
	memcpy(v, src, n * sizeof(void *));
	qsort(v, n, sizeof(void *), cmp);
	return v;
}

/* Backends are a map too (state.h): written sorted, whatever the order
 * they were added in. */
static void put_backends(struct outbuf *b, const struct state_cluster *c)
{
	char **sorted = sorted_ptrs(b, c->backends, c->n_backends, cmp_str_ptr);

	PUT_LIT(b, "{\"backends\":[");
	for (size_t j = 0; sorted && j < c->n_backends; j++) {
		if (j)
			PUT_LIT(b, ",");
		put_string(b, sorted[j]);
	}
	PUT_LIT(b, "]}");
	json_guard_free(sorted);
}

/* Clusters in key order.  Two clusters of one name (an invalid model)
 * come out once, with the last one's backends, as a JSON object would
 * hold them. */
static void put_clusters(struct outbuf *b, const struct state *s)
{
	const struct state_cluster **ptrs = NULL, **sorted;
	bool first = true;

	if (s->n_clusters) {
		ptrs = json_guard_malloc(s->n_clusters * sizeof *ptrs);
		if (!ptrs) {
			b->failed = true;
			return;
		}
		for (size_t i = 0; i < s->n_clusters; i++)
			ptrs[i] = &s->clusters[i];
	}
	sorted = sorted_ptrs(b, ptrs, s->n_clusters, cmp_cluster_ptr);
	json_guard_free(ptrs);
	PUT_LIT(b, "{\"clusters\":{");
	for (size_t i = 0; sorted && i < s->n_clusters; i++) {
		if (i + 1 < s->n_clusters && !strcmp(sorted[i]->name, sorted[i + 1]->name))
			continue;
		if (!first)
			PUT_LIT(b, ",");
		first = false;
		put_string(b, sorted[i]->name);
		PUT_LIT(b, ":");
		put_backends(b, sorted[i]);
	}
	PUT_LIT(b, "}}");
	json_guard_free(sorted);
}

static void put_state(struct outbuf *b, const struct state *s)
{
	PUT_LIT(b, "{\"format\":\"" STATE_FORMAT "\",\"version\":");
	put_u64(b, s->version);
	PUT_LIT(b, ",\"boot_generation\":");
	put_u64(b, s->boot_generation);
	PUT_LIT(b, ",\"command_socket_fd\":");
	put_int(b, s->command_socket_fd);
	PUT_LIT(b, ",\"config\":");
	put_config(b, &s->config);
	PUT_LIT(b, ",\"next_client_id\":");
	put_u64(b, s->next_client_id);
	PUT_LIT(b, ",\"next_session_id\":");
	put_u64(b, s->next_session_id);
	PUT_LIT(b, ",\"next_task_id\":");
	put_u64(b, s->next_task_id);
	PUT_LIT(b, ",\"next_worker_id\":");
	put_u64(b, s->next_worker_id);
	PUT_LIT(b, ",\"workers\":");
	put_workers(b, s);
	PUT_LIT(b, ",\"state\":");
	put_clusters(b, s);
	PUT_LIT(b, "}");
}

static bool strings_valid(const struct state *s, struct bt_err *err)
{
	const struct state_config *c = &s->config;

	/* a NULL or invalid UTF-8 string could not be read back: say which */
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

	*out = NULL;
	*len = 0;
	if (!strings_valid(s, err))
		return -1;
	put_state(&b, s);
	if (b.failed) {
		json_guard_free(b.data);
		return err_set(err, "serialize", ENOMEM,
			       "out of memory writing the JSON document");
	}
	if (b.len > STATE_JSON_MAX_BYTES) {
		json_guard_free(b.data);
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
	json_t *v = json_object_get(obj, key);

	/* the common case first: the messages cost more than the parse */
	if (v && json_is_integer(v) && json_integer_value(v) >= lo &&
	    json_integer_value(v) <= hi) {
		*out = json_integer_value(v);
		return 0;
	}
	snprintf(expected, sizeof expected, "an integer in [%" PRId64 ", %" PRId64 "]",
		 lo, hi);
	if (!field(obj, path, key, expected, err))
		return -1;
	snprintf(fpath, sizeof fpath, "%s.%s", path, key);
	if (!json_is_integer(v))
		return wrong_type(fpath, expected, v, err);
	return err_set(err, "parse", ERANGE, "%s: expected %s, got %" PRId64, fpath,
		       expected, (int64_t)json_integer_value(v));
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
	if (state_run_from_name(json_string_value(rs), &w->run_state))
		return err_set(err, "parse", EINVAL,
			       "%s.run_state: expected one of RUNNING, STOPPING, "
			       "STOPPED, NOT_ANSWERING, got \"%.40s\"",
			       path, json_string_value(rs));
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

		/* the path is written only for the message of a bad worker:
		 * the same check runs again with it */
		if (parse_worker(o, "", &s->workers[i], NULL) == 0) {
			s->n_workers++;
			continue;
		}
		snprintf(path, sizeof path, "$.workers[%zu]", i);
		return parse_worker(o, path, &s->workers[i], err);
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
	root = json_guard_load(buf, len, JSON_REJECT_DUPLICATES, &jerr, &oom);
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
