/*
 * probe.c - smtpscope --probe: the options, and the run as a sending server
 * makes it: the DNS step (dns.c), then each address of each host in order
 * (at most PROBE_MAX_CONNECTIONS), each connection a session of its own
 * decoded by decode/ (feed.c) and held in dialog.c, until a server's answer
 * stands (it answered MAIL FROM, or refused HELO for good). A server that
 * cannot be reached, or greets with 4xx or 5xx, or refuses EHLO/HELO for now,
 * is passed over for the next, as Postfix does (smtp_skip_5xx_greeting).
 */
#include "probe_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* The exit status of each outcome (smtpscope.1 EXIT STATUS): 1 and 2 are the CLI's. */
static const struct {
	const char *name;
	int exit_status;
	const char *lead;
} statuses[PROBE_STATUS_COUNT] = {
	[PROBE_ACCEPTED] = {"accepted", 0, "Accepted"},
	[PROBE_REFUSED] = {"refused", 3, "Refused"},
	[PROBE_DEFERRED] = {"deferred", 5, "Deferred (refused for now)"},
	[PROBE_UNREACHED] = {"unreachable", 4, "Not reached"},
	[PROBE_TLS_FAILED] = {"tls_failed", 6, "TLS failed"},
};

int
probe_exit_status(enum probe_status st)
{
	return statuses[st].exit_status;
}

const char *
probe_status_name(enum probe_status st)
{
	return statuses[st].name;
}

/* RFC 5321 4.5.3.2: five minutes for the greeting, MAIL and RCPT; the same for the rest. */
static const struct {
	const char *name;
	unsigned seconds;
} steps[PROBE_T_COUNT] = {
	[PROBE_T_CONNECT] = {"connect", 30}, /* not in the RFC: Postfix's smtp_connect_timeout */
	[PROBE_T_GREETING] = {"greeting", 300}, [PROBE_T_EHLO] = {"ehlo", 300},
	[PROBE_T_MAIL] = {"mail", 300},		[PROBE_T_RCPT] = {"rcpt", 300},
	[PROBE_T_RSET] = {"rset", 300},		[PROBE_T_QUIT] = {"quit", 300},
	[PROBE_T_TLS] = {"tls", 300},		[PROBE_T_AUTH] = {"auth", 300},
	[PROBE_T_DATA] = {"data", 120},		[PROBE_T_DOT] = {"dot", 600},
};

void
probe_default_config(struct probe_config *c)
{
	memset(c, 0, sizeof(*c));
	c->from = "";
	c->keylog_fd = -1;
	c->port = 25;
	for (int i = 0; i < PROBE_T_COUNT; i++)
		c->timeout_s[i] = steps[i].seconds;
}

/* --- options ------------------------------------------------------------------------ */

static int
refuse(char *err, size_t n, const char *what, const char *value)
{
	snprintf(err, n, "%s \"%.80s\"", what, value);
	return -1;
}

/* An address for MAIL FROM or RCPT TO: printable ASCII or UTF-8, no spaces or brackets. */
static bool
address_ok(const char *a, size_t len, bool need_at)
{
	const char *at = memchr(a, '@', len);

	if (len == 0 || len > 254 || (need_at && (!at || at == a || at == a + len - 1)))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)a[i] <= ' ' || a[i] == 0x7f || strchr("<>,\"", a[i]))
			return false;
	return true;
}

/* "a@b", "<a@b>", or "" / "<>" for the null reverse-path. */
static int
opt_from(struct probe_config *c, const char *v, char *err, size_t n)
{
	size_t len = strlen(v);

	if (len >= 2 && v[0] == '<' && v[len - 1] == '>') {
		static _Thread_local char bare[256];

		if (len - 2 >= sizeof(bare))
			return refuse(err, n, "--from is not a mail address:", v);
		memcpy(bare, v + 1, len - 2);
		bare[len - 2] = '\0';
		v = bare;
		len -= 2;
	}
	if (len && !address_ok(v, len, true))
		return refuse(err, n, "--from is not a mail address (name@domain, or <> for none):", v);
	c->from = v;
	return 0;
}

