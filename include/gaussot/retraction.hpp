// SPDX-License-Identifier: Apache-2.0
/// @file retraction.hpp
/// QR retraction onto the Stiefel manifold, batched.
#pragma once

#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// q_i = the Q factor of the thin QR decomposition x_i = Q R with diag(R) > 0: the unique
/// orthonormal basis of range(x_i) that Gram–Schmidt would give (the "sign fix" makes it unique and
/// continuous in x). Used as the retraction X ↦ qf(X) on the Stiefel manifold.
///
/// @param x [in] count x (m x r), m >= r, full column rank; may broadcast.
/// @param q [out] count x (m x r) with q_iᵀ q_i = I; may not alias x.
///
/// Methods: CPU, Householder QR (Eigen) and a column sign flip; CUDA, CholeskyQR2 (R = chol(XᵀX),
/// Q = X R⁻¹, twice) with batched cuBLAS/cuSOLVER calls, accurate for cond(x) up to about
/// ε^(-1/2) (1e8 in double, 3e3 in float), which retraction steps X = V + ξ from an orthonormal V
/// always satisfy.
/// Throws InvalidArgument for bad shapes or non-finite input, ConvergenceError naming the first
/// item whose columns are numerically dependent (CPU: |R_jj| <= 8·m·ε·‖x‖_F; CUDA: the Cholesky
/// factor L of xᵀx breaks down or its smallest pivot L_jj = |R_jj| is at most √ε times its
/// largest, a lower bound on cond(x) beyond CholeskyQR2's reach; scale-free, so orthonormal inputs
/// of any size pass). Synchronizes the CUDA stream.
template <typename T>
void qr_retraction(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> q);

}  // namespace gaussot
