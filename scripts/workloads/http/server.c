/* http workload: the server every client fetches from, the same for all
 * of them. A minimal single-threaded epoll HTTP/1.1 server in C: every
 * request (whatever its path) gets the same 200 response with a 1 KiB
 * body, on kept-alive connections (pipelined requests are answered in
 * order). Listens on 127.0.0.1 at the port given (0: any), prints
 * `port=<n>` on stdout, serves until killed. */
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

#define BODY 1024

typedef struct conn {
  int fd;
  size_t have;        /* bytes of request in `in` */
  char in[16384];     /* requests received, not answered yet */
  size_t pending;     /* bytes of `out` not sent yet */
  char *out;          /* answers waiting for room (rarely used) */
  size_t cap;         /* bytes allocated at out */
} conn;

static char response[512 + BODY];
static size_t response_len;

static void drop(conn *c) {
  close(c->fd);
  free(c->out);
  free(c);
}

/* Sends n bytes of p, or queues what the socket does not take; -1 when the
 * connection broke. */
static int send_all(int ep, conn *c, const char *p, size_t n) {
  if (c->pending == 0) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) return -1;
    if (w < 0) w = 0;
    p += w;
    n -= (size_t)w;
    if (n == 0) return 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  }
  if (c->pending + n > c->cap) {
    c->cap = (c->pending + n) * 2;
    c->out = realloc(c->out, c->cap);
  }
  memcpy(c->out + c->pending, p, n);
  c->pending += n;
  return 0;
}

/* Answers every complete request in c->in. */
static int answer(int ep, conn *c) {
  size_t start = 0;
  for (;;) {
    char *end = memmem(c->in + start, c->have - start, "\r\n\r\n", 4);
    if (!end) break;
    start = (size_t)(end - c->in) + 4;
    if (send_all(ep, c, response, response_len) < 0) return -1;
  }
  memmove(c->in, c->in + start, c->have - start);
  c->have -= start;
  return c->have == sizeof c->in ? -1 : 0; /* a request larger than the buffer: hang up */
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  char body[BODY];
  for (int i = 0; i < BODY; i++) body[i] = (char)('a' + i % 26);
  response_len = (size_t)snprintf(response, sizeof response,
                                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", BODY);
  memcpy(response + response_len, body, BODY);
  response_len += BODY;

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 511) < 0) {
    perror("http server: listen");
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
      conn *c = evs[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if ((evs[i].events & EPOLLOUT) && c->pending) {
        ssize_t w = send(c->fd, c->out, c->pending, MSG_NOSIGNAL);
        if (w > 0) {
          memmove(c->out, c->out + w, c->pending - (size_t)w);
          c->pending -= (size_t)w;
        }
        if (c->pending == 0) {
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
        }
      }
      if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      ssize_t r = recv(c->fd, c->in + c->have, sizeof c->in - c->have, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        drop(c);
        continue;
      }
      c->have += (size_t)r;
      if (answer(ep, c) < 0) drop(c);
    }
  }
}
