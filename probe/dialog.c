/*
 * dialog.c - the seeds' telnet steps after the connect: wait for the 220,
 * EHLO (HELO when EHLO is refused, RFC 5321 3.2), STARTTLS and EHLO again
 * (RFC 3207 4.2) unless --starttls never, AUTH PLAIN or LOGIN when asked
 * (RFC 4954; never in clear without --auth-cleartext), MAIL FROM, RCPT TO for
 * each recipient (NOTIFY=SUCCESS,FAILURE when asked and the server offers
 * DSN, RFC 3461 4.1), then RSET and QUIT. DATA and a small test message go
 * only with --data: no message leaves otherwise. Each wait is bounded by its
 * step's timeout (RFC 5321 4.5.3.2).
 *
 * The probe reads only a reply's code to choose the next step; the
 * explanations are decode/'s (the same bytes went there). A 421 means the
 * server is closing: nothing more is sent (RFC 5321 3.8).
 */
#include "probe_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* A reply's first digit decides how a session stands (2 and 3 go on). */
static const enum probe_status by_digit[6] = {
	[2] = PROBE_ACCEPTED, [3] = PROBE_ACCEPTED, [4] = PROBE_DEFERRED, [5] = PROBE_REFUSED,
};

/* Which of two outcomes a probe reports: a refusal says more than a deferral. */
static const int status_rank[PROBE_STATUS_COUNT] = {
	[PROBE_UNREACHED] = 0, [PROBE_ACCEPTED] = 1, [PROBE_DEFERRED] = 2, [PROBE_REFUSED] = 3,
	[PROBE_TLS_FAILED] = 0,
};

/* How the connection ends when no reply came. */
static const enum rsm_end io_ends[] = {
	[IO_REPLY] = RSM_END_CLOSED, [IO_TIMEOUT] = RSM_END_TIMEOUT, [IO_CLOSED] = RSM_END_CLOSED,
	[IO_RESET] = RSM_END_RESET,  [IO_NOT_SMTP] = RSM_END_CLOSED,
};

struct run {
	const struct probe_config *c;
	struct io *io;
	struct feed *f;
	struct dialog *d;
	const struct dialog_env *env;
	bool in_tls;
	size_t accepted; /* recipients accepted */
	int cmds;     /* command entries so far: the CONNECT is 0 */
	int last;     /* the last reply's code, 0 when none came */
	bool broken;  /* nothing more can be sent */
};

static void
note(struct dialog *d, const char *words)
{
	if (d->n_notes < sizeof(d->notes) / sizeof(d->notes[0]))
		d->notes[d->n_notes++] = words;
}

/*
 * Send line (NULL: the greeting is awaited) and wait for the reply: its code,
 * or 0 when none came (the connection is then over, and d->end says how).
 */
static int
exchange(struct run *r, const char *line, enum probe_step step)
{
	enum io_reply how;
	int code = 0;

	if (r->broken)
		return 0;
	if (line) {
		r->cmds++;
		if (!io_send(r->io, r->f, line, r->c->timeout_s[step])) {
			r->broken = true;
			r->d->end = RSM_END_RESET;
			return r->last = 0;
		}
	}
	how = io_read_reply(r->io, r->f, r->c->timeout_s[step], &code);
	if (how != IO_REPLY) {
		r->broken = true;
		r->d->end = io_ends[how];
		return r->last = 0;
	}
	if (code == 421)
		r->broken = true; /* the server closes: RFC 5321 3.8 */
	return r->last = code;
}

/* The session stands as this reply (entry idx) says. */
static void
decided(struct run *r, int code, bool settled)
{
	r->d->status = by_digit[code / 100];
	r->d->decider = r->cmds;
	r->d->settled = settled;
}

/* An extension the server advertised in its (last) EHLO reply: its parameters, or NULL. */
static const char *
offers(const struct feed *f, const char *keyword)
{
	const struct smtp_session *s = feed_session(f);
	size_t n = strlen(keyword);

	for (size_t i = 0; s && i < s->n_extensions; i++)
		if (strncasecmp(s->extensions[i], keyword, n) == 0 &&
		    (s->extensions[i][n] == '\0' || s->extensions[i][n] == ' '))
			return s->extensions[i] + n;
	return NULL;
}

