/*
 * explain.c - the knowledge base: what a reply means, who can fix it, and
 * whether trying again will help.
 *
 * One table, read top to bottom within each level; levels are tried most
 * specific first (DESIGN.md): a known server text, the exact enhanced code
 * (RFC 3463), its class.subject, the basic code in the context of the command
 * it answers (RFC 5321 4.3.2), and last the first digit alone, so that any
 * 2xx-5xx code gets an answer (RFC 5321 4.2.1: unknown codes are read by
 * their first digit). The texts are ours; the facts come from the RFCs and
 * the vendors' published reply lists (see the survey in ../shared/reference).
 */
#include "session.h"

#include "knowledge.h"

#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const who_names[] = {
	"the sender", "the recipient", "the receiving server's administrator",
	"the sending side's administrator",
};

size_t
smtp_parse_enhanced(const char *text, size_t len, char out[12])
{
	size_t i = 0, start, dots = 0, digits = 0;

	out[0] = '\0';
	if (i < len && text[i] == '#') /* "550 #5.1.1" is seen in the wild */
		i++;
	start = i;
	if (i >= len || (text[i] != '2' && text[i] != '4' && text[i] != '5'))
		return 0;
	for (i++; i < len && i - start < 11; i++) {
		if (text[i] == '.') {
			if (digits == 0 && dots > 0)
				return 0;
			dots++;
			digits = 0;
		} else if (text[i] >= '0' && text[i] <= '9') {
			if (dots == 0 || ++digits > 3)
				return 0;
		} else {
			break;
		}
	}
	if (dots != 2 || digits == 0 || (i < len && text[i] != ' ' && text[i] != '\n'))
		return 0;
	memcpy(out, text + start, i - start);
	out[i - start] = '\0';
	return i;
}

/*
 * Whether the enhanced code can be believed. Its class must be the basic
 * code's first digit; and "500/502 X.3.3" is Exchange answering an unknown
 * command with "system not capable of selected features": the 500 and the
 * text say what happened, the enhanced code does not.
 */
static bool
enhanced_usable(int code, const char *enh)
{
	if (!enh[0] || enh[0] - '0' != code / 100)
		return false;
	if ((code == 500 || code == 502) && strcmp(enh + 2, "3.3") == 0)
		return false;
	return true;
}

/*
 * A reply's text, lower-cased only when a phrase is to be looked for in it,
 * with a set of the byte pairs it holds: several hundred phrases are looked
 * for in a reply the decoder has not seen before, and a phrase whose first
 * two bytes are not in the set cannot be in the text.
 */
#define PAIR_BITS 4096

static unsigned
pair_bit(unsigned char a, unsigned char b)
{
	return ((unsigned)a * 67u + b) % PAIR_BITS;
}
struct reply_text {
	const char *text;
	bool lowered, paired;
	size_t len; /* of lower */
	char lower[LOWER_MAX];
	uint64_t pairs[PAIR_BITS / 64]; /* the byte pairs of lower, hashed: see has_phrase */
};

/*
 * The text as phrases are looked for in it: lower case; the lines of a
 * multi-line reply joined by spaces, each without the enhanced code it
 * repeats (Gmail wraps a sentence over lines); and what is quoted between
 * <> or [] blanked when it is an address or a host (it has an '@' or a '.'),
 * so that <spam@example.org> or [virus.example] is not read as a reason,
 * while "bare <LF>" still is.
 */
static bool
opens_a_name(const char *s, size_t i, char close, size_t *plain_to)
{
	size_t j;

	/*
	 * An earlier opening's scan went past here and found no name before the
	 * same end: this one quotes none either. Each byte is scanned once, so a
	 * reply full of '<' costs no more than its length.
	 */
	if (i < *plain_to)
		return false;
	for (j = i + 1; s[j] && s[j] != close && s[j] != '\n'; j++)
		if (s[j] == '@' || s[j] == '.')
			return true;
	*plain_to = j;
	return false;
}

/*
 * Capitals folded in UTF-8 as well as ASCII, for the reason words of other
 * languages: Latin-1 (C3 80-9E but the multiplication sign), Latin
 * Extended-A (pairs U+0100-017E), Cyrillic (D0 80-AF). Returns the lower-case
 * second byte (and first, via *b0), or 0 when the pair is not a capital.
 */
static unsigned
fold_utf8(unsigned char b0, unsigned char b1, unsigned char *lo0)
{
	unsigned cp;

	*lo0 = b0;
	if (b1 < 0x80 || b1 > 0xbf)
		return 0;
	if (b0 == 0xc3)
		return b1 <= 0x9e && b1 != 0x97 ? b1 + 0x20u : 0;
	if (b0 == 0xd0) {
		if (b1 >= 0x90 && b1 <= 0x9f)
			return b1 + 0x20u;
		if (b1 >= 0xa0 && b1 <= 0xaf)
			return (*lo0 = 0xd1, b1 - 0x20u);
		if (b1 <= 0x8f)
			return (*lo0 = 0xd1, b1 + 0x10u);
		return 0;
	}
	if (b0 != 0xc4 && b0 != 0xc5)
		return 0;
	cp = ((b0 & 0x1fu) << 6) | (b1 & 0x3fu);
	if (((cp <= 0x137 || (cp >= 0x14a && cp <= 0x177)) && cp % 2 == 0) ||
	    (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) && cp % 2 == 1)) {
		cp++;
		*lo0 = (unsigned char)(0xc0 | (cp >> 6));
		return 0x80 | (cp & 0x3f);
	}
	return 0;
}

