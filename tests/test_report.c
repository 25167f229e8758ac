/*
 * test_report.c - the writers: JSON strings stay valid whatever the wire
 * sent, terminal output cannot carry escape sequences from the wire, a
 * session record has the contract's fields, CSV cells are quoted and inert,
 * ECS documents carry the ECS fields, and the schema is one balanced object.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "../report/report.h"
#include "../report/report_private.h"

static char *
json_of(const char *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	rpt_json_string(f, s);
	fclose(f);
	return buf;
}

static void
test_json_string_escapes(void **state)
{
	char *j;

	(void)state;
	j = json_of("a\"b\\c\n\t\x01\x7f");
	assert_string_equal(j, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\"");
	free(j);
	/*
	 * valid UTF-8 kept; a stray Latin-1 byte becomes U+DC00 + byte (PEP 383),
	 * which valid text cannot produce: "\u00e9" would read as the é before it
	 */
	j = json_of("caf\xc3\xa9 caf\xe9 \xf0\x9f\x93\xa7");
	assert_string_equal(j, "\"caf\xc3\xa9 caf\\udce9 \xf0\x9f\x93\xa7\"");
	free(j);
	/* a truncated sequence at the end, an overlong form, a surrogate */
	j = json_of("x\xe2\x82 \xc0\xaf \xed\xa0\x80");
	assert_string_equal(j, "\"x\\udce2\\udc82 \\udcc0\\udcaf \\udced\\udca0\\udc80\"");
	free(j);
	/* C1 controls, bidi and zero-width characters: the same text, escaped */
	j = json_of("a\xc2\x9b" "b\xe2\x80\xae" "c\xe2\x80\x8b" "d\xc2\xa0");
	assert_string_equal(j, "\"a\\u009bb\\u202ec\\u200bd\xc2\xa0\"");
	free(j);
	j = json_of(NULL);
	assert_string_equal(j, "null");
	free(j);
}

/*
 * The escaper scans eight bytes at a time: each character that must be
 * escaped, at every position of a longer plain string, still is.
 */
static void
test_json_escapes_at_every_position(void **state)
{
	static const char special[] = {'"', '\\', '\n', '\x01', '\x1f', '\x7f'};
	static const char *const escaped[] = {"\\\"", "\\\\", "\\n", "\\u0001", "\\u001f",
					      "\\u007f"};
	char in[32], want[64];

	(void)state;
	for (size_t k = 0; k < sizeof(special); k++) {
		for (size_t at = 0; at < 24; at++) {
			memset(in, 'a' + (int)(at % 26), 24);
			in[24] = '\0';
			in[at] = special[k];
			snprintf(want, sizeof(want), "\"%.*s%s%s\"", (int)at, in, escaped[k],
				 in + at + 1);
			char *j = json_of(in);

			assert_string_equal(j, want);
			free(j);
		}
	}
}

static void
test_iso_time_and_addr(void **state)
{
	char buf[64];
	struct cap_addr v6 = {.family = 6, .bytes = {0x20, 0x01, 0x0d, 0xb8}};
	struct cap_addr v4 = {.family = 4, .bytes = {192, 0, 2, 7}};

	(void)state;
	rpt_iso_time(buf, sizeof(buf), 1254722767529046ull);
	assert_string_equal(buf, "2009-10-05T06:06:07.529046Z");
	rpt_iso_time(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
	rpt_iso_time(buf, sizeof(buf), 951782400000001ull); /* leap day of a century year */
	assert_string_equal(buf, "2000-02-29T00:00:00.000001Z");
	rpt_iso_time(buf, sizeof(buf), 1709251199999999ull);
	assert_string_equal(buf, "2024-02-29T23:59:59.999999Z");
	rpt_iso_time(buf, sizeof(buf), 4102444799000000ull);
	assert_string_equal(buf, "2099-12-31T23:59:59.000000Z");
	v6.bytes[15] = 1;
	rpt_addr(buf, sizeof(buf), &v6);
	assert_string_equal(buf, "2001:db8::1");
	rpt_addr(buf, sizeof(buf), &v4);
	assert_string_equal(buf, "192.0.2.7");
	/* dotted quads are written by hand: every digit count */
	static const struct {
		uint8_t b[4];
		const char *text;
	} quads[] = {
		{{0, 0, 0, 0}, "0.0.0.0"},
		{{255, 255, 255, 255}, "255.255.255.255"},
		{{10, 100, 1, 90}, "10.100.1.90"},
		{{9, 99, 199, 200}, "9.99.199.200"},
	};
	for (size_t i = 0; i < sizeof(quads) / sizeof(quads[0]); i++) {
		memcpy(v4.bytes, quads[i].b, 4);
		rpt_addr(buf, sizeof(buf), &v4);
		assert_string_equal(buf, quads[i].text);
	}
}

/*
 * A session run through the decoder and written by a real writer: turns[]
 * alternate server and client bytes, greeting first, NULL-terminated. With
 * totals, the summary is written too (quiet: CSV keeps its totals to itself).
 */
static char *
render_look(struct rpt_config rc, const char *const *turns, const size_t *lens,
	    const struct rpt_totals *totals)
{
	char *buf = NULL;
	size_t n = 0;
	struct smtp_config sc;
	struct smtp_decoder *dec;
	struct rsm_conn conn = {.id = 7, .client = {.family = 4}, .server = {.family = 4},
				.client_port = 1234, .server_port = 25, .ts_first = 1000,
				.packets = {1, 1}}; /* the handshake, both ways */
	struct rsm_event ev = {.type = RSM_EV_OPEN, .conn = &conn, .ts = 1000};
	uint64_t ts = 1000;

	rc.out = open_memstream(&buf, &n);
	struct rpt *r = rpt_new(&rc);

	smtp_default_config(&sc);
	dec = smtp_new(&sc, rpt_session, r);
	smtp_on_stream(dec, &ev);
	for (size_t i = 0; turns[i]; i++) {
		enum rsm_dir dir = i % 2 ? RSM_C2S : RSM_S2C;

		ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = dir, .conn = &conn,
					.ts = ts += 1000, .data = (const uint8_t *)turns[i],
					.len = lens ? lens[i] : strlen(turns[i])};
		conn.packets[dir]++;
		smtp_on_stream(dec, &ev);
	}
	conn.ts_last = ts += 1000;
	ev = (struct rsm_event){.type = RSM_EV_CLOSE, .conn = &conn, .ts = ts,
				.end = RSM_END_CLOSED};
	smtp_on_stream(dec, &ev);
	smtp_free(dec);
	if (totals)
		rpt_summary(r, totals);
	rpt_free(r);
	fclose(rc.out);
	return buf;
}

