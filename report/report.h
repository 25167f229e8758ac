/*
 * report.h - sessions in, text, JSON Lines, ECS JSON or CSV out.
 *
 * report/ writes each finished session as it arrives (a human transcript,
 * one JSON object per DESIGN.md's output contract, the same with Elastic
 * Common Schema names, or CSV rows) and a summary at the end.
 * Bytes from the wire are escaped on the way out: nothing a remote host sent
 * can reach the terminal as a control sequence, and JSON stays valid.
 *
 * Wire text comes from decode/ as C strings that keep NUL (smtp.h: NUL is
 * stored as C0 80, a wire byte C0 as C0 81). One mapping per format, and in
 * JSON and CSV the wire bytes can be recovered from it:
 *  - JSON (and ECS): valid UTF-8 as it is; NUL and other controls (C0, DEL,
 *    C1) as \u00NN; bidi and zero-width characters as \uNNNN (the same
 *    text); a byte that starts no valid UTF-8 as the lone surrogate
 *    \udc80-\udcff (U+DC00 + byte, PEP 383 "surrogateescape"), which valid
 *    text cannot produce: in Python,
 *    json.loads(line)[...].encode("utf-8", "surrogateescape") is the wire.
 *  - CSV: valid UTF-8 as it is; NUL, controls other than TAB CR LF, each
 *    byte of a C1 control and bytes that start no valid UTF-8 as \xNN; bidi
 *    and zero-width characters as \uNNNN; a backslash as \\ (csv.c lists
 *    the two marks it adds: " / " between reply lines, a formula guard).
 *  - text: as CSV, but a backslash stays as it is: for a person to read.
 * Bidi and zero-width: U+061C, U+200B-U+200F, U+202A-U+202E, U+2060-U+2064,
 * U+2066-U+2069, U+FEFF (format.c: rpt_invisible()).
 */
#ifndef SMTPSCOPE_REPORT_H
#define SMTPSCOPE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../capture/capture.h"
#include "../decode/smtp.h"
#include "../reassembly/reassembly.h"

/* -o: text, json (the contract), csv (a row per command, or message), ecs (Elastic Common Schema) */
enum rpt_format { RPT_TEXT, RPT_JSON, RPT_CSV, RPT_ECS };

/* --audit-sort; flags (default): flags, then failures, then sessions */
enum rpt_audit_sort {
	RPT_SORT_FLAGS, RPT_SORT_SESSIONS, RPT_SORT_MESSAGES, RPT_SORT_FAILURES, RPT_SORT_HOST
};

struct rpt_extract;

/*
 * How the audit judges and shows hosts (audit.c): what is "ours"
 * (--local-nets, --local-domains), which hosts to show (--audit-only), reverse
 * DNS (--audit-rdns) and the picture (--audit-graph).
 */
#define RPT_MAX_LOCAL 64
struct rpt_net {
	struct cap_addr addr;
	uint8_t bits;
};
struct rpt_audit_opts {
	enum rpt_audit_sort sort;
	struct rpt_net nets[RPT_MAX_LOCAL];
	unsigned n_nets;
	char domains[RPT_MAX_LOCAL][256]; /* lower case, no trailing dot */
	unsigned n_domains;
	unsigned only_roles, only_zones; /* bits: 1 << role, 1 << zone; 0: all */
	uint64_t only_flags;		 /* bits of flag ids; 0: all */
	bool only_flagged;
	bool rdns;
	FILE *graph;	/* --audit-graph: DOT written here, or through dot when graph_svg */
	bool graph_svg;
};
/* Each parses one option's list into o: NULL, or why it is refused (for one line). */
const char *rpt_audit_nets(struct rpt_audit_opts *o, const char *list);
const char *rpt_audit_domains(struct rpt_audit_opts *o, const char *list);
const char *rpt_audit_only(struct rpt_audit_opts *o, const char *list);
struct rpt_audit;
/* The audit's flags (audit.c flag_info[]): their ids, and how many hosts carry each now. */
#define RPT_AUDIT_FLAGS 20
const char *rpt_audit_flag_id(unsigned i);
void rpt_audit_flag_hosts(struct rpt_audit *a, uint64_t hosts[RPT_AUDIT_FLAGS]);
/* The flag ids and what each says, a line each (--audit-only help). */
void rpt_audit_flag_list(FILE *f);
/* Can an SVG be drawn: Graphviz's dot on the PATH. */
bool rpt_audit_dot_found(void);

