/*
 * keylog.c - the NSS key log format (SSLKEYLOGFILE), read once or followed.
 *
 * Each line is "LABEL <64 hex: the ClientHello random> <hex: the secret>";
 * '#' starts a comment. The labels kept are the five that protect records
 * (decrypt.h: enum kl_secret); EXPORTER_SECRET, CLIENT_EARLY_TRAFFIC_SECRET
 * and the like are counted as ignored; anything else is a bad line. Lines
 * longer than a valid one are bad lines too, skipped to their end, so a file
 * of any size is read in linear time with a fixed buffer.
 *
 * Entries live in a hash table keyed with SipHash and a random key: the
 * randoms come from the ClientHellos of the capture, so a sender could choose
 * them. At most max_entries are kept. Lookups copy the entry out under the
 * mutex, so the table may grow (follow mode) while other threads decode.
 */
#include "decrypt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../reassembly/reassembly.h"

#define LINE_MAX_LEN (40 + 1 + 2 * KL_RANDOM + 1 + 2 * KL_SECRET_MAX) /* longest valid line */
#define DEFAULT_MAX_ENTRIES 100000
#define BUCKETS_MIN 1024

struct kl_entry {
	struct kl_entry *next;
	uint8_t random[KL_RANDOM];
	struct kl_keys keys;
};

struct tls_keylog {
	pthread_mutex_t lock;
	int fd;
	bool follow;
	off_t offset; /* the bytes read so far end here (after the last whole line) */
	size_t max_entries;
	struct rsm_hash_key hkey;
	struct kl_entry **bucket;
	size_t n_buckets; /* a power of two */
	char line[LINE_MAX_LEN + 1];
	size_t line_len;
	bool line_too_long;
	struct tls_keylog_stats st;
};

static const struct {
	const char *label;
	int secret; /* enum kl_secret, or -1: a known label we have no use for */
} labels[] = {
	{"CLIENT_RANDOM", KL_MASTER},
	{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", KL_CHTS},
	{"SERVER_HANDSHAKE_TRAFFIC_SECRET", KL_SHTS},
	{"CLIENT_TRAFFIC_SECRET_0", KL_CATS},
	{"SERVER_TRAFFIC_SECRET_0", KL_SATS},
	{"EXPORTER_SECRET", -1},
	{"CLIENT_EARLY_TRAFFIC_SECRET", -1},
	{"EARLY_EXPORTER_SECRET", -1},
	{"RSA", -1}, /* RSA <encrypted premaster> <premaster>: not supported */
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * max hex digits or fewer (even); the byte count, or -1. */
static long
unhex(const char *s, size_t n, uint8_t *out, size_t max)
{
	if (n == 0 || n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

static struct kl_entry **
slot(struct tls_keylog *kl, const uint8_t random[KL_RANDOM])
{
	uint64_t h = rsm_siphash(&kl->hkey, random, KL_RANDOM);
	struct kl_entry **e = &kl->bucket[h & (kl->n_buckets - 1)];

	while (*e && memcmp((*e)->random, random, KL_RANDOM) != 0)
		e = &(*e)->next;
	return e;
}

/* Double the table when it is as full as it has buckets (entries move, not copied). */
static void
grow(struct tls_keylog *kl)
{
	size_t n = kl->n_buckets * 2;
	struct kl_entry **b = calloc(n, sizeof(*b)), **old = kl->bucket;

	if (!b)
		return; /* stays correct, only slower */
	kl->bucket = b;
	kl->n_buckets = n;
	for (size_t i = 0; i < n / 2; i++)
		for (struct kl_entry *e = old[i], *next; e; e = next) {
			struct kl_entry **s = slot(kl, e->random);

			next = e->next;
			e->next = *s;
			*s = e;
		}
	free(old);
}

static void
store(struct tls_keylog *kl, const uint8_t random[KL_RANDOM], int which, const uint8_t *secret,
      size_t len)
{
	struct kl_entry **s = slot(kl, random), *e = *s;

	if (!e) {
		if (kl->st.entries >= kl->max_entries || !(e = calloc(1, sizeof(*e)))) {
			kl->st.dropped++;
			return;
		}
		memcpy(e->random, random, KL_RANDOM);
		*s = e;
		if (++kl->st.entries > kl->n_buckets)
			grow(kl);
	}
	e->keys.have |= (uint8_t)(1u << which);
	e->keys.len[which] = (uint8_t)len;
	memcpy(e->keys.secret[which], secret, len);
}

static void
read_line(struct tls_keylog *kl, const char *l, size_t n)
{
	uint8_t random[KL_RANDOM], secret[KL_SECRET_MAX];
	const char *sp1 = memchr(l, ' ', n), *sp2;
	long rl, sl;

	if (n && l[n - 1] == '\r')
		n--;
	if (n == 0 || l[0] == '#')
		return;
	kl->st.lines++;
	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l)))) {
		kl->st.bad_lines++;
		return;
	}
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		if (strlen(labels[i].label) != (size_t)(sp1 - l) ||
		    memcmp(labels[i].label, l, (size_t)(sp1 - l)) != 0)
			continue;
		rl = unhex(sp1 + 1, (size_t)(sp2 - sp1 - 1), random, sizeof(random));
		sl = unhex(sp2 + 1, n - (size_t)(sp2 + 1 - l), secret, sizeof(secret));
		if (labels[i].secret < 0)
			kl->st.ignored_lines++;
		else if (rl != KL_RANDOM || sl < 0 ||
			 (labels[i].secret == KL_MASTER && sl != 48))
			kl->st.bad_lines++;
		else
			store(kl, random, labels[i].secret, secret, (size_t)sl);
		OPENSSL_cleanse(secret, sizeof(secret));
		return;
	}
	kl->st.bad_lines++;
}

