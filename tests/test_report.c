/*
 * test_report.c - the writers: JSON strings stay valid whatever the wire
 * sent, terminal output cannot carry escape sequences from the wire, and a
 * session record has the contract's fields.
 */
#include <stdlib.h>

#include "testutil.h"

#include "../report/report.h"

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
	/* valid UTF-8 kept; a stray Latin-1 byte becomes its code point */
	j = json_of("caf\xc3\xa9 caf\xe9 \xf0\x9f\x93\xa7");
	assert_string_equal(j, "\"caf\xc3\xa9 caf\\u00e9 \xf0\x9f\x93\xa7\"");
	free(j);
	/* a truncated sequence at the end, an overlong form, a surrogate */
	j = json_of("x\xe2\x82 \xc0\xaf \xed\xa0\x80");
	assert_string_equal(j, "\"x\\u00e2\\u0082 \\u00c0\\u00af \\u00ed\\u00a0\\u0080\"");
	free(j);
	j = json_of(NULL);
	assert_string_equal(j, "null");
	free(j);
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
}

/* A session run through the decoder and written by a real writer. */
static char *
render(enum rpt_format fmt, const char *greeting)
{
	struct rpt_config rc = {.format = fmt, .color = false};
	char *buf = NULL;
	size_t n = 0;
	struct smtp_config sc;
	struct smtp_decoder *dec;
	struct rsm_conn conn = {.id = 7, .client = {.family = 4}, .server = {.family = 4},
				.client_port = 1234, .server_port = 25};
	struct rsm_event ev = {.type = RSM_EV_OPEN, .conn = &conn, .ts = 1000};

	rc.out = open_memstream(&buf, &n);
	struct rpt *r = rpt_new(&rc);

	smtp_default_config(&sc);
	dec = smtp_new(&sc, rpt_session, r);
	smtp_on_stream(dec, &ev);
	ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = RSM_S2C, .conn = &conn, .ts = 2000,
				.data = (const uint8_t *)greeting, .len = strlen(greeting)};
	conn.packets[RSM_S2C] = conn.packets[RSM_C2S] = 1;
	smtp_on_stream(dec, &ev);
	ev = (struct rsm_event){.type = RSM_EV_CLOSE, .conn = &conn, .ts = 3000,
				.end = RSM_END_CLOSED};
	smtp_on_stream(dec, &ev);
	smtp_free(dec);
	rpt_free(r);
	fclose(rc.out);
	return buf;
}

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

static void
to_audit(void *arg, const struct smtp_session *s)
{
	rpt_audit_session(arg, s);
}

/* One session from client .c to server .v, as the decoder hands it over. */
static void
audit_session(struct rpt_audit *a, uint8_t c, uint8_t v, const char *client, const char *server,
	      enum rsm_end end)
{
	struct smtp_config cfg;
	struct rsm_conn conn = {.id = 1, .client = {.family = 4, .bytes = {10, 0, 0, c}},
				.server = {.family = 4, .bytes = {10, 0, 0, v}}, .client_port = 40000,
				.server_port = 25};
	struct rsm_event ev = {.type = RSM_EV_OPEN, .conn = &conn};
	struct smtp_decoder *dec;

	smtp_default_config(&cfg);
	dec = smtp_new(&cfg, to_audit, a);
	smtp_on_stream(dec, &ev);
	if (server) {
		conn.packets[RSM_S2C] = conn.packets[RSM_C2S] = 1;
		ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = RSM_S2C, .conn = &conn,
					.data = (const uint8_t *)server, .len = 14};
		smtp_on_stream(dec, &ev); /* the greeting */
		ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = RSM_C2S, .conn = &conn,
					.data = (const uint8_t *)client, .len = strlen(client)};
		smtp_on_stream(dec, &ev);
		ev = (struct rsm_event){.type = RSM_EV_DATA, .dir = RSM_S2C, .conn = &conn,
					.data = (const uint8_t *)server + 14, .len = strlen(server) - 14};
		smtp_on_stream(dec, &ev);
	}
	ev = (struct rsm_event){.type = RSM_EV_CLOSE, .conn = &conn, .end = end};
	smtp_on_stream(dec, &ev);
	smtp_free(dec);
}

/* A client writing to 12 servers with a bare EHLO name, and a server that never answers. */
static void
test_audit_counts_and_flags(void **state)
{
	struct rpt_audit *a = rpt_audit_new(RPT_SORT_SESSIONS);
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	(void)state;
	for (uint8_t v = 100; v < 112; v++)
		audit_session(a, 9, v, "EHLO PC01\r\nMAIL FROM:<a@b>\r\nRCPT TO:<nobody@c>\r\n",
			      "220 mx ESMTP\r\n250 mx\r\n250 2.1.0 Ok\r\n550 5.1.1 User unknown\r\n",
			      RSM_END_CLOSED);
	audit_session(a, 9, 200, NULL, NULL, RSM_END_REFUSED);
	audit_session(a, 9, 200, NULL, NULL, RSM_END_NO_ANSWER);
	rpt_audit_print(a, f, true);
	fclose(f);
	/* the busy client comes first: most sessions */
	assert_non_null(strstr(out, "{\"type\":\"host\",\"ip\":\"10.0.0.9\",\"role\":\"client\","
				    "\"sessions\":14,\"peers\":13,"));
	assert_non_null(strstr(out, "\"rejected\":12},\"attempts\":{\"refused\":1,\"no_answer\":1,"));
	assert_non_null(strstr(out, "\"ehlo_names\":[\"PC01\"]"));
	assert_non_null(strstr(out, "{\"reply\":\"550 5.1.1 after RCPT\",\"count\":12}"));
	assert_non_null(strstr(out, "talks to many mail servers"));
	assert_non_null(strstr(out, "EHLO name is not a host name"));
	assert_non_null(strstr(out, "\"ip\":\"10.0.0.200\",\"role\":\"server\",\"sessions\":2"));
	assert_non_null(strstr(out, "never answered SMTP"));
	assert_null(strstr(strstr(out, "10.0.0.100"), "never answered"));
	free(out);
	rpt_audit_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_string_escapes),
		cmocka_unit_test(test_iso_time_and_addr),
		cmocka_unit_test(test_terminal_output_has_no_wire_escapes),
		cmocka_unit_test(test_json_session_fields),
		cmocka_unit_test(test_audit_counts_and_flags),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
