/*
 * server.c - what the server sends: replies, gathered line by line
 * (RFC 5321 4.2.1: "ddd-text" continues, "ddd text" ends), each paired with
 * the command it answers (pair.c), explained, and applied to the session.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_EXTENSIONS 64
#define EXPLANATION_MAX 768
#define SMTP_REPLY_LINE_MAX 510 /* 512 with CRLF, RFC 5321 4.5.3.1.5 */

/* Where servers put the queue id in the reply to the end of a message. */
static const struct {
	const char *marker; /* the id follows it */
	char stop;	    /* and ends at this byte (or a space) */
} queue_id_markers[] = {
	{"queued as ", ' '}, /* Postfix: 250 2.0.0 Ok: queued as 4Fxyz */
	{" id=", ' '},	     /* Exim: 250 OK id=1Mugho-0003Dg-Un */
	/*
	 * Not Exchange's "250 2.6.0 <message-id> [InternalId=123, Hostname=EX01] Queued
	 * mail for delivery": the <...> is the message's own Message-ID, and Exchange has no
	 * queue id in the reply; its message tracking log is searched by that Message-ID.
	 */
};

/* strcasestr() is a GNU extension; the texts here are short. */
static const char *
find_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

static const char *
find_queue_id(struct smtp_session *s, const char *text)
{
	for (size_t i = 0; i < sizeof(queue_id_markers) / sizeof(queue_id_markers[0]); i++) {
		const char *m = find_nocase(text, queue_id_markers[i].marker), *e;

		if (!m)
			continue;
		m += strlen(queue_id_markers[i].marker);
		for (e = m; *e && *e != ' ' && *e != '\n' && *e != queue_id_markers[i].stop; e++)
			;
		if (e > m)
			return session_strdup(s, m, (size_t)(e - m));
	}
	return NULL;
}

/* The EHLO reply lists one extension per line after the first (RFC 5321 4.1.1.1). */
static void
record_extensions(struct smtp_session *s, const char *text)
{
	const char *nl = strchr(text, '\n');

	free(s->extensions);
	s->extensions = NULL;
	s->n_extensions = 0;
	while (nl && s->n_extensions < MAX_EXTENSIONS) {
		const char *line = nl + 1, *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		nl = end;
		while (n && line[n - 1] == ' ')
			n--;
		if (!n)
			continue;
		if (!s->extensions) {
			s->extensions = calloc(MAX_EXTENSIONS, sizeof(*s->extensions));
			if (!s->extensions)
				return;
		}
		const char *e = session_strdup(s, line, n);

		if (e)
			s->extensions[s->n_extensions++] = e;
	}
	if (nl && s->n_extensions == MAX_EXTENSIONS)
		session_flag(s, SMTP_ANOM_TOO_MANY_EXTENSIONS);
}

static void
apply_auth_reply(struct smtp_session *s, int code)
{
	struct smtp_priv *p = s->priv;

	if (code == 334) {
		p->auth_expect = true;
		p->auth_assumed = false;
	} else if (code / 100 == 2) {
		s->auth.success = 1;
	} else if (code / 100 >= 4) {
		s->auth.success = 0;
	}
}

static void add_notes(struct smtp_session *s, struct smtp_command *c, const char *notes);

static void
apply_end_of_message(struct smtp_session *s, struct smtp_command *c)
{
	struct smtp_message *m;
	char note[160];

	if (c->msg < 0)
		return;
	m = &s->msgs[c->msg];
	m->final_code = c->reply.code;
	m->accepted = c->reply.code / 100 == 2;
	if (m->accepted)
		m->queue_id = find_queue_id(s, c->reply.text);
	if (m->queue_id) { /* no snprintf: this runs for every message */
		size_t n = strnlen(m->queue_id, 100);

		memcpy(note, " Its queue id ", 14);
		memcpy(note + 14, m->queue_id, n);
		memcpy(note + 14 + n, " finds it in the server's logs.", 32);
		add_notes(s, c, note);
	} else if (m->accepted && strcmp(c->reply.enhanced, "2.6.0") == 0 &&
		   c->reply.text[0] && strchr(c->reply.text, '<')) {
		add_notes(s, c, " Exchange names no queue id: its message tracking log finds the "
				"message by the Message-ID in the reply.");
	}
}