/* Read from offset to the end of the file; a last line without its newline is kept for more. */
static void
read_more(struct tls_keylog *kl)
{
	char buf[8192];
	ssize_t got;

	while ((got = pread(kl->fd, buf, sizeof(buf), kl->offset)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] == '\n') {
				if (kl->line_too_long)
					kl->st.lines++, kl->st.bad_lines++;
				else
					read_line(kl, kl->line, kl->line_len);
				kl->line_len = 0;
				kl->line_too_long = false;
			} else if (kl->line_len < LINE_MAX_LEN) {
				kl->line[kl->line_len++] = buf[i];
			} else {
				kl->line_too_long = true;
			}
		}
		kl->offset += got;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

struct tls_keylog *
tls_keylog_open(int fd, bool follow, size_t max_entries, char *err, size_t errsz)
{
	struct tls_keylog *kl = calloc(1, sizeof(*kl));
	struct stat st;

	if (!kl || fstat(fd, &st) < 0 || rsm_hash_key_random(&kl->hkey) < 0 ||
	    !(kl->bucket = calloc(BUCKETS_MIN, sizeof(*kl->bucket)))) {
		snprintf(err, errsz, "%s", strerror(errno ? errno : ENOMEM));
		if (kl)
			free(kl->bucket);
		free(kl);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "is a directory");
		free(kl->bucket);
		free(kl);
		return NULL;
	}
	pthread_mutex_init(&kl->lock, NULL);
	kl->fd = fd;
	kl->follow = follow;
	kl->n_buckets = BUCKETS_MIN;
	kl->max_entries = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	read_more(kl);
	if (!follow && kl->line_len) { /* the last line had no newline */
		read_line(kl, kl->line, kl->line_len);
		kl->line_len = 0;
	}
	return kl;
}

bool
kl_find(struct tls_keylog *kl, const uint8_t random[KL_RANDOM], enum kl_secret want,
	struct kl_keys *out)
{
	struct kl_entry *e;
	bool found;

	pthread_mutex_lock(&kl->lock);
	e = *slot(kl, random);
	if (kl->follow && (!e || !(e->keys.have & (1u << want)))) {
		read_more(kl);
		e = *slot(kl, random);
	}
	found = e && (e->keys.have & (1u << want));
	if (e)
		*out = e->keys;
	pthread_mutex_unlock(&kl->lock);
	return found;
}

bool
kl_follows(const struct tls_keylog *kl)
{
	return kl->follow;
}

void
tls_keylog_get_stats(struct tls_keylog *kl, struct tls_keylog_stats *st)
{
	pthread_mutex_lock(&kl->lock);
	*st = kl->st;
	pthread_mutex_unlock(&kl->lock);
}

void
tls_keylog_free(struct tls_keylog *kl)
{
	if (!kl)
		return;
	for (size_t i = 0; i < kl->n_buckets; i++)
		for (struct kl_entry *e = kl->bucket[i], *next; e; e = next) {
			next = e->next;
			OPENSSL_cleanse(e, sizeof(*e));
			free(e);
		}
	free(kl->bucket);
	close(kl->fd);
	pthread_mutex_destroy(&kl->lock);
	OPENSSL_cleanse(kl->line, sizeof(kl->line));
	free(kl);
}
