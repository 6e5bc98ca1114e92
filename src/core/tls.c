/* TLS sessions over memory BIOs (see tls.h).
 *
 * libssl is opened with dlopen on first use and every OpenSSL function goes
 * through the table F below, filled with dlsym: the build uses OpenSSL's
 * headers only, so a call not listed in the table fails to link instead of
 * quietly binding libssl at start-up. Macros of OpenSSL's headers that
 * expand to a library call (SSL_set_tlsext_host_name, BIO_pending, ...) are
 * written out as the F.*_ctrl call they stand for. */
#include "tls.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* The soname of the libssl whose headers the build used. */
#define LIBSSL_NAME "libssl.so." OPENSSL_MSTR(OPENSSL_VERSION_MAJOR)

/* Every OpenSSL function used; the table holds a pointer of each one's own
 * type. */
#define SSL_FUNCS(X)                                                                                       \
  X(TLS_client_method) X(TLS_server_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_set_options)           \
  X(SSL_CTX_ctrl) X(SSL_CTX_set_default_verify_paths) X(SSL_CTX_load_verify_locations)                      \
  X(SSL_CTX_use_certificate_chain_file) X(SSL_CTX_use_PrivateKey_file) X(SSL_CTX_check_private_key)         \
  X(SSL_CTX_set_verify) X(SSL_CTX_set_alpn_protos) X(SSL_CTX_set_alpn_select_cb)                            \
  X(SSL_CTX_set_session_id_context) X(SSL_select_next_proto) X(SSL_new) X(SSL_free) X(SSL_set_bio)          \
  X(SSL_set_connect_state) X(SSL_set_accept_state) X(SSL_do_handshake) X(SSL_read_ex) X(SSL_write_ex)       \
  X(SSL_get_error) X(SSL_shutdown) X(SSL_ctrl) X(SSL_set1_host) X(SSL_set_hostflags) X(SSL_get0_param)      \
  X(X509_VERIFY_PARAM_set1_ip_asc) X(SSL_get_verify_result) X(X509_verify_cert_error_string)               \
  X(SSL_get1_peer_certificate) X(SSL_get_current_cipher) X(SSL_CIPHER_get_name) X(SSL_CIPHER_get_bits)     \
  X(SSL_get_version) X(SSL_get0_alpn_selected) X(BIO_new) X(BIO_s_mem) X(BIO_write) X(BIO_read)             \
  X(BIO_ctrl_pending) X(BIO_ctrl) X(BIO_free) X(ERR_get_error) X(ERR_peek_last_error) X(ERR_clear_error)    \
  X(ERR_reason_error_string) X(X509_free) X(X509_get_subject_name) X(X509_get_issuer_name)                  \
  X(X509_NAME_print_ex) X(X509_get0_notBefore) X(X509_get0_notAfter) X(ASN1_TIME_to_tm)                    \
  X(X509_get_serialNumber) X(i2a_ASN1_INTEGER) X(X509_get_ext_d2i) X(GENERAL_NAMES_free) X(OPENSSL_sk_num) \
  X(OPENSSL_sk_value) X(PEM_write_bio_X509) X(ASN1_STRING_get0_data) X(ASN1_STRING_length)

static struct {
#define X(name) __typeof__(name) *name;
  SSL_FUNCS(X)
#undef X
} F;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[AC_TLS_ERRLEN]; /* why libssl could not be loaded, "" if it was */

