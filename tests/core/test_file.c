#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"

/* A fresh temporary directory for one test, removed by rmtmp. */
static char dir[64];

static void mktmp(void) {
  snprintf(dir, sizeof dir, "/tmp/ac_file_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void rmtmp(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(file, .init = mktmp, .fini = rmtmp);

static const char *in_dir(const char *name) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

Test(file, open_errors) {
  cr_assert_eq(ac_file_open(in_dir("missing"), O_RDONLY, 0), -ENOENT);
  /* a directory is refused even read-only, where open itself succeeds */
  cr_assert_eq(ac_file_open(dir, O_RDONLY, 0), -EISDIR);
  cr_assert_eq(ac_file_open(dir, O_WRONLY, 0), -EISDIR);
  int fd = ac_file_open(in_dir("x"), O_WRONLY | O_CREAT | O_EXCL, 0600);
  cr_assert_geq(fd, 0);
  close(fd);
  cr_assert_eq(ac_file_open(in_dir("x"), O_WRONLY | O_CREAT | O_EXCL, 0600), -EEXIST);
}

Test(file, descriptors_are_cloexec) {
  int fd = ac_file_open(in_dir("f"), O_RDWR | O_CREAT, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_neq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  close(fd);
}

Test(file, write_seek_read) {
  int fd = ac_file_open(in_dir("f"), O_RDWR | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(ac_file_write(fd, "hello, world", 12), 12);
  cr_assert_eq(ac_file_write(fd, "", 0), 0);
  cr_assert_eq(ac_file_seek(fd, 0, SEEK_CUR), 12);
  cr_assert_eq(ac_file_seek(fd, 7, SEEK_SET), 7);
  char buf[32];
  cr_assert_eq(ac_file_read(fd, buf, sizeof buf), 5);
  cr_assert_arr_eq(buf, "world", 5);
  cr_assert_eq(ac_file_read(fd, buf, sizeof buf), 0); /* end of file */
  cr_assert_eq(ac_file_seek(fd, -5, SEEK_END), 7);
  cr_assert_eq(ac_file_seek(fd, -100, SEEK_SET), -EINVAL);
  close(fd);
  cr_assert_eq(ac_file_read(fd, buf, 1), -EBADF);
  cr_assert_eq(ac_file_write(fd, "x", 1), -EBADF);
  cr_assert_eq(ac_file_seek(fd, 0, SEEK_SET), -EBADF);
}

Test(file, read_returns_what_a_pipe_has) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  cr_assert_eq(write(p[1], "abc", 3), 3);
  char buf[16];
  /* a short read: there are 3 bytes, not 16, and it does not wait for more */
  cr_assert_eq(ac_file_read(p[0], buf, sizeof buf), 3);
  close(p[1]);
  cr_assert_eq(ac_file_read(p[0], buf, sizeof buf), 0);
  close(p[0]);
}

Test(file, write_to_a_read_only_descriptor) {
  int fd = ac_file_open(in_dir("ro"), O_RDONLY | O_CREAT, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(ac_file_write(fd, "x", 1), -EBADF);
  close(fd);
}

static int pending_sigpipe(void) {
  sigset_t set;
  sigpending(&set);
  return sigismember(&set, SIGPIPE);
}

/* Writing to a pipe whose reader is gone reports EPIPE; the process is
 * neither killed nor left with a pending SIGPIPE, and the mask is as before. */
Test(file, pipe_write_without_sigpipe) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  cr_assert_eq(ac_pipe_write(p[1], "ok", 2), 2);
  close(p[0]);
  sigset_t before, after;
  pthread_sigmask(SIG_SETMASK, NULL, &before);
  cr_assert_eq(ac_pipe_write(p[1], "x", 1), -EPIPE);
  pthread_sigmask(SIG_SETMASK, NULL, &after);
  cr_assert_eq(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
  cr_assert_not(pending_sigpipe());
  close(p[1]);
}

/* A SIGPIPE that was pending before the write stays pending: it is not ours
 * to take. */
Test(file, pipe_write_leaves_an_earlier_sigpipe) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  raise(SIGPIPE);
  cr_assert(pending_sigpipe());
  int p[2];
  cr_assert_eq(pipe(p), 0);
  close(p[0]);
  cr_assert_eq(ac_pipe_write(p[1], "x", 1), -EPIPE);
  cr_assert(pending_sigpipe());
  /* still blocked: the mask the caller had is back */
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, NULL, &now);
  cr_assert(sigismember(&now, SIGPIPE));
  struct timespec zero = {0, 0};
  cr_assert_eq(sigtimedwait(&set, NULL, &zero), SIGPIPE);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(p[1]);
}

Test(file, pipe_write_full_nonblocking_pipe) {
  int p[2];
  cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
  static char chunk[65536];
  ssize_t r;
  while ((r = ac_pipe_write(p[1], chunk, sizeof chunk)) > 0) {
  }
  cr_assert_eq(r, -EAGAIN);
  close(p[0]);
  close(p[1]);
}
