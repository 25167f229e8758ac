/*
 * hello.c - see hello.h.
 *
 * ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2): server_name (RFC 6066 §3)
 * and application_layer_protocol_negotiation (RFC 7301 §3.1). ServerHello
 * (RFC 8446 §4.1.3): legacy_version, cipher_suite, supported_versions (§4.2.1)
 * and, up to TLS 1.2 where it is in clear, the ALPN the server chose. Every
 * read goes through capture/rd.h: a short read returns 0 and sets short_read,
 * so each structure is checked once.
 */
#include "hello.h"

#include "../capture/rd.h"

#include <stdio.h>
#include <string.h>

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_ENCRYPT_THEN_MAC 22 /* RFC 7366 */
#define EXT_SUPPORTED_VERSIONS 43

void
tls_append_escaped(char *dst, size_t cap, const uint8_t *s, size_t n, bool *truncated)
{
	size_t used = strlen(dst);

	for (size_t i = 0; i < n; i++) {
		char esc[5];
		size_t k = 1;

		if (s[i] >= 0x21 && s[i] <= 0x7e && s[i] != '\\') {
			esc[0] = (char)s[i];
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			k = 4;
		}
		if (used + k >= cap) {
			*truncated = true;
			return;
		}
		memcpy(dst + used, esc, k);
		used += k;
		dst[used] = '\0';
	}
}

/* server_name: ServerNameList; the first host_name entry is kept. */
static void
read_sni(struct tls_facts *f, struct rd *ext)
{
	struct rd list = rd_sub(ext, rd_be16(ext));

	while (list.left > 0 && !list.short_read) {
		uint8_t type = rd_u8(&list);
		uint16_t len = rd_be16(&list);
		const uint8_t *name = rd_span(&list, len);

		if (!name)
			return;
		if (type == 0) {
			f->sni[0] = '\0';
			f->sni_truncated = false;
			tls_append_escaped(f->sni, sizeof(f->sni), name, len, &f->sni_truncated);
			return;
		}
	}
}

/* ProtocolNameList into dst, comma separated. */
static void
read_alpn(char *dst, size_t cap, bool *truncated, struct rd *ext)
{
	struct rd list = rd_sub(ext, rd_be16(ext));

	dst[0] = '\0';
	while (list.left > 0 && !list.short_read) {
		uint8_t len = rd_u8(&list);
		const uint8_t *name = rd_span(&list, len);

		if (!name)
			return;
		if (dst[0])
			tls_append_escaped(dst, cap, (const uint8_t *)",", 1, truncated);
		tls_append_escaped(dst, cap, name, len, truncated);
	}
}

bool
tls_read_client_hello(struct tls_facts *f, const uint8_t *p, size_t n)
{
	struct rd r = {p, n, false};

	f->client_hello = true;
	rd_span(&r, 2 + 32);		  /* legacy_version, random */
	rd_span(&r, rd_u8(&r));	  /* legacy_session_id */
	rd_span(&r, rd_be16(&r));	  /* cipher_suites */
	rd_span(&r, rd_u8(&r));	  /* legacy_compression_methods */
	if (r.short_read)
		return false;
	if (r.left == 0)
		return true; /* no extensions (allowed before TLS 1.3) */
	struct rd exts = rd_sub(&r, rd_be16(&r));

	while (exts.left > 0 && !exts.short_read) {
		uint16_t type = rd_be16(&exts);
		struct rd ext = rd_sub(&exts, rd_be16(&exts));

		if (ext.short_read)
			break;
		if (type == EXT_SERVER_NAME)
			read_sni(f, &ext);
		else if (type == EXT_ALPN)
			read_alpn(f->alpn_offered, sizeof(f->alpn_offered), &f->alpn_truncated, &ext);
	}
	return !exts.short_read && !r.short_read;
}

/* SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[32] = {
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

static void
set_code_name(char *dst, size_t cap, const char *name, uint16_t code)
{
	if (name)
		snprintf(dst, cap, "%s", name);
	else
		snprintf(dst, cap, "0x%04X", (unsigned)code);
}

bool
tls_read_server_hello(struct tls_facts *f, const uint8_t *p, size_t n)
{
	struct rd r = {p, n, false};
	uint16_t version = rd_be16(&r), selected = 0;
	const uint8_t *random = rd_span(&r, 32);

	if (random && memcmp(random, hrr_random, sizeof(hrr_random)) == 0) {
		f->hello_retry_request = true;
		return true;
	}
	rd_span(&r, rd_u8(&r)); /* legacy_session_id_echo */
	uint16_t cipher = rd_be16(&r);

	rd_u8(&r); /* legacy_compression_method */
	if (r.short_read)
		return false;
	struct rd exts = rd_sub(&r, r.left ? rd_be16(&r) : 0);

	while (exts.left > 0 && !exts.short_read) {
		uint16_t type = rd_be16(&exts);
		struct rd ext = rd_sub(&exts, rd_be16(&exts));

		if (ext.short_read)
			break;
		if (type == EXT_SUPPORTED_VERSIONS && ext.left == 2)
			selected = rd_be16(&ext);
		else if (type == EXT_ALPN)
			read_alpn(f->alpn, sizeof(f->alpn), &f->alpn_truncated, &ext);
		else if (type == EXT_ENCRYPT_THEN_MAC)
			f->encrypt_then_mac = true;
	}
	f->server_hello = true;
	f->version_code = selected ? selected : version;
	f->cipher_code = cipher;
	set_code_name(f->version, sizeof(f->version), tls_version_name(f->version_code),
		      f->version_code);
	set_code_name(f->cipher, sizeof(f->cipher), tls_cipher_name(cipher), cipher);
	return !exts.short_read && !r.short_read;
}
