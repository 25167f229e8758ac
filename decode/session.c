/*
 * session.c - the life of one SMTP session, from the reassembly events.
 *
 * OPEN creates the session (with a CONNECT entry awaiting the greeting when
 * the handshake was seen), DATA and GAP go to client.c or server.c by
 * direction, CLOSE settles what is still pending, writes the verdict, hands
 * the session to the caller and frees it. Arrays grow on demand up to the
 * caps in smtp_config.
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const verb_names[SMTP_VERB_COUNT] = {
#define X(e, name, flags) [SMTP_##e] = name,
#include "smtp_cmds.def"
#undef X
};

static const uint8_t verb_flags[SMTP_VERB_COUNT] = {
#define X(e, name, flags) [SMTP_##e] = (flags),
#include "smtp_cmds.def"
#undef X
};

static const char *const anomaly_names[SMTP_ANOM_COUNT] = {
#define X(e, name) [SMTP_ANOM_##e] = name,
#include "smtp_anomalies.def"
#undef X
};

static const char *const result_names[] = {
	[SMTP_NO_REPLY] = "no_reply",
	[SMTP_SUCCESS] = "success",
	[SMTP_INTERMEDIATE] = "intermediate",
	[SMTP_TEMPFAIL] = "temporary_failure",
	[SMTP_PERMFAIL] = "permanent_failure",
};

static const char *const match_names[SMTP_MATCH_COUNT] = {
	[SMTP_MATCH_TEXT] = "text",
	[SMTP_MATCH_ENHANCED] = "enhanced",
	[SMTP_MATCH_ENHANCED_CLASS] = "enhanced_class",
	[SMTP_MATCH_CODE_IN_CONTEXT] = "code_in_context",
	[SMTP_MATCH_FIRST_DIGIT] = "first_digit",
};

static const char *const outcome_names[SMTP_OUT_COUNT] = {
	[SMTP_OUT_NONE] = "none",
	[SMTP_OUT_DELIVERED] = "delivered",
	[SMTP_OUT_PARTIAL] = "partial",
	[SMTP_OUT_DEFERRED] = "deferred",
	[SMTP_OUT_REJECTED] = "rejected",
	[SMTP_OUT_ABORTED] = "aborted",
	[SMTP_OUT_ABANDONED] = "abandoned",
	[SMTP_OUT_NEVER_REACHED] = "never_reached",
	[SMTP_OUT_NO_MAIL] = "no_mail",
	[SMTP_OUT_UNKNOWN] = "unknown",
};

const char *
smtp_outcome_name(enum smtp_outcome o)
{
	return (unsigned)o < SMTP_OUT_COUNT ? outcome_names[o] : "unknown";
}

static const char *const state_names[] = {
	[SMTP_ST_REFUSED] = "refused",	 [SMTP_ST_NO_ANSWER] = "no_answer",
	[SMTP_ST_CLOSED] = "closed",	 [SMTP_ST_RESET] = "reset",
	[SMTP_ST_TIMEOUT] = "timeout",	 [SMTP_ST_UNFINISHED] = "unfinished",
};

/* The verdict when its own text could not be kept either: the outcome, and why no more. */
#define NOT_KEPT                                                                              \
	" (the rest of the verdict could not be kept: the session's text reached its memory " \
	"limit, --limit session-memory or memory)."
static const char *const verdict_not_kept[SMTP_OUT_COUNT] = {
	[SMTP_OUT_NONE] = "Outcome unknown" NOT_KEPT,
	[SMTP_OUT_DELIVERED] = "Delivered" NOT_KEPT,
	[SMTP_OUT_PARTIAL] = "Partly delivered" NOT_KEPT,
	[SMTP_OUT_DEFERRED] = "Deferred" NOT_KEPT,
	[SMTP_OUT_REJECTED] = "Rejected" NOT_KEPT,
	[SMTP_OUT_ABORTED] = "Aborted" NOT_KEPT,
	[SMTP_OUT_ABANDONED] = "No message sent" NOT_KEPT,
	[SMTP_OUT_NEVER_REACHED] = "Never reached SMTP" NOT_KEPT,
	[SMTP_OUT_NO_MAIL] = "No message sent" NOT_KEPT,
	[SMTP_OUT_UNKNOWN] = "Outcome unknown" NOT_KEPT,
};

