// SPDX-License-Identifier: Apache-2.0
// Eigendecomposition and spectral functions, threaded across the batch. Each thread decomposes four
// batch items at a time: Householder tridiagonalisation (Eigen) and the lockstep implicit QR of
// tridiagonal_qr.hpp for small orders, LAPACK's divide and conquer (?syevd) for large ones
// (EighAlgorithm forces either), and for eigenvalues alone from order 1024 its two-stage variant.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "backend.hpp"
#include "gaussot/error.hpp"
#include "lapack.hpp"
#include "parallel.hpp"
#include "spectral_rule.hpp"
#include "tridiagonal_qr.hpp"

namespace gaussot::cpu {
namespace {

/// Orders from which LAPACK ?syevd (OpenBLAS) is faster on one core than tridiagonalisation plus
/// TridiagonalQr (bench/README.md has the measurements).
constexpr std::int64_t kLapackMinOrder = 160;

/// Orders from which eigenvalues alone are computed by LAPACK's two-stage ?syevd_2stage
/// (bench/blas/README.md has the measurements).
constexpr std::int64_t kTwoStageMinOrder = 1024;

bool uses_lapack(std::int64_t d, EighAlgorithm algorithm) {
  return algorithm == EighAlgorithm::divide_and_conquer ||
         (algorithm == EighAlgorithm::automatic && d >= kLapackMinOrder);
}

/// One thread's symmetric eigensolver for up to kItems batch items at once.
template <typename T>
class SymmetricEigensolver {
 public:
  static constexpr std::int64_t kItems = TridiagonalQr<T>::kLanes;

  SymmetricEigensolver(std::int64_t d, EighAlgorithm algorithm)
      : d_(d),
        lapack_(uses_lapack(d, algorithm)),
        scaled_(Matrix<T>::Zero(lapack_ ? 0 : d, lapack_ ? 0 : d)),
        tridiagonal_(lapack_ ? 1 : d) {
    for (Slot& slot : slots_) {
      slot.values.resize(d);
      slot.vectors.resize(d, d);
      if (!lapack_) {
        slot.diag.resize(d);
        slot.sub.resize(std::max<std::int64_t>(d - 1, 1));
        slot.unsorted.resize(d, d);
      }
    }
    order_.resize(d);
    if (lapack_) {  // LAPACK workspace for jobz = 'V' and for the two-stage 'N'
      T work_size = 0, two_stage_size = 0;
      int iwork_size = 0, two_stage_isize = 0, info = 0;
      lapack::syevd("V", int(d), slots_[0].vectors.data(), slots_[0].values.data(), &work_size, -1,
                    &iwork_size, -1, &info);
      if (d >= kTwoStageMinOrder) {
        lapack::syevd_2stage(int(d), slots_[0].vectors.data(), slots_[0].values.data(),
                             &two_stage_size, -1, &two_stage_isize, -1, &info);
      }
      work_.resize(static_cast<std::size_t>(std::max(work_size, two_stage_size)));
      iwork_.resize(static_cast<std::size_t>(std::max(iwork_size, two_stage_isize)));
    }
  }

  /// Decomposes items first, ..., first + count − 1 (count <= kItems) of `a` (lower triangles)
  /// into slots 0, ..., count − 1, eigenvalues in increasing order when `sorted` (else in no
  /// particular order, the eigenvectors in the same order). Throws ConvergenceError naming the
  /// item.
  void compute(const MatrixBatch<const T>& a, std::int64_t first, std::int64_t count,
               bool with_vectors, bool sorted) {
    if (lapack_) {
      for (std::int64_t j = 0; j < count; ++j) lapack_syevd(a, first + j, slots_[j], with_vectors);
      return;
    }
    typename TridiagonalQr<T>::Problem problems[kItems];
    for (std::int64_t j = 0; j < count; ++j) {
      problems[j] = tridiagonalize(item(a, first + j), slots_[j], with_vectors);
    }
    bool converged[kItems];
    qr_.solve(problems, static_cast<int>(count), converged);
    for (std::int64_t j = 0; j < count; ++j) {
      if (!converged[j]) fail(first + j, 1);
      finish(slots_[j], with_vectors, sorted);
    }
  }
  const Vector<T>& values(std::int64_t slot) const { return slots_[slot].values; }
  const Matrix<T>& vectors(std::int64_t slot) const { return slots_[slot].vectors; }

