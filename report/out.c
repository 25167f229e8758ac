/*
 * out.c - the JSON pieces of out.h that are too long to inline.
 */
#include "out.h"

#include <pthread.h>

#include "report_private.h"

void
out_u64(struct out *o, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_mem(o, p, (size_t)(buf + sizeof(buf) - p));
}

/* Microseconds as seconds with six decimals, without the floating-point printf. */
void
out_seconds(struct out *o, uint64_t us)
{
	char frac[7];

	out_u64(o, us / 1000000u);
	frac[0] = '.';
	for (int i = 6, v = (int)(us % 1000000u); i >= 1; i--, v /= 10)
		frac[i] = (char)('0' + v % 10);
	out_mem(o, frac, 7);
}

/* Printable ASCII but '"' and '\\': copied as it is. Filled once, by the first writer. */
static unsigned char plain[256];

static void
fill_plain(void)
{
	for (int c = 0x20; c < 0x7f; c++)
		plain[c] = c != '"' && c != '\\';
}

/*
 * The one JSON string escaping of the project (rpt_json_string() calls it):
 * wire text is not always UTF-8, so a byte that starts no valid sequence is
 * written as the code point of the same value (Latin-1); the output is always
 * valid JSON and nothing is dropped.
 */
void
out_json(struct out *o, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	if (!s) {
		out_mem(o, "null", 4);
		return;
	}
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fill_plain);
	out_chr(o, '"');
	while (*s) {
		const unsigned char *run = s;

		while (plain[*s])
			s++;
		out_mem(o, run, (size_t)(s - run));
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			out_chr(o, '\\');
			out_chr(o, (char)*s++);
		} else if (*s == '\n' || *s == '\r' || *s == '\t') {
			out_chr(o, '\\');
			out_chr(o, *s == '\n' ? 'n' : *s == '\r' ? 'r' : 't');
			s++;
		} else if (*s >= 0x80 && (n = rpt_utf8_len(s)) != 0) {
			out_mem(o, s, n);
			s += n;
		} else {
			char u[6] = {'\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 15]};

			out_mem(o, u, 6);
			s++;
		}
	}
	out_chr(o, '"');
}
