/*
 * client.c - what the client sends: commands, message bodies, BDAT chunks,
 * AUTH answers.
 *
 * Some commands decide what the client's next bytes are only once the server
 * has answered (DATA: 354 means a message follows; AUTH: 334 means an answer
 * follows; STARTTLS: 220 means TLS follows). After such a command the client
 * waits, and so do we: bytes that arrive before the reply (a capture that
 * sees only the client, or a client that does not wait) are held, capped,
 * and read once the reply is in. Past the cap, or at the end of the
 * connection, they are read as if the server had said yes.
 */
#include "session.h"
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VERB_MAX 32
#define SMTP_COMMAND_LINE_MAX 510 /* 512 with CRLF, RFC 5321 4.5.3.1.4 */
#define AUTH_DECODED_MAX 512

/* Verbs a client can send by name (not the pseudo-commands). */
static const struct {
	const char *name;
	enum smtp_verb verb;
} client_verbs[] = {
	{"HELO", SMTP_HELO}, {"EHLO", SMTP_EHLO},	  {"MAIL", SMTP_MAIL}, {"RCPT", SMTP_RCPT},
	{"DATA", SMTP_DATA}, {"BDAT", SMTP_BDAT},	  {"RSET", SMTP_RSET}, {"NOOP", SMTP_NOOP},
	{"QUIT", SMTP_QUIT}, {"STARTTLS", SMTP_STARTTLS}, {"AUTH", SMTP_AUTH}, {"VRFY", SMTP_VRFY},
	{"EXPN", SMTP_EXPN}, {"HELP", SMTP_HELP},	  {"ETRN", SMTP_ETRN},
};

enum smtp_verb
smtp_verb_lookup(const char *word, size_t len)
{
	for (size_t i = 0; i < sizeof(client_verbs) / sizeof(client_verbs[0]); i++)
		if (strlen(client_verbs[i].name) == len &&
		    strncasecmp(word, client_verbs[i].name, len) == 0)
			return client_verbs[i].verb;
	return SMTP_OTHER;
}

/* What the report shows for a secret (an AUTH answer, a credential typed as a command). */
static const char MASK[] = "***";
#define MASK_LEN (sizeof(MASK) - 1)

static void client_run(struct smtp_session *s, const uint8_t *p, size_t n);
static void last_chunk_done(struct smtp_session *s);

/* What separates a command's words: servers split on any blank, not SP only (Postfix, Exim). */
static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static size_t
word_len(const char *l, size_t n)
{
	size_t w = 0;

	while (w < n && !is_blank(l[w]))
		w++;
	return w;
}

static size_t
skip_blanks(const char *l, size_t n, size_t i)
{
	while (i < n && is_blank(l[i]))
		i++;
	return i;
}

/* RFC 4422 3.1: a SASL mechanism is 1 to 20 of A-Z 0-9 - _ (any case on the wire); else 0. */
static size_t
sasl_mech_len(const char *arg, size_t n)
{
	size_t w = word_len(arg, n);

	if (w > 20)
		return 0;
	for (size_t i = 0; i < w; i++) {
		char c = arg[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return w;
}

/* The user name inside a decoded SASL response, by mechanism. */
static void
auth_user_from(struct smtp_session *s, const char *mech, const char *d, size_t n)
{
	const char *u = d, *e;
	size_t len = n;

	if (strcmp(mech, "PLAIN") == 0) { /* authzid NUL authcid NUL passwd */
		const char *z1 = memchr(d, '\0', n);
		const char *z2 = z1 ? memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - d)) : NULL;

		if (!z2)
			return;
		u = z1 + 1;
		len = (size_t)(z2 - u);
		if (len == 0) {
			u = d;
			len = (size_t)(z1 - d);
		}
	} else if (strcmp(mech, "XOAUTH2") == 0) { /* user=NAME ^A auth=... */
		if (n < 5 || memcmp(d, "user=", 5) != 0)
			return;
		u = d + 5;
		e = memchr(u, '\x01', n - 5);
		len = e ? (size_t)(e - u) : n - 5;
	} else if (strcmp(mech, "OAUTHBEARER") == 0) { /* n,a=NAME, ... */
		const char *a = memchr(d, ',', n);

		if (!a || (size_t)(a - d) + 3 > n || memcmp(a + 1, "a=", 2) != 0)
			return;
		u = a + 3;
		e = memchr(u, ',', n - (size_t)(u - d));
		len = e ? (size_t)(e - u) : n - (size_t)(u - d);
	} else if (strcmp(mech, "CRAM-MD5") == 0) { /* NAME SP digest */
		e = memchr(d, ' ', n);
		if (!e)
			return;
		len = (size_t)(e - d);
	} else if (strcmp(mech, "LOGIN") != 0) {
		return;
	}
	if (len && !s->auth.user)
		s->auth.user = session_wiredup(s, u, len);
}

