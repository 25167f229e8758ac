/*
 * ecs.c - -o ecs: one JSON object per line with Elastic Common Schema (8.x)
 * names in ECS's nested form ({"source":{"ip":...}}, not dotted keys), so a
 * plain JSON input of Filebeat or Vector loads it into Elasticsearch or
 * OpenSearch without an ingest pipeline. ECS has no SMTP fields: what it
 * cannot name goes under "smtpscope". report/ECS.md is the mapping.
 *
 * Absent values are left out rather than written as null (ECS style, and
 * the same to Elasticsearch). The summary and the host audit are metric
 * documents whose counters sit under smtpscope.summary and smtpscope.host:
 * at the top of smtpscope they would collide with the session fields of the
 * same name (messages, commands, anomalies) in one index mapping.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_private.h"

#define ECS_VERSION "8.11.0"

/* event.outcome by session outcome; the rest (partial, no mail ...) is "unknown". */
static const char *const event_outcome[SMTP_OUT_COUNT] = {
	[SMTP_OUT_DELIVERED] = "success",     [SMTP_OUT_REJECTED] = "failure",
	[SMTP_OUT_DEFERRED] = "failure",      [SMTP_OUT_ABORTED] = "failure",
	[SMTP_OUT_NEVER_REACHED] = "failure",
};

static void
key(FILE *f, const char *k, bool *first)
{
	if (!*first)
		putc(',', f);
	*first = false;
	fprintf(f, "\"%s\":", k);
}

/* A string member, left out when there is no value. */
static void
opt_string(FILE *f, const char *k, const char *v, bool *first)
{
	if (!v)
		return;
	key(f, k, first);
	rpt_json_string(f, v);
}

static void
time_value(FILE *f, uint64_t ts)
{
	char buf[40];

	rpt_iso_time(buf, sizeof(buf), ts);
	fprintf(f, "\"%s\"", buf);
}

static void
event(FILE *f, const struct smtp_session *s)
{
	const char *outcome =
		(unsigned)s->outcome < SMTP_OUT_COUNT ? event_outcome[s->outcome] : NULL;

	fputs("{\"kind\":\"event\",\"category\":[\"network\",\"email\"],\"type\":[\"connection\"]"
	      ",\"dataset\":\"smtpscope.session\",\"outcome\":", f);
	fprintf(f, "\"%s\",\"duration\":%" PRIu64 ",\"start\":", outcome ? outcome : "unknown",
		s->ts_last > s->ts_first ? (s->ts_last - s->ts_first) * 1000u : 0);
	time_value(f, s->ts_first);
	fputs(",\"end\":", f);
	time_value(f, s->ts_last);
	fputs(",\"reason\":", f);
	rpt_json_string(f, s->verdict);
	putc('}', f);
}

static void
endpoint(FILE *f, const struct cap_addr *a, uint16_t port)
{
	char ip[64];

	rpt_addr(ip, sizeof(ip), a);
	fprintf(f, "{\"ip\":\"%s\",\"port\":%u}", ip, port);
}

/* related.ip: both ends, once each, for one search box that finds a host. */
static void
related(FILE *f, const struct smtp_session *s)
{
	char c[64], v[64];

	rpt_addr(c, sizeof(c), &s->client);
	rpt_addr(v, sizeof(v), &s->server);
	fprintf(f, "{\"ip\":[\"%s\"", c);
	if (strcmp(c, v) != 0)
		fprintf(f, ",\"%s\"", v);
	fputs("]}", f);
}

/* Which recipients a list holds, by what the server said about each. */
enum rcpt_list { ONLY_ACCEPTED, NOT_REFUSED, REFUSED };

static const bool listed[][SMTP_RCPT_STATUS_COUNT] = {
	[ONLY_ACCEPTED] = {[SMTP_RCPT_ACCEPTED] = true},
	[NOT_REFUSED] = {[SMTP_RCPT_PENDING] = true, [SMTP_RCPT_ACCEPTED] = true},
	[REFUSED] = {[SMTP_RCPT_DEFERRED] = true, [SMTP_RCPT_REJECTED] = true},
};

