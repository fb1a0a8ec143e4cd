/* qk_svg.c — a tiny SVG writer (see qk_svg.h). Logarithms through qk_log, so a figure
 * is the same file on every target; floor/ceil are exact. */
#include "qk_fp.h"
#include <math.h>
#include <string.h>
#include "qk.h"
#include "qk_svg.h"

static const char *const palette[10] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char *qk_svg_color(int i) { return palette[(i % 10 + 10) % 10]; }

void qk_svg_plot_defaults(qk_svg_plot *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->width = 640;
    p->height = 420;
    p->xmin = p->xmax = p->ymin = p->ymax = NAN;
}

void qk_svg_plot_inline(qk_svg_plot *p, const char *title, const char *xlabel, const char *ylabel, int width,
                        int height)
{
    if (!p) return;
    qk_svg_plot_defaults(p);
    p->inline_html = 1;
    p->title = title;
    p->xlabel = xlabel;
    p->ylabel = ylabel;
    p->width = width;
    p->height = height;
}

static int finite(double v) { return v - v == 0.0; }
static double log10_(double v) { return qk_log(v) / qk_log(10.0); }

static double pow10i(int e)
{
    double r = 1.0;
    for (int i = 0; i < e; i++) r *= 10.0;
    for (int i = 0; i > e; i--) r /= 10.0;
    return r;
}

void qk_svg_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void text(FILE *f, const char *s) { qk_svg_escape(f, s); }

static void label(FILE *f, double x, double y, const char *anchor, int size, const char *extra, const char *s)
{
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\" font-size=\"%d\"%s>", x, y, anchor, size,
            extra ? extra : "");
    text(f, s);
    fputs("</text>\n", f);
}

/* ------------------------------------------------------------------ frame and axes */

typedef struct {
    double x0, x1, y0, y1;     /* data range (log10 units on a log axis) */
    double px0, px1, py0, py1; /* plot box in pixels (py0 top)           */
    int logy, yint, W, Hh;     /* yint: integer y ticks (counts)         */
} frame;

static double fx(const frame *fr, double x) { return fr->px0 + (x - fr->x0) / (fr->x1 - fr->x0) * (fr->px1 - fr->px0); }
static double fy(const frame *fr, double y)
{
    double t = fr->logy ? log10_(y) : y;
    return fr->py1 - (t - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0);
}

/* Ticks from a to b every step are few enough to draw: false for a range too wide for
 * a double (b - a overflows) or a step lost in rounding, where the loop would not end. */
static int ticks_ok(double a, double b, double step)
{
    double n = (b - a) / step;
    return step > 0.0 && n - n == 0.0 && n <= 1000.0 && a + step != a && b + step != b;
}

