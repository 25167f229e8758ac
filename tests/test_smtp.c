/*
 * test_smtp.c - the SMTP decoder: framing, pairing, transactions, AUTH,
 * STARTTLS, BDAT, gaps and caps, driven with byte streams as reassembly
 * delivers them.
 */
#include "testutil.h"

#include <strings.h>
/* real TLS exchanges; test_tls.c uses them all, this file some */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#include "data/tls/tls_samples.h"
#pragma GCC diagnostic pop

/* The greeting and an accepted EHLO (or HELO): where many tests start. */
static void
greet(struct driver *d, bool ehlo)
{
	S(d, "220 mx ESMTP\r\n");
	C(d, ehlo ? "EHLO h\r\n" : "HELO h\r\n");
	S(d, "250 mx\r\n");
}

/* The seed's successful Exchange session (seeds/001), pipelined nowhere. */
static void
seed_session(struct driver *d)
{
	S(d, "220 mail1.fabrikam.com Microsoft ESMTP MAIL Service ready at Fri, 5 Aug 2016 "
	     "16:24:41 -0700\r\n");
	C(d, "EHLO contoso.com\r\n");
	S(d, "250-mail1.fabrikam.com Hello [172.16.0.5]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n"
	     "250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n"
	     "250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n"
	     "250-CHUNKING\r\n250 XRDST\r\n");
	C(d, "MAIL FROM: <chris@contoso.com>\r\n");
	S(d, "250 2.1.0 Sender OK\r\n");
	C(d, "RCPT TO: <kate@fabrikam.com> NOTIFY=success,failure\r\n");
	S(d, "250 2.1.5 Recipient OK\r\n");
	C(d, "DATA\r\n");
	S(d, "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
	C(d, "Subject: test\r\n\r\nThis is a test message.\r\n.\r\n");
	S(d, "250 2.6.0 <c89b4fcc-3ad1-4758-a1ab-1e820065d622@mail1.fabrikam.com> "
	     "[InternalId=5111011082268, Hostname=mail1.fabrikam.com] Queued mail for delivery\r\n");
	C(d, "QUIT\r\n");
	S(d, "221 2.0.0 Service closing transmission channel\r\n");
}

static void
test_seed_exchange_session(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	seed_session(&d);
	driver_close(&d, RSM_END_CLOSED);
	assert_int_equal(d.seen.sessions, 1);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|EHLO 250|MAIL 250|RCPT 250|DATA 354|. 250|QUIT 221");
	assert_string_equal(d.seen.helo, "contoso.com");
	assert_true(d.seen.esmtp);
	/* The greeting line is not an extension; the Exchange-private verbs are. */
	assert_string_equal(d.seen.extensions,
			    "SIZE 37748736|PIPELINING|DSN|ENHANCEDSTATUSCODES|STARTTLS|"
			    "X-ANONYMOUSTLS|AUTH NTLM|X-EXPS GSSAPI NTLM|8BITMIME|BINARYMIME|"
			    "CHUNKING|XRDST");
	/*
	 * "Subject: test\r\n\r\nThis is a test message.\r\n" is 42 bytes. The <...> in
	 * Exchange's "250 2.6.0 <...> [InternalId=5111011082268] Queued" is the Message-ID,
	 * not a queue id.
	 */
	assert_string_equal(d.seen.messages,
			    "chris@contoso.com>kate@fabrikam.com 42 accepted subject=test");
	assert_int_equal(d.seen.state, SMTP_ST_CLOSED);
	assert_string_equal(d.seen.verdict, "Delivered: 1 message delivered.");
	/* the server offered STARTTLS, the telnet test did not use it: said, nothing else */
	assert_int_equal(d.seen.anomalies, 1ull << SMTP_ANOM_STARTTLS_NOT_USED);
}

/* The seed's failure replies, each paired with its command and explained. */
static void
test_seed_failures(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mail1.fabrikam.com Microsoft ESMTP MAIL Service ready\r\n");
	C(&d, "EHLO contoso..com\r\n");
	S(&d, "501 5.5.4 Invalid domain name\r\n");
	C(&d, "EHLO contoso.com\r\n");
	S(&d, "250 mail1.fabrikam.com Hello [172.16.0.5]\r\n");
	C(&d, "MAIL FRM:chris@contoso.com\r\n");
	S(&d, "500 5.3.3 Unrecognized command\r\n");
	C(&d, "MAIL FROM:chris@@contoso.com\r\n");
	S(&d, "550 5.1.7 Invalid address\r\n");
	C(&d, "MAIL FROM:<chris@contoso.com>\r\n");
	S(&d, "530 5.7.1 Client was not authenticated\r\n");
	C(&d, "RCPT TO:<nobody@fabrikam.com>\r\n");
	S(&d, "550 5.1.1 User unknown\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 2.0.0 Service closing transmission channel\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 501|EHLO 250|MAIL 500|MAIL 550|"
					       "MAIL 530|RCPT 550|QUIT 221");
	/* helo is the accepted one, not the refused one */
	assert_string_equal(d.seen.helo, "contoso.com");
	assert_non_null(strstr(d.seen.explanations, "name given with EHLO/HELO was refused"));
	assert_non_null(strstr(d.seen.explanations, "did not understand this command"));
	assert_non_null(strstr(d.seen.explanations, "sender's address (MAIL FROM) was refused"));
	assert_non_null(strstr(d.seen.explanations, "only from clients that have logged in"));
	assert_non_null(strstr(d.seen.explanations, "mailbox does not exist"));
}

/* RFC 2920: a pipelined group is answered in order, one reply per command. */
static void
test_pipelining_pairs_in_order(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx.example.org ESMTP Postfix\r\n");
	C(&d, "EHLO client.example\r\n");
	S(&d, "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n");
	C(&d, "MAIL FROM:<a@client.example>\r\nRCPT TO:<nobody@example.org>\r\n"
	      "RCPT TO:<bob@example.org>\r\nDATA\r\n");
	S(&d, "250 2.1.0 Ok\r\n550 5.1.1 <nobody@example.org>: Recipient address rejected: User "
	      "unknown in local recipient table\r\n250 2.1.5 Ok\r\n354 End data with "
	      "<CR><LF>.<CR><LF>\r\n");
	C(&d, "From: a@client.example\r\nSubject: hi\r\n\r\nbody\r\n..leading dot\r\n.\r\nQUIT\r\n");
	S(&d, "250 2.0.0 Ok: queued as 4Fxyz12\r\n221 2.0.0 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|MAIL 250|RCPT 550|RCPT 250|"
					       "DATA 354|. 250|QUIT 221");
	/* dot-unstuffed: "..leading dot" counts as ".leading dot" (59 bytes in all) */
	assert_string_equal(d.seen.messages, "a@client.example>!nobody@example.org,bob@example.org "
					     "59 accepted subject=hi queue=4Fxyz12");
}

/*
 * A body with dots everywhere but at line starts, a stuffed dot and the end,
 * cut in two at every byte: the same size (dots unstuffed) and the same end.
 */
static void
test_body_dots_any_split(void **state)
{
	static const char body[] = "Subject: dots.\r\n\r\nwww.example.com says hi.\r\n"
				   "..stuffed. line.\r\n.\r.x\r\nend. of. text.\r\n.\r\n";
	char want[160], part[sizeof(body)];
	size_t unstuffed = strlen(body) - 2 - 3; /* two stuffed dots, the ".\r\n" end */

	(void)state;
	snprintf(want, sizeof(want), "a@x>b@y %zu accepted subject=dots.", unstuffed);
	for (size_t cut = 0; cut <= strlen(body); cut++) {
		struct driver d;

		driver_open(&d, NULL, false);
		S(&d, "220 mx ESMTP\r\n");
		C(&d, "HELO x\r\n");
		S(&d, "250 mx\r\n");
		C(&d, "MAIL FROM:<a@x>\r\n");
		S(&d, "250 ok\r\n");
		C(&d, "RCPT TO:<b@y>\r\n");
		S(&d, "250 ok\r\n");
		C(&d, "DATA\r\n");
		S(&d, "354 go\r\n");
		memcpy(part, body, cut);
		driver_send(&d, RSM_C2S, part, cut);
		driver_send(&d, RSM_C2S, body + cut, strlen(body) - cut);
		S(&d, "250 queued\r\n");
		driver_close(&d, RSM_END_CLOSED);
		assert_string_equal(d.seen.transcript, "CONNECT 220|HELO 250|MAIL 250|RCPT 250|"
						       "DATA 354|. 250");
		assert_string_equal(d.seen.messages, want);
	}
}

/* A reply split across segments, a command split across segments. */
static void
test_split_lines(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EH");
	C(&d, "LO host.example\r");
	C(&d, "\n");
	S(&d, "250-mx\r\n250-SIZE 1000");
	S(&d, "\r\n250 8BITMIME\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|QUIT 221");
	assert_string_equal(d.seen.extensions, "SIZE 1000|8BITMIME");
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_BARE_LF));
}