static const char *
lowered(struct reply_text *t)
{
	const char *s = t->text ? t->text : "";
	size_t o = 0, plain_to[2] = {0, 0}; /* by '<', '[': where a scan found no name */
	char close = 0;

	if (t->lowered)
		return t->lower;
	t->lowered = true;
	for (size_t i = 0; s[i] && o + 2 < sizeof(t->lower); i++) {
		char c = s[i], e[12];
		unsigned char lo0, lo1;

		if (c == '\n') {
			/* a code is at most "#5.123.123" and the byte after it: no need to measure the rest */
			size_t code = smtp_parse_enhanced(s + i + 1, strnlen(s + i + 1, 16), e);

			i += code + (code && s[i + code + 1] == ' '); /* the code and its space */
			c = ' ';
			close = 0;
		} else if (close) {
			c = c == close ? (close = 0, ' ') : ' ';
		} else if ((c == '<' || c == '[') &&
			   opens_a_name(s, i, c == '<' ? '>' : ']', &plain_to[c == '['])) {
			close = c == '<' ? '>' : ']';
			c = ' ';
		} else if ((unsigned char)c >= 0xc3 && s[i + 1] &&
			   (lo1 = (unsigned char)fold_utf8((unsigned char)c, (unsigned char)s[i + 1],
							    &lo0)) != 0) {
			t->lower[o++] = (char)lo0;
			c = (char)lo1;
			i++;
		}
		t->lower[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	t->lower[o] = '\0';
	t->len = o;
	return t->lower;
}

/* The pairs, for a failure, whose text is searched for hundreds of phrases. */
static void
pair_up(struct reply_text *t)
{
	lowered(t);
	t->paired = true;
	for (size_t i = 0; i + 1 < t->len; i++) {
		unsigned bit = pair_bit((unsigned char)t->lower[i], (unsigned char)t->lower[i + 1]);

		t->pairs[bit / 64] |= 1ull << (bit % 64);
	}
}

static unsigned
key_bit(const char *key)
{
	return key[0] ? pair_bit((unsigned char)key[0], (unsigned char)key[1]) : 0;
}

/*
 * Whether a lower-case phrase is in the reply's text (lowered already);
 * bit is key_bit(key), worked out once per phrase (build_index).
 */
static bool
has_phrase(const struct reply_text *t, const char *key, unsigned bit)
{
	if (t->paired && key[0] && key[1] && !(t->pairs[bit / 64] & (1ull << (bit % 64))))
		return false;
	return strstr(t->lower, key) != NULL;
}

/* The first pair of every phrase: kb's text keys, the reason words, the origins. */
#define KB_MAX 1024
static uint16_t kb_bit[KB_MAX], word_bit[KB_MAX], origin_bit[KB_MAX];

static bool
kb_matches(const struct kb *e, enum smtp_verb verb, int code, const char *enh,
	   struct reply_text *t)
{
	if (e->verbs && !(e->verbs & (1u << verb)))
		return false;
	/* an entry without a class names a failure: never read it into a 2xx/3xx reply */
	if (e->level <= SMTP_MATCH_ENHANCED_CLASS && (e->cls ? e->cls != code / 100 : code < 400))
		return false;
	switch (e->level) {
	case SMTP_MATCH_TEXT:
		return has_phrase(t, e->key, kb_bit[e - kb]);
	case SMTP_MATCH_ENHANCED:
		return strcmp(enh + 2, e->key) == 0;
	case SMTP_MATCH_ENHANCED_CLASS:
		return strncmp(enh + 2, e->key, strlen(e->key)) == 0 && enh[2 + strlen(e->key)] == '.';
	case SMTP_MATCH_CODE_IN_CONTEXT:
		return e->code == code;
	default:
		return e->code == code / 100;
	}
}

/*
 * The table's entries grouped by level and by the reply class (2-5) they can
 * match, in table order, built once: a lookup reads only what could match.
 */

static const struct kb **by_class[SMTP_MATCH_COUNT][6];
static size_t n_class[SMTP_MATCH_COUNT][6];

static bool
entry_fits(const struct kb *e, int cls)
{
	switch (e->level) {
	case SMTP_MATCH_CODE_IN_CONTEXT:
		return e->code / 100 == cls;
	case SMTP_MATCH_FIRST_DIGIT:
		return e->code == cls;
	default: /* no class given: failures only */
		return e->cls ? e->cls == cls : cls >= 4;
	}
}

static bool index_built;

/*
 * A reason's rank: where its first word stands in kb_words. The words are in
 * the order causes are told before their effects ("rate limited because SPF
 * did not pass" is an SPF failure), so a reason word that ranks above a
 * known text's reason names the cause that text leaves out.
 */
static size_t reason_rank[SMTP_R_COUNT];

static size_t strong_words; /* kb_words[strong_words] ends the strong ones */

static void
build_ranks(void)
{
	for (strong_words = 0; strong_words < kb_words_count; strong_words++)
		if (!kb_words[strong_words].key)
			break;
	for (size_t r = 0; r < SMTP_R_COUNT; r++)
		reason_rank[r] = strong_words;
	for (size_t i = strong_words; i-- > 0;)
		if (!kb_words[i].early)
			reason_rank[kb_words[i].reason] = i;
}

static void
build_index(void)
{
	static const struct kb *all[2 * KB_MAX];
	size_t used = 0;

	if (kb_count > KB_MAX || kb_words_count > KB_MAX || kb_origins_count > KB_MAX)
		return;
	build_ranks();
	for (size_t i = 0; i < kb_count; i++)
		kb_bit[i] = (uint16_t)(kb[i].key ? key_bit(kb[i].key) : 0);
	for (size_t i = 0; i < kb_words_count; i++)
		word_bit[i] = (uint16_t)(kb_words[i].key ? key_bit(kb_words[i].key) : 0);
	for (size_t i = 0; i < kb_origins_count; i++)
		origin_bit[i] = (uint16_t)key_bit(kb_origins[i].key);
	for (int level = 0; level < SMTP_MATCH_COUNT; level++) {
		for (int cls = 2; cls <= 5; cls++) {
			by_class[level][cls] = all + used;
			for (size_t i = 0; i < kb_count && used < sizeof(all) / sizeof(all[0]); i++)
				if (kb[i].level == level && entry_fits(&kb[i], cls))
					all[used++] = &kb[i];
			n_class[level][cls] = (size_t)(all + used - by_class[level][cls]);
		}
	}
	index_built = true;
}

/* Built once, by whichever decoder thread (--threads) explains a reply first. */
static bool
index_levels(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, build_index);
	return index_built;
}

/* The first entry from levels [from, to) that matches. */
static const struct kb *
kb_find(enum smtp_verb verb, int code, const char *enh, struct reply_text *t, int from, int to)
{
	bool use_enh = enhanced_usable(code, enh);
	int cls = code / 100;

	for (int level = from; level < to; level++) {
		if (!use_enh && (level == SMTP_MATCH_ENHANCED || level == SMTP_MATCH_ENHANCED_CLASS))
			continue;
		/* Texts name failures and acceptances; the rest of a 2xx/3xx text says little. */
		if (level == SMTP_MATCH_TEXT && cls == 3)
			continue;
		for (size_t i = 0; i < n_class[level][cls]; i++)
			if (kb_matches(by_class[level][cls][i], verb, code, enh, t))
				return by_class[level][cls][i];
	}
	return NULL;
}

static const struct kb_word *
word_find(enum smtp_verb verb, int code, struct reply_text *t)
{
	for (size_t i = 0; i < kb_words_count; i++) {
		const struct kb_word *w = &kb_words[i];

		if (!w->key || (w->verbs && !(w->verbs & (1u << verb))) ||
		    (w->cls && w->cls != code / 100))
			continue;
		if (has_phrase(t, w->key, word_bit[i]))
			return w;
	}
	return NULL;
}

/* Lists count only for reasons about the client's standing. */
static bool
about_standing(unsigned reason)
{
	return reason == SMTP_R_blocklisted || reason == SMTP_R_ip_reputation ||
	       reason == SMTP_R_receiver_misconfigured || reason == SMTP_R_content_spam ||
	       reason == SMTP_R_policy;
}

static uint8_t
origin_find(struct reply_text *t, unsigned reason)
{
	for (size_t i = 0; i < kb_origins_count && i < 255; i++) {
		if (kb_origins[i].kind == ORIGIN_LIST && !about_standing(reason))
			continue;
		if (has_phrase(t, kb_origins[i].key, origin_bit[i]))
			return (uint8_t)(i + 1);
	}
	return 0;
}

static bool
lasting_find(struct reply_text *t)
{
	for (size_t i = 0; i < kb_lasting_count; i++)
		if (has_phrase(t, kb_lasting[i], key_bit(kb_lasting[i])))
			return true;
	return false;
}

/* What one lookup found. */
struct lookup {
	const struct kb *e;	  /* the entry that explains; NULL when a reason word does */
	const struct kb_word *w;  /* the reason word, when no known text matched */
	const struct kb *by_code; /* the codes' own entry, when it disagrees with the text */
	uint8_t reason, origin;
	bool lasting;
};

/*
 * The known server text first; then the reason words; then the codes. A text
 * that names only a generic reason ("access denied") leaves the word to a
 * code that says more (5.1.1). When the text decides and the codes alone
 * would say something else specific, that is kept to be said.
 */
static bool
lookup(enum smtp_verb verb, int code, const char *enh, struct reply_text *t, struct lookup *l)
{
	int cls = code / 100;
	const struct kb *by_code;
	bool weak;

	memset(l, 0, sizeof(*l));
	if (cls < 2 || cls > 5 || !index_levels())
		return false;
	if (cls >= 4)
		pair_up(t);
	else if (cls == 2)
		lowered(t);
	l->e = kb_find(verb, code, enh, t, SMTP_MATCH_TEXT, SMTP_MATCH_TEXT + 1);
	if (cls < 4) { /* a success or a prompt: a known text, or what its codes say */
		if (!l->e)
			l->e = kb_find(verb, code, enh, t, SMTP_MATCH_ENHANCED, SMTP_MATCH_COUNT);
		l->reason = l->e ? l->e->reason : 0;
		return l->e != NULL; /* the first digit's entries answer every class */
	}
	by_code = kb_find(verb, code, enh, t, SMTP_MATCH_ENHANCED, SMTP_MATCH_COUNT);
	l->w = word_find(verb, code, t);
	weak = l->w && (size_t)(l->w - kb_words) > strong_words;
	/*
	 * A known text stands unless the text also names a cause that ranks
	 * above its reason, in words that are not part of the known text's
	 * own phrase ("sender address rejected: user unknown" is not about a
	 * recipient).
	 */
	if (l->e && l->w &&
	    (weak || l->w->reason == l->e->reason ||
	     (size_t)(l->w - kb_words) >= reason_rank[l->e->reason] || strstr(l->e->key, l->w->key)))
		l->w = NULL;
	else if (l->w)
		l->e = NULL;
	/* the words agree with the codes: the codes' entry says it more precisely */
	if (l->w && by_code && by_code->reason == l->w->reason) {
		l->e = by_code;
		l->w = NULL;
	}
	l->reason = l->e ? l->e->reason : l->w ? l->w->reason : by_code ? by_code->reason : 0;
	/* a hint (a weak word) yields to any code that names a reason */
	if (l->w && weak && by_code && !kb_reasons[by_code->reason].generic) {
		l->e = by_code;
		l->w = NULL;
		l->reason = by_code->reason;
	} else if (l->e || l->w) {
		if (by_code && by_code->reason != l->reason && !kb_reasons[by_code->reason].generic)
			l->by_code = by_code;
	} else {
		l->e = by_code;
	}
	if (!l->e && !l->w)
		return false;
	l->origin = origin_find(t, l->reason);
	l->lasting = cls == 4 && lasting_find(t);
	return true;
}

static size_t
append(char *buf, size_t bufsz, size_t used, const char *s)
{
	size_t n = strlen(s);

	if (used + 1 >= bufsz)
		return used;
	if (n > bufsz - used - 1)
		n = bufsz - used - 1;
	memcpy(buf + used, s, n);
	buf[used + n] = '\0';
	return used + n;
}

/* "5.1.1", "5.1.x", "550" or "5xx": what an entry of the codes was keyed on. */
static void
code_words(const struct kb *e, int cls, char *out, size_t outsz)
{
	switch (e->level) {
	case SMTP_MATCH_ENHANCED:
		snprintf(out, outsz, "enhanced code %d.%s", cls, e->key);
		break;
	case SMTP_MATCH_ENHANCED_CLASS:
		snprintf(out, outsz, "enhanced code %d.%s.x", cls, e->key);
		break;
	case SMTP_MATCH_CODE_IN_CONTEXT:
		snprintf(out, outsz, "code %u", (unsigned)e->code);
		break;
	default:
		snprintf(out, outsz, "code %dxx", cls);
	}
}

/* What a retry of a 4xx does, by the reason's retry (a 4xx that says it lasts aside). */
static const char *const retry_words[] = {
	[R_CLASS] = " Temporary: a later retry may succeed (mail servers retry by themselves).",
	[R_SOON] = " Temporary by design: the sender's normal retry should get through.",
	[R_AFTER_FIX] = (" Temporary: the server defers rather than refuses, so the sending server "
			 "keeps retrying; it gets through once the cause is fixed."),
};

static void
format_advice(const struct lookup *l, int code, char *buf, size_t bufsz)
{
	const struct kb_reason *r = &kb_reasons[l->reason];
	const char *what = l->e ? l->e->what : r->meaning;
	size_t used = append(buf, bufsz, 0, what);
	int named = 0;
	char codes[40];

	if (code / 100 < 4)
		return;
	if (l->origin) {
		const struct kb_origin *o = &kb_origins[l->origin - 1];

		if (o->kind == ORIGIN_LIST) {
			used = append(buf, bufsz, used, " The list named: ");
			used = append(buf, bufsz, used, o->name);
			used = append(buf, bufsz, used, ".");
		} else if (!strstr(what, o->name)) {
			used = append(buf, bufsz, used, " The reply carries ");
			used = append(buf, bufsz, used, o->name);
			used = append(buf, bufsz, used, "'s marks.");
		}
	}
	if (l->by_code) {
		code_words(l->by_code, code / 100, codes, sizeof(codes));
		used = append(buf, bufsz, used, " The ");
		used = append(buf, bufsz, used, codes);
		used = append(buf, bufsz, used, " alone would mean ");
		used = append(buf, bufsz, used, kb_reasons[l->by_code->reason].label);
		used = append(buf, bufsz, used, "; the text says otherwise and is followed.");
	}
	for (int i = 0; i < 4; i++) {
		if (!(r->who & (1 << i)))
			continue;
		used = append(buf, bufsz, used, named++ ? " or " : " Who can fix it: ");
		used = append(buf, bufsz, used, who_names[i]);
	}
	used = append(buf, bufsz, used, named ? "." : " Nobody needs to act.");
	if (code / 100 == 5)
		used = append(buf, bufsz, used, " Permanent: retrying unchanged will fail again.");
	else if (l->lasting)
		used = append(buf, bufsz, used, " The code is temporary, but the text says the block "
						"lasts: retrying will keep failing until the cause "
						"is fixed.");
	else
		used = append(buf, bufsz, used, retry_words[r->retry]);
	if (l->origin && kb_origins[l->origin - 1].page) {
		used = append(buf, bufsz, used, " More: ");
		append(buf, bufsz, used, kb_origins[l->origin - 1].page);
	}
}

/*
 * The explanation of a reply, shared: it depends only on what the lookup
 * found and the reply's class, never on the reply's own words, so each is
 * formatted once and kept for the life of the process in a table of fixed
 * size. Decoder threads (--threads) share it under a lock, taken only when a
 * decoder's own memo (below) misses. The table stops growing half full
 * (2048 explanations, far more than the entries and origins combine into in
 * practice); past that a reply gets its entry's own words, without the
 * provider, the code's disagreement, who fixes it or the retry advice.
 */
#define SHARED_SLOTS 4096

static struct {
	uint64_t key;
	const char *text;
} shared[SHARED_SLOTS];
static size_t shared_used;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t
lookup_key(const struct lookup *l, int code)
{
	uint64_t id = l->e ? (uint64_t)(l->e - kb) : KB_MAX + (uint64_t)(l->w - kb_words);
	uint64_t by = l->by_code ? (uint64_t)(l->by_code - kb) + 1 : 0;

	return 1 | id << 1 | (uint64_t)(code / 100) << 12 | (uint64_t)l->origin << 16 |
	       (uint64_t)l->lasting << 24 | by << 25;
}

static const char *
shared_explanation(const struct lookup *l, int code)
{
	uint64_t key = lookup_key(l, code), h = key * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 52) % SHARED_SLOTS;
	const char *have = NULL;
	char buf[1024];

	pthread_mutex_lock(&shared_lock);
	for (size_t n = 0; n < SHARED_SLOTS; n++, i = (i + 1) % SHARED_SLOTS) {
		if (shared[i].key == key) {
			have = shared[i].text;
			break;
		}
		if (!shared[i].key) {
			if (shared_used >= SHARED_SLOTS / 2)
				break; /* half full: keep probes short, stop adding */
			format_advice(l, code, buf, sizeof(buf));
			if ((have = strdup(buf))) {
				shared[i].key = key;
				shared[i].text = have;
				shared_used++;
			}
			break;
		}
	}
	pthread_mutex_unlock(&shared_lock);
	return have ? have : l->e ? l->e->what : kb_reasons[l->reason].meaning;
}