/* The session ends here without a reply that decides: TLS was required and not had. */
__attribute__((format(printf, 2, 3))) static void
tls_failed(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->d->why_buf, sizeof(r->d->why_buf), fmt, ap);
	va_end(ap);
	r->d->why = r->d->why_buf;
	r->d->status = PROBE_TLS_FAILED;
	r->d->decider = -1;
	r->d->settled = false; /* a sending server that requires TLS tries the next MX */
}

/* EHLO, or HELO after a refused EHLO: its code, 0 when the session ends. */
static int
greet(struct run *r)
{
	char line[PROBE_NAME_MAX + 8];
	int code;

	snprintf(line, sizeof(line), "EHLO %s", r->env->helo);
	code = exchange(r, line, PROBE_T_EHLO);
	if (code >= 500 && !r->in_tls) {
		snprintf(line, sizeof(line), "HELO %s", r->env->helo);
		code = exchange(r, line, PROBE_T_EHLO);
	}
	if (code >= 400)
		decided(r, code, code >= 500); /* a 4xx: a sending server tries the next MX */
	return code;
}

static const char *const handshake_words[] = {
	[TLSC_OK] = "",
	[TLSC_FAILED] = "failed",
	[TLSC_TIMEOUT] = "got no answer in time",
	[TLSC_CLOSED] = "was cut: the server closed the connection",
};

/* STARTTLS, the handshake, the certificate, EHLO again. False when the session ends. */
static bool
starttls(struct run *r)
{
	enum probe_starttls mode = r->c->starttls;
	struct dialog *d = r->d;
	enum tlsc_result how;
	char why[160] = "";
	int code = exchange(r, "STARTTLS", PROBE_T_TLS);

	if (code == 0)
		return false;
	if (code != 220) {
		if (mode == PROBE_STARTTLS_TRY && !r->c->verify) {
			note(d, "The server refused STARTTLS; the probe went on in plaintext, as a "
				"sending server with opportunistic TLS would.");
			return true;
		}
		tls_failed(r, "%s refused STARTTLS and %s: the probe stopped before MAIL FROM.",
			   r->env->mx_host, "TLS was required (--starttls require or --verify)");
		return false;
	}
	how = io_starttls(r->io, r->f, r->env->tlsc, r->env->mx_host, r->c->timeout_s[PROBE_T_TLS],
			  &d->tls, why, sizeof(why));
	d->tls_done = true;
	d->tls.required = r->c->verify;
	if (how != TLSC_OK) {
		r->broken = true;
		d->end = how == TLSC_TIMEOUT ? RSM_END_TIMEOUT : RSM_END_RESET;
		tls_failed(r, "The TLS handshake with %s %s%s%s%s", r->env->mx_host,
			   handshake_words[how], *why ? " (" : "", why, *why ? ")." : ".");
		return false;
	}
	r->in_tls = true;
	if (r->c->verify && strcmp(d->tls.result, "ok") != 0) {
		tls_failed(r, "The certificate of %s does not pass (--verify): %s", r->env->mx_host,
			   d->tls.explanation);
		return false;
	}
	return greet(r) != 0 && !r->broken && r->last < 400;
}

/* EHLO, STARTTLS as --starttls says, EHLO again. False when the session ends here. */
static bool
hello(struct run *r)
{
	int code = greet(r);

	if (code == 0 || code >= 400)
		return false;
	if (!offers(r->f, "STARTTLS")) {
		if (r->c->starttls == PROBE_STARTTLS_REQUIRE || r->c->verify) {
			tls_failed(r, "%s does not offer STARTTLS and %s: the probe stopped before "
				      "MAIL FROM.",
				   r->env->mx_host, "TLS was required (--starttls require or --verify)");
			return false;
		}
		if (r->c->starttls == PROBE_STARTTLS_TRY)
			note(r->d, "The server does not offer STARTTLS: the dialog and the addresses "
				   "crossed the network unencrypted.");
		return true;
	}
	if (r->c->starttls == PROBE_STARTTLS_NEVER || !r->env->tlsc) {
		note(r->d, "The server offers STARTTLS; this probe stayed in plaintext "
			   "(--starttls never), so the dialog crossed the network unencrypted.");
		return true;
	}
	return starttls(r);
}

