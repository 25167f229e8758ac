/*
 * mime.c - see mime.h.
 *
 * Linear time: a candidate word starting at "=?" is scanned only up to the
 * "?" that ends its charset, two bytes, then up to the "?" that ends its text
 * (neither part may hold a "?"), so every byte is looked at by the few
 * candidates that start at one of the last "?"s before it. Words are decoded
 * in place into one scratch buffer as long as the input (B and Q never
 * decode to more bytes than they take), and converted once per run of
 * adjacent words in the same charset.
 *
 * Decoded like Python's email.header.decode_header and most mail readers, an
 * encoded word is recognised wherever it is well formed, also next to other
 * text or inside quotes (RFC 2047 5 would not), since real mailers write them
 * there.
 */
#include "mime.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHARSET_MAX 40 /* longer than any name iconv knows */

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

struct sink {
	char *p;
	size_t len, cap;
	bool full;
};

struct word {
	const char *charset; /* without the RFC 2231 "*language" */
	size_t cs_len;
	char enc;	     /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t end;	     /* offset just past "?=" */
};

/* The run of adjacent words in one charset, decoded but not yet converted. */
struct run {
	bool active;
	char charset[CHARSET_MAX + 1];
	char *bytes;	       /* scratch, as long as the input */
	size_t len;	       /* decoded bytes so far */
	size_t start, end;     /* the run's raw span in the input */
	size_t gap, gap_len;   /* white space before it, after another run */
	bool prev_raw;	       /* that run stayed raw: the white space is text */
	bool converted;	       /* the last run flushed was converted */
	bool any;	       /* some run was converted */
	unsigned opened;       /* iconv_open() calls for this header, at most MAX_OPENS */
};

/*
 * Each change of charset loads iconv's module for it: at most this many per
 * header, the words past them stay as they are (a header of words that cycle
 * through charsets would cost ~50 us a word).
 */
#define MAX_OPENS 8

/*
 * The charsets mail uses (IANA names, with their common aliases): packet text
 * may only pick among these, not any of iconv's ~250 modules, some of which
 * had memory bugs on hostile input.
 */
static const char *const charsets[] = {
	"UTF-8", "US-ASCII", "ASCII", "UTF-7", "KOI8-R", "KOI8-U", "GB2312", "GBK", "GB18030",
	"BIG5", "BIG5-HKSCS", "SHIFT_JIS", "SJIS", "CP932", "EUC-JP", "EUC-KR", "CP949",
	"ISO-2022-JP", "ISO-2022-KR", "TIS-620", "WINDOWS-874", "CP1250", "CP1251", "CP1252",
	"CP1253", "CP1254", "CP1255", "CP1256", "CP1257", "CP1258", "LATIN1",
};

