/* libFuzzer target for the translator. For any input: translation succeeds,
 * stays in bounds (ASan), keeps the number of lines exactly, returns input
 * without keywords byte for byte, and its output either fails to load or
 * loads in Lua 5.4 without trouble. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "syntax/translate.h"

/* Lines as Lua counts them: "\r\n" and "\n\r" are one break. */
static size_t lines(const char *s, size_t n) {
  size_t count = 1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\n' && s[i] != '\r')
      continue;
    count++;
    if (i + 1 < n && (s[i + 1] == '\n' || s[i + 1] == '\r') && s[i + 1] != s[i])
      i++;
  }
  return count;
}

static lua_State *L;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *src = (const char *)data;
  char *out = NULL;
  size_t outlen = 0;
  if (at_translate(src, size, &out, &outlen) != 0)
    abort();
  if (out[outlen] != '\0')
    abort();
  if (lines(out, outlen) != lines(src, size))
    abort();
  if (!memmem(src, size, "await", 5) && !memmem(src, size, "async", 5) &&
      (outlen != size || memcmp(out, src, size) != 0))
    abort();
  if (!L)
    L = luaL_newstate();
  /* loading must not crash Lua's parser, whatever it returns */
  (void)luaL_loadbufferx(L, out, outlen, "=fuzz", "t");
  lua_settop(L, 0);
  free(out);
  return 0;
}