static char *
render_turns_n(enum rpt_format fmt, const char *const *turns, const size_t *lens,
	       const struct rpt_totals *totals)
{
	struct rpt_config rc = {.format = fmt, .color = false, .quiet = true};

	return render_look(rc, turns, lens, totals);
}

static char *
render_turns(enum rpt_format fmt, const char *const *turns, const struct rpt_totals *totals)
{
	return render_turns_n(fmt, turns, NULL, totals);
}

static char *
render(enum rpt_format fmt, const char *greeting)
{
	const char *const turns[] = {greeting, NULL};

	return render_turns(fmt, turns, NULL);
}

/* A delivered message with one refused recipient. */
static const char *const delivery[] = {
	"220 mx ESMTP\r\n",
	"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nRCPT TO:<x@d.test>\r\n"
	"DATA\r\n",
	"250 mx\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 User unknown\r\n354 Go ahead\r\n",
	"Subject: hi\r\nMessage-ID: <m1@b.test>\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	"250 2.0.0 Ok: queued as ABC123\r\n221 2.0.0 Bye\r\n",
	NULL,
};

static const struct cap_stats no_packets;
static const struct rsm_stats no_flows;
static const struct smtp_stats no_sessions;
static const struct rpt_totals zero_totals = {
	.capture = &no_packets, .reassembly = &no_flows, .decode = &no_sessions,
};

static void
test_terminal_output_has_no_wire_escapes(void **state)
{
	char *out;

	(void)state;
	out = render(RPT_TEXT, "220 evil \x1b[2J\x1b]0;pwned\x07 host\r\n");
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\x07'));
	assert_non_null(strstr(out, "\\x1b[2J"));
	free(out);

	/* reply texts quoted in explanations and the verdict; C1 CSI too */
	const char *const refused[] = {
		"220 mx\r\n", "HELO c\r\nMAIL FROM:<a@b>\r\n",
		"250 mx\r\n550 5.7.1 no \x1b[2J\xc2\x9b" "31m way\r\n", NULL,
	};
	out = render_turns(RPT_TEXT, refused, NULL);
	assert_null(strchr(out, '\x1b'));
	assert_null(strstr(out, "\xc2\x9b"));
	assert_non_null(strstr(out, "\\xc2\\x9b31m way"));
	free(out);
}

static void
test_json_session_fields(void **state)
{
	static const char *const fields[] = {
		"\"type\":\"session\"", "\"id\":7", "\"ts\":\"", "\"duration\":",
		"\"client\":{\"ip\":\"0.0.0.0\",\"port\":1234}", "\"server\":{", "\"state\":\"closed\"",
		"\"midstream\":false", "\"helo\":null", "\"esmtp\":false", "\"extensions\":[]",
		"\"starttls\":false", "\"auth\":null", "\"commands\":[{\"cmd\":\"CONNECT\"",
		"\"reply\":{\"code\":220,\"enhanced\":null,\"text\":\"mx ESMTP\"}",
		"\"result\":\"success\"", "\"explanation\":\"The server is ready",
		"\"matched_on\":\"code_in_context\"", "\"messages\":[]",
		"\"gaps\":{\"client\":0,\"server\":0}", "\"anomalies\":[]", "\"verdict\":\"",
	};
	char *out;

	(void)state;
	out = render(RPT_JSON, "220 mx ESMTP\r\n");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!strstr(out, fields[i]))
			fail_msg("missing %s in %s", fields[i], out);
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line, ended */
	free(out);
}

#define CSV_HEADER                                                                           \
	"session_id,session_ts,client_ip,client_port,server_ip,server_port,state,command,"   \
	"argument,command_ts,reply_code,enhanced,result,matched_on,reply_text,explanation," \
	"session_outcome,reason,reply_time\r\n"

static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)) != NULL; s += strlen(needle))
		n++;
	return n;
}

/* Commas, quotes, CR, a multi-line reply, Latin-1, ESC and formula starts from the wire. */
static void
test_csv_quoting(void **state)
{
	static const char *const turns[] = {
		"220-mx, \"big\"\r\n220 caf\xe9 \x1b[2J\r\n", "=cmd|x,\"y\" a\rz\r\nNOOP\r\n",
		"500 -no\r\n250 2.0.0 Ok\r\n", NULL,
	};
	char *out;

	(void)state;
	out = render_turns(RPT_CSV, turns, NULL);
	assert_memory_equal(out, CSV_HEADER, strlen(CSV_HEADER));
	/* reply lines joined; quotes doubled; a Latin-1 é and ESC as \xNN */
	assert_non_null(strstr(out, ",\"mx, \"\"big\"\" / caf\\xe9 \\x1b[2J\","));
	/* a formula start gets an apostrophe; a CR inside a cell is quoted */
	assert_non_null(strstr(out, ",closed,\"'=CMD|X,\"\"Y\"\"\",\"a\rz\","));
	assert_non_null(strstr(out, ",500,,permanent_failure,code_in_context,'-no,"));
	assert_non_null(strstr(out, ",NOOP,,"));
	/* the reason, then the reply time, last */
	assert_non_null(strstr(out, ",unknown_command,0."));
	assert_null(strchr(out, '\x1b'));
	assert_null(strstr(out, "caf\xe9"));
	assert_int_equal(count(out, "\r\n"), 4); /* header, CONNECT, the odd line, NOOP */
	assert_string_equal(out + strlen(out) - 2, "\r\n");
	free(out);
}

static void
test_csv_one_row_per_command(void **state)
{
	static const char *const nothing[] = {NULL};
	struct rpt_config rc = {.format = RPT_CSV, .quiet = true};
	char *out = NULL;
	size_t n = 0;
	struct rpt *r;

	(void)state;
	out = render_turns(RPT_CSV, delivery, &zero_totals);
	assert_int_equal(count(out, "\r\n"), 1 + 8); /* CONNECT EHLO MAIL RCPT RCPT DATA . QUIT */
	assert_non_null(strstr(out, ",RCPT,TO:<x@d.test>,1970-01-01T00:00:00.003000Z,550,5.1.1,"
				    "permanent_failure,"));
	assert_non_null(strstr(out, ",.,,"));
	assert_null(strstr(out, "Summary")); /* the totals never go into the table */
	free(out);
	/* a session: its rows, and the header once */
	out = render_turns(RPT_CSV, nothing, &zero_totals);
	assert_int_equal(count(out, "session_id,"), 1);
	free(out);
	/* no session at all: the header still says what the columns are */
	out = NULL;
	rc.out = open_memstream(&out, &n);
	r = rpt_new(&rc);
	rpt_summary(r, &zero_totals);
	rpt_free(r);
	fclose(rc.out);
	assert_string_equal(out, CSV_HEADER);
	free(out);
}


/* Turns of a fixed length: they hold NUL bytes. */
#define TURN(lit) lit
#define LEN(lit) (sizeof(lit) - 1)