/* How a flow's end maps to the session state of the contract. */
static const enum smtp_state end_states[] = {
	[RSM_END_CLOSED] = SMTP_ST_CLOSED,	  [RSM_END_RESET] = SMTP_ST_RESET,
	[RSM_END_REFUSED] = SMTP_ST_REFUSED,	  [RSM_END_NO_ANSWER] = SMTP_ST_NO_ANSWER,
	[RSM_END_TIMEOUT] = SMTP_ST_TIMEOUT,	  [RSM_END_UNFINISHED] = SMTP_ST_UNFINISHED,
	[RSM_END_EVICTED] = SMTP_ST_UNFINISHED,  [RSM_END_UNREACHABLE] = SMTP_ST_REFUSED,
};

const char *
smtp_verb_name(enum smtp_verb v)
{
	return (unsigned)v < SMTP_VERB_COUNT ? verb_names[v] : "";
}

bool
session_verb_turns(enum smtp_verb v)
{
	return (unsigned)v < SMTP_VERB_COUNT && (verb_flags[v] & SMTP_F_TURN);
}

const char *
smtp_anomaly_name(enum smtp_anomaly a)
{
	return (unsigned)a < SMTP_ANOM_COUNT ? anomaly_names[a] : "unknown";
}

const char *
smtp_result_name(enum smtp_result r)
{
	return (unsigned)r <= SMTP_PERMFAIL ? result_names[r] : "no_reply";
}

const char *
smtp_match_name(enum smtp_match m)
{
	return (unsigned)m < SMTP_MATCH_COUNT ? match_names[m] : "first_digit";
}

static const char *const rcpt_status_names[SMTP_RCPT_STATUS_COUNT] = {
	[SMTP_RCPT_PENDING] = "unknown",
	[SMTP_RCPT_ACCEPTED] = "accepted",
	[SMTP_RCPT_DEFERRED] = "deferred",
	[SMTP_RCPT_REJECTED] = "rejected",
};

const char *
smtp_rcpt_status_name(enum smtp_rcpt_status st)
{
	return (unsigned)st < SMTP_RCPT_STATUS_COUNT ? rcpt_status_names[st] : "unknown";
}

const char *
smtp_pairing_name(enum smtp_pairing p)
{
	return p == SMTP_PAIR_SEEN ? "seen" : p == SMTP_PAIR_INFERRED ? "inferred" : NULL;
}

const char *
smtp_state_name(enum smtp_state s)
{
	return (unsigned)s <= SMTP_ST_UNFINISHED ? state_names[s] : "unfinished";
}

enum smtp_result
smtp_result_of(int code)
{
	switch (code / 100) {
	case 2:
		return SMTP_SUCCESS;
	case 3:
		return SMTP_INTERMEDIATE;
	case 4:
		return SMTP_TEMPFAIL;
	case 5:
		return SMTP_PERMFAIL;
	default:
		return SMTP_NO_REPLY;
	}
}

void
smtp_default_config(struct smtp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_line = 4096;
	cfg->max_reply_bytes = 16384;
	cfg->max_pending = 1000;
	cfg->max_commands = 10000;
	cfg->max_messages = 1000;
	cfg->max_rcpts = 1000;
	cfg->max_hold = 65536;
	cfg->max_session_mem = 4u << 20;
	cfg->show_secrets = false;
}

struct smtp_decoder *
smtp_new(const struct smtp_config *cfg, smtp_session_fn *done, void *arg)
{
	struct smtp_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = *cfg;
	d->done = done;
	d->arg = arg;
	return d;
}

const struct smtp_stats *
smtp_stats(const struct smtp_decoder *d)
{
	return &d->stats;
}

void
smtp_free(struct smtp_decoder *d)
{
	if (d)
		explain_memo_free(d);
	free(d);
}

void
session_flag(struct smtp_session *s, enum smtp_anomaly a)
{
	s->anomalies |= 1ull << a;
}

void
session_memory_refused(struct smtp_session *s)
{
	session_flag(s, s->priv->arena.hit_budget ? SMTP_ANOM_MEMORY_BUDGET : SMTP_ANOM_MEMORY_CAP);
}

