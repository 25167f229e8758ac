/*
 * tls.h - the TLS record and handshake layers of one connection, seen from the wire.
 *
 * A struct tls_conn is fed the bytes of each direction as they come (split
 * anywhere), gaps and the end of the connection. It follows the records
 * (RFC 8446 §5.1, RFC 5246 §6.2), reassembles the cleartext handshake
 * messages that matter (ClientHello, ServerHello, and up to TLS 1.2 the
 * server's Certificate) across records, reads the cleartext alerts, counts the
 * encrypted records, and keeps the facts in a struct tls_facts. Given a key log
 * (tls_keylog_open, NSS format) it decrypts the records (decrypt.c: TLS 1.3 and
 * 1.2 AES-GCM and ChaCha20-Poly1305, TLS 1.0-1.2 AES-CBC with HMAC) and hands
 * the application data to the caller's tls_plain_fn; a record that fails
 * authentication is counted and reported through tls_lost_fn, never passed on.
 * No SMTP: the caller decides which bytes are TLS.
 *
 * Packet data is untrusted: every read is bounds-checked, the work is linear
 * in the bytes fed, nothing recurses, and the only buffer that grows (one
 * handshake message per direction) is capped by tls_config. Bytes that are not
 * TLS or are past a cap are counted per direction (unparsed), never silent.
 */
#ifndef SMTPSCOPE_TLS_H
#define SMTPSCOPE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest record length accepted: 2^14 + 2048 (RFC 5246 §6.2.3, TLSCiphertext). */
#define TLS_RECORD_MAX (16384 + 2048)
#define TLS_SNI_MAX 255	  /* sni is cut there (after escaping) and sni_truncated set */
#define TLS_ALPN_MAX 127  /* alpn, alpn_offered: cut there and alpn_truncated set */
#define TLS_CERT_NAME_MAX 255 /* subject, issuer, issuer_org: cut there (after escaping) */
#define TLS_CERT_SANS_MAX 511 /* sans: whole names only; past it sans_truncated is set */

enum tls_dir { TLS_CLIENT, TLS_SERVER };

/* Who ended the connection: a side (FIN/RST) or nobody seen (capture ended, timeout). */
enum tls_closer { TLS_CLOSED_BY_CLIENT, TLS_CLOSED_BY_SERVER, TLS_CLOSED_UNSEEN };

/*
 * How the handshake went. The rule (tls.c: check_completed(), got_alert(),
 * got_encrypted_alert(), tls_end()):
 *  - none:      no hello and no alert was seen.
 *  - started:   a ClientHello or ServerHello was seen, nothing settled yet; stays so at the end
 *               when nobody was seen closing (the capture just stopped).
 *  - completed: a ServerHello (not a HelloRetryRequest) was seen, and then
 *               TLS 1.2 and older: each side sent ChangeCipherSpec and, after it,
 *                 a handshake record (its encrypted Finished);
 *               TLS 1.3: the server sent an application_data record (its encrypted
 *                 flight) and the client sent an application_data record of at least
 *                 53 bytes, the smallest encrypted Finished (4 + 32 + 1 + 16).
 *  - failed:    before completion, a fatal alert in clear from either side, or an
 *               alert that could not be read: a TLS 1.2 alert record after its
 *               sender's ChangeCipherSpec, or a TLS 1.3 client application_data record
 *               shorter than 53 bytes (an encrypted alert is 2 + 1 + 16 = 19).
 *  - abandoned: a side closed (tls_end with that side) before completion, with no
 *               fatal alert; a warning alert (close_notify, user_canceled) is kept
 *               in `alert` but does not make it failed.
 * Once completed or failed it never changes. What the wire cannot show: in
 * TLS 1.3 everything after the client's Finished is encrypted, so a server's
 * alert about it (a client certificate refused, say) is not seen as a failure;
 * 0-RTT data that reaches the capture after the ServerHello is taken for the
 * client's Finished. An SSLv2-format ClientHello is not_tls.
 */
enum tls_handshake {
	TLS_HS_NONE,
	TLS_HS_STARTED,
	TLS_HS_COMPLETED,
	TLS_HS_FAILED,
	TLS_HS_ABANDONED,
	TLS_HS_COUNT
};

enum tls_alert_level { TLS_ALERT_WARNING = 1, TLS_ALERT_FATAL = 2 };

/*
 * The alert that tells how the handshake went: the first fatal one, else the
 * first one. Only alerts in clear can be read; an alert record sent under
 * encryption sets encrypted and leaves level/description 0.
 */
struct tls_alert {
	bool seen;
	bool encrypted;
	uint8_t level;	     /* enum tls_alert_level; tls_alert_level_name() */
	uint8_t description; /* RFC 8446 §6 AlertDescription; tls_alert_name() */
	enum tls_dir sent_by;
};