/* ECS tls.server.*: the server's certificate (tls.h: struct tls_cert). */
static void
tls_server(FILE *f, const struct tls_cert *c)
{
	char from[40], to[40];
	const char *p = c->sans;

	rpt_iso_seconds(from, sizeof(from), c->not_before);
	rpt_iso_seconds(to, sizeof(to), c->not_after);
	char subject[sizeof(c->subject) + 3];

	snprintf(subject, sizeof(subject), "%s%s", c->subject_cn ? "CN=" : "", c->subject);
	fputs(",\"server\":{\"subject\":", f);
	rpt_json_string(f, subject);
	fputs(",\"issuer\":", f);
	rpt_json_string(f, c->issuer);
	fprintf(f, ",\"not_before\":\"%s\",\"not_after\":\"%s\",\"x509\":{\"alternative_names\":[",
		from, to);
	while (*p) { /* the list is comma separated, a comma in a name being \x2c */
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char name[TLS_CERT_SANS_MAX + 1];

		memcpy(name, p, n);
		name[n] = '\0';
		fputs(p == c->sans ? "" : ",", f);
		rpt_json_string(f, name);
		p += n + (e != NULL);
	}
	putc(']', f);
	if (c->key_type[0]) {
		fputs(",\"public_key_algorithm\":", f);
		rpt_json_string(f, c->key_type);
	}
	if (c->key_bits)
		fprintf(f, ",\"public_key_size\":%u", (unsigned)c->key_bits);
	fputs("}}", f);
}

/*
 * ECS tls.*: established only when the handshake was seen to complete, not
 * when STARTTLS was merely accepted; version as ECS splits it (protocol
 * "tls", version "1.3"; SSLv3 is protocol "ssl", version "3.0"), the
 * cipher's IANA name, the SNI.
 */
static void
tls(FILE *f, const struct smtp_session *s)
{
	const struct tls_facts *t = s->tls;

	fprintf(f, "{\"established\":%s", t && t->handshake == TLS_HS_COMPLETED ? "true" : "false");
	if (t && strncmp(t->version, "TLSv", 4) == 0) {
		fputs(",\"version_protocol\":\"tls\",\"version\":", f);
		rpt_json_string(f, t->version + 4);
	} else if (t && t->version_code == 0x0300) { /* ECS: protocol "ssl", version "3.0" */
		fputs(",\"version_protocol\":\"ssl\",\"version\":\"3.0\"", f);
	}
	if (t && t->cipher[0]) {
		fputs(",\"cipher\":", f);
		rpt_json_string(f, t->cipher);
	}
	if (t && t->sni[0]) {
		fputs(",\"client\":{\"server_name\":", f);
		rpt_json_string(f, t->sni);
		putc('}', f);
	}
	if (t && t->cert.seen)
		tls_server(f, &t->cert);
	putc('}', f);
}

static void
addresses(FILE *f, const struct smtp_message *m, enum rcpt_list which)
{
	bool first = true;

	putc('[', f);
	for (size_t i = 0; i < m->n_rcpt; i++) {
		if (!listed[which][m->rcpt[i].status])
			continue;
		if (!first)
			putc(',', f);
		first = false;
		rpt_json_string(f, m->rcpt[i].addr ? m->rcpt[i].addr : "");
	}
	putc(']', f);
}

static bool
any_accepted(const struct smtp_message *m)
{
	for (size_t i = 0; i < m->n_rcpt; i++)
		if (m->rcpt[i].status == SMTP_RCPT_ACCEPTED)
			return true;
	return false;
}

/* ECS email.*: the session's first message (all of them are in smtpscope.messages). */
static void
email(FILE *f, const struct smtp_message *m)
{
	bool first = true;

	putc('{', f);
	if (m->mail_from) {
		key(f, "from", &first);
		fputs("{\"address\":", f);
		rpt_json_string(f, m->mail_from);
		putc('}', f);
	}
	if (any_accepted(m)) {
		key(f, "to", &first);
		fputs("{\"address\":", f);
		addresses(f, m, ONLY_ACCEPTED);
		putc('}', f);
	}
	opt_string(f, "subject", m->subject, &first);
	opt_string(f, "message_id", m->message_id, &first);
	opt_string(f, "local_id", m->queue_id, &first);
	putc('}', f);
}

