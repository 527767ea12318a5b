/*
 * The socket probe of bench/gvisor-sockets.sh: a one-connection-at-a-time HTTP/1.0 server and the client that counts
 * what happens to N fresh connections. Built with `gcc -O2 -static` so that it runs in a busybox-only image.
 *
 *   probe serve read|recv|fork PORT
 *                                answers every request with a small page and closes. `read` reads the request with
 *                                read(2), as busybox httpd and most blocking servers do; `recv` with recv(2); `fork`
 *                                forks a child per connection that reads with read(2) while the parent closes its copy
 *                                and accepts the next, as busybox httpd does. Every read that fails (or ends) before the
 *                                request is complete is logged to stderr.
 *   probe big write|send PORT    answers every request with 8 MiB written by blocking write(2) (or send(2)) calls; logs
 *                                a failed one.
 *   probe client IP PORT N [tfo] N sequential connections (connect, one GET, read to the end); prints one line of
 *                                counts: ok, refused (connect failed), eof (closed before any byte), reset (reset before
 *                                any byte), late-reset (reset after the response began), other. With tfo, each
 *                                request goes out in the SYN (TCP Fast Open).
 *   probe slow IP PORT [PATH]    one GET (of / or PATH), waits 1 s before reading, then reads to the end; prints the
 *                                bytes received and whether they are the whole 8 MiB answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#define BIG (8 << 20)

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128)) {
    perror("listen");
    exit(1);
  }
  return s;
}

/* Reads the request head; 0 when it is complete, -1 when a read failed or the peer closed first. */
static int read_request(int c, int use_recv) {
  char buf[4096];
  int total = 0;
  for (;;) {
    ssize_t n = use_recv ? recv(c, buf + total, sizeof buf - 1 - total, 0) : read(c, buf + total, sizeof buf - 1 - total);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno, flags = fcntl(c, F_GETFL);
      /* The descriptor's flags show whether the socket was blocking: EAGAIN is only Linux's answer when it is not. */
      fprintf(stderr, "%s returned %zd (%s) after %d bytes of the request; O_NONBLOCK is %s\n", use_recv ? "recv" : "read",
              n, n < 0 ? strerror(err) : "end of stream", total, flags & O_NONBLOCK ? "set" : "clear");
      return -1;
    }
    total += n;
    buf[total] = 0;
    if (strstr(buf, "\r\n\r\n") || total == sizeof buf - 1) return 0;
  }
}

static const char page[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

/* Like busybox httpd: a request that cannot be read gets no answer. */
static void answer(int c, int use_recv) {
  if (read_request(c, use_recv) == 0 && write(c, page, sizeof page - 1) < 0) perror("write");
  close(c);
}

static _Noreturn void serve(int port, const char *how) {
  int s = listen_on(port), use_recv = !strcmp(how, "recv"), use_fork = !strcmp(how, "fork");
  /* Children are not waited for: the kernel (or gVisor's Sentry) reaps them. */
  if (use_fork) signal(SIGCHLD, SIG_IGN);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) {
      if (errno != EINTR) perror("accept");
      continue;
    }
    if (!use_fork) {
      answer(c, use_recv);
      continue;
    }
    pid_t child = fork();
    if (child == 0) {
      close(s);
      answer(c, 0);
      _exit(0);
    }
    if (child < 0) perror("fork");
    close(c);
  }
}

static _Noreturn void big(int port, int use_send) {
  static char body[BIG];
  char head[128];
  int s = listen_on(port);
  memset(body, 'x', sizeof body);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    if (read_request(c, 1) == 0) {
      int n = snprintf(head, sizeof head, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n", BIG);
      size_t sent = 0;
      write(c, head, n);
      while (sent < sizeof body) {
        ssize_t w = use_send ? send(c, body + sent, sizeof body - sent, 0) : write(c, body + sent, sizeof body - sent);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          int err = errno, flags = fcntl(c, F_GETFL);
          fprintf(stderr, "%s failed after %zu of %d bytes: %s; O_NONBLOCK is %s\n", use_send ? "send" : "write", sent,
                  BIG, strerror(err), flags & O_NONBLOCK ? "set" : "clear");
          break;
        }
        sent += w;
      }
    }
    close(c);
  }
}

static int connect_to(const char *ip, int port, int fast_open) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct timeval tv = {10, 0};
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  /* TCP Fast Open: connect(2) returns at once and the request's first write goes out in the SYN, so it is queued on
     the server's socket before accept(2) returns it (with a cookie from an earlier connection, or a route marked
     fastopen_no_cookie, and a server namespace whose net.ipv4.tcp_fastopen accepts it). */
  if (fast_open) setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one);
  inet_pton(AF_INET, ip, &a.sin_addr);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  /* Bounds connect(2) too, where no SYN is answered. */
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) {
    close(s);
    return -1;
  }
  return s;
}

static const char request[] = "GET / HTTP/1.0\r\nHost: probe\r\n\r\n";

static int client(const char *ip, int port, int count, int fast_open) {
  int ok = 0, refused = 0, eof = 0, reset = 0, late_reset = 0, other = 0;
  for (int i = 0; i < count; i++) {
    char buf[8192];
    long total = 0;
    ssize_t n;
    int s = connect_to(ip, port, fast_open);
    if (s < 0) {
      refused++;
      continue;
    }
    write(s, request, sizeof request - 1);
    /* recv(2), not read(2): under runsc --network=host a blocking read(2) fails with EAGAIN when no data is there yet
       (what this probe finds), and the client runs there too in bench/gvisor-sockets.sh's SHARE check. */
    while ((n = recv(s, buf, sizeof buf, 0)) > 0) total += n;
    int err = n < 0 ? errno : 0;
    close(s);
    if (err == 0 && total > 0) ok++;
    else if (err == 0) eof++;
    else if (err == ECONNRESET && total == 0) reset++;
    else if (err == ECONNRESET) late_reset++;
    else other++;
  }
  printf("ok=%d refused=%d eof=%d reset=%d late-reset=%d other=%d\n", ok, refused, eof, reset, late_reset, other);
  return 0;
}

static int slow(const char *ip, int port, const char *path) {
  char buf[65536], get[256];
  long total = 0;
  ssize_t n;
  int s = connect_to(ip, port, 0), length = snprintf(get, sizeof get, "GET %s HTTP/1.0\r\nHost: probe\r\n\r\n", path);
  if (s < 0) {
    perror("connect");
    return 1;
  }
  write(s, get, length);
  sleep(1);
  while ((n = recv(s, buf, sizeof buf, 0)) > 0) total += n;
  /* The head is a few dozen bytes: a complete answer is BIG plus it. */
  printf("received=%ld complete=%s\n", total, total > BIG ? "yes" : "no");
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, _exit);
  if (argc == 4 && !strcmp(argv[1], "serve")) serve(atoi(argv[3]), argv[2]);
  if (argc == 4 && !strcmp(argv[1], "big")) big(atoi(argv[3]), !strcmp(argv[2], "send"));
  if ((argc == 5 || argc == 6) && !strcmp(argv[1], "client"))
    return client(argv[2], atoi(argv[3]), atoi(argv[4]), argc == 6 && !strcmp(argv[5], "tfo"));
  if ((argc == 4 || argc == 5) && !strcmp(argv[1], "slow")) return slow(argv[2], atoi(argv[3]), argc == 5 ? argv[4] : "/");
  fprintf(stderr, "probe serve read|recv|fork PORT | big write|send PORT | client IP PORT N [tfo] | slow IP PORT [PATH]\n");
  return 2;
}