/* The lookup, and what it found as the caller sees it; false for a code outside 2xx-5xx. */
static bool
find(enum smtp_verb verb, int code, const char *enhanced, const char *text, struct lookup *l,
     struct smtp_finding *f)
{
	struct reply_text t = {.text = text};

	memset(f, 0, sizeof(*f));
	f->matched = SMTP_MATCH_FIRST_DIGIT;
	if (!lookup(verb, code, enhanced ? enhanced : "", &t, l))
		return false;
	f->matched = l->e ? (enum smtp_match)l->e->level : SMTP_MATCH_TEXT;
	f->reason = l->reason;
	f->origin = l->origin;
	f->lasting = l->lasting;
	return true;
}

static const char *
explain_uncached(enum smtp_verb verb, int code, const char *enhanced, const char *text,
		 struct smtp_finding *f)
{
	struct lookup l;

	if (!find(verb, code, enhanced, text, &l, f))
		return "Reply code outside 2xx-5xx.";
	/* a success or a prompt is its entry's words alone (format_advice): nothing to share */
	return code / 100 < 4 ? l.e->what : shared_explanation(&l, code);
}

/*
 * A direct-mapped table of recent replies, per decoder (so per thread): the
 * whole reply is the key, compared in full; a reply longer than MEMO_TEXT is
 * looked up every time.
 */
#define MEMO_SLOTS 256
#define MEMO_TEXT 200

struct explain_memo {
	uint64_t hash;
	const char *explanation;
	struct smtp_finding found;
	uint16_t code, len;
	uint8_t verb;
	char enhanced[12];
	char text[MEMO_TEXT];
};

static uint64_t
memo_hash(enum smtp_verb verb, int code, const char *enh, const char *text, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)verb << 16) ^ (uint64_t)code;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)text[i]) * 0x100000001b3ull;
	for (; *enh; enh++)
		h = (h ^ (uint8_t)*enh) * 0x100000001b3ull;
	return h;
}

const char *
explain_reply(struct smtp_decoder *d, enum smtp_verb verb, int code, const char *enhanced,
	      const char *text, size_t len, struct smtp_finding *f)
{
	const char *enh = enhanced ? enhanced : "";

	if (len > MEMO_TEXT || strlen(enh) >= sizeof(d->memo->enhanced) ||
	    (!d->memo && !(d->memo = calloc(MEMO_SLOTS, sizeof(*d->memo)))))
		return explain_uncached(verb, code, enhanced, text, f);
	uint64_t h = memo_hash(verb, code, enh, text, len);
	struct explain_memo *m = &d->memo[h % MEMO_SLOTS];

	if (m->explanation && m->hash == h && m->code == code && m->verb == verb &&
	    m->len == len && memcmp(m->text, text, len) == 0 && strcmp(m->enhanced, enh) == 0) {
		*f = m->found;
		return m->explanation;
	}
	m->explanation = explain_uncached(verb, code, enhanced, text, f);
	m->found = *f;
	m->hash = h;
	m->code = (uint16_t)code;
	m->verb = (uint8_t)verb;
	m->len = (uint16_t)len;
	memcpy(m->text, text, len);
	strcpy(m->enhanced, enh);
	return m->explanation;
}