static void load(void) {
  void *h = dlopen(LIBSSL_NAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(load_error, sizeof load_error, "cannot load %s: %s", LIBSSL_NAME, dlerror());
    return;
  }
#define X(name)                                                                                    \
  if (!(*(void **)&F.name = dlsym(h, #name))) {                                                    \
    snprintf(load_error, sizeof load_error, "%s has no %s (OpenSSL 3 expected)", LIBSSL_NAME, #name); \
    return;                                                                                        \
  }
  SSL_FUNCS(X)
#undef X
}

/* 0 once libssl is loaded, else -ELIBACC with the reason in err. */
static int ensure_loaded(char *err, size_t errlen) {
  pthread_once(&load_once, load);
  if (!load_error[0]) return 0;
  if (errlen) snprintf(err, errlen, "%s", load_error);
  return -ELIBACC;
}

struct ac_tls_ctx {
  SSL_CTX *ssl;          /* OpenSSL's context */
  int refs;              /* the creator's and one per session (atomic) */
  int server;            /* sessions accept */
  int verify;            /* sessions check the peer's certificate */
  unsigned char *alpn;   /* server: protocols accepted, wire format; NULL for none */
  size_t alpn_len;       /* bytes of alpn */
};

struct ac_tls {
  SSL *ssl;              /* the session; owns both BIOs */
  BIO *rbio;             /* bytes from the peer, waiting to be decrypted */
  BIO *wbio;             /* bytes for the peer, waiting to be sent */
  ac_tls_ctx *ctx;       /* its context (one reference) */
  int done;              /* the handshake is complete */
  int shut;              /* close_notify was queued */
  char err[AC_TLS_ERRLEN]; /* why the last -EPROTO happened */
};

/* Writes OpenSSL's reason for the failure (prefixed by `what` when not
 * NULL) into err and clears the error queue: the operating system's reason
 * when one is queued (a missing file), else the last one queued. */
static void describe_error(char *err, size_t errlen, const char *what) {
  unsigned long e, last = 0;
  int sys = 0;
  while ((e = F.ERR_get_error()) != 0) {
    if (ERR_SYSTEM_ERROR(e) && !sys) sys = ERR_GET_REASON(e);
    last = e;
  }
  const char *reason = sys ? strerror(sys) : last ? F.ERR_reason_error_string(last) : NULL;
  char code[32];
  if (!reason) {
    snprintf(code, sizeof code, "error %lu", last);
    reason = last ? code : "unknown error";
  }
  if (what) snprintf(err, errlen, "%s: %s", what, reason);
  else snprintf(err, errlen, "%s", reason);
}

/* -- contexts ------------------------------------------------------------------ */

/* Server: picks the first of the client's protocols that the context
 * accepts; none in common continues without ALPN. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
  ac_tls_ctx *ctx = arg;
  unsigned char *chosen;
  (void)ssl;
  if (F.SSL_select_next_proto(&chosen, outlen, ctx->alpn, (unsigned)ctx->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int ac_tls_ctx_new(const ac_tls_config *c, ac_tls_ctx **out, char *err, size_t errlen) {
  int rc = ensure_loaded(err, errlen);
  if (rc < 0) return rc;
  F.ERR_clear_error();
  ac_tls_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return -ENOMEM;
  ctx->refs = 1;
  ctx->server = c->server;
  ctx->verify = c->verify;
  ctx->ssl = F.SSL_CTX_new(c->server ? F.TLS_server_method() : F.TLS_client_method());
  if (!ctx->ssl) {
    free(ctx);
    describe_error(err, errlen, "cannot make a TLS context");
    return -ENOMEM;
  }
  SSL_CTX *s = ctx->ssl;
  F.SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  F.SSL_CTX_ctrl(s, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
  const char *failed = NULL, *file = NULL;
  if (c->verify) {
    F.SSL_CTX_set_verify(s, SSL_VERIFY_PEER | (c->server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    if (c->ca_file || c->ca_path) {
      if (F.SSL_CTX_load_verify_locations(s, c->ca_file, c->ca_path) != 1)
        failed = "cannot load the trusted certificates from", file = c->ca_file ? c->ca_file : c->ca_path;
    } else if (F.SSL_CTX_set_default_verify_paths(s) != 1) {
      failed = "cannot load the system's trusted certificates", file = NULL;
    }
  }
  if (!failed && c->cert_file) {
    const char *key = c->key_file ? c->key_file : c->cert_file;
    if (F.SSL_CTX_use_certificate_chain_file(s, c->cert_file) != 1)
      failed = "cannot load the certificate chain from", file = c->cert_file;
    else if (F.SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1)
      failed = "cannot load the private key from", file = key;
    else if (F.SSL_CTX_check_private_key(s) != 1)
      failed = "the private key does not match the certificate in", file = c->cert_file;
  }
  if (!failed && c->server) {
    static const unsigned char sid[] = "alua";
    F.SSL_CTX_set_session_id_context(s, sid, sizeof sid - 1);
  }
  if (!failed && c->alpn_len) {
    if (c->server) {
      ctx->alpn = malloc(c->alpn_len);
      if (!ctx->alpn) {
        ac_tls_ctx_free(ctx);
        return -ENOMEM;
      }
      memcpy(ctx->alpn, c->alpn, c->alpn_len);
      ctx->alpn_len = c->alpn_len;
      F.SSL_CTX_set_alpn_select_cb(s, select_alpn, ctx);
    } else if (F.SSL_CTX_set_alpn_protos(s, (const unsigned char *)c->alpn, (unsigned)c->alpn_len) != 0) {
      failed = "bad ALPN protocol list", file = NULL;
    }
  }
  if (failed) {
    char what[AC_TLS_ERRLEN];
    if (file) snprintf(what, sizeof what, "%s %s", failed, file);
    else snprintf(what, sizeof what, "%s", failed);
    describe_error(err, errlen, what);
    ac_tls_ctx_free(ctx);
    return -EPROTO;
  }
  *out = ctx;
  return 0;
}

void ac_tls_ctx_free(ac_tls_ctx *ctx) {
  if (!ctx || __atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
  F.SSL_CTX_free(ctx->ssl);
  free(ctx->alpn);
  free(ctx);
}

/* -- sessions ------------------------------------------------------------------ */

int ac_tls_new(ac_tls_ctx *ctx, const char *host, ac_tls **out) {
  ac_tls *t = calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  F.ERR_clear_error();
  t->ssl = F.SSL_new(ctx->ssl);
  t->rbio = F.BIO_new(F.BIO_s_mem());
  t->wbio = F.BIO_new(F.BIO_s_mem());
  if (!t->ssl || !t->rbio || !t->wbio) {
    if (t->ssl) F.SSL_free(t->ssl);
    if (t->rbio) F.BIO_free(t->rbio);
    if (t->wbio) F.BIO_free(t->wbio);
    free(t);
    F.ERR_clear_error();
    return -ENOMEM;
  }
  /* an empty rbio means "more to come", never the end of the stream */
  F.BIO_ctrl(t->rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, NULL);
  F.SSL_set_bio(t->ssl, t->rbio, t->wbio);
  if (ctx->server) {
    F.SSL_set_accept_state(t->ssl);
  } else {
    F.SSL_set_connect_state(t->ssl);
    if (host && *host) {
      unsigned char ip[16];
      int numeric = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
      int ok = 1;
      if (!numeric) ok = F.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)host) == 1;
      if (ok && ctx->verify) {
        if (numeric) {
          ok = F.X509_VERIFY_PARAM_set1_ip_asc(F.SSL_get0_param(t->ssl), host) == 1;
        } else {
          F.SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
          ok = F.SSL_set1_host(t->ssl, host) == 1;
        }
      }
      if (!ok) {
        F.SSL_free(t->ssl);
        free(t);
        F.ERR_clear_error();
        return -EINVAL;
      }
    }
  }
  __atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
  t->ctx = ctx;
  *out = t;
  return 0;
}

void ac_tls_free(ac_tls *t) {
  if (!t) return;
  F.SSL_free(t->ssl);
  ac_tls_ctx_free(t->ctx);
  free(t);
}

int ac_tls_feed(ac_tls *t, const void *p, size_t n) {
  while (n > 0) {
    int chunk = n > INT32_MAX ? INT32_MAX : (int)n;
    int w = F.BIO_write(t->rbio, p, chunk);
    if (w <= 0) {
      F.ERR_clear_error();
      return -ENOMEM;
    }
    p = (const char *)p + w;
    n -= (size_t)w;
  }
  return 0;
}

/* Turns the failed call's result r into -EAGAIN, 0 (close_notify) or
 * -EPROTO with t->err set. */
static int failure(ac_tls *t, int r, const char *what) {
  switch (F.SSL_get_error(t->ssl, r)) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    F.ERR_clear_error();
    return -EAGAIN;
  case SSL_ERROR_ZERO_RETURN:
    F.ERR_clear_error();
    return 0;
  default:
    break;
  }
  long v = F.SSL_get_verify_result(t->ssl);
  if (v != X509_V_OK && t->ctx->verify) {
    snprintf(t->err, sizeof t->err, "certificate verify failed: %s", F.X509_verify_cert_error_string(v));
    F.ERR_clear_error();
  } else if (F.ERR_peek_last_error()) {
    describe_error(t->err, sizeof t->err, what);
  } else {
    snprintf(t->err, sizeof t->err, "%s%sthe TLS session failed", what ? what : "", what ? ": " : "");
  }
  return -EPROTO;
}

