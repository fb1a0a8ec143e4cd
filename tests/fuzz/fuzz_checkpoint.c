/* fuzz_checkpoint.c — libFuzzer harness for checkpoint files (train --resume;
 * src/cli/cmd_train.c's train_ckpt_decode over cli_file.c's frame). Byte 0 chooses:
 * bit 0 replaces the input's last 4 bytes with its correct CRC-32 (so that the fuzzer
 * reaches the parts behind the checksum), bit 1 accepts any configuration line instead
 * of the one of the run below. The rest is the file. The trainer is the one of
 *   qkspec train --preset tiny --words --d 4 --heads 1 --dff 4 --eval-every 10 --checkpoint FILE
 * (a small one, so that an input is 11 KB; the seed corpus holds such files, of
 * several --steps, each behind a mode byte; when train's configuration line gains a
 * field, regenerate them so that the fuzzer starts from files this run accepts); a
 * loaded state then takes one training step. */
#include "../../src/cli/cmd_train.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static qk_trainer *g_t;
static char g_config[2048];
static unsigned char *g_initial; /* the trainer's state at step 0 */
static size_t g_initial_len;
static uint8_t g_buf[1 << 20];

static void setup(void)
{
    static train_opts o;
    static char *argv[] = {"--preset", "tiny", "--words", "--d", "4", "--heads", "1", "--dff", "4", "--eval-every", "10"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    train_defaults(&o);
    for (int i = 0; i < argc;)
        if (train_option("fuzz", argc, argv, &i, &o) != 1) abort();
    static qk_model_config c;
    static train_result r;
    c = o.cfg;
    long ntok;
    static qk_model m;
    qk_model_sizes_t sz;
    static int tok[4096];
    static double work[1 << 16];
    if (prepare_data(&o, &c, &ntok, &r) || cli_model_open("fuzz", &c, &m, &sz)) abort();
    static qk_train_config tc;
    qk_train_config t0 = {o.seed, o.eval_batches, o.val_frac, g_tokens, ntok};
    tc = t0;
    static qk_trainer t;
    if (qk_train_init(&t, &m, &tc, tok, NULL, work) != QK_OK) abort();
    config_line(&o, &c, ntok, g_config, sizeof g_config);
    g_initial_len = qk_train_state_size(&t);
    g_initial = malloc(g_initial_len);
    if (!g_initial || qk_train_save_state(&t, g_initial, g_initial_len) != QK_OK) abort();
    g_t = &t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_t) setup();
    if (size < 1 || size - 1 > sizeof g_buf) return 0;
    size_t n = size - 1;
    memcpy(g_buf, data + 1, n);
    if ((data[0] & 1) && n >= 4) {
        uint32_t crc = cli_crc32(0, g_buf, n - 4);
        for (int i = 0; i < 4; i++) g_buf[n - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    if (qk_train_load_state(g_t, g_initial, g_initial_len) != QK_OK) abort();
    static train_result r;
    r.T = g_t->m->cfg.T;
    char err[768];
    if (train_ckpt_decode(g_buf, n, (data[0] & 2) ? NULL : g_config, g_t, &r, err, sizeof err) == 0) {
        if (r.n < 0 || r.n > QK_TRAIN_MAX_EVALS || g_t->step < 0) __builtin_trap();
        /* whatever the numbers, a step must be safe; AdamW's bias correction costs one
         * multiplication per step taken, so a count near TRAIN_MAX_STEPS costs seconds */
        if (g_t->step <= 100000) qk_train_step(g_t);
    }
    return 0;
}
