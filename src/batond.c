/* batond: the reference master/worker daemon of baton.
 *
 *   batond start [OPTIONS]        a master (and its workers) from scratch
 *   batond main --fd N --upgrade-fd M --command-buffer-size X
 *               --max-command-buffer-size Y
 *                                 the new side of a master upgrade
 *   batond worker --id N --generation G --channel FD --scm FD
 *   batond ctl --socket PATH COMMAND...
 *   batond list-points            the fault points compiled in
 *   batond read-state FD          parse and validate a state file (the
 *                                 floor of make bench)
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel.h"
#include "failpoint_control.h"
#include "fdutil.h"
#include "hub.h"
#include "state.h"
#include "json_guard.h"
#include "state_json.h"
#include "upgrade.h"
#include "worker.h"

static const char usage_top[] =
	"usage: batond COMMAND [ARGS]\n"
	"  start        run a master and its workers (batond start --help)\n"
	"  ctl          talk to a running master (batond ctl --help)\n"
	"  main         the new side of a master upgrade (started by batond itself)\n"
	"  worker       a worker process (started by batond itself)\n"
	"  list-points  print the fault points compiled into this binary\n"
	"  read-state   parse and validate a state file on an fd, then exit\n"
	"Environment: BATON_FAULTS (fault specs), BATON_FAULT_TRACE (trace file),\n"
	"NOTIFY_SOCKET (systemd).  See README.md.\n";

static const char usage_start[] =
	"usage: batond start [OPTIONS]\n"
	"  --config FILE                 key = value lines with the keys below\n"
	"  --listen HOST:PORT            a listener (repeat; default 127.0.0.1:8080;\n"
	"                                port 0 picks a free port, shown by status)\n"
	"  --workers N                   worker processes (default 2)\n"
	"  --runtime-dir DIR             mode 0700 (default /run/baton as root,\n"
	"                                else $XDG_RUNTIME_DIR/baton or /tmp/baton-UID)\n"
	"  --socket PATH                 command socket (default DIR/baton.sock)\n"
	"  --pid-file PATH               (default DIR/baton.pid)\n"
	"  --upgrade-timeout MS          deadline of an upgrade (default 10000)\n"
	"  --command-buffer-size N       (default 1000000)\n"
	"  --max-command-buffer-size N   (default 2000000)\n"
	"Config file keys: listen, workers, runtime_dir, socket, pid_file,\n"
	"upgrade_timeout_ms, command_buffer_size, max_command_buffer_size.\n";

static const char usage_main[] =
	"usage: batond main --fd N --upgrade-fd M --command-buffer-size X\n"
	"                   --max-command-buffer-size Y\n"
	"The new side of a master upgrade: batond starts it, a human does not.\n"
	"--fd is the confirmation socket (its peer must be our parent), --upgrade-fd\n"
	"the state file.  Exits non-zero with a message on any invalid input.\n";

static const char usage_worker[] =
	"usage: batond worker --id N --generation G --channel FD --scm FD [--handoff]\n"
	"A worker process: batond starts it, a human does not.\n";

static const char usage_ctl[] =
	"usage: batond ctl --socket PATH [--timeout MS] COMMAND\n"
	"  status\n"
	"  upgrade-main [BINARY]     default: the running binary's path\n"
	"  upgrade-worker ID\n"
	"  stop [soft|hard]\n"
	"  raw JSON                  send a request as is\n"
	"Prints the answer as JSON.  Exit status: 0 ok, 1 the master answered\n"
	"an error, 2 usage error, 3 cannot talk to the master.\n";

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* The running executable by path (never /proc/self/exe: the new binary
 * of an upgrade is whatever is at that path now). */
static int resolve_self(const char *argv0, char *out, size_t len)
{
	char cand[PATH_MAX];
	const char *path = getenv("PATH");

	if (strchr(argv0, '/'))
		return realpath(argv0, out) ? 0 : -1;
	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(cand, sizeof cand, "%.*s/%s", (int)n, path, argv0);
		if (access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
		path += n + (path[n] == ':');
	}
	(void)len;
	return -1;
}

/* --- start --- */

struct start_cfg {
	struct state st;	/* only st.config is used */
	char runtime_dir[PATH_MAX];
	bool have_listen_flag;
};

static int parse_number(const char *what, const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || x > max) {
		fprintf(stderr, "batond start: %s: \"%s\" is not a number in [0, %llu]\n",
			what, v, (unsigned long long)max);
		return -1;
	}
	*out = x;
	return 0;
}

