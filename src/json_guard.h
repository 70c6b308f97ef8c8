/* json_guard: the one way batond reads JSON, and jansson's allocator.
 *
 * jansson 2.14's parser is not safe when an allocation fails: it reports
 * nothing (NULL with an empty message, or "invalid token"), and when its
 * token buffer cannot grow it drops a byte and goes on, with a wrong value
 * or, if the byte was a closing quote and the next allocation succeeds,
 * reading and writing past a heap block.  So every load runs in an
 * allocation scope: once one allocation has failed every later one fails
 * too, and a load that saw a failure is thrown away, even if a document
 * came back.  Commands, confirmation frames, worker messages, scm
 * manifests and the state file are all read through json_guard_load.
 *
 * json_guard_init installs json_guard_malloc/free as jansson's allocator;
 * call it once per process before any other jansson use.  They hold the
 * `mem/alloc` fault point, and the state codec's writer allocates through
 * them too, so that point sits under every JSON allocation batond makes.
 *
 * The scope is process-wide state: jansson's allocator hooks are global and
 * take no context, so what they consult is global too.  It is the one piece
 * of mutable state outside the fault registry. */
#ifndef BATON_JSON_GUARD_H
#define BATON_JSON_GUARD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

void json_guard_init(void);
void *json_guard_malloc(size_t size);
void json_guard_free(void *p);

/* json_loadb (FLAGS are jansson's) in an allocation scope.  Returns the
 * document, or NULL: *oom says whether an allocation failed (the document,
 * if any, was dropped), otherwise JERR (may be NULL) says why it does not
 * parse. */
json_t *json_guard_load(const char *buf, size_t len, size_t flags,
			json_error_t *jerr, bool *oom);

#endif