const char *
session_strdup(struct smtp_session *s, const char *p, size_t n)
{
	const char *c = arena_strndup(&s->priv->arena, p, n);

	if (!c)
		session_memory_refused(s);
	return c;
}

const char *
session_wiredup(struct smtp_session *s, const char *p, size_t n)
{
	const char *c = arena_wiredup(&s->priv->arena, p, n);

	if (!c)
		session_memory_refused(s);
	return c;
}

/* Grow an array of `size`-byte items to hold one more, within max items. */
int
session_grow(struct smtp_session *s, void **arr, size_t *cap, size_t have, size_t size,
	     size_t max)
{
	struct smtp_priv *p = s->priv;

	if (have < *cap)
		return 1;
	if (have >= max)
		return 0;
	size_t n = *cap ? *cap * 2 : 2; /* most attempts hold one entry: start small */

	if (n > max)
		n = max;
	size_t more = (n - *cap) * size;

	if (!cap_budget_take(more)) {
		session_flag(s, SMTP_ANOM_MEMORY_BUDGET);
		return -1;
	}
	void *a = realloc(*arr, n * size);

	if (!a) { /* out of memory: said as such, not as a cap the session went past */
		cap_budget_give(more);
		session_flag(s, SMTP_ANOM_MEMORY_CAP);
		return -1;
	}
	p->arrays_held += more;
	*arr = a;
	*cap = n;
	return 1;
}

int
session_add_command(struct smtp_session *s, enum smtp_verb v, const char *name, size_t nlen,
		    const char *arg, size_t alen)
{
	struct smtp_priv *p = s->priv;
	struct smtp_command *c;

	p->dec->stats.commands++;
	int room = session_grow(s, (void **)&s->cmds, &p->cap_cmds, s->n_cmds, sizeof(*c),
				p->dec->cfg.max_commands);

	if (room <= 0) {
		if (room == 0)
			session_flag(s, SMTP_ANOM_TOO_MANY_COMMANDS);
		return -1;
	}
	c = &s->cmds[s->n_cmds];
	memset(c, 0, sizeof(*c));
	c->verb = v;
	c->name = v == SMTP_OTHER ? session_wiredup(s, name, nlen) : verb_names[v];
	if (!c->name)
		c->name = "";
	c->arg = arg ? session_wiredup(s, arg, alen) : NULL;
	c->ts = p->ts;
	c->result = SMTP_NO_REPLY;
	c->matched_on = SMTP_MATCH_CODE_IN_CONTEXT;
	c->msg = c->rcpt = c->prev = -1;
	c->in_tls = p->tls_plain;
	return (int)s->n_cmds++;
}

int
session_new_message(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;
	struct smtp_message *m;

	int room = session_grow(s, (void **)&s->msgs, &p->cap_msgs, s->n_msgs, sizeof(*m),
				p->dec->cfg.max_messages);

	if (room <= 0) {
		if (room == 0)
			session_flag(s, SMTP_ANOM_TOO_MANY_MESSAGES);
		return -1;
	}
	m = &s->msgs[s->n_msgs];
	memset(m, 0, sizeof(*m));
	m->size = -1;
	m->mail_cmd = m->end_cmd = m->first_failure = m->closing_failure = -1;
	p->dec->stats.messages++;
	return (int)s->n_msgs++;
}

void
session_push_pending(struct smtp_session *s, enum smtp_verb v, int idx)
{
	struct smtp_priv *p = s->priv;

	if (p->pend_n == p->pend_cap) {
		size_t n = p->pend_cap ? p->pend_cap * 2 : 8;

		if (n > p->dec->cfg.max_pending)
			n = p->dec->cfg.max_pending;
		struct pending *a = n > p->pend_cap ? malloc(n * sizeof(*a)) : NULL;

		if (!a) { /* full: forget the oldest, its reply will pair with the next */
			session_flag(s, SMTP_ANOM_PENDING_OVERFLOW);
			if (!p->pend_cap)
				return;
			p->pend_head = (p->pend_head + 1) % p->pend_cap;
			p->pend_n--;
		} else {
			for (size_t i = 0; i < p->pend_n; i++)
				a[i] = p->pend[(p->pend_head + i) % p->pend_cap];
			free(p->pend);
			p->pend = a;
			p->pend_cap = n;
			p->pend_head = 0;
		}
	}
	int msg = idx >= 0 ? s->cmds[idx].msg : v == SMTP_DOT ? p->body_msg : p->cur_msg;

	p->pend[(p->pend_head + p->pend_n) % p->pend_cap] = (struct pending){(uint8_t)v, idx, msg};
	p->pend_n++;
}