/* One address or a comma list; each kept in rcpt_store. */
static int
opt_rcpt(struct probe_config *c, const char *v, char *err, size_t n)
{
	for (const char *p = v;; p++) {
		size_t len = strcspn(p, ",");
		char *dst = c->rcpt_store + c->rcpt_used;

		if (!address_ok(p, len, true))
			return refuse(err, n, "--rcpt wants addresses like name@domain, not", v);
		if (c->n_rcpts >= PROBE_MAX_RCPTS || len + 1 > sizeof(c->rcpt_store) - c->rcpt_used)
			return refuse(err, n, "--rcpt: at most 32 recipients, not more in", v);
		memcpy(dst, p, len);
		dst[len] = '\0';
		c->rcpt_used += len + 1;
		c->rcpts[c->n_rcpts++] = dst;
		p += len;
		if (*p == '\0')
			return 0;
	}
}

static bool
number(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	*out = strtoul(v, &end, 10);
	return !errno && !*end && *out >= min && *out <= max;
}

static int
opt_port(struct probe_config *c, const char *v, char *err, size_t n)
{
	unsigned long p;

	if (!number(v, 1, 65535, &p))
		return refuse(err, n, "--port must be a number from 1 to 65535, not", v);
	c->port = (uint16_t)p;
	return 0;
}

/* A host name for EHLO: letters, digits, '-', '.', or an address literal "[...]". */
static int
opt_helo(struct probe_config *c, const char *v, char *err, size_t n)
{
	size_t len = strlen(v);

	if (len == 0 || len > 255 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					      "0123456789-.[]:_") != len)
		return refuse(err, n, "--helo wants a host name (or [address]), not", v);
	c->helo = v;
	return 0;
}

static bool
parse_addr(const char *v, struct cap_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, v, a->bytes) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, v, a->bytes) == 1)
		a->family = 6;
	return a->family != 0;
}

static int
opt_source(struct probe_config *c, const char *v, char *err, size_t n)
{
	struct cap_addr a;

	if (!parse_addr(v, &a))
		return refuse(err, n, "--source wants an IPv4 or IPv6 address of this host, not", v);
	c->source_addr = a;
	c->source = v;
	return 0;
}

static int
set_timeout(struct probe_config *c, const char *name, size_t len, const char *v, char *err,
	    size_t n)
{
	unsigned long s;

	if (!number(v, 1, 3600, &s))
		return refuse(err, n, "--timeout takes seconds from 1 to 3600, not", v);
	for (int i = 0; i < PROBE_T_COUNT; i++)
		if (!name || (strlen(steps[i].name) == len && strncmp(name, steps[i].name, len) == 0)) {
			c->timeout_s[i] = (unsigned)s;
			if (name)
				return 0;
		}
	if (name)
		return refuse(err, n, "--timeout STEP=SECONDS: STEP is connect, greeting, ehlo, mail, "
				      "rcpt, rset, quit, tls, auth, data or dot, not", v - len - 1);
	return 0;
}

/* --timeout SECONDS (every step) or --timeout STEP=SECONDS. */
static int
opt_timeout(struct probe_config *c, const char *v, char *err, size_t n)
{
	const char *eq = strchr(v, '=');

	if (!eq)
		return set_timeout(c, NULL, 0, v, err, n);
	return set_timeout(c, v, (size_t)(eq - v), eq + 1, err, n);
}

static int
opt_no_mx(struct probe_config *c, const char *v, char *err, size_t n)
{
	(void)v, (void)err, (void)n;
	c->no_mx = true;
	return 0;
}

static int
opt_family(struct probe_config *c, const char *v, char *err, size_t n)
{
	int family = v[0] == '6' ? 6 : 4;

	if (c->family && c->family != family)
		return refuse(err, n, "-4 and -6 cannot be used together:", "-4 -6");
	c->family = family;
	return 0;
}

static int
opt_notify(struct probe_config *c, const char *v, char *err, size_t n)
{
	(void)v, (void)err, (void)n;
	c->notify = true;
	return 0;
}

