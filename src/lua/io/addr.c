/* Addresses as the I/O bindings show and take them: family names
 * ("inet", "inet6", "unix"), a socket address pushed as host and port (or
 * a Unix path) or written as "host:port" text, and the checked reading of
 * an address from a function's arguments. Numeric addresses only: names
 * are resolved on the worker pool (dns.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "lua/io/io.h"

static const char *const family_names[] = {"inet", "inet6", "unix", NULL};
static const int family_values[] = {AF_INET, AF_INET6, AF_UNIX};

int alua__checkfamily(lua_State *L, int idx, int def, const char *fname) {
  if (lua_isnoneornil(L, idx)) return def;
  const char *s = lua_tostring(L, idx);
  if (s && lua_type(L, idx) == LUA_TSTRING)
    for (int i = 0; family_names[i]; i++)
      if (strcmp(s, family_names[i]) == 0) return family_values[i];
  return alua__user_error(L, "bad argument to '%s' (family must be \"inet\", \"inet6\" or \"unix\")", fname);
}

const char *alua__family_name(int family) {
  switch (family) {
  case AF_INET: return "inet";
  case AF_INET6: return "inet6";
  case AF_UNIX: return "unix";
  default: return "?";
  }
}

int alua__push_sockaddr(lua_State *L, const struct sockaddr *sa, socklen_t len) {
  char host[AC_ADDR_HOSTLEN];
  int port;
  if (ac_addr_format(sa, len, host, sizeof host, &port) < 0) {
    lua_pushnil(L);
    lua_pushnil(L);
    return 2;
  }
  lua_pushstring(L, host);
  if (sa->sa_family == AF_UNIX) lua_pushnil(L);
  else lua_pushinteger(L, port);
  return 2;
}

void alua__add_sockaddr(luaL_Buffer *b, const struct sockaddr *sa, socklen_t len) {
  char host[AC_ADDR_HOSTLEN];
  int port;
  if (ac_addr_format(sa, len, host, sizeof host, &port) < 0) {
    luaL_addstring(b, "?");
    return;
  }
  char text[AC_ADDR_HOSTLEN + 16];
  if (sa->sa_family == AF_INET6) snprintf(text, sizeof text, "[%s]:%d", host, port);
  else if (sa->sa_family == AF_INET) snprintf(text, sizeof text, "%s:%d", host, port);
  else snprintf(text, sizeof text, "%s", *host ? host : "(unnamed)");
  luaL_addstring(b, text);
}

const char *alua__push_addrtext(lua_State *L, const struct sockaddr *sa, socklen_t len) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  alua__add_sockaddr(&b, sa, len);
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

int alua__push_sockname(lua_State *L, int fd, int peer, const char *fname) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (rc < 0) return alua__oserror(L, errno, "%s", fname);
  return alua__push_sockaddr(L, (struct sockaddr *)&ss, len);
}

int alua__add_sockname(luaL_Buffer *b, const char *label, int fd, int peer) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (rc < 0) return 0;
  luaL_addstring(b, label);
  alua__add_sockaddr(b, (struct sockaddr *)&ss, len);
  /* an unnamed Unix socket has nothing but its family */
  return ss.ss_family != AF_UNIX || len > sizeof(sa_family_t);
}

void alua__check_sockaddr(lua_State *L, int family, int idx, ac_addr *a, const char *fname) {
  if (family == AF_UNIX) {
    size_t len;
    const char *path = lua_tolstring(L, idx, &len);
    if (!path || lua_type(L, idx) != LUA_TSTRING)
      alua__user_error(L, "bad argument #%d to '%s' (socket path expected, got %s)", idx - 1, fname, luaL_typename(L, idx));
    /* '@name' is the abstract namespace, as alua__push_sockaddr shows it */
    char abstract[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (len > 0 && path[0] == '@' && len <= sizeof abstract) {
      abstract[0] = '\0';
      memcpy(abstract + 1, path + 1, len - 1);
      path = abstract;
    }
    if (ac_addr_unix(a, path, len) < 0)
      alua__user_error(L, "bad argument #%d to '%s' (socket path is longer than %d bytes)", idx - 1, fname,
                 (int)sizeof abstract - 1);
    return;
  }
  const char *host = lua_tostring(L, idx);
  if (!host || lua_type(L, idx) != LUA_TSTRING)
    alua__user_error(L, "bad argument #%d to '%s' (host expected, got %s)", idx - 1, fname, luaL_typename(L, idx));
  int isnum;
  lua_Integer port = lua_tointegerx(L, idx + 1, &isnum);
  if (!isnum || port < 0 || port > 65535)
    alua__user_error(L, "bad argument #%d to '%s' (port number 0-65535 expected, got %s)", idx, fname,
               isnum ? "out of range" : luaL_typename(L, idx + 1));
  if (ac_addr_ip(a, family, host, (int)port) < 0)
    alua__user_error(L, "bad argument #%d to '%s' (numeric %s address expected, got '%s'; resolve names with asyncio.getaddrinfo)",
               idx - 1, fname, family == AF_INET6 ? "IPv6" : family == AF_INET ? "IPv4" : "IP", host);
}

/* internals.numeric_family(host): "inet" or "inet6" when host is a numeric
 * address, else nil (a name to resolve). */
static int l_numeric_family(lua_State *L) {
  const char *host = lua_tostring(L, 1);
  ac_addr a;
  if (!host || lua_type(L, 1) != LUA_TSTRING || ac_addr_ip(&a, AF_UNSPEC, host, 0) < 0) return 0;
  lua_pushstring(L, alua__family_name(a.ss.ss_family));
  return 1;
}

void alua__open_addr(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg internal[] = {{"numeric_family", l_numeric_family}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, internal);
  (void)module;
}
