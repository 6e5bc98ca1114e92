/* TLS sessions over memory buffers: two sessions of this process talk to
 * each other through ac_bufs (no sockets), with certificates made by
 * tests/certs/make-certs (its path comes from the build, ALUA_MAKE_CERTS). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tls.h"

static char dir[64];

static void make_certs(void) {
  const char *script = ALUA_MAKE_CERTS;
  strcpy(dir, "/tmp/alua-tls-XXXXXX");
  cr_assert(mkdtemp(dir));
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' '%s'", script, dir);
  cr_assert_eq(system(cmd), 0, "make-certs failed");
}

static void remove_certs(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  (void)!system(cmd);
}

TestSuite(tls, .init = make_certs, .fini = remove_certs);

static const char *path(const char *name) {
  static char buf[16][128];
  static int i;
  i = (i + 1) % 16;
  snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
  return buf[i];
}

static ac_tls_ctx *server_ctx(const char *cert, const char *alpn, size_t alpn_len) {
  char certfile[64], keyfile[64];
  snprintf(certfile, sizeof certfile, "%s.pem", cert);
  snprintf(keyfile, sizeof keyfile, "%s.key", cert);
  ac_tls_config c = {.server = 1, .cert_file = path(certfile), .key_file = path(keyfile), .alpn = alpn, .alpn_len = alpn_len};
  ac_tls_ctx *ctx = NULL;
  char err[AC_TLS_ERRLEN];
  int rc = ac_tls_ctx_new(&c, &ctx, err, sizeof err);
  cr_assert_eq(rc, 0, "server context: %s", err);
  return ctx;
}

static ac_tls_ctx *client_ctx(int verify, const char *alpn, size_t alpn_len) {
  ac_tls_config c = {.verify = verify, .ca_file = path("ca.pem"), .alpn = alpn, .alpn_len = alpn_len};
  ac_tls_ctx *ctx = NULL;
  char err[AC_TLS_ERRLEN];
  int rc = ac_tls_ctx_new(&c, &ctx, err, sizeof err);
  cr_assert_eq(rc, 0, "client context: %s", err);
  return ctx;
}

/* Moves the bytes a queued for the peer into b. */
static void pass(ac_tls *from, ac_tls *to) {
  ac_buf wire;
  ac_buf_init(&wire);
  cr_assert_eq(ac_tls_drain(from, &wire), 0);
  cr_assert_eq(ac_tls_pending(from), 0);
  if (ac_buf_len(&wire)) cr_assert_eq(ac_tls_feed(to, ac_buf_head(&wire), ac_buf_len(&wire)), 0);
  ac_buf_free(&wire);
}

/* Runs both handshakes until they finish or one fails; returns the
 * client's result and puts the server's in *srv. */
static int handshake(ac_tls *cl, ac_tls *sv, int *srv) {
  int c = 0, s = 0;
  for (int round = 0; round < 10; round++) {
    if (c == 0) c = ac_tls_handshake(cl);
    pass(cl, sv);
    if (s == 0) s = ac_tls_handshake(sv);
    pass(sv, cl);
    if (c != 0 && s != 0) break;
    if (c < 0 || s < 0) {
      /* let the other side read the alert */
      if (c == 0) c = ac_tls_handshake(cl);
      if (s == 0) s = ac_tls_handshake(sv);
      break;
    }
  }
  *srv = s;
  return c;
}

/* Reads every plaintext byte `to` can produce into out. */
static ssize_t read_all(ac_tls *t, char *out, size_t cap) {
  size_t got = 0;
  for (;;) {
    ssize_t n = ac_tls_read(t, out + got, cap - got);
    if (n > 0) {
      got += (size_t)n;
      continue;
    }
    if (n == -EAGAIN) return (ssize_t)got;
    return got ? (ssize_t)got : n;
  }
}

typedef struct fields {
  char text[8192];
  int sans;
} fields;

