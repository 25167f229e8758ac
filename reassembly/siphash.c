/*
 * siphash.c - the keyed hash for every table fed by packet data.
 *
 * SipHash, written from the description in J.-P. Aumasson and D. J.
 * Bernstein, "SipHash: a fast short-input PRF" (INDOCRYPT 2012), section 2:
 * a 128-bit key k0||k1 initialises four 64-bit words against the constants
 * "somepseudorandomlygeneratedbytes"; each 8-byte little-endian block m is
 * xored into v3, put through c = 2 SipRounds, and xored into v0; the last
 * block holds the remaining bytes and the length mod 256 in its top byte;
 * then v2 ^= 0xff, d = 4 SipRounds, and the output is v0^v1^v2^v3 (2-4;
 * the tables use 1-3, see rsm_siphash).
 * Checked against the paper's Appendix A vector in tests/test_reassembly.c.
 *
 * Without the key, nobody can choose flows that share a bucket: the tables
 * keep their expected O(1) lookups under a chosen-collision flood. The key
 * is drawn per run from getrandom(2), or /dev/urandom where that is missing.
 */
#include "reassembly.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound on the four state words, kept in registers. */
#define SIPROUND(v0, v1, v2, v3)                                                          \
	do {                                                                              \
		v0 += v1;                                                                 \
		v1 = ROTL(v1, 13);                                                        \
		v1 ^= v0;                                                                 \
		v0 = ROTL(v0, 32);                                                        \
		v2 += v3;                                                                 \
		v3 = ROTL(v3, 16);                                                        \
		v3 ^= v2;                                                                 \
		v0 += v3;                                                                 \
		v3 = ROTL(v3, 21);                                                        \
		v3 ^= v0;                                                                 \
		v2 += v1;                                                                 \
		v1 = ROTL(v1, 17);                                                        \
		v1 ^= v2;                                                                 \
		v2 = ROTL(v2, 32);                                                        \
	} while (0)

static uint64_t
le64(const uint8_t *p, size_t n)
{
	uint64_t m = 0;

	if (n == 8) { /* one load: this runs for every packet */
		memcpy(&m, p, 8);
		return le64toh(m);
	}
	for (size_t i = 0; i < n; i++)
		m |= (uint64_t)p[i] << (8 * i);
	return m;
}

/* SipHash-c-d: c rounds per block, d to finish (the paper's section 2). */
static inline __attribute__((always_inline)) uint64_t
siphash(const struct rsm_hash_key *key, const void *data, size_t len, int c, int d)
{
	const uint8_t *p = data;
	uint64_t v0 = key->k[0] ^ 0x736f6d6570736575ull; /* "somepseu" */
	uint64_t v1 = key->k[1] ^ 0x646f72616e646f6dull; /* "dorandom" */
	uint64_t v2 = key->k[0] ^ 0x6c7967656e657261ull; /* "lygenera" */
	uint64_t v3 = key->k[1] ^ 0x7465646279746573ull; /* "tedbytes" */
	uint64_t m;
	size_t left = len;

	for (; left >= 8; p += 8, left -= 8) {
		m = le64(p, 8);
		v3 ^= m;
		for (int i = 0; i < c; i++)
			SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = le64(p, left) | (uint64_t)(len & 0xff) << 56;
	v3 ^= m;
	for (int i = 0; i < c; i++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (int i = 0; i < d; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * The tables use SipHash-1-3, the variant Python and Rust hash their tables
 * with: the same keyed construction, fewer rounds, for every packet.
 */
uint64_t
rsm_siphash(const struct rsm_hash_key *key, const void *data, size_t len)
{
	return siphash(key, data, len, 1, 3);
}

/* SipHash-2-4, the paper's: the test checks the construction on its vector. */
uint64_t
rsm_siphash24(const struct rsm_hash_key *key, const void *data, size_t len)
{
	return siphash(key, data, len, 2, 4);
}

static int
read_urandom(uint8_t *buf, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	return 0;
}

int
rsm_hash_key_random(struct rsm_hash_key *key)
{
	uint8_t buf[16];
	size_t got = 0;

	while (got < sizeof(buf)) {
		ssize_t r = getrandom(buf + got, sizeof(buf) - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno != ENOSYS && errno != EPERM)
				return -1;
			if (read_urandom(buf, sizeof(buf)) < 0)
				return -1;
			break;
		}
		got += (size_t)r;
	}
	key->k[0] = le64(buf, 8);
	key->k[1] = le64(buf + 8, 8);
	return 0;
}

bool
rsm_hash_key_set(const struct rsm_hash_key *key)
{
	return key->k[0] || key->k[1];
}

int
rsm_hash_key_ensure(struct rsm_hash_key *key)
{
	return rsm_hash_key_set(key) ? 0 : rsm_hash_key_random(key);
}
