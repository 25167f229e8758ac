/*
 * audit.c - who speaks SMTP, to whom, and how (--audit).
 *
 * Every finished session adds to two host records: its client's (role
 * client) and its server's (role server). The table is an open-addressing
 * hash that doubles up to AUDIT_MAX_HOSTS; past that, sessions of new hosts
 * are counted as unaudited, never silently lost. Per host, the lists that
 * could grow (peers, EHLO names, failure reasons) are capped too.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_private.h"

#define AUDIT_MAX_HOSTS 65536
#define MAX_PEERS 65536 /* distinct peers counted exactly per host; past it, "at least" */
#define MAX_NAMES 8
#define MAX_REASONS 16 /* distinct failure replies counted per host */
#define TOP_REASONS 8  /* ... of which the most frequent are shown */
#define MAX_PORTS 8
#define NAME_LEN 64
#define REASON_LEN 48
#define MANY_SERVERS 10 /* a client talking to this many servers is sending direct to MX */

enum role { ROLE_CLIENT, ROLE_SERVER };

/* TLS versions an auditor asks about: 1.0 and 1.1 are deprecated (RFC 8996), SSLv3 broken. */
#define TLS_VERSIONS 6
static const struct {
	uint16_t code;
	const char *name;
} tls_versions_seen[TLS_VERSIONS] = {
	{0x0300, "SSLv3"}, {0x0301, "TLSv1.0"}, {0x0302, "TLSv1.1"}, {0x0303, "TLSv1.2"},
	{0x0304, "TLSv1.3"}, {0, "other"},
};
#define MAX_CIPHERS 4
#define CERT_SOON (30 * 86400) /* seconds: "expires soon" */

struct reason {
	char text[REASON_LEN]; /* "550 5.1.1" or "550" plus a few words */
	bool cut;
	uint64_t count;
};

struct host {
	bool used;
	enum role role;
	struct cap_addr ip;
	uint64_t sessions, first_seen, last_seen;
	uint64_t delivered, deferred, rejected, refused, no_answer, no_greeting;
	uint64_t tls_used, tls_unused, auth_used, auth_cleartext, auth_failed;
	uint64_t tls_versions[TLS_VERSIONS]; /* completed handshakes, by tls_versions_seen[] */
	uint64_t tls_failed;		      /* handshakes that failed or were abandoned */
	char ciphers[MAX_CIPHERS][64];	      /* the first distinct ones, as negotiated */
	unsigned n_ciphers;
	bool cert_seen;			      /* servers: the certificate that expires first */
	int64_t cert_not_after;		      /* Unix seconds */
	int64_t cert_left;		      /* seconds it had left when seen (< 0: expired) */
	struct cap_addr *peers; /* an open-addressing set, at most half full */
	unsigned n_peers, cap_peers;
	bool peers_overflow;
	char names[MAX_NAMES][NAME_LEN]; /* client: EHLO names; server: its 220 greeting */
	bool names_cut[MAX_NAMES];
	unsigned n_names;
	char reject[NAME_LEN]; /* server: its first greeting that refused the session (4xx/5xx) */
	bool reject_cut;
	struct reason reasons[MAX_REASONS];
	unsigned n_reasons;
	uint64_t failures; /* replies of 400 or more, but knock-on ones */
	uint64_t knock_on; /* refusals that only follow from an earlier one (knock_on()) */
	uint16_t ports[MAX_PORTS]; /* the server ports of its sessions, as first seen */
	unsigned n_ports;
	bool ports_cut;
	unsigned n_flags; /* set by sorted_hosts() */
};

/* Where a session's transaction stands, for telling knock-on refusals apart. */
struct tx_state {
	bool failed_before, mail_refused, rcpt_seen, rcpt_ok;
};

struct rpt_audit {
	struct host *slots;
	size_t cap, count;
	uint64_t unaudited;
	enum rpt_audit_sort sort;
	struct rsm_hash_key key;
};

/* Keyed (siphash.c): hosts are chosen by whoever sends packets. */
static uint64_t
host_hash(const struct rsm_hash_key *key, const struct cap_addr *a, enum role role)
{
	uint8_t buf[18];

	memcpy(buf, a->bytes, 16);
	buf[16] = a->family;
	buf[17] = (uint8_t)role;
	return rsm_siphash(key, buf, sizeof(buf));
}

