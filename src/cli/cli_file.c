/* cli_file.c — every file the command-line tool writes goes through here.
 *
 * Whole files (CSV, SVG, .npy, JSON, HTML, checkpoints) are written to a temporary name
 * in the destination's directory, flushed, checked, synced and closed, then renamed
 * over the destination: a reader sees the old file or the complete new one, never a
 * prefix, and a failure leaves the destination as it was. Training's evaluation CSVs
 * are the exception (cli_append): they grow in place, a flushed row at a time, so that
 * a killed run keeps every row it reached; a failed write cuts the file back to its
 * last complete row. Checkpoints and result files add a frame (magic line, config
 * line, payload length, CRC-32) so that a torn or foreign file is refused. */
#include "qk_fp.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

/* A file-size limit (RLIMIT_FSIZE) must become a write error naming the file, not a
 * signal that kills the process and leaves its temporaries behind. */
static void ignore_sigxfsz(void)
{
#ifdef SIGXFSZ
    static int done;
    if (!done) {
        signal(SIGXFSZ, SIG_IGN);
        done = 1;
    }
#endif
}

char *cli_strcat3(const char *a, const char *b, const char *c)
{
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
    char *s = malloc(na + nb + nc + 1);
    if (!s) return NULL;
    memcpy(s, a, na);
    memcpy(s + na, b, nb);
    memcpy(s + na + nb, c, nc + 1);
    return s;
}

char *cli_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    return cli_strcat3(dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* "DIR/.BASE.tmp-PID-K": hidden, in the destination's directory (rename(2) is atomic
 * only within one file system), unique per process and attempt. */
static char *temp_name(const char *path, unsigned k)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    char tail[64];
    snprintf(tail, sizeof tail, ".tmp-%ld-%u", (long)getpid(), k);
    char *t = malloc(dlen + 1 + strlen(base) + strlen(tail) + 1);
    if (!t) return NULL;
    memcpy(t, path, dlen);
    t[dlen] = '.';
    strcpy(t + dlen + 1, base);
    strcat(t, tail);
    return t;
}

static void out_free(cli_out *o)
{
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    o->f = NULL;
}

FILE *cli_out_open(cli_out *o, const char *cmd, const char *path)
{
    ignore_sigxfsz();
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    size_t n = strlen(path);
    if (!n || path[n - 1] == '/') {
        fprintf(stderr, "qkspec %s: cannot write '%s': not a file name\n", cmd, path);
        return NULL;
    }
    o->path = cli_strcat3(path, "", "");
    int fd = -1, err = ENOMEM;
    for (unsigned k = 0; o->path && fd < 0 && k < 100; k++) {
        free(o->tmp);
        if (!(o->tmp = temp_name(path, k))) break;
        /* 0666 and the umask: the permissions a plain fopen(path, "w") would give */
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        err = errno;
        if (fd < 0 && err != EEXIST) break;
    }
    if (fd >= 0 && !(o->f = fdopen(fd, "wb"))) {
        err = errno;
        close(fd);
        unlink(o->tmp);
    }
    if (!o->f) {
        fprintf(stderr, "qkspec %s: cannot write %s: %s\n", cmd, path, strerror(err));
        out_free(o);
        return NULL;
    }
    return o->f;
}

/* Flushes and checks a stream; 0, or the error number of the failure (EIO when the
 * stream only remembers that some earlier write failed). */
static int stream_error(FILE *f)
{
    errno = 0;
    if (fflush(f) != 0) return errno ? errno : EIO;
    if (ferror(f)) return EIO;
    return 0;
}

