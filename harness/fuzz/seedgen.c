/* fuzz_seedgen: writes the seed corpus of every fuzz target.
 *
 *   fuzz_seedgen CORPUS_DIR      (make fuzz-seeds)
 *
 * corpus/state: generated valid states (stategen.h) from no worker to 300,
 * a hand-written non-canonical document, and one document per class of
 * invalid input (syntax, truncation, trailing data, duplicate key, unknown
 * or missing field, wrong type, real number, each range edge, format,
 * version, run state, NUL, empty string or key, bad UTF-8, surrogate, deep
 * nesting) plus documents that parse but fail state_validate.  The other
 * targets get their valid shapes and one input per rejection class.
 * Output is deterministic, so regenerating changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json_guard.h"
#include "state_json.h"
#include "lib/stategen.h"

static const char *corpus;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fuzz_seedgen: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void put(const char *target, const char *name, const void *data,
		size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", corpus, target);
	if (mkdir(path, 0755) && errno != EEXIST)
		die("cannot create", path);
	snprintf(path, sizeof path, "%s/%s/%s", corpus, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		die("cannot write", path);
}

static void put_str(const char *target, const char *name, const char *text)
{
	put(target, name, text, strlen(text));
}

/* --- state --- */

#define BASE                                                                   \
	"{\"format\":\"baton-upgrade-state\",\"version\":1,\"boot_generation\":3," \
	"\"command_socket_fd\":5,\"config\":{\"command_socket\":"             \
	"\"/run/baton/baton.sock\",\"command_buffer_size\":1000000,"          \
	"\"max_command_buffer_size\":2000000,\"pid_file_path\":"             \
	"\"/run/baton/baton.pid\",\"worker_count\":2,\"upgrade_timeout_ms\":" \
	"10000,\"listeners\":[{\"address\":\"127.0.0.1:8080\",\"protocol\":"  \
	"\"http\"}]},\"next_client_id\":5,\"next_session_id\":9,"             \
	"\"next_task_id\":14,\"next_worker_id\":2,\"workers\":[{\"id\":0,"    \
	"\"pid\":4242,\"run_state\":\"RUNNING\",\"channel_fd\":7,\"scm_fd\":9}," \
	"{\"id\":1,\"pid\":4243,\"run_state\":\"STOPPED\",\"channel_fd\":10," \
	"\"scm_fd\":11}],\"state\":{\"clusters\":{\"api\":{\"backends\":"     \
	"[\"127.0.0.1:9000\",\"127.0.0.1:9001\"]},\"web\":{\"backends\":[]}}}}"

struct edit {
	const char *name, *find, *replace;
};

