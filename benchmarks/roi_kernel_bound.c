/* The ROI background transform of pillow_grace/core/_truncation.py written in plain C,
 * to measure what native code could save (benchmarks/roi_kernel_bound.py builds and times
 * it). A bound for a design decision, not part of the package: the package stays Pillow
 * and numpy.
 *
 * One component, in place of the numpy steps: its samples (the means of fy x fx cells for
 * a subsampled component) rebuilt block by block from the DCT coefficients its group keeps,
 * each quantized with its step (0: dropped), rounded half to even, clipped, and written back
 * into every pixel of the cell. Only blocks whose group is >= 0 are written.
 *
 * Why this shape: the vertical transforms run over a strip of 8 rows at once (contiguous
 * arrays the compiler vectorises), the horizontal ones per block with the DCT's even/odd
 * symmetry (half the multiplies), and pixels are read and written through a stride so that
 * Pillow's interleaved 4-byte layout needs no split or merge. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static float D[8][8];

static void dct_matrix(void) {
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++) {
            double c = cos((2 * x + 1) * u * M_PI / 16) * sqrt(2.0 / 8);
            D[u][x] = (float)(u == 0 ? c / sqrt(2.0) : c);
        }
}

/* Round half to even in float arithmetic (exact for |v| < 2^22); vectorises, unlike rintf. */
static inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

static inline float clip255(float v) { return v < 0.f ? 0.f : (v > 255.f ? 255.f : v); }