static void
command(FILE *f, const struct smtp_command *c)
{
	bool first = true;

	putc('{', f);
	opt_string(f, "cmd", c->name, &first);
	opt_string(f, "arg", c->arg, &first);
	key(f, "ts", &first);
	time_value(f, c->ts);
	if (c->has_reply) {
		key(f, "code", &first);
		fprintf(f, "%d", c->reply.code);
		opt_string(f, "enhanced", c->reply.enhanced[0] ? c->reply.enhanced : NULL, &first);
		opt_string(f, "text", c->reply.text, &first);
	}
	opt_string(f, "result", smtp_result_name(c->result), &first);
	opt_string(f, "reason", c->has_reply ? smtp_reason_name(c->reason) : NULL, &first);
	opt_string(f, "explanation", c->explanation, &first);
	putc('}', f);
}

/* As in the JSON contract (mail_from ... message_id), plus queue_id and outcome. */
static void
message(FILE *f, const struct smtp_message *m)
{
	bool first = true;

	putc('{', f);
	opt_string(f, "mail_from", m->mail_from, &first);
	key(f, "rcpt_to", &first);
	addresses(f, m, NOT_REFUSED); /* accepted, or no reply seen */
	key(f, "rcpt_rejected", &first);
	addresses(f, m, REFUSED);
	key(f, "accepted", &first);
	fputs(m->accepted ? "true" : "false", f);
	if (m->size >= 0) {
		key(f, "size", &first);
		fprintf(f, "%" PRId64, m->size);
	}
	opt_string(f, "subject", m->subject, &first);
	opt_string(f, "message_id", m->message_id, &first);
	opt_string(f, "queue_id", m->queue_id, &first);
	opt_string(f, "outcome", smtp_outcome_name(m->outcome), &first);
	putc('}', f);
}

static void
auth(FILE *f, const struct smtp_session *s)
{
	bool first = true;

	putc('{', f);
	opt_string(f, "mechanism", s->auth.mechanism, &first);
	opt_string(f, "user", s->auth.user, &first);
	if (s->auth.success >= 0) {
		key(f, "success", &first);
		fputs(s->auth.success ? "true" : "false", f);
	}
	putc('}', f);
}

static void
anomalies(FILE *f, uint64_t bits)
{
	bool first = true;

	putc('[', f);
	for (int a = 0; a < SMTP_ANOM_COUNT; a++) {
		if (!(bits & (1ull << a)))
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ",", smtp_anomaly_name((enum smtp_anomaly)a));
		first = false;
	}
	putc(']', f);
}

static void
smtp_fields(FILE *f, const struct smtp_session *s, bool *first)
{
	key(f, "id", first);
	fprintf(f, "%" PRIu64, s->id);
	opt_string(f, "state", smtp_state_name(s->state), first);
	opt_string(f, "outcome", smtp_outcome_name(s->outcome), first);
	key(f, "midstream", first);
	fputs(s->midstream ? "true" : "false", f);
	opt_string(f, "source", s->probe ? "probe" : "capture", first);
	if (s->probe && s->probe->dns) {
		key(f, "dns", first);
		rpt_json_dns(f, s->probe->dns);
	}
	opt_string(f, "helo", s->helo, first);
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
	if (s->has_auth) {
		key(f, "auth", first);
		auth(f, s);
	}
}

