/* fuzz_driver: a plain main around LLVMFuzzerTestOneInput.
 *
 *   TARGET [FILE...]     run each FILE (stdin when none) through the target
 *
 * Linked with a target built by afl-clang-fast, it is the fork-server
 * build: one input per process, no persistent loop, no deferred start, the
 * baseline that persistent mode is measured against.  Linked with gcc, it
 * replays one input by hand (a crash reproduces under gdb). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/targets.h"

static unsigned char *slurp(FILE *f, size_t *len)
{
	size_t cap = 4096;
	unsigned char *buf = malloc(cap), *p;

	*len = 0;
	while (buf) {
		*len += fread(buf + *len, 1, cap - *len, f);
		if (*len < cap)
			return ferror(f) ? (free(buf), NULL) : buf;
		p = realloc(buf, cap * 2);
		if (!p)
			free(buf);
		buf = p;
		cap *= 2;
	}
	return NULL;
}

static int run(const char *path)
{
	FILE *f = path ? fopen(path, "rb") : stdin;
	unsigned char *data;
	size_t len;

	if (!f) {
		fprintf(stderr, "fuzz_driver: %s: %s\n", path, strerror(errno));
		return 1;
	}
	data = slurp(f, &len);
	if (path)
		fclose(f);
	if (!data) {
		fprintf(stderr, "fuzz_driver: cannot read %s\n", path ? path : "stdin");
		return 1;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: %s [FILE...]   run each input (stdin when none) once\n",
		       argv[0]);
		return 0;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2)
		return run(NULL);
	for (int i = 1; i < argc; i++)
		rc |= run(argv[i]);
	return rc;
}
