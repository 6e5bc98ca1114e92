#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/sock.h"

Test(sock, nonblock_and_cloexec) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  cr_assert_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
  cr_assert_eq(fcntl(p[0], F_GETFD) & FD_CLOEXEC, 0);
  cr_assert_eq(ac_set_nonblock(p[0]), 0);
  cr_assert_eq(ac_set_nonblock(p[0]), 0);
  cr_assert_eq(ac_set_cloexec(p[0]), 0);
  cr_assert_eq(ac_set_cloexec(p[0]), 0);
  cr_assert_neq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
  cr_assert_neq(fcntl(p[0], F_GETFD) & FD_CLOEXEC, 0);
  char c;
  cr_assert_eq(read(p[0], &c, 1), -1);
  cr_assert_eq(errno, EAGAIN);
  close(p[0]);
  close(p[1]);
  cr_assert_eq(ac_set_nonblock(p[0]), -EBADF);
  cr_assert_eq(ac_set_cloexec(-1), -EBADF);
}