static int
opt_starttls(struct probe_config *c, const char *v, char *err, size_t n)
{
	static const char *const modes[] = {[PROBE_STARTTLS_TRY] = "try",
					    [PROBE_STARTTLS_REQUIRE] = "require",
					    [PROBE_STARTTLS_NEVER] = "never"};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(v, modes[i]) == 0) {
			c->starttls = (enum probe_starttls)i;
			return 0;
		}
	return refuse(err, n, "--starttls takes try, require or never, not", v);
}

/* The flags: --verify, --auth-cleartext, --data. */
static int
opt_flag(struct probe_config *c, const char *v, char *err, size_t n)
{
	(void)err, (void)n;
	if (strcmp(v, "verify") == 0)
		c->verify = true;
	else if (strcmp(v, "auth-cleartext") == 0)
		c->auth_cleartext = true;
	else
		c->data = true;
	return 0;
}

static int
opt_ca_file(struct probe_config *c, const char *v, char *err, size_t n)
{
	if (access(v, R_OK) != 0)
		return refuse(err, n, "--ca-file cannot be read:", v);
	c->ca_file = v;
	return 0;
}

static int
opt_auth_user(struct probe_config *c, const char *v, char *err, size_t n)
{
	size_t len = strlen(v);

	if (len == 0 || len > 255 || strpbrk(v, "\r\n"))
		return refuse(err, n, "--auth-user wants a user name (1 to 255 bytes, one line), not",
			      v);
	c->auth_user = v;
	return 0;
}

static int
opt_auth_password_file(struct probe_config *c, const char *v, char *err, size_t n)
{
	(void)err, (void)n;
	c->auth_password_file = v;
	return 0;
}

static const struct {
	const char *name;
	int (*set)(struct probe_config *c, const char *v, char *err, size_t n);
} options[] = {
	{"from", opt_from},	  {"rcpt", opt_rcpt},	  {"port", opt_port},
	{"helo", opt_helo},	  {"source", opt_source}, {"timeout", opt_timeout},
	{"no-mx", opt_no_mx},	  {"4", opt_family},	  {"6", opt_family},
	{"notify", opt_notify},	  {"starttls", opt_starttls}, {"verify", opt_flag},
	{"auth-cleartext", opt_flag}, {"data", opt_flag}, {"ca-file", opt_ca_file},
	{"auth-user", opt_auth_user}, {"auth-password-file", opt_auth_password_file},
};

int
probe_option(struct probe_config *c, const char *name, const char *value, char *err,
	     size_t errsz)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strcmp(name, options[i].name) == 0)
			return options[i].set(c, value ? value : name, err, errsz);
	snprintf(err, errsz, "unknown probe option %s", name);
	return -1;
}

/* A domain or host name as DNS takes it: labels of letters, digits, '-' and '_'. */
static bool
name_ok(const char *t)
{
	size_t len = strlen(t);

	if (len == 0 || len > 254 || t[0] == '.' || strstr(t, ".."))
		return false;
	return strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == len;
}

int
probe_check(const struct probe_config *c, char *err, size_t errsz)
{
	struct cap_addr a;
	bool literal = c->target && parse_addr(c->target, &a);

	if (!c->target || (!literal && !name_ok(c->target)))
		return refuse(err, errsz, "--probe wants a domain, a host name or an address, not",
			      c->target ? c->target : "");
	if (literal && c->no_mx)
		return refuse(err, errsz, "--no-mx has no meaning with an address:", c->target);
	if (literal && c->family && c->family != a.family)
		return refuse(err, errsz, c->family == 4 ? "-4 cannot reach an IPv6 address:"
							 : "-6 cannot reach an IPv4 address:",
			      c->target);
	if (c->source && c->family && c->family != c->source_addr.family)
		return refuse(err, errsz, "--source is not of the family -4/-6 asks for:", c->source);
	if (c->source && literal && a.family != c->source_addr.family)
		return refuse(err, errsz, "--source and the target are not of one family:",
			      c->source);
	if (c->verify && c->starttls == PROBE_STARTTLS_NEVER)
		return refuse(err, errsz, "--verify needs TLS, not --starttls", "never");
	if ((c->auth_password_file || c->auth_cleartext) && !c->auth_user)
		return refuse(err, errsz, "--auth-password-file and --auth-cleartext need",
			      "--auth-user");
	return 0;
}

