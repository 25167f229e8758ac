/*
 * dialog.c - the seeds' telnet steps after the connect: wait for the 220,
 * EHLO (HELO when EHLO is refused, RFC 5321 3.2), MAIL FROM, RCPT TO for
 * each recipient (NOTIFY=SUCCESS,FAILURE when asked and the server offers
 * DSN, RFC 3461 4.1), then RSET and QUIT: DATA is never sent, so no message
 * can leave. Each wait is bounded by its step's timeout (RFC 5321 4.5.3.2).
 *
 * The probe reads only a reply's code to choose the next step; the
 * explanations are decode/'s (the same bytes went there). A 421 means the
 * server is closing: nothing more is sent (RFC 5321 3.8).
 */
#include "probe_private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A reply's first digit decides how a session stands (2 and 3 go on). */
static const enum probe_status by_digit[6] = {
	[2] = PROBE_ACCEPTED, [3] = PROBE_ACCEPTED, [4] = PROBE_DEFERRED, [5] = PROBE_REFUSED,
};

/* Which of two outcomes a probe reports: a refusal says more than a deferral. */
static const int status_rank[PROBE_STATUS_COUNT] = {
	[PROBE_UNREACHED] = 0, [PROBE_ACCEPTED] = 1, [PROBE_DEFERRED] = 2, [PROBE_REFUSED] = 3,
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

/* An extension the server advertised in its EHLO reply, by its keyword. */
static bool
offers(const struct feed *f, const char *keyword)
{
	const struct smtp_session *s = feed_session(f);
	size_t n = strlen(keyword);

	for (size_t i = 0; s && i < s->n_extensions; i++)
		if (strncasecmp(s->extensions[i], keyword, n) == 0 &&
		    (s->extensions[i][n] == '\0' || s->extensions[i][n] == ' '))
			return true;
	return false;
}

/* EHLO, or HELO after a refused EHLO. False when the session ends here. */
static bool
hello(struct run *r, const char *helo)
{
	char line[PROBE_NAME_MAX + 8];
	int code;

	snprintf(line, sizeof(line), "EHLO %s", helo);
	code = exchange(r, line, PROBE_T_EHLO);
	if (code >= 500) {
		snprintf(line, sizeof(line), "HELO %s", helo);
		code = exchange(r, line, PROBE_T_EHLO);
	}
	if (code == 0)
		return false;
	if (code >= 400) {
		decided(r, code, code >= 500); /* a 4xx: a sending server tries the next MX */
		return false;
	}
	if (offers(r->f, "STARTTLS"))
		note(r->d, "The server offers STARTTLS; this probe stayed in plaintext (this "
			   "version does not start TLS), so the dialog and the addresses crossed "
			   "the network unencrypted.");
	return true;
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
	exchange(r, "RSET", PROBE_T_RSET);
}

void
dialog_run(const struct probe_config *c, struct io *io, struct feed *f, const char *helo,
	   const char *const *rcpts, size_t n_rcpts, struct dialog *d)
{
	struct run r = {.c = c, .io = io, .f = f, .d = d};
	int code;

	d->status = PROBE_UNREACHED;
	d->settled = false;
	d->decider = -1;
	d->end = RSM_END_CLOSED;
	if ((code = exchange(&r, NULL, PROBE_T_GREETING)) == 0)
		return;
	if (code >= 400) /* a sending server skips a server that greets 4xx or 5xx */
		decided(&r, code, false);
	else if (hello(&r, helo))
		transaction(&r, rcpts, n_rcpts);
	if (!r.broken)
		exchange(&r, "QUIT", PROBE_T_QUIT);
	if (f->conn.first_closer == 0)
		f->conn.first_closer = 1 + RSM_C2S;
}
