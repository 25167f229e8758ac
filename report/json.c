/*
 * json.c - one JSON object per line, field names as DESIGN.md fixes them.
 */
#include "report.h"

#include <inttypes.h>

#include "report_private.h"

static void
key(FILE *f, const char *k, bool *first)
{
	if (!*first)
		putc(',', f);
	*first = false;
	putc('"', f);
	fputs(k, f);
	fputs("\":", f);
}

/* A name from our own tables: no escaping needed. */
static void
name(FILE *f, const char *s)
{
	putc('"', f);
	fputs(s, f);
	putc('"', f);
}

static void
endpoint(FILE *f, const struct cap_addr *a, uint16_t port)
{
	char ip[64];

	rpt_addr(ip, sizeof(ip), a);
	fputs("{\"ip\":\"", f);
	fputs(ip, f);
	fputs("\",\"port\":", f);
	rpt_put_u64(f, port);
	putc('}', f);
}

static void
reply(FILE *f, const struct smtp_command *c)
{
	if (!c->has_reply) {
		fputs("null", f);
		return;
	}
	fputs("{\"code\":", f);
	rpt_put_u64(f, (uint64_t)c->reply.code);
	fputs(",\"enhanced\":", f);
	if (c->reply.enhanced[0])
		name(f, c->reply.enhanced);
	else
		fputs("null", f);
	fputs(",\"text\":", f);
	rpt_json_string(f, c->reply.text);
	putc('}', f);
}

static void
command(FILE *f, const struct smtp_command *c)
{
	char ts[40];
	bool first = true;

	putc('{', f);
	key(f, "cmd", &first);
	rpt_json_string(f, c->name);
	key(f, "arg", &first);
	rpt_json_string(f, c->arg);
	rpt_iso_time(ts, sizeof(ts), c->ts);
	key(f, "ts", &first);
	name(f, ts);
	key(f, "reply", &first);
	reply(f, c);
	key(f, "result", &first);
	name(f, smtp_result_name(c->result));
	key(f, "explanation", &first);
	rpt_json_string(f, c->explanation ? c->explanation : "");
	key(f, "matched_on", &first);
	name(f, smtp_match_name(c->matched_on));
	if (c->has_reply) {
		key(f, "reply_time", &first);
		rpt_put_seconds(f, c->reply_ts >= c->ts ? c->reply_ts - c->ts : 0);
	}
	putc('}', f);
}

static void
addresses(FILE *f, const struct smtp_message *m, bool rejected)
{
	bool first = true;

	putc('[', f);
	for (size_t i = 0; i < m->n_rcpt; i++) {
		if ((m->rcpt[i].status == SMTP_RCPT_REJECTED) != rejected)
			continue;
		if (!first)
			putc(',', f);
		first = false;
		rpt_json_string(f, m->rcpt[i].addr ? m->rcpt[i].addr : "");
	}
	putc(']', f);
}

static const char *const rcpt_status[] = {
	[SMTP_RCPT_PENDING] = "no_reply", [SMTP_RCPT_ACCEPTED] = "accepted",
	[SMTP_RCPT_REJECTED] = "rejected",
};

/* Each recipient with what the server said about it. */
static void
recipients(FILE *f, const struct smtp_session *s, const struct smtp_message *m)
{
	putc('[', f);
	for (size_t i = 0; i < m->n_rcpt; i++) {
		const struct smtp_rcpt *r = &m->rcpt[i];
		const struct smtp_command *c = r->cmd >= 0 ? &s->cmds[r->cmd] : NULL;
		const char *status = rcpt_status[r->status];

		if (r->status == SMTP_RCPT_REJECTED && r->code / 100 == 4)
			status = "deferred";
		fputs(i ? ",{\"address\":" : "{\"address\":", f);
		rpt_json_string(f, r->addr ? r->addr : "");
		fputs(",\"status\":", f);
		name(f, status);
		fputs(",\"code\":", f);
		if (r->code)
			rpt_put_u64(f, (uint64_t)r->code);
		else
			fputs("null", f);
		fputs(",\"reply\":", f);
		rpt_json_string(f, c && c->has_reply ? c->reply.text : NULL);
		putc('}', f);
	}
	putc(']', f);
}

static void
message(FILE *f, const struct smtp_session *s, const struct smtp_message *m)
{
	bool first = true;

	putc('{', f);
	key(f, "mail_from", &first);
	rpt_json_string(f, m->mail_from);
	key(f, "rcpt_to", &first);
	addresses(f, m, false);
	key(f, "rcpt_rejected", &first);
	addresses(f, m, true);
	key(f, "accepted", &first);
	fputs(m->accepted ? "true" : "false", f);
	key(f, "size", &first);
	if (m->size >= 0)
		rpt_put_u64(f, (uint64_t)m->size);
	else
		fputs("null", f);
	key(f, "subject", &first);
	rpt_json_string(f, m->subject);
	key(f, "message_id", &first);
	rpt_json_string(f, m->message_id);
	key(f, "queue_id", &first);
	rpt_json_string(f, m->queue_id);
	key(f, "outcome", &first);
	name(f, smtp_outcome_name(m->outcome));
	key(f, "recipients", &first);
	recipients(f, s, m);
	putc('}', f);
}

