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

/* The socket, bound to --source when given: -1 with err when that cannot be. */
static int
open_socket(const struct cap_addr *dst, const struct cap_addr *src, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(dst->family == 6 ? AF_INET6 : AF_INET,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errsz, "cannot open a TCP socket: %s", strerror(errno));
		return -1;
	}
	if (!src)
		return fd;
	len = sockaddr_of(src, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		snprintf(err, errsz, "--source: cannot connect from that address: %s",
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
io_connect(struct io *io, struct feed *f, const struct cap_addr *dst, uint16_t port,
	   const struct cap_addr *src, unsigned timeout_s, struct io_connect *out, char *err,
	   size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(dst, port, &ss);
	int error = 0, rc;

	memset(io, 0, sizeof(*io));
	if ((io->fd = open_socket(dst, src, err, errsz)) < 0)
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

bool
io_send(struct io *io, struct feed *f, const char *line, unsigned timeout_s)
{
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);
	uint64_t end = deadline(timeout_s);
	size_t done = 0;

	if (n < 0 || (size_t)n >= sizeof(buf))
		return false;
	while (done < (size_t)n) {
		ssize_t w = send(io->fd, buf + done, (size_t)n - done, MSG_NOSIGNAL);

		if (w > 0) {
			feed_data(f, RSM_C2S, (const uint8_t *)buf + done, (size_t)w);
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
}
