/*
 * dns.c - what nslookup shows in the seeds: the MX records of a domain in
 * preference order, then the A/AAAA records of each host (RFC 5321 5.1).
 *
 * The system resolver does the asking (libresolv's res_nquery, with
 * /etc/resolv.conf: its servers, timeout and attempts); this file reads the
 * answers through ns_initparse()/ns_parserr()/dn_expand(), which check every
 * length against the message, and says in plain words what each outcome
 * means (dns_kb[]). Answers are untrusted bytes: a record whose data does
 * not fit its type is a malformed answer, never read past.
 */
#include "probe_private.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#define ANSWER_MAX 65536

/* What each outcome of the DNS step means, and how the probe ends on it (if it does). */
static const struct {
	const char *name;
	enum probe_status ends; /* PROBE_STATUS_COUNT: the probe goes on to connect */
	const char *words;
} dns_kb[DNS_COUNT] = {
	[DNS_MX] = {"mx", PROBE_STATUS_COUNT,
		    "MX records found: the hosts below receive the domain's mail, lowest "
		    "preference first (RFC 5321 5.1)."},
	[DNS_IMPLICIT_MX] = {"implicit_mx", PROBE_STATUS_COUNT,
			     "No MX record, but the name has an address: by RFC 5321 5.1 that host "
			     "takes the domain's mail itself (the implicit MX). Publish an MX record "
			     "if another host should."},
	[DNS_HOST] = {"host", PROBE_STATUS_COUNT,
		      "A host name was given (--no-mx): its addresses are tried without an MX "
		      "lookup."},
	[DNS_NXDOMAIN] = {"nxdomain", PROBE_UNREACHED,
			  "The name does not exist (NXDOMAIN): check its spelling; for a domain of "
			  "yours, its registration and the delegation to its name servers. No "
			  "server can be asked, and senders bounce mail to it."},
	[DNS_NO_MAIL_HOST] = {"no_mail_host", PROBE_UNREACHED,
			      "The name exists but has neither an MX record nor an address (A/AAAA): "
			      "there is nowhere to deliver its mail. Publish an MX record."},
	[DNS_NO_ADDRESS] = {"no_address", PROBE_UNREACHED,
			    "No address (A/AAAA) for the mail host(s): the MX record names a host "
			    "that does not resolve, a wrong DNS record. Point the MX at a host with "
			    "an address (an MX must name a host, not an address or a CNAME)."},
	[DNS_NULL_MX] = {"null_mx", PROBE_REFUSED,
			 "The domain publishes a null MX (RFC 7505: one MX record of preference 0 "
			 "and host \".\"): it declares that it accepts no mail at all, and senders "
			 "bounce at once (5.1.10)."},
	[DNS_SERVFAIL] = {"servfail", PROBE_UNREACHED,
			  "The DNS server failed (SERVFAIL, or refused the query): the domain's name "
			  "servers may be down or misconfigured (a lame delegation, a broken DNSSEC "
			  "signature), or the resolver of /etc/resolv.conf cannot reach them. "
			  "Senders retry later."},
	[DNS_TIMEOUT] = {"timeout", PROBE_UNREACHED,
			 "No DNS answer in time: the resolver of /etc/resolv.conf (or the domain's "
			 "name servers behind it) did not answer. Check that resolver and the "
			 "network: a firewall may block DNS (port 53). Senders retry later."},
	[DNS_MALFORMED] = {"malformed", PROBE_UNREACHED,
			   "The DNS answer could not be read (malformed or cut short): the resolver "
			   "or something on the way mangles answers."},
	[DNS_NO_RESOLVER] = {"no_resolver", PROBE_UNREACHED,
			     "The resolver could not be set up (read /etc/resolv.conf): no DNS "
			     "lookup was made."},
};

const char *
dns_result_name(enum dns_result r)
{
	return dns_kb[r].name;
}

enum probe_status
dns_result_ends(enum dns_result r)
{
	return dns_kb[r].ends;
}

const char *
dns_result_words(enum dns_result r)
{
	return dns_kb[r].words;
}

/* Keep a name as nslookup shows it: the root as ".". */
static void
name_copy(char *dst, const char *src)
{
	size_t len = strnlen(src, PROBE_NAME_MAX - 1);

	if (len == 0)
		src = ".", len = 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Sorted by preference, records of equal preference in the order they came (stable). */
static void
mx_insert(struct probe_mx *mx, size_t n, unsigned pref, const char *host)
{
	size_t i = n;

	while (i > 0 && mx[i - 1].preference > pref) {
		mx[i] = mx[i - 1];
		i--;
	}
	mx[i].preference = pref;
	name_copy(mx[i].host, host);
}

/* The n-th answer record; false when the message says more than it holds. */
static bool
answer_rr(ns_msg *h, int i, ns_rr *rr)
{
	return ns_parserr(h, ns_s_an, i, rr) == 0;
}

/* An MX record's data: 2 bytes of preference, then a name that must end inside the record. */
static bool
mx_rdata(ns_msg *h, const ns_rr *rr, unsigned *pref, char *host, size_t hostsz)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	int used;

	if (ns_rr_rdlen(*rr) < 3)
		return false;
	*pref = ns_get16(rd);
	used = dn_expand(ns_msg_base(*h), ns_msg_end(*h), rd + 2, host, (int)hostsz);
	/* the name ends inside the record, and fits a name as it is kept (escapes included) */
	return used > 0 && (size_t)used <= (size_t)ns_rr_rdlen(*rr) - 2 &&
	       strlen(host) < PROBE_NAME_MAX;
}

