/*
 * test_probe.c - probe/: the reading of DNS answers (MX, A, AAAA) on good,
 * hostile and cut-short messages, and the probe's options.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../probe/probe.h"

/* A DNS message under construction. */
struct msg {
	uint8_t b[1024];
	size_t n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put16(struct msg *m, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(m, b, 2);
}

/* "mx.example.test" as labels */
static void
put_name(struct msg *m, const char *name)
{
	while (*name) {
		size_t k = strcspn(name, ".");
		uint8_t len = (uint8_t)k;

		put(m, &len, 1);
		put(m, name, k);
		name += k + (name[k] == '.');
	}
	put(m, "", 1);
}

/* Header (id 1, a response, NOERROR), the question "example.test" of type qtype. */
static void
header(struct msg *m, unsigned ancount, unsigned qtype)
{
	m->n = 0;
	put16(m, 1);
	put16(m, 0x8580);
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, "example.test");
	put16(m, qtype);
	put16(m, 1);
}

/* An answer record for the question's name (a pointer to offset 12). */
static void
rr(struct msg *m, unsigned type, const void *rdata, size_t rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60);
	put16(m, (unsigned)rdlen);
	put(m, rdata, rdlen);
}

static void
mx_rr(struct msg *m, unsigned pref, const char *host)
{
	struct msg rd = {.n = 0};

	put16(&rd, pref);
	put_name(&rd, host);
	rr(m, 15, rd.b, rd.n);
}

/* example.test MX 20 mx2.example.test, MX 10 mx1.example.test, MX 20 mx3.example.test */
static void
test_mx_sorted_stable(void **state)
{
	struct probe_mx mx[8];
	struct msg m;

	(void)state;
	header(&m, 3, 15);
	mx_rr(&m, 20, "mx2.example.test");
	mx_rr(&m, 10, "mx1.example.test");
	mx_rr(&m, 20, "mx3.example.test");
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 8), 3);
	assert_int_equal(mx[0].preference, 10);
	assert_string_equal(mx[0].host, "mx1.example.test");
	assert_string_equal(mx[1].host, "mx2.example.test");
	assert_string_equal(mx[2].host, "mx3.example.test");
	assert_false(probe_dns_null_mx(mx, 3));
	/* a cap keeps the first records read, still sorted */
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 2), 2);
	assert_string_equal(mx[0].host, "mx1.example.test");
}

/* RFC 7505: example.test MX 0 "." */
static void
test_null_mx(void **state)
{
	struct probe_mx mx[2];
	struct msg m;
	uint8_t rd[3] = {0, 0, 0};

	(void)state;
	header(&m, 1, 15);
	rr(&m, 15, rd, sizeof(rd));
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 2), 1);
	assert_string_equal(mx[0].host, ".");
	assert_true(probe_dns_null_mx(mx, 1));
	/* "." with a preference other than 0 is no null MX */
	mx[0].preference = 10;
	assert_false(probe_dns_null_mx(mx, 1));
}

/* A CNAME before the MX (example.test CNAME, then MX 10 example.test via a pointer). */
static void
test_mx_skips_other_types(void **state)
{
	struct probe_mx mx[2];
	struct msg m;
	uint8_t ptr_rd[4] = {0, 10, 0xc0, 12};

	(void)state;
	header(&m, 2, 15);
	rr(&m, 5, "\x03" "www\0", 5);
	rr(&m, 15, ptr_rd, sizeof(ptr_rd));
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 2), 1);
	assert_string_equal(mx[0].host, "example.test");
}

