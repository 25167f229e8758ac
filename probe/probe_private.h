/*
 * probe_private.h - shared inside probe/ only.
 *
 * dns.c finds the hosts, io.c connects and moves bytes with deadlines,
 * feed.c hands every byte to decode/ as one connection's stream events,
 * dialog.c holds the SMTP dialog, probe.c runs it all and settles the result.
 */
#ifndef SMTPSCOPE_PROBE_PRIVATE_H
#define SMTPSCOPE_PROBE_PRIVATE_H

#include "probe.h"

/* dns.c */
enum dns_result {
	DNS_OK,		/* internal: a question answered with records */
	DNS_NO_DATA,	/* internal: the name exists, no record of that type */
	DNS_MX,
	DNS_IMPLICIT_MX,
	DNS_HOST,
	DNS_NXDOMAIN,
	DNS_NO_MAIL_HOST,
	DNS_NO_ADDRESS,
	DNS_NULL_MX,
	DNS_SERVFAIL,
	DNS_TIMEOUT,
	DNS_MALFORMED,
	DNS_NO_RESOLVER,
	DNS_COUNT
};

/* Look name up (its MX records unless no_mx, then A/AAAA) into st; st->dns says how it went. */
enum dns_result dns_resolve(const char *name, bool no_mx, int family, struct probe_dns_store *st);
const char *dns_result_name(enum dns_result r);
/* How the probe ends on this outcome; PROBE_STATUS_COUNT: it goes on to connect. */
enum probe_status dns_result_ends(enum dns_result r);
const char *dns_result_words(enum dns_result r);

/* feed.c: one connection as decode/ sees a captured one. */
struct feed {
	struct smtp_decoder *dec;
	struct rsm_conn conn;
	bool open;
};

uint64_t feed_now_us(void);
void feed_open(struct feed *f, uint64_t id, const struct cap_addr *server, uint16_t port,
	       const struct smtp_probe *facts);
void feed_client(struct feed *f, const struct cap_addr *client, uint16_t port);
void feed_data(struct feed *f, enum rsm_dir dir, const uint8_t *p, size_t n);
/* icmp_code: with RSM_END_UNREACHABLE, what the kernel's error says (as ICMP would). */
void feed_close(struct feed *f, enum rsm_end end, uint8_t icmp_code);
/* The session being decoded (NULL when decode/ could not open one). */
const struct smtp_session *feed_session(const struct feed *f);

/* io.c: a TCP connection with a deadline on every wait. */
#define IO_RX_MAX 8192

enum io_reply {
	IO_REPLY,    /* a whole reply: its code */
	IO_TIMEOUT,  /* none within the step's timeout */
	IO_CLOSED,   /* the server closed the connection */
	IO_RESET,    /* ... reset it */
	IO_NOT_SMTP, /* a line that is no reply (RFC 5321 4.2) */
};

struct ssl_st;
struct bio_st;

struct io {
	int fd;
	uint8_t rx[IO_RX_MAX];
	size_t rx_len;
	bool skipping; /* the rest of an overlong line is dropped */
	int skip_code;
	bool skip_last;
	/* after STARTTLS: OpenSSL over memory BIOs, so every record is seen as sent */
	struct ssl_st *ssl;
	struct bio_st *rb, *wb;
	uint8_t raw[IO_RX_MAX]; /* received, handed to OpenSSL, not yet to decode/ */
	size_t raw_len;
	struct probe_wire *wire; /* -w: drained after each send and receive */
};

/* How a connect ended: as reassembly would end a flow it saw. */
struct io_connect {
	bool connected;
	enum rsm_end end;  /* when not */
	uint8_t icmp_code; /* with RSM_END_UNREACHABLE */
	int error;	   /* errno */
};

struct io_target {
	const struct cap_addr *dst;
	uint16_t port;
	const struct cap_addr *src; /* --source, or NULL */
	unsigned timeout_s;
	struct probe_wire *wire;    /* -w, or NULL */
};

/* 0, or -1 with err (no socket, a --source that cannot be bound: not the server's doing). */
int io_connect(struct io *io, struct feed *f, const struct io_target *t, struct io_connect *out,
	       char *err, size_t errsz);
/* Send a command line (CRLF added): false when the connection broke. */
bool io_send(struct io *io, struct feed *f, const char *line, unsigned timeout_s);
enum io_reply io_read_reply(struct io *io, struct feed *f, unsigned timeout_s, int *code);
/* Inside TLS, after QUIT: the server's bytes until it closes (bounded), else close_notify. */
void io_tls_shutdown(struct io *io, struct feed *f, unsigned timeout_s);
void io_close(struct io *io);

/* tlsclient.c: the probe's TLS client (one SSL_CTX per probe). */
struct tlsc;
struct tlsc *tlsc_new(const struct probe_config *c, char *err, size_t errsz);
/* The in-memory key log its handshakes write to: give it to decode/ (smtp_config.keylog). */
struct tls_keylog *tlsc_keylog(struct tlsc *t);
void tlsc_free(struct tlsc *t);

enum tlsc_result { TLSC_OK, TLSC_FAILED, TLSC_TIMEOUT, TLSC_CLOSED };
/*
 * The TLS handshake after a 220 to STARTTLS, SNI and the name checked = host.
 * out gets the verification; *why one line from OpenSSL when it failed.
 */
enum tlsc_result io_starttls(struct io *io, struct feed *f, struct tlsc *t, const char *host,
			     unsigned timeout_s, struct smtp_probe_tls *out, char *why,
			     size_t whysz);
/* Fill out from the verified (or not) handshake of ssl (tlsclient.c). */
void tlsc_verdict(struct ssl_st *ssl, const char *host, struct smtp_probe_tls *out);
struct ssl_st *tlsc_ssl(struct tlsc *t, const char *host);

/* wire.c: -w, the filter for the next connection (before its connect), and the drain after. */
int wire_expect(struct probe_wire *w, const struct cap_addr *server, uint16_t port,
		uint16_t local_port);
void wire_drain(struct probe_wire *w, unsigned settle_ms);

/* dialog.c: the commands after the connect, and what the session settled. */
struct dialog {
	enum probe_status status; /* of this session */
	const char *why; /* the verdict's words when no reply decided (TLS), or NULL */
	char why_buf[512];
	struct smtp_probe_tls tls; /* the certificate's verification, when TLS began */
	bool tls_done;
	bool data_sent; /* the test message was taken (2xx after ".") */
	bool settled;	/* a server's answer that stands: no other MX is tried */
	int decider;	/* the command entry whose reply decided (-1: the transport) */
	enum rsm_end end;
	const char *notes[8];
	size_t n_notes;
};

struct dialog_env {
	const char *helo;
	const char *mx_host; /* SNI and the name the certificate must carry */
	struct tlsc *tlsc;   /* NULL: no TLS (--starttls never) */
	const char *const *rcpts;
	size_t n_rcpts;
};

void dialog_run(const struct probe_config *c, struct io *io, struct feed *f,
		const struct dialog_env *env, struct dialog *d);

#endif
