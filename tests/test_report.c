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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_string_escapes),
		cmocka_unit_test(test_iso_time_and_addr),
		cmocka_unit_test(test_terminal_output_has_no_wire_escapes),
		cmocka_unit_test(test_json_session_fields),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