/* --- the password -------------------------------------------------------------------- */

/* The first line of fd into c->password: its length, or -1. */
static int
first_line_of(int fd, struct probe_config *c)
{
	size_t len = 0;
	char ch;

	while (len + 1 < sizeof(c->password)) {
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		c->password[len++] = ch;
	}
	if (len && c->password[len - 1] == '\r')
		len--;
	c->password[len] = '\0';
	return (int)len;
}

/* From the terminal, echo off (as getpass(3) did). */
static int
from_terminal(struct probe_config *c, char *err, size_t errsz)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, quiet;
	int n;

	if (fd < 0 || tcgetattr(fd, &old) < 0) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errsz, "--auth-user: no terminal to read the password from; give "
				     "--auth-password-file FILE");
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* echo off before the prompt: what is typed once it shows must never be echoed */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0 || write(fd, "Password: ", 10) < 0) {
		tcsetattr(fd, TCSAFLUSH, &old);
		close(fd);
		snprintf(err, errsz, "--auth-user: cannot turn the terminal's echo off");
		return -1;
	}
	n = first_line_of(fd, c);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) != 1) {
		/* the password is read; a lost newline does not matter */
	}
	close(fd);
	return n;
}

int
probe_read_password(struct probe_config *c, char *err, size_t errsz)
{
	int n;

	if (!c->auth_user)
		return 0;
	prctl(PR_SET_DUMPABLE, 0); /* no core file will hold the password */
	if (c->auth_password_file) {
		int fd = open(c->auth_password_file, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			snprintf(err, errsz, "--auth-password-file %s: %s", c->auth_password_file,
				 strerror(errno));
			return -1;
		}
		n = first_line_of(fd, c);
		close(fd);
	} else if ((n = from_terminal(c, err, errsz)) < 0) {
		return -1;
	}
	if (n <= 0) {
		snprintf(err, errsz, "--auth-user: the password is empty");
		return -1;
	}
	return 0;
}

void
probe_forget(struct probe_config *c)
{
	OPENSSL_cleanse(c->password, sizeof(c->password));
}

/* --- the run ------------------------------------------------------------------------- */

struct probe_ctx {
	const struct probe_config *c;
	struct probe_result *res;
	smtp_session_fn *done;
	void *arg;
	const struct smtp_dns_host *host; /* being tried */
	struct tlsc *tlsc;		  /* NULL: --starttls never */
	struct dialog d;
	struct smtp_probe facts;
	const char *rcpts[PROBE_MAX_RCPTS];
	size_t n_rcpts;
	char postmaster[PROBE_NAME_MAX + 16];
	bool have_best, best_settled;
};

/* The first line of a reply's text, for the verdict. */
static void
first_line(char *buf, size_t n, const struct smtp_command *cmd)
{
	const char *t = cmd->reply.text ? cmd->reply.text : "";

	snprintf(buf, n, "%d%s%.*s", cmd->reply.code, *t ? " " : "", (int)strcspn(t, "\n"), t);
}

/* This session's word, in the result's verdict. */
static void
session_verdict(struct probe_ctx *x, const struct smtp_session *s, char *buf, size_t n)
{
	const struct smtp_command *cmd = x->d.decider >= 0 && (size_t)x->d.decider < s->n_cmds
						 ? &s->cmds[x->d.decider]
						 : NULL;
	const char *lead = statuses[x->d.status].lead;
	char reply[200];

	if (x->d.why) {
		snprintf(buf, n, "%s: %s", lead, x->d.why);
		return;
	}
	if (!cmd || !cmd->has_reply) {
		snprintf(buf, n, "%s: %s: %s", lead, x->host->host, s->verdict ? s->verdict : "");
		return;
	}
	first_line(reply, sizeof(reply), cmd);
	if (x->d.status == PROBE_ACCEPTED && x->d.data_sent)
		snprintf(buf, n, "%s: %s took the test message (--data): \"%s\".", lead,
			 x->host->host, reply);
	else if (x->d.status == PROBE_ACCEPTED)
		snprintf(buf, n, "%s: %s would take this mail: %s accepted (\"%s\"); no message "
				 "was sent (RSET, QUIT).",
			 lead, x->host->host, x->n_rcpts ? "every recipient was" : "the sender was",
			 reply);
	else
		snprintf(buf, n, "%s: %s answered %s with \"%s\": %s", lead, x->host->host,
			 cmd->name, reply, cmd->explanation ? cmd->explanation : "");
}

