/* Reading Lua values in place, for the hottest paths (await, the queue's
 * bound methods): the arguments and upvalues of the running C function and
 * a full userdata's metatable, read from Lua 5.4's own layouts (lobject.h)
 * instead of through the C API's checked, pushing calls. Only reads.
 * alua__peek_probe compares every reader with the C API once per process;
 * callers use them only when alua__peek_ok > 0, and the C API otherwise.
 * Only src/lua/ includes this. */
#ifndef ALUA_LUA_RUNTIME_PEEK_H
#define ALUA_LUA_RUNTIME_PEEK_H

#include <stddef.h>

#include "lua/internal.h"
#include "lua/runtime/site.h"

/* A stack slot (StackValue: a TValue, then the to-be-closed delta); an
 * upvalue of a C closure is a TValue at the same stride. */
struct alua__peek_slot {
  union {
    void *p;
    lua_Integer i;
    lua_Number n;
    lua_CFunction f;
  } value;
  unsigned char tt;
  unsigned short delta;
};

/* The start of a full userdata (Udata and Udata0 alike). */
struct alua__peek_udata {
  void *next;
  unsigned char tt, marked;
  unsigned short nuvalue;
  size_t len;
  const void *metatable;
};

/* A C closure (CClosure). */
struct alua__peek_cclosure {
  void *next;
  unsigned char tt, marked, nupvalues;
  void *gclist;
  lua_CFunction f;
  struct alua__peek_slot upvalue[1];
};

/* The tag of a full userdata in a slot: LUA_VUSERDATA, collectable bit. */
#define ALUA_PEEK_TAG_UDATA (LUA_TUSERDATA | (1 << 6))

/* 1: the readers below can be used; -1: they cannot; 0: not probed yet.
 * Process-wide: there is one liblua per process. */
extern int alua__peek_ok;

/* Sets alua__peek_ok. Out of memory leaves it 0 (the next open tries
 * again). */
void alua__peek_probe(lua_State *L);

/* Slot i of the running C function: its function at 0, argument i >= 1
 * (which must be below the top: lua_gettop(L) >= i). */
static inline const struct alua__peek_slot *alua__peek_arg(lua_State *L, int i) {
  return (const struct alua__peek_slot *)((struct alua__state_prefix *)L)->ci->func + i;
}

/* Upvalue n (1-based, present) of the running C function, a C closure. */
static inline const struct alua__peek_slot *alua__peek_upvalue(lua_State *L, int n) {
  return &((const struct alua__peek_cclosure *)alua__peek_arg(L, 0)->value.p)->upvalue[n - 1];
}

/* The light userdata in upvalue 1: lua_touserdata(L, lua_upvalueindex(1)). */
static inline void *alua__peek_upvalue1(lua_State *L) { return alua__peek_upvalue(L, 1)->value.p; }

/* The metatable of argument i when it is a full userdata with one, else
 * NULL: what lua_getmetatable would push, as lua_topointer gives it. */
static inline const void *alua__peek_mt(lua_State *L, int i) {
  const struct alua__peek_slot *v = alua__peek_arg(L, i);
  return v->tt == ALUA_PEEK_TAG_UDATA ? ((const struct alua__peek_udata *)v->value.p)->metatable : NULL;
}

/* 1 when argument i is the very full userdata upvalue n holds. */
static inline int alua__peek_is_upvalue(lua_State *L, int i, int n) {
  const struct alua__peek_slot *a = alua__peek_arg(L, i), *u = alua__peek_upvalue(L, n);
  return a->tt == ALUA_PEEK_TAG_UDATA && a->tt == u->tt && a->value.p == u->value.p;
}

#endif
