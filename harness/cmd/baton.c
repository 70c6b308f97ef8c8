/* baton: the one command a project installs and calls.
 *
 * Subcommands run the harness programs (faultcheck, bench) found relative
 * to this executable, then write the reports people look at:
 *   installed   PREFIX/bin/baton, PREFIX/sbin/batond, PREFIX/lib/baton/
 *               (faultcheck, bench, loadgen, forkprobe, the shims),
 *               PREFIX/share/baton/ (catalogue, targets/)
 *   source tree BUILD/baton beside BUILD/faultcheck and BUILD/batond; the
 *               catalogue and targets/ in the first parent of BUILD that
 *               holds faults/catalogue
 * Exit status: 0 pass, 1 a finding, 2 a usage or harness error.  A harness
 * program's own statuses map onto these: faultcheck's 77 (the black-box
 * daemon is not installed: nothing was judged) is 2, a program killed by
 * a signal is 2. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blackbox/target.h"
#include "campaign/campaign.h"
#include "lib/proc.h"
#include "report/html.h"
#include "report/merge.h"

#ifndef BATON_VERSION
#define BATON_VERSION "unknown"
#endif

enum { EXIT_PASS = 0, EXIT_FINDING = 1, EXIT_HARNESS = 2 };

struct paths {
	bool installed;
	char self_dir[PATH_MAX];
	char libexec[PATH_MAX];		/* faultcheck, bench, shims */
	char batond[PATH_MAX];
	char catalogue[PATH_MAX];
	char targets[PATH_MAX];		/* NAME.target files */
	char out[PATH_MAX];		/* default output: reports/, cells/, repro/ */
};

static const char usage[] =
	"usage: baton COMMAND [ARGS]\n"
	"  faultcheck [OPTIONS]     break every step of batond's upgrade, one call at a\n"
	"                           time, and judge each run by the upgrade contract;\n"
	"                           --target NAME|FILE judges another daemon\n"
	"  repro SPEC [OPTIONS]     one cell, verbose, with its artifacts and timeline\n"
	"  bench [OPTIONS]          upgrade latency against its floor, codec, data plane\n"
	"  target check NAME|FILE   check a target (a built-in name or a .target file)\n"
	"  report [OPTIONS]         the HTML report (and trace.json files) of a run\n"
	"  report merge SHARD.json...  shards of one campaign as one JSON, JUnit, HTML\n"
	"  version                  the version and where baton found its pieces\n"
	"`baton COMMAND --help` says more.  Exit status: 0 pass, 1 a finding (a\n"
	"violated clause, an unfired point, a catalogue mismatch), 2 a usage or\n"
	"harness error (nothing was judged).\n";

static const char usage_faultcheck[] =
	"usage: baton faultcheck [--out DIR] [--all-timelines] [FAULTCHECK OPTIONS]\n"
	"  --out DIR          reports/, cells/ and repro/ go under DIR (default: the\n"
	"                     build directory in a source tree, else ./baton-out)\n"
	"  --all-timelines    a timeline for every cell in the HTML (default: the\n"
	"                     failing cells)\n"
	"Writes DIR/reports/faultcheck.json, .xml and .html; each failing cell's\n"
	"directory gets trace.json (Perfetto, chrome://tracing).  The options of the\n"
	"campaign itself follow.\n\n";

static const char usage_repro[] =
	"usage: baton repro SPEC [--out DIR] [--batond PATH] [--target NAME]\n"
	"Reruns one cell (SPEC as in a report's repro line, e.g.\n"
	"'old/write@2:error=ENOSPC:persistent') verbosely, keeps its artifacts in\n"
	"DIR/repro/<spec>/ and writes there trace.json and timeline.html.\n"
	"Exit status: 0 the cell passes, 1 a clause is violated, 2 a harness error.\n";