/* A step of 1, 2 or 5 × 10^k near range/target. */
static double nice_step(double range, int target)
{
    double raw = range / target;
    if (!(raw > 0.0) || !finite(raw)) return 1.0;
    double p = pow10i((int)floor(log10_(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * p;
}

/* Widens [*a, *b] to a usable range (equal or non-finite ends). */
static void fix_range(double *a, double *b)
{
    if (!finite(*a) || !finite(*b)) { *a = 0.0; *b = 1.0; }
    if (*a == *b) {
        double w = *a == 0.0 ? 1.0 : fabs(*a) * 0.1;
        *a -= w;
        *b += w;
    }
    if (*a > *b) { double t = *a; *a = *b; *b = t; }
    if (!finite(*b - *a)) { /* ends near ±DBL_MAX: a range a double can hold (the rest is clipped) */
        *a /= 4.0;
        *b /= 4.0;
    }
}

static void fmt_num(char *buf, size_t n, double v)
{
    if (fabs(v) < 1e-12) v = 0.0;
    snprintf(buf, n, "%g", v);
}

/* Width in pixels of a tick label at font size 11: Helvetica's digits are 0.556 em,
 * rounded up so that an estimate never undercuts the real text. */
static double label_px(const char *s) { return 6.4 * (double)strlen(s); }

/* The plot box of a W × H figure (right_extra: room for a colour bar). */
static void frame_box(const qk_svg_plot *p, frame *fr, int right_extra)
{
    fr->W = p->width > 0 ? p->width : 640;
    fr->Hh = p->height > 0 ? p->height : 420;
    fr->px0 = 72.0;
    fr->px1 = fr->W - 20.0 - right_extra;
    fr->py0 = p->title ? 36.0 : 16.0;
    fr->py1 = fr->Hh - 52.0;
}

/* The figure's opening, title and axis labels; extra_h: pixels added below (a legend
 * under the plot). */
static void begin_svg(FILE *f, const qk_svg_plot *p, const frame *fr, double extra_h)
{
    int W = fr->W, H = fr->Hh, Ht = H + (int)ceil(extra_h);
    if (!p->inline_html) fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n"
               "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, Ht, W, Ht, W, Ht);
    if (p->title) label(f, W / 2.0, 22.0, "middle", 15, NULL, p->title);
    if (p->xlabel) label(f, (fr->px0 + fr->px1) / 2, H - 12.0, "middle", 13, NULL, p->xlabel);
    if (p->ylabel) {
        char tr[96];
        double cy = (fr->py0 + fr->py1) / 2;
        snprintf(tr, sizeof tr, " transform=\"rotate(-90 16 %.2f)\"", cy);
        label(f, 16.0, cy, "middle", 13, tr, p->ylabel);
    }
}

static void box(FILE *f, const frame *fr)
{
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"black\"/>\n",
            fr->px0, fr->py0, fr->px1 - fr->px0, fr->py1 - fr->py0);
}

/* The finest 1-2-5 step over [a, b] (pixels wide) whose labels do not touch. */
static double xtick_step(double a, double b, double pixels, int integer)
{
    double step = 1.0;
    for (int target = 8; target >= 1; target--) {
        step = nice_step(b - a, target);
        if (integer && step < 1.0) step = 1.0;
        double wmax = 0.0;
        char buf[32];
        if (!ticks_ok(a, b, step)) return step;
        for (double t = ceil(a / step) * step; t <= b + 1e-9 * step; t += step) {
            fmt_num(buf, sizeof buf, t);
            if (label_px(buf) > wmax) wmax = label_px(buf);
        }
        if (step / (b - a) * pixels >= wmax + 10.0) break;
    }
    return step;
}

static void xticks(FILE *f, const frame *fr, int integer)
{
    double step = xtick_step(fr->x0, fr->x1, fr->px1 - fr->px0, integer);
    char buf[32];
    if (!ticks_ok(fr->x0, fr->x1, step)) return;
    for (double t = ceil(fr->x0 / step) * step; t <= fr->x1 + 1e-9 * step; t += step) {
        double x = fx(fr, t);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", x, fr->py1, x,
                fr->py1 + 5);
        fmt_num(buf, sizeof buf, t);
        label(f, x, fr->py1 + 18, "middle", 11, NULL, buf);
    }
}

static void ytick(FILE *f, const frame *fr, double yv, double pos, int grid)
{
    char buf[32];
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", fr->px0 - 5, pos,
            fr->px0, pos);
    if (grid)
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#dddddd\"/>\n", fr->px0, pos,
                fr->px1, pos);
    fmt_num(buf, sizeof buf, yv);
    label(f, fr->px0 - 8, pos + 4, "end", 11, NULL, buf);
}

static void yticks(FILE *f, const frame *fr)
{
    double h = fr->py1 - fr->py0;
    if (!fr->logy) {
        double step = nice_step(fr->y1 - fr->y0, 6);
        if (fr->yint && step < 1.0) step = 1.0; /* counts: no 0.5 */
        if (!ticks_ok(fr->y0, fr->y1, step)) return;
        for (double t = ceil(fr->y0 / step) * step; t <= fr->y1 + 1e-9 * step; t += step)
            ytick(f, fr, t, fr->py1 - (t - fr->y0) / (fr->y1 - fr->y0) * h, 1);
        return;
    }
    int e0 = (int)ceil(fr->y0 - 1e-9), e1 = (int)floor(fr->y1 + 1e-9);
    double per_decade = h / (fr->y1 - fr->y0);
    int every = (int)ceil(16.0 / per_decade); /* labels 11 px high need 16 px apart */
    if (every < 1) every = 1;
    for (int e = e0; e <= e1; e++)
        if ((e - e0) % every == 0) ytick(f, fr, pow10i(e), fr->py1 - (e - fr->y0) / (fr->y1 - fr->y0) * h, 1);
    if (e1 - e0 < 2 && per_decade >= 80.0) /* a short axis: 2x and 5x too */
        for (int e = e0 - 1; e <= e1; e++)
            for (int m = 2; m <= 5; m += 3) {
                double t = log10_(m * pow10i(e));
                if (t >= fr->y0 && t <= fr->y1)
                    ytick(f, fr, m * pow10i(e), fr->py1 - (t - fr->y0) / (fr->y1 - fr->y0) * h, 0);
            }
}

