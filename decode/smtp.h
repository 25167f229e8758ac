/*
 * smtp.h - byte streams in, explained SMTP sessions out.
 *
 * decode/ frames lines in both directions, pairs every client command with
 * the server's reply (pair.c: only a reply the command can get, in order, so
 * PIPELINING pairs right; a pair the capture does not settle is marked
 * inferred), follows the mail transactions (MAIL, RCPT, DATA or BDAT), AUTH
 * and STARTTLS (the handshake through tls/), and explains every reply from a
 * knowledge table (explain.c). When a connection ends, the finished session
 * is handed to a callback, then freed.
 *
 * Every buffer is capped (struct smtp_config); hitting a cap sets an anomaly
 * on the session and is counted, never silent.
 */
#ifndef SMTPSCOPE_SMTP_H
#define SMTPSCOPE_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../reassembly/reassembly.h"
#include "../tls/tls.h"

#define SMTP_F_TURN 0x01 /* the client waits for this reply before going on */

enum smtp_verb {
#define X(e, name, flags) SMTP_##e,
#include "smtp_cmds.def"
#undef X
	SMTP_VERB_COUNT
};

enum smtp_anomaly {
#define X(e, name) SMTP_ANOM_##e,
#include "smtp_anomalies.def"
#undef X
	SMTP_ANOM_COUNT
};

/* How a reply's place was settled: by the capture, or chosen by smtpscope (pair.c). */
enum smtp_pairing { SMTP_PAIR_NONE, SMTP_PAIR_SEEN, SMTP_PAIR_INFERRED };

enum smtp_result { SMTP_NO_REPLY, SMTP_SUCCESS, SMTP_INTERMEDIATE, SMTP_TEMPFAIL, SMTP_PERMFAIL };

/* What an explanation was chosen by, most specific first (DESIGN.md). */
enum smtp_match {
	SMTP_MATCH_TEXT,
	SMTP_MATCH_ENHANCED,
	SMTP_MATCH_ENHANCED_CLASS,
	SMTP_MATCH_CODE_IN_CONTEXT,
	SMTP_MATCH_FIRST_DIGIT,
	SMTP_MATCH_COUNT
};

/* Why a server answered as it did (reasons.def); the JSON "reason". */
enum smtp_reason {
#define REASON(id, who, retry, generic, label, meaning) SMTP_R_##id,
#include "reasons.def"
#undef REASON
	SMTP_R_COUNT
};

/* How a transaction, or a whole session, ended (explain.c decides). */
enum smtp_outcome {
	SMTP_OUT_NONE,
	SMTP_OUT_DELIVERED,	/* the server took responsibility (2xx after the data) */
	SMTP_OUT_PARTIAL,	/* session: some messages delivered, some not */
	SMTP_OUT_DEFERRED,	/* a 4xx decided it: the sender should retry */
	SMTP_OUT_REJECTED,	/* a 5xx decided it */
	SMTP_OUT_ABORTED,	/* the message was cut off during the transfer */
	SMTP_OUT_ABANDONED,	/* the client left the transaction before sending data */
	SMTP_OUT_NEVER_REACHED, /* session: refused, unanswered, or no greeting */
	SMTP_OUT_NO_MAIL,	/* session: no MAIL transaction was attempted */
	SMTP_OUT_UNKNOWN,	/* not visible: capture ended, gap, one side only, encrypted */
	SMTP_OUT_COUNT
};

enum smtp_state {
	SMTP_ST_REFUSED,
	SMTP_ST_NO_ANSWER,
	SMTP_ST_CLOSED,
	SMTP_ST_RESET,
	SMTP_ST_TIMEOUT,
	SMTP_ST_UNFINISHED
};

/*
 * Strings that hold wire text (command names and arguments, reply text,
 * addresses, header values, the AUTH user) are C strings that lose nothing:
 * a NUL from the wire is stored as the two bytes C0 80 and a wire byte C0 as
 * C0 81 (C0 starts no valid UTF-8). Other bytes are kept as they came, valid
 * UTF-8 or not. report/ writes C0 80 as \u0000 or \x00 (report.h).
 */
struct smtp_reply {
	int code;
	char enhanced[12]; /* "5.1.1", or "" when the reply has none */
	const char *text;  /* every line after "ddd-"/"ddd ", joined by '\n' */
	uint32_t lines;
};