static void
test_bare_lf_tolerated(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\n");
	C(&d, "HELO host\n");
	S(&d, "250 mx\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|HELO 250");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_BARE_LF));
	assert_false(d.seen.esmtp);
}

/* A 10 000-byte command line is capped at max_line and flagged, not stored whole. */
static void
test_overlong_line_capped(void **state)
{
	struct smtp_config cfg;
	struct driver d;
	char line[10010];

	(void)state;
	smtp_default_config(&cfg);
	cfg.max_line = 100;
	driver_open(&d, &cfg, false);
	S(&d, "220 mx ESMTP\r\n");
	memset(line, 'A', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	for (size_t i = 0; i < sizeof(line) - 1; i += 1000) /* in 1000-byte segments */
		driver_send(&d, RSM_C2S, line + i,
			    sizeof(line) - 1 - i < 1000 ? sizeof(line) - 1 - i : 1000);
	S(&d, "500 5.5.2 Error: line too long\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|NOOP 500");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_LINE_TOO_LONG));
	assert_true(strlen(d.seen.args) < 100);
}

/* AUTH LOGIN: user decoded from base64, password never kept or shown. */
static void
test_auth_login_masks_secret(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n");
	C(&d, "AUTH LOGIN\r\n");
	S(&d, "334 VXNlcm5hbWU6\r\n"); /* "Username:" */
	C(&d, "YWxpY2U=\r\n");	       /* "alice" */
	S(&d, "334 UGFzc3dvcmQ6\r\n"); /* "Password:" */
	C(&d, "czNjcjN0\r\n");	       /* "s3cr3t" */
	S(&d, "535 5.7.8 Error: authentication failed: authentication failure\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|AUTH 334|AUTH-DATA 334|"
					       "AUTH-DATA 535");
	assert_string_equal(d.seen.auth, "LOGIN alice 0");
	assert_null(strstr(d.seen.args, "czNjcjN0"));
	assert_null(strstr(d.seen.args, "YWxpY2U="));
	assert_string_equal(d.seen.args, "|h|LOGIN|***|***");
	assert_non_null(strstr(d.seen.verdict, "Login failed"));
}

/* AUTH PLAIN with an initial response: authzid NUL authcid NUL password. */
static void
test_auth_plain_initial_response(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "AUTH PLAIN AGJvYgBodW50ZXIy\r\n"); /* "\0bob\0hunter2" */
	S(&d, "235 2.7.0 Authentication successful\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.auth, "PLAIN bob 1");
	assert_string_equal(d.seen.args, "|PLAIN");
}

static void
test_auth_show_secrets_when_asked(void **state)
{
	struct smtp_config cfg;
	struct driver d;

	(void)state;
	smtp_default_config(&cfg);
	cfg.show_secrets = true;
	driver_open(&d, &cfg, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "AUTH PLAIN AGJvYgBodW50ZXIy\r\n");
	S(&d, "235 2.7.0 Authentication successful\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.args, "|PLAIN AGJvYgBodW50ZXIy");
}

/* STARTTLS then a TLS record: the rest is encrypted and not parsed. */
static void
test_starttls_then_tls(void **state)
{
	static const uint8_t client_hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 'Q', 'U', 'I', 'T',
					       '\r'};
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250 STARTTLS\r\n");
	C(&d, "STARTTLS\r\n");
	S(&d, "220 2.0.0 Ready to start TLS\r\n");
	driver_send(&d, RSM_C2S, client_hello, sizeof(client_hello));
	S(&d, "\x16\x03\x03\x00\x02zz");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|STARTTLS 220");
	assert_true(d.seen.starttls);
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_PLAINTEXT_AFTER_STARTTLS));
	/* no real handshake in these bytes: nothing said to be encrypted */
	assert_non_null(strstr(d.seen.verdict, "before the TLS handshake was seen to finish"));
}

/* A well-formed ClientHello that the server closes on without a ServerHello: said as such. */
static void
test_starttls_no_server_hello(void **state)
{
	/* record (5), handshake header (4), version, random (32), no session id, one suite
	 * (TLS_AES_128_GCM_SHA256), null compression, no extensions (RFC 8446 4.1.2) */
	uint8_t hello[5 + 4 + 2 + 32 + 1 + 4 + 2] = {0x16, 0x03, 0x01, 0x00, 4 + 2 + 32 + 1 + 4 + 2,
						     0x01, 0x00, 0x00, 2 + 32 + 1 + 4 + 2,
						     0x03, 0x03};
	uint8_t *p = hello + 5 + 4 + 2 + 32;
	struct driver d;

	(void)state;
	memcpy(p, "\x00\x00\x02\x13\x01\x01\x00", 7);
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250 STARTTLS\r\n");
	C(&d, "STARTTLS\r\n");
	S(&d, "220 2.0.0 Ready to start TLS\r\n");
	driver_send(&d, RSM_C2S, hello, sizeof(hello));
	d.conn.first_closer = 1 + RSM_S2C;
	driver_close(&d, RSM_END_CLOSED);
	assert_non_null(strstr(d.seen.verdict, "never answered the client's TLS hello (no ServerHello)"));
	assert_non_null(strstr(d.seen.verdict, "the server closed"));
}

static void
test_starttls_then_plaintext_flagged(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "STARTTLS\r\n");
	S(&d, "220 2.0.0 Ready to start TLS\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 2.0.0 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|STARTTLS 220|QUIT 221");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_PLAINTEXT_AFTER_STARTTLS));
}

/* BDAT (RFC 3030): chunks by byte count, even when they hold "\r\n.\r\n". */
static void
test_bdat_chunks(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 2.1.5 Ok\r\n");
	C(&d, "BDAT 21\r\nSubject: x\r\n\r\nab\r\n.\r\n");
	S(&d, "250 2.0.0 Ok: 21 bytes\r\n");
	C(&d, "BDAT 0 LAST\r\n");
	S(&d, "250 2.0.0 Ok: queued as ABC\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|MAIL 250|RCPT 250|BDAT 250|BDAT 250|QUIT 221");
	assert_string_equal(d.seen.messages, "a@b>c@d 21 accepted subject=x queue=ABC");
}

static void
test_bdat_invalid_size_flagged(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "BDAT -5\r\n");
	S(&d, "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|BDAT 501");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_INVALID_BDAT));
}

/* A capture with only the client's side: DATA's 354 never comes, the body is still read. */
static void
test_client_side_only(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	C(&d, "EHLO h\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	C(&d, "Subject: one side\r\n\r\nhello\r\n.\r\nQUIT\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT -|EHLO -|MAIL -|RCPT -|DATA -|. -|QUIT -");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_ONLY_CLIENT_SIDE));
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_CLIENT_SPOKE_FIRST));
	assert_string_equal(d.seen.messages, "a@b>?c@d 28 not-accepted subject=one side");
	assert_non_null(strstr(d.seen.verdict, "only the client's side"));
}

/* DATA refused: the next lines are commands again, not a message. */
static void
test_data_refused_stays_in_commands(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	C(&d, "RCPT TO:<x@y>\r\n");
	S(&d, "554 5.7.1 <x@y>: Relay access denied\r\n");
	C(&d, "DATA\r\n");
	S(&d, "554 5.5.1 Error: no valid recipients\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 2.0.0 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|MAIL 250|RCPT 554|DATA 554|QUIT 221");
	assert_string_equal(d.seen.messages, "a@b>!x@y -1 not-accepted");
	assert_non_null(strstr(d.seen.explanations, "will not pass the mail on"));
	assert_non_null(strstr(d.seen.explanations, "no recipient was accepted"));
	assert_string_equal(d.seen.verdict, "Rejected: 1 message rejected: 554 5.7.1 <x@y>: Relay access denied after RCPT.");
}

/* A connection refused at the TCP level: one CONNECT entry, no reply, explained. */
static void
test_refused_attempt(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	driver_close(&d, RSM_END_REFUSED);
	assert_string_equal(d.seen.transcript, "CONNECT -");
	assert_int_equal(d.seen.state, SMTP_ST_REFUSED);
	assert_non_null(strstr(d.seen.explanations, "Connection refused"));
	assert_non_null(strstr(d.seen.verdict, "connection refused"));
}