static void collect(void *ud, const char *name, const char *value, size_t len) {
  fields *f = ud;
  if (strcmp(name, "san") == 0) f->sans++;
  if (strcmp(name, "pem") == 0) {
    cr_assert(len > 100 && strncmp(value, "-----BEGIN CERTIFICATE-----", 27) == 0);
    return;
  }
  size_t at = strlen(f->text);
  snprintf(f->text + at, sizeof f->text - at, "%s=%.*s\n", name, (int)len, value);
}

Test(tls, handshake_data_alpn_and_close) {
  ac_tls_ctx *sctx = server_ctx("server", "\x02h2\x08http/1.1", 12);
  ac_tls_ctx *cctx = client_ctx(1, "\x08http/1.1", 9);
  ac_tls *cl, *sv;
  cr_assert_eq(ac_tls_new(cctx, "localhost", &cl), 0);
  cr_assert_eq(ac_tls_new(sctx, NULL, &sv), 0);
  /* sessions keep their contexts */
  ac_tls_ctx_free(sctx);
  ac_tls_ctx_free(cctx);
  int s, c = handshake(cl, sv, &s);
  cr_assert_eq(c, 1, "client: %s", ac_tls_error(cl));
  cr_assert_eq(s, 1, "server: %s", ac_tls_error(sv));
  cr_assert(ac_tls_handshake_done(cl) && ac_tls_handshake_done(sv));
  cr_assert_str_eq(ac_tls_version(cl), "TLSv1.3");
  int bits = 0;
  cr_assert(ac_tls_cipher(cl, &bits) != NULL);
  cr_assert_geq(bits, 128);
  size_t n;
  const char *proto = ac_tls_alpn(cl, &n);
  cr_assert(proto && n == 8 && memcmp(proto, "http/1.1", 8) == 0);
  cr_assert_eq(ac_tls_verify_code(cl), 0);
  cr_assert_null(ac_tls_verify_message(cl));

  fields f = {{0}, 0};
  cr_assert_eq(ac_tls_peer_cert(cl, collect, &f), 1);
  cr_assert(strstr(f.text, "subject=CN=localhost\n"), "%s", f.text);
  cr_assert(strstr(f.text, "issuer=CN=alua test CA\n"), "%s", f.text);
  cr_assert(strstr(f.text, "san=IP:127.0.0.1\n") && strstr(f.text, "san=DNS:localhost\n"), "%s", f.text);
  cr_assert(strstr(f.text, "not_after=20"), "%s", f.text);
  cr_assert_eq(f.sans, 3);
  cr_assert_eq(ac_tls_peer_cert(sv, collect, &f), 0, "no client certificate was asked for");

  /* a megabyte each way, in one write */
  size_t big = 1 << 20;
  char *out = malloc(big), *in = malloc(big + 1);
  for (size_t i = 0; i < big; i++) out[i] = (char)(i * 7);
  cr_assert_eq(ac_tls_read(sv, in, big), -EAGAIN);
  cr_assert_eq(ac_tls_write(cl, out, big), 0);
  cr_assert_gt(ac_tls_pending(cl), big);
  pass(cl, sv);
  cr_assert_eq(read_all(sv, in, big + 1), (ssize_t)big);
  cr_assert_eq(memcmp(in, out, big), 0);
  cr_assert_eq(ac_tls_write(sv, "pong", 4), 0);
  pass(sv, cl);
  cr_assert_eq(read_all(cl, in, big), 4);
  cr_assert_eq(memcmp(in, "pong", 4), 0);

  /* close_notify: the peer reads 0 */
  cr_assert_eq(ac_tls_shutdown(cl), 0);
  cr_assert_eq(ac_tls_shutdown(cl), 0);
  pass(cl, sv);
  cr_assert_eq(ac_tls_read(sv, in, 10), 0);
  free(out);
  free(in);
  ac_tls_free(cl);
  ac_tls_free(sv);
}

