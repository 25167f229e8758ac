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

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report_private.h"

extern char **environ;

#define AUDIT_MAX_HOSTS 65536
#define MAX_PEERS 65536 /* distinct peers counted exactly per host; past it, "at least" */
#define TOP_PEERS 8	/* ... of which the busiest are shown */
#define MAX_NAMES 8
#define MAX_REASONS 16 /* distinct failure replies counted per host */
#define TOP_REASONS 8  /* ... of which the most frequent are shown */
#define MAX_PORTS 8
#define NAME_LEN 64
#define REASON_LEN 48
#define MANY_SERVERS 10 /* without --local-nets: a client talking to this many servers */
#define RELAY_TRIES 3	/* refused relay attempts that make a prober */
#define BURST_COUNT 10	/* failed logins or unknown recipients ... */
#define BURST_SPAN (600 * 1000000ull) /* ... within this many microseconds: a burst */
#define BURST_KEEP 64	/* times kept per host while no burst was found */
#define MAX_USERS 8	/* distinct user names with a failed login, per host */
#define RDNS_MAX 256	/* --audit-rdns: lookups at most (each may wait on the resolver) */
#define RDNS_SECONDS 30 /* ... and no new one after this long */

enum role { ROLE_CLIENT, ROLE_SERVER };
/* Without --local-nets every host's zone is unknown, and no judgement needs it. */
enum zone { ZONE_UNKNOWN, ZONE_LOCAL, ZONE_OUTSIDE };

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

/*
 * What the audit can say of a host: an id (JSON, CSV, --audit-only), what it
 * means and what to check next. Display order: abuse first, then how the
 * host is set up. The thresholds are the #defines above.
 */
enum flag {
	F_OPEN_RELAY, F_PASSWORD_GUESSING, F_LOGIN_FAILURES, F_HARVESTING, F_RELAY_ATTEMPTS,
	F_SPOOFED_SENDER, F_DIRECT_TO_MX, F_MANY_SERVERS, F_EHLO_MISMATCH, F_EHLO_NOT_RDNS,
	F_EHLO_NOT_HOSTNAME, F_NEVER_ANSWERED, F_AUTH_CLEARTEXT, F_NO_STARTTLS, F_STARTTLS_UNUSED,
	F_OLD_TLS, F_WEAK_CIPHER, F_TLS_FAILED, F_CERT_EXPIRED, F_CERT_EXPIRING, F_COUNT
};

/* What a judgement needs besides the capture: without it, it is not made (and that is said). */
enum { NEEDS_NETS = 1, NEEDS_DOMAINS = 2, NEEDS_RDNS = 4 };

static const struct flag_info {
	const char *id, *says, *next;
	unsigned needs;
} flag_info[F_COUNT] = {
	[F_OPEN_RELAY] = {"open_relay",
		"open relay: accepted recipients in other domains from outside hosts without AUTH",
		"Anyone can send spam through it: allow relaying only after AUTH or from your own "
		"networks (Postfix smtpd_relay_restrictions, Exim relay_from_hosts), then check "
		"its queue and blocklists.",
		NEEDS_NETS | NEEDS_DOMAINS},
	[F_PASSWORD_GUESSING] = {"password_guessing",
		"password guessing: 10 or more failed logins (535) within 10 minutes",
		"Several user names or a steady rate: guessing, block the address (fail2ban, a "
		"firewall) and look for a login that worked; one user name: maybe a device with an "
		"old password, tell its owner."},
	[F_LOGIN_FAILURES] = {"login_failures",
		"logins fail in bulk: 10 or more within 10 minutes",
		"See which clients fail (flagged password_guessing); rate-limit AUTH or block them, "
		"and check the accounts for a login that worked."},
	[F_HARVESTING] = {"harvesting",
		"directory harvesting: 10 or more unknown recipients within 10 minutes, half its "
		"recipients or more",
		"Someone tries addresses to learn which exist: block or rate-limit the address "
		"(Postfix smtpd_hard_error_limit, anvil)."},
	[F_RELAY_ATTEMPTS] = {"relay_attempts",
		"tried to relay and was refused 3 or more times",
		"An outside host testing for an open relay, or a client that should log in first: "
		"block it if it is not one of yours."},
	[F_SPOOFED_SENDER] = {"spoofed_sender",
		"outside host sends to our server as one of our domains without AUTH",
		"Forged, or a service that sends for you: check SPF, DKIM and DMARC for these "
		"messages, and refuse your own domains from outside unless the client logs in.",
		NEEDS_NETS | NEEDS_DOMAINS},
	[F_DIRECT_TO_MX] = {"direct_to_mx",
		"our host mails outside servers directly on port 25, not through a relay",
		"Unless it is one of your mail relays, look for malware or a misconfigured "
		"application on it; allow outbound port 25 only from the relays.",
		NEEDS_NETS},
	[F_MANY_SERVERS] = {"many_servers",
		"talks to many mail servers (direct-to-MX sending?)",
		"Mail relays do this; other hosts should not. Give --local-nets to tell your "
		"relays from the rest."},
	[F_EHLO_MISMATCH] = {"ehlo_mismatch",
		"EHLO address literal is not the client's own address",
		"Expected behind NAT; otherwise the client misstates who it is, as spam software "
		"often does."},
	[F_EHLO_NOT_RDNS] = {"ehlo_not_rdns",
		"EHLO name differs from the reverse DNS name, or there is none",
		"Many receivers check that EHLO, reverse and forward DNS agree: fix the PTR record "
		"or the name the client says.",
		NEEDS_RDNS},
	[F_EHLO_NOT_HOSTNAME] = {"ehlo_not_hostname", "EHLO name is not a host name",
		"RFC 5321 asks for a fully qualified name or an address literal, and many servers "
		"refuse a bare word: fix the client's host name setting."},
	[F_NEVER_ANSWERED] = {"never_answered", "never answered SMTP",
		"Check that the service runs and listens on this address and port, and that no "
		"firewall drops the traffic; or that the DNS points here by mistake."},
	[F_AUTH_CLEARTEXT] = {"auth_cleartext", "passwords sent in cleartext (AUTH without TLS)",
		"Require TLS before AUTH (Postfix smtpd_tls_auth_only = yes) and change the "
		"passwords that went in clear."},
	[F_NO_STARTTLS] = {"no_starttls", "our server does not offer STARTTLS",
		"Mail to it travels unencrypted: give it a certificate and offer STARTTLS.",
		NEEDS_NETS},
	[F_STARTTLS_UNUSED] = {"starttls_unused", "STARTTLS offered but not used",
		"Make the client use STARTTLS when offered (Postfix smtp_tls_security_level = may).",
		NEEDS_NETS},
	[F_OLD_TLS] = {"old_tls", "speaks SSLv3, TLS 1.0 or 1.1 (deprecated, RFC 8996)",
		"Turn these versions off and update the peers that still need them."},
	[F_WEAK_CIPHER] = {"weak_cipher",
		"weak cipher negotiated (RC4, DES, 3DES, NULL, export or anonymous)",
		"Take these ciphers out of the TLS configuration on both sides; a modern peer never "
		"needs them."},
	[F_TLS_FAILED] = {"tls_failed", "TLS handshakes failed",
		"See the sessions' TLS alerts and certificates: a version or cipher mismatch, or a "
		"certificate the peer refuses."},
	[F_CERT_EXPIRED] = {"cert_expired", "certificate expired",
		"Renew the certificate: senders that verify certificates stop delivering."},
	[F_CERT_EXPIRING] = {"cert_expiring", "certificate expires within 30 days",
		"Renew it before it expires."},
};

struct reason {
	char text[REASON_LEN]; /* "550 5.1.1" or "550" plus a few words */
	bool cut;
	uint64_t count;
};