struct smtp_command { /* members by size: one is kept per command */
	enum smtp_verb verb;
	enum smtp_pairing paired; /* how the reply's place was settled */
	const char *name;	  /* upper-case verb, or what the client sent */
	const char *arg;	  /* NULL if none; masked inside AUTH unless asked */
	uint64_t ts;
	uint64_t reply_ts;
	struct smtp_reply reply;
	enum smtp_result result;
	enum smtp_match matched_on;
	const char *explanation;
	uint8_t reason;	 /* enum smtp_reason */
	uint8_t origin;	 /* who wrote the reply or the list it names: 0 none, else smtp_origin_* */
	bool lasting;	 /* a 4xx whose text says the block lasts */
	int msg;	/* index of the transaction it belongs to, or -1 */
	int rcpt;	/* RCPT: index of the recipient in that transaction, or -1 */
	int prev;	/* MAIL: the transaction open when it was sent, or -1 */
	bool has_reply;
	bool last;	/* BDAT: the LAST chunk */
	bool lost;	/* its reply fell into a capture gap */
	bool skipped;	/* the server's next reply could only answer a later command */
	bool assumed;	/* ".": its body began on a reply not seen, or its "." was not seen */
	bool fallback;	/* a refusal the client answered as expected (EHLO refused, then HELO) */
	bool in_tls;	/* sent inside TLS, read with the key log (--tls-keylog) */
};

/* PENDING: no reply seen (lost, cut off, or never sent); DEFERRED: 4xx; REJECTED: 5xx. */
enum smtp_rcpt_status {
	SMTP_RCPT_PENDING,
	SMTP_RCPT_ACCEPTED,
	SMTP_RCPT_DEFERRED,
	SMTP_RCPT_REJECTED,
	SMTP_RCPT_STATUS_COUNT
};

/* Refused for now or for good: the recipients of the contract's rcpt_rejected. */
#define SMTP_RCPT_REFUSED(st) ((st) == SMTP_RCPT_DEFERRED || (st) == SMTP_RCPT_REJECTED)

struct smtp_rcpt {
	const char *addr;
	enum smtp_rcpt_status status;
	int code;
	int cmd; /* the RCPT command entry, or -1 */
};

struct smtp_message {
	const char *mail_from;
	int mail_cmd; /* the MAIL command entry that opened it, or -1 */
	int end_cmd;  /* its last "." or BDAT LAST entry, or -1 */
	struct smtp_rcpt *rcpt;
	size_t n_rcpt, cap_rcpt;
	bool mail_accepted; /* the reply to MAIL was 2xx */
	bool data_started;  /* a body (DATA after 354, or BDAT) began */
	bool data_ended;    /* the final "." or BDAT LAST was sent */
	bool accepted;      /* the server took responsibility: 2xx after the body */
	bool gap;           /* bytes of either side were lost while it was open */
	bool inferred;      /* a reply of it was paired by inference */
	int first_failure;  /* the first of its command entries refused (4xx/5xx), or -1 */
	int closing_failure; /* ... not a RCPT: a refused MAIL, DATA, end of data; or -1 */
	int final_code;     /* reply to "." or BDAT LAST; 0 if none */
	int64_t size;       /* body bytes after dot-unstuffing; -1 if unknown */
	enum smtp_outcome outcome;
	const char *subject, *message_id, *queue_id;
	/*
	 * Subject and From with their RFC 2047 words decoded to UTF-8 (subject,
	 * from); the wire text beside them only when decoding changed it, else NULL.
	 */
	const char *subject_raw, *from, *from_raw;
};

/*
 * A probe's session (smtpscope --probe, probe/): the DNS steps that chose its
 * server, and what the probe itself has to say. The decoder never sets or
 * reads it; the probe sets it after RSM_EV_OPEN, and report/ writes it.
 */
struct smtp_dns_host {
	int preference; /* of its MX record; -1 when not from one (implicit MX, a host given) */
	const char *host;
	const struct cap_addr *addrs; /* A/AAAA, in the order they are tried */
	size_t n_addrs;
};

struct smtp_dns {
	const char *query;	 /* the name looked up ("example.com") */
	const char *result;	 /* mx, implicit_mx, host, address, nxdomain, no_mx_no_address, ... */
	const char *explanation; /* in plain words */
	const struct smtp_dns_host *hosts; /* in the order they are tried */
	size_t n_hosts;
};

/* A certificate of the chain the server sent, as the probe's OpenSSL read it. */
struct smtp_probe_cert {
	char subject[TLS_CERT_NAME_MAX + 1]; /* RFC 2253, escaped as tls_cert's names */
	char issuer[TLS_CERT_NAME_MAX + 1];
	int64_t not_after; /* Unix seconds, UTC */
};

