/* cli.h — private to the command-line tool: option parsing and model memory. */
#ifndef QK_CLI_H
#define QK_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "qk_model.h"

/* Strict number parsing: the whole string, finite, within [lo, hi]. On failure prints
 * "qkspec CMD: OPTION: ..." and returns -1. */
int cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out);

/* A corpus file before any work starts: it exists, is a regular file, can be opened,
 * and (T > 0: byte-level) holds enough bytes for the validation split and sequences
 * of T tokens. 0, or -1 with "qkspec CMD: ..." printed. */
int cli_check_corpus(const char *cmd, const char *path, int T, float val_frac);

/* train and sweep, once every option is read: --vocab V (vocab: V, 0 if not given)
 * and --vocab-max N size a word vocabulary (--words); bytes always have 256 tokens and
 * the walk model none, so asking for another size there is an error, not ignored.
 * 0, or -1 with the message printed. */
#define CLI_VOCAB_MAX_DEFAULT 8192
int cli_check_vocab(const char *cmd, int lm, int word_level, int vocab, int vocab_max);

/* The parallel-for of the tool (cli_threads.c): n threads in all (n <= 0: one per
 * online CPU; 1: none), installed with qk_set_parallel; returns the number running.
 * Called again, it installs the running pool again (n is then ignored). */
int cli_threads_start(int n);
int cli_threads_default(void);

/* Model options shared by dump, train and sweep. Consumes the options it knows at
 * argv[*i] (advancing *i) and returns 1; returns 0 if argv[*i] is not a model option;
 * -1 on error (message printed). --preset must come before the options it modifies. */
int cli_model_option(const char *cmd, int argc, char **argv, int *i, qk_model_config *cfg, unsigned long long *seed);
void cli_model_usage(FILE *f);

/* Mean and sample standard deviation of the finite values among v[i·stride], i < n
 * (NaN mean when none; sd 0 for one); their count into cnt (may be NULL). cli_stats.c */
void cli_mean_std(const double *v, int n, size_t stride, double *mean, double *sd, int *cnt);
/* The share of Σρ on the max(1, T/8) largest ρ_i (how far attention localizes on a
 * few positions); NaN if Σρ is not positive. T <= QK_MAX_T. cli_stats.c */
double cli_rho_top_share(const double *rho, int T);
double cli_rho_top_share_f(const float *rho, int T);
/* collapse's built-in English paragraph (its length into len). cmd_collapse.c */
const char *cli_collapse_text(size_t *len);

/* Binds m to the tool's static model memory; prints a clear error if the
 * configuration does not fit (returns -1). */
int cli_model_open(const char *cmd, const qk_model_config *cfg, qk_model *m, qk_model_sizes_t *sz);
size_t cli_model_capacity_floats(void);
/* The static model memory itself (cli_model_capacity_floats() floats), for a command
 * that carves its own model (collapse); one command runs at a time. */
float *cli_model_memory(void);

/* Writes the configuration as a JSON object naming every option. */
void cli_config_json(FILE *f, const qk_model_config *c, unsigned long long seed);

/* ------------------------------------------------------------------ output files (cli_file.c)
 * Every file is written under a temporary name in its directory and renamed into place
 * once flushed, checked and synced: the final name holds the old file or the complete
 * new one. Errors print "qkspec CMD: ... PATH: reason"; a file-size limit is an error,
 * not a signal. */
typedef struct {
    FILE *f;
    char *path, *tmp; /* the final and the temporary name */
    const char *cmd;
} cli_out;
/* The stream to write, or NULL (message printed). */
FILE *cli_out_open(cli_out *o, const char *cmd, const char *path);
/* Flush, check, sync, close, rename. 0, or -1 (message printed, temporary removed). */
int cli_out_commit(cli_out *o);
/* Drops the temporary (after an error the caller reports). */
void cli_out_abort(cli_out *o);
/* Opens path, calls fill (0: success; non-zero: give up), commits. 0 or -1. */
int cli_write_file(const char *cmd, const char *path, int (*fill)(FILE *f, void *ctx), void *ctx);

/* A file that grows in place (training's evaluation CSVs): every cli_append_flush
 * makes the rows written so far durable; a failed write cuts the file back to the
 * last flushed row, prints the error and closes the stream (-1). */
typedef struct {
    FILE *f;
    const char *path, *cmd;
    long good; /* bytes known to be complete */
} cli_append;
int cli_append_open(cli_append *a, const char *cmd, const char *path);
int cli_append_flush(cli_append *a);
/* Closes (if open) and cuts the file back to its first keep bytes, or to what was
 * flushed if that is less: a caller's rows that must not stay after another file's
 * failure. */
void cli_append_discard(cli_append *a, long keep);
int cli_append_close(cli_append *a);

/* Framed binary files (checkpoints, sweep results): "MAGIC\n" (e.g.
 * "qkspec-checkpoint 1"), "config LINE\n", "payload N\n", N bytes, then the CRC-32
 * (little-endian) of everything before it. Written atomically. */
typedef struct {
    const char *config;   /* not NUL-terminated: config_len bytes */
    size_t config_len;
    const unsigned char *payload;
    size_t payload_len;
} cli_frame;
uint32_t cli_crc32(uint32_t crc, const void *data, size_t n);
int cli_frame_write(const char *cmd, const char *path, const char *magic, const char *config, const void *payload,
                    size_t n);
/* 0 with fr pointing into buf, or -1 with the reason in err (wrong kind or version,
 * damaged header, wrong length, CRC mismatch). */
int cli_frame_parse(const unsigned char *buf, size_t n, const char *magic, cli_frame *fr, char *err, size_t errlen);
/* The whole file in malloc'd memory (*n bytes), or NULL with errno set (EFBIG above max). */
unsigned char *cli_read_file(const char *path, size_t max, size_t *n);

/* mkdir that accepts an existing directory; -1 with a message naming it. */
int cli_mkdir(const char *cmd, const char *dir);
/* Newly allocated a + b + c, and DIR/NAME (NULL when out of memory). */
char *cli_strcat3(const char *a, const char *b, const char *c);
char *cli_path_join(const char *dir, const char *name);

#endif
