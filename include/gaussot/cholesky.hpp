// SPDX-License-Identifier: Apache-2.0
/// @file cholesky.hpp
/// Batched Cholesky factorisation.
#pragma once

#include <cstdint>

#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// l_i = the lower-triangular Cholesky factor of a_i = l_i l_iᵀ (upper triangle of l_i set to 0).
///
/// @param a [in] count x (d x d) symmetric positive definite; only the lower triangle is read.
/// @param l [out] count x (d x d); may be the same view as `a` (in place).
/// @return the first batch item that is not numerically positive definite (a pivot <= 0), or -1;
///         items before it are factorised, the others are unspecified. Unlike the other
///         functions this one reports the failure instead of throwing, because callers use it to
///         choose between the Cholesky path and an eigendecomposition.
/// Methods: CPU, Eigen's LLT for d < 160 and LAPACK ?potrf above; CUDA, cusolverDn<t>potrfBatched
/// for d <= 64 and cusolverDnXpotrf per item above. Synchronizes the CUDA stream.
template <typename T>
std::int64_t cholesky(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> l);

}  // namespace gaussot
