#include "infer/kernels.h"

#include <algorithm>

namespace vigil {

#if defined(__x86_64__) && !defined(__clang__)
#define VIGIL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VIGIL_CLONES
#endif

VIGIL_CLONES
void AffineRow(const float* __restrict x, size_t in, size_t out, const float* __restrict wt,
               const float* __restrict b, float* __restrict y) {
  if (b) {
    std::copy(b, b + out, y);
  } else {
    std::fill(y, y + out, 0.0f);
  }
  for (size_t i = 0; i < in; ++i) {
    const float xi = x[i];
    if (xi == 0) continue;
    const float* wi = wt + i * out;
#pragma omp simd
    for (size_t o = 0; o < out; ++o) y[o] += xi * wi[o];
  }
}

namespace {

// One tile of Affine: rows r0..r0+R-1, outputs o0..o0+C-1, accumulated in registers over the
// inputs from the transposed weight's rows (contiguous in the outputs).
template <size_t R, size_t C>
inline void Tile(const float* __restrict x, size_t in, size_t out, const float* __restrict wt,
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
    if (!any) continue;  // one-hot blocks and ReLU outputs are mostly zero
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

}  // namespace

VIGIL_CLONES
void Affine(const float* __restrict x, size_t rows, size_t in, size_t out,
            const float* __restrict wt, const float* __restrict b, float* __restrict y) {
  constexpr size_t R = 4, C = 16;
  size_t r = 0;
  for (; r + R <= rows; r += R) {
    size_t o = 0;
    for (; o + C <= out; o += C) Tile<R, C>(x, in, out, wt, b, y, r, o);
    for (; o < out; ++o) Tile<R, 1>(x, in, out, wt, b, y, r, o);
  }
  for (; r < rows; ++r) AffineRow(x + r * in, in, out, wt, b, y + r * out);
}

VIGIL_CLONES
void GemvT(const float* __restrict w, size_t out, size_t in, const float* __restrict g,
           float* __restrict g_in) {
  std::fill(g_in, g_in + in, 0.0f);
  for (size_t o = 0; o < out; ++o) {
    const float go = g[o];
    if (go == 0) continue;
    const float* wo = w + o * in;
#pragma omp simd
    for (size_t i = 0; i < in; ++i) g_in[i] += go * wo[i];
  }
}

const char* KernelIsa() {
#if defined(__x86_64__) && !defined(__clang__)
  return __builtin_cpu_supports("avx2") ? "avx2" : "baseline";
#else
  return "baseline";
#endif
}

}  // namespace vigil
