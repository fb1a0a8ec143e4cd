/* cmd_sweep.c — `qkspec sweep`: the paper's LocAteR sweep (κ1 = 100, κ2 in {0, 1e-3,
 * 1e-2, 1e-1, 1}), a run without any regulariser and a σReparam run, all from the same
 * seed, data order and budget (SPEC §1.1). Runs are independent processes (--jobs),
 * so parallelism cannot change a bit of any run. */
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sweep.h"

void sweep_plan(const train_opts *base, float kappa1, sweep_run *runs, int *n)
{
    static const float k2[] = {0.0f, 1e-3f, 1e-2f, 1e-1f, 1.0f};
    static const char *names[] = {"locater_k2_0", "locater_k2_1e-3", "locater_k2_1e-2", "locater_k2_1e-1",
                                  "locater_k2_1"};
    int k = 0;
    runs[k].opts = *base;
    runs[k].opts.cfg.kappa1 = runs[k].opts.cfg.kappa2 = 0.0f;
    runs[k].opts.cfg.sigma_reparam = QK_SR_OFF;
    snprintf(runs[k].name, sizeof runs[k].name, "baseline");
    k++;
    for (int i = 0; i < 5; i++, k++) {
        runs[k].opts = *base;
        runs[k].opts.cfg.kappa1 = kappa1;
        runs[k].opts.cfg.kappa2 = k2[i];
        runs[k].opts.cfg.sigma_reparam = QK_SR_OFF;
        snprintf(runs[k].name, sizeof runs[k].name, "%s", names[i]);
    }
    runs[k].opts = *base;
    runs[k].opts.cfg.kappa1 = runs[k].opts.cfg.kappa2 = 0.0f;
    runs[k].opts.cfg.sigma_reparam = QK_SR_QK;
    snprintf(runs[k].name, sizeof runs[k].name, "sigma_reparam");
    k++;
    for (int i = 0; i < k; i++) {
        runs[i].opts.label = runs[i].name;
        runs[i].opts.progress = 0;
    }
    *n = k;
}

static void result_path(char *p, size_t n, const char *dir, const char *name)
{
    snprintf(p, n, "%s/.%s.result", dir, name);
}

/* Child: run, store the result struct for the parent. */
static int run_child(sweep_run *run, const char *dir)
{
    static train_result r;
    int rc = train_run(&run->opts, &r);
    if (rc) return rc;
    char p[1024];
    result_path(p, sizeof p, dir, run->name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(&r, sizeof r, 1, f) != 1) return 1;
    return fclose(f) ? 1 : 0;
}

int sweep_execute(sweep_run *runs, int n, int jobs, const char *dir, FILE *log)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "qkspec sweep: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    pid_t pid[SWEEP_MAX_RUNS];
    int next = 0, running = 0, failed = 0;
    fflush(NULL);
    while (next < n || running > 0) {
        while (running < jobs && next < n) {
            pid[next] = fork();
            if (pid[next] < 0) { fprintf(stderr, "qkspec sweep: fork: %s\n", strerror(errno)); return 1; }
            if (pid[next] == 0) _exit(run_child(&runs[next], dir));
            if (log) fprintf(log, "  started %-18s (kappa1 %g, kappa2 %g, sigmaReparam %s)\n", runs[next].name,
                             (double)runs[next].opts.cfg.kappa1, (double)runs[next].opts.cfg.kappa2,
                             runs[next].opts.cfg.sigma_reparam ? "on" : "off");
            next++;
            running++;
        }
        int status;
        pid_t done = wait(&status);
        if (done < 0) break;
        running--;
        for (int i = 0; i < next; i++)
            if (pid[i] == done) {
                int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                if (!ok) { failed++; fprintf(stderr, "qkspec sweep: run %s failed\n", runs[i].name); }
                if (log) fprintf(log, "  finished %-17s%s\n", runs[i].name, ok ? "" : " (FAILED)");
            }
    }
    for (int i = 0; i < n && !failed; i++) {
        char p[1024];
        result_path(p, sizeof p, dir, runs[i].name);
        FILE *f = fopen(p, "rb");
        if (!f || fread(&runs[i].result, sizeof runs[i].result, 1, f) != 1) {
            fprintf(stderr, "qkspec sweep: missing result of %s\n", runs[i].name);
            failed++;
        }
        if (f) fclose(f);
        remove(p);
    }
    return failed ? 1 : 0;
}

void sweep_table(const sweep_run *runs, int n, FILE *f)
{
    fprintf(f, "%-18s %8s %8s %10s %10s %10s %9s %9s\n", "run", "kappa2", "val ppl", "eig mean", "eig scale", "||W_QK||2",
            "entropy", "ms/step");
    for (int i = 0; i < n; i++) {
        const train_result *r = &runs[i].result;
        int e = r->n - 1;
        char k2[16];
        if (runs[i].opts.cfg.kappa1 > 0) snprintf(k2, sizeof k2, "%g", (double)runs[i].opts.cfg.kappa2);
        else snprintf(k2, sizeof k2, "-");
        fprintf(f, "%-18s %8s %8.3f %10.4g %10.4g %10.4g %9.4f %9.2f\n", runs[i].name, k2,
                runs[i].opts.cfg.kind == QK_MODEL_LM ? exp(r->val_loss[e]) : r->val_loss[e], r->eig_mean[e],
                r->eig_scale[e], r->spec2[e], r->entropy[e], r->ms_per_step);
    }
}

int qk_cmd_sweep(int argc, char **argv)
{
    train_opts base;
    train_defaults(&base);
    float kappa1 = 100.0f;
    long jobs = 2;
    const char *out = "qkspec-sweep";
    for (int i = 0; i < argc;) {
        if (!strcmp(argv[i], "--jobs")) {
            if (cli_parse_long("sweep", "--jobs", i + 1 < argc ? argv[i + 1] : NULL, 1, 64, &jobs)) return 2;
            i += 2;
            continue;
        }
        if (!strcmp(argv[i], "--locater-kappa1")) {
            if (cli_parse_float("sweep", "--locater-kappa1", i + 1 < argc ? argv[i + 1] : NULL, 0, 1e6, &kappa1)) return 2;
            i += 2;
            continue;
        }
        int k = train_option("sweep", argc, argv, &i, &base);
        if (k < 0) return 2;
        if (k == 0) {
            fprintf(stderr, "qkspec sweep: unknown option '%s'\n"
                            "usage: qkspec sweep [--jobs N] [--locater-kappa1 X] [train options]\n", argv[i]);
            train_usage(stderr);
            return 2;
        }
    }
    if (base.out) out = base.out;
    base.out = out;
    static sweep_run runs[SWEEP_MAX_RUNS];
    int n;
    sweep_plan(&base, kappa1, runs, &n);
    printf("sweep: %d runs of %ld steps, seed %llu, %ld at a time, CSVs in %s/\n", n, base.steps, base.seed, jobs, out);
    if (sweep_execute(runs, n, (int)jobs, out, stdout)) return 1;
    sweep_table(runs, n, stdout);
    return 0;
}