int ac_tls_handshake(ac_tls *t) {
  if (t->done) return 1;
  F.ERR_clear_error();
  int r = F.SSL_do_handshake(t->ssl);
  if (r == 1) {
    t->done = 1;
    return 1;
  }
  r = failure(t, r, NULL);
  if (r == 0) { /* close_notify in the middle of a handshake */
    snprintf(t->err, sizeof t->err, "the peer ended the session during the handshake");
    return -EPROTO;
  }
  return r == -EAGAIN ? 0 : r;
}

ssize_t ac_tls_read(ac_tls *t, void *buf, size_t n) {
  size_t got = 0;
  F.ERR_clear_error();
  if (F.SSL_read_ex(t->ssl, buf, n, &got) == 1) return (ssize_t)got;
  return failure(t, 0, NULL);
}

int ac_tls_write(ac_tls *t, const void *p, size_t n) {
  size_t put = 0;
  if (n == 0) return 0;
  F.ERR_clear_error();
  if (F.SSL_write_ex(t->ssl, p, n, &put) == 1 && put == n) return 0;
  int r = failure(t, 0, NULL);
  return r == -EPROTO ? r : -ENOMEM; /* a memory BIO never asks to retry */
}

int ac_tls_shutdown(ac_tls *t) {
  if (t->shut || !t->done) return 0;
  t->shut = 1;
  F.ERR_clear_error();
  if (F.SSL_shutdown(t->ssl) < 0) {
    int r = failure(t, -1, NULL);
    if (r == -EPROTO) return r;
  }
  return 0;
}

