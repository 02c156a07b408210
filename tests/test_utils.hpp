// SPDX-License-Identifier: Apache-2.0
// Test helpers: host batches with optional padding, seeded random matrices with known spectra, and
// reference arithmetic in long double that shares no code with either backend.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gaussot/gaussot.hpp"

namespace gaussot::test {

using Dense = std::vector<long double>;  // a column-major d x d (or m x n) reference matrix

/// A host batch of `count` rows x cols matrices, padded by `ld_pad` rows and `stride_pad`
/// elements between items; padding is filled with NaN so that any read of it shows.
template <typename T>
struct HostBatch {
  std::vector<T> storage;
  MatrixBatch<T> view;

  HostBatch(std::int64_t rows, std::int64_t cols, std::int64_t count, std::int64_t ld_pad = 0,
            std::int64_t stride_pad = 0) {
    const std::int64_t ld = std::max<std::int64_t>(rows + ld_pad, 1);
    const std::int64_t stride = ld * cols + stride_pad;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(stride * count, 1)),
                   std::numeric_limits<T>::quiet_NaN());
    view = MatrixBatch<T>(storage.data(), rows, cols, ld, stride, count, MemorySpace::host);
    for (std::int64_t i = 0; i < count; ++i)
      for (std::int64_t c = 0; c < cols; ++c)
        for (std::int64_t r = 0; r < rows; ++r) view.at(i, r, c) = T(0);
  }
  HostBatch(const HostBatch& other) : storage(other.storage), view(other.view) {
    view.data = storage.data();  // the copy views its own storage
  }
  HostBatch& operator=(const HostBatch&) = delete;
  MatrixBatch<const T> cview() const { return view; }
  /// Item i as a long double reference matrix.
  Dense item(std::int64_t i) const {
    Dense m(static_cast<std::size_t>(view.rows * view.cols));
    for (std::int64_t c = 0; c < view.cols; ++c)
      for (std::int64_t r = 0; r < view.rows; ++r) m[r + c * view.rows] = view.at(i, r, c);
    return m;
  }
  void set_item(std::int64_t i, const Dense& m) {
    for (std::int64_t c = 0; c < view.cols; ++c)
      for (std::int64_t r = 0; r < view.rows; ++r) view.at(i, r, c) = T(m[r + c * view.rows]);
  }
};

/// A host batch of vectors of length `size` with `pad` NaN-filled elements between items.
template <typename T>
struct HostVectors {
  std::vector<T> storage;
  VectorBatch<T> view;
  HostVectors(std::int64_t size, std::int64_t count, std::int64_t pad = 0) {
    const std::int64_t stride = size + pad;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(stride * count, 1)),
                   std::numeric_limits<T>::quiet_NaN());
    view = VectorBatch<T>(storage.data(), size, stride, count, MemorySpace::host);
  }
  HostVectors(const HostVectors& other) : storage(other.storage), view(other.view) {
    view.data = storage.data();
  }
  HostVectors& operator=(const HostVectors&) = delete;
};

inline Dense multiply(const Dense& a, const Dense& b, std::int64_t m, std::int64_t k,
                      std::int64_t n) {
  Dense c(static_cast<std::size_t>(m * n), 0.0L);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t l = 0; l < k; ++l)
      for (std::int64_t i = 0; i < m; ++i) c[i + j * m] += a[i + l * m] * b[l + j * k];
  return c;
}

inline Dense transpose(const Dense& a, std::int64_t rows, std::int64_t cols) {
  Dense t(a.size());
  for (std::int64_t c = 0; c < cols; ++c)
    for (std::int64_t r = 0; r < rows; ++r) t[c + r * cols] = a[r + c * rows];
  return t;
}

inline long double frobenius(const Dense& a) {
  long double s = 0;
  for (long double x : a) s += x * x;
  return std::sqrt(s);
}