static int end_svg(FILE *f)
{
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ clipping
 * Lines and bands are clipped to the plot box by the writer itself rather than by a
 * <clipPath>: a clip path needs an id, and ids of several figures inlined in one HTML
 * page collide (the browser then clips every figure with the first one's box). The
 * file draws only what is inside, in any viewer. */

typedef struct { double x0, y0, x1, y1; } rect;

static rect plot_rect(const frame *fr)
{
    rect r = {fr->px0, fr->py0, fr->px1, fr->py1};
    return r;
}

/* Liang–Barsky: the part of segment a→b inside r, in place; 0 if none. */
static int clip_segment(const rect *r, double *ax, double *ay, double *bx, double *by)
{
    double dx = *bx - *ax, dy = *by - *ay, t0 = 0.0, t1 = 1.0;
    double p[4] = {-dx, dx, -dy, dy}, q[4] = {*ax - r->x0, r->x1 - *ax, *ay - r->y0, r->y1 - *ay};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0) return 0; /* parallel to this edge and outside it */
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0.0) { if (t > t1) return 0; if (t > t0) t0 = t; }
        else { if (t < t0) return 0; if (t < t1) t1 = t; }
    }
    double x0 = *ax, y0 = *ay; /* an end inside stays exactly where it was */
    if (t1 < 1.0) { *bx = x0 + t1 * dx; *by = y0 + t1 * dy; }
    if (t0 > 0.0) { *ax = x0 + t0 * dx; *ay = y0 + t0 * dy; }
    return 1;
}

/* Length of segment a→b inside r (0 if none). */
static double inside_length(const rect *r, double ax, double ay, double bx, double by)
{
    if (!clip_segment(r, &ax, &ay, &bx, &by)) return 0.0;
    return sqrt((bx - ax) * (bx - ax) + (by - ay) * (by - ay));
}

/* A polyline's points, cut into the runs that lie inside the box. */
typedef struct {
    FILE *f;
    rect r;
    const char *head; /* the <polyline ...  points=" opening */
    int open, have_prev;
    double px, py, lx, ly; /* previous point; last point written */
} poly_clip;

static void poly_close(poly_clip *c)
{
    if (c->open) fputs("\"/>\n", c->f);
    c->open = 0;
}

static void poly_point(poly_clip *c, double x, double y)
{
    if (c->have_prev) {
        double ax = c->px, ay = c->py, bx = x, by = y;
        if (clip_segment(&c->r, &ax, &ay, &bx, &by)) {
            if (c->open && (ax != c->lx || ay != c->ly)) poly_close(c);
            if (!c->open) {
                fprintf(c->f, "%s%.2f,%.2f ", c->head, ax, ay);
                c->open = 1;
            }
            fprintf(c->f, "%.2f,%.2f ", bx, by);
            c->lx = bx;
            c->ly = by;
        } else poly_close(c);
    }
    c->px = x;
    c->py = y;
    c->have_prev = 1;
}

static void poly_break(poly_clip *c)
{
    poly_close(c);
    c->have_prev = 0;
}

/* Sutherland–Hodgman as a pipeline of four edge stages (left, right, top, bottom),
 * each with O(1) state, so a polygon of any length needs no buffer. */
typedef struct {
    int has_first;
    double fx, fy, px, py;
} sh_stage;

typedef struct {
    FILE *f;
    rect r;
    const char *head; /* the <polygon ...  points=" opening */
    int npts;
    sh_stage st[4];
} poly_fill;

static int sh_inside(const rect *r, int k, double x, double y)
{
    return k == 0 ? x >= r->x0 : k == 1 ? x <= r->x1 : k == 2 ? y >= r->y0 : y <= r->y1;
}

static void sh_cross(const rect *r, int k, double ax, double ay, double bx, double by, double *x, double *y)
{
    if (k < 2) {
        double e = k == 0 ? r->x0 : r->x1;
        *x = e;
        *y = ay + (e - ax) / (bx - ax) * (by - ay);
    } else {
        double e = k == 2 ? r->y0 : r->y1;
        *y = e;
        *x = ax + (e - ay) / (by - ay) * (bx - ax);
    }
}

