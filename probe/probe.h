/*
 * probe.h - smtpscope --probe: test a mail server the way the seeds teach it
 * with nslookup and telnet, and explain every step with the passive mode's
 * knowledge.
 *
 * probe/ is an active source, like capture/ a passive one. It looks up the
 * MX records of a domain with the system resolver (dns.c; /etc/resolv.conf),
 * the A/AAAA records of each host, connects to them in order as a sending
 * server would (connect.c), and holds the dialog EHLO (HELO), MAIL FROM,
 * RCPT TO, RSET, QUIT (dialog.c); STARTTLS with OpenSSL when offered (tlsclient.c),
 * AUTH when asked, and DATA with a small test message only when asked (--data).
 * Every byte it sends and receives goes to decode/ as the stream events of
 * one connection (feed.c), so each probe connection becomes an ordinary
 * struct smtp_session, explained by the same table and written by the same
 * report/ writers as a captured one. It waits for a reply with decode/'s
 * reply-line parser and keeps no meanings of its own: what a reply means is
 * decode/'s; which step comes next is the probe's (a table).
 *
 * Inside TLS, decode/ reads the dialog as it reads a capture with --tls-keylog:
 * the probe's OpenSSL writes its session keys to an in-memory key log that the
 * decoder follows, and the decoder is fed the TLS records as they crossed the
 * wire. -w FILE records the probe's packets with libpcap (wire.c).
 */
#ifndef SMTPSCOPE_PROBE_H
#define SMTPSCOPE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/smtp.h"

#define PROBE_MAX_RCPTS 32
#define PROBE_MAX_HOSTS 10 /* MX hosts kept from one answer (in preference order) */
#define PROBE_MAX_ADDRS 4  /* addresses kept of one host, per family */
#define PROBE_MAX_CONNECTIONS 5 /* addresses tried in all (Postfix: smtp_mx_address_limit) */
#define PROBE_NAME_MAX 256	/* a domain name, with its NUL */
#define PROBE_ERRLEN 256

/* The steps a timeout bounds (RFC 5321 4.5.3.2); --timeout STEP=SECONDS. */
enum probe_step {
	PROBE_T_CONNECT,
	PROBE_T_GREETING,
	PROBE_T_EHLO,
	PROBE_T_MAIL,
	PROBE_T_RCPT,
	PROBE_T_RSET,
	PROBE_T_QUIT,
	PROBE_T_TLS,  /* STARTTLS and the handshake */
	PROBE_T_AUTH,
	PROBE_T_DATA, /* DATA's 354 (RFC 5321: 2 minutes) */
	PROBE_T_DOT,  /* the reply after the message (10 minutes) */
	PROBE_T_COUNT
};

/* --starttls: try (when offered, the default), require (fail without TLS), never. */
enum probe_starttls { PROBE_STARTTLS_TRY, PROBE_STARTTLS_REQUIRE, PROBE_STARTTLS_NEVER };

#define PROBE_PASSWORD_MAX 256

struct probe_wire; /* wire.c: -w FILE */

struct probe_config {
	const char *target;	/* a domain, a host name or an address */
	bool no_mx;		/* target is a host: no MX lookup */
	const char *from;	/* MAIL FROM; "" is the null reverse-path <> (default) */
	const char *rcpts[PROBE_MAX_RCPTS]; /* none: postmaster@domain for a domain */
	size_t n_rcpts;
	bool notify;		/* NOTIFY=SUCCESS,FAILURE when the server offers DSN */
	uint16_t port;		/* 25 */
	const char *helo;	/* NULL: this host's name */
	const char *source;	/* an address to connect from, or NULL */
	struct cap_addr source_addr; /* ... parsed */
	int family;		/* 0: both (IPv6 first), 4 or 6 */
	unsigned timeout_s[PROBE_T_COUNT];
	char rcpt_store[4096];	/* the addresses of --rcpt lists, split */
	size_t rcpt_used;
	enum probe_starttls starttls;
	bool verify;		/* a certificate that does not verify fails the probe */
	const char *ca_file;	/* trust these CAs instead of the system's store */
	const char *auth_user;	/* AUTH (PLAIN or LOGIN) as this user */
	const char *auth_password_file; /* its first line is the password; NULL: the terminal */
	bool auth_cleartext;	/* AUTH may go without TLS */
	bool data;		/* send the test message (DATA) */
	char password[PROBE_PASSWORD_MAX]; /* probe_read_password(); wiped by probe_forget */
	struct probe_wire *wire; /* -w: the probe's packets are written there */
	int keylog_fd;		 /* --tls-keylog: the session keys are appended there; -1 */
};

