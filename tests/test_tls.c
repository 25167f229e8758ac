/*
 * test_tls.c - tls/: real handshakes between openssl s_server and s_client
 * (tests/data/tls/, made by samples/make-tls-samples.sh), fed in odd splits,
 * and hostile bytes that must be counted, never crash.
 *
 * The expected facts come from openssl's own transcripts beside the captures
 * (NAME.client.log, NAME.server.log: -msg -state output) and the commands in
 * make-tls-samples.sh, never from tls/'s output. Records per side are the
 * ">>> ... RecordHeader" lines of the sender's log; encrypted TLS 1.3 records
 * are its ">>> ... InnerContent" lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../tls/tls.h"
#include "data/tls/tls_samples.h"

#define SAMPLE(name) name##_bytes, name##_segs, sizeof(name##_segs) / sizeof(name##_segs[0])

enum split { SPLIT_SEGMENTS, SPLIT_BYTES, SPLIT_RANDOM };

static uint32_t rng_state;

static uint32_t
rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u; /* the C standard's example LCG */
	return rng_state >> 16;
}

/* Feed one capture in its order, each segment cut as the split says. */
static struct tls_conn *
feed(const uint8_t *bytes, const struct tls_sample_seg *segs, size_t n_segs, enum split how,
     uint32_t seed)
{
	struct tls_conn *c = tls_new(NULL);

	assert_non_null(c);
	rng_state = seed;
	for (size_t i = 0; i < n_segs; i++) {
		const uint8_t *p = bytes + segs[i].off;
		size_t left = segs[i].len;
		enum tls_dir dir = segs[i].dir ? TLS_SERVER : TLS_CLIENT;

		while (left > 0) {
			size_t take = left;

			if (how == SPLIT_BYTES)
				take = 1;
			else if (how == SPLIT_RANDOM)
				take = 1 + rng() % (left < 700 ? left : 700);
			tls_data(c, dir, p, take);
			p += take;
			left -= take;
		}
	}
	return c;
}

struct expect {
	enum tls_handshake hs;
	const char *version, *cipher, *sni, *alpn, *alpn_offered;
	bool alert;
	uint8_t level, desc;
	enum tls_dir alert_by;
	uint64_t records[2], encrypted[2], encrypted_alerts[2];
};

static void
check(const struct tls_facts *f, const struct expect *e)
{
	assert_string_equal(tls_handshake_name(f->handshake), tls_handshake_name(e->hs));
	assert_string_equal(f->version, e->version);
	assert_string_equal(f->cipher, e->cipher);
	assert_string_equal(f->sni, e->sni);
	assert_string_equal(f->alpn, e->alpn);
	assert_string_equal(f->alpn_offered, e->alpn_offered);
	assert_int_equal(f->alert.seen, e->alert);
	if (e->alert) {
		assert_false(f->alert.encrypted);
		assert_string_equal(tls_alert_level_name(f->alert.level),
				    tls_alert_level_name(e->level));
		assert_string_equal(tls_alert_name(f->alert.description), tls_alert_name(e->desc));
		assert_string_equal(tls_dir_name(f->alert.sent_by), tls_dir_name(e->alert_by));
	}
	for (int d = 0; d < 2; d++) {
		assert_int_equal(f->side[d].records, e->records[d]);
		assert_int_equal(f->side[d].encrypted_records, e->encrypted[d]);
		assert_int_equal(f->side[d].encrypted_alerts, e->encrypted_alerts[d]);
		assert_int_equal(f->side[d].unparsed_bytes, 0);
		assert_false(f->side[d].not_tls);
		assert_false(f->side[d].lost_sync);
		assert_false(f->side[d].truncated_record);
		assert_int_equal(f->side[d].caps_hit, 0);
		assert_int_equal(f->side[d].malformed, 0);
	}
}

/* Every split, the handshake settled before the end and after it. */
static void
check_sample(const uint8_t *bytes, const struct tls_sample_seg *segs, size_t n,
	     const struct expect *e)
{
	static const enum split splits[] = {SPLIT_SEGMENTS, SPLIT_BYTES, SPLIT_RANDOM};

	for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
		uint32_t seeds = splits[s] == SPLIT_RANDOM ? 20 : 1;

		for (uint32_t seed = 1; seed <= seeds; seed++) {
			struct tls_conn *c = feed(bytes, segs, n, splits[s], seed);

			/* settled by the bytes themselves, not by the end */
			assert_int_equal(tls_facts(c)->handshake, e->hs);
			tls_end(c, TLS_CLOSED_BY_CLIENT);
			check(tls_facts(c), e);
			tls_free(c);
		}
	}
}

/*
 * tls12_ok: s_client -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -servername
 * mx.example.test -alpn smtp. client.log: "New, TLSv1.2, Cipher is
 * ECDHE-RSA-AES128-GCM-SHA256" (IANA 0xC02F TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
 * "ALPN protocol: smtp", "read finished" after both Finished. Sent records:
 * client CH, CKE, CCS, Finished, data, close_notify (6; 3 after its CCS, one an
 * alert); server SH, Certificate, SKE, SHD, NewSessionTicket, CCS, Finished,
 * close_notify (8; 2 after its CCS, one an alert).
 */
static void
test_tls12_ok(void **state)
{
	const struct expect e = {
		.hs = TLS_HS_COMPLETED,
		.version = "TLSv1.2",
		.cipher = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		.sni = "mx.example.test",
		.alpn = "smtp",
		.alpn_offered = "smtp",
		.records = {6, 8},
		.encrypted = {3, 2},
		.encrypted_alerts = {1, 1},
	};

	(void)state;
	check_sample(SAMPLE(tls12_ok), &e);
}

/*
 * tls13_ok: s_client -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 ... -alpn smtp.
 * client.log: "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384", "ALPN protocol:
 * smtp" (sent by the server inside EncryptedExtensions, so not readable: alpn
 * stays ""). Sent records: client CH, CCS, Finished, data, close_notify (5, 3
 * InnerContent); server SH, CCS, EE, Certificate, CertificateVerify, Finished,
 * 2 NewSessionTicket, close_notify (9, 7 InnerContent). Encrypted 1.3 alerts are
 * application_data records: not counted as alerts.
 */
static void
test_tls13_ok(void **state)
{
	const struct expect e = {
		.hs = TLS_HS_COMPLETED,
		.version = "TLSv1.3",
		.cipher = "TLS_AES_256_GCM_SHA384",
		.sni = "mx.example.test",
		.alpn = "",
		.alpn_offered = "smtp",
		.records = {5, 9},
		.encrypted = {3, 7},
	};

	(void)state;
	check_sample(SAMPLE(tls13_ok), &e);
}

/*
 * tls12_nocipher: the client offers only ECDHE-RSA-AES128-GCM-SHA256, the server
 * (-cipher AES256-SHA) has no shared cipher. server.log: ">>> TLS 1.2, Alert
 * [length 0002], fatal handshake_failure" right after the ClientHello; no
 * ServerHello, so no version or cipher.
 */
static void
test_tls12_no_shared_cipher(void **state)
{
	const struct expect e = {
		.hs = TLS_HS_FAILED,
		.version = "",
		.cipher = "",
		.sni = "mx.example.test",
		.alpn = "",
		.alpn_offered = "",
		.alert = true,
		.level = TLS_ALERT_FATAL,
		.desc = 40, /* handshake_failure */
		.alert_by = TLS_SERVER,
		.records = {1, 1},
	};

	(void)state;
	check_sample(SAMPLE(tls12_nocipher), &e);
}

