/*
 * io.c - one TCP connection to a mail server, every wait bounded.
 *
 * The connect is non-blocking with a timeout, as a sending server makes it;
 * its failure is named the way reassembly/ names a failed attempt it saw
 * (refused, no answer, unreachable), from the kernel's errno (connect_errs[]).
 * Every byte sent or received goes to decode/ at once (feed.c). Replies are
 * cut into lines here only to know when one is whole: decode/'s
 * smtp_parse_reply_line() says which line ends it; what it means is
 * decode/'s business. A line longer than IO_RX_MAX is read to its end and
 * judged by its first bytes.
 *
 * After STARTTLS the connection runs through OpenSSL over two memory BIOs:
 * what OpenSSL writes is sent and fed to decode/ as the client's wire bytes;
 * what arrives is given to OpenSSL first and fed to decode/ only after
 * OpenSSL has read it, so the keys it derived from those bytes are already in
 * the key log when decode/ needs them (tlsclient.c). The plaintext is not fed:
 * decode/ decrypts the records itself, as with a capture and --tls-keylog.
 */
#include "probe_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* A failed connect, as the transport would show it on the wire. */
static const struct {
	int error;
	enum rsm_end end;
	uint8_t code4, code6; /* the ICMP codes that carry the same news */
} connect_errs[] = {
	{ECONNREFUSED, RSM_END_REFUSED, 0, 0},
	{ETIMEDOUT, RSM_END_NO_ANSWER, 0, 0},
	{ENETUNREACH, RSM_END_UNREACHABLE, 0, 0},   /* network unreachable / no route */
	{EHOSTUNREACH, RSM_END_UNREACHABLE, 1, 3},  /* host unreachable / address unreachable */
	{EACCES, RSM_END_UNREACHABLE, 13, 1},	    /* administratively prohibited */
	{EPERM, RSM_END_UNREACHABLE, 13, 1},
	{ECONNRESET, RSM_END_REFUSED, 0, 0},
};

static void
connect_failed(struct io_connect *out, int error, int family)
{
	out->connected = false;
	out->error = error;
	out->end = RSM_END_NO_ANSWER;
	out->icmp_code = 0;
	for (size_t i = 0; i < sizeof(connect_errs) / sizeof(connect_errs[0]); i++) {
		if (connect_errs[i].error != error)
			continue;
		out->end = connect_errs[i].end;
		out->icmp_code = family == 6 ? connect_errs[i].code6 : connect_errs[i].code4;
		return;
	}
}

static socklen_t
sockaddr_of(const struct cap_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->bytes, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, a->bytes, 4);
	return sizeof(*s4);
}

/* The local end, for the session's client side. */
static void
local_end(struct io *io, struct feed *f)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct cap_addr a = {0};
	uint16_t port = 0;

	if (getsockname(io->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		a.family = 6;
		memcpy(a.bytes, &s6->sin6_addr, 16);
		port = ntohs(s6->sin6_port);
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		a.family = 4;
		memcpy(a.bytes, &s4->sin_addr, 4);
		port = ntohs(s4->sin_port);
	} else {
		return;
	}
	feed_client(f, &a, port);
}

static int
wait_fd(int fd, short events, uint64_t deadline_us)
{
	struct pollfd p = {.fd = fd, .events = events};
	int rc;

	do {
		uint64_t now = feed_now_us();
		int ms = now >= deadline_us ? 0 : (int)((deadline_us - now + 999) / 1000);

		rc = poll(&p, 1, ms);
	} while (rc < 0 && errno == EINTR);
	return rc;
}

static uint64_t
deadline(unsigned timeout_s)
{
	return feed_now_us() + (uint64_t)timeout_s * 1000000u;
}

/* The local port the kernel chose at bind(), or 0. */
static uint16_t
bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&ss)->sin6_port
					      : ((const struct sockaddr_in *)&ss)->sin_port);
}

/*
 * The socket, bound to --source when given; with -w bound before the connect
 * (to an address of any kind) so its port is known for the capture's filter.
 * -1 with err when that cannot be.
 */
