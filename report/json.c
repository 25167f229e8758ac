/*
 * json.c - one JSON object per line, field names as DESIGN.md fixes them.
 */
#include "report.h"

#include <inttypes.h>
#include <string.h>

#include "out.h"
#include "report_private.h"

/* ,"name": (no comma first); the name is a literal, so its quoted form and length are too. */
#define key(f, k, first) key_lit((f), "\"" k "\":", sizeof("\"" k "\":") - 1, (first))

static void
key_lit(struct out *f, const char *quoted, size_t n, bool *first)
{
	if (!*first)
		out_chr(f, ',');
	*first = false;
	out_mem(f, quoted, n);
}

/* A name from our own tables: no escaping needed. */
static void
name(struct out *f, const char *s)
{
	out_chr(f, '"');
	out_str(f, s);
	out_chr(f, '"');
}

static void
endpoint(struct out *f, const struct cap_addr *a, uint16_t port)
{
	char ip[64];

	rpt_addr(ip, sizeof(ip), a);
	out_lit(f, "{\"ip\":\"");
	out_str(f, ip);
	out_lit(f, "\",\"port\":");
	out_u64(f, port);
	out_chr(f, '}');
}

static void
reply(struct out *f, const struct smtp_command *c)
{
	if (!c->has_reply) {
		out_lit(f, "null");
		return;
	}
	out_lit(f, "{\"code\":");
	out_u64(f, (uint64_t)c->reply.code);
	out_lit(f, ",\"enhanced\":");
	if (c->reply.enhanced[0])
		name(f, c->reply.enhanced);
	else
		out_lit(f, "null");
	out_lit(f, ",\"text\":");
	out_json(f, c->reply.text);
	out_chr(f, '}');
}

/* {"client":N,"server":N} */
static void
sides(struct out *f, uint64_t client, uint64_t server)
{
	out_lit(f, "{\"client\":");
	out_u64(f, client);
	out_lit(f, ",\"server\":");
	out_u64(f, server);
	out_chr(f, '}');
}

static void
string_or_null(struct out *f, const char *v)
{
	if (v[0])
		out_json(f, v);
	else
		out_lit(f, "null");
}

/* The DNS subjectAltNames, comma separated in tls/ (a comma inside one is \x2c), as an array. */
static void
sans(struct out *f, const char *list)
{
	char one[TLS_CERT_SANS_MAX + 1];

	out_chr(f, '[');
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");

		memcpy(one, p, k);
		one[k] = '\0';
		if (p != list)
			out_chr(f, ',');
		out_json(f, one);
		p += k + (p[k] == ',');
	}
	out_chr(f, ']');
}

static void
boolean(struct out *f, bool v)
{
	out_str(f, v ? "true" : "false");
}

/* tls.certificate: the server's leaf, judged at the capture's time and against the SNI. */
static void
certificate(struct out *f, const struct smtp_session *s)
{
	const struct tls_cert *c = &s->tls->cert;
	char ts[40];
	unsigned flaws;

	if (!c->seen) {
		out_lit(f, "null");
		return;
	}
	flaws = tls_cert_flaws(c, (int64_t)(s->ts_first / 1000000u), s->tls->sni,
			       s->tls->sni_truncated);
	out_lit(f, "{\"subject\":");
	out_json(f, c->subject);
	out_lit(f, ",\"issuer\":");
	out_json(f, c->issuer);
	out_lit(f, ",\"issuer_org\":");
	string_or_null(f, c->issuer_org);
	rpt_iso_seconds(ts, sizeof(ts), c->not_before);
	out_lit(f, ",\"not_before\":");
	name(f, ts);
	rpt_iso_seconds(ts, sizeof(ts), c->not_after);
	out_lit(f, ",\"not_after\":");
	name(f, ts);
	out_lit(f, ",\"sans\":");
	sans(f, c->sans);
	out_lit(f, ",\"sans_truncated\":");
	boolean(f, c->sans_truncated);
	out_lit(f, ",\"chain\":");
	out_u64(f, c->chain);
	out_lit(f, ",\"key_type\":");
	string_or_null(f, c->key_type);
	out_lit(f, ",\"key_bits\":");
	if (c->key_bits)
		out_u64(f, c->key_bits);
	else
		out_lit(f, "null");
	out_lit(f, ",\"self_signed\":");
	boolean(f, c->self_signed);
	out_lit(f, ",\"expired\":");
	boolean(f, flaws & TLS_CERT_EXPIRED);
	out_lit(f, ",\"not_yet_valid\":");
	boolean(f, flaws & TLS_CERT_NOT_YET_VALID);
	out_lit(f, ",\"name_matches\":");
	out_str(f, flaws & TLS_CERT_NAME_UNKNOWN	 ? "null}"
		   : flaws & TLS_CERT_NAME_MISMATCH ? "false}"
						     : "true}");
}

