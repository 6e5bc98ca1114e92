/* Finding a separator under a limit, as asyncio's readuntil: found within
 * the limit, found past it, not found yet, not found and too long, records
 * that arrive in pieces (searched once), multi-byte separators split across
 * arrivals, and the exact limits. Then the same for several separators
 * (ac_sep_find_any, readuntil of a tuple in Python 3.13): the match that
 * ends first, the shortest of those that end together, the limits counted
 * with the longest, and a search that stops at an early match. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* -- several separators --------------------------------------------------- */

/* Up to four separators from a NULL-terminated list of strings. */
typedef struct list {
  size_t n;
  ac_sep sep[4];
} list;

static list seps(const char *a, const char *b, const char *c, const char *d) {
  const char *s[] = {a, b, c, d};
  list l = {0, {{0}}};
  while (l.n < 4 && s[l.n]) {
    l.sep[l.n] = (ac_sep){s[l.n], strlen(s[l.n])};
    l.n++;
  }
  return l;
}

static int find_any(ac_sepscan *sc, const char *s, list l, size_t limit) {
  return ac_sep_find_any(sc, s, strlen(s), l.sep, l.n, limit);
}

/* CPython's test_readuntil_multi_separator, and a match that starts first
 * but ends later */
Test(sepscan, several_takes_the_match_that_ends_first) {
  ac_sepscan sc;
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "line 1\nline 2\r", seps("\r", "\n", NULL, NULL), 100), 0);
  cr_assert_eq(sc.len, 7);
  cr_assert_eq(sc.which, 1);
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "ABCDEFG", seps("DEF", "BCDE", NULL, NULL), 100), 0);
  cr_assert_eq(sc.len, 5, "BCDE ends first, though longer");
  cr_assert_eq(sc.which, 1);
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "xabc", seps("abc", "b", NULL, NULL), 100), 0);
  cr_assert_eq(sc.len, 3, "b ends before abc, which starts first");
  cr_assert_eq(sc.which, 1);
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "one;two|three", seps("|", ";", NULL, NULL), 100), 0);
  cr_assert_eq(sc.len, 4);
  cr_assert_eq(sc.which, 1);
}

Test(sepscan, several_takes_the_shortest_of_matches_that_end_together) {
  ac_sepscan sc;
  /* same start: the shorter ends first */
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "a\r\nb", seps("\r\n", "\r", NULL, NULL), 100), 0);
  cr_assert_eq(sc.len, 2);
  cr_assert_eq(sc.which, 1);
  /* same end: the same record, but the shorter separator is the match */
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "a\r\nb", seps("\r\n", "\n", NULL, NULL), 100), 0);
  cr_assert_eq(sc.len, 3);
  cr_assert_eq(sc.which, 1);
  /* which the limit sees (CPython's test_readuntil_multi_separator_limit),
   * in either order */
  for (int order = 0; order < 2; order++) {
    ac_sep_init(&sc);
    list l = order ? seps("ome dataA", "A", NULL, NULL) : seps("A", "ome dataA", NULL, NULL);
    cr_assert_eq(find_any(&sc, "some dataA", l, 3), -EMSGSIZE);
    cr_assert(sc.found);
    cr_assert_eq(sc.len, 9, "consumed is the shorter separator's offset");
    cr_assert_eq(sc.which, (size_t)order);
  }
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "aaa\r\n", seps("\r\n", "\n", NULL, NULL), 3), -EMSGSIZE, "\\n at 4 is past 3");
  cr_assert_eq(sc.len, 4);
}

Test(sepscan, several_limits_count_with_the_longest_separator) {
  ac_sepscan sc;
  ac_sep_init(&sc);
  cr_assert_eq(find_any(&sc, "123456", seps("\n", "END!", NULL, NULL), 3), -EAGAIN, "3 bytes cannot begin END!");
  cr_assert_eq(find_any(&sc, "1234567", seps("\n", "END!", NULL, NULL), 3), -EMSGSIZE);
  cr_assert(!sc.found);
  cr_assert_eq(sc.len, 4);
  /* CPython's test_readuntil_multi_separator_negative_offset: fewer bytes
   * than the longest separator count none */
  ac_sep_init(&sc);
  list l = seps("A", "long sep", NULL, NULL);
  cr_assert_eq(find_any(&sc, "data", l, 0), -EAGAIN);
  cr_assert_eq(find_any(&sc, "dataZ", l, 0), -EAGAIN);
  cr_assert_eq(find_any(&sc, "dataZAaaa", l, 100), 0);
  cr_assert_eq(sc.len, 6);
}