/* A peer of a host: what they exchanged. */
struct peer {
	struct cap_addr ip; /* family 0: a free slot */
	bool port25;	    /* one of their sessions went to port 25 */
	uint64_t sessions, bytes;
};

/* Times of events that make a burst: kept sorted until BURST_COUNT fall within BURST_SPAN. */
struct burst {
	uint64_t *ts; /* BURST_KEEP, allocated on the first event */
	unsigned n;
	bool hit;
	uint64_t count; /* every event, kept or not */
};

struct host {
	bool used;
	enum role role;
	enum zone zone;
	struct cap_addr ip;
	uint64_t sessions, first_seen, last_seen;
	uint64_t bytes_sent, bytes_received;
	uint64_t delivered, deferred, rejected, refused, no_answer, no_greeting;
	uint64_t tls_used, tls_unused, auth_used, auth_cleartext, auth_failed;
	uint64_t tls_versions[TLS_VERSIONS]; /* completed handshakes, by tls_versions_seen[] */
	uint64_t tls_failed;		      /* handshakes that failed or were abandoned */
	uint64_t tls_weak;		      /* completed with a weak cipher (weak_cipher()) */
	char ciphers[MAX_CIPHERS][64];	      /* the first distinct ones, as negotiated */
	unsigned n_ciphers;
	bool cert_seen;			      /* servers: the certificate that expires first */
	int64_t cert_not_after;		      /* Unix seconds */
	int64_t cert_left;		      /* seconds it had left when seen (< 0: expired) */
	struct peer *peers; /* an open-addressing set, at most half full */
	unsigned n_peers, cap_peers, outside_mx;
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
	/* what the judgements count (flag_info[]) */
	struct burst logins_failed, unknown_rcpt;
	uint64_t rcpt_answered;		   /* RCPTs with a reply: what unknown ones are a share of */
	uint64_t users_failed[MAX_USERS]; /* keyed hashes of the user names whose login failed */
	unsigned n_users_failed;
	bool users_failed_more;		   /* ... more than MAX_USERS of them */
	uint64_t open_relay, relay_denied, spoofed, no_starttls, ehlo_mismatch;
	char *rdns; /* --audit-rdns: the PTR name, "" when there is none; NULL: not looked up */
	uint8_t drawn; /* --audit-graph: 0 no, 1 a host shown, 2 a peer drawn for context */
	uint64_t flag_counts[F_COUNT]; /* set by judge() */
	unsigned n_flags;
};

/* Where a session's transaction stands, for telling knock-on refusals apart. */
struct tx_state {
	bool failed_before, mail_refused, rcpt_seen, rcpt_ok;
};

struct rpt_audit {
	struct host *slots;
	size_t cap, count;
	uint64_t unaudited;
	unsigned rdns_done;    /* --audit-rdns lookups made */
	uint64_t rdns_skipped; /* clients shown that gave a name, not looked up (the caps) */
	struct rpt_audit_opts opts;
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
	struct host *h = slot_for(&a->key, a->slots, a->cap, ip, role);

	/* rpt_audit_session() made sure there is room, or that the host is known */
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

static struct peer *
peer_slot(const struct rsm_hash_key *key, struct peer *set, unsigned cap,
	  const struct cap_addr *ip)
{
	size_t i = host_hash(key, ip, ROLE_CLIENT) & (cap - 1);

	while (set[i].ip.family && !same_ip(&set[i].ip, ip))
		i = (i + 1) & (cap - 1);
	return &set[i];
}

/* Room for one more peer: the set doubles up to MAX_PEERS, on the memory budget. */
static bool
peers_room(const struct rsm_hash_key *key, struct host *h)
{
	unsigned cap = h->cap_peers ? h->cap_peers * 2 : 8;
	struct peer *set;

	if ((h->n_peers + 1) * 2 <= h->cap_peers)
		return true;
	if (h->n_peers >= MAX_PEERS || !cap_budget_take((size_t)(cap - h->cap_peers) * sizeof(*set)))
		return false;
	if (!(set = calloc(cap, sizeof(*set)))) {
		cap_budget_give((size_t)(cap - h->cap_peers) * sizeof(*set));
		return false;
	}
	for (unsigned i = 0; i < h->cap_peers; i++)
		if (h->peers[i].ip.family)
			*peer_slot(key, set, cap, &h->peers[i].ip) = h->peers[i];
	free(h->peers);
	h->peers = set;
	h->cap_peers = cap;
	return true;
}

/* A session with peer: past MAX_PEERS (or the budget) the count says "at least". */
static struct peer *
add_peer(const struct rsm_hash_key *key, struct host *h, const struct cap_addr *ip,
	 const struct smtp_session *s)
{
	struct peer *p = h->cap_peers ? peer_slot(key, h->peers, h->cap_peers, ip) : NULL;

	if (!p || !p->ip.family) {
		if (!peers_room(key, h)) {
			h->peers_overflow = true;
			return NULL;
		}
		p = peer_slot(key, h->peers, h->cap_peers, ip);
		p->ip = *ip;
		h->n_peers++;
	}
	p->sessions++;
	p->bytes += s->bytes[RSM_C2S] + s->bytes[RSM_S2C];
	return p;
}

/* ------------------------------------------------------------- what is ours */

static bool
in_net(const struct rpt_net *n, const struct cap_addr *ip)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (n->addr.family != ip->family || memcmp(n->addr.bytes, ip->bytes, full) != 0)
		return false;
	return !rest || ((n->addr.bytes[full] ^ ip->bytes[full]) & (0xff00u >> rest) & 0xff) == 0;
}

static enum zone
zone_of(const struct rpt_audit_opts *o, const struct cap_addr *ip)
{
	if (!o->n_nets)
		return ZONE_UNKNOWN;
	for (unsigned i = 0; i < o->n_nets; i++)
		if (in_net(&o->nets[i], ip))
			return ZONE_LOCAL;
	return ZONE_OUTSIDE;
}

/* The domain of addr: after its last '@', without a trailing dot; NULL when it has none. */
static const char *
domain_of(const char *addr, size_t *len)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (!at || !at[1])
		return NULL;
	*len = strlen(++at);
	*len -= at[*len - 1] == '.';
	return at;
}

/* One of our domains, or (below) a subdomain of one? */
static bool
our_domain(const struct rpt_audit_opts *o, const char *d, size_t len, bool below)
{
	for (unsigned i = 0; i < o->n_domains; i++) {
		size_t k = strlen(o->domains[i]);

		if (len >= k && strncasecmp(d + len - k, o->domains[i], k) == 0 &&
		    (len == k || (below && d[len - k - 1] == '.')))
			return true;
	}
	return false;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3) as an address; false if not one. */
static bool
address_literal(const char *text, size_t len, struct cap_addr *out)
{
	char buf[64];

	memset(out, 0, sizeof(*out));
	if (len < 3 || text[0] != '[' || text[len - 1] != ']' || len - 2 >= sizeof(buf))
		return false;
	memcpy(buf, text + 1, len - 2);
	buf[len - 2] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0 && inet_pton(AF_INET6, buf + 5, out->bytes) == 1)
		out->family = 6;
	else if (inet_pton(AF_INET, buf, out->bytes) == 1)
		out->family = 4;
	return out->family != 0;
}

/*
 * A recipient known to be elsewhere: its domain is not ours (nor below one),
 * nor an address literal naming the server. Not "postmaster" without a
 * domain (RFC 5321 4.5.1: every server takes it), nor an address not kept.
 */
static bool
foreign_recipient(const struct rpt_audit_opts *o, const char *addr, const struct cap_addr *server)
{
	struct cap_addr lit;
	size_t len;
	const char *d = domain_of(addr, &len);

	if (!d)
		return false;
	if (d[0] == '[')
		return !address_literal(d, len, &lit) || !same_ip(&lit, server);
	return !our_domain(o, d, len, true);
}

