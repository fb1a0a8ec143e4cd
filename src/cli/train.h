/* train.h — private to the command-line tool: the training driver shared by
 * `train`, `sweep` and `reproduce` (SPEC §1.2; evaluation CSVs, ρ heat map) around the
 * library's trainer (qk_train.h). */
#ifndef QK_CLI_TRAIN_H
#define QK_CLI_TRAIN_H

#include <stdio.h>
#include "qk_train.h"

#define QK_TRAIN_MAX_EVALS 256

typedef struct {
    qk_model_config cfg;
    unsigned long long seed;
    long steps;
    int eval_every, eval_batches;
    float val_frac;
    const char *text;   /* corpus path; NULL: the built-in synthetic corpus */
    int word_level;     /* 0: bytes (V = 256); 1: words (most frequent vocab_max - 1 + <unk>) */
    int vocab_max;
    const char *out;    /* directory for evals.csv and rho.csv (NULL: none) */
    const char *label;  /* run name in CSVs and messages */
    const char *rank_csv; /* r_l of every layer at every evaluation (SPEC §1.4), or NULL */
    int progress;       /* live progress line on stderr when it is a terminal */
    /* checkpoints and resumption (cmd_train.c) */
    const char *checkpoint;  /* the state is written here (NULL: never)                   */
    long checkpoint_every;   /* steps between checkpoints; 0: at every evaluation          */
    const char *resume;      /* continue from this checkpoint (NULL: from the seed)        */
    int resume_optional;     /* a missing or foreign resume file starts afresh (a note)    */
    const char *result_file; /* the finished run's result; a matching one skips the run    */
    long parent_pid;         /* stop as if by SIGTERM once this process is gone (0: none)  */
} train_opts;

typedef struct {
    int n; /* evaluations recorded */
    long step[QK_TRAIN_MAX_EVALS];
    double train_loss[QK_TRAIN_MAX_EVALS], val_loss[QK_TRAIN_MAX_EVALS], reg[QK_TRAIN_MAX_EVALS];
    double eig_mean[QK_TRAIN_MAX_EVALS], eig_scale[QK_TRAIN_MAX_EVALS], eig_var[QK_TRAIN_MAX_EVALS];
    double frob2[QK_TRAIN_MAX_EVALS], spec2[QK_TRAIN_MAX_EVALS], trace[QK_TRAIN_MAX_EVALS];
    double entropy[QK_TRAIN_MAX_EVALS];
    float rho[QK_TRAIN_MAX_EVALS][QK_MAX_T];
    int T, d;
    double eig_init[QK_MAX_D], eig_final[QK_MAX_D]; /* symmetric part of W_QK, layer 0 head 0 */
    double seconds, tokens_per_second, ms_per_step;
    char corpus[160];
    long long params;
    uint64_t param_hash; /* qk_model_param_hash after the last step */
    long resumed_at;     /* the step the run continued from (0: from the seed) */
} train_result;

void train_defaults(train_opts *o);
/* Parses one train option at argv[*i] (model options included); 1 consumed, 0 not a
 * train option, -1 error (printed). */
int train_option(const char *cmd, int argc, char **argv, int *i, train_opts *o);
void train_usage(FILE *f);

/* --checkpoint FILE, --checkpoint-every N, --resume FILE: as train_option. */
int train_ckpt_option(const char *cmd, int argc, char **argv, int *i, train_opts *o);
void train_ckpt_usage(FILE *f);

/* Runs a training; returns 0, or a non-zero exit status after printing why: 128 + the
 * signal number when SIGINT or SIGTERM stopped it (at a step boundary, after writing
 * the checkpoint). CSV rows are appended and flushed at every evaluation. */
int train_run(const train_opts *o, train_result *r);

/* Checkpoint files: "qkspec-checkpoint 1", the configuration line, the evaluations
 * so far and the trainer's state (qk_train_save_state), CRC-32 framed (cli_frame).
 * Decodes one in memory into r's history and t's state (t set up by qk_train_init
 * for the same configuration); want_config NULL accepts any configuration. 0, or -1
 * with the reason in err (nothing is changed then). */
#define TRAIN_CKPT_MAGIC "qkspec-checkpoint 1"
#define TRAIN_MAX_STEPS 100000000L /* --steps at most; a checkpoint's step count too */
int train_ckpt_decode(const unsigned char *buf, size_t n, const char *want_config, qk_trainer *t, train_result *r,
                      char *err, size_t errlen);

/* A finished run's result file (train_opts.result_file): 0 with r filled, or -1. */
int train_read_result(const char *path, train_result *r);

/* Where `reproduce` looks for the cached corpus (tools/get_corpus.sh puts it there). */
const char *train_cached_corpus(void);
/* The same for another file of tools/get_corpus.sh ("devil.txt" or "gcide.txt"); the
 * environment variable QKSPEC_CORPUS, when set, overrides both. */
const char *train_cached_corpus_named(const char *name);

#endif
