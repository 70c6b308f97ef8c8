/* json_guard: see json_guard.h. */
#include "json_guard.h"

#include <stdlib.h>
#include <string.h>

#include "failpoint.h"

/* See the header for why this is global. */
static struct {
	bool active;	/* inside json_guard_load */
	bool failed;	/* an allocation failed in this scope */
} scope;

void *json_guard_malloc(size_t size)
{
	void *p = NULL;

	if (scope.active && scope.failed)
		return NULL;
	if (FP_HIT("mem/alloc") != FP_ERROR)
		p = malloc(size);
	if (!p && scope.active)
		scope.failed = true;
	return p;
}

void json_guard_free(void *p)
{
	free(p);
}

void json_guard_init(void)
{
	json_set_alloc_funcs(json_guard_malloc, json_guard_free);
	/* jansson reads its hash seed from /dev/urandom on first use; do it
	 * now, so the read is not one of an upgrade's counted calls */
	json_object_seed(0);
}

json_t *json_guard_load(const char *buf, size_t len, size_t flags,
			json_error_t *jerr, bool *oom)
{
	json_error_t local;
	json_t *root;

	if (!jerr)
		jerr = &local;
	/* jansson leaves the error code byte uninitialized on some paths */
	memset(jerr, 0, sizeof *jerr);
	scope.active = true;
	scope.failed = false;
	root = json_loadb(buf, len, flags, jerr);
	*oom = scope.failed;
	scope.active = scope.failed = false;
	if (*oom) {
		/* even a document that came back may have lost a byte */
		json_decref(root);
		return NULL;
	}
	return root;
}
