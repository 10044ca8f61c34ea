//go:build ignore

/*
 * stacks.c: calls from stacks of the caller's own, as Node's koffi makes
 * its synchronous calls, and from the thread's own stack, on the main
 * thread and on threads whose first call comes from such a stack. At
 * every such call the Go runtime asks for the thread's stack bounds,
 * which the library answers from what glibc said last
 * (capi/stackbound_linux.c): the calls work from each stack, in any
 * order.
 *
 * POSIX with ucontext (glibc); elsewhere the program passes without
 * switching stacks.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>

#if defined(__GLIBC__)
#include <ucontext.h>
#define HAVE_UCONTEXT 1
#endif

enum { CALLS = 2000, STACK_BYTES = 1 << 20 };

/* Calls into Go that use its stack: a normalized connection string. */
static void some_calls(const char *where) {
    for (int i = 0; i < CALLS; i++) {
        CHECK(lakelink_abi_version() == LAKELINK_ABI_VERSION, "%s: ABI version", where);
        if (i % 200 != 0)
            continue;
        char *out = NULL;
        lakelink_error *err = NULL;
        int32_t rc = lakelink_connstr_normalize("server=db.example.com;AuthScheme=Password;User=u;Password=p", &out,
                                                &err);
        expect_ok(where, rc, err);
        CHECK(strstr(out, "Server=db.example.com") != NULL && strstr(out, "Password=***") != NULL, "%s: %s", where,
              out);
        lakelink_free(out);
    }
}

static void on_stack_of_its_own(const char *name);

/* A thread's calls, the first from a stack of the caller's own (as
 * koffi's are), then on the thread's own stack. */
static void *on_a_thread(void *arg) {
    on_stack_of_its_own((const char *)arg);
    some_calls("a thread's own stack");
    return NULL;
}

/* Runs on_a_thread on a new thread, and waits for it. */
static void run_a_thread(const char *name) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, on_a_thread, (void *)name) == 0, "pthread_create");
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
}

#ifdef HAVE_UCONTEXT
/* One stack switch at a time (the threads run one after the other): in
 * statics, nothing getcontext could clobber. */
static ucontext_t back, own;
static const char *own_name;
static char *own_stack;

static void on_own_stack(void) {
    some_calls(own_name);
}

/* Runs some_calls on a stack malloc'd for it, on the calling thread. */
static void on_stack_of_its_own(const char *name) {
    say(name);
    own_name = name;
    own_stack = malloc(STACK_BYTES);
    CHECK(own_stack != NULL, "malloc");
    CHECK(getcontext(&own) == 0, "getcontext");
    own.uc_stack.ss_sp = own_stack;
    own.uc_stack.ss_size = STACK_BYTES;
    own.uc_link = &back;
    makecontext(&own, on_own_stack, 0);
    CHECK(swapcontext(&back, &own) == 0, "swapcontext");
    free(own_stack);
}
#else
static void on_stack_of_its_own(const char *name) {
    printf("   no ucontext here: not %s\n", name);
}
#endif

int main(void) {
    say("the main thread's own stack");
    some_calls("the main thread's stack");
    on_stack_of_its_own("a stack of the caller's own, on the main thread");
    on_stack_of_its_own("another such stack");
    say("the main thread's own stack again");
    some_calls("the main thread's stack, again");
    /* The second thread may get the first one's stack again, and a TLS
     * block as new. */
    run_a_thread("a thread's first call, from a stack of the caller's own");
    run_a_thread("a second thread's, after the first ended");
    printf("PASS stacks\n");
    return 0;
}