/* The TLS handshake after STARTTLS or at once (tls/), null when none began. */
static void
tls(struct out *f, const struct smtp_session *s)
{
	const struct tls_facts *t = s->tls;

	if (!t) {
		out_lit(f, "null");
		return;
	}
	out_lit(f, "{\"handshake\":");
	name(f, tls_handshake_name(t->handshake));
	out_lit(f, ",\"implicit\":");
	out_str(f, s->implicit_tls ? "true" : "false");
	out_lit(f, ",\"version\":");
	string_or_null(f, t->version);
	out_lit(f, ",\"cipher\":");
	string_or_null(f, t->cipher);
	out_lit(f, ",\"sni\":");
	string_or_null(f, t->sni);
	out_lit(f, ",\"alert\":");
	if (t->alert.seen) {
		out_lit(f, "{\"level\":");
		if (t->alert.encrypted)
			out_lit(f, "null,\"description\":null");
		else {
			name(f, tls_alert_level_name(t->alert.level));
			out_lit(f, ",\"description\":");
			name(f, tls_alert_name(t->alert.description));
		}
		out_lit(f, ",\"sent_by\":");
		name(f, tls_dir_name(t->alert.sent_by));
		out_chr(f, '}');
	} else {
		out_lit(f, "null");
	}
	out_lit(f, ",\"certificate\":");
	certificate(f, s);
	out_lit(f, ",\"decrypted\":");
	boolean(f, t->decrypted);
	out_lit(f, ",\"keys\":");
	name(f, tls_keys_name(t->keys));
	out_lit(f, ",\"failed_records\":");
	out_u64(f, t->failed_records);
	out_lit(f, ",\"records\":");
	sides(f, t->side[TLS_CLIENT].records, t->side[TLS_SERVER].records);
	out_lit(f, ",\"bytes\":");
	sides(f, t->side[TLS_CLIENT].bytes, t->side[TLS_SERVER].bytes);
	out_lit(f, ",\"unparsed\":");
	sides(f, t->side[TLS_CLIENT].unparsed_bytes, t->side[TLS_SERVER].unparsed_bytes);
	out_chr(f, '}');
}

/* What the capture could not see (DESIGN.md, "Additions for trust"). */
static void
capture(struct out *f, const struct smtp_session *s)
{
	out_lit(f, "{\"snaplen\":");
	if (s->capture.snaplen > 0)
		out_u64(f, (uint64_t)s->capture.snaplen);
	else if (s->capture.snaplen < 0)
		out_lit(f, "0");
	else
		out_lit(f, "null");
	out_lit(f, ",\"one_side\":");
	if (s->capture.one_side >= 0)
		name(f, s->capture.one_side == RSM_C2S ? "client" : "server");
	else
		out_lit(f, "null");
	out_lit(f, ",\"after_greeting\":");
	out_str(f, s->capture.after_greeting ? "true" : "false");
	out_lit(f, ",\"ends_mid_session\":");
	out_str(f, s->capture.ends_mid_session ? "true}" : "false}");
}

