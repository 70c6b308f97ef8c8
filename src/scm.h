/* scm: hand any number of fds over a unix stream socket with SCM_RIGHTS.
 *
 * A transfer is a sequence of batches of at most SCM_BATCH_MAX fds (the
 * kernel takes 253 a message; HAProxy sends 252).  Each batch is one
 * message: an 8-byte little-endian length, then a JSON manifest
 *     {"batch":0,"batches":2,"total":300,"names":["127.0.0.1:8080",...]}
 * with the fds attached to its first byte; names[i] says which listener
 * address the i-th fd of the batch is.
 *
 * The receiver uses MSG_CMSG_CLOEXEC (no received fd is ever inheritable)
 * and treats as errors: MSG_CTRUNC (the kernel dropped fds), a count of
 * fds that disagrees with the manifest, a malformed manifest, batches out of
 * order, a total over the limit, end of file.  On every error path every
 * fd received so far is closed: the caller owns fds only on success. */
#ifndef BATON_SCM_H
#define BATON_SCM_H

#include <stddef.h>

#include "err.h"

#define SCM_BATCH_MAX 252
#define SCM_MANIFEST_MAX ((size_t)1 << 20)

struct scm_manifest {
	size_t batch, batches, total;
	char **names;
	size_t n_names;
};

/* Pure decoder of one manifest, for scm_recv and the fuzzer. */
int scm_manifest_parse(const char *buf, size_t len, struct scm_manifest *m,
		       struct bt_err *err);
void scm_manifest_free(struct scm_manifest *m);

/* Send N fds (names[i] names fds[i]).  The fds stay the caller's. */
int scm_send(int sock, const int *fds, const char *const *names, size_t n,
	     int timeout_ms, struct bt_err *err);

struct scm_recv_opts {
	size_t max_fds_per_msg;	/* control buffer size; 0 = 253 */
	size_t max_total;	/* 0 = 65536 */
	int timeout_ms;		/* < 0 = wait forever */
};

/* Receive one transfer.  On success *fds and *names are malloc'd arrays of
 * *n entries, and the caller owns the fds (all CLOEXEC). */
int scm_recv(int sock, const struct scm_recv_opts *opts, int **fds,
	     char ***names, size_t *n, struct bt_err *err);
void scm_free_names(char **names, size_t n);

#endif
