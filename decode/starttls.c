/*
 * starttls.c - what follows STARTTLS (RFC 3207), or TLS from the first byte.
 *
 * Once the client's first TLS record shows, both directions go to tls/ as
 * they come, with their gaps. When the connection ends, the handshake's
 * facts (how it went, version, cipher, SNI, an alert and who sent it) are
 * kept on the session, so the verdict can say whether the encrypted session
 * really began. With a key log (--tls-keylog) tls/ decrypts the records and
 * hands the application data back here: the SMTP dialog inside TLS is read by
 * client.c and server.c as if it had come in clear (RFC 3207 §4.2: it starts
 * over with EHLO). A record that cannot be decrypted after that is a hole in
 * the dialog, read like a capture gap.
 */
#include "session.h"

#include <string.h>

/* Decrypted application data: SMTP again. */
static void
on_plain(void *arg, enum tls_dir dir, const uint8_t *data, size_t n)
{
	struct smtp_session *s = arg;
	struct smtp_priv *p = s->priv;

	if (!p->tls_plain) {
		p->tls_plain = true;
		p->mode = CM_COMMAND;
		line_reset(&p->cline);
		line_reset(&p->sline);
		p->skip_line[RSM_C2S] = p->skip_line[RSM_S2C] = false;
	}
	p->in_plain++;
	if (dir == TLS_CLIENT)
		client_data(s, data, n);
	else
		server_data(s, data, n);
	p->in_plain--;
}

/* A record that could not be decrypted (or the framing lost) after others were. */
static void
on_lost(void *arg, enum tls_dir dir, size_t n)
{
	struct smtp_session *s = arg;
	struct smtp_priv *p = s->priv;

	if (!p->tls_plain)
		return; /* the dialog inside was never read: nothing to cut */
	p->tls_lost = true;
	p->in_plain++;
	session_lose(s, SMTP_ANOM_TLS_UNDECRYPTED, dir == TLS_CLIENT ? RSM_C2S : RSM_S2C,
		     n ? n : 1);
	p->in_plain--;
}

bool
starttls_begin(struct smtp_session *s)
{
	struct smtp_priv *p = s->priv;
	struct tls_config tc = {.keylog = p->dec->cfg.keylog, .plain = on_plain, .lost = on_lost,
				.arg = s};

	if (p->tls_plain || p->in_plain) {
		/*
		 * STARTTLS inside the decrypted TLS: a second layer, not followed (the
		 * key log is for the first). What follows is counted, not read.
		 */
		session_flag(s, SMTP_ANOM_TLS_UNDECRYPTED);
		p->mode = CM_NOT_SMTP;
		p->tls_check = false;
		return false;
	}
	p->tls_on = true;
	if (!p->tls) {
		p->tls = tls_new(&tc);
		if (!p->tls)
			session_flag(s, SMTP_ANOM_MEMORY_CAP);
	}
	p->mode = CM_TLS;
	p->tls_check = false;
	return p->tls != NULL;
}

void
starttls_feed(struct smtp_session *s, enum rsm_dir dir, const uint8_t *data, size_t n)
{
	/* never back into tls/ from its own callback; no tls_conn (memory): counted */
	if (s->priv->in_plain || !s->priv->tls)
		s->unparsed[dir] += n;
	else if (n)
		tls_data(s->priv->tls, dir == RSM_C2S ? TLS_CLIENT : TLS_SERVER, data, n);
}

void
starttls_gap(struct smtp_session *s, enum rsm_dir dir, size_t len)
{
	if (s->priv->tls && !s->priv->in_plain)
		tls_gap(s->priv->tls, dir == RSM_C2S ? TLS_CLIENT : TLS_SERVER, len);
}

/* The connection ended: settle the handshake and keep its facts with the session. */
void
starttls_settle(struct smtp_session *s, const struct rsm_conn *c)
{
	struct smtp_priv *p = s->priv;
	enum tls_closer who = TLS_CLOSED_UNSEEN;
	struct tls_facts *kept;

	if (!p->tls && s->starttls && !(s->anomalies & (1ull << SMTP_ANOM_PLAINTEXT_AFTER_STARTTLS)))
		p->tls = tls_new(&(struct tls_config){.keylog = p->dec->cfg.keylog});
	/* (220 to STARTTLS, then nothing: abandoned, or not seen) */
	if (!p->tls)
		return;
	if (s->state == SMTP_ST_CLOSED || s->state == SMTP_ST_RESET)
		who = c->first_closer == 1 + RSM_C2S   ? TLS_CLOSED_BY_CLIENT
		      : c->first_closer == 1 + RSM_S2C ? TLS_CLOSED_BY_SERVER
						       : TLS_CLOSED_UNSEEN;
	tls_end(p->tls, who);
	kept = arena_alloc(&p->arena, sizeof(*kept));
	if (!kept) {
		session_memory_refused(s);
		return;
	}
	memcpy(kept, tls_facts(p->tls), sizeof(*kept));
	if (kept->handshake == TLS_HS_NONE && who != TLS_CLOSED_UNSEEN)
		kept->handshake = TLS_HS_ABANDONED; /* a side closed before any TLS */
	/* the hello was answered with something not TLS, or met a plain SMTP greeting */
	if ((kept->handshake == TLS_HS_ABANDONED || kept->handshake == TLS_HS_STARTED) &&
	    kept->client_hello && !p->tls_plain &&
	    (kept->side[TLS_SERVER].not_tls || (s->implicit_tls && p->greeted)))
		kept->handshake = TLS_HS_FAILED;
	s->tls = kept;
	s->tls_closed_by = who;
}
