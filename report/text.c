/*
 * text.c - the human transcript: each command with its reply, a mark for
 * how it went, the explanation under it, then the session's verdict.
 */
#include "report.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_private.h"

#define CMD_WIDTH 34
#define REPLY_WIDTH 90

#define C_RESET "\033[0m"
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_GREEN "\033[32m"
#define C_RED "\033[31m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

/* Mark and colour per result; the ASCII marks where the locale is not UTF-8, two columns each. */
static const struct {
	const char *mark, *ascii, *color;
} marks[] = {
	[SMTP_NO_REPLY] = {"?", "? ", C_DIM},	   [SMTP_SUCCESS] = {"✓", "ok", C_GREEN},
	[SMTP_INTERMEDIATE] = {"→", "->", C_CYAN}, [SMTP_TEMPFAIL] = {"!", "! ", C_YELLOW},
	[SMTP_PERMFAIL] = {"✗", "x ", C_RED},
};

/* The other marks: a refusal handled as the protocol expects, a reply paired by inference, a cut. */
enum mark { MARK_FALLBACK, MARK_INFERRED, MARK_CUT };

static const char *const other_marks[][2] = {
	[MARK_FALLBACK] = {"↩", "<-"},
	[MARK_INFERRED] = {"≈", "~"},
	[MARK_CUT] = {"…", "..."},
};

static const char *
col(bool color, const char *c)
{
	return color ? c : "";
}

/* The mark of a value cut short, the same for every writer of text. */
void
rpt_text_ellipsis(FILE *f)
{
	fputs("…", f);
}

static const char *
mark(const struct rpt_config *cfg, enum mark m)
{
	return other_marks[m][cfg->ascii];
}

/* The anomalies in plain words, for "notes:" (JSON keeps smtp_anomaly_name()). */
static const char *const anomaly_words[SMTP_ANOM_COUNT] = {
	[SMTP_ANOM_BARE_LF] = "lines ended by a bare LF",
	[SMTP_ANOM_LINE_TOO_LONG] = "a line too long, cut (--limit line)",
	[SMTP_ANOM_REPLY_TOO_LONG] = "a reply too long, cut (--limit reply-bytes)",
	[SMTP_ANOM_MULTILINE_CODE_MISMATCH] = "a multi-line reply that changed its code",
	[SMTP_ANOM_INVALID_REPLY] = "a malformed reply",
	[SMTP_ANOM_NOT_SMTP] = "not SMTP",
	[SMTP_ANOM_CLIENT_SPOKE_FIRST] = "the client spoke before the greeting",
	[SMTP_ANOM_REPLY_WITHOUT_COMMAND] = "a reply to no command",
	[SMTP_ANOM_COMMAND_WITHOUT_REPLY] = "a command never answered",
	[SMTP_ANOM_PLAINTEXT_AFTER_STARTTLS] = "plain text after STARTTLS",
	[SMTP_ANOM_INVALID_BDAT] = "a malformed BDAT",
	[SMTP_ANOM_GAP] = "bytes missing from the capture",
	[SMTP_ANOM_ONLY_CLIENT_SIDE] = "only the client's side captured",
	[SMTP_ANOM_ONLY_SERVER_SIDE] = "only the server's side captured",
	[SMTP_ANOM_TOO_MANY_COMMANDS] = "more commands than kept (--limit commands)",
	[SMTP_ANOM_TOO_MANY_MESSAGES] = "more messages than kept (--limit messages)",
	[SMTP_ANOM_TOO_MANY_RECIPIENTS] = "more recipients than kept (--limit recipients)",
	[SMTP_ANOM_TOO_MANY_EXTENSIONS] = "more extensions than kept",
	[SMTP_ANOM_PENDING_OVERFLOW] = "more commands awaiting a reply than kept (--limit pending)",
	[SMTP_ANOM_REPLY_AWAIT_OVERFLOW] = "more client bytes held for a reply than kept (--limit hold)",
	[SMTP_ANOM_MESSAGE_INCOMPLETE] = "a message cut off",
	[SMTP_ANOM_FLOW_EVICTED] = "ended early: too many connections at once (--limit flows)",
	[SMTP_ANOM_MEMORY_CAP] = "text not kept past --limit session-memory",
	[SMTP_ANOM_MEMORY_BUDGET] = "data dropped by the memory budget (--limit memory)",
	[SMTP_ANOM_RETRANSMISSIONS] = "segments sent again (retransmissions)",
	[SMTP_ANOM_OVERLAP_CONFLICT] = "retransmitted bytes that differ",
	[SMTP_ANOM_ICMP_UNREACHABLE] = "ICMP unreachable",
	[SMTP_ANOM_SLOW_REPLY] = "a slow reply",
	[SMTP_ANOM_STARTTLS_NOT_USED] = "STARTTLS offered but not used",
	[SMTP_ANOM_AUTH_CLEARTEXT] = "login without encryption",
	[SMTP_ANOM_ZERO_WINDOW] = "a receiver stalled (zero window)",
	[SMTP_ANOM_TLS_WITHOUT_STARTTLS] = "TLS without STARTTLS",
	[SMTP_ANOM_HTTP_REQUEST] = "an HTTP request",
	[SMTP_ANOM_HTTP_CONNECT_PROXY] = "an HTTP CONNECT (a proxy)",
	[SMTP_ANOM_POSSIBLE_CREDENTIAL] = "a line that may be a password",
	[SMTP_ANOM_TLS_UNDECRYPTED] = "TLS records not decrypted",
};

