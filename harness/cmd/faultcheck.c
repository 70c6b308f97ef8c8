/* faultcheck: the fault campaign's command line (see campaign.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blackbox/blackbox.h"
#include "campaign/campaign.h"
#include "lib/proc.h"
#include "json_guard.h"

static const char usage[] =
	"usage: faultcheck [OPTIONS]\n"
	"       faultcheck --repro SPEC [OPTIONS]\n"
	"  --batond PATH        the daemon under test (default: batond beside faultcheck)\n"
	"  --catalogue FILE     (default $BATON_CATALOGUE, else faults/catalogue)\n"
	"  --jobs N             cells in parallel (default: the number of cores)\n"
	"  --shard I/N          run only the I-th of N shards of the cells\n"
	"  --only GLOB          run only the cells whose spec matches GLOB\n"
	"  --skip-points GLOB   skip (and count as skipped) the catalogue rows whose\n"
	"                       point matches GLOB: libc/mm/* under valgrind, which\n"
	"                       replaces malloc so libfiu's wrappers never run\n"
	"  --work DIR           cell directories (default build/cells)\n"
	"  --reports DIR        faultcheck.json and .xml (default build/reports)\n"
	"  --repro-dir DIR      artifacts of --repro (default build/repro)\n"
	"  --timeout MS         the upgrade deadline in each cell (default 400)\n"
	"  --repro-cmd CMD      repro lines read \"CMD 'SPEC'\" (baton: \"baton repro\");\n"
	"                       default \"make repro FAULT='SPEC'\"\n"
	"  --list               print the cells, run nothing\n"
	"  --no-preload         run batond without libfiu's POSIX preload (for\n"
	"                       sanitizer builds; libc-layer rows then cannot fire)\n"
	"  --exhaustive         every hit N of the allocator points too (they are\n"
	"                       sampled to 32 hits by default)\n"
	"  --verbose            name each failing cell as it fails\n"
	"  --target NAME        reference (default: the campaign above), or a real\n"
	"                       daemon judged as a black box: nginx, haproxy,\n"
	"                       haproxy-classic (see harness/blackbox/blackbox.h)\n"
	"  --upgrades N         black box: upgrades in a row (default 5)\n"
	"  --concurrency N      black box: connections in flight (default 8, 0: no load)\n"
	"  --faults LIST        black box: fault specs, or none (default: a list of\n"
	"                       libc calls failing in the old and new master)\n"
	"Exit status: 0 every cell passed, 1 a cell failed or a point never fired\n"
	"or the catalogue disagrees with batond, 2 a usage or setup error,\n"
	"77 the black-box daemon is not installed (skipped, never passed).\n";

static int parse_shard(const char *s, int *i, int *n)
{
	return sscanf(s, "%d/%d", i, n) == 2 && *n >= 1 && *i >= 1 && *i <= *n ? 0 : -1;
}

static const char default_catalogue[] = "faults/catalogue";

int main(int argc, char **argv)
{
	static char batond[4096];
	struct campaign_opts o = {
		.catalogue = default_catalogue,
		.work_dir = "build/cells",
		.report_dir = "build/reports",
		.repro_dir = "build/repro",
		.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN),
		.shard_i = 1,
		.shard_n = 1,
		.upgrade_timeout_ms = 400,
		.cell_timeout_ms = 60000,
	};
	const char *repro = NULL;
	struct bb_opts bb = {0};
	static char work_abs[4096], reports_abs[4096], repro_abs[4096];
	char self[4096];
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("%s", usage);
			return 0;
		} else if (!strcmp(a, "--list")) {
			o.list_only = true;
		} else if (!strcmp(a, "--no-preload")) {
			o.no_preload = true;
		} else if (!strcmp(a, "--exhaustive")) {
			o.exhaustive = true;
		} else if (!strcmp(a, "--verbose")) {
			o.verbose = true;
		} else if (v && !strcmp(a, "--batond")) {
			o.batond = v, o.batond_given = true, i++;
		} else if (v && !strcmp(a, "--catalogue")) {
			o.catalogue = v, i++;
		} else if (v && !strcmp(a, "--jobs")) {
			o.jobs = atoi(v), i++;
		} else if (v && !strcmp(a, "--shard")) {
			if (parse_shard(v, &o.shard_i, &o.shard_n)) {
				fprintf(stderr, "faultcheck: --shard \"%s\": expected I/N with "
						"1 <= I <= N\n", v);
				return 2;
			}
			i++;
		} else if (v && !strcmp(a, "--skip-points")) {
			o.skip_points = v, i++;
		} else if (v && !strcmp(a, "--only")) {
			o.only = *v ? v : NULL, i++;
		} else if (v && !strcmp(a, "--work")) {
			o.work_dir = v, i++;
		} else if (v && !strcmp(a, "--reports")) {
			o.report_dir = v, i++;
		} else if (v && !strcmp(a, "--repro-dir")) {
			o.repro_dir = v, i++;
		} else if (v && !strcmp(a, "--timeout")) {
			o.upgrade_timeout_ms = atoi(v), i++;
		} else if (v && !strcmp(a, "--repro-cmd")) {
			o.repro_cmd = v, i++;
		} else if (v && !strcmp(a, "--repro")) {
			repro = v, i++;
		} else if (v && !strcmp(a, "--target")) {
			bb.target = v, i++;
		} else if (v && !strcmp(a, "--upgrades")) {
			bb.upgrades = atoi(v), i++;
		} else if (v && !strcmp(a, "--concurrency")) {
			bb.concurrency = atoi(v) > 0 ? atoi(v) : -1, i++;
		} else if (v && !strcmp(a, "--faults")) {
			bb.faults = v, i++;
		} else {
			fprintf(stderr, "faultcheck: unexpected argument \"%s\"\n%s", a, usage);
			return 2;
		}
	}
	if (o.jobs < 1)
		o.jobs = 1;
	/* baton sets it for every program it runs (bench runs faultcheck) */
	if (o.catalogue == default_catalogue && getenv("BATON_CATALOGUE") &&
	    *getenv("BATON_CATALOGUE"))
		o.catalogue = getenv("BATON_CATALOGUE");
	/* sanitizer runs (ci/sanitize) say so for every faultcheck they start */
	if (getenv("BATON_NO_PRELOAD") && *getenv("BATON_NO_PRELOAD") == '1')
		o.no_preload = true;
	if (!o.batond) {
		n = readlink("/proc/self/exe", self, sizeof self - 1);
		self[n > 0 ? n : 0] = 0;
		if (strrchr(self, '/'))
			*strrchr(self, '/') = 0;
		snprintf(batond, sizeof batond, "%s/batond", self);
		o.batond = batond;
	}
	/* cells chdir nowhere, but their paths end up in unix socket names
	 * and in repro lines: make them absolute once */
	o.work_dir = proc_absolute(o.work_dir, work_abs, sizeof work_abs);
	o.report_dir = proc_absolute(o.report_dir, reports_abs, sizeof reports_abs);
	o.repro_dir = proc_absolute(o.repro_dir, repro_abs, sizeof repro_abs);
	json_guard_init();
	if (bb.target && strcmp(bb.target, "reference") != 0) {
		bb.batond = o.batond, bb.work_dir = o.work_dir;
		bb.report_dir = o.report_dir, bb.only = o.only;
		bb.repro = repro, bb.verbose = o.verbose;
		return blackbox_main(&bb);
	}
	return repro ? campaign_repro(&o, repro) : campaign_run(&o);
}