int
probe_dns_parse_mx(const uint8_t *msg, size_t len, struct probe_mx *mx, size_t max)
{
	ns_msg h;
	ns_rr rr;
	size_t n = 0;
	char host[NS_MAXDNAME];
	unsigned pref;

	if (!msg || len > ANSWER_MAX || ns_initparse(msg, (int)len, &h) < 0)
		return -1;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		if (!answer_rr(&h, i, &rr))
			return -1;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in)
			continue; /* a CNAME on the way, or a signature */
		if (!mx_rdata(&h, &rr, &pref, host, sizeof(host)))
			return -1;
		if (n < max)
			mx_insert(mx, n++, pref, host);
	}
	return (int)n;
}

int
probe_dns_parse_addrs(const uint8_t *msg, size_t len, int family, struct cap_addr *addrs,
		      size_t max)
{
	ns_type type = family == 6 ? ns_t_aaaa : ns_t_a;
	size_t size = family == 6 ? 16 : 4, n = 0;
	ns_msg h;
	ns_rr rr;

	if (!msg || len > ANSWER_MAX || ns_initparse(msg, (int)len, &h) < 0)
		return -1;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		if (!answer_rr(&h, i, &rr))
			return -1;
		if (ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
			continue;
		if (ns_rr_rdlen(rr) != size)
			return -1;
		if (n >= max)
			continue;
		memset(&addrs[n], 0, sizeof(addrs[n]));
		addrs[n].family = (uint8_t)family;
		memcpy(addrs[n].bytes, ns_rr_rdata(rr), size);
		n++;
	}
	return (int)n;
}

bool
probe_dns_null_mx(const struct probe_mx *mx, size_t n)
{
	return n == 1 && mx[0].preference == 0 && strcmp(mx[0].host, ".") == 0;
}

/*
 * One question to the resolver. res_nquery() answers -1 for every rcode but
 * NOERROR with records; h_errno says which. TRY_AGAIN is a SERVFAIL or
 * REFUSED answer, or none at all: the resolver reads each answer into ans
 * before judging it, so a header there (QR set; ours was cleared) tells the
 * two apart.
 */
static enum dns_result
ask(res_state rs, const char *name, int type, uint8_t *ans, int *len)
{
	static const struct {
		int h_err;
		enum dns_result r;
	} h_errs[] = {
		{HOST_NOT_FOUND, DNS_NXDOMAIN}, {NO_DATA, DNS_NO_DATA}, {NO_RECOVERY, DNS_SERVFAIL},
	};

	memset(ans, 0, HFIXEDSZ);
	*len = res_nquery(rs, name, ns_c_in, type, ans, ANSWER_MAX);
	if (*len >= 0) {
		if (*len > ANSWER_MAX)
			*len = ANSWER_MAX; /* cut: ns_initparse() finds it short */
		return DNS_OK;
	}
	for (size_t i = 0; i < sizeof(h_errs) / sizeof(h_errs[0]); i++)
		if (rs->res_h_errno == h_errs[i].h_err)
			return h_errs[i].r;
	return (ans[2] & 0x80) ? DNS_SERVFAIL : DNS_TIMEOUT;
}

/* The A or AAAA records of one host into h (after those it has); the outcome of the question. */
static enum dns_result
host_family(res_state rs, uint8_t *ans, struct smtp_dns_host *h, struct cap_addr *room, int family)
{
	int len, n;
	enum dns_result r = ask(rs, h->host, family == 6 ? ns_t_aaaa : ns_t_a, ans, &len);

	if (r != DNS_OK)
		return r;
	n = probe_dns_parse_addrs(ans, (size_t)len, family, room + h->n_addrs, PROBE_MAX_ADDRS);
	if (n < 0)
		return DNS_MALFORMED;
	h->n_addrs += (size_t)n;
	return n ? DNS_OK : DNS_NO_DATA;
}

/*
 * A host's addresses, IPv6 first as getaddrinfo() orders them (RFC 6724),
 * or one family (-4, -6). DNS_OK when any was found; else the outcome that
 * says most (a timeout or failure before "no such name" before "no data").
 */