const char *
rpt_anomaly_words(enum smtp_anomaly a)
{
	return (unsigned)a < SMTP_ANOM_COUNT && anomaly_words[a] ? anomaly_words[a]
								 : smtp_anomaly_name(a);
}

/*
 * A line or a paragraph: on a terminal (width set) written to memory first,
 * then wrapped to the width with its continuation lines indented.
 */
struct para {
	FILE *out, *mem;
	char *buf;
	size_t len;
	unsigned width;
};

static FILE *
para_open(struct para *p, FILE *f, unsigned width)
{
	*p = (struct para){.out = f, .width = width};
	if (width)
		p->mem = open_memstream(&p->buf, &p->len);
	return p->mem ? p->mem : f;
}

static void
para_close(struct para *p, unsigned indent)
{
	if (!p->mem)
		return;
	if (fclose(p->mem) == 0)
		rpt_wrap(p->out, p->buf, p->len, p->width, indent);
	free(p->buf);
}

/* Characters (each a column) of one of our own strings: "…" is one. */
static size_t
chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s & 0xc0) != 0x80;
	return n;
}

/*
 * Wire text for a terminal: at most max columns of one line, control bytes
 * (NUL and C1 among them) and invalid UTF-8 as \xNN, bidi and zero-width
 * characters as \uNNNN, so a remote host can neither send escape sequences
 * nor make the line read otherwise than it is; cut is put where the text is
 * cut short. A line feed ends the text (multi-line replies), unless flat:
 * then it is escaped like the others. Returns the columns written (for
 * padding): a wide (CJK) character takes two.
 */
static size_t
text_cut(FILE *f, const char *s, size_t max, const char *cut, bool flat)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t w = 0, n;
	unsigned cp, cols;
	int b;

	while (*p && (flat || *p != '\n') && w < max) {
		if (*p >= 0x20 && *p < 0x7f) {
			putc(*p++, f);
			w++;
		} else if ((b = rpt_wire_escape(p, &n)) >= 0) { /* NUL, or the byte C0 */
			fprintf(f, "\\x%02x", (unsigned)b);
			p += n;
			w += 4;
		} else if ((n = rpt_utf8_len(p)) != 0 && (cp = rpt_invisible(p, n)) != 0) {
			fprintf(f, "\\u%04x", cp);
			p += n;
			w += 6;
		} else if (n != 0 && !rpt_c1_control(p, n)) {
			if (w + (cols = rpt_char_cols(p, n)) > max)
				break; /* a wide character at the edge */
			fwrite(p, 1, n, f);
			p += n;
			w += cols;
		} else {
			fprintf(f, "\\x%02x", *p++);
			w += 4;
		}
	}
	if (*p && (flat || *p != '\n')) {
		fputs(cut, f);
		w += chars(cut);
	}
	return w;
}

