/* TLS on streams: contexts made from option tables, and the stream filter
 * (io.h) that runs a TLS session of src/core/tls.c between a stream's
 * buffers and its socket. lib/asyncio/streams.lua drives them:
 * open_connection{tls =}, start_server{tls =} and writer:start_tls(opts).
 *
 * The session encrypts at write() time, so the stream's write buffer holds
 * ciphertext and drain() and its water marks work unchanged; every byte
 * received is decrypted as it arrives, so the read buffer holds plaintext
 * and the readers' flow control works unchanged too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/tls.h"
#include "lua/io/io.h"

#define MT_TLSCTX "asyncio.TLSContext"

/* A context (internals.tls_context's result). */
typedef struct lctx {
  ac_tls_ctx *ctx; /* NULL once collected */
  uint8_t server;  /* for accepting connections */
  uint8_t verify;  /* sessions check the peer's certificate */
} lctx;

/* The filter of one TLS stream. */
typedef struct tfilter {
  alua__filter base; /* must be first */
  ac_tls *tls;       /* the session */
  rt *r;             /* runtime, for error classes */
  char peer[128];    /* who the session is with, for messages */
} tfilter;

/* -- options ------------------------------------------------------------------- */

static const char *const client_keys[] = {"verify", "ca_file", "ca_path", "cert", "key", "alpn", "server_hostname",
                                          "handshake_timeout", "server_side", NULL};
static const char *const server_keys[] = {"cert", "key", "verify", "ca_file", "ca_path", "alpn", "handshake_timeout",
                                          "server_side", NULL};

static int opt_error(lua_State *L, const char *fname, const char *key, const char *what) {
  return alua__user_error(L, "bad option 'tls.%s' to '%s' (%s)", key, fname, what);
}

/* The string field key of the table at idx, or NULL (left on the stack
 * while the context is made). */
static const char *opt_string(lua_State *L, int idx, const char *key, const char *fname) {
  int t = lua_getfield(L, idx, key);
  if (t == LUA_TNIL) return NULL;
  if (t != LUA_TSTRING) opt_error(L, fname, key, "string expected");
  return lua_tostring(L, -1);
}

/* Fills c->alpn from the list of protocol names at field "alpn" (the wire
 * format string stays on the stack). */
