// SPDX-License-Identifier: Apache-2.0
/// @file eigh.hpp
/// Batched symmetric eigendecomposition.
#pragma once

#include <cstdint>

#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// Which eigensolver runs. `automatic` picks by order and backend; the others force one, for
/// benchmarks and tests, and are refused (InvalidArgument) by a backend that lacks them.
enum class EighAlgorithm {
  /// CPU: Householder tridiagonalisation and implicit QR for d < 160, LAPACK ?syevd from there.
  /// CUDA: batched Jacobi (cusolverDn<t>syevjBatched) for d <= 32, cusolverDnXsyevBatched above.
  automatic,
  jacobi,              ///< CUDA only, d <= kJacobiMaxOrder: cusolverDn<t>syevjBatched, tolerance
                       ///< at machine precision
  divide_and_conquer,  ///< CPU: LAPACK ?syevd (OpenBLAS); CUDA: cusolverDnXsyevBatched
  implicit_qr,         ///< CPU only: tridiagonalisation and gaussot's batched implicit QR
};

/// The largest order EighAlgorithm::jacobi serves (cuSOLVER's syevjBatched); larger matrices with
/// that option are refused (InvalidArgument naming options.algorithm).
inline constexpr std::int64_t kJacobiMaxOrder = 32;

struct EighOptions {
  EighAlgorithm algorithm = EighAlgorithm::automatic;
};

/// Eigenvalues and eigenvectors of a batch of symmetric matrices: a_i = V_i diag(w_i) V_iᵀ.
///
/// @param ctx          CPU or CUDA context; every view must be in ctx.memory_space().
/// @param a            [in] count x (d x d); only the lower triangle is read. May broadcast.
/// @param eigenvalues  [out] count vectors of length d, in **decreasing** order (gaussot's
///                     convention everywhere; Eigen, LAPACK and cuSOLVER return increasing order).
/// @param eigenvectors [out] count x (d x d), column j is the unit eigenvector of eigenvalue j.
///                     Signs, and bases of repeated eigenvalues, are arbitrary. May not alias `a`.
/// Throws InvalidArgument for mismatched shapes or memory spaces and for non-finite entries in the
/// lower triangle (naming the first bad item), ConvergenceError if the solver fails on an item.
/// Synchronizes the CUDA stream (to read the solver's status).
template <typename T>
void eigh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> eigenvalues,
          MatrixBatch<T> eigenvectors, const EighOptions& options = {});

/// Eigenvalues only, in decreasing order (cheaper than eigh). Same contract as eigh().
template <typename T>
void eigvalsh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> eigenvalues,
              const EighOptions& options = {});

}  // namespace gaussot