inline long double frobenius_distance(const Dense& a, const Dense& b) {
  long double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

/// The largest difference between the analytic gradients grad_x, grad_y of f(x, y) (entry by
/// entry) and central differences of f with step h, relative to the largest central difference.
template <typename F>
long double relative_gradient_error(const Dense& x, const Dense& y,
                                    const std::vector<double>& grad_x,
                                    const std::vector<double>& grad_y, F f, long double h) {
  long double worst = 0, largest = 0;
  for (const bool first : {true, false}) {
    const Dense& base = first ? x : y;
    for (std::size_t e = 0; e < base.size(); ++e) {
      Dense plus = base, minus = base;
      plus[e] += h;
      minus[e] -= h;
      const long double numeric =
          (first ? f(plus, y) - f(minus, y) : f(x, plus) - f(x, minus)) / (2 * h);
      worst = std::max(worst, std::abs((first ? grad_x : grad_y)[e] - numeric));
      largest = std::max(largest, std::abs(numeric));
    }
  }
  return worst / largest;
}

inline Dense identity(std::int64_t d) {
  Dense m(static_cast<std::size_t>(d * d), 0.0L);
  for (std::int64_t i = 0; i < d; ++i) m[i + i * d] = 1;
  return m;
}

/// Gram–Schmidt (modified, twice) on the columns of the column-major m x r matrix x, in long
/// double: the Q of the thin QR with a positive diagonal of R.
inline Dense gram_schmidt(Dense x, std::int64_t m, std::int64_t r) {
  for (std::int64_t j = 0; j < r; ++j) {
    for (int pass = 0; pass < 2; ++pass) {
      for (std::int64_t k = 0; k < j; ++k) {
        long double dot = 0;
        for (std::int64_t i = 0; i < m; ++i) dot += x[i + k * m] * x[i + j * m];
        for (std::int64_t i = 0; i < m; ++i) x[i + j * m] -= dot * x[i + k * m];
      }
    }
    long double norm = 0;
    for (std::int64_t i = 0; i < m; ++i) norm += x[i + j * m] * x[i + j * m];
    norm = std::sqrt(norm);
    for (std::int64_t i = 0; i < m; ++i) x[i + j * m] /= norm;
  }
  return x;
}

/// A Haar-random orthogonal matrix: the Q factor of a Gaussian matrix.
inline Dense random_orthogonal(std::int64_t d, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  Dense g(static_cast<std::size_t>(d * d));
  for (auto& x : g) x = normal(rng);
  return gram_schmidt(std::move(g), d, d);
}

/// Fills every element of a host batch with standard normal numbers.
template <typename T>
void fill_gaussian(HostBatch<T>& m, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  for (std::int64_t i = 0; i < m.view.count; ++i)
    for (std::int64_t c = 0; c < m.view.cols; ++c)
      for (std::int64_t r = 0; r < m.view.rows; ++r) m.view.at(i, r, c) = T(normal(rng));
}

/// Expects `call` to throw InvalidArgument whose message contains `needle`.
template <typename Call>
void expect_invalid(Call&& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning " << needle;
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

/// Q diag(f(w)) Qᵀ in long double.
template <typename F>
Dense spectral_matrix(const Dense& q, const std::vector<long double>& w, std::int64_t d, F f) {
  Dense m(static_cast<std::size_t>(d * d), 0.0L);
  for (std::int64_t k = 0; k < d; ++k) {
    const long double fk = f(w[k]);
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r < d; ++r) m[r + c * d] += q[r + k * d] * fk * q[c + k * d];
  }
  return m;
}

inline Dense with_spectrum(const Dense& q, const std::vector<long double>& w, std::int64_t d) {
  return spectral_matrix(q, w, d, [](long double x) { return x; });
}

/// The lower Cholesky factor (column-major) of a symmetric positive definite matrix, in long
/// double.
inline Dense cholesky_reference(const Dense& a, std::int64_t n) {
  Dense l(static_cast<std::size_t>(n * n), 0.0L);
  for (std::int64_t j = 0; j < n; ++j) {
    long double s = a[j + j * n];
    for (std::int64_t k = 0; k < j; ++k) s -= l[j + k * n] * l[j + k * n];
    l[j + j * n] = std::sqrt(s);
    for (std::int64_t i = j + 1; i < n; ++i) {
      long double t = a[i + j * n];
      for (std::int64_t k = 0; k < j; ++k) t -= l[i + k * n] * l[j + k * n];
      l[i + j * n] = t / l[j + j * n];
    }
  }
  return l;
}

/// Eigenvalues spread geometrically from `largest` down to largest / condition.
inline std::vector<long double> geometric_spectrum(std::int64_t d, long double largest,
                                                   long double condition) {
  std::vector<long double> w(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < d; ++i) {
    const long double t = d == 1 ? 0.0L : static_cast<long double>(i) / (d - 1);
    w[i] = largest * std::pow(condition, -t);
  }
  return w;
}

template <typename T>
constexpr long double eps() {
  return static_cast<long double>(std::numeric_limits<T>::epsilon());
}

/// Eigenvalues of a small symmetric matrix (column-major d x d) by cyclic Jacobi rotations in
/// long double: a reference independent of LAPACK and of gaussot's eigensolvers. Unordered.
inline std::vector<long double> symmetric_eigenvalues(Dense a, std::int64_t d) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    long double off = 0;
    for (std::int64_t p = 0; p < d; ++p)
      for (std::int64_t q = p + 1; q < d; ++q) off += a[p + q * d] * a[p + q * d];
    if (off < 1e-36L) break;
    for (std::int64_t p = 0; p < d; ++p) {
      for (std::int64_t q = p + 1; q < d; ++q) {
        const long double apq = a[p + q * d];
        if (apq == 0) continue;
        // The rotation that zeroes a_pq (Golub & Van Loan, Algorithm 8.5.1).
        const long double tau = (a[q + q * d] - a[p + p * d]) / (2 * apq);
        const long double t = (tau >= 0 ? 1 : -1) / (std::fabs(tau) + std::sqrt(1 + tau * tau));
        const long double c = 1 / std::sqrt(1 + t * t), s = t * c;
        for (std::int64_t k = 0; k < d; ++k) {  // columns p, q
          const long double akp = a[k + p * d], akq = a[k + q * d];
          a[k + p * d] = c * akp - s * akq;
          a[k + q * d] = s * akp + c * akq;
        }
        for (std::int64_t k = 0; k < d; ++k) {  // rows p, q
          const long double apk = a[p + k * d], aqk = a[q + k * d];
          a[p + k * d] = c * apk - s * aqk;
          a[q + k * d] = s * apk + c * aqk;
        }
      }
    }
  }
  std::vector<long double> w(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < d; ++i) w[i] = a[i + i * d];
  return w;
}