Test(sepscan, several_refuses_no_separator_or_an_empty_one) {
  ac_sepscan sc;
  ac_sep_init(&sc);
  cr_assert_eq(ac_sep_find_any(&sc, "abc", 3, NULL, 0, 100), -EINVAL);
  cr_assert_eq(find_any(&sc, "abc", seps("b", "", NULL, NULL), 100), -EINVAL);
  cr_assert_eq(find_any(&sc, "abc", seps("", NULL, NULL, NULL), 100), -EINVAL);
}

/* A record arriving a byte at a time: each call searches only what is new
 * (sc.from is how far the bytes were searched), and a separator split over
 * arrivals is found. */
Test(sepscan, several_pieces_are_searched_once) {
  const char *text = "header\r\r\n";
  list l = seps("\r\n", "\n", "\r\n\r\n", NULL);
  ac_sepscan sc;
  ac_sep_init(&sc);
  size_t n = strlen(text);
  for (size_t i = 1; i < n; i++) {
    cr_assert_eq(ac_sep_find_any(&sc, text, i, l.sep, l.n, 100), -EAGAIN, "%zu bytes", i);
    cr_assert_eq(sc.from, i);
  }
  cr_assert_eq(ac_sep_find_any(&sc, text, n, l.sep, l.n, 100), 0);
  cr_assert_eq(sc.len, n);
  cr_assert_eq(sc.which, 1, "\\n: the shortest to end there");
  cr_assert_eq(find_any(&sc, "a\n", l, 100), 0, "fewer bytes than searched: a new search");
  cr_assert_eq(sc.len, 2);
}

/* The incremental search agrees with a search of the whole buffer, for
 * every way of cutting it into two arrivals, every order of the
 * separators, and one separator agrees with ac_sep_find. */
Test(sepscan, several_split_agrees_with_one_search) {
  const char *text = "xx\r\r\nyyabcabyy\r\n";
  size_t n = strlen(text);
  list lists[] = {seps("\r\n", "\n", NULL, NULL), seps("abc", "b", "yy\r", NULL),
                  seps("\r\r\n", "c", "aby", "\r\n"), seps("\r\n", NULL, NULL, NULL)};
  for (size_t li = 0; li < sizeof lists / sizeof lists[0]; li++) {
    for (size_t rot = 0; rot < lists[li].n; rot++) {
      list l = lists[li];
      for (size_t i = 0; i < l.n; i++) l.sep[i] = lists[li].sep[(i + rot) % l.n];
      for (size_t limit = 0; limit < 12; limit++) {
        ac_sepscan whole;
        ac_sep_init(&whole);
        int rw = ac_sep_find_any(&whole, text, n, l.sep, l.n, limit);
        if (l.n == 1) {
          ac_sepscan one;
          ac_sep_init(&one);
          cr_assert_eq(ac_sep_find(&one, text, n, l.sep[0].p, l.sep[0].len, limit), rw);
          cr_assert_eq(one.len, whole.len);
          cr_assert_eq(one.found, whole.found);
        }
        for (size_t cut = 0; cut <= n; cut++) {
          ac_sepscan sc;
          ac_sep_init(&sc);
          int r = ac_sep_find_any(&sc, text, cut, l.sep, l.n, limit);
          if (r == -EAGAIN) r = ac_sep_find_any(&sc, text, n, l.sep, l.n, limit);
          else continue; /* decided on the first piece: checked by the fuzzer's model */
          cr_assert_eq(r, rw, "list %zu rot %zu limit %zu cut %zu", li, rot, limit, cut);
          cr_assert_eq(sc.len, whole.len, "list %zu rot %zu limit %zu cut %zu", li, rot, limit, cut);
          cr_assert_eq(sc.found, whole.found);
          if (r == 0 || sc.found) cr_assert_eq(l.sep[sc.which].len, l.sep[whole.which].len);
        }
      }
    }
  }
}

/* A match found early ends the search, even of a separator that is not in
 * the buffer at all: the bytes after the first page are unreadable, and a
 * search that went on to the end of the buffer would fault. (Else reading
 * a buffer full of short records would search all of it for each one.) */
Test(sepscan, several_search_stops_at_an_early_match) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(p != MAP_FAILED);
  cr_assert_eq(mprotect(p + page, page, PROT_NONE), 0);
  memset(p, 'x', page);
  size_t at[] = {2, 300, 1000};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    p[at[i]] = '\n';
    list lists[] = {seps("\r\n", "\n", NULL, NULL), seps("X", "\n", NULL, NULL), seps("\n", "\r\n\r\n", "Y", NULL)};
    for (size_t li = 0; li < sizeof lists / sizeof lists[0]; li++) {
      ac_sepscan sc;
      ac_sep_init(&sc);
      cr_assert_eq(ac_sep_find_any(&sc, p, 2 * page, lists[li].sep, lists[li].n, 1 << 20), 0);
      cr_assert_eq(sc.len, at[i] + 1);
    }
    p[at[i]] = 'x';
  }
  munmap(p, 2 * page);
}
