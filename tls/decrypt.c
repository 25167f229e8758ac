/*
 * decrypt.c - record protection of TLS 1.0 to 1.3, undone with known secrets.
 *
 * Keys come from the key log's secrets exactly as the endpoints derived them:
 *  - TLS 1.3 (RFC 8446 §7.3): key = HKDF-Expand-Label(secret, "key", "", key_len),
 *    iv = HKDF-Expand-Label(secret, "iv", "", 12); a KeyUpdate moves the
 *    secret to HKDF-Expand-Label(secret, "traffic upd", "", hash_len) (§7.2).
 *  - TLS 1.0-1.2 (RFC 5246 §6.3): key_block = PRF(master, "key expansion",
 *    server_random + client_random), cut into the MAC keys, write keys and IVs.
 * Records (the nonce is the IV XOR the 64-bit sequence number, except TLS 1.2
 * GCM whose nonce is the 4-byte salt and the record's 8-byte explicit part):
 *  - TLS 1.3: AEAD over the record header; the content ends with its real
 *    type and zero padding (§5.2, §5.4).
 *  - TLS 1.2 AEAD (RFC 5288, RFC 7905): AAD = seq, type, version, length.
 *  - CBC with HMAC (RFC 5246 §6.2.3.2), MAC-then-encrypt, or encrypt-then-MAC
 *    when the ServerHello agreed to it (RFC 7366); TLS 1.0 chains the IV
 *    across records, 1.1 and 1.2 send it in each record.
 * Every length is checked before use; a record too short for its protection
 * is one that failed. libcrypto does the cryptography (EVP, EVP_KDF, EVP_MAC).
 */
#include "decrypt.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <string.h>

#define TAG_LEN 16

enum { C_AES128GCM, C_AES256GCM, C_CHACHA, C_AES128CBC, C_AES256CBC, C_N };
enum { H_SHA256, H_SHA384, H_SHA1, H_MD5SHA1, H_N };

static const char *const cipher_names[C_N] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305",
					      "AES-128-CBC", "AES-256-CBC"};
/* not const: OSSL_PARAM takes char * (it never writes through a parameter it only reads) */
static char digest_names[H_N][10] = {"SHA256", "SHA384", "SHA1", "MD5-SHA1"};
static const uint8_t digest_len[H_N] = {32, 48, 20, 36};

/* The suites we decrypt, by IANA code (RFC 8446 B.4, RFC 5288, RFC 5289, RFC 7905, RFC 5246 A.5). */
#define GCM128(c) {c, SUITE_GCM, 16, 0, C_AES128GCM, H_SHA256, 0}
#define GCM256(c) {c, SUITE_GCM, 32, 0, C_AES256GCM, H_SHA384, 0}
#define CHACHA(c) {c, SUITE_CHACHA, 32, 0, C_CHACHA, H_SHA256, 0}
#define CBC(c, k, m) {c, SUITE_CBC, k / 8, 0, k == 128 ? C_AES128CBC : C_AES256CBC, \
		      m == H_SHA384 ? H_SHA384 : H_SHA256, m}
static const struct tls_suite suites[] = {
	GCM128(0x1301), GCM256(0x1302), CHACHA(0x1303),
	GCM128(0x009C), GCM256(0x009D), GCM128(0x009E), GCM256(0x009F), GCM128(0xC02B),
	GCM256(0xC02C), GCM128(0xC02F), GCM256(0xC030), CHACHA(0xCCA8), CHACHA(0xCCA9),
	CHACHA(0xCCAA),
	CBC(0x002F, 128, H_SHA1), CBC(0x0035, 256, H_SHA1), CBC(0x0033, 128, H_SHA1),
	CBC(0x0039, 256, H_SHA1), CBC(0xC009, 128, H_SHA1), CBC(0xC00A, 256, H_SHA1),
	CBC(0xC013, 128, H_SHA1), CBC(0xC014, 256, H_SHA1), CBC(0x003C, 128, H_SHA256),
	CBC(0x003D, 256, H_SHA256), CBC(0x0067, 128, H_SHA256), CBC(0x006B, 256, H_SHA256),
	CBC(0xC023, 128, H_SHA256), CBC(0xC024, 256, H_SHA384), CBC(0xC027, 128, H_SHA256),
	CBC(0xC028, 256, H_SHA384),
};

