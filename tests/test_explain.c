/*
 * test_explain.c - the knowledge base: real reply lines (from the seeds, from
 * Postfix, Exim and Exchange as captured) must be matched at the expected
 * level and explained with the expected key words.
 */
#include <stdlib.h>

#include "testutil.h"

struct expl_case {
	enum smtp_verb verb;
	const char *line; /* as on the wire, without CRLF */
	enum smtp_match level;
	const char *words; /* must appear in the explanation */
};

static const struct expl_case cases[] = {
	/* seeds/004 (and 000-003), Exchange and the old IMC */
	{SMTP_CONNECT, "220 mail1.fabrikam.com Microsoft ESMTP MAIL Service ready at Fri, 5 Aug 2016",
	 SMTP_MATCH_CODE_IN_CONTEXT, "ready"},
	{SMTP_EHLO, "250 mail1.fabrikam.com Hello [172.16.0.5]", SMTP_MATCH_CODE_IN_CONTEXT,
	 "EHLO accepted"},
	{SMTP_EHLO, "501 5.5.4 Invalid domain name", SMTP_MATCH_TEXT, "EHLO/HELO was refused"},
	{SMTP_MAIL, "250 2.1.0 Sender OK", SMTP_MATCH_ENHANCED_CLASS, "address was accepted"},
	{SMTP_MAIL, "550 5.1.7 Invalid address", SMTP_MATCH_TEXT, "sender's address"},
	{SMTP_MAIL, "530 5.7.1 Client was not authenticated", SMTP_MATCH_TEXT, "logged in"},
	{SMTP_RCPT, "250 2.1.5 Recipient OK", SMTP_MATCH_ENHANCED, "Recipient accepted"},
	{SMTP_AUTH, "235 2.7.0 Authentication successful", SMTP_MATCH_CODE_IN_CONTEXT, "succeeded"},
	{SMTP_RCPT, "550 5.1.1 User unknown", SMTP_MATCH_TEXT, "does not exist"},
	{SMTP_DATA, "354 Start mail input; end with <CRLF>.<CRLF>", SMTP_MATCH_CODE_IN_CONTEXT,
	 "ready for the message"},
	{SMTP_DATA, "354 Send data. End with CRLF.CRLF", SMTP_MATCH_CODE_IN_CONTEXT,
	 "ready for the message"},
	{SMTP_DOT, "250 2.6.0 <id@mail1.fabrikam.com> [InternalId=1] Queued mail for delivery",
	 SMTP_MATCH_TEXT, "responsibility"},
	{SMTP_OTHER, "500 5.3.3 Unrecognized command", SMTP_MATCH_TEXT, "did not understand"},
	{SMTP_OTHER, "500 Command not recognized", SMTP_MATCH_TEXT, "did not understand"},
	{SMTP_QUIT, "221 2.0.0 Service closing transmission channel", SMTP_MATCH_CODE_IN_CONTEXT,
	 "closes the session normally"},
	{SMTP_QUIT, "221 closing connection", SMTP_MATCH_CODE_IN_CONTEXT, "normally"},
	/* Postfix, as its source and our samples show it */
	{SMTP_RCPT,
	 "554 5.7.1 <x@example.net>: Relay access denied", SMTP_MATCH_TEXT, "pass the mail on"},
	{SMTP_RCPT, "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in "
		    "local recipient table", SMTP_MATCH_TEXT, "does not exist"},
	{SMTP_MAIL, "501 5.1.7 Bad sender address syntax", SMTP_MATCH_TEXT, "malformed"},
	{SMTP_RCPT, "450 4.7.1 <b@ex>: Recipient address rejected: Greylisted, please try again",
	 SMTP_MATCH_TEXT, "normal retry"},
	{SMTP_RCPT, "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
		    "zen.spamhaus.org", SMTP_MATCH_TEXT, "blocklist"},
	{SMTP_AUTH_DATA, "535 5.7.8 Error: authentication failed: authentication failure",
	 SMTP_MATCH_TEXT, "login was refused"},
	{SMTP_AUTH, "235 2.7.0 Authentication successful", SMTP_MATCH_CODE_IN_CONTEXT,
	 "Login succeeded"},
	{SMTP_DATA, "554 5.5.1 Error: no valid recipients", SMTP_MATCH_TEXT, "RCPT replies"},
	{SMTP_RCPT, "503 5.5.1 Error: need MAIL command", SMTP_MATCH_TEXT, "MAIL command before"},
	{SMTP_MAIL, "530 5.7.0 Must issue a STARTTLS command first", SMTP_MATCH_TEXT, "STARTTLS"},
	{SMTP_OTHER, "500 5.5.2 Error: command not recognized", SMTP_MATCH_TEXT,
	 "did not understand"},
	{SMTP_DOT, "250 2.0.0 Ok: queued as 4Fxyz12", SMTP_MATCH_TEXT, "queue id"},
	{SMTP_QUIT, "221 2.0.0 Bye", SMTP_MATCH_CODE_IN_CONTEXT, "normally"},
	{SMTP_STARTTLS, "220 2.0.0 Ready to start TLS", SMTP_MATCH_CODE_IN_CONTEXT, "TLS"},
	{SMTP_MAIL, "552 5.3.4 Message size exceeds fixed limit", SMTP_MATCH_TEXT, "larger"},
	{SMTP_CONNECT, "554 5.7.1 You are not allowed to connect.", SMTP_MATCH_ENHANCED, "policy"},
	/* Exim */
	{SMTP_DOT, "250 OK id=1Mugho-0003Dg-Un", SMTP_MATCH_CODE_IN_CONTEXT, "responsibility"},
	{SMTP_RCPT, "550 5.2.2 mailbox full", SMTP_MATCH_TEXT, "full"},
	/* enhanced code only, class only, code in context, first digit */
	{SMTP_RCPT, "550 5.1.2 Host unknown", SMTP_MATCH_ENHANCED, "domain"},
	{SMTP_RCPT, "550 5.7.99 Something local", SMTP_MATCH_ENHANCED_CLASS, "policy"},
	{SMTP_RCPT, "451 4.3.0 Temporary lookup error", SMTP_MATCH_ENHANCED_CLASS,
	 "receiving mail system"},
	{SMTP_RCPT, "452 Too many recipients received this hour", SMTP_MATCH_TEXT, "recipients"},
	{SMTP_HELO, "250 mx.example.org", SMTP_MATCH_CODE_IN_CONTEXT, "HELO accepted"},
	{SMTP_OTHER, "299 whatever", SMTP_MATCH_FIRST_DIGIT, "success"},
	{SMTP_OTHER, "399 continue", SMTP_MATCH_FIRST_DIGIT, "waits"},
	{SMTP_OTHER, "499 odd", SMTP_MATCH_FIRST_DIGIT, "Temporary"},
	{SMTP_OTHER, "599 odd", SMTP_MATCH_FIRST_DIGIT, "Permanent"},
	/* an enhanced code whose class contradicts the basic code is not believed */
	{SMTP_RCPT, "550 2.1.5 confused server", SMTP_MATCH_CODE_IN_CONTEXT, "refused"},
};

