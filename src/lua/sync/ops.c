/* Operation objects, what queues, locks and events share.
 *
 * An operation object is what q:get(), lock:acquire() and ev:wait() return:
 * a small userdata bound to its owner whose metatable carries the await
 * hook (internal.h). Owners create one of each kind up front and return it
 * every time, so asking for an operation allocates nothing. */
#include "lua/internal.h"

alua__op *alua__newop(lua_State *L, int idx, int kind, int nuv, const char *mt) {
  idx = lua_absindex(L, idx);
  alua__op *o = lua_newuserdatauv(L, sizeof *o, nuv);
  o->kind = (uint8_t)kind;
  o->armed = 0;
  luaL_setmetatable(L, mt);
  lua_pushvalue(L, idx);
  lua_setiuservalue(L, -2, 1);
  return o;
}

void alua__newopclass(lua_State *L, rt *r, const char *name, lua_CFunction hook, lua_CFunction tostring) {
  const luaL_Reg methods[] = {{"__tostring", tostring}, {NULL, NULL}};
  alua__newclass(L, r, name, methods);
  lua_pushcfunction(L, hook);
  lua_rawsetp(L, -2, &alua__await_key);
  alua__tag_awaitable(L, "c");
  lua_pop(L, 1);
}
