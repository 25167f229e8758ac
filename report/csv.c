/*
 * csv.c - -o csv: RFC 4180 rows for a spreadsheet, one per command and its
 * reply (with --messages, one per message), each carrying its session's endpoints and outcome so a row can be
 * sorted and filtered on its own. A header line comes first; the totals go
 * to stderr as text, never into the table.
 *
 * Cells hold wire bytes, so these rules keep the file safe to open, and the
 * bytes recoverable (the same rules as text output, with the backslash
 * escaped too):
 *  - it is valid UTF-8, and valid UTF-8 from the wire is kept as it is;
 *  - a byte that is a control (NUL, ESC, DEL; not TAB, CR, LF), part of a C1
 *    control (U+0080-U+009F: U+009B is a terminal's CSI) or starts no valid
 *    sequence is written \xNN, so `cat` cannot replay a remote escape;
 *  - a bidi or zero-width character (U+202E...) is written \uNNNN, so a
 *    cell cannot read otherwise than it is;
 *  - a backslash is written \\, so undoing the three escapes gives the wire
 *    bytes back (but for the two marks below);
 *  - the lines of a multi-line reply are joined with " / ";
 *  - a cell of wire text starting with = + - @ TAB or CR gets a leading
 *    apostrophe, so a spreadsheet shows it instead of running it as a
 *    formula (OWASP "CSV injection"). Our own words never start so.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_private.h"

enum column {
	COL_ID, COL_TS, COL_CLIENT_IP, COL_CLIENT_PORT, COL_SERVER_IP, COL_SERVER_PORT,
	COL_STATE, COL_CMD, COL_ARG, COL_CMD_TS, COL_CODE, COL_ENHANCED, COL_RESULT,
	COL_MATCHED, COL_REPLY, COL_EXPLANATION, COL_OUTCOME, COL_REASON, COL_REPLY_TIME,
	COL_COUNT
};

static const char *const headers[COL_COUNT] = {
	[COL_ID] = "session_id", [COL_TS] = "session_ts", [COL_CLIENT_IP] = "client_ip",
	[COL_CLIENT_PORT] = "client_port", [COL_SERVER_IP] = "server_ip",
	[COL_SERVER_PORT] = "server_port", [COL_STATE] = "state", [COL_CMD] = "command",
	[COL_ARG] = "argument", [COL_CMD_TS] = "command_ts", [COL_CODE] = "reply_code",
	[COL_ENHANCED] = "enhanced", [COL_RESULT] = "result", [COL_MATCHED] = "matched_on",
	[COL_REPLY] = "reply_text", [COL_EXPLANATION] = "explanation",
	[COL_OUTCOME] = "session_outcome", [COL_REASON] = "reason",
	[COL_REPLY_TIME] = "reply_time",
};

#define WIRE 1 /* sent by a remote host: guard against formulas */
#define JOIN 2 /* several lines: joined with " / " */

static const unsigned how[COL_COUNT] = {
	[COL_CMD] = WIRE, [COL_ARG] = WIRE, [COL_REPLY] = WIRE | JOIN,
};

/* One character of a cell; returns the bytes of s it used. */
static size_t
put_char(FILE *f, const unsigned char *s, unsigned flags)
{
	size_t n;
	unsigned cp;
	int b;

	if (*s == '"') {
		fputs("\"\"", f);
	} else if (*s == '\\') {
		fputs("\\\\", f);
	} else if (*s == '\n' && (flags & JOIN)) {
		fputs(" / ", f);
	} else if ((*s >= 0x20 && *s < 0x7f) || *s == '\t' || *s == '\r' || *s == '\n') {
		putc(*s, f);
	} else if ((b = rpt_wire_escape(s, &n)) >= 0) { /* NUL, or the byte C0 */
		fprintf(f, "\\x%02x", (unsigned)b);
		return n;
	} else if ((n = rpt_utf8_len(s)) != 0 && (cp = rpt_invisible(s, n)) != 0) {
		fprintf(f, "\\u%04x", cp);
		return n;
	} else if (n != 0 && !rpt_c1_control(s, n)) {
		fwrite(s, 1, n, f);
		return n;
	} else { /* a control byte, a C1 control's first byte, or invalid UTF-8 */
		fprintf(f, "\\x%02x", *s);
	}
	return 1;
}

static void
cell(FILE *f, const char *str, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	bool quote = strpbrk((const char *)s, flags & JOIN ? ",\"\r" : ",\"\r\n") != NULL;

	if (quote)
		putc('"', f);
	if ((flags & WIRE) && *s && strchr("=+-@\t\r", *s))
		putc('\'', f);
	while (*s)
		s += put_char(f, s, flags);
	if (quote)
		putc('"', f);
}

static void
cells(FILE *f, const char *const *v, const unsigned *flags, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			putc(',', f);
		cell(f, v[i], flags[i]);
	}
	fputs("\r\n", f); /* RFC 4180 ends records with CRLF */
}

static void
row(FILE *f, const char *const v[COL_COUNT])
{
	cells(f, v, how, COL_COUNT);
}

