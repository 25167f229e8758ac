/*
 * test_mime.c - RFC 2047 encoded words in Subject and From (decode/mime.c):
 * the decoder on its own with words real mailers send, then whole sessions,
 * where the message keeps the decoded text and the wire text beside it.
 */
#include "testutil.h"

#include <stdlib.h>

#include "../decode/mime.h"

/* Decoded text of in as a C string (NUL shown as "\0"), or "(raw)" for MIME_NONE. */
static const char *
decoded(const char *in)
{
	static char out[8192], shown[8192];
	size_t n = mime_decode_words(in, strlen(in), out, sizeof(out)), k = 0;

	if (n == MIME_NONE)
		return "(raw)";
	for (size_t i = 0; i < n && k + 3 < sizeof(shown); i++) {
		if (out[i] == '\0') {
			shown[k++] = '\\';
			shown[k++] = '0';
		} else {
			shown[k++] = out[i];
		}
	}
	shown[k] = '\0';
	return shown;
}

static void
test_b_gb2312(void **state)
{
	(void)state;
	/* the Subject of issue 16: "test " then GB2312 B2E2 CAD4 */
	assert_string_equal(decoded("=?gb2312?B?dGVzdCCy4srU?="), "test 测试");
	/* charset and encoding letters in any case */
	assert_string_equal(decoded("=?GB2312?b?dGVzdCCy4srU?="), "test 测试");
}

static void
test_q_latin1_underscores(void **state)
{
	(void)state;
	assert_string_equal(decoded("=?ISO-8859-1?Q?Caf=E9_cr=E8me_br=FBl=E9e?="),
			    "Café crème brûlée");
	/* RFC 2047 8, the From of its example: the text after the word stays */
	assert_string_equal(decoded("=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>"),
			    "André Pirard <PIRARD@vm1.ulg.ac.be>");
	/* lower-case hex, and a "=" without two hex digits kept */
	assert_string_equal(decoded("=?utf-8?q?caf=c3=a9_=3D_=zz?="), "café = =zz");
}

static void
test_utf8_split_across_words(void **state)
{
	(void)state;
	/* U+1F602 is F0 9F 98 82: "8J8=" holds F0 9F, the second word 98 82 " split" */
	assert_string_equal(decoded("=?UTF-8?B?8J8=?= =?UTF-8?B?mIIgc3BsaXQ=?="), "😂 split");
	/* padding left out, as some mailers do */
	assert_string_equal(decoded("=?UTF-8?B?8J8?=\r\n =?utf-8?B?mIIgc3BsaXQ?="), "😂 split");
}

/*
 * Found in review: glibc's ISO-2022-CN-EXT module can report an invalid byte
 * after taking all the input, and the loop stepped past it. Packet text now
 * picks only among the charsets mail uses; and a header cycling through
 * charsets loads at most 8 modules, the words past them kept as they are.
 */
static void
test_charsets_limited(void **state)
{
	(void)state;
	const char *hostile = "=?ISO-2022-CN-EXT?Q?=F7=50=45=6D=DC=65=62=2D=0F=FA=2A=DA=65=AD=F7"
			      "=71=9C=07=E7=D1=53=9C=A9=68=C9=D5=DD=E7=4B=E1=C6=42=31=0B=AF=0E?=";
	char cycle[2048] = "";

	assert_string_equal(decoded(hostile), "(raw)"); /* nothing decoded: the wire text shown */
	assert_string_equal(decoded("=?IBM1364?Q?a?="), "(raw)");
	assert_string_equal(decoded("=?windows-1252?Q?=E9?= =?iso-8859-15?Q?=A4?="), "é€");
	for (int i = 0; i < 10; i++) /* ten changes of charset, each word "a" */
		strcat(cycle, i % 2 ? "=?iso-8859-1?Q?a?=x" : "=?utf-8?Q?a?=x");
	const char *got = decoded(cycle);

	assert_int_equal(strncmp(got, "axaxaxaxaxaxaxax", 16), 0); /* the first 8 decoded */
	assert_non_null(strstr(got, "=?utf-8?Q?a?=x=?iso-8859-1?Q?a?=x")); /* the rest raw */
}