static void sh_push(poly_fill *c, int k, double x, double y)
{
    if (k == 4) {
        fprintf(c->f, "%s%.2f,%.2f ", c->npts ? "" : c->head, x, y);
        c->npts++;
        return;
    }
    sh_stage *s = &c->st[k];
    if (!s->has_first) {
        s->has_first = 1;
        s->fx = x;
        s->fy = y;
    } else {
        int in_p = sh_inside(&c->r, k, s->px, s->py), in_c = sh_inside(&c->r, k, x, y);
        if (in_p != in_c) {
            double cx, cy;
            sh_cross(&c->r, k, s->px, s->py, x, y, &cx, &cy);
            sh_push(c, k + 1, cx, cy);
        }
    }
    if (sh_inside(&c->r, k, x, y)) sh_push(c, k + 1, x, y);
    s->px = x;
    s->py = y;
}

/* Closes the polygon: each stage's last edge back to its first point. */
static void sh_finish(poly_fill *c)
{
    for (int k = 0; k < 4; k++) {
        sh_stage *s = &c->st[k];
        if (!s->has_first) break;
        if (sh_inside(&c->r, k, s->px, s->py) != sh_inside(&c->r, k, s->fx, s->fy)) {
            double cx, cy;
            sh_cross(&c->r, k, s->px, s->py, s->fx, s->fy, &cx, &cy);
            sh_push(c, k + 1, cx, cy);
        }
    }
    if (c->npts) fputs("\"/>\n", c->f);
    memset(c->st, 0, sizeof c->st);
    c->npts = 0;
}

/* ------------------------------------------------------------------ lines */

static double sx(const qk_svg_series *s, int i) { return s->x ? s->x[i] : (double)i; }
static int yok(double y, int logy) { return finite(y) && (!logy || y > 0.0); }

/* Auto axis (logy < 0): log10 when every finite value is positive and they span more
 * than two decades, where a linear axis shows little but the largest values. */
static int want_logy(const qk_svg_plot *p, const qk_svg_series *s, int ns)
{
    if (p->logy >= 0) return p->logy > 0;
    double lo = INFINITY, hi = 0.0;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double ys[3] = {s[k].y[i], s[k].lo ? s[k].lo[i] : NAN, s[k].hi ? s[k].hi[i] : NAN};
            for (int j = 0; j < 3; j++) {
                if (!finite(ys[j])) continue;
                if (ys[j] <= 0.0) return 0;
                if (ys[j] < lo) lo = ys[j];
                if (ys[j] > hi) hi = ys[j];
            }
        }
    return hi > 100.0 * lo;
}

/* Data range of the series, then the plot's fixed ends, in axis units. */
static void lines_range(const qk_svg_plot *p, const qk_svg_series *s, int ns, frame *fr)
{
    int logy = fr->logy;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x = sx(&s[k], i);
            if (!finite(x)) continue;
            double ys[3] = {s[k].y[i], s[k].lo ? s[k].lo[i] : NAN, s[k].hi ? s[k].hi[i] : NAN};
            for (int j = 0; j < 3; j++) {
                if (!yok(ys[j], logy)) continue;
                double t = logy ? log10_(ys[j]) : ys[j];
                if (t < y0) y0 = t;
                if (t > y1) y1 = t;
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
            }
        }
    if (finite(p->xmin)) x0 = p->xmin;
    if (finite(p->xmax)) x1 = p->xmax;
    if (finite(p->ymin) && (!logy || p->ymin > 0)) y0 = logy ? log10_(p->ymin) : p->ymin;
    if (finite(p->ymax) && (!logy || p->ymax > 0)) y1 = logy ? log10_(p->ymax) : p->ymax;
    fix_range(&x0, &x1);
    fix_range(&y0, &y1);
    if (logy) { /* whole decades */
        y0 = finite(p->ymin) ? y0 : floor(y0);
        y1 = finite(p->ymax) ? y1 : ceil(y1);
        if (y0 == y1) y1 = y0 + 1;
    } else if (!finite(p->ymin) || !finite(p->ymax)) {
        double step = nice_step(y1 - y0, 6);
        if (!finite(p->ymin)) y0 = floor(y0 / step) * step;
        if (!finite(p->ymax)) y1 = ceil(y1 / step) * step;
    }
    fr->x0 = x0; fr->x1 = x1; fr->y0 = y0; fr->y1 = y1;
}

static const char *series_color(const qk_svg_series *s, int k) { return s->color ? s->color : qk_svg_color(k); }