size_t
rpt_text_wire(FILE *f, const char *s, size_t max)
{
	return text_cut(f, s, max, "…", false);
}

size_t
rpt_text_cut(FILE *f, const char *s, size_t max, const char *cut)
{
	return text_cut(f, s, max, cut, false);
}

/* Wire text as rpt_text_wire(), cut with this output's mark. */
static size_t
wire(FILE *f, const struct rpt_config *cfg, const char *s, size_t max)
{
	return rpt_text_cut(f, s, max, mark(cfg, MARK_CUT));
}

/* The mark of a command's result, two columns in ASCII; returns its columns. */
static size_t
result_mark(FILE *f, const struct rpt_config *cfg, const struct smtp_command *c)
{
	bool color = cfg->color;
	const char *m = cfg->ascii ? marks[c->result].ascii : marks[c->result].mark;

	if (c->fallback) /* refused as the protocol expects, and handled: not a failure to fix */
		fprintf(f, "%s%s%s", col(color, C_DIM), mark(cfg, MARK_FALLBACK), col(color, C_RESET));
	else
		fprintf(f, "%s%s%s", col(color, marks[c->result].color), m, col(color, C_RESET));
	return cfg->ascii ? 2 : 1;
}

/* " (+1 line)", " (+3 lines)": the reply's other lines, or "". */
static int
more_lines(char *buf, size_t n, unsigned lines)
{
	if (lines < 2) {
		buf[0] = '\0';
		return 0;
	}
	return snprintf(buf, n, " (+%u line%s)", lines - 1, lines == 2 ? "" : "s");
}

/*
 * The reply's text: at most REPLY_WIDTH columns; on a terminal no more than
 * what is left of its line (a few columns at least: a narrow one wraps).
 */
static size_t
reply_room(const struct rpt_config *cfg, size_t used, int more)
{
	size_t taken = used + (size_t)more + chars(mark(cfg, MARK_CUT));
	size_t left = cfg->width > taken ? cfg->width - taken : 0;

	if (!cfg->width)
		return REPLY_WIDTH;
	return left < 10 ? 10 : left < REPLY_WIDTH ? left : REPLY_WIDTH;
}

/* "  ✓ MAIL FROM:<a@b>          250 2.1.0 Ok (+1 line)" */
static void
command_line(FILE *f, const struct rpt_config *cfg, const struct smtp_command *c)
{
	char more[32];
	size_t w, used;
	struct para p;
	FILE *o = para_open(&p, f, cfg->width);

	fputs("  ", o);
	used = 2 + result_mark(o, cfg, c) + 1;
	putc(' ', o);
	w = wire(o, cfg, c->name[0] ? c->name : "(empty line)", CMD_WIDTH);
	if (c->arg) {
		putc(' ', o);
		w += 1 + wire(o, cfg, c->arg, CMD_WIDTH - (w < CMD_WIDTH ? w : CMD_WIDTH));
	}
	for (; w < CMD_WIDTH; w++)
		putc(' ', o);
	used += w;
	if (c->has_reply) { /* "≈": the capture leaves the reply's place open (paired by inference) */
		int m = more_lines(more, sizeof(more), c->reply.lines);

		fputs(c->paired == SMTP_PAIR_INFERRED ? mark(cfg, MARK_INFERRED) : " ", o);
		used += 1 + (size_t)fprintf(o, "%d ", c->reply.code);
		wire(o, cfg, c->reply.text, reply_room(cfg, used, m));
		fputs(more, o);
	} else {
		fputs(" (no reply)", o);
	}
	putc('\n', o);
	para_close(&p, 6);
}

