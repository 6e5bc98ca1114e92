/* Inlining of a few C API functions into alua, for the Lua compiled into
 * the program (meson.build force-includes this into Lua's own sources;
 * nothing else includes it). With link-time optimisation GCC may inline
 * Lua's API functions into the bindings, and the profile of the test
 * suite decides where; the ones below stay out of line at most call sites,
 * although the hot paths of queues, tasks and timers call them all the
 * time (a uservalue or a table slot read or written: an index check and a
 * copy, under a call's cost). Marked always_inline here, before lapi.c's
 * definitions, they are inlined at every call site of the program.
 * Declared without lua.h (its configuration is not set yet); the types
 * are lua.h's (lua_Integer is long long in Debian's build). */
#ifndef ALUA_LUAINLINE_H
#define ALUA_LUAINLINE_H

struct lua_State;
extern int(lua_getiuservalue)(struct lua_State *L, int idx, int n) __attribute__((always_inline));
extern int(lua_setiuservalue)(struct lua_State *L, int idx, int n) __attribute__((always_inline));
extern int(lua_rawgeti)(struct lua_State *L, int idx, long long n) __attribute__((always_inline));
extern void(lua_rawseti)(struct lua_State *L, int idx, long long n) __attribute__((always_inline));
/* and the two that the task step, timers and futures call most */
extern void(lua_settop)(struct lua_State *L, int idx) __attribute__((always_inline));
extern void *(lua_touserdata)(struct lua_State *L, int idx) __attribute__((always_inline));

#endif