/*
 * Why the server answered so; for a failure also whether a later retry can
 * pass by itself, who can fix it and the page to read (decode/reasons.def).
 */
static void
reason(struct out *f, const struct smtp_command *c)
{
	const char *who[4], *cls = smtp_failure_class(c->reply.code, c->lasting);
	const char *page = smtp_origin_page(c->origin);
	size_t n;

	out_lit(f, ",\"reason\":");
	name(f, smtp_reason_name(c->reason));
	if (!cls)
		return;
	out_lit(f, ",\"class\":");
	name(f, cls);
	/* a refused EHLO the client answered with HELO, as it should: nobody to fix anything */
	n = c->fallback ? 0 : smtp_reason_fixers(c->reason, who);
	out_lit(f, ",\"fix_by\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			out_chr(f, ',');
		name(f, who[i]);
	}
	out_lit(f, "],\"page\":");
	if (page)
		out_json(f, page);
	else
		out_lit(f, "null");
}

static void
command(struct out *f, const struct smtp_command *c)
{
	char ts[40];
	bool first = true;

	out_chr(f, '{');
	key(f, "cmd", &first);
	out_json(f, c->name);
	key(f, "arg", &first);
	out_json(f, c->arg);
	rpt_iso_time(ts, sizeof(ts), c->ts);
	key(f, "ts", &first);
	name(f, ts);
	key(f, "reply", &first);
	reply(f, c);
	key(f, "result", &first);
	name(f, smtp_result_name(c->result));
	key(f, "explanation", &first);
	out_json(f, c->explanation ? c->explanation : "");
	key(f, "matched_on", &first);
	name(f, smtp_match_name(c->matched_on));
	if (c->has_reply)
		reason(f, c);
	else
		out_lit(f, ",\"reason\":null");
	/* one literal each: this runs for every command */
	if (!c->has_reply)
		out_lit(f, ",\"paired\":null");
	else if (c->paired == SMTP_PAIR_INFERRED)
		out_lit(f, ",\"paired\":\"inferred\"");
	else
		out_lit(f, ",\"paired\":\"seen\"");
	if (c->in_tls)
		out_lit(f, ",\"in_tls\":true");
	key(f, "reply_time", &first);
	if (c->has_reply)
		out_seconds(f, c->reply_ts >= c->ts ? c->reply_ts - c->ts : 0);
	else
		out_lit(f, "null");
	out_chr(f, '}');
}

static void
addresses(struct out *f, const struct smtp_message *m, bool rejected)
{
	bool first = true;

	out_chr(f, '[');
	for (size_t i = 0; i < m->n_rcpt; i++) {
		if (SMTP_RCPT_REFUSED(m->rcpt[i].status) != rejected)
			continue;
		if (!first)
			out_chr(f, ',');
		first = false;
		out_json(f, m->rcpt[i].addr ? m->rcpt[i].addr : "");
	}
	out_chr(f, ']');
}

/* Each recipient with what the server said about it. */
static void
recipients(struct out *f, const struct smtp_session *s, const struct smtp_message *m)
{
	out_chr(f, '[');
	for (size_t i = 0; i < m->n_rcpt; i++) {
		const struct smtp_rcpt *r = &m->rcpt[i];
		const struct smtp_command *c = r->cmd >= 0 ? &s->cmds[r->cmd] : NULL;
		const char *status = smtp_rcpt_status_name(r->status);

		out_str(f, i ? ",{\"address\":" : "{\"address\":");
		out_json(f, r->addr ? r->addr : "");
		out_lit(f, ",\"status\":");
		name(f, status);
		out_lit(f, ",\"code\":");
		if (r->code)
			out_u64(f, (uint64_t)r->code);
		else
			out_lit(f, "null");
		out_lit(f, ",\"reply\":");
		out_json(f, c && c->has_reply ? c->reply.text : NULL);
		out_chr(f, '}');
	}
	out_chr(f, ']');
}

