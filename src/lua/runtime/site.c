/* Creation sites: where an awaitable was made ("script.lua:3"), for the
 * never-awaited warnings (SPEC 2.1). Every awaitable records one, so this
 * sits on the hottest paths (q:get(), asyncio.sleep(d), calling an async
 * function) and must cost far less than lua_getinfo, which spends a few
 * hundred instructions turning the caller's pc into a line.
 *
 * Why a cache keyed by the caller's saved pc: the pc of a call instruction
 * identifies its line for as long as its function's code lives, and the
 * caller's CallInfo holds it. Lua's API has no way to read it, but every
 * Lua 5.4 lays CallInfo out with `savedpc` after four pointers, and
 * lua_State with the running CallInfo after four pointer-sized fields; a
 * probe at start-up checks that this holds for the liblua we run on (the
 * CallInfo found is lua_getstack's, keys differ between two call sites,
 * match for one site called twice, and agree with lua_getinfo's lines).
 * Each cache entry keeps its function alive, so its code, and hence the
 * key, cannot be reused while the entry exists. When the probe fails,
 * every site goes through lua_getstack and lua_getinfo (slower, same
 * result). Sites are ids of interned "file:line" strings. */
#include <stdint.h>
#include <string.h>

#include "lua/internal.h"
#include "lua/runtime/site.h"

/* -1: keys cannot be read; 1: they can; 0: not probed yet. Process-wide:
 * there is one liblua per process. */
int alua__site_keys_ok;

static const void *caller_pc(const lua_Debug *ar) { return ((const struct alua__ci_prefix *)ar->i_ci)->savedpc; }

/* The id of the site name on top (popped), interned. */
static int intern(lua_State *L, struct alua__sites *s) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_names);
  lua_pushvalue(L, -2);
  if (lua_rawget(L, -2) == LUA_TNUMBER) {
    int id = (int)lua_tointeger(L, -1);
    lua_pop(L, 3);
    return id;
  }
  lua_pop(L, 1);
  int id = ++s->next_id;
  lua_pushvalue(L, -2);
  lua_pushinteger(L, id);
  lua_rawset(L, -3);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, id);
  lua_pop(L, 2);
  return id;
}

/* Slow path: the site of level 1 of L through lua_getinfo; cached when its
 * key can be. */
static int site_miss(lua_State *L, struct alua__sites *s, lua_Debug *ar, const void *pc) {
  if (!lua_checkstack(L, 4)) return 0;
  if (!lua_getinfo(L, "Slf", ar)) return 0;
  int fn = lua_gettop(L);
  if (*ar->what == 'C') {
    /* called from C (pcall(asyncio.sleep, 1), a host): the user's frame */
    lua_Debug u;
    if (!alua__user_frame(L, 1, &u)) {
      lua_pop(L, 1);
      return 0;
    }
    lua_pushfstring(L, "%s:%d", u.short_src, u.currentline);
    pc = NULL;
  } else {
    lua_pushfstring(L, "%s:%d", ar->short_src, ar->currentline);
  }
  int id = intern(L, s);
  if (pc) {
    unsigned h = alua__site_slot(pc);
    s->cache[h].pc = pc;
    s->cache[h].id = id;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_keep);
    lua_pushvalue(L, fn);
    lua_rawseti(L, -2, (lua_Integer)h + 1);
    lua_pop(L, 1);
  }
  lua_settop(L, fn - 1);
  return id;
}

int alua__site_lookup(lua_State *L, rt *r) {
  struct alua__sites *s = r->sites;
  lua_Debug ar;
  if (!s || !lua_getstack(L, 1, &ar)) return 0;
  return site_miss(L, s, &ar, alua__site_keys_ok > 0 ? caller_pc(&ar) : NULL);
}

const char *alua__site_name(lua_State *L, rt *r, int id) {
  if (id > 0 && r->sites) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->sites->ref_names);
    if (lua_rawgeti(L, -1, id) == LUA_TSTRING) return lua_tostring(L, -1);
  }
  return "?";
}

void alua__push_site(lua_State *L, rt *r, int id) {
  if (id > 0 && r->sites) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->sites->ref_names);
    lua_rawgeti(L, -1, id);
    lua_remove(L, -2);
    if (lua_type(L, -1) == LUA_TSTRING) return;
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "?");
}

/* -- the probe ------------------------------------------------------------- */

/* What the probe saw at one call. */
typedef struct probe_call {
  const void *pc;
  int line;
} probe_call;

typedef struct probe_log {
  probe_call calls[4];
  int n;
  int ci_mismatch; /* the CallInfo read from lua_State was not lua_getstack's */
} probe_log;

static int probe_fn(lua_State *L) {
  probe_log *log = lua_touserdata(L, lua_upvalueindex(1));
  lua_Debug ar;
  if (log->n < 4 && lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar)) {
    /* compared before anything is followed: a wrong layout must not crash */
    lua_Debug here;
    if (!lua_getstack(L, 0, &here) || (void *)((struct alua__state_prefix *)L)->ci != (void *)here.i_ci ||
        (void *)((struct alua__ci_prefix *)here.i_ci)->previous != (void *)ar.i_ci)
      log->ci_mismatch = 1;
    log->calls[log->n].pc = caller_pc(&ar);
    log->calls[log->n].line = ar.currentline;
    log->n++;
  }
  return 0;
}

static const char probe_code[] =
    "local p = ...\n"
    "p()\n"
    "p()\n"
    "for i = 1, 2 do p() end\n";

/* Decides once per process whether saved pcs can be read (see the top). */
static void probe(lua_State *L) {
  probe_log log;
  memset(&log, 0, sizeof log);
  alua__site_keys_ok = -1;
  if (luaL_loadbufferx(L, probe_code, sizeof probe_code - 1, "=probe", "t") != LUA_OK) {
    lua_pop(L, 1);
    return;
  }
  lua_pushlightuserdata(L, &log);
  lua_pushcclosure(L, probe_fn, 1);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_pop(L, 1);
    return;
  }
  const probe_call *c = log.calls;
  if (log.n != 4 || log.ci_mismatch) return;
  if (c[0].line != 2 || c[1].line != 3 || c[2].line != 4 || c[3].line != 4) return;
  if (!c[0].pc || !c[1].pc || c[0].pc == c[1].pc || c[1].pc == c[2].pc) return;
  if (c[2].pc != c[3].pc) return;
  uintptr_t a = (uintptr_t)c[0].pc, b = (uintptr_t)c[1].pc;
  if (b <= a || b - a > 64 * sizeof(uint32_t)) return;
  alua__site_keys_ok = 1;
}

void alua__open_sites(lua_State *L, rt *r, int module, int internals) {
  (void)module;
  (void)internals;
  if (alua__site_keys_ok == 0) probe(L);
  /* a userdata in the registry: collected with the state */
  struct alua__sites *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->ref_names = s->ref_keep = LUA_NOREF;
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.sites");
  lua_newtable(L);
  s->ref_names = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_createtable(L, ALUA_SITE_CACHE, 0);
  s->ref_keep = luaL_ref(L, LUA_REGISTRYINDEX);
  r->sites = s;
}
