/* hub internals shared by hub.c (loop, clients, commands), hub_workers.c
 * (worker lifecycle and worker upgrade) and hub_upgrade.c (master upgrade
 * glue).  Nothing outside the hub includes this. */
#ifndef BATON_HUB_PRIVATE_H
#define BATON_HUB_PRIVATE_H

#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "err.h"
#include "state.h"
#include "upgrade.h"

#define HUB_MAX_CLIENTS 256

/* epoll tags: kind in the high 32 bits, an id in the low ones */
enum hub_ev {
	EV_COMMAND = 1,
	EV_CLIENT,
	EV_WORKER,
	EV_WORKER_SCM,
	EV_SIGNAL,
	EV_CONFIRM,
	EV_UPGRADE_TIMER,
	EV_WUP_TIMER,
};

struct hub_client {
	uint32_t id;
	struct channel ch;
	bool out_armed;		/* EPOLLOUT registered */
};

struct hub_worker {
	uint32_t id;
	pid_t pid;
	enum state_run run;
	struct channel ch;
	int scm_fd;
	uint64_t generation;
	bool our_child;		/* spawned by this process: ours to reap */
	bool ready;
};

enum wup_phase { WUP_IDLE = 0, WUP_RETURNING, WUP_STARTING };

/* A worker upgrade in flight. */
struct wup {
	enum wup_phase phase;
	uint32_t client;	/* requester, 0 = none */
	uint32_t old_id, new_id;
	int timer_fd;
	int *fds;		/* listeners held by the master meanwhile */
	char **names;
	size_t n_fds;
	int64_t started_ms;
};

/* A master upgrade in flight. */
struct mup {
	bool active;
	uint32_t client;
	struct upgrade_flight f;
};

struct hub {
	char self_path[PATH_MAX];
	char runtime_dir[PATH_MAX];
	const char *notify_socket;
	sigset_t child_mask;	/* the mask to restore in children */
	struct state base;	/* config, counters, generation, clusters;
				 * base.workers stays empty: see workers */
	int epfd, sigfd;
	bool serving;		/* command socket registered */
	struct hub_client *clients[HUB_MAX_CLIENTS];
	size_t n_clients;
	struct hub_worker **workers;
	size_t n_workers;
	pid_t *children;	/* workers we spawned and have not reaped; the
				 * upgrade child is not here: only its own
				 * abort path reaps it */
	size_t n_children;
	struct mup mup;
	struct wup wup;
	bool stopping, stop_hard, handed_over;
	int64_t stop_deadline;
	int exit_status;
	int64_t started_ms;
};

/* hub.c */
void hub_log(const struct hub *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "CONTEXT: step: message (errno NAME: text)" through hub_log. */
void hub_log_err(const struct hub *h, const char *context, const struct bt_err *err);
int hub_watch(struct hub *h, int fd, uint32_t events, enum hub_ev kind,
	      uint32_t id);
void hub_unwatch(struct hub *h, int fd);
struct hub_client *hub_client(struct hub *h, uint32_t id);
void hub_answer(struct hub *h, uint32_t client, json_t *answer);
void hub_answer_error(struct hub *h, uint32_t client, const struct bt_err *e);
int hub_snapshot(const struct hub *h, struct state *out, struct bt_err *err);
void hub_notify(const struct hub *h, const char *message);

/* hub_workers.c */
int hub_spawn_worker(struct hub *h, const int *lfds, char *const *names,
		     size_t n, struct hub_worker **out, struct bt_err *err);
int hub_await_ready(struct hub_worker *w, int timeout_ms, struct bt_err *err);
struct hub_worker *hub_worker(struct hub *h, uint32_t id);
int hub_adopt_worker(struct hub *h, const struct state_worker *sw,
		     struct bt_err *err);
void hub_on_worker(struct hub *h, uint32_t id);
void hub_on_worker_scm(struct hub *h, uint32_t id);
void hub_drop_worker(struct hub *h, struct hub_worker *w);
void hub_reap(struct hub *h);
void hub_wup_start(struct hub *h, uint32_t client, uint32_t id);
void hub_wup_timeout(struct hub *h);
void hub_wup_abort(struct hub *h, const struct bt_err *why);
void hub_stop_workers(struct hub *h, bool hard);

/* hub_upgrade.c */
void hub_mup_start(struct hub *h, uint32_t client, const char *binary);
void hub_mup_on_confirm(struct hub *h);
void hub_mup_timeout(struct hub *h);
void hub_mup_abort(struct hub *h, const struct bt_err *why);

#endif
