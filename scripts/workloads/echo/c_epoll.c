/* Echo workload, the reference: a minimal single-threaded epoll echo server
 * in C (level-triggered, one read and one write per message, what any
 * event loop does at the least). Listens on 127.0.0.1 at the port given
 * (0: any), prints `port=<n>` on stdout, serves until killed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct client {
  int fd;
  size_t pending;  /* bytes of out not sent yet */
  char out[65536]; /* echo waiting for room (rarely used) */
} client;

static char buf[65536];

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 511) < 0) {
    perror("c_epoll: listen");
    return 1;
  }
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  printf("port=%d\n", ntohs(sa.sin_port));
  fflush(stdout);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      client *c = evs[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          client *nc = malloc(sizeof *nc);
          nc->fd = fd;
          nc->pending = 0;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if (c->pending) { /* EPOLLOUT: finish the echo before reading more */
        ssize_t w = send(c->fd, c->out, c->pending, MSG_NOSIGNAL);
        if (w > 0) {
          memmove(c->out, c->out + w, c->pending - (size_t)w);
          c->pending -= (size_t)w;
        }
        if (c->pending == 0) {
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
        }
        continue;
      }
      ssize_t r = recv(c->fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        close(c->fd);
        free(c);
        continue;
      }
      ssize_t w = send(c->fd, buf, (size_t)r, MSG_NOSIGNAL);
      if (w < 0) w = 0;
      if (w < r) {
        memcpy(c->out, buf + w, (size_t)(r - w));
        c->pending = (size_t)(r - w);
        struct epoll_event cev = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
      }
    }
  }
}