#define SMTP_PROBE_CHAIN_MAX 6

/*
 * What the probe's own TLS client made of the server's certificate: the chain
 * verified against the trust store (the system's, or --ca-file) and the name
 * checked against the MX host (RFC 6125). The handshake's wire facts (version,
 * cipher, SNI) are the session's tls, read from the records as from a capture.
 */
struct smtp_probe_tls {
	const char *host;	 /* the name checked (the MX host) */
	const char *result;	 /* ok, expired, not_yet_valid, self_signed, unknown_issuer, ... */
	const char *explanation; /* in plain words */
	long verify_code;	 /* OpenSSL's X509_V_* code (0: ok) */
	bool required;		 /* --verify: a bad certificate fails the probe */
	struct smtp_probe_cert chain[SMTP_PROBE_CHAIN_MAX]; /* the leaf first */
	size_t n_chain;
};

struct smtp_probe {
	const struct smtp_dns *dns; /* NULL: an address was given, no DNS step */
	const char *const *notes;   /* what the probe did or left out, in words */
	size_t n_notes;
	const struct smtp_probe_tls *tls; /* NULL: no TLS handshake was made */
};

struct smtp_session {
	uint64_t id;
	uint64_t ts_first, ts_last;
	struct cap_addr client, server;
	uint16_t client_port, server_port;
	enum smtp_state state;
	enum tls_closer tls_closed_by; /* who ended the connection, as far as was seen */
	bool midstream;
	bool implicit_tls;	       /* the client spoke TLS at once, without STARTTLS */
	uint8_t first_closer;	       /* 1 + the direction of the first FIN or RST; 0: none */
	const char *helo;
	bool esmtp;
	const char **extensions;
	size_t n_extensions;
	bool starttls;
	bool has_auth;
	struct {
		char mechanism[24];
		const char *user;
		int success; /* 1, 0, or -1 when no verdict was seen */
	} auth;
	struct smtp_command *cmds;
	size_t n_cmds;
	struct smtp_message *msgs;
	size_t n_msgs;
	uint64_t packets[2], bytes[2], gaps[2]; /* by enum rsm_dir */
	uint64_t anomalies;                     /* 1 << enum smtp_anomaly */
	uint8_t icmp_type, icmp_code;           /* an ICMP unreachable about it (0: none) */
	struct cap_addr icmp_from;
	/* TLS after STARTTLS, or from the first byte (tls/): NULL when none began */
	const struct tls_facts *tls;
	uint64_t unparsed[2]; /* bytes not SMTP and not TLS, by enum rsm_dir */
	/* What the capture could not see (DESIGN.md "capture"). */
	struct {
		int snaplen;	       /* the snap length, when it cut this session's packets; else 0 */
		int8_t one_side;       /* -1, or the only direction captured (enum rsm_dir) */
		bool after_greeting;   /* the capture began after the greeting */
		bool ends_mid_session; /* the capture ended with the connection still open */
	} capture;
	enum smtp_outcome outcome;
	const char *verdict;
	struct smtp_priv *priv; /* decoder state, not for readers */
	void *user;             /* the caller's; the decoder never touches it */
	const struct smtp_probe *probe; /* NULL: a session from a capture (source "capture") */
};

/*
 * Where the bytes of each message go as they are read (--extract): as sent,
 * with dot-stuffing removed and BDAT chunks joined. open() returns a handle
 * (NULL: not wanted); close() says whether the message arrived whole.
 */
struct smtp_sink {
	void *(*open)(void *arg, const struct smtp_session *s, int msg);
	void (*write)(void *handle, const uint8_t *p, size_t n);
	void (*close)(void *arg, void *handle, const struct smtp_session *s, int msg, bool whole);
	void *arg;
};

struct smtp_config {
	size_t max_line;        /* bytes kept of one command or reply line */
	size_t max_reply_bytes; /* bytes kept of one (multi-line) reply */
	size_t max_pending;     /* commands awaiting a reply */
	size_t max_commands;    /* command entries recorded per session */
	size_t max_messages;    /* transactions recorded per session */
	size_t max_rcpts;       /* recipients recorded per transaction */
	size_t max_hold;        /* client bytes held while a reply decides their meaning */
	size_t max_session_mem; /* strings kept per session */
	bool show_secrets;      /* print AUTH data as sent */
	int snaplen;            /* the capture's snap length, said of sessions it cut (0: unknown) */
	const struct smtp_sink *sink; /* NULL: message bytes are only counted */
	struct tls_keylog *keylog;    /* --tls-keylog: TLS is decrypted and read as SMTP */
	/*
	 * The caller keeps every session after the done callback (the session was
	 * ev->conn->user at RSM_EV_OPEN) and frees it with smtp_session_free().
	 */
	bool keep_sessions;
};

