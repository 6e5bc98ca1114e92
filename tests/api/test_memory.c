/* Memory given back: after a burst of tasks has finished, a full
 * collection (collectgarbage()) leaves the arenas of alua's allocator
 * holding about the live heap. Reads the allocator of a state made by
 * alua_newstate through lua_getallocf, which a host cannot name. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "alua.h"
#include "core/alloc.h"

static void run(lua_State *L, const char *code) {
  int status = alua_loadbufferx(L, code, strlen(code), "=test", "t");
  if (status == LUA_OK) status = lua_pcall(L, 0, 0, 0);
  cr_assert_eq(status, LUA_OK, "%s", lua_tostring(L, -1));
}

static size_t resident(lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  return ac_alloc_resident(ud);
}

Test(memory, a_full_collection_gives_back_what_a_burst_of_tasks_used) {
  lua_State *L = alua_newstate();
  cr_assert_not_null(L);
  run(L, "collectgarbage()");
  size_t before = resident(L);
  run(L, "asyncio.run(async function()\n"
         "  local ev = asyncio.Event()\n"
         "  local tasks = {}\n"
         "  for i = 1, 100000 do tasks[i] = asyncio.create_task(async function() await ev:wait() return i end) end\n"
         "  await asyncio.sleep(0)\n"
         "  ev:set()\n"
         "  local r = await asyncio.gather(tasks)\n"
         "  assert(r.n == 100000 and r[100000] == 100000)\n"
         "end)");
  size_t peak = resident(L);
  cr_assert_geq(peak, before + (size_t)(100 << 20), "the burst used %zu bytes of arenas", peak - before);
  /* twice: the loop's finalizer runs in the first, its tables go in the second */
  run(L, "collectgarbage() collectgarbage()");
  size_t after = resident(L);
  cr_assert_leq(after, before + AC_ALLOC_ARENA, "%zu bytes resident after, %zu before", after, before);
  alua_close(L);
}