static enum dns_result
host_addresses(res_state rs, uint8_t *ans, struct smtp_dns_host *h, struct cap_addr *room,
	       int family)
{
	/* which failure says most: a timeout, then a failure, then no such name, then no data */
	static const uint8_t rank[DNS_COUNT] = {[DNS_NXDOMAIN] = 1, [DNS_MALFORMED] = 2,
						[DNS_SERVFAIL] = 3, [DNS_TIMEOUT] = 4};
	static const int families[2] = {6, 4};
	enum dns_result worst = DNS_NO_DATA;

	h->addrs = room;
	h->n_addrs = 0;
	for (int i = 0; i < 2; i++) {
		enum dns_result r;

		if (family && families[i] != family)
			continue;
		r = host_family(rs, ans, h, room, families[i]);
		if (r != DNS_OK && rank[r] > rank[worst])
			worst = r;
	}
	return h->n_addrs ? DNS_OK : worst;
}

static struct smtp_dns_host *
add_host(struct probe_dns_store *st, const char *name, int preference)
{
	size_t i = st->dns.n_hosts;

	if (i >= PROBE_MAX_HOSTS)
		return NULL;
	name_copy(st->names[i], name);
	st->hosts[i] = (struct smtp_dns_host){.preference = preference, .host = st->names[i]};
	st->dns.n_hosts = i + 1;
	return &st->hosts[i];
}

/* The addresses of every host found; DNS_NO_ADDRESS when none has one. */
static enum dns_result
resolve_hosts(res_state rs, uint8_t *ans, struct probe_dns_store *st, int family,
	      enum dns_result found)
{
	enum dns_result last = DNS_NO_DATA;
	bool any = false;

	for (size_t i = 0; i < st->dns.n_hosts; i++) {
		enum dns_result r = host_addresses(rs, ans, &st->hosts[i], st->addrs[i], family);

		any |= r == DNS_OK;
		if (r != DNS_OK)
			last = r;
	}
	if (any)
		return found;
	/* no host resolves: the name server failing says more than "no address" */
	return last == DNS_TIMEOUT || last == DNS_SERVFAIL ? last : DNS_NO_ADDRESS;
}

/* The MX step: the records, a null MX, or none (then the name itself: the implicit MX). */
static enum dns_result
lookup_mx(res_state rs, uint8_t *ans, struct probe_dns_store *st, int family)
{
	struct probe_mx mx[PROBE_MAX_HOSTS];
	enum dns_result r;
	int len, n = 0;

	r = ask(rs, st->query, ns_t_mx, ans, &len);
	if (r == DNS_OK && (n = probe_dns_parse_mx(ans, (size_t)len, mx, PROBE_MAX_HOSTS)) < 0)
		return DNS_MALFORMED;
	if (r == DNS_OK && probe_dns_null_mx(mx, (size_t)n)) {
		add_host(st, ".", 0);
		return DNS_NULL_MX;
	}
	if ((r == DNS_OK && n == 0) || r == DNS_NO_DATA) {
		struct smtp_dns_host *h = add_host(st, st->query, -1);

		r = host_addresses(rs, ans, h, st->addrs[0], family);
		return r == DNS_OK ? DNS_IMPLICIT_MX : r == DNS_NO_DATA ? DNS_NO_MAIL_HOST : r;
	}
	if (r != DNS_OK)
		return r;
	for (int i = 0; i < n; i++)
		if (strcmp(mx[i].host, ".") != 0) /* a null MX among others: ignored */
			add_host(st, mx[i].host, (int)mx[i].preference);
	return resolve_hosts(rs, ans, st, family, DNS_MX);
}

static enum dns_result
lookup_host(res_state rs, uint8_t *ans, struct probe_dns_store *st, int family)
{
	struct smtp_dns_host *h = add_host(st, st->query, -1);
	enum dns_result r = host_addresses(rs, ans, h, st->addrs[0], family);

	return r == DNS_OK ? DNS_HOST : r == DNS_NO_DATA ? DNS_NO_ADDRESS : r;
}

enum dns_result
dns_resolve(const char *name, bool no_mx, int family, struct probe_dns_store *st)
{
	static _Thread_local uint8_t ans[ANSWER_MAX];
	struct __res_state rs;
	enum dns_result r;

	memset(st, 0, sizeof(*st));
	snprintf(st->query, sizeof(st->query), "%s", name);
	st->dns.query = st->query;
	st->dns.hosts = st->hosts;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) < 0)
		r = DNS_NO_RESOLVER;
	else
		r = no_mx ? lookup_host(&rs, ans, st, family) : lookup_mx(&rs, ans, st, family);
	res_nclose(&rs);
	st->dns.result = dns_kb[r].name;
	st->dns.explanation = dns_kb[r].words;
	return r;
}