/* How the probe ended; each has its exit status (probe_exit_status). */
enum probe_status {
	PROBE_ACCEPTED,	 /* every recipient accepted (or the sender, without recipients) */
	PROBE_REFUSED,	 /* refused for good: 5xx, or a null MX */
	PROBE_DEFERRED,	 /* refused for now: 4xx (greylisting, a full mailbox, ...) */
	PROBE_UNREACHED, /* no server answered: DNS, connection, greeting, dialog cut */
	PROBE_TLS_FAILED, /* TLS was required (--starttls require, --verify) and not had */
	PROBE_STATUS_COUNT
};

/* Where the DNS answer and the hosts live while the report is written. */
struct probe_dns_store {
	char query[PROBE_NAME_MAX];
	char names[PROBE_MAX_HOSTS][PROBE_NAME_MAX];
	struct cap_addr addrs[PROBE_MAX_HOSTS][2 * PROBE_MAX_ADDRS];
	struct smtp_dns_host hosts[PROBE_MAX_HOSTS];
	struct smtp_dns dns;
};

struct probe_result {
	enum probe_status status;
	const char *status_name; /* accepted, refused, deferred, unreachable */
	int exit_status;
	unsigned sessions; /* connections tried */
	bool dns_used;
	struct probe_dns_store store; /* store.dns: the DNS steps, when dns_used */
	char verdict[1024];
};

void probe_default_config(struct probe_config *c);
/*
 * One option by its long name ("from", "rcpt", "notify", "port", "helo",
 * "source", "timeout", "no-mx", "4", "6") and value (NULL for a flag).
 * 0, or -1 with one line in err (a usage error).
 */
int probe_option(struct probe_config *c, const char *name, const char *value, char *err,
		 size_t errsz);
/* The target and the options together: 0, or -1 with one line in err (a usage error). */
int probe_check(const struct probe_config *c, char *err, size_t errsz);

/*
 * The AUTH password, when --auth-user is given: the first line of
 * --auth-password-file, or read from the terminal without echo. The process
 * stops being dumpable (no core holds it). 0, or -1 with one line in err.
 */
int probe_read_password(struct probe_config *c, char *err, size_t errsz);
/* Wipe the password. */
void probe_forget(struct probe_config *c);

/*
 * -w FILE: open libpcap on "any" (before privileges are dropped) and the file;
 * each connection's 5-tuple becomes the filter before it connects. NULL with
 * err when it cannot be opened. probe_wire_close writes out what is left.
 */
struct probe_wire *probe_wire_open(const char *path, char *err, size_t errsz);
int probe_wire_close(struct probe_wire *w, char *err, size_t errsz);

/*
 * Run the probe: each connection's session goes to done(arg, s) as it ends
 * (decoded with sc), then the result is filled. 0, or -1 with err when the
 * probe could not run at all (out of memory, no socket).
 */
int probe_run(const struct probe_config *c, const struct smtp_config *sc, smtp_session_fn *done,
	      void *arg, struct probe_result *res, char *err, size_t errsz);

int probe_exit_status(enum probe_status st);
const char *probe_status_name(enum probe_status st);

/*
 * DNS answers (dns.c), exposed for tests: bounds-checked, any bytes. MX
 * records of an answer into mx (up to max, sorted by preference, stable);
 * A or AAAA records (family 4 or 6) into addrs. The number kept, or -1 when
 * the message is malformed.
 */
struct probe_mx {
	unsigned preference;
	char host[PROBE_NAME_MAX];
};
int probe_dns_parse_mx(const uint8_t *msg, size_t len, struct probe_mx *mx, size_t max);
int probe_dns_parse_addrs(const uint8_t *msg, size_t len, int family, struct cap_addr *addrs,
			  size_t max);
/* Is this MX list a null MX (RFC 7505: one record, preference 0, host ".")? */
bool probe_dns_null_mx(const struct probe_mx *mx, size_t n);

#endif
