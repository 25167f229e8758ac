/*
 * pair.c - which command a reply answers: an alignment, not a queue pop.
 *
 * Replies come in the order of the commands (RFC 5321 4.3.1; RFC 2920 3.1
 * for pipelined groups), but a capture may miss some of them (a gap, a snap
 * length, a greeting never sent). A reply therefore pairs only with a
 * waiting command it can answer (RFC 5321 4.3.2 and the extension RFCs: 354
 * only DATA, 334 and 235 only AUTH, 220 the greeting or STARTTLS, 221 QUIT),
 * the commands it passes over are settled as "reply not seen", and where the
 * capture leaves more than one place possible the pair is marked inferred.
 *
 * The evidence used: the codes; the gaps in the server's stream and their
 * length (at most one reply per 4 bytes lost: "250\n"); the gaps in the
 * client's stream (at most one command per 6 bytes: "DATA\r\n"); the
 * enhanced code's address after a gap (X.1.0 the sender's, X.1.5 a
 * recipient's); capture order (a reply no command can take yet waits for the
 * next one). Once a pair was chosen among several, the pairs after it are
 * inferred too, until a code only one command gets settles the place again.
 */
#include "session.h"

#include <string.h>

#define MIN_REPLY_BYTES 4   /* "250\n" */
#define MIN_COMMAND_BYTES 6 /* "NOOP\r\n" */
#define LOSS_MAX 4096	    /* replies or commands a run of gaps may have hidden */

/* a + b, at most LOSS_MAX: how many replies or commands gaps may have hidden */
static uint32_t
capped_add(uint32_t a, size_t b)
{
	return b > LOSS_MAX - a ? LOSS_MAX : (uint32_t)(a + b);
}

/* What a code is, for pairing: the codes one command alone may get, then the rest. */
enum reply_kind {
	K_220 = 1 << 0, /* greeting, or ready for TLS (RFC 3207 4) */
	K_221 = 1 << 1, /* closing (QUIT) */
	K_235 = 1 << 2, /* authenticated (RFC 4954 6) */
	K_334 = 1 << 3, /* AUTH challenge (RFC 4954 4) */
	K_354 = 1 << 4, /* start mail input (DATA only) */
	K_2XX = 1 << 5, /* any other 2xx: 250, 251, 252, 211, 214, 253 ... */
	K_3XX = 1 << 6, /* any other 3xx */
	K_FAIL = 1 << 7, /* 4xx and 5xx: any command may fail, and 421 may come at any time */
	K_SYNTAX = 1 << 8 /* 500-504: a command not understood; never a greeting */
};

#define K_ANY 0x1ff
#define K_CMD_FAIL (K_FAIL | K_SYNTAX)

/* The replies each command may get (RFC 5321 4.3.2; 3207, 4954, 3030, 1985). */
static const uint16_t allowed[SMTP_VERB_COUNT] = {
	[SMTP_CONNECT] = K_220 | K_FAIL, /* 554 or 421 refuse the connection; 500-504 answer commands */
	[SMTP_HELO] = K_2XX | K_CMD_FAIL,
	[SMTP_EHLO] = K_2XX | K_CMD_FAIL,
	[SMTP_MAIL] = K_2XX | K_CMD_FAIL,
	[SMTP_RCPT] = K_2XX | K_CMD_FAIL,
	[SMTP_DATA] = K_354 | K_CMD_FAIL,
	[SMTP_BDAT] = K_2XX | K_CMD_FAIL,
	[SMTP_DOT] = K_2XX | K_CMD_FAIL,
	[SMTP_RSET] = K_2XX | K_CMD_FAIL,
	[SMTP_NOOP] = K_2XX | K_CMD_FAIL,
	[SMTP_QUIT] = K_221 | K_CMD_FAIL,
	[SMTP_STARTTLS] = K_220 | K_CMD_FAIL,
	[SMTP_AUTH] = K_235 | K_334 | K_CMD_FAIL,
	[SMTP_AUTH_DATA] = K_235 | K_334 | K_CMD_FAIL,
	[SMTP_VRFY] = K_2XX | K_CMD_FAIL,
	[SMTP_EXPN] = K_2XX | K_CMD_FAIL,
	[SMTP_HELP] = K_2XX | K_CMD_FAIL,
	[SMTP_ETRN] = K_2XX | K_CMD_FAIL,
	[SMTP_SERVER_CLOSE] = 0,
	/* an unknown verb, or a "?" for a line a gap cut: not the replies only one verb gets */
	[SMTP_OTHER] = K_ANY & ~(K_221 | K_235 | K_334 | K_354),
};

