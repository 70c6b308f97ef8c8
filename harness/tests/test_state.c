/* test_state: the state model and its JSON codec (format v1).
 *
 * Round trips on generated states, the canonical bytes whatever the map
 * order, a table of rejected documents (each error names a JSON path or a
 * byte offset), state_validate's cross-field rules, and out-of-memory at
 * every jansson allocation of a parse and a serialize. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint_control.h"
#include "state.h"
#include "json_guard.h"
#include "state_json.h"
#include "lib/stategen.h"

#define ROUNDTRIP_STATES 1100

/* --- a counting allocator under jansson --- */

/* Live jansson blocks: every test ends with zero.  The counting functions
 * call json_guard_malloc/free, so the mem/alloc fault point stays
 * underneath. */
static long live_blocks;
static unsigned long alloc_calls;

static void *count_malloc(size_t size)
{
	void *p = json_guard_malloc(size);

	alloc_calls++;
	if (p)
		live_blocks++;
	return p;
}

static void count_free(void *p)
{
	if (p)
		live_blocks--;
	json_guard_free(p);
}

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the message \"%s\"", needle, hay);
}

/* --- every malloc of the process, during one run of the OOM sweep ---
 *
 * The jansson counter cannot see plain malloc: serialize's output buffer,
 * the strings of a struct state.  This shim (the executable's malloc comes
 * before libc's, for every library) records each block handed out while
 * tracking is on and forgets it when freed: what is left at the end of a
 * run leaked.  Single-threaded, like the suite. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);

#define TRACK_MAX 4096
static void *tracked[TRACK_MAX];
static size_t n_tracked, track_seen;
static bool tracking, track_overflow;

static __attribute__((unused)) void track_add(void *p)
{
	if (!tracking || !p)
		return;
	track_seen++;
	if (n_tracked == TRACK_MAX)
		track_overflow = true;
	else
		tracked[n_tracked++] = p;
}

static __attribute__((unused)) void track_del(void *p)
{
	if (!tracking || !p)
		return;
	for (size_t i = n_tracked; i-- > 0;) {
		if (tracked[i] == p) {
			tracked[i] = tracked[--n_tracked];
			return;
		}
	}
}

/* Under ASan the sanitizer owns malloc (and LeakSanitizer checks leaks at
 * exit): the shim would hand it blocks it never made. */
#ifndef UNDER_ASAN
void *malloc(size_t size)
{
	void *p = __libc_malloc(size);

	track_add(p);
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	track_add(p);
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p = __libc_realloc(old, size);

	/* a failed realloc leaves OLD allocated; size 0 frees it */
	if (p || size == 0)
		track_del(old);
	track_add(p);
	return p;
}

void free(void *p)
{
	track_del(p);
	__libc_free(p);
}
#endif

static void track_start(void)
{
	n_tracked = 0;
	track_overflow = false;
	tracking = true;
}

/* Is this shim the process's malloc?  Under valgrind, valgrind's malloc
 * wins, and valgrind does the leak check; anywhere else it must be. */
static void check_shim(void)
{
	void *(*volatile m)(size_t) = malloc;
	size_t seen = track_seen;
	const char *preload = getenv("LD_PRELOAD");
	void *p;

#ifdef UNDER_ASAN
	(void)m, (void)seen, (void)preload, (void)p;
	return;
#endif
	tracking = true;
	p = m(1);
	tracking = false;
	n_tracked = 0;
	free(p);
	if (track_seen == seen)
		assert_true(preload && strstr(preload, "vgpreload"));
}

static void track_stop(unsigned run)
{
	tracking = false;
	assert_false(track_overflow);
	if (n_tracked)
		fail_msg("run %u left %zu blocks allocated", run, n_tracked);
}

/* --- the design's sample document --- */

/* clang-format off */
#define W_(id, pid, rs, ch, scm)                                              \
	"{\"id\":" id ",\"pid\":" pid ",\"run_state\":" rs                    \
	",\"channel_fd\":" ch ",\"scm_fd\":" scm "}"
#define W0 W_("0", "4242", "\"RUNNING\"", "7", "9")
#define HEAD_(fmt, ver) "{\"format\":" fmt ",\"version\":" ver ","
#define HEAD HEAD_("\"baton-upgrade-state\"", "1")
#define TOP "\"boot_generation\":3,\"command_socket_fd\":5,"
#define LISTENER "{\"address\":\"127.0.0.1:8080\",\"protocol\":\"http\"}"
#define CONFIG_(sock, extra, listeners)                                       \
	"\"config\":{\"command_socket\":" sock ",\"command_buffer_size\":"    \
	"1000000,\"max_command_buffer_size\":2000000,\"pid_file_path\":"      \
	"\"/run/baton/baton.pid\",\"worker_count\":2,\"upgrade_timeout_ms\":" \
	"10000" extra ",\"listeners\":[" listeners "]},"
#define CONFIG CONFIG_("\"/run/baton/baton.sock\"", "", LISTENER)
#define IDS                                                                   \
	"\"next_client_id\":5,\"next_session_id\":9,\"next_task_id\":14,"     \
	"\"next_worker_id\":2,"
#define WORKERS_(w) "\"workers\":[" w "],"
#define CLUSTER "\"api\":{\"backends\":[\"127.0.0.1:9000\"]}"
#define STATE_(c) "\"state\":{\"clusters\":{" c "}}}"

/* Documents that differ from the sample in one part. */
#define DOC_HEAD(h) h TOP CONFIG IDS WORKERS_(W0) STATE_(CLUSTER)
#define DOC_TOP(t) HEAD t CONFIG IDS WORKERS_(W0) STATE_(CLUSTER)
#define DOC_CONFIG(c) HEAD TOP c IDS WORKERS_(W0) STATE_(CLUSTER)
#define DOC_IDS(i) HEAD TOP CONFIG i WORKERS_(W0) STATE_(CLUSTER)
#define DOC_WORKERS(w) HEAD TOP CONFIG IDS w STATE_(CLUSTER)
#define DOC_STATE(s) HEAD TOP CONFIG IDS WORKERS_(W0) s
#define SAMPLE DOC_STATE(STATE_(CLUSTER))