static void
details(FILE *f, const struct smtp_session *s)
{
	bool first = true;

	putc('{', f);
	smtp_fields(f, s, &first);
	key(f, "commands", &first);
	putc('[', f);
	for (size_t i = 0; i < s->n_cmds; i++) {
		if (i)
			putc(',', f);
		command(f, &s->cmds[i]);
	}
	fputs("],\"messages\":[", f);
	for (size_t i = 0; i < s->n_msgs; i++) {
		if (i)
			putc(',', f);
		message(f, &s->msgs[i]);
	}
	fprintf(f, "],\"gaps\":{\"client\":%" PRIu64 ",\"server\":%" PRIu64 "},\"anomalies\":",
		s->gaps[RSM_C2S], s->gaps[RSM_S2C]);
	anomalies(f, s->anomalies);
	if (s->icmp_type) {
		char ip[64];

		rpt_addr(ip, sizeof(ip), &s->icmp_from);
		fprintf(f, ",\"icmp_unreachable\":{\"type\":%u,\"code\":%u,\"from\":\"%s\"}",
			s->icmp_type, s->icmp_code, ip);
	}
	putc('}', f);
}

void
ecs_session(FILE *f, const struct smtp_session *s)
{
	bool first = true;

	putc('{', f);
	key(f, "@timestamp", &first);
	time_value(f, s->ts_first);
	key(f, "ecs", &first);
	fputs("{\"version\":\"" ECS_VERSION "\"}", f);
	key(f, "event", &first);
	event(f, s);
	key(f, "source", &first);
	endpoint(f, &s->client, s->client_port);
	key(f, "destination", &first);
	endpoint(f, &s->server, s->server_port);
	key(f, "network", &first);
	fprintf(f, "{\"transport\":\"tcp\",\"protocol\":\"smtp\",\"type\":\"%s\"}",
		s->server.family == 6 ? "ipv6" : "ipv4");
	key(f, "related", &first);
	related(f, s);
	key(f, "tls", &first);
	tls(f, s);
	if (s->has_auth && s->auth.user) {
		key(f, "user", &first);
		fputs("{\"name\":", f);
		rpt_json_string(f, s->auth.user);
		putc('}', f);
	}
	if (s->n_msgs) {
		key(f, "email", &first);
		email(f, &s->msgs[0]);
	}
	key(f, "smtpscope", &first);
	details(f, s);
	fputs("}\n", f);
}

/* One JSON Lines record of json.c or audit.c (len bytes, no newline) as a metric document. */
static void
metric(FILE *f, const char *ts, const char *what, const char *record, size_t len)
{
	fprintf(f, "{\"@timestamp\":\"%s\",\"ecs\":{\"version\":\"" ECS_VERSION "\"},"
		   "\"event\":{\"kind\":\"metric\",\"dataset\":\"smtpscope.%s\"},"
		   "\"smtpscope\":{\"%s\":",
		ts, what, what);
	fwrite(record, 1, len, f);
	fputs("}}\n", f);
}

/* Each line of buf as a metric document. */
static void
metrics(FILE *f, const char *ts, const char *what, const char *buf, size_t n)
{
	const char *end = buf + n;

	while (buf < end) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		size_t len = (size_t)((nl ? nl : end) - buf);

		if (len)
			metric(f, ts, what, buf, len);
		buf += len + 1;
	}
}

/*
 * The summary (and audit) records are json.c's and audit.c's own, wrapped:
 * one writer per record, so the ECS counters cannot drift from the contract.
 */
void
ecs_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c,
	    struct rpt_audit *a)
{
	char ts[40], *buf = NULL;
	size_t n = 0, hosts;
	FILE *m = open_memstream(&buf, &n);
	uint64_t when = c->ts_last;

	if (!m) {
		fputs("smtpscope: out of memory writing the summary\n", stderr);
		return;
	}
	if (!when) { /* no session: the time the run ends */
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		when = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
	}
	rpt_iso_time(ts, sizeof(ts), when);
	if (a)
		rpt_audit_print(a, m, true);
	fflush(m);
	hosts = n; /* the summary line follows the host lines */
	json_summary(m, t, c);
	fflush(m);
	metrics(f, ts, "host", buf, hosts);
	metrics(f, ts, "summary", buf + hosts, n - hosts);
	fclose(m);
	free(buf);
}
