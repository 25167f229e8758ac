/*
 * ecs.c - -o ecs: one JSON object per line with Elastic Common Schema (8.x)
 * names in ECS's nested form ({"source":{"ip":...}}, not dotted keys), so a
 * plain JSON input of Filebeat or Vector loads it into Elasticsearch or
 * OpenSearch without an ingest pipeline. ECS has no SMTP fields: what it
 * cannot name goes under "smtpscope". report/ECS.md is the mapping, and
 * report/ecs-template.*.json the index templates that type it.
 *
 * Each session gives one session document, then one document per MAIL
 * transaction (email.*: each message is searchable on its own, with its own
 * outcome) and one per AUTH exchange (an authentication event with its own
 * outcome). Every document has an event.id derived from the capture (file
 * name or interface), the flow and its first packet's time, so reading the
 * same capture again gives the same ids: a log store that takes event.id as
 * its _id does not duplicate documents.
 *
 * Absent values are left out rather than written as null (ECS style, and
 * the same to Elasticsearch). The summary and the host audit are metric
 * documents whose counters sit under smtpscope.summary and smtpscope.host:
 * at the top of smtpscope they would collide with the session fields of the
 * same name (messages, commands, anomalies) in one index mapping.
 */
#include "report.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "report_private.h"

#define ECS_VERSION "8.11.0"
#ifndef SMTPSCOPE_VERSION
#define SMTPSCOPE_VERSION "unknown"
#endif
#define ID_HEX 32 /* hex digits of a stable id: 128 bits of SHA-256 */

/* event.outcome by session or message outcome; the rest (partial, no mail ...) is "unknown". */
static const char *const event_outcome[SMTP_OUT_COUNT] = {
	[SMTP_OUT_DELIVERED] = "success",     [SMTP_OUT_REJECTED] = "failure",
	[SMTP_OUT_DEFERRED] = "failure",      [SMTP_OUT_ABORTED] = "failure",
	[SMTP_OUT_NEVER_REACHED] = "failure",
};

/* What every document of one session shares, worked out once. */
struct ctx {
	const struct smtp_session *s;
	const char *capture; /* the capture's name in the ids: file base name, or interface */
	char id[ID_HEX + 1]; /* the session's stable id */
	char client[64], server[64];
	char community[RPT_COMMUNITY_ID_LEN];
};

static char hostname[256];
static pthread_once_t hostname_once = PTHREAD_ONCE_INIT;

static void
hostname_init(void)
{
	if (gethostname(hostname, sizeof(hostname) - 1) != 0)
		hostname[0] = '\0';
	hostname[sizeof(hostname) - 1] = '\0';
}

/* observer.*: the machine smtpscope ran on, as a network sensor. */
static void
observer(FILE *f)
{
	pthread_once(&hostname_once, hostname_init);
	fputs(",\"observer\":{", f);
	if (hostname[0]) {
		fputs("\"hostname\":", f);
		rpt_json_string(f, hostname);
		putc(',', f);
	}
	fputs("\"type\":\"sensor\",\"product\":\"smtpscope\",\"vendor\":\"smtpscope\","
	      "\"version\":",
	      f);
	rpt_json_string(f, SMTPSCOPE_VERSION);
	putc('}', f);
}

/* The base name of a capture file ("-" and interface names as they are). */
static const char *
capture_name(const struct rpt_config *cfg)
{
	const char *n = cfg && cfg->capture_name ? cfg->capture_name : "";
	const char *slash = strrchr(n, '/');

	return slash && slash[1] ? slash + 1 : n;
}