static void
auth_decode(struct smtp_session *s, const char *b64, size_t n)
{
	char d[AUTH_DECODED_MAX];
	size_t len = mime_b64_decode(b64, n, d, sizeof(d), NULL);

	auth_user_from(s, s->auth.mechanism, d, len);
}

/* The address inside "FROM:<a@b> PARAMS" / "TO: a@b", without brackets. */
static const char *
path_address(struct smtp_session *s, const char *arg, size_t n, const char *keyword)
{
	size_t k = strlen(keyword), i = 0, start, end;

	if (n >= k && strncasecmp(arg, keyword, k) == 0)
		i = k;
	i = skip_blanks(arg, n, i);
	if (i < n && arg[i] == '<') {
		const char *close = memchr(arg + i, '>', n - i);

		start = i + 1;
		end = close ? (size_t)(close - arg) : n;
	} else {
		start = i;
		end = i + word_len(arg + i, n - i);
	}
	/* A source route "<@a,@b:user@c>" (RFC 5321 4.1.2): the mailbox is after ':'. */
	if (start < end && arg[start] == '@') {
		const char *colon = memchr(arg + start, ':', end - start);

		if (colon)
			start = (size_t)(colon - arg) + 1;
	}
	return session_wiredup(s, arg + start, end - start);
}

static int
ensure_message(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;

	if (p->cur_msg < 0)
		p->cur_msg = session_new_message(s);
	return p->cur_msg;
}

static void
add_rcpt(struct smtp_session *s, struct smtp_command *c, const char *arg, size_t n)
{
	struct smtp_message *m;
	int msg = s->priv->cur_msg;

	if (msg < 0 && s->midstream)
		msg = ensure_message(s);
	if (msg < 0)
		return;
	m = &s->msgs[msg];
	c->msg = msg;
	int room = session_grow(s, (void **)&m->rcpt, &m->cap_rcpt, m->n_rcpt, sizeof(*m->rcpt),
				s->priv->dec->cfg.max_rcpts);

	if (room <= 0) {
		if (room == 0)
			session_flag(s, SMTP_ANOM_TOO_MANY_RECIPIENTS);
		return;
	}
	m->rcpt[m->n_rcpt] = (struct smtp_rcpt){path_address(s, arg, n, "TO:"), SMTP_RCPT_PENDING, 0,
						 s->priv->cur_cmd};
	c->rcpt = (int)m->n_rcpt++;
}

/* A message body starts (after 354, or with the first BDAT chunk). */
static void
begin_body(struct smtp_session *s, int msg)
{
	struct smtp_priv *p = s->priv;
	const struct smtp_sink *k = p->dec->cfg.sink;

	client_abort_body(s); /* BDAT chunks of an earlier message that never got their LAST */
	s->msgs[msg].data_started = true;
	body_start(&p->body);
	p->body_msg = msg;
	p->body_gap = false;
	p->body.handle = k ? k->open(k->arg, s, msg) : NULL;
	p->body.emit = k ? k->write : NULL;
}

/* The body is over, whole or not: its size and headers are settled, its bytes handed over. */
static void
settle_body(struct smtp_session *s, bool whole)
{
	struct smtp_priv *p = s->priv;
	struct smtp_message *m = &s->msgs[p->body_msg];
	const struct smtp_sink *k = p->dec->cfg.sink;

	body_finish(&p->body, &p->arena, m);
	if (whole && !p->body_gap)
		m->size = (int64_t)p->body.size;
	if (p->body.handle)
		k->close(k->arg, p->body.handle, s, p->body_msg, whole && !p->body_gap);
	p->body.handle = NULL;
}