/* Seconds with microseconds, as the JSON writes them ("0.25"), into buf. */
static void
seconds(char *buf, size_t n, uint64_t us)
{
	snprintf(buf, n, "%" PRIu64 ".%06" PRIu64, us / 1000000u, us % 1000000u);
}

/* The cells of one command; c is NULL for a session without any. */
static void
command_row(FILE *f, const char *v[COL_COUNT], const struct smtp_command *c)
{
	char ts[40] = "", code[8] = "", took[32] = "";

	if (c) {
		rpt_iso_time(ts, sizeof(ts), c->ts);
		if (c->has_reply) {
			snprintf(code, sizeof(code), "%d", c->reply.code);
			seconds(took, sizeof(took), c->reply_ts >= c->ts ? c->reply_ts - c->ts : 0);
		}
		v[COL_CMD] = c->name;
		v[COL_ARG] = c->arg;
		v[COL_RESULT] = smtp_result_name(c->result);
		v[COL_MATCHED] = smtp_match_name(c->matched_on);
		v[COL_EXPLANATION] = c->explanation;
		v[COL_REASON] = c->has_reply ? smtp_reason_name(c->reason) : NULL;
		v[COL_ENHANCED] = c->has_reply ? c->reply.enhanced : NULL;
		v[COL_REPLY] = c->has_reply ? c->reply.text : NULL;
	}
	v[COL_CMD_TS] = ts;
	v[COL_CODE] = code;
	v[COL_REPLY_TIME] = took;
	row(f, v);
}

/* --messages: a row per message (MAIL transaction), with its session's endpoints. */
enum mcolumn {
	MC_ID, MC_TS, MC_CLIENT_IP, MC_CLIENT_PORT, MC_SERVER_IP, MC_SERVER_PORT, MC_HELO,
	MC_INDEX, MC_FROM, MC_RCPT, MC_REJECTED, MC_ACCEPTED, MC_OUTCOME, MC_FINAL_CODE,
	MC_SIZE, MC_SUBJECT, MC_MESSAGE_ID, MC_QUEUE_ID, MC_MAIL_TS, MC_DATA_END_TS,
	MC_FINAL_REPLY_TS, MC_TRANSACTION_TIME, MC_COUNT
};

static const char *const mheaders[MC_COUNT] = {
	[MC_ID] = "session_id", [MC_TS] = "session_ts", [MC_CLIENT_IP] = "client_ip",
	[MC_CLIENT_PORT] = "client_port", [MC_SERVER_IP] = "server_ip",
	[MC_SERVER_PORT] = "server_port", [MC_HELO] = "helo", [MC_INDEX] = "message",
	[MC_FROM] = "mail_from", [MC_RCPT] = "rcpt_to", [MC_REJECTED] = "rcpt_rejected",
	[MC_ACCEPTED] = "accepted", [MC_OUTCOME] = "outcome", [MC_FINAL_CODE] = "final_code",
	[MC_SIZE] = "size", [MC_SUBJECT] = "subject", [MC_MESSAGE_ID] = "message_id",
	[MC_QUEUE_ID] = "queue_id", [MC_MAIL_TS] = "mail_ts", [MC_DATA_END_TS] = "data_end_ts",
	[MC_FINAL_REPLY_TS] = "final_reply_ts", [MC_TRANSACTION_TIME] = "transaction_time",
};

static const unsigned mhow[MC_COUNT] = {
	[MC_HELO] = WIRE, [MC_FROM] = WIRE, [MC_RCPT] = WIRE, [MC_REJECTED] = WIRE,
	[MC_SUBJECT] = WIRE | JOIN, [MC_MESSAGE_ID] = WIRE, [MC_QUEUE_ID] = WIRE,
};

void
rpt_message_times(const struct smtp_session *s, const struct smtp_message *m,
		  struct rpt_msg_times *t)
{
	int end = m->end_cmd < (int)s->n_cmds ? m->end_cmd : -1; /* decode/ keeps it */

	memset(t, 0, sizeof(*t));
	if (m->mail_cmd >= 0 && (size_t)m->mail_cmd < s->n_cmds) {
		t->mail = s->cmds[m->mail_cmd].ts;
		t->has_mail = true;
	}
	if (end < 0)
		return;
	/* an assumed ".": its time is when the reply showed the body was over, not when sent */
	if (!s->cmds[end].assumed) {
		t->data_end = s->cmds[end].ts;
		t->has_data_end = true;
	}
	if (s->cmds[end].has_reply) {
		t->final_reply = s->cmds[end].reply_ts;
		t->has_final_reply = true;
	}
}

