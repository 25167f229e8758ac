/*
 * testutil.h - helpers shared by the cmocka tests (header-only).
 *
 * A "driver" feeds SMTP byte streams to the decoder as reassembly would
 * (OPEN, DATA per direction, GAP, CLOSE), and the done-callback condenses the
 * finished session into short strings that tests compare with what the
 * exchange must give, e.g. "CONNECT 220|EHLO 250|MAIL 250|RCPT 550".
 */
#ifndef SMTPSCOPE_TESTUTIL_H
#define SMTPSCOPE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../decode/smtp.h"
#include "../reassembly/reassembly.h"

struct seen {
	int sessions;
	char transcript[8192]; /* "CMD code|CMD code|..." ("-" for no reply) */
	char args[4096];       /* "arg|arg|..." ("" for none) */
	char messages[4096];   /* "from>to,to!rejected size subject|..." */
	char helo[256], auth[256], verdict[512], extensions[1024];
	char explanations[8192];
	uint64_t anomalies;
	enum smtp_state state;
	enum smtp_outcome outcome;
	char outcomes[256]; /* per message, "delivered|rejected|..." */
	char pairing[1024]; /* per command: s seen, i inferred, - no reply */
	bool esmtp, starttls, midstream;
};

static inline void
seen_cat(char *dst, size_t n, const char *fmt, ...)
{
	size_t used = strlen(dst);
	va_list ap;

	if (used + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(dst + used, n - used, fmt, ap);
	va_end(ap);
}

/* recipients: "!" refused (5xx), "~" deferred (4xx), "?" no reply seen */
static const char *const rcpt_mark[SMTP_RCPT_STATUS_COUNT] = {
	[SMTP_RCPT_PENDING] = "?", [SMTP_RCPT_ACCEPTED] = "",
	[SMTP_RCPT_DEFERRED] = "~", [SMTP_RCPT_REJECTED] = "!",
};

static inline void
seen_message(struct seen *w, const struct smtp_message *m)
{
	seen_cat(w->messages, sizeof(w->messages), "%s%s>", w->messages[0] ? "|" : "",
		 m->mail_from ? m->mail_from : "?");
	for (size_t r = 0; r < m->n_rcpt; r++)
		seen_cat(w->messages, sizeof(w->messages), "%s%s%s", r ? "," : "",
			 rcpt_mark[m->rcpt[r].status], m->rcpt[r].addr);
	seen_cat(w->messages, sizeof(w->messages), " %lld %s%s", (long long)m->size,
		 m->accepted ? "accepted" : "not-accepted",
		 m->subject ? " subject=" : "");
	if (m->subject)
		seen_cat(w->messages, sizeof(w->messages), "%s", m->subject);
	if (m->queue_id)
		seen_cat(w->messages, sizeof(w->messages), " queue=%s", m->queue_id);
}

static inline void
seen_session(void *arg, const struct smtp_session *s)
{
	struct seen *w = arg;

	memset(w, 0, offsetof(struct seen, anomalies));
	w->pairing[0] = '\0';
	w->sessions++;
	for (size_t i = 0; i < s->n_cmds; i++) {
		const struct smtp_command *c = &s->cmds[i];

		if (c->has_reply)
			seen_cat(w->transcript, sizeof(w->transcript), "%s%s %d", i ? "|" : "",
				 c->name, c->reply.code);
		else
			seen_cat(w->transcript, sizeof(w->transcript), "%s%s -", i ? "|" : "",
				 c->name);
		seen_cat(w->args, sizeof(w->args), "%s%s", i ? "|" : "", c->arg ? c->arg : "");
		seen_cat(w->pairing, sizeof(w->pairing), "%s",
			 !c->has_reply ? "-" : c->paired == SMTP_PAIR_INFERRED ? "i" : "s");
		seen_cat(w->explanations, sizeof(w->explanations), "%s%s", i ? "|" : "",
			 c->explanation ? c->explanation : "(none)");
	}
	for (size_t i = 0; i < s->n_msgs; i++)
		seen_message(w, &s->msgs[i]);
	for (size_t i = 0; i < s->n_extensions; i++)
		seen_cat(w->extensions, sizeof(w->extensions), "%s%s", i ? "|" : "",
			 s->extensions[i]);
	snprintf(w->helo, sizeof(w->helo), "%s", s->helo ? s->helo : "(null)");
	if (s->has_auth)
		snprintf(w->auth, sizeof(w->auth), "%s %s %d", s->auth.mechanism,
			 s->auth.user ? s->auth.user : "(null)", s->auth.success);
	snprintf(w->verdict, sizeof(w->verdict), "%s", s->verdict);
	w->anomalies = s->anomalies;
	w->state = s->state;
	w->outcome = s->outcome;
	w->outcomes[0] = '\0';
	for (size_t i = 0; i < s->n_msgs; i++)
		seen_cat(w->outcomes, sizeof(w->outcomes), "%s%s", i ? "|" : "",
			 smtp_outcome_name(s->msgs[i].outcome));
	w->esmtp = s->esmtp;
	w->starttls = s->starttls;
	w->midstream = s->midstream;
}

/* One fake connection driven by hand. */
struct driver {
	struct smtp_decoder *dec;
	struct rsm_conn conn;
	struct seen seen;
	uint64_t ts;
};

static inline void
driver_open(struct driver *d, const struct smtp_config *cfg, bool midstream)
{
	struct smtp_config def;

	memset(d, 0, sizeof(*d));
	if (!cfg) {
		smtp_default_config(&def);
		cfg = &def;
	}
	d->dec = smtp_new(cfg, seen_session, &d->seen);
	d->conn.id = 1;
	d->conn.client.family = d->conn.server.family = 4;
	d->conn.client.bytes[0] = 192;
	d->conn.server.bytes[0] = 10;
	d->conn.client_port = 40000;
	d->conn.server_port = 25;
	d->conn.midstream = midstream;
	d->ts = 1000000;
	struct rsm_event ev = {.type = RSM_EV_OPEN, .conn = &d->conn, .ts = d->ts};

	smtp_on_stream(d->dec, &ev);
}

/* Let capture time pass (seconds), as between a command and a slow reply. */
static inline void
driver_wait(struct driver *d, double seconds)
{
	d->ts += (uint64_t)(seconds * 1e6);
}

static inline void
driver_send(struct driver *d, enum rsm_dir dir, const void *data, size_t len)
{
	struct rsm_event ev = {
		.type = RSM_EV_DATA, .dir = dir, .conn = &d->conn, .ts = d->ts += 1000,
		.data = data, .len = len,
	};

	d->conn.packets[dir]++;
	d->conn.bytes[dir] += len;
	smtp_on_stream(d->dec, &ev);
}

/* Client (C) or server (S) text, as one segment. */
#define C(d, s) driver_send((d), RSM_C2S, (s), strlen(s))
#define S(d, s) driver_send((d), RSM_S2C, (s), strlen(s))

static inline void
driver_gap(struct driver *d, enum rsm_dir dir, size_t len)
{
	struct rsm_event ev = {.type = RSM_EV_GAP, .dir = dir, .conn = &d->conn, .len = len};

	d->conn.gap_bytes[dir] += len;
	smtp_on_stream(d->dec, &ev);
}

static inline void
driver_close(struct driver *d, enum rsm_end end)
{
	struct rsm_event ev = {.type = RSM_EV_CLOSE, .conn = &d->conn, .ts = d->ts, .end = end};

	d->conn.ts_last = d->ts;
	smtp_on_stream(d->dec, &ev);
	smtp_free(d->dec);
	d->dec = NULL;
}

#define HAS_ANOMALY(w, a) (((w)->anomalies >> (a)) & 1)

#endif
