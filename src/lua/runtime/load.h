/* Loading Lua source through the async/await translator (src/syntax). Every
 * loader of alua goes through these: scripts, -e, stdin, the REPL, require,
 * load, loadfile and dofile. Binary chunks pass through untouched. */
#ifndef ALUA_LUA_LOAD_H
#define ALUA_LUA_LOAD_H

#include <stddef.h>

#include <lua.h>

#include "alua.h" /* alua_loadbufferx, alua_loadfilex, alua_translate */

/* Replaces _G.load, _G.loadfile and _G.dofile with translating versions
 * (same signatures and behaviour as Lua 5.4's, including load's reader
 * function and env argument), and package.searchers[2], the Lua file
 * searcher, with a translating one (same search along package.path, same
 * error messages). Does what it can if the base or package library is
 * missing. */
void alua__install_loaders(lua_State *L);

/* Makes the async and await functions of the module table at `module`
 * reachable as ("").__alua_async and ("").__alua_await, which is where the
 * translator's prelude finds them (see syntax/translate.h): through a
 * metatable of the string library table, created (with a string metatable,
 * if strings have none) as needed. They are looked up in the module when
 * first used, so installing them makes nothing of the module (lazy.c).
 * May raise memory errors. */
void alua__install_prelude(lua_State *L, int module);

/* Lua: asyncio.install_loaders(): alua__install_loaders for stock Lua. */
int alua__lua_install_loaders(lua_State *L);

/* Lua: asyncio.load(chunk [, chunkname [, mode [, env]]]): load, translating. */
int alua__lua_load(lua_State *L);

/* Lua: asyncio.loadfile([path [, mode [, env]]]): loadfile, translating. */
int alua__lua_loadfile(lua_State *L);

/* Lua: asyncio.translate(src): the translated source, as a string. */
int alua__lua_translate(lua_State *L);

#endif