static int
open_socket(const struct cap_addr *dst, uint16_t port, const struct cap_addr *src,
	    struct probe_wire *wire, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	struct cap_addr any = {.family = dst->family};
	socklen_t len;
	int fd = socket(dst->family == 6 ? AF_INET6 : AF_INET,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errsz, "cannot open a TCP socket: %s", strerror(errno));
		return -1;
	}
	if (!src && !wire)
		return fd;
	len = sockaddr_of(src ? src : &any, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		snprintf(err, errsz, "%s: %s", src ? "--source: cannot connect from that address"
						   : "cannot bind a local port",
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (wire && wire_expect(wire, dst, port, bound_port(fd)) < 0) {
		snprintf(err, errsz, "-w: cannot set the capture's filter");
		close(fd);
		return -1;
	}
	return fd;
}

int
io_connect(struct io *io, struct feed *f, const struct io_target *t, struct io_connect *out,
	   char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(t->dst, t->port, &ss);
	int error = 0, rc;
	unsigned timeout_s = t->timeout_s;
	const struct cap_addr *dst = t->dst;

	memset(io, 0, sizeof(*io));
	io->wire = t->wire;
	if ((io->fd = open_socket(dst, t->port, t->src, t->wire, err, errsz)) < 0)
		return -1;
	rc = connect(io->fd, (struct sockaddr *)&ss, len);
	local_end(io, f);
	if (rc < 0 && errno != EINPROGRESS)
		error = errno;
	else if (rc < 0 && wait_fd(io->fd, POLLOUT, deadline(timeout_s)) == 0)
		error = ETIMEDOUT;
	else if (rc < 0) {
		len = sizeof(error);
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
			error = errno;
	}
	local_end(io, f);
	if (error) {
		connect_failed(out, error, dst->family);
		io_close(io);
		return 0;
	}
	out->connected = true;
	return 0;
}

/* n bytes on the wire, each fed to decode/ as the client sent it. */
static bool
send_all(struct io *io, struct feed *f, const uint8_t *p, size_t n, uint64_t end)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = send(io->fd, p + done, n - done, MSG_NOSIGNAL);

		if (w > 0) {
			wire_drain(io->wire, 0);
			feed_data(f, RSM_C2S, p + done, (size_t)w);
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (wait_fd(io->fd, POLLOUT, end) <= 0)
			return false;
	}
	return true;
}

/* What OpenSSL wrote (records) goes out. */
static bool
flush_tls(struct io *io, struct feed *f, uint64_t end)
{
	uint8_t buf[4096];
	int n;

	while ((n = BIO_read(io->wb, buf, sizeof(buf))) > 0)
		if (!send_all(io, f, buf, (size_t)n, end))
			return false;
	return true;
}

/* The received bytes OpenSSL has read by now go to decode/. */
static void
feed_raw(struct io *io, struct feed *f)
{
	feed_data(f, RSM_S2C, io->raw, io->raw_len);
	io->raw_len = 0;
}

/* One recv() for OpenSSL: IO_REPLY when bytes came, else how the wait ended. */
static enum io_reply
recv_raw(struct io *io, struct feed *f, uint64_t end)
{
	for (;;) {
		ssize_t r;

		if (wait_fd(io->fd, POLLIN, end) <= 0)
			return IO_TIMEOUT;
		r = recv(io->fd, io->raw, sizeof(io->raw), 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			if (!f->conn.first_closer)
				f->conn.first_closer = 1 + RSM_S2C;
			return r == 0 ? IO_CLOSED : IO_RESET;
		}
		io->raw_len = (size_t)r;
		wire_drain(io->wire, 0);
		BIO_write(io->rb, io->raw, (int)r);
		return IO_REPLY;
	}
}

bool
io_send(struct io *io, struct feed *f, const char *line, unsigned timeout_s)
{
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);
	uint64_t end = deadline(timeout_s);
	bool ok;

	if (n < 0 || (size_t)n >= sizeof(buf))
		return false;
	if (io->ssl)
		ok = SSL_write(io->ssl, buf, n) == n && flush_tls(io, f, end);
	else
		ok = send_all(io, f, (const uint8_t *)buf, (size_t)n, end);
	OPENSSL_cleanse(buf, sizeof(buf)); /* it may have held an AUTH secret */
	return ok;
}

