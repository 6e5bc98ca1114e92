/* libcurl, loaded with dlopen on first use (linking it would add about
 * 3 ms to every start of alua, for the many programs that never fetch a
 * URL). Every curl function the HTTP client calls goes through the table
 * alua__curl; only curl's headers are needed at build time. */
#ifndef ALUA_LUA_HTTP_CURL_H
#define ALUA_LUA_HTTP_CURL_H

#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt stays a function, whose type the table takes */
#include <curl/curl.h>
#include <stddef.h>

#define ALUA__CURL_FUNCS(X)                                                                                    \
  X(curl_global_init) X(curl_multi_init) X(curl_multi_cleanup) X(curl_multi_setopt) X(curl_multi_assign)       \
  X(curl_multi_socket_action) X(curl_multi_info_read) X(curl_multi_add_handle) X(curl_multi_remove_handle)     \
  X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_reset) X(curl_easy_setopt) X(curl_easy_getinfo)          \
  X(curl_easy_pause) X(curl_easy_strerror) X(curl_slist_append) X(curl_slist_free_all) X(curl_url)             \
  X(curl_url_cleanup) X(curl_url_set) X(curl_url_get) X(curl_free)

typedef struct alua__curl_api {
#define X(name) __typeof__(name) *name;
  ALUA__CURL_FUNCS(X)
#undef X
} alua__curl_api;

/* The functions; valid once alua__curl_load returned 0. */
extern alua__curl_api alua__curl;

/* Loads libcurl and initialises it, once per process (thread-safe). 0, or
 * -ELIBACC with the reason in err. */
int alua__curl_load(char *err, size_t errlen);

#endif