/* The sample as the design shows it: spaces, line breaks.  It must parse
 * to the same state and come out as SAMPLE, byte for byte. */
static const char sample_pretty[] =
	"{\"format\":\"baton-upgrade-state\",\"version\":1,\"boot_generation\":3,\n"
	" \"command_socket_fd\":5,\n"
	" \"config\":{\"command_socket\":\"/run/baton/baton.sock\","
	"\"command_buffer_size\":1000000,\n"
	"           \"max_command_buffer_size\":2000000,\"pid_file_path\":"
	"\"/run/baton/baton.pid\",\n"
	"           \"worker_count\":2,\"upgrade_timeout_ms\":10000,\n"
	"           \"listeners\":[{\"address\":\"127.0.0.1:8080\","
	"\"protocol\":\"http\"}]},\n"
	" \"next_client_id\":5,\"next_session_id\":9,\"next_task_id\":14,"
	"\"next_worker_id\":2,\n"
	" \"workers\":[{\"id\":0,\"pid\":4242,\"run_state\":\"RUNNING\","
	"\"channel_fd\":7,\"scm_fd\":9}],\n"
	" \"state\":{\"clusters\":{\"api\":{\"backends\":[\"127.0.0.1:9000\"]}}}}\n";
/* clang-format on */

static void parse_ok(const char *text, struct state *out)
{
	struct bt_err err = {0};

	if (state_json_parse(text, strlen(text), 0, out, &err))
		fail_msg("parse failed: %s", err.msg);
}

static void test_sample_is_canonical(void **unused)
{
	struct state a, b;
	struct bt_err err = {0};
	char *out;
	size_t len;

	(void)unused;
	parse_ok(SAMPLE, &a);
	parse_ok(sample_pretty, &b);
	assert_int_equal(state_validate(&a, &err), 0);
	assert_true(state_equal(&a, &b));
	assert_int_equal(a.n_workers, 1);
	assert_int_equal(a.workers[0].pid, 4242);
	assert_int_equal(a.workers[0].scm_fd, 9);
	assert_string_equal(a.clusters[0].backends[0], "127.0.0.1:9000");
	assert_int_equal(state_json_serialize(&b, &out, &len, &err), 0);
	assert_int_equal(len, strlen(SAMPLE));
	assert_string_equal(out, SAMPLE);
	free(out);
	state_free(&a);
	state_free(&b);
	assert_int_equal(live_blocks, 0);
}

/* --- the generator --- */

static bool has_4byte(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s & 0xf8) == 0xf0)
			return true;
	return false;
}

struct coverage {
	bool fd_min, fd_max, pid_min, pid_max, u64_zero, u64_max, id_max;
	bool no_workers, max_workers, run[STATE_RUN_COUNT];
	bool utf8_sock, utf8_pidfile, utf8_cluster, backends_dup;
};

static void note_u64(struct coverage *c, uint64_t v)
{
	c->u64_zero |= v == 0;
	c->u64_max |= v == INT64_MAX;
}

static void note_state(struct coverage *c, const struct state *s)
{
	c->fd_min |= s->command_socket_fd == STATE_FD_MIN;
	c->fd_max |= s->command_socket_fd == STATE_FD_MAX;
	note_u64(c, s->boot_generation);
	note_u64(c, s->next_client_id);
	note_u64(c, s->next_session_id);
	note_u64(c, s->next_task_id);
	c->id_max |= s->next_worker_id == UINT32_MAX;
	c->no_workers |= s->n_workers == 0;
	c->max_workers |= s->n_workers == STATEGEN_MAX_WORKERS;
	c->utf8_sock |= has_4byte(s->config.command_socket);
	c->utf8_pidfile |= has_4byte(s->config.pid_file_path);
	for (size_t i = 0; i < s->n_workers; i++) {
		const struct state_worker *w = &s->workers[i];

		c->fd_min |=
		    w->channel_fd == STATE_FD_MIN || w->scm_fd == STATE_FD_MIN;
		c->fd_max |=
		    w->channel_fd == STATE_FD_MAX || w->scm_fd == STATE_FD_MAX;
		c->pid_min |= w->pid == 1;
		c->pid_max |= w->pid == STATE_PID_MAX;
		c->run[w->run_state] = true;
	}
	for (size_t i = 0; i < s->n_clusters; i++) {
		const struct state_cluster *cl = &s->clusters[i];

		c->utf8_cluster |= has_4byte(cl->name);
		for (size_t j = 1; j < cl->n_backends; j++)
			c->backends_dup |=
			    strcmp(cl->backends[j], cl->backends[0]) == 0;
	}
}

/* The generator keeps its promises: valid, deterministic, and every edge
 * of the format shows up somewhere in the seeds the round trip uses. */
static void test_generator_covers_edges(void **unused)
{
	struct coverage c = {0};
	struct bt_err err = {0};

	(void)unused;
	for (uint64_t seed = 0; seed < ROUNDTRIP_STATES; seed++) {
		struct state s;

		assert_int_equal(stategen_fill(&s, seed, STATEGEN_ANY), 0);
		if (state_validate(&s, &err))
			fail_msg("seed %llu: %s", (unsigned long long)seed,
				 err.msg);
		assert_int_equal(s.n_workers, stategen_workers_for(seed));
		note_state(&c, &s);
		state_free(&s);
	}
	assert_true(c.fd_min && c.fd_max && c.pid_min && c.pid_max);
	assert_true(c.u64_zero && c.u64_max && c.id_max);
	assert_true(c.no_workers && c.max_workers);
	for (int r = 0; r < STATE_RUN_COUNT; r++)
		assert_true(c.run[r]);
	assert_true(c.utf8_sock && c.utf8_pidfile && c.utf8_cluster);
	assert_true(c.backends_dup);
}