/* What each direction carried. */
struct tls_side {
	uint64_t bytes;		    /* fed, gaps not included */
	uint64_t records;	    /* complete record headers read */
	uint64_t encrypted_records; /* records sent under encryption (see tls.c) */
	uint64_t encrypted_alerts;  /* TLS <= 1.2 alert records after ChangeCipherSpec */
	uint64_t unparsed_bytes;    /* not TLS, after a lost sync, or past a cap */
	uint64_t gap_bytes;	    /* missing bytes announced by tls_gap() */
	uint32_t caps_hit;	    /* handshake messages larger than the cap */
	uint32_t malformed;	    /* hellos or Certificates whose inside did not parse */
	bool not_tls;		    /* the first bytes were not a TLS record */
	bool truncated_record;	    /* the connection ended inside a record */
	bool lost_sync;		    /* record framing lost (garbage, gap): rest unparsed */
	bool change_cipher_spec;    /* a ChangeCipherSpec record was sent */
};

/*
 * Decryption with a key log, per connection: off (no key log given), no key
 * for this connection's ClientHello random (or no ClientHello seen), a cipher
 * suite decrypt.c does not know, keys found. Records are decrypted only in the
 * last case; failed_records counts those whose authentication failed (wrong
 * keys, or records corrupted in the capture).
 */
enum tls_keys { TLS_KEYS_OFF, TLS_KEYS_MISSING, TLS_KEYS_UNSUPPORTED, TLS_KEYS_FOUND };

/*
 * The server's certificate, from the Certificate message (in clear up to TLS
 * 1.2; RFC 5246 §7.4.2, RFC 8446 §4.4.2) and its first (leaf) certificate.
 * Strings follow the SNI's rule (hello.c): bytes outside 0x21..0x7e, and the
 * backslash, are \xHH, escaped here once; the X.500 texts (subject, issuer,
 * issuer_org) keep a plain space, which their names often hold. So every
 * string is printable ASCII and the writers print it as it is.
 */
struct tls_cert {
	bool seen;	   /* a Certificate message was read and its leaf parsed */
	bool subject_cn;   /* subject is the commonName; else the whole subject (RFC 2253) */
	bool self_signed;  /* issued by itself: same name, and its own key verifies it */
	bool names_truncated, sans_truncated;
	uint32_t chain;	   /* certificates in the message */
	int64_t not_before, not_after; /* Unix seconds, UTC */
	uint32_t key_bits; /* 0 when unknown */
	char key_type[12]; /* "RSA", "EC", "Ed25519" ...; "" when unknown */
	char subject[TLS_CERT_NAME_MAX + 1];
	char issuer[TLS_CERT_NAME_MAX + 1]; /* its commonName; else the whole issuer (RFC 2253) */
	char issuer_org[TLS_CERT_NAME_MAX + 1]; /* organizationName; "" if none */
	char sans[TLS_CERT_SANS_MAX + 1]; /* DNS subjectAltNames, comma separated (',' is \x2c) */
};

/* What tls_cert_flaws() finds; bits. */
enum tls_cert_flaw {
	TLS_CERT_EXPIRED = 1,	    /* the capture is after notAfter */
	TLS_CERT_NOT_YET_VALID = 2, /* the capture is before notBefore */
	TLS_CERT_SELF_SIGNED = 4,
	TLS_CERT_NAME_MISMATCH = 8, /* no name of the certificate covers the host */
	TLS_CERT_NAME_UNKNOWN = 16, /* no host to check, or a list cut short: not judged */
};

struct tls_facts {
	enum tls_handshake handshake;
	enum tls_keys keys;
	bool decrypted;	       /* at least one record was decrypted and authenticated */
	bool encrypt_then_mac; /* the ServerHello agreed to RFC 7366 */
	uint64_t decrypted_records, failed_records; /* both directions */
	uint64_t plaintext_bytes[2];		     /* application data handed on, by direction */
	bool client_hello, server_hello, hello_retry_request;
	uint16_t version_code;	/* negotiated; 0 before a ServerHello */
	char version[16];	/* "TLSv1.3", or "0x7F1C" for an unknown one; "" if none */
	uint16_t cipher_code;	/* chosen by the ServerHello */
	char cipher[64];	/* IANA name, or "0xC0FF" for one not in the table; "" if none */
	char sni[TLS_SNI_MAX + 1];	  /* ClientHello host_name; not 0x21..0x7e, or \: \xHH */
	char alpn[TLS_ALPN_MAX + 1];	  /* chosen by the server (in clear up to TLS 1.2) */
	char alpn_offered[TLS_ALPN_MAX + 1]; /* the client's list, comma separated */
	bool sni_truncated, alpn_truncated;
	struct tls_alert alert;
	struct tls_cert cert;	 /* the server's, TLS 1.2 and older (1.3 sends it encrypted) */
	struct tls_side side[2]; /* [TLS_CLIENT], [TLS_SERVER] */
};

