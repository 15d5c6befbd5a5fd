/* WASI-level file I/O benchmark (npm run bench, bench/node/wasi.ts): the same calls on whatever
 * directory is preopened as argv[1] (S1 on OPFS, browser_wasi_shim's in-memory directory, or a
 * happy-opfs adapter). Prints one line per operation: its name and the nanoseconds per operation of
 * each run (the mean of a timed batch; the browser's clock is too coarse for single calls). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

#define MIB (1024 * 1024)
static char buf[MIB];

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: iobench DIR [RUNS] [SCALE]\n"); return 2; }
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  double scale = argc > 3 ? atof(argv[3]) : 1.0;
  if (chdir(argv[1]) < 0) { perror("chdir"); return 1; }
  mkdir("bench", 0755);
  mkdir("bench/d100", 0755);
  for (int i = 0; i < 100; i++) {
    char name[64];
    snprintf(name, sizeof name, "bench/d100/file-%03d", i);
    int f = open(name, O_CREAT | O_WRONLY, 0644);
    if (f < 0) { perror(name); return 1; }
    close(f);
  }
  for (int i = 0; i < MIB; i++) buf[i] = (char)i;
  int fd = open("bench/big", O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0 || pwrite(fd, buf, MIB, 0) != MIB) { perror("bench/big"); return 1; }

  const int n4k = (int)(500 * scale) + 1, n1m = (int)(20 * scale) + 1, nstat = (int)(500 * scale) + 1, ndir = (int)(50 * scale) + 1;
  const char *names[] = { "pread4k", "pwrite4k", "pread1m", "pwrite1m", "stat", "readdir100" };
  double results[6][64];
  if (runs > 64) runs = 64;
  for (int r = 0; r < runs; r++) {
    double t = now_ns();
    for (int i = 0; i < n4k; i++) if (pread(fd, buf, 4096, (off_t)((i * 37) % 256) * 4096) != 4096) { perror("pread"); return 1; }
    results[0][r] = (now_ns() - t) / n4k;
    t = now_ns();
    for (int i = 0; i < n4k; i++) if (pwrite(fd, buf, 4096, (off_t)((i * 37) % 256) * 4096) != 4096) { perror("pwrite"); return 1; }
    results[1][r] = (now_ns() - t) / n4k;
    t = now_ns();
    for (int i = 0; i < n1m; i++) if (pread(fd, buf, MIB, 0) != MIB) { perror("pread 1m"); return 1; }
    results[2][r] = (now_ns() - t) / n1m;
    t = now_ns();
    for (int i = 0; i < n1m; i++) if (pwrite(fd, buf, MIB, 0) != MIB) { perror("pwrite 1m"); return 1; }
    results[3][r] = (now_ns() - t) / n1m;
    struct stat st;
    t = now_ns();
    for (int i = 0; i < nstat; i++) if (stat("bench/big", &st) < 0 || st.st_size != MIB) { perror("stat"); return 1; }
    results[4][r] = (now_ns() - t) / nstat;
    t = now_ns();
    for (int i = 0; i < ndir; i++) {
      DIR *d = opendir("bench/d100");
      int count = 0;
      struct dirent *e;
      while ((e = readdir(d))) if (e->d_name[0] != '.') count++;
      closedir(d);
      if (count != 100) { fprintf(stderr, "readdir: %d entries\n", count); return 1; }
    }
    results[5][r] = (now_ns() - t) / ndir;
  }
  close(fd);
  for (int k = 0; k < 6; k++) {
    printf("%s", names[k]);
    for (int r = 0; r < runs; r++) printf(" %.0f", results[k][r]);
    printf("\n");
  }
  return 0;
}
