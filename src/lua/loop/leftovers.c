/* What a loop leaves behind when it closes, as libuv's tests check at
 * their end: unfinished tasks, objects still anchored in the loop
 * (scheduled handles, serving servers, running children, streams with
 * unsent output, futures of worker jobs), streams, servers and UDP
 * endpoints never closed, external work not done (jobs on worker threads,
 * children not reaped), and an event core that still has callbacks,
 * timers or watchers.
 *
 * close() records the list (alua__leftovers_record); internals.loop_report
 * ([loop]) returns it, or what an open loop holds now.
 * Every Lua test ends by checking that it is empty (tests/lua/support). */
#include <unistd.h>

#include "lua/internal.h"

void alua__resource_open(lloop *lp, alua__resource *r, const char *what, const int *fd) {
  r->what = what;
  r->fd = fd;
  ac_list_push_back(&lp->resources, &r->link);
}

void alua__resource_close(alua__resource *r) { ac_list_remove(&r->link); }

void alua__close_io(lloop *lp, ac_io *io, alua__resource *res) {
  if (io->fd < 0) return;
  if (!lp->closed) ac_io_stop(&lp->core, io);
  close(io->fd);
  io->fd = -1;
  if (res) alua__resource_close(res);
}

/* Appends the value on top (popped) to the list at idx. */
static void append(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_rawseti(L, idx, (lua_Integer)lua_rawlen(L, idx) + 1);
}

/* One open resource, as push_resources copies it. */
typedef struct resource_copy {
  const char *what; /* a static string */
  int fd;
} resource_copy;

/* Appends "<what> fd N not closed" for each resource open on lp to the list
 * at idx. Why a copy of the list first: each line allocates, an allocation
 * may run finalizers, and the finalizer of a stream, server or endpoint
 * closes it, which takes it off the list while the walk stands on it. */
static void push_resources(lua_State *L, lloop *lp, int idx) {
  size_t n = 0;
  for (ac_list *p = lp->resources.next; p != &lp->resources; p = p->next) n++;
  if (n == 0) return;
  resource_copy *v = lua_newuserdatauv(L, n * sizeof *v, 0);
  /* the list may have lost members while that allocated, never gained */
  size_t k = 0;
  for (ac_list *p = lp->resources.next; p != &lp->resources && k < n; p = p->next) {
    alua__resource *r = ac_container_of(p, alua__resource, link);
    v[k++] = (resource_copy){r->what, *r->fd};
  }
  for (size_t i = 0; i < k; i++) {
    lua_pushfstring(L, "%s fd %d not closed", v[i].what, v[i].fd);
    append(L, idx);
  }
  lua_pop(L, 1);
}

/* Pushes the list of what lp holds now. */
static void push_leftovers(lua_State *L, lloop *lp) {
  lua_newtable(L);
  int list = lua_gettop(L);
  alua__push_tasks(L, lp);
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, -1); i <= n; i++) {
    lua_rawgeti(L, -1, i);
    luaL_tolstring(L, -1, NULL);
    lua_pushfstring(L, "unfinished task %s", lua_tostring(L, -1));
    append(L, list);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  /* a table that held 100k tasks keeps their free-list links: walk it only
   * when something is still anchored */
  if (lp->nanchors != 0 && lp->ref_anchors != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_anchors);
    int anchors = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, anchors)) {
      /* the free-list links are integers; tasks are listed above */
      if (!lua_isinteger(L, -1) && !alua__totask(L, -1)) {
        luaL_tolstring(L, -1, NULL);
        lua_pushfstring(L, "anchored %s", lua_tostring(L, -1));
        append(L, list);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  push_resources(L, lp, list);
  int external = lp->closed ? 0 : ac_loop_external(&lp->core);
  if (external > 0) {
    lua_pushfstring(L, "%d piece%s of external work not done (worker jobs, children, threadsafe calls)", external,
                    external == 1 ? "" : "s");
    append(L, list);
  }
  if (!lp->closed && ac_loop_alive(&lp->core)) {
    lua_pushliteral(L, "event core has ready callbacks, timers or watchers");
    append(L, list);
  }
}

/* Protected part of alua__leftovers_record: the loop at 1 (light). */
static int record_p(lua_State *L) {
  lloop *lp = lua_touserdata(L, 1);
  rt *r = lp->rt;
  push_leftovers(L, lp);
  int list = lua_gettop(L);
  int n = (int)lua_rawlen(L, list);
  if (n > 0) {
    /* the state's log keeps them after the loop is collected */
    if (r->ref_leftovers == LUA_NOREF) {
      lua_newtable(L);
      r->ref_leftovers = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_leftovers);
    int log = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, list, i);
      lua_pushfstring(L, "loop %d: %s", lp->id, lua_tostring(L, -1));
      append(L, log);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_leftovers);
  lp->ref_leftovers = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

void alua__leftovers_record(lua_State *L, lloop *lp) {
  lua_pushcfunction(L, record_p);
  lua_pushlightuserdata(L, lp);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
  /* from now on nothing is tracked: closing them later touches no list */
  while (ac_list_pop_front(&lp->resources)) {
  }
}

/* Appends "loop N: not closed" and what the open loop lp holds to the list
 * at idx. */
static void add_open(lua_State *L, int idx, lloop *lp) {
  lua_pushfstring(L, "loop %d: not closed", lp->id);
  append(L, idx);
  push_leftovers(L, lp);
  int n = (int)lua_rawlen(L, -1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    lua_pushfstring(L, "loop %d: %s", lp->id, lua_tostring(L, -1));
    append(L, idx);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* internals.loop_report([loop]): the list of what loop left behind when it
 * closed, or, while it is open, "not closed" and what it holds now; empty
 * when clean. Without a loop: every loop of the state, closed or open, each
 * item prefixed with "loop N: ". Internal: not in the user API. */
static int l_loop_report(lua_State *L) {
  rt *r = alua__rt(L);
  if (!lua_isnoneornil(L, 1)) {
    lloop *lp = alua__checkloop(L, 1);
    if (lp->closed) {
      if (lp->ref_leftovers == LUA_NOREF) lua_newtable(L);
      else lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_leftovers);
      return 1;
    }
    lua_newtable(L);
    lua_pushliteral(L, "not closed");
    append(L, -2);
    push_leftovers(L, lp);
    int n = (int)lua_rawlen(L, -1);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      append(L, -3);
    }
    lua_pop(L, 1);
    return 1;
  }
  lua_newtable(L);
  int list = lua_gettop(L);
  if (r->ref_leftovers != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_leftovers);
    int n = (int)lua_rawlen(L, -1);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      append(L, list);
    }
    lua_pop(L, 1);
  }
  /* The open loops go on the stack first, which keeps each alive: a
   * finalizer that runs while one is described may close another (taking
   * it off r->loops) and let it be collected. */
  int n = 0;
  for (ac_list *p = r->loops.next; p != &r->loops; p = p->next) n++;
  luaL_checkstack(L, n, "too many event loops");
  int first = lua_gettop(L) + 1;
  /* pushing a loop allocates nothing: the list cannot change meanwhile */
  int k = 0;
  for (ac_list *p = r->loops.next; p != &r->loops && k < n; p = p->next, k++)
    alua__pushloop(L, ac_container_of(p, lloop, link));
  for (int i = 0; i < k; i++) {
    lloop *lp = lua_touserdata(L, first + i);
    if (!lp->closed) add_open(L, list, lp);
  }
  lua_settop(L, list);
  return 1;
}

void alua__open_leftovers(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg funcs[] = {{"loop_report", l_loop_report}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}