static int set_key(struct start_cfg *c, const char *key, const char *value,
		   bool from_flag)
{
	struct state_config *cfg = &c->st.config;
	uint64_t v;

	if (strcmp(key, "listen") == 0) {
		/* flags replace the file's listeners rather than add to them */
		if (from_flag && !c->have_listen_flag) {
			for (size_t i = 0; i < cfg->n_listeners; i++) {
				free(cfg->listeners[i].address);
				free(cfg->listeners[i].protocol);
			}
			cfg->n_listeners = 0;
			c->have_listen_flag = true;
		}
		return state_add_listener(&c->st, value, "http");
	}
	if (strcmp(key, "runtime_dir") == 0 || strcmp(key, "runtime-dir") == 0) {
		snprintf(c->runtime_dir, sizeof c->runtime_dir, "%s", value);
		return 0;
	}
	if (strcmp(key, "socket") == 0)
		return state_set_string(&cfg->command_socket, value);
	if (strcmp(key, "pid_file") == 0 || strcmp(key, "pid-file") == 0)
		return state_set_string(&cfg->pid_file_path, value);
	if (strcmp(key, "workers") == 0) {
		if (parse_number(key, value, 4096, &v))
			return -1;
		cfg->worker_count = (uint32_t)v;
	} else if (strcmp(key, "upgrade_timeout_ms") == 0 ||
		   strcmp(key, "upgrade-timeout") == 0) {
		if (parse_number(key, value, 3600000, &v))
			return -1;
		cfg->upgrade_timeout_ms = v;
	} else if (strcmp(key, "command_buffer_size") == 0 ||
		   strcmp(key, "command-buffer-size") == 0) {
		if (parse_number(key, value, 1u << 30, &v))
			return -1;
		cfg->command_buffer_size = v;
	} else if (strcmp(key, "max_command_buffer_size") == 0 ||
		   strcmp(key, "max-command-buffer-size") == 0) {
		if (parse_number(key, value, 1u << 30, &v))
			return -1;
		cfg->max_command_buffer_size = v;
	} else {
		fprintf(stderr, "batond start: unknown %s \"%s\"\n",
			from_flag ? "option" : "config key", key);
		return -1;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static int read_config_file(struct start_cfg *c, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "batond start: cannot open config %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *s = trim(line), *eq;

		lineno++;
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			fprintf(stderr, "batond start: %s:%d: expected key = value\n",
				path, lineno);
			fclose(f);
			return -1;
		}
		*eq = 0;
		if (set_key(c, trim(s), trim(eq + 1), false)) {
			fprintf(stderr, "batond start: %s:%d: bad line\n", path, lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void default_runtime_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(out, len, "/run/baton");
	else if (xdg && *xdg)
		snprintf(out, len, "%s/baton", xdg);
	else
		snprintf(out, len, "/tmp/baton-%u", (unsigned)geteuid());
}

static int apply_defaults(struct start_cfg *c)
{
	struct state_config *cfg = &c->st.config;
	char path[PATH_MAX + 16];
	struct bt_err err;
	char msg[ERR_TEXT_MAX];

	if (!c->runtime_dir[0])
		default_runtime_dir(c->runtime_dir, sizeof c->runtime_dir);
	if (!cfg->command_socket) {
		snprintf(path, sizeof path, "%s/baton.sock", c->runtime_dir);
		state_set_string(&cfg->command_socket, path);
	}
	if (!cfg->pid_file_path) {
		snprintf(path, sizeof path, "%s/baton.pid", c->runtime_dir);
		state_set_string(&cfg->pid_file_path, path);
	}
	if (cfg->n_listeners == 0)
		state_add_listener(&c->st, "127.0.0.1:8080", "http");
	/* the same rules the state file obeys, checked before binding */
	c->st.command_socket_fd = 3;
	if (state_validate(&c->st, &err)) {
		fprintf(stderr, "batond start: invalid configuration: %s\n",
			err_format(&err, msg, sizeof msg));
		return -1;
	}
	if (strncmp(cfg->command_socket, c->runtime_dir, strlen(c->runtime_dir)) != 0)
		fprintf(stderr, "batond start: note: the command socket %s is outside "
			"the runtime directory %s\n", cfg->command_socket, c->runtime_dir);
	return 0;
}

static int cmd_start(int argc, char **argv, const char *self)
{
	struct start_cfg c = {0};
	int rc;

	state_init(&c.st);
	c.st.config.worker_count = 2;
	c.st.config.upgrade_timeout_ms = 10000;
	c.st.config.command_buffer_size = 1000000;
	c.st.config.max_command_buffer_size = 2000000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			if (read_config_file(&c, argv[++i]))
				goto bad;
		} else if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc) {
			if (set_key(&c, argv[i] + 2, argv[i + 1], true))
				goto bad;
			i++;
		} else {
			fprintf(stderr, "batond start: unexpected argument \"%s\"\n%s",
				argv[i], usage_start);
			goto bad;
		}
	}
	if (apply_defaults(&c))
		goto bad;
	rc = hub_main_start(&c.st.config, self);
	state_free(&c.st);
	return rc;
bad:
	state_free(&c.st);
	return 2;
}