static bool
same_ip(const struct cap_addr *a, const struct cap_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static struct host *
slot_for(const struct rsm_hash_key *key, struct host *slots, size_t cap, const struct cap_addr *ip,
	 enum role role)
{
	size_t i = host_hash(key, ip, role) & (cap - 1);

	while (slots[i].used && !(slots[i].role == role && same_ip(&slots[i].ip, ip)))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static bool
grow(struct rpt_audit *a)
{
	size_t cap = a->cap ? a->cap * 2 : 256, more = (cap - a->cap) * sizeof(struct host);
	struct host *n;

	/* the table draws on the process's budget (capture.h): past it, new hosts go unaudited */
	if (!cap_budget_take(more))
		return false;
	if (!(n = calloc(cap, sizeof(*n)))) {
		cap_budget_give(more);
		return false;
	}
	for (size_t i = 0; i < a->cap; i++)
		if (a->slots[i].used)
			*slot_for(&a->key, n, cap, &a->slots[i].ip, a->slots[i].role) = a->slots[i];
	free(a->slots);
	a->slots = n;
	a->cap = cap;
	return true;
}

static struct host *
find_host(struct rpt_audit *a, const struct cap_addr *ip, enum role role, uint64_t ts)
{
	struct host *h = a->cap ? slot_for(&a->key, a->slots, a->cap, ip, role) : NULL;

	/* Full (rpt_audit_session() made room when it could): only hosts already known. */
	if (!h || (!h->used && a->count * 2 >= a->cap))
		return h && h->used ? h : NULL;
	if (!h->used) {
		memset(h, 0, sizeof(*h));
		h->used = true;
		h->role = role;
		h->ip = *ip;
		h->first_seen = ts;
		a->count++;
	}
	return h;
}

static struct cap_addr *
peer_slot(const struct rsm_hash_key *key, struct cap_addr *set, unsigned cap,
	  const struct cap_addr *peer)
{
	size_t i = host_hash(key, peer, ROLE_CLIENT) & (cap - 1);

	while (set[i].family && !same_ip(&set[i], peer))
		i = (i + 1) & (cap - 1);
	return &set[i];
}

/* Distinct peers of a host; the set doubles up to MAX_PEERS, then says "at least". */
static void
add_peer(const struct rsm_hash_key *key, struct host *h, const struct cap_addr *peer)
{
	if (h->cap_peers && peer_slot(key, h->peers, h->cap_peers, peer)->family)
		return;
	if ((h->n_peers + 1) * 2 > h->cap_peers) {
		unsigned cap = h->cap_peers ? h->cap_peers * 2 : 8;
		struct cap_addr *set;

		if (h->n_peers >= MAX_PEERS || !(set = calloc(cap, sizeof(*set)))) {
			h->peers_overflow = true;
			return;
		}
		for (unsigned i = 0; i < h->cap_peers; i++)
			if (h->peers[i].family)
				*peer_slot(key, set, cap, &h->peers[i]) = h->peers[i];
		free(h->peers);
		h->peers = set;
		h->cap_peers = cap;
	}
	*peer_slot(key, h->peers, h->cap_peers, peer) = *peer;
	h->n_peers++;
}

/*
 * s[0..len) into buf (n bytes), cut if need be before the character that
 * does not fit (a UTF-8 sequence, or decode/'s two-byte form of NUL, is kept
 * whole or dropped); true if cut: the writers then show an ellipsis.
 */
static bool
cut_copy(char *buf, size_t n, const char *s, size_t len)
{
	bool cut = len >= n;

	if (cut) {
		len = n - 1;
		while (len && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return cut;
}

static void
add_name(struct host *h, const char *name)
{
	char v[NAME_LEN];
	bool cut;

	if (!name || !*name)
		return;
	cut = cut_copy(v, sizeof(v), name, strlen(name));
	for (unsigned i = 0; i < h->n_names; i++)
		if (strcmp(h->names[i], v) == 0)
			return;
	if (h->n_names < MAX_NAMES) {
		memcpy(h->names[h->n_names], v, sizeof(v));
		h->names_cut[h->n_names++] = cut;
	}
}

/* "550 5.1.1": the code and enhanced code name a reason well enough to count. */
static void
add_reason(struct host *h, const struct smtp_command *c)
{
	char full[REASON_LEN + 64], key[REASON_LEN];
	int len = snprintf(full, sizeof(full), "%d%s%s after %s", c->reply.code,
			   c->reply.enhanced[0] ? " " : "", c->reply.enhanced, c->name);
	bool cut = cut_copy(key, sizeof(key), full,
			    len < 0 ? 0 : (size_t)len < sizeof(full) ? (size_t)len : sizeof(full) - 1);

	for (unsigned i = 0; i < h->n_reasons; i++) {
		if (strcmp(h->reasons[i].text, key) == 0) {
			h->reasons[i].count++;
			return;
		}
	}
	if (h->n_reasons == MAX_REASONS)
		return; /* counted in failures: shown as other_failures */
	memcpy(h->reasons[h->n_reasons].text, key, sizeof(key));
	h->reasons[h->n_reasons].cut = cut;
	h->reasons[h->n_reasons++].count = 1;
}

static void
count_tls(struct host *h, const struct tls_facts *t, uint64_t ts_us)
{
	unsigned v = TLS_VERSIONS - 1;

	if (t->cert.seen && h->role == ROLE_SERVER &&
	    (!h->cert_seen || t->cert.not_after < h->cert_not_after)) {
		h->cert_seen = true;
		h->cert_not_after = t->cert.not_after;
		h->cert_left = t->cert.not_after - (int64_t)(ts_us / 1000000u);
	}

	if (t->handshake == TLS_HS_FAILED || t->handshake == TLS_HS_ABANDONED)
		h->tls_failed++;
	if (t->handshake != TLS_HS_COMPLETED)
		return;
	for (unsigned i = 0; i < TLS_VERSIONS - 1; i++)
		if (tls_versions_seen[i].code == t->version_code)
			v = i;
	h->tls_versions[v]++;
	for (unsigned i = 0; i < h->n_ciphers; i++)
		if (strcmp(h->ciphers[i], t->cipher) == 0)
			return;
	if (h->n_ciphers < MAX_CIPHERS && t->cipher[0])
		snprintf(h->ciphers[h->n_ciphers++], sizeof(h->ciphers[0]), "%s", t->cipher);
}

/*
 * A refusal that only follows from an earlier one: a 503 "bad sequence" after
 * a refusal in the session, RCPT or DATA after MAIL was refused, DATA when no
 * RCPT was accepted. Counting them as failures would count one cause twice.
 */
static bool
knock_on(const struct tx_state *t, const struct smtp_command *c)
{
	bool in_tx = c->verb == SMTP_RCPT || c->verb == SMTP_DATA || c->verb == SMTP_BDAT;
	bool data = c->verb == SMTP_DATA || c->verb == SMTP_BDAT;

	return (c->reply.code == 503 && t->failed_before) || (in_tx && t->mail_refused) ||
	       (data && t->rcpt_seen && !t->rcpt_ok);
}

static void
tx_step(struct tx_state *t, const struct smtp_command *c)
{
	bool bad = c->reply.code >= 400;

	switch (c->verb) {
	case SMTP_MAIL:
		t->mail_refused = bad;
		t->rcpt_seen = t->rcpt_ok = false;
		break;
	case SMTP_RSET:
	case SMTP_HELO:
	case SMTP_EHLO:
		t->mail_refused = t->rcpt_seen = t->rcpt_ok = false;
		break;
	case SMTP_RCPT:
		t->rcpt_seen = true;
		t->rcpt_ok |= !bad;
		break;
	default:
		break;
	}
	t->failed_before |= bad;
}

static void
count_failures(struct host *h, const struct smtp_session *s)
{
	struct tx_state t = {0};

	for (size_t i = 0; i < s->n_cmds; i++) {
		const struct smtp_command *c = &s->cmds[i];

		if (!c->has_reply)
			continue;
		if (c->reply.code >= 400 && knock_on(&t, c)) {
			h->knock_on++;
		} else if (c->reply.code >= 400) {
			h->failures++;
			add_reason(h, c);
		}
		tx_step(&t, c);
	}
}

static void
add_port(struct host *h, uint16_t port)
{
	for (unsigned i = 0; i < h->n_ports; i++)
		if (h->ports[i] == port)
			return;
	if (h->n_ports < MAX_PORTS)
		h->ports[h->n_ports++] = port;
	else
		h->ports_cut = true;
}

static void
count_session(struct host *h, const struct smtp_session *s)
{
	h->sessions++;
	h->first_seen = s->ts_first < h->first_seen ? s->ts_first : h->first_seen;
	h->last_seen = s->ts_last > h->last_seen ? s->ts_last : h->last_seen;
	h->refused += s->state == SMTP_ST_REFUSED;
	h->no_answer += s->state == SMTP_ST_NO_ANSWER;
	h->no_greeting += s->outcome == SMTP_OUT_NEVER_REACHED && s->state != SMTP_ST_REFUSED &&
			  s->state != SMTP_ST_NO_ANSWER;
	h->tls_used += s->starttls;
	h->tls_unused += (s->anomalies >> SMTP_ANOM_STARTTLS_NOT_USED) & 1;
	if (s->tls)
		count_tls(h, s->tls, s->ts_first);
	h->auth_used += s->has_auth;
	h->auth_cleartext += (s->anomalies >> SMTP_ANOM_AUTH_CLEARTEXT) & 1;
	h->auth_failed += s->has_auth && s->auth.success == 0;
	for (size_t i = 0; i < s->n_msgs; i++) {
		h->delivered += s->msgs[i].outcome == SMTP_OUT_DELIVERED;
		h->deferred += s->msgs[i].outcome == SMTP_OUT_DEFERRED;
		h->rejected += s->msgs[i].outcome == SMTP_OUT_REJECTED;
	}
	count_failures(h, s);
	add_port(h, s->server_port);
}

/*
 * The banner is the first line of a 220 greeting only; a greeting that
 * refuses the session (554, RFC 5321 3.1, or 421) is no banner, and its first
 * line, with its code, is kept apart. The first of each is kept.
 */
static void
add_greeting(struct host *h, const struct smtp_reply *r)
{
	const char *nl = strchr(r->text, '\n');
	size_t len = nl ? (size_t)(nl - r->text) : strlen(r->text);
	char line[NAME_LEN + 8];

	if (r->code == 220 && !h->n_names) {
		h->names_cut[0] = cut_copy(h->names[0], NAME_LEN, r->text, len);
		h->n_names = h->names[0][0] != '\0';
	} else if (r->code >= 400 && !h->reject[0]) {
		int k = snprintf(line, sizeof(line), "%d %.*s", r->code, (int)len, r->text);

		/* a line longer than line[] is longer than NAME_LEN too: cut_copy says it is cut */
		h->reject_cut = cut_copy(h->reject, NAME_LEN, line,
					 k < 0 ? 0 : (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1);
	}
}

void
rpt_audit_session(struct rpt_audit *a, const struct smtp_session *s)
{
	/*
	 * Room for two new hosts first: growing moves every host, so no pointer
	 * into the table may be held across it. Kept at most half full, so that a
	 * probe always ends on a free slot.
	 */
	if ((a->count + 2) * 2 > a->cap && a->count + 2 <= AUDIT_MAX_HOSTS)
		grow(a);
	struct host *c = find_host(a, &s->client, ROLE_CLIENT, s->ts_first);
	struct host *v = find_host(a, &s->server, ROLE_SERVER, s->ts_first);

	if (!c || !v) {
		a->unaudited++;
		return;
	}
	count_session(c, s);
	count_session(v, s);
	add_peer(&a->key, c, &s->server);
	add_peer(&a->key, v, &s->client);
	add_name(c, s->helo);
	if (s->n_cmds && s->cmds[0].verb == SMTP_CONNECT && s->cmds[0].has_reply)
		add_greeting(v, &s->cmds[0].reply);
}

/*
 * Does the EHLO argument look like a host name (RFC 5321 4.1.1.1: a domain
 * or an address literal)? A bare word ("localhost", "PC01") or junk does not.
 */
static bool
looks_like_hostname(const char *n)
{
	size_t len = strlen(n);
	bool dot = false;

	if (len >= 2 && n[0] == '[' && n[len - 1] == ']')
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)n[i];

		if (ch == '.')
			dot = i > 0 && i + 1 < len;
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return dot;
}

/* The flags an auditor should look at, as fixed short phrases. */
static unsigned
host_flags(const struct host *h, const char **out, unsigned max)
{
	unsigned n = 0;

	if (h->role == ROLE_CLIENT && (h->n_peers >= MANY_SERVERS || h->peers_overflow) && n < max)
		out[n++] = "talks to many mail servers (direct-to-MX sending?)";
	for (unsigned i = 0; h->role == ROLE_CLIENT && i < h->n_names; i++) {
		if (!looks_like_hostname(h->names[i]) && n < max) {
			out[n++] = "EHLO name is not a host name";
			break;
		}
	}
	if (h->role == ROLE_SERVER && h->refused + h->no_answer + h->no_greeting == h->sessions &&
	    n < max)
		out[n++] = "never answered SMTP";
	if (h->auth_cleartext && n < max)
		out[n++] = "passwords sent in cleartext (AUTH without TLS)";
	if (h->tls_unused && n < max)
		out[n++] = "STARTTLS offered but not used";
	if (h->tls_versions[0] + h->tls_versions[1] + h->tls_versions[2] && n < max)
		out[n++] = "speaks SSLv3, TLS 1.0 or 1.1 (deprecated, RFC 8996)";
	if (h->tls_failed && n < max)
		out[n++] = "TLS handshakes failed";
	if (h->cert_seen && h->cert_left < 0 && n < max)
		out[n++] = "certificate expired";
	else if (h->cert_seen && h->cert_left < CERT_SOON && n < max)
		out[n++] = "certificate expires within 30 days";
	return n;
}

static uint64_t
key_flags(const struct host *h)
{
	return h->n_flags;
}

static uint64_t
key_failures(const struct host *h)
{
	return h->deferred + h->rejected + h->refused + h->no_answer + h->no_greeting +
	       h->auth_failed;
}

static uint64_t
key_messages(const struct host *h)
{
	return h->delivered + h->deferred + h->rejected;
}

static uint64_t
key_sessions(const struct host *h)
{
	return h->sessions;
}

typedef uint64_t host_key_fn(const struct host *h);

/* --audit-sort: the keys, each largest first, then the address; "host": the address only. */
static host_key_fn *const sort_keys[][3] = {
	[RPT_SORT_FLAGS] = {key_flags, key_failures, key_sessions},
	[RPT_SORT_SESSIONS] = {key_sessions},
	[RPT_SORT_MESSAGES] = {key_messages},
	[RPT_SORT_FAILURES] = {key_failures},
	[RPT_SORT_HOST] = {NULL},
};

static enum rpt_audit_sort sort_by;

static int
by_key(const void *x, const void *y)
{
	const struct host *a = *(const struct host *const *)x, *b = *(const struct host *const *)y;

	for (unsigned i = 0; i < 3 && sort_keys[sort_by][i]; i++) {
		uint64_t ka = sort_keys[sort_by][i](a), kb = sort_keys[sort_by][i](b);

		if (ka != kb)
			return ka > kb ? -1 : 1;
	}
	if (a->ip.family != b->ip.family)
		return a->ip.family - b->ip.family;
	int c = memcmp(a->ip.bytes, b->ip.bytes, 16);

	return c ? c : (int)a->role - (int)b->role;
}

static struct host **
sorted_hosts(struct rpt_audit *a)
{
	struct host **v = malloc((a->count ? a->count : 1) * sizeof(*v));
	const char *flags[8];
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < a->cap; i++) {
		if (a->slots[i].used) {
			a->slots[i].n_flags = host_flags(&a->slots[i], flags, 8);
			v[n++] = &a->slots[i];
		}
	}
	sort_by = a->sort;
	qsort(v, n, sizeof(*v), by_key);
	return v;
}

/* The most frequent failure replies, at most TOP_REASONS, first seen first among equals. */
static unsigned
top_reasons(const struct host *h, const struct reason **out, uint64_t *other)
{
	unsigned n = 0;
	uint64_t shown = 0;

	for (unsigned i = 0; i < h->n_reasons; i++) {
		unsigned j = n < TOP_REASONS ? n++ : TOP_REASONS;

		if (j == TOP_REASONS && out[j - 1]->count >= h->reasons[i].count)
			continue;
		for (j = j == TOP_REASONS ? j - 1 : j; j && out[j - 1]->count < h->reasons[i].count; j--)
			out[j] = out[j - 1];
		out[j] = &h->reasons[i];
	}
	for (unsigned i = 0; i < n; i++)
		shown += out[i]->count;
	*other = h->failures - shown;
	return n;
}

/* A value cut when it was stored, with the mark that says so. */
static void
json_cut(FILE *f, const char *v, bool cut)
{
	char buf[NAME_LEN + sizeof("…")];

	snprintf(buf, sizeof(buf), "%s%s", v, cut ? "…" : "");
	rpt_json_string(f, buf);
}

static void
text_cut(FILE *f, const char *v, bool cut)
{
	rpt_text_wire(f, v, SIZE_MAX); /* stored values are short already */
	if (cut)
		rpt_text_ellipsis(f);
}

static void
json_host(FILE *f, const struct host *h)
{
	char ip[64], t1[40], t2[40];
	const char *flags[8];
	unsigned nf = host_flags(h, flags, 8);
	const struct reason *top[TOP_REASONS];
	uint64_t other;
	unsigned nr = top_reasons(h, top, &other);

	rpt_addr(ip, sizeof(ip), &h->ip);
	rpt_iso_time(t1, sizeof(t1), h->first_seen);
	rpt_iso_time(t2, sizeof(t2), h->last_seen);
	fprintf(f, "{\"type\":\"host\",\"ip\":\"%s\",\"role\":\"%s\",\"sessions\":%" PRIu64
		   ",\"peers\":%u,\"peers_capped\":%s,\"messages\":{\"delivered\":%" PRIu64
		   ",\"deferred\":%" PRIu64 ",\"rejected\":%" PRIu64 "},\"attempts\":{\"refused\":%" PRIu64
		   ",\"no_answer\":%" PRIu64 ",\"no_greeting\":%" PRIu64 "},\"tls\":{\"used\":%" PRIu64
		   ",\"offered_unused\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"versions\":[",
		ip, h->role == ROLE_CLIENT ? "client" : "server", h->sessions, h->n_peers,
		h->peers_overflow ? "true" : "false", h->delivered, h->deferred, h->rejected, h->refused,
		h->no_answer, h->no_greeting, h->tls_used, h->tls_unused, h->tls_failed);
	for (unsigned i = 0, k = 0; i < TLS_VERSIONS; i++)
		if (h->tls_versions[i])
			fprintf(f, "%s{\"version\":\"%s\",\"sessions\":%" PRIu64 "}", k++ ? "," : "",
				tls_versions_seen[i].name, h->tls_versions[i]);
	fputs("],\"ciphers\":[", f);
	for (unsigned i = 0; i < h->n_ciphers; i++) {
		if (i)
			putc(',', f);
		rpt_json_string(f, h->ciphers[i]);
	}
	fputs("],\"certificate_not_after\":", f);
	if (h->cert_seen) {
		char na[40];

		rpt_iso_seconds(na, sizeof(na), h->cert_not_after);
		fprintf(f, "\"%s\"", na);
	} else {
		fputs("null", f);
	}
	fprintf(f, "},\"auth\":{\"used\":%" PRIu64 ",\"cleartext\":%" PRIu64
		   ",\"failed\":%" PRIu64 "},\"%s\":[",
		h->auth_used, h->auth_cleartext, h->auth_failed,
		h->role == ROLE_CLIENT ? "ehlo_names" : "banners");
	for (unsigned i = 0; i < h->n_names; i++) {
		if (i)
			putc(',', f);
		json_cut(f, h->names[i], h->names_cut[i]);
	}
	putc(']', f);
	if (h->role == ROLE_SERVER) {
		fputs(",\"reject_greeting\":", f);
		if (h->reject[0])
			json_cut(f, h->reject, h->reject_cut);
		else
			fputs("null", f);
	}
	fputs(",\"top_failures\":[", f);
	for (unsigned i = 0; i < nr; i++) {
		fprintf(f, "%s{\"reply\":", i ? "," : "");
		json_cut(f, top[i]->text, top[i]->cut);
		fprintf(f, ",\"count\":%" PRIu64 "}", top[i]->count);
	}
	fprintf(f, "],\"other_failures\":%" PRIu64 ",\"knock_on\":%" PRIu64 ",\"ports\":[", other,
		h->knock_on);
	for (unsigned i = 0; i < h->n_ports; i++)
		fprintf(f, "%s%u", i ? "," : "", h->ports[i]);
	fprintf(f, "],\"ports_capped\":%s,\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"flags\":[",
		h->ports_cut ? "true" : "false", t1, t2);
	for (unsigned i = 0; i < nf; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", flags[i]);
	fputs("]}\n", f);
}

/* The TLS versions and ciphers of completed handshakes, and the failed ones. */
static void
text_tls(FILE *f, const struct host *h)
{
	unsigned k = 0;

	for (unsigned i = 0; i < TLS_VERSIONS; i++)
		if (h->tls_versions[i])
			fprintf(f, "%s%s %" PRIu64, k++ ? ", " : "         TLS: ", tls_versions_seen[i].name,
				h->tls_versions[i]);
	for (unsigned i = 0; i < h->n_ciphers; i++)
		fprintf(f, "%s%s", i ? ", " : (k ? "; " : "         TLS: "), h->ciphers[i]);
	if (h->tls_failed)
		fprintf(f, "%s%" PRIu64 " failed", k + h->n_ciphers ? "; " : "         TLS: ",
			h->tls_failed);
	if (h->cert_seen) {
		char na[40];

		rpt_iso_seconds(na, sizeof(na), h->cert_not_after);
		fprintf(f, "%scertificate valid to %.10s", k + h->n_ciphers + h->tls_failed ? "; "
			: "         TLS: ", na);
	}
	if (k + h->n_ciphers + h->tls_failed + h->cert_seen)
		putc('\n', f);
}

/* The ports a host's sessions used on the server's side, and when it was seen. */
static void
text_seen(FILE *f, const struct host *h)
{
	char t1[40], t2[40];

	rpt_iso_time(t1, sizeof(t1), h->first_seen);
	rpt_iso_time(t2, sizeof(t2), h->last_seen);
	for (unsigned i = 0; i < h->n_ports; i++)
		fprintf(f, "%s%u", i ? ", " : (h->n_ports > 1 ? "         ports " : "         port "),
			h->ports[i]);
	fprintf(f, "%s; seen %s to %s\n", h->ports_cut ? ", ..." : "", t1, t2);
}

static void
text_failures(FILE *f, const struct host *h)
{
	const struct reason *top[TOP_REASONS];
	uint64_t other;
	unsigned n = top_reasons(h, top, &other);

	if (!h->failures && !h->knock_on)
		return;
	fputs("         failures:", f);
	for (unsigned i = 0; i < n; i++) {
		fputs(i ? ", " : " ", f);
		text_cut(f, top[i]->text, top[i]->cut); /* the verb is the client's */
		fprintf(f, " (%" PRIu64 ")", top[i]->count);
	}
	if (other)
		fprintf(f, ", %" PRIu64 " other", other);
	if (h->knock_on)
		fprintf(f, "%s%" PRIu64 " knock-on (after an earlier refusal)", n ? "; " : " ",
			h->knock_on);
	putc('\n', f);
}

static void
text_host(FILE *f, const struct host *h)
{
	char ip[64];
	const char *flags[8];
	unsigned nf = host_flags(h, flags, 8);

	rpt_addr(ip, sizeof(ip), &h->ip);
	fprintf(f, "  %-6s %-39s %8" PRIu64 " %5u%s %9" PRIu64 " %8" PRIu64 " %8" PRIu64 " %7" PRIu64
		   " %10" PRIu64 " %8" PRIu64 " %9" PRIu64 "  tls %" PRIu64 "/%" PRIu64
		   " auth %" PRIu64 "\n",
		h->role == ROLE_CLIENT ? "client" : "server", ip, h->sessions, h->n_peers,
		h->peers_overflow ? "+" : " ", h->delivered, h->deferred, h->rejected, h->refused,
		h->no_answer, h->no_greeting, h->auth_failed, h->tls_used, h->tls_used + h->tls_unused,
		h->auth_used);
	text_seen(f, h);
	for (unsigned i = 0; i < h->n_names; i++) {
		fputs(i ? ", " : (h->role == ROLE_CLIENT ? "         EHLO: " : "         banner: "), f);
		text_cut(f, h->names[i], h->names_cut[i]);
	}
	if (h->n_names)
		putc('\n', f);
	if (h->reject[0]) {
		fputs("         greeting refused: ", f);
		text_cut(f, h->reject, h->reject_cut);
		putc('\n', f);
	}
	text_tls(f, h);
	text_failures(f, h);
	for (unsigned i = 0; i < nf; i++)
		fprintf(f, "         ! %s\n", flags[i]);
}

/* v with a comma every three digits: 2,141. */
static const char *
grouped(char *buf, size_t n, uint64_t v)
{
	char d[24];
	int len = snprintf(d, sizeof(d), "%" PRIu64, v);
	size_t k = 0;

	for (int i = 0; i < len && k + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = d[i];
	}
	buf[k] = '\0';
	return buf;
}

/* What the whole audit comes to, before the table: each session is counted at its server. */
static void
text_headline(FILE *f, struct host *const *v, size_t n)
{
	uint64_t servers = 0, flagged = 0, sessions = 0, msgs[3] = {0}, failures = 0, knock = 0;
	char b[9][32];

	for (size_t i = 0; i < n; i++) {
		const struct host *h = v[i];

		flagged += h->n_flags > 0;
		if (h->role != ROLE_SERVER)
			continue;
		servers++;
		sessions += h->sessions;
		msgs[0] += h->delivered;
		msgs[1] += h->deferred;
		msgs[2] += h->rejected;
		failures += h->failures;
		knock += h->knock_on;
	}
	fprintf(f, "Audit: %s server%s, %s client%s; %s host%s flagged; %s session%s; messages: "
		   "%s delivered, %s deferred, %s rejected; %s failure repl%s (and %s knock-on)\n",
		grouped(b[0], 32, servers), servers == 1 ? "" : "s", grouped(b[1], 32, n - servers),
		n - servers == 1 ? "" : "s", grouped(b[2], 32, flagged), flagged == 1 ? "" : "s",
		grouped(b[3], 32, sessions), sessions == 1 ? "" : "s", grouped(b[4], 32, msgs[0]),
		grouped(b[5], 32, msgs[1]), grouped(b[6], 32, msgs[2]), grouped(b[7], 32, failures),
		failures == 1 ? "y" : "ies", grouped(b[8], 32, knock));
}

static const char *const sort_words[] = {
	[RPT_SORT_FLAGS] = "flags, then failures, then sessions",
	[RPT_SORT_SESSIONS] = "sessions", [RPT_SORT_MESSAGES] = "messages",
	[RPT_SORT_FAILURES] = "failures", [RPT_SORT_HOST] = "address",
};

static void
text_table_head(FILE *f, const struct rpt_audit *a)
{
	fprintf(f, "Hosts (%zu), by %s%s:\n", a->count, sort_words[a->sort],
		a->unaudited ? " (table full: some sessions not audited)" : "");
	fputs("  sessions, refused, unanswered, no-greet, auth-fail: the host's sessions; delivered,\n"
	      "  deferred, rejected: its messages (several per session possible); tls U/T: sessions\n"
	      "  that used STARTTLS / sessions where it was offered or used; auth: sessions with AUTH\n",
	      f);
	fprintf(f, "  %-6s %-39s %8s %6s %9s %8s %8s %7s %10s %8s %9s\n", "role", "host", "sessions",
		"peers", "delivered", "deferred", "rejected", "refused", "unanswered", "no-greet",
		"auth-fail");
}

uint64_t
rpt_audit_unaudited(const struct rpt_audit *a)
{
	return a->unaudited;
}

void
rpt_audit_print(struct rpt_audit *a, FILE *f, bool json)
{
	struct host **v = sorted_hosts(a);

	if (!v)
		return;
	if (!json) {
		text_headline(f, v, a->count);
		text_table_head(f, a);
	}
	for (size_t i = 0; i < a->count; i++)
		json ? json_host(f, v[i]) : text_host(f, v[i]);
	if (!json)
		putc('\n', f);
	free(v);
}

/*
 * Wire text in a CSV cell (between its quotes): a quote doubled, a backslash
 * \\, a control or any byte past ASCII \xNN (stricter than csv.c, which keeps
 * valid UTF-8: these values are short names and replies). A value that
 * starts with = + - @ gets an apostrophe, as in csv.c.
 */
static void
csv_wire(FILE *f, const char *s, bool first)
{
	if (first && *s && strchr("=+-@", *s))
		putc('\'', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"')
			fputs("\"\"", f);
		else if (*p == '\\')
			fputs("\\\\", f);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02X", *p);
		else
			putc(*p, f);
	}
}

static const char *const csv_columns[] = {
	"role", "ip", "ports", "sessions", "peers", "delivered", "deferred", "rejected", "refused",
	"no_answer", "no_greeting", "tls_used", "tls_offered_unused", "tls_failed", "auth_used",
	"auth_cleartext", "auth_failed", "failures", "knock_on", "first_seen", "last_seen", "names",
	"top_failures", "flags",
};

static void
csv_lists(FILE *f, const struct host *h)
{
	const struct reason *top[TOP_REASONS];
	const char *flags[8];
	uint64_t other;
	unsigned nr = top_reasons(h, top, &other), nf = host_flags(h, flags, 8);

	putc('"', f);
	for (unsigned i = 0; i < h->n_names; i++) {
		fputs(i ? " / " : "", f);
		csv_wire(f, h->names[i], i == 0);
		fputs(h->names_cut[i] ? "..." : "", f);
	}
	fputs("\",\"", f);
	for (unsigned i = 0; i < nr; i++) {
		fputs(i ? " / " : "", f);
		csv_wire(f, top[i]->text, false); /* starts with a reply code */
		fprintf(f, "%s (%" PRIu64 ")", top[i]->cut ? "..." : "", top[i]->count);
	}
	fputs("\",\"", f);
	for (unsigned i = 0; i < nf; i++)
		fprintf(f, "%s%s", i ? " / " : "", flags[i]);
	fputs("\"\r\n", f);
}

static void
csv_host(FILE *f, const struct host *h)
{
	char ip[64], t1[40], t2[40];

	rpt_addr(ip, sizeof(ip), &h->ip);
	rpt_iso_time(t1, sizeof(t1), h->first_seen);
	rpt_iso_time(t2, sizeof(t2), h->last_seen);
	fprintf(f, "%s,%s,\"", h->role == ROLE_CLIENT ? "client" : "server", ip);
	for (unsigned i = 0; i < h->n_ports; i++)
		fprintf(f, "%s%u", i ? " " : "", h->ports[i]);
	fprintf(f, "%s\",%" PRIu64 ",%u%s", h->ports_cut ? " ..." : "", h->sessions, h->n_peers,
		h->peers_overflow ? "+" : "");
	const uint64_t nums[] = {h->delivered, h->deferred, h->rejected, h->refused, h->no_answer,
				 h->no_greeting, h->tls_used, h->tls_unused, h->tls_failed,
				 h->auth_used, h->auth_cleartext, h->auth_failed, h->failures,
				 h->knock_on};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		fprintf(f, ",%" PRIu64, nums[i]);
	fprintf(f, ",%s,%s,", t1, t2);
	csv_lists(f, h);
}

void
rpt_audit_csv(struct rpt_audit *a, FILE *f)
{
	struct host **v = sorted_hosts(a);

	for (size_t i = 0; i < sizeof(csv_columns) / sizeof(csv_columns[0]); i++)
		fprintf(f, "%s%s", i ? "," : "", csv_columns[i]);
	fputs("\r\n", f);
	for (size_t i = 0; v && i < a->count; i++)
		csv_host(f, v[i]);
	free(v);
}

struct rpt_audit *
rpt_audit_new(enum rpt_audit_sort sort, const struct rsm_hash_key *key)
{
	struct rpt_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->sort = sort;
	if (key)
		a->key = *key;
	if (rsm_hash_key_ensure(&a->key) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

void
rpt_audit_free(struct rpt_audit *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->cap; i++)
		free(a->slots[i].peers);
	free(a->slots);
	cap_budget_give(a->cap * sizeof(struct host));
	free(a);
}