static void
test_adjacent_words_rfc2047_examples(void **state)
{
	(void)state;
	/* RFC 2047 8: white space between two words goes, next to text it stays */
	assert_string_equal(decoded("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
	assert_string_equal(decoded("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_string_equal(decoded("(=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_string_equal(decoded("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
	assert_string_equal(decoded("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
	/* two charsets side by side: "é" from each */
	assert_string_equal(decoded("=?UTF-8?B?w6k=?=\t =?ISO-8859-1?Q?=E9?="), "éé");
	/* RFC 2231 5: a language after the charset */
	assert_string_equal(decoded("=?US-ASCII*EN?Q?Keith_Moore?="), "Keith Moore");
}

static void
test_unknown_charset_stays_raw(void **state)
{
	(void)state;
	assert_string_equal(decoded("=?x-no-such-charset?B?dGVzdA==?="), "(raw)");
	/* next to a word iconv knows: that one decoded, the unknown one as sent */
	assert_string_equal(decoded("=?utf-8?q?ok?= =?x-no-such-charset?q?raw?= =?utf-8?q?ok?="),
			    "ok =?x-no-such-charset?q?raw?= ok");
	/* no iconv option smuggled in the name ("/" is not a token character) */
	assert_string_equal(decoded("=?UTF-8//IGNORE?q?x?="), "(raw)");
}

static void
test_malformed_stays_raw(void **state)
{
	(void)state;
	assert_string_equal(decoded("=?utf-8?q?no end"), "(raw)");
	assert_string_equal(decoded("=?utf-8?q?a?= =?utf-8?q?no_end"), "a =?utf-8?q?no_end");
	assert_string_equal(decoded("=?utf-8?x?bad_encoding?="), "(raw)");
	assert_string_equal(decoded("=??q?no_charset?="), "(raw)");
	assert_string_equal(decoded("=?utf-8?b?not*base64?="), "(raw)");
	assert_string_equal(decoded("=?utf-8?b?QUJDR?="), "(raw)"); /* 5 digits: 6 bits over */
	assert_string_equal(decoded("=?utf-8?q?space inside?="), "(raw)");
	assert_string_equal(decoded("no words at all = ? here"), "(raw)");
}

static void
test_word_in_plain_text(void **state)
{
	(void)state;
	assert_string_equal(decoded("Re: =?utf-8?q?caf=C3=A9?= menu"), "Re: café menu");
	assert_string_equal(decoded("Fwd: [list] =?UTF-8?B?w4VsaWNlIMOJbWlsZQ==?= (2)"),
			    "Fwd: [list] Ålice Émile (2)");
	/* next to other text too (Python's decode_header does the same) */
	assert_string_equal(decoded("\"=?utf-8?q?Andr=C3=A9?=\" <a@b>"), "\"André\" <a@b>");
}

static void
test_invalid_bytes_replaced(void **state)
{
	(void)state;
	/* FF is no UTF-8; C3 alone is cut short; NUL is kept (the writers escape it) */
	assert_string_equal(decoded("=?utf-8?B?/w==?="), "\xef\xbf\xbd");
	assert_string_equal(decoded("=?utf-8?q?a=FFb?="), "a\xef\xbf\xbd" "b");
	assert_string_equal(decoded("=?utf-8?q?a=C3?="), "a\xef\xbf\xbd");
	assert_string_equal(decoded("=?utf-8?q?a=00b?="), "a\\0b");
	/* GB2312 has no B2 FF */
	assert_string_equal(decoded("=?gb2312?q?=B2=FFx?="), "\xef\xbf\xbd\xef\xbf\xbdx");
}

static void
test_output_bounded(void **state)
{
	const char *in = "=?ISO-8859-1?Q?=E9=E9=E9=E9?=";
	char out[16];

	(void)state;
	/* eight bytes of UTF-8 fit in 8, not in 7: then the raw text */
	assert_int_equal(mime_decode_words(in, strlen(in), out, 8), 8);
	assert_memory_equal(out, "éééé", 8);
	assert_int_equal(mime_decode_words(in, strlen(in), out, 7), MIME_NONE);
	assert_int_equal(mime_decode_words(in, strlen(in), out, 0), MIME_NONE);
}

/* 100 KB of near-words: every candidate fails, the text stays, in linear time. */
static void
test_long_hostile_header(void **state)
{
	static const char *const units[] = {"=?", "=?x?Q?", "=?x?Q?=?", "=?utf-8?q?aaaa", "=?=?"};
	size_t n = 100000;
	char *in = malloc(n + 1), out[64];

	(void)state;
	assert_non_null(in);
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t k = strlen(units[u]);

		for (size_t i = 0; i < n; i++)
			in[i] = units[u][i % k];
		assert_int_equal(mime_decode_words(in, n, out, sizeof(out)), MIME_NONE);
	}
	free(in);
}

/* --- whole sessions: what the message keeps ---------------------------------- */

struct kept {
	char subject[8192], subject_raw[8192], from[512], from_raw[512];
	bool subject_raw_null, from_raw_null;
};

static void
copy(char *dst, size_t n, const char *s, bool *was_null)
{
	snprintf(dst, n, "%s", s ? s : "(null)");
	if (was_null)
		*was_null = !s;
}

static void
keep_headers(void *arg, const struct smtp_session *s)
{
	struct kept *k = arg;

	assert_int_equal(s->n_msgs, 1);
	copy(k->subject, sizeof(k->subject), s->msgs[0].subject, NULL);
	copy(k->subject_raw, sizeof(k->subject_raw), s->msgs[0].subject_raw, &k->subject_raw_null);
	copy(k->from, sizeof(k->from), s->msgs[0].from, NULL);
	copy(k->from_raw, sizeof(k->from_raw), s->msgs[0].from_raw, &k->from_raw_null);
}

/* One message with the given header lines, through the decoder. */
static void
send_message(struct kept *k, const char *headers)
{
	struct driver d;
	struct smtp_config cfg;

	memset(&d, 0, sizeof(d));
	smtp_default_config(&cfg);
	d.dec = smtp_new(&cfg, keep_headers, k);
	d.conn.id = 1;
	d.conn.client.family = d.conn.server.family = 4;
	d.conn.client_port = 40000;
	d.conn.server_port = 25;
	d.ts = 1000000;
	struct rsm_event ev = {.type = RSM_EV_OPEN, .conn = &d.conn, .ts = d.ts};

	smtp_on_stream(d.dec, &ev);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	S(&d, "250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	C(&d, headers);
	C(&d, "\r\nbody\r\n.\r\nQUIT\r\n");
	S(&d, "250 queued\r\n221 bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
}

static void
test_session_subject_and_from(void **state)
{
	struct kept k;

	(void)state;
	send_message(&k, "From: =?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
			 "Subject: =?gb2312?B?dGVzdCCy4srU?=\r\n");
	assert_string_equal(k.subject, "test 测试");
	assert_string_equal(k.subject_raw, "=?gb2312?B?dGVzdCCy4srU?=");
	assert_string_equal(k.from, "André Pirard <PIRARD@vm1.ulg.ac.be>");
	assert_string_equal(k.from_raw, "=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>");
}

static void
test_session_plain_headers_no_raw(void **state)
{
	struct kept k;

	(void)state;
	/* nothing decoded: the wire text once, no raw copy; a malformed word stays */
	send_message(&k, "From: Alice <alice@example.org>\r\nSubject: =?utf-8?q?no end\r\n");
	assert_string_equal(k.subject, "=?utf-8?q?no end");
	assert_true(k.subject_raw_null);
	assert_string_equal(k.from, "Alice <alice@example.org>");
	assert_true(k.from_raw_null);
}

/* A long Subject: 40 words folded over 40 lines (1,080 bytes unfolded, past 998). */
static void
test_session_long_folded_subject(void **state)
{
	char headers[4096] = "Subject:", want[1024] = "";
	struct kept k;

	(void)state;
	for (int i = 0; i < 40; i++) {
		seen_cat(headers, sizeof(headers), " =?UTF-8?B?5pel5pys6Kqe?=\r\n");
		seen_cat(want, sizeof(want), "日本語");
	}
	send_message(&k, headers);
	assert_string_equal(k.subject, want);
	assert_int_equal(strlen(k.subject_raw), 40 * 25 - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b_gb2312),
		cmocka_unit_test(test_q_latin1_underscores),
		cmocka_unit_test(test_utf8_split_across_words),
		cmocka_unit_test(test_adjacent_words_rfc2047_examples),
		cmocka_unit_test(test_unknown_charset_stays_raw),
		cmocka_unit_test(test_malformed_stays_raw),
		cmocka_unit_test(test_word_in_plain_text),
		cmocka_unit_test(test_invalid_bytes_replaced),
		cmocka_unit_test(test_output_bounded),
		cmocka_unit_test(test_long_hostile_header),
		cmocka_unit_test(test_session_subject_and_from),
		cmocka_unit_test(test_session_plain_headers_no_raw),
		cmocka_unit_test(test_session_long_folded_subject),
		cmocka_unit_test(test_charsets_limited),
	};

	return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
