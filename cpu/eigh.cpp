// SPDX-License-Identifier: Apache-2.0
// Eigendecomposition and spectral functions, one solver per thread, threaded across the batch:
// Eigen's SelfAdjointEigenSolver (Householder tridiagonalisation, implicit symmetric QR) for small
// orders, LAPACK's divide and conquer (?syevd from OpenBLAS) for large ones.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "backend.hpp"
#include "gaussot/error.hpp"
#include "lapack.hpp"
#include "parallel.hpp"
#include "spectral_rule.hpp"

namespace gaussot::cpu {
namespace {

/// Orders at which LAPACK's divide and conquer (dsyevd, OpenBLAS) beats Eigen's implicit QR on one
/// core: measured about equal at d = 128-192 and 7.7x faster at d = 2048 (bench/README.md).
constexpr std::int64_t kLapackMinOrder = 160;

/// One thread's symmetric eigensolver: Eigen's SelfAdjointEigenSolver below kLapackMinOrder, LAPACK
/// ?syevd from there. Eigenvalues come out increasing, as both libraries give them.
template <typename T>
class SymmetricEigensolver {
 public:
  explicit SymmetricEigensolver(std::int64_t d) : d_(d), eigen_(d < kLapackMinOrder ? d : 0) {
    values_.resize(d);
    if (d >= kLapackMinOrder) {
      vectors_.resize(d, d);
      // Workspace for jobz = 'V' (enough for 'N' too), from a LAPACK size query.
      T work_size = 0;
      int iwork_size = 0, info = 0;
      lapack::syevd("V", int(d), vectors_.data(), values_.data(), &work_size, -1, &iwork_size, -1,
                    &info);
      work_.resize(static_cast<std::size_t>(work_size));
      iwork_.resize(static_cast<std::size_t>(iwork_size));
    }
  }

  /// Decomposes item i of `a` (lower triangle). Throws ConvergenceError naming the item.
  void compute(const MatrixBatch<const T>& a, std::int64_t i, bool with_vectors) {
    int info = 0;
    if (d_ < kLapackMinOrder) {
      eigen_.compute(item(a, i), with_vectors ? Eigen::ComputeEigenvectors : Eigen::EigenvaluesOnly);
      info = eigen_.info() == Eigen::Success ? 0 : 1;
    } else {
      vectors_ = item(a, i);
      lapack::syevd(with_vectors ? "V" : "N", int(d_), vectors_.data(), values_.data(),
                    work_.data(), int(work_.size()), iwork_.data(), int(iwork_.size()), &info);
    }
    if (info != 0) {
      throw ConvergenceError("eigh: the symmetric eigensolver did not converge on batch item " +
                                 std::to_string(i),
                             i, info, __FILE__, __LINE__);
    }
  }
  const Vector<T>& values() const { return d_ < kLapackMinOrder ? eigen_.eigenvalues() : values_; }
  const Matrix<T>& vectors() const { return d_ < kLapackMinOrder ? eigen_.eigenvectors() : vectors_; }

 private:
  std::int64_t d_;
  Eigen::SelfAdjointEigenSolver<Matrix<T>> eigen_;
  Vector<T> values_;
  Matrix<T> vectors_;
  std::vector<T> work_;
  std::vector<int> iwork_;
};

}  // namespace

template <typename T>
void eigh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> w, MatrixBatch<T> v,
          EighAlgorithm /*algorithm: the CPU backend has one*/) {
  const std::int64_t d = a.rows;
  const bool with_vectors = v.count > 0;
  for_each_item(
      ctx, a.count, [d] { return SymmetricEigensolver<T>(d); },
      [&](SymmetricEigensolver<T>& solver, std::int64_t i) {
        solver.compute(a, i, with_vectors);
        // Eigen's and LAPACK's order is increasing; gaussot's is decreasing.
        item(w, i) = solver.values().reverse();
        if (with_vectors) item(v, i) = solver.vectors().rowwise().reverse();
      });
}

template <typename T>
SpectralFailure spectral(Context& ctx, MatrixBatch<const T> a,
                         const std::vector<SpectralRequest<T>>& requests, ClampRule rule,
                         EighAlgorithm /*algorithm*/) {
  const std::int64_t d = a.rows;
  bool singular_at_zero = false;
  for (const SpectralRequest<T>& r : requests) {
    singular_at_zero = singular_at_zero || r.function.singular_at_zero();
  }
  struct State {
    SymmetricEigensolver<T> solver;
    Matrix<T> scaled;  // V diag(g)
    Vector<T> g;
  };
  SpectralFailure first;
  std::mutex first_mutex;
  for_each_item(
      ctx, a.count,
      [d] { return State{SymmetricEigensolver<T>(d), Matrix<T>(d, d), Vector<T>(d)}; },
      [&](State& s, std::int64_t i) {
        s.solver.compute(a, i, /*with_vectors=*/true);
        const Vector<T>& w = s.solver.values();
        const Matrix<T>& v = s.solver.vectors();
        const T scale = std::max({std::abs(w(0)), std::abs(w(d - 1)), T(rule.scale_floor)});
        for (std::int64_t j = 0; j < d; ++j) {  // increasing order: the smallest fails first
          const auto verdict = spectral_rule::check<T>(w(j), scale, T(rule.tolerance), singular_at_zero);
          if (verdict != spectral_rule::ok) {
            const std::lock_guard<std::mutex> lock(first_mutex);
            if (first.item < 0 || i < first.item) {
              first = {i, verdict == spectral_rule::not_psd, double(w(j)), double(scale)};
            }
            return;
          }
        }
        for (const SpectralRequest<T>& r : requests) {
          for (std::int64_t j = 0; j < d; ++j) {
            s.g(j) = spectral_rule::apply<T>(r.function.kind, T(r.function.exponent), w(j));
          }
          auto out = item(r.out, i);
          if (spectral_rule::nonnegative(r.function)) {
            // f(A) = B Bᵀ with B = V diag(sqrt(g)): a symmetric rank-d update, half a GEMM.
            s.scaled.noalias() = v * s.g.cwiseSqrt().asDiagonal();
            out.setZero();
            out.template selfadjointView<Eigen::Lower>().rankUpdate(s.scaled);
          } else {
            s.scaled.noalias() = v * s.g.asDiagonal();
            out.template triangularView<Eigen::Lower>() = s.scaled * v.transpose();
          }
          mirror_lower(out);
        }
      });
  return first;
}

#define GAUSSOT_INSTANTIATE(T)                                                                  \
  template void eigh<T>(Context&, MatrixBatch<const T>, VectorBatch<T>, MatrixBatch<T>,         \
                        EighAlgorithm);                                                         \
  template SpectralFailure spectral<T>(Context&, MatrixBatch<const T>,                          \
                                       const std::vector<SpectralRequest<T>>&, ClampRule,          \
                                       EighAlgorithm);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot::cpu