void
explain_memo_free(struct smtp_decoder *d)
{
	free(d->memo);
	d->memo = NULL;
}

void
smtp_explain(enum smtp_verb verb, int code, const char *enhanced, const char *text, char *buf,
	     size_t bufsz, struct smtp_finding *f)
{
	struct lookup l;

	if (find(verb, code, enhanced, text, &l, f))
		format_advice(&l, code, buf, bufsz);
	else /* a code outside 2xx-5xx cannot reach here: the parser refuses it */
		snprintf(buf, bufsz, "Reply code %d is not one SMTP defines.", code);
}

const char *
smtp_reason_name(unsigned reason)
{
	return reason < SMTP_R_COUNT ? kb_reasons[reason].name : "unspecified";
}

const char *
smtp_fixer_name(unsigned i)
{
	static const char *const json_names[] = {"sender", "recipient", "receiving_admin",
						 "sending_admin"};

	return i < 4 ? json_names[i] : NULL;
}

size_t
smtp_reason_fixers(unsigned reason, const char *names[4])
{
	size_t n = 0;

	for (unsigned i = 0; reason < SMTP_R_COUNT && i < 4; i++)
		if (kb_reasons[reason].who & (1u << i))
			names[n++] = smtp_fixer_name(i);
	return n;
}

const char *
smtp_failure_class(int code, bool lasting)
{
	if (code / 100 == 5 || (code / 100 == 4 && lasting))
		return "permanent";
	return code / 100 == 4 ? "temporary" : NULL;
}

const char *
smtp_origin_name(unsigned origin)
{
	return origin && origin <= kb_origins_count ? kb_origins[origin - 1].name : NULL;
}

const char *
smtp_origin_page(unsigned origin)
{
	return origin && origin <= kb_origins_count ? kb_origins[origin - 1].page : NULL;
}

/* What an ICMP destination-unreachable about a SYN says (RFC 792, RFC 1812 5.2.7.1, RFC 4443 3.1). */
static const struct {
	uint8_t family, code;
	const char *why;
} unreachable_kb[] = {
	{4, 0, "Rejected by the network: a router reported no route to the server's network "
	       "(ICMP network unreachable)."},
	{4, 1, "Rejected by the network: a router could not reach the server's host, which may "
	       "be down or the address wrong (ICMP host unreachable)."},
	{4, 3, "Refused by the server's host: nothing listens on this port (ICMP port "
	       "unreachable)."},
	{4, 9, "Rejected by a firewall: access to the server's network is administratively "
	       "prohibited (ICMP code 9)."},
	{4, 10, "Rejected by a firewall: access to the server's host is administratively "
		"prohibited (ICMP code 10)."},
	{4, 13, "Rejected by a firewall: the connection is administratively prohibited (ICMP "
		"code 13); check the filter rules on the device that sent the ICMP message."},
	{6, 0, "Rejected by the network: a router reported no route to the server (ICMPv6 no "
	       "route)."},
	{6, 1, "Rejected by a firewall: communication with the server is administratively "
	       "prohibited (ICMPv6 code 1)."},
	{6, 3, "Rejected by the network: the server's address is unreachable (ICMPv6 address "
	       "unreachable)."},
	{6, 4, "Refused by the server's host: nothing listens on this port (ICMPv6 port "
	       "unreachable)."},
	{6, 5, "Rejected by a firewall: the source address failed an ingress/egress policy "
	       "(ICMPv6 code 5)."},
	{6, 6, "Rejected by a firewall: a reject route was hit (ICMPv6 code 6)."},
};

static const char *
explain_unreachable(const struct smtp_session *s)
{
	for (size_t i = 0; i < sizeof(unreachable_kb) / sizeof(unreachable_kb[0]); i++)
		if (unreachable_kb[i].family == s->icmp_from.family &&
		    unreachable_kb[i].code == s->icmp_code)
			return unreachable_kb[i].why;
	return "Rejected on the way: a router or the server's host answered the connection "
	       "attempt with an ICMP destination-unreachable.";
}

/* Why there is no reply: said from what the transport showed. */
const char *
explain_silence(const struct smtp_session *s, const struct smtp_command *c)
{
	if (c->lost)
		return "Reply not seen: bytes of the server's side are missing from the capture "
		       "(a gap) where its reply should be.";
	if (c->skipped && c->verb == SMTP_CONNECT)
		return "No greeting seen: the server's first reply answers a later command, so it "
		       "sent no 220 greeting (or the capture missed it).";
	if (c->skipped)
		return "No reply seen: the server's next reply can only answer a later command, so "
		       "this one was not answered where the capture could see it.";
	if (c->verb == SMTP_CONNECT) {
		if (s->state == SMTP_ST_REFUSED && s->icmp_type)
			return explain_unreachable(s);
		if (s->state == SMTP_ST_REFUSED)
			return "Connection refused: the server's host answered with a reset. Nothing "
			       "listens on this port there, the mail service is stopped, or a firewall "
			       "rejects the connection. Check that the mail server runs and listens on "
			       "this address and port.";
		if (s->state == SMTP_ST_NO_ANSWER)
			return "No answer: the connection attempt was never answered. The host may be "
			       "down or the address wrong (check the MX record), or a firewall at "
			       "either end (or the ISP) silently drops this port.";
		if (s->anomalies & (1ull << SMTP_ANOM_ONLY_CLIENT_SIDE))
			return "No greeting seen, but the capture holds no packet from the server: it "
			       "sees only the client's direction, so the server may well have "
			       "answered.";
		return "No greeting: the TCP connection was made but the server sent no 220. It "
		       "may be overloaded, deliberately slow (tarpitting, a greeting delay, a slow "
		       "reverse-DNS lookup), or the capture misses one direction.";
	}
	if (s->anomalies & (1ull << SMTP_ANOM_ONLY_CLIENT_SIDE))
		return "No reply seen: the capture holds only the client's direction.";
	if (c->verb == SMTP_QUIT)
		return "No reply to QUIT seen: the connection closed before the 221 was captured; "
		       "harmless.";
	switch (s->state) {
	case SMTP_ST_RESET:
		return "No reply: the connection was reset before the server answered.";
	case SMTP_ST_TIMEOUT:
		return "No reply: the connection went idle and timed out before the server "
		       "answered.";
	case SMTP_ST_UNFINISHED:
		return "No reply yet: the capture ended before the server answered.";
	default:
		return "No reply: the connection closed before the server answered.";
	}
}

/* The first line of a reply, short enough for a verdict. */
static void
reply_snippet(const struct smtp_command *c, char *out, size_t n)
{
	const char *t = c->reply.text, *nl = strchr(t, '\n');
	int len = (int)(nl ? (size_t)(nl - t) : strlen(t));

	if (len > 120)
		len = 120;
	while (len > 0 && t[len - 1] == '.') /* the sentence around it ends it: not "later.." */
		len--;
	snprintf(out, n, "%d %.*s", c->reply.code, len, t);
}

/* The reply that decided a transaction's fate: the first 4xx/5xx within it. */
static const struct smtp_command *
deciding_reply(const struct smtp_session *s, int msg)
{
	int k = s->msgs[msg].first_failure;

	return k >= 0 ? &s->cmds[k] : NULL;
}

/*
 * The reply that settles a transaction by itself: a refused MAIL, DATA, end
 * of data or BDAT, or the last recipient refused when none was accepted. A
 * refused recipient beside accepted ones settles nothing.
 */
static const struct smtp_command *
settling_failure(const struct smtp_session *s, int i)
{
	const struct smtp_message *m = &s->msgs[i];
	const struct smtp_command *last = NULL;

	if (m->closing_failure >= 0)
		return &s->cmds[m->closing_failure];
	if (m->gap) /* a recipient the capture lost may have been accepted */
		return NULL;
	for (size_t r = 0; r < m->n_rcpt; r++) {
		if (!SMTP_RCPT_REFUSED(m->rcpt[r].status))
			return NULL;
		last = m->rcpt[r].cmd >= 0 ? &s->cmds[m->rcpt[r].cmd] : last;
	}
	return last;
}

/*
 * A MAIL whose reply was lost while a transaction was open: which of the two
 * went on, and whose recipients followed, the capture does not say.
 */
static bool
mail_unsettled(const struct smtp_session *s, int i)
{
	int c = s->msgs[i].mail_cmd;

	return c >= 0 && s->cmds[c].lost && s->cmds[c].prev >= 0;
}

/*
 * A transaction's fate, only from what the capture settles: anything that
 * rests on a reply placed by inference, a gap, or a capture that ended
 * first is unknown.
 */
