/*
 * fuzz_tls.c - libFuzzer target: tls/, the record and handshake layers that
 * read what follows STARTTLS (issue 13: a target for the TLS record parser).
 *
 * The input is a series of chunks, each led by one header byte h:
 *   bit 7        the direction (0 client, 1 server)
 *   bits 0-6     1..125: that many bytes follow (fewer if the input ends);
 *                0: a 16-bit big-endian length, then the bytes;
 *                126: a gap of one byte's worth (0 means 1 MiB) of that direction;
 *                127: the connection ends, closed by that direction; bytes after
 *                it start a new connection.
 * Byte 0 picks the handshake buffer: bit 0 set, small (256 bytes); else the default;
 * bit 1 set: decrypt with a key log that has every secret for the all-zero
 * ClientHello random (the records will rarely authenticate, but the keys are
 * derived and every record waits, opens or fails on the decryption path).
 * Every connection's facts are read back in full (names, alert, per side),
 * so what the parser stored is checked by ASan as it is used.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../tls/tls.h"
#include "fuzz.h"

static void
read_back(const struct tls_conn *c)
{
	const struct tls_facts *f = tls_facts(c);
	FILE *out = fuzz_sink();

	fprintf(out, "%s %s %s %s %s %s %s %s %s\n", tls_handshake_name(f->handshake), f->version,
		f->cipher, f->sni, f->alpn, f->alpn_offered, tls_alert_name(f->alert.description),
		tls_alert_level_name(f->alert.level), tls_dir_name(f->alert.sent_by));
	fprintf(out, "%s %s\n", tls_cipher_name(f->cipher_code), tls_version_name(f->version_code));
}

static void
on_plain(void *arg, enum tls_dir dir, const uint8_t *p, size_t n)
{
	(void)arg;
	fprintf(fuzz_sink(), "%d %zu %d\n", (int)dir, n, n ? p[0] + p[n - 1] : 0);
}

static void
on_lost(void *arg, enum tls_dir dir, size_t n)
{
	(void)arg;
	fprintf(fuzz_sink(), "lost %d %zu\n", (int)dir, n);
}

/* One key log for the run: every label, for the random 00...00. */
static struct tls_keylog *
keylog(void)
{
	static const char *const labels[] = {
		"CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"};
	static struct tls_keylog *kl;
	char err[128];
	FILE *f;

	if (kl || !(f = tmpfile()))
		return kl;
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		fprintf(f, "%s %064d %s%s\n", labels[i], 0, i ? "" : "11111111111111111111111111111111",
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	fflush(f);
	kl = tls_keylog_open(dup(fileno(f)), false, 0, err, sizeof(err));
	fclose(f);
	return kl;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_config cfg = {0};
	struct tls_conn *c;
	size_t i = 1;

	if (size < 1)
		return 0;
	if (data[0] & 0x01)
		cfg.max_handshake_msg = 256;
	if (data[0] & 0x02) {
		cfg.keylog = keylog();
		cfg.plain = on_plain;
		cfg.lost = on_lost;
	}
	if (!(c = tls_new(&cfg)))
		return 0;
	while (i < size) {
		uint8_t h = data[i++];
		enum tls_dir dir = (h & 0x80) ? TLS_SERVER : TLS_CLIENT;
		size_t n = h & 0x7f;

		if (n == 127) {
			tls_end(c, dir == TLS_CLIENT ? TLS_CLOSED_BY_CLIENT : TLS_CLOSED_BY_SERVER);
			read_back(c);
			tls_free(c);
			if (!(c = tls_new(&cfg)))
				return 0;
			continue;
		}
		if (n == 126) {
			uint64_t len = i < size ? data[i++] : 0;

			tls_gap(c, dir, len ? len : 1u << 20);
			continue;
		}
		if (n == 0) {
			if (size - i < 2)
				break;
			n = (size_t)data[i] << 8 | data[i + 1];
			i += 2;
		}
		if (n > size - i)
			n = size - i;
		tls_data(c, dir, data + i, n);
		i += n;
	}
	tls_end(c, TLS_CLOSED_UNSEEN); /* the capture ended */
	read_back(c);
	tls_free(c);
	return 0;
}