static void
test_cases(void **state)
{
	char out[1024], enh[12];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expl_case *c = &cases[i];
		int code = atoi(c->line);
		const char *text = c->line + 4;

		smtp_parse_enhanced(text, strlen(text), enh);
		enum smtp_match m = smtp_explain(c->verb, code, enh, text, out, sizeof(out));

		if (m != c->level || !strstr(out, c->words))
			fail_msg("\"%s\" after %s: matched on %s, explained \"%s\"; want %s with "
				 "\"%s\"", c->line, smtp_verb_name(c->verb), smtp_match_name(m), out,
				 smtp_match_name(c->level), c->words);
	}
}

/* Every failure explanation says who can fix it and whether to retry. */
static void
test_failures_carry_advice(void **state)
{
	char out[1024];

	(void)state;
	for (int code = 400; code < 600; code++) {
		smtp_explain(SMTP_RCPT, code, "", "", out, sizeof(out));
		if (!strstr(out, "Who can fix it") && code != 499 && code != 599 &&
		    !strstr(out, "Temporary failure") && !strstr(out, "Permanent failure"))
			fail_msg("%d after RCPT: no advice in \"%s\"", code, out);
		if (!strstr(out, "retry") && !strstr(out, "Retry") && !strstr(out, "retrying"))
			fail_msg("%d after RCPT: no retry advice in \"%s\"", code, out);
	}
}

static void
test_parse_enhanced(void **state)
{
	char e[12];

	(void)state;
	assert_int_equal(smtp_parse_enhanced("5.1.1 User unknown", 18, e), 5);
	assert_string_equal(e, "5.1.1");
	assert_int_not_equal(smtp_parse_enhanced("#5.7.1 no", 9, e), 0);
	assert_string_equal(e, "5.7.1");
	assert_int_not_equal(smtp_parse_enhanced("4.7.500 Server busy", 19, e), 0);
	assert_string_equal(e, "4.7.500");
	assert_int_equal(smtp_parse_enhanced("5.1.1", 5, e), 5);
	assert_int_equal(smtp_parse_enhanced("3.1.1 no class 3", 16, e), 0);
	assert_int_equal(smtp_parse_enhanced("5.1 short", 9, e), 0);
	assert_int_equal(smtp_parse_enhanced("5.1.1234 long", 13, e), 0);
	assert_int_equal(smtp_parse_enhanced("5..1 x", 6, e), 0);
	assert_int_equal(smtp_parse_enhanced("5.1.1x", 6, e), 0);
	assert_int_equal(smtp_parse_enhanced("Ok", 2, e), 0);
	assert_int_equal(smtp_parse_enhanced("", 0, e), 0);
	assert_string_equal(e, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_failures_carry_advice),
		cmocka_unit_test(test_parse_enhanced),
	};

	return cmocka_run_group_tests_name("explain", tests, NULL, NULL);
}
