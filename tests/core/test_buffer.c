#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/buffer.h"

Test(buffer, empty) {
  ac_buf b;
  ac_buf_init(&b);
  cr_assert_eq(ac_buf_len(&b), 0);
  cr_assert_eq(ac_buf_find(&b, 0, "x", 1), -1);
  cr_assert_eq(ac_buf_append(&b, "", 0), 0);
  cr_assert_null(b.data);
  ac_buf_free(&b);
  ac_buf_free(&b);
}

Test(buffer, append_consume_rewinds) {
  ac_buf b;
  ac_buf_init(&b);
  cr_assert_eq(ac_buf_append(&b, "hello", 5), 0);
  cr_assert_eq(ac_buf_len(&b), 5);
  cr_assert_eq(memcmp(ac_buf_head(&b), "hello", 5), 0);
  ac_buf_consume(&b, 2);
  cr_assert_eq(ac_buf_len(&b), 3);
  cr_assert_eq(memcmp(ac_buf_head(&b), "llo", 3), 0);
  ac_buf_consume(&b, 3);
  cr_assert_eq(b.start, 0);
  cr_assert_eq(b.end, 0);
  ac_buf_free(&b);
}

Test(buffer, reserve_moves_before_growing) {
  ac_buf b;
  ac_buf_init(&b);
  char chunk[200];
  memset(chunk, 'a', sizeof chunk);
  cr_assert_eq(ac_buf_append(&b, chunk, 200), 0);
  size_t cap = b.cap;
  char *data = b.data;
  ac_buf_consume(&b, 150);
  /* 50 unread; asking for cap - 50 fits once they move to the front */
  cr_assert_eq(ac_buf_reserve(&b, cap - 50), 0);
  cr_assert_eq(b.cap, cap);
  cr_assert_eq(b.data, data);
  cr_assert_eq(b.start, 0);
  cr_assert_eq(ac_buf_len(&b), 50);
  /* one more byte than that must grow, keeping the content */
  cr_assert_eq(ac_buf_reserve(&b, cap - 49), 0);
  cr_assert_geq(b.cap, cap * 2);
  cr_assert_eq(ac_buf_len(&b), 50);
  for (size_t i = 0; i < 50; i++) cr_assert_eq(ac_buf_head(&b)[i], 'a');
  ac_buf_free(&b);
}

Test(buffer, commit_after_reserve) {
  ac_buf b;
  ac_buf_init(&b);
  cr_assert_eq(ac_buf_reserve(&b, 10), 0);
  cr_assert_geq(ac_buf_room(&b), 10);
  memcpy(ac_buf_tail(&b), "0123456789", 10);
  ac_buf_commit(&b, 10);
  cr_assert_eq(ac_buf_len(&b), 10);
  cr_assert_eq(memcmp(ac_buf_head(&b), "0123456789", 10), 0);
  ac_buf_free(&b);
}

Test(buffer, find) {
  ac_buf b;
  ac_buf_init(&b);
  const char *s = "ab\r\ncd\nef\r\n";
  cr_assert_eq(ac_buf_append(&b, s, strlen(s)), 0);
  cr_assert_eq(ac_buf_find(&b, 0, "\n", 1), 3);
  cr_assert_eq(ac_buf_find(&b, 4, "\n", 1), 6);
  cr_assert_eq(ac_buf_find(&b, 0, "\r\n", 2), 2);
  cr_assert_eq(ac_buf_find(&b, 3, "\r\n", 2), 9);
  cr_assert_eq(ac_buf_find(&b, 10, "\r\n", 2), -1);
  cr_assert_eq(ac_buf_find(&b, 0, "zz", 2), -1);
  cr_assert_eq(ac_buf_find(&b, 0, "x", 0), -1);
  cr_assert_eq(ac_buf_find(&b, 100, "\n", 1), -1);
  ac_buf_consume(&b, 4);
  cr_assert_eq(ac_buf_find(&b, 0, "\n", 1), 2);
  ac_buf_free(&b);
}

Test(buffer, reset_keeps_small_storage) {
  ac_buf b;
  ac_buf_init(&b);
  cr_assert_eq(ac_buf_append(&b, "xyz", 3), 0);
  ac_buf_reset(&b, 4096);
  cr_assert_eq(ac_buf_len(&b), 0);
  cr_assert_not_null(b.data);
  static char big[1 << 16];
  cr_assert_eq(ac_buf_append(&b, big, sizeof big), 0);
  ac_buf_reset(&b, 4096);
  cr_assert_null(b.data);
  cr_assert_eq(b.cap, 0);
  ac_buf_free(&b);
}

Test(buffer, huge_reserve_fails_cleanly) {
  ac_buf b;
  ac_buf_init(&b);
  cr_assert_eq(ac_buf_append(&b, "abc", 3), 0);
  cr_assert_eq(ac_buf_reserve(&b, (size_t)-1), -ENOMEM);
  cr_assert_eq(ac_buf_len(&b), 3);
  cr_assert_eq(memcmp(ac_buf_head(&b), "abc", 3), 0);
  ac_buf_free(&b);
}

Test(buffer, many_fill_drain_cycles_do_not_grow) {
  ac_buf b;
  ac_buf_init(&b);
  char msg[64];
  memset(msg, 'm', sizeof msg);
  cr_assert_eq(ac_buf_append(&b, msg, sizeof msg), 0);
  size_t cap = b.cap;
  for (int i = 0; i < 10000; i++) {
    cr_assert_eq(ac_buf_append(&b, msg, sizeof msg), 0);
    ac_buf_consume(&b, sizeof msg);
  }
  cr_assert_eq(b.cap, cap);
  ac_buf_free(&b);
}