static void
auth(FILE *f, const struct smtp_session *s)
{
	if (!s->has_auth) {
		fputs("null", f);
		return;
	}
	fputs("{\"mechanism\":", f);
	rpt_json_string(f, s->auth.mechanism);
	fputs(",\"user\":", f);
	rpt_json_string(f, s->auth.user);
	fprintf(f, ",\"success\":%s}",
		s->auth.success < 0 ? "null" : s->auth.success ? "true" : "false");
}

static void
anomalies(FILE *f, uint64_t bits)
{
	bool first = true;

	putc('[', f);
	for (int a = 0; a < SMTP_ANOM_COUNT; a++) {
		if (!(bits & (1ull << a)))
			continue;
		if (!first)
			putc(',', f);
		first = false;
		name(f, smtp_anomaly_name((enum smtp_anomaly)a));
	}
	putc(']', f);
}

static void
session_head(FILE *f, const struct smtp_session *s, bool *first)
{
	char ts[40];

	rpt_iso_time(ts, sizeof(ts), s->ts_first);
	key(f, "type", first);
	fputs("\"session\"", f);
	key(f, "id", first);
	rpt_put_u64(f, s->id);
	key(f, "ts", first);
	name(f, ts);
	key(f, "duration", first);
	rpt_put_seconds(f, s->ts_last >= s->ts_first ? s->ts_last - s->ts_first : 0);
	key(f, "client", first);
	endpoint(f, &s->client, s->client_port);
	key(f, "server", first);
	endpoint(f, &s->server, s->server_port);
	key(f, "state", first);
	name(f, smtp_state_name(s->state));
	key(f, "midstream", first);
	fputs(s->midstream ? "true" : "false", f);
}

static void
session_smtp(FILE *f, const struct smtp_session *s, bool *first)
{
	key(f, "helo", first);
	rpt_json_string(f, s->helo);
	key(f, "esmtp", first);
	fputs(s->esmtp ? "true" : "false", f);
	key(f, "extensions", first);
	putc('[', f);
	for (size_t i = 0; i < s->n_extensions; i++) {
		if (i)
			putc(',', f);
		rpt_json_string(f, s->extensions[i]);
	}
	putc(']', f);
	key(f, "starttls", first);
	fputs(s->starttls ? "true" : "false", f);
	key(f, "auth", first);
	auth(f, s);
}

void
json_session(FILE *f, const struct smtp_session *s)
{
	bool first = true;

	putc('{', f);
	session_head(f, s, &first);
	session_smtp(f, s, &first);
	key(f, "commands", &first);
	putc('[', f);
	for (size_t i = 0; i < s->n_cmds; i++) {
		if (i)
			putc(',', f);
		command(f, &s->cmds[i]);
	}
	putc(']', f);
	key(f, "messages", &first);
	putc('[', f);
	for (size_t i = 0; i < s->n_msgs; i++) {
		if (i)
			putc(',', f);
		message(f, s, &s->msgs[i]);
	}
	putc(']', f);
	key(f, "gaps", &first);
	fputs("{\"client\":", f);
	rpt_put_u64(f, s->gaps[RSM_C2S]);
	fputs(",\"server\":", f);
	rpt_put_u64(f, s->gaps[RSM_S2C]);
	putc('}', f);
	key(f, "anomalies", &first);
	anomalies(f, s->anomalies);
	if (s->icmp_type) {
		char ip[64];

		rpt_addr(ip, sizeof(ip), &s->icmp_from);
		key(f, "icmp_unreachable", &first);
		fprintf(f, "{\"type\":%u,\"code\":%u,\"from\":\"%s\"}", s->icmp_type,
			s->icmp_code, ip);
	}
	key(f, "verdict", &first);
	rpt_json_string(f, s->verdict);
	key(f, "outcome", &first);
	name(f, smtp_outcome_name(s->outcome));
	fputs("}\n", f);
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
	fputs(",\"skipped_packets\":{", f);
	for (int v = CAP_NOT_TCP; v < CAP_VERDICT_COUNT; v++)
		fprintf(f, "%s\"%s\":%" PRIu64, v == CAP_NOT_TCP ? "" : ",",
			cap_verdict_name((enum cap_verdict)v), cs->verdicts[v]);
	fprintf(f, "},\"icmp_unreachable\":%" PRIu64 ",\"ip_reassembled\":%" PRIu64
		   ",\"ip_fragments_dropped\":%" PRIu64 ",\"overlap_conflicts\":%" PRIu64,
		cs->verdicts[CAP_UNREACH], cs->reassembled, cs->frags_dropped, rs->overlap_conflicts);
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
	if (c->extract) {
		uint64_t files, partial, skipped;

		rpt_extract_counts(c->extract, &files, &partial, &skipped);
		fprintf(f, ",\"extracted\":{\"files\":%" PRIu64 ",\"partial\":%" PRIu64
			   ",\"skipped\":%" PRIu64 "}",
			files, partial, skipped);
	}
	if (cs->have_kernel_stats)
		fprintf(f, ",\"kernel_received\":%" PRIu64 ",\"kernel_dropped\":%" PRIu64
			   ",\"interface_dropped\":%" PRIu64,
			cs->kernel_received, cs->kernel_dropped, cs->if_dropped);
	fprintf(f, ",\"interrupted\":%s}\n", t->interrupted ? "true" : "false");
}
