/* port.h — what a bare-metal board supplies to board_main.c (src/port/mps2_start.c for
 * the MPS2 boards under QEMU). */
#ifndef QK_PORT_H
#define QK_PORT_H
#include <stddef.h>

size_t qk_port_stack_size(void);   /* bytes reserved for the stack                  */
size_t qk_port_stack_peak(void);   /* deepest stack use since the last repaint      */
void qk_port_stack_repaint(void);  /* restart the high-water measurement            */

#endif
