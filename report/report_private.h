/*
 * report_private.h - shared between the writers (private to report/).
 */
#ifndef SMTPSCOPE_REPORT_PRIVATE_H
#define SMTPSCOPE_REPORT_PRIVATE_H

#include "report.h"

/* What the report itself counts as sessions go by. */
struct rpt_counts {
	uint64_t sessions;
	uint64_t delivered; /* sessions with at least one accepted message */
	uint64_t by_state[SMTP_ST_UNFINISHED + 1];
	const struct rpt_extract *extract;
};

struct rpt {
	struct rpt_config cfg;
	struct rpt_counts counts;
	struct rpt_audit *audit;
};

size_t rpt_utf8_len(const unsigned char *s);
/* Wire text for a terminal: one line, at most max bytes, escapes for the rest. */
size_t rpt_text_wire(FILE *f, const char *s, size_t max);
void json_session(FILE *f, const struct smtp_session *s);
void json_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c);
void text_session(FILE *f, const struct smtp_session *s, bool color);
void text_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c, bool color);

#endif