/*
 * A refused MAIL opened no transaction. If nothing was sent after it, the
 * client is back in the transaction that was open before (a "nested MAIL"
 * refusal keeps the first one, RFC 5321 4.1.4), or in none.
 */
static void
refused_mail(struct smtp_session *s, const struct smtp_command *c)
{
	struct smtp_priv *p = s->priv;
	const struct smtp_message *prev = c->prev >= 0 ? &s->msgs[c->prev] : NULL;

	if (c->msg < 0 || p->cur_msg != c->msg)
		return;
	p->cur_msg = prev && prev->mail_accepted && !prev->data_ended ? c->prev : -1;
}

/* What a reply does to the session, by the command it answers. */
static void
apply_reply(struct smtp_session *s, struct smtp_command *c)
{
	struct smtp_priv *p = s->priv;
	int code = c->reply.code, ok = code / 100 == 2;

	switch (c->verb) {
	case SMTP_CONNECT:
		p->greeted = true;
		break;
	case SMTP_EHLO:
		if (ok) {
			s->esmtp = true;
			record_extensions(s, c->reply.text);
		}
		/* fall through */
	case SMTP_HELO:
		if (ok) { /* only a successful HELO/EHLO resets the transaction (RFC 5321 4.1.4) */
			s->helo = c->arg;
			if (p->cur_msg >= 0 && s->msgs[p->cur_msg].mail_cmd < (int)(c - s->cmds))
				p->cur_msg = -1; /* not one a MAIL sent after it opened (a late reply) */
		}
		break;
	case SMTP_MAIL:
		if (c->msg >= 0)
			s->msgs[c->msg].mail_accepted = ok && c->paired == SMTP_PAIR_SEEN;
		if (!ok)
			refused_mail(s, c);
		break;
	case SMTP_RCPT:
		if (c->msg >= 0 && c->rcpt >= 0) {
			struct smtp_rcpt *r = &s->msgs[c->msg].rcpt[c->rcpt];

			r->code = code;
			r->status = c->paired == SMTP_PAIR_INFERRED ? SMTP_RCPT_PENDING /* unsettled */
				    : code / 100 == 5		    ? SMTP_RCPT_REJECTED
				    : code / 100 == 4 ? SMTP_RCPT_DEFERRED
						      : SMTP_RCPT_ACCEPTED;
		}
		break;
	case SMTP_DATA:
		if (code / 100 == 3) {
			client_open_body(s, c->msg);
			p->body_assumed = false; /* the 354 came after all */
		}
		if (c->msg < 0)
			c->msg = p->body_msg;
		break;
	case SMTP_DOT:
		apply_end_of_message(s, c);
		break;
	case SMTP_BDAT:
		if (c->last || code / 100 != 2)
			apply_end_of_message(s, c);
		break;
	case SMTP_STARTTLS:
		if (code == 220) {
			s->starttls = true;
			p->tls_check = true;
		}
		break;
	case SMTP_AUTH:
	case SMTP_AUTH_DATA:
		apply_auth_reply(s, code);
		break;
	default:
		break;
	}
}

/* The shared explanation, followed by what is true of this session only. */
static void
add_notes(struct smtp_session *s, struct smtp_command *c, const char *notes)
{
	size_t a = strlen(c->explanation), b = strlen(notes);
	char *e = arena_alloc(&s->priv->arena, a + b + 1);

	if (!e) {
		session_memory_refused(s);
		return;
	}
	memcpy(e, c->explanation, a);
	memcpy(e + a, notes, b + 1);
	c->explanation = e;
}

/* What a reply tells of its transaction, kept as it comes: the verdict needs no walk. */
static void
note_message_reply(struct smtp_session *s, int idx)
{
	const struct smtp_command *c = &s->cmds[idx];
	struct smtp_message *m = &s->msgs[c->msg];

	m->inferred |= c->paired == SMTP_PAIR_INFERRED;
	if (c->reply.code < 400)
		return;
	if (m->first_failure < 0)
		m->first_failure = idx;
	if (m->closing_failure < 0 && c->verb != SMTP_RCPT)
		m->closing_failure = idx;
}