/* Error bands, one polygon per run of finite points, clipped to the box. */
static void draw_band(FILE *f, const frame *fr, const qk_svg_series *s, int k)
{
    char head[128];
    snprintf(head, sizeof head, "<polygon fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"", series_color(s, k));
    /* a non-positive bound on a log axis: far below the box, so clipping puts it on the edge */
    double ybottom = fr->logy ? pow10i((int)floor(fr->y0)) * 1e-3 : NAN;
    poly_fill c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.r = plot_rect(fr);
    c.head = head;
    int i = 0;
    while (i < s->n) {
        int a = i;
        while (i < s->n && finite(sx(s, i)) && finite(s->lo[i]) && finite(s->hi[i])) i++;
        if (i > a) {
            for (int j = a; j < i; j++) sh_push(&c, 0, fx(fr, sx(s, j)), fy(fr, yok(s->hi[j], fr->logy) ? s->hi[j] : ybottom));
            for (int j = i - 1; j >= a; j--) sh_push(&c, 0, fx(fr, sx(s, j)), fy(fr, yok(s->lo[j], fr->logy) ? s->lo[j] : ybottom));
            sh_finish(&c);
        }
        if (i == a) i++;
    }
}

static void draw_line(FILE *f, const frame *fr, const qk_svg_series *s, int k)
{
    char head[160];
    snprintf(head, sizeof head, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", series_color(s, k),
             s->dashed ? " stroke-dasharray=\"6,4\"" : "");
    if (s->markers != QK_SVG_MARKERS_ONLY) {
        poly_clip c;
        memset(&c, 0, sizeof c);
        c.f = f;
        c.r = plot_rect(fr);
        c.head = head;
        for (int i = 0; i < s->n; i++) {
            double x = sx(s, i), y = s->y[i];
            if (!finite(x) || !yok(y, fr->logy)) poly_break(&c);
            else poly_point(&c, fx(fr, x), fy(fr, y));
        }
        poly_close(&c);
    }
    if (!s->markers) return;
    for (int i = 0; i < s->n; i++) {
        if (!finite(sx(s, i)) || !yok(s->y[i], fr->logy)) continue;
        double cx = fx(fr, sx(s, i)), cy = fy(fr, s->y[i]);
        if (cx >= fr->px0 && cx <= fr->px1 && cy >= fr->py0 && cy <= fr->py1)
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", cx, cy, series_color(s, k));
    }
}

/* How much of the drawn lines a legend box at r would hide. */
static double legend_cost(const frame *fr, const qk_svg_series *s, int ns, const rect *r)
{
    double cost = 0.0;
    for (int k = 0; k < ns; k++) {
        int have = 0;
        double ax = 0, ay = 0;
        for (int i = 0; i < s[k].n; i++) {
            double x = sx(&s[k], i), y = s[k].y[i];
            if (!finite(x) || !yok(y, fr->logy)) { have = 0; continue; }
            double bx = fx(fr, x), by = fy(fr, y);
            if (have && s[k].markers != QK_SVG_MARKERS_ONLY) cost += inside_length(r, ax, ay, bx, by);
            else if (bx >= r->x0 && bx <= r->x1 && by >= r->y0 && by <= r->y1) cost += 1.0;
            ax = bx;
            ay = by;
            have = 1;
        }
    }
    return cost;
}

/* Width of a legend entry's text at font size 12 (UTF-8 characters counted once). */
static double legend_text_px(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return 7.0 * n;
}

/* Where the legend goes: a corner of the plot (0..3, as qk_svg_plot.legend), under
 * the plot (LEGEND_BELOW: rows of entries, the figure grows by h), or nowhere (-1). */
#define LEGEND_BELOW 5
typedef struct {
    int where;
    double w, h; /* the box in a corner; below: h is the added height */
} legend_plan;

static double entry_px(const qk_svg_series *s) { return 34.0 + legend_text_px(s->label) + 14.0; }

/* Rows of entries under the plot, flowed left to right within the plot's width. */
static int below_rows(const frame *fr, const qk_svg_series *s, int ns)
{
    int rows = 0;
    double x = fr->px1;
    for (int k = 0; k < ns; k++) {
        if (!s[k].label) continue;
        if (x + entry_px(&s[k]) > fr->px1 && x > fr->px0) { rows++; x = fr->px0; }
        x += entry_px(&s[k]);
    }
    return rows;
}

static rect corner_rect(const frame *fr, int c, double w, double h)
{
    rect r;
    r.x0 = (c == 1 || c == 2) ? fr->px0 + 10 : fr->px1 - 10 - w;
    r.y0 = (c == 2 || c == 3) ? fr->py1 - 10 - h : fr->py0 + 10;
    r.x1 = r.x0 + w;
    r.y1 = r.y0 + h;
    return r;
}

static legend_plan plan_legend(const qk_svg_plot *p, const frame *fr, const qk_svg_series *s, int ns)
{
    legend_plan lp = {-1, 0.0, 0.0};
    int nl = 0;
    double tmax = 0.0;
    for (int k = 0; k < ns; k++)
        if (s[k].label) {
            nl++;
            if (legend_text_px(s[k].label) > tmax) tmax = legend_text_px(s[k].label);
        }
    if (!nl || p->legend < 0) return lp;
    lp.w = 40.0 + tmax;
    lp.h = 8.0 + 18.0 * nl;
    if (p->legend != QK_SVG_LEGEND_AUTO) {
        lp.where = p->legend <= 3 ? p->legend : 0;
        return lp;
    }
    /* auto: the first corner that hides nothing of the lines, else under the plot */
    static const int order[4] = {0, 1, 3, 2};
    for (int i = 0; i < 4; i++) {
        rect r = corner_rect(fr, order[i], lp.w, lp.h);
        rect near = {r.x0 - 4.0, r.y0 - 4.0, r.x1 + 4.0, r.y1 + 4.0}; /* markers and stroke width */
        if (r.x0 >= fr->px0 && r.y1 <= fr->py1 && legend_cost(fr, s, ns, &near) == 0.0) {
            lp.where = order[i];
            return lp;
        }
    }
    lp.where = LEGEND_BELOW;
    lp.h = 8.0 + 18.0 * below_rows(fr, s, ns);
    return lp;
}

static void legend_entry(FILE *f, double x, double y, const qk_svg_series *s, int k)
{
    if (s->markers == QK_SVG_MARKERS_ONLY)
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", x + 12, y - 4, series_color(s, k));
    else
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", x,
            y - 4, x + 24, y - 4, series_color(s, k), s->dashed ? " stroke-dasharray=\"6,4\"" : "");
    label(f, x + 29, y, "start", 12, NULL, s->label);
}

