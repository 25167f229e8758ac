/*
 * knowledge.h - the shape of the knowledge base (private to decode/).
 *
 * knowledge.c holds the one table; explain.c looks it up. An entry says what
 * a reply means in plain words, who can act on it, and whether a retry helps;
 * its level says what it is keyed on (a phrase of the reply text, the exact
 * enhanced code, its class.subject, the basic code after a given command, or
 * the first digit).
 */
#ifndef SMTPSCOPE_DECODE_KNOWLEDGE_H
#define SMTPSCOPE_DECODE_KNOWLEDGE_H

#include <stddef.h>
#include <stdint.h>

#include "smtp.h"

#define V(x) (1u << SMTP_##x)
#define V_ENVELOPE (V(MAIL) | V(RCPT))
#define V_END (V(DOT) | V(BDAT))
/* Every command but VRFY and EXPN, whose 2xx confirms an address and accepts nothing. */
#define V_NOT_VERIFY (~(V(VRFY) | V(EXPN)))
#define V_AUTHS (V(AUTH) | V(AUTH_DATA))
#define LOWER_MAX 1024

/* Who can act on a failure: a set of these. */
enum {
	W_SENDER = 1,	  /* the person or program sending the mail */
	W_RECIPIENT = 2,  /* the recipient or their mailbox provider */
	W_RECV_ADMIN = 4, /* the receiving server's administrator */
	W_SEND_ADMIN = 8, /* the administrator of the sending client or relay */
};

/* Whether trying again helps. */
enum {
	R_CLASS,     /* as the first digit says: 4 yes, later; 5 no */
	R_SOON,      /* temporary by design: the normal retry gets through */
	R_AFTER_FIX, /* only once the cause is fixed, whatever the digit */
};

struct kb {
	uint8_t level;	    /* enum smtp_match */
	uint32_t verbs;	    /* commands it applies to; 0 = any */
	uint16_t code;	    /* exact basic code; 0 = any; FIRST_DIGIT: the digit */
	uint8_t cls;	    /* TEXT/ENHANCED: reply class it applies to; 0 = any */
	const char *key;    /* TEXT: lower-case phrase; ENHANCED: "1.1"; CLASS: "1" */
	const char *what;   /* meaning and likely cause, in plain words */
	uint8_t who, retry;
};

#define TXT(cls, verbs, key, what, who, retry) {SMTP_MATCH_TEXT, verbs, 0, cls, key, what, who, retry}
/* Enhanced entries describe failures (class 4 or 5) unless a class is given. */
#define ENH(key, what, who, retry) {SMTP_MATCH_ENHANCED, 0, 0, 0, key, what, who, retry}
#define ENHC(key, what, who, retry) {SMTP_MATCH_ENHANCED_CLASS, 0, 0, 0, key, what, who, retry}
#define ENH2(key, what) {SMTP_MATCH_ENHANCED, 0, 0, 2, key, what, 0, R_CLASS}
#define ENHC2(key, what) {SMTP_MATCH_ENHANCED_CLASS, 0, 0, 2, key, what, 0, R_CLASS}
/* The same, for some commands only (V_NOT_VERIFY: an address accepted into a transaction). */
#define ENH2V(verbs, key, what) {SMTP_MATCH_ENHANCED, verbs, 0, 2, key, what, 0, R_CLASS}
#define ENHC2V(verbs, key, what) {SMTP_MATCH_ENHANCED_CLASS, verbs, 0, 2, key, what, 0, R_CLASS}
#define CTX(verbs, code, what, who, retry) \
	{SMTP_MATCH_CODE_IN_CONTEXT, verbs, code, 0, NULL, what, who, retry}
#define DIG(d, what) {SMTP_MATCH_FIRST_DIGIT, 0, d, 0, NULL, what, 0, R_CLASS}

extern const struct kb kb[];
extern const size_t kb_count;

#endif