static bool
charset_allowed(const char *cs)
{
	static const char *const prefixes[] = {"ISO-8859-", "WINDOWS-125", "ISO_8859-"};

	for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
		if (strcasecmp(cs, charsets[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t k = strlen(prefixes[i]);

		/* ISO-8859-1 .. -16, windows-1250 .. -1258: one or two digits after the prefix */
		if (strncasecmp(cs, prefixes[i], k) == 0 && cs[k] >= '0' && cs[k] <= '9' &&
		    (cs[k + 1] == '\0' || (cs[k + 1] >= '0' && cs[k + 1] <= '9' && !cs[k + 2])))
			return true;
	}
	return false;
}

static void
put(struct sink *o, const char *p, size_t n)
{
	if (n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* RFC 2047 2: a token, minus "/" and "," that iconv gives meaning to ("//IGNORE"). */
static bool
charset_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\"/[]?=\\", c);
}

static bool
parse_word(const char *in, size_t n, size_t at, struct word *w)
{
	size_t i = at + 2, star;

	w->charset = in + i;
	while (i < n && i - at - 2 <= CHARSET_MAX && charset_char((unsigned char)in[i]))
		i++;
	w->cs_len = i - at - 2;
	if (w->cs_len == 0 || w->cs_len > CHARSET_MAX || n - i < 5 || in[i] != '?' ||
	    in[i + 2] != '?' || !strchr("BbQq", in[i + 1]) || in[i + 1] == '\0')
		return false;
	w->enc = (char)(in[i + 1] & ~0x20);
	i += 3;
	w->text = in + i;
	while (i < n && in[i] != '?' && in[i] > 0x20 && in[i] < 0x7f)
		i++;
	if (n - i < 2 || in[i] != '?' || in[i + 1] != '=')
		return false;
	w->text_len = (size_t)(in + i - w->text);
	w->end = i + 2;
	for (star = 0; star < w->cs_len && w->charset[star] != '*'; star++)
		;
	w->cs_len = star; /* RFC 2231 5: "charset*language" */
	return star > 0;
}

int
mime_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

size_t
mime_b64_decode(const char *in, size_t n, char *out, size_t outsz, size_t *used)
{
	uint32_t acc = 0;
	size_t bits = 0, o = 0, i = 0;

	for (; i < n && o < outsz; i++) {
		int v = mime_b64_value((unsigned char)in[i]);

		if (v < 0)
			break;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (used)
		*used = i;
	return o;
}

/* Base64 (RFC 2047 4.1); padding may be missing, as many mailers leave it out. */
static bool
decode_b(const char *t, size_t n, char *out, size_t *len)
{
	size_t i;

	*len = mime_b64_decode(t, n, out, n, &i);
	if (i < n && t[i] != '=')
		return false; /* a byte outside the alphabet */
	for (size_t p = i; p < n; p++)
		if (t[p] != '=' || p - i >= 2)
			return false;
	return (i % 4) != 1; /* six bits cannot end a byte */
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 2047 4.2: "_" is a space, "=XX" a byte; a "=" without two hex digits stays. */
static bool
decode_q(const char *t, size_t n, char *out, size_t *len)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int hi = -1, lo = -1;

		if (t[i] == '=' && n - i > 2) {
			hi = hex_value((unsigned char)t[i + 1]);
			lo = hex_value((unsigned char)t[i + 2]);
		}
		if (hi >= 0 && lo >= 0) {
			out[k++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[k++] = t[i] == '_' ? ' ' : t[i];
		}
	}
	*len = k;
	return true;
}

/* Bytes to UTF-8 through cd, a byte the charset does not allow as U+FFFD. */
static void
convert(struct sink *o, iconv_t cd, char *p, size_t n)
{
	char *dst;
	size_t room;

	while (n && !o->full) {
		dst = o->p + o->len;
		room = o->cap - o->len;
		size_t r = iconv(cd, &p, &n, &dst, &room);
		int err = errno;

		o->len = (size_t)(dst - o->p);
		if (r != (size_t)-1)
			break;
		if (err == E2BIG) {
			o->full = true;
			break;
		}
		put(o, replacement, sizeof(replacement) - 1); /* EILSEQ, EINVAL */
		if (err != EILSEQ || n == 0)
			break; /* incomplete at the end (or a module that ate it all): one U+FFFD */
		p++;
		n--;
	}
	dst = o->p + o->len;
	room = o->cap - o->len;
	if (iconv(cd, NULL, NULL, &dst, &room) == (size_t)-1) /* a stateful charset's shift back */
		o->full = true;
	o->len = (size_t)(dst - o->p);
}

/* The run ends: its text, converted, or raw if iconv does not know its charset. */
static void
flush(struct run *r, struct sink *o, const char *in)
{
	iconv_t cd;

	if (!r->active)
		return;
	r->active = false;
	cd = charset_allowed(r->charset) && r->opened++ < MAX_OPENS
		     ? iconv_open("UTF-8", r->charset) : (iconv_t)-1;
	r->converted = cd != (iconv_t)-1;
	if (!r->converted || r->prev_raw) /* 6.2: white space between two decoded words goes */
		put(o, in + r->gap, r->gap_len);
	if (r->converted) {
		convert(o, cd, r->bytes, r->len);
		iconv_close(cd);
	} else {
		put(o, in + r->start, r->end - r->start);
	}
	r->any |= r->converted;
}

/* Linear white space, folding included (RFC 5322 FWS). */
static bool
only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", p[i]) || p[i] == '\0')
			return false;
	return true;
}

/* A word decoded at r->bytes + r->len, k bytes: join it to the run or start one. */
static void
add_word(struct run *r, struct sink *o, const char *in, size_t plain, size_t at,
	 const struct word *w, size_t k)
{
	bool adjacent = r->active && only_space(in + plain, at - plain);

	if (adjacent && strlen(r->charset) == w->cs_len &&
	    strncasecmp(r->charset, w->charset, w->cs_len) == 0) {
		r->len += k;
		r->end = w->end;
		return;
	}
	size_t at_bytes = r->len;

	flush(r, o, in);
	if (adjacent) {
		r->gap = plain;
		r->gap_len = at - plain;
		r->prev_raw = !r->converted;
	} else {
		put(o, in + plain, at - plain);
		r->gap_len = 0;
		r->prev_raw = false;
	}
	memmove(r->bytes, r->bytes + at_bytes, k);
	memcpy(r->charset, w->charset, w->cs_len);
	r->charset[w->cs_len] = '\0';
	r->active = true;
	r->len = k;
	r->start = at;
	r->end = w->end;
}

/* The next "=?" at or after at, or n. */
static size_t
next_start(const char *in, size_t n, size_t at)
{
	while (at < n) {
		const char *eq = memchr(in + at, '=', n - at);

		if (!eq)
			return n;
		at = (size_t)(eq - in);
		if (at + 1 < n && in[at + 1] == '?')
			return at;
		at++;
	}
	return n;
}

size_t
mime_decode_words(const char *in, size_t n, char *out, size_t cap)
{
	struct sink o = {.p = out, .cap = cap};
	struct run r = {.bytes = malloc(n ? n : 1)};
	size_t plain = 0, at = 0, k;
	struct word w;

	if (!r.bytes)
		return MIME_NONE;
	while ((at = next_start(in, n, at)) < n) {
		if (!parse_word(in, n, at, &w) ||
		    !(w.enc == 'B' ? decode_b : decode_q)(w.text, w.text_len, r.bytes + r.len, &k)) {
			at++;
			continue;
		}
		add_word(&r, &o, in, plain, at, &w, k);
		plain = at = w.end;
	}
	if (!r.active && !r.any) {
		free(r.bytes);
		return MIME_NONE;
	}
	flush(&r, &o, in);
	put(&o, in + plain, n - plain);
	free(r.bytes);
	return r.any && !o.full ? o.len : MIME_NONE;
}
