/* mps2_start.c — reset, semihosting and stack measurement for the bare-metal MPS2
 * targets (targets/cortex-m*.ninja, targets/mps2-*.ld), as run by qemu-system-arm.
 *
 * The reset handler enables the FPU when the build uses one, copies .data, clears .bss,
 * paints the stack (so that board_main.c can report its high-water mark), sets up
 * newlib's semihosting stdio (librdimon), takes argc/argv from the semihosting command
 * line (QEMU's -semihosting-config arg=...) and ends with the semihosting exit call that
 * carries main's status. Everything board-specific of the project is in this file. */
#include "qk_fp.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "port.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start__, __bss_end__;
extern uint32_t __stack_top, __stack_limit;
int main(int argc, char **argv);
void initialise_monitor_handles(void); /* librdimon: stdin/stdout/stderr over semihosting */

#define QK__PAINT 0xC5C5C5C5u
enum { SYS_WRITE0 = 0x04, SYS_GET_CMDLINE = 0x15, SYS_EXIT_EXTENDED = 0x20 };
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* One semihosting call: operation in r0, argument block in r1, result in r0. */
static int semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

__attribute__((noreturn)) static void semihost_exit(int status)
{
    uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    for (;;) semihost(SYS_EXIT_EXTENDED, block);
}

__attribute__((noreturn)) static void fault(void)
{
    semihost(SYS_WRITE0, (void *)"qkspec: hard fault (stack overflow or bad memory access)\n");
    semihost_exit(3);
}

/* The command line QEMU was given (arg=...), split at spaces into argv. */
static int command_line(char **argv, int max)
{
    static char line[512];
    struct { char *buf; int len; } block = {line, (int)sizeof line - 1};
    if (semihost(SYS_GET_CMDLINE, &block) != 0) block.len = 0;
    line[block.len] = 0;
    int argc = 0;
    for (char *p = line; *p && argc < max - 1;) {
        while (*p == ' ') *p++ = 0;
        if (!*p) break;
        argv[argc++] = p;
        while (*p && *p != ' ') p++;
    }
    argv[argc] = 0;
    return argc;
}

/* Fill the stack below the current frame with the paint pattern. */
__attribute__((noinline)) static void paint_stack(void)
{
    volatile uint32_t here = 0;
    uint32_t *p = &__stack_limit, *stop = (uint32_t *)((uintptr_t)&here - 256);
    while (p < stop) *p++ = QK__PAINT;
}

size_t qk_port_stack_peak(void)
{
    const uint32_t *p = &__stack_limit;
    while (p < &__stack_top && *p == QK__PAINT) p++;
    return (size_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

size_t qk_port_stack_size(void) { return (size_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit); }

void qk_port_stack_repaint(void) { paint_stack(); }

__attribute__((noreturn)) void qk__reset(void)
{
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: full access to CP10, CP11 */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
    memset(&__bss_start__, 0, (size_t)((char *)&__bss_end__ - (char *)&__bss_start__));
    paint_stack();
    initialise_monitor_handles();
    static char *argv[16];
    int argc = command_line(argv, 16);
    int status = main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    semihost_exit(status);
}

/* Cortex-M vector table: initial stack pointer, reset, then the fault handlers. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, qk__reset, fault, fault, fault, fault, fault, 0, 0, 0, 0, fault, fault, 0, fault, fault,
};
