/* Two WebAssembly modules the wasi engine must refuse with bad-image before instantiating them:
 * built with -mexec-model=reactor, a library with no _start; built with -DNEEDS_HOST (and
 * --allow-undefined), a command that imports a function from "env", which no WASI host provides. */
#include <stdio.h>

#ifdef NEEDS_HOST
extern int host_callback(int);
int main(void) { return host_callback(1); }
#else
int add(int a, int b) { return a + b; }
#endif
