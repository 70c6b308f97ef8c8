/* vgreport: turn valgrind memcheck output into failures.
 *
 *   vgreport --json OUT.json --junit OUT.xml FILE...
 *
 * FILEs hold valgrind output, possibly of many processes interleaved
 * ("==PID== ..." lines, as batond.log gets it from a master, its workers
 * and its successor).  For every process that ran to exit it reports:
 *   - memory errors (invalid reads/writes, uninitialised jumps, bad frees,
 *     syscall params), with the first lines of the stack;
 *   - memory definitely lost;
 *   - every fd open at exit other than 0-2, with the stack that opened it:
 *     valgrind's --track-fds never changes the exit status, so this parser
 *     is what makes a leaked fd fail.
 * Each finding names the process by role: "master (batond start)", "new
 * master (batond main)", "worker", or the program's name.
 * fds a process inherited from the launcher (the harness or make) are
 * filtered and listed, not hidden; in a process batond started itself, an
 * inherited fd still open at exit is a leak (handed over, never closed).
 * A forked child that did not exec ends with _exit: its leak and fd
 * summaries are not judged, its errors are.  Programs that are not baton's
 * (a stand-in new binary such as /bin/false) are not judged.
 * Exit status: 0 nothing found, 1 findings, 2 usage or unreadable input. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define MAX_PROCS 4096

struct vgproc {
	int pid, ppid;
	char command[256];
	char file[256];
	bool exited;		/* an ERROR SUMMARY line was seen */
	int errors;
	long definitely_lost;
	json_t *findings;	/* array of {kind, what, stack} */
	json_t *filtered;	/* inherited fds of a launched process */
	/* parser state */
	json_t *open;		/* the finding whose stack is being read */
	bool in_fds;
	bool open_inherited;
	int stack_lines;
};

static struct vgproc *procs;
static size_t n_procs;