/* --- main (new side) --- */

/* A new master that gives up closes everything it was handed before it
 * exits: the old master keeps its own copies, and no fd is left to the
 * exit path to tidy. */
static void close_handed_over(void)
{
	syscall(SYS_close_range, 3, ~0U, 0);
}

static int cmd_main(int argc, char **argv, const char *self)
{
	struct upgrade_new_args a;
	struct channel confirm = {.fd = -1};
	struct state st;
	struct bt_err err = {0};
	char msg[ERR_TEXT_MAX];
	int rc;

	if (upgrade_new_parse_args(argc, argv, &a, &err)) {
		fprintf(stderr, "batond main: %s\n%s", err_format(&err, msg, sizeof msg),
			usage_main);
		return 2;
	}
	if (upgrade_new_begin(&a, &st, &confirm, &err)) {
		fprintf(stderr, "batond main: upgrade refused: %s\n",
			err_format(&err, msg, sizeof msg));
		upgrade_new_fail(&confirm, &err);
		close_handed_over();
		return 1;
	}
	rc = hub_main_adopted(&st, &confirm, self);
	if (rc != 0)
		close_handed_over();
	return rc;
}

/* --- worker --- */

static int cmd_worker(int argc, char **argv)
{
	struct worker_opts o;
	struct bt_err err;
	char msg[ERR_TEXT_MAX];

	if (worker_parse_args(argc, argv, &o, &err)) {
		fprintf(stderr, "batond worker: %s\n%s", err_format(&err, msg, sizeof msg),
			usage_worker);
		return 2;
	}
	if (fp_setup("worker", &err)) {
		fprintf(stderr, "batond worker: %s\n", err_format(&err, msg, sizeof msg));
		return 2;
	}
	return worker_run(&o);
}

/* --- ctl --- */

static json_t *ctl_request(int argc, char **argv, int i)
{
	const char *cmd = argv[i];

	if (strcmp(cmd, "status") == 0 && i + 1 == argc)
		return json_pack("{s:s}", "command", "status");
	if (strcmp(cmd, "upgrade-main") == 0 && i + 1 == argc)
		return json_pack("{s:s}", "command", "upgrade-main");
	if (strcmp(cmd, "upgrade-main") == 0 && i + 2 == argc)
		return json_pack("{s:s, s:s}", "command", "upgrade-main", "binary",
				 argv[i + 1]);
	if (strcmp(cmd, "upgrade-worker") == 0 && i + 2 == argc) {
		char *end;
		long id = strtol(argv[i + 1], &end, 10);

		if (*end || id < 0)
			return NULL;
		return json_pack("{s:s, s:I}", "command", "upgrade-worker", "id",
				 (json_int_t)id);
	}
	if (strcmp(cmd, "stop") == 0 && i + 1 == argc)
		return json_pack("{s:s}", "command", "stop");
	if (strcmp(cmd, "stop") == 0 && i + 2 == argc)
		return json_pack("{s:s, s:s}", "command", "stop", "mode", argv[i + 1]);
	if (strcmp(cmd, "raw") == 0 && i + 2 == argc)
		return json_loads(argv[i + 1], 0, NULL);
	return NULL;
}