size_t ac_tls_pending(const ac_tls *t) { return F.BIO_ctrl_pending(t->wbio); }

int ac_tls_drain(ac_tls *t, ac_buf *out) {
  size_t n;
  while ((n = F.BIO_ctrl_pending(t->wbio)) > 0) {
    if (n > INT32_MAX) n = INT32_MAX;
    if (ac_buf_reserve(out, n) < 0) return -ENOMEM;
    int r = F.BIO_read(t->wbio, ac_buf_tail(out), (int)n);
    if (r <= 0) break;
    ac_buf_commit(out, (size_t)r);
  }
  return 0;
}

int ac_tls_handshake_done(const ac_tls *t) { return t->done; }

const char *ac_tls_error(const ac_tls *t) { return t->err; }

long ac_tls_verify_code(const ac_tls *t) {
  long v = F.SSL_get_verify_result(t->ssl);
  return t->ctx->verify && v != X509_V_OK ? v : 0;
}

const char *ac_tls_verify_message(const ac_tls *t) {
  long v = ac_tls_verify_code(t);
  return v ? F.X509_verify_cert_error_string(v) : NULL;
}

const char *ac_tls_verify_string(long code) {
  if (ensure_loaded(NULL, 0) < 0) return NULL;
  return F.X509_verify_cert_error_string(code);
}

