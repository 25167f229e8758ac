/*
 * hello.h - ClientHello and ServerHello bodies into facts, and the escaping of wire
 * strings that cert.c shares (private to tls/).
 */
#ifndef SMTPSCOPE_TLS_HELLO_H
#define SMTPSCOPE_TLS_HELLO_H

#include "tls.h"

/* Read what a ClientHello body (after the 4-byte handshake header) says; false if malformed. */
bool tls_read_client_hello(struct tls_facts *f, const uint8_t *p, size_t n);
/* Read a ServerHello body; false if malformed. A HelloRetryRequest only sets that flag. */
bool tls_read_server_hello(struct tls_facts *f, const uint8_t *p, size_t n);

/*
 * Append s[0..n) to the string dst (size cap), bytes outside 0x21..0x7e and the
 * backslash as \xHH; an escape that does not fit is not begun, and *truncated is set.
 */
void tls_append_escaped(char *dst, size_t cap, const uint8_t *s, size_t n, bool *truncated);

#endif