static void test_generator_is_deterministic(void **unused)
{
	struct state a, b, c;

	(void)unused;
	assert_int_equal(stategen_fill(&a, 42, 7), 0);
	assert_int_equal(stategen_fill(&b, 42, 7), 0);
	assert_int_equal(stategen_fill(&c, 43, 7), 0);
	assert_int_equal(a.n_workers, 7);
	assert_true(state_equal(&a, &b));
	assert_false(state_equal(&a, &c));
	state_free(&a);
	state_free(&b);
	state_free(&c);
}

/* --- round trips --- */

static char *serialize_ok(const struct state *s, size_t *len)
{
	struct bt_err err = {0};
	char *out = NULL;

	if (state_json_serialize(s, &out, len, &err))
		fail_msg("serialize failed: %s", err.msg);
	assert_int_equal(strlen(out), *len);
	return out;
}

static bool cluster_order_differs(const struct state *a, const struct state *b)
{
	for (size_t i = 0; i < a->n_clusters; i++)
		if (strcmp(a->clusters[i].name, b->clusters[i].name) != 0)
			return true;
	return false;
}

/* serialize -> parse -> equal -> serialize gives the same bytes; the same
 * state with its maps filled in another order gives them too. */
static void round_trip_one(uint64_t seed, size_t *reordered)
{
	struct state s, p, r;
	struct bt_err err = {0};
	size_t l1, l2, l3;
	char *b1, *b2, *b3;

	assert_int_equal(stategen_fill(&s, seed, STATEGEN_ANY), 0);
	if (state_validate(&s, &err))
		fail_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
	b1 = serialize_ok(&s, &l1);
	if (state_json_parse(b1, l1, 0, &p, &err))
		fail_msg("seed %llu: parse: %s", (unsigned long long)seed,
			 err.msg);
	assert_true(state_equal(&s, &p));
	assert_int_equal(state_validate(&p, &err), 0);
	b2 = serialize_ok(&p, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);

	assert_int_equal(stategen_fill_reordered(&r, seed, STATEGEN_ANY, ~seed),
			 0);
	assert_true(state_equal(&s, &r));
	if (s.n_clusters >= 2) {
		/* the reordering did happen, and was invisible in the bytes */
		assert_true(cluster_order_differs(&s, &r));
		(*reordered)++;
	}
	b3 = serialize_ok(&r, &l3);
	assert_int_equal(l1, l3);
	assert_memory_equal(b1, b3, l1);
	free(b1);
	free(b2);
	free(b3);
	state_free(&s);
	state_free(&p);
	state_free(&r);
}

static void test_round_trip_generated(void **unused)
{
	size_t reordered = 0;

	(void)unused;
	for (uint64_t seed = 0; seed < ROUNDTRIP_STATES; seed++)
		round_trip_one(seed, &reordered);
	assert_true(reordered > ROUNDTRIP_STATES / 2);
	assert_int_equal(live_blocks, 0);
}

/* Backends are a map as well: their order changes neither equality nor
 * the bytes, and a changed backend is not equal. */
static void test_backends_order(void **unused)
{
	struct state a, b;
	char *ja, *jb;
	size_t la, lb;
	int ka, kb;

	(void)unused;
	parse_ok(DOC_STATE(STATE_("")), &a);
	parse_ok(DOC_STATE(STATE_("")), &b);
	ka = state_add_cluster(&a, "api");
	kb = state_add_cluster(&b, "api");
	assert_true(ka == 0 && kb == 0);
	assert_int_equal(state_add_backend(&a.clusters[0], "10.0.0.2:1"), 0);
	assert_int_equal(state_add_backend(&a.clusters[0], "10.0.0.1:1"), 0);
	assert_int_equal(state_add_backend(&b.clusters[0], "10.0.0.1:1"), 0);
	assert_int_equal(state_add_backend(&b.clusters[0], "10.0.0.2:1"), 0);
	assert_true(state_equal(&a, &b));
	ja = serialize_ok(&a, &la);
	jb = serialize_ok(&b, &lb);
	assert_string_equal(ja, jb);
	assert_non_null(strstr(ja, "[\"10.0.0.1:1\",\"10.0.0.2:1\"]"));
	assert_int_equal(
	    state_set_string(&b.clusters[0].backends[1], "10.0.0.3:1"), 0);
	assert_false(state_equal(&a, &b));
	free(ja);
	free(jb);
	state_free(&a);
	state_free(&b);
}

/* Change one field of T (0 <= field < N_FIELDS). */
#define N_FIELDS 12
static void mutate(struct state *t, int field)
{
	struct state_worker *w = t->workers;

	switch (field) {
	case 0:
		t->boot_generation ^= 1;
		break;
	case 1:
		t->command_socket_fd ^= 1;
		break;
	case 2:
		t->next_client_id ^= 1;
		break;
	case 3:
		t->next_session_id ^= 1;
		break;
	case 4:
		t->next_task_id ^= 1;
		break;
	case 5:
		t->next_worker_id ^= 1;
		break;
	case 6:
		w[4].pid ^= 1;
		break;
	case 7:
		w[0].scm_fd ^= 1;
		break;
	case 8:
		w[2].run_state = (w[2].run_state + 1) % STATE_RUN_COUNT;
		break;
	case 9:
		t->config.upgrade_timeout_ms ^= 1;
		break;
	case 10:
		t->config.worker_count ^= 1;
		break;
	default:
		t->config.command_socket[1] ^= 1;
		break;
	}
}

/* state_equal is what the round trip leans on: it must see every field. */
static void test_equal_sees_each_field(void **unused)
{
	struct state s, t;
	struct bt_err err = {0};

	(void)unused;
	assert_int_equal(stategen_fill(&s, 7, 5), 0);
	for (int field = 0; field < N_FIELDS; field++) {
		assert_int_equal(state_copy(&t, &s, &err), 0);
		assert_true(state_equal(&s, &t));
		mutate(&t, field);
		assert_false(state_equal(&s, &t));
		state_free(&t);
	}
	state_free(&s);
}