const char *ac_tls_version(const ac_tls *t) { return F.SSL_get_version(t->ssl); }

const char *ac_tls_cipher(const ac_tls *t, int *bits) {
  const SSL_CIPHER *c = F.SSL_get_current_cipher(t->ssl);
  if (!c) return NULL;
  if (bits) *bits = F.SSL_CIPHER_get_bits(c, NULL);
  return F.SSL_CIPHER_get_name(c);
}

const char *ac_tls_alpn(const ac_tls *t, size_t *len) {
  const unsigned char *p = NULL;
  unsigned int n = 0;
  F.SSL_get0_alpn_selected(t->ssl, &p, &n);
  *len = n;
  return n ? (const char *)p : NULL;
}

/* -- the peer's certificate ----------------------------------------------------- */

/* Passes what was printed into bio as the field `name`, and empties bio. */
static void emit(BIO *bio, ac_tls_field_fn fn, void *ud, const char *name) {
  char buf[8192];
  int n = F.BIO_read(bio, buf, sizeof buf);
  fn(ud, name, buf, n > 0 ? (size_t)n : 0);
  F.BIO_ctrl(bio, BIO_CTRL_RESET, 0, NULL);
}

static void emit_time(const ASN1_TIME *at, ac_tls_field_fn fn, void *ud, const char *name) {
  struct tm tm;
  char buf[32];
  if (!at || F.ASN1_TIME_to_tm(at, &tm) != 1) return;
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fn(ud, name, buf, n);
}

static void emit_names(X509 *cert, ac_tls_field_fn fn, void *ud) {
  GENERAL_NAMES *names = F.X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
  if (!names) return;
  int count = F.OPENSSL_sk_num((const OPENSSL_STACK *)names);
  for (int i = 0; i < count; i++) {
    const GENERAL_NAME *g = F.OPENSSL_sk_value((const OPENSSL_STACK *)names, i);
    char buf[300];
    int n = -1;
    if (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI) {
      const char *kind = g->type == GEN_DNS ? "DNS" : g->type == GEN_EMAIL ? "email" : "URI";
      const ASN1_STRING *s = g->d.ia5;
      n = snprintf(buf, sizeof buf, "%s:%.*s", kind, F.ASN1_STRING_length(s), (const char *)F.ASN1_STRING_get0_data(s));
    } else if (g->type == GEN_IPADD) {
      const ASN1_STRING *s = g->d.iPAddress;
      int len = F.ASN1_STRING_length(s);
      char ip[INET6_ADDRSTRLEN];
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, F.ASN1_STRING_get0_data(s), ip, sizeof ip))
        n = snprintf(buf, sizeof buf, "IP:%s", ip);
    }
    if (n > 0) fn(ud, "san", buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  }
  F.GENERAL_NAMES_free(names);
}

int ac_tls_peer_cert(const ac_tls *t, ac_tls_field_fn fn, void *ud) {
  X509 *cert = F.SSL_get1_peer_certificate(t->ssl);
  if (!cert) return 0;
  BIO *bio = F.BIO_new(F.BIO_s_mem());
  if (!bio) {
    F.X509_free(cert);
    F.ERR_clear_error();
    return -ENOMEM;
  }
  F.X509_NAME_print_ex(bio, F.X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  emit(bio, fn, ud, "subject");
  F.X509_NAME_print_ex(bio, F.X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253);
  emit(bio, fn, ud, "issuer");
  F.i2a_ASN1_INTEGER(bio, F.X509_get_serialNumber(cert));
  emit(bio, fn, ud, "serial");
  emit_time(F.X509_get0_notBefore(cert), fn, ud, "not_before");
  emit_time(F.X509_get0_notAfter(cert), fn, ud, "not_after");
  emit_names(cert, fn, ud);
  F.PEM_write_bio_X509(bio, cert);
  emit(bio, fn, ud, "pem");
  F.BIO_free(bio);
  F.X509_free(cert);
  F.ERR_clear_error();
  return 1;
}
