/* qk_svg.h — a tiny SVG writer for the experiments' figures (report layer: stdio).
 *
 * Three kinds of figure, all on one axes box with ticks, labels and a title:
 *   qk_svg_lines      line plots of several series, optional error bands, markers,
 *                     dashes, a legend, linear, log10 or automatic y axis;
 *   qk_svg_heatmap    a rows×cols colour grid (row 0 at the top) with a colour bar;
 *   qk_svg_bars       bars over categories (labels) or, with qk_svg_histogram, over
 *                     the bins of a numeric range.
 * Coordinates are printed with a fixed number of decimals, so the same data give the
 * same file on every target. A figure has no element ids (lines and bands are clipped
 * to the plot box by the writer), so any number of figures can be inlined in one HTML
 * page; tick labels are spaced so that they do not overlap. Every function returns 0,
 * or -1 on a bad argument or a write error (the file may then be incomplete). */
#ifndef QK_SVG_H
#define QK_SVG_H

#include <stdio.h>

typedef struct {
    const char *title, *xlabel, *ylabel; /* NULL: none                                 */
    int width, height;                   /* pixels; <= 0: 640 × 420                     */
    int logy;                            /* 1: log10 y axis (values <= 0 are left out);
                                            0: linear; QK_SVG_LOGY_AUTO (qk_svg_lines):
                                            log10 when all values are positive and span
                                            more than two decades                      */
    double xmin, xmax, ymin, ymax;       /* axis range; NaN: from the data              */
    int legend;                          /* 0 top right, 1 top left, 2 bottom left,
                                            3 bottom right, -1 none, QK_SVG_LEGEND_AUTO
                                            the corner that hides the least of the lines */
    int inline_html;                     /* 1: no XML declaration (SVG inside HTML)    */
} qk_svg_plot;

#define QK_SVG_LOGY_AUTO (-1)
#define QK_SVG_LEGEND_AUTO 4

/* Defaults: 640 × 420, linear axes ranged from the data, legend top right. */
void qk_svg_plot_defaults(qk_svg_plot *p);
/* A figure for an HTML page: the defaults, inline_html = 1, the three labels and the
 * size in pixels; the caller then sets the axes and the legend. */
void qk_svg_plot_inline(qk_svg_plot *p, const char *title, const char *xlabel, const char *ylabel, int width,
                        int height);

/* Writes s as XML/HTML text: & < > " ' escaped (also safe inside a quoted attribute).
 * For every user-supplied string (file names, labels) put into a page. */
void qk_svg_escape(FILE *f, const char *s);

typedef struct {
    const char *label;     /* legend entry; NULL: not in the legend                       */
    int n;                 /* points                                                      */
    const double *x, *y;   /* x NULL: 0, 1, ..; a non-finite y breaks the line            */
    const double *lo, *hi; /* optional error band (both or neither), drawn under the line */
    const char *color;     /* CSS colour; NULL: the palette colour of the series index   */
    int dashed, markers;   /* markers: 0 none, 1 on the line, QK_SVG_MARKERS_ONLY (2) the
                              points without a line (a scatter plot)                      */
} qk_svg_series;
#define QK_SVG_MARKERS_ONLY 2

/* Palette colour i (ten colours, cycling). */
const char *qk_svg_color(int i);

int qk_svg_lines(FILE *f, const qk_svg_plot *p, const qk_svg_series *s, int ns);

/* v (rows, cols) row-major; non-finite cells are drawn grey. Colour scale (viridis-like)
 * from vmin to vmax (NaN: the data's range); the colour bar is labelled cbar_label. The
 * plot's x axis runs over columns 0..cols-1, the y axis over rows 0..rows-1 downwards;
 * xmin/xmax/ymin/ymax of p are ignored. */
int qk_svg_heatmap(FILE *f, const qk_svg_plot *p, const double *v, int rows, int cols, double vmin, double vmax,
                   const char *cbar_label);

/* n bars; labels[i] under bar i (labels may be NULL: 0, 1, ..); err (may be NULL) draws
 * ±err[i] whiskers. color NULL: palette 0. */
int qk_svg_bars(FILE *f, const qk_svg_plot *p, const char *const *labels, const double *values, const double *err,
                int n, const char *color);

/* Histogram of data (n values; non-finite ones skipped) over bins equal bins of
 * [lo, hi] (lo >= hi: the data's range); values outside are counted in the end bins.
 * normalize != 0: densities (integral 1) instead of counts. */
int qk_svg_histogram(FILE *f, const qk_svg_plot *p, const double *data, int n, int bins, double lo, double hi,
                     int normalize, const char *color);

#endif /* QK_SVG_H */
