/* The Lua library, compiled to bytecode at build time (see lib/embed.c). */
#ifndef ALUA_LUA_EMBEDDED_H
#define ALUA_LUA_EMBEDDED_H

#include <stddef.h>

typedef struct alua__embedded_file {
  const char *name;   /* module name, e.g. "asyncio.taskgroup" */
  const char *source; /* the chunk's bytecode */
  size_t len;         /* its length */
} alua__embedded_file;

extern const alua__embedded_file alua__embedded_files[];

#endif