/* The explanation under its command; explanations quote the wire: escaped like the rest. */
/* indent, then lead and wire text in a style, as one paragraph wrapped at hang. */
static void
styled_para(FILE *f, const struct rpt_config *cfg, const char *indent, const char *style,
	    const char *lead, const char *text, unsigned hang)
{
	struct para p;
	FILE *o = para_open(&p, f, cfg->width);

	fprintf(o, "%s%s%s", indent, col(cfg->color, style), lead);
	wire(o, cfg, text, SIZE_MAX);
	fprintf(o, "%s\n", col(cfg->color, C_RESET));
	para_close(&p, hang);
}

static void
explanation_line(FILE *f, const struct rpt_config *cfg, const struct smtp_command *c)
{
	styled_para(f, cfg, "      ", C_DIM, "", c->explanation, 6);
}

static const char *const rcpt_marks[SMTP_RCPT_STATUS_COUNT] = {
	[SMTP_RCPT_PENDING] = "> (reply not seen)", [SMTP_RCPT_ACCEPTED] = ">",
	[SMTP_RCPT_DEFERRED] = "> (deferred)",	    [SMTP_RCPT_REJECTED] = "> (refused)",
};

static void
message_line(FILE *f, const struct rpt_config *cfg, const struct smtp_message *m, size_t i)
{
	struct para p;
	FILE *o = para_open(&p, f, cfg->width);

	fprintf(o, "  message %zu: from <", i + 1);
	wire(o, cfg, m->mail_from ? m->mail_from : "?", 80);
	fputs(">", o);
	for (size_t r = 0; r < m->n_rcpt; r++) {
		fputs(r ? ", <" : " to <", o);
		wire(o, cfg, m->rcpt[r].addr, 80);
		fputs(rcpt_marks[m->rcpt[r].status], o);
	}
	if (m->size >= 0)
		fprintf(o, ", %" PRId64 " bytes", m->size);
	if (m->subject) { /* decoded (RFC 2047): a line feed in it is shown, not a line end */
		fputs(", subject \"", o);
		text_cut(o, m->subject, 60, mark(cfg, MARK_CUT), true);
		putc('"', o);
	}
	fprintf(o, ": %s\n", smtp_outcome_name(m->outcome));
	para_close(&p, 4);
}

static void
session_header(FILE *f, const struct rpt_config *cfg, const struct smtp_session *s)
{
	char ts[40], c[64], sv[64];
	bool color = cfg->color;
	struct para p;
	FILE *o = para_open(&p, f, cfg->width);

	rpt_iso_time(ts, sizeof(ts), s->ts_first);
	rpt_addr(c, sizeof(c), &s->client);
	rpt_addr(sv, sizeof(sv), &s->server);
	fprintf(o, "%sSession %" PRIu64 "%s  %.10s %.15s UTC  %s%s%s:%u -> %s%s%s:%u  %s, %.1f s%s\n",
		col(color, C_BOLD), s->id, col(color, C_RESET), ts, ts + 11,
		s->client.family == 6 ? "[" : "", c, s->client.family == 6 ? "]" : "",
		s->client_port, s->server.family == 6 ? "[" : "", sv,
		s->server.family == 6 ? "]" : "", s->server_port, smtp_state_name(s->state),
		(double)(s->ts_last >= s->ts_first ? s->ts_last - s->ts_first : 0) / 1e6,
		s->midstream ? ", mid-stream" : "");
	para_close(&p, 2);
}

