#include "infer/kernels.h"

#include <algorithm>

namespace vigil {

#if defined(__x86_64__) && !defined(__clang__)
#define VIGIL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VIGIL_CLONES
#endif

VIGIL_CLONES
void Affine(const float* __restrict x, size_t rows, size_t in, size_t out,
            const float* __restrict w, const float* __restrict b, float* __restrict y) {
  size_t r = 0;
  // Four rows at a time: each weight row is read once for four dot products.
  for (; r + 4 <= rows; r += 4) {
    const float* x0 = x + r * in;
    const float* x1 = x0 + in;
    const float* x2 = x1 + in;
    const float* x3 = x2 + in;
    for (size_t o = 0; o < out; ++o) {
      const float* wo = w + o * in;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (size_t i = 0; i < in; ++i) {
        s0 += x0[i] * wo[i];
        s1 += x1[i] * wo[i];
        s2 += x2[i] * wo[i];
        s3 += x3[i] * wo[i];
      }
      const float bias = b ? b[o] : 0.0f;
      y[r * out + o] = s0 + bias;
      y[(r + 1) * out + o] = s1 + bias;
      y[(r + 2) * out + o] = s2 + bias;
      y[(r + 3) * out + o] = s3 + bias;
    }
  }
  for (; r < rows; ++r) {
    const float* xr = x + r * in;
    for (size_t o = 0; o < out; ++o) {
      const float* wo = w + o * in;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (size_t i = 0; i < in; ++i) s += xr[i] * wo[i];
      y[r * out + o] = s + (b ? b[o] : 0.0f);
    }
  }
}

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

}  // namespace vigil
