/* Loading Lua source through the async/await translator (src/syntax). Every
 * loader of alua goes through these: scripts, -e, stdin, the REPL, require,
 * load, loadfile and dofile. Binary chunks pass through untouched. */
#ifndef ALUA_LUA_LOAD_H
#define ALUA_LUA_LOAD_H

#include <stddef.h>

#include <lua.h>

/* Like luaL_loadbufferx, but text chunks go through the translator. */
int alua_loadbufferx(lua_State *L, const char *buf, size_t len,
                     const char *chunkname, const char *mode);

/* Like luaL_loadfilex (a NULL path reads stdin), translating. Skips a UTF-8
 * byte order mark and a leading '#' line exactly like luaL_loadfilex, and
 * reports errors as it does ("cannot open x.lua: No such file or
 * directory"). */
int alua_loadfilex(lua_State *L, const char *path, const char *mode);

/* Replaces _G.load, _G.loadfile and _G.dofile with translating versions
 * (same signatures and behaviour as Lua 5.4's, including load's reader
 * function and env argument), and package.searchers[2], the Lua file
 * searcher, with a translating one (same search along package.path, same
 * error messages). Does what it can if the base or package library is
 * missing. */
void alua_install_loaders(lua_State *L);

/* Lua: asyncio.load(chunk [, chunkname [, mode [, env]]]): load, translating. */
int alua_lua_load(lua_State *L);

/* Lua: asyncio.loadfile([path [, mode [, env]]]): loadfile, translating. */
int alua_lua_loadfile(lua_State *L);

/* Lua: asyncio.translate(src): the translated source, as a string. */
int alua_lua_translate(lua_State *L);

#endif
