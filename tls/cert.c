/*
 * cert.c - the server's Certificate message and its leaf certificate (see tls.h).
 *
 * The message framing (RFC 5246 §7.4.2, RFC 8446 §4.4.2) is read through
 * capture/rd.h; only the first certificate, the server's own (the chain after
 * it is only counted), goes to libcrypto's d2i_X509, bounded by its length.
 * What is kept: names, validity, DNS subjectAltNames (RFC 5280 §4.2.1.6),
 * whether it signed itself, the key. No chain building and no trust store:
 * the wire shows what the server sent, not what the client trusts.
 *
 * Cost per message: one DER parse and, for a certificate whose subject and
 * issuer agree, one signature check with its own key. libcrypto's allocations
 * live only during the call and are bounded by the message, itself capped by
 * tls_config.max_handshake_msg.
 */
#include "tls.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hello.h"
#include "../capture/rd.h"

/*
 * tls_append_escaped, except that one byte (keep) stays as itself where the
 * field's syntax allows it (a space in an X.500 name) or becomes \xHH where it
 * would be read as syntax (sep: the comma between SANs).
 */
static void
append_text(char *dst, size_t cap, const uint8_t *s, size_t n, int keep, int sep, bool *cut)
{
	size_t run = 0;

	for (size_t i = 0; i <= n && !*cut; i++) {
		if (i < n && s[i] != keep && s[i] != sep)
			continue;
		tls_append_escaped(dst, cap, s + run, i - run, cut);
		if (i == n || *cut)
			break;
		const char *lit = s[i] == keep ? " " : "\\x2c";
		size_t used = strlen(dst), k = strlen(lit);

		if (used + k >= cap) {
			*cut = true;
			break;
		}
		memcpy(dst + used, lit, k + 1);
		run = i + 1;
	}
}

/* The last entry of nid in name (RFC 6125 §6.4.4: the most specific CN) as UTF-8, escaped. */
static bool
name_entry(char *dst, size_t cap, const X509_NAME *name, int nid, bool *cut)
{
	int i = -1, last = -1;
	unsigned char *utf8 = NULL;
	int len;

	while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0)
		last = i;
	if (last < 0)
		return false;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
	if (len < 0)
		return false;
	dst[0] = '\0';
	append_text(dst, cap, utf8, (size_t)len, ' ', -1, cut);
	OPENSSL_free(utf8);
	return true;
}

/* The whole name on one line, RFC 2253, UTF-8 left as bytes for our escaping. */
static void
name_line(char *dst, size_t cap, const X509_NAME *name, bool *cut)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *text;
	long len;

	dst[0] = '\0';
	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (len = BIO_get_mem_data(bio, &text)) > 0)
		append_text(dst, cap, (const uint8_t *)text, (size_t)len, ' ', -1, cut);
	BIO_free(bio);
}

static bool
asn1_seconds(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

/* DNS names only (GEN_DNS); whole names, so a cut list never ends in half a name. */
static void
read_sans(struct tls_cert *c, X509 *x)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char one[TLS_CERT_SANS_MAX + 1];

	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		bool cut = false;

		if (g->type != GEN_DNS)
			continue;
		one[0] = '\0';
		append_text(one, sizeof(one), ASN1_STRING_get0_data(g->d.dNSName),
			    (size_t)ASN1_STRING_length(g->d.dNSName), -1, ',', &cut);
		size_t used = strlen(c->sans), k = strlen(one);

		if (cut || used + (used > 0) + k > TLS_CERT_SANS_MAX) {
			c->sans_truncated = true;
			break;
		}
		if (used)
			c->sans[used++] = ',';
		memcpy(c->sans + used, one, k + 1);
	}
	GENERAL_NAMES_free(names);
}

static const struct {
	int id;
	const char *name;
} key_types[] = {
	{EVP_PKEY_RSA, "RSA"},	     {EVP_PKEY_RSA_PSS, "RSA-PSS"}, {EVP_PKEY_EC, "EC"},
	{EVP_PKEY_DSA, "DSA"},	     {EVP_PKEY_ED25519, "Ed25519"}, {EVP_PKEY_ED448, "Ed448"},
};

static void
read_key(struct tls_cert *c, X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (!k)
		return;
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (EVP_PKEY_get_base_id(k) == key_types[i].id)
			snprintf(c->key_type, sizeof(c->key_type), "%s", key_types[i].name);
	if (EVP_PKEY_get_bits(k) > 0)
		c->key_bits = (uint32_t)EVP_PKEY_get_bits(k);
	/* self-issued (names, key identifiers, key usage agree) and signed by its own key */
	c->self_signed = X509_check_issued(x, x) == X509_V_OK && X509_verify(x, k) == 1;
}

/* The leaf: DER that must fill exactly its n bytes. */
static bool
parse_leaf(struct tls_cert *c, const uint8_t *der, size_t n)
{
	const unsigned char *q = der;
	X509 *x;
	bool ok;

	if (n > LONG_MAX || !(x = d2i_X509(NULL, &q, (long)n)))
		return false;
	ok = (size_t)(q - der) == n && asn1_seconds(X509_get0_notBefore(x), &c->not_before) &&
	     asn1_seconds(X509_get0_notAfter(x), &c->not_after);
	if (ok) {
		const X509_NAME *sub = X509_get_subject_name(x), *iss = X509_get_issuer_name(x);

		c->subject_cn = name_entry(c->subject, sizeof(c->subject), sub, NID_commonName,
					   &c->names_truncated);
		if (!c->subject_cn)
			name_line(c->subject, sizeof(c->subject), sub, &c->names_truncated);
		if (!name_entry(c->issuer, sizeof(c->issuer), iss, NID_commonName, &c->names_truncated))
			name_line(c->issuer, sizeof(c->issuer), iss, &c->names_truncated);
		name_entry(c->issuer_org, sizeof(c->issuer_org), iss, NID_organizationName,
			   &c->names_truncated);
		read_sans(c, x);
		read_key(c, x);
	}
	X509_free(x);
	return ok;
}

