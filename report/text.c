/*
 * text.c - the human transcript: each command with its reply, a mark for
 * how it went, the explanation under it, then the session's verdict.
 */
#include "report.h"

#include <inttypes.h>
#include <stdint.h>
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

/* Mark and colour per result. */
static const struct {
	const char *mark, *color;
} marks[] = {
	[SMTP_NO_REPLY] = {"?", C_DIM},	     [SMTP_SUCCESS] = {"✓", C_GREEN},
	[SMTP_INTERMEDIATE] = {"→", C_CYAN}, [SMTP_TEMPFAIL] = {"!", C_YELLOW},
	[SMTP_PERMFAIL] = {"✗", C_RED},
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

/*
 * Wire text for a terminal: at most max bytes of one line, control bytes
 * (NUL and C1 among them) and invalid UTF-8 as \xNN, bidi and zero-width
 * characters as \uNNNN, so a remote host can neither send escape sequences
 * nor make the line read otherwise than it is. A line feed ends the text
 * (multi-line replies), unless flat: then it is escaped like the others.
 * Returns the bytes written (for padding).
 */
static size_t
text_wire(FILE *f, const char *s, size_t max, bool flat)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t w = 0, n;
	unsigned cp;
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
			fwrite(p, 1, n, f);
			p += n;
			w++;
		} else {
			fprintf(f, "\\x%02x", *p++);
			w += 4;
		}
	}
	if (*p && (flat || *p != '\n')) {
		rpt_text_ellipsis(f);
		w++;
	}
	return w;
}

size_t
rpt_text_wire(FILE *f, const char *s, size_t max)
{
	return text_wire(f, s, max, false);
}

static void
command_line(FILE *f, const struct smtp_command *c, bool color)
{
	size_t w;

	if (c->fallback) /* refused as the protocol expects, and handled: not a failure to fix */
		fprintf(f, "  %s↩%s ", col(color, C_DIM), col(color, C_RESET));
	else
		fprintf(f, "  %s%s%s ", col(color, marks[c->result].color), marks[c->result].mark,
			col(color, C_RESET));
	w = rpt_text_wire(f, c->name[0] ? c->name : "(empty line)", CMD_WIDTH);
	if (c->arg) {
		putc(' ', f);
		w += 1 + rpt_text_wire(f, c->arg, CMD_WIDTH - (w < CMD_WIDTH ? w : CMD_WIDTH));
	}
	for (; w < CMD_WIDTH; w++)
		putc(' ', f);
	if (c->has_reply) { /* "≈": the capture leaves the reply's place open (paired by inference) */
		fprintf(f, "%s%d ", c->paired == SMTP_PAIR_INFERRED ? "≈" : " ", c->reply.code);
		rpt_text_wire(f, c->reply.text, REPLY_WIDTH);
		if (c->reply.lines > 1)
			fprintf(f, " (+%u lines)", c->reply.lines - 1);
	} else {
		fputs(" (no reply)", f);
	}
	/* explanations quote the wire (arguments, reply texts): escaped like the rest */
	fprintf(f, "\n      %s", col(color, C_DIM));
	rpt_text_wire(f, c->explanation, SIZE_MAX);
	fprintf(f, "%s\n", col(color, C_RESET));
}

static const char *const rcpt_marks[SMTP_RCPT_STATUS_COUNT] = {
	[SMTP_RCPT_PENDING] = "> (reply not seen)", [SMTP_RCPT_ACCEPTED] = ">",
	[SMTP_RCPT_DEFERRED] = "> (deferred)",	    [SMTP_RCPT_REJECTED] = "> (refused)",
};

static void
message_line(FILE *f, const struct smtp_message *m, size_t i)
{
	fprintf(f, "  message %zu: from <", i + 1);
	rpt_text_wire(f, m->mail_from ? m->mail_from : "?", 80);
	fputs(">", f);
	for (size_t r = 0; r < m->n_rcpt; r++) {
		fputs(r ? ", <" : " to <", f);
		rpt_text_wire(f, m->rcpt[r].addr, 80);
		fputs(rcpt_marks[m->rcpt[r].status], f);
	}
	if (m->size >= 0)
		fprintf(f, ", %" PRId64 " bytes", m->size);
	if (m->subject) { /* decoded (RFC 2047): a line feed in it is shown, not a line end */
		fputs(", subject \"", f);
		text_wire(f, m->subject, 60, true);
		putc('"', f);
	}
	fprintf(f, ": %s\n", smtp_outcome_name(m->outcome));
}