/* Inside TLS: plaintext into rx. IO_REPLY when some came. */
static enum io_reply
read_tls(struct io *io, struct feed *f, uint64_t end)
{
	for (;;) {
		int n = SSL_read(io->ssl, io->rx + io->rx_len, (int)(sizeof(io->rx) - io->rx_len));
		int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(io->ssl, n);
		enum io_reply how;

		feed_raw(io, f);
		if (!flush_tls(io, f, end))
			return IO_RESET;
		if (n > 0) {
			io->rx_len += (size_t)n;
			return IO_REPLY;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return IO_CLOSED;
		if (e != SSL_ERROR_WANT_READ)
			return IO_RESET;
		if ((how = recv_raw(io, f, end)) != IO_REPLY)
			return how;
	}
}

enum tlsc_result
io_starttls(struct io *io, struct feed *f, struct tlsc *t, const char *host, unsigned timeout_s,
	    struct smtp_probe_tls *out, char *why, size_t whysz)
{
	uint64_t end = deadline(timeout_s);

	if (!(io->ssl = tlsc_ssl(t, host)) || !(io->rb = BIO_new(BIO_s_mem())) ||
	    !(io->wb = BIO_new(BIO_s_mem()))) {
		snprintf(why, whysz, "OpenSSL could not start a connection: out of memory");
		memset(out, 0, sizeof(*out));
		out->host = host;
		out->result = "none";
		out->explanation = "No handshake was made.";
		return TLSC_FAILED;
	}
	BIO_up_ref(io->rb);
	BIO_up_ref(io->wb);
	SSL_set_bio(io->ssl, io->rb, io->wb);
	for (;;) {
		int rc = SSL_connect(io->ssl);
		int e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(io->ssl, rc);
		enum io_reply how;

		feed_raw(io, f);
		if (!flush_tls(io, f, end))
			return TLSC_CLOSED;
		if (rc == 1)
			break;
		if (e != SSL_ERROR_WANT_READ) {
			unsigned long code = ERR_get_error();

			const char *reason = code ? ERR_reason_error_string(code) : NULL;

			snprintf(why, whysz, "%s", reason ? reason : "");
			ERR_clear_error();
			tlsc_verdict(io->ssl, host, out);
			return TLSC_FAILED;
		}
		if ((how = recv_raw(io, f, end)) != IO_REPLY)
			return how == IO_TIMEOUT ? TLSC_TIMEOUT : TLSC_CLOSED;
	}
	tlsc_verdict(io->ssl, host, out);
	return TLSC_OK;
}

/*
 * After QUIT: the server's last bytes (its close_notify) up to its close, at
 * most timeout_s; only a server still open then gets our close_notify.
 * Sending it to a server that has closed already (Postfix closes right after
 * 221) would be answered with a reset where the dialog had ended well.
 */
void
io_tls_shutdown(struct io *io, struct feed *f, unsigned timeout_s)
{
	uint64_t end = deadline(timeout_s);
	enum io_reply how;

	if (!io->ssl || io->fd < 0)
		return;
	while ((how = recv_raw(io, f, end)) == IO_REPLY)
		feed_raw(io, f);
	if (how == IO_TIMEOUT) {
		SSL_shutdown(io->ssl);
		flush_tls(io, f, deadline(1));
	}
}

/* One line of rx (without its LF): false when it is no reply line. */
static bool
line_done(const uint8_t *p, size_t n, int *code, bool *last)
{
	if (n && p[n - 1] == '\r')
		n--;
	return smtp_parse_reply_line((const char *)p, n, code, last);
}

/* Whole lines already read: IO_REPLY on the last line of a reply, -1 when more is needed. */
static int
scan_lines(struct io *io, int *code)
{
	bool last;

	for (;;) {
		uint8_t *lf = memchr(io->rx, '\n', io->rx_len);
		size_t n = lf ? (size_t)(lf - io->rx) : io->rx_len;

		if (!lf && io->rx_len < sizeof(io->rx))
			return -1;
		if (io->skipping) {
			*code = io->skip_code;
			last = io->skip_last;
		} else if (!line_done(io->rx, lf ? n : (n < 512 ? n : 512), code, &last)) {
			return IO_NOT_SMTP;
		}
		/* an overlong line: judged by its start, the rest dropped up to its LF */
		io->skipping = !lf;
		io->skip_code = *code;
		io->skip_last = last;
		n = lf ? n + 1 : io->rx_len;
		memmove(io->rx, io->rx + n, io->rx_len - n);
		io->rx_len -= n;
		if (lf && last)
			return IO_REPLY;
	}
}

enum io_reply
io_read_reply(struct io *io, struct feed *f, unsigned timeout_s, int *code)
{
	uint64_t end = deadline(timeout_s);
	int rc;

	while ((rc = scan_lines(io, code)) < 0) {
		ssize_t r;

		if (io->ssl) {
			enum io_reply how = read_tls(io, f, end);

			if (how != IO_REPLY)
				return how;
			continue;
		}
		if (wait_fd(io->fd, POLLIN, end) <= 0)
			return IO_TIMEOUT;
		r = recv(io->fd, io->rx + io->rx_len, sizeof(io->rx) - io->rx_len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			f->conn.first_closer = f->conn.first_closer ? f->conn.first_closer
								    : 1 + RSM_S2C;
			return r == 0 ? IO_CLOSED : IO_RESET;
		}
		wire_drain(io->wire, 0);
		feed_data(f, RSM_S2C, io->rx + io->rx_len, (size_t)r);
		io->rx_len += (size_t)r;
	}
	return (enum io_reply)rc;
}

void
io_close(struct io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	SSL_free(io->ssl); /* and the BIOs it holds */
	BIO_free(io->rb);
	BIO_free(io->wb);
	io->ssl = NULL;
	io->rb = io->wb = NULL;
}