static void draw_legend(FILE *f, const frame *fr, const legend_plan *lp, const qk_svg_series *s, int ns)
{
    if (lp->where < 0) return;
    if (lp->where == LEGEND_BELOW) {
        double x = fr->px1, y = fr->Hh - 4.0;
        for (int k = 0; k < ns; k++) {
            if (!s[k].label) continue;
            if (x + entry_px(&s[k]) > fr->px1 && x > fr->px0) { x = fr->px0; y += 18.0; }
            legend_entry(f, x + 6, y, &s[k], k);
            x += entry_px(&s[k]);
        }
        return;
    }
    rect r = corner_rect(fr, lp->where, lp->w, lp->h);
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" "
               "fill-opacity=\"0.85\" stroke=\"#999999\"/>\n", r.x0, r.y0, lp->w, lp->h);
    int j = 0;
    for (int k = 0; k < ns; k++)
        if (s[k].label) legend_entry(f, r.x0 + 6, r.y0 + 15 + 18.0 * j++, &s[k], k);
}

int qk_svg_lines(FILE *f, const qk_svg_plot *p, const qk_svg_series *s, int ns)
{
    if (!f || !p || (ns > 0 && !s) || ns < 0) return -1;
    for (int k = 0; k < ns; k++)
        if (s[k].n < 0 || (s[k].n > 0 && !s[k].y) || (!s[k].lo != !s[k].hi)) return -1;
    frame fr;
    memset(&fr, 0, sizeof fr);
    fr.logy = want_logy(p, s, ns);
    lines_range(p, s, ns, &fr);
    frame_box(p, &fr, 0);
    legend_plan lp = plan_legend(p, &fr, s, ns);
    begin_svg(f, p, &fr, lp.where == LEGEND_BELOW ? lp.h : 0.0);
    int integer_x = 1;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++)
            if (sx(&s[k], i) != floor(sx(&s[k], i))) integer_x = 0;
    yticks(f, &fr);
    xticks(f, &fr, integer_x);
    for (int k = 0; k < ns; k++) /* bands first, under every line */
        if (s[k].lo) draw_band(f, &fr, &s[k], k);
    for (int k = 0; k < ns; k++) draw_line(f, &fr, &s[k], k);
    box(f, &fr);
    draw_legend(f, &fr, &lp, s, ns);
    return end_svg(f);
}

/* ------------------------------------------------------------------ heat map */