static void
test_no_answer_attempt(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	driver_close(&d, RSM_END_NO_ANSWER);
	assert_int_equal(d.seen.state, SMTP_ST_NO_ANSWER);
	assert_non_null(strstr(d.seen.explanations, "firewall"));
}

static void
test_no_greeting(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	d.conn.packets[RSM_S2C] = 2; /* the server's SYN-ACK and an ACK: it is there */
	driver_close(&d, RSM_END_TIMEOUT);
	assert_string_equal(d.seen.transcript, "CONNECT -");
	assert_non_null(strstr(d.seen.explanations, "No greeting"));
	assert_non_null(strstr(d.seen.verdict, "no greeting"));
}

/* Mid-stream: no CONNECT entry; the first reply with no command is flagged. */
static void
test_midstream(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, true);
	S(&d, "250 2.1.5 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "x\r\n.\r\n");
	S(&d, "250 2.0.0 Ok: queued as Q1\r\n");
	driver_close(&d, RSM_END_UNFINISHED);
	assert_string_equal(d.seen.transcript, "? 250|DATA 354|. 250");
	assert_true(d.seen.midstream);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_REPLY_WITHOUT_COMMAND));
	assert_string_equal(d.seen.messages, "?> 3 accepted queue=Q1");
}

/* A gap inside a message: the size becomes unknown and the session says so. */
static void
test_gap_in_body(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	S(&d, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	C(&d, "Subject: s\r\n\r\npart one\r\n");
	driver_gap(&d, RSM_C2S, 1460);
	C(&d, "part three\r\n.\r\n");
	S(&d, "250 Ok: queued as G1\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|MAIL 250|RCPT 250|DATA 354|. 250");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_GAP));
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_MESSAGE_INCOMPLETE));
	assert_string_equal(d.seen.messages, "a@b>c@d -1 accepted subject=s queue=G1");
}

/* A server gap between replies: the waiting command's reply is lost, pairing resumes after. */
static void
test_server_gap_resync(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250-PIPE");
	driver_gap(&d, RSM_S2C, 20); /* inside the EHLO reply: it still answers EHLO */
	S(&d, "LINING\r\n250 8BITMIME\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	driver_gap(&d, RSM_S2C, 14); /* "250 2.1.0 Ok\r\n" lost whole */
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 2.1.5 Ok\r\n");
	C(&d, "DATA\r\n");
	driver_gap(&d, RSM_S2C, 30); /* the 354 lost: the client went on all the same */
	C(&d, "Subject: s\r\n\r\nx\r\n.\r\n");
	S(&d, "250 2.0.0 Ok: queued as Q\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|EHLO 250|MAIL -|RCPT 250|DATA -|. 250");
	assert_non_null(strstr(d.seen.explanations, "(a gap)"));
	assert_string_equal(d.seen.extensions, "PIPE [...]|8BITMIME"); /* the cut line, marked */
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_INVALID_REPLY));
	assert_string_equal(d.seen.messages, "a@b>c@d 17 accepted subject=s queue=Q");
}

/* A client gap inside a command line: the cut line is kept by its verb, the next one is read. */
static void
test_client_gap_mid_line(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MAIL FR");
	driver_gap(&d, RSM_C2S, 5);
	C(&d, "b.example>\r\nRCPT TO:<c@d>\r\n");
	S(&d, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	driver_close(&d, RSM_END_CLOSED);
	/* the MAIL line was cut but shows its verb: it is kept, RCPT pairs with its own */
	assert_string_equal(d.seen.transcript, "CONNECT 220|MAIL 250|RCPT 250");
	assert_string_equal(d.seen.args, "|FR [...]|TO:<c@d>");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_GAP));
}

/* The end of a message lost in a gap: the server's reply to it closes the message. */
static void
test_gap_swallows_end_of_data(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	S(&d, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	C(&d, "Subject: s\r\n\r\nbody");
	driver_gap(&d, RSM_C2S, 9); /* "\r\nmore\r\n.\r\n" minus what we saw */
	S(&d, "250 2.0.0 Ok: queued as Z9\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|MAIL 250|RCPT 250|DATA 354|. 250|QUIT 221");
	assert_string_equal(d.seen.messages, "a@b>c@d -1 accepted subject=s queue=Z9");
}

/* A cut line with no verb to go by: a "?" entry still takes its reply. */
static void
test_client_gap_unknown_line(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MA");
	driver_gap(&d, RSM_C2S, 5);
	C(&d, "OM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	S(&d, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|? 250|RCPT 250");
}

/* A greeting cut by the snap length: finished as it stands, pairing stays right. */
static void
test_cut_greeting_still_pairs(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 site.contoso.com Microsoft Exchange Internet Mail Connecto");
	driver_gap(&d, RSM_S2C, 3);
	C(&d, "EHOL x\r\n");
	S(&d, "500 Command not recognized\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHOL 500");
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_CLIENT_SPOKE_FIRST));
}

/* Not SMTP on port 25: an HTTP server's answer is recognised as such. */
static void
test_not_smtp(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	C(&d, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	S(&d, "HTTP/1.1 400 Bad Request\r\n\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_NOT_SMTP));
}

/* Multi-line reply whose code changes midway: kept as one reply, flagged. */
static void
test_multiline_code_mismatch(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220-mx ESMTP\r\n221 oops\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_MULTILINE_CODE_MISMATCH));
}

/* The pending queue is capped: a flood of commands without replies stays bounded. */
static void
test_pending_and_commands_capped(void **state)
{
	struct smtp_config cfg;
	struct driver d;

	(void)state;
	smtp_default_config(&cfg);
	cfg.max_pending = 16;
	cfg.max_commands = 50;
	driver_open(&d, &cfg, false);
	S(&d, "220 mx ESMTP\r\n");
	for (int i = 0; i < 200; i++)
		C(&d, "NOOP\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_PENDING_OVERFLOW));
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_TOO_MANY_COMMANDS));
}

/*
 * Issue 13 item 8: the records of all sessions draw on the process's one
 * budget, counted by what they take. Two sessions of junk commands under
 * 256 KiB:
 * the second stops recording once the budget is spent (memory_budget), the
 * budget is never overrun, and all of it comes back when they are freed.
 */
static void
test_sessions_share_one_budget(void **state)
{
	struct driver a, b;
	char line[128];
	size_t peak = 0, before = cap_budget_used(), budget = before + (256u << 10);

	(void)state;
	cap_budget_set(budget);
	driver_open(&a, NULL, false);
	driver_open(&b, NULL, false);
	S(&a, "220 a\r\n");
	S(&b, "220 b\r\n");
	for (int i = 0; i < 2000; i++) {
		snprintf(line, sizeof(line), "XJUNK %04d %s\r\n", i,
			 "0123456789012345678901234567890123456789012345678901234567890123456789");
		C(&a, line);
		S(&a, "500 5.5.2 Error: command not recognized\r\n");
		C(&b, line);
		S(&b, "500 5.5.2 Error: command not recognized\r\n");
		if (cap_budget_used() > peak)
			peak = cap_budget_used();
	}
	assert_true(peak <= budget);
	assert_true(peak > before + (128u << 10));
	driver_close(&a, RSM_END_CLOSED);
	driver_close(&b, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&b.seen, SMTP_ANOM_MEMORY_BUDGET) ||
		    HAS_ANOMALY(&a.seen, SMTP_ANOM_MEMORY_BUDGET));
	assert_int_equal(cap_budget_used(), before);
	cap_budget_set(CAP_DEFAULT_BUDGET);
}