static const char usage_report[] =
	"usage: baton report [--json FILE] [--html FILE] [--all-timelines]\n"
	"       baton report merge [-o DIR] SHARD.json...\n"
	"report: FILE (default OUT/reports/faultcheck.json) gets the timelines of\n"
	"  its failing cells (from their directories) and becomes HTML (default:\n"
	"  beside it, faultcheck.html).\n"
	"merge: the faultcheck.json of every shard of one campaign (--shard I/N)\n"
	"  as DIR/faultcheck.json, faultcheck.xml (JUnit) and faultcheck.html\n"
	"  (default DIR: .).  A missing or repeated shard is a setup error of\n"
	"  the merged report.\n"
	"Exit status: 0 the report has no failure, 1 it has one, 2 unreadable input.\n";

static const char usage_target[] =
	"usage: baton target check NAME|FILE\n"
	"Checks a target: a file (a path, or NAME.target in the installed targets\n"
	"directory) or a built-in adapter (reference, nginx, haproxy,\n"
	"haproxy-classic), and says whether its daemon is installed.\n"
	"Exit status: 0 the target is valid, 1 it is not, 2 a usage error.\n";

/* --- where things are --- */

static bool executable(const char *path)
{
	return access(path, X_OK) == 0;
}

static void join(char *out, const char *dir, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

/* The first of DIR, DIR/.., DIR/../.. that holds faults/catalogue. */
static bool find_source_root(const char *dir, char *root)
{
	char probe[PATH_MAX], cur[PATH_MAX];

	snprintf(cur, sizeof cur, "%s", dir);
	for (int up = 0; up < 3; up++) {
		snprintf(probe, sizeof probe, "%s/faults/catalogue", cur);
		if (access(probe, R_OK) == 0 && realpath(cur, root))
			return true;
		strncat(cur, "/..", sizeof cur - strlen(cur) - 1);
	}
	return false;
}

static int find_paths(struct paths *p)
{
	char self[PATH_MAX], probe[PATH_MAX], root[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	memset(p, 0, sizeof *p);
	if (n <= 0) {
		fprintf(stderr, "baton: cannot read /proc/self/exe (%s): is /proc mounted? "
				"baton observes processes through /proc and needs it\n",
			strerror(errno));
		return -1;
	}
	self[n] = 0;
	*strrchr(self, '/') = 0;
	snprintf(p->self_dir, sizeof p->self_dir, "%s", self);
	snprintf(probe, sizeof probe, "%s/../lib/baton/faultcheck", self);
	if (executable(probe)) {
		p->installed = true;
		snprintf(probe, sizeof probe, "%s/../lib/baton", self);
		if (!realpath(probe, p->libexec))
			snprintf(p->libexec, sizeof p->libexec, "%s", probe);
		snprintf(probe, sizeof probe, "%s/../sbin/batond", self);
		if (!realpath(probe, p->batond))
			snprintf(p->batond, sizeof p->batond, "%s", probe);
		snprintf(probe, sizeof probe, "%s/../share/baton", self);
		if (!realpath(probe, root))
			snprintf(root, sizeof root, "%s", probe);
		join(p->catalogue, root, "catalogue");
		join(p->targets, root, "targets");
		snprintf(p->out, sizeof p->out, "baton-out");
		return 0;
	}
	join(probe, self, "faultcheck");
	if (executable(probe) && find_source_root(self, root)) {
		snprintf(p->libexec, sizeof p->libexec, "%s", self);
		join(p->batond, self, "batond");
		join(p->catalogue, root, "faults/catalogue");
		join(p->targets, root, "targets");
		snprintf(p->out, sizeof p->out, "%s", self);
		return 0;
	}
	fprintf(stderr, "baton: found neither %s/../lib/baton/faultcheck (an installed "
			"baton) nor faultcheck and faults/catalogue around %s (a source "
			"tree)\n", self, self);
	return -1;
}

/* --- running a harness program --- */

static int exit_of(const char *what, int status)
{
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "baton: %s was killed by signal %d: nothing was judged\n",
			what, WTERMSIG(status));
		return EXIT_HARNESS;
	}
	switch (WEXITSTATUS(status)) {
	case 0: return EXIT_PASS;
	case 1: return EXIT_FINDING;
	case 77:
		fprintf(stderr, "baton: %s: the daemon under test is not installed "
				"(skipped, never passed)\n", what);
		return EXIT_HARNESS;
	default: return EXIT_HARNESS;
	}
}