static inline __attribute__((always_inline)) int truncate_strided(
    const uint8_t *src, uint8_t *dst, const ptrdiff_t ps, ptrdiff_t rs, const int fy, const int fx,
    int block_rows, int block_cols, const int8_t *group, const float *steps, int ku, int kv) {
    const int wc = block_cols * 8;
    float *buf = malloc(sizeof(float) * (size_t)wc * 26);
    if (!buf) return -1;
    float *S[8], *A[8], *C[8], *even = buf + 24 * (size_t)wc, *odd = buf + 25 * (size_t)wc;
    for (int i = 0; i < 8; i++) {
        S[i] = buf + (size_t)i * wc;
        A[i] = buf + (size_t)(8 + i) * wc;
        C[i] = buf + (size_t)(16 + i) * wc;
    }
    const float inv = 1.0f / (float)(fx * fy);
    for (int by = 0; by < block_rows; by++) {
        const int8_t *g = group + (ptrdiff_t)by * block_cols;
        int any = 0;
        for (int b = 0; b < block_cols && !any; b++) any = g[b] >= 0;
        if (!any) continue;
        const uint8_t *s0 = src + (ptrdiff_t)by * 8 * fy * rs;
        for (int y = 0; y < 8; y++) {
            if (fx == 1 && fy == 1) {
                const uint8_t *r = s0 + (ptrdiff_t)y * rs;
                for (int x = 0; x < wc; x++) S[y][x] = (float)r[x * ps];
            } else {
                for (int x = 0; x < wc; x++) {
                    int acc = 0;
                    for (int i = 0; i < fy; i++)
                        for (int j = 0; j < fx; j++) acc += s0[(ptrdiff_t)(y * fy + i) * rs + (x * fx + j) * ps];
                    S[y][x] = (float)acc * inv;
                }
            }
        }
        /* vertical forward: A[u][x] = sum_y D[u][y] S[y][x], by the even/odd halves */
        for (int u = 0; u < ku; u++) {
            const float d0 = D[u][0], d1 = D[u][1], d2 = D[u][2], d3 = D[u][3];
            float *a = A[u];
            if (u & 1)
                for (int x = 0; x < wc; x++)
                    a[x] = d0 * (S[0][x] - S[7][x]) + d1 * (S[1][x] - S[6][x]) + d2 * (S[2][x] - S[5][x]) +
                           d3 * (S[3][x] - S[4][x]);
            else
                for (int x = 0; x < wc; x++)
                    a[x] = d0 * (S[0][x] + S[7][x]) + d1 * (S[1][x] + S[6][x]) + d2 * (S[2][x] + S[5][x]) +
                           d3 * (S[3][x] + S[4][x]);
        }
        /* per block: horizontal forward, quantize, horizontal inverse into C[u] */
        for (int b = 0; b < block_cols; b++) {
            if (g[b] < 0) continue;
            const float *step = steps + 64 * g[b];
            for (int u = 0; u < ku; u++) {
                const float *a = A[u] + 8 * b;
                const float e[4] = {a[0] + a[7], a[1] + a[6], a[2] + a[5], a[3] + a[4]};
                const float o[4] = {a[0] - a[7], a[1] - a[6], a[2] - a[5], a[3] - a[4]};
                float q[8];
                for (int v = 0; v < kv; v++) {
                    const float *h = (v & 1) ? o : e;
                    float c = D[v][0] * h[0] + D[v][1] * h[1] + D[v][2] * h[2] + D[v][3] * h[3];
                    const int dc = u == 0 && v == 0;
                    if (dc) c -= 1024.f; /* JPEG's level shift by 128, on the DC only */
                    const float s = step[8 * u + v];
                    c = s > 0.f ? round_even(c / s) * s : 0.f;
                    q[v] = dc ? c + 1024.f : c;
                }
                float *out = C[u] + 8 * b;
                for (int x = 0; x < 4; x++) {
                    float ev = 0.f, od = 0.f;
                    for (int v = 0; v < kv; v += 2) ev += q[v] * D[v][x];
                    for (int v = 1; v < kv; v += 2) od += q[v] * D[v][x];
                    out[x] = ev + od;
                    out[7 - x] = ev - od;
                }
            }
        }
        /* vertical inverse (rows y and 7-y from the even and odd halves), rounded into S */
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < wc; x++) {
                even[x] = D[0][y] * C[0][x];
                odd[x] = 0.f;
            }
            for (int u = 2; u < ku; u += 2)
                for (int x = 0; x < wc; x++) even[x] += D[u][y] * C[u][x];
            for (int u = 1; u < ku; u += 2)
                for (int x = 0; x < wc; x++) odd[x] += D[u][y] * C[u][x];
            for (int x = 0; x < wc; x++) {
                S[y][x] = clip255(round_even(even[x] + odd[x]));
                S[7 - y][x] = clip255(round_even(even[x] - odd[x]));
            }
        }
        uint8_t *d0 = dst + (ptrdiff_t)by * 8 * fy * rs;
        for (int y = 0; y < 8; y++)
            for (int b = 0; b < block_cols; b++) {
                if (g[b] < 0) continue;
                for (int i = 0; i < fy; i++) {
                    uint8_t *r = d0 + (ptrdiff_t)(y * fy + i) * rs;
                    for (int x = 8 * b; x < 8 * b + 8; x++)
                        for (int j = 0; j < fx; j++) r[(x * fx + j) * ps] = (uint8_t)(int)S[y][x];
                }
            }
    }
    free(buf);
    return 0;
}

/* pixel_stride: 4 for Pillow's interleaved YCbCr, 1 for a grey plane. The common layouts
   get their own copies with the strides and cell sizes as constants (vectorised loads). */
int truncate_component(const uint8_t *src, uint8_t *dst, ptrdiff_t pixel_stride, ptrdiff_t row_stride,
                       int fy, int fx, int block_rows, int block_cols, const int8_t *group,
                       const float *steps, int ku, int kv) {
    static int ready = 0;
    if (!ready) {
        dct_matrix();
        ready = 1;
    }
#define CASE(PS, FY, FX)                                                                               \
    if (pixel_stride == PS && fy == FY && fx == FX)                                                    \
        return truncate_strided(src, dst, PS, row_stride, FY, FX, block_rows, block_cols, group, steps, ku, kv);
    CASE(4, 1, 1)
    CASE(4, 2, 2)
    CASE(4, 1, 2)
    CASE(1, 1, 1)
#undef CASE
    return truncate_strided(src, dst, pixel_stride, row_stride, fy, fx, block_rows, block_cols, group, steps,
                            ku, kv);
}