/// Host Gaussians: means (k x d, packed) and covariances (k x d x d, packed), double or float.
template <typename T>
struct HostGaussians {
  std::int64_t d, k;
  std::vector<T> means, covariances;
  HostGaussians(std::int64_t d_, std::int64_t k_)
      : d(d_), k(k_), means(d_ * k_, T(0)), covariances(d_ * d_ * k_, T(0)) {}
  GaussianBatch<T> view() {
    return {vectors(means.data(), d, k), square_matrices(covariances.data(), d, k)};
  }
  GaussianBatch<const T> cview() const {
    return {vectors(means.data(), d, k), square_matrices(covariances.data(), d, k)};
  }
  void set(std::int64_t i, const std::vector<long double>& mean, const Dense& cov) {
    for (std::int64_t r = 0; r < d; ++r) means[i * d + r] = T(mean[r]);
    for (std::int64_t e = 0; e < d * d; ++e) covariances[i * d * d + e] = T(cov[e]);
  }
  Dense cov(std::int64_t i) const {
    return Dense(covariances.begin() + i * d * d, covariances.begin() + (i + 1) * d * d);
  }
};

/// True when a CUDA device can be used; the reason is written to `why` otherwise.
inline bool cuda_device_available(std::string* why) {
  if (!GAUSSOT_HAS_CUDA) {
    *why = "gaussot was built without the CUDA backend";
    return false;
  }
  if (cuda_device_count() == 0) {
    *why = "no CUDA device is present on this machine";
    return false;
  }
  return true;
}

}  // namespace gaussot::test

/// Skips the current test, saying why, when no CUDA device can be used.
#define GAUSSOT_REQUIRE_CUDA()                                    \
  do {                                                            \
    std::string gaussot_why_;                                     \
    if (!::gaussot::test::cuda_device_available(&gaussot_why_)) { \
      GTEST_SKIP() << "CUDA test skipped: " << gaussot_why_;      \
    }                                                             \
  } while (0)
