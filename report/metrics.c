/*
 * metrics.c - the counters for Prometheus: an HTTP endpoint (--metrics) and a
 * node_exporter textfile (--metrics-file).
 *
 * Three parts, each on one thread:
 *  - counting (rpt_metrics_session): on the report's thread, once per
 *    session, never per packet;
 *  - rendering (rpt_metrics_update): on the capture thread, at most once a
 *    second, into a buffer of fixed size (every label set is bounded: states,
 *    outcomes, reply classes, the reasons of decode/reasons.def, TLS versions
 *    and handshakes, the audit's flag ids, METRICS_SERVERS server addresses
 *    and "other"); the text is then copied into the shared snapshot, under a
 *    lock taken with trylock only: a scrape in progress never holds up capture;
 *  - serving (serve()): a thread of its own that answers GET /metrics from
 *    the snapshot and writes the textfile every interval. Every cap is fixed
 *    at start: METRICS_CONNS connections at once (more wait in the listen
 *    backlog until one ends), REQ_MAX bytes of request, CONN_TIMEOUT_MS per connection; each
 *    connection has its buffers from the start, so nothing is allocated for a
 *    request. Sockets are non-blocking, and the thread waits only in poll().
 *
 * The socket is bound before root is dropped (a port below 1024 may be asked
 * for); the thread starts after, as capabilities are given up per thread.
 * Text exposition format 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */
#define _GNU_SOURCE /* pipe2, accept4 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_private.h"

#define SNAP_MAX (128 << 10)  /* the rendered text, at most (about 16 KiB in use) */
#define REQ_MAX 4096	      /* bytes of one request, headers included */
#define CONN_TIMEOUT_MS 5000  /* to send a request and read the answer */
#define RENDER_EVERY_US 1000000
#define POLL_MS 250
#define PATH_MAX_METRICS 4096

/* The abuse and policy flags (issue 17 point 4) that the live summary names when they fire. */
static const char *const alarm_flags[] = {
	"open_relay",	  "password_guessing", "login_failures", "harvesting",
	"relay_attempts", "spoofed_sender",    "direct_to_mx",
};

enum { CLS_2, CLS_3, CLS_4, CLS_5, CLS_COUNT };
enum { AUTH_OK, AUTH_FAILED, AUTH_UNKNOWN, AUTH_COUNT };
#define TLS_VERSIONS 7 /* SSLv3, TLSv1.0-1.3, other, none */

struct conn {
	int fd; /* -1: free */
	uint64_t deadline_ms;
	size_t got, sent, len; /* request bytes read; answer bytes sent, of len */
	bool answering, draining; /* draining: answered, reading to the client's close */
	char req[REQ_MAX];
	char *out; /* SNAP_MAX + a header, from the start */
};

struct rpt_metrics {
	struct rpt_metrics_config cfg;
	/* counted on the report's thread */
	uint64_t states[SMTP_ST_UNFINISHED + 1];
	uint64_t classes[CLS_COUNT];
	uint64_t reasons[SMTP_R_COUNT];
	uint64_t tls[TLS_HS_COUNT][TLS_VERSIONS];
	uint64_t auth[AUTH_COUNT];
	struct cap_addr servers[METRICS_SERVERS];
	uint64_t server_sessions[METRICS_SERVERS];
	unsigned n_servers;
	uint64_t other_sessions;
	/* rendered on the capture thread */
	char *render;
	size_t render_len;
	uint64_t rendered_at;
	bool unpublished; /* rendered, not yet copied: the lock was busy */
	uint64_t flag_hosts[RPT_AUDIT_FLAGS];
	/* shared with the thread, under lock */
	pthread_mutex_t lock;
	char *snap;
	size_t snap_len;
	bool have_snap;
	/* the thread's */
	int listen_fd;
	int wake[2];
	pthread_t thread;
	bool started;
	struct conn conns[METRICS_CONNS];
	char *file_buf;
	uint64_t file_due_ms;
	int file_errno; /* the last textfile write that failed, 0 if none */
};

/* ------------------------------------------------------------ the exposition writer */

