/*
 * report.c - picks the writer and counts what passes by.
 */
#define _GNU_SOURCE /* fopencookie() */
#include "report.h"

#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_private.h"

/*
 * A FILE that appends to r->mem_buf (grown, never shrunk): a session that must
 * wait for its turn is rendered there, then copied to its exact size.
 * open_memstream() would do, but it sets its buffer to exact size at every
 * flush, a realloc per session.
 */
static ssize_t
mem_write(void *cookie, const char *p, size_t n)
{
	struct rpt *r = cookie;

	if (n > r->mem_size - r->mem_len) {
		size_t size = r->mem_size ? r->mem_size : 65536;
		char *b;

		while (size - r->mem_len < n)
			size *= 2;
		if (!(b = realloc(r->mem_buf, size))) {
			r->mem_failed = true;
			return (ssize_t)n; /* dropped: this session is written out of turn instead */
		}
		r->mem_buf = b;
		r->mem_size = size;
	}
	memcpy(r->mem_buf + r->mem_len, p, n);
	r->mem_len += n;
	return (ssize_t)n;
}

static FILE *
mem_open(struct rpt *r)
{
	FILE *f = fopencookie(r, "w", (cookie_io_functions_t){.write = mem_write});

	if (f) {
		setvbuf(f, NULL, _IOFBF, 65536);
		__fsetlocking(f, FSETLOCKING_BYCALLER); /* one thread writes it: putc unlocked */
	}
	return f;
}

/* --audit without --transcripts: text and CSV write the host report alone. */
static bool
sessions_hidden(const struct rpt_config *cfg)
{
	return cfg->audit && !cfg->transcripts && (cfg->format == RPT_TEXT || cfg->format == RPT_CSV);
}

struct rpt *
rpt_new(const struct rpt_config *cfg)
{
	struct rpt *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->counts.extract = cfg->extract;
	if ((cfg->audit || cfg->audit_counts) && !(r->audit = rpt_audit_new(cfg->audit_opts, &cfg->hash_key))) {
		free(r);
		return NULL;
	}
	r->counts.audit = cfg->audit ? r->audit : NULL;
	if (cfg->ordered && !sessions_hidden(cfg) &&
	    (!(r->order = rpt_order_new()) || !(r->mem = mem_open(r)))) {
		rpt_order_free(r->order);
		rpt_audit_free(r->audit);
		free(r);
		return NULL;
	}
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
	if (r->cfg.metrics)
		rpt_metrics_session(r->cfg.metrics, s);
	if (r->cfg.extract)
		rpt_extract_session(r->cfg.extract, s);
	if (r->cfg.format == RPT_CSV && r->counts.sessions == 1 && !sessions_hidden(&r->cfg))
		csv_header(r->cfg.out, r->cfg.csv_messages);
}

void
rpt_render(const struct rpt_config *cfg, FILE *f, const struct smtp_session *s)
{
	if (sessions_hidden(cfg))
		return;
	switch (cfg->format) {
	case RPT_JSON:
		json_session(f, s);
		break;
	case RPT_CSV:
		csv_session(f, s, cfg->csv_messages);
		break;
	case RPT_ECS:
		ecs_session(f, s, cfg);
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
	char *text = NULL;
	off_t len = -1;

	count(r, s);
	if (sessions_hidden(&r->cfg))
		return;
	if (r->order && !rpt_order_due(r->order, s->id) && r->mem) {
		/* rendered once into the reused buffer, then copied to its exact size */
		r->mem_len = 0;
		rpt_render(&r->cfg, r->mem, s);
		if (fflush(r->mem) == 0 && !ferror(r->mem) && !r->mem_failed &&
		    (text = malloc(r->mem_len ? r->mem_len : 1))) {
			memcpy(text, r->mem_buf, r->mem_len);
			len = (off_t)r->mem_len;
		}
		r->mem_failed = false;
	}
	if (text) {
		rpt_order_add(r->order, r->cfg.out, s->id, text, (size_t)len);
		return;
	}
	rpt_render(&r->cfg, r->cfg.out, s); /* its turn, or no memory to hold it */
	if (r->order)
		rpt_order_written(r->order, s->id, r->cfg.out);
}

void
rpt_session_rendered(struct rpt *r, const struct smtp_session *s, const void *bytes, size_t n)
{
	char *text;

	count(r, s);
	if (sessions_hidden(&r->cfg))
		return;
	if (!r->order || rpt_order_due(r->order, s->id) || !(text = malloc(n ? n : 1))) {
		fwrite(bytes, 1, n, r->cfg.out);
		if (r->order)
			rpt_order_written(r->order, s->id, r->cfg.out);
		return;
	}
	memcpy(text, bytes, n);
	rpt_order_add(r->order, r->cfg.out, s->id, text, n);
}

/*
 * The audit and the totals. Records on stdout stay of one kind: text and CSV
 * put the totals on stderr as text; JSON and ECS write them as records. CSV
 * with --audit writes the host rows on stdout, or with --transcripts (the
 * session rows there) the host table as text on stderr.
 */
void
rpt_summary(struct rpt *r, const struct rpt_totals *t)
{
	FILE *out = r->cfg.out;
	bool color = r->cfg.color_summary;

	if (r->order) { /* what still waits for an earlier session: written now, in order */
		rpt_order_flush(r->order, out);
		r->counts.out_of_order = rpt_order_late(r->order);
	}

	switch (r->cfg.format) {
	case RPT_JSON:
		if (r->cfg.audit)
			rpt_audit_print(r->audit, out, true);
		json_summary(out, t, &r->counts);
		break;
	case RPT_ECS:
		ecs_summary(out, &r->cfg, t, &r->counts, r->cfg.audit ? r->audit : NULL);
		break;
	case RPT_CSV:
		if (sessions_hidden(&r->cfg)) {
			rpt_audit_csv(r->audit, out);
			fflush(out);
			if (!r->cfg.quiet)
				text_summary(stderr, t, &r->counts, color);
			break;
		}
		fflush(out); /* what stdout holds first: stderr never lands inside one of its lines */
		if (r->cfg.audit)
			rpt_audit_print(r->audit, stderr, false);
		csv_summary(out, r->cfg.quiet ? NULL : stderr, t, &r->counts, color,
			    r->cfg.csv_messages);
		break;
	case RPT_TEXT:
		if (r->cfg.audit)
			rpt_audit_print(r->audit, out, false);
		fflush(out);
		if (!r->cfg.quiet)
			text_summary(stderr, t, &r->counts, color);
		break;
	}
	fflush(out);
	if (!r->cfg.audit && !r->cfg.quiet)
		metrics_flags_line(r->audit, stderr);
}

struct rpt_audit *
rpt_audit_of(struct rpt *r)
{
	return r->audit;
}

void
rpt_free(struct rpt *r)
{
	if (!r)
		return;
	rpt_audit_free(r->audit);
	rpt_order_free(r->order);
	if (r->mem)
		fclose(r->mem);
	free(r->mem_buf);
	free(r);
}
