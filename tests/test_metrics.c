/*
 * test_metrics.c - the Prometheus exposition writer (report/metrics.c): label values and HELP
 * escaped, a buffer that is too small says so, the server series capped, counts per session.
 */
#include "testutil.h"

#include <stdlib.h>

#include "../report/report.h"

static char *
label(const char *v, size_t cap)
{
	static char buf[256];
	struct rpt_prom p;

	rpt_prom_init(&p, buf, cap);
	rpt_prom_label_value(&p, v);
	if (p.full)
		return NULL;
	buf[p.len] = '\0';
	return buf;
}

static void
test_label_escapes(void **state)
{
	(void)state;
	assert_string_equal(label("plain", 64), "plain");
	/* a\b"c<LF>d: backslash, double quote, line feed escaped, nothing else */
	assert_string_equal(label("a\\b\"c\nd", 64), "a\\\\b\\\"c\\nd");
	assert_string_equal(label("\\\\", 64), "\\\\\\\\");
	assert_string_equal(label("tab\there {x}", 64), "tab\there {x}");
	assert_string_equal(label("é", 64), "é");
	/* too small: full, never a half-written escape counted as written */
	assert_null(label("ab\"", 3));
	assert_non_null(label("ab\"", 4));
}

static void
test_family_and_sample(void **state)
{
	char buf[512];
	struct rpt_prom p;

	(void)state;
	rpt_prom_init(&p, buf, sizeof(buf));
	rpt_prom_family(&p, "smtpscope_x_total", "counter", "two\nlines \\ here");
	rpt_prom_sample(&p, "smtpscope_x_total", "server", "1\"2", 7);
	rpt_prom_sample(&p, "smtpscope_x_total", NULL, NULL, 18446744073709551615u);
	assert_false(p.full);
	buf[p.len] = '\0';
	assert_string_equal(buf, "# HELP smtpscope_x_total two\\nlines \\\\ here\n"
				 "# TYPE smtpscope_x_total counter\n"
				 "smtpscope_x_total{server=\"1\\\"2\"} 7\n"
				 "smtpscope_x_total 18446744073709551615\n");
	/* every cut position: full is set, len never past cap */
	for (size_t cap = 0; cap < p.len; cap++) {
		char small[512];
		struct rpt_prom q;

		rpt_prom_init(&q, small, cap);
		rpt_prom_family(&q, "smtpscope_x_total", "counter", "two\nlines \\ here");
		rpt_prom_sample(&q, "smtpscope_x_total", "server", "1\"2", 7);
		rpt_prom_sample(&q, "smtpscope_x_total", NULL, NULL, 18446744073709551615u);
		assert_true(q.full);
		assert_true(q.len <= cap);
	}
}

static int
lines_with(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, prefix, strlen(prefix)) == 0;
	return n;
}

static void
test_servers_capped(void **state)
{
	struct rpt_metrics_config cfg = {.file_interval = 15, .memory_budget = 1 << 20};
	struct rpt_metrics *m;
	struct smtp_command cmds[3] = {
		{.verb = SMTP_CONNECT, .has_reply = true, .reply = {.code = 220}},
		{.verb = SMTP_AUTH, .has_reply = true, .reply = {.code = 334}},
		{.verb = SMTP_AUTH_DATA, .has_reply = true, .reply = {.code = 535},
		 .reason = SMTP_R_auth_failed},
	};
	struct cap_stats cs = {.packets = 5};
	struct rsm_stats rs = {0};
	struct smtp_stats ds = {.sessions = 100, .ended = 100};
	struct rpt_totals t = {&cs, &rs, &ds, false, NULL, 0};
	char err[128], *buf = malloc(1 << 17);
	size_t n;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(rpt_metrics_open(&m, &cfg, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++) {
		struct smtp_session s = {.state = SMTP_ST_CLOSED, .cmds = cmds, .n_cmds = 3};

		s.server.family = 4;
		s.server.bytes[0] = 10;
		s.server.bytes[3] = (uint8_t)(i % 50); /* 50 servers, two sessions each */
		rpt_metrics_session(m, &s);
	}
	n = rpt_metrics_render(m, &t, NULL, buf, 1 << 17);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(lines_with(buf, "smtpscope_server_sessions_total{"), METRICS_SERVERS + 1);
	assert_non_null(strstr(buf, "smtpscope_server_sessions_total{server=\"10.0.0.0\"} 2\n"));
	assert_non_null(strstr(buf, "smtpscope_server_sessions_total{server=\"other\"} 36\n"));
	assert_non_null(strstr(buf, "smtpscope_sessions_total{state=\"closed\"} 100\n"));
	assert_non_null(strstr(buf, "smtpscope_replies_total{class=\"3xx\"} 100\n"));
	assert_non_null(strstr(buf, "smtpscope_replies_by_reason_total{reason=\"auth_failed\"} 100\n"));
	assert_non_null(strstr(buf, "smtpscope_auth_attempts_total{result=\"failure\"} 100\n"));
	assert_non_null(strstr(buf, "smtpscope_capture_packets_total 5\n"));
	/* a buffer too small: 0, nothing half written is handed on */
	assert_int_equal(rpt_metrics_render(m, &t, NULL, buf, n - 1), 0);
	rpt_metrics_free(m);
	rpt_metrics_free(NULL);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escapes),
		cmocka_unit_test(test_family_and_sample),
		cmocka_unit_test(test_servers_capped),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
