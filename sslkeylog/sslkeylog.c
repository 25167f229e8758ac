/*
 * sslkeylog.c - an LD_PRELOAD library that makes a server linked with OpenSSL
 * append its TLS secrets to $SSLKEYLOGFILE, in the NSS key log format that
 * Wireshark and smtpscope --tls-keylog read. See README.md beside this file.
 *
 * The file is opened once, by the constructor, while the process still has
 * its start-up privileges and file system view: Postfix's smtpd, for one,
 * chroots and drops to an unprivileged user before its first handshake.
 * SSL_new() and SSL_set_SSL_CTX() are wrapped so that the context a
 * connection uses gets our callback, unless the application set one itself.
 * Each line goes out in a single write() on an O_APPEND descriptor, so lines
 * from concurrent processes and threads never interleave.
 */
#include <openssl/ssl.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A key log line is under 300 bytes (label, 64 hex, up to 128 hex). */
#define LINE_MAX_STACK 1024

typedef SSL *ssl_new_fn(SSL_CTX *);
typedef SSL_CTX *ssl_set_ctx_fn(SSL *, SSL_CTX *);

static int keylog_fd = -1;
static ssl_new_fn *real_ssl_new;
static ssl_set_ctx_fn *real_set_ssl_ctx;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Keep the descriptor off 0-2: a daemon that finds stdout closed would
 * otherwise print into the key log.
 */
static int
keylog_open(const char *path)
{
	int fd, hi;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fd > 2)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return hi;
}

__attribute__((constructor)) static void
keylog_init(void)
{
	const char *path = getenv("SSLKEYLOGFILE");

	if (path == NULL || *path == '\0')
		return;
	keylog_fd = keylog_open(path);
	if (keylog_fd < 0)
		dprintf(STDERR_FILENO, "sslkeylog: %s: %s; no key log\n", path, strerror(errno));
}

/* The callback runs inside the application's handshake: leave its errno alone. */
static void
keylog_write(const SSL *ssl, const char *line)
{
	char stack[LINE_MAX_STACK], *buf = stack;
	size_t len = strlen(line);
	int saved = errno;
	ssize_t n;

	(void)ssl;
	if (len + 1 > sizeof(stack) && (buf = malloc(len + 1)) == NULL) {
		errno = saved;
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	do
		n = write(keylog_fd, buf, len + 1);
	while (n < 0 && errno == EINTR);
	if (buf != stack)
		free(buf);
	errno = saved;
}

static void
keylog_resolve(void)
{
	real_ssl_new = (ssl_new_fn *)dlsym(RTLD_NEXT, "SSL_new");
	real_set_ssl_ctx = (ssl_set_ctx_fn *)dlsym(RTLD_NEXT, "SSL_set_SSL_CTX");
}

/*
 * Checked at each SSL_new(), not at SSL_CTX_new(): applications set their
 * own callback after creating the context, and theirs must win.
 */
static void
keylog_install(SSL_CTX *ctx)
{
	if (keylog_fd < 0 || ctx == NULL)
		return;
	pthread_mutex_lock(&install_lock);
	if (SSL_CTX_get_keylog_callback(ctx) == NULL)
		SSL_CTX_set_keylog_callback(ctx, keylog_write);
	pthread_mutex_unlock(&install_lock);
}

SSL *
SSL_new(SSL_CTX *ctx)
{
	pthread_once(&resolve_once, keylog_resolve);
	if (real_ssl_new == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	keylog_install(ctx);
	return real_ssl_new(ctx);
}

/* SNI: a server may move a connection to another context mid-handshake. */
SSL_CTX *
SSL_set_SSL_CTX(SSL *ssl, SSL_CTX *ctx)
{
	pthread_once(&resolve_once, keylog_resolve);
	if (real_set_ssl_ctx == NULL)
		return NULL;
	keylog_install(ctx);
	return real_set_ssl_ctx(ssl, ctx);
}
