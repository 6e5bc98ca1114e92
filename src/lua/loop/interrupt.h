/* Ctrl+C in plain Lua code run by the alua program (src/cli/main.c), as
 * lua5.4 handles it: while a chunk runs, SIGINT sets a hook that raises
 * KeyboardInterrupt in the main thread at its next instruction, and a
 * second SIGINT stops the process. asyncio.run takes SIGINT over from it
 * while it runs. */
#ifndef ALUA_LUA_LOOP_INTERRUPT_H
#define ALUA_LUA_LOOP_INTERRUPT_H

#include <lua.h>

/* Installs the handler (whatever the disposition was, as lua.c does: a
 * SIGINT inherited as ignored is handled too). Does nothing when the
 * asyncio module is not open in L's state. */
void alua__sigint_plain_begin(lua_State *L);
/* Puts the previous disposition back and clears a hook set too late. */
void alua__sigint_plain_end(lua_State *L);

#endif
