/*
 * report.c - picks the writer and counts what passes by.
 */
#include "report.h"

#include <stdlib.h>

#include "report_private.h"

struct rpt *
rpt_new(const struct rpt_config *cfg)
{
	struct rpt *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->counts.extract = cfg->extract;
	if (cfg->audit && !(r->audit = rpt_audit_new(cfg->audit_sort, &cfg->hash_key))) {
		free(r);
		return NULL;
	}
	r->counts.audit = r->audit;
	return r;
}

/* What every session adds to the totals, the audit and the index of extracted messages. */
static void
count(struct rpt *r, const struct smtp_session *s)
{
	r->counts.sessions++;
	if (s->ts_last > r->counts.ts_last)
		r->counts.ts_last = s->ts_last;
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
	if (r->cfg.format == RPT_CSV && r->counts.sessions == 1)
		csv_header(r->cfg.out);
}

void
rpt_render(const struct rpt_config *cfg, FILE *f, const struct smtp_session *s)
{
	switch (cfg->format) {
	case RPT_JSON:
		json_session(f, s);
		break;
	case RPT_CSV:
		csv_session(f, s);
		break;
	case RPT_ECS:
		ecs_session(f, s);
		break;
	case RPT_TEXT:
		text_session(f, s, cfg);
		break;
	}
}

void
rpt_session(void *arg, const struct smtp_session *s)
{
	struct rpt *r = arg;

	count(r, s);
	rpt_render(&r->cfg, r->cfg.out, s);
}

void
rpt_session_rendered(struct rpt *r, const struct smtp_session *s, const void *bytes, size_t n)
{
	count(r, s);
	fwrite(bytes, 1, n, r->cfg.out);
}

/*
 * The audit and the totals. Records on stdout stay of one kind: text and CSV
 * put the totals (and CSV the audit) on stderr as text; JSON and ECS write
 * them as records.
 */
void
rpt_summary(struct rpt *r, const struct rpt_totals *t)
{
	FILE *out = r->cfg.out;
	bool color = r->cfg.color_summary;

	switch (r->cfg.format) {
	case RPT_JSON:
		if (r->audit)
			rpt_audit_print(r->audit, out, true);
		json_summary(out, t, &r->counts);
		break;
	case RPT_ECS:
		ecs_summary(out, t, &r->counts, r->audit);
		break;
	case RPT_CSV:
		fflush(out); /* what stdout holds first: stderr never lands inside one of its lines */
		if (r->audit)
			rpt_audit_print(r->audit, stderr, false);
		csv_summary(out, r->cfg.quiet ? NULL : stderr, t, &r->counts, color);
		break;
	case RPT_TEXT:
		if (r->audit)
			rpt_audit_print(r->audit, out, false);
		fflush(out);
		if (!r->cfg.quiet)
			text_summary(stderr, t, &r->counts, color);
		break;
	}
	fflush(out);
}

void
rpt_free(struct rpt *r)
{
	if (!r)
		return;
	rpt_audit_free(r->audit);
	free(r);
}