/*
 * tls12_verify: s_client -tls1_2 -verify_return_error against the self-signed
 * certificate. client.log: ">>> TLS 1.2, Alert [length 0002], fatal unknown_ca"
 * after the server's Certificate. server.log's ServerHello dump "02 00 00 3d 03 03
 * <32 random> 00 c0 30": no session id, cipher 0xC030.
 */
static void
test_tls12_verify_fails(void **state)
{
	const struct expect e = {
		.hs = TLS_HS_FAILED,
		.version = "TLSv1.2",
		.cipher = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
		.sni = "mx.example.test",
		.alpn = "",
		.alpn_offered = "",
		.alert = true,
		.level = TLS_ALERT_FATAL,
		.desc = 48, /* unknown_ca */
		.alert_by = TLS_CLIENT,
		.records = {2, 4},
	};

	(void)state;
	check_sample(SAMPLE(tls12_verify), &e);
}

/*
 * tls13_verify: the same in TLS 1.3. client.log: "New, TLSv1.3, Cipher is
 * TLS_AES_256_GCM_SHA384" and ">>> TLS 1.3, Alert [length 0002], fatal
 * unknown_ca" with no InnerContent line: OpenSSL sends it in clear (it has not
 * switched its write keys yet). Server sent SH, CCS, EE, Certificate, CV,
 * Finished (6, 4 InnerContent).
 */
static void
test_tls13_verify_fails(void **state)
{
	const struct expect e = {
		.hs = TLS_HS_FAILED,
		.version = "TLSv1.3",
		.cipher = "TLS_AES_256_GCM_SHA384",
		.sni = "mx.example.test",
		.alpn = "",
		.alpn_offered = "",
		.alert = true,
		.level = TLS_ALERT_FATAL,
		.desc = 48, /* unknown_ca */
		.alert_by = TLS_CLIENT,
		.records = {2, 6},
		.encrypted = {0, 4},
	};

	(void)state;
	check_sample(SAMPLE(tls13_verify), &e);
}

/* The first segments of tls12_ok: ClientHello, the server's first flight. */
static size_t
segments_before_client_ccs(void)
{
	size_t n = 0;

	while (n < sizeof(tls12_ok_segs) / sizeof(tls12_ok_segs[0]) &&
	       !(n > 0 && tls12_ok_segs[n].dir == 0))
		n++;
	return n;
}

/* A side that closes before completion, with no alert: abandoned; nobody seen closing: started. */
static void
test_abandoned_or_started(void **state)
{
	size_t n = segments_before_client_ccs();

	(void)state;
	assert_true(n >= 2); /* the ClientHello and at least one server segment */
	struct tls_conn *c = feed(tls12_ok_bytes, tls12_ok_segs, n, SPLIT_SEGMENTS, 1);

	assert_int_equal(tls_facts(c)->handshake, TLS_HS_STARTED);
	assert_string_equal(tls_facts(c)->version, "TLSv1.2");
	tls_end(c, TLS_CLOSED_BY_SERVER);
	assert_string_equal(tls_handshake_name(tls_facts(c)->handshake), "abandoned");
	assert_false(tls_facts(c)->alert.seen);
	tls_free(c);

	c = feed(tls12_ok_bytes, tls12_ok_segs, n, SPLIT_RANDOM, 7);
	tls_end(c, TLS_CLOSED_UNSEEN);
	assert_int_equal(tls_facts(c)->handshake, TLS_HS_STARTED);
	tls_free(c);

	c = tls_new(NULL);
	tls_end(c, TLS_CLOSED_BY_CLIENT);
	assert_string_equal(tls_handshake_name(tls_facts(c)->handshake), "none");
	tls_free(c);
}