/* With a key log: how many records opened, or why none did. */
static void
tls_keys_line(FILE *f, const struct tls_facts *t)
{
	if (t->decrypted)
		fprintf(f, ", decrypted (%" PRIu64 " records)", t->decrypted_records);
	else if (t->keys != TLS_KEYS_OFF && t->handshake == TLS_HS_COMPLETED)
		fprintf(f, ", not decrypted (%s)", t->keys == TLS_KEYS_UNSUPPORTED ? "cipher not supported"
						  : t->keys == TLS_KEYS_FOUND	   ? "wrong keys"
										   : "no keys in the key log");
	if (t->failed_records)
		fprintf(f, ", %" PRIu64 " records failed authentication", t->failed_records);
}

/* The name check against the SNI, as tls_cert_flaws() settles it. */
static const char *
name_words(unsigned flaws, const char *sni)
{
	if (!sni[0])
		return "no SNI to check the name against";
	if (flaws & TLS_CERT_NAME_UNKNOWN)
		return "name not checked (a list cut short)";
	return flaws & TLS_CERT_NAME_MISMATCH ? "name does not match the SNI" : "name matches the SNI";
}

/* "  certificate: CN=..., issuer ..., valid ... to ..., ..." under the tls line. */
static void
certificate_line(FILE *o, const struct rpt_config *cfg, const struct smtp_session *s)
{
	const struct tls_cert *c = &s->tls->cert;
	unsigned flaws = tls_cert_flaws(c, (int64_t)(s->ts_first / 1000000u), s->tls->sni,
					s->tls->sni_truncated);
	char from[40], to[40];

	rpt_iso_seconds(from, sizeof(from), c->not_before);
	rpt_iso_seconds(to, sizeof(to), c->not_after);
	fputs(c->subject_cn ? "  certificate: CN=" : "  certificate: ", o);
	wire(o, cfg, c->subject, 80);
	if (c->sans[0]) {
		fputs(" (names ", o);
		wire(o, cfg, c->sans, 120);
		fputs(c->sans_truncated ? ", ...)" : ")", o);
	}
	fputs(", issuer ", o);
	wire(o, cfg, c->issuer, 80);
	fprintf(o, ", valid %.10s to %.10s, chain of %u", from, to, (unsigned)c->chain);
	fprintf(o, "%s%s%s, %s\n", flaws & TLS_CERT_SELF_SIGNED ? ", self-signed" : "",
		flaws & TLS_CERT_EXPIRED ? ", expired" : "",
		flaws & TLS_CERT_NOT_YET_VALID ? ", not yet valid" : "",
		name_words(flaws, s->tls->sni));
}

/* "  tls: handshake completed, TLSv1.3 ...", and the certificate's line under it. */
static void
tls_lines(FILE *f, const struct rpt_config *cfg, const struct smtp_session *s)
{
	struct para p;
	FILE *o = para_open(&p, f, cfg->width);

	fprintf(o, "  tls: handshake %s", tls_handshake_name(s->tls->handshake));
	if (s->tls->version[0])
		fprintf(o, ", %s %s", s->tls->version, s->tls->cipher);
	tls_keys_line(o, s->tls);
	if (s->tls->sni[0]) {
		fputs(", server name ", o);
		wire(o, cfg, s->tls->sni, 80);
	}
	if (s->tls->alert.seen && !s->tls->alert.encrypted)
		fprintf(o, ", alert %s from the %s", tls_alert_name(s->tls->alert.description),
			tls_dir_name(s->tls->alert.sent_by));
	putc('\n', o);
	if (s->tls->cert.seen)
		certificate_line(o, cfg, s);
	para_close(&p, 4);
}

static void
login_line(FILE *f, const struct rpt_config *cfg, const struct smtp_session *s)
{
	struct para p;
	FILE *o = para_open(&p, f, cfg->width);

	fputs("  login: ", o);
	wire(o, cfg, s->auth.mechanism, sizeof(s->auth.mechanism));
	fputs(" as ", o);
	wire(o, cfg, s->auth.user ? s->auth.user : "(unknown user)", 80);
	fprintf(o, ", %s\n", s->auth.success < 0 ? "no verdict seen"
			      : s->auth.success	  ? "succeeded"
						  : "failed");
	para_close(&p, 4);
}