static int run(const struct paths *p, char **argv)
{
	int status;
	pid_t pid;

	setenv("BATON_CATALOGUE", p->catalogue, 0);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "baton: fork: %s\n", strerror(errno));
		return EXIT_HARNESS;
	}
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "baton: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_HARNESS;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return EXIT_HARNESS;
	return exit_of(argv[0], status);
}

struct argv_buf {
	char **v;
	int n;
};

static void push(struct argv_buf *a, const char *s)
{
	a->v[a->n++] = (char *)s;
	a->v[a->n] = NULL;
}

static bool has_opt(int argc, char **argv, const char *opt, const char **value)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], opt)) {
			if (value)
				*value = i + 1 < argc ? argv[i + 1] : NULL;
			return true;
		}
	}
	return false;
}

/* --target X: a path or NAME.target is a target file; anything else a
 * built-in adapter's name.  Returns the argument to hand on. */
static const char *resolve_target(const struct paths *p, const char *arg, char *buf)
{
	if (strchr(arg, '/'))
		return arg;
	snprintf(buf, PATH_MAX, "%s/%s%s", p->targets, arg,
		 strstr(arg, ".target") ? "" : ".target");
	return access(buf, R_OK) == 0 ? buf : arg;
}

/* The options every campaign run gets unless the caller gave them. */
static void campaign_args(const struct paths *p, const char *out, int argc, char **argv,
			  struct argv_buf *a, char dirs[3][PATH_MAX], char *target)
{
	/* no --batond: faultcheck runs the batond beside it (installed:
	 * lib/baton/batond -> ../../sbin/batond), and repro lines name a
	 * daemon only when the caller chose one */
	push(a, "--catalogue");
	push(a, p->catalogue);
	snprintf(dirs[0], PATH_MAX, "%s/cells", out);
	snprintf(dirs[1], PATH_MAX, "%s/reports", out);
	snprintf(dirs[2], PATH_MAX, "%s/repro", out);
	push(a, "--work");
	push(a, dirs[0]);
	push(a, "--reports");
	push(a, dirs[1]);
	push(a, "--repro-dir");
	push(a, dirs[2]);
	if (p->installed) {
		push(a, "--repro-cmd");
		push(a, "baton repro");
	}
	/* what the caller gave comes after, and faultcheck takes the last;
	 * baton's own options stay here */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--out")) {
			i++;
			continue;
		}
		if (!strcmp(argv[i], "--all-timelines"))
			continue;
		if (!strcmp(argv[i], "--target") && i + 1 < argc) {
			push(a, "--target");
			push(a, resolve_target(p, argv[++i], target));
			continue;
		}
		push(a, argv[i]);
	}
}

static const char *out_dir(const struct paths *p, int argc, char **argv)
{
	const char *out = p->out;

	has_opt(argc, argv, "--out", &out);
	return out ? out : p->out;
}

/* --- report --- */

static int report_files(const char *json_path, const char *html_path, bool all,
			bool quiet)
{
	json_error_t jerr;
	json_t *r = json_load_file(json_path, 0, &jerr);
	struct bt_err err;
	int rc;

	if (!r) {
		fprintf(stderr, "baton: cannot read the report %s: %s\n", json_path, jerr.text);
		return EXIT_HARNESS;
	}
	report_enrich(r, all);
	if (json_dump_file(r, json_path, JSON_INDENT(1)) != 0 ||
	    report_html_write(r, html_path, &err) != 0) {
		fprintf(stderr, "baton: %s\n", json_dump_file(r, json_path, JSON_INDENT(1))
						       ? "cannot rewrite the report"
						       : err.msg);
		json_decref(r);
		return EXIT_HARNESS;
	}
	if (!quiet)
		fprintf(stderr, "report: %s\n", html_path);
	rc = report_status(r);
	json_decref(r);
	return rc;
}

static void html_beside(const char *json_path, char *html)
{
	const char *slash = strrchr(json_path, '/');

	snprintf(html, PATH_MAX, "%.*sfaultcheck.html",
		 slash ? (int)(slash - json_path + 1) : 0, json_path);
}