/* A hello over max_handshake_msg is skipped and counted; the record layer goes on. */
static void
test_handshake_cap(void **state)
{
	/* client.log: ClientHello record length 0x00a6, so a 162-byte body; ServerHello 0x4c - 4 */
	const struct tls_config cfg = {.max_handshake_msg = 100};
	struct tls_conn *c = tls_new(&cfg);
	size_t n = sizeof(tls12_ok_segs) / sizeof(tls12_ok_segs[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		tls_data(c, tls12_ok_segs[i].dir ? TLS_SERVER : TLS_CLIENT,
			 tls12_ok_bytes + tls12_ok_segs[i].off, tls12_ok_segs[i].len);
	const struct tls_facts *f = tls_facts(c);

	assert_int_equal(f->side[TLS_CLIENT].caps_hit, 1);
	assert_int_equal(f->side[TLS_CLIENT].unparsed_bytes, 0xa6 - 4);
	/* server.log: "Handshake [length 0323], Certificate", past the cap too, so not read */
	assert_int_equal(f->side[TLS_SERVER].caps_hit, 1);
	assert_int_equal(f->side[TLS_SERVER].unparsed_bytes, 0x323 - 4);
	assert_false(f->cert.seen);
	assert_false(f->client_hello);
	assert_string_equal(f->sni, "");
	assert_string_equal(f->version, "TLSv1.2");
	assert_int_equal(f->handshake, TLS_HS_COMPLETED);
	tls_free(c);
}

/* --- hand-made records, for what openssl will not send --- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put8(struct buf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void
put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void
put24(struct buf *b, unsigned v)
{
	put8(b, v >> 16);
	put16(b, v);
}

/* A handshake message of type t around body. */
static void
put_hs(struct buf *b, unsigned t, const struct buf *body)
{
	put8(b, t);
	put24(b, (unsigned)body->n);
	put(b, body->b, body->n);
}

/* Records of content type t carrying msg, cut into fragments of at most frag bytes. */
static void
put_records(struct buf *b, unsigned t, const struct buf *msg, size_t frag)
{
	for (size_t off = 0; off < msg->n; off += frag) {
		size_t k = msg->n - off < frag ? msg->n - off : frag;

		put8(b, t);
		put16(b, 0x0303);
		put16(b, (unsigned)k);
		put(b, msg->b + off, k);
	}
}

/* A length-prefixed vector (2-byte length) holding v. */
static void
put_vec16(struct buf *b, const struct buf *v)
{
	put16(b, (unsigned)v->n);
	put(b, v->b, v->n);
}

/* A ClientHello body (RFC 8446 §4.1.2): server_name (RFC 6066) and ALPN "h2","smtp". */
static void
client_hello_body(struct buf *body, const uint8_t *sni, size_t sni_len)
{
	static const uint8_t random[32];
	struct buf exts = {.n = 0}, list = {.n = 0}, ext = {.n = 0};

	put16(body, 0x0303);
	put(body, random, sizeof(random));
	put8(body, 0);	   /* legacy_session_id */
	put16(body, 4);	   /* cipher_suites */
	put16(body, 0x1301);
	put16(body, 0xC02F);
	put8(body, 1);	   /* legacy_compression_methods */
	put8(body, 0);
	put8(&list, 0);	   /* host_name */
	put16(&list, (unsigned)sni_len);
	put(&list, sni, sni_len);
	put_vec16(&ext, &list);
	put16(&exts, 0);   /* server_name */
	put_vec16(&exts, &ext);
	list.n = ext.n = 0;
	put8(&list, 2);
	put(&list, "h2", 2);
	put8(&list, 4);
	put(&list, "smtp", 4);
	put_vec16(&ext, &list);
	put16(&exts, 16);  /* application_layer_protocol_negotiation */
	put_vec16(&exts, &ext);
	put_vec16(body, &exts);
}

/* A ServerHello body: version 0x0303, cipher, and supported_versions when sv is not 0. */
static void
server_hello_body(struct buf *body, unsigned cipher, unsigned sv, bool hrr)
{
	static const uint8_t hrr_random[32] = {
		0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
		0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
		0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
	};
	static const uint8_t random[32] = {1};
	struct buf exts = {.n = 0};

	put16(body, 0x0303);
	put(body, hrr ? hrr_random : random, 32);
	put8(body, 0);
	put16(body, cipher);
	put8(body, 0);
	if (sv) {
		put16(&exts, 43);
		put16(&exts, 2);
		put16(&exts, sv);
	}
	put_vec16(body, &exts);
}

/* One message of type t (body) as handshake records of at most frag bytes. */
static void
hs_records(struct buf *out, unsigned t, const struct buf *body, size_t frag)
{
	struct buf hs = {.n = 0};

	put_hs(&hs, t, body);
	put_records(out, 22, &hs, frag);
}

/* A record of type t with n filler bytes (an encrypted one, say). */
static void
opaque_record(struct buf *out, unsigned t, size_t n)
{
	struct buf body = {.n = 0};

	memset(body.b, 0xA5, n);
	body.n = n;
	put_records(out, t, &body, 16384);
}

static void
feed_buf(struct tls_conn *c, enum tls_dir dir, const struct buf *b)
{
	tls_data(c, dir, b->b, b->n);
}

/* A ClientHello cut into 7-byte records; SNI with control bytes and a backslash escaped. */
static void
test_hello_across_records_and_escaping(void **state)
{
	static const uint8_t sni[] = "mx.\x01\x1b[31m\\evil\x7f.test";
	struct buf body = {.n = 0}, rec = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	client_hello_body(&body, sni, sizeof(sni) - 1);
	hs_records(&rec, 1, &body, 7);
	for (size_t i = 0; i < rec.n; i++)
		tls_data(c, TLS_CLIENT, rec.b + i, 1);
	const struct tls_facts *f = tls_facts(c);

	assert_true(f->client_hello);
	assert_string_equal(f->sni, "mx.\\x01\\x1b[31m\\x5cevil\\x7f.test");
	assert_false(f->sni_truncated);
	assert_string_equal(f->alpn_offered, "h2,smtp");
	assert_int_equal(f->side[TLS_CLIENT].records, (body.n + 4 + 6) / 7);
	assert_int_equal(f->side[TLS_CLIENT].unparsed_bytes, 0);
	assert_int_equal(f->handshake, TLS_HS_STARTED);
	tls_free(c);
}

/* A 1000-byte server_name is cut at TLS_SNI_MAX and says so. */
static void
test_long_sni_capped(void **state)
{
	uint8_t sni[1000];
	struct buf body = {.n = 0}, rec = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	memset(sni, 'a', sizeof(sni));
	client_hello_body(&body, sni, sizeof(sni));
	hs_records(&rec, 1, &body, 16384);
	feed_buf(c, TLS_CLIENT, &rec);
	assert_int_equal(strlen(tls_facts(c)->sni), TLS_SNI_MAX);
	assert_true(tls_facts(c)->sni_truncated);
	tls_free(c);
}

/* TLS 1.2: an alert record after the client's ChangeCipherSpec is unreadable: failed, encrypted. */
static void
test_tls12_encrypted_alert_before_completion(void **state)
{
	struct buf ch = {.n = 0}, sh = {.n = 0}, cl = {.n = 0}, sv = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	client_hello_body(&ch, (const uint8_t *)"a.test", 6);
	hs_records(&cl, 1, &ch, 16384);
	feed_buf(c, TLS_CLIENT, &cl);
	server_hello_body(&sh, 0xC02F, 0, false);
	hs_records(&sv, 2, &sh, 16384);
	feed_buf(c, TLS_SERVER, &sv);
	cl.n = 0;
	opaque_record(&cl, 20, 1);  /* ChangeCipherSpec */
	opaque_record(&cl, 21, 26); /* an alert under the new keys */
	feed_buf(c, TLS_CLIENT, &cl);
	const struct tls_facts *f = tls_facts(c);

	assert_string_equal(f->version, "TLSv1.2");
	assert_string_equal(f->cipher, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	assert_int_equal(f->handshake, TLS_HS_FAILED);
	assert_true(f->alert.seen);
	assert_true(f->alert.encrypted);
	assert_int_equal(f->alert.sent_by, TLS_CLIENT);
	assert_int_equal(f->side[TLS_CLIENT].encrypted_records, 1);
	assert_int_equal(f->side[TLS_CLIENT].encrypted_alerts, 1);
	tls_free(c);
}

/* TLS 1.3: a client application_data record too short for a Finished is an encrypted alert. */
static void
test_tls13_short_client_record_is_alert(void **state)
{
	struct buf ch = {.n = 0}, sh = {.n = 0}, cl = {.n = 0}, sv = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	client_hello_body(&ch, (const uint8_t *)"a.test", 6);
	hs_records(&cl, 1, &ch, 16384);
	feed_buf(c, TLS_CLIENT, &cl);
	server_hello_body(&sh, 0x1301, 0x0304, false);
	hs_records(&sv, 2, &sh, 16384);
	opaque_record(&sv, 20, 1);
	opaque_record(&sv, 23, 900); /* EncryptedExtensions .. Finished */
	feed_buf(c, TLS_SERVER, &sv);
	cl.n = 0;
	opaque_record(&cl, 20, 1);
	opaque_record(&cl, 23, 19); /* alert 2 + type 1 + tag 16 */
	feed_buf(c, TLS_CLIENT, &cl);
	const struct tls_facts *f = tls_facts(c);

	assert_string_equal(f->version, "TLSv1.3");
	assert_string_equal(f->cipher, "TLS_AES_128_GCM_SHA256");
	assert_int_equal(f->handshake, TLS_HS_FAILED);
	assert_true(f->alert.encrypted);
	assert_int_equal(f->side[TLS_CLIENT].encrypted_alerts, 0); /* not tellable in 1.3 */
	tls_free(c);
}

/* HelloRetryRequest: not the ServerHello; the second ClientHello after a CCS stays in clear. */
static void
test_hello_retry_request(void **state)
{
	struct buf ch = {.n = 0}, sh = {.n = 0}, cl = {.n = 0}, sv = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	client_hello_body(&ch, (const uint8_t *)"first.test", 10);
	hs_records(&cl, 1, &ch, 16384);
	feed_buf(c, TLS_CLIENT, &cl);
	server_hello_body(&sh, 0x1302, 0x0304, true);
	hs_records(&sv, 2, &sh, 16384);
	opaque_record(&sv, 20, 1);
	feed_buf(c, TLS_SERVER, &sv);
	assert_true(tls_facts(c)->hello_retry_request);
	assert_false(tls_facts(c)->server_hello);
	assert_string_equal(tls_facts(c)->version, "");
	cl.n = ch.n = 0;
	opaque_record(&cl, 20, 1);
	client_hello_body(&ch, (const uint8_t *)"second.test", 11);
	hs_records(&cl, 1, &ch, 16384);
	feed_buf(c, TLS_CLIENT, &cl);
	assert_string_equal(tls_facts(c)->sni, "second.test");
	assert_int_equal(tls_facts(c)->side[TLS_CLIENT].encrypted_records, 0);
	sh.n = sv.n = 0;
	server_hello_body(&sh, 0x1302, 0x0304, false);
	hs_records(&sv, 2, &sh, 16384);
	opaque_record(&sv, 23, 800);
	feed_buf(c, TLS_SERVER, &sv);
	cl.n = 0;
	opaque_record(&cl, 23, 53); /* the smallest encrypted Finished */
	feed_buf(c, TLS_CLIENT, &cl);
	assert_string_equal(tls_facts(c)->cipher, "TLS_AES_256_GCM_SHA384");
	assert_int_equal(tls_facts(c)->handshake, TLS_HS_COMPLETED);
	tls_free(c);
}

/* Gaps: inside a record the framing holds; across a record boundary it is lost and said. */
static void
test_gaps(void **state)
{
	struct buf b = {.n = 0};
	struct tls_conn *c = tls_new(NULL);
	const struct tls_side *s = &tls_facts(c)->side[TLS_SERVER];

	(void)state;
	opaque_record(&b, 23, 100);
	opaque_record(&b, 23, 50);
	tls_data(c, TLS_SERVER, b.b, 30);   /* header + 25 */
	tls_gap(c, TLS_SERVER, 60);	    /* still inside the first record */
	tls_data(c, TLS_SERVER, b.b + 90, b.n - 90);
	assert_int_equal(s->records, 2);
	assert_int_equal(s->gap_bytes, 60);
	assert_false(s->lost_sync);
	assert_int_equal(s->unparsed_bytes, 0);
	tls_data(c, TLS_SERVER, b.b, 10);   /* header + 5 of a third */
	tls_gap(c, TLS_SERVER, 200);	    /* past its end */
	assert_true(s->lost_sync);
	assert_false(s->not_tls);
	tls_data(c, TLS_SERVER, b.b, 40);
	assert_int_equal(s->unparsed_bytes, 40);
	assert_int_equal(s->records, 3);
	tls_free(c);
}

/* A gap inside a clear ClientHello: its facts are lost, the framing is not. */
static void
test_gap_in_hello(void **state)
{
	struct buf ch = {.n = 0}, cl = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	client_hello_body(&ch, (const uint8_t *)"a.test", 6);
	hs_records(&cl, 1, &ch, 16384);
	tls_data(c, TLS_CLIENT, cl.b, 20);
	tls_gap(c, TLS_CLIENT, 10);
	tls_data(c, TLS_CLIENT, cl.b + 30, cl.n - 30);
	opaque_record(&cl, 21, 2);
	tls_data(c, TLS_CLIENT, cl.b + cl.n - 7, 7);
	assert_false(tls_facts(c)->client_hello);
	assert_false(tls_facts(c)->side[TLS_CLIENT].lost_sync);
	assert_int_equal(tls_facts(c)->side[TLS_CLIENT].records, 2);
	tls_free(c);
}

/* Length 0xFFFF is past 2^14 + 2048: not TLS, every byte counted, nothing read. */
static void
test_hostile_length(void **state)
{
	static const uint8_t rec[] = {0x16, 0x03, 0x01, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x10};
	struct tls_conn *c = tls_new(NULL);
	const struct tls_side *s = &tls_facts(c)->side[TLS_CLIENT];

	(void)state;
	for (size_t i = 0; i < sizeof(rec); i++)
		tls_data(c, TLS_CLIENT, rec + i, 1);
	assert_true(s->not_tls);
	assert_true(s->lost_sync);
	assert_int_equal(s->records, 0);
	assert_int_equal(s->unparsed_bytes, sizeof(rec));
	assert_false(tls_looks_like_record(rec, sizeof(rec)));
	tls_end(c, TLS_CLOSED_BY_CLIENT);
	assert_int_equal(tls_facts(c)->handshake, TLS_HS_NONE);
	tls_free(c);
}

/* SMTP where TLS was expected: not TLS from the first byte. */
static void
test_plaintext_is_not_tls(void **state)
{
	static const char ehlo[] = "EHLO client.example.test\r\n";
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	tls_data(c, TLS_CLIENT, (const uint8_t *)ehlo, sizeof(ehlo) - 1);
	assert_true(tls_facts(c)->side[TLS_CLIENT].not_tls);
	assert_int_equal(tls_facts(c)->side[TLS_CLIENT].unparsed_bytes, sizeof(ehlo) - 1);
	assert_false(tls_facts(c)->side[TLS_SERVER].not_tls);
	tls_free(c);
}

/* A ClientHello cut by the end of the connection: the record is counted as truncated. */
static void
test_truncated_record(void **state)
{
	size_t len = tls12_ok_segs[0].len;
	struct tls_conn *c = tls_new(NULL);
	const struct tls_side *s = &tls_facts(c)->side[TLS_CLIENT];

	(void)state;
	assert_true(len > 40);
	tls_data(c, TLS_CLIENT, tls12_ok_bytes, len - 30);
	assert_false(tls_facts(c)->client_hello);
	tls_end(c, TLS_CLOSED_BY_CLIENT);
	assert_true(s->truncated_record);
	assert_int_equal(s->unparsed_bytes, len - 30);
	assert_int_equal(tls_facts(c)->handshake, TLS_HS_NONE);
	/* after the end, bytes are only counted */
	tls_data(c, TLS_CLIENT, tls12_ok_bytes, 5);
	assert_int_equal(s->unparsed_bytes, len - 25);
	tls_free(c);
}

static void
test_looks_like_record(void **state)
{
	static const uint8_t ok[] = {0x16, 0x03, 0x01, 0x00, 0xa6};
	static const uint8_t zero[] = {0x16, 0x03, 0x01, 0x00, 0x00};
	static const uint8_t v5[] = {0x16, 0x03, 0x05, 0x00, 0x10};
	static const uint8_t app[] = {0x17, 0x03, 0x03, 0x00, 0x10};
	static const uint8_t max[] = {0x16, 0x03, 0x03, 0x48, 0x00}; /* 2^14 + 2048 */
	static const uint8_t over[] = {0x16, 0x03, 0x03, 0x48, 0x01};

	(void)state;
	assert_true(tls_looks_like_record(tls12_ok_bytes, tls12_ok_segs[0].len));
	assert_true(tls_looks_like_record(tls13_ok_bytes, 5));
	assert_true(tls_looks_like_record(ok, sizeof(ok)));
	assert_false(tls_looks_like_record(ok, 4));
	assert_false(tls_looks_like_record(NULL, 0));
	assert_false(tls_looks_like_record(zero, sizeof(zero)));
	assert_false(tls_looks_like_record(v5, sizeof(v5)));
	assert_false(tls_looks_like_record(app, sizeof(app)));
	assert_true(tls_looks_like_record(max, sizeof(max)));
	assert_false(tls_looks_like_record(over, sizeof(over)));
	assert_false(tls_looks_like_record((const uint8_t *)"EHLO x\r\n", 8));
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tls_alert_name(0), "close_notify");
	assert_string_equal(tls_alert_name(40), "handshake_failure");
	assert_string_equal(tls_alert_name(48), "unknown_ca");
	assert_string_equal(tls_alert_name(112), "unrecognized_name");
	assert_string_equal(tls_alert_name(120), "no_application_protocol");
	assert_string_equal(tls_alert_name(255), "unknown");
	assert_string_equal(tls_alert_level_name(7), "unknown");
	assert_string_equal(tls_handshake_name(TLS_HS_COMPLETED), "completed");
	assert_string_equal(tls_handshake_name((enum tls_handshake)99), "unknown");
	assert_string_equal(tls_cipher_name(0x1303), "TLS_CHACHA20_POLY1305_SHA256");
	assert_string_equal(tls_cipher_name(0xCCA8), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
	assert_null(tls_cipher_name(0xC0FF));
	assert_string_equal(tls_version_name(0x0301), "TLSv1.0");
	assert_null(tls_version_name(0x7F1C));
}

/* An unknown cipher and version print as hex. */
static void
test_unknown_codes_as_hex(void **state)
{
	struct buf sh = {.n = 0}, sv = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	server_hello_body(&sh, 0xC0FF, 0x7F1C, false);
	hs_records(&sv, 2, &sh, 16384);
	feed_buf(c, TLS_SERVER, &sv);
	assert_string_equal(tls_facts(c)->cipher, "0xC0FF");
	assert_string_equal(tls_facts(c)->version, "0x7F1C");
	tls_free(c);
}

/* Seeded garbage and mutated real handshakes, random splits and gaps: counted, no crash. */
static void
test_garbage_and_mutations(void **state)
{
	static uint8_t junk[65536];
	static const struct {
		const uint8_t *bytes;
		const struct tls_sample_seg *segs;
		size_t n;
	} samples[] = {
		{SAMPLE(tls12_ok)}, {SAMPLE(tls13_ok)}, {SAMPLE(tls12_nocipher)},
		{SAMPLE(tls12_verify)}, {SAMPLE(tls13_verify)}, {SAMPLE(tls12_expired)},
		{SAMPLE(tls12_notyet)}, {SAMPLE(tls12_chain)}, {SAMPLE(tls12_mismatch)},
	};

	(void)state;
	rng_state = 12345;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rng();
	for (int round = 0; round < 400; round++) {
		const size_t k = (size_t)round % (sizeof(samples) / sizeof(samples[0]));
		const struct tls_config cfg = {.max_handshake_msg = (size_t)(round % 3) * 200};
		struct tls_conn *c = tls_new(&cfg);
		uint64_t fed[2] = {0, 0};

		for (size_t i = 0; i < samples[k].n; i++) {
			const struct tls_sample_seg *g = &samples[k].segs[i];
			uint8_t seg[20000];
			size_t len = g->len < sizeof(seg) ? g->len : sizeof(seg);

			memcpy(seg, samples[k].bytes + g->off, len);
			for (int m = 0; m < 3 && len > 0; m++) /* flip, plant 0xFF or a record type */
				seg[rng() % len] = (uint8_t)(m == 0 ? rng() : m == 1 ? 0xFF : 0x16);
			for (size_t off = 0; off < len;) {
				size_t take = 1 + rng() % (len - off);

				tls_data(c, g->dir ? TLS_SERVER : TLS_CLIENT, seg + off, take);
				fed[g->dir] += take;
				off += take;
			}
			if (rng() % 16 == 0)
				tls_gap(c, g->dir ? TLS_SERVER : TLS_CLIENT, rng() % 300);
		}
		size_t jn = rng() % 4096, jo = rng() % (sizeof(junk) - jn);

		tls_data(c, TLS_CLIENT, junk + jo, jn);
		fed[TLS_CLIENT] += jn;
		tls_end(c, (enum tls_closer)(round % 3));
		const struct tls_facts *f = tls_facts(c);

		for (int d = 0; d < 2; d++) {
			assert_int_equal(f->side[d].bytes, fed[d]);
			assert_true(f->side[d].unparsed_bytes <= f->side[d].bytes);
			assert_true(f->side[d].records <= f->side[d].bytes / 5);
			assert_true(strlen(f->sni) <= TLS_SNI_MAX);
			assert_true(strlen(f->cert.sans) <= TLS_CERT_SANS_MAX);
			assert_true(strlen(f->cert.subject) <= TLS_CERT_NAME_MAX);
		}
		assert_true(f->handshake < TLS_HS_COUNT);
		tls_free(c);
	}
	/* pure junk on both sides, 1 to 700 bytes a call */
	struct tls_conn *c = tls_new(NULL);

	for (size_t off = 0; off < sizeof(junk);) {
		size_t take = 1 + rng() % 700;

		if (take > sizeof(junk) - off)
			take = sizeof(junk) - off;
		tls_data(c, (enum tls_dir)(rng() & 1), junk + off, take);
		off += take;
	}
	const struct tls_facts *f = tls_facts(c);

	assert_int_equal(f->side[0].bytes + f->side[1].bytes, sizeof(junk));
	assert_true(f->side[0].unparsed_bytes + f->side[1].unparsed_bytes > 0);
	tls_free(c);
}

/* A ClientHello whose extensions claim more than there is: counted malformed, what parsed kept. */
static void
test_malformed_hello(void **state)
{
	struct buf body = {.n = 0}, rec = {.n = 0};
	struct tls_conn *c = tls_new(NULL);

	(void)state;
	client_hello_body(&body, (const uint8_t *)"a.test", 6);
	body.b[2 + 32 + 1 + 2 + 4 + 2] = 0x7F; /* extensions length, high byte */
	hs_records(&rec, 1, &body, 16384);
	feed_buf(c, TLS_CLIENT, &rec);
	assert_true(tls_facts(c)->client_hello);
	assert_int_equal(tls_facts(c)->side[TLS_CLIENT].malformed, 1);
	assert_string_equal(tls_facts(c)->sni, "");
	assert_int_equal(tls_facts(c)->side[TLS_CLIENT].unparsed_bytes, 0);
	tls_free(c);
}

/* Empty hellos (handshake length 0), a ServerHello from the client: malformed or ignored. */
static void
test_empty_and_misplaced_hellos(void **state)
{
	static const uint8_t ch0[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
	static const uint8_t sh0[] = {0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00};
	static const uint8_t sh_from_client[] = {0x16, 0x03, 0x03, 0x00, 0x06, 0x02, 0x00,
						 0x00, 0x02, 0x03, 0x03};
	struct tls_conn *c = tls_new(NULL);
	const struct tls_facts *f = tls_facts(c);

	(void)state;
	tls_data(c, TLS_CLIENT, ch0, sizeof(ch0));
	tls_data(c, TLS_SERVER, sh0, sizeof(sh0));
	tls_data(c, TLS_CLIENT, sh_from_client, sizeof(sh_from_client));
	assert_int_equal(f->side[TLS_CLIENT].malformed, 1);
	assert_int_equal(f->side[TLS_SERVER].malformed, 1);
	assert_false(f->server_hello);
	assert_string_equal(f->version, "");
	assert_int_equal(f->side[TLS_CLIENT].unparsed_bytes, 0);
	assert_int_equal(f->side[TLS_CLIENT].records, 2);
	tls_free(c);
}

/* --- the server's certificate (tls/cert.c) --- */

/*
 * The certificate facts against what openssl printed when the script made the
 * certificate (NAME.cert.txt, in tls_samples.h as NAME_cert), and the flaws at
 * the capture's time (NAME_ts): expired / not yet valid from the printed dates,
 * self-signed when openssl printed the same subject and issuer.
 */
static void
check_cert(const struct tls_facts *f, const struct tls_sample_cert *e, int64_t ts,
	   unsigned name_flaw)
{
	const struct tls_cert *c = &f->cert;
	unsigned want = name_flaw;

	assert_true(c->seen);
	assert_true(c->subject_cn);
	assert_string_equal(c->subject, e->subject_cn);
	assert_string_equal(c->issuer, e->issuer_cn);
	assert_string_equal(c->issuer_org, e->issuer_o);
	assert_int_equal(c->not_before, e->not_before);
	assert_int_equal(c->not_after, e->not_after);
	assert_string_equal(c->sans, e->sans);
	assert_false(c->sans_truncated);
	assert_false(c->names_truncated);
	assert_int_equal(c->self_signed, e->self_signed);
	assert_string_equal(c->key_type, e->key_type);
	assert_int_equal(c->key_bits, e->key_bits);
	assert_int_equal(c->chain, e->chain);
	if (ts > e->not_after)
		want |= TLS_CERT_EXPIRED;
	if (ts < e->not_before)
		want |= TLS_CERT_NOT_YET_VALID;
	if (e->self_signed)
		want |= TLS_CERT_SELF_SIGNED;
	assert_int_equal(tls_cert_flaws(c, ts, f->sni, f->sni_truncated), want);
	assert_int_equal(tls_cert_matches(c, f->sni), !(name_flaw & TLS_CERT_NAME_MISMATCH));
	assert_int_equal(f->side[TLS_SERVER].malformed, 0);
	assert_int_equal(f->side[TLS_SERVER].caps_hit, 0);
}

/* Every split of a capture: handshake, the client's alert (0: none) and the certificate. */
static void
check_cert_sample(const uint8_t *bytes, const struct tls_sample_seg *segs, size_t n,
		  const struct tls_sample_cert *e, int64_t ts, enum tls_handshake hs,
		  uint8_t client_alert, unsigned name_flaw)
{
	static const enum split splits[] = {SPLIT_SEGMENTS, SPLIT_BYTES, SPLIT_RANDOM};

	for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
		for (uint32_t seed = 1; seed <= (splits[s] == SPLIT_RANDOM ? 10u : 1u); seed++) {
			struct tls_conn *c = feed(bytes, segs, n, splits[s], seed);
			const struct tls_facts *f = tls_facts(c);

			tls_end(c, TLS_CLOSED_BY_CLIENT);
			assert_int_equal(f->handshake, hs);
			assert_int_equal(f->alert.seen && f->alert.level == TLS_ALERT_FATAL,
					 client_alert != 0);
			if (client_alert) {
				assert_int_equal(f->alert.description, client_alert);
				assert_int_equal(f->alert.sent_by, TLS_CLIENT);
			}
			check_cert(f, e, ts, name_flaw);
			tls_free(c);
		}
	}
}

/* tls12_ok, tls12_verify: the self-signed RSA-2048 certificate, no SANs: the CN is the name. */
static void
test_cert_self_signed(void **state)
{
	(void)state;
	check_cert_sample(SAMPLE(tls12_ok), &tls12_ok_cert, tls12_ok_ts, TLS_HS_COMPLETED, 0, 0);
	/* client.log: "fatal unknown_ca" */
	check_cert_sample(SAMPLE(tls12_verify), &tls12_verify_cert, tls12_verify_ts,
			  TLS_HS_FAILED, 48, 0);
}

/* tls12_expired: client.log "verify error:num=10:certificate has expired", "fatal certificate_expired". */
static void
test_cert_expired(void **state)
{
	(void)state;
	assert_true(tls12_expired_ts > tls12_expired_cert.not_after);
	check_cert_sample(SAMPLE(tls12_expired), &tls12_expired_cert, tls12_expired_ts,
			  TLS_HS_FAILED, 45, 0);
}

/* tls12_notyet: client.log "certificate is not yet valid", "fatal bad_certificate"; GeneralizedTime. */
static void
test_cert_not_yet_valid(void **state)
{
	(void)state;
	assert_true(tls12_notyet_ts < tls12_notyet_cert.not_before);
	check_cert_sample(SAMPLE(tls12_notyet), &tls12_notyet_cert, tls12_notyet_ts,
			  TLS_HS_FAILED, 42, 0);
}

/* tls12_chain: leaf + CA (client.log's chain 0 and 1), SNI relay.mail.example.test by *.mail. */
static void
test_cert_chain_wildcard(void **state)
{
	(void)state;
	check_cert_sample(SAMPLE(tls12_chain), &tls12_chain_cert, tls12_chain_ts,
			  TLS_HS_COMPLETED, 0, 0);
}

/* tls12_mismatch: SNI other.example.net; client.log "hostname mismatch", "fatal bad_certificate". */
static void
test_cert_name_mismatch(void **state)
{
	(void)state;
	check_cert_sample(SAMPLE(tls12_mismatch), &tls12_mismatch_cert, tls12_mismatch_ts,
			  TLS_HS_FAILED, 42, TLS_CERT_NAME_MISMATCH);
}

/* TLS 1.3 sends it encrypted; a clear Certificate after a 1.3 ServerHello is not read. */
static void
test_cert_not_read_in_tls13(void **state)
{
	struct buf sh = {.n = 0}, sv = {.n = 0}, body = {.n = 0};
	struct tls_conn *c = feed(SAMPLE(tls13_ok), SPLIT_SEGMENTS, 1);

	(void)state;
	assert_false(tls_facts(c)->cert.seen);
	tls_free(c);
	c = tls_new(NULL);
	server_hello_body(&sh, 0x1301, 0x0304, false);
	hs_records(&sv, 2, &sh, 16384);
	put24(&body, 0);
	hs_records(&sv, 11, &body, 16384);
	feed_buf(c, TLS_SERVER, &sv);
	assert_false(tls_facts(c)->cert.seen);
	assert_int_equal(tls_facts(c)->side[TLS_SERVER].malformed, 0);
	tls_free(c);
}

/* --- certificates made here with libcrypto, for what the script does not make --- */

struct mkcert {
	const char *cn, *org;	  /* NULL: none */
	const uint8_t *cn_bytes;  /* raw UTF8String bytes instead of cn */
	size_t cn_len;
	const char *const *sans;  /* NULL-terminated */
	bool sign_with_other_key; /* issuer = subject, but another key signs */
};

static void
add_san(GENERAL_NAMES *names, const char *dns)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	assert_true(g && s && ASN1_STRING_set(s, dns, (int)strlen(dns)));
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	assert_true(sk_GENERAL_NAME_push(names, g) > 0);
}

/* A DER certificate (malloc'ed, *n bytes) as m says: self-issued, 2020-01-01 .. 2030-01-01. */
static uint8_t *
make_der(const struct mkcert *m, size_t *n)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	uint8_t *copy;
	int len;

	assert_true(key && other && x && name);
	assert_true(X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), 1577836800));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), 1893456000));
	if (m->org)
		assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
						       (const unsigned char *)m->org, -1, -1, 0));
	if (m->cn || m->cn_bytes)
		assert_true(X509_NAME_add_entry_by_txt(
			name, "CN", V_ASN1_UTF8STRING,
			m->cn_bytes ? m->cn_bytes : (const unsigned char *)m->cn,
			m->cn_bytes ? (int)m->cn_len : -1, -1, 0));
	assert_true(X509_set_subject_name(x, name) && X509_set_issuer_name(x, name));
	assert_true(X509_set_pubkey(x, key));
	if (m->sans) {
		GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();

		for (size_t i = 0; m->sans[i]; i++)
			add_san(names, m->sans[i]);
		assert_true(X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, 0));
		GENERAL_NAMES_free(names);
	}
	assert_true(X509_sign(x, m->sign_with_other_key ? other : key, EVP_sha256()) > 0);
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	copy = malloc((size_t)len);
	assert_non_null(copy);
	memcpy(copy, der, (size_t)len);
	*n = (size_t)len;
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return copy;
}