static enum smtp_outcome
message_outcome(const struct smtp_session *s, int i)
{
	const struct smtp_message *m = &s->msgs[i];
	const struct smtp_command *f = settling_failure(s, i);
	bool unseen = s->gaps[RSM_C2S] || s->gaps[RSM_S2C] || s->state == SMTP_ST_UNFINISHED ||
		      s->priv->mode == CM_TLS || s->priv->tls_lost;

	if (m->inferred || mail_unsettled(s, i)) /* smtpscope chose where a reply goes */
		return SMTP_OUT_UNKNOWN;
	if (m->accepted)
		return SMTP_OUT_DELIVERED;
	if (m->data_started && !m->data_ended) /* cut off: seen to close, or the capture ended */
		return unseen ? SMTP_OUT_UNKNOWN : SMTP_OUT_ABORTED;
	/*
	 * A refused MAIL or end of data closes the transaction; after a refused DATA
	 * or refused recipients the client may still go on, unless it was seen not to.
	 */
	if (f && (!unseen || f->verb == SMTP_MAIL || f->verb == SMTP_DOT || f->verb == SMTP_BDAT))
		return f->reply.code >= 500 ? SMTP_OUT_REJECTED : SMTP_OUT_DEFERRED;
	/* the final answer not in the capture; or the client left, if nothing is missing */
	return m->data_ended || unseen ? SMTP_OUT_UNKNOWN : SMTP_OUT_ABANDONED;
}

/* A bounded string builder for the verdict. */
struct sb {
	char *buf;
	size_t size, used;
};

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (b->used + 1 >= b->size)
		return;
	va_start(ap, fmt);
	w = vsnprintf(b->buf + b->used, b->size - b->used, fmt, ap);
	va_end(ap);
	if (w > 0)
		b->used += (size_t)w < b->size - b->used ? (size_t)w : b->size - b->used - 1;
}

/* The same for text without conversions: vsnprintf costs a thousand instructions a call. */
static void
sb_puts(struct sb *b, const char *text)
{
	size_t n = strlen(text);

	if (b->used + 1 >= b->size)
		return;
	if (n > b->size - b->used - 1)
		n = b->size - b->used - 1;
	memcpy(b->buf + b->used, text, n);
	b->used += n;
	b->buf[b->used] = '\0';
}

/* before, microseconds as seconds with one decimal (half up), after: without a float printf. */
static void
sb_tenths(struct sb *b, const char *before, uint64_t us, const char *after)
{
	uint64_t tenths = (us + 50000) / 100000;
	char num[24], *p = num + sizeof(num);

	*--p = '\0';
	*--p = (char)('0' + tenths % 10);
	*--p = '.';
	tenths /= 10;
	do
		*--p = (char)('0' + tenths % 10);
	while ((tenths /= 10) && p > num);
	sb_puts(b, before);
	sb_puts(b, p);
	sb_puts(b, after);
}

/*
 * The client left before the server said anything, having sent nothing: a
 * port scan or a connection check, not a server that failed to greet.
 */
static bool
client_left_first(const struct smtp_session *s)
{
	return s->bytes[RSM_C2S] == 0 && s->bytes[RSM_S2C] == 0 &&
	       s->first_closer == 1 + RSM_C2S &&
	       (s->state == SMTP_ST_CLOSED || s->state == SMTP_ST_RESET);
}

/* Something other than SMTP on an SMTP port: named for what it is. */
static enum smtp_outcome
not_smtp_verdict(const struct smtp_session *s, struct sb *b)
{
	const struct smtp_priv *p = s->priv;
	const struct smtp_command *c0 = s->n_cmds ? &s->cmds[0] : NULL;
	bool greeted = c0 && c0->verb == SMTP_CONNECT && c0->has_reply;

	if (p->proxy_status && (p->proxy_status < 200 || p->proxy_status > 299)) {
		sb_printf(b, "Never reached SMTP: the HTTP proxy refused the CONNECT (HTTP status "
			     "%d).", p->proxy_status);
		return SMTP_OUT_NEVER_REACHED;
	}
	if (s->anomalies & (1ull << SMTP_ANOM_HTTP_REQUEST)) {
		sb_puts(b, "Not SMTP: the client sent an HTTP request to this SMTP port (a web "
			   "browser, a misconfigured proxy or a scanner), not mail.");
		return SMTP_OUT_NO_MAIL;
	}
	if (p->mode == CM_NOT_SMTP) {
		sb_printf(b, "Not SMTP: the client sent binary data, not SMTP commands (%" PRIu64
			     " bytes): another protocol's client (a VPN, a scanner) on this port.",
			  s->unparsed[RSM_C2S]);
		return SMTP_OUT_NO_MAIL;
	}
	if (s->implicit_tls && (greeted || (s->tls && s->tls->side[TLS_SERVER].not_tls))) {
		sb_printf(b, "Not SMTP as this server expects: the client started TLS at once "
			     "(implicit TLS, as on port 465) but the server speaks plain SMTP here%s. "
			     "Set the client to STARTTLS for port %u, or use the server's implicit-TLS "
			     "port.", greeted ? " (it greeted in clear)" : "", s->server_port);
		return SMTP_OUT_NO_MAIL;
	}
	if (!greeted && !s->implicit_tls && (s->anomalies & (1ull << SMTP_ANOM_NOT_SMTP))) {
		sb_printf(b, "Not SMTP: what the server on port %u sends is not an SMTP reply: "
			     "another service answers there (or one that expects TLS at once).",
			  s->server_port);
		return SMTP_OUT_NEVER_REACHED;
	}
	if (c0 && c0->verb == SMTP_CONNECT && !c0->has_reply && client_left_first(s)) {
		sb_tenths(b, "Never reached SMTP: the client closed the connection ",
			  s->ts_last - s->ts_first, " s after opening it, without waiting for the "
			  "greeting and without sending anything: a port scan or a connection check, "
			  "not a mail client. Nothing here says the server failed.");
		return SMTP_OUT_NEVER_REACHED;
	}
	return SMTP_OUT_NONE;
}

/* Sessions that never got as far as a mail transaction, said from the transport. */
static enum smtp_outcome
transport_verdict(const struct smtp_session *s, struct sb *b)
{
	const struct smtp_command *c0 = s->n_cmds ? &s->cmds[0] : NULL;
	char snip[160];
	enum smtp_outcome o;

	if (s->state == SMTP_ST_REFUSED && s->icmp_type) {
		sb_printf(b, "Never reached SMTP: %s", explain_unreachable(s));
		return SMTP_OUT_NEVER_REACHED;
	}
	if (s->state == SMTP_ST_REFUSED) {
		sb_printf(b, "Never reached SMTP: connection refused (nothing listens on port %u "
			     "there, or the mail service is stopped).", s->server_port);
		return SMTP_OUT_NEVER_REACHED;
	}
	if (s->state == SMTP_ST_NO_ANSWER) {
		sb_printf(b, "Never reached SMTP: the connection attempt was never answered (host "
			     "down, wrong address, or a firewall drops port %u).", s->server_port);
		return SMTP_OUT_NEVER_REACHED;
	}
	if (s->anomalies & (1ull << SMTP_ANOM_ONLY_CLIENT_SIDE)) {
		sb_printf(b, "Outcome unknown: only the client's side of the conversation was "
			     "captured.");
		return SMTP_OUT_UNKNOWN;
	}
	if ((o = not_smtp_verdict(s, b)) != SMTP_OUT_NONE)
		return o;
	if (c0 && c0->verb == SMTP_CONNECT && !c0->has_reply && s->bytes[RSM_S2C] == 0) {
		sb_printf(b, "Never reached SMTP: connected, but the server sent no greeting.");
		return SMTP_OUT_NEVER_REACHED;
	}
	if (c0 && c0->verb == SMTP_CONNECT && c0->has_reply && c0->reply.code >= 400) {
		reply_snippet(c0, snip, sizeof(snip));
		sb_printf(b, "Refused at the greeting: %s.", snip);
		return c0->reply.code >= 500 ? SMTP_OUT_REJECTED : SMTP_OUT_DEFERRED;
	}
	/* replies past the greeting, to commands the capture does not hold */
	if ((s->anomalies & (1ull << SMTP_ANOM_ONLY_SERVER_SIDE)) && s->n_cmds > 1) {
		sb_puts(b, "Outcome unknown: only the server's side of the conversation was "
			   "captured; capture both directions to see what was sent.");
		return SMTP_OUT_UNKNOWN;
	}
	return SMTP_OUT_NONE;
}

static const char *const outcome_phrase[SMTP_OUT_COUNT] = {
	[SMTP_OUT_DELIVERED] = "delivered",   [SMTP_OUT_DEFERRED] = "deferred (the sender should retry)",
	[SMTP_OUT_REJECTED] = "rejected",     [SMTP_OUT_ABORTED] = "cut off during the transfer",
	[SMTP_OUT_ABANDONED] = "abandoned before the data", [SMTP_OUT_UNKNOWN] = "with no final answer seen",
};