/* A client verifying the server with certificate `cert` for `host`: the
 * error the client reports and the verification code. */
static void expect_verify_failure(const char *cert, const char *host, long code, const char *msg) {
  ac_tls_ctx *sctx = server_ctx(cert, NULL, 0);
  ac_tls_ctx *cctx = client_ctx(1, NULL, 0);
  ac_tls *cl, *sv;
  cr_assert_eq(ac_tls_new(cctx, host, &cl), 0);
  cr_assert_eq(ac_tls_new(sctx, NULL, &sv), 0);
  int s, c = handshake(cl, sv, &s);
  cr_assert_eq(c, -EPROTO);
  cr_assert_str_eq(ac_tls_error(cl), msg);
  cr_assert_eq(ac_tls_verify_code(cl), code);
  cr_assert_str_eq(ac_tls_verify_message(cl), strchr(msg, ':') + 2);
  /* the server hears about it from the client's alert */
  cr_assert_eq(s, -EPROTO);
  cr_assert(strstr(ac_tls_error(sv), "alert"), "server: %s", ac_tls_error(sv));
  ac_tls_free(cl);
  ac_tls_free(sv);
  ac_tls_ctx_free(sctx);
  ac_tls_ctx_free(cctx);
}

Test(tls, self_signed) { expect_verify_failure("selfsigned", "localhost", 18, "certificate verify failed: self-signed certificate"); }

Test(tls, expired) {
  expect_verify_failure("expired", "localhost", 10, "certificate verify failed: certificate has expired");
  cr_assert_str_eq(ac_tls_verify_string(10), "certificate has expired");
}

Test(tls, wrong_host) { expect_verify_failure("wronghost", "localhost", 62, "certificate verify failed: hostname mismatch"); }

Test(tls, wrong_ip) { expect_verify_failure("server", "127.0.0.2", 64, "certificate verify failed: IP address mismatch"); }

Test(tls, no_verification) {
  ac_tls_ctx *sctx = server_ctx("selfsigned", NULL, 0);
  ac_tls_ctx *cctx = client_ctx(0, NULL, 0);
  ac_tls *cl, *sv;
  cr_assert_eq(ac_tls_new(cctx, "wrong.invalid", &cl), 0);
  cr_assert_eq(ac_tls_new(sctx, NULL, &sv), 0);
  int s, c = handshake(cl, sv, &s);
  cr_assert_eq(c, 1, "%s", ac_tls_error(cl));
  cr_assert_eq(s, 1);
  cr_assert_eq(ac_tls_verify_code(cl), 0);
  ac_tls_free(cl);
  ac_tls_free(sv);
  ac_tls_ctx_free(sctx);
  ac_tls_ctx_free(cctx);
}