/* A switch, not a table walk: this runs for every reply. */
static uint16_t
reply_kind(int code)
{
	switch (code) {
	case 220:
		return K_220;
	case 221:
		return K_221;
	case 235:
		return K_235;
	case 334:
		return K_334;
	case 354:
		return K_354;
	case 500: case 501: case 502: case 503: case 504:
		return K_SYNTAX;
	default:
		return code / 100 == 2 ? K_2XX : code / 100 == 3 ? K_3XX : K_FAIL;
	}
}

bool
smtp_reply_allowed(enum smtp_verb v, int code)
{
	return (unsigned)v < SMTP_VERB_COUNT && (allowed[v] & reply_kind(code));
}

static const struct pending *
pending_at(const struct smtp_priv *p, size_t i)
{
	return &p->pend[(p->pend_head + i) % p->pend_cap];
}

/* May this reply answer this waiting command? A "?" (a line a gap cut) may be anything. */
static bool
fits(const struct smtp_session *s, const struct pending *pd, int code)
{
	if (pd->verb == SMTP_OTHER && pd->idx >= 0 && strcmp(s->cmds[pd->idx].name, "?") == 0)
		return true;
	return smtp_reply_allowed(pd->verb, code);
}

#define VB(v) (1u << (v))
#define ANY_VERB 0xffffffffu
_Static_assert(SMTP_VERB_COUNT <= 32, "VB(): a verb is one bit of a uint32_t");

/*
 * Whose address an enhanced code speaks of (RFC 3463 3.2, X.1.*): a
 * recipient's, or the sender's. After a gap, it tells a MAIL's reply from a
 * RCPT's where the code alone cannot. Postfix, Exim and Exchange say 2.1.0
 * to MAIL and 2.1.5 to RCPT.
 */
static const struct {
	int cls;	/* 2, or 0 for a failure (4 or 5) */
	const char *sd; /* subject.detail */
	uint32_t verbs;
} address_codes[] = {
	{2, "1.0", VB(SMTP_MAIL)},
	{2, "1.5", VB(SMTP_RCPT) | VB(SMTP_VRFY)},
	{0, "1.1", VB(SMTP_RCPT) | VB(SMTP_VRFY) | VB(SMTP_EXPN)},
	{0, "1.2", VB(SMTP_RCPT) | VB(SMTP_VRFY) | VB(SMTP_EXPN)},
	{0, "1.3", VB(SMTP_RCPT) | VB(SMTP_VRFY) | VB(SMTP_EXPN)},
	{0, "1.6", VB(SMTP_RCPT) | VB(SMTP_VRFY) | VB(SMTP_EXPN)},
	{0, "1.7", VB(SMTP_MAIL)},
	{0, "1.8", VB(SMTP_MAIL)},
};

static uint32_t
address_hint(int code, const char *enh)
{
	int cls = code / 100 == 2 ? 2 : 0;

	if (!enh || !enh[0] || enh[0] - '0' != code / 100)
		return ANY_VERB;
	for (size_t i = 0; i < sizeof(address_codes) / sizeof(address_codes[0]); i++)
		if (address_codes[i].cls == cls && strcmp(enh + 2, address_codes[i].sd) == 0)
			return address_codes[i].verbs;
	return ANY_VERB;
}

/* The first waiting command from `from` this code can answer, among verbs, or pend_n. */
static size_t
first_fit_of(const struct smtp_session *s, int code, size_t from, uint32_t verbs)
{
	const struct smtp_priv *p = s->priv;
	size_t i = from;

	while (i < p->pend_n && !(fits(s, pending_at(p, i), code) &&
				  (verbs & VB(pending_at(p, i)->verb))))
		i++;
	return i;
}

static size_t
first_fit(const struct smtp_session *s, int code, size_t from)
{
	return first_fit_of(s, code, from, ANY_VERB);
}

/* Commands passed over: their replies were lost in a gap, or never sent. */
static void
pass_over(struct smtp_session *s, size_t n, bool in_gap)
{
	struct pending pd;

	while (n-- && session_pop_pending(s, &pd)) {
		if (pd.idx < 0)
			continue;
		if (in_gap)
			s->cmds[pd.idx].lost = true;
		else
			s->cmds[pd.idx].skipped = true;
	}
}

/*
 * A 354 to a DATA the capture does not hold: the message follows. If the
 * client's gap that lost the DATA is not known yet (it shows when the
 * client's next bytes come), the body starts then (pair_client_gap).
 */
static void
pair_lost_data(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;

	if (p->client_gapped)
		client_open_body(s, p->cur_msg);
	else
		p->orphan_354 = true;
}

/* An entry "?" for a reply whose command is not in the capture. */
static struct pending
unnamed_entry(struct smtp_session *s)
{
	return (struct pending){SMTP_OTHER, session_add_command(s, SMTP_OTHER, "?", 1, NULL, 0), -1};
}

