/* Preloaded by the REPL test of the prompt without readline: dlopen fails
 * for readline, as on a machine where it is not installed, and does its
 * usual work for everything else. */
#include <dlfcn.h>
#include <string.h>

void *dlopen(const char *file, int mode) {
  static void *(*real)(const char *, int);
  if (file && strncmp(file, "libreadline.", 12) == 0) return NULL;
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "dlopen");
  return real ? real(file, mode) : NULL;
}
