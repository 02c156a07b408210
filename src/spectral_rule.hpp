// SPDX-License-Identifier: Apache-2.0
// Private: the clamping rule and the scalar functions of spectral.hpp, written once for the CPU
// backend (g++) and the CUDA kernels (nvcc).
#pragma once

#include <cmath>

#include "gaussot/spectral.hpp"

namespace gaussot::spectral_rule {

enum Verdict : int { ok = 0, not_psd = 1, not_positive_definite = 2 };

/// The clamping rule for eigenvalue w of an item whose largest |eigenvalue| is `scale`.
template <typename T>
GAUSSOT_HOST_DEVICE inline Verdict check(T w, T scale, T tolerance, bool singular_at_zero) {
  const T threshold = tolerance * scale;
  if (w < -threshold) return not_psd;
  if (singular_at_zero && w <= threshold) return not_positive_definite;
  return ok;
}

/// f(max(w, 0)) for an eigenvalue w that passed check().
template <typename T>
GAUSSOT_HOST_DEVICE inline T apply(SpectralFunction::Kind kind, T exponent, T w) {
  using std::log;
  using std::pow;
  using std::sqrt;
  const T clamped = w > T(0) ? w : T(0);
  switch (kind) {
    case SpectralFunction::Kind::sqrt:
      return sqrt(clamped);
    case SpectralFunction::Kind::inv_sqrt:
      return T(1) / sqrt(clamped);
    case SpectralFunction::Kind::log:
      return log(clamped);
    case SpectralFunction::Kind::power:
      return pow(clamped, exponent);
  }
  return clamped;
}

/// True when f(w) >= 0 for every admissible w, so f(A) = B Bᵀ with B = V diag(sqrt(f(w))).
inline bool nonnegative(SpectralFunction f) { return f.kind != SpectralFunction::Kind::log; }

}  // namespace gaussot::spectral_rule
