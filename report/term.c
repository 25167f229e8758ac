/*
 * term.c - what a terminal needs: its width, its locale, columns and wrapping.
 *
 * Only the text writer on a terminal wraps; files and pipes keep one line per
 * explanation, as scripts read them. The locale is read without setlocale():
 * a global LC_CTYPE would change how the decoder compares words
 * (strncasecmp() under a Turkish locale does not fold 'I' to 'i').
 */
#define _XOPEN_SOURCE 700 /* wcwidth(), newlocale(), nl_langinfo_l() */

#include "report.h"

#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "report_private.h"

#define MIN_WIDTH 20

static pthread_once_t width_once = PTHREAD_ONCE_INIT;
static locale_t width_locale; /* a UTF-8 LC_CTYPE for wcwidth(), or 0 */

static bool
utf8_codeset(locale_t loc)
{
	const char *cs = nl_langinfo_l(CODESET, loc);

	return strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0;
}

/* The user's locale (LC_ALL, LC_CTYPE, LANG), as setlocale(LC_CTYPE, "") would take it. */
bool
rpt_locale_utf8(void)
{
	locale_t loc = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
	bool utf8 = loc && utf8_codeset(loc);

	if (loc)
		freelocale(loc);
	return utf8;
}

/* How wide a character is does not depend on the user's language: C.UTF-8 first. */
static void
width_init(void)
{
	width_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (width_locale)
		return;
	width_locale = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
	if (width_locale && !utf8_codeset(width_locale)) {
		freelocale(width_locale);
		width_locale = (locale_t)0;
	}
}

/* The code point of a valid UTF-8 sequence of n bytes (rpt_utf8_len()). */
static unsigned
code_point(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned cp = s[0] & lead_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return cp;
}

/*
 * Columns a terminal gives the character of n bytes at s: 2 for the wide
 * (CJK) ones, 0 for combining marks, 1 otherwise and when unknown.
 */
unsigned
rpt_char_cols(const unsigned char *s, size_t n)
{
	locale_t old;
	int w;

	if (n < 2)
		return 1;
	pthread_once(&width_once, width_init);
	if (!width_locale)
		return 1;
	old = uselocale(width_locale);
	w = wcwidth((wchar_t)code_point(s, n));
	uselocale(old);
	return w < 0 ? 1 : (unsigned)w;
}

/* Columns of text as a terminal shows it: colour sequences take none. */
static size_t
span_cols(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t cols = 0, i = 0, n;

	while (i < len) {
		if (s[i] == 0x1b) { /* CSI ... final byte */
			for (i++; i < len && !(s[i] >= 0x40 && s[i] <= 0x7e && s[i] != '['); i++)
				;
			i++;
		} else if (s[i] >= 0x80 && (n = rpt_utf8_len(s + i)) != 0 && i + n <= len) {
			cols += rpt_char_cols(s + i, n);
			i += n;
		} else {
			cols++;
			i++;
		}
	}
	return cols;
}

/*
 * Columns of stdout or stderr when it is a terminal (0 when not): the
 * window's size, else COLUMNS, else 80.
 */
unsigned
rpt_term_width(int fd)
{
	struct winsize ws;
	const char *env;
	long v;

	if (!isatty(fd))
		return 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col < MIN_WIDTH ? MIN_WIDTH : ws.ws_col;
	env = getenv("COLUMNS");
	v = env ? strtol(env, NULL, 10) : 0;
	if (v > 0)
		return v < MIN_WIDTH ? MIN_WIDTH : v > 1000 ? 1000 : (unsigned)v;
	return 80;
}

static void
spaces(FILE *f, size_t n)
{
	while (n--)
		putc(' ', f);
}

/* The bytes of a word that fit in room columns (at least one character). */
static size_t
fitting(const char *w, size_t len, size_t room)
{
	size_t i = 0, cols = 0;

	while (i < len) {
		size_t n = 1, c;

		if ((unsigned char)w[i] >= 0x80 && (n = rpt_utf8_len((const unsigned char *)w + i)) == 0)
			n = 1;
		if (i + n > len)
			n = len - i;
		c = span_cols(w + i, n);
		if (i && cols + c > room)
			break;
		cols += c;
		i += n;
	}
	return i;
}

/* One line, at most width columns a line, its continuation lines indented by indent. */
static void
wrap_line(FILE *f, const char *p, size_t len, size_t width, size_t indent)
{
	size_t i = strspn(p, " "), col, gap = 0; /* the text ends in '\n' or NUL */

	if (i > len)
		i = len;
	fwrite(p, 1, i, f);
	col = i;
	while (i < len) {
		size_t wl = strcspn(p + i, " \n"), wc;

		if (i + wl > len)
			wl = len - i;
		wc = span_cols(p + i, wl);
		if (col > indent && col + gap + wc > width) {
			putc('\n', f);
			spaces(f, indent);
			col = indent;
			gap = 0;
		}
		spaces(f, gap);
		col += gap;
		while (col + wc > width && wc) { /* longer than a line: cut where the line ends */
			size_t b = fitting(p + i, wl, width > col ? width - col : 1);

			fwrite(p + i, 1, b, f);
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			i += b;
			wl -= b;
			wc = span_cols(p + i, wl);
		}
		fwrite(p + i, 1, wl, f);
		col += wc;
		i += wl;
		for (gap = 0; i < len && p[i] == ' '; i++)
			gap++;
	}
}

/*
 * Text of one or more lines, each wrapped at spaces to width columns, the
 * continuation lines indented by indent; a word longer than a line is cut.
 * Spaces at the end of a line go.
 */
void
rpt_wrap(FILE *f, const char *text, size_t len, unsigned width, unsigned indent)
{
	size_t w = width < MIN_WIDTH ? MIN_WIDTH : width, in = indent;

	if (in + MIN_WIDTH / 2 > w)
		in = 0;
	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		wrap_line(f, text, n, w, in);
		if (nl)
			putc('\n', f);
		n += nl != NULL;
		text += n;
		len -= n;
	}
}
