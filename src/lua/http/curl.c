/* Loading libcurl (see curl.h). */
#include "lua/http/curl.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

/* The soname of libcurl's ABI 4, stable since 2006. */
#define LIBCURL_NAME "libcurl.so.4"

alua__curl_api alua__curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256]; /* why libcurl could not be loaded, "" if it was */

static void load(void) {
  void *h = dlopen(LIBCURL_NAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(load_error, sizeof load_error, "cannot load %s: %s", LIBCURL_NAME, dlerror());
    return;
  }
#define X(name)                                                                                      \
  if (!(*(void **)&alua__curl.name = dlsym(h, #name))) {                                             \
    snprintf(load_error, sizeof load_error, "%s has no %s (libcurl 7.66 or later needed)", LIBCURL_NAME, #name); \
    return;                                                                                          \
  }
  ALUA__CURL_FUNCS(X)
#undef X
  CURLcode rc = alua__curl.curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    snprintf(load_error, sizeof load_error, "cannot initialise libcurl: %s", alua__curl.curl_easy_strerror(rc));
}

int alua__curl_load(char *err, size_t errlen) {
  pthread_once(&load_once, load);
  if (!load_error[0]) return 0;
  if (errlen) snprintf(err, errlen, "%s", load_error);
  return -ELIBACC;
}