static void
base64(char *out, size_t outsz, const uint8_t *in, size_t n)
{
	if (4 * ((n + 2) / 3) + 1 > outsz) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* AUTH PLAIN with its initial response (RFC 4616): "\0user\0password". */
static int
auth_plain(struct run *r)
{
	uint8_t raw[2 + 256 + PROBE_PASSWORD_MAX];
	char line[16 + 4 * sizeof(raw) / 3 + 4];
	size_t u = strlen(r->c->auth_user), p = strlen(r->c->password);
	int code;

	if (u > 256)
		u = 256;
	raw[0] = '\0';
	memcpy(raw + 1, r->c->auth_user, u);
	raw[1 + u] = '\0';
	memcpy(raw + 2 + u, r->c->password, p);
	memcpy(line, "AUTH PLAIN ", 11);
	base64(line + 11, sizeof(line) - 11, raw, 2 + u + p);
	code = exchange(r, line, PROBE_T_AUTH);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(line, sizeof(line));
	return code;
}

/* AUTH LOGIN: the user name and the password, each after its 334 (not in an RFC; common). */
static int
auth_login(struct run *r)
{
	char line[4 * (PROBE_PASSWORD_MAX + 256) / 3 + 8];
	int code = exchange(r, "AUTH LOGIN", PROBE_T_AUTH);

	if (code != 334)
		return code;
	base64(line, sizeof(line), (const uint8_t *)r->c->auth_user, strlen(r->c->auth_user));
	if ((code = exchange(r, line, PROBE_T_AUTH)) != 334)
		return code;
	base64(line, sizeof(line), (const uint8_t *)r->c->password, strlen(r->c->password));
	code = exchange(r, line, PROBE_T_AUTH);
	OPENSSL_cleanse(line, sizeof(line));
	return code;
}

/* Is mech among the AUTH extension's mechanisms? */
static bool
has_mech(const char *list, const char *mech)
{
	size_t n = strlen(mech);

	for (const char *p = list; p && *p;) {
		size_t k;

		p += strspn(p, " ");
		k = strcspn(p, " ");
		if (k == n && strncasecmp(p, mech, n) == 0)
			return true;
		p += k;
	}
	return false;
}

/* AUTH when --auth-user asks for it. False when the session ends here (refused). */
static bool
authenticate(struct run *r)
{
	const char *mechs;
	int code;

	if (!r->c->auth_user)
		return true;
	if (!r->in_tls && !r->c->auth_cleartext) {
		note(r->d, "AUTH was not sent: the connection is not encrypted, and the password "
			   "would cross the network readable (give --auth-cleartext to send it "
			   "anyway).");
		return true;
	}
	mechs = offers(r->f, "AUTH");
	if (!mechs) {
		note(r->d, "AUTH was not sent: the server does not offer AUTH here (RFC 4954).");
		return true;
	}
	if (has_mech(mechs, "PLAIN"))
		code = auth_plain(r);
	else if (has_mech(mechs, "LOGIN"))
		code = auth_login(r);
	else {
		note(r->d, "AUTH was not sent: the server offers neither PLAIN nor LOGIN.");
		return true;
	}
	if (code == 0)
		return false;
	if (code >= 400) {
		decided(r, code, true);
		return false;
	}
	return true;
}

/* One line of the message, no reply awaited (RFC 5321 4.5.2: no line starts with "."). */
static bool
body_line(struct run *r, const char *line)
{
	if (r->broken)
		return false;
	if (!io_send(r->io, r->f, line, r->c->timeout_s[PROBE_T_DOT])) {
		r->broken = true;
		r->d->end = RSM_END_RESET;
		return false;
	}
	return true;
}

/* DATA, the test message (RFC 5322: Date, From, To, Subject, Message-ID), ".". */
static void
send_message(struct run *r, const char *const *rcpts, size_t n)
{
	char date[64], line[1100];
	time_t now = time(NULL);
	struct tm tm;
	const char *dom = strchr(r->c->from, '@');
	int code = exchange(r, "DATA", PROBE_T_DATA);

	if (code != 354) {
		if (code && status_rank[by_digit[code / 100]] > status_rank[r->d->status])
			decided(r, code, true);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(line, sizeof(line), "Date: %s", date);
	body_line(r, line);
	snprintf(line, sizeof(line), "From: <%s%s>", *r->c->from ? r->c->from : "postmaster@",
		 *r->c->from ? "" : r->env->helo);
	body_line(r, line);
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "To: <%s>", rcpts[i]);
		body_line(r, line);
	}
	body_line(r, "Subject: smtpscope probe test message");
	snprintf(line, sizeof(line), "Message-ID: <%lld.%ld.smtpscope@%s>", (long long)now,
		 (long)getpid(), dom ? dom + 1 : r->env->helo);
	body_line(r, line);
	body_line(r, "");
	body_line(r, "This is a test message sent by smtpscope --probe --data; no reply is needed.");
	if ((code = exchange(r, ".", PROBE_T_DOT)) == 0)
		return;
	r->d->data_sent = code < 400;
	if (code >= 400 || r->d->status == PROBE_ACCEPTED)
		decided(r, code, true);
}

