/* Preloaded by tests/threads.rs: the FAIL_THREAD_N-th pthread_create of the process,
 * or every one from the FAIL_THREAD_FROM-th on, fails with EAGAIN, as it does at a
 * process or address-space limit. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg) {
    static int created;
    const char *nth = getenv("FAIL_THREAD_N");
    const char *from = getenv("FAIL_THREAD_FROM");
    int this = __atomic_add_fetch(&created, 1, __ATOMIC_SEQ_CST);
    if ((nth && this == atoi(nth)) || (from && this >= atoi(from))) {
        return EAGAIN;
    }
    create_fn real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    return real(thread, attr, start, arg);
}
