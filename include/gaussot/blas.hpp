// SPDX-License-Identifier: Apache-2.0
/// @file blas.hpp
/// Batched dense products and reductions: strided-batched GEMM, the symmetric product S B S,
/// traces and Frobenius inner products. None of these synchronizes the CUDA stream.
#pragma once

#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

enum class Transpose { no, yes };

/// c_i = alpha · op(a_i) · op(b_i) + beta · c_i for every batch item (cuBLAS
/// <t>gemmStridedBatched on CUDA). a and b may broadcast (stride 0); c may not, and must not
/// alias a or b. With beta == 0, c need not be initialised (NaN in c is ignored).
template <typename T>
void gemm(Context& ctx, Transpose transpose_a, Transpose transpose_b, T alpha,
          MatrixBatch<const T> a, MatrixBatch<const T> b, T beta, MatrixBatch<T> c);

/// out_i = S_iᵀ B_i S_i for symmetric B_i: the "A^½ B A^½" product with S = A^½ (symmetric), or
/// with any factor S of A = S Sᵀ, for which Sᵀ B S has the eigenvalues of A^½ B A^½. Returned
/// exactly symmetric (the two triangles are averaged). s and b may broadcast; out must not alias
/// them. All full d x d matrices (both triangles of s and b are read).
template <typename T>
void sandwich(Context& ctx, MatrixBatch<const T> s, MatrixBatch<const T> b, MatrixBatch<T> out);

/// out_i = tr(a_i) for square a_i; `out` is a batch of scalars (VectorBatch of size 1).
template <typename T>
void trace(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> out);

/// out_i = <a_i, b_i>_F = Σ_rc a_i(r,c) b_i(r,c) = tr(a_iᵀ b_i); a and b may broadcast.
template <typename T>
void frobenius_inner(Context& ctx, MatrixBatch<const T> a, MatrixBatch<const T> b,
                     VectorBatch<T> out);

}  // namespace gaussot