/* An ISO 8601 time, or null when not seen. */
static void
time_or_null(struct out *f, bool seen, uint64_t us)
{
	char ts[40];

	if (!seen) {
		out_lit(f, "null");
		return;
	}
	rpt_iso_time(ts, sizeof(ts), us);
	name(f, ts);
}

/* When MAIL and the end of data were sent, when the reply to that end came, and the span. */
static void
message_times(struct out *f, const struct smtp_session *s, const struct smtp_message *m,
	      bool *first)
{
	struct rpt_msg_times t;

	rpt_message_times(s, m, &t);
	key(f, "mail_ts", first);
	time_or_null(f, t.has_mail, t.mail);
	key(f, "data_end_ts", first);
	time_or_null(f, t.has_data_end, t.data_end);
	key(f, "final_reply_ts", first);
	time_or_null(f, t.has_final_reply, t.final_reply);
	key(f, "transaction_time", first);
	if (t.has_mail && t.has_final_reply)
		out_seconds(f, t.final_reply >= t.mail ? t.final_reply - t.mail : 0);
	else
		out_lit(f, "null");
}

static void
message(struct out *f, const struct smtp_session *s, const struct smtp_message *m)
{
	bool first = true;

	out_chr(f, '{');
	key(f, "mail_from", &first);
	out_json(f, m->mail_from);
	key(f, "rcpt_to", &first);
	addresses(f, m, false);
	key(f, "rcpt_rejected", &first);
	addresses(f, m, true);
	key(f, "accepted", &first);
	out_str(f, m->accepted ? "true" : "false");
	key(f, "size", &first);
	if (m->size >= 0)
		out_u64(f, (uint64_t)m->size);
	else
		out_lit(f, "null");
	key(f, "subject", &first);
	out_json(f, m->subject);
	key(f, "subject_raw", &first);
	out_json(f, m->subject_raw);
	key(f, "from", &first);
	out_json(f, m->from);
	key(f, "from_raw", &first);
	out_json(f, m->from_raw);
	key(f, "message_id", &first);
	out_json(f, m->message_id);
	key(f, "queue_id", &first);
	out_json(f, m->queue_id);
	key(f, "outcome", &first);
	name(f, smtp_outcome_name(m->outcome));
	key(f, "recipients", &first);
	recipients(f, s, m);
	message_times(f, s, m, &first);
	out_chr(f, '}');
}

static void
auth(struct out *f, const struct smtp_session *s)
{
	if (!s->has_auth) {
		out_lit(f, "null");
		return;
	}
	out_lit(f, "{\"mechanism\":");
	out_json(f, s->auth.mechanism);
	out_lit(f, ",\"user\":");
	out_json(f, s->auth.user);
	out_lit(f, ",\"success\":");
	out_str(f, s->auth.success < 0 ? "null" : s->auth.success ? "true" : "false");
	out_chr(f, '}');
}

static void
anomalies(struct out *f, uint64_t bits)
{
	bool first = true;

	out_chr(f, '[');
	for (int a = 0; a < SMTP_ANOM_COUNT; a++) {
		if (!(bits & (1ull << a)))
			continue;
		if (!first)
			out_chr(f, ',');
		first = false;
		name(f, smtp_anomaly_name((enum smtp_anomaly)a));
	}
	out_chr(f, ']');
}

/* The probe's verification of the server's certificate, or null. */
static void
probe_tls(struct out *f, const struct smtp_probe_tls *t)
{
	char ts[40];

	if (!t) {
		out_lit(f, "null");
		return;
	}
	out_lit(f, "{\"host\":");
	out_json(f, t->host);
	out_lit(f, ",\"result\":");
	out_json(f, t->result);
	out_lit(f, ",\"explanation\":");
	out_json(f, t->explanation);
	out_lit(f, ",\"verify_code\":");
	out_u64(f, (uint64_t)(t->verify_code < 0 ? 0 : t->verify_code));
	out_lit(f, ",\"required\":");
	boolean(f, t->required);
	out_lit(f, ",\"chain\":[");
	for (size_t i = 0; i < t->n_chain; i++) {
		if (i)
			out_chr(f, ',');
		out_lit(f, "{\"subject\":");
		out_json(f, t->chain[i].subject);
		out_lit(f, ",\"issuer\":");
		out_json(f, t->chain[i].issuer);
		rpt_iso_seconds(ts, sizeof(ts), t->chain[i].not_after);
		out_lit(f, ",\"not_after\":");
		name(f, ts);
		out_chr(f, '}');
	}
	out_lit(f, "]}");
}

