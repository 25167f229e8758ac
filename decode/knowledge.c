/*
 * knowledge.c - the knowledge base, one table, reviewed as a whole.
 *
 * Within a level, entries are tried top to bottom, so put the narrower entry
 * (a given command, a longer phrase) above the broader one. The texts are
 * ours; the facts come from RFC 5321, 3463, 2034, 3207, 4954, 1870, 3030,
 * 7372, 7504, 7505, 6531 and the servers' own reply lists (see the survey in
 * ../shared/reference). A phrase is matched case-insensitively anywhere in
 * the reply text. Entries without a class apply to failures (4xx, 5xx) only.
 */
#include "knowledge.h"

const struct kb kb[] = {
	/* Known server texts (Postfix, Exim, Exchange, Gmail, ...), failures first. */
	TXT(5, 0, "unrecognized command",
	    "The server did not understand this command: a typing mistake, a command it does not "
	    "support, or something that is not SMTP at all.",
	    W_SENDER, R_AFTER_FIX),
	TXT(5, 0, "command not recognized",
	    "The server did not understand this command: a typing mistake, a command it does not "
	    "support, or something that is not SMTP at all.",
	    W_SENDER, R_AFTER_FIX),
	TXT(5, 0, "command unrecognized",
	    "The server did not understand this command: a typing mistake, a command it does not "
	    "support, or something that is not SMTP at all.",
	    W_SENDER, R_AFTER_FIX),
	TXT(5, V(EHLO) | V(HELO), "invalid domain name",
	    "The name given with EHLO/HELO was refused as invalid: it has characters a host name "
	    "cannot have, or the server restricts which clients may connect.",
	    W_SEND_ADMIN | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, V(EHLO) | V(HELO), "need fully-qualified hostname",
	    "The server wants a full host name (like mail.example.com) after EHLO/HELO, not a short "
	    "name such as 'localhost'.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V(EHLO) | V(HELO) | V_ENVELOPE, "helo command rejected: host not found",
	    "The name the client gave with EHLO/HELO does not exist in DNS, so the server will not "
	    "take mail from it.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "relay access denied",
	    "The server is not the destination for this recipient's domain and will not pass the "
	    "mail on for this client: the client did not log in, is not in the server's trusted "
	    "networks, or sent to the wrong server.",
	    W_SEND_ADMIN | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "unable to relay",
	    "The server is not the destination for this recipient's domain and will not pass the "
	    "mail on for this client: the client did not log in, is not allowed to relay, or sent "
	    "to the wrong server.",
	    W_SEND_ADMIN | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "relaying denied",
	    "The server will not pass mail on to other domains for this client (no relaying "
	    "without permission or login).",
	    W_SEND_ADMIN | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(4, 0, "greylist",
	    "Greylisting: the server turns away the first attempt from an unknown sender on "
	    "purpose and accepts a later retry; this is normal.",
	    W_SEND_ADMIN, R_SOON),
	TXT(0, 0, "blocked using",
	    "The client's IP address is on a DNS blocklist the server consults, so its mail is "
	    "refused.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "spamhaus",
	    "The client's IP address is listed by Spamhaus, a blocklist the server consults, so its "
	    "mail is refused.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "client was not authenticated",
	    "The server accepts mail only from clients that have logged in (AUTH), and this one has "
	    "not; an anonymous or test connection to a submission-only service gets this.",
	    W_SENDER | W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "authentication required",
	    "The server accepts mail only after the client logs in (AUTH), and it has not.",
	    W_SENDER | W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "must issue a starttls command first",
	    "The server requires encryption before this command: the client must send STARTTLS "
	    "first.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V(MAIL), "invalid address",
	    "The sender's address (MAIL FROM) was refused as malformed: a syntax error such as "
	    "missing angle brackets, spaces or invalid characters.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V(RCPT), "invalid address",
	    "The recipient's address was refused as malformed: check its spelling and syntax.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "bad sender address syntax",
	    "The sender's address (MAIL FROM) is malformed: a syntax error such as missing angle "
	    "brackets, spaces or invalid characters.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "bad recipient address syntax",
	    "The recipient's address is malformed: a syntax error such as missing angle brackets or "
	    "invalid characters.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "sender address rejected: domain not found",
	    "The sender's domain does not exist in DNS, so the server refuses mail from it (bounces "
	    "could not be delivered back).",
	    W_SENDER | W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, V_ENVELOPE, "recipient address rejected: domain not found",
	    "The recipient's domain does not exist in DNS: probably a typing mistake in the "
	    "address.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, V(MAIL) | V(RCPT), "not owned by user",
	    "The logged-in user is not allowed to send with this sender address.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(5, 0, "user unknown",
	    "The recipient's mailbox does not exist on this server: a typing mistake, a deleted or "
	    "renamed account, or a missing alias.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(5, 0, "recipient not found",
	    "The recipient's mailbox does not exist on this server: a typing mistake, a deleted or "
	    "renamed account, or a directory that is out of date.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(5, 0, "no such user",
	    "The recipient's mailbox does not exist on this server.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(5, 0, "does not exist",
	    "The address does not exist on this server: check the spelling.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "mailbox full",
	    "The recipient's mailbox is full (over its storage quota).",
	    W_RECIPIENT, R_CLASS),
	TXT(0, 0, "over quota",
	    "The recipient's mailbox is over its storage quota.",
	    W_RECIPIENT, R_CLASS),
	TXT(0, 0, "quota exceeded",
	    "The recipient's mailbox is over its storage quota.",
	    W_RECIPIENT, R_CLASS),
	TXT(0, 0, "message size exceeds",
	    "The message is larger than this server accepts: send it smaller (attachments grow by "
	    "about a third when encoded) or ask for a higher limit.",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "too many recipients",
	    "The message has more recipients than the server takes in one transaction; the rest "
	    "must be sent in another transaction.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "cannot find your hostname",
	    "The client's IP address has no working reverse DNS (PTR) name, or the name does not "
	    "point back to the address, and the server requires one.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "ptr record",
	    "The client's IP address has no working reverse DNS (PTR) record, which this server "
	    "requires.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "dmarc",
	    "The message failed the sender domain's DMARC policy (SPF/DKIM did not align), and the "
	    "domain asks receivers to refuse such mail.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "sender policy framework",
	    "The sending IP address is not allowed by the sender domain's SPF record.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "protocol synchronization",
	    "The client sent commands before the server had answered (talking too early, or "
	    "pipelining without the server's consent); spam software typically does this.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "too many connections",
	    "The client has more connections open to this server than it allows at once.",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, 0, "too many errors",
	    "The client made too many errors in this session, and the server is hanging up.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "timeout exceeded",
	    "The server waited too long for the client and is closing the session: a stalled "
	    "client or a network problem (lost packets, MTU issues).",
	    W_SEND_ADMIN, R_CLASS),
	TXT(0, V(DATA), "no valid recipients",
	    "DATA was refused because no recipient was accepted in this transaction: see the RCPT "
	    "replies before it.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "need mail command",
	    "This command is out of order: no sender (MAIL FROM) was accepted first; usually the "
	    "MAIL command before it failed.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "need rcpt command",
	    "This command is out of order: no recipient was accepted first; see the RCPT replies "
	    "before it.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "nested mail command",
	    "A second MAIL FROM was sent while a transaction was still open; the client should send "
	    "RSET first.",
	    W_SEND_ADMIN, R_AFTER_FIX),
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
	TXT(0, 0, "virus",
	    "A content filter found malware in the message and refused it.",
	    W_SENDER, R_AFTER_FIX),
	TXT(0, 0, "spam",
	    "A content or reputation filter judged the message or the client to be spam.",
	    W_SENDER | W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "too many hops",
	    "The message has passed through too many servers: a mail loop between servers.",
	    W_RECV_ADMIN | W_SEND_ADMIN, R_AFTER_FIX),
	TXT(0, 0, "line too long",
	    "A line was longer than the server allows (SMTP allows 512 bytes for a command and 1000 "
	    "for a message line).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	TXT(2, V_END, "queued",
	    "Message accepted: the server has taken responsibility for delivering it; the queue id "
	    "in the reply finds it in the server's logs.",
	    0, R_CLASS),
	TXT(2, V_END, "message accepted",
	    "Message accepted: the server has taken responsibility for delivering it.",
	    0, R_CLASS),

	/* Exact enhanced codes (RFC 3463 and registry), by subject.detail. */
	ENH2("1.5", "Recipient accepted: the address is valid here (not delivered yet)."),
	ENH("1.1", "The recipient's mailbox does not exist here: a typing mistake, or an account "
		   "that was removed.", W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	ENH("1.2", "The recipient's domain cannot receive mail: it does not exist or has no mail "
		   "server.", W_SENDER, R_AFTER_FIX),
	ENH("1.3", "The recipient's address is malformed.", W_SENDER, R_AFTER_FIX),
	ENH("1.4", "The recipient's address is ambiguous: it matches more than one mailbox.",
	    W_SENDER, R_AFTER_FIX),
	ENH("1.6", "The mailbox has moved and there is no forwarding address.", W_SENDER,
	    R_AFTER_FIX),
	ENH("1.7", "The sender's address is malformed or refused.", W_SENDER, R_AFTER_FIX),
	ENH("1.8", "The sender's domain is not valid for mail (it does not exist in DNS).",
	    W_SENDER | W_SEND_ADMIN, R_AFTER_FIX),
	ENH("1.10", "The recipient's domain says it accepts no mail at all (null MX).", W_SENDER,
	    R_AFTER_FIX),
	ENH("2.1", "The recipient's mailbox is disabled and not accepting messages.",
	    W_RECIPIENT | W_RECV_ADMIN, R_CLASS),
	ENH("2.2", "The recipient's mailbox is full.", W_RECIPIENT, R_CLASS),
	ENH("2.3", "The message is longer than the recipient's mailbox accepts.", W_SENDER,
	    R_AFTER_FIX),
	ENH("3.1", "The receiving mail system is out of storage.", W_RECV_ADMIN, R_CLASS),
	ENH("3.2", "The receiving system is not accepting network messages right now.",
	    W_RECV_ADMIN, R_CLASS),
	ENH("3.4", "The message is too big for the receiving system.", W_SENDER | W_RECV_ADMIN,
	    R_AFTER_FIX),
	ENH("3.5", "The receiving system is not configured correctly.", W_RECV_ADMIN, R_CLASS),
	ENH("4.1", "The next server did not answer.", W_RECV_ADMIN, R_CLASS),
	ENH("4.2", "The connection to the next server was bad or timed out.", W_RECV_ADMIN, R_CLASS),
	ENH("4.3", "A DNS lookup failed (directory server failure).", W_RECV_ADMIN, R_CLASS),
	ENH("4.4", "The server found no route to deliver the message.", W_RECV_ADMIN, R_CLASS),
	ENH("4.5", "The mail system is congested.", W_RECV_ADMIN, R_CLASS),
	ENH("4.6", "A routing loop was detected: the message came back to a server it passed.",
	    W_RECV_ADMIN | W_SEND_ADMIN, R_AFTER_FIX),
	ENH("4.7", "The message was too old to deliver (delivery time expired).", W_RECV_ADMIN,
	    R_CLASS),
	ENH("5.1", "The command is not valid here: out of order, or not supported.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	ENH("5.2", "The command has a syntax error.", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("5.3", "Too many recipients for one transaction.", W_SEND_ADMIN, R_CLASS),
	ENH("5.4", "The command's arguments are not valid (for example a malformed EHLO name or "
		   "an unknown parameter).", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("5.6", "The AUTH line was too long.", W_SEND_ADMIN, R_AFTER_FIX),
	ENH("6.7", "The address has non-ASCII characters and the server does not support SMTPUTF8.",
	    W_SENDER, R_AFTER_FIX),
	ENH("7.0", "Refused by security or policy.", W_SEND_ADMIN | W_RECV_ADMIN, R_AFTER_FIX),
	ENH("7.1", "Refused by policy: this client or sender is not allowed to do this here "
		   "(relaying, a blocklist, missing login, or a sender rule).",
	    W_SEND_ADMIN | W_RECV_ADMIN, R_AFTER_FIX),
	ENH("7.8", "The login was refused: the credentials are not valid.", W_SENDER, R_AFTER_FIX),
	ENH("7.9", "The login method is too weak for this server's policy.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	ENH("7.11", "This login method requires an encrypted connection (STARTTLS first).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.12", "A password transition is needed: log in once with PLAIN over TLS.", W_SENDER,
	    R_AFTER_FIX),
	ENH("7.13", "The user's account is disabled.", W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	ENH("7.20", "No valid DKIM signature was found, which the receiver requires.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.23", "SPF check failed: the sending IP is not allowed for the sender's domain.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.25", "Reverse DNS check failed for the client's IP address.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	ENH("7.26", "The message failed several sender authentication checks (SPF, DKIM, DMARC).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	ENH("7.27", "The sender's domain accepts no mail (null MX), so it may not send either.",
	    W_SENDER, R_AFTER_FIX),

	/* Enhanced class.subject (RFC 3463 3.x). */
	ENHC2("1", "The address was accepted."),
	ENHC("1", "A problem with an address (sender or recipient).", W_SENDER, R_CLASS),
	ENHC("2", "A problem with the recipient's mailbox.", W_RECIPIENT, R_CLASS),
	ENHC("3", "A problem in the receiving mail system.", W_RECV_ADMIN, R_CLASS),
	ENHC("4", "A network or routing problem on the way to the destination.", W_RECV_ADMIN,
	     R_CLASS),
	ENHC("5", "A problem with the SMTP protocol exchange itself.", W_SEND_ADMIN, R_CLASS),
	ENHC("6", "A problem with the message content or its format.", W_SENDER, R_CLASS),
	ENHC("7", "Refused for security or policy reasons.", W_SEND_ADMIN | W_RECV_ADMIN, R_CLASS),

	/* Basic codes in the context of the command they answer (RFC 5321 4.3.2). */
	CTX(V(CONNECT), 220, "The server is ready and greets the client.", 0, R_CLASS),
	CTX(V(CONNECT), 421, "The server will not talk now and is closing the connection: it is "
			     "busy, shutting down, or limits this client.", W_RECV_ADMIN, R_CLASS),
	CTX(V(CONNECT), 554, "The server refuses this client at the door: typically its IP "
			     "address is blocked or not allowed.", W_SEND_ADMIN | W_RECV_ADMIN,
	    R_AFTER_FIX),
	CTX(V(CONNECT), 521, "This host does not accept mail at all.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(EHLO), 250, "EHLO accepted: the server lists the extensions the client may use.", 0,
	    R_CLASS),
	CTX(V(HELO), 250, "HELO accepted (plain SMTP, no extensions).", 0, R_CLASS),
	CTX(V(EHLO) | V(HELO), 501, "The name after EHLO/HELO is missing or malformed.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(EHLO) | V(HELO), 504, "The server refuses this EHLO/HELO name by policy.",
	    W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(EHLO), 500, "The server (or a firewall in between) does not understand EHLO; HELO "
			  "may work.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(EHLO), 502, "The server does not implement EHLO; HELO may work.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(V(MAIL), 250, "Sender accepted.", 0, R_CLASS),
	CTX(V(MAIL), 550, "The sender was refused (by address or by policy).",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(V(MAIL), 553, "The sender's address is not allowed here.", W_SENDER, R_AFTER_FIX),
	CTX(V(MAIL), 552, "The declared message size is above the server's limit.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(MAIL) | V(RCPT), 452, "The server is short of storage for this transaction right "
				    "now.", W_RECV_ADMIN, R_CLASS),
	CTX(V(MAIL) | V(RCPT), 555, "The client used a MAIL/RCPT parameter the server did not "
				    "offer in its EHLO reply.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V(RCPT), 250, "Recipient accepted (the message is not delivered yet).", 0, R_CLASS),
	CTX(V(RCPT), 251, "Recipient accepted; the server will forward to another address.", 0,
	    R_CLASS),
	CTX(V(RCPT), 550, "The recipient was refused: the mailbox does not exist, or policy "
			  "(relaying, blocklist) forbids it.", W_SENDER | W_RECV_ADMIN,
	    R_AFTER_FIX),
	CTX(V(RCPT), 551, "The recipient is not local to this server.", W_SENDER, R_AFTER_FIX),
	CTX(V(RCPT), 552, "The recipient's mailbox is out of space.", W_RECIPIENT, R_CLASS),
	CTX(V(RCPT), 553, "The recipient's address is not allowed (bad syntax or name).", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(RCPT), 554, "The recipient was refused by policy.", W_SEND_ADMIN | W_RECV_ADMIN,
	    R_AFTER_FIX),
	CTX(V(RCPT), 450, "The recipient's mailbox is unavailable for now (busy, being verified, "
			  "or greylisted).", W_RECV_ADMIN, R_CLASS),
	CTX(V(RCPT), 503, "RCPT out of order: no sender was accepted first.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V(DATA), 354, "The server is ready for the message; the client sends it and ends "
			  "with a line holding only a dot.", 0, R_CLASS),
	CTX(V(DATA), 554, "DATA refused: no valid recipient, or the transaction was refused.",
	    W_SENDER, R_AFTER_FIX),
	CTX(V(DATA), 503, "DATA out of order: no recipient was accepted first.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V_END, 250, "Message accepted: the server has taken responsibility for delivering it.",
	    0, R_CLASS),
	CTX(V_END, 550, "The message was refused after it was sent, by a content or policy "
			"filter.", W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(V_END, 554, "The message was refused after it was sent (content, policy, or "
			"transaction failure).", W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(V_END, 552, "The message is larger than the server allows.", W_SENDER, R_AFTER_FIX),
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
				    "hardening).", 0, R_CLASS),
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
	CTX(V_AUTHS, 535, "The login was refused: the credentials are not valid.", W_SENDER,
	    R_AFTER_FIX),
	CTX(V_AUTHS, 534, "The login method is too weak for this server's policy.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(V_AUTHS, 538, "This login method needs an encrypted connection (STARTTLS first).",
	    W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V_AUTHS, 454, "The login failed for a temporary reason (the server's authentication "
			  "backend is unavailable).", W_RECV_ADMIN, R_CLASS),
	CTX(V_AUTHS, 504, "The server does not support this login mechanism.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(V_AUTHS, 503, "AUTH is not allowed at this point (not offered, already logged in, or "
			  "inside a transaction).", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(V_AUTHS, 501, "The login was cancelled or its data was malformed.", W_SENDER,
	    R_AFTER_FIX),
	CTX(0, 421, "The server is closing the connection (busy, shutting down, or too many "
		    "errors).", W_RECV_ADMIN, R_CLASS),
	CTX(0, 500, "The server did not understand this line.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 501, "The command's arguments have a syntax error.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 502, "The server does not implement this command.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 503, "Command out of order for this point of the session.", W_SEND_ADMIN,
	    R_AFTER_FIX),
	CTX(0, 504, "A parameter of this command is not implemented.", W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 530, "The server requires a login (AUTH), or encryption first, before this "
		    "command.", W_SENDER | W_SEND_ADMIN, R_AFTER_FIX),
	CTX(0, 450, "The action was not taken for now (mailbox busy or unavailable).",
	    W_RECV_ADMIN, R_CLASS),
	CTX(0, 451, "The server hit a local error and did not complete the action.", W_RECV_ADMIN,
	    R_CLASS),
	CTX(0, 550, "The action was refused (mailbox unavailable or policy).",
	    W_SENDER | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(0, 554, "The transaction failed, or the server refuses this client.",
	    W_SEND_ADMIN | W_RECV_ADMIN, R_AFTER_FIX),
	CTX(0, 250, "Accepted.", 0, R_CLASS),

	/* First digit alone (RFC 5321 4.2.1). */
	DIG(2, "Accepted (a success code this tool has no specific entry for)."),
	DIG(3, "Accepted so far; the server waits for more from the client."),
	DIG(4, "Temporary failure: the server did not do it now."),
	DIG(5, "Permanent failure: the server refused it."),
};

const size_t kb_count = sizeof(kb) / sizeof(kb[0]);
