/* What the alua program (src/cli/) sets up in the bindings from its command
 * line. Call these after alua_openlibs, before running any code. */
#ifndef ALUA_LUA_RUNTIME_PROGRAM_H
#define ALUA_LUA_RUNTIME_PROGRAM_H

#include <lua.h>

/* --virtual-time: loops created in L's state from now on (the default loop,
 * asyncio.run's, new_event_loop's) run on virtual time unless their options
 * say otherwise. */
void alua__set_virtual_time(lua_State *L, int on);

#endif
