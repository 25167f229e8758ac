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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp.h"

#define V(x) (1u << SMTP_##x)
#define V_ENVELOPE (V(MAIL) | V(RCPT))
#define V_END (V(DOT) | V(BDAT))
/* Every command but VRFY and EXPN, whose 2xx confirms an address and accepts nothing. */
#define V_NOT_VERIFY (~(V(VRFY) | V(EXPN)))
#define V_AUTHS (V(AUTH) | V(AUTH_DATA))
/* Where a login code can answer: AUTH, a MAIL that needs a login, or a command not seen. */
#define V_LOGIN (V_AUTHS | V(MAIL) | V(OTHER))
#define LOWER_MAX 1024

/* Who can act on a failure: a set of these. */
enum {
	W_SENDER = 1,	  /* the person or program sending the mail */
	W_RECIPIENT = 2,  /* the recipient or their mailbox provider */
	W_RECV_ADMIN = 4, /* the receiving server's administrator */
	W_SEND_ADMIN = 8, /* the administrator of the sending client or relay */
};
#define W_SEND_SIDE (W_SENDER | W_SEND_ADMIN)
#define W_BOTH_ADMINS (W_SEND_ADMIN | W_RECV_ADMIN)
#define W_ADDRESS (W_SENDER | W_RECV_ADMIN)

/* What a retry of a 4xx does (a 5xx is not retried as it is). */
enum {
	R_CLASS,     /* may pass later by itself */
	R_SOON,      /* temporary by design: the normal retry gets through */
	R_AFTER_FIX, /* passes only once somebody fixes the cause */
};

struct kb {
	uint8_t level;	    /* enum smtp_match */
	uint8_t cls;	    /* TEXT/ENHANCED: reply class it applies to; 0 = any */
	uint8_t reason;	    /* enum smtp_reason: who fixes it and what a retry does follow */
	uint16_t code;	    /* exact basic code; 0 = any; FIRST_DIGIT: the digit */
	uint32_t verbs;	    /* commands it applies to; 0 = any */
	const char *key;    /* TEXT: lower-case phrase; ENHANCED: "1.1"; CLASS: "1" */
	const char *what;   /* meaning and likely cause, in plain words */
};

#define R_(reason) SMTP_R_##reason
#define TXT(cls, verbs, key, reason, what) {SMTP_MATCH_TEXT, cls, R_(reason), 0, verbs, key, what}
/* Enhanced entries describe failures (class 4 or 5) unless a class is given. */
#define ENH(key, reason, what) {SMTP_MATCH_ENHANCED, 0, R_(reason), 0, 0, key, what}
/* An enhanced code that means this only after some commands (5.7.9 "too weak" is about AUTH). */
#define ENHV(verbs, key, reason, what) {SMTP_MATCH_ENHANCED, 0, R_(reason), 0, verbs, key, what}
#define ENHC(key, reason, what) {SMTP_MATCH_ENHANCED_CLASS, 0, R_(reason), 0, 0, key, what}
#define ENH2(key, what) {SMTP_MATCH_ENHANCED, 2, R_(accepted), 0, 0, key, what}
#define ENHC2(key, what) {SMTP_MATCH_ENHANCED_CLASS, 2, R_(accepted), 0, 0, key, what}
/* The same, for some commands only (V_NOT_VERIFY: an address accepted into a transaction). */
#define ENH2V(verbs, key, what) {SMTP_MATCH_ENHANCED, 2, R_(accepted), 0, verbs, key, what}
#define ENHC2V(verbs, key, what) {SMTP_MATCH_ENHANCED_CLASS, 2, R_(accepted), 0, verbs, key, what}
#define CTX(verbs, code, reason, what) \
	{SMTP_MATCH_CODE_IN_CONTEXT, 0, R_(reason), code, verbs, NULL, what}
#define DIG(d, reason, what) {SMTP_MATCH_FIRST_DIGIT, 0, R_(reason), d, 0, NULL, what}

extern const struct kb kb[];
extern const size_t kb_count;

/* What a reason means and what follows from it (reasons.def). */
struct kb_reason {
	const char *name, *label, *meaning;
	uint8_t who, retry;
	bool generic;
};
extern const struct kb_reason kb_reasons[SMTP_R_COUNT];

/*
 * The reason words (reasons.c): a phrase, in any of the languages big
 * providers answer in, that states a reason. Looked for after the known
 * server texts of kb[] and before any code.
 */
struct kb_word {
	const char *key; /* lower case (ASCII, Latin and Cyrillic letters folded) */
	uint8_t reason;
	uint8_t cls;	 /* 0 = any failure; 4 or 5: that class only */
	uint32_t verbs;	 /* 0 = any */
	bool early;	 /* an exception: does not set its reason's rank */
};
extern const struct kb_word kb_words[];
extern const size_t kb_words_count;

/* Who wrote a reply or which list it names, from words only they write (reasons.c). */
enum { ORIGIN_PROVIDER, ORIGIN_LIST };
struct kb_origin {
	const char *key;  /* lower-case phrase in the reply */
	const char *name; /* "Gmail", "Spamhaus" */
	const char *page; /* its page for these replies, or NULL */
	uint8_t kind;
};
extern const struct kb_origin kb_origins[];
extern const size_t kb_origins_count;

/* Words saying a temporary (4xx) block lasts: then retrying will not help. */
extern const char *const kb_lasting[];
extern const size_t kb_lasting_count;


#endif