/* ID_HEX hex digits of SHA-256 over text: an id that is the same whenever text is. */
static void
stable_id(char out[ID_HEX + 1], const char *text)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) || n < ID_HEX / 2)
		memset(md, 0, sizeof(md));
	for (unsigned i = 0; i < ID_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
ctx_init(struct ctx *c, const struct smtp_session *s, const struct rpt_config *cfg)
{
	char text[512];

	c->s = s;
	c->capture = capture_name(cfg);
	rpt_addr(c->client, sizeof(c->client), &s->client);
	rpt_addr(c->server, sizeof(c->server), &s->server);
	rpt_community_id(c->community, sizeof(c->community), 0, 6, &s->client, s->client_port,
			 &s->server, s->server_port);
	/* capture, then the 5-tuple and the first packet's time: one TCP connection */
	snprintf(text, sizeof(text), "smtpscope session\n%.200s\n6 %s %u %s %u\n%" PRIu64,
		 c->capture, c->client, s->client_port, c->server, s->server_port, s->ts_first);
	stable_id(c->id, text);
}

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

/* {"@timestamp":...,"ecs":{...},"event":{"kind":...,"module":...,"dataset":...,"id":... (open) */
static void
head(FILE *f, uint64_t ts, const char *kind, const char *dataset, const char *id)
{
	fputs("{\"@timestamp\":", f);
	time_value(f, ts);
	fprintf(f,
		",\"ecs\":{\"version\":\"" ECS_VERSION "\"},\"event\":{\"kind\":\"%s\","
		"\"module\":\"smtpscope\",\"dataset\":\"smtpscope.%s\",\"id\":\"%s\"",
		kind, dataset, id);
}

/* ,"start":...,"end":...,"duration":ns of an event that has both ends. */
static void
span(FILE *f, uint64_t start, uint64_t end)
{
	fputs(",\"start\":", f);
	time_value(f, start);
	fputs(",\"end\":", f);
	time_value(f, end);
	fprintf(f, ",\"duration\":%" PRIu64, end > start ? (end - start) * 1000u : 0);
}

static const char *
outcome_of(enum smtp_outcome o)
{
	const char *v = (unsigned)o < SMTP_OUT_COUNT ? event_outcome[o] : NULL;

	return v ? v : "unknown";
}

/* An ECS endpoint (source, destination, client, server): address, port, what it sent. */
static void
endpoint(FILE *f, const char *name, const char *ip, uint16_t port, uint64_t bytes,
	 uint64_t packets)
{
	fprintf(f, ",\"%s\":{\"ip\":\"%s\",\"port\":%u,\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 "}",
		name, ip, port, bytes, packets);
}

/* Strings once each, into a JSON array; n may be 0 (then nothing is written). */
static void
string_set(FILE *f, const char *name, const char *const *v, size_t n, bool *first)
{
	size_t written = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = !v[i] || !v[i][0];

		for (size_t j = 0; j < i && !seen; j++)
			seen = v[j] && strcmp(v[i], v[j]) == 0;
		if (seen)
			continue;
		if (!written++) {
			key(f, name, first);
			putc('[', f);
		} else {
			putc(',', f);
		}
		rpt_json_string(f, v[i]);
	}
	if (written)
		putc(']', f);
}

/*
 * related.*: both ends, the names the client gave (HELO, SNI) and the AUTH
 * user, once each, for one search box that finds a host or a user.
 */
