/*
 * tlsclient.c - the probe's TLS client (RFC 3207 STARTTLS) with OpenSSL.
 *
 * One SSL_CTX per probe: the system's trust store (or --ca-file), SNI and
 * the name check set to the MX host (X509_VERIFY_PARAM_set1_host, RFC 6125),
 * peer verification on but never fatal inside OpenSSL (SSL_VERIFY_NONE keeps
 * the verification result): whether a bad certificate ends the probe is the
 * dialog's choice (--verify).
 *
 * The session keys go to a key log in memory (memfd, never on disk), written
 * by OpenSSL's keylog callback in the NSS format and followed by decode/
 * through tls_keylog_open(), the same path as --tls-keylog. So the decoder
 * decrypts the records it is fed and reads the dialog inside TLS exactly as
 * it reads a capture with a key log: one code path for both, the tls facts
 * (version, cipher, SNI, handshake, decrypted) come from the wire bytes.
 */
#define _GNU_SOURCE /* memfd_create */
#include "probe_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tlsc {
	SSL_CTX *ctx;
	int kl_fd;  /* written by the callback */
	int out_fd; /* --tls-keylog FILE, or -1 */
	struct tls_keylog *kl;
};

static int tlsc_index = -1;

/* OpenSSL hands each secret as one NSS key log line: append it. */
static void
keylog_line(const SSL *ssl, const char *line)
{
	struct tlsc *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tlsc_index);
	size_t n = strlen(line);

	if (!t || t->kl_fd < 0)
		return;
	if (write(t->kl_fd, line, n) != (ssize_t)n || write(t->kl_fd, "\n", 1) != 1)
		return; /* decode/ then cannot decrypt: the session says keys missing */
	/* --tls-keylog FILE: for reading -w FILE back (smtpscope -r F --tls-keylog K) */
	if (t->out_fd >= 0 && (write(t->out_fd, line, n) != (ssize_t)n ||
			       write(t->out_fd, "\n", 1) != 1))
		t->out_fd = -1; /* a full disk: the probe itself goes on */
}

struct tlsc *
tlsc_new(const struct probe_config *c, char *err, size_t errsz)
{
	struct tlsc *t = calloc(1, sizeof(*t));
	int rfd;

	if (!t) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	t->out_fd = c->keylog_fd;
	t->kl_fd = memfd_create("smtpscope-keylog", MFD_CLOEXEC);
	if (t->kl_fd < 0 || (rfd = dup(t->kl_fd)) < 0) {
		snprintf(err, errsz, "cannot make the TLS key log in memory: %s", strerror(errno));
		tlsc_free(t);
		return NULL;
	}
	if (!(t->kl = tls_keylog_open(rfd, true, 0, err, errsz))) {
		tlsc_free(t);
		return NULL;
	}
	if (tlsc_index < 0)
		tlsc_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (!(t->ctx = SSL_CTX_new(TLS_client_method())) ||
	    !SSL_CTX_set_ex_data(t->ctx, tlsc_index, t)) {
		snprintf(err, errsz, "OpenSSL: cannot make a TLS context");
		tlsc_free(t);
		return NULL;
	}
	SSL_CTX_set_keylog_callback(t->ctx, keylog_line);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	if (c->ca_file ? !SSL_CTX_load_verify_locations(t->ctx, c->ca_file, NULL)
		       : !SSL_CTX_set_default_verify_paths(t->ctx)) {
		snprintf(err, errsz, "--ca-file %s: no certificate could be read from it",
			 c->ca_file ? c->ca_file : "(system store)");
		ERR_clear_error();
		tlsc_free(t);
		return NULL;
	}
	return t;
}

struct tls_keylog *
tlsc_keylog(struct tlsc *t)
{
	return t ? t->kl : NULL;
}

void
tlsc_free(struct tlsc *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	tls_keylog_free(t->kl);
	if (t->kl_fd >= 0)
		close(t->kl_fd);
	free(t);
}

