// SPDX-License-Identifier: Apache-2.0
// Private: the clamping rule and the scalar functions of spectral.hpp, written once for the CPU
// backend (g++) and the CUDA kernels (nvcc).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

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

/// The rounding level of computed eigenvalues of an order-d item of scale s: √d·ε·s (the typical
/// error of a backward-stable eigensolver; d·ε·s, the worst-case bound, would discard real
/// eigenvalues, e.g. 2.5e-13 of scale 8 at d = 2048, and bias a FID by 1e-9 relative). Eigenvalues
/// below it cannot be told from 0 and are set to 0 before f is applied, which keeps f(w) ≈ √w of
/// a rank-deficient matrix from collecting √(ε·s) of noise per zero eigenvalue.
template <typename T>
GAUSSOT_HOST_DEVICE inline T noise_level(std::int64_t d, T scale) {
  using std::sqrt;
  return sqrt(T(d)) * std::numeric_limits<T>::epsilon() * scale;
}

/// f(w) for an eigenvalue w that passed check(), with w <= noise (noise_level) read as 0.
template <typename T>
GAUSSOT_HOST_DEVICE inline T apply(SpectralFunction::Kind kind, T parameter, T w, T noise) {
  using std::log;
  using std::pow;
  using std::sqrt;
  const T clamped = w > noise ? w : T(0);
  switch (kind) {
    case SpectralFunction::Kind::sqrt:
      return sqrt(clamped);
    case SpectralFunction::Kind::inv_sqrt:
      return T(1) / sqrt(clamped);
    case SpectralFunction::Kind::log:
      return log(clamped);
    case SpectralFunction::Kind::power:
      return pow(clamped, parameter);
    case SpectralFunction::Kind::entropic:  // 2/(√(4w + σ⁴) + σ²), parameter σ²
      return T(2) / (sqrt(T(4) * clamped + parameter * parameter) + parameter);
    case SpectralFunction::Kind::shrink:  // w/(w + λ), parameter λ
      return clamped / (clamped + parameter);
  }
  return clamped;
}

/// The power of two g with g²·s_a·s_b ≈ 1, for a product F_aᵀ S_b F_a of PSD matrices with
/// traces s_a, s_b (F_a a factor of S_a): scaling F_a by g gives the product the magnitude 1,
/// exactly (a power of two), whatever the inputs' scale. 1 when s_a or s_b is 0 (the product is
/// 0); a trace beyond the range of T counts as its largest value; g and 1/g stay normal in T.
/// Host code (the algorithms in src/), not for kernels.
template <typename T>
inline double normalising_factor(double s_a, double s_b) {
  using limits = std::numeric_limits<T>;
  const double largest = double(limits::max());
  s_a = s_a < largest ? s_a : largest;
  s_b = s_b < largest ? s_b : largest;
  if (!(s_a > 0 && s_b > 0)) return 1.0;
  const int max_exponent = limits::max_exponent - 4;
  long e = std::lround(-(std::log2(s_a) + std::log2(s_b)) / 2);
  e = e < -max_exponent ? -max_exponent : (e > max_exponent ? max_exponent : e);
  return std::ldexp(1.0, int(e));
}

/// True when f(w) >= 0 for every admissible w, so f(A) = B Bᵀ with B = V diag(sqrt(f(w))).
inline bool nonnegative(SpectralFunction f) { return f.kind != SpectralFunction::Kind::log; }

}  // namespace gaussot::spectral_rule
