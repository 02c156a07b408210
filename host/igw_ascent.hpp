// SPDX-License-Identifier: Apache-2.0
// Private: the Riemannian ascent of the uncentered IGW problem in spectral coordinates
// (reference formulas-bures-igw-mmot.md §3.1, §3.5), implemented on the host in host/igw_ascent.cpp
// for both backends: its data is O(d) per pair and its steps are small dense products.
#pragma once

#include <cstdint>
#include <vector>

#include "gaussot/igw.hpp"

namespace gaussot::host {

/// One pair in spectral coordinates with n1 >= n2 (the caller swaps the sides otherwise):
/// α (n1) and β (n2) decreasing and >= 0, v1 (n1) and v2 (n2) the projected means.
struct StiefelProblem {
  const double* alpha = nullptr;
  const double* beta = nullptr;
  const double* v1 = nullptr;
  const double* v2 = nullptr;
  std::int64_t n1 = 0, n2 = 0;
};

/// The best point found: X = diag(sign v1) (I + U E Uᵀ)[:, :n2] diag(sign v2) (+1 where an entry
/// is 0), the sign-aligned upper-bound point when nothing was gained.
struct StiefelSolution {
  double gain = 0;  ///< Γ(X) − Γ([S; 0]) >= 0; IGW² <= upper − 2 gain
  int iterations = 0;
  double gradient_norm = 0;       ///< relative, at the returned point
  int subspace = 0;               ///< columns of U
  std::vector<double> alignment;  ///< X, n1 x n2 column-major, when asked for
};

/// Maximises Γ over St(n1, n2) from the sign-aligned point (and options.restarts random points).
StiefelSolution stiefel_ascent(const StiefelProblem& problem, const IgwOptions& options,
                               bool want_alignment);

/// stiefel_ascent for every problem, on `threads` OpenMP threads (0: OpenMP's default).
std::vector<StiefelSolution> stiefel_ascent_all(const std::vector<StiefelProblem>& problems,
                                                const IgwOptions& options, bool want_alignment,
                                                int threads);

}  // namespace gaussot::host