static int cmd_merge(int argc, char **argv)
{
	const char *dir = ".";
	json_t **shards = calloc((size_t)argc + 1, sizeof *shards), *merged;
	const char **names = calloc((size_t)argc + 1, sizeof *names);
	char path[PATH_MAX];
	struct bt_err err;
	size_t n = 0;
	int rc = EXIT_HARNESS;

	for (int i = 0; i < argc; i++) {
		json_error_t jerr;

		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
			dir = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--help")) {
			printf("%s", usage_report);
			rc = EXIT_PASS;
			goto out;
		}
		shards[n] = json_load_file(argv[i], 0, &jerr);
		names[n] = argv[i];
		if (!shards[n]) {
			fprintf(stderr, "baton: report merge: %s: %s\n", argv[i], jerr.text);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "baton: report merge: no shard given\n%s", usage_report);
		goto out;
	}
	merged = report_merge(shards, names, n, &err);
	if (!merged) {
		fprintf(stderr, "baton: report merge: %s\n", err.msg);
		goto out;
	}
	proc_mkdir_p(dir);
	snprintf(path, sizeof path, "%s/faultcheck.json", dir);
	rc = json_dump_file(merged, path, JSON_INDENT(1)) ? EXIT_HARNESS : EXIT_PASS;
	snprintf(path, sizeof path, "%s/faultcheck.xml", dir);
	if (rc == EXIT_PASS && report_junit_write(merged, path, &err) != 0)
		fprintf(stderr, "baton: %s\n", err.msg), rc = EXIT_HARNESS;
	snprintf(path, sizeof path, "%s/faultcheck.html", dir);
	if (rc == EXIT_PASS && report_html_write(merged, path, &err) != 0)
		fprintf(stderr, "baton: %s\n", err.msg), rc = EXIT_HARNESS;
	if (rc == EXIT_PASS) {
		const json_t *s = json_object_get(merged, "summary");

		fprintf(stderr, "merged %zu shard(s): %lld cells, %lld failed, %zu setup "
				"error(s); %s/faultcheck.{json,xml,html}\n", n,
			(long long)json_integer_value(json_object_get(s, "cells")),
			(long long)json_integer_value(json_object_get(s, "failed")),
			json_array_size(json_object_get(s, "errors")), dir);
		rc = report_status(merged);
	}
	json_decref(merged);
out:
	for (size_t i = 0; i < n; i++)
		json_decref(shards[i]);
	free(shards);
	free(names);
	return rc;
}

static int cmd_report(const struct paths *p, int argc, char **argv)
{
	char json_path[PATH_MAX], html[PATH_MAX];
	const char *j = NULL, *h = NULL;

	if (argc > 0 && !strcmp(argv[0], "merge"))
		return cmd_merge(argc - 1, argv + 1);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			printf("%s", usage_report);
			return EXIT_PASS;
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			j = argv[++i];
		} else if (!strcmp(argv[i], "--html") && i + 1 < argc) {
			h = argv[++i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			i++;
		} else if (strcmp(argv[i], "--all-timelines") != 0) {
			fprintf(stderr, "baton report: unexpected argument \"%s\"\n%s", argv[i],
				usage_report);
			return EXIT_HARNESS;
		}
	}
	if (!j)
		snprintf(json_path, sizeof json_path, "%s/reports/faultcheck.json",
			 out_dir(p, argc, argv));
	else
		snprintf(json_path, sizeof json_path, "%s", j);
	if (h)
		snprintf(html, sizeof html, "%s", h);
	else
		html_beside(json_path, html);
	return report_files(json_path, html, has_opt(argc, argv, "--all-timelines", NULL),
			    false);
}

/* --- faultcheck, repro, bench --- */

