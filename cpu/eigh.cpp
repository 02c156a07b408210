// SPDX-License-Identifier: Apache-2.0
// Eigendecomposition and spectral functions on Eigen's SelfAdjointEigenSolver (Householder
// tridiagonalisation, implicit symmetric QR), one solver per thread, threaded across the batch.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "backend.hpp"
#include "gaussot/error.hpp"
#include "parallel.hpp"
#include "spectral_rule.hpp"

namespace gaussot::cpu {
namespace {

template <typename T>
using Solver = Eigen::SelfAdjointEigenSolver<Matrix<T>>;

/// Decomposes item i of `a` (lower triangle) into `solver`; eigenvalues come out increasing.
template <typename T>
void decompose(Solver<T>& solver, const MatrixBatch<const T>& a, std::int64_t i,
               bool with_vectors) {
  solver.compute(item(a, i), with_vectors ? Eigen::ComputeEigenvectors : Eigen::EigenvaluesOnly);
  if (solver.info() != Eigen::Success) {
    throw ConvergenceError("eigh: the symmetric QR iteration did not converge on batch item " +
                               std::to_string(i),
                           i, static_cast<std::int64_t>(solver.info()), __FILE__, __LINE__);
  }
}

}  // namespace

template <typename T>
void eigh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> w, MatrixBatch<T> v,
          EighAlgorithm /*algorithm: the CPU backend has one*/) {
  const std::int64_t d = a.rows;
  const bool with_vectors = v.count > 0;
  for_each_item(
      ctx, a.count, [d] { return Solver<T>(d); },
      [&](Solver<T>& solver, std::int64_t i) {
        decompose(solver, a, i, with_vectors);
        // Eigen's order is increasing; gaussot's is decreasing.
        item(w, i) = solver.eigenvalues().reverse();
        if (with_vectors) item(v, i) = solver.eigenvectors().rowwise().reverse();
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
    Solver<T> solver;
    Matrix<T> scaled;  // V diag(g)
    Vector<T> g;
  };
  SpectralFailure first;
  std::mutex first_mutex;
  for_each_item(
      ctx, a.count, [d] { return State{Solver<T>(d), Matrix<T>(d, d), Vector<T>(d)}; },
      [&](State& s, std::int64_t i) {
        decompose(s.solver, a, i, /*with_vectors=*/true);
        const Vector<T>& w = s.solver.eigenvalues();
        const auto& v = s.solver.eigenvectors();
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