/*
 * The leaves read last, per thread: a mail server shows the same certificate
 * in every session, and libcrypto takes about 100 us to parse one (its
 * decoders, the key, a self-signature to check). A leaf is reused only when
 * its DER is byte for byte the same.
 */
#define LEAF_CACHE 8
#define LEAF_CACHE_DER 4096

struct leaf_seen {
	size_t n; /* 0: empty */
	bool ok;
	struct tls_cert c;
	uint8_t der[LEAF_CACHE_DER];
};

static _Thread_local struct leaf_seen leaves[LEAF_CACHE];
static _Thread_local unsigned next_leaf;

static bool
read_leaf(struct tls_cert *c, const uint8_t *der, size_t n)
{
	uint32_t chain = c->chain; /* counted by the caller, not by the leaf */
	struct leaf_seen *l;
	bool ok;

	for (unsigned i = 0; i < LEAF_CACHE; i++) {
		l = &leaves[i];
		if (l->n == n && memcmp(l->der, der, n) == 0) {
			*c = l->c;
			c->chain = chain;
			return l->ok;
		}
	}
	ok = parse_leaf(c, der, n);
	if (n > 0 && n <= LEAF_CACHE_DER) {
		l = &leaves[next_leaf++ % LEAF_CACHE];
		l->n = n;
		l->ok = ok;
		l->c = *c;
		memcpy(l->der, der, n);
	}
	return ok;
}

/* A 3-byte length (uint24); the two reads are sequenced, as they must be. */
static size_t
rd_be24(struct rd *r)
{
	size_t hi = rd_u8(r);

	return hi << 16 | rd_be16(r);
}

/*
 * The certificate list: each entry's cert_data (and in TLS 1.3 its
 * extensions) must fit; the first one is the leaf. An empty list, an empty
 * entry or bytes after the list make it malformed.
 */
static bool
read_list(struct tls_cert *c, struct rd *list, bool tls13)
{
	const uint8_t *leaf = NULL;
	size_t leaf_len = 0;

	while (list->left > 0) {
		size_t len = rd_be24(list);
		const uint8_t *der = rd_span(list, len);

		if (tls13)
			rd_span(list, rd_be16(list));
		if (list->short_read || len == 0)
			return false;
		if (!leaf) {
			leaf = der;
			leaf_len = len;
		}
		c->chain++;
	}
	return leaf && read_leaf(c, leaf, leaf_len);
}

bool
tls_read_certificate(struct tls_cert *c, const uint8_t *p, size_t n, bool tls13)
{
	struct tls_cert got;
	struct rd r = {p, n, false};
	bool ok;

	memset(&got, 0, sizeof(got));
	if (tls13)
		rd_span(&r, rd_u8(&r)); /* certificate_request_context */
	struct rd list = rd_sub(&r, rd_be24(&r));

	ok = !r.short_read && r.left == 0 && read_list(&got, &list, tls13);
	ERR_clear_error(); /* a refused DER or signature leaves libcrypto's queue (per thread) */
	if (!ok)
		return false;
	got.seen = true;
	*c = got;
	return true;
}

static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..m). */
static bool
same(const char *a, size_t n, const char *b, size_t m)
{
	if (n != m)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* One presented name against the host, both without a trailing dot (RFC 6125 §6.4.1, §6.4.3). */
static bool
name_matches(const char *pat, size_t pn, const char *host, size_t hn)
{
	const char *dot;

	if (pn && pat[pn - 1] == '.')
		pn--;
	if (pn == 0)
		return false;
	if (pn < 2 || pat[0] != '*' || pat[1] != '.')
		return same(pat, pn, host, hn);
	/* "*.rest": rest must hold two labels or more, and the host one label more than rest */
	const char *rest = pat + 1;
	size_t rn = pn - 1;

	if (!memchr(rest + 1, '.', rn - 1) || !(dot = memchr(host, '.', hn)) || dot == host)
		return false;
	return same(rest, rn, dot, hn - (size_t)(dot - host));
}

bool
tls_cert_matches(const struct tls_cert *c, const char *host)
{
	size_t hn = host ? strlen(host) : 0;

	if (hn && host[hn - 1] == '.')
		hn--;
	if (!c->seen || hn == 0)
		return false;
	if (!c->sans[0])
		return c->subject_cn && name_matches(c->subject, strlen(c->subject), host, hn);
	for (const char *s = c->sans; *s;) {
		size_t k = strcspn(s, ",");

		if (name_matches(s, k, host, hn))
			return true;
		s += k + (s[k] == ',');
	}
	return false;
}

unsigned
tls_cert_flaws(const struct tls_cert *c, int64_t t, const char *host, bool host_cut)
{
	unsigned f = 0;

	if (!c->seen)
		return 0;
	if (t > c->not_after)
		f |= TLS_CERT_EXPIRED;
	if (t < c->not_before)
		f |= TLS_CERT_NOT_YET_VALID;
	if (c->self_signed)
		f |= TLS_CERT_SELF_SIGNED;
	if (!host || !host[0] || host_cut)
		f |= TLS_CERT_NAME_UNKNOWN;
	else if (!tls_cert_matches(c, host))
		f |= c->sans_truncated || c->names_truncated ? TLS_CERT_NAME_UNKNOWN
							      : TLS_CERT_NAME_MISMATCH;
	return f;
}