/*
 * A sender in one of our domains or below one (DMARC covers subdomains too);
 * the flag's words say a service sending for us looks the same.
 */
static bool
our_sender(const struct rpt_audit_opts *o, const char *addr)
{
	size_t len;
	const char *d = domain_of(addr, &len);

	return d && our_domain(o, d, len, true);
}

/* Each comma-separated item of list, as a NUL-terminated word in buf; false when too long. */
static const char *
next_item(const char **list, char *buf, size_t n)
{
	const char *p = *list, *e = strchr(p, ',');
	size_t len = e ? (size_t)(e - p) : strlen(p);

	*list = e ? e + 1 : p + len;
	if (len >= n)
		return NULL;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

static const char *
parse_net(struct rpt_net *n, char *w)
{
	char *slash = strchr(w, '/'), *end;
	unsigned max;
	long bits;

	if (slash)
		*slash = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, w, n->addr.bytes) == 1)
		n->addr.family = 4;
	else if (inet_pton(AF_INET6, w, n->addr.bytes) == 1)
		n->addr.family = 6;
	else
		return "is not an IPv4 or IPv6 address";
	max = n->addr.family == 4 ? 32 : 128;
	bits = max;
	if (slash) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits < 0 || bits > (long)max)
			return n->addr.family == 4 ? "has a prefix length outside 0-32"
						   : "has a prefix length outside 0-128";
	}
	if (n->addr.family == 6 && bits >= 96 && memcmp(n->addr.bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		/* ::ffff:192.0.2.0/120: packets carry IPv4 addresses as IPv4 */
		memmove(n->addr.bytes, n->addr.bytes + 12, 4);
		memset(n->addr.bytes + 4, 0, 12);
		n->addr.family = 4;
		bits -= 96;
	}
	n->bits = (uint8_t)bits;
	for (unsigned i = 0; i < 16; i++) /* host bits off: 10.1.2.3/8 is 10.0.0.0/8 */
		n->addr.bytes[i] &= i * 8 + 8 <= bits ? 0xff
				    : i * 8 >= (unsigned)bits ? 0 : (uint8_t)(0xff00u >> (bits % 8));
	return NULL;
}

/* An empty list, or one that ends in a comma: an item left out. */
static bool
item_missing(const char *list)
{
	size_t len = strlen(list);

	return !len || list[len - 1] == ',';
}

const char *
rpt_audit_nets(struct rpt_audit_opts *o, const char *list)
{
	static char why[160];
	char w[64];

	if (item_missing(list))
		return "--local-nets takes networks like 192.0.2.0/24,2001:db8::/32";
	while (*list) {
		const char *bad;

		if (!next_item(&list, w, sizeof(w)) || !w[0])
			return "--local-nets takes networks like 192.0.2.0/24,2001:db8::/32";
		if (o->n_nets == RPT_MAX_LOCAL)
			return "--local-nets takes at most 64 networks";
		if ((bad = parse_net(&o->nets[o->n_nets], w))) {
			snprintf(why, sizeof(why), "--local-nets: \"%s\" %s", w, bad);
			return why;
		}
		o->n_nets++;
	}
	return o->n_nets ? NULL : "--local-nets takes networks like 192.0.2.0/24,2001:db8::/32";
}

