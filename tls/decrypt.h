/*
 * decrypt.h - the key log's entries and the record protection of one direction
 * (private to tls/: keylog.c, decrypt.c, tls.c).
 */
#ifndef SMTPSCOPE_TLS_DECRYPT_H
#define SMTPSCOPE_TLS_DECRYPT_H

#include "tls.h"

#include <openssl/evp.h>

/* The secrets a key log gives for one ClientHello random. */
enum kl_secret {
	KL_MASTER, /* CLIENT_RANDOM: the TLS <= 1.2 master secret (48 bytes) */
	KL_CHTS,   /* CLIENT_HANDSHAKE_TRAFFIC_SECRET (TLS 1.3) */
	KL_SHTS,   /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
	KL_CATS,   /* CLIENT_TRAFFIC_SECRET_0 */
	KL_SATS,   /* SERVER_TRAFFIC_SECRET_0 */
	KL_N
};
#define KL_SECRET_MAX 64 /* SHA-384 gives 48; a longer value is a bad line */
#define KL_RANDOM 32

struct kl_keys {
	uint8_t have; /* bit (1 << enum kl_secret) per secret present */
	uint8_t len[KL_N];
	uint8_t secret[KL_N][KL_SECRET_MAX];
};

/*
 * Copy what the key log holds for this random into out. In follow mode, when
 * the secret `want` is not there, the lines appended since the last read are
 * read first. True when `want` is in out.
 */
bool kl_find(struct tls_keylog *kl, const uint8_t random[KL_RANDOM], enum kl_secret want,
	     struct kl_keys *out);

/* Is the key log followed (read again when a key is missing)? */
bool kl_follows(const struct tls_keylog *kl);

/* How a suite protects its records (RFC 8446 §5.2, RFC 5288, RFC 7905, RFC 5246 §6.2.3.2). */
enum suite_kind { SUITE_GCM, SUITE_CHACHA, SUITE_CBC };

struct tls_suite {
	uint16_t code;
	uint8_t kind;	 /* enum suite_kind */
	uint8_t key_len; /* bytes */
	uint8_t mac_len; /* CBC: HMAC output bytes; AEAD: 0 */
	uint8_t cipher;	 /* index into decrypt.c's cipher names */
	uint8_t prf;	 /* index into its digest names: the PRF / HKDF hash */
	uint8_t mac;	 /* CBC: the HMAC hash */
};

/* NULL for a suite decrypt.c cannot decrypt. */
const struct tls_suite *tls_suite_find(uint16_t code);

/* One direction's record protection: keys, sequence number, cipher state. */
struct rec_dir {
	EVP_CIPHER_CTX *ctx;
	EVP_MAC_CTX *hmac;
	const struct tls_suite *suite;
	uint16_t version;
	uint64_t seq;
	uint8_t key[32], iv[16], mac_key[48];
	uint8_t secret[KL_SECRET_MAX]; /* TLS 1.3: the current traffic secret (KeyUpdate) */
	uint8_t secret_len;
	bool ready;
};

/* TLS 1.3: protect with this traffic secret from the next record on (seq 0). */
bool rec_set_tls13(struct rec_dir *d, const struct tls_suite *s, const uint8_t *secret,
		   size_t len);
/* TLS 1.3 KeyUpdate: the next generation of the secret (RFC 8446 §7.2). */
bool rec_key_update(struct rec_dir *d);
/* TLS 1.0-1.2: both directions' keys from the master secret (RFC 5246 §6.3). */
bool rec_set_tls12(struct rec_dir *cl, struct rec_dir *sv, const struct tls_suite *s,
		   uint16_t version, const uint8_t master[48], const uint8_t crand[KL_RANDOM],
		   const uint8_t srand[KL_RANDOM]);
/*
 * Open one record (hdr: its 5-byte header; body decrypted in place). Returns
 * the length of the content, which starts at *out, with its real content type
 * in *type; -1 when it does not authenticate. The sequence number moves on
 * either way.
 */
long rec_open(struct rec_dir *d, const uint8_t hdr[5], uint8_t *body, size_t n, bool etm,
	      uint8_t **out, uint8_t *type);
void rec_free(struct rec_dir *d);

#endif