struct smtp_stats {
	uint64_t sessions;
	uint64_t ended; /* sessions written out so far */
	uint64_t refused, no_answer;
	uint64_t commands, replies;
	uint64_t matched[SMTP_MATCH_COUNT];
	uint64_t anomalies[SMTP_ANOM_COUNT];
	uint64_t messages, messages_accepted;
	uint64_t outcomes[SMTP_OUT_COUNT]; /* sessions by outcome */
	uint64_t pairs_inferred;	   /* replies whose command smtpscope chose */
	/* with a key log: TLS sessions whose handshake completed, opened or not; failed records */
	uint64_t tls_decrypted, tls_not_decrypted, tls_failed_records;
	/* sessions the capture saw only in part (struct smtp_session's capture) */
	uint64_t cut_by_snaplen, one_side, after_greeting, ends_mid_session;
};

typedef void smtp_session_fn(void *arg, const struct smtp_session *s);

struct smtp_decoder;

void smtp_default_config(struct smtp_config *cfg);
struct smtp_decoder *smtp_new(const struct smtp_config *cfg, smtp_session_fn *done, void *arg);
/* The reassembly callback: arg is the decoder. */
void smtp_on_stream(void *arg, const struct rsm_event *ev);
const struct smtp_stats *smtp_stats(const struct smtp_decoder *d);
void smtp_free(struct smtp_decoder *d);
/* A session kept with keep_sessions, once its caller is done with it. */
void smtp_session_free(struct smtp_session *s);

/* Names for the tables above. */
const char *smtp_verb_name(enum smtp_verb v);
const char *smtp_anomaly_name(enum smtp_anomaly a);
const char *smtp_result_name(enum smtp_result r);
const char *smtp_match_name(enum smtp_match m);
const char *smtp_pairing_name(enum smtp_pairing p); /* NULL for no reply */
const char *smtp_rcpt_status_name(enum smtp_rcpt_status st);
const char *smtp_state_name(enum smtp_state s);
const char *smtp_outcome_name(enum smtp_outcome o);
enum smtp_result smtp_result_of(int code);
/* May a reply with this code answer this command (RFC 5321 4.3.2 and extensions)? */
bool smtp_reply_allowed(enum smtp_verb v, int code);

/* What was found in a reply besides its explanation. */
struct smtp_finding {
	enum smtp_match matched;
	uint8_t reason, origin;
	bool lasting;
};

/*
 * Explain one reply to one command (explain.c). text may hold several lines
 * joined by '\n'. Writes a plain-language line into buf and fills *f.
 * Usable without a capture (smtpscope --explain).
 */
void smtp_explain(enum smtp_verb verb, int code, const char *enhanced, const char *text,
		  char *buf, size_t bufsz, struct smtp_finding *f);
const char *smtp_reason_name(unsigned reason);
/* Who can fix it, as JSON names ("sender", "receiving_admin", ...); returns how many. */
size_t smtp_reason_fixers(unsigned reason, const char *names[4]);
const char *smtp_fixer_name(unsigned i); /* 0-3, in the order of smtp_reason_fixers */
/* "temporary" or "permanent" for a failure (lasting: a 4xx that says it lasts); NULL otherwise. */
const char *smtp_failure_class(int code, bool lasting);
const char *smtp_origin_name(unsigned origin); /* NULL for 0 */
const char *smtp_origin_page(unsigned origin); /* NULL when none is known */
/*
 * A reply line: "ddd", "ddd text" or "ddd-text" with the first digit 2 to 5
 * (RFC 5321 4.2); *last is false for a "ddd-" continuation.
 */
bool smtp_parse_reply_line(const char *line, size_t n, int *code, bool *last);
/* Parse an RFC 3463 code at the start of text ("5.1.1", "#5.1.1"); 0 if none. */
size_t smtp_parse_enhanced(const char *text, size_t len, char out[12]);
enum smtp_verb smtp_verb_lookup(const char *word, size_t len);

#endif