/* Why a pair is not settled by the capture, after the explanation. */
static void
pair_note(const struct smtp_command *c, char *buf, size_t bufsz)
{
	size_t used = strlen(buf);
	const char *why = c->verb == SMTP_OTHER
		? " Which command this reply answers is not in the capture."
		: " Paired by inference: part of the conversation is missing from the capture "
		  "here, so this reply may answer another command.";

	if (used + strlen(why) < bufsz)
		memcpy(buf + used, why, strlen(why) + 1);
}

/*
 * A complete reply: recorded on the command it answers, explained, and
 * applied to the session. Past the cap on recorded commands the reply still
 * moves the session on (a 354 still opens the message), on a stand-in entry.
 */
static void
record_reply(struct smtp_session *s, struct pending pd, enum smtp_pairing how,
	     const struct reply_seen *r)
{
	struct smtp_priv *p = s->priv;
	char expl[EXPLANATION_MAX];
	struct smtp_finding found;
	struct smtp_command scratch = {.verb = pd.verb, .msg = pd.msg, .rcpt = -1, .prev = -1};
	struct smtp_command *c = pd.idx >= 0 ? &s->cmds[pd.idx] : &scratch;

	p->any_reply = true;
	p->dec->stats.replies++;
	p->dec->stats.pairs_inferred += how == SMTP_PAIR_INFERRED;
	c->has_reply = true;
	c->paired = how;
	c->reply_ts = r->ts;
	c->reply.code = r->code;
	c->reply.lines = r->lines;
	c->reply.text = r->text;
	memcpy(c->reply.enhanced, r->enhanced, sizeof(c->reply.enhanced));
	c->result = smtp_result_of(c->reply.code);
	c->explanation = explain_reply(p->dec, pd.verb, c->reply.code, c->reply.enhanced,
				       c->reply.text, r->len, &found);
	c->matched_on = found.matched;
	c->reason = found.reason;
	c->origin = found.origin;
	c->lasting = found.lasting;
	p->dec->stats.matched[c->matched_on]++;
	if (pd.idx >= 0 && explain_context(s, c, expl, sizeof(expl)))
		session_flag(s, SMTP_ANOM_SLOW_REPLY);
	if (pd.idx >= 0 && how == SMTP_PAIR_INFERRED)
		pair_note(c, expl, sizeof(expl));
	if (pd.idx >= 0 && expl[0]) /* notes of this session: a copy of its own */
		add_notes(s, c, expl);
	apply_reply(s, c);
	if (pd.idx >= 0 && c->msg >= 0) /* its msg is settled now: DATA's may come with the 354 */
		note_message_reply(s, pd.idx);
	if (session_verb_turns(pd.verb)) {
		p->blocked = false;
		client_release(s, false);
	}
}

static void stray_early(struct smtp_session *s);

static void
reply_done(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;
	const char *text = session_wiredup(s, p->rtext.len ? p->rtext.buf : "", p->rtext.len);
	struct reply_seen r = {p->reply_code, p->reply_lines, text ? text : "",
			       text ? strlen(text) : 0, p->ts, ""};
	enum smtp_pairing how;
	struct pending pd;

	smtp_parse_enhanced(r.text, r.len, r.enhanced);
	if (pair_reply(s, r.code, r.enhanced, &how, &pd)) {
		record_reply(s, pd, how, &r);
		return;
	}
	if (p->n_early == EARLY_MAX) /* the oldest kept reply had no command: a stray */
		stray_early(s);
	if (!p->early)
		p->early = malloc(EARLY_MAX * sizeof(*p->early)); /* rare: kept off the session */
	if (!p->early) {
		session_flag(s, SMTP_ANOM_MEMORY_CAP);
		record_reply(s, pair_stray(s), SMTP_PAIR_INFERRED, &r);
		return;
	}
	p->early[p->n_early++] = r; /* before its command: kept until the client's next one */
}

/* The oldest reply kept for a command not seen yet. */
static struct reply_seen
early_pop(struct smtp_priv *p)
{
	struct reply_seen r = p->early[0];

	memmove(p->early, p->early + 1, --p->n_early * sizeof(p->early[0]));
	return r;
}

/* ... had no command after all: an entry of its own. */
static void
stray_early(struct smtp_session *s)
{
	struct reply_seen r = early_pop(s->priv);

	record_reply(s, pair_stray(s), SMTP_PAIR_INFERRED, &r);
}

void
server_early_strays(struct smtp_session *s, enum smtp_verb v)
{
	struct smtp_priv *p = s->priv;

	while (p->n_early && !smtp_reply_allowed(v, p->early[0].code))
		stray_early(s);
}