/* A refused nested MAIL keeps the first transaction open (RFC 5321 4.1.4). */
static void
test_nested_mail_refused(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mail.example.com ESMTP Postfix\r\n");
	C(&d, "MAIL from:<alice@example.com>\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	C(&d, "MAIL from:<bob@example.com>\r\n");
	S(&d, "503 5.5.1 Error: nested MAIL command\r\n");
	C(&d, "RCPT to:<bob@example.com>\r\n");
	S(&d, "250 2.1.5 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 End data with <CR><LF>.<CR><LF>\r\n");
	C(&d, "x\r\n.\r\n");
	S(&d, "250 2.0.0 Ok: queued as 4CDEB4BA92F9\r\n");
	C(&d, "RCPT to:<late@example.com>\r\n"); /* after the end: no transaction */
	S(&d, "503 5.5.1 Error: need MAIL command\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.messages, "alice@example.com>bob@example.com 3 accepted "
					     "queue=4CDEB4BA92F9|bob@example.com> -1 not-accepted");
	assert_string_equal(d.seen.helo, "(null)");
	/* the nested refusal opened nothing: one message, delivered, the refusal said */
	assert_int_equal(d.seen.outcome, SMTP_OUT_DELIVERED);
	assert_non_null(strstr(d.seen.verdict, "inside the open transaction was refused"));
}

/* No HELO/EHLO accepted: helo is the last one sent (DESIGN.md). */
static void
test_helo_falls_back_to_last_sent(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO first\r\n");
	S(&d, "501 5.5.4 Invalid domain name\r\n");
	C(&d, "HELO second\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.helo, "second");
}

/* RFC 5321 4.5.3.1.4: a command line is at most 512 bytes; longer is flagged. */
static void
test_rfc_line_limit_flagged(void **state)
{
	struct driver d;
	char line[600];

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	memset(line, 'a', sizeof(line));
	memcpy(line, "EHLO ", 5);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	C(&d, line);
	S(&d, "250 mx\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_LINE_TOO_LONG));
	assert_int_equal(strncmp(d.seen.helo, "aaaa", 4), 0); /* kept, not refused */
}

/* A pipelined group after a refused MAIL: the later failures name the MAIL as the cause. */
static void
test_consequences_name_the_cause(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MAIL FROM:<bad sender>\r\nRCPT TO:<kate@example.org>\r\nDATA\r\n");
	S(&d, "501 5.1.7 Bad sender address syntax\r\n503 5.5.1 Error: need MAIL command\r\n"
	      "503 5.5.1 Error: need RCPT command\r\n");
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n");
	S(&d, "250 2.1.0 Ok\r\n554 5.7.1 <x@elsewhere.example>: Relay access denied\r\n"
	      "554 5.5.1 Error: no valid recipients\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_non_null(strstr(d.seen.explanations, "earlier failure in the same transaction: "
						    "MAIL FROM:<bad sender> got 501 5.1.7"));
	assert_non_null(strstr(d.seen.explanations, "earlier failure in the same transaction: "
						    "RCPT TO:<x@elsewhere.example> got 554 5.7.1"));
	assert_int_equal(d.seen.outcome, SMTP_OUT_REJECTED);
	assert_string_equal(d.seen.outcomes, "rejected|rejected");
}

/* A slow reply is said with its likely reason, and flagged. */
static void
test_slow_replies(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	driver_wait(&d, 12);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	S(&d, "250 Ok\r\n");
	driver_wait(&d, 400);
	S(&d, "250 Ok\r\n354 go\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_SLOW_REPLY));
	assert_non_null(strstr(d.seen.explanations, "The reply took 12.0 s: servers often delay"));
	assert_non_null(strstr(d.seen.explanations, "verifying the recipient"));
	assert_non_null(strstr(d.seen.explanations, "longer than RFC 5321 lets a client wait (5 min)"));
}

/* Play a script of segments "S...|C...|S..." (S: server, C: client). */
static void
play(struct driver *d, const char *script)
{
	char seg[512];

	while (*script) {
		const char *bar = strchr(script, '|');
		size_t n = bar ? (size_t)(bar - script) : strlen(script);

		assert_true(n > 0 && n < sizeof(seg));
		memcpy(seg, script + 1, n - 1);
		seg[n - 1] = '\0';
		if (script[0] == 'C')
			C(d, seg);
		else
			S(d, seg);
		script += n + (bar ? 1 : 0);
	}
}

/* Every verdict kind, from the exchange that decides it. */
static void
test_verdict_kinds(void **state)
{
	static const struct {
		const char *script;
		enum rsm_end end;
		enum smtp_outcome outcome;
		const char *verdict_start;
	} cases[] = {
		{"S220 mx\r\n|CMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n|S250 Ok\r\n250 Ok\r\n"
		 "354 go\r\n|Cx\r\n.\r\n|S250 Ok: queued as Q1\r\n",
		 RSM_END_CLOSED, SMTP_OUT_DELIVERED, "Delivered: 1 message delivered (queued as Q1)."},
		{"S220 mx\r\n|CMAIL FROM:<a@b>\r\n|S250 Ok\r\n|CRCPT TO:<c@d>\r\n|S450 4.7.1 <c@d>: "
		 "Recipient address rejected: Greylisted\r\n",
		 RSM_END_CLOSED, SMTP_OUT_DEFERRED, "Deferred: 1 message deferred"},
		{"S220 mx\r\n|CMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n|S250 Ok\r\n250 Ok\r\n"
		 "354 go\r\n|Chalf a mess",
		 RSM_END_RESET, SMTP_OUT_ABORTED, "Aborted: 1 message cut off"},
		{"S220 mx\r\n|CMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n|S250 Ok\r\n250 Ok\r\n|CQUIT\r\n",
		 RSM_END_CLOSED, SMTP_OUT_ABANDONED, "No message sent: 1 message abandoned"},
		{"S220 mx\r\n|CMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n|S250 Ok\r\n250 Ok\r\n"
		 "354 go\r\n|Cx\r\n.\r\n",
		 RSM_END_UNFINISHED, SMTP_OUT_UNKNOWN,
		 "Outcome unknown: 1 message with no final answer seen."},
		{"S220 mx\r\n|CMAIL FROM:<a@b>\r\n|S250 Ok\r\n|CRCPT TO:<c@d>\r\n|S250 Ok\r\n|"
		 "CDATA\r\n|S354 go\r\n|Cx\r\n.\r\n|S250 Ok: queued as Q2\r\n|CMAIL FROM:<a@b>\r\n|"
		 "S250 Ok\r\n|CRCPT TO:<nobody@d>\r\n|S550 5.1.1 User unknown\r\n",
		 RSM_END_CLOSED, SMTP_OUT_PARTIAL,
		 "Partly delivered: 1 message delivered (queued as Q2); 1 message rejected"},
		{"S554 5.7.1 You are not welcome here\r\n|CQUIT\r\n", RSM_END_CLOSED,
		 SMTP_OUT_REJECTED, "Refused at the greeting: 554"},
		{"S421 4.3.2 Service shutting down\r\n", RSM_END_CLOSED, SMTP_OUT_DEFERRED,
		 "Refused at the greeting: 421"},
		{"S220 mx\r\n|CEHLO h\r\n|S250 mx\r\n|CQUIT\r\n|S221 Bye\r\n", RSM_END_CLOSED,
		 SMTP_OUT_NO_MAIL, "No message sent (the client ended the session)."},
		{"S220 mx\r\n|CEHLO h\r\n|S250 mx\r\n", RSM_END_UNFINISHED, SMTP_OUT_UNKNOWN,
		 "Outcome unknown: the capture ended before any message."},
		{"S220 mx\r\n|CSTARTTLS\r\n|S220 go ahead\r\n|C\x16\x03\x01 secret", RSM_END_CLOSED,
		 SMTP_OUT_UNKNOWN, "STARTTLS accepted; the connection ended before the TLS handshake "
				   "was seen to finish, so any"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct driver d;

		driver_open(&d, NULL, false);
		play(&d, cases[i].script);
		driver_close(&d, cases[i].end);
		if (d.seen.outcome != cases[i].outcome ||
		    strncmp(d.seen.verdict, cases[i].verdict_start, strlen(cases[i].verdict_start)))
			fail_msg("case %zu: outcome %s, verdict \"%s\"; want %s, \"%s...\"", i,
				 smtp_outcome_name(d.seen.outcome), d.seen.verdict,
				 smtp_outcome_name(cases[i].outcome), cases[i].verdict_start);
	}
}

/* The transport-level kinds: refused, unanswered, no greeting are "never reached". */
static void
test_never_reached(void **state)
{
	static const enum rsm_end ends[] = {RSM_END_REFUSED, RSM_END_NO_ANSWER, RSM_END_TIMEOUT};

	(void)state;
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		struct driver d;

		driver_open(&d, NULL, false);
		d.conn.packets[RSM_S2C] = ends[i] == RSM_END_TIMEOUT; /* a SYN-ACK, then silence */
		driver_close(&d, ends[i]);
		assert_int_equal(d.seen.outcome, SMTP_OUT_NEVER_REACHED);
		assert_non_null(strstr(d.seen.verdict, "Never reached SMTP"));
	}
}

/* AUTH PLAIN/LOGIN seen on the wire is a password in the clear; STARTTLS offered, unused. */
static void
test_security_notes(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n");
	C(&d, "AUTH PLAIN AGJvYgBodW50ZXIy\r\n");
	S(&d, "235 2.7.0 Authentication successful\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_AUTH_CLEARTEXT));
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_STARTTLS_NOT_USED));
}

/* Past the cap on recorded commands, a 354 still opens the message: the body is no command. */
static void
test_command_cap_keeps_state(void **state)
{
	struct smtp_config cfg;
	struct driver d;

	(void)state;
	smtp_default_config(&cfg);
	cfg.max_commands = 3;
	driver_open(&d, &cfg, false);
	play(&d, "S220 mx\r\n|CMAIL FROM:<a@b>\r\n|S250 Ok\r\n|CRCPT TO:<c@d>\r\n|S250 Ok\r\n|"
		 "CDATA\r\n|S354 go\r\n|CSubject: s\r\n\r\nQUIT\r\nRSET\r\n.\r\n|"
		 "S250 Ok: queued as Q\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_TOO_MANY_COMMANDS));
	assert_string_equal(d.seen.outcomes, "delivered");
	assert_string_equal(d.seen.messages, "a@b>c@d 26 accepted subject=s queue=Q");
}

/* Counts what a sink is given: opened, closed whole, closed partial. */
struct count_sink {
	int open, whole, partial;
};

static void *
cs_open(void *arg, const struct smtp_session *s, int msg)
{
	(void)s;
	(void)msg;
	((struct count_sink *)arg)->open++;
	return arg;
}

static void
cs_write(void *h, const uint8_t *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

static void
cs_close(void *arg, void *h, const struct smtp_session *s, int msg, bool whole)
{
	(void)h;
	(void)s;
	(void)msg;
	if (whole)
		((struct count_sink *)arg)->whole++;
	else
		((struct count_sink *)arg)->partial++;
}

/* BDAT chunks without their LAST, then another message: the first is closed, partial. */
static void
test_bdat_unfinished_then_next_message(void **state)
{
	struct count_sink n = {0};
	struct smtp_sink sink = {cs_open, cs_write, cs_close, &n};
	struct smtp_config cfg;
	struct driver d;

	(void)state;
	smtp_default_config(&cfg);
	cfg.sink = &sink;
	driver_open(&d, &cfg, false);
	play(&d, "S220 mx\r\n|CMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 5\r\nhello|"
		 "S250 Ok\r\n250 Ok\r\n250 Ok\r\n|CRSET\r\nMAIL FROM:<e@f>\r\nRCPT TO:<g@h>\r\n"
		 "BDAT 3 LAST\r\nbye|S250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as Z\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_int_equal(n.open, 2);
	assert_int_equal(n.whole, 1);
	assert_int_equal(n.partial, 1);
	assert_string_equal(d.seen.messages, "a@b>c@d -1 not-accepted|e@f>g@h 3 accepted queue=Z");
}

/* A gap that runs past the end of a BDAT chunk: the chunk ends, the cut command line is dropped. */
static void
test_gap_past_bdat_chunk(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	play(&d, "S220 mx\r\n|CMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 10 LAST\r\nabc|"
		 "S250 Ok\r\n250 Ok\r\n");
	driver_gap(&d, RSM_C2S, 12); /* 7 chunk bytes, then "QUIT\r" */
	play(&d, "C\nNOOP\r\n|S250 Ok: queued as Q\r\n221 Bye\r\n250 Ok\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|MAIL 250|RCPT 250|BDAT 250|? 221|NOOP 250");
	assert_string_equal(d.seen.outcomes, "delivered");
}

/* A reply cut before its code shows: the command it answered gets no reply, not the next one's. */
static void
test_reply_cut_before_code(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	play(&d, "S220 mx\r\n|CMAIL FROM:<a@b>\r\n|S25");
	driver_gap(&d, RSM_S2C, 12);
	play(&d, "CRCPT TO:<c@d>\r\n|S550 5.1.1 User unknown\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|MAIL -|RCPT 550");
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_LINE_TOO_LONG));
}

/* AUTH PLAIN without an initial response: the user name is in the answer to the 334. */
static void
test_auth_plain_after_334(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	play(&d, "S220 mx\r\n|CAUTH PLAIN\r\n|S334 \r\n|CAGJvYgBodW50ZXIy\r\n|"
		 "S235 2.7.0 Authentication successful\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.auth, "PLAIN bob 1");
	assert_null(strstr(d.seen.args, "AGJv"));
}

/* Is the credential anywhere in what the session kept, in any case ("AGJV" after upper-casing)? */
static bool
seen_leaks(const struct seen *w, const char *secret)
{
	const char *fields[] = {w->transcript, w->args, w->auth, w->explanations, w->verdict};

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
		for (const char *p = fields[f]; *p; p++)
			if (strncasecmp(p, secret, strlen(secret)) == 0)
				return true;
	return false;
}

/* Issue 13: AUTH masking by grammar: a TAB or several blanks separate the words too. */
static void
test_auth_masked_whatever_the_blanks(void **state)
{
	static const char *const lines[] = {
		"AUTH PLAIN\tAGJvYgBodW50ZXIy\r\n",   "AUTH\tPLAIN AGJvYgBodW50ZXIy\r\n",
		"AUTH\tPLAIN\tAGJvYgBodW50ZXIy\r\n",  "AUTH  PLAIN \t AGJvYgBodW50ZXIy\r\n",
		"auth \tplain\t\tAGJvYgBodW50ZXIy\r\n",
	};
	struct driver d;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		driver_open(&d, NULL, false);
		S(&d, "220 mx ESMTP\r\n");
		C(&d, lines[i]); /* "\0bob\0hunter2" */
		S(&d, "235 2.7.0 Authentication successful\r\n");
		driver_close(&d, RSM_END_CLOSED);
		assert_string_equal(d.seen.transcript, "CONNECT 220|AUTH 235");
		assert_int_equal(strcasecmp(d.seen.args, "|PLAIN"), 0); /* as sent: "plain" */
		assert_string_equal(d.seen.auth, "PLAIN bob 1");
		assert_false(seen_leaks(&d.seen, "AGJvYgBodW50ZXIy"));
		assert_false(seen_leaks(&d.seen, "hunter2"));
	}
}

/* A mechanism that is not a SASL name (RFC 4422 3.1) may be the credential itself. */
static void
test_auth_odd_mechanism_masked(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	play(&d, "S220 mx\r\n|CAUTH AGJvYgBodW50ZXIy+/w=\r\n|S504 5.5.4 Unrecognized\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|AUTH 504");
	assert_false(seen_leaks(&d.seen, "AGJvYgBodW50ZXIy"));
}

/*
 * Issue 13: a credential line the decoder cannot place (no AUTH or no 334
 * seen for it) is kept as an entry, so replies still pair, but never shown.
 */
static void
test_unplaced_credential_masked(void **state)
{
	struct driver d;

	(void)state;
	/* the capture began between the 334 and the password */
	driver_open(&d, NULL, true);
	play(&d, "CczNjcjN0\r\n|S535 5.7.8 Error: authentication failed\r\n|CQUIT\r\n|S221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "*** 535|QUIT 221");
	assert_false(seen_leaks(&d.seen, "czNjcjN0"));
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_POSSIBLE_CREDENTIAL));

	/* the same with a stray CR before the line end */
	driver_open(&d, NULL, true);
	play(&d, "CczNjcjN0\r\r\n|S535 5.7.8 Error: authentication failed\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "*** 535");
	assert_false(seen_leaks(&d.seen, "czNjcjN0"));

	/* a pipelined answer to an AUTH the server refused: no 334 ever came */
	driver_open(&d, NULL, false);
	play(&d, "S220 mx\r\n|CAUTH PLAIN\r\nAGJvYgBodW50ZXIy\r\n|S504 5.5.4 No\r\n|"
		 "S502 5.5.2 Error: command not recognized\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|AUTH 504|*** 502");
	assert_false(seen_leaks(&d.seen, "AGJvYgBodW50ZXIy"));

	/* without AUTH, in a session seen whole, an unknown command is shown as sent */
	driver_open(&d, NULL, false);
	play(&d, "S220 mx\r\n|CXYZZY\r\n|S502 5.5.2 Error: command not recognized\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|XYZZY 502");
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_POSSIBLE_CREDENTIAL));
}

/* --show-secrets shows the unplaced line as sent. */
static void
test_unplaced_credential_shown_when_asked(void **state)
{
	struct smtp_config cfg;
	struct driver d;

	(void)state;
	smtp_default_config(&cfg);
	cfg.show_secrets = true;
	driver_open(&d, &cfg, true);
	play(&d, "CczNjcjN0\r\n|S535 5.7.8 Error: authentication failed\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CZNJCJN0 535");
}

/*
 * Issue 13: AUTH LOGIN's user name is its first answer, whatever the 334
 * prompts say (swapped, empty, non-standard); the second is the password.
 */
static void
test_auth_login_user_is_first_answer(void **state)
{
	static const char *const scripts[] = {
		/* prompts swapped: "Password:" first */
		"S334 UGFzc3dvcmQ6\r\n|CYWxpY2U=\r\n|S334 VXNlcm5hbWU6\r\n|CczNjcjN0\r\n",
		/* empty prompts */
		"S334 \r\n|CYWxpY2U=\r\n|S334 \r\n|CczNjcjN0\r\n",
		/* an empty user name, then a non-standard prompt */
		"S334 VXNlcm5hbWU6\r\n|C\r\n|S334 UGFzc3dvcmQgcGxlYXNl\r\n|CczNjcjN0\r\n",
		/* an empty user name, both prompts "Username:" */
		"S334 VXNlcm5hbWU6\r\n|C\r\n|S334 VXNlcm5hbWU6\r\n|CczNjcjN0\r\n",
	};
	static const char *const auth[] = {"LOGIN alice 0", "LOGIN alice 0", "LOGIN (null) 0",
					   "LOGIN (null) 0"};
	struct driver d;

	(void)state;
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		driver_open(&d, NULL, false);
		play(&d, "S220 mx\r\n|CAUTH LOGIN\r\n");
		play(&d, scripts[i]);
		S(&d, "535 5.7.8 Error: authentication failed\r\n");
		driver_close(&d, RSM_END_CLOSED);
		assert_string_equal(d.seen.transcript, "CONNECT 220|AUTH 334|AUTH-DATA 334|"
						       "AUTH-DATA 535");
		assert_string_equal(d.seen.auth, auth[i]);
		assert_false(seen_leaks(&d.seen, "s3cr3t"));
		assert_false(seen_leaks(&d.seen, "czNjcjN0"));
	}
}