/* A reply for no command at all: an entry "?" of its own. */
struct pending
pair_stray(struct smtp_session *s)
{
	session_flag(s, SMTP_ANOM_REPLY_WITHOUT_COMMAND);
	return unnamed_entry(s);
}

/*
 * A reply no waiting command can take: the greeting, the server closing, the
 * answer to a command lost in a gap or to what was not SMTP, or a reply that
 * came before its command (capture order across two interfaces, generated
 * traffic): that one is kept for the next command (false: parked).
 */
static bool
unpaired(struct smtp_session *s, int code, enum smtp_pairing *how, struct pending *out)
{
	struct smtp_priv *p = s->priv;
	enum smtp_verb v = SMTP_OTHER;

	*how = SMTP_PAIR_SEEN;
	if (!p->greeted && !p->any_reply && code == 220) /* mid-stream, the greeting itself */
		v = SMTP_CONNECT;
	else if (code == 421)
		v = SMTP_SERVER_CLOSE; /* RFC 5321 3.8: the server may close at any time */
	if (v != SMTP_OTHER) {
		*out = (struct pending){(uint8_t)v, session_add_command(s, v, NULL, 0, NULL, 0), -1};
		return true;
	}
	*how = SMTP_PAIR_INFERRED;
	if (code == 354) /* a DATA the capture lost: its message follows */
		pair_lost_data(s);
	/* a command lost in a client gap, a DATA lost, or what the client sent that is not SMTP */
	if (p->client_unsure || code == 354 || p->mode == CM_NOT_SMTP) {
		if (p->client_unsure)
			p->client_unsure--;
		*out = unnamed_entry(s);
		return true;
	}
	/* a command from before the capture; or, after a gap, a piece of a reply it cut */
	if ((s->midstream && !p->client_spoke) || p->gap_since_pair) {
		*out = pair_stray(s);
		return true;
	}
	return false;
}

/* A command was read: the oldest early reply is its own if it fits (else a stray). */
bool
pair_early(struct smtp_session *s, int code, struct pending *out)
{
	struct smtp_priv *p = s->priv;

	if (!p->pend_n || !fits(s, pending_at(p, 0), code))
		return false;
	return session_pop_pending(s, out);
}

/* The oldest command is the only one the address in the code can be about (a MAIL's 2.1.0). */
static bool
only_one_of(const struct smtp_session *s, int code, uint32_t hint)
{
	return hint != ANY_VERB && first_fit_of(s, code, 0, hint) == 0 &&
	       first_fit_of(s, code, 1, hint) > s->priv->loss_max;
}

/* Nearly always: nothing lost to weigh, and the oldest command can get this reply. */
static bool
pair_oldest(struct smtp_session *s, int code, enum smtp_pairing *how, struct pending *out)
{
	struct smtp_priv *p = s->priv;
	const struct pending *h;

	if (p->loss_max || p->gap_pending || p->drift || p->client_unsure || !p->pend_n)
		return false;
	h = &p->pend[p->pend_head];
	if (!(allowed[h->verb] & reply_kind(code)) || (h->idx >= 0 && s->cmds[h->idx].assumed))
		return false;
	p->gap_since_pair = false;
	*how = SMTP_PAIR_SEEN;
	return session_pop_pending(s, out);
}

/*
 * The first waiting command that can take this reply; if none, what the
 * reply shows of the client: a body whose "." was not seen is over, a client
 * held back for another reply went on without it.
 */
static size_t
first_fit_or_release(struct smtp_session *s, int code)
{
	struct smtp_priv *p = s->priv;
	size_t i = first_fit(s, code, 0);

	if (i == p->pend_n && p->mode == CM_BODY) {
		/* servers answer a body only after its "."; it was lost, or its gap shows later */
		p->body_gap = true;
		p->body_assumed = true;
		client_end_body(s);
		i = first_fit(s, code, 0);
	}
	if (i == p->pend_n && p->blocked) {
		/* not the reply the client waits for: it went on without one (an AUTH never answered) */
		client_release(s, true);
		i = first_fit(s, code, 0);
	}
	return i;
}

/*
 * The command a reply answers. *how says whether the capture settles the
 * pair (seen) or smtpscope chose among places the capture leaves open.
 */
bool
pair_reply(struct smtp_session *s, int code, const char *enhanced, enum smtp_pairing *how,
	   struct pending *out)
{
	struct smtp_priv *p = s->priv;
	bool chose = false; /* a command passed over that this reply could have answered */
	uint32_t hint;
	size_t i;

	if (pair_oldest(s, code, how, out))
		return true;
	hint = address_hint(code, enhanced);