static bool
domain_word(const char *w)
{
	size_t len = strlen(w);

	if (!len || w[0] == '.' || w[0] == '-' || len > 253)
		return false;
	for (const char *p = w; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.' || (*p & 0x80)))
			return false;
	return strstr(w, "..") == NULL;
}

const char *
rpt_audit_domains(struct rpt_audit_opts *o, const char *list)
{
	static char why[320];
	char w[256];

	if (item_missing(list))
		return "--local-domains takes domains like example.com,example.org";
	while (*list) {
		size_t len;

		if (!next_item(&list, w, sizeof(w)))
			return "--local-domains: a domain is longer than 253 characters";
		len = strlen(w);
		len -= len && w[len - 1] == '.';
		w[len] = '\0';
		if (!domain_word(w)) {
			snprintf(why, sizeof(why), "--local-domains: \"%s\" is not a domain name", w);
			return why;
		}
		if (o->n_domains == RPT_MAX_LOCAL)
			return "--local-domains takes at most 64 domains";
		for (size_t i = 0; i <= len; i++)
			o->domains[o->n_domains][i] = (char)tolower((unsigned char)w[i]);
		o->n_domains++;
	}
	return o->n_domains ? NULL : "--local-domains takes domains like example.com,example.org";
}

static const char *const role_words[] = {"client", "server"};
static const char *const zone_words[] = {"", "local", "outside"};

/* --audit-only: roles, zones, "flagged" or flag ids; within a kind any, across kinds all. */
const char *
rpt_audit_only(struct rpt_audit_opts *o, const char *list)
{
	static char why[160];
	char w[32];

	if (item_missing(list))
		return "--audit-only takes a list like client,flagged (--audit-only help lists them)";
	while (*list) {
		bool known = false;

		if (!next_item(&list, w, sizeof(w)))
			w[0] = '\0';
		for (unsigned i = 0; i < 2; i++)
			if (strcmp(w, role_words[i]) == 0 && (known = true))
				o->only_roles |= 1u << i;
		for (unsigned i = 1; i < 3; i++)
			if (strcmp(w, zone_words[i]) == 0 && (known = true))
				o->only_zones |= 1u << i;
		for (unsigned i = 0; i < F_COUNT; i++)
			if (strcmp(w, flag_info[i].id) == 0 && (known = true))
				o->only_flags |= 1ull << i;
		if (strcmp(w, "flagged") == 0)
			known = o->only_flagged = true;
		if (!known) {
			snprintf(why, sizeof(why), "--audit-only: \"%.31s\" is not client, server, local, "
				 "outside, flagged or a flag id (--audit-only help lists them)", w);
			return strcmp(w, "help") == 0 ? "help" : why;
		}
	}
	return NULL;
}

/*
 * Events that count when BURST_COUNT of them fall within BURST_SPAN: their
 * times are kept sorted (sessions end out of order), BURST_KEEP at most
 * (then the oldest goes), until a burst is found.
 */
static void
burst_add(struct burst *b, uint64_t ts)
{
	unsigned i;

	b->count++;
	if (b->hit)
		return;
	if (!b->ts) {
		if (!cap_budget_take(BURST_KEEP * sizeof(*b->ts)))
			return;
		if (!(b->ts = malloc(BURST_KEEP * sizeof(*b->ts)))) {
			cap_budget_give(BURST_KEEP * sizeof(*b->ts));
			return;
		}
	}
	if (b->n == BURST_KEEP) {
		if (ts <= b->ts[0])
			return;
		memmove(b->ts, b->ts + 1, --b->n * sizeof(*b->ts));
	}
	for (i = b->n; i && b->ts[i - 1] > ts; i--)
		b->ts[i] = b->ts[i - 1];
	b->ts[i] = ts;
	b->n++;
	for (unsigned j = i >= BURST_COUNT - 1 ? i - (BURST_COUNT - 1) : 0;
	     j + BURST_COUNT - 1 < b->n && j <= i; j++)
		b->hit |= b->ts[j + BURST_COUNT - 1] - b->ts[j] <= BURST_SPAN;
}

static void
burst_free(struct burst *b)
{
	if (b->ts)
		cap_budget_give(BURST_KEEP * sizeof(*b->ts));
	free(b->ts);
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

/*
 * A cipher suite no configuration should allow: RC4 and DES/3DES (RFC 7465,
 * RFC 8996's companions; Sweet32), no encryption, export grade, no
 * authentication. IANA names (tls/names.c) carry these as words.
 */
static bool
weak_cipher(const char *name)
{
	static const char *const words[] = {"_RC4_", "_DES_", "_3DES_", "_DES40_", "_NULL_",
					    "_EXPORT", "_anon_"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]))
			return true;
	return false;
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
	h->tls_weak += weak_cipher(t->cipher);
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
	/* a handshake that failed is counted in tls_failed, not as TLS used */
	h->tls_used += s->starttls && !(s->tls && (s->tls->handshake == TLS_HS_FAILED ||
						   s->tls->handshake == TLS_HS_ABANDONED));
	h->tls_unused += (s->anomalies >> SMTP_ANOM_STARTTLS_NOT_USED) & 1;
	if (s->tls)
		count_tls(h, s->tls, s->ts_first);
	h->auth_used += s->has_auth;
	h->auth_cleartext += (s->anomalies >> SMTP_ANOM_AUTH_CLEARTEXT) & 1;
	h->auth_failed += s->has_auth && s->auth.success == 0;
	h->bytes_sent += s->bytes[h->role == ROLE_CLIENT ? RSM_C2S : RSM_S2C];
	h->bytes_received += s->bytes[h->role == ROLE_CLIENT ? RSM_S2C : RSM_C2S];
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

static bool
authenticated(const struct smtp_session *s)
{
	return s->has_auth && s->auth.success == 1;
}

/* A user name whose login failed, as a keyed hash: counted, never kept in clear. */
static void
add_failed_user(const struct rsm_hash_key *key, struct host *h, const char *user)
{
	uint64_t v = rsm_siphash(key, (const uint8_t *)user, strlen(user));

	for (unsigned i = 0; i < h->n_users_failed; i++)
		if (h->users_failed[i] == v)
			return;
	if (h->n_users_failed < MAX_USERS)
		h->users_failed[h->n_users_failed++] = v;
	else
		h->users_failed_more = true;
}

/*
 * Failed logins (535, RFC 4954: the credentials were wrong; an AUTH the client
 * cancelled or a mechanism refused is not a guess), recipients refused as
 * unknown for good (5xx) and refused relaying, at the time of their reply.
 */
static void
count_refusals(const struct rsm_hash_key *key, struct host *c, struct host *v,
	       const struct smtp_session *s)
{
	for (size_t i = 0; i < s->n_cmds; i++) {
		const struct smtp_command *cmd = &s->cmds[i];
		uint64_t ts = cmd->reply_ts ? cmd->reply_ts : cmd->ts;
		bool auth = cmd->verb == SMTP_AUTH || cmd->verb == SMTP_AUTH_DATA;

		if (!cmd->has_reply)
			continue;
		c->rcpt_answered += cmd->verb == SMTP_RCPT;
		if (auth && cmd->reply.code == 535) {
			burst_add(&c->logins_failed, ts);
			burst_add(&v->logins_failed, ts);
		} else if (cmd->verb == SMTP_RCPT && cmd->reply.code >= 500 &&
			   cmd->reason == SMTP_R_mailbox_unknown) {
			burst_add(&c->unknown_rcpt, ts);
			burst_add(&v->unknown_rcpt, ts);
		} else if (cmd->verb == SMTP_RCPT && cmd->reason == SMTP_R_relay_denied) {
			c->relay_denied++;
		}
	}
	if (s->has_auth && s->auth.success == 0 && s->auth.user) {
		add_failed_user(key, c, s->auth.user);
		add_failed_user(key, v, s->auth.user);
	}
}

/*
 * With our domains known, for sessions from outside that did not log in:
 * senders forged as ours at our servers, recipients relayed elsewhere.
 */
static void
count_relaying(const struct rpt_audit_opts *o, struct host *c, struct host *v,
	       const struct smtp_session *s)
{
	if (!o->n_domains || c->zone != ZONE_OUTSIDE || v->zone != ZONE_LOCAL || authenticated(s))
		return;
	for (size_t i = 0; i < s->n_msgs; i++) {
		const struct smtp_message *m = &s->msgs[i];

		c->spoofed += our_sender(o, m->mail_from);
		for (size_t k = 0; k < m->n_rcpt; k++)
			v->open_relay += m->rcpt[k].status == SMTP_RCPT_ACCEPTED &&
					 foreign_recipient(o, m->rcpt[k].addr, &s->server);
	}
}

static bool
offers_starttls(const struct smtp_session *s)
{
	for (size_t i = 0; i < s->n_extensions; i++)
		if (strncasecmp(s->extensions[i], "STARTTLS", 8) == 0 &&
		    (s->extensions[i][8] == '\0' || s->extensions[i][8] == ' '))
			return true;
	return s->starttls || s->implicit_tls;
}

/* An address literal in EHLO that is not the client's address. */
static bool
literal_not_own(const char *helo, const struct cap_addr *ip)
{
	struct cap_addr lit;

	return helo && address_literal(helo, strlen(helo), &lit) && !same_ip(&lit, ip);
}

static void
count_judged(struct rpt_audit *a, struct host *c, struct host *v, const struct smtp_session *s)
{
	struct peer *p = add_peer(&a->key, c, &s->server, s);

	add_peer(&a->key, v, &s->client, s);
	/* a client of ours on port 25 of a server outside: sending straight to an MX (not a
	 * smarthost it logs in to) */
	if (p && !p->port25 && s->server_port == 25 && c->zone == ZONE_LOCAL &&
	    v->zone == ZONE_OUTSIDE && !authenticated(s)) {
		p->port25 = true;
		c->outside_mx++;
	}
	count_refusals(&a->key, c, v, s);
	count_relaying(&a->opts, c, v, s);
	v->no_starttls += v->zone == ZONE_LOCAL && s->esmtp && !offers_starttls(s);
	c->ehlo_mismatch += literal_not_own(s->helo, &s->client);
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
	/* both hosts or neither: a host never stays behind with no session counted */
	unsigned fresh = a->cap ? !slot_for(&a->key, a->slots, a->cap, &s->client, ROLE_CLIENT)->used +
				  !slot_for(&a->key, a->slots, a->cap, &s->server, ROLE_SERVER)->used
				: 2;

	if (!a->cap || (a->count + fresh) * 2 > a->cap) {
		a->unaudited++;
		return;
	}
	struct host *c = find_host(a, &s->client, ROLE_CLIENT, s->ts_first);
	struct host *v = find_host(a, &s->server, ROLE_SERVER, s->ts_first);

	c->zone = zone_of(&a->opts, &s->client);
	v->zone = zone_of(&a->opts, &s->server);
	count_session(c, s);
	count_session(v, s);
	count_judged(a, c, v, s);
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

static uint64_t
bad_names(const struct host *h)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < h->n_names; i++)
		n += !looks_like_hostname(h->names[i]);
	return n;
}

/* Was this address also seen answering SMTP (a relay, not a desktop)? */
static bool
seen_serving(const struct rpt_audit *a, const struct host *h)
{
	return slot_for(&a->key, a->slots, a->cap, &h->ip, ROLE_SERVER)->used;
}

static bool
same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	la -= la && a[la - 1] == '.';
	lb -= lb && b[lb - 1] == '.';
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* --audit-rdns: does a host name the client gave in EHLO match its PTR name? Literals aside. */
static uint64_t
rdns_differs(const struct host *h)
{
	bool named = false;

	if (!h->rdns)
		return 0;
	for (unsigned i = 0; i < h->n_names; i++) {
		if (h->names[i][0] == '[')
			continue;
		named = true;
		if (h->rdns[0] && same_name(h->names[i], h->rdns))
			return 0;
	}
	return named;
}

/*
 * A burst of unknown recipients that are at least half of the client's, from a
 * client that is not one of our relays passing on what outsiders sent.
 */