struct tls_keylog;

/* Application data decrypted from one record of dir, in order. */
typedef void tls_plain_fn(void *arg, enum tls_dir dir, const uint8_t *p, size_t n);
/* A record of dir whose n bytes of content could not be decrypted (after others were). */
typedef void tls_lost_fn(void *arg, enum tls_dir dir, size_t n);

struct tls_config {
	size_t max_handshake_msg; /* hello and Certificate bytes kept; 0 = default 65536 */
	struct tls_keylog *keylog; /* NULL: no decryption */
	tls_plain_fn *plain;
	tls_lost_fn *lost;
	void *arg;
};

struct tls_conn;

/* NULL config = defaults. Returns NULL when memory runs out. tls_free(NULL) is a no-op. */
struct tls_conn *tls_new(const struct tls_config *cfg);
void tls_free(struct tls_conn *c);

/* Bytes of one direction, in order; p is only read during the call. */
void tls_data(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n);
/* len bytes of one direction are missing (never seen). */
void tls_gap(struct tls_conn *c, enum tls_dir dir, uint64_t len);
/* The connection ended; settles a handshake still running (see enum tls_handshake). */
void tls_end(struct tls_conn *c, enum tls_closer who);

const struct tls_facts *tls_facts(const struct tls_conn *c);

/*
 * Do these first bytes start a TLS handshake record? 0x16, 0x03, 0x00..0x04 and a
 * length of 1..TLS_RECORD_MAX; needs the 5 header bytes (false with fewer).
 */
bool tls_looks_like_record(const uint8_t *p, size_t n);

/*
 * The key log (keylog.c): lines "LABEL <client random hex> <secret hex>" as
 * SSLKEYLOGFILE writers produce them (CLIENT_RANDOM for TLS <= 1.2; the
 * handshake and traffic secrets for TLS 1.3). One key log serves every thread
 * (a mutex). follow: when a key is missing, what was appended to the file
 * since is read first (live capture: the client writes its keys as it goes).
 * At most max_entries client randoms are kept (0: 100000); more are counted.
 * The file is only read through fd (opened by the caller, before privileges
 * are dropped); tls_keylog_free closes it. NULL with a one-line reason in err.
 */
struct tls_keylog_stats {
	uint64_t lines, entries, ignored_lines, bad_lines, dropped;
};
struct tls_keylog *tls_keylog_open(int fd, bool follow, size_t max_entries, char *err,
				   size_t errsz);
void tls_keylog_free(struct tls_keylog *kl);
void tls_keylog_get_stats(struct tls_keylog *kl, struct tls_keylog_stats *st);

/*
 * Read a Certificate message body (after the 4-byte handshake header) into *c:
 * the TLS 1.2 form (RFC 5246 §7.4.2: certificate_list<0..2^24-1> of
 * ASN.1Cert<1..2^24-1>) or, tls13, the TLS 1.3 one (RFC 8446 §4.4.2:
 * certificate_request_context<0..255>, then CertificateEntry {cert_data<1..2^24-1>,
 * extensions<0..2^16-1>}). The lengths must fill the body exactly and the leaf
 * must be DER that fills its own length. False, and *c untouched, if not.
 */
bool tls_read_certificate(struct tls_cert *c, const uint8_t *p, size_t n, bool tls13);
/*
 * Does the certificate name host (escaped as tls_facts.sni is)? RFC 6125 §6.4:
 * ASCII case-insensitive; a wildcard only as the whole left-most label, for
 * exactly one label, and not right above a single label ("*.com"); the DNS
 * subjectAltNames when there is any, else the subject's commonName.
 */
bool tls_cert_matches(const struct tls_cert *c, const char *host);
/*
 * enum tls_cert_flaw bits of a seen certificate at time t (Unix seconds, the
 * capture's), for host ("" or NULL: the name is not judged, NAME_UNKNOWN).
 * A mismatch against a cut SAN list or host is NAME_UNKNOWN, not a mismatch.
 */
unsigned tls_cert_flaws(const struct tls_cert *c, int64_t t, const char *host, bool host_cut);

/* Names for output; never NULL ("unknown" or "" where there is no name). */
const char *tls_handshake_name(enum tls_handshake h);
const char *tls_alert_name(uint8_t description); /* "handshake_failure", ...; "unknown" */
const char *tls_alert_level_name(uint8_t level);  /* "warning", "fatal", "unknown" */
const char *tls_dir_name(enum tls_dir dir);	   /* "client", "server" */
/* The IANA names; NULL for a code not in the tables (the facts hold those as hex). */
const char *tls_cipher_name(uint16_t code);
const char *tls_version_name(uint16_t code);
const char *tls_keys_name(enum tls_keys k); /* "off", "missing", "unsupported", "found" */

#endif