/* An array of JSON strings. */
static void
json_strings(struct out *f, const char *const *v, size_t n)
{
	out_chr(f, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			out_chr(f, ',');
		out_json(f, v[i]);
	}
	out_chr(f, ']');
}

/* A probe's session: the DNS steps that chose its server, and the probe's notes. */
static void
probe_facts(struct out *f, const struct smtp_probe *p, bool *first)
{
	key(f, "dns", first);
	out_flush(f); /* probe.c writes to the FILE itself */
	rpt_json_dns(f->f, p->dns);
	key(f, "probe_notes", first);
	json_strings(f, p->notes, p->n_notes);
	key(f, "tls_verify", first);
	probe_tls(f, p->tls);
}

static void
session_head(struct out *f, const struct smtp_session *s, bool *first)
{
	char ts[40];

	rpt_iso_time(ts, sizeof(ts), s->ts_first);
	key(f, "type", first);
	out_lit(f, "\"session\"");
	key(f, "id", first);
	out_u64(f, s->id);
	key(f, "ts", first);
	name(f, ts);
	key(f, "duration", first);
	out_seconds(f, s->ts_last >= s->ts_first ? s->ts_last - s->ts_first : 0);
	rpt_iso_time(ts, sizeof(ts), s->ts_last >= s->ts_first ? s->ts_last : s->ts_first);
	key(f, "end_ts", first);
	name(f, ts);
	key(f, "client", first);
	endpoint(f, &s->client, s->client_port);
	key(f, "server", first);
	endpoint(f, &s->server, s->server_port);
	key(f, "state", first);
	name(f, smtp_state_name(s->state));
	key(f, "midstream", first);
	out_str(f, s->midstream ? "true" : "false");
	key(f, "source", first);
	out_str(f, s->probe ? "\"probe\"" : "\"capture\"");
	if (s->probe)
		probe_facts(f, s->probe, first);
}

static void
session_smtp(struct out *f, const struct smtp_session *s, bool *first)
{
	key(f, "helo", first);
	out_json(f, s->helo);
	key(f, "esmtp", first);
	out_str(f, s->esmtp ? "true" : "false");
	key(f, "extensions", first);
	json_strings(f, s->extensions, s->n_extensions);
	key(f, "starttls", first);
	out_str(f, s->starttls ? "true" : "false");
	key(f, "tls", first);
	tls(f, s);
	key(f, "auth", first);
	auth(f, s);
}

static void
session(struct out *f, const struct smtp_session *s)
{
	bool first = true;

	out_chr(f, '{');
	session_head(f, s, &first);
	session_smtp(f, s, &first);
	key(f, "commands", &first);
	out_chr(f, '[');
	for (size_t i = 0; i < s->n_cmds; i++) {
		if (i)
			out_chr(f, ',');
		command(f, &s->cmds[i]);
	}
	out_chr(f, ']');
	key(f, "messages", &first);
	out_chr(f, '[');
	for (size_t i = 0; i < s->n_msgs; i++) {
		if (i)
			out_chr(f, ',');
		message(f, s, &s->msgs[i]);
	}
	out_chr(f, ']');
	key(f, "gaps", &first);
	sides(f, s->gaps[RSM_C2S], s->gaps[RSM_S2C]);
	key(f, "unparsed", &first);
	sides(f, s->unparsed[RSM_C2S], s->unparsed[RSM_S2C]);
	key(f, "capture", &first);
	capture(f, s);
	key(f, "anomalies", &first);
	anomalies(f, s->anomalies);
	if (s->icmp_type) {
		char ip[64];

		rpt_addr(ip, sizeof(ip), &s->icmp_from);
		key(f, "icmp_unreachable", &first);
		out_lit(f, "{\"type\":");
		out_u64(f, s->icmp_type);
		out_lit(f, ",\"code\":");
		out_u64(f, s->icmp_code);
		out_lit(f, ",\"from\":");
		name(f, ip);
		out_chr(f, '}');
	}
	key(f, "verdict", &first);
	out_json(f, s->verdict);
	key(f, "outcome", &first);
	name(f, smtp_outcome_name(s->outcome));
	out_lit(f, "}\n");
}