 private:
  struct Slot {
    Vector<T> values, diag, sub;
    Matrix<T> vectors, unsorted;
    T scale = 1;
  };

  [[noreturn]] static void fail(std::int64_t i, int info) {
    throw ConvergenceError(
        "eigh: the symmetric eigensolver did not converge on batch item " + std::to_string(i), i,
        info, __FILE__, __LINE__);
  }

  void lapack_syevd(const MatrixBatch<const T>& a, std::int64_t i, Slot& slot, bool with_vectors) {
    int info = 0;
    slot.vectors = item(a, i);
    if (!with_vectors && d_ >= kTwoStageMinOrder) {
      lapack::syevd_2stage(int(d_), slot.vectors.data(), slot.values.data(), work_.data(),
                           int(work_.size()), iwork_.data(), int(iwork_.size()), &info);
    } else {
      lapack::syevd(with_vectors ? "V" : "N", int(d_), slot.vectors.data(), slot.values.data(),
                    work_.data(), int(work_.size()), iwork_.data(), int(iwork_.size()), &info);
    }
    if (info != 0) fail(i, info);
  }

  /// Scales the lower triangle to max |a_ij| = 1 (no intermediate over- or underflows),
  /// tridiagonalises it and, with vectors, forms the Householder Q in slot.unsorted.
  typename TridiagonalQr<T>::Problem tridiagonalize(const ConstMatrixMap<T>& a, Slot& slot,
                                                    bool with_vectors) {
    slot.scale = 0;
    for (std::int64_t c = 0; c < d_; ++c) {
      slot.scale = std::max(slot.scale, a.col(c).tail(d_ - c).cwiseAbs().maxCoeff());
    }
    if (slot.scale == T(0)) {  // the zero matrix: already diagonal
      slot.scale = 1;
      slot.diag.setZero();
      slot.sub.setZero();
      if (with_vectors) slot.unsorted.setIdentity();
    } else {
      scaled_.template triangularView<Eigen::Lower>() = a / slot.scale;
      tridiagonal_.compute(scaled_);
      slot.diag = tridiagonal_.diagonal();
      slot.sub.head(d_ - 1) = tridiagonal_.subDiagonal();
      if (with_vectors) slot.unsorted = tridiagonal_.matrixQ();
    }
    return {d_, slot.diag.data(), slot.sub.data(), with_vectors ? slot.unsorted.data() : nullptr};
  }

  /// Undoes the scaling and, when asked, sorts increasingly as Eigen and LAPACK do.
  void finish(Slot& slot, bool with_vectors, bool sorted) {
    if (!sorted) {
      slot.values = slot.diag * slot.scale;
      if (with_vectors) slot.vectors.swap(slot.unsorted);
      return;
    }
    for (std::int64_t j = 0; j < d_; ++j) order_[j] = j;
    std::sort(order_.begin(), order_.end(),
              [&](std::int64_t x, std::int64_t y) { return slot.diag(x) < slot.diag(y); });
    for (std::int64_t j = 0; j < d_; ++j) {
      slot.values(j) = slot.diag(order_[j]) * slot.scale;
      if (with_vectors) slot.vectors.col(j) = slot.unsorted.col(order_[j]);
    }
  }