/* viridis at 9 stops, interpolated linearly */
static void colormap(double t, int *r, int *g, int *b)
{
    static const unsigned char stops[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                              {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                              {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
    if (!(t >= 0.0)) t = 0.0;
    if (t > 1.0) t = 1.0;
    double u = t * 8.0;
    int i = (int)u;
    if (i > 7) i = 7;
    double w = u - i;
    *r = (int)(stops[i][0] + w * (stops[i + 1][0] - stops[i][0]) + 0.5);
    *g = (int)(stops[i][1] + w * (stops[i + 1][1] - stops[i][1]) + 0.5);
    *b = (int)(stops[i][2] + w * (stops[i + 1][2] - stops[i][2]) + 0.5);
}

int qk_svg_heatmap(FILE *f, const qk_svg_plot *p, const double *v, int rows, int cols, double vmin, double vmax,
                   const char *cbar_label)
{
    if (!f || !p || !v || rows < 1 || cols < 1) return -1;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        if (finite(v[i])) {
            if (v[i] < lo) lo = v[i];
            if (v[i] > hi) hi = v[i];
        }
    if (finite(vmin)) lo = vmin;
    if (finite(vmax)) hi = vmax;
    fix_range(&lo, &hi);
    frame fr;
    memset(&fr, 0, sizeof fr);
    frame_box(p, &fr, 70);
    begin_svg(f, p, &fr, 0);
    fr.x0 = -0.5;
    fr.x1 = cols - 0.5;
    fr.y0 = -0.5;
    fr.y1 = rows - 0.5;
    double cw = (fr.px1 - fr.px0) / cols, ch = (fr.py1 - fr.py0) / rows;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double val = v[(size_t)i * cols + j];
            int r = 200, g = 200, b = 200;
            if (finite(val)) colormap((val - lo) / (hi - lo), &r, &g, &b);
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#%02x%02x%02x\"/>\n",
                    fr.px0 + j * cw, fr.py0 + i * ch, cw + 0.05, ch + 0.05, r, g, b);
        }
    box(f, &fr);
    xticks(f, &fr, 1);
    { /* row ticks, downwards */
        double step = nice_step((double)rows, 6);
        if (step < 1.0) step = 1.0;
        char buf[32];
        for (double t = 0; t <= rows - 1 + 1e-9; t += step) {
            double y = fr.py0 + (t + 0.5) * ch;
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", fr.px0 - 5, y,
                    fr.px0, y);
            fmt_num(buf, sizeof buf, t);
            label(f, fr.px0 - 8, y + 4, "end", 11, NULL, buf);
        }
    }
    /* colour bar */
    double bx = fr.px1 + 18, bw = 16, by0 = fr.py0, by1 = fr.py1;
    int steps = 64;
    for (int k = 0; k < steps; k++) {
        int r, g, b;
        colormap((k + 0.5) / steps, &r, &g, &b);
        double y = by1 - (k + 1) * (by1 - by0) / steps;
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#%02x%02x%02x\"/>\n", bx, y, bw,
                (by1 - by0) / steps + 0.05, r, g, b);
    }
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"black\"/>\n", bx,
            by0, bw, by1 - by0);
    double step = nice_step(hi - lo, 5);
    char buf[32];
    for (double t = ceil(lo / step) * step; ticks_ok(lo, hi, step) && t <= hi + 1e-9 * step; t += step) {
        double y = by1 - (t - lo) / (hi - lo) * (by1 - by0);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", bx + bw, y,
                bx + bw + 4, y);
        fmt_num(buf, sizeof buf, t);
        label(f, bx + bw + 6, y + 4, "start", 10, NULL, buf);
    }
    if (cbar_label) {
        char tr[96];
        double cx = fr.W - 8.0, cy = (by0 + by1) / 2;
        snprintf(tr, sizeof tr, " transform=\"rotate(-90 %.2f %.2f)\"", cx, cy);
        label(f, cx, cy, "middle", 12, tr, cbar_label);
    }
    return end_svg(f);
}

/* ------------------------------------------------------------------ bars */

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Draws every k-th category label, k the smallest that keeps the labels apart. */
static int label_every(const char *const *labels, int n, double w)
{
    double wmax = 0.0;
    char buf[32];
    for (int i = 0; i < n; i++) {
        const char *lab = labels ? labels[i] : NULL;
        if (!lab) { snprintf(buf, sizeof buf, "%d", i); lab = buf; }
        if (label_px(lab) > wmax) wmax = label_px(lab);
    }
    int k = (int)ceil((wmax + 6.0) / w);
    return k < 1 ? 1 : k;
}