static void test_serialize_refuses_bad_utf8(void **unused)
{
	struct state s;
	struct bt_err err = {0};
	char *out = (char *)1;
	size_t len = 1;

	(void)unused;
	assert_int_equal(stategen_fill(&s, 3, 1), 0);
	s.config.pid_file_path[1] = (char)0xff;
	assert_int_equal(state_json_serialize(&s, &out, &len, &err), -1);
	assert_null(out);
	assert_int_equal(err.errnum, EILSEQ);
	assert_has(err.msg, "$.config.pid_file_path");
	assert_int_equal(state_validate(&s, &err), -1);
	assert_has(err.msg, "$.config.pid_file_path: expected valid UTF-8");
	state_free(&s);
	assert_int_equal(live_blocks, 0);
}

/* Every string serialize writes is checked, and the message names it. */
static void test_serialize_names_each_bad_string(void **unused)
{
	static const char *const paths[] = {
		"$.config.command_socket", "$.config.listeners[",
		"$.state.clusters: key ", "$.state.clusters[", "$.config.command_socket"};

	(void)unused;
	for (int k = 0; k < 5; k++) {
		struct state s;
		struct bt_err err = {0};
		char *out = NULL;
		size_t len;

		assert_int_equal(stategen_fill(&s, 11, 1), 0);
		/* make sure there is one of each to break */
		assert_int_equal(state_add_listener(&s, "127.0.0.1:1", "http"), 0);
		assert_true(state_add_cluster(&s, "aaa-first") >= 0);
		assert_int_equal(state_add_backend(&s.clusters[s.n_clusters - 1], "b"), 0);
		if (k == 1)
			s.config.listeners[s.config.n_listeners - 1].address[0] = (char)0xff;
		else if (k == 2)
			s.clusters[s.n_clusters - 1].name[0] = (char)0xfe;
		else if (k == 3)
			s.clusters[s.n_clusters - 1].backends[0][0] = (char)0x80;
		if (k == 0) {
			s.config.command_socket[0] = (char)0xc0;	/* overlong lead */
		} else if (k == 4) {
			free(s.config.command_socket);
			s.config.command_socket = NULL;			/* not set */
		}
		assert_int_equal(state_json_serialize(&s, &out, &len, &err), -1);
		assert_null(out);
		assert_int_equal(err.errnum, k == 4 ? EINVAL : EILSEQ);
		assert_has(err.msg, paths[k]);
		state_free(&s);
	}
	assert_int_equal(live_blocks, 0);
}

/* The writer's bytes are jansson's: every generated state, dumped again by
 * jansson from the parsed document, comes out byte-identical, and so do
 * strings holding every escape jansson writes. */
static void expect_jansson_bytes(const char *doc, size_t len)
{
	json_t *j = json_loadb(doc, len, 0, NULL);
	char *again;

	assert_non_null(j);
	again = json_dumps(j, JSON_COMPACT);
	assert_non_null(again);
	assert_int_equal(strlen(again), len);
	assert_memory_equal(again, doc, len);
	count_free(again);	/* jansson's buffer: its (counting) free */
	json_decref(j);
}

static void test_writer_matches_jansson(void **unused)
{
	static const char *const tricky[] = {
		"quote\" and back\\slash", "ctl \b\f\n\r\t end", "\x01\x1f\x7f",
		"sl/ash", "utf-8 \xc3\xa9 \xf0\x9f\x98\x80"};

	(void)unused;
	for (uint64_t seed = 0; seed < 200; seed++) {
		struct state s;
		char *out;
		size_t len;

		assert_int_equal(stategen_fill(&s, seed, STATEGEN_ANY), 0);
		assert_int_equal(state_json_serialize(&s, &out, &len, NULL), 0);
		expect_jansson_bytes(out, len);
		free(out);
		state_free(&s);
	}
	for (size_t k = 0; k < sizeof tricky / sizeof tricky[0]; k++) {
		struct state s;
		char *out;
		size_t len;
		int c;

		assert_int_equal(stategen_fill(&s, 5, 0), 0);
		c = state_add_cluster(&s, tricky[k]);
		assert_true(c >= 0);
		assert_int_equal(state_add_backend(&s.clusters[c], tricky[k]), 0);
		assert_int_equal(state_json_serialize(&s, &out, &len, NULL), 0);
		expect_jansson_bytes(out, len);
		free(out);
		state_free(&s);
	}
	assert_int_equal(live_blocks, 0);
}

/* Two clusters of one name (a model state_validate refuses) come out as a
 * JSON object holds them: once, with the last one's backends. */
static void test_writer_duplicate_cluster(void **unused)
{
	struct state s;
	char *out;
	size_t len;

	(void)unused;
	assert_int_equal(stategen_fill(&s, 5, 0), 0);
	for (size_t i = 0; i < s.n_clusters; i++) {
		for (size_t j = 0; j < s.clusters[i].n_backends; j++)
			free(s.clusters[i].backends[j]);
		free(s.clusters[i].backends);
		free(s.clusters[i].name);
	}
	free(s.clusters);
	s.clusters = NULL;
	s.n_clusters = 0;
	assert_true(state_add_cluster(&s, "dup") >= 0);
	assert_int_equal(state_add_backend(&s.clusters[0], "first"), 0);
	assert_true(state_add_cluster(&s, "dup") >= 0);
	assert_int_equal(state_add_backend(&s.clusters[1], "second"), 0);
	assert_int_equal(state_json_serialize(&s, &out, &len, NULL), 0);
	assert_non_null(strstr(out, "\"clusters\":{\"dup\":{\"backends\":[\"second\"]}}"));
	expect_jansson_bytes(out, len);
	free(out);
	state_free(&s);
}

/* --- rejected documents --- */