void
rpt_prom_init(struct rpt_prom *p, char *buf, size_t cap)
{
	p->buf = buf;
	p->cap = cap;
	p->len = 0;
	p->full = false;
}

static void
prom_put(struct rpt_prom *p, const char *s, size_t n)
{
	if (p->full || n > p->cap - p->len) {
		p->full = true;
		return;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
}

static void prom_printf(struct rpt_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
prom_printf(struct rpt_prom *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= p->cap - p->len)
		p->full = true;
	else
		p->len += (size_t)n;
}

/* A label value: backslash, double quote and line feed escaped (the format's three). */
void
rpt_prom_label_value(struct rpt_prom *p, const char *v)
{
	for (; *v; v++) {
		const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;

		if (esc)
			prom_put(p, esc, 2);
		else
			prom_put(p, v, 1);
	}
}

/* "# HELP name text" (text: backslash and line feed escaped) and "# TYPE name type". */
void
rpt_prom_family(struct rpt_prom *p, const char *name, const char *type, const char *help)
{
	prom_printf(p, "# HELP %s ", name);
	for (; *help; help++) {
		if (*help == '\\')
			prom_put(p, "\\\\", 2);
		else if (*help == '\n')
			prom_put(p, "\\n", 2);
		else
			prom_put(p, help, 1);
	}
	prom_printf(p, "\n# TYPE %s %s\n", name, type);
}

/* One sample: name{label="value"} n, or name n when label is NULL. */
void
rpt_prom_sample(struct rpt_prom *p, const char *name, const char *label, const char *value,
		uint64_t n)
{
	prom_printf(p, "%s", name);
	if (label) {
		prom_printf(p, "{%s=\"", label);
		rpt_prom_label_value(p, value);
		prom_put(p, "\"}", 2);
	}
	prom_printf(p, " %" PRIu64 "\n", n);
}

static void
prom_one(struct rpt_prom *p, const char *name, const char *type, const char *help, uint64_t n)
{
	rpt_prom_family(p, name, type, help);
	rpt_prom_sample(p, name, NULL, NULL, n);
}

/* ------------------------------------------------------------ counting */

static unsigned
tls_version_index(const struct tls_facts *t)
{
	static const uint16_t codes[] = {0x0300, 0x0301, 0x0302, 0x0303, 0x0304};

	if (!t->version_code)
		return TLS_VERSIONS - 1;
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (t->version_code == codes[i])
			return i;
	return TLS_VERSIONS - 2;
}

static const char *const tls_version_labels[TLS_VERSIONS] = {
	"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3", "other", "none",
};

/* AUTH attempts: an AUTH command and its AUTH-DATA lines, settled by the first non-3xx reply. */
static void
count_auth(struct rpt_metrics *m, const struct smtp_session *s)
{
	bool open = false;

	for (size_t i = 0; i < s->n_cmds; i++) {
		const struct smtp_command *c = &s->cmds[i];
		bool part = c->verb == SMTP_AUTH_DATA && open;

		if (!part && open) { /* another command came before a verdict */
			m->auth[AUTH_UNKNOWN]++;
			open = false;
		}
		if (c->verb != SMTP_AUTH && !part)
			continue;
		open = true;
		if (!c->has_reply || c->reply.code / 100 == 3)
			continue;
		m->auth[c->reply.code / 100 == 2 ? AUTH_OK : AUTH_FAILED]++;
		open = false;
	}
	if (open)
		m->auth[AUTH_UNKNOWN]++;
}

/* The first METRICS_SERVERS server addresses have a series each, from when they were first seen. */
static void
count_server(struct rpt_metrics *m, const struct cap_addr *a)
{
	for (unsigned i = 0; i < m->n_servers; i++) {
		if (m->servers[i].family == a->family &&
		    memcmp(m->servers[i].bytes, a->bytes, sizeof(a->bytes)) == 0) {
			m->server_sessions[i]++;
			return;
		}
	}
	if (m->n_servers < METRICS_SERVERS) {
		m->servers[m->n_servers] = *a;
		m->server_sessions[m->n_servers++] = 1;
		return;
	}
	m->other_sessions++;
}

void
rpt_metrics_session(struct rpt_metrics *m, const struct smtp_session *s)
{
	if ((unsigned)s->state <= SMTP_ST_UNFINISHED)
		m->states[s->state]++;
	for (size_t i = 0; i < s->n_cmds; i++) {
		const struct smtp_command *c = &s->cmds[i];
		int cls = c->reply.code / 100;

		if (!c->has_reply || cls < 2 || cls > 5)
			continue;
		m->classes[cls - 2]++;
		if (c->reason < SMTP_R_COUNT)
			m->reasons[c->reason]++;
	}
	if (s->tls && (unsigned)s->tls->handshake < TLS_HS_COUNT)
		m->tls[s->tls->handshake][tls_version_index(s->tls)]++;
	count_auth(m, s);
	count_server(m, &s->server);
}

/* ------------------------------------------------------------ rendering */

static void
render_sessions(struct rpt_prom *p, const struct rpt_metrics *m, const struct smtp_stats *ds)
{
	static const char *const classes[CLS_COUNT] = {"2xx", "3xx", "4xx", "5xx"};
	static const char *const auth[AUTH_COUNT] = {"success", "failure", "unknown"};

	rpt_prom_family(p, "smtpscope_sessions_total", "counter",
			"SMTP sessions ended (failed connection attempts included), by TCP state.");
	for (int st = SMTP_ST_REFUSED; st <= SMTP_ST_UNFINISHED; st++)
		rpt_prom_sample(p, "smtpscope_sessions_total", "state",
				smtp_state_name((enum smtp_state)st), m->states[st]);
	rpt_prom_family(p, "smtpscope_session_outcomes_total", "counter",
			"SMTP sessions ended, by outcome (delivered, rejected, ...).");
	for (int o = SMTP_OUT_DELIVERED; o < SMTP_OUT_COUNT; o++)
		rpt_prom_sample(p, "smtpscope_session_outcomes_total", "outcome",
				smtp_outcome_name((enum smtp_outcome)o), ds->outcomes[o]);
	rpt_prom_family(p, "smtpscope_open_sessions", "gauge", "SMTP sessions open now.");
	rpt_prom_sample(p, "smtpscope_open_sessions", NULL, NULL, ds->sessions - ds->ended);
	prom_one(p, "smtpscope_messages_total", "counter", "Mail transactions (MAIL FROM) seen.",
		 ds->messages);
	prom_one(p, "smtpscope_messages_accepted_total", "counter",
		 "Mail transactions whose message the server accepted.", ds->messages_accepted);
	rpt_prom_family(p, "smtpscope_replies_total", "counter",
			"Server replies in ended sessions, by class of the reply code.");
	for (int c = 0; c < CLS_COUNT; c++)
		rpt_prom_sample(p, "smtpscope_replies_total", "class", classes[c], m->classes[c]);
	rpt_prom_family(p, "smtpscope_replies_by_reason_total", "counter",
			"Server replies in ended sessions, by the reason smtpscope found for them "
			"(the reason ids of the JSON output).");
	for (unsigned r = 0; r < SMTP_R_COUNT; r++)
		rpt_prom_sample(p, "smtpscope_replies_by_reason_total", "reason", smtp_reason_name(r),
				m->reasons[r]);
	rpt_prom_family(p, "smtpscope_auth_attempts_total", "counter",
			"AUTH exchanges, by result (unknown: no final reply seen).");
	for (int a = 0; a < AUTH_COUNT; a++)
		rpt_prom_sample(p, "smtpscope_auth_attempts_total", "result", auth[a], m->auth[a]);
}

static void
render_tls(struct rpt_prom *p, const struct rpt_metrics *m)
{
	const char *name = "smtpscope_tls_handshakes_total";

	rpt_prom_family(p, name, "counter",
			"TLS handshakes (after STARTTLS, or implicit TLS), by outcome and "
			"negotiated version (none: no ServerHello seen).");
	for (int h = 0; h < TLS_HS_COUNT; h++)
		for (int v = 0; v < TLS_VERSIONS; v++) {
			prom_printf(p, "%s{handshake=\"%s\",version=\"%s\"} %" PRIu64 "\n", name,
				    tls_handshake_name((enum tls_handshake)h), tls_version_labels[v],
				    m->tls[h][v]);
		}
}

static void
render_servers(struct rpt_prom *p, const struct rpt_metrics *m)
{
	char help[200], ip[64];

	snprintf(help, sizeof(help),
		 "SMTP sessions ended, by server address: the first %d addresses seen have a "
		 "series each, the sessions of later ones count under server=\"other\".",
		 METRICS_SERVERS);
	rpt_prom_family(p, "smtpscope_server_sessions_total", "counter", help);
	for (unsigned i = 0; i < m->n_servers; i++) {
		rpt_addr(ip, sizeof(ip), &m->servers[i]);
		rpt_prom_sample(p, "smtpscope_server_sessions_total", "server", ip,
				m->server_sessions[i]);
	}
	rpt_prom_sample(p, "smtpscope_server_sessions_total", "server", "other", m->other_sessions);
}

static void
render_capture(struct rpt_prom *p, const struct rpt_metrics *m, const struct rpt_totals *t)
{
	const struct cap_stats *cs = t->capture;
	const struct rsm_stats *rs = t->reassembly;

	prom_one(p, "smtpscope_capture_packets_total", "counter", "Packets read.", cs->packets);
	prom_one(p, "smtpscope_capture_bytes_total", "counter",
		 "Bytes of the packets read, as on the wire.", cs->bytes);
	prom_one(p, "smtpscope_kernel_received_packets_total", "counter",
		 "Packets the kernel passed the capture filter (live capture).", cs->kernel_received);
	prom_one(p, "smtpscope_kernel_dropped_packets_total", "counter",
		 "Packets the kernel dropped: the capture buffer was full (raise -B).",
		 cs->kernel_dropped);
	prom_one(p, "smtpscope_interface_dropped_packets_total", "counter",
		 "Packets the network interface or its driver dropped.", cs->if_dropped);
	prom_one(p, "smtpscope_gap_bytes_total", "counter",
		 "TCP payload bytes never seen (capture gaps), all flows.", rs->gap_bytes);
	prom_one(p, "smtpscope_evicted_flows_total", "counter",
		 "Connections pushed out by the flow cap (--limit flows).", rs->evicted);
	prom_one(p, "smtpscope_timed_out_flows_total", "counter",
		 "Connections ended by the idle timeout (--idle).", rs->timed_out);
	prom_one(p, "smtpscope_memory_used_bytes", "gauge",
		 "Memory held now against the budget (queues, fragments, sessions, TLS).",
		 cap_budget_used());
	prom_one(p, "smtpscope_memory_budget_bytes", "gauge",
		 "The memory budget (--limit memory).", m->cfg.memory_budget);
	prom_one(p, "smtpscope_memory_refused_total", "counter",
		 "Allocations the memory budget refused (something was given up).",
		 cap_budget_refused());
}

static void
render_flags(struct rpt_prom *p, const struct rpt_metrics *m)
{
	rpt_prom_family(p, "smtpscope_audit_flagged_hosts", "gauge",
			"Hosts the audit flags now, by flag id (smtpscope --audit-only help lists "
			"them); open_relay, spoofed_sender and direct_to_mx need --local-nets "
			"(and --local-domains).");
	for (unsigned i = 0; i < RPT_AUDIT_FLAGS; i++)
		rpt_prom_sample(p, "smtpscope_audit_flagged_hosts", "flag", rpt_audit_flag_id(i),
				m->flag_hosts[i]);
}

size_t
rpt_metrics_render(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a,
		   char *buf, size_t cap)
{
	struct rpt_prom p;

	rpt_prom_init(&p, buf, cap);
	if (a)
		rpt_audit_flag_hosts(a, m->flag_hosts);
	render_sessions(&p, m, t->decode);
	render_tls(&p, m);
	render_servers(&p, m);
	render_capture(&p, m, t);
	render_flags(&p, m);
	return p.full ? 0 : p.len;
}

/* ------------------------------------------------------------ the flags line */

void
metrics_flags_line(struct rpt_audit *a, FILE *f)
{
	uint64_t hosts[RPT_AUDIT_FLAGS];
	unsigned k = 0;

	if (!a)
		return;
	rpt_audit_flag_hosts(a, hosts);
	for (unsigned i = 0; i < RPT_AUDIT_FLAGS; i++) {
		bool alarm = false;

		for (size_t j = 0; j < sizeof(alarm_flags) / sizeof(alarm_flags[0]); j++)
			alarm |= strcmp(rpt_audit_flag_id(i), alarm_flags[j]) == 0;
		if (alarm && hosts[i])
			fprintf(f, "%s%s %" PRIu64 " host%s", k++ ? ", " : "smtpscope: flags: ",
				rpt_audit_flag_id(i), hosts[i], hosts[i] == 1 ? "" : "s");
	}
	if (k)
		fputc('\n', f);
}

/* ------------------------------------------------------------ the textfile */

static uint64_t
now_ms(void)
{
	return cap_monotonic_us() / 1000;
}

/* PATH written whole or not at all: a temporary file beside it, then rename(). 0 or errno. */
static int
write_textfile(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX_METRICS + 16];
	int fd, e = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	for (size_t done = 0; done < len && !e;) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno != EINTR)
			e = errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e)
		(void)unlink(tmp);
	return e;
}

