// Dense kernels of the inference engine: register-tiled loops written for the vectoriser (OpenMP
// SIMD pragmas, -ffp-contract=fast), each compiled twice, for CPUs with AVX2 and FMA and for
// baseline x86-64, and chosen once at run time from the CPU's features. So one
// vigil-agent binary runs everywhere and uses the vector units where they exist, independent of
// a BLAS library's CPU detection (OpenBLAS falls back to its slowest kernels on CPUs it does not
// know by model, which is common in virtual machines).
//
// All matrices are row-major float32. Stateless and thread-safe.
#pragma once

#include <cstddef>

namespace vigil {

// y[rows x out] = x[rows x in] Wt + b with the transposed weight Wt [in x out] (W^T of a layer's
// [out x in] weight); b may be null (no bias). Register tiles of 4 rows x 16 outputs.
void Affine(const float* x, size_t rows, size_t in, size_t out, const float* wt, const float* b,
            float* y);
// y[out] = x[in] Wt + b for one row, with the transposed weight Wt [in x out]: a sum of weight rows
// scaled by the inputs, skipping zero inputs (one-hot blocks and ReLU outputs are mostly zero).
void AffineRow(const float* x, size_t in, size_t out, const float* wt, const float* b, float* y);
// g_in[in] = W^T g, W [out x in] (the backward pass of a dense layer).
void GemvT(const float* w, size_t out, size_t in, const float* g, float* g_in);
// The kernel set this CPU runs: "avx2+fma" or "baseline".
const char* KernelIsa();

}  // namespace vigil