/*
 * 354: a message follows. The server accepted DATA, so a transaction was
 * open even if its MAIL is not in the capture. BDAT chunks of the same
 * transaction still waiting for their LAST are given up (begin_body).
 */
void
client_open_body(struct smtp_session *s, int msg)
{
	if (msg < 0)
		msg = ensure_message(s);
	if (msg < 0 || s->msgs[msg].data_ended || s->priv->mode == CM_BODY)
		return;
	begin_body(s, msg);
	s->priv->mode = CM_BODY;
}

void
client_abort_body(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;

	const struct smtp_message *m = p->body_msg >= 0 ? &s->msgs[p->body_msg] : NULL;

	/* a DATA body, or BDAT chunks without their LAST one yet */
	if (m && m->data_started && !m->data_ended) {
		settle_body(s, false);
		session_flag(s, SMTP_ANOM_MESSAGE_INCOMPLETE);
	}
}

/* "BDAT 1234 LAST" (RFC 3030 2): a size of digits and an optional LAST. */
static bool
parse_bdat(const char *arg, size_t n, uint64_t *size, bool *last)
{
	size_t i = 0;

	*size = 0;
	if (!arg || !n || arg[0] < '0' || arg[0] > '9')
		return false;
	for (; i < n && arg[i] >= '0' && arg[i] <= '9'; i++) {
		if (*size > (UINT64_MAX - 9) / 10)
			return false;
		*size = *size * 10 + (uint64_t)(arg[i] - '0');
	}
	i = skip_blanks(arg, n, i);
	*last = n - i == 4 && strncasecmp(arg + i, "LAST", 4) == 0;
	return i == n || *last;
}

static void
on_bdat(struct smtp_session *s, struct smtp_command *c, const char *arg, size_t n)
{
	struct smtp_priv *p = s->priv;
	uint64_t size;
	bool last;

	if (!parse_bdat(arg, n, &size, &last)) {
		session_flag(s, SMTP_ANOM_INVALID_BDAT);
		return;
	}
	c->msg = ensure_message(s);
	c->last = last;
	/* c is an entry of s->cmds, or a scratch one when the entry could not be kept */
	if (last && c->msg >= 0 && c >= s->cmds && c < s->cmds + s->n_cmds)
		s->msgs[c->msg].end_cmd = (int)(c - s->cmds);
	if (c->msg >= 0 && !s->msgs[c->msg].data_started)
		begin_body(s, c->msg);
	p->chunk_left = size;
	p->chunk_last = last;
	if (size)
		p->mode = CM_CHUNK;
	else if (last)
		last_chunk_done(s);
}

/* "AUTH mechanism [initial-response]" (RFC 4954 4); a mechanism that is no SASL name is "***". */
static void
on_auth(struct smtp_session *s, struct smtp_command *c, const char *arg, size_t n)
{
	size_t m = sasl_mech_len(arg, n), i = skip_blanks(arg, n, word_len(arg, n));

	(void)c;
	s->has_auth = true;
	s->auth.success = -1;
	s->auth.user = NULL;
	s->priv->auth_lines = 0;
	s->priv->auth_initial = 0;
	for (size_t k = 0; k < m; k++)
		s->auth.mechanism[k] = (arg[k] >= 'a' && arg[k] <= 'z') ? (char)(arg[k] - 32) : arg[k];
	s->auth.mechanism[m] = '\0';
	if (!m)
		memcpy(s->auth.mechanism, MASK, sizeof(MASK));
	if (i < n)
		s->priv->auth_initial = 1;
	if (i < n && !(n - i == 1 && arg[i] == '='))
		auth_decode(s, arg + i, n - i);
}

/*
 * HELO right after an EHLO the server refused as unknown (500, 502): the
 * fallback RFC 5321 4.1.4 asks of a client facing an old server, not a fault.
 */