static int cmd_ctl(int argc, char **argv)
{
	const char *sock = NULL;
	int timeout = 30000, i = 1, rc;
	struct channel ch = {.fd = -1};
	struct bt_err err;
	char *text, *answer = NULL, msg[ERR_TEXT_MAX];
	size_t len;
	json_t *req, *ans;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--socket") == 0)
			sock = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = atoi(argv[i + 1]);
		else
			break;
	}
	req = i < argc ? ctl_request(argc, argv, i) : NULL;
	if (!sock || !req) {
		fprintf(stderr, "%s", usage_ctl);
		json_decref(req);
		return 2;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (channel_connect(&ch, sock, 1 << 16, 64 << 20, &err) ||
	    channel_send(&ch, text, strlen(text), timeout, &err) ||
	    (rc = channel_recv(&ch, &answer, &len, timeout, &err)) < 0) {
		fprintf(stderr, "batond ctl: %s\n", err_format(&err, msg, sizeof msg));
		free(text);
		channel_close(&ch);
		return 3;
	}
	free(text);
	channel_close(&ch);
	if (rc > 0) {
		fprintf(stderr, "batond ctl: the master closed the connection "
				"without answering\n");
		return 3;
	}
	ans = json_loads(answer, 0, NULL);
	if (ans) {
		char *pretty = json_dumps(ans, JSON_INDENT(2));

		printf("%s\n", pretty ? pretty : answer);
		free(pretty);
	} else {
		printf("%s\n", answer);
	}
	rc = json_is_true(json_object_get(ans, "ok")) ? 0 : 1;
	json_decref(ans);
	free(answer);
	return rc;
}

/* `batond read-state FD`: read, parse and validate a state file, then
 * exit.  The floor a master upgrade is measured against (make bench): the
 * same binary, exec'd, doing only the unavoidable part of the new side. */
static int cmd_read_state(int argc, char **argv)
{
	struct state st;
	struct bt_err err = {0};
	char msg[ERR_TEXT_MAX], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if (argc != 2 || fdutil_parse_fd(argv[1], &fd) != 0) {
		fprintf(stderr, "usage: batond read-state FD\n"
				"Reads, parses and validates the state file open on FD; "
				"exit 0 if it is valid.\n");
		return 2;
	}
	do {
		if (len == cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!p) {
				free(buf);
				return 1;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	close(fd);
	if (n < 0 || state_json_parse(buf, len, 0, &st, &err) ||
	    state_validate(&st, &err)) {
		fprintf(stderr, "batond read-state: %s\n",
			n < 0 ? strerror(errno) : err_format(&err, msg, sizeof msg));
		state_free(&st);	/* empty when the parse failed */
		free(buf);
		return 1;
	}
	state_free(&st);
	free(buf);
	return 0;
}

static int cmd_list_points(void)
{
	size_t n;
	const char *const *p = fp_code_points(&n);

	for (size_t i = 0; i < n; i++)
		printf("%s\n", p[i]);
	return 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	struct bt_err err;
	char msg[ERR_TEXT_MAX];
	const char *cmd = argc > 1 ? argv[1] : NULL;

	json_guard_init();
	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fprintf(cmd ? stdout : stderr, "%s", usage_top);
		return cmd ? 0 : 2;
	}
	if (resolve_self(argv[0], self, sizeof self) != 0) {
		fprintf(stderr, "batond: cannot find my own path from \"%s\"\n", argv[0]);
		return 1;
	}
	argc--;
	argv++;
	if (strcmp(cmd, "start") == 0 || strcmp(cmd, "main") == 0) {
		if (wants_help(argc, argv)) {
			printf("%s", strcmp(cmd, "start") == 0 ? usage_start : usage_main);
			return 0;
		}
		if (fp_setup(strcmp(cmd, "start") == 0 ? "old" : "new", &err)) {
			fprintf(stderr, "batond %s: %s\n", cmd, err_format(&err, msg, sizeof msg));
			return 2;
		}
		if (strcmp(cmd, "main") == 0)
			fp_arm();
		return strcmp(cmd, "start") == 0 ? cmd_start(argc, argv, self)
						 : cmd_main(argc, argv, self);
	}
	if (strcmp(cmd, "worker") == 0) {
		if (wants_help(argc, argv)) {
			printf("%s", usage_worker);
			return 0;
		}
		return cmd_worker(argc, argv);
	}
	if (strcmp(cmd, "ctl") == 0) {
		if (wants_help(argc, argv)) {
			printf("%s", usage_ctl);
			return 0;
		}
		return cmd_ctl(argc, argv);
	}
	if (strcmp(cmd, "list-points") == 0)
		return cmd_list_points();
	if (strcmp(cmd, "read-state") == 0)
		return cmd_read_state(argc, argv);
	fprintf(stderr, "batond: unknown command \"%s\"\n%s", cmd, usage_top);
	return 2;
}