static void
test_addresses(void **state)
{
	struct cap_addr a[4];
	struct msg m;
	uint8_t v4[4] = {192, 0, 2, 1}, v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	(void)state;
	header(&m, 2, 1);
	rr(&m, 1, v4, 4);
	rr(&m, 28, v6, 16); /* another type in an A answer: skipped */
	assert_int_equal(probe_dns_parse_addrs(m.b, m.n, 4, a, 4), 1);
	assert_int_equal(a[0].family, 4);
	assert_memory_equal(a[0].bytes, v4, 4);
	assert_int_equal(probe_dns_parse_addrs(m.b, m.n, 6, a, 4), 1);
	assert_int_equal(a[0].family, 6);
	assert_memory_equal(a[0].bytes, v6, 16);
	/* an A record of 5 bytes is malformed, not read as 4 */
	header(&m, 1, 1);
	rr(&m, 1, "\1\2\3\4\5", 5);
	assert_int_equal(probe_dns_parse_addrs(m.b, m.n, 4, a, 4), -1);
}

/* Hostile: counts larger than the records, lengths past the end, names looping. */
static void
test_hostile_answers(void **state)
{
	struct probe_mx mx[4];
	struct cap_addr a[4];
	struct msg m;
	uint8_t loop_rd[4] = {0, 10, 0xc0, 0}; /* a pointer into the header: garbage */
	uint8_t self_rd[4] = {0, 10, 0, 0};

	(void)state;
	header(&m, 5, 15); /* says 5 answers, holds 1 */
	mx_rr(&m, 10, "mx.example.test");
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 4), -1);
	header(&m, 1, 15); /* rdlength past the end of the message */
	put16(&m, 0xc00c);
	put16(&m, 15);
	put16(&m, 1);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, 200);
	put(&m, "\0\x0a\0", 3);
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 4), -1);
	assert_int_equal(probe_dns_parse_addrs(m.b, m.n, 4, a, 4), -1);
	header(&m, 1, 15); /* an MX name that points back at itself */
	self_rd[2] = 0xc0;
	self_rd[3] = (uint8_t)(m.n + 12 + 2);
	rr(&m, 15, self_rd, sizeof(self_rd));
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 4), -1);
	header(&m, 1, 15);
	rr(&m, 15, loop_rd, sizeof(loop_rd));
	assert_true(probe_dns_parse_mx(m.b, m.n, mx, 4) <= 1);
	header(&m, 1, 15); /* an MX whose name runs past its own record */
	rr(&m, 15, "\0\x0a\x02mx", 5);
	put(&m, "\0", 1);
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 4), -1);
	header(&m, 1, 15); /* too short to hold a preference and a name */
	rr(&m, 15, "\0\x0a", 2);
	assert_int_equal(probe_dns_parse_mx(m.b, m.n, mx, 4), -1);
	assert_int_equal(probe_dns_parse_mx(NULL, 0, mx, 4), -1);
	assert_int_equal(probe_dns_parse_mx(m.b, 5, mx, 4), -1); /* a header cut short */
}

/* Every cut of a good answer, and random bytes: bounds hold, nothing crashes. */
static void
test_cut_and_random(void **state)
{
	struct probe_mx mx[4];
	struct cap_addr a[4];
	struct msg m;
	unsigned seed = 12345;

	(void)state;
	header(&m, 2, 15);
	mx_rr(&m, 10, "mx1.example.test");
	mx_rr(&m, 20, "mx2.example.test");
	for (size_t n = 0; n < m.n; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees a read past them */

		memcpy(copy, m.b, n);
		assert_true(probe_dns_parse_mx(copy, n, mx, 4) < 2);
		free(copy);
	}
	for (int round = 0; round < 20000; round++) {
		size_t n = 12 + (size_t)(rand_r(&seed) % 120);
		uint8_t *buf = malloc(n);

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		buf[4] = 0, buf[5] = 0; /* no question, so the answers are reached */
		buf[6] = 0, buf[7] = (uint8_t)(rand_r(&seed) % 4);
		assert_true(probe_dns_parse_mx(buf, n, mx, 4) <= 4);
		assert_true(probe_dns_parse_addrs(buf, n, 6, a, 4) <= 4);
		free(buf);
	}
}