static char *
render_nul(enum rpt_format fmt)
{
	static const char g[] = "220 mx\r\n";
	static const char c[] = "HELO a\0b\r\nMAIL FROM:<x\0y@z>\r\nX\xc0\x80Y\r\n";
	static const char r[] = "250 ok\0after\r\n250 2.1.0 Ok\r\n500 no\xc0\r\n";
	const char *const turns[] = {TURN(g), TURN(c), TURN(r), NULL};
	const size_t lens[] = {LEN(g), LEN(c), LEN(r), 0};

	return render_turns_n(fmt, turns, lens, NULL);
}

/*
 * A NUL from the wire ends no field: what follows it is there, the NUL
 * escaped; and a wire byte C0 (which decode/ uses to keep NUL) stays apart
 * from it, so the bytes come back as they were.
 */
static void
test_nul_kept_in_every_format(void **state)
{
	static const struct {
		enum rpt_format fmt;
		const char *want[4];
	} cases[] = {
		{RPT_TEXT, {"HELO a\\x00b", "250 ok\\x00after", "X\\xc0\\x80Y", "500 no\\xc0"}},
		{RPT_JSON,
		 {"\"arg\":\"a\\u0000b\"", "\"text\":\"ok\\u0000after\"", "\"mail_from\":\"x\\u0000y@z\"",
		  "\"cmd\":\"X\\udcc0\\udc80Y\""}},
		{RPT_CSV, {",HELO,a\\x00b,", ",ok\\x00after,", ",X\\xc0\\x80Y,", ",no\\xc0,"}},
		{RPT_ECS, {"ok\\u0000after", "x\\u0000y@z", "no\\udcc0", "a\\u0000b"}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = render_nul(cases[i].fmt);

		for (size_t k = 0; k < 4; k++)
			if (!strstr(out, cases[i].want[k]))
				fail_msg("format %d: missing %s in %s", (int)cases[i].fmt,
					 cases[i].want[k], out);
		free(out);
	}
}

/* U+202E (bidi override), U+200B (zero width) and U+009B (CSI) from the wire. */
static void
test_bidi_and_c1_escaped(void **state)
{
	static const char *const turns[] = {
		"220 mx\r\n",
		"EHLO c\r\nMAIL FROM:<a\xe2\x80\xae" "b@c>\r\nRCPT TO:<d\xf3\xa0\x81\x81" "e\xef\xb8\x8f@f>\r\n"
		"DATA\r\n",
		"250 mx\r\n250 Ok\r\n250 Ok\r\n354 go\r\n",
		"Subject: pay \xe2\x80\xae" "fdp.exe\xe2\x80\x8b\r\n\r\nx\r\n.\r\n",
		"550 5.7.1 no \xc2\x9b" "31m way\r\n", NULL,
	};
	char *out;

	(void)state;
	out = render_turns(RPT_TEXT, turns, NULL);
	assert_non_null(strstr(out, "FROM:<a\\u202eb@c>"));
	/* a tag character (hidden text) and a variation selector: shown, never passed on */
	assert_non_null(strstr(out, "TO:<d\\ue0041e\\ufe0f@f>"));
	assert_null(strstr(out, "\xe2\x80\xae"));
	assert_null(strstr(out, "\xe2\x80\x8b"));
	free(out);

	out = render_turns(RPT_CSV, turns, NULL);
	assert_non_null(strstr(out, ",MAIL,FROM:<a\\u202eb@c>,"));
	assert_non_null(strstr(out, " no \\xc2\\x9b31m way,"));
	assert_null(strstr(out, "\xe2\x80\xae"));
	assert_null(strstr(out, "\xc2\x9b"));
	free(out);

	out = render_turns(RPT_JSON, turns, NULL);
	assert_non_null(strstr(out, "\"subject\":\"pay \\u202efdp.exe\\u200b\""));
	assert_non_null(strstr(out, "no \\u009b31m way"));
	assert_null(strstr(out, "\xe2\x80\xae"));
	free(out);
}

/* A backslash in a CSV cell is doubled, so \xNN in a cell is always an escape. */
static void
test_csv_backslash(void **state)
{
	static const char *const turns[] = {"220 mx\r\n", "HELO a\\x00\r\n", "250 ok\r\n", NULL};
	char *out;

	(void)state;
	out = render_turns(RPT_CSV, turns, NULL);
	assert_non_null(strstr(out, ",HELO,a\\\\x00,"));
	free(out);
}

static void
test_ecs_document(void **state)
{
	/* ECS 8.11 allowed values: category email expects type info, network allows it too */
	static const char *const fields[] = {
		"{\"@timestamp\":\"1970-01-01T00:00:00.", "\"ecs\":{\"version\":\"8.",
		"\"event\":{\"kind\":\"event\",\"module\":\"smtpscope\","
		"\"dataset\":\"smtpscope.session\",\"id\":\"",
		"\"category\":[\"network\",\"email\"],\"type\":[\"info\"],"
		"\"action\":\"smtp-session\",\"outcome\":\"success\",\"start\":",
		"\"reason\":\"", "\"message\":\"",
		"\"observer\":{", "\"type\":\"sensor\",\"product\":\"smtpscope\"",
		"\"source\":{\"ip\":\"0.0.0.0\",\"port\":1234,\"bytes\":",
		"\"destination\":{\"ip\":\"0.0.0.0\",\"port\":25,\"bytes\":",
		"\"client\":{\"ip\":\"0.0.0.0\",\"port\":1234,", "\"server\":{\"ip\":\"0.0.0.0\",\"port\":25,",
		"\"network\":{\"transport\":\"tcp\",\"iana_number\":\"6\",\"protocol\":\"smtp\","
		"\"type\":\"ipv4\",\"community_id\":\"1:",
		"\"related\":{\"ip\":[\"0.0.0.0\"],\"hosts\":[\"client.test\"]}",
		"\"smtpscope\":{\"id\":\"", "\"number\":7,\"state\":\"closed\",\"outcome\":\"delivered\"",
		"\"helo\":\"client.test\"",
		"{\"cmd\":\"RCPT\",\"arg\":\"TO:<x@d.test>\",\"ts\":\"",
		"\"code\":550,\"enhanced\":\"5.1.1\"",
		"\"rcpt_to\":[\"c@d.test\"],\"rcpt_rejected\":[\"x@d.test\"],\"accepted\":true",
		"\"queue_id\":\"ABC123\",\"outcome\":\"delivered\",\"final_code\":250}",
		/* the message, a document of its own */
		"\"event\":{\"kind\":\"event\",\"module\":\"smtpscope\","
		"\"dataset\":\"smtpscope.message\",\"id\":\"",
		"\"category\":[\"email\"],\"type\":[\"info\"],\"action\":\"smtp-message\","
		"\"outcome\":\"success\"",
		"\"message\":\"message accepted by the server, queued as ABC123\"",
		"\"email\":{\"from\":{\"address\":[\"a@b.test\"]},"
		"\"to\":{\"address\":[\"c@d.test\"]},"
		"\"subject\":\"hi\",\"message_id\":\"<m1@b.test>\",\"local_id\":\"ABC123\","
		"\"delivery_timestamp\":\"1970-01-01T00:00:00.",
		"\"message_number\":1}}",
		"{\"@timestamp\":\"1970-01-01T00:00:00.", /* the summary: the last session's end */
		"\"event\":{\"kind\":\"metric\",\"module\":\"smtpscope\","
		"\"dataset\":\"smtpscope.summary\",\"id\":\"",
		"\"smtpscope\":{\"summary\":{\"type\":\"summary\",\"packets\":0,",
	};
	char *out, *at;

	(void)state;
	out = render_turns(RPT_ECS, delivery, &zero_totals);
	at = out;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *hit = strstr(at, fields[i]);

		if (!hit)
			fail_msg("missing (in this order) %s in %s", fields[i], out);
		at = hit + strlen(fields[i]);
	}
	assert_null(strstr(out, "\"user\":"));	     /* no AUTH: no user.name */
	assert_null(strstr(out, "\"error\":"));	     /* delivered: no failing reply */
	assert_null(strstr(out, "\"source.ip\"")); /* nested, never dotted */
	assert_null(strstr(out, ":null"));	     /* absent values are left out */
	assert_int_equal(count(out, "\n"), 3);     /* the session, its message, the summary */
	free(out);
}