/*
 * Each session as it ends: the probe's outcome is the session whose answer
 * stands, else the one that got furthest (a refusal, then a deferral).
 */
static void
on_session(void *arg, const struct smtp_session *s)
{
	static const int rank[PROBE_STATUS_COUNT] = {
		[PROBE_UNREACHED] = 0, [PROBE_TLS_FAILED] = 1, [PROBE_DEFERRED] = 2,
		[PROBE_REFUSED] = 3,   [PROBE_ACCEPTED] = 4,
	};
	struct probe_ctx *x = arg;
	struct probe_result *r = x->res;

	r->sessions++;
	if (!x->have_best || (x->d.settled && !x->best_settled) ||
	    (!x->best_settled && rank[x->d.status] > rank[r->status])) {
		r->status = x->d.status;
		session_verdict(x, s, r->verdict, sizeof(r->verdict));
		x->have_best = true;
		x->best_settled = x->d.settled;
	}
	x->done(x->arg, s);
}

/* An address literal for EHLO (RFC 5321 4.1.3): "[192.0.2.1]", "[IPv6:2001:db8::1]". */
static void
address_literal(char *buf, size_t n, const struct cap_addr *a)
{
	char ip[INET6_ADDRSTRLEN] = "";

	inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, ip, sizeof(ip));
	snprintf(buf, n, "[%s%s]", a->family == 6 ? "IPv6:" : "", ip);
}

/* EHLO's argument: --helo, this host's name when it is a domain, else its address literal. */
static void
helo_name(const struct probe_ctx *x, const struct feed *f, char *buf, size_t n)
{
	char host[PROBE_NAME_MAX] = "";

	if (x->c->helo) {
		snprintf(buf, n, "%s", x->c->helo);
		return;
	}
	if (gethostname(host, sizeof(host) - 1) == 0 && strchr(host, '.') && name_ok(host)) {
		snprintf(buf, n, "%s", host);
		return;
	}
	address_literal(buf, n, &f->conn.client);
}

/* One connection: connect, the dialog, the close; its session goes out through on_session. */
static int
try_address(struct probe_ctx *x, struct feed *f, const struct cap_addr *addr, uint64_t id,
	    char *err, size_t errsz)
{
	struct io_connect how = {0};
	struct io_target t = {.dst = addr, .port = x->c->port,
			      .src = x->c->source ? &x->c->source_addr : NULL,
			      .timeout_s = x->c->timeout_s[PROBE_T_CONNECT], .wire = x->c->wire};
	struct io io;
	char helo[PROBE_NAME_MAX];
	struct dialog_env env = {.helo = helo, .mx_host = x->host->host, .tlsc = x->tlsc,
				 .rcpts = x->rcpts, .n_rcpts = x->n_rcpts};

	memset(&x->d, 0, sizeof(x->d));
	x->d.status = PROBE_UNREACHED;
	x->d.decider = -1;
	x->facts.notes = x->d.notes;
	x->facts.n_notes = 0;
	x->facts.tls = NULL;
	feed_open(f, id, addr, x->c->port, &x->facts);
	if (io_connect(&io, f, &t, &how, err, errsz) < 0) {
		feed_close(f, RSM_END_NO_ANSWER, 0);
		return -1;
	}
	if (!how.connected) {
		wire_drain(x->c->wire, 100);
		feed_close(f, how.end, how.icmp_code);
		return 0;
	}
	helo_name(x, f, helo, sizeof(helo));
	dialog_run(x->c, &io, f, &env, &x->d);
	io_close(&io);
	wire_drain(x->c->wire, 200); /* the last FIN and ACK */
	x->facts.n_notes = x->d.n_notes;
	if (x->d.tls_done)
		x->facts.tls = &x->d.tls;
	feed_close(f, x->d.end, 0);
	return 0;
}