static void
related(FILE *f, const struct ctx *c)
{
	const struct smtp_session *s = c->s;
	const char *ips[] = {c->client, c->server};
	const char *hosts[] = {s->helo, s->tls ? s->tls->sni : NULL};
	const char *users[] = {s->has_auth ? s->auth.user : NULL};
	bool first = true;

	fputs(",\"related\":{", f);
	string_set(f, "ip", ips, 2, &first);
	string_set(f, "hosts", hosts, 2, &first);
	string_set(f, "user", users, 1, &first);
	putc('}', f);
}

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
 * ECS tls.*, for a session where TLS began (STARTTLS accepted and a hello
 * seen, or TLS from the first byte): established only when the handshake
 * was seen to complete (tls.h's rule), not when STARTTLS was merely
 * accepted nor when it failed or was abandoned; version as ECS splits it
 * (protocol "tls", version "1.3"; SSLv3 is protocol "ssl", version "3.0"),
 * the cipher's IANA name, the SNI. How the handshake went, in words, is
 * smtpscope.tls.
 */
static void
tls(FILE *f, const struct tls_facts *t)
{
	if (!t)
		return;
	fprintf(f, ",\"tls\":{\"established\":%s", t->handshake == TLS_HS_COMPLETED ? "true" : "false");
	if (strncmp(t->version, "TLSv", 4) == 0) {
		fputs(",\"version_protocol\":\"tls\",\"version\":", f);
		rpt_json_string(f, t->version + 4);
	} else if (t->version_code == 0x0300) { /* ECS: protocol "ssl", version "3.0" */
		fputs(",\"version_protocol\":\"ssl\",\"version\":\"3.0\"", f);
	}
	if (t->cipher[0]) {
		fputs(",\"cipher\":", f);
		rpt_json_string(f, t->cipher);
	}
	if (t->sni[0]) {
		fputs(",\"client\":{\"server_name\":", f);
		rpt_json_string(f, t->sni);
		putc('}', f);
	}
	if (t->cert.seen)
		tls_server(f, &t->cert);
	putc('}', f);
}

/*
 * What every document of a session carries after its event: the sensor, the
 * two ends (source/destination and client/server: the client is always the
 * side that opened the connection), the flow, related.*, tls.* and the
 * session's ids under smtpscope.
 */
static void
context(FILE *f, const struct ctx *c)
{
	const struct smtp_session *s = c->s;

	observer(f);
	endpoint(f, "source", c->client, s->client_port, s->bytes[RSM_C2S], s->packets[RSM_C2S]);
	endpoint(f, "destination", c->server, s->server_port, s->bytes[RSM_S2C],
		 s->packets[RSM_S2C]);
	endpoint(f, "client", c->client, s->client_port, s->bytes[RSM_C2S], s->packets[RSM_C2S]);
	endpoint(f, "server", c->server, s->server_port, s->bytes[RSM_S2C], s->packets[RSM_S2C]);
	fprintf(f,
		",\"network\":{\"transport\":\"tcp\",\"iana_number\":\"6\",\"protocol\":\"smtp\","
		"\"type\":\"%s\"",
		s->server.family == 6 ? "ipv6" : "ipv4");
	if (c->community[0])
		fprintf(f, ",\"community_id\":\"%s\"", c->community);
	fprintf(f, ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 "}",
		s->bytes[RSM_C2S] + s->bytes[RSM_S2C], s->packets[RSM_C2S] + s->packets[RSM_S2C]);
	related(f, c);
	tls(f, s->tls);
}

/* ,"error":{"code":"550","message":explanation} for a refused command; i may be -1. */
static const struct smtp_command *
failing(const struct smtp_session *s, int i)
{
	if (i < 0 || (size_t)i >= s->n_cmds || !s->cmds[i].has_reply ||
	    s->cmds[i].result < SMTP_TEMPFAIL)
		return NULL;
	return &s->cmds[i];
}

static void
error(FILE *f, const struct smtp_command *c)
{
	if (!c)
		return;
	fprintf(f, ",\"error\":{\"code\":\"%d\"", c->reply.code);
	if (c->explanation) {
		fputs(",\"message\":", f);
		rpt_json_string(f, c->explanation);
	}
	putc('}', f);
}

/* ,"id":...,"number":...,"reply_code":... opening smtpscope (left open). */
static void
smtpscope_ids(FILE *f, const struct ctx *c, const struct smtp_command *fail, bool *first)
{
	fputs(",\"smtpscope\":{", f);
	key(f, "id", first);
	fprintf(f, "\"%s\"", c->id);
	key(f, "number", first);
	fprintf(f, "%" PRIu64, c->s->id);
	if (fail) {
		key(f, "reply_code", first);
		fprintf(f, "%d", fail->reply.code);
	}
}

/* Which recipients a list holds, by what the server said about each. */
enum rcpt_list { ONLY_ACCEPTED, NOT_REFUSED, REFUSED };

static const bool listed[][SMTP_RCPT_STATUS_COUNT] = {
	[ONLY_ACCEPTED] = {[SMTP_RCPT_ACCEPTED] = true},
	[NOT_REFUSED] = {[SMTP_RCPT_PENDING] = true, [SMTP_RCPT_ACCEPTED] = true},
	[REFUSED] = {[SMTP_RCPT_DEFERRED] = true, [SMTP_RCPT_REJECTED] = true},
};

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

/* ECS email.* of one message; delivered: when the server took it. */
static void
email(FILE *f, const struct smtp_message *m, const struct rpt_msg_times *t)
{
	bool first = true;

	fputs(",\"email\":{", f);
	if (m->mail_from) {
		key(f, "from", &first);
		fputs("{\"address\":[", f);
		rpt_json_string(f, m->mail_from);
		fputs("]}", f);
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
	if (m->accepted && t->has_final_reply) {
		key(f, "delivery_timestamp", &first);
		time_value(f, t->final_reply);
	}
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

/* As in the JSON contract (mail_from ... message_id), plus queue_id, outcome, final_code. */
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
	if (m->final_code) {
		key(f, "final_code", &first);
		fprintf(f, "%d", m->final_code);
	}
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
	if (s->tls) {
		key(f, "tls", first);
		fprintf(f, "{\"handshake\":\"%s\"", tls_handshake_name(s->tls->handshake));
		if (s->tls->alert.seen)
			fprintf(f, ",\"alert\":\"%s\"", tls_alert_name(s->tls->alert.description));
		putc('}', f);
	}
}

static void
details(FILE *f, const struct smtp_session *s, bool *first)
{
	smtp_fields(f, s, first);
	key(f, "commands", first);
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
}

/* The first refused command of a session that did not deliver: why it failed, at event level. */
static const struct smtp_command *
session_failure(const struct smtp_session *s)
{
	if (s->outcome == SMTP_OUT_DELIVERED)
		return NULL;
	for (size_t i = 0; i < s->n_cmds; i++)
		if (failing(s, (int)i))
			return &s->cmds[i];
	return NULL;
}

/*
 * The session document: the connection and the whole dialog. user.name only
 * when an AUTH was accepted (the attempts are authentication documents).
 */
static void
session_doc(FILE *f, const struct ctx *c)
{
	const struct smtp_session *s = c->s;
	const struct smtp_command *fail = session_failure(s);
	bool first = true;

	head(f, s->ts_first, "event", "session", c->id);
	fprintf(f,
		",\"category\":[\"network\",\"email\"],\"type\":[\"info\"],"
		"\"action\":\"smtp-session\",\"outcome\":\"%s\"",
		outcome_of(s->outcome));
	span(f, s->ts_first, s->ts_last);
	fputs(",\"reason\":", f);
	rpt_json_string(f, s->verdict);
	fputs("},\"message\":", f);
	rpt_json_string(f, s->verdict);
	context(f, c);
	if (s->has_auth && s->auth.user && s->auth.success == 1) {
		fputs(",\"user\":{\"name\":", f);
		rpt_json_string(f, s->auth.user);
		putc('}', f);
	}
	error(f, fail);
	smtpscope_ids(f, c, fail, &first);
	details(f, s, &first);
	fputs("}}\n", f);
}

/* A message's closing refusal (MAIL, DATA, end of data), or its first one if not delivered. */
static const struct smtp_command *
message_failure(const struct smtp_session *s, const struct smtp_message *m)
{
	const struct smtp_command *c = failing(s, m->closing_failure);

	if (!c && m->outcome != SMTP_OUT_DELIVERED)
		c = failing(s, m->first_failure);
	return c;
}

/* ECS message: what became of it, in one line. */
static void
message_line(FILE *f, const struct smtp_message *m, const struct smtp_command *fail)
{
	static const char accepted[] = "message accepted by the server, queued as ";
	char line[sizeof(accepted) + 256];

	if (fail && fail->explanation)
		rpt_json_string(f, fail->explanation);
	else if (m->accepted && m->queue_id)
		rpt_json_string(f, (snprintf(line, sizeof(line), "%s%s", accepted, m->queue_id), line));
	else if (m->accepted)
		rpt_json_string(f, "message accepted by the server");
	else
		rpt_json_string(f, (snprintf(line, sizeof(line), "message %s",
					     smtp_outcome_name(m->outcome)),
				    line));
}

/* One document per MAIL transaction: email.* of that message, its own outcome. */
static void
message_doc(FILE *f, const struct ctx *c, size_t i)
{
	const struct smtp_session *s = c->s;
	const struct smtp_message *m = &s->msgs[i];
	const struct smtp_command *fail = message_failure(s, m);
	struct rpt_msg_times t;
	char id[ID_HEX + 24];
	bool first = true;

	rpt_message_times(s, m, &t);
	snprintf(id, sizeof(id), "%s-m%zu", c->id, i + 1);
	head(f, t.has_mail ? t.mail : s->ts_first, "event", "message", id);
	fprintf(f,
		",\"category\":[\"email\"],\"type\":[\"info\"],\"action\":\"smtp-message\","
		"\"outcome\":\"%s\"",
		outcome_of(m->outcome));
	if (t.has_mail && t.has_final_reply)
		span(f, t.mail, t.final_reply);
	fputs("},\"message\":", f);
	message_line(f, m, fail);
	context(f, c);
	email(f, m, &t);
	error(f, fail);
	smtpscope_ids(f, c, fail, &first);
	key(f, "message", &first);
	message(f, m);
	fprintf(f, ",\"message_number\":%zu}}\n", i + 1);
}

/* The last command of the AUTH exchange that begins at i: the AUTH, or its last AUTH-DATA. */
static size_t
auth_end(const struct smtp_session *s, size_t i)
{
	while (i + 1 < s->n_cmds && s->cmds[i + 1].verb == SMTP_AUTH_DATA)
		i++;
	return i;
}

/*
 * One authentication document per AUTH exchange, with its own outcome: the
 * reply that ended it (2xx success, 4xx/5xx failure, none seen: unknown).
 * The decoder keeps the user of the last exchange only (smtpscope.auth), so
 * user.name is on that one.
 */
static void
auth_doc(FILE *f, const struct ctx *c, size_t i, size_t n, bool last)
{
	const struct smtp_session *s = c->s;
	const struct smtp_command *a = &s->cmds[i], *e = &s->cmds[auth_end(s, i)];
	int code = e->has_reply ? e->reply.code : 0;
	int ok = last && s->auth.success >= 0 ? s->auth.success
		 : code / 100 == 2		? 1
		 : code >= 400			? 0
						: -1;
	char id[ID_HEX + 24];
	bool first = true;

	snprintf(id, sizeof(id), "%s-a%zu", c->id, n);
	head(f, a->ts, "event", "auth", id);
	fprintf(f,
		",\"category\":[\"authentication\"],\"type\":[\"start\"],\"action\":\"smtp-auth\","
		"\"outcome\":\"%s\"",
		ok == 1 ? "success" : ok == 0 ? "failure" : "unknown");
	if (e->has_reply)
		span(f, a->ts, e->reply_ts);
	fputs("},\"message\":", f);
	rpt_json_string(f, ok == 1 ? "AUTH accepted" : ok == 0 ? "AUTH refused" : "AUTH: no verdict seen");
	context(f, c);
	if (last && s->auth.user) {
		fputs(",\"user\":{\"name\":", f);
		rpt_json_string(f, s->auth.user);
		putc('}', f);
	}
	error(f, ok == 0 ? failing(s, (int)(e - s->cmds)) : NULL);
	smtpscope_ids(f, c, ok == 0 ? failing(s, (int)(e - s->cmds)) : NULL, &first);
	key(f, "auth", &first);
	if (last) {
		auth(f, s);
	} else {
		char mech[24];
		size_t k = 0;

		for (const char *p = a->arg ? a->arg : ""; *p && *p != ' ' && k < sizeof(mech) - 1; p++)
			mech[k++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
		mech[k] = '\0';
		fputs("{\"mechanism\":", f);
		rpt_json_string(f, mech);
		if (ok >= 0)
			fprintf(f, ",\"success\":%s", ok ? "true" : "false");
		putc('}', f);
	}
	fprintf(f, ",\"auth_number\":%zu}}\n", n);
}

void
ecs_session(FILE *f, const struct smtp_session *s, const struct rpt_config *cfg)
{
	struct ctx c;
	size_t n_auth = 0, seen = 0;

	ctx_init(&c, s, cfg);
	session_doc(f, &c);
	for (size_t i = 0; i < s->n_msgs; i++)
		message_doc(f, &c, i);
	for (size_t i = 0; i < s->n_cmds; i++)
		n_auth += s->cmds[i].verb == SMTP_AUTH;
	for (size_t i = 0; i < s->n_cmds; i++)
		if (s->cmds[i].verb == SMTP_AUTH) {
			seen++;
			auth_doc(f, &c, i, seen, seen == n_auth);
		}
}

/* A host record's address: it begins {"type":"host","ip":"...". */
static bool
host_ip(const char *record, size_t len, char *ip, size_t n)
{
	static const char prefix[] = "{\"type\":\"host\",\"ip\":\"";
	const char *p = record + sizeof(prefix) - 1, *end;

	if (len < sizeof(prefix) || memcmp(record, prefix, sizeof(prefix) - 1) != 0)
		return false;
	end = memchr(p, '"', len - (sizeof(prefix) - 1));
	if (!end || (size_t)(end - p) >= n)
		return false;
	memcpy(ip, p, (size_t)(end - p));
	ip[end - p] = '\0';
	return true;
}

/*
 * One JSON Lines record of json.c or audit.c (len bytes, no newline) as a
 * metric document; a host's address also as host.ip and related.ip.
 */
static void
metric(FILE *f, const struct rpt_config *cfg, const char *ts, bool clock, const char *what,
       const char *record, size_t len)
{
	char ip[64] = "", head_text[300], id[ID_HEX + 1], *text;
	bool host = host_ip(record, len, ip, sizeof(ip));
	int n;

	/*
	 * The id from the capture, the record (a host may have two: as client and as
	 * server) and the capture's time, not the wall clock's: the same for the same input.
	 */
	n = snprintf(head_text, sizeof(head_text), "smtpscope %s\n%.200s\n%s\n", what,
		     capture_name(cfg), clock ? "no session" : ts);
	text = malloc((size_t)n + len + 1);
	if (text) {
		memcpy(text, head_text, (size_t)n);
		memcpy(text + n, record, len);
		text[(size_t)n + len] = '\0';
	}
	stable_id(id, text ? text : head_text);
	free(text);
	fprintf(f, "{\"@timestamp\":\"%s\",\"ecs\":{\"version\":\"" ECS_VERSION "\"},"
		   "\"event\":{\"kind\":\"metric\",\"module\":\"smtpscope\",\"dataset\":\"smtpscope.%s\","
		   "\"id\":\"%s\",\"action\":\"smtp-%s\"}",
		ts, what, id, what);
	observer(f);
	if (host)
		fprintf(f, ",\"host\":{\"ip\":[\"%s\"]},\"related\":{\"ip\":[\"%s\"]}", ip, ip);
	fprintf(f, ",\"smtpscope\":{\"%s\":", what);
	fwrite(record, 1, len, f);
	fputs("}}\n", f);
}

/* Each line of buf as a metric document. */
static void
metrics(FILE *f, const struct rpt_config *cfg, const char *ts, bool clock, const char *what,
	const char *buf, size_t n)
{
	const char *end = buf + n;

	while (buf < end) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		size_t len = (size_t)((nl ? nl : end) - buf);

		if (len)
			metric(f, cfg, ts, clock, what, buf, len);
		buf += len + 1;
	}
}

/*
 * The summary (and audit) records are json.c's and audit.c's own, wrapped:
 * one writer per record, so the ECS counters cannot drift from the contract.
 */
void
ecs_summary(FILE *f, const struct rpt_config *cfg, const struct rpt_totals *t,
	    const struct rpt_counts *c, struct rpt_audit *a)
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
	metrics(f, cfg, ts, !c->ts_last, "host", buf, hosts);
	metrics(f, cfg, ts, !c->ts_last, "summary", buf + hosts, n - hosts);
	fclose(m);
	free(buf);
}
