/* cmd_dump.c — `qkspec dump`: one forward and backward pass of a configuration (in
 * training mode: with --dropout P, the masks of step 0, also written), as .npy files
 * so that another implementation (tools/check_model_torch.py) can rebuild the model and
 * compare every number. */
#include "qk_fp.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "qk_npy.h"

/* DIR/PREFIXNAME.npy, atomically; -1 after printing the error. */
static int dump_npy(const char *dir, const char *prefix, const char *name, const char *dtype, const void *data,
                    int ndim, const int *dims)
{
    char *file = cli_strcat3(prefix, name, ".npy"), *path = file ? cli_path_join(dir, file) : NULL;
    int rc = -1;
    cli_out o;
    FILE *f = path ? cli_out_open(&o, "dump", path) : NULL;
    if (f && qk_npy_fwrite(f, dtype, data, ndim, dims) != 0) {
        fprintf(stderr, "qkspec dump: error writing %s: %s\n", path, strerror(errno));
        cli_out_abort(&o);
    } else if (f) {
        rc = cli_out_commit(&o);
    }
    if (!path) fprintf(stderr, "qkspec dump: out of memory\n");
    free(file);
    free(path);
    return rc;
}

static int dump_tensor(const char *dir, const char *prefix, const char *name, const float *data, int ndim,
                       const int *dims)
{
    return dump_npy(dir, prefix, name, "<f4", data, ndim, dims);
}

typedef struct {
    const qk_model_config *c;
    unsigned long long seed;
} json_ctx;

static int fill_json(FILE *f, void *ctx)
{
    const json_ctx *j = ctx;
    cli_config_json(f, j->c, j->seed);
    return 0;
}

int qk_cmd_dump(int argc, char **argv)
{
    qk_model_config c;
    qk_model_preset("tiny", &c);
    unsigned long long seed = 1;
    const char *out = NULL;
    for (int i = 0; i < argc;) {
        int r = cli_model_option("dump", argc, argv, &i, &c, &seed);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(argv[i], "--out") && i + 1 < argc) { out = argv[i + 1]; i += 2; continue; }
        fprintf(stderr, "qkspec dump: unknown option '%s'\nusage: qkspec dump [model options] --out DIR\n", argv[i]);
        cli_model_usage(stderr);
        return 2;
    }
    if (!out) { fprintf(stderr, "qkspec dump: --out DIR is required\n"); return 2; }
    if (cli_mkdir("dump", out)) return 1;
    static qk_model m;
    qk_model_sizes_t sz;
    if (cli_model_open("dump", &c, &m, &sz)) return 2;
    qk_model_init(&m, seed);
    /* data from the seed: tokens uniform in [0, V), or random walks with Σ = I */
    qk_rng r;
    qk_rng_seed(&r, seed + 1);
    static int tokens[(QK_MAX_T + 1) * 1024];
    static float walk[(QK_MAX_T + 1) * 64 * 64];
    int n_tok = c.B * (c.T + 1);
    if (c.kind == QK_MODEL_LM ? n_tok > (int)(sizeof tokens / sizeof tokens[0])
                              : (size_t)n_tok * c.d > sizeof walk / sizeof walk[0]) {
        fprintf(stderr, "qkspec dump: batch too large for dump (reduce --batch)\n");
        return 2;
    }
    if (c.kind == QK_MODEL_LM)
        for (int i = 0; i < n_tok; i++) tokens[i] = (int)(qk_rng_u64(&r) % (uint64_t)c.V);
    else
        for (int b = 0; b < c.B; b++) qk_walk_sample(&r, walk + (size_t)b * (c.T + 1) * c.d, c.T + 1, c.d, NULL);
    qk_model_sr_step(&m);
    qk_status s = qk_model_forward(&m, tokens, walk);
    if (s == QK_OK) s = qk_model_backward(&m);
    if (s != QK_OK) { fprintf(stderr, "qkspec dump: %s\n", qk_status_str(s)); return 1; }

    /* stop at the first file that cannot be written: its error names it */
    json_ctx jc = {&c, seed};
    char *cfg_path = cli_path_join(out, "config.json");
    int rc = !cfg_path || cli_write_file("dump", cfg_path, fill_json, &jc);
    free(cfg_path);
    if (c.kind == QK_MODEL_LM) {
        int dims[2] = {c.B, c.T + 1};
        rc = rc || dump_npy(out, "", "tokens", "<i4", tokens, 2, dims);
        int ld[3] = {c.B, c.T, c.V};
        rc = rc || dump_tensor(out, "", "logits", qk_model_output(&m), 3, ld);
    } else {
        int dims[3] = {c.B, c.T + 1, c.d};
        rc = rc || dump_tensor(out, "", "walk", walk, 3, dims);
        int pd[2] = {c.B, c.d};
        rc = rc || dump_tensor(out, "", "pred", qk_model_output(&m), 2, pd);
    }
    int one = 1;
    rc = rc || dump_tensor(out, "", "loss", &m.loss, 1, &one);
    rc = rc || dump_tensor(out, "", "reg", &m.reg, 1, &one);
    for (int t = 0; t < QK_NPARAM && !rc; t++) {
        if (!sz.t[t].size) continue;
        rc = rc || dump_tensor(out, "", sz.t[t].name, m.w.p[t], sz.t[t].ndim, sz.t[t].dims);
        rc = rc || dump_tensor(out, "grad_", sz.t[t].name, m.g.p[t], sz.t[t].ndim, sz.t[t].dims);
    }
    if (c.sigma_reparam) {
        int md = c.dff > c.d ? c.dff : c.d, dims[3] = {c.L, QK_NLIN, md};
        rc = rc || dump_tensor(out, "", "sr_u", m.state, 3, dims);
        rc = rc || dump_tensor(out, "", "sr_v", m.state + (size_t)c.L * QK_NLIN * md, 3, dims);
    }
    /* dropout (SPEC §1.2): the multipliers of step 0, (1 + 2L, B, T, d): site 0 the
     * embedding sum (1 for the walk model), 1 + 2l layer l's attention output, 2 + 2l
     * its FFN output; 0 where dropped, 1/(1 - P) where kept */
    const float *masks = qk_model_dropout_masks(&m);
    if (masks) {
        int dims[4] = {1 + 2 * c.L, c.B, c.T, c.d};
        rc = rc || dump_tensor(out, "", "dropout_mask", masks, 4, dims);
    }
    if (rc) return 1;
    printf("dump: %s model, %zu parameters, loss %.9g, LocAteR %.9g -> %s\n", c.kind == QK_MODEL_LM ? "lm" : "walk",
           sz.params, (double)m.loss, (double)m.reg, out);
    return 0;
}
