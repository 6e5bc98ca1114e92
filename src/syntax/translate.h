/* The async/await translator: alua source (Lua 5.4 plus `async function` and
 * `await`) in, plain Lua 5.4 out, in one pass, with every line kept on its
 * line number. No Lua headers: loaders in src/lua/ call it before lua_load. */
#ifndef ALUA_SYNTAX_TRANSLATE_H
#define ALUA_SYNTAX_TRANSLATE_H

#include <stddef.h>

/* The names translated code uses; the prelude binds them as locals on the
 * chunk's first line (after a leading '#' line, which stays as it is), from
 * fields of the same names that strings find through their metatable
 * (`("").__alua_await`), else from require("asyncio"). */
#define ALUA_SYNTAX_ASYNC "__alua_async"
#define ALUA_SYNTAX_AWAIT "__alua_await"

/* Translates src[0..len). On success returns 0, and *out (malloc'd,
 * NUL-terminated, freed by the caller) and *outlen hold the result. Input that
 * uses neither keyword comes back byte for byte. Malformed input is never
 * rejected here: it is passed on so that Lua's parser reports it, at the
 * user's line. Returns -ENOMEM when memory runs out. */
int at_translate(const char *src, size_t len, char **out, size_t *outlen);

#endif