/* Fetched once per process: the algorithms are shared by every thread (libcrypto allows it). */
static EVP_CIPHER *ciphers[C_N];
static EVP_KDF *hkdf, *tls1_prf;
static EVP_MAC *hmac;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;

static void
fetch_all(void)
{
	for (int i = 0; i < C_N; i++)
		ciphers[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
	hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	tls1_prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

const struct tls_suite *
tls_suite_find(uint16_t code)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].code == code)
			return &suites[i];
	return NULL;
}

/* HKDF-Expand-Label(secret, label, "", len) (RFC 8446 §7.1). */
static bool
expand_label(const struct tls_suite *s, const uint8_t *secret, size_t slen, const char *label,
	     uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 6 + 32 + 1];
	size_t ll = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];
	EVP_KDF_CTX *k = NULL;
	bool ok;

	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, ll);
	n += 6 + ll;
	info[n++] = 0; /* empty context */
	uint8_t key[KL_SECRET_MAX];

	if (slen > sizeof(key))
		return false;
	memcpy(key, secret, slen);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_names[s->prf], 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key, slen);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();
	ok = hkdf && (k = EVP_KDF_CTX_new(hkdf)) && EVP_KDF_derive(k, out, len, params) == 1;
	EVP_KDF_CTX_free(k);
	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

/* The cipher context, keyed; the IV is given per record. */
static bool
key_cipher(struct rec_dir *d)
{
	const EVP_CIPHER *c = ciphers[d->suite->cipher];

	if (!c)
		return false;
	if (!d->ctx && !(d->ctx = EVP_CIPHER_CTX_new()))
		return false;
	if (EVP_DecryptInit_ex(d->ctx, c, NULL, d->key, NULL) != 1)
		return false;
	if (d->suite->kind == SUITE_CBC)
		EVP_CIPHER_CTX_set_padding(d->ctx, 0);
	return true;
}

bool
rec_set_tls13(struct rec_dir *d, const struct tls_suite *s, const uint8_t *secret, size_t len)
{
	pthread_once(&fetched, fetch_all);
	d->ready = false;
	if (len > sizeof(d->secret) || len != digest_len[s->prf] || s->kind == SUITE_CBC)
		return false; /* TLS 1.3 protects records with an AEAD only */
	d->suite = s;
	d->version = 0x0304;
	d->seq = 0;
	memcpy(d->secret, secret, len);
	d->secret_len = (uint8_t)len;
	if (!expand_label(s, secret, len, "key", d->key, s->key_len) ||
	    !expand_label(s, secret, len, "iv", d->iv, 12))
		return false;
	d->ready = key_cipher(d);
	return d->ready;
}

bool
rec_key_update(struct rec_dir *d)
{
	uint8_t next[KL_SECRET_MAX];

	if (!d->suite || d->version != 0x0304 ||
	    !expand_label(d->suite, d->secret, d->secret_len, "traffic upd", next, d->secret_len)) {
		d->ready = false;
		return false;
	}
	bool ok = rec_set_tls13(d, d->suite, next, d->secret_len);

	OPENSSL_cleanse(next, sizeof(next));
	return ok;
}

/* PRF(master, "key expansion", server_random + client_random) (RFC 5246 §5, §6.3). */
static bool
key_block(const struct tls_suite *s, uint16_t version, const uint8_t master[48],
	  const uint8_t crand[KL_RANDOM], const uint8_t srand[KL_RANDOM], uint8_t *out, size_t len)
{
	uint8_t seed[13 + 2 * KL_RANDOM];
	char *md = digest_names[version >= 0x0303 ? s->prf : H_MD5SHA1];
	uint8_t secret[48];
	OSSL_PARAM params[4];
	EVP_KDF_CTX *k = NULL;
	bool ok;

	memcpy(seed, "key expansion", 13);
	memcpy(seed + 13, srand, KL_RANDOM);
	memcpy(seed + 13 + KL_RANDOM, crand, KL_RANDOM);
	memcpy(secret, master, sizeof(secret));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, md, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, secret, 48);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	ok = tls1_prf && (k = EVP_KDF_CTX_new(tls1_prf)) &&
	     EVP_KDF_derive(k, out, len, params) == 1;
	EVP_KDF_CTX_free(k);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok;
}

