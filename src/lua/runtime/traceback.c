/* The traceback chain of an error that travels through awaits: each task it
 * fails adds its traceback, so an uncaught error shows which task awaited
 * which. The chain follows the most recent error value only; a different
 * error starts a new one. */
#include <string.h>

#include "lua/internal.h"

void alua__chain_add(lua_State *L, rt *r, int erridx, const char *who, const char *tb) {
  erridx = lua_absindex(L, erridx);
  int fresh = 1;
  if (r->ref_chain != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_chain);
    lua_getfield(L, -1, "value");
    fresh = !lua_rawequal(L, -1, erridx);
    lua_pop(L, 1);
    if (fresh) lua_pop(L, 1);
  }
  if (fresh) {
    lua_createtable(L, 2, 1);
    lua_pushvalue(L, erridx);
    lua_setfield(L, -2, "value");
    lua_pushvalue(L, -1);
    luaL_unref(L, LUA_REGISTRYINDEX, r->ref_chain);
    r->ref_chain = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_Integer n = luaL_len(L, -1);
  lua_pushfstring(L, "task '%s'", who);
  lua_rawseti(L, -2, n + 1);
  lua_pushstring(L, tb ? tb : "");
  lua_rawseti(L, -2, n + 2);
  lua_pop(L, 1);
}

/* True for a traceback line that shows asyncio's own plumbing (the await
 * functions), which says nothing about the user's program. */
static int plumbing(const char *line, size_t len) {
  static const char *const marks[] = {"[asyncio asyncio.", "in upvalue 'await_c'", "in function 'asyncio.await'", NULL};
  for (const char *const *m = marks; *m; m++) {
    size_t n = strlen(*m);
    for (size_t i = 0; i + n <= len; i++)
      if (memcmp(line + i, *m, n) == 0) return 1;
  }
  return 0;
}

void alua__push_traceback(lua_State *L, lua_State *L1, int level) {
  luaL_traceback(L, L1, NULL, level);
  const char *tb = lua_tostring(L, -1);
  const char *cut = strstr(tb, "\n\t[C]: in ?");
  if (cut) {
    lua_pushlstring(L, tb, (size_t)(cut - tb));
    lua_remove(L, -2);
  }
}

/* Length of the traceback line starting at p (up to the next "\n"). */
static size_t linelen(const char *p) {
  const char *nl = strchr(p + 1, '\n');
  return nl ? (size_t)(nl - p) : strlen(p);
}

/* Pushes traceback text without its "stack traceback:" heading and without
 * asyncio's plumbing frames (nor an `error` call that only re-raises from
 * them). */
static void push_frames(lua_State *L, const char *tb) {
  static const char head[] = "stack traceback:";
  static const char reraise[] = "\n\t[C]: in function 'error'";
  if (strncmp(tb, head, sizeof head - 1) == 0) tb += sizeof head - 1;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (*tb) {
    size_t len = linelen(tb);
    int skip = plumbing(tb, len);
    if (!skip && len == sizeof reraise - 1 && memcmp(tb, reraise, len) == 0 && tb[len])
      skip = plumbing(tb + len, linelen(tb + len));
    if (!skip) luaL_addlstring(&b, tb, len);
    tb += len;
  }
  luaL_pushresult(&b);
}

/* Pushes the message of an error value, as lua.c would show it. */
static void push_message(lua_State *L, int erridx) {
  if (luaL_callmeta(L, erridx, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return;
  if (lua_type(L, erridx) == LUA_TSTRING || lua_type(L, erridx) == LUA_TNUMBER) {
    lua_pushvalue(L, erridx);
    lua_tostring(L, -1);
  } else {
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, erridx));
  }
}

/* Pushes, as chain pieces, the tracebacks recorded for the error at erridx
 * (then forgets them); returns how many tasks were listed. */
static int push_chain(lua_State *L, int erridx) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.rt") != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return 0;
  }
  rt *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (r->ref_chain == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_chain);
  int chain = lua_gettop(L);
  lua_getfield(L, chain, "value");
  int same = lua_rawequal(L, -1, erridx);
  lua_pop(L, 1);
  int count = 0;
  if (same) {
    lua_Integer n = luaL_len(L, chain);
    for (lua_Integer i = 1; i + 1 <= n; i += 2) {
      lua_rawgeti(L, chain, i);
      if (count) lua_pushfstring(L, "\nawaited by %s:", lua_tostring(L, -1));
      else lua_pushfstring(L, "\nstack traceback (%s):", lua_tostring(L, -1));
      lua_remove(L, -2);
      lua_rawgeti(L, chain, i + 1);
      push_frames(L, lua_tostring(L, -1));
      lua_remove(L, -2);
      count++;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, r->ref_chain);
    r->ref_chain = LUA_NOREF;
  }
  lua_remove(L, chain);
  return count;
}

/* True when the error at erridx ended a task (its chain is recorded). */
static int from_task(lua_State *L, int erridx) {
  rt *r = alua__rt_state(L);
  if (!r || r->ref_chain == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_chain);
  lua_getfield(L, -1, "value");
  int same = lua_rawequal(L, -1, erridx);
  lua_pop(L, 2);
  return same;
}

void alua__push_error_report(lua_State *L, int erridx, lua_State *L1, int level) {
  erridx = lua_absindex(L, erridx);
  int base = lua_gettop(L);
  /* An error from a task is reported even when its __tostring raises (the
   * task's name and traceback matter more); any other goes as lua.c shows
   * it, with its __tostring called directly (lua5.4's own tests look at
   * the stack from there). */
  if (from_task(L, erridx) && luaL_getmetafield(L, erridx, "__tostring") != LUA_TNIL) {
    lua_pop(L, 1);
    alua__push_tostring(L, erridx);
  } else {
    push_message(L, erridx);
  }
  int tasks = push_chain(L, erridx);
  lua_pushstring(L, tasks ? "\nawaited by the main chunk:" : "\nstack traceback:");
  luaL_traceback(L, L1, NULL, level);
  push_frames(L, lua_tostring(L, -1));
  lua_remove(L, -2);
  lua_concat(L, lua_gettop(L) - base);
}