struct rpt_config {
	enum rpt_format format;
	bool color; /* ANSI colours in text output */
	bool color_summary; /* and in the summary a text or CSV run writes on stderr */
	bool ascii; /* text: marks in ASCII ("ok", "x", "->"): the locale is not UTF-8 */
	unsigned width; /* text: wrap to this many columns (a terminal); 0: one line each */
	bool audit; /* --audit: a table of hosts before the summary */
	bool transcripts; /* --transcripts: with --audit, text and CSV write the sessions too */
	bool quiet; /* no summary at the end of a text run */
	bool csv_messages; /* -o csv --messages: a row per message, not per command */
	struct rpt_extract *extract; /* --extract: index each session's messages (borrowed) */
	struct rpt_metrics *metrics; /* --metrics, --metrics-file: each session counted (borrowed) */
	bool audit_counts; /* the audit kept in memory (for the metrics) without printing it */
	const struct rpt_audit_opts *audit_opts; /* NULL: the defaults */
	struct rsm_hash_key hash_key; /* for the audit's host table; unset: drawn */
	FILE *out;
	/* -o ecs: the capture file or interface, whose base name goes into the stable ids */
	const char *capture_name;
	/*
	 * Sessions written in the order they began, not as they end: the text of
	 * a file (a reader goes down the transcript). Records (JSON, CSV, ECS)
	 * carry their id and start time and are written as sessions end: holding
	 * them would cost the fast path for what a sort by id gives.
	 */
	bool ordered;
};

/* Everything the summary counts, gathered from the stages by the caller. */
struct rpt_totals {
	const struct cap_stats *capture;
	const struct rsm_stats *reassembly;
	const struct smtp_stats *decode;
	bool interrupted;
	struct tls_keylog *keylog; /* --tls-keylog, or NULL */
	uint64_t not_shown;	   /* -c: sessions still open when it stopped, not written */
};

struct rpt;

struct rpt *rpt_new(const struct rpt_config *cfg);
/* An smtp_session_fn: arg is the report. */
void rpt_session(void *arg, const struct smtp_session *s);
/*
 * The same in two steps, for a caller that formats on other threads
 * (--threads): rpt_render() writes one session as rpt_session() would, to f,
 * and touches nothing shared (any thread, at once); rpt_session_rendered()
 * counts it (totals, audit) and writes those bytes, on the report's thread,
 * in order.
 */
void rpt_render(const struct rpt_config *cfg, FILE *f, const struct smtp_session *s);
void rpt_session_rendered(struct rpt *r, const struct smtp_session *s, const void *bytes,
			  size_t n);
void rpt_summary(struct rpt *r, const struct rpt_totals *t);
/* The counters so far (and the audit, if on), as text, on f (SIGUSR1 during a live capture). */
void rpt_running_summary(struct rpt *r, FILE *f, const struct rpt_totals *t);

/* --extract DIR (extract.c): .eml files and index.jsonl, fed by the decoder's sink. */
/* What --extract may write in all (--limit extract-files, extract-bytes). */
struct rpt_extract_limits {
	uint64_t files, bytes;
};
struct rpt_extract_limits rpt_extract_default_limits(void);
int rpt_extract_open(struct rpt_extract **out, const char *dir, const struct rpt_extract_limits *lim,
		     char *err, size_t errsz);
const struct smtp_sink *rpt_extract_sink(struct rpt_extract *x);
void rpt_extract_session(struct rpt_extract *x, const struct smtp_session *s);
/* Messages written, of them partial, not written (caps), bytes left unwritten (bytes cap). */
void rpt_extract_counts(const struct rpt_extract *x, uint64_t *files, uint64_t *partial,
			uint64_t *skipped, uint64_t *cut_bytes);
void rpt_extract_close(struct rpt_extract *x);
/* 0, or the errno of the first write to DIR that failed (a full disk): the run must say so. */
int rpt_extract_error(const struct rpt_extract *x);

/* The host audit (audit.c), usable on its own. */
struct rpt_audit;
/* opts: NULL for the defaults (borrowed); key: the run's hash key; NULL or unset: one is drawn. */
struct rpt_audit *rpt_audit_new(const struct rpt_audit_opts *opts, const struct rsm_hash_key *key);
void rpt_audit_session(struct rpt_audit *a, const struct smtp_session *s);
void rpt_audit_print(struct rpt_audit *a, FILE *f, bool json);
/* The hosts as CSV rows, after a header line. */
void rpt_audit_csv(struct rpt_audit *a, FILE *f);
/* --audit-graph: who talks to whom, as Graphviz DOT (or SVG through dot); false on failure. */
bool rpt_audit_graph(struct rpt_audit *a, FILE *f, bool svg);
void rpt_audit_free(struct rpt_audit *a);
/* The report's audit (NULL without --audit), for --audit-graph at the end. */
struct rpt_audit *rpt_audit_of(struct rpt *r);
void rpt_free(struct rpt *r);

