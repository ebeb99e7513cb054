#ifndef COREBPF_CORE_REPORT_H
#define COREBPF_CORE_REPORT_H

#include <stdbool.h>

struct json;

void core_report_reset(void);
int core_report_count(void);
/* relocations that failed (poisoned or aborting the load) */
int core_report_failed(void);
/* a relocation failure that made libbpf abort the load */
int core_report_hard_failed(void);
/* every record, or (failed_only) the failed ones */
void core_report_json(struct json *j, bool failed_only);
/* the programs with a record, once each, in the order of their first */
void core_report_programs_json(struct json *j);

#endif