static void
ehlo_fallback(struct smtp_session *s)
{
	int i = s->priv->cur_cmd; /* the HELO's entry; -1 when it is not recorded */
	struct smtp_command *e = i > 0 ? &s->cmds[i - 1] : NULL;

	if (!e || e->verb != SMTP_EHLO || !e->has_reply ||
	    (e->reply.code != 500 && e->reply.code != 502))
		return;
	e->fallback = true;
	e->explanation = "The server does not know EHLO (an old or minimal SMTP server), so the "
			 "client falls back to HELO, as RFC 5321 4.1.4 expects: nothing to fix, but "
			 "no ESMTP extensions (no STARTTLS, no SIZE) in this session.";
}

/* The per-verb part of a command, run before it joins the pending queue. */
static void
on_command(struct smtp_session *s, struct smtp_command *c, const char *arg, size_t n)
{
	struct smtp_priv *p = s->priv;

	switch (c->verb) {
	case SMTP_HELO:
		ehlo_fallback(s);
		/* fall through */
	case SMTP_EHLO:
		p->helo_sent = c->arg; /* its reply resets the transaction if it is a success */
		break;
	case SMTP_MAIL:
		c->prev = p->cur_msg;
		p->cur_msg = session_new_message(s);
		c->msg = p->cur_msg;
		if (c->msg >= 0 && c >= s->cmds && c < s->cmds + s->n_cmds) /* not the scratch entry */
			s->msgs[c->msg].mail_cmd = (int)(c - s->cmds);
		if (c->msg >= 0 && arg)
			s->msgs[c->msg].mail_from = path_address(s, arg, n, "FROM:");
		break;
	case SMTP_RCPT:
		if (arg)
			add_rcpt(s, c, arg, n);
		break;
	case SMTP_DATA: /* without MAIL, a transaction only if the capture began after it */
		c->msg = p->cur_msg >= 0 || s->midstream ? ensure_message(s) : -1;
		break;
	case SMTP_BDAT:
		on_bdat(s, c, arg, n);
		break;
	case SMTP_RSET:
		p->cur_msg = -1;
		break;
	case SMTP_AUTH:
		if (arg)
			on_auth(s, c, arg, n);
		break;
	default:
		break;
	}
}

/* The argument as the report may show it: AUTH its mechanism only, unless asked. */
static const char *
shown_arg(const struct smtp_session *s, enum smtp_verb v, const char *arg, size_t *n)
{
	if (!arg || v != SMTP_AUTH || s->priv->dec->cfg.show_secrets)
		return arg;
	size_t m = sasl_mech_len(arg, *n);

	*n = m ? m : MASK_LEN;
	return m ? arg : MASK;
}

/* A lone word of base64 (RFC 4648 alphabet): what an AUTH answer looks like. */
static bool
looks_base64(const char *l, size_t n)
{
	if (n < 4)
		return false;
	for (size_t i = 0; i < n; i++)
		if (mime_b64_value((unsigned char)l[i]) < 0 && l[i] != '=')
			return false;
	return true;
}

/*
 * A line no verb names where an AUTH answer may come with nothing to announce
 * it: a session seen mid-stream or after a client gap (the 334 or the AUTH
 * was missed), or after an AUTH (a 334 not seen, an answer pipelined past a
 * refusal, a mechanism with more rounds than we count).
 */
static bool
possible_credential(const struct smtp_session *s, const char *l, size_t n)
{
	while (n && is_blank(l[n - 1]))
		n--;
	return (s->midstream || s->has_auth || s->priv->client_gapped) && looks_base64(l, n);
}

/* The client waits for this command's reply; bytes that come meanwhile are held. */
static void
wait_for_reply(struct smtp_session *s, enum smtp_verb v, int msg)
{
	struct smtp_priv *p = s->priv;

	p->blocked = true;
	p->turn_verb = (uint8_t)v;
	p->turn_msg = msg;
}