static bool
harvesting(const struct rpt_audit *a, const struct host *h)
{
	return h->role == ROLE_CLIENT && h->unknown_rcpt.hit &&
	       h->unknown_rcpt.count * 2 >= h->rcpt_answered &&
	       !(h->zone == ZONE_LOCAL && seen_serving(a, h));
}

/* What flag_info[] says of a host, as a count per flag (0: not said); sets n_flags. */
static unsigned
judge(const struct rpt_audit *a, struct host *h)
{
	uint64_t *n = h->flag_counts;
	bool client = h->role == ROLE_CLIENT, server = !client;
	unsigned k = 0;

	n[F_OPEN_RELAY] = server ? h->open_relay : 0;
	n[F_PASSWORD_GUESSING] = client && h->logins_failed.hit ? h->logins_failed.count : 0;
	n[F_LOGIN_FAILURES] = server && h->logins_failed.hit ? h->logins_failed.count : 0;
	n[F_HARVESTING] = harvesting(a, h) ? h->unknown_rcpt.count : 0;
	n[F_RELAY_ATTEMPTS] = h->relay_denied >= RELAY_TRIES ? h->relay_denied : 0;
	n[F_SPOOFED_SENDER] = h->spoofed;
	n[F_DIRECT_TO_MX] = h->outside_mx && !seen_serving(a, h) ? h->outside_mx : 0;
	n[F_MANY_SERVERS] = client && !a->opts.n_nets &&
			    (h->n_peers >= MANY_SERVERS || h->peers_overflow) ? h->n_peers : 0;
	n[F_EHLO_MISMATCH] = h->ehlo_mismatch;
	n[F_EHLO_NOT_RDNS] = client ? rdns_differs(h) : 0;
	n[F_EHLO_NOT_HOSTNAME] = client ? bad_names(h) : 0;
	n[F_NEVER_ANSWERED] = server && h->refused + h->no_answer + h->no_greeting == h->sessions
			      ? h->sessions : 0;
	n[F_AUTH_CLEARTEXT] = h->auth_cleartext;
	n[F_NO_STARTTLS] = h->no_starttls;
	/* the client's choice, not the server's; an auditor answers for our clients only */
	n[F_STARTTLS_UNUSED] = client && h->zone == ZONE_LOCAL ? h->tls_unused : 0;
	n[F_OLD_TLS] = h->tls_versions[0] + h->tls_versions[1] + h->tls_versions[2];
	n[F_WEAK_CIPHER] = h->tls_weak;
	n[F_TLS_FAILED] = h->tls_failed;
	n[F_CERT_EXPIRED] = h->cert_seen && h->cert_left < 0;
	n[F_CERT_EXPIRING] = h->cert_seen && h->cert_left >= 0 && h->cert_left < CERT_SOON;
	for (unsigned i = 0; i < F_COUNT; i++)
		k += n[i] != 0;
	return h->n_flags = k;
}

/* How grave its gravest flag is: flag_info[] comes gravest first. */
static uint64_t
key_gravity(const struct host *h)
{
	for (unsigned i = 0; i < F_COUNT; i++)
		if (h->flag_counts[i])
			return F_COUNT - i;
	return 0;
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
static host_key_fn *const sort_keys[][4] = {
	[RPT_SORT_FLAGS] = {key_gravity, key_flags, key_failures, key_sessions},
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

	for (unsigned i = 0; i < 4 && sort_keys[sort_by][i]; i++) {
		uint64_t ka = sort_keys[sort_by][i](a), kb = sort_keys[sort_by][i](b);

		if (ka != kb)
			return ka > kb ? -1 : 1;
	}
	if (a->ip.family != b->ip.family)
		return a->ip.family - b->ip.family;
	int c = memcmp(a->ip.bytes, b->ip.bytes, 16);

	return c ? c : (int)a->role - (int)b->role;
}

/* --audit-rdns: the client's PTR name ("" when it has none). */
static void
look_up_rdns(struct host *h)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char name[NI_MAXHOST];

	memset(&ss, 0, sizeof(ss));
	if (h->ip.family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, h->ip.bytes, 4);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, h->ip.bytes, 16);
		len = sizeof(*in6);
	}
	if (getnameinfo((struct sockaddr *)&ss, len, name, sizeof(name), NULL, 0, NI_NAMEREQD) != 0)
		name[0] = '\0';
	h->rdns = strdup(name);
}

static bool
gave_host_name(const struct host *h)
{
	for (unsigned i = 0; i < h->n_names; i++)
		if (h->names[i][0] != '[')
			return true;
	return false;
}

static bool shown(const struct rpt_audit *a, const struct host *h);

/*
 * --audit-rdns: the clients shown that gave a host name, in the order shown,
 * once each, RDNS_MAX at most and within RDNS_SECONDS (each lookup waits on
 * the resolver); the rest are counted as not looked up. True if any was.
 */
static bool
look_up_shown(struct rpt_audit *a, struct host *const *v)
{
	uint64_t start = cap_monotonic_us();
	bool any = false;

	a->rdns_skipped = 0;
	for (size_t i = 0; a->opts.rdns && i < a->count; i++) {
		struct host *h = v[i];

		if (h->role != ROLE_CLIENT || h->rdns || !gave_host_name(h) || !shown(a, h))
			continue;
		if (a->rdns_done == RDNS_MAX ||
		    cap_monotonic_us() - start > RDNS_SECONDS * 1000000ull) {
			a->rdns_skipped++;
			continue;
		}
		a->rdns_done++;
		look_up_rdns(h);
		judge(a, h);
		any = true;
	}
	return any;
}