/* The snapshot to the file; 0 or errno. On the thread, or on the caller's once it stopped. */
static int
file_from_snapshot(struct rpt_metrics *m)
{
	size_t len;

	pthread_mutex_lock(&m->lock);
	len = m->snap_len;
	memcpy(m->file_buf, m->snap, len);
	pthread_mutex_unlock(&m->lock);
	return write_textfile(m->cfg.file, m->file_buf, len);
}

/* ------------------------------------------------------------ the HTTP server */

static const char *const page_404 = "not found: the metrics are at /metrics\n";

static void
conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* The answer to a whole request, into c->out. */
static void
answer(struct rpt_metrics *m, struct conn *c, bool too_long)
{
	char *sp = memchr(c->req, ' ', c->got), *path = sp ? sp + 1 : NULL;
	size_t plen = path ? strcspn(path, " ?\r\n") : 0;
	bool head = c->got >= 5 && memcmp(c->req, "HEAD ", 5) == 0;
	bool get = head || (c->got >= 4 && memcmp(c->req, "GET ", 4) == 0);
	const char *status = "200 OK", *body = NULL;
	size_t blen = 0, hlen;

	if (too_long) {
		status = "431 Request Header Fields Too Large";
		body = "the request is too long\n";
	} else if (!get) {
		status = "405 Method Not Allowed";
		body = "GET /metrics\n";
	} else if (plen == 8 && memcmp(path, "/metrics", 8) == 0) {
		/* below: the snapshot */
	} else {
		status = "404 Not Found";
		body = page_404;
	}
	if (body)
		blen = strlen(body);
	else {
		pthread_mutex_lock(&m->lock);
		blen = m->snap_len;
		memcpy(c->out + 256, m->snap, blen);
		pthread_mutex_unlock(&m->lock);
	}
	hlen = (size_t)snprintf(c->out, 256,
				"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
				"Connection: close\r\n\r\n",
				status, body ? "text/plain; charset=utf-8"
					     : "text/plain; version=0.0.4; charset=utf-8",
				blen);
	if (body)
		memcpy(c->out + hlen, body, blen);
	else
		memmove(c->out + hlen, c->out + 256, blen);
	c->len = hlen + (head ? 0 : blen);
	c->sent = 0;
	c->answering = true;
}