Test(tls, client_certificates) {
  ac_tls_config sc = {.server = 1, .verify = 1, .ca_file = path("ca.pem"), .cert_file = path("server.pem"),
                      .key_file = path("server.key")};
  ac_tls_config with = {.verify = 1, .ca_file = path("ca.pem"), .cert_file = path("client.pem"), .key_file = path("client.key")};
  ac_tls_config without = {.verify = 1, .ca_file = path("ca.pem")};
  char err[AC_TLS_ERRLEN];
  ac_tls_ctx *sctx, *c1, *c2;
  cr_assert_eq(ac_tls_ctx_new(&sc, &sctx, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ac_tls_ctx_new(&with, &c1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ac_tls_ctx_new(&without, &c2, err, sizeof err), 0, "%s", err);
  ac_tls *cl, *sv;
  cr_assert_eq(ac_tls_new(c1, "localhost", &cl), 0);
  cr_assert_eq(ac_tls_new(sctx, NULL, &sv), 0);
  int s, c = handshake(cl, sv, &s);
  cr_assert_eq(c, 1, "%s", ac_tls_error(cl));
  cr_assert_eq(s, 1, "%s", ac_tls_error(sv));
  fields f = {{0}, 0};
  cr_assert_eq(ac_tls_peer_cert(sv, collect, &f), 1);
  cr_assert(strstr(f.text, "subject=CN=alua test client\n"), "%s", f.text);
  ac_tls_free(cl);
  ac_tls_free(sv);

  /* without a certificate the server refuses (TLS 1.3: after the client
   * thinks it is done, so the client learns it from its first read) */
  cr_assert_eq(ac_tls_new(c2, "localhost", &cl), 0);
  cr_assert_eq(ac_tls_new(sctx, NULL, &sv), 0);
  c = handshake(cl, sv, &s);
  cr_assert_eq(s, -EPROTO);
  cr_assert(strstr(ac_tls_error(sv), "certificate"), "%s", ac_tls_error(sv));
  char buf[16];
  cr_assert_eq(ac_tls_read(cl, buf, sizeof buf), -EPROTO);
  cr_assert(strstr(ac_tls_error(cl), "alert"), "%s", ac_tls_error(cl));
  ac_tls_free(cl);
  ac_tls_free(sv);
  ac_tls_ctx_free(sctx);
  ac_tls_ctx_free(c1);
  ac_tls_ctx_free(c2);
}

Test(tls, garbage_from_the_peer) {
  ac_tls_ctx *cctx = client_ctx(1, NULL, 0);
  ac_tls_ctx *sctx = server_ctx("server", NULL, 0);
  ac_tls *cl, *sv;
  cr_assert_eq(ac_tls_new(cctx, "localhost", &cl), 0);
  cr_assert_eq(ac_tls_handshake(cl), 0);
  const char *reply = "HTTP/1.1 400 Bad Request\r\n\r\n";
  cr_assert_eq(ac_tls_feed(cl, reply, strlen(reply)), 0);
  cr_assert_eq(ac_tls_handshake(cl), -EPROTO);
  cr_assert_str_eq(ac_tls_error(cl), "wrong version number");
  cr_assert_eq(ac_tls_verify_code(cl), 0);
  cr_assert_eq(ac_tls_new(sctx, NULL, &sv), 0);
  const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(ac_tls_feed(sv, req, strlen(req)), 0);
  cr_assert_eq(ac_tls_handshake(sv), -EPROTO);
  cr_assert_str_eq(ac_tls_error(sv), "http request");
  ac_tls_free(cl);
  ac_tls_free(sv);
  ac_tls_ctx_free(cctx);
  ac_tls_ctx_free(sctx);
}

Test(tls, bad_files) {
  char err[AC_TLS_ERRLEN];
  ac_tls_ctx *ctx = NULL;
  ac_tls_config c = {.server = 1, .cert_file = path("missing.pem"), .key_file = path("server.key")};
  cr_assert_eq(ac_tls_ctx_new(&c, &ctx, err, sizeof err), -EPROTO);
  cr_assert(strstr(err, "cannot load the certificate chain from ") && strstr(err, "missing.pem: No such file or directory"), "%s", err);
  c.cert_file = path("server.pem");
  c.key_file = path("client.key");
  cr_assert_eq(ac_tls_ctx_new(&c, &ctx, err, sizeof err), -EPROTO);
  cr_assert(strstr(err, "cannot load the private key from ") && strstr(err, "client.key: key values mismatch"), "%s", err);
  ac_tls_config v = {.verify = 1, .ca_file = path("nothing.pem")};
  cr_assert_eq(ac_tls_ctx_new(&v, &ctx, err, sizeof err), -EPROTO);
  cr_assert(strstr(err, "cannot load the trusted certificates from ") && strstr(err, "nothing.pem: No such file or directory"), "%s", err);
  ac_tls_config a = {.alpn = "\x05h2", .alpn_len = 3};
  cr_assert_eq(ac_tls_ctx_new(&a, &ctx, err, sizeof err), -EPROTO);
  cr_assert(strstr(err, "bad ALPN protocol list"), "%s", err);
}
