/* An emulator-like main loop, as TinyEMU's under container2wasm: one poll_oneoff on stdin plus
 * clocks (a relative tick and an absolute deadline, several subscriptions at once), then handling
 * whatever fired. Typed lines are commands:
 *   write NAME TEXT   writes TEXT to NAME in the share     cat NAME   prints NAME's contents
 *   hold NAME MS TEXT writes TEXT, works MS ms with it open  fill NAME MIB  writes MIB MiB, 4 KiB a call
 *   ticks             clock statistics                     quit N     exits with code N
 * and anything else is echoed back. The share is argv[1] (default /mnt/opfs). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#ifndef VARIANT
#define VARIANT 1
#endif

static const char *share = "/mnt/opfs";
static unsigned long ticks, deadlines, early, polls, inputs;

static __wasi_timestamp_t now(void) {
  __wasi_timestamp_t t = 0;
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1000, &t);
  return t;
}

static void command(char *line) {
  char path[512];
  if (!strncmp(line, "write ", 6)) {
    char *name = line + 6, *text = strchr(name, ' ');
    if (!text) { printf("usage: write NAME TEXT\n"); return; }
    *text++ = 0;
    snprintf(path, sizeof path, "%s/%s", share, name);
    FILE *f = fopen(path, "w");
    if (!f) { printf("write %s: %s\n", name, strerror(errno)); return; }
    fprintf(f, "%s\n", text);
    fclose(f);
    printf("wrote %s\n", name);
  } else if (!strncmp(line, "cat ", 4)) {
    snprintf(path, sizeof path, "%s/%s", share, line + 4);
    FILE *f = fopen(path, "r");
    if (!f) { printf("cat %s: %s\n", line + 4, strerror(errno)); return; }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    printf("cat %s: %s", line + 4, buf);
  } else if (!strncmp(line, "hold ", 5)) {
    /* hold NAME MS TEXT: writes TEXT to NAME, then works MS milliseconds (reading the clock,
       never sleeping) with the file still open, then closes it. */
    char *name = line + 5, *ms = strchr(name, ' '), *text = ms ? strchr(ms + 1, ' ') : NULL;
    if (!text) { printf("usage: hold NAME MS TEXT\n"); return; }
    *ms++ = 0;
    *text++ = 0;
    snprintf(path, sizeof path, "%s/%s", share, name);
    FILE *f = fopen(path, "w");
    if (!f) { printf("hold %s: %s\n", name, strerror(errno)); return; }
    fprintf(f, "%s\n", text);
    fflush(f);
    printf("holding %s\n", name);
    fflush(stdout);
    for (__wasi_timestamp_t end = now() + (__wasi_timestamp_t)atoi(ms) * 1000000; now() < end;) {}
    fclose(f);
    printf("released %s\n", name);
  } else if (!strncmp(line, "fill ", 5)) {
    /* fill NAME MIB: says which call failed, if one did. */
    char *name = line + 5, *mib = strchr(name, ' ');
    if (!mib) { printf("usage: fill NAME MIB\n"); return; }
    *mib++ = 0;
    snprintf(path, sizeof path, "%s/%s", share, name);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) { printf("fill %s: open: %s\n", name, strerror(errno)); return; }
    static char block[4096];
    memset(block, 'x', sizeof block);
    long blocks = atol(mib) * 256;
    for (long i = 0; i < blocks; i++) {
      if (write(fd, block, sizeof block) != (ssize_t)sizeof block) {
        printf("fill %s: write: %s\n", name, strerror(errno));
        close(fd);
        fflush(stdout);
        return;
      }
    }
    if (close(fd)) printf("fill %s: close: %s\n", name, strerror(errno));
    else printf("filled %s\n", name);
  } else if (!strcmp(line, "ticks")) {
    printf("ticks: %lu deadlines: %lu early: %lu polls: %lu inputs: %lu\n", ticks, deadlines, early, polls, inputs);
  } else if (!strncmp(line, "quit", 4)) {
    printf("bye\n");
    fflush(stdout);
    exit(atoi(line + 4));
  } else {
    printf("echo: %s\n", line);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc > 1) share = argv[1];
  const char *foo = getenv("FOO");
  const char *cols = getenv("COLUMNS"), *rows = getenv("LINES");
  printf("mainloop %d ready: argc=%d", VARIANT, argc);
  for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
  printf(" FOO=%s size=%sx%s tty=%d\n", foo ? foo : "-", cols ? cols : "?", rows ? rows : "?", isatty(0));
  fflush(stdout);

  const __wasi_timestamp_t tick = 30 * 1000000ull, period = 100 * 1000000ull;
  __wasi_timestamp_t deadline = now() + period;
  char line[1024];
  size_t len = 0;
  for (;;) {
    __wasi_subscription_t subs[3];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[0].u.u.fd_read.file_descriptor = 0;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = tick;
    subs[2].userdata = 3;
    subs[2].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[2].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[2].u.u.clock.timeout = deadline;
    subs[2].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    __wasi_event_t events[3];
    __wasi_size_t n = 0;
    __wasi_timestamp_t before = now();
    __wasi_errno_t err = __wasi_poll_oneoff(subs, events, 3, &n);
    polls++;
    if (err) { printf("poll_oneoff: %d\n", err); return 1; }
    for (__wasi_size_t i = 0; i < n; i++) {
      if (events[i].userdata == 2) {
        ticks++;
        if (now() - before < tick) early++;
      } else if (events[i].userdata == 3) {
        deadlines++;
        if (now() < deadline) early++;
        deadline += period;
      } else if (events[i].userdata == 1) {
        inputs++;
        char buf[256];
        ssize_t got = read(0, buf, sizeof buf);
        if (got == 0) { printf("stdin closed\n"); return 0; }
        for (ssize_t j = 0; j < got; j++) {
          if (buf[j] == '\r' || buf[j] == '\n') {
            if (len == 0) continue;
            line[len] = 0;
            len = 0;
            command(line);
          } else if (len < sizeof line - 1) {
            line[len++] = buf[j];
          }
        }
      }
    }
  }
}
