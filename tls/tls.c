/*
 * tls.c - the record layer of each direction and the handshake rule (see tls.h).
 *
 * Records (RFC 8446 §5.1, RFC 5246 §6.2.1): type (1), legacy_version (2),
 * length (2), fragment. A header is accepted when the type is one of
 * change_cipher_spec (20), alert (21), handshake (22), application_data (23),
 * heartbeat (24, RFC 6520), the version is 0x0300..0x0304 and the length is at
 * most TLS_RECORD_MAX; anything else loses the framing for good on that side
 * (lost_sync, or not_tls when it is the first record) and the rest of its bytes
 * are counted unparsed. Bodies are never buffered: handshake bytes in clear go
 * to a per-direction message reassembler (handshake header, then the body kept
 * only for ClientHello/ServerHello, up to max_handshake_msg), alerts collect
 * their 2 bytes, everything else is skipped by length.
 *
 * Which records are encrypted, per side:
 *  - TLS 1.3 (ServerHello with supported_versions 0x0304): application_data
 *    records; handshake and alert records stay in clear (RFC 8446 §5.2), and a
 *    ChangeCipherSpec is only the middlebox-compatibility dummy (§D.4).
 *  - TLS 1.2 and older, or before a ServerHello: application_data records, and
 *    every record after that side's ChangeCipherSpec (RFC 5246 §7.1).
 * The version is known only from the ServerHello, so the choice is made at each
 * record header with what is known by then (bytes come in capture order).
 */
#include "tls.h"

#include <stdlib.h>
#include <string.h>

#include "decrypt.h"
#include "hello.h"
#include "../capture/capture.h"

#define CT_CHANGE_CIPHER_SPEC 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPLICATION_DATA 23
#define CT_HEARTBEAT 24

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE 11
#define HS_FINISHED 20
#define HS_KEY_UPDATE 24

#define DEFAULT_MAX_HANDSHAKE_MSG 65536
#define HARD_MAX_HANDSHAKE_MSG (1u << 24) /* a handshake length has 24 bits anyway */
/* The smallest TLS 1.3 encrypted Finished: header 4 + SHA-256 32 + type 1 + AEAD tag 16. */
#define TLS13_MIN_FINISHED_RECORD 53

/* Handshake message reassembly of one direction (clear handshake records only). */
struct hs_reader {
	uint8_t hdr[4];
	size_t hdr_len;
	uint8_t type;
	uint32_t len, got;
	bool keep;   /* the body is buffered for hello.c */
	bool skip;   /* a hello not kept (past the cap): its body is counted unparsed */
	bool broken; /* a gap hit a message: the rest of this side's handshake is skipped */
	uint8_t *buf;
	size_t cap;
};

struct dir_state {
	uint8_t hdr[5];
	size_t hdr_len;
	bool in_body;
	uint8_t type;
	uint16_t rec_len;
	size_t rec_left;
	uint64_t rec_fed;      /* bytes of this record fed so far, header included */
	uint64_t rec_unparsed; /* side's unparsed_bytes when it began */
	bool clear;	    /* this record's body is read (not encrypted, not skipped) */
	uint8_t alert[2];
	size_t alert_len;
	bool finished;	    /* TLS <= 1.2: a handshake record after its ChangeCipherSpec */
	bool encrypted_hs;  /* TLS 1.3: an application_data record counted toward completion */
	struct hs_reader hs;
	/* decryption (a key log given): encrypted records wait here, whole, for their keys */
	bool collect;	    /* this record's body is copied to wait */
	uint8_t *wait;	    /* records: header (5), flags (1), body */
	size_t wait_len, wait_cap;
	uint8_t ihdr[4];    /* TLS 1.3: the decrypted handshake message being skipped */
	size_t ihdr_len;
	uint32_t iskip, ilen;
	uint8_t itype;
	uint8_t *icert;	    /* TLS 1.3: the server's decrypted Certificate, kept to be read */
	bool app_keys;	    /* TLS 1.3: this side's Finished went by; traffic secret next */
	struct rec_dir rec;
};