void
server_take_early(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;

	while (p->n_early && p->pend_n) {
		struct reply_seen r = early_pop(p);
		struct pending pd;

		if (!pair_early(s, r.code, &pd))
			pd = pair_stray(s);
		record_reply(s, pd, SMTP_PAIR_INFERRED, &r);
	}
}

void
server_flush_early(struct smtp_session *s)
{
	while (s->priv->n_early)
		stray_early(s);
}

bool
smtp_parse_reply_line(const char *l, size_t n, int *code, bool *last)
{
	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
	    l[2] > '9')
		return false;
	if (n > 3 && l[3] != ' ' && l[3] != '-')
		return false;
	*code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	*last = n == 3 || l[3] == ' ';
	return true;
}

/* Three digits, the first 2 to 5 (RFC 5321 4.2). */
static bool
reply_starts_code(const char *d)
{
	return d[0] >= '2' && d[0] <= '5' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9';
}

/* Do these bytes begin a reply line ("ddd ", "ddd-", "ddd\r")? */
static bool
reply_starts(const uint8_t *d, size_t n)
{
	return n >= 4 && reply_starts_code((const char *)d) &&
	       (d[3] == ' ' || d[3] == '-' || d[3] == '\r' || d[3] == '\n');
}

/*
 * The answer of an HTTP CONNECT proxy ("HTTP/1.0 200 Connection
 * established", header lines, an empty line, RFC 9110 9.3.6) before the SMTP
 * server's greeting: skipped, its status kept for the verdict.
 */
static bool
proxy_line(struct smtp_session *s, const struct line *ln)
{
	struct smtp_priv *p = s->priv;
	const char *l = ln->p;

	if (p->proxy == PROXY_RESPONSE) {
		if (ln->n == 0)
			p->proxy = PROXY_DONE;
		return true;
	}
	if ((p->proxy != PROXY_REQUEST && p->proxy != PROXY_SENT) || ln->n < 12 ||
	    memcmp(l, "HTTP/1.", 7) != 0 || l[8] != ' ')
		return false;
	p->proxy = PROXY_RESPONSE;
	p->proxy_status = 0;
	for (size_t i = 9; i < 12 && l[i] >= '0' && l[i] <= '9'; i++)
		p->proxy_status = p->proxy_status * 10 + (l[i] - '0');
	return true;
}

static void
reply_line(struct smtp_session *s, const struct line *ln)
{
	struct smtp_priv *p = s->priv;
	int code;
	bool last;

	if (proxy_line(s, ln))
		return;
	if (ln->bare_lf)
		session_flag(s, SMTP_ANOM_BARE_LF);
	if (ln->truncated || ln->n > SMTP_REPLY_LINE_MAX)
		session_flag(s, SMTP_ANOM_LINE_TOO_LONG);
	if (!smtp_parse_reply_line(ln->p, ln->n, &code, &last)) {
		s->unparsed[RSM_S2C] += ln->n;
		session_flag(s, !p->any_reply && !p->in_reply ? SMTP_ANOM_NOT_SMTP
							      : SMTP_ANOM_INVALID_REPLY);
		return;
	}
	if (p->in_reply && p->reply_cut &&
	    (code != p->reply_code || s->n_cmds > p->reply_cut_cmds ||
	     (s->n_cmds && s->cmds[s->n_cmds - 1].ts > p->reply_seen_ts))) {
		/*
		 * A gap cut this multi-line reply, and the line after it starts another:
		 * another code, or the client spoke after the part seen, which it does
		 * only once the reply is whole (EHLO ends a pipelined group, RFC 2920
		 * 3.1). The end of the reply was in the lost bytes.
		 */
		p->in_reply = false;
		reply_done(s);
	}
	p->reply_cut = false;
	if (!p->in_reply) {
		p->in_reply = true;
		p->reply_code = code;
		p->reply_lines = 0;
		p->gap_first_cont = p->gap_pending && !last; /* a reply begun in the gap */
		line_reset(&p->rtext);
	} else if (code != p->reply_code) {
		session_flag(s, SMTP_ANOM_MULTILINE_CODE_MISMATCH);
	}
	if (p->reply_lines++)
		line_append(&p->rtext, "\n", 1);
	if (ln->n > 4)
		line_append(&p->rtext, ln->p + 4, ln->n - 4);
	if (p->rtext.truncated)
		session_flag(s, SMTP_ANOM_REPLY_TOO_LONG);
	if (last) {
		p->in_reply = false;
		reply_done(s);
	}
}