static void
command_line(struct smtp_session *s, const char *l, size_t n)
{
	struct smtp_priv *p = s->priv;
	char name[VERB_MAX];
	size_t vlen = word_len(l, n), a = skip_blanks(l, n, vlen);
	enum smtp_verb v = smtp_verb_lookup(l, vlen);

	for (size_t i = 0; i < vlen && i < sizeof(name); i++)
		name[i] = (l[i] >= 'a' && l[i] <= 'z') ? (char)(l[i] - 32) : l[i];
	/* SP and TAB only: a stray CR stays, the argument is malformed (Postfix refuses "LAST\r") */
	while (n > a && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	if (v == SMTP_OTHER && possible_credential(s, l, n)) {
		session_flag(s, SMTP_ANOM_POSSIBLE_CREDENTIAL);
		if (!p->dec->cfg.show_secrets) {
			memcpy(name, MASK, MASK_LEN);
			vlen = MASK_LEN;
		}
	}
	const char *arg = a < n ? l + a : NULL;
	size_t alen = a < n ? n - a : 0, shown_len = alen;
	const char *shown = shown_arg(s, v, arg, &shown_len);

	if (!s->midstream && !p->greeted && !p->any_reply)
		session_flag(s, SMTP_ANOM_CLIENT_SPOKE_FIRST);
	server_early_strays(s, v);
	int idx = session_add_command(s, v, name, vlen < sizeof(name) ? vlen : sizeof(name), shown,
				      shown_len);
	struct smtp_command scratch = {.verb = v, .msg = -1, .rcpt = -1};

	p->cur_cmd = idx;

	on_command(s, idx >= 0 ? &s->cmds[idx] : &scratch, arg, alen);
	session_push_pending(s, v, idx);
	if (session_verb_turns(v))
		wait_for_reply(s, v, idx >= 0 ? s->cmds[idx].msg : p->cur_msg);
	server_take_early(s);
}

/* A line answering a 334 (RFC 4954 4): base64, or "*" to cancel. */
static void
auth_line(struct smtp_session *s, const char *l, size_t n)
{
	struct smtp_priv *p = s->priv;
	bool cancel = n == 1 && l[0] == '*';
	bool show = cancel || p->dec->cfg.show_secrets;
	bool first = p->auth_lines == 0 && !p->auth_initial;

	server_early_strays(s, SMTP_AUTH_DATA);
	int idx = session_add_command(s, SMTP_AUTH_DATA, NULL, 0, show ? l : MASK, show ? n : MASK_LEN);

	p->auth_expect = false;
	if (p->auth_lines < UINT8_MAX)
		p->auth_lines++;
	/*
	 * The user name is in the first answer (LOGIN's too, whatever its prompts
	 * say: they are free text, RFC 4954 4); an empty one leaves it unknown.
	 */
	if (!cancel && first)
		auth_decode(s, l, n);
	session_push_pending(s, SMTP_AUTH_DATA, idx);
	wait_for_reply(s, SMTP_AUTH_DATA, -1);
	server_take_early(s);
}

/* Does a whole line begin with a known verb ("DATA", "MAIL FROM:...")? */
static bool
line_is_command(const char *l, size_t n)
{
	return smtp_verb_lookup(l, word_len(l, n < VERB_MAX ? n : VERB_MAX)) != SMTP_OTHER;
}

/*
 * A command line cut by a gap still had a reply coming. If what was seen of
 * it names a verb, it is recorded as that command (its argument marked
 * [...]); otherwise an entry "?" takes its place, so that the replies after
 * it pair with the right commands. Once per cut line.
 */
static void
cut_command(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;
	bool verb = p->cline.len && line_is_command(p->cline.buf, p->cline.len);

	if (p->cut_counted)
		return;
	p->cut_counted = true;
	if (p->cline.len && p->cline.buf[p->cline.len - 1] == '\r')
		p->cline.len--; /* cut between CR and LF */
	if (verb && line_append(&p->cline, " [...]", 6)) {
		command_line(s, p->cline.buf, p->cline.len);
		return;
	}
	session_push_pending(s, SMTP_OTHER, session_add_command(s, SMTP_OTHER, "?", 1, NULL, 0));
}

/* A gap in the client's stream: a cut command, or a message now incomplete. */
void
client_gap(struct smtp_session *s, size_t len)
{
	struct smtp_priv *p = s->priv;

	if (p->body_msg >= 0 && (p->mode == CM_BODY || p->mode == CM_CHUNK)) {
		p->body_gap = true;
		session_flag(s, SMTP_ANOM_MESSAGE_INCOMPLETE);
	}
	if (p->mode == CM_CHUNK) { /* BDAT counts bytes: the gap may run past the chunk */
		uint64_t left = p->chunk_left;

		if (len < left) {
			p->chunk_left -= len;
			return;
		}
		p->chunk_left = 0;
		p->mode = CM_COMMAND;
		if (p->chunk_last)
			last_chunk_done(s);
		if (len == left) /* the gap ended with the chunk: the next line is whole */
			return;
	}
	if (p->mode == CM_COMMAND && len == 1 && p->cline.len &&
	    p->cline.buf[p->cline.len - 1] == '\r') {
		/* only the LF after a CR was lost: the line is whole, the next starts after it */
		client_run(s, (const uint8_t *)"\n", 1);
		return;
	}
	p->skip_line[RSM_C2S] = p->mode == CM_COMMAND;
	p->cut_counted = false;
	if (p->mode == CM_COMMAND && p->cline.len && !p->auth_expect)
		cut_command(s);
	if (p->mode == CM_COMMAND)
		pair_client_gap(s, len);
	line_reset(&p->cline);
}

/* Do these bytes begin with a known verb and a space or line end? */
static bool
command_starts(const uint8_t *d, size_t n)
{
	size_t w = 0;

	while (w < n && w < VERB_MAX && !is_blank((char)d[w]) && d[w] != '\n')
		w++;
	return w < n && smtp_verb_lookup((const char *)d, w) != SMTP_OTHER;
}

/* "METHOD target HTTP/1.x" (RFC 9112 3): an HTTP request line. */
static bool
http_request_line(const char *l, size_t n, bool *connect)
{
	static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
					      "PATCH", "TRACE", "CONNECT"};
	size_t w = word_len(l, n);

	if (n < w + 10 || memcmp(l + n - 9, " HTTP/1.", 8) != 0 || l[n - 1] < '0' || l[n - 1] > '9')
		return false;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strlen(methods[i]) == w && memcmp(l, methods[i], w) == 0) {
			*connect = i == sizeof(methods) / sizeof(methods[0]) - 1;
			return true;
		}
	}
	return false;
}