static const char *const outcome_headline[SMTP_OUT_COUNT] = {
	[SMTP_OUT_DELIVERED] = "Delivered",   [SMTP_OUT_PARTIAL] = "Partly delivered",
	[SMTP_OUT_DEFERRED] = "Deferred",     [SMTP_OUT_REJECTED] = "Rejected",
	[SMTP_OUT_ABORTED] = "Aborted",	      [SMTP_OUT_ABANDONED] = "No message sent",
	[SMTP_OUT_UNKNOWN] = "Outcome unknown",
};

/* The session's outcome from its transactions': all delivered, some, or the worst failure. */
static enum smtp_outcome
overall(const int *count, size_t n_msgs)
{
	static const enum smtp_outcome worst_first[] = {
		SMTP_OUT_REJECTED, SMTP_OUT_DEFERRED, SMTP_OUT_ABORTED, SMTP_OUT_UNKNOWN,
		SMTP_OUT_ABANDONED,
	};

	if (n_msgs && count[SMTP_OUT_DELIVERED] == (int)n_msgs)
		return SMTP_OUT_DELIVERED;
	if (count[SMTP_OUT_DELIVERED])
		return SMTP_OUT_PARTIAL;
	for (size_t i = 0; i < sizeof(worst_first) / sizeof(worst_first[0]); i++)
		if (count[worst_first[i]])
			return worst_first[i];
	return SMTP_OUT_UNKNOWN;
}

/*
 * A transaction refused at MAIL and followed by another MAIL is a retry with
 * a corrected sender (or a second try later): the message's fate is the
 * later transaction's, so it is not counted on its own.
 */
static bool
superseded(const struct smtp_session *s, size_t i)
{
	const struct smtp_message *m = &s->msgs[i];
	const struct smtp_command *mail = m->mail_cmd >= 0 ? &s->cmds[m->mail_cmd] : NULL;

	return i + 1 < s->n_msgs && mail && mail->has_reply && mail->reply.code >= 400 &&
	       !m->data_started;
}

/*
 * A MAIL refused while a transaction was open ("503 nested MAIL command"):
 * it opened nothing and the open transaction went on (RFC 5321 4.1.4), so
 * it is no message of its own.
 */
static const struct smtp_command *
nested_refusal(const struct smtp_session *s, size_t i)
{
	const struct smtp_message *m = &s->msgs[i];
	const struct smtp_command *mail = m->mail_cmd >= 0 ? &s->cmds[m->mail_cmd] : NULL;

	return mail && mail->prev >= 0 && s->msgs[mail->prev].mail_accepted && mail->has_reply &&
	       mail->reply.code >= 400 && !m->data_started ? mail : NULL;
}

/* Every queue id of the delivered messages, as servers give them for their logs. */
static void
queue_ids(const struct smtp_session *s, struct sb *b)
{
	const char *sep = " (queued as ";
	int shown = 0, more = 0;

	for (size_t i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].outcome != SMTP_OUT_DELIVERED || !s->msgs[i].queue_id)
			continue;
		if (shown == 8) {
			more++;
			continue;
		}
		sb_puts(b, sep);
		sb_puts(b, s->msgs[i].queue_id);
		sep = ", ";
		shown++;
	}
	if (more)
		sb_printf(b, " and %d more", more);
	if (shown)
		sb_puts(b, ")");
}

/* Recipients of the counted messages by status: deferred ones the sender must retry. */
static void
recipient_notes(const struct smtp_session *s, struct sb *b)
{
	static const char *const said[SMTP_RCPT_STATUS_COUNT] = {
		[SMTP_RCPT_PENDING] = " with no reply seen",
		[SMTP_RCPT_DEFERRED] = " deferred (4xx: the sending server should retry them later)",
		[SMTP_RCPT_REJECTED] = " refused (5xx)",
	};
	int n[SMTP_RCPT_STATUS_COUNT] = {0};
	bool delivered = false;

	for (size_t i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].outcome != SMTP_OUT_DELIVERED)
			continue;
		delivered = true;
		for (size_t r = 0; r < s->msgs[i].n_rcpt; r++)
			n[s->msgs[i].rcpt[r].status]++;
	}
	if (!delivered)
		return;
	for (int k = 0; k < SMTP_RCPT_STATUS_COUNT; k++)
		if (n[k] && said[k])
			sb_printf(b, " %d recipient%s%s.", n[k], n[k] > 1 ? "s" : "", said[k]);
}

/* "Partly delivered: 1 message delivered (queued as X); 1 message rejected: 550 ... after RCPT." */
static enum smtp_outcome
message_verdict(struct smtp_session *s, struct sb *b)
{
	int count[SMTP_OUT_COUNT] = {0}, retried = 0;
	const char *sep = ": ";
	const struct smtp_command *fail = NULL, *retry = NULL, *nested = NULL;
	char snip[160];
	enum smtp_outcome o;
	size_t counted = 0;

	for (size_t i = 0; i < s->n_msgs; i++) {
		o = message_outcome(s, (int)i);
		s->msgs[i].outcome = o;
		for (size_t r = 0; mail_unsettled(s, (int)i) && r < s->msgs[i].n_rcpt; r++)
			s->msgs[i].rcpt[r].status = SMTP_RCPT_PENDING; /* whose they are is unsure */
		if (nested_refusal(s, i)) { /* its MAIL was refused, but it is no message */
			nested = nested ? nested : nested_refusal(s, i);
			continue;
		}
		if (superseded(s, i)) {
			if (!retried++)
				retry = &s->cmds[s->msgs[i].mail_cmd];
			continue;
		}
		count[o]++;
		counted++;
		if (o != SMTP_OUT_DELIVERED && !fail)
			fail = deciding_reply(s, (int)i);
	}
	o = overall(count, counted);
	sb_puts(b, outcome_headline[o]);
	for (int k = SMTP_OUT_DELIVERED; k < SMTP_OUT_COUNT; k++) {
		if (!count[k] || !outcome_phrase[k])
			continue;
		sb_printf(b, "%s%d message%s %s", sep, count[k], count[k] > 1 ? "s" : "",
			  outcome_phrase[k]);
		if (k == SMTP_OUT_DELIVERED)
			queue_ids(s, b);
		sep = "; ";
	}
	if (fail) {
		reply_snippet(fail, snip, sizeof(snip));
		sb_printf(b, ": %s after %s", snip, fail->name);
	}
	sb_puts(b, ".");
	if (retry) {
		reply_snippet(retry, snip, sizeof(snip));
		sb_printf(b, " Before that, MAIL FROM was refused (%s) and tried again%s.", snip,
			  retried > 1 ? " more than once" : "");
	}
	if (nested) {
		reply_snippet(nested, snip, sizeof(snip));
		sb_printf(b, " A second MAIL FROM inside the open transaction was refused (%s); the "
			     "transaction went on.", snip);
	}
	recipient_notes(s, b);
	return o;
}

static const struct smtp_command *
first_failure(const struct smtp_session *s)
{
	for (size_t i = 0; i < s->n_cmds; i++)
		if (s->cmds[i].has_reply && s->cmds[i].reply.code >= 400 && !s->cmds[i].fallback)
			return &s->cmds[i];
	return NULL;
}

/* No transaction was tried: say why the session ended where it did. */
static enum smtp_outcome
no_mail_verdict(const struct smtp_session *s, struct sb *b)
{
	const struct smtp_command *f = first_failure(s);
	char snip[160];

	if (f) {
		reply_snippet(f, snip, sizeof(snip));
		sb_printf(b, "%sNo message sent; %s failed: %s.", b->used ? " " : "", f->name, snip);
		return SMTP_OUT_NO_MAIL;
	}
	if (s->gaps[0] || s->gaps[1] || s->state == SMTP_ST_UNFINISHED) {
		sb_printf(b, "%sOutcome unknown: %s before any message.", b->used ? " " : "",
			  s->state == SMTP_ST_UNFINISHED ? "the capture ended" : "bytes are missing");
		return SMTP_OUT_UNKNOWN;
	}
	sb_printf(b, "%sNo message sent%s.", b->used ? " " : "",
		  s->state == SMTP_ST_CLOSED ? " (the client ended the session)" : "");
	return SMTP_OUT_NO_MAIL;
}

/*
 * What a TLS alert sent during the handshake means for a mail session, and
 * who can fix it (RFC 8446 6.2, RFC 5246 7.2.2; what OpenSSL sends when).
 */
