/* testutil: what the process-level suites share: where batond is, a
 * private scratch directory per suite run, printing a scenario's
 * violations, and the subreaper set-up.  Library code: no cmocka here. */
#ifndef BATON_HARNESS_TESTUTIL_H
#define BATON_HARNESS_TESTUTIL_H

#include "contract/scenario.h"

/* BATOND from the environment, else batond beside this executable. */
const char *tu_batond(void);
/* A harness file beside this test binary (libforkalloc.so, faultcheck,
 * forkprobe): the harness's, whichever batond is under test. */
const char *tu_beside_self(const char *name);
/* /tmp/baton-<suite>-<pid>/<name>, created; the suite's base is removed by
 * tu_cleanup when every test passed. */
const char *tu_dir(const char *suite, const char *name);
void tu_cleanup(const char *suite, int failures);
/* Make this process the subreaper, init the codec; once per suite.
 * Fails, saying why, without /proc (tu_need_proc). */
int tu_setup(void);
/* 0 when /proc is mounted; else -1 and one line on stderr saying so (a
 * chroot or container without it), so a suite stops with a reason
 * instead of failing its assertions one by one. */
int tu_need_proc(void);
/* TEST_FILTER=glob runs only the matching tests, TEST_SKIP=glob all but
 * the matching ones (cmocka's filters). */
void tu_filter(void);
/* The file PATH as text into BUF (at most LEN - 1 bytes, NUL-terminated):
 * 0, or -1 with errno when it cannot be opened. */
int tu_read_text(const char *path, char *buf, size_t len);
void tu_print_report(const char *what, const struct scen_result *r);
/* Write an executable script; returns its path (static buffer per call
 * site is the caller's). */
int tu_write_script(const char *path, const char *body);

#endif
