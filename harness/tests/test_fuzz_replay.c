/* test_fuzz_replay: every seed and every regression input through its fuzz
 * target, built with the ordinary compiler (no fuzz toolchain needed).
 *
 * For each target T, every file of corpus/T/ and corpus/regress/T/ (names
 * starting with '.' and README files aside) runs through fuzz_T_check; an
 * oracle violation fails the test and names the file and the stage.  Seed
 * names carry their class, which is checked too: "bad-*" must be rejected,
 * "valid-*", "gen-*" and "invalid-*" (parses, fails state_validate) must be
 * accepted, so a seed cannot silently stop testing what it says.  Every
 * target must have seeds.  BATON_CORPUS overrides the corpus directory
 * (default: corpus, relative to the repository root make runs from). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the five targets, without their libFuzzer entry points */
#define FUZZ_NO_ENTRY
#include "fuzz/frame.c"
#include "fuzz/heapcount.c"
#include "fuzz/main_args.c"
#include "fuzz/manifest.c"
#include "fuzz/spec.c"
#include "fuzz/state.c"

struct tally {
	size_t files, passed, rejected;
};

static const char *corpus_root(void)
{
	const char *env = getenv("BATON_CORPUS");

	return env && *env ? env : "corpus";
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long size;

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)size;
	}
	fclose(f);
	if (!buf)
		fail_msg("cannot read %s", path);
	return buf;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static void check_label(const char *name, const char *path,
			enum oracle_outcome o, const struct oracle_report *rep)
{
	if (has_prefix(name, "bad-") && o != ORACLE_REJECTED)
		fail_msg("%s: a bad-* seed was accepted", path);
	if ((has_prefix(name, "valid-") || has_prefix(name, "gen-") ||
	     has_prefix(name, "invalid-")) && o != ORACLE_PASS)
		fail_msg("%s: a valid seed was rejected: %s", path, rep->msg);
}

static void replay_file(const char *dir, const char *name, fuzz_check_fn check,
			struct tally *t)
{
	char path[1024];
	struct oracle_report rep;
	enum oracle_outcome o;
	unsigned char *data;
	size_t len = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	data = read_all(path, &len);
	o = check(data, len, &rep);
	free(data);
	if (o == ORACLE_VIOLATION)
		fail_msg("%s (%zu bytes): oracle violation at stage '%s': %s", path,
			 len, rep.stage, rep.msg);
	check_label(name, path, o, &rep);
	t->files++;
	if (o == ORACLE_PASS)
		t->passed++;
	else
		t->rejected++;
}

/* Every input file of DIR; a missing directory counts as empty. */
static void replay_dir(const char *dir, fuzz_check_fn check, struct tally *t)
{
	DIR *d = opendir(dir);
	struct dirent **names;
	int n;

	if (!d)
		return;
	closedir(d);
	/* sorted, so a failure is the same file on every run */
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		fail_msg("cannot list %s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (name[0] != '.' && !has_prefix(name, "README") &&
		    names[i]->d_type != DT_DIR)
			replay_file(dir, name, check, t);
		free(names[i]);
	}
	free(names);
}

static void replay_target(const char *target, fuzz_check_fn check)
{
	char dir[512];
	struct tally seeds = {0}, regress = {0};

	snprintf(dir, sizeof dir, "%s/%s", corpus_root(), target);
	replay_dir(dir, check, &seeds);
	if (seeds.files == 0)
		fail_msg("%s: no seeds (run make fuzz-seeds?)", dir);
	snprintf(dir, sizeof dir, "%s/regress/%s", corpus_root(), target);
	replay_dir(dir, check, &regress);
	printf("  %-10s %3zu seeds (%zu accepted, %zu rejected), %zu regression "
	       "inputs\n", target, seeds.files, seeds.passed, seeds.rejected,
	       regress.files);
}

#define REPLAY_TEST(name)                                                     \
	static void test_replay_##name(void **unused)                         \
	{                                                                     \
		(void)unused;                                                 \
		replay_target(#name, fuzz_##name##_check);                    \
	}

REPLAY_TEST(state)
REPLAY_TEST(frame)
REPLAY_TEST(manifest)
REPLAY_TEST(main_args)
REPLAY_TEST(spec)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_state),
		cmocka_unit_test(test_replay_frame),
		cmocka_unit_test(test_replay_manifest),
		cmocka_unit_test(test_replay_main_args),
		cmocka_unit_test(test_replay_spec),
	};

	oracle_init();
	return cmocka_run_group_tests_name("fuzz_replay", tests, NULL, NULL);
}