#define WAIT_BROKEN 1	      /* a gap fell inside the record: it cannot be opened */
#define WAIT_MAX (256 * 1024) /* per side, while keys are awaited (live key log) */

struct tls_conn {
	size_t max_hs;
	bool ended;
	bool busy;			     /* inside tls_data/tls_gap/tls_end: no re-entry */
	bool tls12_keyed;		     /* rec_set_tls12 was tried */
	bool no_keys;			     /* they will not come: records are not kept */
	bool have_random[2];		     /* the hellos' randoms below were read */
	uint8_t random[2][KL_RANDOM];	     /* [TLS_CLIENT], [TLS_SERVER] */
	struct tls_config cfg;
	struct tls_facts f;
	struct dir_state d[2];
};

struct tls_conn *
tls_new(const struct tls_config *cfg)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (cfg)
		c->cfg = *cfg;
	c->max_hs = cfg && cfg->max_handshake_msg ? cfg->max_handshake_msg
						  : DEFAULT_MAX_HANDSHAKE_MSG;
	c->f.keys = c->cfg.keylog ? TLS_KEYS_MISSING : TLS_KEYS_OFF;
	if (c->max_hs > HARD_MAX_HANDSHAKE_MSG)
		c->max_hs = HARD_MAX_HANDSHAKE_MSG;
	return c;
}

void
tls_free(struct tls_conn *c)
{
	if (!c)
		return;
	cap_budget_give(c->d[0].hs.cap + c->d[1].hs.cap + c->d[0].wait_cap + c->d[1].wait_cap);
	for (int i = 0; i < 2; i++) {
		free(c->d[i].hs.buf);
		free(c->d[i].wait);
		if (c->d[i].icert)
			cap_budget_give(c->d[i].ilen);
		free(c->d[i].icert);
		rec_free(&c->d[i].rec);
	}
	OPENSSL_cleanse(c->random, sizeof(c->random));
	free(c);
}

const struct tls_facts *
tls_facts(const struct tls_conn *c)
{
	return &c->f;
}

/* TLS 1.3 negotiated: a ServerHello saying so, or a HelloRetryRequest (only 1.3 has one). */
static bool
is_tls13(const struct tls_conn *c)
{
	return c->f.hello_retry_request || (c->f.server_hello && c->f.version_code == 0x0304);
}

static bool
settled(const struct tls_conn *c)
{
	return c->f.handshake == TLS_HS_COMPLETED || c->f.handshake == TLS_HS_FAILED;
}

/* Completed, by the rule in tls.h; checked after every record header and message. */
static void
check_completed(struct tls_conn *c)
{
	const struct dir_state *cl = &c->d[TLS_CLIENT], *sv = &c->d[TLS_SERVER];

	if (settled(c) || !c->f.server_hello)
		return;
	if (is_tls13(c) ? cl->encrypted_hs && sv->encrypted_hs : cl->finished && sv->finished)
		c->f.handshake = TLS_HS_COMPLETED;
}

static void
fail(struct tls_conn *c)
{
	if (!settled(c))
		c->f.handshake = TLS_HS_FAILED;
}

/*
 * An alert in clear. Fatal: level fatal, or in TLS 1.3 (where the level is
 * implicit, RFC 8446 §6) any alert but close_notify (0) and user_canceled (90).
 */
static void
got_alert(struct tls_conn *c, enum tls_dir dir, uint8_t level, uint8_t desc)
{
	struct tls_alert *a = &c->f.alert;
	bool fatal = level == TLS_ALERT_FATAL || (is_tls13(c) && desc != 0 && desc != 90);

	if (!a->seen || (fatal && a->level != TLS_ALERT_FATAL && !a->encrypted)) {
		a->seen = true;
		a->encrypted = false;
		a->level = level;
		a->description = desc;
		a->sent_by = dir;
	}
	if (fatal)
		fail(c);
}