/* A server that refuses at the door is a failure to ECS; no message, no email object. */
static void
test_ecs_failure(void **state)
{
	char *out;

	(void)state;
	out = render(RPT_ECS, "554 5.7.1 go away\r\n");
	assert_non_null(strstr(out, "\"outcome\":\"failure\""));
	assert_null(strstr(out, "\"email\":"));
	/* the failing reply at event level */
	assert_non_null(strstr(out, "\"error\":{\"code\":\"554\",\"message\":\""));
	assert_non_null(strstr(out, "\"reply_code\":554"));
	free(out);
}

/* The session's event.id from the capture's name, the flow and its first packet. */
static char *
session_id_of(const char *capture)
{
	struct rpt_config rc = {.format = RPT_ECS, .quiet = true, .capture_name = capture};
	char *out = render_look(rc, delivery, NULL, &zero_totals);
	char *id = strstr(out, "\"id\":\""), *end;

	assert_non_null(id);
	id += 6;
	end = strchr(id, '"');
	assert_non_null(end);
	*end = '\0';
	memmove(out, id, strlen(id) + 1);
	return out;
}

/* Ids are stable: the same capture read twice gives the same; another capture, another. */
static void
test_ecs_stable_ids(void **state)
{
	char *a = session_id_of("/tmp/x/day1.pcap"), *b = session_id_of("elsewhere/day1.pcap");
	char *c = session_id_of("day2.pcap"), *d = session_id_of(NULL);

	(void)state;
	assert_int_equal(strlen(a), 32);
	assert_string_equal(a, b); /* the base name only: a moved file keeps its ids */
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* AUTH refused twice, then accepted: three authentication events; user.name once it worked. */
static void
test_ecs_auth_events(void **state)
{
	static const char *const refused[] = {
		"220 mx ESMTP\r\n", "EHLO c\r\n", "250-mx\r\n250 AUTH PLAIN LOGIN\r\n",
		"AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n", "535 5.7.8 Authentication failed\r\n",
		"QUIT\r\n", "221 Bye\r\n", NULL,
	};
	static const char *const retried[] = {
		"220 mx ESMTP\r\n", "EHLO c\r\n", "250-mx\r\n250 AUTH PLAIN LOGIN\r\n",
		"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", "Ym9i\r\n", "334 UGFzc3dvcmQ6\r\n",
		"d3Jvbmc=\r\n", "535 5.7.8 Authentication failed\r\n",
		"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "235 2.7.0 Authentication successful\r\n",
		"QUIT\r\n", "221 Bye\r\n", NULL,
	};
	char *out;

	(void)state;
	out = render_turns(RPT_ECS, refused, &zero_totals);
	/* the session: the user is related, but no user.name for a login that failed */
	assert_non_null(strstr(out, "\"related\":{\"ip\":[\"0.0.0.0\"],\"hosts\":[\"c\"],"
				    "\"user\":[\"bob\"]}"));
	assert_int_equal(count(out, "\"user\":{\"name\":\"bob\"}"), 1);
	assert_non_null(strstr(out, "\"category\":[\"authentication\"],\"type\":[\"start\"],"
				    "\"action\":\"smtp-auth\",\"outcome\":\"failure\""));
	assert_non_null(strstr(out, "\"error\":{\"code\":\"535\""));
	assert_non_null(strstr(out, "\"auth\":{\"mechanism\":\"PLAIN\",\"user\":\"bob\","
				    "\"success\":false},\"auth_number\":1}}"));
	free(out);

	out = render_turns(RPT_ECS, retried, &zero_totals);
	assert_int_equal(count(out, "\"action\":\"smtp-auth\""), 2);
	assert_non_null(strstr(out, "\"action\":\"smtp-auth\",\"outcome\":\"failure\""));
	assert_non_null(strstr(out, "\"action\":\"smtp-auth\",\"outcome\":\"success\""));
	assert_non_null(strstr(out, "\"auth\":{\"mechanism\":\"LOGIN\",\"success\":false},"
				    "\"auth_number\":1}}"));
	/* accepted: user.name on the session and on its authentication event */
	assert_int_equal(count(out, "\"user\":{\"name\":\"alice\"}"), 2);
	free(out);
}

/*
 * Community ID v1: the spec's published vectors (corelight/community-id-spec,
 * README's table and baseline/baseline_deflt.json, baseline_seed1.json: the
 * TCP, UDP and SCTP rows), each direction of a flow giving the same id.
 */
static void
test_community_id_vectors(void **state)
{
	static const struct {
		uint16_t seed;
		uint8_t proto;
		const char *saddr;
		uint16_t sport;
		const char *daddr;
		uint16_t dport;
		const char *id;
	} v[] = {
		{0, 6, "1.2.3.4", 1122, "5.6.7.8", 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
		{0, 6, "5.6.7.8", 3344, "1.2.3.4", 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
		{0, 17, "1.2.3.4", 1122, "5.6.7.8", 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="},
		{0, 132, "1.2.3.4", 1122, "5.6.7.8", 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="},
		{0, 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25,
		 "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
		{0, 6, "2607:f8b0:400c:c03::1a", 25, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943,
		 "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
		{0, 132, "192.168.170.8", 7, "192.168.170.56", 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
		{0, 132, "192.168.170.56", 7, "192.168.170.8", 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
		{0, 6, "128.232.110.120", 34855, "66.35.250.204", 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{0, 6, "66.35.250.204", 80, "128.232.110.120", 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{0, 17, "192.168.1.52", 54585, "8.8.8.8", 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{0, 17, "8.8.8.8", 53, "192.168.1.52", 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{1, 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25,
		 "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
		{1, 6, "2607:f8b0:400c:c03::1a", 25, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943,
		 "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
		{1, 132, "192.168.170.8", 7, "192.168.170.56", 7, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
		{1, 6, "128.232.110.120", 34855, "66.35.250.204", 80, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
		{1, 6, "66.35.250.204", 80, "128.232.110.120", 34855, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
		{1, 17, "192.168.1.52", 54585, "8.8.8.8", 53, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
		{1, 17, "8.8.8.8", 53, "192.168.1.52", 54585, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	};
	char id[RPT_COMMUNITY_ID_LEN];
	struct cap_addr a = {0}, b = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bool six = strchr(v[i].saddr, ':') != NULL;

		a.family = b.family = six ? 6 : 4;
		memset(a.bytes, 0, 16);
		memset(b.bytes, 0, 16);
		assert_int_equal(inet_pton(six ? AF_INET6 : AF_INET, v[i].saddr, a.bytes), 1);
		assert_int_equal(inet_pton(six ? AF_INET6 : AF_INET, v[i].daddr, b.bytes), 1);
		assert_int_equal(rpt_community_id(id, sizeof(id), v[i].seed, v[i].proto, &a,
						  v[i].sport, &b, v[i].dport),
				 30);
		assert_string_equal(id, v[i].id);
	}
	/* a buffer too small, or two families: no id, an empty string */
	assert_int_equal(rpt_community_id(id, 30, 0, 6, &a, 1, &b, 2), 0);
	assert_string_equal(id, "");
	b.family = 4;
	a.family = 6;
	assert_int_equal(rpt_community_id(id, sizeof(id), 0, 6, &a, 1, &b, 2), 0);
	assert_int_equal(rpt_community_id(id, 0, 0, 6, &a, 1, &b, 2), 0);
}

/* Braces and brackets balanced outside strings; the run-time name lists are in. */
static void
test_schema_is_balanced(void **state)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	int depth = 0;
	bool in_string = false;

	(void)state;
	rpt_print_schema(f);
	fclose(f);
	assert_true(n > 1000);
	for (const char *p = out; *p; p++) {
		if (in_string) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_string = false;
		} else if (*p == '"') {
			in_string = true;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			assert_true(--depth >= 0);
			if (depth == 0)
				assert_string_equal(p, "}\n");
		}
	}
	assert_int_equal(depth, 0);
	assert_false(in_string);
	assert_non_null(
		strstr(out, "\"$schema\": \"https://json-schema.org/draft/2020-12/schema\""));
	for (int a = 0; a < SMTP_ANOM_COUNT; a++) {
		char name[64];

		snprintf(name, sizeof(name), "\"%s\"", smtp_anomaly_name((enum smtp_anomaly)a));
		assert_non_null(strstr(out, name));
	}
	assert_non_null(strstr(out, "\"never_reached\""));
	assert_non_null(strstr(out, "\"additionalProperties\": false"));
	free(out);
}

static void
to_audit(void *arg, const struct smtp_session *s)
{
	rpt_audit_session(arg, s);
}

/* One session from client .c to server .v at ts (microseconds), as the decoder hands it over. */
static void
audit_session_at(struct rpt_audit *a, uint8_t c, uint8_t v, const char *client,
		 const char *server, enum rsm_end end, uint64_t ts)
{
	struct smtp_config cfg;
	struct rsm_conn conn = {.id = 1, .client = {.family = 4, .bytes = {10, 0, 0, c}},
				.server = {.family = 4, .bytes = {10, 0, 0, v}}, .client_port = 40000,
				.server_port = 25};
	struct rsm_event ev = {.type = RSM_EV_OPEN, .conn = &conn, .ts = ts};
	struct smtp_decoder *dec;

	smtp_default_config(&cfg);
	dec = smtp_new(&cfg, to_audit, a);
	smtp_on_stream(dec, &ev);
	if (server) {
		conn.packets[RSM_S2C] = conn.packets[RSM_C2S] = 1;
		ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = RSM_S2C, .conn = &conn, .ts = ts,
					.data = (const uint8_t *)server, .len = 14};
		smtp_on_stream(dec, &ev); /* the greeting */
		ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = RSM_C2S, .conn = &conn, .ts = ts,
					.data = (const uint8_t *)client, .len = strlen(client)};
		smtp_on_stream(dec, &ev);
		ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = RSM_S2C, .conn = &conn, .ts = ts,
					.data = (const uint8_t *)server + 14, .len = strlen(server) - 14};
		smtp_on_stream(dec, &ev);
	}
	ev = (struct rsm_event){.type = RSM_EV_CLOSE, .conn = &conn, .end = end, .ts = ts};
	smtp_on_stream(dec, &ev);
	smtp_free(dec);
}

static void
audit_session(struct rpt_audit *a, uint8_t c, uint8_t v, const char *client, const char *server,
	      enum rsm_end end)
{
	audit_session_at(a, c, v, client, server, end, 0);
}

/* Does the JSON Lines record that contains head also contain what? */
static bool
record_has(const char *out, const char *head, const char *what)
{
	const char *r = strstr(out, head), *end = r ? strchr(r, '\n') : NULL, *w;

	assert_non_null(end);
	w = strstr(r, what);
	return w && w < end;
}

/* A client writing to 12 servers with a bare EHLO name, and a server that never answers. */
static void
test_audit_counts_and_flags(void **state)
{
	struct rpt_audit_opts ao = {.sort = RPT_SORT_SESSIONS};
	struct rpt_audit *a = rpt_audit_new(&ao, NULL);
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	(void)state;
	for (uint8_t v = 100; v < 112; v++)
		audit_session(a, 9, v, "EHLO PC01\r\nMAIL FROM:<a@b>\r\nRCPT TO:<nobody@c>\r\n",
			      "220 mx ESMTP\r\n250 mx\r\n250 2.1.0 Ok\r\n550 5.1.1 User unknown\r\n",
			      RSM_END_CLOSED);
	audit_session(a, 9, 200, NULL, NULL, RSM_END_REFUSED);
	/* eleven different failures at one server: the top eight kept, three counted past them */
	for (int k = 0; k < 11; k++) {
		char reply[96];

		snprintf(reply, sizeof(reply), "220 mx ESMTP\r\n250 mx\r\n55%d 5.7.%d No\r\n", k % 5,
			 k);
		audit_session(a, 7, 150, "EHLO h.example\r\nMAIL FROM:<a@b>\r\n", reply,
			      RSM_END_CLOSED);
	}
	audit_session(a, 9, 200, NULL, NULL, RSM_END_NO_ANSWER);
	rpt_audit_print(a, f, true);
	fclose(f);
	/* the busy client comes first: most sessions */
	assert_non_null(strstr(out, "{\"type\":\"host\",\"ip\":\"10.0.0.9\",\"role\":\"client\","
				    "\"zone\":null,\"sessions\":14,\"peers\":13,"));
	/* twelve unknown recipients at once: a harvester, as far as the audit can tell */
	assert_non_null(strstr(out, "{\"id\":\"harvesting\",\"count\":12,"));
	assert_non_null(strstr(out, "\"rejected\":12},\"attempts\":{\"refused\":1,\"no_answer\":1,"));
	assert_non_null(strstr(out, "\"ehlo_names\":[\"PC01\"]"));
	assert_non_null(strstr(out, "{\"reply\":\"550 5.1.1 after RCPT\",\"count\":12}"));
	assert_non_null(strstr(out, "talks to many mail servers"));
	assert_non_null(strstr(out, "EHLO name is not a host name"));
	assert_non_null(strstr(out, "\"ip\":\"10.0.0.200\",\"role\":\"server\",\"zone\":null,\"sessions\":2"));
	assert_non_null(strstr(out, "\"other_failures\":3,"));
	assert_non_null(strstr(out, "never answered SMTP"));
	assert_false(record_has(out, "\"ip\":\"10.0.0.100\",\"role\":\"server\"", "never answered"));
	free(out);
	/* thirteen servers: the client's eight busiest get an arrow, five are said not drawn */
	f = open_memstream(&out, &n);
	assert_true(rpt_audit_graph(a, f, false));
	fclose(f);
	assert_non_null(strstr(out, "not drawn: 0 more hosts, 5 arrows"));
	free(out);
	rpt_audit_free(a);
}

#define EHLO_OK "220 mx ESMTP\r\n250 mx\r\n"

/* Ours: 10.0.0.0/28 and example.org; the judgements that need them, and --audit-only. */
static void
test_audit_judgements(void **state)
{
	struct rpt_audit_opts ao = {.sort = RPT_SORT_HOST}, bad = {0};
	struct rpt_audit *a;
	char *out = NULL, *dot = NULL;
	size_t n = 0, nd = 0;
	FILE *f = open_memstream(&out, &n), *g = open_memstream(&dot, &nd);
	const uint64_t min = 60 * 1000000ull;
	/* failed logins: nine, one 20 minutes later, then (late, out of order) a tenth within */
	const uint64_t guesses[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 28, 9};

	(void)state;
	assert_null(rpt_audit_nets(&ao, "10.0.0.0/28"));
	assert_null(rpt_audit_domains(&ao, "Example.ORG."));
	assert_non_null(rpt_audit_nets(&bad, "10.0.0.0/33"));
	assert_non_null(rpt_audit_nets(&bad, "mx.example.org"));
	assert_non_null(rpt_audit_nets(&bad, "::1/129"));
	assert_non_null(rpt_audit_nets(&bad, ""));
	assert_non_null(rpt_audit_domains(&bad, "bad..example"));
	assert_non_null(rpt_audit_only(&bad, "servers"));
	assert_int_equal(bad.n_nets, 0);
	a = rpt_audit_new(&ao, NULL);
	/* outside .20 relays through our .1 to a foreign domain; ours and a subdomain are fine */
	audit_session(a, 20, 1, "EHLO a.example\r\nMAIL FROM:<x@a.example>\r\n"
		      "RCPT TO:<y@foreign.example>\r\nRCPT TO:<z@mail.example.org>\r\n",
		      EHLO_OK "250 ok\r\n250 ok\r\n250 ok\r\n", RSM_END_CLOSED);
	/* outside .21 sends as example.org; .22 names an address that is not its own */
	audit_session(a, 21, 1, "EHLO b.example\r\nMAIL FROM:<boss@EXAMPLE.org>\r\n",
		      EHLO_OK "250 ok\r\n", RSM_END_CLOSED);
	audit_session(a, 22, 1, "EHLO [192.0.2.1]\r\n", EHLO_OK, RSM_END_CLOSED);
	audit_session(a, 23, 1, "EHLO [10.0.0.23]\r\n", EHLO_OK, RSM_END_CLOSED);
	/* our .5 mails two outside MX servers; our .2 does too, but is a server itself */
	audit_session(a, 5, 100, "EHLO pc5.example.org\r\n", EHLO_OK, RSM_END_CLOSED);
	audit_session(a, 5, 101, "EHLO pc5.example.org\r\n", EHLO_OK, RSM_END_CLOSED);
	audit_session(a, 2, 100, "EHLO relay.example.org\r\n", EHLO_OK, RSM_END_CLOSED);
	audit_session(a, 3, 2, "EHLO pc3.example.org\r\n", EHLO_OK, RSM_END_CLOSED);
	for (size_t i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++)
		audit_session_at(a, 30, 1, "EHLO c.example\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\n",
				 EHLO_OK "535 5.7.8 Error: authentication failed\r\n",
				 RSM_END_CLOSED, guesses[i] * min);
	rpt_audit_print(a, f, true);
	fclose(f);
	assert_non_null(strstr(out, "\"ip\":\"10.0.0.1\",\"role\":\"server\",\"zone\":\"local\""));
	assert_non_null(strstr(out, "{\"id\":\"open_relay\",\"count\":1,"));
	assert_non_null(strstr(out, "{\"id\":\"spoofed_sender\",\"count\":1,"));
	assert_non_null(strstr(out, "{\"id\":\"ehlo_mismatch\",\"count\":1,"));
	assert_non_null(strstr(out, "{\"id\":\"direct_to_mx\",\"count\":2,"));
	assert_non_null(strstr(out, "{\"id\":\"password_guessing\",\"count\":11,"));
	assert_non_null(strstr(out, "{\"id\":\"login_failures\",\"count\":11,"));
	assert_non_null(strstr(out, "\"failed\":11,\"failed_attempts\":11,\"failed_users\":1,"));
	/* 15 sessions with EHLO at our .1, none offered STARTTLS */
	assert_non_null(strstr(out, "{\"id\":\"no_starttls\",\"count\":15,"));
	/* the relay and .23 (its own address) are not flagged */
	assert_false(record_has(out, "\"ip\":\"10.0.0.2\",\"role\":\"client\"", "direct_to_mx"));
	assert_true(record_has(out, "\"ip\":\"10.0.0.5\",\"role\":\"client\"", "direct_to_mx"));
	assert_false(record_has(out, "\"ip\":\"10.0.0.23\",\"role\":\"client\"", "ehlo_mismatch"));
	rpt_audit_graph(a, g, false);
	fclose(g);
	assert_non_null(strstr(dot, "digraph smtpscope_audit {"));
	assert_non_null(strstr(dot, "\"c 10.0.0.20\" -> \"s 10.0.0.1\" [label=\"1 session"));
	assert_non_null(strstr(dot, "open_relay"));
	free(out);
	free(dot);
	rpt_audit_free(a);
}

/* What ordinary traffic must not be judged as (the review of the judgements). */
static void
test_audit_not_judged_wrongly(void **state)
{
	struct rpt_audit_opts ao = {.sort = RPT_SORT_FLAGS};
	struct rpt_audit *a;
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	(void)state;
	assert_null(rpt_audit_nets(&ao, "::ffff:10.0.0.0/124")); /* IPv4 as mapped: 10.0.0.0/28 */
	assert_null(rpt_audit_domains(&ao, "example.org"));
	a = rpt_audit_new(&ao, NULL);
	/* outside .20 at our .1: postmaster and the server's own literal are ours, another
	 * literal is elsewhere; a sender not ours */
	audit_session(a, 20, 1, "EHLO a.example\r\nMAIL FROM:<b@em1.example.net>\r\n"
		      "RCPT TO:<postmaster>\r\nRCPT TO:<pm@[10.0.0.1]>\r\nRCPT TO:<x@[192.0.2.9]>\r\n",
		      EHLO_OK "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n", RSM_END_CLOSED);
	/* outside .21 sends as us to an outside server: not ours to judge */
	audit_session(a, 21, 100, "EHLO b.example\r\nMAIL FROM:<boss@example.org>\r\n",
		      EHLO_OK "250 ok\r\n", RSM_END_CLOSED);
	/* our .2 is a relay (.3 sends to it) passing unknown recipients on to our .4 */
	audit_session(a, 3, 2, "EHLO pc3.example.org\r\n", EHLO_OK, RSM_END_CLOSED);
	for (int i = 0; i < 12; i++)
		audit_session(a, 2, 4, "EHLO relay.example.org\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.org>\r\n",
			      EHLO_OK "250 ok\r\n550 5.1.1 User unknown\r\n", RSM_END_CLOSED);
	/* outside .22: 12 unknown recipients, but 30 known ones: a stale list, not harvesting */
	for (int i = 0; i < 12; i++)
		audit_session(a, 22, 1, "EHLO c.example\r\nMAIL FROM:<l@c.example>\r\n"
			      "RCPT TO:<u@example.org>\r\nRCPT TO:<k@example.org>\r\n"
			      "RCPT TO:<k@example.org>\r\nRCPT TO:<k@example.org>\r\n",
			      EHLO_OK "250 ok\r\n550 5.1.1 User unknown\r\n250 ok\r\n250 ok\r\n250 ok\r\n",
			      RSM_END_CLOSED);
	/* outside .23 cancels AUTH ten times: not a wrong password */
	for (int i = 0; i < 10; i++)
		audit_session(a, 23, 1, "EHLO d.example\r\nAUTH LOGIN\r\n*\r\n",
			      EHLO_OK "334 VXNlcm5hbWU6\r\n501 5.7.0 Authentication aborted\r\n",
			      RSM_END_CLOSED);
	/* our .5 logs in to an outside smarthost on port 25: not direct to MX */
	audit_session(a, 5, 100, "EHLO pc5.example.org\r\nAUTH PLAIN AGFsaWNlAHBhc3M=\r\n",
		      EHLO_OK "235 2.7.0 ok\r\n", RSM_END_CLOSED);
	rpt_audit_print(a, f, true);
	fclose(f);
	assert_non_null(strstr(out, "{\"id\":\"open_relay\",\"count\":1,"));
	assert_null(strstr(out, "spoofed_sender\""));
	assert_null(strstr(out, "harvesting\""));
	assert_null(strstr(out, "password_guessing\""));
	assert_null(strstr(out, "direct_to_mx\""));
	/* the open relay comes first, though others carry more flags */
	assert_non_null(strstr(out, "{\"type\":\"host\",\"ip\":\"10.0.0.1\",\"role\":\"server\""));
	assert_true(strstr(out, "{\"type\":\"host\",\"ip\":\"10.0.0.1\",\"role\":\"server\"") == out);
	free(out);
	rpt_audit_free(a);
}

/* TLS as the audit counts it: a weak cipher, an old version, a failed handshake not as TLS used. */
static void
test_audit_tls_judgements(void **state)
{
	struct rpt_audit *a = rpt_audit_new(NULL, NULL);
	struct tls_facts rc4 = {.handshake = TLS_HS_COMPLETED, .version_code = 0x0301,
				.cipher = "TLS_RSA_WITH_RC4_128_SHA"};
	struct tls_facts failed = {.handshake = TLS_HS_FAILED};
	struct smtp_session s = {.client = {.family = 4, .bytes = {192, 0, 2, 1}},
				 .server = {.family = 4, .bytes = {192, 0, 2, 25}},
				 .server_port = 25, .starttls = true, .tls = &rc4,
				 .state = SMTP_ST_CLOSED};
	uint64_t hosts[RPT_AUDIT_FLAGS];
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	(void)state;
	rpt_audit_session(a, &s);
	s.tls = &failed;
	rpt_audit_session(a, &s);
	rpt_audit_print(a, f, true);
	fclose(f);
	assert_non_null(strstr(out, "{\"id\":\"weak_cipher\",\"count\":1,"));
	assert_non_null(strstr(out, "{\"id\":\"old_tls\",\"count\":1,"));
	assert_non_null(strstr(out, "\"tls\":{\"used\":1,\"offered_unused\":0,\"failed\":1,"));
	rpt_audit_flag_hosts(a, hosts);
	for (unsigned i = 0; i < RPT_AUDIT_FLAGS; i++) {
		const char *id = rpt_audit_flag_id(i);
		bool both = !strcmp(id, "weak_cipher") || !strcmp(id, "old_tls") ||
			    !strcmp(id, "tls_failed");

		assert_int_equal(hosts[i], both ? 2 : 0);
	}
	assert_null(rpt_audit_flag_id(RPT_AUDIT_FLAGS));
	free(out);
	rpt_audit_free(a);
}

/* The same failed logins, spread over more than 10 minutes each: no burst, no flag; --audit-only. */
static void
test_audit_no_burst_and_only(void **state)
{
	struct rpt_audit_opts ao = {.sort = RPT_SORT_HOST};
	struct rpt_audit *a;
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	(void)state;
	assert_null(rpt_audit_only(&ao, "client,password_guessing,ehlo_not_hostname"));
	a = rpt_audit_new(&ao, NULL);
	for (uint64_t i = 0; i < 12; i++) /* one every 70 s, last first: 9 within any 10 minutes */
		audit_session_at(a, 31, 1, "EHLO PC31\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\n",
				 EHLO_OK "535 5.7.8 Error: authentication failed\r\n",
				 RSM_END_CLOSED, (11 - i) * 70 * 1000000ull);
	audit_session(a, 32, 1, "EHLO c.example\r\n", EHLO_OK, RSM_END_CLOSED);
	rpt_audit_print(a, f, true);
	fclose(f);
	assert_null(strstr(out, "password_guessing"));
	assert_null(strstr(out, "\"role\":\"server\""));
	assert_null(strstr(out, "10.0.0.32"));
	assert_non_null(strstr(out, "\"ip\":\"10.0.0.31\""));
	assert_non_null(strstr(out, "\"failed_attempts\":12,"));
	free(out);
	rpt_audit_free(a);
}

/* "notes:" in words, every anomaly: never the JSON name, never an identifier. */
static void
test_anomaly_words(void **state)
{
	(void)state;
	for (int a = 0; a < SMTP_ANOM_COUNT; a++) {
		const char *w = rpt_anomaly_words((enum smtp_anomaly)a);

		if (strcmp(w, smtp_anomaly_name((enum smtp_anomaly)a)) == 0 || strchr(w, '_'))
			fail_msg("anomaly %s has no words: \"%s\"", smtp_anomaly_name((enum smtp_anomaly)a),
				 w);
	}
}

/* A session with a two-line reply, a refusal and a long explanation. */
static const char *const terminal_turns[] = {
	"220 mx ESMTP\r\n",
	"EHLO c\r\n",
	"250-mx\r\n250 SIZE 100\r\n",
	"MAIL FROM:<a@b>\r\n",
	"550 5.1.7 Invalid address\r\n",
	"QUIT\r\n",
	"221 Bye\r\n",
	NULL,
};

/* Columns of a line of UTF-8 text, each character one (the session above is ASCII but marks). */
static size_t
line_cols(const char *p, size_t n)
{
	size_t cols = 0;

	for (size_t i = 0; i < n; i++)
		cols += ((unsigned char)p[i] & 0xc0) != 0x80;
	return cols;
}

/* On a terminal 40 wide: every line fits, continuation lines indented; ASCII marks. */
static void
test_text_terminal(void **state)
{
	struct rpt_config rc = {.format = RPT_TEXT, .quiet = true, .width = 40, .ascii = true};
	char *out, *line, *nl;
	bool continued = false, prev = false, expl;

	(void)state;
	out = render_look(rc, terminal_turns, NULL, NULL);
	for (line = out; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if (line_cols(line, (size_t)(nl - line)) > 40)
			fail_msg("wider than 40: %.*s", (int)(nl - line), line);
		for (const char *c = line; c < nl; c++)
			if ((unsigned char)*c >= 0x80)
				fail_msg("not ASCII: %.*s", (int)(nl - line), line);
		expl = strncmp(line, "      ", 6) == 0 && line[6] != ' ';
		continued |= prev && expl; /* an explanation's second line, indented as its first */
		prev = expl;
	}
	assert_true(continued);
	assert_non_null(strstr(out, "  ok EHLO c"));
	assert_non_null(strstr(out, "  x  MAIL FROM:<a@b>"));
	assert_non_null(strstr(out, "(+1 line)"));
	assert_null(strstr(out, "(+1 lines)"));
	free(out);

	rc.width = 0; /* a file or a pipe: one line per explanation */
	rc.ascii = false;
	out = render_look(rc, terminal_turns, NULL, NULL);
	assert_non_null(strstr(out, "  ✓ EHLO c"));
	assert_non_null(strstr(out, "\n      The sender's address (MAIL FROM) was refused as malformed: "
				    "a syntax error such as missing angle brackets, spaces or invalid "
				    "characters. Who can fix it: the sender. Permanent: retrying "
				    "unchanged will fail again.\n"));
	free(out);
}

/* Wrapping: at spaces, continuation indented, a word longer than a line cut. */
static void
test_wrap(void **state)
{
	static const char text[] = "  => one two three four five six seven eight nine ten\n"
				   "  => abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n";
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	(void)state;
	rpt_wrap(f, text, sizeof(text) - 1, 20, 5);
	fclose(f);
	assert_string_equal(buf, "  => one two three\n"
				 "     four five six\n"
				 "     seven eight\n"
				 "     nine ten\n"
				 "  => abcdefghijklmno\n"
				 "     pqrstuvwxyzabcd\n"
				 "     efghijklmnopqrs\n"
				 "     tuvwxyz\n");
	free(buf);
}

/* Wide (CJK) characters take two columns: the command column is padded by what shows. */
static void
test_wide_columns(void **state)
{
	char *buf = NULL;
	size_t n = 0, w;
	FILE *f;

	(void)state;
	if (rpt_char_cols((const unsigned char *)"\xe4\xbe\x8b", 3) != 2)
		skip(); /* no UTF-8 locale to ask wcwidth() */
	f = open_memstream(&buf, &n);
	w = rpt_text_wire(f, "EHLO \xe4\xbe\x8b\xe3\x81\x88.jp", 40); /* 例え */
	fclose(f);
	assert_int_equal(w, 12);
	free(buf);
	f = open_memstream(&buf, &n);
	w = rpt_text_wire(f, "\xe4\xbe\x8b\xe3\x81\x88\xe4\xbe\x8b", 5); /* no half character */
	fclose(f);
	assert_string_equal(buf, "\xe4\xbe\x8b\xe3\x81\x88…");
	assert_int_equal(w, 5);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_string_escapes),
		cmocka_unit_test(test_json_escapes_at_every_position),
		cmocka_unit_test(test_iso_time_and_addr),
		cmocka_unit_test(test_terminal_output_has_no_wire_escapes),
		cmocka_unit_test(test_json_session_fields),
		cmocka_unit_test(test_audit_counts_and_flags),
		cmocka_unit_test(test_audit_judgements),
		cmocka_unit_test(test_audit_no_burst_and_only),
		cmocka_unit_test(test_audit_tls_judgements),
		cmocka_unit_test(test_audit_not_judged_wrongly),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_one_row_per_command),
		cmocka_unit_test(test_nul_kept_in_every_format),
		cmocka_unit_test(test_bidi_and_c1_escaped),
		cmocka_unit_test(test_csv_backslash),
		cmocka_unit_test(test_ecs_document),
		cmocka_unit_test(test_ecs_failure),
		cmocka_unit_test(test_ecs_stable_ids),
		cmocka_unit_test(test_ecs_auth_events),
		cmocka_unit_test(test_community_id_vectors),
		cmocka_unit_test(test_schema_is_balanced),
		cmocka_unit_test(test_anomaly_words),
		cmocka_unit_test(test_text_terminal),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wide_columns),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
