/* catalogue: faults/catalogue, the list of fault points and what must
 * follow each (see the comment at the top of that file). */
#ifndef BATON_HARNESS_CATALOGUE_H
#define BATON_HARNESS_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#include "contract/contract.h"
#include "err.h"
#include "failpoint_control.h"

enum scenario_kind { SCEN_MASTER = 0, SCEN_MASTER_FAIL, SCEN_WORKER, SCEN_COUNT };

struct cat_row {
	char point[FP_NAME_MAX];
	char process[FP_ROLE_MAX];	/* old, new, worker */
	enum scenario_kind scenario;
	enum fp_kind kind;
	int errnum;
	bool transient, persistent;
	enum expect expect;
	enum report_rule report;
	int line;
};

struct catalogue {
	struct cat_row *rows;
	size_t n;
};

int catalogue_load(const char *path, struct catalogue *c, struct bt_err *err);
void catalogue_free(struct catalogue *c);
const char *scenario_name(enum scenario_kind k);
bool catalogue_is_libfiu_point(const char *point);
/* The row a spec belongs to (same point, process, kind and errno). */
const struct cat_row *catalogue_find(const struct catalogue *c,
				     const struct fp_spec *s);

#endif