/* An alert sent under encryption before completion: cannot be read, taken as fatal. */
static void
got_encrypted_alert(struct tls_conn *c, enum tls_dir dir)
{
	struct tls_alert *a = &c->f.alert;

	if (settled(c))
		return;
	if (!a->seen || a->level != TLS_ALERT_FATAL) {
		memset(a, 0, sizeof(*a));
		a->seen = true;
		a->encrypted = true;
		a->sent_by = dir;
	}
	fail(c);
}

static void
hello_done(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n)
{
	static const uint8_t empty[1];
	struct hs_reader *h = &c->d[dir].hs;

	if (!p)
		p = empty; /* an empty hello: no buffer was needed */
	bool ok = h->type == HS_CERTIFICATE  ? tls_read_certificate(&c->f.cert, p, n, false)
		  : h->type == HS_CLIENT_HELLO ? tls_read_client_hello(&c->f, p, n)
					       : tls_read_server_hello(&c->f, p, n);

	if (!ok)
		c->f.side[dir].malformed++;
	/* the random (after the 2-byte version) names the keys; a HelloRetryRequest's is not one */
	if (n >= 2 + KL_RANDOM && (h->type == HS_CLIENT_HELLO ||
				   (h->type == HS_SERVER_HELLO && c->f.server_hello))) {
		memcpy(c->random[dir], p + 2, KL_RANDOM);
		c->have_random[dir] = true;
	}
	if (c->f.handshake == TLS_HS_NONE)
		c->f.handshake = TLS_HS_STARTED;
}

static void
hs_header(struct tls_conn *c, enum tls_dir dir)
{
	struct hs_reader *h = &c->d[dir].hs;

	h->type = h->hdr[0];
	h->len = (uint32_t)h->hdr[1] << 16 | (uint32_t)h->hdr[2] << 8 | h->hdr[3];
	h->got = 0;
	/* the server's Certificate is in clear only up to TLS 1.2 (RFC 8446 §2) */
	h->keep = (dir == TLS_CLIENT && h->type == HS_CLIENT_HELLO) ||
		  (dir == TLS_SERVER && h->type == HS_SERVER_HELLO) ||
		  (dir == TLS_SERVER && h->type == HS_CERTIFICATE && !is_tls13(c));
	h->skip = false;
	if (h->keep && h->len > c->max_hs) {
		h->keep = false;
		h->skip = true;
		c->f.side[dir].caps_hit++;
	}
	if (h->keep && h->len > h->cap) {
		/* the buffer draws on the process's budget (capture.h); past it, as the cap */
		size_t more = h->len - h->cap;
		uint8_t *b = NULL;

		if (cap_budget_take(more) && !(b = realloc(h->buf, h->len)))
			cap_budget_give(more);
		if (!b) {
			h->keep = false;
			h->skip = true;
			c->f.side[dir].caps_hit++;
			return;
		}
		h->buf = b;
		h->cap = h->len;
	}
}

/* Bytes of clear handshake records: messages may span records (RFC 8446 §5.1). */
static void
hs_feed(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n)
{
	struct hs_reader *h = &c->d[dir].hs;
	struct tls_side *s = &c->f.side[dir];

	if (h->broken) {
		s->unparsed_bytes += n;
		return;
	}
	while (n > 0) {
		if (h->hdr_len < sizeof(h->hdr)) {
			h->hdr[h->hdr_len++] = *p++;
			n--;
			if (h->hdr_len == sizeof(h->hdr))
				hs_header(c, dir);
			else
				continue;
		} else {
			size_t take = h->len - h->got < n ? h->len - h->got : n;

			if (h->keep)
				memcpy(h->buf + h->got, p, take);
			else if (h->skip)
				s->unparsed_bytes += take;
			h->got += (uint32_t)take;
			p += take;
			n -= take;
		}
		if (h->got == h->len) {
			if (h->keep)
				hello_done(c, dir, h->buf, h->len);
			h->hdr_len = 0;
		}
	}
}

static void
alert_feed(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n)
{
	struct dir_state *d = &c->d[dir];

	for (size_t i = 0; i < n; i++) {
		d->alert[d->alert_len++] = p[i];
		if (d->alert_len == 2) {
			got_alert(c, dir, d->alert[0], d->alert[1]);
			d->alert_len = 0;
		}
	}
}