static const struct {
	uint8_t description;
	const char *meaning;
} tls_alert_kb[] = {
	{40, " No protocol version, cipher or key exchange in common: one side's TLS settings are "
	     "too strict or too old. Who can fix it: the administrator of either server; the "
	     "sender can retry without TLS only if its policy allows."},
	{70, " The TLS versions the two sides accept do not overlap (one only TLS 1.0/1.1, the "
	     "other only 1.2 or later). Who can fix it: the administrator of the older side."},
	{71, " The server wants stronger parameters than the client offered. Who can fix it: the "
	     "sending side's administrator."},
	{48, " The client does not trust the certificate's issuer: a self-signed certificate or a "
	     "private CA. Who can fix it: the receiving server's administrator (a certificate from "
	     "a public CA), or the sender's (its trust store)."},
	{42, " The certificate was refused as bad (corrupt or with an invalid signature). Who can "
	     "fix it: the administrator of the side whose certificate it is."},
	{43, " The certificate is of a kind the peer does not support. Who can fix it: the "
	     "administrator of the side whose certificate it is."},
	{44, " The certificate was revoked by its CA. Who can fix it: its owner, with a new "
	     "certificate."},
	{45, " The certificate has expired. Who can fix it: the administrator of the side whose "
	     "certificate it is (renew it)."},
	{46, " The certificate could not be accepted (often: the name does not match, or the chain "
	     "is incomplete). Who can fix it: the administrator of the side whose certificate it is."},
	{116, " The server asks for a client certificate and the client sent none. Who can fix it: "
	      "the sending side's administrator, or the server's if it should not require one."},
	{112, " The server does not know the name the client asked for (SNI). Who can fix it: the "
	      "receiving server's administrator."},
	{47, " A handshake message had a field out of range: a TLS bug or a broken middlebox. Who "
	     "can fix it: the administrator of the side that sent it."},
	{50, " A handshake message could not be decoded: a TLS bug or a middlebox that alters "
	     "traffic. Who can fix it: the administrators of both sides."},
	{51, " A signature or key exchange did not verify: wrong keys or a middlebox. Who can fix "
	     "it: the administrators of both sides."},
	{10, " A message came out of order: a TLS bug, or plain text where TLS was expected. Who "
	     "can fix it: the administrator of the side that sent it."},
	{80, " An internal error on the side that sent the alert. Who can fix it: that side's "
	     "administrator."},
	{86, " A downgrade was refused (TLS_FALLBACK_SCSV). Who can fix it: the client's "
	     "administrator."},
	{90, " The user or program cancelled the handshake."},
};

static const char *
tls_alert_meaning(uint8_t description)
{
	for (size_t i = 0; i < sizeof(tls_alert_kb) / sizeof(tls_alert_kb[0]); i++)
		if (tls_alert_kb[i].description == description)
			return tls_alert_kb[i].meaning;
	return "";
}

static const char *const closer_names[] = {
	[TLS_CLOSED_BY_CLIENT] = "the client", [TLS_CLOSED_BY_SERVER] = "the server",
	[TLS_CLOSED_UNSEEN] = "one side",
};

/*
 * What the wire shows wrong with the server's certificate, as the cause of a
 * handshake the client gave up on. alert: the one that names the flaw (RFC
 * 5246 7.2.2: certificate_expired is "expired or not currently valid";
 * OpenSSL sends unknown_ca for a self-signed certificate), 0 when none does
 * (a name mismatch comes as the generic bad_certificate).
 */
static const struct {
	unsigned flaw;
	uint8_t alert;
	const char *what, *after; /* what [the date or the name] after; after NULL: nothing */
	const char *fix;
} cert_flaw_kb[] = {
	{TLS_CERT_EXPIRED, 45, "expired on ", "", "renew it"},
	{TLS_CERT_NOT_YET_VALID, 45, "is not valid before ", "", "install one valid now, or fix "
								     "its clock"},
	{TLS_CERT_SELF_SIGNED, 48, "is self-signed", NULL, "use one from a CA the senders trust"},
	{TLS_CERT_NAME_MISMATCH, 0, "does not name ", ", the server the client asked for",
	 "use one that names it"},
};

/* The date or the name a cert_flaw_kb entry puts between what and after. */
static void
flaw_arg(const struct tls_facts *t, unsigned flaw, char *buf, size_t n)
{
	int64_t sec = flaw == TLS_CERT_NOT_YET_VALID ? t->cert.not_before : t->cert.not_after;
	struct tm tm;
	time_t tt = (time_t)sec;

	if (flaw == TLS_CERT_NAME_MISMATCH)
		snprintf(buf, n, "%s", t->sni);
	else if (gmtime_r(&tt, &tm))
		strftime(buf, n, "%Y-%m-%d", &tm);
	else
		snprintf(buf, n, "(a date out of range)");
}

/*
 * The certificate flaws as the cause of a failed or abandoned handshake, when
 * it was the client that gave up (it judges the server's certificate): sure
 * when its alert names a flaw, "likely" otherwise. Who fixes it: the server's
 * administrator.
 */
static void
cert_cause(const struct smtp_session *s, struct sb *b)
{
	const struct tls_facts *t = s->tls;
	unsigned flaws = tls_cert_flaws(&t->cert, (int64_t)(s->ts_first / 1000000u), t->sni,
					t->sni_truncated) & ~TLS_CERT_NAME_UNKNOWN;
	bool named = false, first = true;
	char arg[TLS_SNI_MAX + 1];

	if (!flaws || (t->alert.seen && t->alert.sent_by != TLS_CLIENT) ||
	    (!t->alert.seen && s->tls_closed_by == TLS_CLOSED_BY_SERVER))
		return;
	for (size_t i = 0; i < sizeof(cert_flaw_kb) / sizeof(cert_flaw_kb[0]); i++)
		named |= (flaws & cert_flaw_kb[i].flaw) && t->alert.seen && !t->alert.encrypted &&
			 t->alert.description == cert_flaw_kb[i].alert;
	sb_printf(b, " %s the server's certificate (%s)", named ? "As the alert says,"
		  : t->alert.seen && !t->alert.encrypted ? "Likely cause (the alert does not name it):"
							  : "Likely cause:", t->cert.subject);
	for (size_t i = 0; i < sizeof(cert_flaw_kb) / sizeof(cert_flaw_kb[0]); i++) {
		if (!(flaws & cert_flaw_kb[i].flaw))
			continue;
		sb_puts(b, first ? " " : ", and ");
		sb_puts(b, cert_flaw_kb[i].what);
		if (cert_flaw_kb[i].after) {
			flaw_arg(t, cert_flaw_kb[i].flaw, arg, sizeof(arg));
			sb_puts(b, arg);
			sb_puts(b, cert_flaw_kb[i].after);
		}
		first = false;
	}
	sb_puts(b, ". Who can fix it: the receiving server's administrator (");
	first = true;
	for (size_t i = 0; i < sizeof(cert_flaw_kb) / sizeof(cert_flaw_kb[0]); i++) {
		if (!(flaws & cert_flaw_kb[i].flaw))
			continue;
		sb_printf(b, "%s%s", first ? "" : "; ", cert_flaw_kb[i].fix);
		first = false;
	}
	sb_puts(b, ").");
}

/*
 * How the TLS handshake after STARTTLS (or at once) went, from tls/: an
 * encrypted session only when it completed. The outcome of a session with
 * no mail before TLS: unknown when TLS began (mail may follow, unseen), no
 * mail when it failed (nothing could be sent on this connection).
 */
static enum smtp_outcome
tls_verdict(const struct smtp_session *s, struct sb *b)
{
	const struct tls_facts *t = s->tls;
	const char *how = s->implicit_tls ? "TLS from the first byte" : "STARTTLS accepted";
	const char *sep = b->used ? " " : "";

	if (!t || t->handshake == TLS_HS_NONE || t->handshake == TLS_HS_STARTED) {
		sb_printf(b, "%s%s; the %s before the TLS handshake was seen to finish%s.", sep, how,
			  s->state == SMTP_ST_UNFINISHED ? "capture ends" : "connection ended",
			  s->n_msgs ? "" : ", so any mail sent is not visible");
		return SMTP_OUT_UNKNOWN;
	}
	if (t->handshake == TLS_HS_COMPLETED) {
		sb_printf(b, "%s%s; TLS established (%s%s%s), the rest of the session is "
			     "encrypted%s.", sep, how, t->version[0] ? t->version : "version unknown",
			  t->cipher[0] ? ", " : "", t->cipher, s->n_msgs ? "" :
			  ", so any mail sent is not visible");
		return SMTP_OUT_UNKNOWN;
	}
	if (t->handshake == TLS_HS_FAILED && t->alert.seen && !t->alert.encrypted) {
		sb_printf(b, "%s%s, but the TLS handshake failed: %s sent the alert %s (%s).", sep,
			  how, tls_dir_name(t->alert.sent_by), tls_alert_name(t->alert.description),
			  tls_alert_level_name(t->alert.level));
		sb_puts(b, tls_alert_meaning(t->alert.description));
		cert_cause(s, b);
		return SMTP_OUT_NO_MAIL;
	}
	if (t->handshake == TLS_HS_FAILED) {
		sb_printf(b, "%s%s, but the TLS handshake failed (an encrypted alert, from %s).", sep,
			  how, t->alert.seen ? tls_dir_name(t->alert.sent_by) : "one side");
		cert_cause(s, b);
		return SMTP_OUT_NO_MAIL;
	}
	if (t->client_hello && !t->server_hello && !t->hello_retry_request) {
		sb_printf(b, "%s%s, but the server never answered the client's TLS hello (no "
			     "ServerHello) before %s closed the connection: the server's TLS is broken "
			     "or off (no certificate or key loaded, a TLS library error: its log says "
			     "which), or something in between dropped the handshake. Who can fix it: "
			     "the receiving server's administrator.", sep, how,
			  closer_names[s->tls_closed_by]);
		return SMTP_OUT_NO_MAIL;
	}
	sb_printf(b, "%s%s, but %s closed the connection before the TLS handshake finished "
		     "(often: a certificate the client does not trust, or no protocol or cipher in "
		     "common).", sep, how, closer_names[s->tls_closed_by]);
	cert_cause(s, b);
	return SMTP_OUT_NO_MAIL;
}