static void
conn_read(struct rpt_metrics *m, struct conn *c)
{
	if (c->draining) { /* what is left of a request: read and dropped, so close sends no RST */
		char sink[512];
		ssize_t d = recv(c->fd, sink, sizeof(sink), 0);

		if (d == 0 || (d < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	ssize_t n = recv(c->fd, c->req + c->got, REQ_MAX - 1 - c->got, 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	if (n < 0)
		return;
	/* the end of the headers, looked for in what came now (and the 3 bytes before): a
	 * request sent a byte at a time costs linear time, not quadratic */
	const char *from = c->req + (c->got > 3 ? c->got - 3 : 0);

	c->got += (size_t)n;
	c->req[c->got] = '\0';
	if (strstr(from, "\r\n\r\n") || strstr(from, "\n\n"))
		answer(m, c, false);
	else if (c->got == REQ_MAX - 1)
		answer(m, c, true);
}

static void
conn_write(struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->sent, c->len - c->sent, MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		conn_close(c);
		return;
	}
	if (n > 0)
		c->sent += (size_t)n;
	if (c->sent < c->len)
		return;
	(void)shutdown(c->fd, SHUT_WR);
	c->answering = false;
	c->draining = true;
}

static void
accept_one(struct rpt_metrics *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < METRICS_CONNS; i++) {
		struct conn *c = &m->conns[i];

		if (c->fd >= 0)
			continue;
		c->fd = fd;
		c->got = c->sent = c->len = 0;
		c->answering = c->draining = false;
		c->deadline_ms = now_ms() + CONN_TIMEOUT_MS;
		return;
	}
	close(fd); /* not reached: the socket is not polled while every slot is taken */
}

static void *
serve(void *arg)
{
	struct rpt_metrics *m = arg;
	struct pollfd pf[2 + METRICS_CONNS];

	for (;;) {
		uint64_t now = now_ms();
		int wait = POLL_MS;
		nfds_t n = 0;

		if (m->cfg.file && now >= m->file_due_ms) {
			m->file_errno = file_from_snapshot(m);
			m->file_due_ms = now + (uint64_t)m->cfg.file_interval * 1000;
		}
		unsigned busy = 0;

		pf[n++] = (struct pollfd){.fd = m->wake[0], .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
		for (unsigned i = 0; i < METRICS_CONNS; i++) {
			struct conn *c = &m->conns[i];

			if (c->fd >= 0 && now >= c->deadline_ms)
				conn_close(c);
			busy += c->fd >= 0;
			pf[n++] = (struct pollfd){.fd = c->fd,
						   .events = c->answering ? POLLOUT : POLLIN};
		}
		if (busy == METRICS_CONNS) /* a new connection waits in the backlog for a slot */
			pf[1].fd = -1;
		if (poll(pf, n, wait) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		for (unsigned i = 0; i < METRICS_CONNS; i++) {
			struct conn *c = &m->conns[i];

			if (c->fd < 0 || !pf[2 + i].revents)
				continue;
			if (c->answering)
				conn_write(c);
			else
				conn_read(m, c);
		}
		if (pf[1].fd >= 0 && (pf[1].revents & POLLIN))
			accept_one(m);
	}
	return NULL;
}

/* ------------------------------------------------------------ setup */

/* ADDR:PORT, [V6]:PORT or :PORT (every address), numeric only: no DNS at start. */
static int
listen_on(const char *spec, char *err, size_t errsz)
{
	char host[128];
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t hlen = colon ? (size_t)(colon - spec) : 0;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai;
	int fd, rc, one = 1;

	if (!colon || !colon[1] || hlen >= sizeof(host)) {
		snprintf(err, errsz, "--metrics wants ADDR:PORT (127.0.0.1:9125, [::1]:9125, :9125), "
			 "not \"%s\"", spec);
		return -1;
	}
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if ((rc = getaddrinfo(hlen ? host : NULL, colon + 1, &hints, &ai)) != 0) {
		snprintf(err, errsz, "--metrics %s: %s (a numeric address and port)", spec,
			 gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errsz, "--metrics %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
rpt_metrics_open(struct rpt_metrics **out, const struct rpt_metrics_config *cfg, char *err,
		 size_t errsz)
{
	struct rpt_metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (m) {
		m->listen_fd = m->wake[0] = m->wake[1] = -1;
		pthread_mutex_init(&m->lock, NULL);
		for (unsigned i = 0; i < METRICS_CONNS; i++)
			m->conns[i].fd = -1;
	}
	if (!m || !(m->render = malloc(SNAP_MAX)) || !(m->snap = malloc(SNAP_MAX)) ||
	    (cfg->file && !(m->file_buf = malloc(SNAP_MAX)))) {
		snprintf(err, errsz, "out of memory");
		rpt_metrics_free(m);
		return -1;
	}
	m->cfg = *cfg;
	if (cfg->file && strlen(cfg->file) >= PATH_MAX_METRICS) {
		snprintf(err, errsz, "--metrics-file: the path is too long");
		rpt_metrics_free(m);
		return -1;
	}
	if (cfg->listen && (m->listen_fd = listen_on(cfg->listen, err, errsz)) < 0) {
		rpt_metrics_free(m);
		return -1;
	}
	for (unsigned i = 0; cfg->listen && i < METRICS_CONNS; i++)
		if (!(m->conns[i].out = malloc(SNAP_MAX + 512))) {
			snprintf(err, errsz, "out of memory");
			rpt_metrics_free(m);
			return -1;
		}
	*out = m;
	return 0;
}

/* Render now if a second has passed (or always), then publish unless a reader holds the lock. */
static void
update(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a, bool force)
{
	uint64_t now = cap_monotonic_us();

	if (force || !m->rendered_at || now - m->rendered_at >= RENDER_EVERY_US) {
		size_t n = rpt_metrics_render(m, t, a, m->render, SNAP_MAX);

		m->rendered_at = now;
		if (n) { /* 0: over SNAP_MAX, which the fixed label sets cannot reach: keep the last */
			m->render_len = n;
			m->unpublished = true;
		}
	}
	if (!m->unpublished)
		return;
	if (force ? pthread_mutex_lock(&m->lock) != 0 : pthread_mutex_trylock(&m->lock) != 0)
		return;
	memcpy(m->snap, m->render, m->render_len);
	m->snap_len = m->render_len;
	m->have_snap = true;
	m->unpublished = false;
	pthread_mutex_unlock(&m->lock);
}

bool
rpt_metrics_due(const struct rpt_metrics *m)
{
	return m->unpublished || cap_monotonic_us() - m->rendered_at >= RENDER_EVERY_US;
}

void
rpt_metrics_update(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a)
{
	update(m, t, a, false);
}

int
rpt_metrics_start(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a,
		  char *err, size_t errsz)
{
	int e;

	update(m, t, a, true);
	if (m->cfg.file && (e = file_from_snapshot(m)) != 0) {
		snprintf(err, errsz, "cannot write %s (--metrics-file): %s", m->cfg.file, strerror(e));
		return -1;
	}
	m->file_due_ms = now_ms() + (uint64_t)m->cfg.file_interval * 1000;
	if (pipe2(m->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errsz, "cannot start the metrics thread: %s", strerror(errno));
		return -1;
	}
	if ((e = pthread_create(&m->thread, NULL, serve, m)) != 0) {
		snprintf(err, errsz, "cannot start the metrics thread: %s", strerror(e));
		return -1;
	}
	m->started = true;
	return 0;
}

int
rpt_metrics_finish(struct rpt_metrics *m, const struct rpt_totals *t, struct rpt_audit *a,
		   char *err, size_t errsz)
{
	int e;

	if (m->started) {
		(void)!write(m->wake[1], "x", 1);
		pthread_join(m->thread, NULL);
		m->started = false;
	}
	update(m, t, a, true);
	if (m->cfg.file && (e = file_from_snapshot(m)) != 0) {
		snprintf(err, errsz, "cannot write %s (--metrics-file): %s", m->cfg.file, strerror(e));
		return -1;
	}
	return 0;
}

void
rpt_metrics_free(struct rpt_metrics *m)
{
	if (!m)
		return;
	if (m->started) {
		(void)!write(m->wake[1], "x", 1);
		pthread_join(m->thread, NULL);
	}
	for (unsigned i = 0; i < METRICS_CONNS; i++) {
		if (m->conns[i].fd >= 0)
			close(m->conns[i].fd);
		free(m->conns[i].out);
	}
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	for (int i = 0; i < 2; i++)
		if (m->wake[i] >= 0)
			close(m->wake[i]);
	pthread_mutex_destroy(&m->lock);
	free(m->render);
	free(m->snap);
	free(m->file_buf);
	free(m);
}
