// Dense kernels of the inference engine: register-tiled loops written for the vectoriser (OpenMP
// SIMD pragmas, -ffp-contract=fast), each compiled twice, for CPUs with AVX2 and FMA and for
// baseline x86-64, and chosen once at run time from the CPU's features. So one
// vigil-agent binary runs everywhere and uses the vector units where they exist, independent of
// a BLAS library's CPU detection (OpenBLAS falls back to its slowest kernels on CPUs it does not
// know by model, which is common in virtual machines).
//
// All matrices are row-major float32. Stateless and thread-safe.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

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

// W [rows x cols] transposed: [cols x rows] (the layout the kernels above take).
std::vector<float> Transpose(const float* w, size_t rows, size_t cols);

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// One LSTM step of h units from its pre-activations `gates` [4h] (input and recurrent
// contributions summed; PyTorch's gate order input, forget, cell, output): updates the cell state
// c [h] and writes the hidden state h_out [h].
inline void LstmCell(const float* gates, size_t h, float* c, float* h_out) {
  for (size_t j = 0; j < h; ++j) {
    const float cj = Sigmoid(gates[h + j]) * c[j] + Sigmoid(gates[j]) * std::tanh(gates[2 * h + j]);
    c[j] = cj;
    h_out[j] = Sigmoid(gates[3 * h + j]) * std::tanh(cj);
  }
}

}  // namespace vigil
