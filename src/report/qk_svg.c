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

static int finite(double v) { return v - v == 0.0; }
static double log10_(double v) { return qk_log(v) / qk_log(10.0); }

static double pow10i(int e)
{
    double r = 1.0;
    for (int i = 0; i < e; i++) r *= 10.0;
    for (int i = 0; i > e; i--) r /= 10.0;
    return r;
}

/* XML text with & < > " escaped. */
static void text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

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
    int logy, W, Hh;
} frame;

static double fx(const frame *fr, double x) { return fr->px0 + (x - fr->x0) / (fr->x1 - fr->x0) * (fr->px1 - fr->px0); }
static double fy(const frame *fr, double y)
{
    double t = fr->logy ? log10_(y) : y;
    return fr->py1 - (t - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0);
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
}

static void fmt_num(char *buf, size_t n, double v)
{
    if (fabs(v) < 1e-12) v = 0.0;
    snprintf(buf, n, "%g", v);
}

static void begin_svg(FILE *f, const qk_svg_plot *p, frame *fr, int right_extra)
{
    int W = p->width > 0 ? p->width : 640, H = p->height > 0 ? p->height : 420;
    fr->W = W;
    fr->Hh = H;
    fr->px0 = 72.0;
    fr->px1 = W - 20.0 - right_extra;
    fr->py0 = p->title ? 36.0 : 16.0;
    fr->py1 = H - 52.0;
    if (!p->inline_html) fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n"
               "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, H, W, H, W, H);
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

static void xticks(FILE *f, const frame *fr, int integer)
{
    double step = nice_step(fr->x1 - fr->x0, 8);
    if (integer && step < 1.0) step = 1.0;
    char buf[32];
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
    if (!fr->logy) {
        double step = nice_step(fr->y1 - fr->y0, 6);
        for (double t = ceil(fr->y0 / step) * step; t <= fr->y1 + 1e-9 * step; t += step)
            ytick(f, fr, t, fr->py1 - (t - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0), 1);
        return;
    }
    int e0 = (int)ceil(fr->y0 - 1e-9), e1 = (int)floor(fr->y1 + 1e-9);
    int every = (e1 - e0) / 8 + 1; /* at most ~8 decade labels */
    for (int e = e0; e <= e1; e++)
        if ((e - e0) % every == 0) ytick(f, fr, pow10i(e), fr->py1 - (e - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0), 1);
    if (e1 - e0 < 2) /* less than two decades: 2x and 5x too */
        for (int e = e0 - 1; e <= e1; e++)
            for (int m = 2; m <= 5; m += 3) {
                double t = log10_(m * pow10i(e));
                if (t >= fr->y0 && t <= fr->y1)
                    ytick(f, fr, m * pow10i(e), fr->py1 - (t - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0), 0);
            }
}

static int end_svg(FILE *f)
{
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ lines */

static double sx(const qk_svg_series *s, int i) { return s->x ? s->x[i] : (double)i; }
static int yok(double y, int logy) { return finite(y) && (!logy || y > 0.0); }

int qk_svg_lines(FILE *f, const qk_svg_plot *p, const qk_svg_series *s, int ns)
{
    if (!f || !p || (ns > 0 && !s) || ns < 0) return -1;
    for (int k = 0; k < ns; k++)
        if (s[k].n < 0 || (s[k].n > 0 && !s[k].y) || (!s[k].lo != !s[k].hi)) return -1;
    frame fr;
    memset(&fr, 0, sizeof fr);
    fr.logy = p->logy;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x = sx(&s[k], i);
            if (!finite(x)) continue;
            double ys[3] = {s[k].y[i], s[k].lo ? s[k].lo[i] : NAN, s[k].hi ? s[k].hi[i] : NAN};
            for (int j = 0; j < 3; j++) {
                if (!yok(ys[j], p->logy)) continue;
                double t = p->logy ? log10_(ys[j]) : ys[j];
                if (t < y0) y0 = t;
                if (t > y1) y1 = t;
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
            }
        }
    if (finite(p->xmin)) x0 = p->xmin;
    if (finite(p->xmax)) x1 = p->xmax;
    if (finite(p->ymin) && (!p->logy || p->ymin > 0)) y0 = p->logy ? log10_(p->ymin) : p->ymin;
    if (finite(p->ymax) && (!p->logy || p->ymax > 0)) y1 = p->logy ? log10_(p->ymax) : p->ymax;
    fix_range(&x0, &x1);
    fix_range(&y0, &y1);
    if (p->logy) { /* whole decades */
        y0 = finite(p->ymin) ? y0 : floor(y0);
        y1 = finite(p->ymax) ? y1 : ceil(y1);
        if (y0 == y1) y1 = y0 + 1;
    } else if (!finite(p->ymin) || !finite(p->ymax)) {
        double step = nice_step(y1 - y0, 6);
        if (!finite(p->ymin)) y0 = floor(y0 / step) * step;
        if (!finite(p->ymax)) y1 = ceil(y1 / step) * step;
    }
    fr.x0 = x0; fr.x1 = x1; fr.y0 = y0; fr.y1 = y1;
    begin_svg(f, p, &fr, 0);
    int integer_x = 1;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++)
            if (sx(&s[k], i) != floor(sx(&s[k], i))) integer_x = 0;
    yticks(f, &fr);
    xticks(f, &fr, integer_x);
    fprintf(f, "<clipPath id=\"plotarea\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/></clipPath>\n",
            fr.px0, fr.py0, fr.px1 - fr.px0, fr.py1 - fr.py0);
    fputs("<g clip-path=\"url(#plotarea)\">\n", f);
    double ybottom = p->logy ? pow10i((int)floor(fr.y0)) * 1e-3 : NAN;
    for (int k = 0; k < ns; k++) { /* bands first, under every line */
        if (!s[k].lo) continue;
        const char *col = s[k].color ? s[k].color : qk_svg_color(k);
        int i = 0;
        while (i < s[k].n) { /* one polygon per run of finite points */
            int a = i;
            while (i < s[k].n && finite(sx(&s[k], i)) && finite(s[k].lo[i]) && finite(s[k].hi[i])) i++;
            if (i - a >= 1) {
                fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"", col);
                for (int j = a; j < i; j++) fprintf(f, "%.2f,%.2f ", fx(&fr, sx(&s[k], j)), fy(&fr, yok(s[k].hi[j], p->logy) ? s[k].hi[j] : ybottom));
                for (int j = i - 1; j >= a; j--) fprintf(f, "%.2f,%.2f ", fx(&fr, sx(&s[k], j)), fy(&fr, yok(s[k].lo[j], p->logy) ? s[k].lo[j] : ybottom));
                fputs("\"/>\n", f);
            }
            if (i == a) i++;
        }
    }
    for (int k = 0; k < ns; k++) {
        const char *col = s[k].color ? s[k].color : qk_svg_color(k);
        int open = 0;
        for (int i = 0; i < s[k].n; i++) {
            double x = sx(&s[k], i), y = s[k].y[i];
            if (!finite(x) || !yok(y, p->logy)) {
                if (open) fputs("\"/>\n", f);
                open = 0;
                continue;
            }
            if (!open)
                fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col,
                        s[k].dashed ? " stroke-dasharray=\"6,4\"" : "");
            open = 1;
            fprintf(f, "%.2f,%.2f ", fx(&fr, x), fy(&fr, y));
        }
        if (open) fputs("\"/>\n", f);
        if (s[k].markers)
            for (int i = 0; i < s[k].n; i++)
                if (finite(sx(&s[k], i)) && yok(s[k].y[i], p->logy))
                    fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", fx(&fr, sx(&s[k], i)),
                            fy(&fr, s[k].y[i]), col);
    }
    fputs("</g>\n", f);
    box(f, &fr);
    if (p->legend >= 0) {
        int nl = 0;
        size_t wmax = 0;
        for (int k = 0; k < ns; k++)
            if (s[k].label) {
                nl++;
                if (strlen(s[k].label) > wmax) wmax = strlen(s[k].label);
            }
        if (nl) {
            double w = 40.0 + 7.0 * (double)wmax, h = 8.0 + 18.0 * nl;
            double lx = (p->legend == 1 || p->legend == 2) ? fr.px0 + 10 : fr.px1 - 10 - w;
            double ly = (p->legend == 2 || p->legend == 3) ? fr.py1 - 10 - h : fr.py0 + 10;
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" "
                       "fill-opacity=\"0.85\" stroke=\"#999999\"/>\n", lx, ly, w, h);
            int j = 0;
            for (int k = 0; k < ns; k++) {
                if (!s[k].label) continue;
                const char *col = s[k].color ? s[k].color : qk_svg_color(k);
                double yy = ly + 15 + 18.0 * j++;
                fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                        lx + 6, yy - 4, lx + 30, yy - 4, col, s[k].dashed ? " stroke-dasharray=\"6,4\"" : "");
                label(f, lx + 35, yy, "start", 12, NULL, s[k].label);
            }
        }
    }
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
    begin_svg(f, p, &fr, 70);
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
    for (double t = ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) {
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

static int bars(FILE *f, const qk_svg_plot *p, const char *const *labels, const double *values, const double *err,
                int n, const char *color, double xlo, double xhi)
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
    fr.x0 = numeric ? xlo : -0.5;
    fr.x1 = numeric ? xhi : n - 0.5;
    begin_svg(f, p, &fr, 0);
    yticks(f, &fr);
    const char *col = color ? color : qk_svg_color(0);
    double w = (fr.px1 - fr.px0) / n, gap = numeric ? 0.0 : 0.15 * w;
    double base = fy(&fr, y0 < 0.0 && y1 > 0.0 ? 0.0 : y0);
    for (int i = 0; i < n; i++) {
        if (!finite(values[i])) continue;
        double top = fy(&fr, values[i]);
        double x = fr.px0 + i * w + gap;
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"%s/>\n", x,
                top < base ? top : base, w - 2 * gap, fabs(base - top), col,
                numeric ? " stroke=\"white\" stroke-width=\"0.5\"" : "");
        if (err && finite(err[i]) && err[i] > 0.0) {
            double cx = x + (w - 2 * gap) / 2, ya = fy(&fr, values[i] - err[i]), yb = fy(&fr, values[i] + err[i]);
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>\n", cx, ya, cx, yb);
        }
        if (!numeric) {
            char buf[32];
            const char *lab = labels ? labels[i] : NULL;
            if (!lab) { snprintf(buf, sizeof buf, "%d", i); lab = buf; }
            if (n <= 40 || i % ((n + 39) / 40) == 0) label(f, fr.px0 + (i + 0.5) * w, fr.py1 + 16, "middle", 11, NULL, lab);
        }
    }
    if (numeric) xticks(f, &fr, 0);
    box(f, &fr);
    return end_svg(f);
}

int qk_svg_bars(FILE *f, const qk_svg_plot *p, const char *const *labels, const double *values, const double *err,
                int n, const char *color)
{
    return bars(f, p, labels, values, err, n, color, 0.0, 0.0);
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
        int k = u < 0.0 ? 0 : u >= bins ? bins - 1 : (int)u;
        c[k] += 1.0;
        total++;
    }
    if (normalize && total)
        for (int k = 0; k < bins; k++) c[k] /= (double)total * (hi - lo) / bins;
    return bars(f, p, NULL, c, NULL, bins, color, lo, hi);
}
