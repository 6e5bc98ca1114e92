/* TLS sessions over memory buffers (OpenSSL 3). A session never touches a
 * descriptor: the caller feeds it the bytes its socket received and sends
 * the bytes it queues, so TLS runs on any event loop, and waiting,
 * cancellation and flow control stay the caller's.
 *
 * libssl is loaded with dlopen on first use (a program that never uses TLS
 * does not pay for loading it at start-up); ac_tls_ctx_new reports it when
 * it cannot be loaded.
 *
 * Functions return 0 (or a count) or a negative errno and never print:
 * -EPROTO is a TLS failure, and the session or the message buffer given
 * says why ("certificate verify failed: self-signed certificate"). */
#ifndef ALUA_CORE_TLS_H
#define ALUA_CORE_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "buffer.h"

typedef struct ac_tls_ctx ac_tls_ctx;
typedef struct ac_tls ac_tls;

/* How sessions made from a context behave. */
typedef struct ac_tls_config {
  int server;            /* accept connections (else connect) */
  int verify;            /* client: check the server's certificate and name; server: require a client certificate */
  const char *ca_file;   /* trusted certificates (PEM); NULL: the system's store */
  const char *ca_path;   /* a directory of hashed certificates, or NULL */
  const char *cert_file; /* own certificate chain (PEM), or NULL */
  const char *key_file;  /* its private key (PEM); NULL: in cert_file */
  const char *alpn;      /* protocols offered / accepted, in wire format (length-prefixed), or NULL */
  size_t alpn_len;       /* bytes of alpn */
} ac_tls_config;

/* Longest message a failure leaves in a session or an error buffer. */
#define AC_TLS_ERRLEN 256

/* A new context for c. On failure (-EPROTO: bad certificate, key or CA
 * file; -ELIBACC: libssl cannot be loaded; -ENOMEM) writes why into err. */
int ac_tls_ctx_new(const ac_tls_config *c, ac_tls_ctx **out, char *err, size_t errlen);

/* Drops the caller's reference; sessions keep their context alive. */
void ac_tls_ctx_free(ac_tls_ctx *ctx);

/* A new session of ctx. host (client only, may be NULL): the name sent as
 * SNI and checked against the certificate when verifying (a numeric IP
 * address is checked against the certificate's IP addresses, and not sent). */
int ac_tls_new(ac_tls_ctx *ctx, const char *host, ac_tls **out);
void ac_tls_free(ac_tls *t);

/* Hands n bytes received from the peer to the session. */
int ac_tls_feed(ac_tls *t, const void *p, size_t n);

/* Advances the handshake with what was fed: 1 once it is complete, 0 while
 * it needs more bytes from the peer (send what ac_tls_drain gives first),
 * -EPROTO when it failed. */
int ac_tls_handshake(ac_tls *t);

/* Up to n bytes of plaintext: a count > 0; -EAGAIN when the session needs
 * more bytes from the peer; 0 when the peer ended the session
 * (close_notify); -EPROTO on a failure. Only after the handshake. */
ssize_t ac_tls_read(ac_tls *t, void *buf, size_t n);

/* Encrypts n bytes of plaintext (all of them, or fails). */
int ac_tls_write(ac_tls *t, const void *p, size_t n);

/* Queues the end of the session (close_notify); once only. */
int ac_tls_shutdown(ac_tls *t);

/* Bytes the session has queued for the peer. */
size_t ac_tls_pending(const ac_tls *t);

/* Moves every queued byte for the peer to the end of out. */
int ac_tls_drain(ac_tls *t, ac_buf *out);

int ac_tls_handshake_done(const ac_tls *t);

/* Why the last call that returned -EPROTO failed. */
const char *ac_tls_error(const ac_tls *t);

/* The certificate check's failure (an X509_V_ERR_* code, 0 for none) and
 * OpenSSL's text for it ("certificate has expired"). */
long ac_tls_verify_code(const ac_tls *t);
const char *ac_tls_verify_message(const ac_tls *t);

/* OpenSSL's text for a certificate check's failure code (X509_V_ERR_*,
 * as other TLS users report it), or NULL when libssl cannot be loaded. */
const char *ac_tls_verify_string(long code);

/* After the handshake: the protocol ("TLSv1.3"), the cipher suite and its
 * secret bits, the protocol ALPN chose (NULL when none; *len bytes). */
const char *ac_tls_version(const ac_tls *t);
const char *ac_tls_cipher(const ac_tls *t, int *bits);
const char *ac_tls_alpn(const ac_tls *t, size_t *len);

/* Calls fn(ud, name, value, len) for each field of the peer's certificate:
 * "subject", "issuer" (RFC 2253 text), "serial" (hex), "not_before",
 * "not_after" (ISO 8601, UTC), "san" once per subject alternative name
 * ("DNS:example.com", "IP:127.0.0.1"), "pem". Returns 1, 0 when the peer
 * sent no certificate, or -ENOMEM. */
typedef void (*ac_tls_field_fn)(void *ud, const char *name, const char *value, size_t len);
int ac_tls_peer_cert(const ac_tls *t, ac_tls_field_fn fn, void *ud);

#endif