static int cmd_faultcheck(const struct paths *p, int argc, char **argv)
{
	char prog[PATH_MAX], dirs[3][PATH_MAX], target[PATH_MAX], json_path[PATH_MAX],
		html[PATH_MAX];
	struct argv_buf a = {calloc((size_t)argc + 24, sizeof(char *)), 0};
	const char *tgt = NULL, *reports;
	int rc;

	if (has_opt(argc, argv, "--help", NULL) || has_opt(argc, argv, "-h", NULL)) {
		printf("%s", usage_faultcheck);
		fflush(stdout);
	}
	join(prog, p->libexec, "faultcheck");
	push(&a, prog);
	campaign_args(p, out_dir(p, argc, argv), argc, argv, &a, dirs, target);
	rc = run(p, a.v);
	free(a.v);
	if (has_opt(argc, argv, "--help", NULL) || has_opt(argc, argv, "-h", NULL) ||
	    has_opt(argc, argv, "--list", NULL) || has_opt(argc, argv, "--repro", NULL))
		return rc;
	/* a black-box target writes its own report (faultcheck-NAME.json) */
	if (has_opt(argc, argv, "--target", &tgt) && tgt && strcmp(tgt, "reference") != 0)
		return rc;
	if (rc == EXIT_HARNESS)
		return rc;
	reports = dirs[1];
	has_opt(argc, argv, "--reports", &reports);
	snprintf(json_path, sizeof json_path, "%s/faultcheck.json", reports ? reports : dirs[1]);
	html_beside(json_path, html);
	if (report_files(json_path, html, has_opt(argc, argv, "--all-timelines", NULL),
			 false) == EXIT_HARNESS)
		return EXIT_HARNESS;
	return rc;
}

static int cmd_repro(const struct paths *p, int argc, char **argv)
{
	char prog[PATH_MAX], dirs[3][PATH_MAX], target[PATH_MAX], dir[PATH_MAX],
		page[PATH_MAX + 32];
	struct argv_buf a = {calloc((size_t)argc + 24, sizeof(char *)), 0};
	struct campaign_opts o = {0};
	const char *tgt = NULL;
	struct bt_err err;
	int rc;

	if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		free(a.v);
		printf("%s", usage_repro);
		return argc < 1 ? EXIT_HARNESS : EXIT_PASS;
	}
	join(prog, p->libexec, "faultcheck");
	push(&a, prog);
	campaign_args(p, out_dir(p, argc - 1, argv + 1), argc - 1, argv + 1, &a, dirs, target);
	push(&a, "--repro");
	push(&a, argv[0]);
	rc = run(p, a.v);
	free(a.v);
	if (rc == EXIT_HARNESS ||
	    (has_opt(argc, argv, "--target", &tgt) && tgt && strcmp(tgt, "reference")))
		return rc;
	o.repro_dir = dirs[2];
	has_opt(argc, argv, "--repro-dir", &o.repro_dir);
	campaign_repro_dir(&o, argv[0], dir, sizeof dir);
	snprintf(page, sizeof page, "%s/timeline.html", dir);
	if (report_timeline_page(dir, argv[0], page, &err) != 0) {
		fprintf(stderr, "baton repro: no timeline: %s\n", err.msg);
		return EXIT_HARNESS;
	}
	fprintf(stderr, "timeline: %s (and trace.json beside it)\n", page);
	return rc;
}

static int cmd_bench(const struct paths *p, int argc, char **argv)
{
	char prog[PATH_MAX], fc[PATH_MAX], reports[PATH_MAX], work[PATH_MAX];
	struct argv_buf a = {calloc((size_t)argc + 16, sizeof(char *)), 0};
	const char *out = out_dir(p, argc, argv);
	int rc;

	join(prog, p->libexec, "bench");
	join(fc, p->libexec, "faultcheck");
	snprintf(reports, sizeof reports, "%s/reports", out);
	snprintf(work, sizeof work, "%s/bench-run", out);
	push(&a, prog);
	push(&a, "--batond");
	push(&a, p->batond);
	push(&a, "--faultcheck");
	push(&a, fc);
	push(&a, "--reports");
	push(&a, reports);
	push(&a, "--work");
	push(&a, work);
	/* the fuzz figures need the fuzz toolchain and a source tree */
	if (p->installed && !has_opt(argc, argv, "--fuzz-seconds", NULL)) {
		push(&a, "--fuzz-seconds");
		push(&a, "0");
	}
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--out")) {
			i++;
			continue;
		}
		push(&a, argv[i]);
	}
	rc = run(p, a.v);
	free(a.v);
	/* a benchmark reports figures; only "could not run" is an error */
	return rc == EXIT_PASS ? EXIT_PASS : EXIT_HARNESS;
}