/* Every host, judged, in the order of --audit-sort. */
static struct host **
sorted_hosts(struct rpt_audit *a)
{
	struct host **v = malloc((a->count ? a->count : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < a->cap; i++) {
		if (a->slots[i].used) {
			judge(a, &a->slots[i]);
			v[n++] = &a->slots[i];
		}
	}
	sort_by = a->opts.sort;
	qsort(v, n, sizeof(*v), by_key);
	if (look_up_shown(a, v)) /* their flags may have changed */
		qsort(v, n, sizeof(*v), by_key);
	return v;
}

/* --audit-only: a role asked, a zone asked, and a flag asked (any of each kind). */
static bool
shown(const struct rpt_audit *a, const struct host *h)
{
	const struct rpt_audit_opts *o = &a->opts;
	bool flag = !o->only_flags;

	for (unsigned i = 0; i < F_COUNT && !flag; i++)
		flag = (o->only_flags >> i & 1) && h->flag_counts[i];
	return (!o->only_roles || (o->only_roles >> h->role & 1)) &&
	       (!o->only_zones || (o->only_zones >> h->zone & 1)) && flag &&
	       (!o->only_flagged || h->n_flags);
}

/* Busier: more sessions, then more bytes, then the lower address (the same in any run). */
static bool
busier(const struct peer *a, const struct peer *b)
{
	if (a->sessions != b->sessions)
		return a->sessions > b->sessions;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes;
	if (a->ip.family != b->ip.family)
		return a->ip.family < b->ip.family;
	return memcmp(a->ip.bytes, b->ip.bytes, 16) < 0;
}

/* Its busiest peers, at most TOP_PEERS, busiest first. */
static unsigned
top_peers(const struct host *h, const struct peer **out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->cap_peers; i++) {
		const struct peer *p = &h->peers[i];
		unsigned j;

		if (!p->ip.family || (n == TOP_PEERS && !busier(p, out[n - 1])))
			continue;
		for (j = n < TOP_PEERS ? n++ : n - 1; j && busier(p, out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = p;
	}
	return n;
}

static const char *
role_zone(const struct host *h, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", zone_words[h->zone], h->zone ? " " : "", role_words[h->role]);
	return buf;
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

/* Bytes each way, the busiest peers and, with --audit-rdns, the PTR name. */
static void
json_volume(FILE *f, const struct host *h)
{
	const struct peer *top[TOP_PEERS];
	unsigned n = top_peers(h, top);
	char ip[64];

	fprintf(f, ",\"bytes\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 "},\"top_peers\":[",
		h->bytes_sent, h->bytes_received);
	for (unsigned i = 0; i < n; i++) {
		rpt_addr(ip, sizeof(ip), &top[i]->ip);
		fprintf(f, "%s{\"ip\":\"%s\",\"sessions\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			i ? "," : "", ip, top[i]->sessions, top[i]->bytes);
	}
	putc(']', f);
	if (h->rdns) {
		fputs(",\"rdns\":", f);
		if (h->rdns[0])
			rpt_json_string(f, h->rdns);
		else
			fputs("null", f);
	}
}

/* "flags": what each says, as before; "findings": the same with id, count and what to check. */
static void
json_flags(FILE *f, const struct host *h)
{
	unsigned k = 0;

	fputs(",\"flags\":[", f);
	for (unsigned i = 0; i < F_COUNT; i++)
		if (h->flag_counts[i])
			fprintf(f, "%s\"%s\"", k++ ? "," : "", flag_info[i].says);
	fputs("],\"findings\":[", f);
	k = 0;
	for (unsigned i = 0; i < F_COUNT; i++)
		if (h->flag_counts[i])
			fprintf(f, "%s{\"id\":\"%s\",\"count\":%" PRIu64 ",\"says\":\"%s\",\"next\":\"%s\"}",
				k++ ? "," : "", flag_info[i].id, h->flag_counts[i], flag_info[i].says,
				flag_info[i].next);
	putc(']', f);
}

static void
json_host(FILE *f, const struct host *h)
{
	char ip[64], t1[40], t2[40];
	const struct reason *top[TOP_REASONS];
	uint64_t other;
	unsigned nr = top_reasons(h, top, &other);

	rpt_addr(ip, sizeof(ip), &h->ip);
	rpt_iso_time(t1, sizeof(t1), h->first_seen);
	rpt_iso_time(t2, sizeof(t2), h->last_seen);
	fprintf(f, "{\"type\":\"host\",\"ip\":\"%s\",\"role\":\"%s\",\"zone\":", ip,
		role_words[h->role]);
	fputs(h->zone ? (h->zone == ZONE_LOCAL ? "\"local\"" : "\"outside\"") : "null", f);
	fprintf(f, ",\"sessions\":%" PRIu64
		   ",\"peers\":%u,\"peers_capped\":%s,\"messages\":{\"delivered\":%" PRIu64
		   ",\"deferred\":%" PRIu64 ",\"rejected\":%" PRIu64 "},\"attempts\":{\"refused\":%" PRIu64
		   ",\"no_answer\":%" PRIu64 ",\"no_greeting\":%" PRIu64 "},\"tls\":{\"used\":%" PRIu64
		   ",\"offered_unused\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"versions\":[",
		h->sessions, h->n_peers,
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
		   ",\"failed\":%" PRIu64 ",\"failed_attempts\":%" PRIu64 ",\"failed_users\":%u,"
		   "\"failed_users_capped\":%s},\"%s\":[",
		h->auth_used, h->auth_cleartext, h->auth_failed, h->logins_failed.count,
		h->n_users_failed, h->users_failed_more ? "true" : "false",
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
	fprintf(f, "],\"ports_capped\":%s,\"first_seen\":\"%s\",\"last_seen\":\"%s\"",
		h->ports_cut ? "true" : "false", t1, t2);
	json_volume(f, h);
	json_flags(f, h);
	fputs("}\n", f);
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

static void
text_peers(FILE *f, const struct host *h)
{
	const struct peer *top[TOP_PEERS];
	unsigned n = top_peers(h, top);
	char ip[64], b[3][32];

	fprintf(f, "         bytes sent %s, received %s", grouped(b[0], 32, h->bytes_sent),
		grouped(b[1], 32, h->bytes_received));
	for (unsigned i = 0; i < n; i++) {
		rpt_addr(ip, sizeof(ip), &top[i]->ip);
		fprintf(f, "%s%s (%" PRIu64 " session%s, %s bytes)", i ? ", " : "; peers: ", ip,
			top[i]->sessions, top[i]->sessions == 1 ? "" : "s",
			grouped(b[2], 32, top[i]->bytes));
	}
	if (h->n_peers > n)
		fprintf(f, ", %u%s more", h->n_peers - n, h->peers_overflow ? "+" : "");
	putc('\n', f);
}

/* Each flag: what it says, how often, and what to check next. */
static void
text_flags(FILE *f, const struct host *h)
{
	for (unsigned i = 0; i < F_COUNT; i++) {
		if (!h->flag_counts[i])
			continue;
		fprintf(f, "         ! %s", flag_info[i].says);
		if (h->flag_counts[i] > 1)
			fprintf(f, " (%" PRIu64 ")", h->flag_counts[i]);
		if ((i == F_PASSWORD_GUESSING || i == F_LOGIN_FAILURES) && h->n_users_failed)
			fprintf(f, ", %u%s user name%s", h->n_users_failed,
				h->users_failed_more ? "+" : "", h->n_users_failed == 1 ? "" : "s");
		fprintf(f, " [%s]\n           next: %s\n", flag_info[i].id, flag_info[i].next);
	}
}

static void
text_host(FILE *f, const struct rpt_audit *a, const struct host *h)
{
	char ip[64], rz[24];

	rpt_addr(ip, sizeof(ip), &h->ip);
	fprintf(f, "  %-*s %-39s %8" PRIu64 " %5u%s %9" PRIu64 " %8" PRIu64 " %8" PRIu64 " %7" PRIu64
		   " %10" PRIu64 " %8" PRIu64 " %9" PRIu64 "  tls %" PRIu64 "/%" PRIu64
		   " auth %" PRIu64 "\n",
		a->opts.n_nets ? 14 : 6, role_zone(h, rz, sizeof(rz)), ip, h->sessions, h->n_peers,
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
	if (h->rdns) {
		fputs("         reverse DNS: ", f);
		text_cut(f, h->rdns[0] ? h->rdns : "(none)", false);
		putc('\n', f);
	}
	if (h->reject[0]) {
		fputs("         greeting refused: ", f);
		text_cut(f, h->reject, h->reject_cut);
		putc('\n', f);
	}
	text_peers(f, h);
	text_tls(f, h);
	text_failures(f, h);
	text_flags(f, h);
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
	[RPT_SORT_FLAGS] = "gravest flag, flags, then failures, then sessions",
	[RPT_SORT_SESSIONS] = "sessions", [RPT_SORT_MESSAGES] = "messages",
	[RPT_SORT_FAILURES] = "failures", [RPT_SORT_HOST] = "address",
};

/* Flag i - 1 not judged for want of an option; i == 0: any of them. */
static bool
not_judged(const struct rpt_audit *a, unsigned i)
{
	unsigned have = (a->opts.n_nets ? NEEDS_NETS : 0) | (a->opts.n_domains ? NEEDS_DOMAINS : 0) |
			(a->opts.rdns ? NEEDS_RDNS : 0);

	for (unsigned k = i ? i - 1 : 0; k < (i ? i : F_COUNT); k++)
		if (flag_info[k].needs & ~have)
			return true;
	return false;
}

/* The JSON summary's view of the audit: judgements not made, names not looked up. */
void
rpt_audit_json_summary(const struct rpt_audit *a, FILE *f)
{
	fprintf(f, ",\"unaudited_sessions\":%" PRIu64 ",\"audit_not_judged\":[", a->unaudited);
	for (unsigned i = 0, k = 0; i < F_COUNT; i++)
		if (not_judged(a, i + 1))
			fprintf(f, "%s\"%s\"", k++ ? "," : "", flag_info[i].id);
	fputs("]", f);
	if (a->opts.rdns)
		fprintf(f, ",\"audit_rdns_not_looked_up\":%" PRIu64, a->rdns_skipped);
}

/* Hosts per flag, in flag_info[] order, and what could not be judged without "ours". */
static void
text_flag_totals(FILE *f, const struct rpt_audit *a, struct host *const *v, size_t n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < F_COUNT; i++) {
		uint64_t hosts = 0;

		for (size_t j = 0; j < n; j++)
			hosts += v[j]->flag_counts[i] != 0;
		if (hosts)
			fprintf(f, "%s%s %" PRIu64, k++ ? ", " : "Flags (hosts): ", flag_info[i].id, hosts);
	}
	if (k)
		putc('\n', f);
	if (not_judged(a, 0))
		fprintf(f, "Not judged without --local-nets/--local-domains/--audit-rdns:");
	for (unsigned i = 0, m = 0; i < F_COUNT; i++)
		if (not_judged(a, i + 1))
			fprintf(f, "%s%s", m++ ? ", " : " ", flag_info[i].id);
	if (not_judged(a, 0))
		putc('\n', f);
	if (a->rdns_skipped)
		fprintf(f, "Reverse DNS not looked up for %" PRIu64 " client%s (at most %d lookups, "
			"%d seconds)\n", a->rdns_skipped, a->rdns_skipped == 1 ? "" : "s", RDNS_MAX,
			RDNS_SECONDS);
}

static void
text_table_head(FILE *f, const struct rpt_audit *a, size_t n_shown)
{
	if (n_shown == a->count)
		fprintf(f, "Hosts (%zu), by %s%s:\n", a->count, sort_words[a->opts.sort],
			a->unaudited ? " (table full: some sessions not audited)" : "");
	else
		fprintf(f, "Hosts: %zu of %zu shown (--audit-only), by %s%s:\n", n_shown, a->count,
			sort_words[a->opts.sort],
			a->unaudited ? " (table full: some sessions not audited)" : "");
	fputs("  sessions, refused, unanswered, no-greet, auth-fail: the host's sessions; delivered,\n"
	      "  deferred, rejected: its messages (several per session possible); tls U/T: sessions\n"
	      "  that used STARTTLS / sessions where it was offered or used; auth: sessions with AUTH\n",
	      f);
	fprintf(f, "  %-*s %-39s %8s %6s %9s %8s %8s %7s %10s %8s %9s\n", a->opts.n_nets ? 14 : 6,
		"role", "host", "sessions", "peers", "delivered", "deferred", "rejected", "refused",
		"unanswered", "no-greet", "auth-fail");
}

void
rpt_audit_print(struct rpt_audit *a, FILE *f, bool json)
{
	struct host **v = sorted_hosts(a);
	size_t n_shown = 0;

	if (!v)
		return;
	for (size_t i = 0; i < a->count; i++)
		n_shown += shown(a, v[i]);
	if (!json) {
		text_headline(f, v, a->count);
		text_flag_totals(f, a, v, a->count);
		text_table_head(f, a, n_shown);
	}
	for (size_t i = 0; i < a->count; i++)
		if (shown(a, v[i]))
			json ? json_host(f, v[i]) : text_host(f, a, v[i]);
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
	"top_failures", "flags", "zone", "bytes_sent", "bytes_received", "auth_failed_attempts",
	"top_peers", "flag_ids",
};

static void
csv_lists(FILE *f, const struct host *h)
{
	const struct reason *top[TOP_REASONS];
	uint64_t other;
	unsigned nr = top_reasons(h, top, &other), k = 0;

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
	for (unsigned i = 0; i < F_COUNT; i++)
		if (h->flag_counts[i])
			fprintf(f, "%s%s", k++ ? " / " : "", flag_info[i].says);
	putc('"', f);
}

/* The columns added with the judgements: zone, volume, login attempts, peers, flag ids. */
static void
csv_judged(FILE *f, const struct host *h)
{
	const struct peer *top[TOP_PEERS];
	unsigned n = top_peers(h, top), k = 0;
	char ip[64];

	fprintf(f, ",%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",\"", zone_words[h->zone], h->bytes_sent,
		h->bytes_received, h->logins_failed.count);
	for (unsigned i = 0; i < n; i++) {
		rpt_addr(ip, sizeof(ip), &top[i]->ip);
		fprintf(f, "%s%s (%" PRIu64 " sessions, %" PRIu64 " bytes)", i ? " / " : "", ip,
			top[i]->sessions, top[i]->bytes);
	}
	fputs("\",\"", f);
	for (unsigned i = 0; i < F_COUNT; i++)
		if (h->flag_counts[i])
			fprintf(f, "%s%s", k++ ? " " : "", flag_info[i].id);
	fputs("\"\r\n", f);
}

static void
csv_host(FILE *f, const struct host *h)
{
	char ip[64], t1[40], t2[40];

	rpt_addr(ip, sizeof(ip), &h->ip);
	rpt_iso_time(t1, sizeof(t1), h->first_seen);
	rpt_iso_time(t2, sizeof(t2), h->last_seen);
	fprintf(f, "%s,%s,\"", role_words[h->role], ip);
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
	csv_judged(f, h);
}

void
rpt_audit_csv(struct rpt_audit *a, FILE *f)
{
	struct host **v = sorted_hosts(a);

	for (size_t i = 0; i < sizeof(csv_columns) / sizeof(csv_columns[0]); i++)
		fprintf(f, "%s%s", i ? "," : "", csv_columns[i]);
	fputs("\r\n", f);
	for (size_t i = 0; v && i < a->count; i++)
		if (shown(a, v[i]))
			csv_host(f, v[i]);
	free(v);
}

_Static_assert(F_COUNT == RPT_AUDIT_FLAGS, "report_private.h counts the flags");

const char *
rpt_audit_flag_id(unsigned i)
{
	return i < F_COUNT ? flag_info[i].id : NULL;
}

void
rpt_audit_flag_hosts(struct rpt_audit *a, uint64_t hosts[RPT_AUDIT_FLAGS])
{
	memset(hosts, 0, RPT_AUDIT_FLAGS * sizeof(hosts[0]));
	for (size_t i = 0; i < a->cap; i++) {
		if (!a->slots[i].used)
			continue;
		judge(a, &a->slots[i]);
		for (unsigned k = 0; k < F_COUNT; k++)
			hosts[k] += a->slots[i].flag_counts[k] != 0;
	}
}

void
rpt_audit_flag_list(FILE *f)
{
	for (unsigned i = 0; i < F_COUNT; i++)
		fprintf(f, "  %-18s %s\n", flag_info[i].id, flag_info[i].says);
}

/* ------------------------------------------------------------ --audit-graph */

#define GRAPH_HOSTS 200	 /* hosts drawn, as --audit-sort and --audit-only choose them */
#define GRAPH_CONTEXT 400 /* ... and peers of theirs drawn beside them */
#define GRAPH_EDGES 1000	 /* arrows at most: dot's time grows fast with them */
#define DOT_SECONDS 120	 /* then dot is stopped, and the graph said not drawn */

static void
dot_id(FILE *f, const struct host *h)
{
	char ip[64];

	rpt_addr(ip, sizeof(ip), &h->ip);
	fprintf(f, "\"%c %s\"", h->role == ROLE_CLIENT ? 'c' : 's', ip);
}

static void
dot_node(FILE *f, const struct host *h)
{
	char ip[64], rz[24], b[32];
	unsigned k = 0;

	rpt_addr(ip, sizeof(ip), &h->ip);
	dot_id(f, h);
	fprintf(f, " [shape=%s,label=\"%s\\n%s, %" PRIu64 " session%s, %s bytes",
		h->role == ROLE_CLIENT ? "ellipse" : "box", ip, role_zone(h, rz, sizeof(rz)),
		h->sessions, h->sessions == 1 ? "" : "s", grouped(b, sizeof(b),
		h->bytes_sent + h->bytes_received));
	for (unsigned i = 0; i < F_COUNT; i++)
		if (h->flag_counts[i])
			fprintf(f, "%s%s", k++ ? ", " : "\\n! ", flag_info[i].id);
	fprintf(f, "\"%s%s%s];\n", h->zone == ZONE_LOCAL ? ",style=filled,fillcolor=\"#dde8f8\"" : "",
		k ? ",color=red,fontcolor=red,penwidth=2" : "",
		h->drawn == 2 ? ",fontsize=9,color=gray50" : "");
}

static struct host *
peer_host(struct rpt_audit *a, const struct host *h, const struct peer *p)
{
	struct host *o = slot_for(&a->key, a->slots, a->cap, &p->ip,
				  h->role == ROLE_CLIENT ? ROLE_SERVER : ROLE_CLIENT);

	return o->used ? o : NULL;
}

/* The hosts shown (GRAPH_HOSTS at most), then the busiest peers of each, for context. */
static size_t
mark_drawn(struct rpt_audit *a, struct host *const *v)
{
	size_t n = 0, more = 0;

	for (size_t i = 0; i < a->count; i++) {
		v[i]->drawn = 0;
		if (shown(a, v[i]) && n < GRAPH_HOSTS && ++n)
			v[i]->drawn = 1;
		else if (shown(a, v[i]))
			more++;
	}
	for (size_t i = 0, context = 0; i < a->count; i++) {
		const struct peer *top[TOP_PEERS];
		unsigned k = v[i]->drawn == 1 ? top_peers(v[i], top) : 0;

		for (unsigned j = 0; j < k; j++) {
			struct host *o = peer_host(a, v[i], top[j]);

			if (o && !o->drawn && context < GRAPH_CONTEXT && ++context)
				o->drawn = 2;
		}
	}
	return more;
}

static int
by_busier(const void *x, const void *y)
{
	const struct peer *a = *(const struct peer *const *)x, *b = *(const struct peer *const *)y;

	return busier(a, b) ? -1 : busier(b, a);
}

/*
 * A client's arrows to the servers drawn: its TOP_PEERS busiest among them
 * (the same in every run), within what is left of GRAPH_EDGES; the arrows
 * left out are counted.
 */
static void
dot_edges(FILE *f, struct rpt_audit *a, const struct host *c, size_t *left, size_t *cut)
{
	const struct peer **e = malloc((c->n_peers ? c->n_peers : 1) * sizeof(*e));
	unsigned n = 0;
	char b[32];

	if (!e)
		return;
	for (unsigned i = 0; i < c->cap_peers; i++) {
		const struct host *v = c->peers[i].ip.family ? peer_host(a, c, &c->peers[i]) : NULL;

		if (v && v->drawn && n < c->n_peers)
			e[n++] = &c->peers[i];
	}
	qsort(e, n, sizeof(*e), by_busier);
	for (unsigned i = 0; i < n; i++) {
		unsigned width = 1;

		if (i == TOP_PEERS || !*left) {
			*cut += n - i;
			break;
		}
		--*left;
		for (uint64_t k = e[i]->sessions; k > 1 && width < 8; k /= 4)
			width++;
		fputs("  ", f);
		dot_id(f, c);
		fputs(" -> ", f);
		dot_id(f, peer_host(a, c, e[i]));
		fprintf(f, " [label=\"%" PRIu64 " session%s\\n%s bytes\",penwidth=%u];\n",
			e[i]->sessions, e[i]->sessions == 1 ? "" : "s",
			grouped(b, sizeof(b), e[i]->bytes), width);
	}
	free(e);
}

static void
write_dot(FILE *f, struct rpt_audit *a, struct host *const *v)
{
	size_t more = mark_drawn(a, v), left = GRAPH_EDGES, cut = 0;

	fputs("digraph smtpscope_audit {\n  rankdir=LR;\n  node [fontname=\"Helvetica\",fontsize=10];\n"
	      "  edge [fontname=\"Helvetica\",fontsize=8,color=gray40];\n", f);
	fprintf(f, "  label=\"smtpscope --audit: clients (ellipses) and servers (boxes)%s%s\";\n",
		a->opts.n_nets ? "; ours shaded" : "", "; red: flagged");
	for (size_t i = 0; i < a->count; i++) {
		if (!v[i]->drawn)
			continue;
		fputs("  ", f);
		dot_node(f, v[i]);
	}
	for (size_t i = 0; i < a->count; i++) {
		if (v[i]->drawn && v[i]->role == ROLE_CLIENT)
			dot_edges(f, a, v[i], &left, &cut);
	}
	if (more || cut)
		fprintf(f, "  more [shape=note,label=\"not drawn: %zu more hosts, %zu arrows\\n"
			   "(--audit-only narrows the choice)\"];\n", more, cut);
	fputs("}\n", f);
}

/* Graphviz's dot on the PATH, as posix_spawnp() would find it. */
bool
rpt_audit_dot_found(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		const char *e = strchr(p, ':');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len && len + 5 < sizeof(buf)) {
			memcpy(buf, p, len);
			memcpy(buf + len, "/dot", 5);
			if (access(buf, X_OK) == 0)
				return true;
		}
		p += len + (e != NULL);
	}
	return false;
}

/* dot's end, within DOT_SECONDS; past that it is stopped. True if it drew. */
static bool
dot_finished(pid_t pid)
{
	int status = -1;

	for (unsigned i = 0; i < DOT_SECONDS * 10; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (r < 0 && errno != EINTR)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	errno = ETIMEDOUT;
	return false;
}

/* DOT through `dot -Tsvg`, whose output goes to f; the pipe's ends are not inherited. */
static bool
draw_svg(FILE *f, struct rpt_audit *a, struct host *const *v)
{
	char *argv[] = {"dot", "-Tsvg", NULL};
	posix_spawn_file_actions_t fa;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	int fds[2], err;
	bool ok;
	pid_t pid;
	FILE *w;

	fflush(f);
	if (pipe(fds) < 0)
		return false;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC); /* dup2 in the child clears it on 0 and 1 */
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fileno(f), 1);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	err = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (err || !(w = fdopen(fds[1], "w"))) {
		close(fds[1]);
		if (!err)
			dot_finished(pid);
		errno = err ? err : errno;
		return false;
	}
	sigaction(SIGPIPE, &ign, &old); /* dot may stop reading: an error, not our death */
	write_dot(w, a, v);
	err = fclose(w) != 0;
	sigaction(SIGPIPE, &old, NULL);
	ok = dot_finished(pid);
	return ok && !err;
}

bool
rpt_audit_graph(struct rpt_audit *a, FILE *f, bool svg)
{
	struct host **v = sorted_hosts(a);
	bool ok;

	if (!v)
		return false;
	if (svg) {
		ok = draw_svg(f, a, v);
	} else {
		write_dot(f, a, v);
		ok = fflush(f) == 0 && !ferror(f);
	}
	free(v);
	return ok;
}

struct rpt_audit *
rpt_audit_new(const struct rpt_audit_opts *opts, const struct rsm_hash_key *key)
{
	struct rpt_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (opts)
		a->opts = *opts;
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
	for (size_t i = 0; i < a->cap; i++) {
		struct host *h = &a->slots[i];

		if (h->cap_peers)
			cap_budget_give(h->cap_peers * sizeof(*h->peers));
		free(h->peers);
		burst_free(&h->logins_failed);
		burst_free(&h->unknown_rcpt);
		free(h->rdns);
	}
	free(a->slots);
	cap_budget_give(a->cap * sizeof(struct host));
	free(a);
}
