/* state: the model of the upgrade state, format v1 (docs/design.md).
 *
 * A struct state is everything a master hands to its successor: the
 * configuration, the id counters, the workers (with the two fds the master
 * holds for each), the clusters map and the boot generation.  The model
 * owns every string and array it points to; state_free releases them all.
 * Fds named in a state are not owned by the struct: they are numbers.
 *
 * Maps (clusters, and backends inside a cluster) are kept in whatever order
 * they were filled; the canonical form (sorted) is the codec's business, so
 * two states are equal when they hold the same entries in any order. */
#ifndef BATON_STATE_H
#define BATON_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STATE_FORMAT "baton-upgrade-state"
#define STATE_VERSION 1
#define STATE_FD_MIN 3
#define STATE_FD_MAX 1048575	/* the kernel's default nr_open ceiling */
#define STATE_PID_MAX 4194304	/* PID_MAX_LIMIT on 64-bit Linux */

enum state_run {
	STATE_RUNNING = 0,
	STATE_STOPPING,
	STATE_STOPPED,
	STATE_NOT_ANSWERING,
	STATE_RUN_COUNT
};

struct state_listener {
	char *address;	/* "127.0.0.1:8080" or "[::1]:8080" */
	char *protocol;	/* "http" */
};

struct state_config {
	char *command_socket;
	uint64_t command_buffer_size;
	uint64_t max_command_buffer_size;
	char *pid_file_path;
	uint32_t worker_count;
	uint64_t upgrade_timeout_ms;
	struct state_listener *listeners;
	size_t n_listeners;
};

struct state_worker {
	uint32_t id;
	int32_t pid;
	enum state_run run_state;
	int channel_fd;
	int scm_fd;
};

struct state_cluster {
	char *name;
	char **backends;
	size_t n_backends;
};

struct state {
	uint32_t version;
	uint64_t boot_generation;
	int command_socket_fd;
	struct state_config config;
	uint64_t next_client_id;
	uint64_t next_session_id;
	uint64_t next_task_id;
	uint32_t next_worker_id;
	struct state_worker *workers;
	size_t n_workers;
	struct state_cluster *clusters;
	size_t n_clusters;
};

/* Zero everything, version = STATE_VERSION, fds = -1. */
void state_init(struct state *s);
void state_free(struct state *s);

/* Deep copy; on failure dst is left freed-and-initialized. */
int state_copy(struct state *dst, const struct state *src, struct bt_err *err);

/* Deep equality; map entries compare regardless of order. */
bool state_equal(const struct state *a, const struct state *b);

/* Invariants: version known, ids unique, fds in [STATE_FD_MIN,
 * STATE_FD_MAX] and pairwise distinct, pids in (0, STATE_PID_MAX],
 * next_worker_id above every worker id, buffer sizes ordered, every
 * string non-empty and valid UTF-8, cluster names unique.  The message
 * names the offending field as a JSON path. */
int state_validate(const struct state *s, struct bt_err *err);

const char *state_run_name(enum state_run r);
int state_run_from_name(const char *name, enum state_run *out);

/* Builders used by the daemon, the tests and the fuzz oracle.  Each copies
 * its string arguments; -1 with ENOMEM on allocation failure. */
int state_set_string(char **slot, const char *value);
int state_add_listener(struct state *s, const char *address,
		       const char *protocol);
int state_add_worker(struct state *s, const struct state_worker *w);
int state_remove_worker(struct state *s, uint32_t id);
struct state_worker *state_find_worker(struct state *s, uint32_t id);
/* Adds an empty cluster; returns its index or -1. */
int state_add_cluster(struct state *s, const char *name);
int state_add_backend(struct state_cluster *c, const char *backend);

/* True if the bytes are valid UTF-8 without NUL (what JSON can carry). */
bool state_utf8_valid(const char *s);

#endif