void
json_session(FILE *f, const struct smtp_session *s)
{
	static _Thread_local struct out o; /* 64 KiB: not on the stack; one per thread (--threads) */

	o.f = f;
	o.len = 0;
	session(&o, s);
	out_flush(&o);
}

/* "start_ts", "end_ts": the earliest and latest packet; left out when none was read. */
static void
capture_span(FILE *f, const struct cap_stats *cs)
{
	char ts[40];

	if (!cs->packets)
		return;
	rpt_iso_time(ts, sizeof(ts), cs->first_ts);
	fprintf(f, ",\"start_ts\":\"%s\"", ts);
	rpt_iso_time(ts, sizeof(ts), cs->last_ts);
	fprintf(f, ",\"end_ts\":\"%s\"", ts);
}

void
json_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c)
{
	const struct cap_stats *cs = t->capture;
	const struct rsm_stats *rs = t->reassembly;
	const struct smtp_stats *ds = t->decode;

	fprintf(f,
		"{\"type\":\"summary\",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"tcp_segments\":%" PRIu64 ",\"sessions\":%" PRIu64 ",\"failed_attempts\":%" PRIu64
		",\"refused\":%" PRIu64 ",\"no_answer\":%" PRIu64 ",\"messages\":%" PRIu64
		",\"messages_accepted\":%" PRIu64 ",\"commands\":%" PRIu64 ",\"replies\":%" PRIu64
		",\"gap_bytes\":%" PRIu64 ",\"evicted_flows\":%" PRIu64 ",\"timed_out_flows\":%" PRIu64
		",\"queue_overflows\":%" PRIu64 ",\"ignored_segments\":%" PRIu64,
		cs->packets, cs->bytes, cs->verdicts[CAP_TCP], ds->sessions, ds->refused + ds->no_answer,
		ds->refused, ds->no_answer, ds->messages, ds->messages_accepted, ds->commands,
		ds->replies, rs->gap_bytes, rs->evicted, rs->timed_out, rs->ooo_overflows, rs->ignored);
	capture_span(f, cs);
	fputs(",\"skipped_packets\":{", f);
	for (int v = CAP_NOT_TCP; v < CAP_VERDICT_COUNT; v++)
		fprintf(f, "%s\"%s\":%" PRIu64, v == CAP_NOT_TCP ? "" : ",",
			cap_verdict_name((enum cap_verdict)v), cs->verdicts[v]);
	fprintf(f, "},\"icmp_unreachable\":%" PRIu64 ",\"ip_reassembled\":%" PRIu64
		   ",\"ip_fragments_dropped\":%" PRIu64 ",\"overlap_conflicts\":%" PRIu64
		   ",\"ignored_resets\":%" PRIu64 ",\"ignored_fins\":%" PRIu64,
		cs->verdicts[CAP_UNREACH], cs->reassembled, cs->frags_dropped, rs->overlap_conflicts,
		rs->ignored_resets, rs->ignored_fins);
	fputs(",\"explanations\":{", f);
	for (int m = 0; m < SMTP_MATCH_COUNT; m++)
		fprintf(f, "%s\"%s\":%" PRIu64, m ? "," : "", smtp_match_name((enum smtp_match)m),
			ds->matched[m]);
	fputs("},\"outcomes\":{", f);
	bool first = true;

	for (int o = SMTP_OUT_DELIVERED; o < SMTP_OUT_COUNT; o++) {
		if (!ds->outcomes[o])
			continue;
		fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
			smtp_outcome_name((enum smtp_outcome)o), ds->outcomes[o]);
		first = false;
	}
	fputs("},\"anomalies\":{", f);
	first = true;

	for (int a = 0; a < SMTP_ANOM_COUNT; a++) {
		if (!ds->anomalies[a])
			continue;
		fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
			smtp_anomaly_name((enum smtp_anomaly)a), ds->anomalies[a]);
		first = false;
	}
	fprintf(f, "},\"delivered_sessions\":%" PRIu64 ",\"truncated_input\":%s", c->delivered,
		cs->input_truncated ? "true" : "false");
	fprintf(f, ",\"pairs_inferred\":%" PRIu64 ",\"capture\":{\"cut_by_snaplen\":%" PRIu64
		   ",\"one_side\":%" PRIu64 ",\"after_greeting\":%" PRIu64
		   ",\"ends_mid_session\":%" PRIu64 "}",
		ds->pairs_inferred, ds->cut_by_snaplen, ds->one_side, ds->after_greeting,
		ds->ends_mid_session);
	if (c->audit)
		rpt_audit_json_summary(c->audit, f);
	fprintf(f, ",\"memory_refused\":%" PRIu64, cap_budget_refused());
	fprintf(f, ",\"sessions_not_shown\":%" PRIu64 ",\"out_of_order\":%" PRIu64, t->not_shown,
		c->out_of_order);
	fputs(",\"smtp_like_ports\":[", f);
	for (int i = 0; i < CAP_SMTP_LIKE && cs->smtp_like[i].port; i++)
		fprintf(f, "%s{\"port\":%u,\"packets\":%" PRIu64 "}", i ? "," : "",
			cs->smtp_like[i].port, cs->smtp_like[i].packets);
	putc(']', f);
	if (t->keylog) {
		struct tls_keylog_stats ks;

		tls_keylog_get_stats(t->keylog, &ks);
		fprintf(f, ",\"tls_keylog\":{\"lines\":%" PRIu64 ",\"entries\":%" PRIu64
			   ",\"bad_lines\":%" PRIu64 ",\"ignored_lines\":%" PRIu64 ",\"dropped\":%"
			   PRIu64 ",\"sessions_decrypted\":%" PRIu64 ",\"sessions_not_decrypted\":%"
			   PRIu64 ",\"failed_records\":%" PRIu64 "}",
			ks.lines, ks.entries, ks.bad_lines, ks.ignored_lines, ks.dropped, ds->tls_decrypted,
			ds->tls_not_decrypted, ds->tls_failed_records);
	}
	if (c->extract) {
		uint64_t files, partial, skipped, cut;

		rpt_extract_counts(c->extract, &files, &partial, &skipped, &cut);
		fprintf(f, ",\"extracted\":{\"files\":%" PRIu64 ",\"partial\":%" PRIu64
			   ",\"skipped\":%" PRIu64 ",\"cut_bytes\":%" PRIu64 "}",
			files, partial, skipped, cut);
	}
	if (cs->have_kernel_stats)
		fprintf(f, ",\"kernel_received\":%" PRIu64 ",\"kernel_dropped\":%" PRIu64
			   ",\"interface_dropped\":%" PRIu64,
			cs->kernel_received, cs->kernel_dropped, cs->if_dropped);
	if (cs->have_kernel_stats)
		fprintf(f, ",\"buffer_kib\":%" PRIu64 ",\"suggested_buffer_kib\":%" PRIu64,
			cs->buffer_size >> 10, cap_buffer_advice(cs) >> 10);
	fprintf(f, ",\"interrupted\":%s}\n", t->interrupted ? "true" : "false");
}