/* What an encrypted record tells without its content (the rule in tls.h). */
static void
sealed_record(struct tls_conn *c, enum tls_dir dir, uint8_t type, size_t len)
{
	struct dir_state *d = &c->d[dir];
	bool tls13 = is_tls13(c);

	if (type == CT_ALERT) {
		c->f.side[dir].encrypted_alerts++;
		got_encrypted_alert(c, dir);
	} else if (type == CT_HANDSHAKE) {
		d->finished = true;
	} else if (tls13 && dir == TLS_SERVER) {
		d->encrypted_hs = true;
	} else if (tls13 && !settled(c)) {
		if (len >= TLS13_MIN_FINISHED_RECORD)
			d->encrypted_hs = true;
		else
			got_encrypted_alert(c, dir);
	}
	check_completed(c);
}

/* Room for one more waiting record of len bytes, within WAIT_MAX and the budget. */
static bool
wait_room(struct tls_conn *c, enum tls_dir dir, size_t len)
{
	struct dir_state *d = &c->d[dir];
	size_t need = d->wait_len + 6 + len, cap = d->wait_cap ? d->wait_cap : 4096;
	uint8_t *b = NULL;

	if (need <= d->wait_cap)
		return true;
	if (need > WAIT_MAX)
		return false;
	while (cap < need)
		cap *= 2;
	if (cap_budget_take(cap - d->wait_cap) && !(b = realloc(d->wait, cap)))
		cap_budget_give(cap - d->wait_cap);
	if (!b)
		return false;
	d->wait = b;
	d->wait_cap = cap;
	return true;
}

static void drain(struct tls_conn *c, enum tls_dir dir);

/*
 * The first n bytes of wait are done with. The record being collected, if
 * any, lies past wait_len and moves down with the rest; an empty buffer goes
 * back to the budget (a session keeps none between records).
 */
static void
wait_consumed(struct dir_state *d, size_t n)
{
	size_t collecting = d->collect ? 6 + (size_t)(d->rec_len - d->rec_left) : 0;

	if (n == 0)
		return;
	memmove(d->wait, d->wait + n, d->wait_len - n + collecting);
	d->wait_len -= n;
	if (d->wait_len == 0 && !d->collect) {
		free(d->wait);
		cap_budget_give(d->wait_cap);
		d->wait = NULL;
		d->wait_cap = 0;
	}
}

/* Keys will not come for what waits: each record is told as sealed, and lost. */
static void
give_up_waiting(struct tls_conn *c, enum tls_dir dir)
{
	struct dir_state *d = &c->d[dir];

	for (size_t off = 0; off + 6 <= d->wait_len;) {
		size_t len = (size_t)(d->wait[off + 3] << 8 | d->wait[off + 4]);

		sealed_record(c, dir, d->wait[off], len);
		if (c->f.decrypted && c->cfg.lost)
			c->cfg.lost(c->cfg.arg, dir, len);
		off += 6 + len;
	}
	wait_consumed(d, d->wait_len);
}