/* A TLS 1.2 Certificate body: certificate_list<3> of ASN.1Cert<3>. */
static void
cert12_body(struct buf *b, const uint8_t *der, size_t n, size_t copies)
{
	put24(b, (unsigned)((3 + n) * copies));
	for (size_t i = 0; i < copies; i++) {
		put24(b, (unsigned)n);
		put(b, der, n);
	}
}

/* Read p[0..n) from a heap block of exactly n bytes, so ASan sees any read past it. */
static bool
read_exact(struct tls_cert *c, const uint8_t *p, size_t n, bool tls13)
{
	uint8_t *copy = malloc(n ? n : 1);
	bool ok;

	assert_non_null(copy);
	memcpy(copy, p, n);
	ok = tls_read_certificate(c, copy, n, tls13);
	free(copy);
	return ok;
}

/* Lengths past the message, empty and garbage certificates: false, and *c untouched. */
static void
test_cert_malformed(void **state)
{
	static const struct mkcert m = {.cn = "mx.example.test"};
	uint8_t garbage[300];
	size_t n;
	uint8_t *der = make_der(&m, &n);
	struct tls_cert c = {.seen = true, .subject = "kept"};
	struct buf b = {.n = 0};

	(void)state;
	cert12_body(&b, der, n, 1);
	b.b[2]++; /* the list claims one byte more than the body has */
	assert_false(read_exact(&c, b.b, b.n, false));
	b.n = 0;
	cert12_body(&b, der, n, 1);
	b.b[5]++; /* the certificate claims one byte more than the list */
	assert_false(read_exact(&c, b.b, b.n, false));
	b.b[0] = 0xff; /* a 3-byte list length far beyond the body */
	assert_false(read_exact(&c, b.b, b.n, false));
	b.n = 0;
	cert12_body(&b, der, n, 1);
	put8(&b, 0); /* a byte after the list */
	assert_false(read_exact(&c, b.b, b.n, false));
	b.n = 0;
	put24(&b, 3);
	put24(&b, 0); /* a zero-length certificate */
	assert_false(read_exact(&c, b.b, b.n, false));
	b.n = 0;
	put24(&b, 0); /* an empty list: no leaf */
	assert_false(read_exact(&c, b.b, b.n, false));
	assert_false(read_exact(&c, b.b, 0, false));
	b.n = 0;
	rng_state = 99;
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)rng();
	garbage[0] = 0x30; /* a SEQUENCE, to get past the first byte */
	cert12_body(&b, garbage, sizeof(garbage), 1);
	assert_false(read_exact(&c, b.b, b.n, false));
	b.n = 0;
	cert12_body(&b, der, n - 1, 1); /* DER cut short, lengths consistent */
	assert_false(read_exact(&c, b.b, b.n, false));
	b.n = 0;
	put24(&b, (unsigned)(3 + n + 1));
	put24(&b, (unsigned)(n + 1));
	put(&b, der, n);
	put8(&b, 0); /* a byte after the DER inside its length */
	assert_false(read_exact(&c, b.b, b.n, false));
	assert_true(c.seen);
	assert_string_equal(c.subject, "kept");
	b.n = 0;
	cert12_body(&b, der, n, 3);
	assert_true(read_exact(&c, b.b, b.n, false));
	assert_int_equal(c.chain, 3);
	assert_string_equal(c.subject, "mx.example.test");
	free(der);
}

