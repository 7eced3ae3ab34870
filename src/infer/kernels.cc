#include "infer/kernels.h"

#include <algorithm>

namespace vigil {
namespace {

#define VIGIL_INLINE [[gnu::always_inline]] inline

VIGIL_INLINE void AffineRowImpl(const float* __restrict x, size_t in, size_t out,
                                const float* __restrict wt, const float* __restrict b,
                                float* __restrict y) {
  if (b) {
    std::copy(b, b + out, y);
  } else {
    std::fill(y, y + out, 0.0f);
  }
  for (size_t i = 0; i < in; ++i) {
    const float xi = x[i];
    if (xi == 0) continue;  // one-hot blocks and ReLU outputs are mostly zero
    const float* wi = wt + i * out;
#pragma omp simd
    for (size_t o = 0; o < out; ++o) y[o] += xi * wi[o];
  }
}

// One tile: rows r0..r0+R-1, outputs o0..o0+C-1, accumulated in registers over the inputs from the
// transposed weight's rows (contiguous in the outputs).
template <size_t R, size_t C>
VIGIL_INLINE void Tile(const float* __restrict x, size_t in, size_t out, const float* __restrict wt,
                       const float* __restrict b, float* __restrict y, size_t r0, size_t o0) {
  float acc[R][C];
  for (size_t r = 0; r < R; ++r) {
    for (size_t c = 0; c < C; ++c) acc[r][c] = b ? b[o0 + c] : 0.0f;
  }
  for (size_t i = 0; i < in; ++i) {
    float xv[R];
    bool any = false;
    for (size_t r = 0; r < R; ++r) {
      xv[r] = x[(r0 + r) * in + i];
      any |= xv[r] != 0;
    }
    if (!any) continue;
    const float* w = wt + i * out + o0;
    for (size_t r = 0; r < R; ++r) {
#pragma omp simd
      for (size_t c = 0; c < C; ++c) acc[r][c] += xv[r] * w[c];
    }
  }
  for (size_t r = 0; r < R; ++r) {
    for (size_t c = 0; c < C; ++c) y[(r0 + r) * out + o0 + c] = acc[r][c];
  }
}

VIGIL_INLINE void AffineImpl(const float* __restrict x, size_t rows, size_t in, size_t out,
                             const float* __restrict wt, const float* __restrict b,
                             float* __restrict y) {
  constexpr size_t R = 6, C = 16;  // 12 vector accumulators with AVX2
  // Mostly-zero inputs (one-hot blocks, ReLU outputs) favour the row path, which skips every zero;
  // a tile skips an input only when it is zero in all of its rows.
  size_t zeros = 0;
  for (size_t k = 0; k < rows * in; ++k) zeros += x[k] == 0;
  if (2 * zeros > rows * in) {
    for (size_t r = 0; r < rows; ++r) AffineRowImpl(x + r * in, in, out, wt, b, y + r * out);
    return;
  }
  size_t r = 0;
  for (; r + R <= rows; r += R) {
    size_t o = 0;
    for (; o + C <= out; o += C) Tile<R, C>(x, in, out, wt, b, y, r, o);
    for (; o < out; ++o) Tile<R, 1>(x, in, out, wt, b, y, r, o);
  }
  for (; r < rows; ++r) AffineRowImpl(x + r * in, in, out, wt, b, y + r * out);
}

VIGIL_INLINE void GemvTImpl(const float* __restrict w, size_t out, size_t in,
                            const float* __restrict g, float* __restrict g_in) {
  std::fill(g_in, g_in + in, 0.0f);
  for (size_t o = 0; o < out; ++o) {
    const float go = g[o];
    if (go == 0) continue;
    const float* wo = w + o * in;
#pragma omp simd
    for (size_t i = 0; i < in; ++i) g_in[i] += go * wo[i];
  }
}

// Each kernel twice: for AVX2 + FMA, and for the baseline instruction set.
#if defined(__x86_64__)
#define VIGIL_AVX2 __attribute__((target("avx2,fma")))
bool HasAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#else
#define VIGIL_AVX2
bool HasAvx2() { return false; }
#endif

VIGIL_AVX2 void AffineAvx2(const float* x, size_t rows, size_t in, size_t out, const float* wt,
                           const float* b, float* y) {
  AffineImpl(x, rows, in, out, wt, b, y);
}
void AffineBase(const float* x, size_t rows, size_t in, size_t out, const float* wt, const float* b,
                float* y) {
  AffineImpl(x, rows, in, out, wt, b, y);
}
VIGIL_AVX2 void AffineRowAvx2(const float* x, size_t in, size_t out, const float* wt,
                              const float* b, float* y) {
  AffineRowImpl(x, in, out, wt, b, y);
}
void AffineRowBase(const float* x, size_t in, size_t out, const float* wt, const float* b,
                   float* y) {
  AffineRowImpl(x, in, out, wt, b, y);
}
VIGIL_AVX2 void GemvTAvx2(const float* w, size_t out, size_t in, const float* g, float* g_in) {
  GemvTImpl(w, out, in, g, g_in);
}
void GemvTBase(const float* w, size_t out, size_t in, const float* g, float* g_in) {
  GemvTImpl(w, out, in, g, g_in);
}

}  // namespace

void Affine(const float* x, size_t rows, size_t in, size_t out, const float* wt, const float* b,
            float* y) {
  (HasAvx2() ? AffineAvx2 : AffineBase)(x, rows, in, out, wt, b, y);
}

void AffineRow(const float* x, size_t in, size_t out, const float* wt, const float* b, float* y) {
  (HasAvx2() ? AffineRowAvx2 : AffineRowBase)(x, in, out, wt, b, y);
}

void GemvT(const float* w, size_t out, size_t in, const float* g, float* g_in) {
  (HasAvx2() ? GemvTAvx2 : GemvTBase)(w, out, in, g, g_in);
}

const char* KernelIsa() { return HasAvx2() ? "avx2+fma" : "baseline"; }

std::vector<float> Transpose(const float* w, size_t rows, size_t cols) {
  std::vector<float> t(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) t[c * rows + r] = w[r * cols + c];
  }
  return t;
}

}  // namespace vigil