static bool
key_hmac(struct rec_dir *d)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     digest_names[d->suite->mac], 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!hmac || (!d->hmac && !(d->hmac = EVP_MAC_CTX_new(hmac))))
		return false;
	return EVP_MAC_CTX_set_params(d->hmac, params) == 1;
}

bool
rec_set_tls12(struct rec_dir *cl, struct rec_dir *sv, const struct tls_suite *s, uint16_t version,
	      const uint8_t master[48], const uint8_t crand[KL_RANDOM],
	      const uint8_t srand[KL_RANDOM])
{
	size_t mac = s->kind == SUITE_CBC ? digest_len[s->mac] : 0;
	size_t iv = s->kind == SUITE_GCM ? 4 : s->kind == SUITE_CHACHA ? 12 : 16;
	uint8_t kb[2 * 48 + 2 * 32 + 2 * 16];
	struct rec_dir *dirs[2] = {cl, sv};
	size_t len = 2 * (mac + s->key_len + iv);

	pthread_once(&fetched, fetch_all);
	cl->ready = sv->ready = false;
	if (s->code >> 8 == 0x13 || !key_block(s, version, master, crand, srand, kb, len))
		return false;
	for (int i = 0; i < 2; i++) {
		struct rec_dir *d = dirs[i];

		d->suite = s;
		d->version = version;
		d->seq = 0;
		memcpy(d->mac_key, kb + i * mac, mac);
		memcpy(d->key, kb + 2 * mac + i * s->key_len, s->key_len);
		memcpy(d->iv, kb + 2 * (mac + s->key_len) + i * iv, iv);
		d->ready = key_cipher(d) && (s->kind != SUITE_CBC || key_hmac(d));
	}
	OPENSSL_cleanse(kb, sizeof(kb));
	return cl->ready && sv->ready;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The IV XOR the sequence number, for TLS 1.3 and ChaCha20 in TLS 1.2 (RFC 8446 §5.3). */
static void
xor_nonce(const struct rec_dir *d, uint64_t seq, uint8_t nonce[12])
{
	uint8_t s[8];

	put_be64(s, seq);
	memcpy(nonce, d->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= s[i];
}

static bool
aead_open(struct rec_dir *d, const uint8_t *nonce, const uint8_t *aad, size_t aad_len, uint8_t *p,
	  size_t n)
{
	int outl;

	return EVP_DecryptInit_ex(d->ctx, NULL, NULL, NULL, nonce) == 1 &&
	       EVP_DecryptUpdate(d->ctx, NULL, &outl, aad, (int)aad_len) == 1 &&
	       EVP_DecryptUpdate(d->ctx, p, &outl, p, (int)n) == 1 &&
	       EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, p + n) == 1 &&
	       EVP_DecryptFinal_ex(d->ctx, p + outl, &outl) == 1;
}

/* TLS 1.2 AEAD's additional data: seq, type, version, content length (RFC 5246 §6.2.3.3). */
static void
tls12_aad(uint8_t aad[13], uint64_t seq, const uint8_t hdr[5], size_t len)
{
	put_be64(aad, seq);
	memcpy(aad + 8, hdr, 3);
	aad[11] = (uint8_t)(len >> 8);
	aad[12] = (uint8_t)len;
}

static long
open_tls13(struct rec_dir *d, const uint8_t hdr[5], uint8_t *body, size_t n, uint8_t *type)
{
	uint8_t nonce[12];
	size_t len;

	if (n < TAG_LEN + 1)
		return -1;
	xor_nonce(d, d->seq, nonce);
	if (!aead_open(d, nonce, hdr, 5, body, n - TAG_LEN))
		return -1;
	len = n - TAG_LEN;
	while (len > 0 && body[len - 1] == 0) /* padding (RFC 8446 §5.4) */
		len--;
	if (len == 0)
		return -1; /* no content type: not a valid record */
	*type = body[--len];
	return (long)len;
}

static long
open_aead12(struct rec_dir *d, const uint8_t hdr[5], uint8_t *body, size_t n, uint8_t **out)
{
	size_t explicit_len = d->suite->kind == SUITE_GCM ? 8 : 0, len;
	uint8_t nonce[12], aad[13];

	if (n < explicit_len + TAG_LEN)
		return -1;
	len = n - explicit_len - TAG_LEN;
	if (explicit_len) {
		memcpy(nonce, d->iv, 4);
		memcpy(nonce + 4, body, 8);
	} else {
		xor_nonce(d, d->seq, nonce);
	}
	tls12_aad(aad, d->seq, hdr, len);
	if (!aead_open(d, nonce, aad, sizeof(aad), body + explicit_len, len))
		return -1;
	*out = body + explicit_len;
	return (long)len;
}

/* HMAC(mac_key, seq + type + version + length + data) equals mac? (RFC 5246 §6.2.3.1) */
static bool
mac_ok(struct rec_dir *d, const uint8_t hdr[5], const uint8_t *data, size_t len,
       const uint8_t *mac)
{
	uint8_t head[13], md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0, want = digest_len[d->suite->mac];

	tls12_aad(head, d->seq, hdr, len);
	if (EVP_MAC_init(d->hmac, d->mac_key, want, NULL) != 1 ||
	    EVP_MAC_update(d->hmac, head, sizeof(head)) != 1 ||
	    EVP_MAC_update(d->hmac, data, len) != 1 ||
	    EVP_MAC_final(d->hmac, md, &mdlen, sizeof(md)) != 1 || mdlen != want)
		return false;
	return CRYPTO_memcmp(md, mac, want) == 0;
}

static bool
cbc_decrypt(struct rec_dir *d, const uint8_t *iv, uint8_t *p, size_t n)
{
	int outl;

	return EVP_DecryptInit_ex(d->ctx, NULL, NULL, NULL, iv) == 1 &&
	       EVP_DecryptUpdate(d->ctx, p, &outl, p, (int)n) == 1 && (size_t)outl == n;
}

/* Strip and check CBC padding (RFC 5246 §6.2.3.2): the length of what is left, or -1. */
static long
unpad(const uint8_t *p, size_t n)
{
	size_t pad = p[n - 1];

	if (pad + 1 > n)
		return -1;
	for (size_t i = n - 1 - pad; i < n; i++)
		if (p[i] != pad)
			return -1;
	return (long)(n - 1 - pad);
}

static long
open_cbc(struct rec_dir *d, const uint8_t hdr[5], uint8_t *body, size_t n, bool etm,
	 uint8_t **out)
{
	size_t mac = digest_len[d->suite->mac], ivlen = d->version >= 0x0302 ? 16 : 0;
	uint8_t iv[16], next_iv[16];
	size_t ct_len = etm ? (n >= mac ? n - mac : 0) : n;
	long left;

	if (ct_len < ivlen + 16 || (ct_len - ivlen) % 16 != 0)
		return -1;
	if (etm && !mac_ok(d, hdr, body, ct_len, body + ct_len))
		return -1;
	memcpy(iv, ivlen ? body : d->iv, 16);
	memcpy(next_iv, body + ct_len - 16, 16); /* TLS 1.0: the next record's IV */
	if (!cbc_decrypt(d, iv, body + ivlen, ct_len - ivlen))
		return -1;
	if (!ivlen)
		memcpy(d->iv, next_iv, 16);
	left = unpad(body + ivlen, ct_len - ivlen);
	if (left < 0 || (!etm && (size_t)left < mac))
		return -1;
	if (!etm) {
		left -= (long)mac;
		if (!mac_ok(d, hdr, body + ivlen, (size_t)left, body + ivlen + left))
			return -1;
	}
	*out = body + ivlen;
	return left;
}

long
rec_open(struct rec_dir *d, const uint8_t hdr[5], uint8_t *body, size_t n, bool etm,
	 uint8_t **out, uint8_t *type)
{
	long len;

	if (!d->ready)
		return -1;
	*out = body;
	*type = hdr[0];
	if (d->version == 0x0304)
		len = open_tls13(d, hdr, body, n, type);
	else if (d->suite->kind == SUITE_CBC)
		len = open_cbc(d, hdr, body, n, etm, out);
	else
		len = open_aead12(d, hdr, body, n, out);
	d->seq++;
	return len;
}

void
rec_free(struct rec_dir *d)
{
	EVP_CIPHER_CTX_free(d->ctx);
	EVP_MAC_CTX_free(d->hmac);
	OPENSSL_cleanse(d, sizeof(*d));
}
