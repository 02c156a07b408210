// SPDX-License-Identifier: Apache-2.0
// Private: small numerical rules of the primitives (backend.hpp) written once for the CPU backend
// (g++) and the CUDA kernels (nvcc), so that both backends agree on them and the host tests check
// the device's rule without a GPU (tests/test_shared_rules.cpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "gaussot/views.hpp"

namespace gaussot::shared_rule {

/// max(value, floor) that keeps NaN: combine()'s floor (backend.hpp, LinearCombination). A NaN
/// must reach the algorithms' result checks (ArgumentChecker::result_in_range: W2², the Fréchet
/// distance), where `value > floor ? value : floor` would turn it into the floor.
template <typename T>
GAUSSOT_HOST_DEVICE inline T at_least(T value, T floor) {
  return value < floor ? floor : value;
}

/// The dependent-columns test of the CUDA QR retraction (CholeskyQR2, retraction.hpp) on the
/// Cholesky factor L of XᵀX (lower triangle, column-major with leading dimension ld): the pivots
/// L_jj = |R_jj| must all be above √ε times the largest. max/min L_jj is a lower bound on cond(X),
/// and CholeskyQR2 is accurate up to cond(X) ≈ ε^(-1/2). Scale-free: an orthonormal X (L = I)
/// passes at any size (a test against ‖X‖_F·√(m·ε) failed those from m·r ≈ 1e6 in float).
/// NaN pivots fail.
template <typename T>
GAUSSOT_HOST_DEVICE inline bool cholesky_qr_pivots_ok(const T* l, std::int64_t r, std::int64_t ld) {
  using std::sqrt;
  T smallest = l[0], largest = l[0];
  for (std::int64_t j = 1; j < r; ++j) {
    const T pivot = l[j + j * ld];
    smallest = pivot < smallest ? pivot : smallest;
    largest = pivot > largest ? pivot : largest;
    if (pivot != pivot) return false;
  }
  return smallest > sqrt(std::numeric_limits<T>::epsilon()) * largest;
}

/// A running log-sum-exp of terms e^v, with the cost-weighted sum Σ e^v·c alongside, kept relative
/// to the largest exponent seen so far (one pass; the CUDA Sinkhorn's lanes, merged by shuffles).
/// Terms with v = −∞ contribute 0 and are skipped: e^(−∞ − (−∞)) would be NaN. With no finite
/// term, largest stays −∞ and sum 0, so log_sum_exp() = −∞ (not NaN).
template <typename T>
struct OnlineLogSumExp {
  T largest = -std::numeric_limits<T>::infinity();
  T sum = 0;
  T weighted = 0;

  template <bool Weighted>
  GAUSSOT_HOST_DEVICE void add(T v, T c) {
    using std::exp;
    if (v == -std::numeric_limits<T>::infinity()) return;
    if (v > largest) {
      const T shrink = exp(largest - v);  // 0 for the first term
      sum = sum * shrink + T(1);
      if (Weighted) weighted = weighted * shrink + c;
      largest = v;
    } else {
      const T e = exp(v - largest);
      sum += e;
      if (Weighted) weighted += e * c;
    }
  }

  /// Adds another running state (e.g. another lane's).
  GAUSSOT_HOST_DEVICE void merge(T o_largest, T o_sum, T o_weighted) {
    using std::exp;
    const T top = largest > o_largest ? largest : o_largest;
    if (top == -std::numeric_limits<T>::infinity()) return;  // both empty
    const T a = exp(largest - top), b = exp(o_largest - top);
    sum = sum * a + o_sum * b;
    weighted = weighted * a + o_weighted * b;
    largest = top;
  }

  GAUSSOT_HOST_DEVICE T log_sum_exp() const {
    using std::log;
    return largest + log(sum);
  }
};

}  // namespace gaussot::shared_rule