/* Every cut of a valid body is malformed, read from a block of the cut size. */
static void
test_cert_every_truncation(void **state)
{
	static const struct mkcert m = {.cn = "mx.example.test"};
	size_t n;
	uint8_t *der = make_der(&m, &n);
	struct tls_cert c;
	struct buf b = {.n = 0};

	(void)state;
	cert12_body(&b, der, n, 2);
	for (size_t k = 0; k < b.n; k++)
		assert_false(read_exact(&c, b.b, k, false));
	assert_true(read_exact(&c, b.b, b.n, false));
	assert_int_equal(c.chain, 2);
	free(der);
}

/* RFC 8446 §4.4.2: context<1>, then CertificateEntry {cert_data<3>, extensions<2>}. */
static void
test_cert_tls13_form(void **state)
{
	static const struct mkcert m = {.cn = "mx.example.test"};
	size_t n;
	uint8_t *der = make_der(&m, &n);
	struct tls_cert c;
	struct buf b = {.n = 0};

	(void)state;
	put8(&b, 3);
	put(&b, "ctx", 3);
	put24(&b, (unsigned)(3 + n + 2 + 4));
	put24(&b, (unsigned)n);
	put(&b, der, n);
	put16(&b, 4); /* one extension: type 5 (status_request), empty */
	put16(&b, 5);
	put16(&b, 0);
	assert_true(read_exact(&c, b.b, b.n, true));
	assert_int_equal(c.chain, 1);
	assert_string_equal(c.subject, "mx.example.test");
	assert_false(read_exact(&c, b.b, b.n, false)); /* not the 1.2 form */
	b.b[b.n - 5] = 9;			       /* extensions longer than the entry */
	assert_false(read_exact(&c, b.b, b.n, true));
	b.b[b.n - 5] = 4;
	for (size_t k = 0; k < b.n; k++)
		assert_false(read_exact(&c, b.b, k, true));
	free(der);
}

