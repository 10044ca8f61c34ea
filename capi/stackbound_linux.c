/* A thread's stack bounds, asked of glibc once per thread instead of at
 * every call into Go.
 *
 * At every call into Go from a thread Go did not start, the Go runtime
 * (callbackUpdateSystemStack, runtime/cgocall.go) asks glibc for the
 * thread's stack (runtime/cgo's x_cgo_getstackbound: pthread_getattr_np)
 * unless the call comes in on the stack it learnt the time before. koffi
 * makes its synchronous calls on a stack of its own, so from Node every
 * call asks again; and for the main thread glibc answers by reading and
 * parsing /proc/self/maps: 130 to 170 us a call into liblakelink from
 * Node's main thread (pool.totalCount, a pipeline channel's opening).
 * For other threads glibc answers from the thread's descriptor, with a
 * system call for its CPU affinity.
 *
 * This definition is hidden: it is what runtime/cgo's C code in this
 * library calls, and nothing outside the library sees it. A thread asking
 * about itself from a stack outside the one glibc gave it last gets that
 * answer again, as that stack with default attributes (the stack is all
 * the Go runtime reads, and it takes it only if the call's stack pointer
 * is inside). From inside that stack, it asks glibc anew: the main
 * thread's stack is sized by what is mapped below it when glibc is asked,
 * and a stack mapped there later must not pass for part of it. Any other
 * question goes to glibc. */
#define _GNU_SOURCE
#include <pthread.h>
#if defined(__GLIBC__)
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*getattr_fn)(pthread_t, pthread_attr_t *);

/* glibc's pthread_getattr_np (the one the process would call: this one is
 * hidden from the lookup), looked up once. */
static getattr_fn glibc_getattr(void) {
    static getattr_fn fn;
    static int looked;
    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&fn, (getattr_fn)dlsym(RTLD_DEFAULT, "pthread_getattr_np"), __ATOMIC_RELAXED);
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&fn, __ATOMIC_RELAXED);
}

/* This thread's stack, as glibc gave it last (a size of 0: never). */
static __thread uintptr_t own_stack;
static __thread size_t own_stack_size;

__attribute__((visibility("hidden")))
int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr) {
    getattr_fn glibc = glibc_getattr();
    if (glibc == NULL)
        return ENOSYS; /* the Go runtime then estimates the bounds from where it is called */
    if (!pthread_equal(thread, pthread_self()))
        return glibc(thread, attr);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (own_stack_size == 0 || (sp >= own_stack && sp - own_stack < own_stack_size)) {
        int rc = glibc(thread, attr);
        void *stack;
        size_t size;
        if (rc == 0 && pthread_attr_getstack(attr, &stack, &size) == 0) {
            own_stack = (uintptr_t)stack;
            own_stack_size = size;
        }
        return rc;
    }
    if (pthread_attr_init(attr) == 0 && pthread_attr_setstack(attr, (void *)own_stack, own_stack_size) == 0)
        return 0;
    return glibc(thread, attr); /* a size setstack refuses (under PTHREAD_STACK_MIN): glibc's own answer */
}
#endif