/* Reply codes outside any table are judged by their first digit. */
static void
test_unknown_code_first_digit(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "XFOO\r\n");
	S(&d, "299 whatever this is\r\n");
	C(&d, "XBAR\r\n");
	S(&d, "472 something\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|XFOO 299|XBAR 472");
	assert_non_null(strstr(d.seen.explanations, "Temporary failure"));
}

/*
 * Issue 11: a reply pairs only with a command it can answer. A gap of 40
 * bytes after MAIL's reply held the two RCPT replies: the 354 can only be
 * DATA's, so it pairs there, settled by the capture.
 */
static void
test_pairing_by_code_across_gap(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, true);
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	driver_gap(&d, RSM_S2C, 40);
	S(&d, "354 End data with <CR><LF>.<CR><LF>\r\n");
	C(&d, "Subject: s\r\n\r\nx\r\n.\r\n");
	S(&d, "250 2.0.0 Ok: queued as Q1\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|EHLO 250|MAIL 250|RCPT -|RCPT -|DATA 354|. 250");
	assert_string_equal(d.seen.pairing, "sss--ss");
	/* the recipients' replies were not seen: neither accepted nor refused */
	assert_string_equal(d.seen.messages, "a@b>?c@d,?e@f 17 accepted subject=s queue=Q1");
	assert_non_null(strstr(d.seen.explanations, "(a gap)"));
}

