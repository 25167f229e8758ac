/*
 * csv.c - -o csv: RFC 4180 rows for a spreadsheet, one per command and its
 * reply, each carrying its session's endpoints and outcome so a row can be
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
#include <string.h>

#include "report_private.h"

enum column {
	COL_ID, COL_TS, COL_CLIENT_IP, COL_CLIENT_PORT, COL_SERVER_IP, COL_SERVER_PORT,
	COL_STATE, COL_CMD, COL_ARG, COL_CMD_TS, COL_CODE, COL_ENHANCED, COL_RESULT,
	COL_MATCHED, COL_REPLY, COL_EXPLANATION, COL_OUTCOME, COL_REASON, COL_COUNT
};

static const char *const headers[COL_COUNT] = {
	[COL_ID] = "session_id", [COL_TS] = "session_ts", [COL_CLIENT_IP] = "client_ip",
	[COL_CLIENT_PORT] = "client_port", [COL_SERVER_IP] = "server_ip",
	[COL_SERVER_PORT] = "server_port", [COL_STATE] = "state", [COL_CMD] = "command",
	[COL_ARG] = "argument", [COL_CMD_TS] = "command_ts", [COL_CODE] = "reply_code",
	[COL_ENHANCED] = "enhanced", [COL_RESULT] = "result", [COL_MATCHED] = "matched_on",
	[COL_REPLY] = "reply_text", [COL_EXPLANATION] = "explanation",
	[COL_OUTCOME] = "session_outcome", [COL_REASON] = "reason",
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
row(FILE *f, const char *const v[COL_COUNT])
{
	for (int i = 0; i < COL_COUNT; i++) {
		if (i)
			putc(',', f);
		cell(f, v[i], how[i]);
	}
	fputs("\r\n", f); /* RFC 4180 ends records with CRLF */
}

/* The cells of one command; c is NULL for a session without any. */
static void
command_row(FILE *f, const char *v[COL_COUNT], const struct smtp_command *c)
{
	char ts[40] = "", code[8] = "";

	if (c) {
		rpt_iso_time(ts, sizeof(ts), c->ts);
		if (c->has_reply)
			snprintf(code, sizeof(code), "%d", c->reply.code);
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
	row(f, v);
}

void
csv_header(FILE *f)
{
	row(f, headers);
}

void
csv_session(FILE *f, const struct smtp_session *s)
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
	/* every session shows, even one that recorded no command */
	if (s->n_cmds == 0)
		command_row(f, v, NULL);
	for (size_t i = 0; i < s->n_cmds; i++)
		command_row(f, v, &s->cmds[i]);
}

void
csv_summary(FILE *f, FILE *totals, const struct rpt_totals *t, const struct rpt_counts *c,
	    bool color)
{
	if (c->sessions == 0) /* an empty table still says what its columns are */
		row(f, headers);
	if (totals)
		text_summary(totals, t, c, color);
}