/*
 * HTTP where SMTP was expected, on the client's first line: a request to an
 * HTTP CONNECT proxy in front of the server (its header lines up to the empty
 * one are skipped, and the SMTP inside is read), or a web client or scanner
 * (nothing more of it is read: its bytes are counted as not SMTP).
 */
static bool
http_line(struct smtp_session *s, const char *l, size_t n)
{
	struct smtp_priv *p = s->priv;
	bool connect = false;

	if (p->proxy == PROXY_REQUEST) {
		if (n == 0)
			p->proxy = PROXY_SENT;
		return true;
	}
	if (p->client_spoke || !http_request_line(l, n, &connect))
		return false;
	if (connect) {
		session_flag(s, SMTP_ANOM_HTTP_CONNECT_PROXY);
		p->proxy = PROXY_REQUEST;
		return true;
	}
	session_flag(s, SMTP_ANOM_HTTP_REQUEST);
	p->mode = CM_NOT_SMTP;
	return true;
}

/* TLS from these bytes on: they and the rest of the client's go to tls/. */
static size_t
tls_from_here(struct smtp_session *s, const uint8_t *data, size_t n)
{
	if (starttls_begin(s))
		starttls_feed(s, RSM_C2S, data, n);
	else
		s->unparsed[RSM_C2S] += n;
	return n;
}

/* The client's first bytes are not SMTP: TLS at once, or binary of another protocol. */
static bool
other_protocol(struct smtp_session *s, const uint8_t *data, size_t n)
{
	uint8_t c = data[0];

	if (c == 0x16 && (n < 2 || data[1] == 0x03)) {
		/* TLS at once: a client set for implicit TLS (port 465, RFC 8314 3.3) */
		session_flag(s, SMTP_ANOM_TLS_WITHOUT_STARTTLS);
		s->implicit_tls = true;
		tls_from_here(s, data, n);
		return true;
	}
	if (c >= 0x20 || c == '\t' || c == '\r' || c == '\n')
		return false;
	/* binary from the first byte: another protocol's client (a VPN, a scanner) */
	session_flag(s, SMTP_ANOM_NOT_SMTP);
	s->priv->mode = CM_NOT_SMTP;
	s->unparsed[RSM_C2S] += n;
	return true;
}

