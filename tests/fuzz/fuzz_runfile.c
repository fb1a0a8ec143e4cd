/* fuzz_runfile.c — libFuzzer harness for the run files `collapse-train --from DIR`
 * reads (train --rank-csv's "run,step,layer,r_mean,r_std"): the input is the file. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_rank_file(const unsigned char *data, size_t size); /* fuzz_options_collapse_train.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_rank_file(data, size);
    return 0;
}