static void
session_header(FILE *f, const struct smtp_session *s, bool color)
{
	char ts[40], c[64], sv[64];

	rpt_iso_time(ts, sizeof(ts), s->ts_first);
	rpt_addr(c, sizeof(c), &s->client);
	rpt_addr(sv, sizeof(sv), &s->server);
	fprintf(f, "%sSession %" PRIu64 "%s  %.10s %.15s UTC  %s%s%s:%u -> %s%s%s:%u  %s, %.1f s%s\n",
		col(color, C_BOLD), s->id, col(color, C_RESET), ts, ts + 11,
		s->client.family == 6 ? "[" : "", c, s->client.family == 6 ? "]" : "",
		s->client_port, s->server.family == 6 ? "[" : "", sv,
		s->server.family == 6 ? "]" : "", s->server_port, smtp_state_name(s->state),
		(double)(s->ts_last >= s->ts_first ? s->ts_last - s->ts_first : 0) / 1e6,
		s->midstream ? ", mid-stream" : "");
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
certificate_line(FILE *f, const struct smtp_session *s)
{
	const struct tls_cert *c = &s->tls->cert;
	unsigned flaws = tls_cert_flaws(c, (int64_t)(s->ts_first / 1000000u), s->tls->sni,
					s->tls->sni_truncated);
	char from[40], to[40];

	rpt_iso_seconds(from, sizeof(from), c->not_before);
	rpt_iso_seconds(to, sizeof(to), c->not_after);
	fputs(c->subject_cn ? "  certificate: CN=" : "  certificate: ", f);
	rpt_text_wire(f, c->subject, 80);
	if (c->sans[0]) {
		fputs(" (names ", f);
		rpt_text_wire(f, c->sans, 120);
		fputs(c->sans_truncated ? ", ...)" : ")", f);
	}
	fputs(", issuer ", f);
	rpt_text_wire(f, c->issuer, 80);
	fprintf(f, ", valid %.10s to %.10s, chain of %u", from, to, (unsigned)c->chain);
	fprintf(f, "%s%s%s, %s\n", flaws & TLS_CERT_SELF_SIGNED ? ", self-signed" : "",
		flaws & TLS_CERT_EXPIRED ? ", expired" : "",
		flaws & TLS_CERT_NOT_YET_VALID ? ", not yet valid" : "",
		name_words(flaws, s->tls->sni));
}

void
text_session(FILE *f, const struct smtp_session *s, bool color)
{
	session_header(f, s, color);
	for (size_t i = 0; i < s->n_cmds; i++) {
		if (s->cmds[i].in_tls && (i == 0 || !s->cmds[i - 1].in_tls))
			fputs("  -- inside TLS, decrypted with the key log --\n", f);
		command_line(f, &s->cmds[i], color);
	}
	for (size_t i = 0; i < s->n_msgs; i++)
		message_line(f, &s->msgs[i], i);
	if (s->tls) {
		fprintf(f, "  tls: handshake %s", tls_handshake_name(s->tls->handshake));
		if (s->tls->version[0])
			fprintf(f, ", %s %s", s->tls->version, s->tls->cipher);
		tls_keys_line(f, s->tls);
		if (s->tls->sni[0]) {
			fputs(", server name ", f);
			rpt_text_wire(f, s->tls->sni, 80);
		}
		if (s->tls->alert.seen && !s->tls->alert.encrypted)
			fprintf(f, ", alert %s from the %s", tls_alert_name(s->tls->alert.description),
				tls_dir_name(s->tls->alert.sent_by));
		putc('\n', f);
		if (s->tls->cert.seen)
			certificate_line(f, s);
	}
	if (s->has_auth) {
		fputs("  login: ", f);
		rpt_text_wire(f, s->auth.mechanism, sizeof(s->auth.mechanism));
		fputs(" as ", f);
		rpt_text_wire(f, s->auth.user ? s->auth.user : "(unknown user)", 80);
		fprintf(f, ", %s\n", s->auth.success < 0 ? "no verdict seen"
				     : s->auth.success	 ? "succeeded"
							 : "failed");
	}
	if (s->anomalies) {
		fputs("  notes:", f);
		for (int a = 0; a < SMTP_ANOM_COUNT; a++)
			if (s->anomalies & (1ull << a))
				fprintf(f, " %s", smtp_anomaly_name((enum smtp_anomaly)a));
		if (s->icmp_type) {
			char ip[64];

			rpt_addr(ip, sizeof(ip), &s->icmp_from);
			fprintf(f, " (ICMP type %u code %u from %s)", s->icmp_type, s->icmp_code, ip);
		}
		if (s->gaps[0] || s->gaps[1])
			fprintf(f, " (missing bytes: client %" PRIu64 ", server %" PRIu64 ")",
				s->gaps[RSM_C2S], s->gaps[RSM_S2C]);
		putc('\n', f);
	}
	fprintf(f, "  %s=> ", col(color, C_BOLD));
	rpt_text_wire(f, s->verdict, SIZE_MAX);
	fprintf(f, "%s\n\n", col(color, C_RESET));
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

void
text_summary(FILE *f, const struct rpt_totals *t, const struct rpt_counts *c, bool color)
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
	fprintf(f, "  explanations by %s %" PRIu64 ", %s %" PRIu64 ", %s %" PRIu64 ", %s %" PRIu64
		   ", %s %" PRIu64 "\n",
		smtp_match_name(SMTP_MATCH_TEXT), ds->matched[SMTP_MATCH_TEXT],
		smtp_match_name(SMTP_MATCH_ENHANCED), ds->matched[SMTP_MATCH_ENHANCED],
		smtp_match_name(SMTP_MATCH_ENHANCED_CLASS), ds->matched[SMTP_MATCH_ENHANCED_CLASS],
		smtp_match_name(SMTP_MATCH_CODE_IN_CONTEXT),
		ds->matched[SMTP_MATCH_CODE_IN_CONTEXT], smtp_match_name(SMTP_MATCH_FIRST_DIGIT),
		ds->matched[SMTP_MATCH_FIRST_DIGIT]);
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
}

void
rpt_running_summary(struct rpt *r, FILE *f, const struct rpt_totals *t)
{
	const struct cap_stats *cs = t->capture;
	const struct smtp_stats *ds = t->decode;

	fprintf(f, "smtpscope: so far %" PRIu64 " packets, %" PRIu64 " sessions ended, %" PRIu64
		   " open; %" PRIu64 " messages accepted of %" PRIu64 "; %" PRIu64 " bytes missed",
		cs->packets, ds->ended, ds->sessions - ds->ended,
		ds->messages_accepted, ds->messages, t->reassembly->gap_bytes);
	if (cs->have_kernel_stats)
		fprintf(f, "; kernel: %" PRIu64 " received, %" PRIu64 " dropped, %" PRIu64
			   " dropped by the interface",
			cs->kernel_received, cs->kernel_dropped, cs->if_dropped);
	fputc('\n', f);
	if (r->audit)
		rpt_audit_print(r->audit, f, false);
	fflush(f);
}