/* Each address of each host in order, until an answer stands or PROBE_MAX_CONNECTIONS. */
static int
try_hosts(struct probe_ctx *x, struct feed *f, const struct smtp_dns *dns, char *err,
	  size_t errsz)
{
	uint64_t id = 0;

	for (size_t h = 0; h < dns->n_hosts; h++) {
		x->host = &dns->hosts[h];
		for (size_t a = 0; a < x->host->n_addrs; a++) {
			if (id >= PROBE_MAX_CONNECTIONS || x->best_settled)
				return 0;
			if (x->c->family && x->host->addrs[a].family != x->c->family)
				continue;
			if (try_address(x, f, &x->host->addrs[a], ++id, err, errsz) < 0)
				return -1;
		}
	}
	return 0;
}

/* An address given: one host, no DNS step. */
static void
literal_host(struct probe_result *res, const char *target, const struct cap_addr *a)
{
	struct probe_dns_store *st = &res->store;

	memset(st, 0, sizeof(*st));
	snprintf(st->names[0], sizeof(st->names[0]), "%s", target);
	st->addrs[0][0] = *a;
	st->hosts[0] = (struct smtp_dns_host){.preference = -1, .host = st->names[0],
					      .addrs = st->addrs[0], .n_addrs = 1};
	st->dns.hosts = st->hosts;
	st->dns.n_hosts = 1;
}

static void
default_rcpts(struct probe_ctx *x, bool domain)
{
	memcpy(x->rcpts, x->c->rcpts, sizeof(x->rcpts));
	x->n_rcpts = x->c->n_rcpts;
	if (x->n_rcpts || !domain)
		return;
	/* RFC 5321 4.5.1: every domain that takes mail must take it for its postmaster */
	snprintf(x->postmaster, sizeof(x->postmaster), "postmaster@%s", x->c->target);
	x->rcpts[x->n_rcpts++] = x->postmaster;
}

static void
settle(struct probe_result *res)
{
	res->status_name = statuses[res->status].name;
	res->exit_status = statuses[res->status].exit_status;
}

/* The DNS step; false when it ends the probe (its words are the verdict). */
static bool
dns_step(const struct probe_config *c, struct probe_result *res)
{
	enum dns_result r = dns_resolve(c->target, c->no_mx, c->family, &res->store);
	enum probe_status ends = dns_result_ends(r);

	res->dns_used = true;
	if (ends == PROBE_STATUS_COUNT)
		return true;
	res->status = ends;
	snprintf(res->verdict, sizeof(res->verdict), "%s: DNS for %s: %s", statuses[ends].lead,
		 c->target, dns_result_words(r));
	return false;
}

int
probe_run(const struct probe_config *c, const struct smtp_config *sc, smtp_session_fn *done,
	  void *arg, struct probe_result *res, char *err, size_t errsz)
{
	struct probe_ctx x = {.c = c, .res = res, .done = done, .arg = arg};
	struct smtp_config cfg = *sc;
	struct feed f = {0};
	struct cap_addr a;
	bool literal = parse_addr(c->target, &a);
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = PROBE_UNREACHED;
	if (literal)
		literal_host(res, c->target, &a);
	else if (!dns_step(c, res)) {
		settle(res);
		return 0;
	}
	x.facts.dns = res->dns_used ? &res->store.dns : NULL;
	default_rcpts(&x, !literal && !c->no_mx);
	cfg.keep_sessions = false;
	if (c->starttls != PROBE_STARTTLS_NEVER) {
		if (!(x.tlsc = tlsc_new(c, err, errsz)))
			return -1;
		cfg.keylog = tlsc_keylog(x.tlsc);
	}
	if (!(f.dec = smtp_new(&cfg, on_session, &x))) {
		snprintf(err, errsz, "out of memory");
		tlsc_free(x.tlsc);
		return -1;
	}
	rc = try_hosts(&x, &f, &res->store.dns, err, errsz);
	smtp_free(f.dec);
	tlsc_free(x.tlsc);
	if (!x.have_best)
		snprintf(res->verdict, sizeof(res->verdict),
			 "Not reached: no address of %s could be tried (-4/-6 left none).", c->target);
	settle(res);
	return rc;
}