/* After a gap that could hold two replies, a 250 may answer either RCPT: inferred. */
static void
test_pairing_inferred_when_gap_leaves_a_choice(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, true);
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nRCPT TO:<g@h>\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	driver_gap(&d, RSM_S2C, 28);
	S(&d, "550 5.1.1 unknown\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|EHLO 250|MAIL 250|RCPT -|RCPT 550|RCPT -|QUIT 221");
	assert_string_equal(d.seen.pairing, "sss-i-s");
	assert_non_null(strstr(d.seen.explanations, "Paired by inference"));
}

/* No greeting before the reply to EHLO: 250 cannot be a greeting, so it is EHLO's. */
static void
test_no_greeting_reply_pairs_with_ehlo(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250 STARTTLS\r\n");
	C(&d, "STARTTLS\r\n");
	S(&d, "220 2.0.0 Ready to start TLS\r\n");
	C(&d, "\x16\x03\x01\x00\x05hello");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT -|EHLO 250|STARTTLS 220");
	assert_string_equal(d.seen.pairing, "-ss");
	assert_non_null(strstr(d.seen.explanations, "No greeting seen"));
	assert_true(d.seen.starttls);
}

/* RFC 5321 3.8: a 421 may come at any time; with nothing asked it is the server closing. */
static void
test_unsolicited_421(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, false);
	S(&d, "421 4.4.2 mx Error: timeout exceeded\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|HELO 250|SERVER-CLOSE 421");
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_REPLY_WITHOUT_COMMAND));
}

/* AUTH never answered: the client's next lines are commands, not AUTH answers. */
static void
test_auth_unanswered(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n");
	C(&d, "AUTH LOGIN\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 2.1.5 Ok\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|EHLO 250|AUTH -|MAIL 250|RCPT 250|QUIT 221");
	assert_string_equal(d.seen.messages, "a@b>c@d -1 not-accepted");
}

/* AUTH PLAIN has one answer: past it, lines are commands again even with no reply seen. */
static void
test_auth_plain_one_answer(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250 AUTH PLAIN\r\n");
	C(&d, "AUTH PLAIN\r\n");
	S(&d, "334 \r\n");
	C(&d, "AHVzZXIAc2VjcmV0\r\n");
	C(&d, "NOOP\r\nQUIT\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|AUTH 334|AUTH-DATA -|NOOP -|QUIT -");
}

