#ifndef COREBPF_CORE_REPORT_H
#define COREBPF_CORE_REPORT_H

struct json;

void core_report_reset(void);
int core_report_count(void);
/* relocations that failed (poisoned or aborting the load) */
int core_report_failed(void);
/* a relocation failure that made libbpf abort the load */
int core_report_hard_failed(void);
void core_report_json(struct json *j);

#endif
