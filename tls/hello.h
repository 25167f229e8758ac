/*
 * hello.h - ClientHello and ServerHello bodies into facts (private to tls/).
 */
#ifndef SMTPSCOPE_TLS_HELLO_H
#define SMTPSCOPE_TLS_HELLO_H

#include "tls.h"

/* Read what a ClientHello body (after the 4-byte handshake header) says; false if malformed. */
bool tls_read_client_hello(struct tls_facts *f, const uint8_t *p, size_t n);
/* Read a ServerHello body; false if malformed. A HelloRetryRequest only sets that flag. */
bool tls_read_server_hello(struct tls_facts *f, const uint8_t *p, size_t n);

#endif
