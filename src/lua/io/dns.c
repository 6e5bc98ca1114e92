/* Name resolution: getaddrinfo on the loop's worker pool.
 *
 * internals.getaddrinfo(host, port, opts) submits the job and returns the
 * future; asyncio.getaddrinfo (lib/asyncio/streams.lua) is the async function
 * around it, so nothing runs until it is awaited. Numeric hosts never reach
 * the pool: the Lua side answers them at once. */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "lua/io/io.h"

typedef struct dnsjob {
  alua__job job;           /* must be first */
  char *host;             /* NULL for the wildcard address (passive) */
  char *port;             /* service name or number, or NULL */
  struct addrinfo hints;  /* family, socket type, flags */
  struct addrinfo *res;   /* the answer, freed with the job */
  int rc;                 /* getaddrinfo's return code */
  int err;                /* errno when rc is EAI_SYSTEM */
} dnsjob;

static void dns_work(alua__job *jb) {
  dnsjob *j = (dnsjob *)jb;
  j->rc = getaddrinfo(j->host, j->port, &j->hints, &j->res);
  j->err = errno;
}

static const char *type_name(int type) {
  switch (type) {
  case SOCK_STREAM: return "stream";
  case SOCK_DGRAM: return "dgram";
  case SOCK_RAW: return "raw";
  default: return "?";
  }
}

/* The future gets a list of {family=, type=, protocol=, host=, port=,
 * canonname=} tables, or an error naming the host. */
static void dns_complete(lua_State *L, alua__job *jb, int futidx) {
  dnsjob *j = (dnsjob *)jb;
  if (j->rc != 0) {
    /* as Python's socket.gaierror: errno is the EAI_* code (negative) */
    int code = j->rc == EAI_SYSTEM ? j->err : j->rc;
    const char *why = j->rc == EAI_SYSTEM ? strerror(j->err) : gai_strerror(j->rc);
    lua_pushfstring(L, "getaddrinfo: %s%s%s", j->host ? j->host : "*", j->port ? ":" : "", j->port ? j->port : "");
    alua__push_oserror(L, code, lua_tostring(L, -1), why);
    lua_remove(L, -2);
    alua__future_set_error(L, futidx);
    return;
  }
  lua_newtable(L);
  int n = 0;
  for (struct addrinfo *ai = j->res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    lua_createtable(L, 0, 6);
    lua_pushstring(L, alua__family_name(ai->ai_family));
    lua_setfield(L, -2, "family");
    lua_pushstring(L, type_name(ai->ai_socktype));
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, ai->ai_protocol);
    lua_setfield(L, -2, "protocol");
    alua__push_sockaddr(L, ai->ai_addr, ai->ai_addrlen);
    lua_setfield(L, -3, "port");
    lua_setfield(L, -2, "host");
    if (ai->ai_canonname) {
      lua_pushstring(L, ai->ai_canonname);
      lua_setfield(L, -2, "canonname");
    }
    lua_rawseti(L, -2, ++n);
  }
  alua__future_set_result(L, futidx, 1);
}

static void dns_release(alua__job *jb) {
  dnsjob *j = (dnsjob *)jb;
  if (j->res) freeaddrinfo(j->res);
  free(j->host);
  free(j->port);
  free(j);
}

/* internals.getaddrinfo(host, port [, opts]): a future of the address list.
 * host nil: the wildcard address; port: number, service name or nil. opts:
 * family ("inet" / "inet6"), type ("stream" / "dgram"), passive,
 * canonname. Everything that can raise (reading opts, turning a port number
 * into a string, finding the loop) comes before the job is allocated. */
static int l_getaddrinfo(lua_State *L) {
  rt *r = alua__rt(L);
  if (!lua_isnil(L, 1) && lua_type(L, 1) != LUA_TSTRING) return luaL_typeerror(L, 1, "string or nil");
  if (!lua_isnoneornil(L, 2) && !lua_isstring(L, 2)) return luaL_typeerror(L, 2, "port number, service name or nil");
  if (lua_isnil(L, 1) && lua_isnoneornil(L, 2)) return luaL_argerror(L, 1, "host and port cannot both be nil");
  lua_settop(L, 3);
  struct addrinfo hints = {.ai_flags = AI_ADDRCONFIG};
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "family");
    const char *f = lua_tostring(L, -1);
    if (f) hints.ai_family = strcmp(f, "inet6") == 0 ? AF_INET6 : strcmp(f, "inet") == 0 ? AF_INET : AF_UNSPEC;
    lua_getfield(L, 3, "type");
    const char *t = lua_tostring(L, -1);
    if (t) hints.ai_socktype = strcmp(t, "dgram") == 0 ? SOCK_DGRAM : strcmp(t, "stream") == 0 ? SOCK_STREAM : 0;
    if (lua_getfield(L, 3, "passive") != LUA_TNIL && lua_toboolean(L, -1)) hints.ai_flags |= AI_PASSIVE;
    if (lua_getfield(L, 3, "canonname") != LUA_TNIL && lua_toboolean(L, -1)) hints.ai_flags |= AI_CANONNAME;
    lua_pop(L, 4);
  }
  const char *host = lua_tostring(L, 1);
  const char *port = lua_isnil(L, 2) ? NULL : lua_tostring(L, 2);
  if (!host) hints.ai_flags |= AI_PASSIVE;
  /* "localhost" must resolve even without a configured interface */
  if (host && strcmp(host, "localhost") == 0) hints.ai_flags &= ~AI_ADDRCONFIG;
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  dnsjob *j = calloc(1, sizeof *j);
  if (!j) return luaL_error(L, "not enough memory");
  j->job.work = dns_work;
  j->job.complete = dns_complete;
  j->job.release = dns_release;
  j->hints = hints;
  if ((host && !(j->host = strdup(host))) || (port && !(j->port = strdup(port)))) {
    dns_release(&j->job);
    return luaL_error(L, "not enough memory");
  }
  /* owns the job from here, also when it raises */
  alua__executor_submit(L, lp, &j->job);
  return 1;
}

void alua__open_dns(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg funcs[] = {{"getaddrinfo", l_getaddrinfo}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}
