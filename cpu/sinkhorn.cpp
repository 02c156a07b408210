// SPDX-License-Identifier: Apache-2.0
// The log-domain Sinkhorn primitives (backend.hpp, GAUSSOT_SINKHORN_PRIMITIVES) on Eigen: the
// cost matrices by GEMM, and the half-update as fused log-sum-exp passes over contiguous cost
// columns (Eigen's vectorised exp), threaded over chunks of rows of all problems. Per-problem
// statistics are summed per chunk, then over the chunks in order, so that they do not depend on
// the number of threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend.hpp"
#include "parallel.hpp"

namespace gaussot::cpu {
namespace {

template <typename T>
using Array1 = Eigen::Array<T, Eigen::Dynamic, 1>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Array1<T>>;

/// Rows per work item of sinkhorn_update: fixed, so that the order of the sums is too.
constexpr std::int64_t kRowsPerChunk = 16;
/// Columns per work item of the cost's second pass.
constexpr std::int64_t kColumnsPerChunk = 64;
/// The cost of one exp and its neighbours, in for_each_item's units.
constexpr double kExpWork = 16;

/// Exponents are clamped at −kExpFloor before exp: e^{−kExpFloor} is still a normal number, and
/// exp's subnormal results (the far tail of a log-sum-exp, which cannot change a sum >= 1) cost
/// several times a normal one.
template <typename T>
constexpr T kExpFloor = sizeof(T) == 4 ? T(80) : T(700);

}  // namespace

template <typename T>
void sinkhorn_cost(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y,
                   MatrixBatch<T> cost, MatrixBatch<T> cost_t) {
  const std::int64_t count = cost.count, d = x.rows, n = x.cols, m = y.cols;
  // Squared norms of the centred points, per problem: n for x, then m for y.
  std::vector<T> norms(static_cast<std::size_t>(count * (n + m)));
  struct State {
    Matrix<T> xc, yc;
  };
  // C = −2 x̄ᵀȳ on the points centred on their common mean (C is translation invariant, and
  // centring keeps ‖x‖² + ‖y‖² − 2xᵀy from cancelling when the clouds sit far from 0).
  for_each_item(
      ctx, count, 2.0 * double(d) * double(n) * double(m),
      [&] {
        return State{Matrix<T>(d, n), Matrix<T>(d, m)};
      },
      [&](State& s, std::int64_t i) {
        const auto xi = item(x, i);
        const auto yi = item(y, i);
        const Vector<T> centre =
            (xi.rowwise().sum() + yi.rowwise().sum()) / T(double(n) + double(m));
        s.xc = xi.colwise() - centre;
        s.yc = yi.colwise() - centre;
        T* norm = norms.data() + i * (n + m);
        VectorMap<T>(norm, n) = s.xc.colwise().squaredNorm().transpose();
        VectorMap<T>(norm + n, m) = s.yc.colwise().squaredNorm().transpose();
        item(cost, i).noalias() = T(-2) * s.xc.transpose() * s.yc;
      });
  // C_jk += ‖x̄_j‖² + ‖ȳ_k‖², clamped at 0, and Cᵀ, by strips of columns.
  const std::int64_t strips = (m + kColumnsPerChunk - 1) / kColumnsPerChunk;
  for_each_item(ctx, count * strips, 3.0 * double(n) * double(kColumnsPerChunk),
                [&](std::int64_t work) {
                  const std::int64_t i = work / strips;
                  const std::int64_t k0 = (work % strips) * kColumnsPerChunk;
                  const std::int64_t k1 = std::min(m, k0 + kColumnsPerChunk);
                  const T* norm = norms.data() + i * (n + m);
                  const ConstArrayMap<T> x_norm(norm, n);
                  auto c = item(cost, i);
                  auto ct = item(cost_t, i);
                  for (std::int64_t k = k0; k < k1; ++k) {
                    auto column = c.col(k).array();
                    column = (column + x_norm + norm[n + k]).cwiseMax(T(0));
                  }
                  ct.middleRows(k0, k1 - k0) = c.middleCols(k0, k1 - k0).transpose();
                });
}

template <typename T>
void sinkhorn_update(Context& ctx, MatrixBatch<const T> cost,
                     VectorBatch<const T> log_weights_other, VectorBatch<const T> potential_other,
                     VectorBatch<const T> log_weights, VectorBatch<const T> potential,
                     VectorBatch<const T> active, T inv_epsilon, T scale, VectorBatch<T> updated,
                     MatrixBatch<T> stats) {
  const std::int64_t count = cost.count, others = cost.rows, rows = cost.cols;
  const std::int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  const bool want_update = updated.count > 0, want_stats = stats.count > 0;
  std::vector<double> partial(want_stats ? static_cast<std::size_t>(count * chunks * kStats) : 0);
  for_each_item(
      ctx, count * chunks, double(kRowsPerChunk) * double(others) * kExpWork,
      [&] { return Array1<T>(want_stats ? others : 0); },
      [&](Array1<T>& terms, std::int64_t work) {
        const std::int64_t i = work / chunks;
        if (active.count > 0 && active.at(i, 0) == T(0)) return;
        const std::int64_t t0 = (work % chunks) * kRowsPerChunk;
        const std::int64_t t1 = std::min(rows, t0 + kRowsPerChunk);
        const ConstArrayMap<T> log_w(log_weights_other.item(i), others);
        const ConstArrayMap<T> pot(potential_other.item(i), others);
        double acc[kStats] = {};
        for (std::int64_t t = t0; t < t1; ++t) {
          const ConstArrayMap<T> column(cost.item(i) + t * cost.ld, others);
          const auto exponent = (pot - column) * inv_epsilon + log_w;
          const T largest = exponent.maxCoeff();
          T sum, weighted = 0;
          if (want_stats) {
            terms = (exponent - largest).max(-kExpFloor<T>).exp();
            sum = terms.sum();
            weighted = (terms * column).sum();
          } else {
            sum = (exponent - largest).max(-kExpFloor<T>).exp().sum();
          }
          const T lse = largest + std::log(sum);
          const T next = -scale * lse;
          if (want_stats) {
            const double old = potential.at(i, t);  // read before `updated` may overwrite it
            const double w = std::exp(double(log_weights.at(i, t)));
            const double u = double(inv_epsilon) * old + double(lse);  // log(r_t / w_t)
            const double excess = w * std::expm1(u), r = w + excess;
            acc[kMassExcess] += excess;
            acc[kPotentialMass] += r * old;
            acc[kMarginalL1] += std::abs(excess);
            acc[kMarginalKl] += r * u - excess;
            acc[kTransport] += r * (double(weighted) / double(sum));
            if (want_update) acc[kChange] = std::max(acc[kChange], std::abs(double(next) - old));
          }
          if (want_update) updated.at(i, t) = next;
        }
        if (want_stats) std::copy(acc, acc + kStats, partial.data() + work * kStats);
      });
  if (!want_stats) return;
  for (std::int64_t i = 0; i < count; ++i) {
    if (active.count > 0 && active.at(i, 0) == T(0)) continue;
    double total[kStats] = {};
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      const double* p = partial.data() + (i * chunks + chunk) * kStats;
      for (int s = 0; s < kStats; ++s) {
        total[s] = s == kChange ? std::max(total[s], p[s]) : total[s] + p[s];
      }
    }
    for (int s = 0; s < kStats; ++s) stats.at(i, s, 0) = T(total[s]);
  }
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_SINKHORN_PRIMITIVES)

}  // namespace gaussot::cpu
