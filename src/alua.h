/* alua: Lua 5.4 with asyncio — the embedding API.
 *
 * A host creates a state with everything opened (alua_newstate), or opens
 * only the module in a state of its own (luaopen_asyncio, also what
 * `require "asyncio"` finds in asyncio.so). Source loaded through
 * alua_loadbufferx / alua_loadfilex understands `async function` and
 * `await`. */
#ifndef ALUA_H
#define ALUA_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>

#define ALUA_VERSION "alua 0.1.0"

/* Marks the functions libalua and asyncio.so export; everything else in
 * them is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define ALUA_API __attribute__((visibility("default")))
#else
#define ALUA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The asyncio module: returns the module table (one per state). */
ALUA_API int luaopen_asyncio(lua_State *L);

/* A new state with the standard libraries, `asyncio` as a global and in
 * package.loaded, and translating load/loadfile/dofile/require. NULL when
 * out of memory. Close it with alua_close. */
ALUA_API lua_State *alua_newstate(void);

/* A state with alua's allocator (size classes on huge-page arenas) and
 * nothing opened. Close it with alua_close. */
ALUA_API lua_State *alua_newrawstate(void);

/* Closes a state from alua_newstate / alua_newrawstate (or any other: then
 * it is plain lua_close) and releases its allocator. */
ALUA_API void alua_close(lua_State *L);

/* Opens asyncio (global and package.loaded) and the translating loaders in
 * an existing state with the standard libraries; os.exit(code, true) then
 * closes the state with alua_close. */
ALUA_API void alua_openlibs(lua_State *L);

/* Like luaL_loadbufferx / luaL_loadfilex, but text chunks go through the
 * async/await translator first. */
ALUA_API int alua_loadbufferx(lua_State *L, const char *buf, size_t len, const char *chunkname, const char *mode);
ALUA_API int alua_loadfilex(lua_State *L, const char *path, const char *mode);

/* Ctrl+C for a host, async-signal-safe: call it from a signal handler or
 * from another thread. It interrupts the running Lua code at its next
 * instruction (plain code gets lua5.4's "interrupted!" error, the main task
 * its cancellation) and cancels the main task: the one asyncio.run or a
 * loop:run_until_complete runs, or a top-level await's. L is the state's
 * main thread (what alua_newstate returned). From a thread other than the
 * one running the state it cannot stop code that never yields; the main
 * task is cancelled when the loop next gets control. */
ALUA_API void alua_interrupt(lua_State *L);

/* Translates alua source to plain Lua. Returns 0 and a malloc'd *out, or a
 * negative errno. */
ALUA_API int alua_translate(const char *src, size_t len, char **out, size_t *outlen);

#ifdef __cplusplus
}
#endif

#endif
