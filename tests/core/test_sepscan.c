/* Finding a separator under a limit, as asyncio's readuntil: found within
 * the limit, found past it, not found yet, not found and too long, records
 * that arrive in pieces (searched once), multi-byte separators split across
 * arrivals, and the exact limits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/sepscan.h"

static int find(ac_sepscan *sc, const char *s, const char *sep, size_t limit) {
  return ac_sep_find(sc, s, strlen(s), sep, strlen(sep), limit);
}

Test(sepscan, found_within_the_limit) {
  ac_sepscan sc;
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "abc\ndef\n", "\n", 100), 0);
  cr_assert_eq(sc.len, 4);
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "one||two||", "||", 100), 0);
  cr_assert_eq(sc.len, 5);
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "\n", "\n", 100), 0, "an empty line");
  cr_assert_eq(sc.len, 1);
}

Test(sepscan, not_found_waits) {
  ac_sepscan sc;
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "", "\n", 100), -EAGAIN);
  cr_assert_eq(find(&sc, "abc", "\n", 100), -EAGAIN);
  cr_assert_eq(sc.from, 3);
  cr_assert_eq(find(&sc, "abc|", "||", 100), -EAGAIN);
  cr_assert_eq(sc.from, 3, "the last byte may begin the separator");
  cr_assert_eq(find(&sc, "a", "abc", 100), -EAGAIN, "shorter than the separator");
  cr_assert_eq(find(&sc, "", "", 100), -EINVAL);
}

Test(sepscan, pieces_are_searched_once_and_split_separators_found) {
  ac_sepscan sc;
  ac_sep_init(&sc);
  char buf[64] = "";
  const char *pieces[] = {"ab", "c\r", "", "\n", "rest"};
  int want[] = {-EAGAIN, -EAGAIN, -EAGAIN, 0};
  size_t from[] = {1, 3, 3};
  for (int i = 0; i < 4; i++) {
    strcat(buf, pieces[i]);
    cr_assert_eq(find(&sc, buf, "\r\n", 100), want[i], "piece %d", i);
    if (i < 3) cr_assert_eq(sc.from, from[i], "piece %d: from %zu", i, sc.from);
  }
  cr_assert_eq(sc.len, 5);
}

Test(sepscan, limits_are_asyncios) {
  ac_sepscan sc;
  /* separator at offset == limit: fits; at limit + 1: too long */
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "1234\n", "\n", 4), 0);
  cr_assert_eq(sc.len, 5);
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "12345\nabc", "\n", 4), -EMSGSIZE);
  cr_assert(sc.found);
  cr_assert_eq(sc.len, 5, "consumed is the separator's offset");
  /* not found: limit bytes may wait, limit + 1 may not */
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "1234", "\n", 4), -EAGAIN);
  cr_assert_eq(find(&sc, "12345", "\n", 4), -EMSGSIZE);
  cr_assert(!sc.found);
  cr_assert_eq(sc.len, 5);
  /* a longer separator may start in the last seplen - 1 bytes */
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "123456", "END", 4), -EAGAIN);
  cr_assert_eq(find(&sc, "1234567", "END", 4), -EMSGSIZE);
  cr_assert_eq(sc.len, 5);
}

Test(sepscan, another_buffer_starts_over) {
  ac_sepscan sc;
  ac_sep_init(&sc);
  cr_assert_eq(find(&sc, "abcdefgh", "\n", 100), -EAGAIN);
  cr_assert_eq(find(&sc, "a\n", "\n", 100), 0, "fewer bytes than searched: a new search");
  cr_assert_eq(sc.len, 2);
}

/* The incremental search agrees with a search of the whole buffer, for
 * every way of cutting a record into two arrivals. */
Test(sepscan, any_split_agrees_with_one_search) {
  const char *text = "xx\r\r\nyy\r\n";
  size_t n = strlen(text);
  for (size_t limit = 0; limit < 8; limit++) {
    ac_sepscan whole;
    ac_sep_init(&whole);
    int rw = ac_sep_find(&whole, text, n, "\r\n", 2, limit);
    for (size_t cut = 0; cut <= n; cut++) {
      ac_sepscan sc;
      ac_sep_init(&sc);
      int r = ac_sep_find(&sc, text, cut, "\r\n", 2, limit);
      if (r == -EAGAIN) r = ac_sep_find(&sc, text, n, "\r\n", 2, limit);
      else continue; /* decided on the first piece: checked by the fuzzer's model */
      cr_assert_eq(r, rw, "limit %zu cut %zu", limit, cut);
      cr_assert_eq(sc.len, whole.len, "limit %zu cut %zu", limit, cut);
      cr_assert_eq(sc.found, whole.found);
    }
  }
}