/* clang-format off */
static const struct edit state_edits[] = {
	{"bad-duplicate-key", "\"boot_generation\":3,", "\"boot_generation\":3,\"boot_generation\":3,"},
	{"bad-duplicate-cluster", "\"web\":{", "\"api\":{"},
	{"bad-unknown-field", "\"next_task_id\"", "\"extra\":1,\"next_task_id\""},
	{"bad-unknown-worker-field", "\"scm_fd\":9}", "\"scm_fd\":9,\"gen\":1}"},
	{"bad-missing-field", "\"next_session_id\":9,", ""},
	{"bad-missing-clusters", "{\"clusters\":", "{\"clustrs\":"},
	{"bad-wrong-type", "\"boot_generation\":3", "\"boot_generation\":\"3\""},
	{"bad-wrong-type-config", "\"config\":{", "\"config\":[{"},
	{"bad-null", "\"pid_file_path\":\"/run/baton/baton.pid\"", "\"pid_file_path\":null"},
	{"bad-real", "\"boot_generation\":3", "\"boot_generation\":3.0"},
	{"bad-exponent", "\"pid\":4242", "\"pid\":4.242e3"},
	{"bad-nan", "\"boot_generation\":3", "\"boot_generation\":NaN"},
	{"bad-fd-low", "\"channel_fd\":7", "\"channel_fd\":2"},
	{"bad-fd-high", "\"scm_fd\":9", "\"scm_fd\":1048576"},
	{"bad-pid-zero", "\"pid\":4242", "\"pid\":0"},
	{"bad-pid-high", "\"pid\":4242", "\"pid\":4194305"},
	{"bad-negative", "\"next_client_id\":5", "\"next_client_id\":-1"},
	{"bad-int-overflow", "\"next_task_id\":14", "\"next_task_id\":9223372036854775808"},
	{"bad-worker-id-high", "\"next_worker_id\":2", "\"next_worker_id\":4294967296"},
	{"bad-version", "\"version\":1", "\"version\":2"},
	{"bad-version-zero", "\"version\":1", "\"version\":0"},
	{"bad-format", "baton-upgrade-state", "baton-state"},
	{"bad-run-state", "RUNNING", "SLEEPING"},
	{"bad-nul-escape", "/run/baton/baton.sock", "/run/a\\u0000b"},
	{"bad-nul-key", "\"web\"", "\"w\\u0000\""},
	{"bad-empty-string", "\"protocol\":\"http\"", "\"protocol\":\"\""},
	{"bad-empty-key", "\"web\"", "\"\""},
	{"bad-utf8", "/run/baton/baton.pid", "/run/\xc3\x28"},
	{"bad-overlong-utf8", "/run/baton/baton.pid", "/run/\xc0\xaf"},
	{"bad-surrogate", "/run/baton/baton.pid", "/run/\\ud800"},
	/* parse, then fail state_validate */
	{"invalid-fd-alias", "\"scm_fd\":11", "\"scm_fd\":7"},
	{"invalid-fd-command-socket", "\"command_socket_fd\":5", "\"command_socket_fd\":9"},
	{"invalid-duplicate-worker-id", "\"id\":1", "\"id\":0"},
	{"invalid-next-worker-id", "\"next_worker_id\":2", "\"next_worker_id\":1"},
	{"invalid-buffer-order", "\"max_command_buffer_size\":2000000", "\"max_command_buffer_size\":100"},
	{"invalid-duplicate-listener", "\"protocol\":\"http\"}]", "\"protocol\":\"http\"},{\"address\":\"127.0.0.1:8080\",\"protocol\":\"http\"}]"},
	{"invalid-protocol", "\"protocol\":\"http\"", "\"protocol\":\"gopher\""},
	{"invalid-sun-path", "/run/baton/baton.sock", "/run/0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345"},
	/* valid, not canonical: escapes, spacing, key and map order */
	{"valid-escapes", "/run/baton/baton.pid", "\\/run\\/b\\u00e9ton\\t\\\"p\\\\\\ud83d\\ude80"},
	{"valid-spacing", "\"workers\":[", "\n \"workers\" :\t[ "},
	{"valid-map-order", "\"api\":{\"backends\":[\"127.0.0.1:9000\",\"127.0.0.1:9001\"]},\"web\":{\"backends\":[]}",
	 "\"web\":{\"backends\":[]},\"api\":{\"backends\":[\"127.0.0.1:9001\",\"127.0.0.1:9000\"]}"},
	{"valid-edges", "\"next_client_id\":5,\"next_session_id\":9,\"next_task_id\":14",
	 "\"next_client_id\":0,\"next_session_id\":9223372036854775807,\"next_task_id\":9223372036854775806"},
	{"valid-fd-edges", "\"channel_fd\":7,\"scm_fd\":9", "\"channel_fd\":3,\"scm_fd\":1048575"},
	{"valid-pid-edges", "\"pid\":4242", "\"pid\":4194304"},
	{"valid-no-workers", "\"workers\":[{\"id\":0,\"pid\":4242,\"run_state\":\"RUNNING\",\"channel_fd\":7,\"scm_fd\":9},{\"id\":1,\"pid\":4243,\"run_state\":\"STOPPED\",\"channel_fd\":10,\"scm_fd\":11}]", "\"workers\":[]"},
};
/* clang-format on */

static void put_edit(const struct edit *e)
{
	const char *at = strstr(BASE, e->find);
	size_t pre, flen = strlen(e->find), rlen = strlen(e->replace);
	char *out;

	if (!at) {
		fprintf(stderr, "fuzz_seedgen: edit %s: \"%s\" not in the base\n",
			e->name, e->find);
		exit(1);
	}
	pre = (size_t)(at - BASE);
	out = malloc(sizeof BASE + rlen);
	if (!out)
		die("out of memory", e->name);
	memcpy(out, BASE, pre);
	memcpy(out + pre, e->replace, rlen);
	strcpy(out + pre + rlen, at + flen);
	put_str("state", e->name, out);
	free(out);
}

