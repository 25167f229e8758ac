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
	uint64_t ts_last; /* latest session end: the time of the ECS summary */
	const struct rpt_extract *extract;
	const struct rpt_audit *audit; /* --audit: its unaudited sessions go in the JSON summary */
	uint64_t out_of_order; /* order.c: written before a session that began earlier */
};

/* Sessions the audit could not place (its host table was full). */
/* The summary's audit fields (unaudited sessions, judgements not made), each after a comma. */
void rpt_audit_json_summary(const struct rpt_audit *a, FILE *f);


struct rpt {
	struct rpt_config cfg;
	struct rpt_counts counts;
	struct rpt_audit *audit;
	struct rpt_order *order; /* cfg.ordered: sessions held until their turn */
	FILE *mem;		 /* ... rendered here first (report.c: mem_open) */
	char *mem_buf;
	size_t mem_size, mem_len;
	bool mem_failed;
};

/* order.c: sessions written in the order they began (ids 1, 2, ...). */
struct rpt_order;
struct rpt_order *rpt_order_new(void);
/* Is it this session's turn (or past it): write it now, then rpt_order_written()? */
bool rpt_order_due(const struct rpt_order *o, uint64_t id);
void rpt_order_written(struct rpt_order *o, uint64_t id, FILE *out);
/* Hold text (malloc'd, taken over) until the session's turn; writes what is due on out. */
void rpt_order_add(struct rpt_order *o, FILE *out, uint64_t id, char *text, size_t len);
void rpt_order_flush(struct rpt_order *o, FILE *out);
uint64_t rpt_order_late(const struct rpt_order *o);
void rpt_order_free(struct rpt_order *o);

size_t rpt_utf8_len(const unsigned char *s);
/* U+0080 to U+009F, a character of n bytes: valid UTF-8, but C1 controls (CSI) to a terminal. */
bool rpt_c1_control(const unsigned char *s, size_t n);
/* Bidi and zero-width code points (format.c): escaped in text and CSV. */
unsigned rpt_invisible(const unsigned char *s, size_t n);
/* decode/'s two-byte forms of NUL and C0 (smtp.h): the byte, or -1. */
int rpt_wire_escape(const unsigned char *s, size_t *n);
/* Wire text for a terminal: one line, at most max columns, escapes for the rest, "…" if cut. */
size_t rpt_text_wire(FILE *f, const char *s, size_t max);
/* The mark rpt_text_wire() puts where it cuts a value ("…"). */
void rpt_text_ellipsis(FILE *f);
/* The same, with cut where the text is cut short (ASCII: "..."). */
size_t rpt_text_cut(FILE *f, const char *s, size_t max, const char *cut);
/* Columns of the valid UTF-8 character of n bytes at s on a terminal: 2 wide (CJK), 0, or 1. */
unsigned rpt_char_cols(const unsigned char *s, size_t n);
/* "notes:" in plain words; JSON keeps smtp_anomaly_name(). */
const char *rpt_anomaly_words(enum smtp_anomaly a);
/* ISO 8601 UTC like rpt_iso_time (report.h), from Unix seconds that may be negative. */
void rpt_iso_seconds(char *buf, size_t n, int64_t sec);
void json_session(FILE *f, const struct smtp_session *s);
/* probe.c: a probe's DNS steps as a JSON object (null when none), and its closing record. */
void rpt_json_dns(FILE *f, const struct smtp_dns *d);
void rpt_json_probe(FILE *f, const struct rpt_probe *p);
void json_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c);
void text_session(FILE *f, const struct smtp_session *s, const struct rpt_config *cfg);
void text_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c, bool color);
/* --messages: a row per message (MAIL transaction) instead of one per command. */
void csv_header(FILE *f, bool messages);
void csv_session(FILE *f, const struct smtp_session *s, bool messages);
/* The header if no session came; the totals as text on totals (NULL: none). */
void csv_summary(FILE *f, FILE *totals, const struct rpt_totals *t, const struct rpt_counts *c,
		 bool color, bool messages);
/* When a message's steps were sent and answered (microseconds); each with has_ set when seen. */
struct rpt_msg_times {
	uint64_t mail, data_end, final_reply;
	bool has_mail, has_data_end, has_final_reply;
};
void rpt_message_times(const struct smtp_session *s, const struct smtp_message *m,
		       struct rpt_msg_times *t);
/* A session's documents: the session, one per message, one per AUTH exchange. */
void ecs_session(FILE *f, const struct smtp_session *s, const struct rpt_config *cfg);
/* "smtpscope: flags: password_guessing 1 host, ..." when an abuse or policy flag fires (metrics.c). */
void metrics_flags_line(struct rpt_audit *a, FILE *f);
/* The host audit (a: NULL if off) and the summary, as ECS metric documents. */
void ecs_summary(FILE *f, const struct rpt_config *cfg, const struct rpt_totals *t,
		 const struct rpt_counts *c, struct rpt_audit *a);

#endif
