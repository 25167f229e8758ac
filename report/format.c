/*
 * format.c - escaping and formatting shared by the text and JSON writers.
 */
#include "report.h"

#include "out.h"
#include "report_private.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Length of a valid UTF-8 sequence at s (RFC 3629), or 0; s is NUL-terminated. */
size_t
rpt_utf8_len(const unsigned char *s)
{
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0; /* overlong, or a UTF-16 surrogate */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * The code point of a valid sequence of n bytes at s, when it is one a
 * reader cannot see but which changes what is shown: a bidi control (U+061C,
 * U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) or a zero-width character
 * (U+200B-U+200D, U+2060-U+2064, U+FEFF), a variation selector (U+FE00-FE0F,
 * U+E0100-E01EF) or a tag (U+E0000-E007F), which can carry hidden text. Otherwise 0.
 */
bool
rpt_c1_control(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

unsigned
rpt_invisible(const unsigned char *s, size_t n)
{
	unsigned cp;

	if (n == 2 && s[0] == 0xd8 && s[1] == 0x9c)
		return 0x61c;
	if (n == 4 && s[0] == 0xf3 && s[1] == 0xa0) {
		/* tags (U+E0000-E007F) and variation selectors (U+E0100-E01EF): hidden text */
		cp = 0xe0000 | (unsigned)(s[2] & 0x3f) << 6 | (s[3] & 0x3fu);
		return cp <= 0xe007f || (cp >= 0xe0100 && cp <= 0xe01ef) ? cp : 0;
	}
	if (n != 3 || (s[0] != 0xe2 && s[0] != 0xef))
		return 0;
	cp = (unsigned)(s[0] & 0x0f) << 12 | (unsigned)(s[1] & 0x3f) << 6 | (s[2] & 0x3fu);
	if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff ||
	    (cp >= 0xfe00 && cp <= 0xfe0f))
		return cp;
	return 0;
}

/*
 * A byte of wire text that is not there as itself (smtp.h): C0 80 stands for
 * NUL and C0 81 for the byte C0. Returns the byte and sets *n to 2, or -1.
 */
int
rpt_wire_escape(const unsigned char *s, size_t *n)
{
	if (s[0] != 0xc0 || (s[1] != 0x80 && s[1] != 0x81))
		return -1;
	*n = 2;
	return s[1] == 0x80 ? 0 : 0xc0;
}

/*
 * A JSON string on a stdio stream, for the writers that do not build a whole
 * record in a buffer: the same escaping as out_json() (out.c), which it uses.
 */
void
rpt_json_string(FILE *f, const char *str)
{
	static _Thread_local struct out o; /* 64 KiB: not on the stack; one per thread (--threads) */

	o.f = f;
	o.len = 0;
	out_json(&o, str);
	out_flush(&o);
}

/* Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted). */
static void
civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400) + (*m <= 2);
}

static void
digits(char *p, unsigned v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYY-MM-DDThh:mm:ss.uuuuuuZ" into buf (28 bytes or more) from days since 1970 and the rest. */
static void
iso_build(char *buf, int64_t days, unsigned s, unsigned us)
{
	unsigned mon, day;
	int year;

	civil(days, &year, &mon, &day);
	memcpy(buf, "0000-00-00T00:00:00.000000Z", 28);
	digits(buf, (unsigned)(year < 0 ? 0 : year > 9999 ? 9999 : year), 4);
	digits(buf + 5, mon, 2);
	digits(buf + 8, day, 2);
	digits(buf + 11, s / 3600, 2);
	digits(buf + 14, s / 60 % 60, 2);
	digits(buf + 17, s % 60, 2);
	digits(buf + 20, us, 6);
}

/* ISO 8601 UTC with microseconds, "2009-10-05T06:06:07.529046Z", built by hand: it is hot. */
void
rpt_iso_time(char *buf, size_t n, uint64_t ts_us)
{
	uint64_t sec = ts_us / 1000000u;

	if (n < 28) { /* callers give 40; never cut a timestamp silently */
		if (n)
			buf[0] = '\0';
		return;
	}
	iso_build(buf, (int64_t)(sec / 86400), (unsigned)(sec % 86400),
		  (unsigned)(ts_us % 1000000u));
}

/* The same form for whole seconds that may be before 1970 (a certificate's validity). */
void
rpt_iso_seconds(char *buf, size_t n, int64_t sec)
{
	int64_t days = sec / 86400, rem = sec % 86400;

	if (n < 28) {
		if (n)
			buf[0] = '\0';
		return;
	}
	if (rem < 0) { /* C division truncates toward zero; days must be floored */
		rem += 86400;
		days--;
	}
	iso_build(buf, days, (unsigned)rem, 0);
}

/* Dotted quad by hand: glibc's inet_ntop() goes through sprintf(), 1,200 instructions. */
static bool
ipv4_text(char *buf, size_t n, const uint8_t *b)
{
	char tmp[16], *p = tmp;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	if ((size_t)(p - tmp) > n)
		return false;
	memcpy(buf, tmp, (size_t)(p - tmp));
	return true;
}

void
rpt_addr(char *buf, size_t n, const struct cap_addr *a)
{
	if (a->family != 6 ? ipv4_text(buf, n, a->bytes)
			   : inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)n) != NULL)
		return;
	snprintf(buf, n, "?");
}