static void opt_alpn(lua_State *L, int idx, ac_tls_config *c, const char *fname) {
  int t = lua_getfield(L, idx, "alpn");
  if (t == LUA_TNIL) return;
  if (t != LUA_TTABLE) opt_error(L, fname, "alpn", "list of protocol names expected");
  int list = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_Integer n = luaL_len(L, list);
  for (lua_Integer i = 1; i <= n; i++) {
    /* the name stays on the stack until added: an __index may have made
     * it, and the buffer's growth can run the collector */
    size_t len = lua_geti(L, list, i) == LUA_TSTRING ? lua_rawlen(L, -1) : 0;
    if (len == 0 || len > 255) opt_error(L, fname, "alpn", "protocol names of 1 to 255 bytes expected");
    char lenbyte = (char)len;
    lua_pushlstring(L, &lenbyte, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  c->alpn = lua_tolstring(L, -1, &c->alpn_len);
}

static int ctx_gc(lua_State *L) {
  lctx *x = alua__gc_self(L);
  ac_tls_ctx_free(x->ctx);
  x->ctx = NULL;
  return 0;
}

static int ctx_tostring(lua_State *L) {
  lctx *x = luaL_checkudata(L, 1, MT_TLSCTX);
  lua_pushfstring(L, "<TLSContext %s%s>", x->server ? "server" : "client", x->verify ? " verify" : "");
  return 1;
}

/* internals.tls_context(opts, server, fname): a context for the option
 * table opts (true: a client's defaults). Client options: verify (default
 * true), ca_file, ca_path, cert, key, alpn; server options: cert and key
 * (required), verify (ask for client certificates), ca_file, ca_path,
 * alpn. server_hostname and handshake_timeout are accepted and left to the
 * caller. Raises SSLError when a file cannot be loaded. */
static int l_tls_context(lua_State *L) {
  rt *r = alua__rt(L);
  int server = lua_toboolean(L, 2);
  const char *fname = luaL_checkstring(L, 3);
  ac_tls_config c = {.server = server, .verify = !server};
  if (lua_istable(L, 1)) {
    const char *const *keys = server ? server_keys : client_keys;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      lua_pop(L, 1);
      const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      int known = 0;
      for (int i = 0; k && keys[i]; i++) known |= strcmp(k, keys[i]) == 0;
      if (!known) {
        lua_pushvalue(L, -1);
        alua__user_error(L, "bad option 'tls' to '%s' (unknown option '%s')", fname, luaL_tolstring(L, -1, NULL));
      }
    }
    if (lua_getfield(L, 1, "verify") != LUA_TNIL) {
      if (!lua_isboolean(L, -1)) opt_error(L, fname, "verify", "boolean expected");
      c.verify = lua_toboolean(L, -1);
    }
    c.ca_file = opt_string(L, 1, "ca_file", fname);
    c.ca_path = opt_string(L, 1, "ca_path", fname);
    c.cert_file = opt_string(L, 1, "cert", fname);
    c.key_file = opt_string(L, 1, "key", fname);
    opt_alpn(L, 1, &c, fname);
    if (!server && lua_getfield(L, 1, "server_hostname") != LUA_TNIL && lua_type(L, -1) != LUA_TSTRING)
      opt_error(L, fname, "server_hostname", "string expected");
    if (lua_getfield(L, 1, "handshake_timeout") != LUA_TNIL && !(lua_tonumber(L, -1) > 0))
      opt_error(L, fname, "handshake_timeout", "positive number of seconds expected");
  } else if (!(lua_isboolean(L, 1) && lua_toboolean(L, 1) && !server)) {
    return alua__user_error(L, "bad option 'tls' to '%s' (%s expected, got %s)", fname,
                            server ? "table {cert =, key =}" : "true or an option table", luaL_typename(L, 1));
  }
  if (server && !c.cert_file)
    return alua__user_error(L, "bad option 'tls' to '%s' (a server needs 'cert' and 'key')", fname);
  if (!c.cert_file && c.key_file) return opt_error(L, fname, "key", "'cert' is needed with 'key'");
  lctx *x = lua_newuserdatauv(L, sizeof *x, 0);
  x->ctx = NULL;
  x->server = (uint8_t)server;
  x->verify = (uint8_t)c.verify;
  luaL_setmetatable(L, MT_TLSCTX);
  char err[AC_TLS_ERRLEN];
  int rc = ac_tls_ctx_new(&c, &x->ctx, err, sizeof err);
  if (rc == -ENOMEM) return luaL_error(L, "not enough memory");
  if (rc < 0) {
    lua_pushfstring(L, "%s: %s", fname, err);
    alua__push_error(L, r, "SSLError", lua_tostring(L, -1));
    return lua_error(L);
  }
  return 1;
}

/* -- the filter ---------------------------------------------------------------- */

static int f_decode(alua__filter *f, const char *p, size_t n, ac_buf *plain, ac_buf *wire) {
  ac_tls *t = ((tfilter *)f)->tls;
  if (n && ac_tls_feed(t, p, n) < 0) return -ENOMEM;
  if (!ac_tls_handshake_done(t)) {
    int rc = ac_tls_handshake(t);
    if (ac_tls_drain(t, wire) < 0) return -ENOMEM;
    if (rc <= 0) return rc;
  }
  for (;;) {
    if (ac_buf_reserve(plain, 16384) < 0) return -ENOMEM;
    ssize_t got = ac_tls_read(t, ac_buf_tail(plain), ac_buf_room(plain));
    if (got > 0) {
      ac_buf_commit(plain, (size_t)got);
      continue;
    }
    /* post-handshake messages may want an answer (TLS 1.3 key updates) */
    if (ac_tls_drain(t, wire) < 0) return -ENOMEM;
    if (got == -EAGAIN) return 0;
    if (got == 0) return ALUA__FILTER_EOF;
    return (int)got;
  }
}

static int f_encode(alua__filter *f, const char *p, size_t n, ac_buf *wire) {
  ac_tls *t = ((tfilter *)f)->tls;
  int rc = ac_tls_write(t, p, n);
  if (rc < 0) return rc;
  return ac_tls_drain(t, wire);
}

static int f_ready(alua__filter *f) { return ac_tls_handshake_done(((tfilter *)f)->tls); }

static void f_close(alua__filter *f, ac_buf *wire) {
  ac_tls *t = ((tfilter *)f)->tls;
  if (ac_tls_handshake_done(t) && ac_tls_shutdown(t) == 0) ac_tls_drain(t, wire);
}

static void f_push_error(alua__filter *f, lua_State *L, const char *fname) {
  tfilter *tf = (tfilter *)f;
  const char *why = ac_tls_error(tf->tls);
  int done = ac_tls_handshake_done(tf->tls);
  if (!why[0])
    lua_pushfstring(L, "%s: %s closed the connection during the TLS handshake", fname, tf->peer);
  else
    lua_pushfstring(L, "%s: TLS %s with %s failed: %s", fname, done ? "session" : "handshake", tf->peer, why);
  alua__push_error(L, tf->r, "SSLError", lua_tostring(L, -1));
  lua_remove(L, -2);
  lua_pushstring(L, why[0] ? why : "connection closed during the handshake");
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "reason");
  lua_setfield(L, -2, "strerror");
  lua_pushinteger(L, EPROTO); /* an OSError: the stream failed with EPROTO */
  lua_setfield(L, -2, "errno");
  long code = ac_tls_verify_code(tf->tls);
  if (code) {
    lua_pushinteger(L, code);
    lua_setfield(L, -2, "verify_code");
    lua_pushstring(L, ac_tls_verify_message(tf->tls));
    lua_setfield(L, -2, "verify_message");
  }
}

/* Protected: sets field name of the table at 1 to the certificate field
 * (light userdata 2 and 3: the name, the value; 4: its length), appending
 * to the list at "san". */
