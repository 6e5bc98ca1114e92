#include "cli/rl.h"

#include <dlfcn.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
/* The soname of the readline whose headers the build used. */
#define LIBREADLINE_NAME "libreadline.so." STR(RL_VERSION_MAJOR)

struct cli_rl cli_rl;

static int loaded = -1; /* -1 before the first cli_rl_load, then its answer */

int cli_rl_load(void) {
  if (loaded >= 0) return loaded;
  loaded = 0;
  void *h = dlopen(LIBREADLINE_NAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) return 0;
#define X(name)                                    \
  if (!(*(void **)&cli_rl.name = dlsym(h, #name))) { \
    memset(&cli_rl, 0, sizeof cli_rl);             \
    dlclose(h);                                    \
    return 0;                                      \
  }
  CLI_RL_NAMES(X)
#undef X
  loaded = 1; /* the library stays loaded: the prompt's state lives in it */
  return 1;
}