struct reject_row {
	const char *text;
	size_t cut;	  /* bytes removed from the end (truncation) */
	size_t max_bytes; /* 0: the default limit */
	int errnum;
	const char *expect;  /* names the path, or "at byte" */
	const char *expect2; /* a second substring, or NULL */
};

/* clang-format off */
static const struct reject_row reject_rows[] = {
	/* empty, size, truncation, trailing data, syntax */
	{"", 0, 0, ENODATA, "$: the document is empty", NULL},
	{SAMPLE, 0, 100, EFBIG, "over the limit of 100", "$: the document is"},
	{SAMPLE, 0, sizeof SAMPLE - 2, EFBIG, "over the limit", NULL},
	{SAMPLE, 10, 0, EINVAL, "at byte", "premature end of input"},
	{SAMPLE, 1, 0, EINVAL, "at byte", NULL},
	{SAMPLE "x", 0, 0, EINVAL, "at byte 564", "end of file expected"},
	{SAMPLE "{}", 0, 0, EINVAL, "at byte", "end of file expected"},
	{"   ", 0, 0, EINVAL, "at byte", NULL},
	{"hello", 0, 0, EINVAL, "at byte 5", "'[' or '{' expected"},
	{"[]", 0, 0, EINVAL, "$: expected an object, got an array", NULL},
	{DOC_TOP("\"boot_generation\":NaN,\"command_socket_fd\":5,"), 0, 0,
	 EINVAL, "at byte", NULL},
	/* duplicate keys, top level and nested */
	{DOC_TOP("\"boot_generation\":3,\"boot_generation\":3,"
		 "\"command_socket_fd\":5,"), 0, 0,
	 EINVAL, "at byte", "duplicate object key"},
	{DOC_CONFIG(CONFIG_("\"/a\"", ",\"worker_count\":2", LISTENER)), 0, 0,
	 EINVAL, "at byte", "duplicate object key"},
	{DOC_WORKERS(WORKERS_("{\"id\":0,\"id\":0,\"pid\":1,\"run_state\":"
			      "\"RUNNING\",\"channel_fd\":7,\"scm_fd\":9}")),
	 0, 0, EINVAL, "at byte", "duplicate object key"},
	{DOC_STATE(STATE_(CLUSTER "," CLUSTER)), 0, 0,
	 EINVAL, "at byte", "duplicate object key"},
	/* unknown fields, at every level */
	{DOC_TOP(TOP "\"extra\":1,"), 0, 0, EINVAL, "$.extra: unknown field", NULL},
	{DOC_CONFIG(CONFIG_("\"/a\"", ",\"workers\":2", LISTENER)), 0, 0,
	 EINVAL, "$.config.workers: unknown field", NULL},
	{DOC_CONFIG(CONFIG_("\"/a\"", "",
			    "{\"address\":\"a:1\",\"protocol\":\"http\",\"tls\":true}")),
	 0, 0, EINVAL, "$.config.listeners[0].tls: unknown field", NULL},
	{DOC_WORKERS(WORKERS_(W0 ",{\"id\":1,\"pid\":1,\"run_state\":\"STOPPED\","
			      "\"channel_fd\":10,\"scm_fd\":11,\"gen\":1}")),
	 0, 0, EINVAL, "$.workers[1].gen: unknown field", NULL},
	{DOC_STATE(STATE_("\"api\":{\"backends\":[],\"weight\":1}")), 0, 0,
	 EINVAL, "$.state.clusters[\"api\"].weight: unknown field", NULL},
	{DOC_STATE("\"state\":{\"clusters\":{},\"routes\":{}}}"), 0, 0,
	 EINVAL, "$.state.routes: unknown field", NULL},
	/* wrong types */
	{DOC_TOP("\"boot_generation\":\"3\",\"command_socket_fd\":5,"), 0, 0,
	 EINVAL, "$.boot_generation: expected an integer", "got a string"},
	{DOC_CONFIG("\"config\":[],"), 0, 0,
	 EINVAL, "$.config: expected an object, got an array", NULL},
	{DOC_WORKERS("\"workers\":{},"), 0, 0,
	 EINVAL, "$.workers: expected an array, got an object", NULL},
	{DOC_WORKERS(WORKERS_(W0 ",3")), 0, 0,
	 EINVAL, "$.workers[1]: expected an object, got an integer", NULL},
	{DOC_CONFIG(CONFIG_("\"/a\"", "", "{\"address\":8080,\"protocol\":\"http\"}")),
	 0, 0, EINVAL, "$.config.listeners[0].address: expected a string", NULL},
	{DOC_CONFIG(CONFIG_("null", "", LISTENER)), 0, 0,
	 EINVAL, "$.config.command_socket: expected a string, got null", NULL},
	{DOC_STATE(STATE_("\"api\":{\"backends\":[null]}")), 0, 0, EINVAL,
	 "$.state.clusters[\"api\"].backends[0]: expected a string, got null", NULL},
	{DOC_STATE(STATE_("\"api\":[]")), 0, 0,
	 EINVAL, "$.state.clusters[\"api\"]: expected an object", NULL},
	{DOC_IDS("\"next_client_id\":true,\"next_session_id\":9,"
		 "\"next_task_id\":14,\"next_worker_id\":2,"), 0, 0,
	 EINVAL, "$.next_client_id: expected an integer", "got a boolean"},
	/* a real number where an integer belongs */
	{DOC_TOP("\"boot_generation\":3.0,\"command_socket_fd\":5,"), 0, 0,
	 EINVAL, "$.boot_generation: expected an integer", "got a real number"},
	{DOC_WORKERS(WORKERS_(W_("0", "1e3", "\"RUNNING\"", "7", "9"))), 0, 0,
	 EINVAL, "$.workers[0].pid: expected an integer", "got a real number"},
	/* out-of-range values */
	{DOC_WORKERS(WORKERS_(W_("0", "1", "\"RUNNING\"", "2", "9"))), 0, 0, ERANGE,
	 "$.workers[0].channel_fd: expected an integer in [3, 1048575], got 2", NULL},
	{DOC_WORKERS(WORKERS_(W_("0", "1", "\"RUNNING\"", "7", "1048576"))), 0, 0,
	 ERANGE, "$.workers[0].scm_fd: expected an integer in [3, 1048575], "
	 "got 1048576", NULL},
	{DOC_TOP("\"boot_generation\":3,\"command_socket_fd\":-1,"), 0, 0,
	 ERANGE, "$.command_socket_fd: expected an integer in [3, 1048575]", NULL},
	{DOC_WORKERS(WORKERS_(W_("0", "0", "\"RUNNING\"", "7", "9"))), 0, 0, ERANGE,
	 "$.workers[0].pid: expected an integer in [1, 4194304], got 0", NULL},
	{DOC_WORKERS(WORKERS_(W_("0", "4194305", "\"RUNNING\"", "7", "9"))), 0, 0,
	 ERANGE, "$.workers[0].pid: expected an integer in [1, 4194304]", NULL},
	{DOC_IDS("\"next_client_id\":-1,\"next_session_id\":9,"
		 "\"next_task_id\":14,\"next_worker_id\":2,"), 0, 0, ERANGE,
	 "$.next_client_id: expected an integer in [0, 9223372036854775807], "
	 "got -1", NULL},
	{DOC_IDS("\"next_client_id\":5,\"next_session_id\":9,"
		 "\"next_task_id\":9223372036854775808,\"next_worker_id\":2,"),
	 0, 0, EINVAL, "at byte", "too big integer"},
	{DOC_IDS("\"next_client_id\":5,\"next_session_id\":9,"
		 "\"next_task_id\":14,\"next_worker_id\":4294967296,"), 0, 0, ERANGE,
	 "$.next_worker_id: expected an integer in [0, 4294967295]", NULL},
	{DOC_WORKERS(WORKERS_(W_("4294967296", "1", "\"RUNNING\"", "7", "9"))),
	 0, 0, ERANGE, "$.workers[0].id: expected an integer in [0, 4294967295]",
	 NULL},
	/* missing fields */
	{DOC_IDS("\"next_client_id\":5,\"next_task_id\":14,\"next_worker_id\":2,"),
	 0, 0, EINVAL, "$.next_session_id: missing field", NULL},
	{DOC_WORKERS(WORKERS_("{\"id\":0,\"pid\":1,\"run_state\":\"RUNNING\","
			      "\"channel_fd\":7}")), 0, 0,
	 EINVAL, "$.workers[0].scm_fd: missing field", NULL},
	{DOC_CONFIG("\"config\":{\"command_socket\":\"/a\"},"), 0, 0,
	 EINVAL, "$.config.command_buffer_size: missing field", NULL},
	{DOC_STATE("\"state\":{}}"), 0, 0,
	 EINVAL, "$.state.clusters: missing field", NULL},
	{DOC_HEAD("{\"version\":1,"), 0, 0, EINVAL, "$.format: missing field", NULL},
	{DOC_CONFIG("\"config\":{\"command_buffer_size\":1000000},"), 0, 0,
	 EINVAL, "$.config.command_socket: missing field (expected a string)", NULL},
	{DOC_CONFIG("\"config\":{\"command_socket\":\"/a\",\"command_buffer_size\":1,"
		    "\"max_command_buffer_size\":1,\"pid_file_path\":\"/p\","
		    "\"worker_count\":1,\"upgrade_timeout_ms\":1},"), 0, 0,
	 EINVAL, "$.config.listeners: missing field (expected an array)", NULL},
	{DOC_STATE("\"state\":{\"clusters\":{\"api\":{}}}}"), 0, 0,
	 EINVAL, "$.state.clusters[\"api\"].backends: missing field", NULL},
	/* format and version */
	{DOC_HEAD(HEAD_("\"baton-upgrade-state\"", "2")), 0, 0, EPROTO,
	 "$.version: unknown version 2 (this binary knows version 1)", NULL},
	{DOC_HEAD(HEAD_("\"baton-upgrade-state\"", "0")), 0, 0, EPROTO,
	 "$.version: unknown version 0", NULL},
	{DOC_HEAD(HEAD_("\"baton-upgrade-state\"", "\"1\"")), 0, 0, EINVAL,
	 "$.version: expected an integer", NULL},
	{DOC_HEAD(HEAD_("\"baton-state\"", "1")), 0, 0, EINVAL,
	 "$.format: expected \"baton-upgrade-state\", got \"baton-state\"", NULL},
	/* run states */
	{DOC_WORKERS(WORKERS_(W_("0", "1", "\"SLEEPING\"", "7", "9"))), 0, 0, EINVAL,
	 "$.workers[0].run_state: expected one of RUNNING, STOPPING, STOPPED, "
	 "NOT_ANSWERING, got \"SLEEPING\"", NULL},
	{DOC_WORKERS(WORKERS_(W_("0", "1", "\"running\"", "7", "9"))), 0, 0, EINVAL,
	 "$.workers[0].run_state: expected one of", NULL},
	{DOC_WORKERS(WORKERS_(W_("0", "1", "0", "7", "9"))), 0, 0, EINVAL,
	 "$.workers[0].run_state: expected one of", "got an integer"},
	/* strings: NUL, empty, bad UTF-8, lone surrogate */
	{DOC_CONFIG(CONFIG_("\"/run/a\\u0000b\"", "", LISTENER)), 0, 0,
	 EINVAL, "at byte", "\\u0000 is not allowed"},
	{DOC_STATE(STATE_("\"a\\u0000\":{\"backends\":[]}")), 0, 0,
	 EINVAL, "at byte", "NUL byte in object key"},
	{DOC_CONFIG(CONFIG_("\"\"", "", LISTENER)), 0, 0,
	 EINVAL, "$.config.command_socket: expected a non-empty string", NULL},
	{DOC_STATE(STATE_("\"\":{\"backends\":[]}")), 0, 0,
	 EINVAL, "$.state.clusters: expected non-empty keys", NULL},
	{DOC_CONFIG(CONFIG_("\"/run/\xc3\x28\"", "", LISTENER)), 0, 0,
	 EINVAL, "at byte", NULL},
	{DOC_CONFIG(CONFIG_("\"/run/\\ud800\"", "", LISTENER)), 0, 0,
	 EINVAL, "at byte", "invalid Unicode"},
};
/* clang-format on */

