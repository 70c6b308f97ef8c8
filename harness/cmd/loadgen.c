/* loadgen: the command-line front of harness/lib/loadgen.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/loadgen.h"

static const char usage[] =
	"usage: loadgen [--concurrency N] [--count N] [--duration MS]\n"
	"               [--timeout MS] [--any-200] HOST:PORT\n"
	"Sends HTTP/1.0 GET requests to a loopback address and classifies every\n"
	"failure (refused, reset, timeout, bad).  At least one of --count and\n"
	"--duration is required.  Exit status: 0 when no request failed, 1 when\n"
	"some did, 2 on a usage error.\n";

int main(int argc, char **argv)
{
	struct loadgen_opts o = {0};
	struct loadgen_result r;
	struct bt_err err;
	char line[512];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf("%s", usage);
			return 0;
		} else if (strcmp(a, "--any-200") == 0) {
			o.accept_any_200 = true;
		} else if (i + 1 < argc && strcmp(a, "--concurrency") == 0) {
			o.concurrency = atoi(argv[++i]);
		} else if (i + 1 < argc && strcmp(a, "--count") == 0) {
			o.count = atol(argv[++i]);
		} else if (i + 1 < argc && strcmp(a, "--duration") == 0) {
			o.duration_ms = atoi(argv[++i]);
		} else if (i + 1 < argc && strcmp(a, "--timeout") == 0) {
			o.timeout_ms = atoi(argv[++i]);
		} else if (a[0] != '-' && !o.address) {
			o.address = a;
		} else {
			fprintf(stderr, "loadgen: unexpected argument \"%s\"\n%s", a, usage);
			return 2;
		}
	}
	if (!o.address || (o.count <= 0 && o.duration_ms <= 0)) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (loadgen_run(&o, &r, &err)) {
		fprintf(stderr, "loadgen: %s\n", err.msg);
		return 2;
	}
	loadgen_summary(&r, line, sizeof line);
	printf("%s\n", line);
	for (size_t i = 0; i < r.n_seen; i++)
		printf("  worker id=%u gen=%llu pid=%d answered %ld\n", r.seen[i].id,
		       r.seen[i].gen, r.seen[i].pid, r.seen[i].count);
	return loadgen_failed(&r) ? 1 : 0;
}