/* RFC 5321 4.1.4: only a successful HELO resets the transaction. */
static void
test_refused_helo_keeps_envelope(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, false);
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "HELO bad..name\r\n");
	S(&d, "501 5.5.4 Invalid domain name\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "x\r\n.\r\n");
	S(&d, "250 Ok: queued as Q2\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.messages, "a@b>c@d 3 accepted queue=Q2");
	assert_int_equal(d.seen.outcome, SMTP_OUT_DELIVERED);
}

/* DATA refused before any MAIL is no message. */
static void
test_data_without_mail_is_no_message(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, false);
	C(&d, "DATA\r\n");
	S(&d, "503 5.5.1 Error: need RCPT command\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.messages, "");
	assert_int_equal(d.seen.outcome, SMTP_OUT_NO_MAIL);
}

/* A refused MAIL retried with a corrected sender and delivered: delivered, retry said. */
static void
test_mail_retry_counts_final_fate(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, false);
	C(&d, "MAIL FROM:<a@bad>\r\n");
	S(&d, "553 5.1.8 <a@bad>: Sender address rejected: Domain not found\r\n");
	C(&d, "MAIL FROM:<a@good>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "x\r\n.\r\n");
	S(&d, "250 Ok: queued as Q3\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_int_equal(d.seen.outcome, SMTP_OUT_DELIVERED);
	assert_string_equal(d.seen.verdict, "Delivered: 1 message delivered (queued as Q3). Before "
					    "that, MAIL FROM was refused (553 5.1.8 <a@bad>: Sender "
					    "address rejected: Domain not found) and tried again.");
}

/* 4xx recipients are deferred, not refused for good, and the verdict says so. */
static void
test_deferred_recipients(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, false);
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<e@d>\r\n");
	S(&d, "450 4.2.0 <e@d>: Recipient address rejected: Greylisted\r\n");
	C(&d, "RCPT TO:<g@d>\r\n");
	S(&d, "452 4.5.3 Error: too many recipients\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "x\r\n.\r\n");
	S(&d, "250 Ok: queued as Q4\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "y\r\n.\r\n");
	S(&d, "250 Ok: queued as Q5\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.messages, "a@b>c@d,~e@d,~g@d 3 accepted queue=Q4|"
					     "a@b>c@d 3 accepted queue=Q5");
	assert_string_equal(d.seen.verdict, "Delivered: 2 messages delivered (queued as Q4, Q5). 2 "
					    "recipients deferred (4xx: the sending server should "
					    "retry them later).");
}

/* DATA after BDAT chunks cut by a gap: the DATA body is a body, not commands. */
static void
test_data_after_cut_bdat(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250 CHUNKING\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "BDAT 100\r\n0123456789");
	driver_gap(&d, RSM_C2S, 200); /* the rest of the chunk and what followed */
	S(&d, "250 2.0.0 100 octets received\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "Subject: s\r\nMAIL FROM:<x@y>\r\n.\r\n");
	S(&d, "250 Ok: queued as Q6\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_null(strstr(d.seen.transcript, "MAIL FROM"));
	assert_non_null(strstr(d.seen.transcript, "DATA 354|. 250"));
}

/* A capture that ends during the message: the outcome is unknown, not aborted. */
static void
test_capture_ends_in_data(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, false);
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "550 5.1.1 unknown\r\n");
	C(&d, "RCPT TO:<e@d>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "Subject: s\r\n\r\npart");
	driver_close(&d, RSM_END_UNFINISHED);
	assert_int_equal(d.seen.outcome, SMTP_OUT_UNKNOWN);
	assert_null(strstr(d.seen.verdict, "Rejected"));
}

/* A real TLS exchange (tests/data/tls, OpenSSL on loopback) fed after the SMTP part. */
static void
play_tls(struct driver *d, const uint8_t *bytes, const struct tls_sample_seg *segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		driver_send(d, (enum rsm_dir)segs[i].dir, bytes + segs[i].off, segs[i].len);
}

static void
starttls_prelude(struct driver *d)
{
	S(d, "220 mx ESMTP\r\n");
	C(d, "EHLO h\r\n");
	S(d, "250-mx\r\n250 STARTTLS\r\n");
	C(d, "STARTTLS\r\n");
	S(d, "220 2.0.0 Ready to start TLS\r\n");
}

/* Issue 11 item 4: STARTTLS is "encrypted" only when the handshake completed. */
static void
test_starttls_handshake_completed(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	starttls_prelude(&d);
	play_tls(&d, tls13_ok_bytes, tls13_ok_segs, sizeof(tls13_ok_segs) / sizeof(tls13_ok_segs[0]));
	d.conn.first_closer = 1 + RSM_C2S;
	driver_close(&d, RSM_END_CLOSED);
	assert_non_null(strstr(d.seen.verdict, "TLS established (TLSv1.3, TLS_AES_256_GCM_SHA384)"));
	assert_int_equal(d.seen.outcome, SMTP_OUT_UNKNOWN);
}

/* The server refused every cipher the client offered: a fatal alert in clear, said. */
static void
test_starttls_handshake_failed(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	starttls_prelude(&d);
	play_tls(&d, tls12_nocipher_bytes, tls12_nocipher_segs,
		 sizeof(tls12_nocipher_segs) / sizeof(tls12_nocipher_segs[0]));
	d.conn.first_closer = 1 + RSM_S2C;
	driver_close(&d, RSM_END_CLOSED);
	assert_non_null(strstr(d.seen.verdict, "the TLS handshake failed: server sent the alert "
					       "handshake_failure (fatal). No protocol version, cipher "
					       "or key exchange in common"));
	assert_null(strstr(d.seen.verdict, "encrypted"));
	assert_int_equal(d.seen.outcome, SMTP_OUT_NO_MAIL);
}

/* The client sent its hello and closed: abandoned, by the client. */
static void
test_starttls_handshake_abandoned(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	starttls_prelude(&d);
	play_tls(&d, tls13_ok_bytes, tls13_ok_segs, 2);
	d.conn.first_closer = 1 + RSM_C2S;
	driver_close(&d, RSM_END_CLOSED);
	assert_non_null(strstr(d.seen.verdict, "but the client closed the connection before the "
					       "TLS handshake finished"));
	assert_int_equal(d.seen.outcome, SMTP_OUT_NO_MAIL);
}

/* A client set for implicit TLS on a STARTTLS port: named, not read as commands. */
static void
test_tls_hello_to_plain_port(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	driver_send(&d, RSM_C2S, tls13_ok_bytes, tls13_ok_segs[0].len);
	S(&d, "500 5.5.2 Error: bad syntax\r\n");
	d.conn.first_closer = 1 + RSM_S2C;
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_TLS_WITHOUT_STARTTLS));
	assert_non_null(strstr(d.seen.verdict, "started TLS at once"));
}

/* An HTTP request to port 25 and Postfix's answer to it. */
static void
test_http_request_named(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP Postfix\r\n");
	C(&d, "GET / HTTP/1.1\r\nHost: mx\r\n\r\n");
	S(&d, "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_HTTP_REQUEST));
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_REPLY_WITHOUT_COMMAND));
	assert_non_null(strstr(d.seen.verdict, "HTTP request"));
	assert_int_equal(d.seen.outcome, SMTP_OUT_NO_MAIL);
}

/* SMTP through an HTTP CONNECT proxy: the preamble is skipped, the SMTP inside pairs. */
static void
test_http_connect_proxy(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	C(&d, "CONNECT mx.example:25 HTTP/1.0\r\n\r\n");
	S(&d, "HTTP/1.0 200 Connection established\r\nVia: proxy\r\n\r\n");
	greet(&d, false);
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "x\r\n.\r\nQUIT\r\n");
	S(&d, "250 Ok: queued as P1\r\n221 Bye\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|HELO 250|MAIL 250|RCPT 250|DATA 354|. 250|QUIT 221");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_HTTP_CONNECT_PROXY));
	assert_int_equal(d.seen.outcome, SMTP_OUT_DELIVERED);
}

