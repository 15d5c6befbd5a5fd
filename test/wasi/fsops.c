/* The POSIX calls TinyEMU's 9p backend (fs_disk.c, as patched by container2wasm) makes, run on the
 * directory named by argv[1]. Every result (return value and errno name) is printed, so the output
 * under S1 in Chromium can be compared line for line with node:wasi on a real directory (the oracle).
 * Only what both must agree on is printed: no inode numbers, devices or wall-clock times. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <wasi/api.h>

static const char *ename(int e) {
  switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT"; case EEXIST: return "EEXIST"; case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR"; case ENOTEMPTY: return "ENOTEMPTY"; case EINVAL: return "EINVAL";
    case EBADF: return "EBADF"; case ELOOP: return "ELOOP"; case EPERM: return "EPERM";
    case EACCES: return "EACCES"; case EXDEV: return "EXDEV"; case ENOTCAPABLE: return "ENOTCAPABLE";
    case ENOTSUP: return "ENOTSUP"; case EIO: return "EIO"; case ENAMETOOLONG: return "ENAMETOOLONG";
    default: { static char buf[32]; snprintf(buf, sizeof buf, "errno%d", e); return buf; }
  }
}

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
  printf("%s: %s\n", label, r_ < 0 ? ename(errno) : "OK"); } while (0)

static const char *ftype(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "symlink";
  return "other";
}

static void show_stat(const char *label, int r, struct stat *st) {
  if (r < 0) { printf("%s: %s\n", label, ename(errno)); return; }
  /* A directory's size and link count depend on the file system: only a file's are compared. */
  if (S_ISDIR(st->st_mode)) printf("%s: dir\n", label);
  else printf("%s: %s size=%lld nlink=%lld\n", label, ftype(st->st_mode), (long long)st->st_size, (long long)st->st_nlink);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists a directory through readdir (cookies) and prints the sorted names with their types. */