static struct vgproc *proc_of(int pid, const char *file)
{
	for (size_t i = 0; i < n_procs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	if (n_procs == MAX_PROCS)
		return NULL;
	procs[n_procs] = (struct vgproc){.pid = pid};
	snprintf(procs[n_procs].file, sizeof procs[0].file, "%s", file);
	procs[n_procs].findings = json_array();
	procs[n_procs].filtered = json_array();
	return &procs[n_procs++];
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_error_head(const char *t)
{
	static const char *const heads[] = {
		"Invalid read", "Invalid write", "Invalid free", "Conditional jump",
		"Use of uninitialised", "Syscall param", "Mismatched free",
		"Source and destination overlap", "Argument 'size' of function",
		NULL};

	for (int i = 0; heads[i]; i++)
		if (starts(t, heads[i]))
			return true;
	return false;
}

static void start_finding(struct vgproc *p, const char *kind, const char *what)
{
	p->open = json_pack("{s:s, s:s, s:[]}", "kind", kind, "what", what, "stack");
	p->stack_lines = 0;
}

static void close_finding(struct vgproc *p)
{
	if (!p->open)
		return;
	json_array_append_new(p->open_inherited ? p->filtered : p->findings, p->open);
	p->open = NULL;
	p->open_inherited = false;
}

static void on_line(struct vgproc *p, const char *t)
{
	long bytes;

	if (starts(t, "Command: ")) {
		snprintf(p->command, sizeof p->command, "%s", t + 9);
	} else if (starts(t, "Parent PID: ")) {
		p->ppid = atoi(t + 12);
	} else if (starts(t, "FILE DESCRIPTORS:")) {
		close_finding(p);
		p->in_fds = true;
	} else if (p->in_fds && (starts(t, "Open file descriptor") ||
				 starts(t, "Open AF_"))) {
		close_finding(p);
		start_finding(p, "fd", t);
	} else if (p->open && starts(t, "<inherited from parent>")) {
		p->open_inherited = true;
	} else if (p->open && (starts(t, "at 0x") || starts(t, "by 0x"))) {
		if (p->stack_lines++ < 4)
			json_array_append_new(json_object_get(p->open, "stack"),
					      json_string(t));
	} else if (is_error_head(t)) {
		close_finding(p);
		p->in_fds = false;
		start_finding(p, "memory", t);
	} else if (strstr(t, "are definitely lost in loss record")) {
		close_finding(p);
		start_finding(p, "leak", t);
	} else if (sscanf(t, "definitely lost: %ld bytes", &bytes) == 1) {
		close_finding(p);
		p->definitely_lost = bytes;
	} else if (starts(t, "ERROR SUMMARY:")) {
		close_finding(p);
		p->exited = true;
		p->errors = atoi(t + 14);
	} else if (!*t || starts(t, "HEAP SUMMARY") || starts(t, "LEAK SUMMARY")) {
		close_finding(p);
		p->in_fds = p->in_fds && !*t ? p->in_fds : false;
	}
}

static int read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[2048];

	if (!f) {
		fprintf(stderr, "vgreport: cannot read %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		int pid, off = 0;
		struct vgproc *p;

		if (sscanf(line, "==%d==%n", &pid, &off) != 1 || off == 0)
			continue;
		line[strcspn(line, "\n")] = 0;
		p = proc_of(pid, path);
		while (line[off] == ' ')
			off++;
		if (p)
			on_line(p, line + off);
	}
	fclose(f);
	return 0;
}

static const struct vgproc *find(int pid)
{
	for (size_t i = 0; i < n_procs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

static const char *role(const struct vgproc *p)
{
	if (strstr(p->command, "batond start"))
		return "master (batond start)";
	if (strstr(p->command, "batond main"))
		return "new master (batond main)";
	if (strstr(p->command, "batond worker"))
		return "worker";
	return p->command;
}

/* Forked, not exec'd: valgrind prints a Command line only when a program
 * starts, so a process without one is a fork of a traced process. */
static bool forked_child(const struct vgproc *p)
{
	const struct vgproc *parent = find(p->ppid);

	return !p->command[0] || (parent && strcmp(parent->command, p->command) == 0);
}

/* Only baton's own programs are judged; a stand-in binary batond was
 * asked to upgrade to (/bin/false) is traced too, and is not ours. */
static bool ours(const struct vgproc *p)
{
	return !p->command[0] || strstr(p->command, "batond ") ||
	       strstr(p->command, "/test_");
}

/* Started by batond itself (exec'd by a traced process): what it
 * inherited, batond handed to it. */
static bool started_by_traced(const struct vgproc *p)
{
	return find(p->ppid) != NULL;
}

static json_t *judge(const struct vgproc *p, size_t *count)
{
	json_t *out = json_array(), *f;
	size_t i;

	json_array_foreach(p->findings, i, f) {
		const char *kind = json_string_value(json_object_get(f, "kind"));

		if (forked_child(p) && strcmp(kind, "memory") != 0)
			continue;
		json_array_append(out, f);
	}
	if (started_by_traced(p) && !forked_child(p))
		json_array_foreach(p->filtered, i, f) {
			json_t *g = json_deep_copy(f);

			json_object_set_new(g, "what", json_sprintf(
				"%s (handed over, still open at exit)",
				json_string_value(json_object_get(f, "what"))));
			json_array_append_new(out, g);
		}
	/* an error valgrind counted but this parser did not recognise still
	 * fails the run (a forked child's count includes the leaks of its
	 * _exit, which are not judged) */
	if (p->errors > 0 && json_array_size(out) == 0 && !forked_child(p))
		json_array_append_new(out, json_pack("{s:s, s:s, s:[]}", "kind", "memory",
						     "what", "errors counted by valgrind "
						     "(see the log)", "stack"));
	*count = json_array_size(out);
	return out;
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputs(*s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;"
		      : *s == '"' ? "&quot;" : (char[]){*s, 0}, f);
}

int main(int argc, char **argv)
{
	const char *json_out = NULL, *xml_out = NULL;
	json_t *root = json_array();
	size_t total = 0, judged = 0;
	FILE *xml = NULL;

	procs = calloc(MAX_PROCS, sizeof *procs);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			printf("usage: vgreport [--json OUT] [--junit OUT] FILE...\n"
			       "Reads valgrind memcheck output (many processes may be\n"
			       "interleaved) and reports memory errors, definite leaks and\n"
			       "fds open at exit, by process role.  Exit 1 on any finding.\n");
			return 0;
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json_out = argv[++i];
		} else if (!strcmp(argv[i], "--junit") && i + 1 < argc) {
			xml_out = argv[++i];
		} else if (read_file(argv[i])) {
			return 2;
		}
	}
	if (xml_out && !(xml = fopen(xml_out, "we"))) {
		fprintf(stderr, "vgreport: cannot write %s\n", xml_out);
		return 2;
	}
	if (xml)
		fprintf(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<testsuites><testsuite name=\"memcheck\">\n");
	for (size_t i = 0; i < n_procs; i++) {
		const struct vgproc *p = &procs[i];
		size_t n = 0;
		json_t *found;

		if (!p->exited || !ours(p))
			continue;	/* killed (valgrind had no chance to judge),
					 * or not baton's program */
		judged++;
		found = judge(p, &n);
		total += n;
		json_array_append_new(root, json_pack(
			"{s:i, s:i, s:s, s:s, s:i, s:I, s:o, s:O}", "pid", p->pid, "ppid",
			p->ppid, "role", role(p), "log", p->file, "errors", p->errors,
			"definitely_lost", (json_int_t)p->definitely_lost, "findings", found,
			"filtered_inherited_fds", p->filtered));
		for (size_t k = 0; k < n; k++) {
			json_t *f = json_array_get(found, k);

			printf("%s pid %d: %s: %s\n", role(p), p->pid,
			       json_string_value(json_object_get(f, "kind")),
			       json_string_value(json_object_get(f, "what")));
			for (size_t s = 0; s < json_array_size(json_object_get(f, "stack")); s++)
				printf("    %s\n", json_string_value(json_array_get(
						   json_object_get(f, "stack"), s)));
		}
		if (xml) {
			fprintf(xml, " <testcase classname=\"memcheck\" name=\"");
			xml_text(xml, role(p));
			fprintf(xml, " pid %d\"", p->pid);
			if (n) {
				fprintf(xml, "><failure message=\"%zu finding(s)\">", n);
				for (size_t k = 0; k < n; k++) {
					xml_text(xml, json_string_value(json_object_get(
						json_array_get(found, k), "what")));
					fputc('\n', xml);
				}
				fprintf(xml, "</failure></testcase>\n");
			} else {
				fprintf(xml, "/>\n");
			}
		}
	}
	if (xml) {
		fprintf(xml, "</testsuite></testsuites>\n");
		fclose(xml);
	}
	if (json_out)
		json_dump_file(json_pack("{s:{s:I, s:I, s:I}, s:o}", "summary", "processes",
					 (json_int_t)n_procs, "judged", (json_int_t)judged,
					 "findings", (json_int_t)total, "processes", root),
			       json_out, JSON_INDENT(1));
	printf("vgreport: %zu process(es) seen, %zu ran to exit, %zu finding(s)\n",
	       n_procs, judged, total);
	return total ? 1 : 0;
}