  std::int64_t d_;
  bool lapack_;
  Matrix<T> scaled_;  // lower triangle: the item scaled to max |a_ij| = 1
  Eigen::Tridiagonalization<Matrix<T>> tridiagonal_;
  TridiagonalQr<T> qr_;
  Slot slots_[kItems];
  std::vector<std::int64_t> order_;
  std::vector<T> work_;
  std::vector<int> iwork_;
};

/// Runs body(state, slot, i) for every item i of `a`, decomposed kItems at a time per thread into
/// state.solver.
template <typename T, typename MakeState, typename Body>
void for_each_decomposed(const Context& ctx, const MatrixBatch<const T>& a, bool with_vectors,
                         bool sorted, MakeState make_state, Body body) {
  constexpr std::int64_t k = SymmetricEigensolver<T>::kItems;
  const double order = double(a.rows);  // a symmetric eigensolver: about 10 d³ per matrix
  for_each_item(ctx, (a.count + k - 1) / k, 10.0 * order * order * order * double(k), make_state,
                [&](auto& state, std::int64_t group) {
                  const std::int64_t first = group * k;
                  const std::int64_t count = std::min(k, a.count - first);
                  state.solver.compute(a, first, count, with_vectors, sorted);
                  for (std::int64_t j = 0; j < count; ++j) body(state, j, first + j);
                });
}

/// The first batch item that breaks the clamping rule, recorded from any thread.
class FirstFailure {
 public:
  /// Checks item i's eigenvalues (any order); returns false and records the item if it fails.
  /// On success `noise` receives the item's rounding level (spectral_rule::noise_level).
  template <typename T>
  bool check(const Vector<T>& w, std::int64_t i, ClampRule rule, bool singular_at_zero, T& noise) {
    const T smallest = w.minCoeff();  // the first to break the rule, if any does
    const T scale = std::max({std::abs(smallest), std::abs(w.maxCoeff()), T(rule.scale_floor)});
    noise = spectral_rule::noise_level<T>(w.size(),
                                          std::max(std::abs(smallest), std::abs(w.maxCoeff())));
    const auto verdict =
        spectral_rule::check<T>(smallest, scale, T(rule.tolerance), singular_at_zero);
    if (verdict == spectral_rule::ok) return true;
    const std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.item < 0 || i < failure_.item) {
      failure_ = {i, verdict == spectral_rule::not_psd, double(smallest), double(scale)};
    }
    return false;
  }
  SpectralFailure get() const { return failure_; }

 private:
  std::mutex mutex_;
  SpectralFailure failure_;
};

}  // namespace

template <typename T>
void eigh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> w, MatrixBatch<T> v,
          EighAlgorithm algorithm) {
  const std::int64_t d = a.rows;
  const bool with_vectors = v.count > 0;
  struct State {
    SymmetricEigensolver<T> solver;
  };
  for_each_decomposed<T>(
      ctx, a, with_vectors, /*sorted=*/true,
      [=] { return State{SymmetricEigensolver<T>(d, algorithm)}; },
      [&](State& s, std::int64_t slot, std::int64_t i) {
        // The solvers' order is increasing; gaussot's is decreasing.
        item(w, i) = s.solver.values(slot).reverse();
        if (with_vectors) item(v, i) = s.solver.vectors(slot).rowwise().reverse();
      });
}

template <typename T>
SpectralFailure spectral(Context& ctx, MatrixBatch<const T> a,
                         const std::vector<SpectralRequest<T>>& requests, ClampRule rule,
                         EighAlgorithm algorithm) {
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
  FirstFailure first;
  // Eigenvalues in no particular order: f(A) = V f(Λ) Vᵀ does not depend on it.
  for_each_decomposed<T>(
      ctx, a, /*with_vectors=*/true, /*sorted=*/false,
      [=] {
        return State{SymmetricEigensolver<T>(d, algorithm), Matrix<T>(d, d), Vector<T>(d)};
      },
      [&](State& s, std::int64_t slot, std::int64_t i) {
        const Vector<T>& w = s.solver.values(slot);
        const Matrix<T>& v = s.solver.vectors(slot);
        T noise;
        if (!first.check(w, i, rule, singular_at_zero, noise)) return;
        for (const SpectralRequest<T>& r : requests) {
          for (std::int64_t j = 0; j < d; ++j) {
            s.g(j) = spectral_rule::apply<T>(r.function.kind, T(r.function.parameter), w(j), noise);
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
  return first.get();
}

template <typename T>
SpectralFailure spectral_trace(Context& ctx, MatrixBatch<const T> a, SpectralFunction function,
                               ClampRule rule, VectorBatch<T> out, EighAlgorithm algorithm) {
  const std::int64_t d = a.rows;
  struct State {
    SymmetricEigensolver<T> solver;
  };
  FirstFailure first;
  for_each_decomposed<T>(
      ctx, a, /*with_vectors=*/false, /*sorted=*/false,
      [=] { return State{SymmetricEigensolver<T>(d, algorithm)}; },
      [&](State& s, std::int64_t slot, std::int64_t i) {
        const Vector<T>& w = s.solver.values(slot);
        T noise;
        if (!first.check(w, i, rule, function.singular_at_zero(), noise)) return;
        T sum = 0;
        for (std::int64_t j = 0; j < d; ++j) {
          sum += spectral_rule::apply<T>(function.kind, T(function.parameter), w(j), noise);
        }
        out.at(i, 0) = sum;
      });
  return first.get();
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_EIGH_PRIMITIVES)

}  // namespace gaussot::cpu