static void check_reject(size_t row, const struct reject_row *r)
{
	size_t len = strlen(r->text) - r->cut;
	struct bt_err err = {0};
	struct state s;

	/* a non-empty out struct must come back empty */
	memset(&s, 0x5a, sizeof s);
	if (state_json_parse(r->text, len, r->max_bytes, &s, &err) != -1)
		fail_msg("row %zu was accepted: %.200s", row, r->text);
	if (!strstr(err.msg, r->expect) ||
	    (r->expect2 && !strstr(err.msg, r->expect2)) ||
	    err.errnum != r->errnum)
		fail_msg(
		    "row %zu: errno %d (want %d), message \"%s\", want \"%s\"",
		    row, err.errnum, r->errnum, err.msg, r->expect);
	assert_string_equal(err.step, "parse");
	assert_int_equal(s.n_workers, 0);
	assert_null(s.workers);
	assert_null(s.config.command_socket);
	assert_int_equal(s.n_clusters, 0);
	assert_int_equal(live_blocks, 0);
}

static void test_rejects_table(void **unused)
{
	size_t n = sizeof reject_rows / sizeof reject_rows[0];

	(void)unused;
	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++)
		check_reject(i, &reject_rows[i]);
}

/* --- state_validate: documents that parse, and break a cross-field rule */

