/* test_oracle: the fuzz oracle can fail, and passes on valid states.
 *
 * A harness that cannot fail proves nothing (docs/design.md, "Self-validation": "map
 * keys serialized in hash order" must be caught by the fuzz oracle).  Here
 * the state oracle gets serializers that are wrong on purpose: one that
 * writes map keys in insertion order (Sōzu's HashMap round-trip bug), one
 * that drops a worker, one that leaks a block (outside ASan, whose
 * LeakSanitizer takes that job), one that fails; each must be
 * reported at the right stage.  With the real serializer the oracle passes
 * on generated states of every size and on their bytes. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/oracle.h"
#include "state_json.h"
#include "lib/stategen.h"

/* the heap counter behind the oracle's leak check (not in libharness) */
#include "fuzz/heapcount.c"

#define GENERATED_STATES 200

/* Two clusters and two backends, neither map in sorted order. */
static const char unsorted_doc[] =
    "{\"format\":\"baton-upgrade-state\",\"version\":1,\"boot_generation\":3,"
    "\"command_socket_fd\":5,\"config\":{\"command_socket\":\"/run/b.sock\","
    "\"command_buffer_size\":1000,\"max_command_buffer_size\":2000,"
    "\"pid_file_path\":\"/run/b.pid\",\"worker_count\":1,"
    "\"upgrade_timeout_ms\":100,\"listeners\":[]},\"next_client_id\":0,"
    "\"next_session_id\":0,\"next_task_id\":0,\"next_worker_id\":1,"
    "\"workers\":[{\"id\":0,\"pid\":42,\"run_state\":\"RUNNING\","
    "\"channel_fd\":7,\"scm_fd\":9}],\"state\":{\"clusters\":{\"web\":"
    "{\"backends\":[\"b:2\",\"a:1\"]},\"api\":{\"backends\":[]}}}}";

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

/* jansson's text into a malloc'd copy (the oracle frees with free()). */
static int take_text(char *text, char **out, size_t *len)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	*out = text ? strdup(text) : NULL;
	*len = *out ? strlen(*out) : 0;
	f(text);
	return *out ? 0 : -1;
}

/* The mutant: the canonical document with the clusters map (and each
 * backends list) rewritten in the state's own insertion order. */
static int insertion_order_serialize(const struct state *s, char **out,
				     size_t *len, struct bt_err *err)
{
	json_t *root, *map;
	char *canon;
	size_t clen;

	if (state_json_serialize(s, &canon, &clen, err))
		return -1;
	root = json_loads(canon, 0, NULL);
	free(canon);
	map = json_object();
	for (size_t i = 0; i < s->n_clusters; i++) {
		json_t *c = json_object(), *b = json_array();

		for (size_t j = 0; j < s->clusters[i].n_backends; j++)
			json_array_append_new(b, json_string(s->clusters[i].backends[j]));
		json_object_set_new(c, "backends", b);
		json_object_set_new(map, s->clusters[i].name, c);
	}
	json_object_set_new(json_object_get(root, "state"), "clusters", map);
	if (take_text(json_dumps(root, JSON_COMPACT), out, len)) {
		json_decref(root);
		return err_set(err, "serialize", ENOMEM, "out of memory");
	}
	json_decref(root);
	return 0;
}

static int drop_worker_serialize(const struct state *s, char **out,
				 size_t *len, struct bt_err *err)
{
	struct state t;
	int rc;

	if (state_copy(&t, s, err))
		return -1;
	if (t.n_workers)
		t.n_workers--;
	rc = state_json_serialize(&t, out, len, err);
	state_free(&t);
	return rc;
}

static int leaky_serialize(const struct state *s, char **out, size_t *len,
			   struct bt_err *err)
{
	/* a block nobody frees: the pointer is dropped on purpose */
	void *volatile leaked = malloc(16);

	(void)leaked;
	return state_json_serialize(s, out, len, err);
}

static int failing_serialize(const struct state *s, char **out, size_t *len,
			     struct bt_err *err)
{
	(void)s;
	*out = NULL;
	*len = 0;
	return err_set(err, "serialize", ENOMEM, "out of memory (on purpose)");
}

/* A serializer that writes map keys in insertion order is caught. */
static void test_noncanonical_serializer_is_caught(void **unused)
{
	struct oracle_report rep;

	(void)unused;
	assert_int_equal(oracle_state_bytes(unsorted_doc, sizeof unsorted_doc - 1,
					    state_json_serialize, &rep),
			 ORACLE_PASS);
	assert_int_equal(oracle_state_bytes(unsorted_doc, sizeof unsorted_doc - 1,
					    insertion_order_serialize, &rep),
			 ORACLE_VIOLATION);
	assert_string_equal(rep.stage, "bytes");
	assert_has(rep.msg, "serialize is not canonical");
}