static size_t
take_command(struct smtp_session *s, const uint8_t *data, size_t n)
{
	struct smtp_priv *p = s->priv;
	struct line ln;
	bool done;

	if (p->tls_check) { /* the first bytes after 220 to STARTTLS */
		p->tls_check = false;
		if (data[0] == 0x16) /* a TLS handshake record (RFC 8446 5.1) */
			return tls_from_here(s, data, n);
		session_flag(s, SMTP_ANOM_PLAINTEXT_AFTER_STARTTLS);
	}
	if (!p->client_spoke && !p->cline.len && other_protocol(s, data, n))
		return n;
	if (p->skip_line[RSM_C2S] && command_starts(data, n))
		p->skip_line[RSM_C2S] = false; /* the gap ended between lines */
	if (p->skip_line[RSM_C2S]) { /* the rest of a line cut by a gap */
		size_t skip = line_skip(data, n, &done);

		cut_command(s);
		p->skip_line[RSM_C2S] = !done;
		return skip;
	}
	size_t used = line_take(&p->cline, data, n, &ln, &done);

	if (!done)
		return used;
	p->cut_counted = false;
	if (ln.bare_lf)
		session_flag(s, SMTP_ANOM_BARE_LF);
	if (ln.truncated || ln.n > SMTP_COMMAND_LINE_MAX)
		session_flag(s, SMTP_ANOM_LINE_TOO_LONG);
	if (http_line(s, ln.p, ln.n)) {
		if (p->mode == CM_NOT_SMTP)
			s->unparsed[RSM_C2S] += used;
		return used;
	}
	p->client_spoke = true;
	/* with no 334 seen, a line that is a command is one (base64 has no space or ':') */
	if (p->auth_expect && p->auth_assumed && line_is_command(ln.p, ln.n))
		p->auth_expect = false;
	if (p->auth_expect)
		auth_line(s, ln.p, ln.n);
	else
		command_line(s, ln.p, ln.n);
	return used;
}

/* The message is over (its lone "."): the reply to come answers a "." entry. */
void
client_end_body(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;
	struct smtp_message *m = &s->msgs[p->body_msg];

	settle_body(s, true);
	if (p->body.bare_lf)
		session_flag(s, SMTP_ANOM_BARE_LF);
	m->data_ended = true;
	p->cur_msg = -1; /* the end of the data ends the transaction, whatever the reply */
	server_early_strays(s, SMTP_DOT);
	int idx = session_add_command(s, SMTP_DOT, NULL, 0, NULL, 0);

	if (idx >= 0) {
		s->cmds[idx].msg = p->body_msg;
		s->cmds[idx].assumed = p->body_assumed;
		m->end_cmd = idx;
	}
	p->body_assumed = false;
	session_push_pending(s, SMTP_DOT, idx);
	p->mode = CM_COMMAND;
	p->body_msg = -1;
	server_take_early(s);
}

static size_t
take_body(struct smtp_session *s, const uint8_t *data, size_t n)
{
	struct smtp_priv *p = s->priv;
	size_t used = body_feed(&p->body, &p->arena, &s->msgs[p->body_msg], data, n, true);

	if (p->body.ended)
		client_end_body(s);
	return used;
}

/* The last BDAT chunk is in: the message is complete. */
static void
last_chunk_done(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;
	struct smtp_message *m;

	if (p->body_msg < 0)
		return;
	m = &s->msgs[p->body_msg];
	settle_body(s, true);
	m->data_ended = true;
	p->cur_msg = -1;
	p->body_msg = -1;
}

static size_t
take_chunk(struct smtp_session *s, const uint8_t *data, size_t n)
{
	struct smtp_priv *p = s->priv;
	size_t take = p->chunk_left < n ? (size_t)p->chunk_left : n;

	if (p->body_msg >= 0)
		body_feed(&p->body, &p->arena, &s->msgs[p->body_msg], data, take, false);
	p->chunk_left -= take;
	if (p->chunk_left == 0) {
		p->mode = CM_COMMAND;
		if (p->chunk_last)
			last_chunk_done(s);
	}
	return take;
}

