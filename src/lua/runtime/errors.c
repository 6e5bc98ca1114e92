/* Every error the bindings raise (SPEC 2.8): asyncio error objects,
 * OS failures as asyncio.OSError objects, misuse reported at the user's
 * line, and the one finder of "the innermost frame of the user's code". */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "lua/internal.h"

/* Frames of asyncio's own Lua library are never where the user's code
 * runs: their chunks are named "=[asyncio NAME]" (lib/embed.c). */
static int library_frame(const lua_Debug *ar) { return strncmp(ar->source, "=[asyncio ", 10) == 0; }

int alua__user_frame(lua_State *L1, int level, lua_Debug *ar) {
  for (; lua_getstack(L1, level, ar); level++) {
    lua_getinfo(L1, "Sl", ar);
    if (ar->currentline > 0 && !library_frame(ar)) return 1;
  }
  return 0;
}

void alua__push_user_where(lua_State *L) {
  lua_Debug ar;
  if (alua__user_frame(L, 1, &ar)) lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
  else lua_pushliteral(L, "");
}

int alua__user_error(lua_State *L, const char *fmt, ...) {
  alua__push_user_where(L);
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return lua_error(L);
}

int alua__user_argerror(lua_State *L, int argn, const char *fname, const char *fmt, ...) {
  alua__push_user_where(L);
  lua_pushfstring(L, "bad argument #%d to '%s' (", argn, fname);
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_pushliteral(L, ")");
  lua_concat(L, 4);
  return lua_error(L);
}

/* luaL_where(L, level), with asyncio's own Lua frames skipped: an await in
 * the library (a task that wraps an awaitable, wait_for) is positioned at
 * the frame that called the library, or nowhere when that is C. */
static void push_where(lua_State *L, int level) {
  lua_Debug ar;
  while (lua_getstack(L, level++, &ar)) {
    lua_getinfo(L, "Sl", &ar);
    if (library_frame(&ar)) continue;
    if (ar.currentline > 0) {
      lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
      return;
    }
    break;
  }
  lua_pushliteral(L, "");
}

int alua__error_at(lua_State *L, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  push_where(L, level);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return lua_error(L);
}

void alua__push_errclass(lua_State *L, rt *r, const char *cls) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_errors);
  lua_getfield(L, -1, cls);
  lua_remove(L, -2);
}

void alua__push_error(lua_State *L, rt *r, const char *cls, const char *msg) {
  alua__push_errclass(L, r, cls);
  if (msg) lua_pushstring(L, msg);
  else lua_pushnil(L);
  lua_call(L, 1, 1);
}

/* Raises an instance of cls whose message is the string on top (popped). */
static int raise_message(lua_State *L, rt *r, const char *cls) {
  alua__push_errclass(L, r, cls);
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  return lua_error(L);
}

int alua__raise(lua_State *L, rt *r, const char *cls, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  luaL_where(L, 1);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return raise_message(L, r, cls);
}

int alua__raise_await(lua_State *L, const char *cls, const char *msg) {
  push_where(L, 1);
  lua_pushstring(L, msg);
  lua_concat(L, 2);
  return raise_message(L, alua__rt(L), cls);
}

int alua__iserror(lua_State *L, rt *r, int idx, const char *cls) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
  if (!cls) {
    /* any asyncio class: the metatable is the class registered under its type */
    lua_pushliteral(L, "type");
    lua_rawget(L, -2);
    int known = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_errors);
      lua_pushvalue(L, -2);
      lua_rawget(L, -2);
      known = lua_rawequal(L, -1, -4);
      lua_pop(L, 2);
    }
    lua_pop(L, 2);
    return known;
  }
  alua__push_errclass(L, r, cls);
  int found = 0;
  while (!found && lua_istable(L, -2)) {
    found = lua_rawequal(L, -1, -2);
    lua_pushliteral(L, "parent");
    lua_rawget(L, -3);
    lua_replace(L, -3);
  }
  lua_pop(L, 2);
  return found;
}

/* The OSError subclass of an errno value, as Python names them. */
static const char *os_class(int err) {
  switch (err) {
  case EAGAIN: return "BlockingIOError";
  case EALREADY: return "BlockingIOError";
  case EINPROGRESS: return "BlockingIOError";
  case ECHILD: return "ChildProcessError";
  case EPIPE: return "BrokenPipeError";
  case ESHUTDOWN: return "BrokenPipeError";
  case ECONNABORTED: return "ConnectionAbortedError";
  case ECONNREFUSED: return "ConnectionRefusedError";
  case ECONNRESET: return "ConnectionResetError";
  case EEXIST: return "FileExistsError";
  case ENOENT: return "FileNotFoundError";
  case EINTR: return "InterruptedError";
  case EISDIR: return "IsADirectoryError";
  case ENOTDIR: return "NotADirectoryError";
  case EACCES: return "PermissionError";
  case EPERM: return "PermissionError";
  case ESRCH: return "ProcessLookupError";
  default: return "OSError";
  }
}

void alua__push_oserror(lua_State *L, int err, const char *what, const char *why) {
  rt *r = alua__rt_state(L);
  if (!why) why = strerror(err);
  alua__push_errclass(L, r, err > 0 ? os_class(err) : "OSError");
  if (what && *what) lua_pushfstring(L, "%s: %s", what, why);
  else lua_pushstring(L, why);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, err);
  lua_setfield(L, -2, "errno");
  lua_pushstring(L, why);
  lua_setfield(L, -2, "strerror");
  /* the call that failed: what the message starts with ("open_connection") */
  size_t n = what ? strcspn(what, ": ") : 0;
  if (n > 0) {
    lua_pushlstring(L, what, n);
    lua_setfield(L, -2, "call");
  }
  lua_call(L, 2, 1);
}

int alua__oserror(lua_State *L, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *what = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  alua__push_oserror(L, err, what, NULL);
  return lua_error(L);
}

/* internals.oserror(errno, what [, strerror]): a new OSError object of the
 * class errno calls for (Lua library code re-raising a lower failure). */
static int l_oserror(lua_State *L) {
  int err = (int)luaL_checkinteger(L, 1);
  alua__push_oserror(L, err, luaL_optstring(L, 2, NULL), luaL_optstring(L, 3, NULL));
  return 1;
}

/* internals.where([level]): "file:line: " of the innermost frame of the
 * user's code above the caller, or "". */
static int l_where(lua_State *L) {
  lua_Debug ar;
  if (alua__user_frame(L, (int)luaL_optinteger(L, 1, 2), &ar)) lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
  else lua_pushliteral(L, "");
  return 1;
}

/* Protected part of alua__push_tostring: the value at 1. */
static int tostring_p(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}

void alua__push_tostring(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  int top = lua_gettop(L);
  lua_pushcfunction(L, tostring_p);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) return;
  int err = top + 1;
  const char *why = lua_type(L, err) == LUA_TSTRING ? lua_tostring(L, err) : luaL_typename(L, err);
  if (luaL_getmetafield(L, idx, "__name") != LUA_TSTRING) {
    lua_settop(L, err);
    lua_pushstring(L, luaL_typename(L, idx));
  }
  lua_pushfstring(L, "(a %s whose __tostring failed: %s)", lua_tostring(L, err + 1), why);
  lua_replace(L, err);
  lua_settop(L, err);
}

void alua__open_errors(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg funcs[] = {{"oserror", l_oserror}, {"where", l_where}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
}