/* Caught on generated states too, whenever a map has two entries. */
static void test_noncanonical_caught_on_generated(void **unused)
{
	size_t caught = 0, eligible = 0; /* states with a map to reorder */

	(void)unused;
	for (uint64_t seed = 0; seed < 50; seed++) {
		struct state s;
		struct oracle_report rep;
		bool multi;

		assert_int_equal(stategen_fill(&s, seed, 2), 0);
		multi = s.n_clusters >= 2;
		for (size_t i = 0; i < s.n_clusters; i++)
			for (size_t j = 1; j < s.clusters[i].n_backends; j++)
				multi |= strcmp(s.clusters[i].backends[0],
						s.clusters[i].backends[j]) != 0;
		eligible += multi;
		if (oracle_state_roundtrip(&s, insertion_order_serialize, &rep) ==
		    ORACLE_VIOLATION) {
			assert_string_equal(rep.stage, "bytes");
			caught++;
		}
		state_free(&s);
	}
	assert_true(eligible >= 30);
	assert_int_equal(caught, eligible);
}

static void test_other_broken_serializers(void **unused)
{
	struct oracle_report rep;
	const size_t len = sizeof unsorted_doc - 1;

	(void)unused;
	assert_int_equal(oracle_state_bytes(unsorted_doc, len, drop_worker_serialize,
					    &rep), ORACLE_VIOLATION);
	assert_string_equal(rep.stage, "equal");
	assert_int_equal(oracle_state_bytes(unsorted_doc, len, failing_serialize,
					    &rep), ORACLE_VIOLATION);
	assert_string_equal(rep.stage, "serialize");
}

static void test_leak_is_caught(void **unused)
{
	struct oracle_report rep;

	(void)unused;
#ifdef ORACLE_NO_SHIM
	/* under ASan, LeakSanitizer reports leaks, and would fail this run */
	printf("[  SKIP    ] leak_is_caught: sanitizer build, LeakSanitizer "
	       "judges leaks instead of the oracle's heap counter\n");
	fflush(stdout);
	skip();
#endif
	/* under valgrind (make memcheck) the heap counter is bypassed, and
	 * valgrind's own leak check would report the deliberate leak */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		printf("[  SKIP    ] leak_is_caught: under valgrind, whose leak "
		       "check judges leaks instead of the oracle's heap counter\n");
		fflush(stdout);
		skip();
	}
	assert_int_equal(oracle_state_bytes(unsorted_doc, sizeof unsorted_doc - 1,
					    leaky_serialize, &rep),
			 ORACLE_VIOLATION);
	assert_string_equal(rep.stage, "leak");
	/* the round trip serializes twice: one block each time */
	assert_has(rep.msg, "2 heap block(s) leaked");
}

/* Rejections are not violations, and say where. */
static void test_rejection_is_clean(void **unused)
{
	struct oracle_report rep;

	(void)unused;
	assert_int_equal(oracle_state_bytes("{\"format\":1}", 12,
					    state_json_serialize, &rep),
			 ORACLE_REJECTED);
	assert_has(rep.msg, "$.format");
	assert_int_equal(oracle_state_bytes("", 0, state_json_serialize, &rep),
			 ORACLE_REJECTED);
}

static void test_passes_on_generated_states(void **unused)
{
	(void)unused;
	for (uint64_t seed = 0; seed < GENERATED_STATES; seed++) {
		struct state s;
		struct oracle_report rep;
		struct bt_err err = {0};
		char *text;
		size_t len;

		assert_int_equal(stategen_fill(&s, seed, STATEGEN_ANY), 0);
		if (oracle_state_roundtrip(&s, state_json_serialize, &rep) != ORACLE_PASS)
			fail_msg("seed %llu: %s: %s", (unsigned long long)seed,
				 rep.stage, rep.msg);
		assert_int_equal(state_json_serialize(&s, &text, &len, &err), 0);
		if (oracle_state_bytes(text, len, state_json_serialize, &rep) !=
		    ORACLE_PASS)
			fail_msg("seed %llu bytes: %s: %s", (unsigned long long)seed,
				 rep.stage, rep.msg);
		free(text);
		state_free(&s);
	}
	assert_int_equal(oracle_json_live(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noncanonical_serializer_is_caught),
		cmocka_unit_test(test_noncanonical_caught_on_generated),
		cmocka_unit_test(test_other_broken_serializers),
		cmocka_unit_test(test_leak_is_caught),
		cmocka_unit_test(test_rejection_is_clean),
		cmocka_unit_test(test_passes_on_generated_states),
	};

	oracle_init();
	return cmocka_run_group_tests_name("oracle", tests, NULL, NULL);
}