static void
hold(struct smtp_session *s, const uint8_t *data, size_t n)
{
	struct smtp_priv *p = s->priv;

	if (n > p->hold_cap - p->hold_len) {
		size_t cap = p->hold_cap ? p->hold_cap : 1024;

		while (cap - p->hold_len < n)
			cap *= 2;
		uint8_t *b = realloc(p->hold, cap);

		if (!b) {
			session_flag(s, SMTP_ANOM_MEMORY_CAP);
			return;
		}
		p->hold = b;
		p->hold_cap = cap;
	}
	memcpy(p->hold + p->hold_len, data, n);
	p->hold_len += n;
}

static void
client_run(struct smtp_session *s, const uint8_t *data, size_t n)
{
	struct smtp_priv *p = s->priv;

	while (n > 0) {
		size_t used;

		if (p->blocked) {
			hold(s, data, n);
			return;
		}
		switch (p->mode) {
		case CM_COMMAND:
			used = take_command(s, data, n);
			break;
		case CM_BODY:
			used = take_body(s, data, n);
			break;
		case CM_CHUNK:
			used = take_chunk(s, data, n);
			break;
		case CM_TLS:
			starttls_feed(s, RSM_C2S, data, n);
			return;
		default:
			s->unparsed[RSM_C2S] += n;
			return;
		}
		data += used;
		n -= used;
	}
}

/*
 * How many lines a client sends after AUTH at most, by mechanism: PLAIN one
 * (RFC 4616), LOGIN the user name and the password, CRAM-MD5 one (RFC 2195),
 * XOAUTH2 the token and an empty line after an error; one fewer when the
 * AUTH command carried the first (RFC 4954 4). Unknown mechanisms: two.
 */
static unsigned
auth_answers(const struct smtp_session *s)
{
	static const struct {
		const char *mech;
		unsigned answers;
	} mechs[] = {{"PLAIN", 1}, {"LOGIN", 2}, {"CRAM-MD5", 1}, {"XOAUTH2", 2}, {"OAUTHBEARER", 2}};
	unsigned n = 2;

	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strcmp(s->auth.mechanism, mechs[i].mech) == 0)
			n = mechs[i].answers;
	return n > s->priv->auth_initial ? n - s->priv->auth_initial : 0;
}

/* Act as if the awaited reply said "go on" (the server side is missing or late). */
static void
assume_go_ahead(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;

	switch (p->turn_verb) {
	case SMTP_DATA:
		client_open_body(s, p->turn_msg);
		p->body_assumed = p->mode == CM_BODY;
		break;
	case SMTP_AUTH:
	case SMTP_AUTH_DATA: /* only as many answers as the mechanism has (auth_answers) */
		p->auth_expect = p->auth_lines < auth_answers(s);
		p->auth_assumed = true;
		break;
	case SMTP_STARTTLS:
		p->tls_check = true;
		break;
	default:
		break;
	}
}

void
client_release(struct smtp_session *s, bool forced)
{
	struct smtp_priv *p = s->priv;

	/* Each round reads at least the line that blocked it, so this ends. */
	while (p->blocked || p->hold_len) {
		if (p->blocked && !forced)
			return;
		if (p->blocked)
			assume_go_ahead(s);
		p->blocked = false;
		uint8_t *buf = p->hold;
		size_t len = p->hold_len;

		p->hold = NULL;
		p->hold_len = p->hold_cap = 0;
		client_run(s, buf, len);
		free(buf);
		if (p->mode == CM_TLS || p->mode == CM_NOT_SMTP) {
			p->blocked = false;
			break;
		}
	}
}

void
client_data(struct smtp_session *s, const uint8_t *data, size_t n)
{
	struct smtp_priv *p = s->priv;

	if (p->tls_on && !p->in_plain) {
		starttls_feed(s, RSM_C2S, data, n);
		return;
	}
	if (p->mode == CM_TLS || p->mode == CM_NOT_SMTP) {
		client_run(s, data, n);
		return;
	}
	if (p->blocked || p->hold_len) {
		if (p->hold_len + n > p->dec->cfg.max_hold) {
			session_flag(s, SMTP_ANOM_REPLY_AWAIT_OVERFLOW);
			client_release(s, true);
			client_run(s, data, n);
			return;
		}
		hold(s, data, n);
		return;
	}
	client_run(s, data, n);
}