/* Wire bytes in names escaped once (\xHH, a space kept in X.500 names); SANs cut whole. */
static void
test_cert_names_escaped_and_cut(void **state)
{
	static const uint8_t cn[] = "mx\x1b[31m B\xc3\xbc\\cher";
	static const char *const sans[] = {"a,b.example.test", "MX.example.test", NULL};
	static char many[40][48];
	static const char *many_sans[41];
	const struct mkcert m = {.cn_bytes = cn, .cn_len = sizeof(cn) - 1, .sans = sans,
				 .org = "Example Org"};
	const struct mkcert no_cn = {.org = "Example Org"};
	const struct mkcert lots = {.cn = "mx.example.test", .sans = many_sans};
	struct tls_cert c;
	struct buf b = {.n = 0};
	size_t n;
	uint8_t *der = make_der(&m, &n);

	(void)state;
	cert12_body(&b, der, n, 1);
	assert_true(read_exact(&c, b.b, b.n, false));
	assert_string_equal(c.subject, "mx\\x1b[31m B\\xc3\\xbc\\x5ccher");
	assert_string_equal(c.issuer, c.subject);
	assert_string_equal(c.issuer_org, "Example Org");
	assert_string_equal(c.sans, "a\\x2cb.example.test,MX.example.test");
	assert_true(c.self_signed);
	assert_string_equal(c.key_type, "EC");
	assert_int_equal(c.key_bits, 256);
	assert_int_equal(c.not_before, 1577836800);
	assert_int_equal(c.not_after, 1893456000);
	assert_true(tls_cert_matches(&c, "mx.example.test"));
	assert_false(tls_cert_matches(&c, "a,b.example.test"));
	free(der);
	/* no CN: the whole subject, RFC 2253, and it names no host */
	der = make_der(&no_cn, &n);
	b.n = 0;
	cert12_body(&b, der, n, 1);
	assert_true(read_exact(&c, b.b, b.n, false));
	assert_false(c.subject_cn);
	assert_string_equal(c.subject, "O=Example Org");
	assert_string_equal(c.issuer, "O=Example Org");
	assert_false(tls_cert_matches(&c, "Example Org"));
	free(der);
	/* 40 names of 30 bytes: cut at a whole name, below TLS_CERT_SANS_MAX */
	for (int i = 0; i < 40; i++) {
		snprintf(many[i], sizeof(many[i]), "host%02d.aaaaaaaaaa.example.test", i % 100);
		many_sans[i] = many[i];
	}
	der = make_der(&lots, &n);
	b.n = 0;
	cert12_body(&b, der, n, 1);
	assert_true(read_exact(&c, b.b, b.n, false));
	assert_true(c.sans_truncated);
	assert_int_equal(strlen(c.sans), 16 * 31 - 1); /* 16 names and their commas fit in 511 */
	assert_string_equal(c.sans + strlen(c.sans) - 30, many[15]);
	assert_true(tls_cert_matches(&c, many[15]));
	assert_false(tls_cert_matches(&c, many[16]));
	assert_int_equal(tls_cert_flaws(&c, 1577836800, many[16], false) & TLS_CERT_NAME_UNKNOWN,
			 TLS_CERT_NAME_UNKNOWN);
	free(der);
}