/* The proxy said no: the SMTP server was never reached. */
static void
test_http_connect_refused(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	C(&d, "CONNECT mx.example:25 HTTP/1.1\r\nHost: mx.example:25\r\n\r\n");
	S(&d, "HTTP/1.1 403 Forbidden\r\n\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_int_equal(d.seen.outcome, SMTP_OUT_NEVER_REACHED);
	assert_non_null(strstr(d.seen.verdict, "HTTP status 403"));
}

/* SYN, SYN-ACK, the client's RST: a probe, not a server that failed to greet. */
static void
test_port_scan_not_blamed_on_server(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	d.conn.first_closer = 1 + RSM_C2S;
	driver_close(&d, RSM_END_RESET);
	assert_int_equal(d.seen.outcome, SMTP_OUT_NEVER_REACHED);
	assert_non_null(strstr(d.seen.verdict, "port scan"));
	assert_null(strstr(d.seen.verdict, "no greeting"));
}

/*
 * A gap cuts the EHLO reply and takes its end with it; the client sent MAIL
 * after the part seen, so the next "250" is MAIL's, not more of EHLO's.
 */
static void
test_cut_multiline_reply_ends_when_client_goes_on(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250-mx\r\n250-PIPELINING\r\n250-SIZE ");
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	driver_gap(&d, RSM_S2C, 30);
	S(&d, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|MAIL 250|RCPT 250");
	assert_string_equal(d.seen.extensions, "PIPELINING|SIZE  [...]");
}

/* EHLO refused by an old server, then HELO: the fallback RFC 5321 4.1.4 expects. */
static void
test_ehlo_fallback_not_a_fault(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 old.example ESMTP Sendmail 8.9.3\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "500 5.5.1 Command unrecognized\r\n");
	C(&d, "HELO h\r\n");
	S(&d, "250 old.example Hello\r\n");
	C(&d, "QUIT\r\n");
	S(&d, "221 closing\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_non_null(strstr(d.seen.explanations, "falls back to HELO"));
	assert_null(strstr(d.seen.verdict, "EHLO"));
	assert_int_equal(d.seen.outcome, SMTP_OUT_NO_MAIL);
}

/*
 * The greeting and the EHLO reply in one segment, ahead of the client's EHLO
 * in the capture (generated traffic, two capture points): the 250 waits for
 * the EHLO, and nothing shifts after it.
 */
static void
test_reply_before_its_command(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n250 mx\r\n");
	C(&d, "EHLO h\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	C(&d, "RCPT TO:<c@d>\r\n");
	S(&d, "250 2.1.5 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "Subject: s\r\n\r\nx\r\n.\r\n");
	S(&d, "250 Ok: queued as E1\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript,
			    "CONNECT 220|EHLO 250|MAIL 250|RCPT 250|DATA 354|. 250");
	assert_string_equal(d.seen.pairing, "sissss"); /* EHLO's pair is inferred */
	assert_false(HAS_ANOMALY(&d.seen, SMTP_ANOM_REPLY_WITHOUT_COMMAND));
	assert_string_equal(d.seen.messages, "a@b>c@d 17 accepted subject=s queue=E1");
}

/*
 * A gap takes the byte after "250" of the EHLO reply's first line: whether
 * it was "-" or " " is lost, so the reply is not taken as ended, and the
 * lines after the gap still belong to it (nothing shifts onto MAIL).
 */
static void
test_gap_after_bare_code(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "250");
	driver_gap(&d, RSM_S2C, 1);
	S(&d, "mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	C(&d, "MAIL FROM:<a@b>\r\n");
	S(&d, "250 2.1.0 Ok\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|MAIL 250");
	assert_string_equal(d.seen.pairing, "sss");
	assert_string_equal(d.seen.extensions, "PIPELINING|8BITMIME");
}

/* Only the LF after a CR lost, on either side: the line is whole and the next one is read. */
static void
test_lost_lf_keeps_next_line(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	C(&d, "EHLO h\r");
	driver_gap(&d, RSM_C2S, 1);
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	S(&d, "250 mx\r\n250 2.1.0 Ok\r");
	driver_gap(&d, RSM_S2C, 1);
	S(&d, "5");
	S(&d, "50 5.1.1 unknown\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|MAIL 250|RCPT 550");
	assert_string_equal(d.seen.pairing, "ssss");
}

/*
 * After a gap, 250 fits MAIL and RCPT alike; the enhanced code says whose
 * address it is about (RFC 3463: 2.1.5 a recipient's), which settles it.
 */
static void
test_enhanced_code_settles_pair_after_gap(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, true);
	C(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	driver_gap(&d, RSM_S2C, 14);
	S(&d, "250 2.1.5 Ok\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|MAIL -|RCPT 250");
	assert_string_equal(d.seen.pairing, "ss-s");
}

/* After a choice among several places, the pairs that follow are inferred too. */
static void
test_drift_after_a_choice(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	greet(&d, true);
	C(&d, "NOOP\r\nNOOP\r\nNOOP\r\n");
	driver_gap(&d, RSM_S2C, 8);
	S(&d, "250 Ok\r\n250 Ok\r\n");
	C(&d, "DATA\r\n");
	S(&d, "354 go\r\n");
	C(&d, "x\r\n.\r\n");
	S(&d, "250 Ok: queued as D1\r\n");
	driver_close(&d, RSM_END_CLOSED);
	/* the first NOOP's reply counts as lost, the two 250s are placed by choice, the 354 settles */
	assert_string_equal(d.seen.transcript, "CONNECT 220|EHLO 250|NOOP -|NOOP 250|NOOP 250|"
					       "DATA 354|. 250");
	assert_string_equal(d.seen.pairing, "ss-iiss");
}

/* Binary from the client's first byte (OpenVPN on an SMTP port): named, not commands. */
static void
test_binary_client_not_smtp(void **state)
{
	static const uint8_t reset[] = {0x00, 0x0e, 0x38, 0x5a, 0xc3, 0x11, 0x9e, 0x04,
					0x7b, 0xd2, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00};
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "220 mx ESMTP\r\n");
	driver_send(&d, RSM_C2S, reset, sizeof(reset));
	driver_close(&d, RSM_END_CLOSED);
	assert_string_equal(d.seen.transcript, "CONNECT 220");
	assert_true(HAS_ANOMALY(&d.seen, SMTP_ANOM_NOT_SMTP));
	assert_non_null(strstr(d.seen.verdict, "Not SMTP: the client sent binary data"));
}

/* Another service on the port (an SSH banner): not SMTP, not a slow server. */
static void
test_other_service_not_smtp(void **state)
{
	struct driver d;

	(void)state;
	driver_open(&d, NULL, false);
	S(&d, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
	C(&d, "EHLO h\r\n");
	S(&d, "Invalid SSH identification string.\r\n");
	driver_close(&d, RSM_END_CLOSED);
	assert_non_null(strstr(d.seen.verdict, "Not SMTP"));
	assert_null(strstr(d.seen.verdict, "tarpitting"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairing_by_code_across_gap),
		cmocka_unit_test(test_pairing_inferred_when_gap_leaves_a_choice),
		cmocka_unit_test(test_no_greeting_reply_pairs_with_ehlo),
		cmocka_unit_test(test_unsolicited_421),
		cmocka_unit_test(test_auth_unanswered),
		cmocka_unit_test(test_auth_plain_one_answer),
		cmocka_unit_test(test_refused_helo_keeps_envelope),
		cmocka_unit_test(test_data_without_mail_is_no_message),
		cmocka_unit_test(test_mail_retry_counts_final_fate),
		cmocka_unit_test(test_deferred_recipients),
		cmocka_unit_test(test_data_after_cut_bdat),
		cmocka_unit_test(test_capture_ends_in_data),
		cmocka_unit_test(test_starttls_handshake_completed),
		cmocka_unit_test(test_starttls_handshake_failed),
		cmocka_unit_test(test_starttls_handshake_abandoned),
		cmocka_unit_test(test_tls_hello_to_plain_port),
		cmocka_unit_test(test_http_request_named),
		cmocka_unit_test(test_http_connect_proxy),
		cmocka_unit_test(test_http_connect_refused),
		cmocka_unit_test(test_port_scan_not_blamed_on_server),
		cmocka_unit_test(test_cut_multiline_reply_ends_when_client_goes_on),
		cmocka_unit_test(test_ehlo_fallback_not_a_fault),
		cmocka_unit_test(test_reply_before_its_command),
		cmocka_unit_test(test_gap_after_bare_code),
		cmocka_unit_test(test_lost_lf_keeps_next_line),
		cmocka_unit_test(test_enhanced_code_settles_pair_after_gap),
		cmocka_unit_test(test_drift_after_a_choice),
		cmocka_unit_test(test_binary_client_not_smtp),
		cmocka_unit_test(test_other_service_not_smtp),
		cmocka_unit_test(test_seed_exchange_session),
		cmocka_unit_test(test_seed_failures),
		cmocka_unit_test(test_pipelining_pairs_in_order),
		cmocka_unit_test(test_split_lines),
		cmocka_unit_test(test_body_dots_any_split),
		cmocka_unit_test(test_bare_lf_tolerated),
		cmocka_unit_test(test_overlong_line_capped),
		cmocka_unit_test(test_auth_login_masks_secret),
		cmocka_unit_test(test_auth_plain_initial_response),
		cmocka_unit_test(test_auth_show_secrets_when_asked),
		cmocka_unit_test(test_starttls_then_tls),
		cmocka_unit_test(test_starttls_no_server_hello),
		cmocka_unit_test(test_starttls_then_plaintext_flagged),
		cmocka_unit_test(test_bdat_chunks),
		cmocka_unit_test(test_bdat_invalid_size_flagged),
		cmocka_unit_test(test_client_side_only),
		cmocka_unit_test(test_data_refused_stays_in_commands),
		cmocka_unit_test(test_refused_attempt),
		cmocka_unit_test(test_no_answer_attempt),
		cmocka_unit_test(test_no_greeting),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_gap_in_body),
		cmocka_unit_test(test_not_smtp),
		cmocka_unit_test(test_server_gap_resync),
		cmocka_unit_test(test_client_gap_mid_line),
		cmocka_unit_test(test_gap_swallows_end_of_data),
		cmocka_unit_test(test_client_gap_unknown_line),
		cmocka_unit_test(test_cut_greeting_still_pairs),
		cmocka_unit_test(test_multiline_code_mismatch),
		cmocka_unit_test(test_pending_and_commands_capped),
		cmocka_unit_test(test_sessions_share_one_budget),
		cmocka_unit_test(test_unknown_code_first_digit),
		cmocka_unit_test(test_consequences_name_the_cause),
		cmocka_unit_test(test_slow_replies),
		cmocka_unit_test(test_verdict_kinds),
		cmocka_unit_test(test_never_reached),
		cmocka_unit_test(test_security_notes),
		cmocka_unit_test(test_command_cap_keeps_state),
		cmocka_unit_test(test_bdat_unfinished_then_next_message),
		cmocka_unit_test(test_gap_past_bdat_chunk),
		cmocka_unit_test(test_reply_cut_before_code),
		cmocka_unit_test(test_auth_plain_after_334),
		cmocka_unit_test(test_auth_masked_whatever_the_blanks),
		cmocka_unit_test(test_auth_odd_mechanism_masked),
		cmocka_unit_test(test_unplaced_credential_masked),
		cmocka_unit_test(test_unplaced_credential_shown_when_asked),
		cmocka_unit_test(test_auth_login_user_is_first_answer),
		cmocka_unit_test(test_nested_mail_refused),
		cmocka_unit_test(test_helo_falls_back_to_last_sent),
		cmocka_unit_test(test_rfc_line_limit_flagged),
	};

	return cmocka_run_group_tests_name("smtp", tests, NULL, NULL);
}