	if (p->gap_pending && !p->gap_first_cont && p->pend_n && p->loss_max &&
	    !only_one_of(s, code, hint)) {
		chose = fits(s, pending_at(p, 0), code) && (hint & VB(pending_at(p, 0)->verb));
		pass_over(s, 1, true); /* the gap held one whole reply at least: the oldest's */
		p->loss_max--;
	}
	p->gap_pending = false;
	i = first_fit_or_release(s, code);
	if (i == p->pend_n) {
		/* it answers a command lost in a client gap: those sent before it are done */
		size_t before = 0;

		while (p->client_unsure && before < p->pend_n &&
		       pending_at(p, before)->idx < p->unsure_from)
			before++;
		pass_over(s, before, before <= p->loss_max);
		p->loss_max = 0;
		return unpaired(s, code, how, out);
	}
	if (hint != ANY_VERB) {
		/*
		 * The address the code speaks of picks among the places open: within what
		 * a gap can hold, or, with nothing lost, past commands the server did not
		 * answer (a greeting and an EHLO reply never sent, then 250 2.1.0).
		 */
		size_t j = first_fit_of(s, code, i, hint);

		if (j < p->pend_n && (j <= p->loss_max || (!p->loss_max && i > 0)))
			i = j;
	}
	bool explained = i <= p->loss_max;			  /* a gap can hold i replies */
	bool greeting = i == 1 && pending_at(p, 0)->verb == SMTP_CONNECT; /* none was sent */
	/* another place the gap leaves open (none to look for without a gap) */
	size_t other = p->loss_max > i ? first_fit_of(s, code, i + 1, hint) : p->pend_n;
	bool ambiguous = other < p->pend_n && other <= p->loss_max;

	/*
	 * Passed over with no gap to hold their replies: not answered (an AUTH a
	 * server ignored, a greeting never sent). With no bytes missing, the first
	 * command that can take this reply is its place.
	 */
	pass_over(s, i, explained && !greeting);
	p->loss_max = explained ? p->loss_max - i : 0;
	p->gap_since_pair = false;
	session_pop_pending(s, out);
	/*
	 * Once a pair was chosen among several, the ones after it rest on that
	 * choice (a reply too many or too few shifts them all), until a code only
	 * one command can get, or every command sent has its reply.
	 */
	if (ambiguous || chose)
		p->drift = true;
	else if (reply_kind(code) & (K_220 | K_221 | K_235 | K_334 | K_354))
		p->drift = false;
	*how = p->drift || (out->idx >= 0 && s->cmds[out->idx].assumed) ? SMTP_PAIR_INFERRED
									 : SMTP_PAIR_SEEN;
	if (p->client_unsure && out->idx >= p->unsure_from &&
	    !(reply_kind(code) & ~(K_2XX | K_CMD_FAIL))) {
		p->client_unsure--; /* a 250 may answer a command lost before this one */
		*how = SMTP_PAIR_INFERRED;
	}
	if (!p->pend_n && !p->blocked && !p->hold_len) {
		p->loss_max = 0;
		p->drift = false;
	}
	return true;
}

/*
 * A gap in the server's stream between replies (or before a reply's code):
 * it held at most one reply for every MIN_REPLY_BYTES lost. How many at least
 * shows with the next reply (pair_reply): none if that reply began in the gap
 * (its first line seen continues it, "ddd-"), else one, the oldest waiting
 * command's.
 */
void
pair_server_gap(struct smtp_session *s, size_t len)
{
	struct smtp_priv *p = s->priv;
	size_t most = len / MIN_REPLY_BYTES;

	if (!p->pend_n)
		return;
	p->gap_pending = true;
	p->gap_first_cont = false;
	p->loss_max = capped_add(p->loss_max, most ? most : 1);
}

/*
 * A gap after a reply it cut: the replies that followed in it, if any, were
 * lost; with no command waiting, they answer commands the capture shows
 * later (the two directions are not always in order in a capture).
 */
void
pair_server_gap_more(struct smtp_session *s, size_t len)
{
	struct smtp_priv *p = s->priv;
	size_t more = len / MIN_REPLY_BYTES;

	p->loss_max = capped_add(p->loss_max, more);
}

/*
 * A gap in the client's stream between or inside commands: up to one
 * command for every MIN_COMMAND_BYTES may be lost, and their replies will
 * come. Until they have, a 2xx or a failure to a later command may belong to
 * one of them.
 */
void
pair_client_gap(struct smtp_session *s, size_t len)
{
	struct smtp_priv *p = s->priv;
	size_t lost = len / MIN_COMMAND_BYTES + 1;

	p->client_unsure = capped_add(p->client_unsure, lost);
	p->unsure_from = (int)s->n_cmds;
	p->client_gapped = true;
	if (p->orphan_354) { /* the body began in the lost bytes */
		p->orphan_354 = false;
		client_open_body(s, p->cur_msg);
		p->skip_line[RSM_C2S] = false;
		p->body_gap = p->mode == CM_BODY;
	}
}
