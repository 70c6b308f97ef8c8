/* covcheck: hold chosen files to "every line reached, or listed".
 *
 *   covcheck LIST COVERAGE.json FILE...
 *
 * COVERAGE.json is gcovr's --json report.  For each FILE, every line with
 * an execution count of 0 must appear in LIST as
 *     FILE: the line's text, trimmed  # why it cannot be reached
 * (matched by text, so the list survives edits around the line; one entry
 * covers one line).  A line reached by nothing and not listed fails; a
 * listed line that is reached now fails too, so the list stays true,
 * unless its reason starts with "sometimes:" (timing decides).  Exit 0
 * clean, 1 otherwise. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct entry {
	char file[128];
	char text[512];
	bool used;
	bool sometimes;	/* the reason starts "sometimes:": reached or not */
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	return s;
}

static size_t load_list(const char *path, struct entry **out)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	size_t n = 0;

	*out = NULL;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		char *t = trim(line), *colon, *hash;
		struct entry *e;
		bool e_sometimes;

		if (!*t || *t == '#')
			continue;
		colon = strstr(t, ": ");
		hash = strstr(t, "  # ");
		if (!colon)
			continue;
		e_sometimes = hash && strncmp(trim(hash + 4), "sometimes:", 10) == 0;
		if (hash)
			*hash = 0;
		*colon = 0;
		e = realloc(*out, (n + 1) * sizeof *e);
		if (!e)
			break;
		*out = e;
		snprintf(e[n].file, sizeof e[n].file, "%s", t);
		snprintf(e[n].text, sizeof e[n].text, "%s", trim(colon + 2));
		e[n].used = false;
		e[n].sometimes = e_sometimes;
		n++;
	}
	fclose(f);
	return n;
}

static bool source_line(const char *file, int lineno, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	int n = 0;

	if (!f)
		return false;
	while (fgets(buf, (int)len, f))
		if (++n == lineno)
			break;
	fclose(f);
	if (n != lineno)
		return false;
	memmove(buf, trim(buf), strlen(trim(buf)) + 1);
	return true;
}

static bool wanted(const char *file, int argc, char **argv)
{
	for (int i = 3; i < argc; i++)
		if (strcmp(file, argv[i]) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct entry *list;
	size_t n_list, bad = 0, unreached = 0;
	json_t *root, *files, *f;
	size_t i;

	if (argc < 4 || !strcmp(argv[1], "--help")) {
		fprintf(argc < 4 ? stderr : stdout,
			"usage: covcheck LIST COVERAGE.json FILE...\n"
			"Every line of FILE gcovr counts 0 must be in LIST (\"FILE: text  # why\").\n");
		return argc < 4 ? 2 : 0;
	}
	n_list = load_list(argv[1], &list);
	root = json_load_file(argv[2], 0, NULL);
	files = json_object_get(root, "files");
	if (!json_is_array(files)) {
		fprintf(stderr, "covcheck: %s is not a gcovr JSON report\n", argv[2]);
		return 2;
	}
	json_array_foreach(files, i, f) {
		const char *file = json_string_value(json_object_get(f, "file"));
		json_t *l;
		size_t k;

		if (!file || !wanted(file, argc, argv))
			continue;
		json_array_foreach(json_object_get(f, "lines"), k, l) {
			int no = (int)json_integer_value(json_object_get(l, "line_number"));
			char text[512];
			bool listed = false;

			if (json_integer_value(json_object_get(l, "count")) != 0 ||
			    json_is_true(json_object_get(l, "gcovr/noncode")))
				continue;
			if (!source_line(file, no, text, sizeof text))
				continue;
			unreached++;
			/* one entry covers one line: three unreached "return -1;"
			 * need three entries, so a fourth one fails */
			for (size_t e = 0; e < n_list && !listed; e++) {
				if (!list[e].used && !strcmp(list[e].file, file) &&
				    !strcmp(list[e].text, text))
					list[e].used = listed = true;
			}
			if (!listed) {
				printf("covcheck: %s:%d never runs and is not in %s: %s\n", file,
				       no, argv[1], text);
				bad++;
			}
		}
	}
	for (size_t e = 0; e < n_list; e++) {
		if (!list[e].used && !list[e].sometimes && wanted(list[e].file, argc, argv)) {
			printf("covcheck: %s lists \"%s: %s\", which runs now (or is gone): "
			       "take it off the list\n", argv[1], list[e].file, list[e].text);
			bad++;
		}
	}
	printf("covcheck: %zu unreached line(s) in the held files, %zu listed with a "
	       "reason, %zu problem(s)\n", unreached, n_list, bad);
	json_decref(root);
	free(list);
	return bad ? 1 : 0;
}