/* A connection's SSL: SNI and the name to verify are the MX host. */
struct ssl_st *
tlsc_ssl(struct tlsc *t, const char *host)
{
	SSL *ssl = SSL_new(t->ctx);

	if (!ssl)
		return NULL;
	uint8_t ip[16];
	bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;

	/* an address gets no SNI (RFC 6066 3) and is checked against the iPAddress names */
	if (literal ? !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
		    : !SSL_set1_host(ssl, host) || !SSL_set_tlsext_host_name(ssl, host)) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* X509_V_* codes in plain words: what a sending server that checks would do. */
static const struct {
	long code;
	const char *result;
	const char *words;
} verdicts[] = {
	{X509_V_OK, "ok",
	 "The certificate chain leads to a trusted root and the certificate names the MX host: "
	 "a sending server that checks certificates (Postfix smtp_tls_security_level=verify or "
	 "secure, MTA-STS) accepts it."},
	{X509_V_ERR_CERT_HAS_EXPIRED, "expired",
	 "The server's certificate has expired: a sending server that checks certificates "
	 "(MTA-STS, DANE, Postfix verify/secure) refuses to deliver; opportunistic TLS still "
	 "encrypts. The server's admin must renew the certificate."},
	{X509_V_ERR_CERT_NOT_YET_VALID, "not_yet_valid",
	 "The server's certificate is not valid yet (its notBefore is in the future): check the "
	 "server's clock, or the certificate was issued wrongly."},
	{X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "self_signed",
	 "The server's certificate is self-signed: nobody vouches for it, so a sending server "
	 "that checks certificates refuses it (opportunistic TLS still encrypts, unauthenticated). "
	 "Use a certificate from a public CA, or publish it with DANE (TLSA records)."},
	{X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "self_signed",
	 "The chain ends in a self-signed root that is not trusted here: a private CA, unknown to "
	 "sending servers."},
	{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unknown_issuer",
	 "The certificate's issuer is not known here: either a private CA, or the server does not "
	 "send the intermediate certificates (fix its chain file)."},
	{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "unknown_issuer",
	 "The certificate's issuer is not known here: either a private CA, or the server does not "
	 "send the intermediate certificates (fix its chain file)."},
	{X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "unknown_issuer",
	 "The certificate's issuer is not known here: either a private CA, or the server does not "
	 "send the intermediate certificates (fix its chain file)."},
	{X509_V_ERR_HOSTNAME_MISMATCH, "name_mismatch",
	 "The certificate does not name the MX host (neither its subjectAltNames nor its CN): a "
	 "sending server that checks names (MTA-STS, Postfix secure) refuses it. Put the MX host "
	 "name in the certificate."},
	{X509_V_ERR_IP_ADDRESS_MISMATCH, "name_mismatch",
	 "The certificate does not name the address the probe connected to."},
};

/* A name as RFC 2253 text, escaped like tls_cert's: printable ASCII kept. */
static void
name_text(char *buf, size_t n, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char tmp[TLS_CERT_NAME_MAX + 1] = "";
	size_t o = 0;
	int got = 0;

	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		got = BIO_read(b, tmp, sizeof(tmp) - 1);
	BIO_free(b);
	for (int i = 0; i < got && o + 5 < n; i++) {
		unsigned char ch = (unsigned char)tmp[i];

		if (ch >= 0x20 && ch <= 0x7e && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, n - o, "\\x%02X", ch);
	}
	buf[o] = '\0';
}

static int64_t
not_after(X509 *x)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

void
tlsc_verdict(struct ssl_st *ssl, const char *host, struct smtp_probe_tls *out)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	long code = SSL_get_verify_result(ssl);

	memset(out, 0, sizeof(*out));
	out->host = host;
	out->verify_code = code;
	out->result = "invalid";
	out->explanation = X509_verify_cert_error_string(code);
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		if (verdicts[i].code == code) {
			out->result = verdicts[i].result;
			out->explanation = verdicts[i].words;
		}
	if (!chain) {
		out->result = "none";
		out->explanation = "No certificate was received (the handshake did not get that far).";
		return;
	}
	for (int i = 0; i < sk_X509_num(chain) && out->n_chain < SMTP_PROBE_CHAIN_MAX; i++) {
		X509 *x = sk_X509_value(chain, i);
		struct smtp_probe_cert *pc = &out->chain[out->n_chain++];

		name_text(pc->subject, sizeof(pc->subject), X509_get_subject_name(x));
		name_text(pc->issuer, sizeof(pc->issuer), X509_get_issuer_name(x));
		pc->not_after = not_after(x);
	}
}