bool
session_pop_pending(struct smtp_session *s, struct pending *out)
{
	struct smtp_priv *p = s->priv;

	if (!p->pend_n)
		return false;
	*out = p->pend[p->pend_head];
	p->pend_head = (p->pend_head + 1) % p->pend_cap;
	p->pend_n--;
	return true;
}

/*
 * A session and its decoding state live and die together: one block. (Two
 * allocations of sizes that fell between the allocator's bins cost a SYN
 * flood 36 MB of fragmented heap.)
 */
struct session_block {
	struct smtp_session s;
	struct smtp_priv p;
};

static struct smtp_session *
session_open(struct smtp_decoder *d, const struct rsm_event *ev)
{
	struct session_block *b = calloc(1, sizeof(*b));
	struct smtp_session *s = b ? &b->s : NULL;
	struct smtp_priv *p = b ? &b->p : NULL;

	if (!b)
		return NULL;
	s->priv = p;
	p->dec = d;
	arena_init(&p->arena, d->cfg.max_session_mem);
	line_init(&p->cline, d->cfg.max_line);
	line_init(&p->sline, d->cfg.max_line);
	line_init(&p->rtext, d->cfg.max_reply_bytes);
	body_init(&p->body);
	p->cur_msg = p->body_msg = -1;
	p->ts = ev->ts;
	s->id = ev->conn->id;
	s->ts_first = ev->conn->ts_first;
	s->client = ev->conn->client;
	s->server = ev->conn->server;
	s->client_port = ev->conn->client_port;
	s->server_port = ev->conn->server_port;
	s->midstream = ev->conn->midstream;
	s->auth.success = -1;
	if (!s->midstream)
		session_push_pending(s, SMTP_CONNECT, session_add_command(s, SMTP_CONNECT, NULL, 0,
									  NULL, 0));
	d->stats.sessions++;
	return s;
}

/* What only decoding needs; the arena holds the session's strings and stays. */
static void
free_decoding_state(struct smtp_priv *p)
{
	line_free(&p->cline);
	line_free(&p->sline);
	line_free(&p->rtext);
	body_free(&p->body);
	free(p->pend);
	free(p->hold);
	tls_free(p->tls);
	free(p->early);
	p->pend = NULL;
	p->hold = NULL;
	p->tls = NULL;
	p->early = NULL;
}

void
smtp_session_free(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;

	free_decoding_state(p);
	arena_free(&p->arena);
	cap_budget_give(p->arrays_held);
	for (size_t i = 0; i < s->n_msgs; i++)
		free(s->msgs[i].rcpt);
	free(s->msgs);
	free(s->cmds);
	free(s->extensions);
	free(s); /* and its smtp_priv: one block (session_open) */
}

/* The open transaction and the body being read lost bytes. */
static void
mark_messages_cut(struct smtp_session *s)
{
	if (s->priv->cur_msg >= 0)
		s->msgs[s->priv->cur_msg].gap = true;
	if (s->priv->body_msg >= 0)
		s->msgs[s->priv->body_msg].gap = true;
}

void
session_lose(struct smtp_session *s, enum smtp_anomaly why, enum rsm_dir dir, size_t len)
{
	session_flag(s, why);
	mark_messages_cut(s);
	if (dir == RSM_S2C)
		server_gap(s, len);
	else
		client_gap(s, len);
}

/* A gap: bytes of one direction never seen (reassembly says how many). */
static void
session_gap(struct smtp_session *s, enum rsm_dir dir, size_t len)
{
	if (!s->priv->tls_on) {
		session_lose(s, SMTP_ANOM_GAP, dir, len);
		return;
	}
	/* when decrypting, tls/ says what the dialog lost (starttls.c: on_lost) */
	session_flag(s, SMTP_ANOM_GAP);
	mark_messages_cut(s);
	starttls_gap(s, dir, len);
}

