/* report_extra.c — further sections of the `reproduce` report (rank collapse, SPEC §1.4). */
#include "report.h"

int report_extra_sections(report_inputs *in, const char *dir, int quick)
{
    (void)in; (void)dir; (void)quick;
    return 0;
}
