/*
 * mime.h - RFC 2047 encoded words in header text (private to decode/).
 *
 * "=?charset?B?base64?=" and "=?charset?Q?quoted?=" are decoded and turned
 * into UTF-8 with iconv (the charsets mail uses, a table in mime.c; at most 8
 * iconv_open() per header); adjacent words separated only
 * by white space are joined (RFC 2047 6.2), and bytes of adjacent words in one
 * charset are converted together, so a character split across two words
 * survives. A malformed word, or one in a charset not in the table, stays
 * as it is. Bytes the charset does not allow become U+FFFD.
 *
 * The text is from the wire: the scan is linear, the output bounded by the
 * caller's buffer, and nothing is kept between calls.
 */
#ifndef SMTPSCOPE_DECODE_MIME_H
#define SMTPSCOPE_DECODE_MIME_H

#include <stddef.h>

/* mime_decode_words() found nothing to decode, or its result would not fit. */
#define MIME_NONE ((size_t)-1)

/*
 * Decode the encoded words of in[0..n) into out[0..cap) (not NUL-terminated;
 * the result may hold NUL, decoded from a word). Returns the length written,
 * or MIME_NONE: then the raw text is the one to show.
 */
size_t mime_decode_words(const char *in, size_t n, char *out, size_t cap);

/* A base64 digit's value (RFC 4648 alphabet), or -1. */
int mime_b64_value(unsigned char c);
/*
 * Lenient base64: in[0..n) into out, at most outsz bytes, stopping at '=' or
 * the first byte outside the alphabet (*used, when not NULL: the bytes read).
 * Returns the bytes written. AUTH answers (client.c) and B words here.
 */
size_t mime_b64_decode(const char *in, size_t n, char *out, size_t outsz, size_t *used);

#endif