struct validate_row {
	const char *text;
	const char *path1, *path2;
};

/* clang-format off */
static const struct validate_row validate_rows[] = {
	/* two workers alias one fd */
	{DOC_WORKERS(WORKERS_(W0 "," W_("1", "1", "\"RUNNING\"", "11", "7"))),
	 "$.workers[0].channel_fd", "$.workers[1].scm_fd"},
	/* a worker aliases the command socket */
	{DOC_TOP("\"boot_generation\":3,\"command_socket_fd\":9,"),
	 "$.command_socket_fd", "$.workers[0].scm_fd"},
	/* one worker, one fd for both roles */
	{DOC_WORKERS(WORKERS_(W_("0", "1", "\"RUNNING\"", "8", "8"))),
	 "$.workers[0].channel_fd", "$.workers[0].scm_fd"},
	/* duplicate worker id */
	{DOC_WORKERS(WORKERS_(W_("1", "1", "\"RUNNING\"", "6", "7") ","
			      W_("0", "1", "\"RUNNING\"", "8", "9") ","
			      W_("1", "1", "\"STOPPED\"", "10", "11"))),
	 "$.workers[0].id", "$.workers[2].id"},
	/* worker id not below next_worker_id */
	{DOC_WORKERS(WORKERS_(W0 "," W_("2", "1", "\"RUNNING\"", "10", "11"))),
	 "$.workers[1].id", "$.next_worker_id"},
	/* the same listener twice */
	{DOC_CONFIG(CONFIG_("\"/a\"", "", LISTENER "," LISTENER)),
	 "$.config.listeners[1].address", "$.config.listeners[0].address"},
	/* max below the buffer size */
	{DOC_CONFIG("\"config\":{\"command_socket\":\"/a\",\"command_buffer_size\":"
		    "64,\"max_command_buffer_size\":32,\"pid_file_path\":\"/p\","
		    "\"worker_count\":2,\"upgrade_timeout_ms\":1,\"listeners\":[]},"),
	 "$.config.max_command_buffer_size", "got 32"},
	/* a socket path sun_path cannot hold */
	{DOC_CONFIG(CONFIG_("\"/run/01234567890123456789012345678901234567890123456789"
			    "012345678901234567890123456789012345678901234567890123\"",
			    "", LISTENER)),
	 "$.config.command_socket", "107"},
	{DOC_CONFIG(CONFIG_("\"/a\"", "", "{\"address\":\"a:1\",\"protocol\":\"gopher\"}")),
	 "$.config.listeners[0].protocol", "gopher"},
};
/* clang-format on */

static void test_validate_rejects(void **unused)
{
	size_t n = sizeof validate_rows / sizeof validate_rows[0];

	(void)unused;
	for (size_t i = 0; i < n; i++) {
		struct bt_err err = {0};
		struct state s;

		parse_ok(validate_rows[i].text, &s);
		if (state_validate(&s, &err) != -1)
			fail_msg("validate row %zu was accepted", i);
		if (!strstr(err.msg, validate_rows[i].path1) ||
		    !strstr(err.msg, validate_rows[i].path2))
			fail_msg("validate row %zu: \"%s\" lacks %s or %s", i,
				 err.msg, validate_rows[i].path1,
				 validate_rows[i].path2);
		assert_string_equal(err.step, "validate");
		state_free(&s);
	}
}

/* Fields no document can carry, set in the struct. */
static void test_validate_struct_only(void **unused)
{
	struct state s;
	struct bt_err err = {0};

	(void)unused;
	parse_ok(SAMPLE, &s);
	s.version = 2;
	assert_int_equal(state_validate(&s, &err), -1);
	assert_has(err.msg, "$.version: unknown version 2");
	s.version = STATE_VERSION;
	s.next_client_id = (uint64_t)INT64_MAX + 1;
	assert_int_equal(state_validate(&s, &err), -1);
	assert_has(err.msg, "$.next_client_id");
	s.next_client_id = 0;
	s.workers[0].run_state = STATE_RUN_COUNT;
	assert_int_equal(state_validate(&s, &err), -1);
	assert_has(err.msg, "$.workers[0].run_state");
	s.workers[0].run_state = STATE_STOPPED;
	assert_int_equal(state_validate(&s, &err), 0);
	state_free(&s);
}