/* Subject == issuer is not enough: its own key must verify it. */
static void
test_cert_self_signed_needs_own_key(void **state)
{
	static const struct mkcert m = {.cn = "mx.example.test", .sign_with_other_key = true};
	struct tls_cert c;
	struct buf b = {.n = 0};
	size_t n;
	uint8_t *der = make_der(&m, &n);

	(void)state;
	cert12_body(&b, der, n, 1);
	assert_true(read_exact(&c, b.b, b.n, false));
	assert_string_equal(c.subject, c.issuer);
	assert_false(c.self_signed);
	free(der);
}

/* RFC 6125 §6.4: case, the wildcard's one place and one label, SANs before the CN. */
static void
test_cert_matches_rfc6125(void **state)
{
	static const struct {
		const char *sans, *cn, *host;
		bool match;
	} cases[] = {
		{"mx.example.test", NULL, "mx.example.test", true},
		{"mx.example.test", NULL, "MX.Example.TEST", true},
		{"MX.EXAMPLE.TEST", NULL, "mx.example.test", true},
		{"mx.example.test", NULL, "mx.example.test.", true}, /* absolute form */
		{"mx.example.test.", NULL, "mx.example.test", true},
		{"mx.example.test", NULL, "mx.example.tes", false},
		{"mx.example.test", NULL, "x.example.test", false},
		{"a.test,mx.example.test", NULL, "mx.example.test", true},
		{"*.example.test", NULL, "mx.example.test", true},
		{"*.example.test", NULL, "MX.EXAMPLE.TEST", true},
		{"*.example.test", NULL, "example.test", false},     /* one label exactly */
		{"*.example.test", NULL, "a.mx.example.test", false},
		{"*.example.test", NULL, ".example.test", false},    /* an empty label */
		{"*.test", NULL, "example.test", false},	      /* not over a single label */
		{"mx*.example.test", NULL, "mx1.example.test", false}, /* only a whole label */
		{"*mx.example.test", NULL, "amx.example.test", false},
		{"mx.*.test", NULL, "mx.example.test", false},
		{"*", NULL, "mx", false},
		{"*.*.test", NULL, "a.b.test", false},
		{"xn--bcher-kva.example.test", NULL, "XN--BCHER-KVA.example.test", true},
		{"other.example.test", "mx.example.test", "mx.example.test", false}, /* SANs first */
		{"", "mx.example.test", "MX.example.test", true},	/* no SAN: the CN */
		{"", "*.example.test", "mx.example.test", true},
		{"", "mx.example.test", "", false},
		{"mx.example.test", NULL, "", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_cert c = {.seen = true};

		snprintf(c.sans, sizeof(c.sans), "%s", cases[i].sans);
		if (cases[i].cn) {
			c.subject_cn = true;
			snprintf(c.subject, sizeof(c.subject), "%s", cases[i].cn);
		}
		if (tls_cert_matches(&c, cases[i].host) != cases[i].match)
			fail_msg("case %zu: %s vs %s", i, cases[i].sans, cases[i].host);
	}
	struct tls_cert unseen = {.sans = "mx.example.test"};

	assert_false(tls_cert_matches(&unseen, "mx.example.test"));
	assert_false(tls_cert_matches(&unseen, NULL));
}

/* Validity bounds are inclusive (RFC 5280 §4.1.2.5); a name is judged only when it can be. */
static void
test_cert_flaws(void **state)
{
	struct tls_cert c = {.seen = true, .not_before = 1000, .not_after = 2000,
			     .sans = "mx.example.test"};

	(void)state;
	assert_int_equal(tls_cert_flaws(&c, 1000, "mx.example.test", false), 0);
	assert_int_equal(tls_cert_flaws(&c, 2000, "mx.example.test", false), 0);
	assert_int_equal(tls_cert_flaws(&c, 2001, "mx.example.test", false), TLS_CERT_EXPIRED);
	assert_int_equal(tls_cert_flaws(&c, 999, "mx.example.test", false),
			 TLS_CERT_NOT_YET_VALID);
	assert_int_equal(tls_cert_flaws(&c, 1500, "other.test", false), TLS_CERT_NAME_MISMATCH);
	assert_int_equal(tls_cert_flaws(&c, 1500, "", false), TLS_CERT_NAME_UNKNOWN);
	assert_int_equal(tls_cert_flaws(&c, 1500, NULL, false), TLS_CERT_NAME_UNKNOWN);
	assert_int_equal(tls_cert_flaws(&c, 1500, "other.test", true), TLS_CERT_NAME_UNKNOWN);
	c.self_signed = true;
	assert_int_equal(tls_cert_flaws(&c, 1500, "mx.example.test", false), TLS_CERT_SELF_SIGNED);
	c.seen = false;
	assert_int_equal(tls_cert_flaws(&c, 5000, "other.test", false), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls12_ok),
		cmocka_unit_test(test_tls13_ok),
		cmocka_unit_test(test_tls12_no_shared_cipher),
		cmocka_unit_test(test_tls12_verify_fails),
		cmocka_unit_test(test_tls13_verify_fails),
		cmocka_unit_test(test_abandoned_or_started),
		cmocka_unit_test(test_handshake_cap),
		cmocka_unit_test(test_hello_across_records_and_escaping),
		cmocka_unit_test(test_long_sni_capped),
		cmocka_unit_test(test_tls12_encrypted_alert_before_completion),
		cmocka_unit_test(test_tls13_short_client_record_is_alert),
		cmocka_unit_test(test_hello_retry_request),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_gap_in_hello),
		cmocka_unit_test(test_hostile_length),
		cmocka_unit_test(test_plaintext_is_not_tls),
		cmocka_unit_test(test_truncated_record),
		cmocka_unit_test(test_looks_like_record),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unknown_codes_as_hex),
		cmocka_unit_test(test_garbage_and_mutations),
		cmocka_unit_test(test_malformed_hello),
		cmocka_unit_test(test_empty_and_misplaced_hellos),
		cmocka_unit_test(test_cert_self_signed),
		cmocka_unit_test(test_cert_expired),
		cmocka_unit_test(test_cert_not_yet_valid),
		cmocka_unit_test(test_cert_chain_wildcard),
		cmocka_unit_test(test_cert_name_mismatch),
		cmocka_unit_test(test_cert_not_read_in_tls13),
		cmocka_unit_test(test_cert_malformed),
		cmocka_unit_test(test_cert_every_truncation),
		cmocka_unit_test(test_cert_tls13_form),
		cmocka_unit_test(test_cert_names_escaped_and_cut),
		cmocka_unit_test(test_cert_self_signed_needs_own_key),
		cmocka_unit_test(test_cert_matches_rfc6125),
		cmocka_unit_test(test_cert_flaws),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