/* The keys for dir's next record: true when they are set (decrypt.h). */
static bool
keys_ready(struct tls_conn *c, enum tls_dir dir)
{
	static const enum kl_secret tls13_secret[2][2] = {{KL_CHTS, KL_CATS}, {KL_SHTS, KL_SATS}};
	struct dir_state *d = &c->d[dir];
	const struct tls_suite *suite;
	struct kl_keys k;
	enum kl_secret want;

	if (d->rec.ready)
		return true;
	if (!c->have_random[TLS_CLIENT] || !c->f.server_hello)
		return false;
	/*
	 * SSLv3's MAC is not HMAC (RFC 6101); a TLS 1.3 suite belongs to TLS 1.3
	 * only and the other way round (a hostile hello may pair them): not
	 * decrypted, like a suite not in the table.
	 */
	suite = tls_suite_find(c->f.cipher_code);
	if (!suite || c->f.version_code < 0x0301 ||
	    (suite->code >> 8 == 0x13) != is_tls13(c)) {
		c->f.keys = TLS_KEYS_UNSUPPORTED;
		return false;
	}
	if (is_tls13(c)) {
		want = tls13_secret[dir][d->app_keys];
		if (kl_find(c->cfg.keylog, c->random[TLS_CLIENT], want, &k) &&
		    rec_set_tls13(&d->rec, suite, k.secret[want], k.len[want]))
			c->f.keys = TLS_KEYS_FOUND; /* a secret of the wrong length is not a key */
		OPENSSL_cleanse(&k, sizeof(k));
		return d->rec.ready;
	}
	if (c->tls12_keyed || !c->have_random[TLS_SERVER])
		return false;
	if (kl_find(c->cfg.keylog, c->random[TLS_CLIENT], KL_MASTER, &k)) {
		c->tls12_keyed = true;
		if (rec_set_tls12(&c->d[TLS_CLIENT].rec, &c->d[TLS_SERVER].rec, suite,
				  c->f.version_code, k.secret[KL_MASTER], c->random[TLS_CLIENT],
				  c->random[TLS_SERVER]))
			c->f.keys = TLS_KEYS_FOUND;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	return d->rec.ready;
}

/* Room for the decrypted Certificate, within the handshake cap and the budget; else a cap hit. */
static void
keep_certificate(struct tls_conn *c, struct dir_state *d)
{
	if (d->ilen == 0)
		return;
	if (d->ilen <= c->max_hs && cap_budget_take(d->ilen)) {
		if ((d->icert = malloc(d->ilen)))
			return;
		cap_budget_give(d->ilen);
	}
	c->f.side[TLS_SERVER].caps_hit++;
}

/*
 * TLS 1.3 handshake messages inside the records of dir: the server's
 * Certificate (read as in clear), and the ends of Finished (the side's traffic
 * secret from the next record on) and KeyUpdate (the next generation, RFC 8446
 * §4.6.3); other bodies are skipped.
 */
static void
inner_handshake(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n)
{
	struct dir_state *d = &c->d[dir];

	while (n > 0) {
		if (d->ihdr_len < 4) {
			d->ihdr[d->ihdr_len++] = *p++;
			n--;
			if (d->ihdr_len < 4)
				continue;
			d->itype = d->ihdr[0];
			d->iskip = (uint32_t)d->ihdr[1] << 16 | (uint32_t)d->ihdr[2] << 8 | d->ihdr[3];
			d->ilen = d->iskip;
			if (d->itype == HS_CERTIFICATE && dir == TLS_SERVER && !c->f.cert.seen)
				keep_certificate(c, d);
		} else {
			size_t take = d->iskip < n ? d->iskip : n;

			if (d->icert)
				memcpy(d->icert + (d->ilen - d->iskip), p, take);
			d->iskip -= (uint32_t)take;
			p += take;
			n -= take;
		}
		if (d->iskip > 0)
			continue;
		d->ihdr_len = 0;
		if (d->icert) { /* the same reader as in clear, in its TLS 1.3 form */
			if (!tls_read_certificate(&c->f.cert, d->icert, d->ilen, true))
				c->f.side[dir].malformed++;
			free(d->icert);
			cap_budget_give(d->ilen);
			d->icert = NULL;
		}
		if (d->itype == HS_FINISHED && !d->app_keys) {
			d->app_keys = true;
			d->rec.ready = false; /* keys_ready() takes the traffic secret */
		} else if (d->itype == HS_KEY_UPDATE && d->app_keys && d->rec.ready) {
			/* under the traffic keys only: one beside Finished would update the wrong ones */
			rec_key_update(&d->rec);
		}
	}
}

/* A record opened: what its content says. */
static void
opened(struct tls_conn *c, enum tls_dir dir, uint8_t type, const uint8_t *p, size_t n)
{
	struct dir_state *d = &c->d[dir];
	bool tls13 = is_tls13(c);

	c->f.decrypted = true;
	c->f.decrypted_records++;
	if (tls13 && (dir == TLS_SERVER || type == CT_HANDSHAKE))
		d->encrypted_hs = true;
	if (type == CT_HANDSHAKE) {
		if (tls13)
			inner_handshake(c, dir, p, n);
		else
			d->finished = true;
	} else if (type == CT_ALERT && n >= 2 && (!settled(c) || p[0] == TLS_ALERT_FATAL)) {
		/* after the handshake, only a fatal alert says something about it */
		got_alert(c, dir, p[0], p[1]);
	} else if (type == CT_APPLICATION_DATA && n > 0) {
		c->f.plaintext_bytes[dir] += n;
		if (c->cfg.plain)
			c->cfg.plain(c->cfg.arg, dir, p, n);
	}
	check_completed(c);
}

/*
 * A record that did not open. A TLS 1.3 client record under the handshake
 * keys may be early data the server skipped (RFC 8446 §4.2.10): it took no
 * sequence number. Otherwise it is a failed record (unless a gap broke it),
 * and a handshake message it was part of cannot be followed any further.
 */
static void
not_opened(struct tls_conn *c, enum tls_dir dir, const uint8_t *hdr, size_t len)
{
	struct dir_state *d = &c->d[dir];
	bool broken = hdr[5] & WAIT_BROKEN;

	if (!broken && is_tls13(c) && dir == TLS_CLIENT && !d->app_keys && !c->f.decrypted) {
		d->rec.seq--;
		sealed_record(c, dir, hdr[0], len);
		return;
	}
	c->f.failed_records += !broken;
	if (d->ihdr_len || d->icert) { /* the inner handshake reader lost its place */
		if (d->icert)
			cap_budget_give(d->ilen);
		free(d->icert);
		d->icert = NULL;
		d->ihdr_len = 0;
		d->iskip = 0;
	}
	sealed_record(c, dir, hdr[0], len);
	if (c->f.decrypted && c->cfg.lost)
		c->cfg.lost(c->cfg.arg, dir, len);
}

/* Open the records of dir that wait, in order, as far as their keys are known. */
static void
drain(struct tls_conn *c, enum tls_dir dir)
{
	struct dir_state *d = &c->d[dir];
	size_t off = 0;

	while (off + 6 <= d->wait_len && c->f.keys != TLS_KEYS_UNSUPPORTED) {
		uint8_t *hdr = d->wait + off, *body = hdr + 6, *out, type;
		size_t len = (size_t)(hdr[3] << 8 | hdr[4]);
		long got = -1;

		if (!c->f.server_hello) {
			/* before the ServerHello (0-RTT data, or junk): no keys to open it with yet */
			sealed_record(c, dir, hdr[0], len);
			off += 6 + len;
			continue;
		}
		if (!keys_ready(c, dir)) {
			if (!kl_follows(c->cfg.keylog) || c->ended)
				c->no_keys = true;
			break;
		}
		if (hdr[5] & WAIT_BROKEN)
			d->rec.seq++; /* it had a sequence number all the same */
		else
			got = rec_open(&d->rec, hdr, body, len, c->f.encrypt_then_mac, &out, &type);
		if (got >= 0)
			opened(c, dir, type, out, (size_t)got);
		else
			not_opened(c, dir, hdr, len);
		off += 6 + len;
	}
	wait_consumed(d, off);
	if (d->wait_len && (c->no_keys || c->f.keys == TLS_KEYS_UNSUPPORTED))
		give_up_waiting(c, dir);
}

/* A record header was read: decide what its body is, and what it tells. */
static void
record_begin(struct tls_conn *c, enum tls_dir dir)
{
	struct dir_state *d = &c->d[dir];
	struct tls_side *s = &c->f.side[dir];
	bool after_ccs = s->change_cipher_spec && !is_tls13(c);

	s->records++;
	d->rec_fed = 5;
	d->rec_unparsed = s->unparsed_bytes;
	d->clear = false;
	d->collect = false;
	if (d->type == CT_APPLICATION_DATA || after_ccs) {
		s->encrypted_records++;
		if (!c->cfg.keylog) {
			sealed_record(c, dir, d->type, d->rec_len);
		} else if (c->no_keys || c->f.keys == TLS_KEYS_UNSUPPORTED ||
			   !wait_room(c, dir, d->rec_len)) {
			c->no_keys = true; /* keys too late, or no memory: given up */
			give_up_waiting(c, dir);
			sealed_record(c, dir, d->type, d->rec_len);
			if (c->f.decrypted && c->cfg.lost)
				c->cfg.lost(c->cfg.arg, dir, d->rec_len);
		} else {
			memcpy(d->wait + d->wait_len, d->hdr, 5);
			d->wait[d->wait_len + 5] = 0;
			d->collect = true;
		}
	} else if (d->type == CT_CHANGE_CIPHER_SPEC) {
		s->change_cipher_spec = true;
	} else if (d->type == CT_HANDSHAKE || d->type == CT_ALERT) {
		d->clear = true;
	}
	check_completed(c);
}

/* The whole record is in: one that waits for its keys joins the others, which go if they can. */
static void
record_end(struct tls_conn *c, enum tls_dir dir)
{
	struct dir_state *d = &c->d[dir];

	if (!d->collect)
		return;
	d->collect = false;
	d->wait_len += 6 + d->rec_len;
	drain(c, dir);
	drain(c, dir == TLS_CLIENT ? TLS_SERVER : TLS_CLIENT);
}

static void
record_body(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n)
{
	struct dir_state *d = &c->d[dir];

	if (d->collect) {
		memcpy(d->wait + d->wait_len + 6 + (d->rec_len - d->rec_left), p, n);
		return;
	}
	if (!d->clear)
		return;
	if (d->type == CT_HANDSHAKE)
		hs_feed(c, dir, p, n);
	else
		alert_feed(c, dir, p, n);
	check_completed(c);
}

/* How much of a record header is plausible so far (RFC 8446 §5.1 / RFC 5246 §6.2.1). */
static bool
header_ok(const uint8_t *h, size_t n)
{
	if (n >= 1 && (h[0] < CT_CHANGE_CIPHER_SPEC || h[0] > CT_HEARTBEAT))
		return false;
	if (n >= 2 && h[1] != 3)
		return false;
	if (n >= 3 && h[2] > 4)
		return false;
	if (n >= 5 && (size_t)(h[3] << 8 | h[4]) > TLS_RECORD_MAX)
		return false;
	return true;
}

static void
lose_sync(struct tls_conn *c, enum tls_dir dir, uint64_t pending, uint64_t missing)
{
	struct tls_side *s = &c->f.side[dir];

	bool first = !s->lost_sync;

	if (s->records == 0 && first)
		s->not_tls = true;
	s->lost_sync = true; /* before the callback: nothing it does can come back here */
	s->unparsed_bytes += pending;
	if (first && c->f.decrypted && c->cfg.lost) /* the dialog inside ends here */
		c->cfg.lost(c->cfg.arg, dir, missing ? (size_t)missing : 1);
}

static void
data_in(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n)
{
	struct dir_state *d = &c->d[dir];
	struct tls_side *s = &c->f.side[dir];

	s->bytes += n;
	while (n > 0) {
		if (s->lost_sync || c->ended) {
			s->unparsed_bytes += n;
			return;
		}
		if (!d->in_body) {
			d->hdr[d->hdr_len++] = *p++;
			n--;
			if (!header_ok(d->hdr, d->hdr_len)) {
				lose_sync(c, dir, d->hdr_len, d->hdr_len);
				d->hdr_len = 0;
				continue;
			}
			if (d->hdr_len < sizeof(d->hdr))
				continue;
			d->type = d->hdr[0];
			d->rec_len = (uint16_t)(d->hdr[3] << 8 | d->hdr[4]);
			d->rec_left = d->rec_len;
			d->hdr_len = 0;
			d->in_body = d->rec_left > 0;
			record_begin(c, dir);
			if (!d->in_body)
				record_end(c, dir);
			continue;
		}
		size_t take = d->rec_left < n ? d->rec_left : n;

		record_body(c, dir, p, take);
		d->rec_fed += take;
		p += take;
		n -= take;
		d->rec_left -= take;
		d->in_body = d->rec_left > 0;
		if (!d->in_body)
			record_end(c, dir);
	}
}

/*
 * A gap inside a record body keeps the framing (the record's length is known);
 * its clear content is lost, so a handshake message cut by it ends this side's
 * handshake reading. A gap anywhere else loses the framing.
 */
static void
gap_in(struct tls_conn *c, enum tls_dir dir, uint64_t len)
{
	struct dir_state *d = &c->d[dir];
	struct tls_side *s = &c->f.side[dir];

	s->gap_bytes += len;
	if (len == 0 || s->lost_sync || c->ended)
		return;
	if (!d->in_body || len > d->rec_left) {
		d->collect = false; /* a record cut without its end is not kept */
		lose_sync(c, dir, d->in_body ? 0 : d->hdr_len, len);
		d->hdr_len = 0;
		d->in_body = false;
		return;
	}
	if (d->clear && d->type == CT_HANDSHAKE)
		d->hs.broken = true;
	if (d->collect)
		d->wait[d->wait_len + 5] |= WAIT_BROKEN;
	d->alert_len = 0;
	d->rec_left -= (size_t)len;
	d->in_body = d->rec_left > 0;
	if (!d->in_body)
		record_end(c, dir);
}

static void
end_in(struct tls_conn *c, enum tls_closer who)
{
	if (c->ended)
		return;
	c->ended = true;
	for (int dir = TLS_CLIENT; dir <= TLS_SERVER; dir++) /* the key log's last word */
		drain(c, (enum tls_dir)dir);
	for (int dir = TLS_CLIENT; dir <= TLS_SERVER; dir++)
		give_up_waiting(c, (enum tls_dir)dir);
	for (int dir = TLS_CLIENT; dir <= TLS_SERVER; dir++) {
		struct dir_state *d = &c->d[dir];
		struct tls_side *s = &c->f.side[dir];

		/* a record cut by the end: what came of it is unparsed (once) */
		if (s->lost_sync || (!d->in_body && d->hdr_len == 0))
			continue;
		s->truncated_record = true;
		if (d->in_body)
			s->unparsed_bytes += d->rec_fed - (s->unparsed_bytes - d->rec_unparsed);
		else
			s->unparsed_bytes += d->hdr_len;
	}
	check_completed(c);
	if (c->f.handshake == TLS_HS_STARTED && who != TLS_CLOSED_UNSEEN)
		c->f.handshake = TLS_HS_ABANDONED;
}

const char *
tls_keys_name(enum tls_keys k)
{
	static const char *const names[] = {"off", "missing", "unsupported", "found"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

/*
 * The way in. The callbacks (plain, lost) run inside these; should one of
 * them feed this connection again, its bytes are counted, not read: a record
 * being opened must not be moved or freed under drain().
 */
void
tls_data(struct tls_conn *c, enum tls_dir dir, const uint8_t *p, size_t n)
{
	if (c->busy) {
		c->f.side[dir].bytes += n;
		c->f.side[dir].unparsed_bytes += n;
		return;
	}
	c->busy = true;
	data_in(c, dir, p, n);
	c->busy = false;
}

void
tls_gap(struct tls_conn *c, enum tls_dir dir, uint64_t len)
{
	if (c->busy) {
		c->f.side[dir].gap_bytes += len;
		return;
	}
	c->busy = true;
	gap_in(c, dir, len);
	c->busy = false;
}

void
tls_end(struct tls_conn *c, enum tls_closer who)
{
	if (c->busy)
		return;
	c->busy = true;
	end_in(c, who);
	c->busy = false;
}

bool
tls_looks_like_record(const uint8_t *p, size_t n)
{
	if (!p || n < 5 || p[0] != CT_HANDSHAKE || !header_ok(p, 5))
		return false;
	return (p[3] << 8 | p[4]) > 0;
}