/* Commands that never got a reply, and the transport facts, explained. */
static void
settle_unanswered(struct smtp_session *s)
{
	struct pending pd;

	while (session_pop_pending(s, &pd)) {
		if (pd.idx < 0)
			continue;
		if (pd.verb != SMTP_CONNECT && pd.verb != SMTP_QUIT)
			session_flag(s, SMTP_ANOM_COMMAND_WITHOUT_REPLY);
	}
	for (size_t i = 0; i < s->n_cmds; i++)
		if (!s->cmds[i].has_reply)
			s->cmds[i].explanation = explain_silence(s, &s->cmds[i]);
}

static void
settle_sides(struct smtp_session *s, const struct rsm_conn *c)
{
	if (s->state == SMTP_ST_REFUSED || s->state == SMTP_ST_NO_ANSWER)
		return;
	if (c->packets[RSM_S2C] == 0 && c->packets[RSM_C2S] > 0 && c->bytes[RSM_C2S] > 0)
		session_flag(s, SMTP_ANOM_ONLY_CLIENT_SIDE);
	if (c->packets[RSM_C2S] == 0 && c->packets[RSM_S2C] > 0)
		session_flag(s, SMTP_ANOM_ONLY_SERVER_SIDE);
	if (c->retransmitted[0] + c->retransmitted[1] > 0)
		session_flag(s, SMTP_ANOM_RETRANSMISSIONS);
	if (c->overlap_conflicts[0] + c->overlap_conflicts[1] > 0)
		session_flag(s, SMTP_ANOM_OVERLAP_CONFLICT);
	if (c->zero_window[RSM_S2C])
		session_flag(s, SMTP_ANOM_ZERO_WINDOW);
}

/* What the capture could not see, for the reader to weigh the verdict by. */
static void
settle_capture(struct smtp_session *s, const struct rsm_conn *c)
{
	const struct smtp_command *c0 = s->n_cmds ? &s->cmds[0] : NULL;

	if (c->snap_cut[0] + c->snap_cut[1] > 0)
		s->capture.snaplen = s->priv->dec->cfg.snaplen > 0 ? s->priv->dec->cfg.snaplen : -1;
	s->capture.one_side = -1;
	if (s->anomalies & (1ull << SMTP_ANOM_ONLY_CLIENT_SIDE))
		s->capture.one_side = RSM_C2S;
	if (s->anomalies & (1ull << SMTP_ANOM_ONLY_SERVER_SIDE))
		s->capture.one_side = RSM_S2C;
	/* a greeting passed over with no gap was never sent: the capture saw it all */
	s->capture.after_greeting = s->n_cmds && (s->midstream || c0->lost) &&
				    !(c0->verb == SMTP_CONNECT && c0->has_reply);
	s->capture.ends_mid_session = s->state == SMTP_ST_UNFINISHED;
}

static bool
offered(const struct smtp_session *s, const char *ext)
{
	size_t n = strlen(ext);

	for (size_t i = 0; i < s->n_extensions; i++)
		if (strncasecmp(s->extensions[i], ext, n) == 0 &&
		    (s->extensions[i][n] == '\0' || s->extensions[i][n] == ' '))
			return true;
	return false;
}

/* Was the (first) AUTH command sent inside TLS? */
static bool
auth_in_tls(const struct smtp_session *s)
{
	for (size_t i = 0; i < s->n_cmds; i++)
		if (s->cmds[i].verb == SMTP_AUTH)
			return s->cmds[i].in_tls;
	return false;
}

/* Security facts of the session as a whole (issue: STARTTLS unused, AUTH in clear). */
static void
settle_security(struct smtp_session *s)
{
	bool mail = s->n_msgs > 0;

	if (offered(s, "STARTTLS") && !s->starttls && (mail || s->has_auth))
		session_flag(s, SMTP_ANOM_STARTTLS_NOT_USED);
	/*
	 * PLAIN and LOGIN carry the password itself: in clear unless the AUTH was
	 * read inside TLS (a key log: --tls-keylog, or a probe's own TLS).
	 */
	if (s->has_auth && (strcmp(s->auth.mechanism, "PLAIN") == 0 ||
			    strcmp(s->auth.mechanism, "LOGIN") == 0) && !auth_in_tls(s))
		session_flag(s, SMTP_ANOM_AUTH_CLEARTEXT);
}