/* --- target check --- */

/* The seam for target files: the black-box rewrite brings the parser of
 * targets/NAME.target (and its own validation); until it lands a file is
 * refused with exit 2, never passed, and a built-in adapter's name is
 * checked here. */
static int check_target_file(const char *path)
{
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "baton target check: cannot read %s: %s\n", path,
			strerror(errno));
		return EXIT_FINDING;
	}
	fprintf(stderr, "baton target check: %s: this build of baton has no target file "
			"parser yet (built-in targets: %s); nothing was checked\n", path,
		target_names());
	return EXIT_HARNESS;
}

static int cmd_target(const struct paths *p, int argc, char **argv)
{
	const struct target_ops *ops;
	char file[PATH_MAX], why[600], version[200];
	const char *arg;

	if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		printf("%s", usage_target);
		return EXIT_PASS;
	}
	if (argc != 2 || strcmp(argv[0], "check") != 0) {
		fprintf(stderr, "%s", usage_target);
		return EXIT_HARNESS;
	}
	arg = resolve_target(p, argv[1], file);
	if (strchr(arg, '/'))
		return check_target_file(arg);
	ops = target_find(arg);
	if (!ops) {
		fprintf(stderr, "baton target check: \"%s\" is neither a file nor %s/%s.target "
				"nor a built-in target (%s)\n", arg, p->targets, arg, target_names());
		return EXIT_FINDING;
	}
	printf("%s: built-in target: %s\n", ops->name, ops->describe);
	if (strcmp(ops->name, "reference") == 0) {
		printf("  daemon: %s (%s)\n", p->batond,
		       executable(p->batond) ? "installed" : "MISSING");
		return executable(p->batond) ? EXIT_PASS : EXIT_FINDING;
	}
	if (target_available(ops, NULL, why, sizeof why) != 0) {
		printf("  daemon: not installed: %s\n", why);
		return EXIT_PASS;
	}
	target_version(ops, NULL, version, sizeof version);
	printf("  daemon: %s (%s)\n", target_binary(ops, NULL), version);
	return EXIT_PASS;
}

static int cmd_version(const struct paths *p)
{
	printf("baton %s\n", BATON_VERSION);
	printf("  layout:    %s\n", p->installed ? "installed" : "source tree");
	printf("  programs:  %s\n  batond:    %s\n  catalogue: %s\n  targets:   %s\n",
	       p->libexec, p->batond, p->catalogue, p->targets);
	return EXIT_PASS;
}

int main(int argc, char **argv)
{
	struct paths p;
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		printf("%s", usage);
		return cmd ? EXIT_PASS : EXIT_HARNESS;
	}
	if (!strcmp(cmd, "--version"))
		cmd = "version";
	if (find_paths(&p) != 0)
		return EXIT_HARNESS;
	if (!strcmp(cmd, "faultcheck"))
		return cmd_faultcheck(&p, argc - 2, argv + 2);
	if (!strcmp(cmd, "repro"))
		return cmd_repro(&p, argc - 2, argv + 2);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(&p, argc - 2, argv + 2);
	if (!strcmp(cmd, "target"))
		return cmd_target(&p, argc - 2, argv + 2);
	if (!strcmp(cmd, "report"))
		return cmd_report(&p, argc - 2, argv + 2);
	if (!strcmp(cmd, "version")) {
		if (argc > 2 && !strcmp(argv[2], "--help")) {
			printf("usage: baton version\nPrints the version and where baton found "
			       "its programs, batond, the catalogue and the targets.\n");
			return EXIT_PASS;
		}
		return cmd_version(&p);
	}
	fprintf(stderr, "baton: unknown command \"%s\"\n%s", cmd, usage);
	return EXIT_HARNESS;
}
