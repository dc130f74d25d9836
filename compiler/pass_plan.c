/* pass_plan.c — memory plan (stub; full implementation follows). */
#include "passes.h"

void pass_plan(ir_graph *g)
{
    (void)g;
}