/* "  notes: STARTTLS offered but not used, a slow reply (ICMP ...)" */
static void
notes_line(FILE *f, const struct rpt_config *cfg, const struct smtp_session *s)
{
	const char *sep = "  notes: ";
	struct para p;
	FILE *o = para_open(&p, f, cfg->width);

	for (int a = 0; a < SMTP_ANOM_COUNT; a++) {
		if (s->anomalies & (1ull << a)) {
			fprintf(o, "%s%s", sep, rpt_anomaly_words((enum smtp_anomaly)a));
			sep = ", ";
		}
	}
	if (s->icmp_type) {
		char ip[64];

		rpt_addr(ip, sizeof(ip), &s->icmp_from);
		fprintf(o, " (ICMP type %u code %u from %s)", s->icmp_type, s->icmp_code, ip);
	}
	if (s->gaps[0] || s->gaps[1])
		fprintf(o, " (missing bytes: client %" PRIu64 ", server %" PRIu64 ")",
			s->gaps[RSM_C2S], s->gaps[RSM_S2C]);
	putc('\n', o);
	para_close(&p, 9);
}


/* --probe: the certificate as the probe's TLS client verified it, and its chain. */
static void
probe_tls_line(FILE *f, const struct rpt_config *cfg, const struct smtp_probe_tls *t)
{
	char *buf = NULL, ts[40];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	fprintf(m, "certificate %s for ", t->result);
	rpt_text_wire(m, t->host, 255);
	fprintf(m, "%s: %s", t->required ? " (--verify)" : "", t->explanation);
	for (size_t i = 0; i < t->n_chain; i++) {
		rpt_iso_seconds(ts, sizeof(ts), t->chain[i].not_after);
		fputs(i ? "; then " : " Chain: ", m);
		rpt_text_wire(m, t->chain[i].subject, 255);
		fputs(" issued by ", m);
		rpt_text_wire(m, t->chain[i].issuer, 255);
		fprintf(m, ", valid until %.10s", ts);
	}
	fclose(m);
	styled_para(f, cfg, "  ", "", "probe: ", buf, 9);
	free(buf);
}

static void
verdict_line(FILE *f, const struct rpt_config *cfg, const struct smtp_session *s)
{
	styled_para(f, cfg, "  ", C_BOLD, "=> ", s->verdict, 5);
	putc('\n', f);
}

void
text_session(FILE *f, const struct smtp_session *s, const struct rpt_config *cfg)
{
	session_header(f, cfg, s);
	for (size_t i = 0; i < s->n_cmds; i++) {
		if (s->cmds[i].in_tls && (i == 0 || !s->cmds[i - 1].in_tls))
			fputs("  -- inside TLS, decrypted with the key log --\n", f);
		command_line(f, cfg, &s->cmds[i]);
		explanation_line(f, cfg, &s->cmds[i]);
	}
	for (size_t i = 0; i < s->n_msgs; i++)
		message_line(f, cfg, &s->msgs[i], i);
	if (s->tls)
		tls_lines(f, cfg, s);
	if (s->has_auth)
		login_line(f, cfg, s);
	if (s->anomalies)
		notes_line(f, cfg, s);
	for (size_t i = 0; s->probe && i < s->probe->n_notes; i++)
		styled_para(f, cfg, "  ", "", "probe: ", s->probe->notes[i], 9);
	if (s->probe && s->probe->tls)
		probe_tls_line(f, cfg, s->probe->tls);
	verdict_line(f, cfg, s);
}