static void state_generated(void)
{
	static const struct {
		uint64_t seed;
		size_t workers;
	} gens[] = {{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 5}, {6, 8}, {7, 20},
		    {8, 64}, {9, 300}, {10, STATEGEN_ANY}, {11, STATEGEN_ANY},
		    {12, STATEGEN_ANY}, {13, 1}, {14, 4}};

	for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
		struct state s;
		struct bt_err err = {0};
		char name[64], *text;
		size_t len;

		if (stategen_fill(&s, gens[i].seed, gens[i].workers) ||
		    state_json_serialize(&s, &text, &len, &err)) {
			fprintf(stderr, "fuzz_seedgen: state seed %llu: %s\n",
				(unsigned long long)gens[i].seed, err.msg);
			exit(1);
		}
		snprintf(name, sizeof name, "gen-seed%llu-%zu-workers",
			 (unsigned long long)gens[i].seed, s.n_workers);
		put("state", name, text, len);
		free(text);
		state_free(&s);
	}
}

static void state_seeds(void)
{
	char deep[2100 * 2 + 64];
	size_t n = 0;

	state_generated();
	put_str("state", "valid-design-sample", BASE);
	for (size_t i = 0; i < sizeof state_edits / sizeof state_edits[0]; i++)
		put_edit(&state_edits[i]);
	put_str("state", "bad-empty", "");
	put_str("state", "bad-whitespace-only", "  \n");
	put_str("state", "bad-not-object", "[]");
	put_str("state", "bad-not-json", "hello");
	put("state", "bad-truncated", BASE, sizeof BASE - 11);
	put_str("state", "bad-trailing-data", BASE "x");
	put_str("state", "bad-two-documents", BASE "{}");
	n += (size_t)snprintf(deep, sizeof deep, "{\"format\":");
	for (int i = 0; i < 2100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2100; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	put("state", "bad-deep-nesting", deep, n);
}

/* --- frame: byte 0 picks the max frame size (fuzz/frame.c) --- */

static size_t frame(unsigned char *out, const char *payload, size_t len)
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)((uint64_t)len >> (8 * i));
	memcpy(out + 8, payload, len);
	return 8 + len;
}

static void frame_seeds(void)
{
	static const char ok[] = "{\"ok\":true,\"pid\":4242,\"boot_generation\":3}";
	static const char no[] = "{\"ok\":false,\"step\":\"new/parse\",\"errno\":22,"
				 "\"error\":\"$.version: unknown version 2\"}";
	unsigned char buf[512];
	size_t n;

	buf[0] = 4; /* 4096 */
	n = 1 + frame(buf + 1, ok, sizeof ok - 1);
	put("frame", "one-frame", buf, n);
	n += frame(buf + n, no, sizeof no - 1);
	n += frame(buf + n, "", 0);
	put("frame", "three-frames", buf, n);
	put("frame", "partial-second-frame", buf, n - 20);
	put("frame", "header-only", buf, 1 + 8);
	put("frame", "short-header", buf, 1 + 5);
	buf[0] = 3; /* 64: header + 56 bytes fits exactly, 57 does not */
	memset(buf + 9, 'x', 57);
	frame(buf + 1, (const char *)buf + 9, 56);
	put("frame", "exact-fit", buf, 1 + 8 + 56);
	frame(buf + 1, (const char *)buf + 9, 57);
	put("frame", "one-byte-over", buf, 1 + 8 + 57);
	buf[0] = 0; /* 8: only empty frames fit */
	frame(buf + 1, "", 0);
	frame(buf + 9, "a", 1);
	put("frame", "empty-then-oversized", buf, 1 + 8 + 9);
	buf[0] = 0xff; /* the max in the next 8 bytes: 100 */
	frame(buf + 1, "", 92);
	n = 9 + frame(buf + 9, ok, sizeof ok - 1);
	put("frame", "explicit-max", buf, n);
	buf[0] = 6; /* SIZE_MAX / 2, a length near 2^63 */
	memset(buf + 1, 0, 8);
	buf[8] = 0x7f;
	put("frame", "huge-length", buf, 9);
}

/* --- manifest --- */