static void
session_close(struct smtp_decoder *d, struct smtp_session *s, const struct rsm_event *ev)
{
	struct smtp_priv *p = s->priv;
	const struct rsm_conn *c = ev->conn;
	char verdict[512];

	p->ts = ev->ts;
	if (p->blocked || p->hold_len)
		client_release(s, true);
	client_abort_body(s);
	s->state = end_states[ev->end];
	if (ev->end == RSM_END_EVICTED)
		session_flag(s, SMTP_ANOM_FLOW_EVICTED);
	if (c->icmp_type) {
		session_flag(s, SMTP_ANOM_ICMP_UNREACHABLE);
		s->icmp_type = c->icmp_type;
		s->icmp_code = c->icmp_code;
		s->icmp_from = c->icmp_from;
	}
	s->ts_last = c->ts_last;
	s->first_closer = c->first_closer;
	memcpy(s->packets, c->packets, sizeof(s->packets));
	memcpy(s->bytes, c->bytes, sizeof(s->bytes));
	memcpy(s->gaps, c->gap_bytes, sizeof(s->gaps));
	/* a subject or an address that could not be kept: the cap, or the process's budget */
	if (p->arena.hit_cap)
		session_flag(s, SMTP_ANOM_MEMORY_CAP);
	if (p->arena.hit_budget)
		session_flag(s, SMTP_ANOM_MEMORY_BUDGET);
	if (!s->helo) /* none accepted: the last one sent (DESIGN.md) */
		s->helo = p->helo_sent;
	starttls_settle(s, c);
	settle_sides(s, c);
	settle_capture(s, c);
	settle_security(s);
	server_flush_early(s);
	settle_unanswered(s);
	explain_verdict(s, verdict, sizeof(verdict));
	s->verdict = session_strdup(s, verdict, strlen(verdict));
	if (!s->verdict)
		s->verdict = verdict_not_kept[s->outcome];
	if (s->state == SMTP_ST_REFUSED)
		d->stats.refused++;
	if (s->state == SMTP_ST_NO_ANSWER)
		d->stats.no_answer++;
	for (int a = 0; a < SMTP_ANOM_COUNT; a++)
		if (s->anomalies & (1ull << a))
			d->stats.anomalies[a]++;
	for (size_t i = 0; i < s->n_msgs; i++)
		d->stats.messages_accepted += s->msgs[i].accepted;
	d->stats.outcomes[s->outcome]++;
	d->stats.cut_by_snaplen += s->capture.snaplen != 0;
	d->stats.one_side += s->capture.one_side >= 0;
	d->stats.after_greeting += s->capture.after_greeting;
	d->stats.ends_mid_session += s->capture.ends_mid_session;
	if (s->tls && s->tls->keys != TLS_KEYS_OFF && s->tls->handshake == TLS_HS_COMPLETED) {
		d->stats.tls_decrypted += s->tls->decrypted;
		d->stats.tls_not_decrypted += !s->tls->decrypted;
	}
	if (s->tls)
		d->stats.tls_failed_records += s->tls->failed_records;
	d->stats.ended++;
	d->done(d->arg, s);
	if (d->cfg.keep_sessions)
		free_decoding_state(s->priv);
	else
		smtp_session_free(s);
}

void
smtp_on_stream(void *arg, const struct rsm_event *ev)
{
	struct smtp_decoder *d = arg;
	struct smtp_session *s = ev->conn->user;

	if (ev->type == RSM_EV_OPEN) {
		ev->conn->user = session_open(d, ev);
		return;
	}
	if (!s)
		return;
	s->priv->ts = ev->ts;
	switch (ev->type) {
	case RSM_EV_DATA:
		if (ev->dir == RSM_C2S)
			client_data(s, ev->data, ev->len);
		else
			server_data(s, ev->data, ev->len);
		break;
	case RSM_EV_GAP:
		session_gap(s, ev->dir, ev->len);
		break;
	case RSM_EV_CLOSE:
		session_close(d, s, ev);
		ev->conn->user = NULL;
		break;
	default:
		break;
	}
}
