/* cli_threads.c — the command-line tool's parallel-for (qk.h, SPEC §2.8), with POSIX
 * threads: the core has none of its own. N - 1 worker threads and the calling thread
 * take a region's tasks one at a time from a shared counter; which thread runs which
 * task never changes a bit, because the core gives a parallel region only tasks that
 * write disjoint outputs.
 *
 * Waiting: a worker spins for a short while on the region counter before it sleeps on a
 * condition variable (a training step opens dozens of regions of ~0.1-1 ms, and waking
 * a sleeping thread costs tens of microseconds); the caller takes tasks too, and then
 * spins briefly for the workers' last tasks before it yields its CPU while it waits.
 *
 * Environment: QKSPEC_SPLIT_ALL=1 makes the core split work of any size (the suite's
 * check that 1 and 2 threads give the same bits also on the small golden vectors). */
#include "qk_fp.h"
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qk.h"
#include "cli.h"

#define QK__MAX_THREADS 256
#define QK__SPIN 4000 /* polls before a worker sleeps, or the caller yields (some 10 us) */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int nthreads;                /* workers + the caller */
    /* the current region, published under mu with a new generation */
    unsigned long gen;           /* region counter (written under mu, polled atomically) */
    qk_task_fn task;
    void *arg;
    int n;
    int next;                    /* next task index (atomic) */
    int pending;                 /* tasks not yet finished (atomic) */
    int active;                  /* workers inside the region (atomic) */
} pool_t;

static pool_t g_pool;
static int g_started = 0;

static void run_tasks(pool_t *p, qk_task_fn task, void *arg, int n)
{
    for (;;) {
        int i = __atomic_fetch_add(&p->next, 1, __ATOMIC_ACQ_REL);
        if (i >= n) return;
        task(arg, i);
        __atomic_fetch_sub(&p->pending, 1, __ATOMIC_ACQ_REL);
    }
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* A worker joins a region under the mutex (reading its fields and counting itself in
 * `active`), so the caller never rewrites the fields of a region a worker is in. */
static void *worker(void *unused)
{
    pool_t *p = &g_pool;
    unsigned long seen = 0;
    (void)unused;
    for (;;) {
        for (int s = 0; s < QK__SPIN && __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen; s++) cpu_relax();
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
        seen = p->gen;
        qk_task_fn task = p->task;
        void *arg = p->arg;
        int n = p->n;
        __atomic_fetch_add(&p->active, 1, __ATOMIC_ACQ_REL);
        pthread_mutex_unlock(&p->mu);
        run_tasks(p, task, arg, n);
        __atomic_fetch_sub(&p->active, 1, __ATOMIC_ACQ_REL);
    }
    return NULL;
}

/* The parallel-for handed to the core: one region at a time, from one thread. */
static void pool_run(void *ctx, int n, qk_task_fn task, void *arg)
{
    pool_t *p = (pool_t *)ctx;
    pthread_mutex_lock(&p->mu);
    while (__atomic_load_n(&p->active, __ATOMIC_ACQUIRE) != 0) { /* a worker leaving the last region */
        pthread_mutex_unlock(&p->mu);
        cpu_relax();
        pthread_mutex_lock(&p->mu);
    }
    p->task = task;
    p->arg = arg;
    p->n = n;
    __atomic_store_n(&p->next, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&p->pending, n, __ATOMIC_RELEASE);
    __atomic_store_n(&p->gen, p->gen + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, task, arg, n);
    /* the tasks still running are the workers'; on a busy machine a worker may wait for
     * a CPU, so after a short spin the caller gives its CPU away while it waits */
    for (int s = 0; __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) != 0; s++) {
        if (s < QK__SPIN) cpu_relax();
        else sched_yield();
    }
}

/* A child of fork() has only the thread that forked: it runs serially (sweep and
 * reproduce run their --jobs as processes, one thread each). */
static void after_fork_child(void)
{
    qk_set_parallel(NULL);
    g_started = 0;
}

int cli_threads_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > QK__MAX_THREADS ? QK__MAX_THREADS : (int)n;
}

int cli_threads_start(int n)
{
    static qk_parallel_for pf;
    if (n <= 0) n = cli_threads_default();
    if (n > QK__MAX_THREADS) n = QK__MAX_THREADS;
    if (g_started) { /* installed again (after qk_set_parallel(NULL), say) */
        qk_set_parallel(&pf);
        return g_pool.nthreads;
    }
    if (n == 1) return 1;
    memset(&g_pool, 0, sizeof g_pool);
    pthread_mutex_init(&g_pool.mu, NULL);
    pthread_cond_init(&g_pool.wake, NULL);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, (size_t)8 << 20); /* the product's packing buffers live on the stack */
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int made = 0;
    for (int i = 0; i < n - 1; i++) {
        pthread_t t;
        if (pthread_create(&t, &at, worker, NULL) != 0) break;
        made++;
    }
    pthread_attr_destroy(&at);
    g_pool.nthreads = made + 1;
    if (made == 0) return 1;
    pthread_atfork(NULL, NULL, after_fork_child);
    const char *all = getenv("QKSPEC_SPLIT_ALL");
    qk_parallel_for p = {pool_run, &g_pool, g_pool.nthreads, all && !strcmp(all, "1")};
    pf = p;
    qk_set_parallel(&pf);
    g_started = 1;
    return g_pool.nthreads;
}