static int set_cert_field_p(lua_State *L) {
  const char *name = lua_touserdata(L, 2), *value = lua_touserdata(L, 3);
  size_t len = (size_t)lua_tointeger(L, 4);
  if (strcmp(name, "san") == 0) {
    if (lua_getfield(L, 1, "san") != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_setfield(L, 1, "san");
    }
    lua_pushlstring(L, value, len);
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    return 0;
  }
  lua_pushlstring(L, value, len);
  lua_setfield(L, 1, name);
  return 0;
}

/* What ac_tls_peer_cert's callback writes into: the table on top of L,
 * and whether a field failed (its error object is then on top). */
typedef struct certfields {
  lua_State *L;
  int failed;
} certfields;

/* ac_tls_peer_cert's callback. Why protected: it runs inside the core,
 * which holds the certificate and a buffer until it returns, so an error
 * (memory) must not jump out of it; the first one is kept and the rest of
 * the fields skipped. */
static void set_cert_field(void *ud, const char *name, const char *value, size_t len) {
  certfields *c = ud;
  lua_State *L = c->L;
  if (c->failed) return;
  lua_pushcfunction(L, set_cert_field_p);
  lua_pushvalue(L, -2);
  lua_pushlightuserdata(L, (void *)name);
  lua_pushlightuserdata(L, (void *)value);
  lua_pushinteger(L, (lua_Integer)len);
  c->failed = lua_pcall(L, 4, 0, 0) != LUA_OK;
}

/* "peercert": a table (subject, issuer, serial, not_before, not_after,
 * san, pem) or nil; "cipher": name, protocol, secret bits; "tls_version";
 * "alpn_protocol". */
static int f_extra_info(alua__filter *f, lua_State *L, const char *name) {
  ac_tls *t = ((tfilter *)f)->tls;
  if (strcmp(name, "peercert") == 0) {
    lua_newtable(L);
    luaL_checkstack(L, 6, NULL); /* the callback's protected calls */
    certfields c = {L, 0};
    int rc = ac_tls_peer_cert(t, set_cert_field, &c);
    if (c.failed) lua_error(L);
    if (rc == -ENOMEM) luaL_error(L, "not enough memory");
    if (rc == 0) lua_pushnil(L);
    return 1;
  }
  if (!ac_tls_handshake_done(t)) return 0;
  if (strcmp(name, "cipher") == 0) {
    int bits = 0;
    const char *c = ac_tls_cipher(t, &bits);
    if (!c) return 0;
    lua_pushstring(L, c);
    lua_pushstring(L, ac_tls_version(t));
    lua_pushinteger(L, bits);
    return 3;
  }
  if (strcmp(name, "tls_version") == 0) {
    lua_pushstring(L, ac_tls_version(t));
    return 1;
  }
  if (strcmp(name, "alpn_protocol") == 0) {
    size_t len;
    const char *p = ac_tls_alpn(t, &len);
    if (!p) return 0;
    lua_pushlstring(L, p, len);
    return 1;
  }
  return 0;
}

static void f_free(alua__filter *f) {
  tfilter *tf = (tfilter *)f;
  ac_tls_free(tf->tls);
  free(tf);
}

static const alua__filter_ops tls_ops = {
    "TLS", f_decode, f_encode, f_ready, f_close, f_push_error, f_extra_info, f_free,
};

/* internals.tls_wrap(writer, ctx, hostname, peer, fname): starts TLS on
 * the writer's stream (hostname: SNI and the name to verify, or nil; peer:
 * who it is, for messages) and returns the awaitable of the handshake. */
static int l_tls_wrap(lua_State *L) {
  rt *r = alua__rt(L);
  const char *fname = luaL_checkstring(L, 5);
  lstream *s = alua__stream_check_plain(L, 1, fname);
  lctx *x = luaL_checkudata(L, 2, MT_TLSCTX);
  const char *host = luaL_optstring(L, 3, NULL);
  const char *peer = luaL_optstring(L, 4, "the peer");
  if (!x->ctx) return luaL_argerror(L, 2, "closed context");
  tfilter *tf = calloc(1, sizeof *tf);
  if (!tf) return luaL_error(L, "not enough memory");
  int rc = ac_tls_new(x->ctx, x->server ? NULL : host, &tf->tls);
  if (rc < 0) {
    free(tf);
    if (rc == -EINVAL) return alua__user_error(L, "%s: bad server name '%s'", fname, host);
    return luaL_error(L, "not enough memory");
  }
  tf->base.ops = &tls_ops;
  tf->r = r;
  snprintf(tf->peer, sizeof tf->peer, "%s", peer);
  alua__stream_set_filter(L, 1, s, &tf->base);
  alua__stream_push_ready(L, 1, fname);
  return 1;
}

void alua__open_tls(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg ctx_methods[] = {{"__gc", ctx_gc}, {"__tostring", ctx_tostring}, {NULL, NULL}};
  alua__newclass(L, r, MT_TLSCTX, ctx_methods);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"tls_context", l_tls_context}, {"tls_wrap", l_tls_wrap}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}