/* counts: the values are counts (integer y ticks). */
static int bars(FILE *f, const qk_svg_plot *p, const char *const *labels, const double *values, const double *err,
                int n, const char *color, double xlo, double xhi, int counts)
{
    if (!f || !p || !values || n < 1) return -1;
    int numeric = xlo < xhi; /* histogram: bars over [xlo, xhi] */
    double y0 = 0.0, y1 = -INFINITY;
    for (int i = 0; i < n; i++) {
        double top = values[i] + (err && finite(err[i]) ? err[i] : 0.0);
        double bot = values[i] - (err && finite(err[i]) ? err[i] : 0.0);
        if (finite(top) && top > y1) y1 = top;
        if (finite(bot) && bot < y0) y0 = bot;
    }
    if (!finite(y1)) y1 = 1.0;
    if (finite(p->ymin)) y0 = p->ymin;
    if (finite(p->ymax)) y1 = p->ymax;
    fix_range(&y0, &y1);
    double step = nice_step(y1 - y0, 6);
    if (!finite(p->ymax)) y1 = ceil(y1 / step) * step;
    frame fr;
    memset(&fr, 0, sizeof fr);
    fr.y0 = y0;
    fr.y1 = y1;
    fr.yint = counts;
    fr.x0 = numeric ? xlo : -0.5;
    fr.x1 = numeric ? xhi : n - 0.5;
    frame_box(p, &fr, 0);
    begin_svg(f, p, &fr, 0);
    yticks(f, &fr);
    const char *col = color ? color : qk_svg_color(0);
    double w = (fr.px1 - fr.px0) / n, gap = numeric ? 0.0 : 0.15 * w;
    double base = fy(&fr, y0 < 0.0 && y1 > 0.0 ? 0.0 : y0);
    int every = numeric ? 1 : label_every(labels, n, w);
    for (int i = 0; i < n; i++) {
        if (!finite(values[i])) continue;
        /* a bar beyond a fixed axis end stops at the box */
        double top = clamp(fy(&fr, values[i]), fr.py0, fr.py1), b = clamp(base, fr.py0, fr.py1);
        double x = fr.px0 + i * w + gap;
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"%s/>\n", x,
                top < b ? top : b, w - 2 * gap, fabs(b - top), col,
                numeric ? " stroke=\"white\" stroke-width=\"0.5\"" : "");
        if (err && finite(err[i]) && err[i] > 0.0) {
            double cx = x + (w - 2 * gap) / 2, ya = clamp(fy(&fr, values[i] - err[i]), fr.py0, fr.py1),
                   yb = clamp(fy(&fr, values[i] + err[i]), fr.py0, fr.py1);
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", cx, ya, cx, yb);
        }
        if (!numeric) {
            char buf[32];
            const char *lab = labels ? labels[i] : NULL;
            if (!lab) { snprintf(buf, sizeof buf, "%d", i); lab = buf; }
            if (i % every == 0) label(f, fr.px0 + (i + 0.5) * w, fr.py1 + 16, "middle", 11, NULL, lab);
        }
    }
    if (numeric) xticks(f, &fr, 0);
    box(f, &fr);
    return end_svg(f);
}

int qk_svg_bars(FILE *f, const qk_svg_plot *p, const char *const *labels, const double *values, const double *err,
                int n, const char *color)
{
    return bars(f, p, labels, values, err, n, color, 0.0, 0.0, 0);
}

int qk_svg_histogram(FILE *f, const qk_svg_plot *p, const double *data, int n, int bins, double lo, double hi,
                     int normalize, const char *color)
{
    if (!f || !p || !data || n < 0 || bins < 1 || bins > 100000) return -1;
    if (!(lo < hi)) {
        lo = INFINITY;
        hi = -INFINITY;
        for (int i = 0; i < n; i++)
            if (finite(data[i])) {
                if (data[i] < lo) lo = data[i];
                if (data[i] > hi) hi = data[i];
            }
        fix_range(&lo, &hi);
    }
    double counts[1024], *c = counts;
    if (bins > 1024) return -1;
    memset(counts, 0, sizeof counts);
    long total = 0;
    for (int i = 0; i < n; i++) {
        if (!finite(data[i])) continue;
        double u = (data[i] - lo) / (hi - lo) * bins;
        int k = !(u >= 0.0) ? 0 : u >= bins ? bins - 1 : (int)u; /* NaN (inf/inf): the first bin */
        c[k] += 1.0;
        total++;
    }
    if (normalize && total)
        for (int k = 0; k < bins; k++) c[k] /= (double)total * (hi - lo) / bins;
    return bars(f, p, NULL, c, NULL, bins, color, lo, hi, !normalize);
}