/* --tls-keylog: what the key log held, and what it opened. */
static void
keylog_summary(FILE *f, const struct rpt_totals *t)
{
	const struct smtp_stats *ds = t->decode;
	struct tls_keylog_stats ks;

	tls_keylog_get_stats(t->keylog, &ks);
	fprintf(f, "  key log: keys for %" PRIu64 " TLS sessions from %" PRIu64 " lines", ks.entries,
		ks.lines);
	if (ks.bad_lines)
		fprintf(f, " (%" PRIu64 " not in the key log format, not used)", ks.bad_lines);
	if (ks.dropped)
		fprintf(f, " (%" PRIu64 " past the cap of 100000, not kept)", ks.dropped);
	fprintf(f, "; %" PRIu64 " sessions decrypted, %" PRIu64 " not (no or wrong keys)",
		ds->tls_decrypted, ds->tls_not_decrypted);
	if (ds->tls_failed_records)
		fprintf(f, ", %" PRIu64 " records failed authentication", ds->tls_failed_records);
	putc('\n', f);
}

/* The totals; the explanations by what they matched on are in JSON only: not a reader's concern. */
static void
summary_lines(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c, bool color)
{
	const struct cap_stats *cs = t->capture;
	const struct rsm_stats *rs = t->reassembly;
	const struct smtp_stats *ds = t->decode;

	fprintf(f, "%sSummary%s%s: %" PRIu64 " session%s (%" PRIu64 " with mail delivered; %" PRIu64
		   " connection%s refused, %" PRIu64 " unanswered); %" PRIu64 " mail transaction%s, %" PRIu64
		   " accepted\n",
		col(color, C_BOLD), col(color, C_RESET), t->interrupted ? " (interrupted)" : "",
		c->sessions, c->sessions == 1 ? "" : "s", c->delivered, ds->refused,
		ds->refused == 1 ? "" : "s", ds->no_answer, ds->messages, ds->messages == 1 ? "" : "s",
		ds->messages_accepted);
	fprintf(f, "  %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " TCP segments; %" PRIu64
		   " bytes never captured (gaps); %" PRIu64 " flows evicted, %" PRIu64
		   " timed out\n",
		cs->packets, cs->bytes, cs->verdicts[CAP_TCP], rs->gap_bytes, rs->evicted,
		rs->timed_out);
	if (ds->cut_by_snaplen + ds->one_side + ds->after_greeting + ds->ends_mid_session +
	    ds->pairs_inferred)
		fprintf(f, "  seen in part: %" PRIu64 " sessions cut by the snap length (capture with -s "
			   "0), %" PRIu64 " one direction only, %" PRIu64 " begun after the greeting, %"
			   PRIu64 " still open at the end; %" PRIu64 " replies paired by inference\n",
			ds->cut_by_snaplen, ds->one_side, ds->after_greeting, ds->ends_mid_session,
			ds->pairs_inferred);
	if (rs->ignored_resets + rs->ignored_fins)
		fprintf(f, "  outside the receive window, so ignored (forged or stale): %" PRIu64
			   " RST%s, %" PRIu64 " FIN%s\n",
			rs->ignored_resets, rs->ignored_resets == 1 ? "" : "s", rs->ignored_fins,
			rs->ignored_fins == 1 ? "" : "s");
	if (cs->input_truncated)
		fputs("  the capture file is truncated: the last record was cut short\n", f);
	if (t->not_shown)
		fprintf(f, "  -c stopped the capture: %" PRIu64 " session%s still open then %s not "
			   "shown (cut short, they have no verdict)\n", t->not_shown,
			t->not_shown == 1 ? "" : "s", t->not_shown == 1 ? "is" : "are");
	if (c->out_of_order)
		fprintf(f, "  %" PRIu64 " session%s written out of the order they began (too much "
			   "waited for a longer session that began earlier)\n", c->out_of_order,
			c->out_of_order == 1 ? "" : "s");
	for (int i = 0; i < CAP_SMTP_LIKE && cs->smtp_like[i].port; i++)
		fprintf(f, "  %" PRIu64 " packet%s on port %u look%s like SMTP (a 220 greeting, or "
			   "HELO/EHLO) but %s not analysed: add the port, e.g. -p 25,%u\n",
			cs->smtp_like[i].packets, cs->smtp_like[i].packets == 1 ? "" : "s",
			cs->smtp_like[i].port, cs->smtp_like[i].packets == 1 ? "s" : "",
			cs->smtp_like[i].packets == 1 ? "was" : "were", cs->smtp_like[i].port);
	if (cap_budget_refused())
		fprintf(f, "  the memory budget (--limit memory) refused %" PRIu64 " times: queued data "
			   "became gaps, fragments were dropped, session records not kept\n",
			cap_budget_refused());
	if (t->keylog)
		keylog_summary(f, t);
	if (c->extract) {
		uint64_t files, partial, skipped, cut;

		rpt_extract_counts(c->extract, &files, &partial, &skipped, &cut);
		fprintf(f, "  extracted %" PRIu64 " message%s (%" PRIu64 " partial, %" PRIu64
			   " not written, %" PRIu64 " bytes cut by --limit extract-bytes)\n",
			files, files == 1 ? "" : "s", partial, skipped, cut);
	}
	if (cs->have_kernel_stats)
		fprintf(f, "  kernel: %" PRIu64 " packets received, %" PRIu64 " dropped (buffer full), %" PRIu64
			   " dropped by the interface\n",
			cs->kernel_received, cs->kernel_dropped, cs->if_dropped);
	if (cs->have_kernel_stats && cap_buffer_advice(cs))
		fprintf(f, "  the kernel dropped %.2f%% of the packets: its buffer (-B %" PRIu64 ") was "
			   "full; -B %" PRIu64 " would likely have held them, unless smtpscope cannot "
			   "keep up at all (then drops go on whatever the buffer)\n",
			100.0 * (double)cs->kernel_dropped /
				(double)(cs->kernel_received ? cs->kernel_received : 1),
			cs->buffer_size >> 10, cap_buffer_advice(cs) >> 10);
}

