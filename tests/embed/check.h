/* A minimal checking harness for the tests of the embedding API: programs
 * that use nothing but alua.h and Lua's headers, and exit non-zero on the
 * first failed check. */
#ifndef ALUA_TEST_CHECK_H
#define ALUA_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                         \
      fputc('\n', stderr);                                                  \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

#endif