/*
 * The end of a probe (smtpscope --probe, probe.c): what DNS found (NULL when
 * an address was given), how it ended, the exit status it gives, the verdict.
 * JSON and ECS write a "probe" record; text the verdict on stdout; CSV (rows
 * of sessions) on stderr.
 */
struct rpt_probe {
	const char *target;
	const struct smtp_dns *dns;
	const char *result; /* accepted, refused, deferred, unreachable */
	int exit_status;
	const char *verdict;
	unsigned sessions;
};
void rpt_probe_end(struct rpt *r, const struct rpt_probe *p);

/*
 * --metrics ADDR:PORT, --metrics-file PATH (metrics.c): the counters in the
 * Prometheus text format, served over HTTP by a thread of their own and/or
 * written to a file (node_exporter's textfile collector) every file_interval
 * seconds and at the end. Open (binds the socket) before root is dropped,
 * start after; sessions are counted on the report's thread, update() and
 * finish() run on the capture thread.
 */
#define METRICS_SERVERS 32 /* server addresses with a series of their own; then "other" */
#define METRICS_CONNS 8	   /* HTTP connections at once; more wait in the backlog */
struct rpt_metrics_config {
	const char *listen; /* ADDR:PORT, or NULL */
	const char *file;   /* or NULL */
	unsigned file_interval; /* seconds */
	uint64_t memory_budget; /* --limit memory, for smtpscope_memory_budget_bytes */
};
struct rpt_metrics;
int rpt_metrics_open(struct rpt_metrics **out, const struct rpt_metrics_config *cfg, char *err,
		     size_t errsz);
/* Renders once and writes the file (so that a bad path fails now), then starts the thread. */
int rpt_metrics_start(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a,
		      char *err, size_t errsz);
void rpt_metrics_session(struct rpt_metrics *m, const struct smtp_session *s);
/* Is an update due (a second since the last one): worth gathering the totals for? */
bool rpt_metrics_due(const struct rpt_metrics *m);
void rpt_metrics_update(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a);
/* Stops the thread, renders the final counters and writes the file: -1 and err if that failed. */
int rpt_metrics_finish(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a,
		       char *err, size_t errsz);
void rpt_metrics_free(struct rpt_metrics *m);
/* The exposition text into buf (a: the audit for its flags, or NULL); 0 if cap is too small. */
size_t rpt_metrics_render(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a,
			  char *buf, size_t cap);
/* The exposition writer, exposed for tests: bounded, full set when something did not fit. */
struct rpt_prom {
	char *buf;
	size_t cap, len;
	bool full;
};
void rpt_prom_init(struct rpt_prom *p, char *buf, size_t cap);
void rpt_prom_label_value(struct rpt_prom *p, const char *v);
void rpt_prom_family(struct rpt_prom *p, const char *name, const char *type, const char *help);
void rpt_prom_sample(struct rpt_prom *p, const char *name, const char *label, const char *value,
		     uint64_t n);

/* --json-schema (schema.c): a JSON Schema (draft 2020-12) of the -o json records. */
void rpt_print_schema(FILE *f);

/*
 * The terminal (term.c): whether the user's locale (LC_ALL, LC_CTYPE, LANG)
 * is UTF-8, read without changing the process's locale; the columns of fd
 * when it is a terminal (its window, else COLUMNS, else 80), 0 when not.
 */
bool rpt_locale_utf8(void);
unsigned rpt_term_width(int fd);
/*
 * len bytes of text (followed by '\n' or NUL), each line wrapped at spaces to
 * width columns, continuation lines indented by indent (term.c).
 */
void rpt_wrap(FILE *f, const char *text, size_t len, unsigned width, unsigned indent);

/* Helpers shared by the writers, exposed for tests. */
void rpt_json_string(FILE *f, const char *s);
void rpt_iso_time(char *buf, size_t n, uint64_t ts_us);
void rpt_addr(char *buf, size_t n, const struct cap_addr *a);
/*
 * Community ID v1 of a flow (community_id.c): "1:" and 28 base64 characters
 * into buf (at least RPT_COMMUNITY_ID_LEN bytes); the same for both directions.
 * Returns its length, or 0 (buf "") when buf is too small or the families differ.
 */
#define RPT_COMMUNITY_ID_LEN 31
size_t rpt_community_id(char *buf, size_t n, uint16_t seed, uint8_t proto, const struct cap_addr *src,
			uint16_t sport, const struct cap_addr *dst, uint16_t dport);

#endif
