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

static void
u_escape(struct out *o, unsigned cp)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = {'\\', 'u', hex[cp >> 12 & 15], hex[cp >> 8 & 15], hex[cp >> 4 & 15],
		     hex[cp & 15]};

	out_mem(o, u, 6);
}

/*
 * The one JSON string escaping of the project (rpt_json_string() calls it).
 * Valid UTF-8 is kept; controls (C0, DEL, C1), NUL included, are \u00NN;
 * bidi and zero-width characters are \uNNNN (the same text, but inert on a
 * terminal). Wire text is not always UTF-8: a byte that starts no valid
 * sequence is written as the lone surrogate U+DC00 + byte (\udc80-\udcff,
 * Python's "surrogateescape", PEP 383), which no valid text can produce, so
 * the wire bytes come back exactly:
 * json.loads(line)[...].encode("utf-8", "surrogateescape").
 */
void
out_json(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;
	int b;

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
			unsigned cp = rpt_c1_control(s, n) ? s[1] : rpt_invisible(s, n);

			if (cp)
				u_escape(o, cp);
			else
				out_mem(o, s, n);
			s += n;
		} else if ((b = rpt_wire_escape(s, &n)) >= 0) { /* NUL, or the byte C0 */
			u_escape(o, b ? 0xdc00u | (unsigned)b : 0);
			s += n;
		} else { /* a control byte, or a byte that starts no valid UTF-8 */
			u_escape(o, *s < 0x80 ? *s : 0xdc00u | *s);
			s++;
		}
	}
	out_chr(o, '"');
}
