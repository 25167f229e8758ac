/*
 * names.c - names of TLS codes for output: versions, cipher suites, alerts.
 *
 * Sources: the IANA "Transport Layer Security (TLS) Parameters" registry,
 * https://www.iana.org/assignments/tls-parameters/ (tables "TLS Cipher Suites"
 * and "TLS Alerts"), and RFC 8446 §6 / RFC 5246 §7.2 for the alert names. The
 * cipher table holds the TLS 1.3 suites and the common TLS 1.2 and older ones
 * (RSA, DHE, ECDHE with AES, ChaCha20, 3DES, RC4); others print as hex
 * (tls.c). The names were cross-checked against `openssl ciphers -V -stdname`
 * (OpenSSL 3.0.19).
 */
#include "tls.h"

#include <stddef.h>

struct code_name {
	uint16_t code;
	const char *name;
};

/* IANA TLS Cipher Suites, sorted by code. */
static const struct code_name ciphers[] = {
	{0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
	{0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
	{0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
	{0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
	{0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
	{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
	{0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
	{0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
	{0x1301, "TLS_AES_128_GCM_SHA256"},
	{0x1302, "TLS_AES_256_GCM_SHA384"},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
	{0x1304, "TLS_AES_128_CCM_SHA256"},
	{0x1305, "TLS_AES_128_CCM_8_SHA256"},
	{0x5600, "TLS_FALLBACK_SCSV"},
	{0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
	{0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
	{0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
	{0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
	{0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
	{0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
	{0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
	{0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
	{0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
	{0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
	{0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
	{0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
	{0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
};

/* IANA TLS Alerts (RFC 8446 §6, RFC 5246 §7.2; "reserved" ones are the pre-1.3 names). */
static const char *const alerts[256] = {
	[0] = "close_notify",
	[10] = "unexpected_message",
	[20] = "bad_record_mac",
	[21] = "decryption_failed",
	[22] = "record_overflow",
	[30] = "decompression_failure",
	[40] = "handshake_failure",
	[41] = "no_certificate",
	[42] = "bad_certificate",
	[43] = "unsupported_certificate",
	[44] = "certificate_revoked",
	[45] = "certificate_expired",
	[46] = "certificate_unknown",
	[47] = "illegal_parameter",
	[48] = "unknown_ca",
	[49] = "access_denied",
	[50] = "decode_error",
	[51] = "decrypt_error",
	[60] = "export_restriction",
	[70] = "protocol_version",
	[71] = "insufficient_security",
	[80] = "internal_error",
	[86] = "inappropriate_fallback",
	[90] = "user_canceled",
	[100] = "no_renegotiation",
	[109] = "missing_extension",
	[110] = "unsupported_extension",
	[111] = "certificate_unobtainable",
	[112] = "unrecognized_name",
	[113] = "bad_certificate_status_response",
	[114] = "bad_certificate_hash_value",
	[115] = "unknown_psk_identity",
	[116] = "certificate_required",
	[120] = "no_application_protocol",
	[121] = "ech_required",
};

static const char *const handshakes[TLS_HS_COUNT] = {
	[TLS_HS_NONE] = "none",
	[TLS_HS_STARTED] = "started",
	[TLS_HS_COMPLETED] = "completed",
	[TLS_HS_FAILED] = "failed",
	[TLS_HS_ABANDONED] = "abandoned",
};

const char *
tls_cipher_name(uint16_t code)
{
	size_t lo = 0, hi = sizeof(ciphers) / sizeof(ciphers[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ciphers[mid].code == code)
			return ciphers[mid].name;
		if (ciphers[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Protocol versions, RFC 8446 §4.2.1 and RFC 6101 (SSL 3.0). */
const char *
tls_version_name(uint16_t code)
{
	switch (code) {
	case 0x0300:
		return "SSLv3";
	case 0x0301:
		return "TLSv1.0";
	case 0x0302:
		return "TLSv1.1";
	case 0x0303:
		return "TLSv1.2";
	case 0x0304:
		return "TLSv1.3";
	default:
		return NULL;
	}
}

const char *
tls_alert_name(uint8_t description)
{
	return alerts[description] ? alerts[description] : "unknown";
}

const char *
tls_alert_level_name(uint8_t level)
{
	if (level == TLS_ALERT_WARNING)
		return "warning";
	if (level == TLS_ALERT_FATAL)
		return "fatal";
	return "unknown";
}

const char *
tls_handshake_name(enum tls_handshake h)
{
	return (unsigned)h < TLS_HS_COUNT ? handshakes[h] : "unknown";
}

const char *
tls_dir_name(enum tls_dir dir)
{
	return dir == TLS_CLIENT ? "client" : "server";
}