/* The recipients refused (rejected) or not, separated by spaces, in a new string; NULL: none. */
static char *
address_list(const struct smtp_message *m, bool rejected)
{
	size_t len = 0, at = 0;
	char *list;

	for (size_t i = 0; i < m->n_rcpt; i++)
		if (SMTP_RCPT_REFUSED(m->rcpt[i].status) == rejected && m->rcpt[i].addr)
			len += strlen(m->rcpt[i].addr) + 1;
	if (len == 0 || !(list = malloc(len)))
		return NULL;
	for (size_t i = 0; i < m->n_rcpt; i++) {
		const char *a = m->rcpt[i].addr;

		if (SMTP_RCPT_REFUSED(m->rcpt[i].status) != rejected || !a)
			continue;
		if (at)
			list[at++] = ' ';
		memcpy(list + at, a, strlen(a));
		at += strlen(a);
	}
	list[at] = '\0';
	return list;
}

/* The time cells of one message: ts[3] hold the three times, took the span. */
static void
message_times(const char *v[MC_COUNT], const struct smtp_session *s,
	      const struct smtp_message *m, char ts[3][40], char *took, size_t n)
{
	struct rpt_msg_times t;

	rpt_message_times(s, m, &t);
	if (t.has_mail)
		rpt_iso_time(ts[0], sizeof(ts[0]), t.mail);
	if (t.has_data_end)
		rpt_iso_time(ts[1], sizeof(ts[1]), t.data_end);
	if (t.has_final_reply)
		rpt_iso_time(ts[2], sizeof(ts[2]), t.final_reply);
	if (t.has_mail && t.has_final_reply)
		seconds(took, n, t.final_reply >= t.mail ? t.final_reply - t.mail : 0);
	v[MC_MAIL_TS] = ts[0];
	v[MC_DATA_END_TS] = ts[1];
	v[MC_FINAL_REPLY_TS] = ts[2];
	v[MC_TRANSACTION_TIME] = took;
}

static void
message_row(FILE *f, const char *v[MC_COUNT], const struct smtp_session *s, size_t i)
{
	const struct smtp_message *m = &s->msgs[i];
	char index[24], size[24] = "", code[8] = "", ts[3][40] = {"", "", ""}, took[32] = "";
	char *rcpt = address_list(m, false), *rejected = address_list(m, true);

	snprintf(index, sizeof(index), "%zu", i + 1);
	if (m->size >= 0)
		snprintf(size, sizeof(size), "%" PRId64, m->size);
	if (m->final_code)
		snprintf(code, sizeof(code), "%d", m->final_code);
	v[MC_INDEX] = index;
	v[MC_FROM] = m->mail_from;
	v[MC_RCPT] = rcpt;
	v[MC_REJECTED] = rejected;
	v[MC_ACCEPTED] = m->accepted ? "true" : "false";
	v[MC_OUTCOME] = smtp_outcome_name(m->outcome);
	v[MC_FINAL_CODE] = code;
	v[MC_SIZE] = size;
	v[MC_SUBJECT] = m->subject;
	v[MC_MESSAGE_ID] = m->message_id;
	v[MC_QUEUE_ID] = m->queue_id;
	message_times(v, s, m, ts, took, sizeof(took));
	cells(f, v, mhow, MC_COUNT);
	free(rcpt);
	free(rejected);
}

void
csv_header(FILE *f, bool messages)
{
	if (messages)
		cells(f, mheaders, mhow, MC_COUNT);
	else
		row(f, headers);
}

void
csv_session(FILE *f, const struct smtp_session *s, bool messages)
{
	char id[24], ts[40], cip[64], sip[64], cport[8], sport[8];
	const char *v[COL_COUNT] = {
		[COL_ID] = id, [COL_TS] = ts, [COL_CLIENT_IP] = cip, [COL_CLIENT_PORT] = cport,
		[COL_SERVER_IP] = sip, [COL_SERVER_PORT] = sport,
		[COL_STATE] = smtp_state_name(s->state),
		[COL_OUTCOME] = smtp_outcome_name(s->outcome),
	};

	snprintf(id, sizeof(id), "%" PRIu64, s->id);
	rpt_iso_time(ts, sizeof(ts), s->ts_first);
	rpt_addr(cip, sizeof(cip), &s->client);
	rpt_addr(sip, sizeof(sip), &s->server);
	snprintf(cport, sizeof(cport), "%u", s->client_port);
	snprintf(sport, sizeof(sport), "%u", s->server_port);
	if (messages) {
		const char *mv[MC_COUNT] = {
			[MC_ID] = id, [MC_TS] = ts, [MC_CLIENT_IP] = cip, [MC_CLIENT_PORT] = cport,
			[MC_SERVER_IP] = sip, [MC_SERVER_PORT] = sport, [MC_HELO] = s->helo,
		};

		for (size_t i = 0; i < s->n_msgs; i++)
			message_row(f, mv, s, i);
		return;
	}
	/* every session shows, even one that recorded no command */
	if (s->n_cmds == 0)
		command_row(f, v, NULL);
	for (size_t i = 0; i < s->n_cmds; i++)
		command_row(f, v, &s->cmds[i]);
}

void
csv_summary(FILE *f, FILE *totals, const struct rpt_totals *t, const struct rpt_counts *c,
	    bool color, bool messages)
{
	if (c->sessions == 0) /* an empty table still says what its columns are */
		csv_header(f, messages);
	if (totals)
		text_summary(totals, t, c, color);
}