static void manifest_seeds(void)
{
	static const struct edit m[] = {
		{"valid-one-batch", NULL, "{\"batch\":0,\"batches\":1,\"total\":2,\"names\":[\"127.0.0.1:8080\",\"[::1]:8080\"]}"},
		{"valid-second-batch", NULL, "{\"batch\":1,\"batches\":2,\"total\":300,\"names\":[\"127.0.0.1:8080\"]}"},
		{"valid-empty", NULL, "{\"batch\":0,\"batches\":1,\"total\":0,\"names\":[]}"},
		{"valid-key-order", NULL, "{ \"names\" : [\"a\\u00e9\\/b\"], \"total\":1, \"batches\":1, \"batch\":0 }"},
		{"bad-batch-index", NULL, "{\"batch\":2,\"batches\":2,\"total\":2,\"names\":[]}"},
		{"bad-zero-batches", NULL, "{\"batch\":0,\"batches\":0,\"total\":0,\"names\":[]}"},
		{"bad-names-over-total", NULL, "{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"a\",\"b\"]}"},
		{"bad-total-range", NULL, "{\"batch\":0,\"batches\":1,\"total\":16777217,\"names\":[]}"},
		{"bad-negative", NULL, "{\"batch\":-1,\"batches\":1,\"total\":0,\"names\":[]}"},
		{"bad-real", NULL, "{\"batch\":0.0,\"batches\":1,\"total\":0,\"names\":[]}"},
		{"bad-unknown-field", NULL, "{\"batch\":0,\"batches\":1,\"total\":0,\"names\":[],\"fds\":[3]}"},
		{"bad-missing-names", NULL, "{\"batch\":0,\"batches\":1,\"total\":0}"},
		{"bad-names-type", NULL, "{\"batch\":0,\"batches\":1,\"total\":1,\"names\":\"a\"}"},
		{"bad-name-type", NULL, "{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[1]}"},
		{"bad-empty-name", NULL, "{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"\"]}"},
		{"bad-nul-name", NULL, "{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"a\\u0000\"]}"},
		{"bad-duplicate-key", NULL, "{\"batch\":0,\"batch\":0,\"batches\":1,\"total\":0,\"names\":[]}"},
		{"bad-not-object", NULL, "[0,1,0,[]]"},
		{"bad-truncated", NULL, "{\"batch\":0,\"batches\":1,\"total\":0,\"names\":["},
		{"bad-empty", NULL, ""},
	};
	char big[300 * 8 + 256];
	size_t n;

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		put_str("manifest", m[i].name, m[i].replace);
	/* a full batch of 252 names, and one name too many for a message */
	for (int count = 252; count <= 254; count += 2) {
		n = (size_t)snprintf(big, sizeof big,
				     "{\"batch\":0,\"batches\":2,\"total\":300,\"names\":[");
		for (int i = 0; i < count; i++)
			n += (size_t)snprintf(big + n, sizeof big - n, "%s\"p%d\"",
					      i ? "," : "", i);
		n += (size_t)snprintf(big + n, sizeof big - n, "]}");
		put("manifest", count == 252 ? "valid-full-batch" : "bad-254-names",
		    big, n);
	}
	n = (size_t)snprintf(big, sizeof big,
			     "{\"batch\":0,\"batches\":1,\"total\":1,\"names\":[\"");
	memset(big + n, 'n', 256);
	n += 256;
	n += (size_t)snprintf(big + n, sizeof big - n, "\"]}");
	put("manifest", "bad-name-256-bytes", big, n);
}

/* --- main_args: NUL-separated arguments --- */

static void args(const char *name, const char *const *argv)
{
	char buf[512];
	size_t n = 0;

	for (size_t i = 0; argv[i]; i++) {
		size_t len = strlen(argv[i]);

		if (i)
			buf[n++] = 0;
		memcpy(buf + n, argv[i], len);
		n += len;
	}
	put("main_args", name, buf, n);
}

#define ARGS(name, ...)                                                       \
	do {                                                                  \
		static const char *const v_[] = {__VA_ARGS__, NULL};          \
		args(name, v_);                                               \
	} while (0)