int cli_out_commit(cli_out *o)
{
    if (!o->f) return -1;
    int err = stream_error(o->f);
    /* the data must be on the disk before the name points at it, or a crash right
     * after the rename could leave an empty file under the final name */
    if (!err && fsync(fileno(o->f)) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    if (fclose(o->f) != 0 && !err) err = errno ? errno : EIO;
    o->f = NULL;
    if (!err && rename(o->tmp, o->path) != 0) err = errno;
    if (err) {
        unlink(o->tmp);
        fprintf(stderr, "qkspec %s: error writing %s: %s\n", o->cmd, o->path, strerror(err));
    }
    out_free(o);
    return err ? -1 : 0;
}

void cli_out_abort(cli_out *o)
{
    if (o->f) {
        fclose(o->f);
        unlink(o->tmp);
    }
    out_free(o);
}

int cli_write_file(const char *cmd, const char *path, int (*fill)(FILE *f, void *ctx), void *ctx)
{
    cli_out o;
    FILE *f = cli_out_open(&o, cmd, path);
    if (!f) return -1;
    if (fill(f, ctx) != 0) {
        /* a writer that gave up has printed why, or its stream holds the error */
        int err = stream_error(f);
        if (err) fprintf(stderr, "qkspec %s: error writing %s: %s\n", cmd, path, strerror(err));
        cli_out_abort(&o);
        return -1;
    }
    return cli_out_commit(&o);
}

/* ------------------------------------------------------------------ appended files */

int cli_append_open(cli_append *a, const char *cmd, const char *path)
{
    ignore_sigxfsz();
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->path = path;
    a->f = fopen(path, "ab");
    if (!a->f) {
        fprintf(stderr, "qkspec %s: cannot write %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    if (fseek(a->f, 0, SEEK_END) != 0 || (a->good = ftell(a->f)) < 0) {
        fprintf(stderr, "qkspec %s: cannot write %s: %s\n", cmd, path, strerror(errno));
        fclose(a->f);
        a->f = NULL;
        return -1;
    }
    return 0;
}

int cli_append_flush(cli_append *a)
{
    if (!a->f) return -1;
    int err = stream_error(a->f);
    long pos = err ? -1 : ftell(a->f);
    if (!err && pos >= 0) {
        a->good = pos;
        return 0;
    }
    /* keep the file a sequence of complete rows: close first (the stream may still
     * hold part of a row it would write on closing), then cut off what the failed
     * writes left */
    fclose(a->f);
    a->f = NULL;
    if (truncate(a->path, (off_t)a->good) != 0) { /* the write error below is the one to report */ }
    fprintf(stderr, "qkspec %s: error writing %s: %s\n", a->cmd, a->path, strerror(err ? err : EIO));
    return -1;
}

void cli_append_discard(cli_append *a, long keep)
{
    if (a->f) fclose(a->f);
    a->f = NULL;
    if (a->path && keep < a->good) a->good = keep;
    if (a->path && truncate(a->path, (off_t)a->good) != 0) { /* the caller reports the error that led here */ }
}

int cli_append_close(cli_append *a)
{
    if (!a->f) return 0;
    int rc = cli_append_flush(a);
    if (a->f && fclose(a->f) != 0 && !rc) {
        fprintf(stderr, "qkspec %s: error writing %s: %s\n", a->cmd, a->path, strerror(errno));
        rc = -1;
    }
    a->f = NULL;
    return rc;
}

/* ------------------------------------------------------------------ framed files */

/* CRC-32 of IEEE 802.3 (zlib's crc32: reflected, polynomial 0xEDB88320). */
uint32_t cli_crc32(uint32_t crc, const void *data, size_t n)
{
    static uint32_t table[256];
    static int ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int cli_frame_write(const char *cmd, const char *path, const char *magic, const char *config, const void *payload,
                    size_t n)
{
    cli_out o;
    FILE *f = cli_out_open(&o, cmd, path);
    if (!f) return -1;
    char head[64];
    snprintf(head, sizeof head, "payload %llu\n", (unsigned long long)n);
    uint32_t crc = 0;
    const char *parts[] = {magic, "\nconfig ", config, "\n", head};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        crc = cli_crc32(crc, parts[i], strlen(parts[i]));
        fputs(parts[i], f);
    }
    crc = cli_crc32(crc, payload, n);
    unsigned char tail[4];
    put_le32(tail, crc);
    if (n) fwrite(payload, 1, n, f);
    fwrite(tail, 1, 4, f);
    return cli_out_commit(&o);
}

/* The line starting at *p (before end) that begins with prefix; advances *p past its
 * newline and returns its text after the prefix (length in *len), or NULL. */
static const char *frame_line(const unsigned char **p, const unsigned char *end, const char *prefix, size_t *len)
{
    size_t k = strlen(prefix);
    const unsigned char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl || (size_t)(nl - *p) < k || memcmp(*p, prefix, k)) return NULL;
    const char *s = (const char *)*p + k;
    *len = (size_t)(nl - *p) - k;
    *p = nl + 1;
    return s;
}

int cli_frame_parse(const unsigned char *buf, size_t n, const char *magic, cli_frame *fr, char *err, size_t errlen)
{
    const unsigned char *p = buf, *end = buf + n;
    size_t len, mlen = strlen(magic);
    memset(fr, 0, sizeof *fr);
    if (n < mlen + 1 || memcmp(buf, magic, mlen) || buf[mlen] != '\n') {
        /* the same kind of file in another version says so; anything else is foreign */
        const char *sp = strrchr(magic, ' ');
        size_t kind = sp ? (size_t)(sp - magic) + 1 : mlen;
        if (n > kind && !memcmp(buf, magic, kind))
            snprintf(err, errlen, "format version is not '%s' (written by another qkspec version)", magic + kind);
        else snprintf(err, errlen, "not a qkspec file of this kind (expected '%s')", magic);
        return -1;
    }
    p += mlen + 1;
    fr->config = frame_line(&p, end, "config ", &fr->config_len);
    const char *plen = fr->config ? frame_line(&p, end, "payload ", &len) : NULL;
    if (!plen) { snprintf(err, errlen, "damaged header"); return -1; }
    unsigned long long want = 0;
    for (size_t i = 0; i < len; i++) {
        if (plen[i] < '0' || plen[i] > '9' || want > (~0ull - 9) / 10 || (len > 1 && plen[0] == '0')) {
            snprintf(err, errlen, "damaged header");
            return -1;
        }
        want = want * 10 + (unsigned)(plen[i] - '0');
    }
    size_t have = (size_t)(end - p);
    if (!len || have < 4 || want != (unsigned long long)(have - 4)) {
        snprintf(err, errlen, "truncated or extended: the header announces %llu payload bytes, the file holds %llu", want,
                 (unsigned long long)(have >= 4 ? have - 4 : 0));
        return -1;
    }
    uint32_t crc = cli_crc32(0, buf, n - 4);
    if (crc != get_le32(end - 4)) {
        snprintf(err, errlen, "CRC-32 mismatch (stored %08lx, computed %08lx): the file is damaged",
                 (unsigned long)get_le32(end - 4), (unsigned long)crc);
        return -1;
    }
    fr->payload = p;
    fr->payload_len = have - 4;
    return 0;
}

unsigned char *cli_read_file(const char *path, size_t max, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) return NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) { /* fopen accepts a directory; say so */
        fclose(f);
        errno = EISDIR;
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        if (cap >= max) { free(buf); buf = NULL; errno = EFBIG; break; }
        unsigned char *nb = realloc(buf, cap * 2 > max ? max : cap * 2);
        if (!nb) { free(buf); buf = NULL; errno = ENOMEM; break; }
        buf = nb;
        cap = cap * 2 > max ? max : cap * 2;
    }
    int bad = buf && ferror(f);
    fclose(f);
    if (bad) { free(buf); errno = EIO; return NULL; }
    if (buf) *n = len;
    return buf;
}

/* ------------------------------------------------------------------ directories */

int cli_mkdir(const char *cmd, const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))) return 0;
    fprintf(stderr, "qkspec %s: cannot create directory %s: %s\n", cmd, dir, errno == EEXIST ? "a file of that name exists" : strerror(errno));
    return -1;
}
