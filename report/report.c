/*
 * report.c - picks the writer and counts what passes by.
 */
#include "report.h"

#include <stdlib.h>
#include <unistd.h>

#include "report_private.h"

struct rpt *
rpt_new(const struct rpt_config *cfg)
{
	struct rpt *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->counts.extract = cfg->extract;
	if (cfg->audit && !(r->audit = rpt_audit_new(cfg->audit_sort))) {
		free(r);
		return NULL;
	}
	return r;
}

void
rpt_session(void *arg, const struct smtp_session *s)
{
	struct rpt *r = arg;

	r->counts.sessions++;
	r->counts.by_state[s->state]++;
	for (size_t i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].accepted) {
			r->counts.delivered++;
			break;
		}
	}
	if (r->audit)
		rpt_audit_session(r->audit, s);
	if (r->cfg.extract)
		rpt_extract_session(r->cfg.extract, s);
	if (r->cfg.format == RPT_JSON)
		json_session(r->cfg.out, s);
	else
		text_session(r->cfg.out, s, r->cfg.color);
}

void
rpt_summary(struct rpt *r, const struct rpt_totals *t)
{
	if (r->audit)
		rpt_audit_print(r->audit, r->cfg.out, r->cfg.format == RPT_JSON);
	if (r->cfg.format == RPT_JSON)
		json_summary(r->cfg.out, t, &r->counts);
	else if (!r->cfg.quiet) /* the transcript on stdout, the totals on stderr */
		text_summary(stderr, t, &r->counts, r->cfg.color && isatty(STDERR_FILENO));
	fflush(r->cfg.out);
}

void
rpt_free(struct rpt *r)
{
	if (!r)
		return;
	rpt_audit_free(r->audit);
	free(r);
}
