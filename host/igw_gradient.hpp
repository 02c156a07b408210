// SPDX-License-Identifier: Apache-2.0
// Private: the envelope gradient of the uncentered IGW² of one pair of Gaussians at a given
// coupling, on the host (the ascent that finds the coupling runs on the host too; igw.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace gaussot::host {

/// One pair: N(m1, S1) on R^d1 and N(m2, S2) on R^d2, and the cross-covariance K (d1 x d2) of
/// the coupling; every matrix column-major and packed, in double.
struct IgwPair {
  std::int64_t d1 = 0, d2 = 0;
  const double *m1 = nullptr, *s1 = nullptr, *m2 = nullptr, *s2 = nullptr, *k = nullptr;
};

/// The gradient of F = I1 + I2 − 2 I3 (formulas-bures-igw-mmot.md §3.1) with respect to (m1, S1,
/// m2, S2) at the fixed correlation C = S1^-½ K S2^-½ (igw.hpp states the formulas); written into
/// the four outputs (sizes d1, d1², d2, d2²). Returns 0 when done, 1 or 2 when S1 or S2 is not
/// positive definite (its smallest eigenvalue <= tolerance × its largest): nothing is written.
int igw_envelope_gradient(const IgwPair& pair, double tolerance, double* grad_m1, double* grad_s1,
                          double* grad_m2, double* grad_s2);

}  // namespace gaussot::host