/* Why a key log given did not open this session's TLS (tls.h: enum tls_keys). */
static void
keys_note(const struct smtp_session *s, struct sb *b)
{
	const struct tls_facts *t = s->tls;

	if (!t || t->keys == TLS_KEYS_OFF || t->handshake != TLS_HS_COMPLETED)
		return;
	if (t->failed_records)
		sb_printf(b, " The key log has keys for this session, but %llu records did not "
			     "authenticate with them: the wrong keys (another run of the client, a "
			     "damaged key log), so nothing inside is shown.",
			  (unsigned long long)t->failed_records);
	else if (t->keys == TLS_KEYS_UNSUPPORTED)
		sb_printf(b, " Its cipher suite (%s) is not one smtpscope can decrypt.", t->cipher);
	else if (!t->client_hello)
		sb_puts(b, " The key log cannot open it: the capture began after the ClientHello, "
			   "whose random names the keys.");
	else
		sb_puts(b, " The key log has no keys for this session (its ClientHello random is "
			   "not in it): log the keys of the client or server that made it.");
}

/* The dialog was read inside TLS: say so, and what could not be read. */
static void
decrypted_note(const struct smtp_session *s, struct sb *b)
{
	const struct tls_facts *t = s->tls;

	sb_printf(b, "%sRead inside TLS (%s%s%s) with the key log.", b->used ? " " : "",
		  t && t->version[0] ? t->version : "version unknown", t && t->cipher[0] ? ", " : "",
		  t ? t->cipher : "");
	if (s->priv->tls_lost)
		sb_printf(b, " %llu records could not be decrypted after that: the dialog has holes "
			     "there, and what they hid is unknown.",
			  (unsigned long long)(t ? t->failed_records : 0));
}

/* What the capture could not see, and how to capture it whole. */
static void
capture_notes(const struct smtp_session *s, struct sb *b)
{
	const struct smtp_command *c0 = s->n_cmds ? &s->cmds[0] : NULL;

	if (c0 && c0->verb == SMTP_CONNECT && c0->skipped)
		sb_puts(b, " The server sent no greeting (220) before its first reply: it breaks RFC "
			   "5321 3.1, or something in between (a proxy, a filter) ate it.");
	if (s->capture.snaplen > 0)
		sb_printf(b, " The capture kept only %d bytes of each packet (its snap length), so "
			     "parts of this session are missing: capture again with -s 0.",
			  s->capture.snaplen);
	else if (s->capture.snaplen < 0)
		sb_puts(b, " The snap length cut this session's packets: capture again with -s 0.");
}

void
explain_verdict(struct smtp_session *s, char *buf, size_t bufsz)
{
	struct sb b = {buf, bufsz, 0};
	enum smtp_outcome o;

	buf[0] = '\0';
	if ((o = transport_verdict(s, &b)) != SMTP_OUT_NONE) {
		s->outcome = o;
		for (size_t i = 0; i < s->n_msgs; i++) /* one side only: nothing is settled */
			s->msgs[i].outcome = o == SMTP_OUT_UNKNOWN ? o : message_outcome(s, (int)i);
		capture_notes(s, &b);
		return;
	}
	o = s->n_msgs ? message_verdict(s, &b) : SMTP_OUT_NONE;
	if (s->priv->mode == CM_TLS) {
		enum smtp_outcome t = tls_verdict(s, &b);

		keys_note(s, &b);

		s->outcome = s->n_msgs ? o : t;
		capture_notes(s, &b);
		return;
	}
	if (s->priv->tls_plain)
		decrypted_note(s, &b);
	else if (s->starttls)
		sb_printf(&b, "%sSTARTTLS accepted, but no TLS followed.", b.used ? " " : "");
	if (s->has_auth && s->auth.success == 0)
		sb_printf(&b, "%sLogin failed.", b.used ? " " : "");
	s->outcome = s->n_msgs ? o : no_mail_verdict(s, &b);
	capture_notes(s, &b);
}

/*
 * A failure that is the consequence of an earlier one in the same
 * transaction (a pipelined group goes on after MAIL or every RCPT failed):
 * name the earlier failure, which is the one to fix.
 */
static const struct smtp_command *
earlier_failure(const struct smtp_session *s, const struct smtp_command *c)
{
	const struct smtp_message *m;
	const struct smtp_command *first_refused = NULL;

	if (c->reply.code < 400 || c->msg < 0 ||
	    (c->verb != SMTP_RCPT && c->verb != SMTP_DATA && c->verb != SMTP_BDAT))
		return NULL;
	m = &s->msgs[c->msg];
	if (m->mail_cmd >= 0) { /* the MAIL that opened the transaction (found without a walk) */
		const struct smtp_command *e = &s->cmds[m->mail_cmd];

		if (e < c && e->has_reply && e->reply.code >= 400)
			return e;
	}
	if (c->verb == SMTP_RCPT)
		return NULL;
	for (size_t r = 0; r < m->n_rcpt; r++) {
		if (!SMTP_RCPT_REFUSED(m->rcpt[r].status))
			return NULL; /* someone was accepted (or not answered): not a consequence */
		if (!first_refused && m->rcpt[r].cmd >= 0)
			first_refused = &s->cmds[m->rcpt[r].cmd];
	}
	return first_refused;
}

/*
 * How long a reply took, against what is normal and what RFC 5321 4.5.3.2
 * allows a client to wait, by the command it answers.
 */
static const struct {
	enum smtp_verb verb;
	double slow, limit; /* seconds */
	const char *why;
} timing_kb[] = {
	{SMTP_CONNECT, 5, 300, "servers often delay the greeting while they look up the client "
			       "(reverse DNS, blocklists) or on purpose to catch impatient spam "
			       "software"},
	{SMTP_EHLO, 5, 300, "the server may be checking the EHLO name in DNS"},
	{SMTP_HELO, 5, 300, "the server may be checking the HELO name in DNS"},
	{SMTP_MAIL, 5, 300, "the server may be checking the sender (DNS, SPF, a callout)"},
	{SMTP_RCPT, 5, 300, "the server may be verifying the recipient with another server or "
			    "a slow directory"},
	{SMTP_DATA, 5, 120, "the server is slow to accept the message data"},
	{SMTP_DOT, 10, 600, "the server scans the message (spam and virus filters) before it "
			    "answers"},
	{SMTP_BDAT, 10, 600, "the server scans the message before it answers"},
};

bool
explain_context(const struct smtp_session *s, const struct smtp_command *c, char *buf,
		size_t bufsz)
{
	const struct smtp_command *e = earlier_failure(s, c);
	double took = (double)(c->reply_ts - c->ts) / 1e6;
	struct sb b = {buf, bufsz, 0};
	char snip[160];
	bool slow = false;

	buf[0] = '\0';
	if (e) {
		reply_snippet(e, snip, sizeof(snip));
		sb_printf(&b, " This follows from an earlier failure in the same transaction: %s %s "
			      "got %s.", e->name, e->arg ? e->arg : "", snip);
	}
	for (size_t i = 0; i < sizeof(timing_kb) / sizeof(timing_kb[0]); i++) {
		if (timing_kb[i].verb != c->verb || c->reply_ts < c->ts || took < timing_kb[i].slow)
			continue;
		slow = true;
		sb_tenths(&b, " The reply took ", c->reply_ts - c->ts, " s: ");
		sb_puts(&b, timing_kb[i].why);
		sb_puts(&b, ".");
		if (took > timing_kb[i].limit)
			sb_printf(&b, " That is longer than RFC 5321 lets a client wait (%.0f min); "
				      "many clients give up first.", timing_kb[i].limit / 60);
	}
	return slow;
}