/* Does a line cut short still show its reply code ("ddd", "ddd ", "ddd-...")? */
static bool
cut_reply_usable(const char *l, size_t n)
{
	return n >= 3 && (n == 3 || l[3] == ' ' || l[3] == '-') && reply_starts_code(l);
}

/* A gap inside the reply being gathered: the commands seen by the first such gap. */
static void
reply_cut_at(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;

	if (!p->reply_cut)
		p->reply_cut_cmds = s->n_cmds;
	p->reply_cut = true;
}

/*
 * A gap in the server's stream. A line cut short that still shows its code
 * is finished as it stands (marked [...]): a final line completes its reply,
 * which then answers the right command. Inside a multi-line reply the rest
 * still answers the same command. Between replies, the gap held at least the
 * oldest waiting command's reply and perhaps more (pair.c weighs them). A
 * client held back waiting for a reply stays held: the reply may still come
 * (a 503 to DATA after all), and a reply it cannot be releases it (pair.c).
 */
void
server_gap(struct smtp_session *s, size_t len)
{
	struct smtp_priv *p = s->priv;

	p->skip_line[RSM_S2C] = true;
	p->gap_since_pair = true;
	if (len == 1 && p->sline.len && p->sline.buf[p->sline.len - 1] == '\r') {
		/* only the LF after a CR was lost: the line is whole, the next starts after it */
		uint64_t seen = p->reply_seen_ts; /* the line came with the bytes before the gap */

		p->skip_line[RSM_S2C] = false;
		server_data(s, (const uint8_t *)"\n", 1);
		p->reply_seen_ts = seen;
		return;
	}
	if (p->sline.len && cut_reply_usable(p->sline.buf, p->sline.len)) {
		struct line ln = {0};

		/* "ddd" and no more: whether it ended its reply was lost too; say it did not */
		line_append(&p->sline, p->sline.len == 3 ? "-[...]" : " [...]", 6);
		ln.p = p->sline.buf;
		ln.n = p->sline.len;
		reply_line(s, &ln);
		line_reset(&p->sline);
		if (p->in_reply) { /* a "ddd-" line: the rest of its reply may be lost too */
			reply_cut_at(s);
		} else {
			pair_server_gap_more(s, len); /* and the replies after it */
		}
		return;
	}
	if (p->in_reply) { /* the rest of a multi-line reply: it still answers its command */
		reply_cut_at(s);
		line_reset(&p->sline);
		line_append(&p->rtext, "\n[...]", 6);
		return;
	}
	/* between replies, or a reply cut before its code: pair.c weighs what it may hold */
	line_reset(&p->sline);
	pair_server_gap(s, len);
}

void
server_data(struct smtp_session *s, const uint8_t *data, size_t n)
{
	struct smtp_priv *p = s->priv;
	struct line ln;
	bool done;

	if (p->tls_on && !p->in_plain) {
		starttls_feed(s, RSM_S2C, data, n);
		p->reply_seen_ts = p->ts;
		return;
	}
	while (n > 0 && p->mode != CM_TLS) {
		if (p->tls_check && data[0] == 0x16) { /* the server's TLS handshake */
			if (!starttls_begin(s)) { /* not followed: counted, not read */
				s->unparsed[RSM_S2C] += n;
				n = 0;
			}
			break;
		}
		if (p->skip_line[RSM_S2C] && reply_starts(data, n))
			p->skip_line[RSM_S2C] = false; /* the gap ended between lines */
		if (p->skip_line[RSM_S2C]) {
			size_t skip = line_skip(data, n, &done);

			p->skip_line[RSM_S2C] = !done;
			data += skip;
			n -= skip;
			continue;
		}
		size_t used = line_take(&p->sline, data, n, &ln, &done);

		data += used;
		n -= used;
		if (done)
			reply_line(s, &ln);
	}
	if (n > 0 && p->mode == CM_TLS)
		starttls_feed(s, RSM_S2C, data, n);
	p->reply_seen_ts = p->ts; /* lines read later came after this */
}
