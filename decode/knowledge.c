/*
 * knowledge.c - the knowledge base, one table, reviewed as a whole.
 *
 * Within a level, entries are tried top to bottom, so put the narrower entry
 * (a given command, a longer phrase) above the broader one. The texts are
 * ours; the facts come from RFC 5321, 3463, 2034, 3207, 4954, 1870, 3030,
 * 1985, 5248, 6531, 6710, 7293, 7372, 7504, 7505, 8617, 8689, the IANA
 * enhanced status code registry and the servers' own reply lists (Postfix,
 * Exim, OpenSMTPD, Sendmail, qmail, Exchange and Microsoft 365, Gmail; see
 * the survey in ../shared/reference). A phrase is matched case-insensitively
 * anywhere in the reply text. Entries without a class apply to failures
 * (4xx, 5xx) only.
 *
 * tests/test_explain.c holds a real reply line for every entry and checks
 * the table's shape: each `what` is unique and no `what` begins another, so
 * an explanation names the entry it came from.
 */
#include "knowledge.h"

const struct kb kb[] = {
	/*
	 * Known server texts. Success texts first, then failures grouped by
	 * cause; the generic words (spam, virus, dmarc, access denied) last,
	 * so that a vendor's precise phrase wins over a word it also contains.
	 */
	TXT(2, V_END, "queued", accepted,
	    "Message accepted and queued: the server has taken responsibility for delivering it."),
	TXT(2, V_END, "message accepted", accepted,
	    "Message accepted for delivery: from now on the receiving server is responsible for "
	    "it."),
	TXT(2, V_END, "ok id=", accepted,
	    "Message accepted: the server (Exim) has taken responsibility for it; the id in the "
	    "reply finds it in the server's logs."),
	TXT(2, V(BDAT), "chunk received", accepted,
	    "Chunk received (Exchange counts its octets); only the reply to the last chunk says "
	    "whether the message itself was accepted."),
	TXT(2, V(BDAT), "byte", accepted,
	    "Chunk received: the server counted this BDAT chunk; only the reply to the last chunk "
	    "(BDAT ... LAST) accepts the message."),
	TXT(2, 0, "queued as", accepted,
	    "Accepted and queued, although the command it answers is not in the capture."),
	TXT(2, V(VRFY) | V(EXPN), "cannot vrfy", accepted,
	    "The server will not say whether this address exists (it answers VRFY without "
	    "checking) but would accept mail for it."),

	/*
	 * Postfix's answer to a client that sends HTTP (or another of its
	 * smtpd_forbidden_commands, default "CONNECT GET POST") instead of SMTP.
	 */
	TXT(2, V(OTHER), "i can break rules", protocol_error,
	    "The server (Postfix) hangs up on a client that sent an HTTP request or another "
	    "command it forbids (smtpd_forbidden_commands): a web client, a proxy or a scanner, "
	    "not a mail sender."),

	/* Connection limits and screening, mostly at the greeting. */
	TXT(0, 0, "too many connections", too_many_connections,
	    "This client already has as many connections open to the server as it allows per "
	    "client, so the extra one is refused."),
	TXT(0, 0, "concurrent", too_many_connections,
	    "The server is at its limit of simultaneous connections (for this client or in total) "
	    "and turns this one away."),
	TXT(0, 0, "all server ports are busy", server_resources,
	    "The server has no free process for this connection (Postfix postscreen): it is "
	    "overloaded or its process limit is too low."),
	TXT(4, 0, "service currently unavailable", service_unavailable,
	    "The server is not taking connections right now (overload, maintenance, or a screening "
	    "service that is down)."),
	TXT(5, 0, "service currently unavailable", service_unavailable,
	    "The server will not take mail from this client and gives no reason; a connection "
	    "screen (such as Postfix's postscreen) answers so to a client it has blocked, often "
	    "for a block list or for breaking the protocol."),
	TXT(0, 0, "too many syntax or protocol errors", protocol_error,
	    "The server counted too many bad commands in this session and is hanging up."),
	TXT(0, 0, "protocol error", protocol_error,
	    "The server's connection screening saw this client break the protocol, for example "
	    "talk before the greeting or send non-SMTP data; spam software does this."),
	TXT(0, 0, "synchronization", protocol_error,
	    "The client sent commands before the server had answered (talking too early, or "
	    "pipelining without the server's consent); spam software typically does this."),
	TXT(0, 0, "pipelining not supported", protocol_error,
	    "The client sent several commands at once, but this server does not offer "
	    "pipelining and hangs up."),
	TXT(0, 0, "try again later, closing connection", service_unavailable,
	    "The server (Gmail's wording) turns this client away for now without saying why; "
	    "load, the client's sending volume or its reputation are the usual causes."),
	TXT(0, 0, "unexpected volume or user complaints", ip_reputation,
	    "Yahoo defers mail from this IP address because of unusual volume or complaints from "
	    "its users."),

	/* EHLO/HELO and the order of the greeting. */
	TXT(5, V(EHLO) | V(HELO), "invalid domain name", helo_rejected,
	    "The name given with EHLO/HELO was refused as invalid: it has characters a host name "
	    "cannot have, or the server restricts which clients may connect."),
	TXT(0, V(EHLO) | V(HELO) | V_ENVELOPE, "need fully-qualified hostname", helo_rejected,
	    "The server wants a full host name (like mail.example.com) after EHLO/HELO, not a "
	    "short name such as 'localhost'."),
	TXT(0, V(EHLO) | V(HELO) | V_ENVELOPE, "helo command rejected: host not found", helo_rejected,
	    "The name the client gave with EHLO/HELO does not exist in DNS, so the server will not "
	    "take mail from it."),
	TXT(0, V(EHLO) | V(HELO) | V_ENVELOPE, "helo command rejected: invalid name", helo_rejected,
	    "The name the client gave with EHLO/HELO is not a valid host name (bad characters or "
	    "format), so the server refuses it."),
	TXT(0, V(EHLO) | V(HELO), "syntactically invalid", helo_rejected,
	    "The argument of EHLO/HELO is not a valid domain name or address literal."),
	TXT(0, 0, "bad helo", helo_rejected,
	    "The server refused the name the client gave with EHLO/HELO."),
	TXT(0, 0, "send helo/ehlo first", out_of_sequence,
	    "The client skipped the greeting: it must send EHLO or HELO before this command."),
	TXT(0, 0, "send hello first", out_of_sequence,
	    "The client skipped the greeting: Exchange wants EHLO or HELO before this command."),

	/* Relaying. */
	TXT(0, 0, "tenantattribution", relay_denied,
	    "Exchange Online could not tie this connection to a tenant's inbound connector, so it "
	    "will not relay: the connector's IP or certificate settings do not match."),
	TXT(0, 0, "relay access denied", relay_denied,
	    "The server is not the destination for this recipient's domain and will not pass the "
	    "mail on for this client: the client did not log in, is not in the server's trusted "
	    "networks, or sent to the wrong server."),
	TXT(0, 0, "unable to relay", relay_denied,
	    "The server is not the destination for this recipient's domain and will not pass the "
	    "mail on for this client: the client did not log in, is not allowed to relay, or sent "
	    "to the wrong server."),
	TXT(0, 0, "relaying denied", relay_denied,
	    "The server will not pass mail on to other domains for this client (no relaying "
	    "without permission or login)."),
	TXT(0, 0, "relay not permitted", relay_denied,
	    "The server will not pass this mail on: the recipient's domain is not handled here "
	    "and the client is neither logged in nor a permitted relay."),
	TXT(0, 0, "mail relay denied", relay_denied,
	    "The relay service refused the mail: the sending IP address or login is not "
	    "registered for relaying for this domain."),
	TXT(0, 0, "allowed rcpthosts", relay_denied,
	    "qmail will not relay: the recipient's domain is not among the domains it accepts mail "
	    "for, and this client may not relay."),

	/* A login or encryption is required first. */
	TXT(0, 0, "client was not authenticated", auth_required,
	    "The server accepts mail only from clients that have logged in (AUTH), and this one "
	    "has not; an anonymous or test connection to a submission-only service gets this."),
	TXT(0, 0, "client not authenticated", auth_required,
	    "The server takes mail on this connection only after SMTP AUTH, and the client did "
	    "not log in (or its login failed)."),
	TXT(0, 0, "must issue an auth command first", auth_required,
	    "The server requires a login (AUTH) on this connection before it takes mail."),
	TXT(0, 0, "authentication required", auth_required,
	    "The server accepts mail only after the client logs in (AUTH), and it has not."),
	TXT(0, V_ENVELOPE, "not logged in", auth_required,
	    "The sender address is tied to a login on this server, and the client used it without "
	    "logging in."),
	TXT(0, V_ENVELOPE, "not owned by user", sender_refused,
	    "The logged-in user is not allowed to send with this sender address."),
	TXT(0, 0, "send as this sender", sender_refused,
	    "The logged-in account lacks the right to send with this sender address (Exchange's "
	    "'Send As' permission)."),
	TXT(0, 0, "submit to this server", policy,
	    "This client or account is not allowed to submit mail to this Exchange server (receive "
	    "connector permissions)."),
	TXT(0, 0, "must issue a starttls command first", tls_required,
	    "The server requires encryption before this command: the client must send STARTTLS "
	    "first."),
	TXT(0, 0, "starttls is required", tls_required,
	    "The server requires encryption on this connection: the client must send STARTTLS "
	    "before sending mail."),
	TXT(0, 0, "not authenticated", auth_required,
	    "The server refuses this because the client has not logged in (AUTH) or its login was "
	    "not accepted."),

	/* Login (AUTH) failures. */
	TXT(0, V_AUTHS, "smtpclientauthentication is disabled", auth_failed,
	    "SMTP AUTH is switched off for this Microsoft 365 tenant or mailbox, so even correct "
	    "credentials are refused."),
	TXT(0, V_AUTHS, "application-specific password required", auth_failed,
	    "Google refuses the account password here because the account uses 2-Step "
	    "Verification: the client needs an app password (or OAuth)."),
	TXT(0, V_AUTHS, "log in via your web browser", auth_failed,
	    "Google blocked this sign-in as suspicious or from an app it no longer allows; the "
	    "user must sign in on the web, or use an app password or OAuth."),
	TXT(0, V_AUTHS, "too many login attempts", rate_limited,
	    "The server saw too many login attempts for this account and blocks logins for a "
	    "while."),
	TXT(0, V_AUTHS, "temporary authentication failure", server_resources,
	    "The login could not be checked right now: the server's authentication backend (SASL, "
	    "LDAP, a database) failed or was too slow."),
	TXT(0, V_AUTHS, "authentication failed", auth_failed,
	    "The login was refused: wrong user name or password, or the account is not allowed to "
	    "log in this way."),
	TXT(0, V_AUTHS, "authentication unsuccessful", auth_failed,
	    "The login was refused: wrong user name or password, or SMTP login is disabled for the "
	    "account."),
	TXT(0, V_AUTHS, "username and password not accepted", auth_failed,
	    "The login was refused: wrong user name or password, or the account needs an app "
	    "password or OAuth."),
	TXT(0, V_AUTHS, "incorrect authentication data", auth_failed,
	    "The login was refused: the user name or password is wrong, or the account may not "
	    "log in here."),
	TXT(4, V_AUTHS, "unable to authenticate at present", server_resources,
	    "The server could not check the login right now because its authentication backend "
	    "failed."),
	TXT(0, V_AUTHS, "unrecognized authentication type", unsupported,
	    "The server does not support the login method the client chose; the AUTH line of the "
	    "EHLO reply lists those it does."),
	TXT(0, V_AUTHS, "authentication aborted", auth_failed,
	    "The login was cancelled: the client answered a login challenge with '*', or sent data "
	    "the server could not decode."),
	TXT(0, V_AUTHS, "not advertised", unsupported,
	    "The client tried AUTH although the server did not offer it in its EHLO reply (often "
	    "it is offered only after STARTTLS)."),
	TXT(0, V_AUTHS, "authentication not enabled", unsupported,
	    "Login is not offered on this connection: it may be offered only after STARTTLS, "
	    "or only on the submission port."),

	/* The sender's address. */
	TXT(0, V_ENVELOPE, "domain of sender address", sender_domain_unknown,
	    "The sender's domain does not exist or does not resolve in DNS, so replies and "
	    "bounces could not reach it."),
	TXT(0, V_ENVELOPE, "sender address rejected: domain not found", sender_domain_unknown,
	    "The sender's domain does not exist in DNS, so the server refuses mail from it "
	    "(bounces could not be delivered back)."),
	TXT(0, V_ENVELOPE, "sender address rejected: user unknown", sender_refused,
	    "The server hosts the sender's domain itself and has no such user there, so it refuses "
	    "the sender address."),
	TXT(0, V_ENVELOPE, "need fully-qualified address", address_syntax,
	    "The address lacks a full domain (like 'user' or 'user@localhost'); the server wants "
	    "the user@example.com form."),
	TXT(0, V_ENVELOPE, "sender verify failed", sender_refused,
	    "The server tried to confirm the sender address with the sender's own mail server "
	    "and could not, so it refuses mail from it."),
	TXT(0, V_ENVELOPE, "could not complete sender verify", dns_temporary,
	    "The server could not finish checking the sender address (the sender's mail server "
	    "or DNS did not answer in time)."),
	TXT(0, V_ENVELOPE, "unverified address", mailbox_unavailable,
	    "The server checks addresses with the mail server responsible for them (a verification "
	    "probe), and that check has not succeeded; the reply may quote the other server."),
	TXT(0, V_ENVELOPE, "undeliverable address", mailbox_unknown,
	    "The server verified the address with the mail server responsible for it, and that "
	    "server does not accept mail for it."),
	TXT(0, 0, "bad sender address syntax", address_syntax,
	    "The sender's address (MAIL FROM) is malformed: a syntax error such as missing angle "
	    "brackets, spaces or invalid characters."),
	TXT(0, V(MAIL), "invalid address", address_syntax,
	    "The sender's address (MAIL FROM) was refused as malformed: a syntax error such as "
	    "missing angle brackets, spaces or invalid characters."),
	TXT(0, 0, "bad outbound sender", sender_refused,
	    "Microsoft 365 has blocked this sending account, usually because it sent spam (often "
	    "after the account was compromised)."),

	/* The recipient's address. */
	TXT(5, 0, "resolver.adr.recipientnotfound", mailbox_unknown,
	    "Exchange Online found no mailbox or alias with this address in its directory: a "
	    "typing mistake, or an account not (yet) synchronised there."),
	TXT(5, 0, "resolver.adr.recipnotfound", mailbox_unknown,
	    "Exchange found no recipient with this address in its directory: a typing mistake, or "
	    "a removed mailbox or address."),
	TXT(5, 0, "access denied. as(", mailbox_unknown,
	    "Exchange Online's edge blocking refused the recipient: no such address in the "
	    "organisation's directory, or the domain is not set up there."),
	TXT(5, 0, "address rejected: access denied", mailbox_unknown,
	    "Refused at the edge of the receiving organisation: in Microsoft 365, whose wording "
	    "this is, it means no such address exists in the organisation's directory."),
	TXT(5, 0, "addresses rejected: access denied", mailbox_unknown,
	    "No recipient was accepted: in Microsoft 365, whose wording this is, none of the "
	    "addresses exists in the organisation's directory."),
	TXT(5, 0, "account that you tried to reach does not exist", mailbox_unknown,
	    "Gmail has no account with this address: check it for typing mistakes."),
	TXT(0, 0, "account that you tried to reach is disabled", mailbox_disabled,
	    "The Gmail account exists but is disabled, so it receives no mail."),
	TXT(5, 0, "user unknown", mailbox_unknown,
	    "The recipient's mailbox does not exist on this server: a typing mistake, a deleted or "
	    "renamed account, or a missing alias."),
	TXT(5, 0, "unknown user", mailbox_unknown,
	    "No mailbox or alias has this address here: a typing mistake, or an account that "
	    "was removed."),
	TXT(5, 0, "recipient not found", mailbox_unknown,
	    "The recipient's mailbox does not exist on this server: a typing mistake, a deleted or "
	    "renamed account, or a directory that is out of date."),
	TXT(5, 0, "no such user", mailbox_unknown,
	    "The recipient's mailbox does not exist on this server."),
	TXT(5, 0, "invalid recipient", mailbox_unknown,
	    "No mailbox, alias or rule on this server accepts this recipient."),
	TXT(5, 0, "unrouteable address", mailbox_unknown,
	    "The server found no way to deliver to this address: its domain has no usable mail "
	    "server in DNS, or no local rule accepts it."),
	TXT(0, V_ENVELOPE, "recipient address rejected: domain not found", recipient_domain_unknown,
	    "The recipient's domain does not exist in DNS: probably a typing mistake in the "
	    "address."),
	TXT(0, V_ENVELOPE, "find the recipient domain", recipient_domain_unknown,
	    "Gmail could not find the recipient's domain in DNS: probably a typing mistake in the "
	    "address."),
	TXT(0, 0, "bad recipient address syntax", address_syntax,
	    "The recipient's address is malformed: a syntax error such as missing angle brackets "
	    "or invalid characters."),
	TXT(0, V(RCPT), "invalid address", address_syntax,
	    "The recipient's address was refused as malformed: check its spelling and syntax."),
	TXT(5, 0, "does not exist", mailbox_unknown,
	    "The address does not exist on this server: check the spelling."),

	/* Quotas and full mailboxes. */
	TXT(0, 0, "submission quota exceeded", rate_limited,
	    "The sending account (not the recipient) has used up its sending quota on Exchange and "
	    "may not send more for now."),
	TXT(0, 0, "daily user sending", rate_limited,
	    "The Google account has reached its daily sending limit; new messages are refused "
	    "until the limit resets (within 24 hours)."),
	TXT(0, 0, "mailbox full", mailbox_full,
	    "The recipient's mailbox is full (over its storage quota)."),
	TXT(0, 0, "over quota", mailbox_full,
	    "The recipient's mailbox is over its storage quota."),
	TXT(0, 0, "quota exceeded", mailbox_full,
	    "The recipient's mailbox has exceeded its storage quota; the recipient must free "
	    "space."),
	TXT(0, 0, "message receive limit", rate_limited,
	    "The recipient has received more messages per hour than Exchange Online allows (from "
	    "this sender or in total)."),

	/* Message size. */
	TXT(0, 0, "size exceeds", message_too_large,
	    "The message is larger than this server accepts: send it smaller (attachments grow by "
	    "about a third when encoded) or ask for a higher limit."),
	TXT(0, 0, "message size limit", message_too_large,
	    "The message exceeds the server's size limit (found while receiving it, or while "
	    "counting BDAT chunks)."),
	TXT(0, 0, "too big", message_too_large,
	    "The message (or a chunk of it) is too big for this server, as it found while "
	    "receiving it."),

	/* Recipients and messages per transaction or per connection. */
	TXT(0, 0, "too many recipients from", rate_limited,
	    "The client sent more recipients per minute than the server allows from one IP "
	    "address (a rate limit per client)."),
	TXT(0, 0, "too many messages sent", rate_limited,
	    "The server takes only so many messages per connection; the client should send the "
	    "rest over a new connection."),
	TXT(0, 0, "too many recipients", too_many_recipients,
	    "The message has more recipients than the server takes in one transaction; the rest "
	    "must be sent in another transaction."),
	TXT(0, 0, "multiple destination domains", too_many_recipients,
	    "Gmail takes recipients of one domain per transaction here; recipients in other "
	    "domains must go in a separate transaction."),

	/* Rate limits, throttling and greylisting. */
	TXT(0, 0, "too much mail from", rate_limited,
	    "The client sent more messages per minute than the server allows from one IP "
	    "address (a rate limit per client)."),
	TXT(0, 0, "unusual rate of unsolicited mail", ip_reputation,
	    "Gmail sees much unwanted mail from this IP address and rate limits or blocks it "
	    "until the address's reputation improves."),
	TXT(0, 0, "receiving mail at a rate", rate_limited,
	    "The Gmail recipient is getting mail faster than Gmail allows."),
	TXT(4, 0, "server busy. please try again later from", rate_limited,
	    "Exchange Online is throttling mail from this IP address, typically because it is new "
	    "or its volume changed; this clears as the address builds a history."),
	TXT(0, 0, "has exceeded permitted limits", rate_limited,
	    "Exchange Online blocked this IP address for sending more than it allows within its "
	    "address range."),
	TXT(0, 0, "message submission rate", rate_limited,
	    "The client submits messages faster than this Exchange server allows per client; it "
	    "should slow down."),
	TXT(0, 0, "rate limit", rate_limited,
	    "The server limits how fast this client may send (connections or messages per time "
	    "unit), and this client went over the limit."),
	TXT(4, 0, "greylist", greylisted,
	    "Greylisting: the server turns away the first attempt from an unknown sender on "
	    "purpose and accepts a later retry; this is normal."),

	/* Blocklists and reputation. */
	TXT(0, 0, "banned sending ip", blocklisted,
	    "Exchange Online has banned this sending IP address (usually after spam from it); its "
	    "owner must request delisting from Microsoft."),
	TXT(0, 0, "traffic not accepted from this ip", ip_reputation,
	    "Exchange Online does not accept mail from this IP address at all (often a new, "
	    "unknown or poorly rated address)."),
	TXT(0, 0, "customer block list", blocklisted,
	    "The recipient's organisation has blocked this sender or IP address in its own "
	    "Exchange Online block list."),
	TXT(0, 0, "blocked using", blocklisted,
	    "The client's IP address is on a DNS blocklist the server consults, so its mail is "
	    "refused."),
	TXT(0, 0, "is in a black list at", blocklisted,
	    "The client's IP address is on a DNS blocklist the server consults, so its mail is "
	    "refused; the list named says where to ask for removal."),
	TXT(0, 0, "listed at", blocklisted,
	    "The client's IP address is listed on the DNS blocklist named in the reply, so its "
	    "mail is refused."),
	TXT(0, 0, "blacklist", blocklisted,
	    "The client's IP address or domain is on a blocklist this server uses, so its mail is "
	    "refused."),
	TXT(0, 0, "message is suspicious", content_spam,
	    "The server judged this message suspicious, from the sending domain's reputation "
	    "or from its content and links."),
	TXT(0, 0, "likely unsolicited mail", content_spam,
	    "Gmail's filters judged this message to be unwanted bulk mail (spam) and refused it."),
	TXT(0, 0, "spam abuse detected", content_spam,
	    "Exchange Online saw spam from this sender or IP address and refuses its mail."),
	TXT(0, 0, "banned sender", sender_refused,
	    "Exchange Online has banned this sender address or domain after abuse; the sender must "
	    "ask Microsoft for delisting."),

	/* Reverse DNS of the client. */
	TXT(0, 0, "cannot find your reverse hostname", reverse_dns,
	    "The client's IP address has no reverse DNS (PTR) name at all, which this server "
	    "requires."),
	TXT(0, 0, "cannot find your hostname", reverse_dns,
	    "The client's IP address has no working reverse DNS (PTR) name, or the name does not "
	    "point back to the address, and the server requires one."),
	TXT(0, 0, "ptr record", reverse_dns,
	    "The client's IP address has no working reverse DNS (PTR) record, which this server "
	    "requires."),

	/* Sender authentication: SPF, DKIM, DMARC. */
	TXT(0, 0, "does not pass dmarc", dmarc_failed,
	    "Exchange Online refused the message because the sender's domain fails DMARC and its "
	    "policy says reject."),
	TXT(0, 0, "sender is unauthenticated", sender_unauthenticated,
	    "Gmail requires every sender to pass SPF or DKIM, and this message passed neither."),
	TXT(0, 0, "fails to pass authentication checks", sender_unauthenticated,
	    "The message lacks sender authentication or fails it (SPF or DKIM), and Gmail blocks "
	    "it as possible spam."),
	TXT(0, 0, "must pass either spf or dkim", sender_unauthenticated,
	    "Exchange Online accepts mail over IPv6 only if it passes SPF or DKIM, and this "
	    "message passes neither."),
	TXT(0, 0, "sender policy framework", spf_failed,
	    "The sending IP address is not allowed by the sender domain's SPF record."),
	TXT(0, 0, "spf fail", spf_failed,
	    "The sender domain's SPF record does not allow the sending IP address, and the "
	    "server's SPF check rejects such mail."),

	/* Message format and content. */
	TXT(0, 0, "message is malformed", message_malformed,
	    "The server refused the message as badly formatted (broken headers or line "
	    "endings)."),
	TXT(0, 0, "messageid header", message_malformed,
	    "Gmail refuses messages without a valid Message-ID header; the sending program must "
	    "add one."),
	TXT(0, 0, "compliant", message_malformed,
	    "The message breaks the Internet message format rules (RFC 5322), for example a "
	    "missing or duplicated From or Date header."),
	TXT(0, 0, "bare <lf>", bare_lf,
	    "The message has lines ending in a bare line feed instead of CR LF, which this server "
	    "refuses (a defence against SMTP smuggling)."),
	TXT(0, 0, "bare linefeeds", bare_lf,
	    "The message has lines ending in a bare line feed instead of CR LF, which Exchange "
	    "refuses."),
	TXT(0, 0, "policy that prohibited", policy,
	    "A rule set by the recipient's (or sender's) Google Workspace administrator blocks "
	    "this message."),
	TXT(0, 0, "does not allow external forwarding", policy,
	    "The sender's Microsoft 365 organisation blocks automatic forwarding to outside "
	    "addresses, and this message was forwarded."),
	TXT(0, 0, "unregistered domain", sender_refused,
	    "Microsoft 365 refuses mail from sender domains that are not registered as accepted "
	    "domains of the sending tenant."),
	TXT(0, 0, "content rejected", policy,
	    "A content rule on the server (header or body checks, a filter) refused the message."),
	TXT(0, 0, "administrative prohibition", policy,
	    "A local policy rule on the server refused this without giving a reason."),

	/* Mail loops and misrouting. */
	TXT(0, 0, "too many hops", mail_loop,
	    "The message has passed through too many servers: a mail loop between servers."),
	TXT(0, 0, "hop count exceeded", mail_loop,
	    "The message has passed through too many servers (Exchange counted its Received "
	    "headers): a mail loop, often between connectors or forwarding rules."),
	TXT(0, 0, "loop detected", mail_loop,
	    "The server saw this message come back to it: a routing loop between servers or "
	    "forwarding rules."),
	TXT(0, 0, "wrong office 365 region", receiver_misconfigured,
	    "The mail reached a Microsoft 365 datacenter that does not host the recipient's tenant "
	    "(a hybrid or connector misrouting)."),

	/* Commands in the wrong order. */
	TXT(0, 0, "nested mail command", out_of_sequence,
	    "A second MAIL FROM was sent while a transaction was still open; the client should "
	    "send RSET first."),
	TXT(0, V(MAIL), "sender already", out_of_sequence,
	    "MAIL FROM came again while the transaction already had a sender; the client should "
	    "finish the transaction or send RSET first."),
	TXT(0, 0, "need mail", out_of_sequence,
	    "This command is out of order: no sender (MAIL FROM) was accepted first; usually the "
	    "MAIL command before it failed."),
	TXT(0, 0, "valid rcpt command must precede data", out_of_sequence,
	    "DATA came without any accepted recipient; the reply quotes why the RCPT commands "
	    "were refused."),
	TXT(0, 0, "sender not yet given", out_of_sequence,
	    "This came before an accepted MAIL FROM; usually the MAIL command before it "
	    "failed."),
	TXT(0, V(DATA), "no valid recipients", out_of_sequence,
	    "DATA was refused because no recipient was accepted in this transaction: see the RCPT "
	    "replies before it."),
	TXT(0, V(DATA), "no recipient specified", out_of_sequence,
	    "DATA came before any recipient was accepted; see the RCPT replies before it."),
	TXT(0, 0, "need rcpt", out_of_sequence,
	    "This command is out of order: no recipient was accepted first; see the RCPT replies "
	    "before it."),

	/* Commands the server does not understand, and session errors. */
	TXT(5, 0, "unrecognized command", unknown_command,
	    "The server did not understand this command: a typing mistake, a command it does not "
	    "support, or something that is not SMTP at all."),
	TXT(5, 0, "command not recognized", unknown_command,
	    "The server does not know this command: a typing mistake, an extension it does not "
	    "offer, or a client that is not speaking SMTP."),
	TXT(5, 0, "command unrecognized", unknown_command,
	    "The server (or an SMTP proxy in front of it) does not know this command: a typing "
	    "mistake or an extension it does not offer."),
	TXT(0, 0, "unsupported option", unsupported,
	    "The client used a MAIL/RCPT parameter (such as SMTPUTF8, SIZE or a DSN option) that "
	    "this server does not offer."),
	TXT(5, V(BDAT), "syntax: bdat", syntax_error,
	    "The server could not read the BDAT command (bad chunk size or syntax) and, no longer "
	    "knowing where the next command starts, closes the connection."),
	TXT(0, V(STARTTLS), "tls not available", tls_unavailable,
	    "The server cannot start TLS right now, usually because its certificate or key is "
	    "missing, expired or unreadable."),
	TXT(0, V(STARTTLS), "only one starttls", out_of_sequence,
	    "STARTTLS was sent again although TLS is already active on this connection."),
	TXT(0, 0, "line too long", protocol_error,
	    "A line was longer than the server allows (SMTP allows 512 bytes for a command and "
	    "1000 for a message line)."),
	TXT(0, 0, "command too long", protocol_error,
	    "The command line is longer than the server accepts (SMTP guarantees 512 bytes per "
	    "command line)."),
	TXT(0, 0, "too many errors", protocol_error,
	    "The client made too many errors in this session, and the server is hanging up."),
	TXT(0, 0, "too many unauthenticated commands", protocol_error,
	    "Gmail counted too many commands without a login on this connection and closes it."),
	TXT(0, 0, "timeout", timeout,
	    "The server waited too long for the client and is closing the session: a stalled "
	    "client or a network problem (lost packets, MTU issues)."),

	/* Temporary trouble inside the receiving server. */
	TXT(0, 0, "temporary lookup failure", server_resources,
	    "The server could not look something up in one of its tables or directories (a map, "
	    "LDAP or SQL lookup failed); a fault on the server's side."),
	TXT(4, 0, "temporary server error", server_resources,
	    "The server had an internal problem handling this; it is on the receiving side and "
	    "usually clears on retry."),
	TXT(4, 0, "temporary system problem", server_resources,
	    "The server had an internal problem taking this message; a later retry usually "
	    "works."),
	TXT(0, 0, "queue file write error", server_resources,
	    "The server could not write the message to its queue (disk full or a filesystem "
	    "error)."),
	TXT(0, 0, "service unavailable - try again later", service_unavailable,
	    "A mail filter (milter) or policy service of the server asked to defer this, often "
	    "because that filter is down or overloaded."),

	/* Generic words, last. */
	TXT(0, 0, "virus", virus,
	    "A content filter found malware in the message and refused it."),
	TXT(0, 0, "dmarc", dmarc_failed,
	    "The message failed the sender domain's DMARC policy (SPF/DKIM did not align), and the "
	    "domain asks receivers to refuse such mail."),

	/*
	 * Exact enhanced codes: the IANA registry (RFC 3463, 3886, 4468, 4954,
	 * 5248, 6531, 6710, 7293, 7372, 7505, 8617, 8689), by subject.detail.
	 * X.0.0 says nothing beyond the class and has no entry on purpose: it
	 * falls through to the basic code in context.
	 */
	ENH2V(V_NOT_VERIFY, "1.5", "Recipient accepted: the address is valid here (not delivered "
				  "yet)."),
	ENH2("1.9", "Accepted, but passed on to a system that cannot report delivery status any "
		    "further."),
	ENH2("3.6", "Accepted, but the server changed the priority the client asked for "
		    "(MT-PRIORITY)."),
	ENH("1.0", mailbox_unavailable,
	    "The server has a problem with an address but gives no specific reason; the reply "
	    "text should name which address."),
	ENH("1.1", mailbox_unknown,
	    "The recipient's mailbox does not exist here: a typing mistake, or an account that "
	    "was removed."),
	ENH("1.2", recipient_domain_unknown,
	    "The recipient's domain cannot receive mail: it does not exist or has no mail "
	    "server."),
	ENH("1.3", address_syntax,
	    "The recipient's address is malformed."),
	ENH("1.4", mailbox_unavailable,
	    "The recipient's address is ambiguous: it matches more than one mailbox."),
	ENH("1.6", mailbox_moved,
	    "The mailbox used to exist but has moved, and the server knows no forwarding "
	    "address."),
	ENH("1.7", address_syntax,
	    "The sender's address is malformed or refused."),
	ENH("1.8", sender_domain_unknown,
	    "The sender's domain is not valid for mail (it does not exist in DNS)."),
	ENH("1.10", recipient_domain_unknown,
	    "The recipient's domain says it accepts no mail at all (null MX)."),
	ENH("2.0", mailbox_unavailable,
	    "The recipient's mailbox has a problem the server does not detail."),
	ENH("2.1", mailbox_disabled,
	    "The recipient's mailbox is disabled and not accepting messages."),
	ENH("2.2", mailbox_full,
	    "The recipient's mailbox is full."),
	ENH("2.3", message_too_large,
	    "The message is longer than the recipient's mailbox accepts."),
	ENH("2.4", server_resources,
	    "The recipient is a mailing list that could not be expanded into its members."),
	ENH("3.0", server_resources,
	    "The receiving mail system has a problem it does not detail."),
	ENH("3.1", server_resources,
	    "The receiving mail system is out of storage."),
	ENH("3.2", service_unavailable,
	    "The receiving system is not accepting network messages right now."),
	ENH("3.3", unsupported,
	    "The receiving system cannot handle a feature this message needs (for example "
	    "8-bit data or a special transfer mode)."),
	ENH("3.4", message_too_large,
	    "The message is too big for the receiving system."),
	ENH("3.5", receiver_misconfigured,
	    "The receiving system is not configured correctly."),
	ENH("4.0", routing,
	    "A network or routing problem that the server does not detail."),
	ENH("4.1", routing,
	    "The next server did not answer."),
	ENH("4.2", routing,
	    "The connection to the next server was bad or timed out."),
	ENH("4.3", dns_temporary,
	    "A DNS lookup failed (directory server failure)."),
	ENH("4.4", routing,
	    "The server found no route to deliver the message."),
	ENH("4.5", server_resources,
	    "The mail system is congested."),
	ENH("4.6", mail_loop,
	    "A routing loop was detected: the message came back to a server it passed."),
	ENH("4.7", routing,
	    "The message was too old to deliver (delivery time expired)."),
	ENH("5.0", protocol_error,
	    "A protocol problem that the server does not detail."),
	ENH("5.1", out_of_sequence,
	    "The command is not valid here: out of order, or not supported."),
	ENH("5.2", syntax_error,
	    "The command has a syntax error."),
	ENH("5.3", too_many_recipients,
	    "Too many recipients for one transaction: the others must go in another "
	    "transaction."),
	ENH("5.4", syntax_error,
	    "The command's arguments are not valid (for example a malformed EHLO name or an "
	    "unknown parameter)."),
	ENH("5.5", unsupported,
	    "The two sides could not agree on a protocol version."),
	ENH("5.6", syntax_error,
	    "The AUTH line was too long."),
	ENH("6.0", message_malformed,
	    "The message content or its format caused the failure; no more detail is given."),
	ENH("6.1", unsupported,
	    "The message uses a media type (MIME) that the path cannot carry."),
	ENH("6.2", unsupported,
	    "The message would need converting (for example 8-bit to 7-bit), but conversion is "
	    "not allowed."),
	ENH("6.3", unsupported,
	    "The message would need converting, but the server cannot do it."),
	ENH("6.4", unsupported,
	    "The message was (or would have to be) converted with a loss of content."),
	ENH("6.5", server_resources,
	    "Converting the message failed."),
	ENH("6.6", unsupported,
	    "The server could not fetch the message content from where it was referenced "
	    "(BURL)."),
	ENH("6.7", unsupported,
	    "The address has non-ASCII characters and the server does not support SMTPUTF8."),
	ENH("6.8", unsupported,
	    "A reply would need UTF-8 text, which this client has not enabled (SMTPUTF8)."),
	ENH("6.9", unsupported,
	    "The message has UTF-8 headers that cannot be passed to a recipient whose server "
	    "lacks SMTPUTF8."),
	ENH("6.10", unsupported,
	    "A UTF-8 reply is needed but the client does not allow one (a deprecated duplicate "
	    "of X.6.8)."),
	ENH("7.0", policy,
	    "Refused by security or policy, without a more specific reason."),
	ENH("7.1", policy,
	    "Refused by policy: this client or sender is not allowed to do this here "
	    "(relaying, a blocklist, missing login, or a sender rule)."),
	ENH("7.2", sender_refused,
	    "The sender may not send to this mailing list."),
	ENH("7.3", unsupported,
	    "A security conversion the message needs (such as re-encrypting it) is not "
	    "possible."),
	ENH("7.4", unsupported,
	    "A security feature asked for (such as this login method) is not supported here."),
	ENH("7.5", policy,
	    "A cryptographic check failed (missing or bad keys or certificates)."),
	ENH("7.6", unsupported,
	    "The message uses a cryptographic algorithm the server does not support."),
	ENH("7.7", message_malformed,
	    "The message failed an integrity check: it was changed or damaged on the way."),
	ENHV(V_LOGIN, "7.8", auth_failed,
	    "The login was refused: the credentials are not valid."),
	ENHV(V_LOGIN, "7.9", auth_too_weak,
	    "The login method is too weak for this server's policy."),
	ENH("7.10", tls_required,
	    "An encrypted connection is needed for this (encryption required by policy)."),
	ENHV(V_LOGIN, "7.11", auth_too_weak,
	    "This login method requires an encrypted connection (STARTTLS first)."),
	ENHV(V_LOGIN, "7.12", auth_too_weak,
	    "A password transition is needed: log in once with PLAIN over TLS."),
	ENH("7.13", mailbox_disabled,
	    "The user's account is disabled."),
	ENH("7.14", relay_denied,
	    "The submission server needs a trust relationship with the next server, and there "
	    "is none."),
	ENH("7.15", rate_limited,
	    "The message's priority (MT-PRIORITY) is too low for this server to accept now."),
	ENH("7.16", message_too_large,
	    "The message is too big for the priority it asks for."),
	ENH("7.17", mailbox_moved,
	    "The mailbox has changed owner since the date the sender gave (RRVS), so the mail "
	    "is not delivered to the new owner."),
	ENH("7.18", mailbox_moved,
	    "The recipient's domain has changed owner since the date the sender gave (RRVS)."),
	ENH("7.19", unsupported,
	    "The server cannot carry out the requested check of how long the mailbox has "
	    "existed (RRVS)."),
	ENH("7.20", dkim_failed,
	    "No valid DKIM signature was found, which the receiver requires."),
	ENH("7.21", dkim_failed,
	    "The message has DKIM signatures, but none that the receiver's policy accepts."),
	ENH("7.22", dkim_failed,
	    "No valid DKIM signature matches the author's (From) domain."),
	ENH("7.23", spf_failed,
	    "SPF check failed: the sending IP is not allowed for the sender's domain."),
	ENH("7.24", dns_temporary,
	    "SPF could not be evaluated because of an error (a broken SPF record or a DNS "
	    "failure)."),
	ENH("7.25", reverse_dns,
	    "Reverse DNS check failed for the client's IP address."),
	ENH("7.26", sender_unauthenticated,
	    "The message failed several sender authentication checks (SPF, DKIM, DMARC)."),
	ENH("7.27", sender_domain_unknown,
	    "The sender's domain accepts no mail (null MX), so it may not send either."),
	ENH("7.28", ip_reputation,
	    "The receiver sees this as part of a flood of similar unwanted messages and "
	    "throttles or blocks it."),
	ENH("7.29", arc_failed,
	    "The message failed ARC validation (the chain that vouches for forwarded mail is "
	    "broken)."),
	ENH("7.30", tls_required,
	    "The message asks for REQUIRETLS, and the next server does not support it."),

	/* Enhanced class.subject (RFC 3463 3.x), for details outside the registry. */
	ENHC2V(V_NOT_VERIFY, "1", "The address was accepted."),
	ENHC("1", mailbox_unavailable,
	    "A problem with an address (sender or recipient)."),
	ENHC("2", mailbox_unavailable,
	    "A problem with the recipient's mailbox."),
	ENHC("3", server_resources,
	    "A problem in the receiving mail system."),
	ENHC("4", routing,
	    "A network or routing problem on the way to the destination."),
	ENHC("5", protocol_error,
	    "A problem with the SMTP protocol exchange itself."),
	ENHC("6", message_malformed,
	    "A problem with the message content or its format."),
	ENHC("7", policy,
	    "Refused for security or policy reasons."),

	/*
	 * Basic codes in the context of the command they answer (RFC 5321
	 * 4.3.2; RFC 3207 for STARTTLS, RFC 4954 for AUTH, RFC 1985 for ETRN,
	 * RFC 3030 for BDAT, RFC 7504 for 521). Command-specific rows first,
	 * the rows for any command after them.
	 */
	CTX(V(CONNECT), 220, accepted,
	    "The server is ready and greets the client."),
	CTX(V(CONNECT), 421, service_unavailable,
	    "The server will not talk now and is closing the connection: it is busy, shutting "
	    "down, or limits this client."),
	CTX(V(CONNECT), 554, policy,
	    "The server refuses this client at the door: typically its IP address is blocked "
	    "or not allowed."),
	CTX(V(CONNECT), 521, service_unavailable,
	    "This host does not accept mail at all."),
	CTX(V(EHLO), 250, accepted,
	    "EHLO accepted: the server lists the extensions the client may use."),
	CTX(V(HELO), 250, accepted,
	    "HELO accepted (plain SMTP, no extensions)."),
	CTX(V(EHLO) | V(HELO), 501, helo_rejected,
	    "The name after EHLO/HELO is missing or malformed."),
	CTX(V(EHLO), 502, unknown_command,
	    "The server does not implement EHLO; HELO may work."),
	CTX(V(MAIL), 250, accepted,
	    "Sender accepted."),
	CTX(V(MAIL), 550, sender_refused,
	    "The sender was refused (by address or by policy)."),
	CTX(V(MAIL), 553, sender_refused,
	    "The sender's address is not allowed here (malformed, or not permitted for this "
	    "client)."),
	CTX(V(MAIL), 503, out_of_sequence,
	    "MAIL out of order: a transaction is already open, or EHLO/HELO (or a required "
	    "login) has not been done yet."),
	CTX(V(MAIL), 501, syntax_error,
	    "The sender address or a MAIL parameter has a syntax error."),
	CTX(V(MAIL), 452, server_resources,
	    "The server is short of storage for this transaction right now."),
	CTX(V(MAIL) | V(RCPT), 455, server_resources,
	    "The server cannot accommodate a MAIL/RCPT parameter right now (such as the "
	    "declared size)."),
	CTX(V(MAIL) | V(RCPT), 555, unsupported,
	    "The client used a MAIL/RCPT parameter the server did not offer in its EHLO reply."),
	CTX(V(RCPT), 250, accepted,
	    "Recipient accepted (the message is not delivered yet)."),
	CTX(V(RCPT), 251, accepted,
	    "Recipient accepted; the server will forward to another address."),
	CTX(V(RCPT), 550, mailbox_unavailable,
	    "The recipient was refused: the mailbox does not exist, or policy (relaying, "
	    "blocklist) forbids it."),
	CTX(V(RCPT), 551, mailbox_moved,
	    "The recipient is not local to this server; the reply may name where to send "
	    "instead."),
	CTX(V(RCPT), 552, mailbox_full,
	    "The recipient's mailbox is out of space."),
	CTX(V(RCPT), 553, address_syntax,
	    "The recipient's address is not allowed (bad syntax or name)."),
	CTX(V(RCPT), 450, mailbox_unavailable,
	    "The recipient's mailbox is unavailable for now (busy, being verified, or "
	    "greylisted)."),
	CTX(V(RCPT), 451, server_resources,
	    "The server hit a local problem while checking this recipient (a lookup or filter "
	    "failure)."),
	CTX(V(RCPT), 452, too_many_recipients,
	    "The server takes no more recipients in this transaction for now (too many "
	    "recipients, or short of storage); send the rest later."),
	CTX(V(RCPT), 503, out_of_sequence,
	    "RCPT out of order: no sender was accepted first."),
	CTX(V(DATA), 354, intermediate,
	    "The server is ready for the message; the client sends it and ends with a line "
	    "holding only a dot."),
	CTX(V(DATA), 554, unspecified,
	    "DATA refused: no valid recipient, or the transaction was refused."),
	CTX(V(DATA), 503, out_of_sequence,
	    "DATA out of order: no recipient was accepted first."),
	CTX(V(DOT), 250, accepted,
	    "Message accepted: the server has taken responsibility for delivering it."),
	CTX(V(BDAT), 250, accepted,
	    "Chunk accepted; after the last chunk (BDAT ... LAST) this means the server took "
	    "the message."),
	CTX(V_END, 550, policy,
	    "The message was refused after it was sent, by a content or policy filter."),
	CTX(V_END, 554, policy,
	    "The message was refused after it was sent (content, policy, or transaction "
	    "failure)."),
	CTX(V_END, 552, message_too_large,
	    "The message is larger than the server allows."),
	CTX(V_END, 450, unspecified,
	    "The message was not taken for now, after it was sent (a policy or content check "
	    "deferred it)."),
	CTX(V_END, 451, server_resources,
	    "The server hit a local error while taking the message."),
	CTX(V_END, 452, server_resources,
	    "The server is short of storage to take the message now."),
	CTX(V(RSET), 250, accepted,
	    "Transaction reset: the server forgot any sender and recipients."),
	CTX(V(NOOP), 250, accepted,
	    "NOOP answered: the connection is alive."),
	CTX(V(QUIT), 221, accepted,
	    "The server closes the session normally."),
	CTX(V(VRFY) | V(EXPN), 250, accepted,
	    "The address was confirmed."),
	CTX(V(VRFY) | V(EXPN), 252, accepted,
	    "The server will not confirm the address but will try to deliver to it (address "
	    "checks are usually disabled)."),
	CTX(V(VRFY) | V(EXPN), 502, unsupported,
	    "The server has address verification turned off (a common hardening)."),
	CTX(V(VRFY) | V(EXPN), 550, mailbox_unknown,
	    "The server does not know this address."),
	CTX(V(HELP), 214, accepted,
	    "Help text from the server."),
	CTX(V(HELP), 211, accepted,
	    "System status from the server."),
	CTX(V(STARTTLS), 220, accepted,
	    "The server agrees to start TLS: everything after this should be encrypted."),
	CTX(V(STARTTLS), 454, tls_unavailable,
	    "TLS is not available right now (often a certificate or key problem on the "
	    "server)."),
	CTX(V(STARTTLS), 501, syntax_error,
	    "STARTTLS takes no arguments."),
	CTX(V(STARTTLS), 554, policy,
	    "TLS is already active, or refused by policy."),
	CTX(V_AUTHS, 334, intermediate,
	    "The server asks for the next step of the login."),
	CTX(V_AUTHS, 235, accepted,
	    "Login succeeded."),
	CTX(V_AUTHS, 535, auth_failed,
	    "Login refused: the server did not accept the user name and password."),
	CTX(V_AUTHS, 534, auth_too_weak,
	    "Login refused: this server's policy wants a stronger login method."),
	CTX(V_AUTHS, 538, auth_too_weak,
	    "This login method needs an encrypted connection (STARTTLS first)."),
	CTX(V_AUTHS, 432, auth_too_weak,
	    "The server needs a password transition: log in once with PLAIN over an encrypted "
	    "connection."),
	CTX(V_AUTHS, 504, unsupported,
	    "The server does not support this login mechanism."),
	CTX(V_AUTHS, 503, out_of_sequence,
	    "AUTH is not allowed at this point (not offered, already logged in, or inside a "
	    "transaction)."),
	CTX(V_AUTHS, 501, syntax_error,
	    "The login was cancelled or its data was malformed."),
	CTX(V(ETRN), 250, accepted,
	    "ETRN accepted: the server starts delivering the mail it holds for that domain."),
	CTX(V(ETRN), 251, accepted,
	    "ETRN accepted, but no mail is waiting for that domain."),
	CTX(V(ETRN), 252, accepted,
	    "ETRN accepted: delivery of the waiting mail for that domain has started."),
	CTX(V(ETRN), 253, accepted,
	    "ETRN accepted: the server starts delivering the waiting messages it counts in the "
	    "reply."),
	CTX(V(ETRN), 458, server_resources,
	    "The server cannot start delivery for that domain now."),
	CTX(V(ETRN), 459, policy,
	    "The server does not allow ETRN for that domain (or for this client)."),
	CTX(0, 211, accepted,
	    "A status reply from the server."),
	CTX(0, 214, accepted,
	    "A help message from the server."),
	CTX(0, 220, accepted,
	    "Service ready: a greeting, or the go-ahead for TLS."),
	CTX(0, 221, accepted,
	    "The server is closing the connection normally."),
	CTX(0, 235, accepted,
	    "Authentication succeeded."),
	CTX(0, 250, accepted,
	    "Accepted."),
	CTX(0, 251, accepted,
	    "Accepted; the server will forward the mail to another address."),
	CTX(0, 252, accepted,
	    "The server cannot verify the address but will accept mail for it."),
	CTX(0, 334, intermediate,
	    "The server waits for the next step of a login exchange."),
	CTX(0, 354, intermediate,
	    "The server waits for the message itself, ended by a line with a single dot."),
	CTX(0, 421, service_unavailable,
	    "The server is closing the connection (busy, shutting down, or too many errors)."),
	CTX(0, 432, auth_too_weak,
	    "A password transition is needed before this login can work."),
	CTX(0, 450, mailbox_unavailable,
	    "The action was not taken for now (mailbox busy or unavailable)."),
	CTX(0, 451, server_resources,
	    "The server hit a local error and did not complete the action."),
	CTX(0, 452, server_resources,
	    "Not done for now: the server is short of storage or of room in this transaction."),
	CTX(0, 454, server_resources,
	    "A temporary failure of TLS or of the login backend on the server."),
	CTX(0, 455, server_resources,
	    "The server cannot accommodate the command's parameters right now."),
	CTX(0, 500, unknown_command,
	    "The server did not understand this line."),
	CTX(0, 501, syntax_error,
	    "The command's arguments have a syntax error."),
	CTX(0, 502, unknown_command,
	    "The server does not implement this command."),
	CTX(0, 503, out_of_sequence,
	    "Command out of order for this point of the session."),
	CTX(0, 504, unsupported,
	    "A parameter of this command is not implemented."),
	CTX(0, 521, service_unavailable,
	    "This server does not accept mail (RFC 7504)."),
	CTX(0, 530, auth_required,
	    "The server requires a login (AUTH), or encryption first, before this command."),
	CTX(0, 534, auth_too_weak,
	    "The chosen login method is too weak for the server's policy."),
	CTX(0, 535, auth_failed,
	    "The login credentials were not accepted."),
	CTX(0, 538, auth_too_weak,
	    "This login method is allowed only over an encrypted connection."),
	CTX(0, 550, mailbox_unavailable,
	    "The action was refused (mailbox unavailable or policy)."),
	CTX(0, 551, mailbox_moved,
	    "The user is not local to this server."),
	CTX(0, 552, message_too_large,
	    "Storage allocation exceeded: the message is too big or a mailbox is full."),
	CTX(0, 553, address_syntax,
	    "The mailbox name is not allowed (bad address syntax)."),
	CTX(0, 554, policy,
	    "The transaction failed, or the server refuses this client."),
	CTX(0, 555, unsupported,
	    "A MAIL/RCPT parameter is not recognized or not implemented."),
	CTX(0, 556, recipient_domain_unknown,
	    "The recipient's domain does not accept mail (RFC 7504)."),

	/* First digit alone (RFC 5321 4.2.1). */
	DIG(2, accepted,
	    "Accepted (a success code this tool has no specific entry for)."),
	DIG(3, intermediate,
	    "Accepted so far; the server waits for more from the client."),
	DIG(4, unspecified,
	    "Temporary failure: the server did not do it now."),
	DIG(5, unspecified,
	    "Permanent failure: the server refused it."),
};

const size_t kb_count = sizeof(kb) / sizeof(kb[0]);
