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

#define W_SEND_SIDE (W_SENDER | W_SEND_ADMIN)
#define W_BOTH_ADMINS (W_SEND_ADMIN | W_RECV_ADMIN)
#define W_ADDRESS (W_SENDER | W_RECV_ADMIN)

const struct kb kb[] = {
	/*
	 * Known server texts. Success texts first, then failures grouped by
	 * cause; the generic words (spam, virus, dmarc, access denied) last,
	 * so that a vendor's precise phrase wins over a word it also contains.
	 */
	TXT(2, V_END, "queued",
	    "Message accepted and queued: the server has taken responsibility for delivering it.",
	    0, R_CLASS),
	TXT(2, V_END, "message accepted",
	    "Message accepted for delivery: from now on the receiving server is responsible for "
	    "it.",
	    0, R_CLASS),
	TXT(2, V_END, "ok id=",
	    "Message accepted: the server (Exim) has taken responsibility for it; the id in the "
	    "reply finds it in the server's logs.",
	    0, R_CLASS),
	TXT(2, V(BDAT), "chunk received",
	    "Chunk received (Exchange counts its octets); only the reply to the last chunk says "
	    "whether the message itself was accepted.",
	    0, R_CLASS),
	TXT(2, V(BDAT), "byte",
	    "Chunk received: the server counted this BDAT chunk; only the reply to the last chunk "
	    "(BDAT ... LAST) accepts the message.",
	    0, R_CLASS),
	TXT(2, 0, "queued as",
	    "Accepted and queued, although the command it answers is not in the capture.",
	    0, R_CLASS),
	TXT(2, V(VRFY) | V(EXPN), "cannot vrfy",
	    "The server will not say whether this address exists (it answers VRFY without "
	    "checking) but would accept mail for it.",
	    0, R_CLASS),

	/*
	 * Postfix's answer to a client that sends HTTP (or another of its
	 * smtpd_forbidden_commands, default "CONNECT GET POST") instead of SMTP.
	 */
	TXT(2, V(OTHER), "i can break rules",
	    "The server (Postfix) hangs up on a client that sent an HTTP request or another "
	    "command it forbids (smtpd_forbidden_commands): a web client, a proxy or a scanner, "
	    "not a mail sender.",
	    0, R_CLASS),

	/* Connection limits and screening, mostly at the greeting. */
	TXT(0, 0, "too many connections",
	    "This client already has as many connections open to the server as it allows per "
	    "client, so the extra one is refused.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "concurrent",
	    "The server is at its limit of simultaneous connections (for this client or in total) "
	    "and turns this one away.",
	    W_BOTH_ADMINS, R_CLASS),
	TXT(0, 0, "all server ports are busy",
	    "The server has no free process for this connection (Postfix postscreen): it is "
	    "overloaded or its process limit is too low.",
	    W_RECV_ADMIN, R_CLASS),
	TXT(4, 0, "service currently unavailable",
	    "The server is not taking connections right now (overload, maintenance, or a screening "
	    "service that is down).",
	    W_RECV_ADMIN, R_CLASS),
	TXT(5, 0, "service currently unavailable",
	    "The server's connection screening (Postfix postscreen) dropped this client, usually "
	    "because its IP address is on a blocklist or it broke the protocol.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "too many syntax or protocol errors",
	    "Exim counted too many bad commands in this session and is hanging up.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "protocol error",
	    "The server's connection screening saw this client break the protocol, for example "
	    "talk before the greeting or send non-SMTP data; spam software does this.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "synchronization",
	    "The client sent commands before the server had answered (talking too early, or "
	    "pipelining without the server's consent); spam software typically does this.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "pipelining not supported",
	    "The client sent several commands at once, but this server (OpenSMTPD) does not offer "
	    "pipelining and hangs up.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "try again later, closing connection",
	    "Gmail turns this client away for now, usually because of its sending volume or "
	    "reputation; the sending server should retry later.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "unexpected volume or user complaints",
	    "Yahoo defers mail from this IP address because of unusual volume or complaints from "
	    "its users.",
	    W_SEND_ADMIN, R_CLASS),

	/* EHLO/HELO and the order of the greeting. */
	TXT(5, V(EHLO) | V(HELO), "invalid domain name",
	    "The name given with EHLO/HELO was refused as invalid: it has characters a host name "
	    "cannot have, or the server restricts which clients may connect.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, V(EHLO) | V(HELO) | V_ENVELOPE, "need fully-qualified hostname",
	    "The server wants a full host name (like mail.example.com) after EHLO/HELO, not a "
	    "short name such as 'localhost'.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V(EHLO) | V(HELO) | V_ENVELOPE, "helo command rejected: host not found",
	    "The name the client gave with EHLO/HELO does not exist in DNS, so the server will not "
	    "take mail from it.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V(EHLO) | V(HELO) | V_ENVELOPE, "helo command rejected: invalid name",
	    "The name the client gave with EHLO/HELO is not a valid host name (bad characters or "
	    "format), so the server refuses it.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V(EHLO) | V(HELO), "syntactically invalid",
	    "The argument of EHLO/HELO is not a valid domain name or address literal (Exim checks "
	    "its syntax).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "bad helo",
	    "Exchange Online refused the name the client gave with EHLO/HELO.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "send helo/ehlo first",
	    "The client skipped the greeting: it must send EHLO or HELO before this command.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "send hello first",
	    "The client skipped the greeting: Exchange wants EHLO or HELO before this command.",
	    W_SEND_ADMIN, R_AFTER_FIX),

	/* Relaying. */
	TXT(0, 0, "tenantattribution",
	    "Exchange Online could not tie this connection to a tenant's inbound connector, so it "
	    "will not relay: the connector's IP or certificate settings do not match.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "relay access denied",
	    "The server is not the destination for this recipient's domain and will not pass the "
	    "mail on for this client: the client did not log in, is not in the server's trusted "
	    "networks, or sent to the wrong server.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "unable to relay",
	    "The server is not the destination for this recipient's domain and will not pass the "
	    "mail on for this client: the client did not log in, is not allowed to relay, or sent "
	    "to the wrong server.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "relaying denied",
	    "The server will not pass mail on to other domains for this client (no relaying "
	    "without permission or login).",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "relay not permitted",
	    "Exim will not pass this mail on: the recipient's domain is not handled here and the "
	    "client is neither logged in nor a permitted relay.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "mail relay denied",
	    "Google's SMTP relay refused the mail: the sending IP address or login is not "
	    "registered for relaying for this domain.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "allowed rcpthosts",
	    "qmail will not relay: the recipient's domain is not among the domains it accepts mail "
	    "for, and this client may not relay.",
	    W_BOTH_ADMINS, R_AFTER_FIX),

	/* A login or encryption is required first. */
	TXT(0, 0, "client was not authenticated",
	    "The server accepts mail only from clients that have logged in (AUTH), and this one "
	    "has not; an anonymous or test connection to a submission-only service gets this.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "client not authenticated",
	    "Exchange Online takes mail on this connection only after SMTP AUTH, and the client "
	    "did not log in (or its login failed).",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "must issue an auth command first",
	    "OpenSMTPD requires a login (AUTH) on this listener before it takes mail.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "authentication required",
	    "The server accepts mail only after the client logs in (AUTH), and it has not.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "not logged in",
	    "The sender address is tied to a login on this server, and the client used it without "
	    "logging in.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "not owned by user",
	    "The logged-in user is not allowed to send with this sender address.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "send as this sender",
	    "The logged-in account lacks the right to send with this sender address (Exchange's "
	    "'Send As' permission).",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "submit to this server",
	    "This client or account is not allowed to submit mail to this Exchange server (receive "
	    "connector permissions).",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "must issue a starttls command first",
	    "The server requires encryption before this command: the client must send STARTTLS "
	    "first.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "starttls is required",
	    "Exchange requires encryption on this connection: the client must send STARTTLS before "
	    "sending mail.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "not authenticated",
	    "The server refuses this because the client has not logged in (AUTH) or its login was "
	    "not accepted.",
	    W_SEND_SIDE, R_AFTER_FIX),

	/* Login (AUTH) failures. */
	TXT(0, V_AUTHS, "smtpclientauthentication is disabled",
	    "SMTP AUTH is switched off for this Microsoft 365 tenant or mailbox, so even correct "
	    "credentials are refused.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, V_AUTHS, "application-specific password required",
	    "Google refuses the account password here because the account uses 2-Step "
	    "Verification: the client needs an app password (or OAuth).",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V_AUTHS, "log in via your web browser",
	    "Google blocked this sign-in as suspicious or from an app it no longer allows; the "
	    "user must sign in on the web, or use an app password or OAuth.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V_AUTHS, "too many login attempts",
	    "The server saw too many login attempts for this account and blocks logins for a "
	    "while.",
	    W_SENDER, R_CLASS),
	TXT(0, V_AUTHS, "temporary authentication failure",
	    "The login could not be checked right now: the server's authentication backend (SASL, "
	    "LDAP, a database) failed or was too slow.",
	    W_RECV_ADMIN, R_CLASS),
	TXT(0, V_AUTHS, "authentication failed",
	    "The login was refused: wrong user name or password, or the account is not allowed to "
	    "log in this way.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V_AUTHS, "authentication unsuccessful",
	    "The login was refused: wrong user name or password, or SMTP login is disabled for the "
	    "account.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V_AUTHS, "username and password not accepted",
	    "The login was refused: wrong user name or password, or the account needs an app "
	    "password or OAuth.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V_AUTHS, "incorrect authentication data",
	    "Exim refused the login: the user name or password is wrong, or the account may not "
	    "log in here.",
	    W_SENDER, R_AFTER_FIX),
	TXT(4, V_AUTHS, "unable to authenticate at present",
	    "Exim could not check the login right now because its authentication backend failed; "
	    "the client should try again later.",
	    W_RECV_ADMIN, R_CLASS),
	TXT(0, V_AUTHS, "unrecognized authentication type",
	    "The server does not support the login method the client chose; the AUTH line of the "
	    "EHLO reply lists those it does.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V_AUTHS, "authentication aborted",
	    "The login was cancelled: the client answered a login challenge with '*', or sent data "
	    "the server could not decode.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_AUTHS, "not advertised",
	    "The client tried AUTH although the server did not offer it in its EHLO reply (often "
	    "it is offered only after STARTTLS).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V_AUTHS, "authentication not enabled",
	    "Login is not offered on this connection (Postfix): it may be offered only after "
	    "STARTTLS, or only on the submission port.",
	    W_SEND_ADMIN, R_AFTER_FIX),

	/* The sender's address. */
	TXT(0, V_ENVELOPE, "domain of sender address",
	    "The sender's domain does not exist or does not resolve in DNS (Sendmail checks it), "
	    "so replies and bounces could not reach it.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "sender address rejected: domain not found",
	    "The sender's domain does not exist in DNS, so the server refuses mail from it "
	    "(bounces could not be delivered back).",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "sender address rejected: user unknown",
	    "The server hosts the sender's domain itself and has no such user there, so it refuses "
	    "the sender address.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "need fully-qualified address",
	    "The address lacks a full domain (like 'user' or 'user@localhost'); the server wants "
	    "the user@example.com form.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "sender verify failed",
	    "Exim tried to confirm the sender address with the sender's own mail server and could "
	    "not, so it refuses mail from it.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "could not complete sender verify",
	    "Exim could not finish checking the sender address (the sender's mail server or DNS "
	    "did not answer in time).",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, V_ENVELOPE, "unverified address",
	    "The server checks addresses with the mail server responsible for them (a verification "
	    "probe), and that check has not succeeded; the reply may quote the other server.",
	    W_ADDRESS, R_CLASS),
	TXT(0, V_ENVELOPE, "undeliverable address",
	    "The server verified the address with the mail server responsible for it, and that "
	    "server does not accept mail for it.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(0, 0, "bad sender address syntax",
	    "The sender's address (MAIL FROM) is malformed: a syntax error such as missing angle "
	    "brackets, spaces or invalid characters.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V(MAIL), "invalid address",
	    "The sender's address (MAIL FROM) was refused as malformed: a syntax error such as "
	    "missing angle brackets, spaces or invalid characters.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "bad outbound sender",
	    "Microsoft 365 has blocked this sending account, usually because it sent spam (often "
	    "after the account was compromised).",
	    W_SEND_SIDE, R_AFTER_FIX),

	/* The recipient's address. */
	TXT(5, 0, "resolver.adr.recipientnotfound",
	    "Exchange Online found no mailbox or alias with this address in its directory: a "
	    "typing mistake, or an account not (yet) synchronised there.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "resolver.adr.recipnotfound",
	    "Exchange found no recipient with this address in its directory: a typing mistake, or "
	    "a removed mailbox or address.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "access denied. as(",
	    "Exchange Online's edge blocking refused the recipient: no such address in the "
	    "organisation's directory, or the domain is not set up there.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "account that you tried to reach does not exist",
	    "Gmail has no account with this address: check it for typing mistakes.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "account that you tried to reach is disabled",
	    "The Gmail account exists but is disabled, so it receives no mail.",
	    W_SENDER | W_RECIPIENT, R_AFTER_FIX),
	TXT(5, 0, "user unknown",
	    "The recipient's mailbox does not exist on this server: a typing mistake, a deleted or "
	    "renamed account, or a missing alias.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "unknown user",
	    "Exim has no mailbox or alias for this address: a typing mistake, or an account that "
	    "was removed.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "recipient not found",
	    "The recipient's mailbox does not exist on this server: a typing mistake, a deleted or "
	    "renamed account, or a directory that is out of date.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "no such user",
	    "The recipient's mailbox does not exist on this server.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "invalid recipient",
	    "OpenSMTPD has no mailbox, alias or rule that accepts this recipient.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(5, 0, "unrouteable address",
	    "Exim found no way to deliver to this address: its domain has no usable mail server in "
	    "DNS, or no router accepts it.",
	    W_ADDRESS, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "recipient address rejected: domain not found",
	    "The recipient's domain does not exist in DNS: probably a typing mistake in the "
	    "address.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "find the recipient domain",
	    "Gmail could not find the recipient's domain in DNS: probably a typing mistake in the "
	    "address.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "bad recipient address syntax",
	    "The recipient's address is malformed: a syntax error such as missing angle brackets "
	    "or invalid characters.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V(RCPT), "invalid address",
	    "The recipient's address was refused as malformed: check its spelling and syntax.",
	    W_SENDER, R_AFTER_FIX),
	TXT(5, 0, "does not exist",
	    "The address does not exist on this server: check the spelling.",
	    W_ADDRESS, R_AFTER_FIX),

	/* Quotas and full mailboxes. */
	TXT(0, 0, "submission quota exceeded",
	    "The sending account (not the recipient) has used up its sending quota on Exchange and "
	    "may not send more for now.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "daily user sending",
	    "The Google account has reached its daily sending limit; it can send again once the "
	    "limit resets (within 24 hours).",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "mailbox full",
	    "The recipient's mailbox is full (over its storage quota).",
	    W_RECIPIENT, R_CLASS),
	TXT(0, 0, "over quota",
	    "The recipient's mailbox is over its storage quota.",
	    W_RECIPIENT, R_CLASS),
	TXT(0, 0, "quota exceeded",
	    "The recipient's mailbox has exceeded its storage quota; the recipient must free "
	    "space.",
	    W_RECIPIENT, R_CLASS),
	TXT(0, 0, "message receive limit",
	    "The recipient has received more messages per hour than Exchange Online allows (from "
	    "this sender or in total).",
	    W_SEND_ADMIN | W_RECIPIENT, R_CLASS),

	/* Message size. */
	TXT(0, 0, "size exceeds",
	    "The message is larger than this server accepts: send it smaller (attachments grow by "
	    "about a third when encoded) or ask for a higher limit.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "message size limit",
	    "The message exceeds the provider's size limit (Gmail's, or Postfix's while counting "
	    "BDAT chunks).",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "too big",
	    "The message (or a chunk of it) is too big for this server, as it found while "
	    "receiving it.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),

	/* Recipients and messages per transaction or per connection. */
	TXT(0, 0, "too many recipients from",
	    "The client sent more recipients per minute than the server allows from one IP address "
	    "(a Postfix rate limit); the rest should follow later.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "too many messages sent",
	    "OpenSMTPD takes only so many messages per connection; the client should send the rest "
	    "over a new connection.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "too many recipients",
	    "The message has more recipients than the server takes in one transaction; the rest "
	    "must be sent in another transaction.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "multiple destination domains",
	    "Gmail takes recipients of one domain per transaction here; recipients in other "
	    "domains must go in a separate transaction.",
	    W_SEND_ADMIN, R_CLASS),

	/* Rate limits, throttling and greylisting. */
	TXT(0, 0, "too much mail from",
	    "The client sent more messages per minute than the server allows from one IP address "
	    "(a Postfix rate limit); the rest should follow later.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "unusual rate of unsolicited mail",
	    "Gmail sees a lot of unwanted mail from this IP address and throttles or blocks it; "
	    "that eases only as the address's reputation improves.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "receiving mail at a rate",
	    "The Gmail recipient is getting mail faster than Gmail allows; the message can get "
	    "through on a later retry.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(4, 0, "server busy. please try again later from",
	    "Exchange Online is throttling mail from this IP address, typically because it is new "
	    "or its volume changed; this clears as the address builds a history.",
	    W_SEND_ADMIN, R_SOON),
	TXT(0, 0, "has exceeded permitted limits",
	    "Exchange Online blocked this IP address for sending more than it allows within its "
	    "address range.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "message submission rate",
	    "The client submits messages faster than this Exchange server allows per client; it "
	    "should slow down.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "rate limit",
	    "The server limits how fast this client may send (connections or messages per time "
	    "unit); slowing down and retrying later helps.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(4, 0, "greylist",
	    "Greylisting: the server turns away the first attempt from an unknown sender on "
	    "purpose and accepts a later retry; this is normal.",
	    W_SEND_ADMIN, R_SOON),

	/* Blocklists and reputation. */
	TXT(0, 0, "banned sending ip",
	    "Exchange Online has banned this sending IP address (usually after spam from it); its "
	    "owner must request delisting from Microsoft.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "traffic not accepted from this ip",
	    "Exchange Online does not accept mail from this IP address at all (often a new, "
	    "unknown or poorly rated address).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "customer block list",
	    "The recipient's organisation has blocked this sender or IP address in its own "
	    "Exchange Online block list.",
	    W_SENDER | W_RECIPIENT, R_AFTER_FIX),
	TXT(0, 0, "blocked using",
	    "The client's IP address is on a DNS blocklist the server consults, so its mail is "
	    "refused.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "is in a black list at",
	    "The client's IP address is on a DNS blocklist that Exim consults, so its mail is "
	    "refused; the list named says where to ask for removal.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "listed at",
	    "The client's IP address is listed on the DNS blocklist named in the reply (Sendmail's "
	    "dnsbl check), so its mail is refused.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "blacklist",
	    "The client's IP address or domain is on a blocklist this server uses, so its mail is "
	    "refused.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "message is suspicious",
	    "Gmail judged this message suspicious, from the sending domain's reputation or from "
	    "its content and links.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "likely unsolicited mail",
	    "Gmail's filters judged this message to be unwanted bulk mail (spam) and refused it.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "spam abuse detected",
	    "Exchange Online saw spam from this sender or IP address and refuses its mail.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "banned sender",
	    "Exchange Online has banned this sender address or domain after abuse; the sender must "
	    "ask Microsoft for delisting.",
	    W_SEND_SIDE, R_AFTER_FIX),

	/* Reverse DNS of the client. */
	TXT(0, 0, "cannot find your reverse hostname",
	    "The client's IP address has no reverse DNS (PTR) name at all, which this server "
	    "requires.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "cannot find your hostname",
	    "The client's IP address has no working reverse DNS (PTR) name, or the name does not "
	    "point back to the address, and the server requires one.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "ptr record",
	    "The client's IP address has no working reverse DNS (PTR) record, which this server "
	    "requires.",
	    W_SEND_ADMIN, R_AFTER_FIX),

	/* Sender authentication: SPF, DKIM, DMARC. */
	TXT(0, 0, "does not pass dmarc",
	    "Exchange Online refused the message because the sender's domain fails DMARC and its "
	    "policy says reject.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "sender is unauthenticated",
	    "Gmail requires every sender to pass SPF or DKIM, and this message passed neither.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "fails to pass authentication checks",
	    "The message lacks sender authentication or fails it (SPF or DKIM), and Gmail blocks "
	    "it as possible spam.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "must pass either spf or dkim",
	    "Exchange Online accepts mail over IPv6 only if it passes SPF or DKIM, and this "
	    "message passes neither.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "sender policy framework",
	    "The sending IP address is not allowed by the sender domain's SPF record.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "spf fail",
	    "The sender domain's SPF record does not allow the sending IP address, and the "
	    "server's SPF check rejects such mail.",
	    W_SEND_ADMIN, R_AFTER_FIX),

	/* Message format and content. */
	TXT(0, 0, "message is malformed",
	    "Gmail refused the message as badly formatted (broken headers or line endings).",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "messageid header",
	    "Gmail refuses messages without a valid Message-ID header; the sending program must "
	    "add one.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "compliant",
	    "The message breaks the Internet message format rules (RFC 5322), for example a "
	    "missing or duplicated From or Date header.",
	    W_SEND_SIDE, R_AFTER_FIX),
	TXT(0, 0, "bare <lf>",
	    "The message has lines ending in a bare line feed instead of CR LF, which this server "
	    "refuses (a defence against SMTP smuggling).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "bare linefeeds",
	    "The message has lines ending in a bare line feed instead of CR LF, which Exchange "
	    "refuses.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "policy that prohibited",
	    "A rule set by the recipient's (or sender's) Google Workspace administrator blocks "
	    "this message.",
	    W_SENDER | W_RECIPIENT, R_AFTER_FIX),
	TXT(0, 0, "does not allow external forwarding",
	    "The sender's Microsoft 365 organisation blocks automatic forwarding to outside "
	    "addresses, and this message was forwarded.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "unregistered domain",
	    "Microsoft 365 refuses mail from sender domains that are not registered as accepted "
	    "domains of the sending tenant.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "content rejected",
	    "A content rule on the server (header or body checks, a filter) refused the message.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "administrative prohibition",
	    "A local policy rule on the server (an Exim ACL) refused this without giving a reason.",
	    W_BOTH_ADMINS, R_AFTER_FIX),

	/* Mail loops and misrouting. */
	TXT(0, 0, "too many hops",
	    "The message has passed through too many servers: a mail loop between servers.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "hop count exceeded",
	    "The message has passed through too many servers (Exchange counted its Received "
	    "headers): a mail loop, often between connectors or forwarding rules.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "loop detected",
	    "The server saw this message come back to it: a routing loop between servers or "
	    "forwarding rules.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "wrong office 365 region",
	    "The mail reached a Microsoft 365 datacenter that does not host the recipient's tenant "
	    "(a hybrid or connector misrouting).",
	    W_BOTH_ADMINS, R_AFTER_FIX),

	/* Commands in the wrong order. */
	TXT(0, 0, "nested mail command",
	    "A second MAIL FROM was sent while a transaction was still open; the client should "
	    "send RSET first.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V(MAIL), "sender already",
	    "MAIL FROM came again while the transaction already had a sender; the client should "
	    "finish the transaction or send RSET first.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "need mail",
	    "This command is out of order: no sender (MAIL FROM) was accepted first; usually the "
	    "MAIL command before it failed.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "valid rcpt command must precede data",
	    "Exim got DATA without any accepted recipient; the reply quotes why the RCPT commands "
	    "were refused.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "sender not yet given",
	    "Exim got this before an accepted MAIL FROM; usually the MAIL command before it "
	    "failed.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V(DATA), "no valid recipients",
	    "DATA was refused because no recipient was accepted in this transaction: see the RCPT "
	    "replies before it.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V(DATA), "no recipient specified",
	    "DATA came before any recipient was accepted (OpenSMTPD); see the RCPT replies before "
	    "it.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "need rcpt",
	    "This command is out of order: no recipient was accepted first; see the RCPT replies "
	    "before it.",
	    W_SENDER, R_AFTER_FIX),

	/* Commands the server does not understand, and session errors. */
	TXT(5, 0, "unrecognized command",
	    "The server did not understand this command: a typing mistake, a command it does not "
	    "support, or something that is not SMTP at all.",
	    W_SENDER, R_AFTER_FIX),
	TXT(5, 0, "command not recognized",
	    "The server does not know this command: a typing mistake, an extension it does not "
	    "offer, or a client that is not speaking SMTP.",
	    W_SENDER, R_AFTER_FIX),
	TXT(5, 0, "command unrecognized",
	    "The server (or an SMTP proxy in front of it) does not know this command: a typing "
	    "mistake or an extension it does not offer.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "unsupported option",
	    "The client used a MAIL/RCPT parameter (such as SMTPUTF8, SIZE or a DSN option) that "
	    "this server does not offer.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(5, V(BDAT), "syntax: bdat",
	    "The server could not read the BDAT command (bad chunk size or syntax) and, no longer "
	    "knowing where the next command starts, closes the connection.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V(STARTTLS), "tls not available",
	    "The server cannot start TLS right now, usually because its certificate or key is "
	    "missing, expired or unreadable.",
	    W_RECV_ADMIN, R_CLASS),
	TXT(0, V(STARTTLS), "only one starttls",
	    "STARTTLS was sent again although TLS is already active on this connection.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "line too long",
	    "A line was longer than the server allows (SMTP allows 512 bytes for a command and "
	    "1000 for a message line).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "command too long",
	    "The command line is longer than the server accepts (SMTP guarantees 512 bytes per "
	    "command line).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "too many errors",
	    "The client made too many errors in this session, and the server is hanging up.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "too many unauthenticated commands",
	    "Gmail counted too many commands without a login on this connection and closes it.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "timeout",
	    "The server waited too long for the client and is closing the session: a stalled "
	    "client or a network problem (lost packets, MTU issues).",
	    W_SEND_ADMIN, R_CLASS),

	/* Temporary trouble inside the receiving server. */
	TXT(0, 0, "temporary lookup failure",
	    "The server could not look something up in one of its tables or directories (a map, "
	    "LDAP or SQL lookup failed); a fault on the server's side.",
	    W_RECV_ADMIN, R_CLASS),
	TXT(0, 0, "temporary server error",
	    "Exchange Online had an internal problem (proxy or directory) handling this; it is on "
	    "Microsoft's side and usually clears on retry.",
	    W_RECV_ADMIN, R_CLASS),
	TXT(0, 0, "temporary system problem",
	    "Gmail had an internal problem taking this message; a later retry usually works.",
	    W_RECV_ADMIN, R_CLASS),
	TXT(0, 0, "queue file write error",
	    "The server could not write the message to its queue (disk full or a filesystem "
	    "error).",
	    W_RECV_ADMIN, R_CLASS),
	TXT(0, 0, "service unavailable - try again later",
	    "A mail filter (milter) or policy service of the server asked to defer this, often "
	    "because that filter is down or overloaded.",
	    W_RECV_ADMIN, R_CLASS),

	/* Generic words, last. */
	TXT(0, 0, "virus",
	    "A content filter found malware in the message and refused it.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "dmarc",
	    "The message failed the sender domain's DMARC policy (SPF/DKIM did not align), and the "
	    "domain asks receivers to refuse such mail.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "access denied",
	    "The server's access rules refuse this client, sender or recipient (an access table or "
	    "connector setting).",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	TXT(0, 0, "spam",
	    "A content or reputation filter judged the message or the client to be spam.",
	    W_SEND_SIDE, R_AFTER_FIX),

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
	ENH("1.0", "The server has a problem with an address but gives no specific reason; the "
		   "reply text should name which address.", W_SENDER, R_CLASS),
	ENH("1.1", "The recipient's mailbox does not exist here: a typing mistake, or an account "
		   "that was removed.", W_ADDRESS, R_AFTER_FIX),
	ENH("1.2", "The recipient's domain cannot receive mail: it does not exist or has no mail "
		   "server.", W_SENDER, R_AFTER_FIX),
	ENH("1.3", "The recipient's address is malformed.", W_SENDER, R_AFTER_FIX),
	ENH("1.4", "The recipient's address is ambiguous: it matches more than one mailbox.",
	    W_SENDER, R_AFTER_FIX),
	ENH("1.6", "The mailbox used to exist but has moved, and the server knows no forwarding "
		   "address.", W_SENDER, R_AFTER_FIX),
	ENH("1.7", "The sender's address is malformed or refused.", W_SENDER, R_AFTER_FIX),
	ENH("1.8", "The sender's domain is not valid for mail (it does not exist in DNS).",
	    W_SEND_SIDE, R_AFTER_FIX),
	ENH("1.10", "The recipient's domain says it accepts no mail at all (null MX).", W_SENDER,
	    R_AFTER_FIX),
	ENH("2.0", "The recipient's mailbox has a problem the server does not detail.", W_RECIPIENT,
	    R_CLASS),
	ENH("2.1", "The recipient's mailbox is disabled and not accepting messages.",
	    W_RECIPIENT | W_RECV_ADMIN, R_CLASS),
	ENH("2.2", "The recipient's mailbox is full.", W_RECIPIENT, R_CLASS),
	ENH("2.3", "The message is longer than the recipient's mailbox accepts.", W_SENDER,
	    R_AFTER_FIX),
	ENH("2.4", "The recipient is a mailing list that could not be expanded into its members.",
	    W_RECV_ADMIN, R_CLASS),
	ENH("3.0", "The receiving mail system has a problem it does not detail.", W_RECV_ADMIN,
	    R_CLASS),
	ENH("3.1", "The receiving mail system is out of storage.", W_RECV_ADMIN, R_CLASS),
	ENH("3.2", "The receiving system is not accepting network messages right now.",
	    W_RECV_ADMIN, R_CLASS),
	ENH("3.3", "The receiving system cannot handle a feature this message needs (for example "
		   "8-bit data or a special transfer mode).", W_BOTH_ADMINS, R_AFTER_FIX),
	ENH("3.4", "The message is too big for the receiving system.", W_SENDER | W_RECV_ADMIN,
	    R_AFTER_FIX),
	ENH("3.5", "The receiving system is not configured correctly.", W_RECV_ADMIN, R_CLASS),
	ENH("4.0", "A network or routing problem that the server does not detail.", W_RECV_ADMIN,
	    R_CLASS),
	ENH("4.1", "The next server did not answer.", W_RECV_ADMIN, R_CLASS),
	ENH("4.2", "The connection to the next server was bad or timed out.", W_RECV_ADMIN,
	    R_CLASS),
	ENH("4.3", "A DNS lookup failed (directory server failure).", W_RECV_ADMIN, R_CLASS),
	ENH("4.4", "The server found no route to deliver the message.", W_RECV_ADMIN, R_CLASS),
	ENH("4.5", "The mail system is congested.", W_RECV_ADMIN, R_CLASS),
	ENH("4.6", "A routing loop was detected: the message came back to a server it passed.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	ENH("4.7", "The message was too old to deliver (delivery time expired).", W_RECV_ADMIN,
	    R_CLASS),
	ENH("5.0", "A protocol problem that the server does not detail.", W_SEND_ADMIN, R_CLASS),
	ENH("5.1", "The command is not valid here: out of order, or not supported.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	ENH("5.2", "The command has a syntax error.", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("5.3", "Too many recipients for one transaction: the others must go in another "
		   "transaction.", W_SEND_ADMIN, R_CLASS),
	ENH("5.4", "The command's arguments are not valid (for example a malformed EHLO name or "
		   "an unknown parameter).", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("5.5", "The two sides could not agree on a protocol version.", W_BOTH_ADMINS,
	    R_AFTER_FIX),
	ENH("5.6", "The AUTH line was too long.", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("6.0", "The message content or its format caused the failure; no more detail is "
		   "given.", W_SENDER, R_AFTER_FIX),
	ENH("6.1", "The message uses a media type (MIME) that the path cannot carry.", W_SENDER,
	    R_AFTER_FIX),
	ENH("6.2", "The message would need converting (for example 8-bit to 7-bit), but "
		   "conversion is not allowed.", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("6.3", "The message would need converting, but the server cannot do it.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("6.4", "The message was (or would have to be) converted with a loss of content.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("6.5", "Converting the message failed.", W_RECV_ADMIN, R_CLASS),
	ENH("6.6", "The server could not fetch the message content from where it was referenced "
		   "(BURL).", W_SEND_ADMIN, R_CLASS),
	ENH("6.7", "The address has non-ASCII characters and the server does not support SMTPUTF8.",
	    W_SENDER, R_AFTER_FIX),
	ENH("6.8", "A reply would need UTF-8 text, which this client has not enabled (SMTPUTF8).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("6.9", "The message has UTF-8 headers that cannot be passed to a recipient whose "
		   "server lacks SMTPUTF8.", W_SENDER, R_AFTER_FIX),
	ENH("6.10", "A UTF-8 reply is needed but the client does not allow one (a deprecated "
		    "duplicate of X.6.8).", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.0", "Refused by security or policy, without a more specific reason.",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	ENH("7.1", "Refused by policy: this client or sender is not allowed to do this here "
		   "(relaying, a blocklist, missing login, or a sender rule).",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	ENH("7.2", "The sender may not send to this mailing list.", W_SENDER | W_RECV_ADMIN,
	    R_AFTER_FIX),
	ENH("7.3", "A security conversion the message needs (such as re-encrypting it) is not "
		   "possible.", W_BOTH_ADMINS, R_AFTER_FIX),
	ENH("7.4", "A security feature asked for (such as this login method) is not supported "
		   "here.", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.5", "A cryptographic check failed (missing or bad keys or certificates).",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	ENH("7.6", "The message uses a cryptographic algorithm the server does not support.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.7", "The message failed an integrity check: it was changed or damaged on the way.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.8", "The login was refused: the credentials are not valid.", W_SENDER, R_AFTER_FIX),
	ENH("7.9", "The login method is too weak for this server's policy.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	ENH("7.10", "An encrypted connection is needed for this (encryption required by policy).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.11", "This login method requires an encrypted connection (STARTTLS first).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.12", "A password transition is needed: log in once with PLAIN over TLS.", W_SENDER,
	    R_AFTER_FIX),
	ENH("7.13", "The user's account is disabled.", W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	ENH("7.14", "The submission server needs a trust relationship with the next server, and "
		    "there is none.", W_BOTH_ADMINS, R_AFTER_FIX),
	ENH("7.15", "The message's priority (MT-PRIORITY) is too low for this server to accept "
		    "now.", W_SEND_ADMIN, R_CLASS),
	ENH("7.16", "The message is too big for the priority it asks for.", W_SENDER, R_AFTER_FIX),
	ENH("7.17", "The mailbox has changed owner since the date the sender gave (RRVS), so the "
		    "mail is not delivered to the new owner.", W_SENDER, R_AFTER_FIX),
	ENH("7.18", "The recipient's domain has changed owner since the date the sender gave "
		    "(RRVS).", W_SENDER, R_AFTER_FIX),
	ENH("7.19", "The server cannot carry out the requested check of how long the mailbox has "
		    "existed (RRVS).", W_SEND_ADMIN, R_CLASS),
	ENH("7.20", "No valid DKIM signature was found, which the receiver requires.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.21", "The message has DKIM signatures, but none that the receiver's policy "
		    "accepts.", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.22", "No valid DKIM signature matches the author's (From) domain.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	ENH("7.23", "SPF check failed: the sending IP is not allowed for the sender's domain.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.24", "SPF could not be evaluated because of an error (a broken SPF record or a DNS "
		    "failure).", W_SEND_ADMIN, R_CLASS),
	ENH("7.25", "Reverse DNS check failed for the client's IP address.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	ENH("7.26", "The message failed several sender authentication checks (SPF, DKIM, DMARC).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.27", "The sender's domain accepts no mail (null MX), so it may not send either.",
	    W_SENDER, R_AFTER_FIX),
	ENH("7.28", "The receiver sees this as part of a flood of similar unwanted messages and "
		    "throttles or blocks it.", W_SEND_ADMIN, R_CLASS),
	ENH("7.29", "The message failed ARC validation (the chain that vouches for forwarded mail "
		    "is broken).", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.30", "The message asks for REQUIRETLS, and the next server does not support it.",
	    W_SEND_ADMIN, R_AFTER_FIX),

	/* Enhanced class.subject (RFC 3463 3.x), for details outside the registry. */
	ENHC2V(V_NOT_VERIFY, "1", "The address was accepted."),
	ENHC("1", "A problem with an address (sender or recipient).", W_SENDER, R_CLASS),
	ENHC("2", "A problem with the recipient's mailbox.", W_RECIPIENT, R_CLASS),
	ENHC("3", "A problem in the receiving mail system.", W_RECV_ADMIN, R_CLASS),
	ENHC("4", "A network or routing problem on the way to the destination.", W_RECV_ADMIN,
	     R_CLASS),
	ENHC("5", "A problem with the SMTP protocol exchange itself.", W_SEND_ADMIN, R_CLASS),
	ENHC("6", "A problem with the message content or its format.", W_SENDER, R_CLASS),
	ENHC("7", "Refused for security or policy reasons.", W_BOTH_ADMINS, R_CLASS),

	/*
	 * Basic codes in the context of the command they answer (RFC 5321
	 * 4.3.2; RFC 3207 for STARTTLS, RFC 4954 for AUTH, RFC 1985 for ETRN,
	 * RFC 3030 for BDAT, RFC 7504 for 521). Command-specific rows first,
	 * the rows for any command after them.
	 */
	CTX(V(CONNECT), 220, "The server is ready and greets the client.", 0, R_CLASS),
	CTX(V(CONNECT), 421, "The server will not talk now and is closing the connection: it is "
			     "busy, shutting down, or limits this client.", W_RECV_ADMIN, R_CLASS),
	CTX(V(CONNECT), 554, "The server refuses this client at the door: typically its IP "
			     "address is blocked or not allowed.", W_BOTH_ADMINS, R_AFTER_FIX),
	CTX(V(CONNECT), 521, "This host does not accept mail at all.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(EHLO), 250, "EHLO accepted: the server lists the extensions the client may use.", 0,
	    R_CLASS),
	CTX(V(HELO), 250, "HELO accepted (plain SMTP, no extensions).", 0, R_CLASS),
	CTX(V(EHLO) | V(HELO), 501, "The name after EHLO/HELO is missing or malformed.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(EHLO), 502, "The server does not implement EHLO; HELO may work.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(V(MAIL), 250, "Sender accepted.", 0, R_CLASS),
	CTX(V(MAIL), 550, "The sender was refused (by address or by policy).",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(V(MAIL), 553, "The sender's address is not allowed here (malformed, or not permitted "
			  "for this client).", W_SENDER, R_AFTER_FIX),
	CTX(V(MAIL), 503, "MAIL out of order: a transaction is already open, or EHLO/HELO (or a "
			  "required login) has not been done yet.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(MAIL), 501, "The sender address or a MAIL parameter has a syntax error.", W_SEND_SIDE,
	    R_AFTER_FIX),
	CTX(V(MAIL), 452, "The server is short of storage for this transaction right now.",
	    W_RECV_ADMIN, R_CLASS),
	CTX(V(MAIL) | V(RCPT), 455, "The server cannot accommodate a MAIL/RCPT parameter right now "
				    "(such as the declared size).", W_RECV_ADMIN, R_CLASS),
	CTX(V(MAIL) | V(RCPT), 555, "The client used a MAIL/RCPT parameter the server did not "
				    "offer in its EHLO reply.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(RCPT), 250, "Recipient accepted (the message is not delivered yet).", 0, R_CLASS),
	CTX(V(RCPT), 251, "Recipient accepted; the server will forward to another address.", 0,
	    R_CLASS),
	CTX(V(RCPT), 550, "The recipient was refused: the mailbox does not exist, or policy "
			  "(relaying, blocklist) forbids it.", W_ADDRESS, R_AFTER_FIX),
	CTX(V(RCPT), 551, "The recipient is not local to this server; the reply may name where to "
			  "send instead.", W_SENDER, R_AFTER_FIX),
	CTX(V(RCPT), 552, "The recipient's mailbox is out of space.", W_RECIPIENT, R_CLASS),
	CTX(V(RCPT), 553, "The recipient's address is not allowed (bad syntax or name).", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(RCPT), 450, "The recipient's mailbox is unavailable for now (busy, being verified, "
			  "or greylisted).", W_RECV_ADMIN, R_CLASS),
	CTX(V(RCPT), 451, "The server hit a local problem while checking this recipient (a lookup "
			  "or filter failure).", W_RECV_ADMIN, R_CLASS),
	CTX(V(RCPT), 452, "The server takes no more recipients in this transaction for now (too "
			  "many recipients, or short of storage); send the rest later.",
	    W_SEND_ADMIN, R_CLASS),
	CTX(V(RCPT), 503, "RCPT out of order: no sender was accepted first.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(DATA), 354, "The server is ready for the message; the client sends it and ends "
			  "with a line holding only a dot.", 0, R_CLASS),
	CTX(V(DATA), 554, "DATA refused: no valid recipient, or the transaction was refused.",
	    W_SENDER, R_AFTER_FIX),
	CTX(V(DATA), 503, "DATA out of order: no recipient was accepted first.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(DOT), 250, "Message accepted: the server has taken responsibility for delivering it.",
	    0, R_CLASS),
	CTX(V(BDAT), 250, "Chunk accepted; after the last chunk (BDAT ... LAST) this means the "
			  "server took the message.", 0, R_CLASS),
	CTX(V_END, 550, "The message was refused after it was sent, by a content or policy "
			"filter.", W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(V_END, 554, "The message was refused after it was sent (content, policy, or "
			"transaction failure).", W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(V_END, 552, "The message is larger than the server allows.", W_SENDER, R_AFTER_FIX),
	CTX(V_END, 450, "The message was not taken for now, after it was sent (a policy or "
			"content check deferred it).", W_RECV_ADMIN, R_CLASS),
	CTX(V_END, 451, "The server hit a local error while taking the message.", W_RECV_ADMIN,
	    R_CLASS),
	CTX(V_END, 452, "The server is short of storage to take the message now.", W_RECV_ADMIN,
	    R_CLASS),
	CTX(V(RSET), 250, "Transaction reset: the server forgot any sender and recipients.", 0,
	    R_CLASS),
	CTX(V(NOOP), 250, "NOOP answered: the connection is alive.", 0, R_CLASS),
	CTX(V(QUIT), 221, "The server closes the session normally.", 0, R_CLASS),
	CTX(V(VRFY) | V(EXPN), 250, "The address was confirmed.", 0, R_CLASS),
	CTX(V(VRFY) | V(EXPN), 252, "The server will not confirm the address but will try to "
				    "deliver to it (address checks are usually disabled).", 0,
	    R_CLASS),
	CTX(V(VRFY) | V(EXPN), 502, "The server has address verification turned off (a common "
				    "hardening).", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(VRFY) | V(EXPN), 550, "The server does not know this address.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(HELP), 214, "Help text from the server.", 0, R_CLASS),
	CTX(V(HELP), 211, "System status from the server.", 0, R_CLASS),
	CTX(V(STARTTLS), 220, "The server agrees to start TLS: everything after this should be "
			      "encrypted.", 0, R_CLASS),
	CTX(V(STARTTLS), 454, "TLS is not available right now (often a certificate or key "
			      "problem on the server).", W_RECV_ADMIN, R_CLASS),
	CTX(V(STARTTLS), 501, "STARTTLS takes no arguments.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(STARTTLS), 554, "TLS is already active, or refused by policy.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(V_AUTHS, 334, "The server asks for the next step of the login.", 0, R_CLASS),
	CTX(V_AUTHS, 235, "Login succeeded.", 0, R_CLASS),
	CTX(V_AUTHS, 535, "Login refused: the server did not accept the user name and password.",
	    W_SENDER, R_AFTER_FIX),
	CTX(V_AUTHS, 534, "Login refused: this server's policy wants a stronger login method.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V_AUTHS, 538, "This login method needs an encrypted connection (STARTTLS first).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V_AUTHS, 432, "The server needs a password transition: log in once with PLAIN over "
			  "an encrypted connection.", W_SENDER, R_AFTER_FIX),
	CTX(V_AUTHS, 504, "The server does not support this login mechanism.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(V_AUTHS, 503, "AUTH is not allowed at this point (not offered, already logged in, or "
			  "inside a transaction).", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V_AUTHS, 501, "The login was cancelled or its data was malformed.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(ETRN), 250, "ETRN accepted: the server starts delivering the mail it holds for that "
			  "domain.", 0, R_CLASS),
	CTX(V(ETRN), 251, "ETRN accepted, but no mail is waiting for that domain.", 0, R_CLASS),
	CTX(V(ETRN), 252, "ETRN accepted: delivery of the waiting mail for that domain has "
			  "started.", 0, R_CLASS),
	CTX(V(ETRN), 253, "ETRN accepted: the server starts delivering the waiting messages it "
			  "counts in the reply.", 0, R_CLASS),
	CTX(V(ETRN), 458, "The server cannot start delivery for that domain now.", W_RECV_ADMIN,
	    R_CLASS),
	CTX(V(ETRN), 459, "The server does not allow ETRN for that domain (or for this client).",
	    W_BOTH_ADMINS, R_AFTER_FIX),
	CTX(0, 211, "A status reply from the server.", 0, R_CLASS),
	CTX(0, 214, "A help message from the server.", 0, R_CLASS),
	CTX(0, 220, "Service ready: a greeting, or the go-ahead for TLS.", 0, R_CLASS),
	CTX(0, 221, "The server is closing the connection normally.", 0, R_CLASS),
	CTX(0, 235, "Authentication succeeded.", 0, R_CLASS),
	CTX(0, 250, "Accepted.", 0, R_CLASS),
	CTX(0, 251, "Accepted; the server will forward the mail to another address.", 0, R_CLASS),
	CTX(0, 252, "The server cannot verify the address but will accept mail for it.", 0,
	    R_CLASS),
	CTX(0, 334, "The server waits for the next step of a login exchange.", 0, R_CLASS),
	CTX(0, 354, "The server waits for the message itself, ended by a line with a single "
		    "dot.", 0, R_CLASS),
	CTX(0, 421, "The server is closing the connection (busy, shutting down, or too many "
		    "errors).", W_RECV_ADMIN, R_CLASS),
	CTX(0, 432, "A password transition is needed before this login can work.", W_SENDER,
	    R_AFTER_FIX),
	CTX(0, 450, "The action was not taken for now (mailbox busy or unavailable).",
	    W_RECV_ADMIN, R_CLASS),
	CTX(0, 451, "The server hit a local error and did not complete the action.", W_RECV_ADMIN,
	    R_CLASS),
	CTX(0, 452, "Not done for now: the server is short of storage or of room in this "
		    "transaction.", W_RECV_ADMIN, R_CLASS),
	CTX(0, 454, "A temporary failure of TLS or of the login backend on the server.",
	    W_RECV_ADMIN, R_CLASS),
	CTX(0, 455, "The server cannot accommodate the command's parameters right now.",
	    W_RECV_ADMIN, R_CLASS),
	CTX(0, 500, "The server did not understand this line.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 501, "The command's arguments have a syntax error.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 502, "The server does not implement this command.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 503, "Command out of order for this point of the session.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(0, 504, "A parameter of this command is not implemented.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 521, "This server does not accept mail (RFC 7504).", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 530, "The server requires a login (AUTH), or encryption first, before this "
		    "command.", W_SEND_SIDE, R_AFTER_FIX),
	CTX(0, 534, "The chosen login method is too weak for the server's policy.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(0, 535, "The login credentials were not accepted.", W_SENDER, R_AFTER_FIX),
	CTX(0, 538, "This login method is allowed only over an encrypted connection.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 550, "The action was refused (mailbox unavailable or policy).", W_ADDRESS,
	    R_AFTER_FIX),
	CTX(0, 551, "The user is not local to this server.", W_SENDER, R_AFTER_FIX),
	CTX(0, 552, "Storage allocation exceeded: the message is too big or a mailbox is full.",
	    W_SENDER | W_RECIPIENT, R_AFTER_FIX),
	CTX(0, 553, "The mailbox name is not allowed (bad address syntax).", W_SENDER, R_AFTER_FIX),
	CTX(0, 554, "The transaction failed, or the server refuses this client.", W_BOTH_ADMINS,
	    R_AFTER_FIX),
	CTX(0, 555, "A MAIL/RCPT parameter is not recognized or not implemented.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(0, 556, "The recipient's domain does not accept mail (RFC 7504).", W_SENDER,
	    R_AFTER_FIX),

	/* First digit alone (RFC 5321 4.2.1). */
	DIG(2, "Accepted (a success code this tool has no specific entry for)."),
	DIG(3, "Accepted so far; the server waits for more from the client."),
	DIG(4, "Temporary failure: the server did not do it now."),
	DIG(5, "Permanent failure: the server refused it."),
};

const size_t kb_count = sizeof(kb) / sizeof(kb[0]);
