/* The parts of the module that most programs never use (streams, processes,
 * task groups, timeouts, observability...) are made on first use, so that
 * starting alua does not pay for them. A name of such a part, looked up in
 * the module, the internals or a metatable it adds methods to, finds the
 * part through the name map the build generates (lazymap_gen.c): the
 * table's __index makes the part, then returns the name.
 *
 * What a program sees is what it saw when everything was made up front:
 * a part runs with every part before it in alua__lazy_groups made (names of
 * later parts read as nil while it runs, as they did), and a name the
 * program set in the module before the part was made stays the program's. */
#include <string.h>

#include "lua/io/io.h"
#include "lua/observe/observe.h"
#include "lua/runtime/lazy.h"

#define OPEN(...) ((const alua__opener[]){__VA_ARGS__, NULL})
#define LIBS(...) ((const char *const[]){__VA_ARGS__, NULL})

const alua__lazy_group alua__lazy_groups[] = {
    {"base", alua__base_openers, LIBS(NULL)},
    {"errors", OPEN(NULL), LIBS("asyncio.error_classes")},
    {"gather", OPEN(alua__open_gather), LIBS(NULL)},
    {"queues", OPEN(alua__open_queue), LIBS(NULL)},
    {"locks", OPEN(alua__open_lock), LIBS(NULL)},
    {"events", OPEN(alua__open_event), LIBS(NULL)},
    {"executor", OPEN(NULL), LIBS("asyncio.executor")},
    {"sync", OPEN(NULL), LIBS("asyncio.sync")},
    {"timeouts", OPEN(NULL), LIBS("asyncio.timeouts")},
    {"wait", OPEN(NULL), LIBS("asyncio.wait")},
    {"taskgroup", OPEN(NULL), LIBS("asyncio.taskgroup")},
    {"streams",
     OPEN(alua__open_addr, alua__open_socket, alua__open_stream, alua__open_server, alua__open_udp, alua__open_file,
          alua__open_dns, alua__open_tls),
     LIBS("asyncio.streams")},
    {"subprocess", OPEN(alua__open_process), LIBS("asyncio.subprocess")},
    {"observe", OPEN(alua__open_record), LIBS("asyncio.observe")},
    {"http", OPEN(alua__open_http), LIBS("asyncio.http")},
    {NULL, NULL, NULL},
};

/* The group that defines registry[table][key], or -1. */
static int find(const char *table, const char *key) {
  size_t lo = 0, hi = (size_t)alua__lazy_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const alua__lazy_name *e = &alua__lazy_names[mid];
    int c = strcmp(table, LAZY_STR(e->table));
    if (c == 0) c = strcmp(key, LAZY_STR(e->key));
    if (c == 0) return e->group;
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return -1;
}

/* __index of a table the map names (upvalue 1: the runtime, 2: the table's
 * registry key): makes the group of a name not made yet, then returns the
 * name's value. */
static int lazy_index(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  rt *r = alua__rt(L);
  int g = find(lua_tostring(L, lua_upvalueindex(2)), lua_tostring(L, 2));
  if (g < 0 || g >= r->lazy_limit || (r->lazy_made >> g & 1u)) return 0;
  alua__lazy_load(L, r, g);
  lua_settop(L, 2);
  lua_rawget(L, 1);
  return 1;
}

/* The iterator of pairs(asyncio): next without metamethods. */
static int raw_next(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

/* __pairs of the module: makes every part, so that pairs lists every name. */
static int lazy_pairs(lua_State *L) {
  alua__lazy_load_all(L, alua__rt(L));
  lua_pushcfunction(L, raw_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

void alua__lazy_install(lua_State *L, rt *r) {
  int top = lua_gettop(L);
  for (int i = 0; i < alua__lazy_count; i++) {
    /* the generator gives equal strings one offset */
    if (i > 0 && alua__lazy_names[i].table == alua__lazy_names[i - 1].table) continue;
    const char *table = LAZY_STR(alua__lazy_names[i].table);
    /* skip tables not made yet, and those given their metatable already */
    if (lua_getfield(L, LUA_REGISTRYINDEX, table) == LUA_TTABLE && !lua_getmetatable(L, -1)) {
      lua_createtable(L, 0, 3);
      lua_pushlightuserdata(L, r);
      lua_pushstring(L, table);
      lua_pushcclosure(L, lazy_index, 2);
      lua_setfield(L, -2, "__index");
      if (strcmp(table, "alua.module") == 0) {
        lua_pushlightuserdata(L, r);
        lua_pushcclosure(L, lazy_pairs, 1);
        lua_setfield(L, -2, "__pairs");
      }
      lua_setmetatable(L, -2);
    }
    lua_settop(L, top);
  }
}

/* Protected: makes group 1 (an integer) with the runtime at 2. */
static int load_p(lua_State *L) {
  int g = (int)lua_tointeger(L, 1);
  rt *r = lua_touserdata(L, 2);
  const alua__lazy_group *grp = &alua__lazy_groups[g];
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.module");
  int module = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals");
  int internals = lua_gettop(L);
  /* the program's own values of the group's names: (table, key, value)... */
  lua_newtable(L);
  int saved = lua_gettop(L), nsaved = 0;
  for (int i = 0; i < alua__lazy_count; i++) {
    const alua__lazy_name *e = &alua__lazy_names[i];
    if (e->group != g) continue;
    if (lua_getfield(L, LUA_REGISTRYINDEX, LAZY_STR(e->table)) == LUA_TTABLE) {
      lua_pushstring(L, LAZY_STR(e->key));
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_rawseti(L, saved, nsaved + 3);
        lua_rawseti(L, saved, nsaved + 1);
        lua_pushstring(L, LAZY_STR(e->key));
        lua_rawseti(L, saved, nsaved + 2);
        nsaved += 3;
      }
    }
    lua_settop(L, saved);
  }
  for (const alua__opener *o = grp->open; *o; o++) (*o)(L, r, module, internals);
  for (const char *const *lib = grp->libs; *lib; lib++) alua__run_lib(L, *lib, module, internals);
  for (int i = 1; i <= nsaved; i += 3) {
    lua_rawgeti(L, saved, i);
    lua_rawgeti(L, saved, i + 1);
    lua_rawgeti(L, saved, i + 2);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  alua__lazy_install(L, r);
  return 0;
}

void alua__lazy_load(lua_State *L, rt *r, int g) {
  if (r->lazy_made >> g & 1u) return;
  /* every part builds on the base (its C openers use the base's metatables
   * without looking up a name) */
  if (g > 0) alua__lazy_load(L, r, 0);
  r->lazy_made |= 1u << g;
  int limit = r->lazy_limit;
  /* while g is made, later groups read as not there, as they did when
   * every group was made in order */
  if (g < limit) r->lazy_limit = g;
  lua_pushcfunction(L, load_p);
  lua_pushinteger(L, g);
  lua_pushlightuserdata(L, r);
  int status = lua_pcall(L, 2, 0, 0);
  r->lazy_limit = limit;
  if (status != LUA_OK) {
    r->lazy_made &= ~(1u << g); /* a later use tries again */
    lua_error(L);
  }
}

void alua__lazy_load_all(lua_State *L, rt *r) {
  for (int g = 0; alua__lazy_groups[g].name && g < r->lazy_limit; g++) alua__lazy_load(L, r, g);
}
