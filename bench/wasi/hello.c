/* The image for the wasi engine's start-up benchmark: prints a line and exits, but carries an
 * 8 MiB data section so that loading and compiling the image is not free (c2w images are tens of MiB). */
#include <stdio.h>

static const unsigned char payload[8 * 1024 * 1024] = { 1, 2, 3 };

int main(int argc, char **argv) {
  (void)argv;
  printf("hello %d\n", payload[argc]);
  return 0;
}