static int
opt(struct probe_config *c, const char *name, const char *value)
{
	char err[PROBE_ERRLEN];

	return probe_option(c, name, value, err, sizeof(err));
}

static void
test_options(void **state)
{
	struct probe_config c;
	char err[PROBE_ERRLEN];

	(void)state;
	probe_default_config(&c);
	assert_int_equal(c.port, 25);
	assert_string_equal(c.from, "");
	assert_int_equal(opt(&c, "from", "<chris@contoso.test>"), 0);
	assert_string_equal(c.from, "chris@contoso.test");
	assert_int_equal(opt(&c, "from", "<>"), 0);
	assert_string_equal(c.from, "");
	assert_int_equal(opt(&c, "from", "a b@c"), -1);
	assert_int_equal(opt(&c, "rcpt", "kate@fabrikam.test,bob@fabrikam.test"), 0);
	assert_int_equal(opt(&c, "rcpt", "carol@fabrikam.test"), 0);
	assert_int_equal(c.n_rcpts, 3);
	assert_string_equal(c.rcpts[1], "bob@fabrikam.test");
	assert_int_equal(opt(&c, "rcpt", "kate@"), -1);
	assert_int_equal(opt(&c, "rcpt", "a@b,,c@d"), -1);
	assert_int_equal(opt(&c, "rcpt", "a@b\r\nDATA"), -1);
	assert_int_equal(opt(&c, "port", "587"), 0);
	assert_int_equal(c.port, 587);
	assert_int_equal(opt(&c, "port", "65536"), -1);
	assert_int_equal(opt(&c, "timeout", "7"), 0);
	assert_int_equal(c.timeout_s[PROBE_T_RCPT], 7);
	assert_int_equal(opt(&c, "timeout", "connect=3"), 0);
	assert_int_equal(c.timeout_s[PROBE_T_CONNECT], 3);
	assert_int_equal(c.timeout_s[PROBE_T_MAIL], 7);
	assert_int_equal(opt(&c, "timeout", "data=3"), 0);
	assert_int_equal(c.timeout_s[PROBE_T_DATA], 3);
	assert_int_equal(opt(&c, "timeout", "body=3"), -1);
	assert_int_equal(opt(&c, "timeout", "rcpt=0"), -1);
	assert_int_equal(opt(&c, "helo", "client.contoso.test"), 0);
	assert_int_equal(opt(&c, "helo", "bad name"), -1);
	assert_int_equal(opt(&c, "source", "192.0.2.9"), 0);
	assert_int_equal(opt(&c, "source", "here"), -1);
	assert_int_equal(opt(&c, "4", NULL), 0);
	assert_int_equal(opt(&c, "6", NULL), -1);
	assert_int_equal(opt(&c, "notify", NULL), 0);
	assert_true(c.notify);
	assert_int_equal(opt(&c, "nosuch", "x"), -1);

	c.target = "fabrikam.test";
	assert_int_equal(probe_check(&c, err, sizeof(err)), 0);
	c.target = "fabrikam..test";
	assert_int_equal(probe_check(&c, err, sizeof(err)), -1);
	c.target = "2001:db8::1"; /* -4 asked */
	assert_int_equal(probe_check(&c, err, sizeof(err)), -1);
	c.target = "192.0.2.1";
	assert_int_equal(probe_check(&c, err, sizeof(err)), 0);
	assert_int_equal(opt(&c, "no-mx", NULL), 0);
	assert_int_equal(probe_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--no-mx"));
	assert_int_equal(probe_exit_status(PROBE_ACCEPTED), 0);
	assert_int_equal(probe_exit_status(PROBE_REFUSED), 3);
	assert_int_equal(probe_exit_status(PROBE_UNREACHED), 4);
	assert_int_equal(probe_exit_status(PROBE_DEFERRED), 5);
	assert_string_equal(probe_status_name(PROBE_DEFERRED), "deferred");
	assert_int_equal(probe_exit_status(PROBE_TLS_FAILED), 6);
	assert_string_equal(probe_status_name(PROBE_TLS_FAILED), "tls_failed");
}

/* Part 2: --starttls, --verify, --ca-file, AUTH, --data, and what goes with what. */
static void
test_tls_auth_options(void **state)
{
	struct probe_config c;
	char err[PROBE_ERRLEN], path[] = "/tmp/smtpscope-test-pw-XXXXXX";
	int fd;

	(void)state;
	probe_default_config(&c);
	c.target = "fabrikam.test";
	assert_int_equal(c.starttls, PROBE_STARTTLS_TRY); /* the default */
	assert_false(c.data);
	assert_int_equal(c.keylog_fd, -1);
	assert_int_equal(c.timeout_s[PROBE_T_DOT], 600); /* RFC 5321 4.5.3.2.6 */
	assert_int_equal(c.timeout_s[PROBE_T_DATA], 120);
	assert_int_equal(opt(&c, "starttls", "never"), 0);
	assert_int_equal(c.starttls, PROBE_STARTTLS_NEVER);
	assert_int_equal(opt(&c, "starttls", "require"), 0);
	assert_int_equal(c.starttls, PROBE_STARTTLS_REQUIRE);
	assert_int_equal(opt(&c, "starttls", "maybe"), -1);
	assert_int_equal(opt(&c, "verify", NULL), 0);
	assert_true(c.verify);
	assert_int_equal(opt(&c, "data", NULL), 0);
	assert_true(c.data);
	assert_int_equal(opt(&c, "ca-file", "/nonexistent/ca.pem"), -1);
	assert_int_equal(opt(&c, "ca-file", "/dev/null"), 0);
	assert_int_equal(probe_check(&c, err, sizeof(err)), 0);
	c.starttls = PROBE_STARTTLS_NEVER; /* --verify needs TLS */
	assert_int_equal(probe_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--verify"));
	c.starttls = PROBE_STARTTLS_TRY;
	assert_int_equal(opt(&c, "auth-cleartext", NULL), 0);
	assert_int_equal(probe_check(&c, err, sizeof(err)), -1); /* without --auth-user */
	assert_int_equal(opt(&c, "auth-user", ""), -1);
	assert_int_equal(opt(&c, "auth-user", "a\nb"), -1);
	assert_int_equal(opt(&c, "auth-user", "alice"), 0);
	assert_int_equal(probe_check(&c, err, sizeof(err)), 0);

	/* the password: the first line of the file, CR LF or LF; wiped by probe_forget */
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, "s3cret word\r\nsecond line\n", 26), 26);
	close(fd);
	assert_int_equal(opt(&c, "auth-password-file", path), 0);
	assert_int_equal(probe_read_password(&c, err, sizeof(err)), 0);
	assert_string_equal(c.password, "s3cret word");
	probe_forget(&c);
	assert_string_equal(c.password, "");
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	close(fd);
	assert_int_equal(probe_read_password(&c, err, sizeof(err)), -1); /* empty */
	unlink(path);
	assert_int_equal(probe_read_password(&c, err, sizeof(err)), -1); /* gone */
	assert_non_null(strstr(err, path));
	c.auth_user = NULL;
	assert_int_equal(probe_read_password(&c, err, sizeof(err)), 0); /* nothing asked */
}

/* -w: a file that cannot be written is one line, before anything is captured. */
static void
test_wire_open_fails(void **state)
{
	char err[PROBE_ERRLEN] = "";

	(void)state;
	assert_null(probe_wire_open("/nonexistent/dir/p.pcap", err, sizeof(err)));
	assert_non_null(strstr(err, "-w"));
	assert_int_equal(probe_wire_close(NULL, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_sorted_stable),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_mx_skips_other_types),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_hostile_answers),
		cmocka_unit_test(test_cut_and_random),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_tls_auth_options),
		cmocka_unit_test(test_wire_open_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