/* --- out of memory at every jansson allocation --- */

typedef int (*oom_op)(const void *ctx, struct bt_err *err);

struct parse_ctx {
	const char *text;
	const struct state *want;
};

static int op_parse(const void *ctx, struct bt_err *err)
{
	const struct parse_ctx *c = ctx;
	struct state s;
	int rc = state_json_parse(c->text, strlen(c->text), 0, &s, err);

	if (rc == 0) {
		assert_true(state_equal(&s, c->want));
	} else {
		assert_null(s.workers);
		assert_null(s.config.command_socket);
	}
	state_free(&s);
	return rc;
}

static int op_serialize(const void *ctx, struct bt_err *err)
{
	char *out = (char *)1;
	size_t len = 1;
	int rc = state_json_serialize(ctx, &out, &len, err);

	if (rc == 0) {
		assert_string_equal(out, SAMPLE);
		free(out); /* plain malloc: not a jansson block */
	} else {
		assert_null(out);
		assert_int_equal(len, 0);
	}
	return rc;
}

/* Fail the 1st, 2nd, ... allocation until a run needs fewer; every failed
 * run is a clean -1 with nothing left allocated.  Returns the number of
 * allocations one clean run makes. */
static unsigned oom_sweep(oom_op op, const void *ctx, enum fp_mode mode)
{
	unsigned n;

	check_shim();
	for (n = 1; n < 100000; n++) {
		struct fp_spec sp = {.point = "mem/alloc",
				     .nth = n,
				     .kind = FP_ERROR,
				     .errnum = ENOMEM,
				     .mode = mode};
		struct bt_err err = {0};
		unsigned fired;
		int rc;

		fp_reset();
		assert_int_equal(fp_enable(&sp, &err), 0);
		fp_arm();
		track_start();
		rc = op(ctx, &err);
		track_stop(n);
		fired = fp_fired("mem/alloc");
		fp_reset();
		assert_int_equal(live_blocks, 0);
		if (fired == 0) {
			assert_int_equal(rc, 0);
			break;
		}
		if (rc != -1 || err.errnum != ENOMEM || !err.msg[0])
			fail_msg("allocation %u (%s): rc %d errno %d \"%s\"", n,
				 mode == FP_PERSISTENT ? "persistent"
						       : "transient",
				 rc, err.errnum, err.msg);
		/* transient: hit N only; persistent: N and every later hit */
		if (mode == FP_TRANSIENT)
			assert_int_equal(fired, 1u);
	}
	return n - 1;
}

/* How many jansson allocations a clean run makes, counted directly. */
static unsigned long count_allocs(oom_op op, const void *ctx)
{
	struct bt_err err = {0};
	unsigned long before = alloc_calls;

	assert_int_equal(op(ctx, &err), 0);
	return alloc_calls - before;
}

/* The writer allocates through json_guard_malloc directly, not through
 * jansson's hooks: count the hits of the mem/alloc point itself, armed
 * with a spec that never fires. */
static unsigned long count_codec_allocs(oom_op op, const void *ctx)
{
	struct fp_spec never = {.point = "mem/alloc", .nth = 99999999,
				.kind = FP_ERROR, .errnum = ENOMEM};
	struct bt_err err = {0};
	unsigned long n;

	fp_reset();
	assert_int_equal(fp_enable(&never, &err), 0);
	fp_arm();
	assert_int_equal(op(ctx, &err), 0);
	n = fp_hits("mem/alloc");
	fp_reset();
	return n;
}

static void test_oom_parse(void **unused)
{
	struct state want;
	struct parse_ctx ctx = {SAMPLE, &want};
	unsigned t, p;
	unsigned long clean;

	(void)unused;
	parse_ok(SAMPLE, &want);
	clean = count_allocs(op_parse, &ctx);
	t = oom_sweep(op_parse, &ctx, FP_TRANSIENT);
	p = oom_sweep(op_parse, &ctx, FP_PERSISTENT);
	print_message(
	    "parse of the sample (%zu bytes): %u jansson allocations\n",
	    strlen(SAMPLE), t);
	assert_true(t > 10);
	assert_int_equal(t, p);
	assert_int_equal(t, clean);
	state_free(&want);
}

static void test_oom_serialize(void **unused)
{
	struct state s;
	unsigned t, p;
	unsigned long clean;

	(void)unused;
	parse_ok(SAMPLE, &s);
	clean = count_codec_allocs(op_serialize, &s);
	t = oom_sweep(op_serialize, &s, FP_TRANSIENT);
	p = oom_sweep(op_serialize, &s, FP_PERSISTENT);
	print_message("serialize of the sample: %u codec allocations\n", t);
	/* the writer allocates the two sorted views of the maps and its
	 * output buffer: every one of them was failed in turn */
	assert_true(t >= 3);
	assert_int_equal(t, p);
	assert_int_equal(t, clean);
	state_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sample_is_canonical),
	    cmocka_unit_test(test_generator_covers_edges),
	    cmocka_unit_test(test_generator_is_deterministic),
	    cmocka_unit_test(test_round_trip_generated),
	    cmocka_unit_test(test_backends_order),
	    cmocka_unit_test(test_equal_sees_each_field),
	    cmocka_unit_test(test_serialize_refuses_bad_utf8),
	    cmocka_unit_test(test_serialize_names_each_bad_string),
	    cmocka_unit_test(test_writer_matches_jansson),
	    cmocka_unit_test(test_writer_duplicate_cluster),
	    cmocka_unit_test(test_rejects_table),
	    cmocka_unit_test(test_validate_rejects),
	    cmocka_unit_test(test_validate_struct_only),
	    cmocka_unit_test(test_oom_parse),
	    cmocka_unit_test(test_oom_serialize),
	};

	json_guard_init();
	json_set_alloc_funcs(count_malloc, count_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