/* On a terminal (stderr, most often) wrapped to its width. */
void
text_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c, bool color)
{
	struct para p;
	FILE *o = para_open(&p, f, rpt_term_width(fileno(f)));

	summary_lines(o, t, c, color);
	para_close(&p, 4);
}

void
rpt_running_summary(struct rpt *r, FILE *f, const struct rpt_totals *t)
{
	const struct cap_stats *cs = t->capture;
	const struct smtp_stats *ds = t->decode;
	struct para p;
	FILE *o;

	fflush(r->cfg.out); /* the transcript so far first: never inside one of its lines */
	o = para_open(&p, f, rpt_term_width(fileno(f)));
	fprintf(o, "smtpscope: so far %" PRIu64 " packets, %" PRIu64 " sessions ended, %" PRIu64
		   " open; %" PRIu64 " messages accepted of %" PRIu64 "; %" PRIu64 " bytes missed",
		cs->packets, ds->ended, ds->sessions - ds->ended,
		ds->messages_accepted, ds->messages, t->reassembly->gap_bytes);
	if (cs->have_kernel_stats)
		fprintf(o, "; kernel: %" PRIu64 " received, %" PRIu64 " dropped, %" PRIu64
			   " dropped by the interface",
			cs->kernel_received, cs->kernel_dropped, cs->if_dropped);
	if (cs->have_kernel_stats && cap_buffer_advice(cs))
		fprintf(o, "; the buffer (-B %" PRIu64 ") was full: -B %" PRIu64 " would likely hold",
			cs->buffer_size >> 10, cap_buffer_advice(cs) >> 10);
	fputc('\n', o);
	para_close(&p, 4);
	if (r->cfg.audit)
		rpt_audit_print(r->audit, f, false);
	else
		metrics_flags_line(r->audit, f);
	fflush(f);
}