/* RCPT for each recipient: the session stands as the worst answer (refused, then deferred). */
static void
recipients(struct run *r, const char *const *rcpts, size_t n)
{
	bool dsn = r->c->notify && offers(r->f, "DSN");
	char line[1100];

	if (r->c->notify && !dsn)
		note(r->d, "--notify: the server does not offer DSN, so RCPT TO went without "
			   "NOTIFY (RFC 3461 allows it only when DSN is offered).");
	for (size_t i = 0; i < n; i++) {
		int code;

		snprintf(line, sizeof(line), "RCPT TO:<%s>%s", rcpts[i],
			 dsn ? " NOTIFY=SUCCESS,FAILURE" : "");
		if ((code = exchange(r, line, PROBE_T_RCPT)) == 0) {
			r->d->status = PROBE_UNREACHED;
			r->d->decider = -1;
			return;
		}
		r->accepted += code < 300;
		if (status_rank[by_digit[code / 100]] > status_rank[r->d->status])
			decided(r, code, true);
		if (r->broken)
			return;
	}
}

/* MAIL FROM and the recipients: after MAIL's answer, this server's word stands. */
static void
transaction(struct run *r, const char *const *rcpts, size_t n)
{
	char line[1100];
	int code;

	snprintf(line, sizeof(line), "MAIL FROM:<%s>", r->c->from);
	if ((code = exchange(r, line, PROBE_T_MAIL)) == 0)
		return;
	decided(r, code, true);
	if (code >= 400)
		return;
	recipients(r, rcpts, n);
	if (r->c->data && r->accepted && !r->broken)
		send_message(r, rcpts, n);
	else
		exchange(r, "RSET", PROBE_T_RSET);
}

void
dialog_run(const struct probe_config *c, struct io *io, struct feed *f,
	   const struct dialog_env *env, struct dialog *d)
{
	struct run r = {.c = c, .io = io, .f = f, .d = d, .env = env};
	int code;

	d->status = PROBE_UNREACHED;
	d->settled = false;
	d->decider = -1;
	d->end = RSM_END_CLOSED;
	if ((code = exchange(&r, NULL, PROBE_T_GREETING)) == 0)
		return;
	if (code >= 400) /* a sending server skips a server that greets 4xx or 5xx */
		decided(&r, code, false);
	else if (hello(&r) && authenticate(&r))
		transaction(&r, env->rcpts, env->n_rcpts);
	if (!r.broken)
		exchange(&r, "QUIT", PROBE_T_QUIT);
	if (!r.broken)
		io_tls_shutdown(io, f, c->timeout_s[PROBE_T_QUIT] < 5 ? c->timeout_s[PROBE_T_QUIT] : 5);
	if (f->conn.first_closer == 0)
		f->conn.first_closer = 1 + RSM_C2S;
}