static void main_args_seeds(void)
{
	ARGS("valid", "--fd", "5", "--upgrade-fd", "6", "--command-buffer-size",
	     "1000000", "--max-command-buffer-size", "2000000");
	ARGS("valid-equals", "--upgrade-fd=4", "--fd=3", "--max-command-buffer-size=1073741824",
	     "--command-buffer-size=16");
	ARGS("valid-mixed", "--command-buffer-size", "64", "--fd=2147483647",
	     "--max-command-buffer-size", "64", "--upgrade-fd", "3");
	ARGS("bad-missing", "--fd", "5", "--upgrade-fd", "6");
	ARGS("bad-twice", "--fd", "5", "--fd", "7", "--upgrade-fd", "6",
	     "--command-buffer-size", "16", "--max-command-buffer-size", "16");
	ARGS("bad-unknown", "--fd", "5", "--verbose");
	ARGS("bad-no-value", "--upgrade-fd", "6", "--fd");
	ARGS("bad-empty-value", "--fd=", "--upgrade-fd", "6");
	ARGS("bad-not-number", "--fd", "0x10", "--upgrade-fd", "6");
	ARGS("bad-negative", "--fd", "-5");
	ARGS("bad-too-large", "--fd", "99999999999999999999999");
	ARGS("bad-fd-low", "--fd", "2", "--upgrade-fd", "6", "--command-buffer-size",
	     "16", "--max-command-buffer-size", "16");
	ARGS("bad-fd-int-max", "--fd", "2147483648", "--upgrade-fd", "6");
	ARGS("bad-same-fd", "--fd", "5", "--upgrade-fd", "5", "--command-buffer-size",
	     "16", "--max-command-buffer-size", "16");
	ARGS("bad-size-order", "--fd", "5", "--upgrade-fd", "6", "--command-buffer-size",
	     "4096", "--max-command-buffer-size", "1024");
	ARGS("bad-size-range", "--command-buffer-size", "15");
	ARGS("bad-empty-arg", "");
}

/* --- spec --- */

static void spec_seeds(void)
{
	static const struct edit s[] = {
		{"valid-persistent", NULL, "old/write@2:error=ENOSPC:persistent"},
		{"valid-transient", NULL, "child/exec@1:error=ENOENT:transient"},
		{"valid-crash", NULL, "new/parse@1:crash"},
		{"valid-hang", NULL, "old/confirm-read@1:hang"},
		{"valid-short", NULL, "worker/send@99999999:short"},
		{"valid-role", NULL, "new:libc/mm/malloc@3:error=ENOMEM"},
		{"valid-errno-number", NULL, "worker:posix/io/rw/write@7:error=28"},
		{"valid-list", NULL, " old/write@2:error=ENOSPC:persistent , new/parse@1:crash,,mem/alloc@40:error=12"},
		{"bad-role", NULL, "child:old/write@1:crash"},
		{"bad-point-char", NULL, "old/Write@1:crash"},
		{"bad-no-at", NULL, "old/write"},
		{"bad-no-slash", NULL, "write@1:crash"},
		{"bad-nth-zero", NULL, "old/write@0:crash"},
		{"bad-nth-long", NULL, "old/write@123456789:crash"},
		{"bad-no-kind", NULL, "old/write@1"},
		{"bad-kind", NULL, "old/write@1:explode"},
		{"bad-error-no-errno", NULL, "old/write@1:error"},
		{"bad-errno-name", NULL, "old/write@1:error=ENOTANERRNO"},
		{"bad-errno-number", NULL, "old/write@1:error=4096"},
		{"bad-arg", NULL, "old/write@1:short=3"},
		{"bad-mode", NULL, "old/write@1:crash:sometimes"},
		{"bad-list-entry", NULL, "old/write@1:crash,new/parse@x:crash"},
	};
	char buf[1200];
	size_t n = 0;

	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		put_str("spec", s[i].name, s[i].replace);
	memset(buf, 'a', 220);
	memcpy(buf, "old/", 4);
	memcpy(buf + 210, "@1:crash", 9);
	put_str("spec", "bad-too-long", buf);
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%sold/write@%d:crash",
				      i ? "," : "", i + 1);
	put_str("spec", "bad-33-specs", buf);
}

int main(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: %s CORPUS_DIR   write the seeds of every fuzz "
			"target under CORPUS_DIR/<target>/\n", argv[0]);
		return argc == 2 ? 0 : 2;
	}
	corpus = argv[1];
	json_guard_init();
	state_seeds();
	frame_seeds();
	manifest_seeds();
	main_args_seeds();
	spec_seeds();
	return 0;
}