static void list(const char *path) {
  DIR *d = opendir(path);
  if (!d) { printf("opendir %s: %s\n", path, ename(errno)); return; }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (n == cap) names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
    char *s = malloc(strlen(e->d_name) + 4);
    sprintf(s, "%s:%c", e->d_name, e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : e->d_type == DT_REG ? 'f' : '?');
    names[n++] = s;
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  printf("list %s (%zu):", path, n);
  for (size_t i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
  printf("\n");
  free(names);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: fsops DIR\n"); return 2; }
  if (chdir(argv[1]) < 0) { printf("chdir: %s\n", ename(errno)); return 1; }
  char buf[8192];
  struct stat st;

  /* fs_mkdir, fs_rmdir on a fresh tree */
  CHECK("mkdir t", mkdir("t", 0755));
  CHECK("mkdir t again", mkdir("t", 0755));
  CHECK("mkdir t/sub", mkdir("t/sub", 0755));
  CHECK("mkdir missing/x", mkdir("t/missing/x", 0755));

  /* fs_create: open O_CREAT|O_EXCL|O_TRUNC */
  int fd = open("t/a.txt", O_CREAT | O_EXCL | O_RDWR | O_TRUNC, 0644);
  printf("create a.txt: %s\n", fd >= 0 ? "OK" : ename(errno));
  CHECK("create a.txt excl again", open("t/a.txt", O_CREAT | O_EXCL | O_RDWR, 0644));

  /* fs_write / fs_read: pwrite/pread at offsets, past the end, holes */
  CHECK("pwrite 0", pwrite(fd, "hello world", 11, 0));
  CHECK("pwrite 100", pwrite(fd, "tail", 4, 100));
  memset(buf, 'x', sizeof buf);
  ssize_t n = pread(fd, buf, 20, 0);
  printf("pread 0: %zd [%.11s] hole=%d\n", n, buf, buf[11] == 0 && buf[19] == 0);
  n = pread(fd, buf, 50, 90);
  printf("pread 90: %zd [%.4s]\n", n, buf + 10);
  n = pread(fd, buf, 10, 1000);
  printf("pread past end: %zd\n", n);
  for (int i = 0; i < 8192; i++) buf[i] = (char)(i * 7);
  CHECK("pwrite 8k at 4090", pwrite(fd, buf, 8192, 4090));
  char back[8192];
  n = pread(fd, back, 8192, 4090);
  printf("pread 8k back: %zd same=%d\n", n, n == 8192 && !memcmp(buf, back, 8192));

  /* fs_getattr: fstat / stat / lstat */
  show_stat("fstat a.txt", fstat(fd, &st), &st);
  show_stat("stat a.txt", stat("t/a.txt", &st), &st);
  show_stat("stat t", stat("t", &st), &st);
  show_stat("stat missing", stat("t/nope", &st), &st);
  show_stat("stat through file", stat("t/a.txt/x", &st), &st);

  /* fs_setattr: ftruncate, utimensat with UTIME_NOW / UTIME_OMIT */
  CHECK("ftruncate 5", ftruncate(fd, 5));
  show_stat("fstat after truncate", fstat(fd, &st), &st);
  CHECK("ftruncate 3000", ftruncate(fd, 3000));
  n = pread(fd, buf, 10, 2990);
  printf("pread grown: %zd zero=%d\n", n, buf[0] == 0 && buf[9] == 0);
  struct timespec ts[2] = { { 1000000000, 500 }, { 1200000000, 123456789 } };
  CHECK("utimensat set", utimensat(AT_FDCWD, "t/a.txt", ts, 0));
  stat("t/a.txt", &st);
  printf("times: atime=%lld.%09ld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct timespec omit_now[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
  CHECK("utimensat omit/now", utimensat(AT_FDCWD, "t/a.txt", omit_now, 0));
  stat("t/a.txt", &st);
  printf("after omit/now: atime kept=%d mtime recent=%d\n", st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 500,
         st.st_mtim.tv_sec > 1600000000);
  struct timespec ftimes[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
  struct stat before;
  fstat(fd, &before);
  CHECK("futimens now/omit", futimens(fd, ftimes));
  fstat(fd, &st);
  printf("after futimens: atime recent=%d mtime kept=%d\n", st.st_atim.tv_sec > 1600000000, st.st_mtim.tv_sec == before.st_mtim.tv_sec);

  /* The same at the WASI level (what wasi-sdk's utimensat sends for UTIME_NOW / UTIME_OMIT). */
  __wasi_errno_t we = __wasi_path_filestat_set_times(3, 0, "t/a.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW);
  stat("t/a.txt", &st);
  printf("wasi mtim_now: %d atime kept=%d mtime recent=%d\n", we, st.st_atim.tv_sec == 1000000000, st.st_mtim.tv_sec > 1600000000);
  we = __wasi_path_filestat_set_times(3, 0, "t/a.txt", 0, 7000000000000000123ULL, __WASI_FSTFLAGS_MTIM);
  stat("t/a.txt", &st);
  printf("wasi mtim: %d mtime=%lld.%09ld\n", we, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  we = __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM_NOW);
  fstat(fd, &st);
  printf("wasi fd atim_now: %d atime recent=%d mtime kept=%d\n", we, st.st_atim.tv_sec > 1600000000, st.st_mtim.tv_sec == 7000000000LL);
  we = __wasi_fd_filestat_set_times(fd, 5, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW);
  printf("wasi atim and atim_now: %d\n", we);

  /* fd_fdstat_set_flags: fcntl F_SETFL O_APPEND / O_NONBLOCK */
  int fl = fcntl(fd, F_GETFL);
  CHECK("fcntl setfl append", fcntl(fd, F_SETFL, fl | O_APPEND));
  printf("getfl append: %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
  CHECK("write appended", write(fd, "END", 3));
  show_stat("fstat after append", fstat(fd, &st), &st);
  CHECK("fcntl setfl nonblock", fcntl(fd, F_SETFL, O_NONBLOCK));
  CHECK("close a.txt", close(fd));

  /* open existing: O_TRUNC, O_DIRECTORY on file and dir, write-open of a directory */
  fd = open("t/a.txt", O_WRONLY | O_TRUNC);
  printf("open trunc: %s\n", fd >= 0 ? "OK" : ename(errno));
  show_stat("fstat truncated", fstat(fd, &st), &st);
  CHECK("write", write(fd, "abc", 3));
  CHECK("write more", write(fd, "def", 3));
  CHECK("lseek end", lseek(fd, 0, SEEK_END));
  printf("lseek cur: %lld\n", (long long)lseek(fd, -2, SEEK_CUR));
  CHECK("lseek negative", lseek(fd, -100, SEEK_SET));
  close(fd);
  CHECK("open file O_DIRECTORY", open("t/a.txt", O_RDONLY | O_DIRECTORY));
  fd = open("t/sub", O_RDONLY | O_DIRECTORY);
  printf("open dir O_DIRECTORY: %s\n", fd >= 0 ? "OK" : ename(errno));
  show_stat("fstat dir", fstat(fd, &st), &st);
  close(fd);
  CHECK("open dir for write", open("t/sub", O_WRONLY));
  CHECK("open missing", open("t/none", O_RDONLY));
  CHECK("open O_CREAT existing", open("t/a.txt", O_CREAT | O_RDWR, 0644));
  fd = open("t/a.txt", O_RDONLY);
  n = read(fd, buf, sizeof buf);
  printf("read all: %zd [%.*s]\n", n, (int)n, buf);
  close(fd);

  /* fs_link, fs_symlink, fs_readlink */
  CHECK("link", link("t/a.txt", "t/hard.txt"));
  show_stat("stat after link", stat("t/a.txt", &st), &st);
  CHECK("link exists", link("t/a.txt", "t/hard.txt"));
  CHECK("link missing", link("t/nope", "t/hard2.txt"));
  unlink("t/hard.txt"); /* silently: the share has no hard links, and later lines should not depend on it */
  CHECK("symlink", symlink("a.txt", "t/sym"));
  CHECK("symlink exists", symlink("a.txt", "t/sym"));
  char target[64];
  n = readlink("t/sym", target, sizeof target);
  printf("readlink: %zd [%.*s]\n", n, n > 0 ? (int)n : 0, target);
  n = readlink("t/sym", target, 3);
  printf("readlink short: %zd [%.*s]\n", n, n > 0 ? (int)n : 0, target);
  CHECK("readlink on file", readlink("t/a.txt", target, sizeof target));
  show_stat("lstat sym", lstat("t/sym", &st), &st);
  show_stat("stat sym (follows)", stat("t/sym", &st), &st); /* nlink 1 again after the unlink above */
  CHECK("symlink dangling", symlink("nowhere", "t/dangling"));
  show_stat("stat dangling", stat("t/dangling", &st), &st);
  show_stat("lstat dangling", lstat("t/dangling", &st), &st);

  /* fs_renameat: files, over an existing file, directories, into a missing dir */
  int r = open("t/r.txt", O_CREAT | O_WRONLY, 0644);
  write(r, "rrrr", 4);
  close(r);
  CHECK("rename", rename("t/r.txt", "t/sub/moved.txt"));
  show_stat("stat renamed", stat("t/sub/moved.txt", &st), &st);
  CHECK("rename missing", rename("t/r.txt", "t/x"));
  int w = open("t/b.txt", O_CREAT | O_WRONLY, 0644);
  write(w, "bbb", 3);
  close(w);
  CHECK("rename over file", rename("t/b.txt", "t/sub/moved.txt"));
  show_stat("stat replaced", stat("t/sub/moved.txt", &st), &st);
  CHECK("mkdir t/d2", mkdir("t/d2", 0755));
  CHECK("rename dir", rename("t/d2", "t/sub/d3"));
  CHECK("rename into missing dir", rename("t/a.txt", "t/missing/a.txt"));

  /* readdir with cookies over a large directory */
  CHECK("mkdir t/big", mkdir("t/big", 0755));
  for (int i = 0; i < 300; i++) {
    char name[80];
    snprintf(name, sizeof name, "t/big/entry-with-a-rather-long-name-to-fill-the-buffer-%03d", i);
    int f = open(name, O_CREAT | O_WRONLY | O_EXCL, 0644);
    if (f < 0) { printf("create %s: %s\n", name, ename(errno)); break; }
    close(f);
  }
  DIR *d = opendir("t/big");
  int count = 0;
  long pos_at_100 = 0;
  struct dirent *e;
  char name_at_100[256] = "";
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (++count == 100) { pos_at_100 = telldir(d); strcpy(name_at_100, e->d_name); }
  }
  printf("big count: %d\n", count);
  seekdir(d, pos_at_100);
  int rest = 0;
  while ((e = readdir(d))) if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) rest++;
  printf("after seekdir: %d more, name at 100 was in listing=%d\n", rest, name_at_100[0] != 0);
  rewinddir(d);
  count = 0;
  while ((e = readdir(d))) if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) count++;
  printf("after rewinddir: %d\n", count);
  closedir(d);

  /* fs_unlinkat on files and directories */
  CHECK("rmdir non-empty", rmdir("t/sub"));
  CHECK("rmdir file", rmdir("t/a.txt"));
  CHECK("unlink dir", unlink("t/sub/d3"));
  CHECK("unlink missing", unlink("t/nope"));
  CHECK("unlink sym", unlink("t/sym"));
  show_stat("stat a after unlink sym", stat("t/a.txt", &st), &st);
  CHECK("rmdir d3", rmdir("t/sub/d3"));
  list("t");
  list("t/sub");

  /* an open file stays readable after unlink (TinyEMU keeps fds of unlinked files) */
  fd = open("t/a.txt", O_RDONLY);
  CHECK("unlink open file", unlink("t/a.txt"));
  n = pread(fd, buf, 3, 0);
  printf("read unlinked: %zd [%.3s]\n", n, buf);
  close(fd);
  show_stat("stat unlinked", stat("t/a.txt", &st), &st);

  /* escaping the preopen */
  CHECK("open ../..", open("../../etc", O_RDONLY));

  for (int i = 0; i < 300; i++) {
    char name[80];
    snprintf(name, sizeof name, "t/big/entry-with-a-rather-long-name-to-fill-the-buffer-%03d", i);
    unlink(name);
  }
  CHECK("rmdir big", rmdir("t/big"));
  /* many open/close cycles: fd numbers must be reused */
  int first = -1, last = -1;
  for (int i = 0; i < 2000; i++) {
    int f = open("t/sub/moved.txt", O_RDONLY);
    if (f < 0) { printf("open %d: %s\n", i, ename(errno)); break; }
    if (i == 0) first = f;
    last = f;
    close(f);
  }
  printf("fd reused: %d\n", first == last);
  list("t");
  printf("done\n");
  return 0;
}
