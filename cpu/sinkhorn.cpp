// SPDX-License-Identifier: Apache-2.0
// The Sinkhorn primitives (backend.hpp, GAUSSOT_SINKHORN_PRIMITIVES and the CPU-only
// GAUSSOT_SINKHORN_SCALING_PRIMITIVES) on Eigen: the cost matrices by GEMM, the log-domain
// half-update as fused log-sum-exp passes over contiguous cost columns (Eigen's vectorised exp),
// and the scaling algorithm's kernels and passes over them (below), threaded over chunks of rows
// of all problems. Per-problem statistics are summed per chunk, then over the chunks in order, so
// that they do not depend on the number of threads.
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

/// stats_i = the statistics of `parts` consecutive work items (kStats doubles each), summed in
/// order (kChange: their maximum).
template <typename T>
void write_stats(const double* partial, std::int64_t parts, MatrixBatch<T> stats, std::int64_t i) {
  double total[kStats] = {};
  for (std::int64_t part = 0; part < parts; ++part) {
    const double* p = partial + part * kStats;
    for (int s = 0; s < kStats; ++s) {
      total[s] = s == kChange ? std::max(total[s], p[s]) : total[s] + p[s];
    }
  }
  for (int s = 0; s < kStats; ++s) stats.at(i, s, 0) = T(total[s]);
}

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
    write_stats(partial.data() + i * chunks * kStats, chunks, stats, i);
  }
}

// ---- the scaling algorithm with absorption (backend.hpp, GAUSSOT_SINKHORN_SCALING_PRIMITIVES)
// ---- A kernel item is Kᵀ (m x n): its column j is row j of K, contiguous. An iteration is one
// pass over K by chunks of rows: (K v) on the chunk's rows (a small GEMV), u_next there, then the
// chunk's share of Kᵀ u_next (a second GEMV on the same rows, still in cache). The textbook
// iteration, two GEMVs over the whole kernel, reads K from memory twice; this reads it once. The
// chunks' partial sums are added in chunk order, so that no result depends on the threads.

namespace {

/// Adds entry t of a marginal of the plan of (f, g, u, v) to the statistics acc (backend.hpp's
/// x- or y-side statistics but [4] and [5]): the entry r_t = scaling_t · product_t (product_t of
/// K v or Kᵀu) against the weight e^{log_weight_t}, with the side's absorbed potential. Returns
/// log scaling_t.
inline double add_marginal_entry(double (&acc)[kStats], double log_weight, double scaling,
                                 double product, double potential, double epsilon) {
  const double r = scaling * product, excess = std::fma(scaling, product, -std::exp(log_weight));
  const double log_scaling = std::log(scaling);
  acc[kMassExcess] += excess;
  acc[kPotentialMass] += r * (potential + epsilon * log_scaling);
  acc[kMarginalL1] += std::abs(excess);
  acc[kMarginalKl] += r * (log_scaling + std::log(product) - log_weight) - excess;
  return log_scaling;
}

/// Kernel rows per work item of a pass over a kernel.
constexpr std::int64_t kKernelRowsPerChunk = 128;

template <typename T>
using ChunkVector = Eigen::Matrix<T, Eigen::Dynamic, 1, 0, kKernelRowsPerChunk, 1>;

std::int64_t kernel_chunks(std::int64_t n) {
  return (n + kKernelRowsPerChunk - 1) / kKernelRowsPerChunk;
}
std::int64_t column_strips(std::int64_t m) { return (m + kColumnsPerChunk - 1) / kColumnsPerChunk; }

/// Sums over the rows of the kernels of the problems with which_i != 0: rows(i, work, j0, j1,
/// partial) sets the m-vector `partial` to the sum over the rows [j0, j1) of problem i (work item
/// i·kernel_chunks(n) + chunk); then columns(i, work, k0, k1, sums) gets entries [k0, k1) of the
/// sum over all rows (work item i·column_strips(m) + strip).
template <typename T, typename Rows, typename Columns>
void over_kernel_rows(Context& ctx, std::int64_t count, std::int64_t n, std::int64_t m,
                      VectorBatch<const T> which, double work_per_row, Rows rows, Columns columns) {
  const std::int64_t chunks = kernel_chunks(n), strips = column_strips(m);
  std::vector<T> partial(static_cast<std::size_t>(count * chunks * m));
  for_each_item(ctx, count * chunks, double(kKernelRowsPerChunk) * work_per_row,
                [&](std::int64_t work) {
                  const std::int64_t i = work / chunks;
                  if (which.at(i, 0) == T(0)) return;
                  const std::int64_t j0 = (work % chunks) * kKernelRowsPerChunk;
                  rows(i, work, j0, std::min(n, j0 + kKernelRowsPerChunk),
                       VectorMap<T>(partial.data() + work * m, m));
                });
  for_each_item(
      ctx, count * strips, double(chunks) * double(kColumnsPerChunk),
      [] { return Array1<T>(kColumnsPerChunk); },
      [&](Array1<T>& sums, std::int64_t work) {
        const std::int64_t i = work / strips;
        if (which.at(i, 0) == T(0)) return;
        const std::int64_t k0 = (work % strips) * kColumnsPerChunk;
        const std::int64_t k1 = std::min(m, k0 + kColumnsPerChunk);
        auto head = sums.head(k1 - k0);
        head.setZero();
        for (std::int64_t chunk = 0; chunk < chunks; ++chunk)
          head += ConstArrayMap<T>(partial.data() + (i * chunks + chunk) * m + k0, k1 - k0);
        columns(i, work, k0, k1, head);
      });
}

/// Rows [j0, j1) of kernel item i: columns of the stored Kᵀ.
template <typename T>
ConstMatrixMap<T> kernel_rows(MatrixBatch<const T> kernel, std::int64_t i, std::int64_t j0,
                              std::int64_t j1) {
  return ConstMatrixMap<T>(kernel.item(i) + j0 * kernel.ld, kernel.rows, j1 - j0,
                           Eigen::OuterStride<>(kernel.ld));
}

}  // namespace

template <typename T>
void sinkhorn_kernel(Context& ctx, MatrixBatch<const T> cost_t, VectorBatch<const T> log_a,
                     VectorBatch<const T> f, VectorBatch<const T> log_b, VectorBatch<const T> g,
                     T epsilon, VectorBatch<const T> which, MatrixBatch<T> kernel, VectorBatch<T> u,
                     VectorBatch<T> v) {
  const std::int64_t count = kernel.count, m = kernel.rows, n = kernel.cols;
  const std::int64_t chunks = kernel_chunks(n);
  const T inv_epsilon = T(1) / epsilon;
  for_each_item(ctx, count * chunks, double(kKernelRowsPerChunk) * double(m) * kExpWork,
                [&](std::int64_t work) {
                  const std::int64_t i = work / chunks;
                  if (which.at(i, 0) == T(0)) return;
                  const std::int64_t j0 = (work % chunks) * kKernelRowsPerChunk;
                  const std::int64_t j1 = std::min(n, j0 + kKernelRowsPerChunk);
                  const ConstArrayMap<T> g_i(g.item(i), m), log_b_i(log_b.item(i), m);
                  for (std::int64_t j = j0; j < j1; ++j) {
                    const ConstArrayMap<T> c(cost_t.item(i) + j * cost_t.ld, m);
                    Eigen::Map<Array1<T>> row(kernel.item(i) + j * kernel.ld, m);
                    // (f_j + g_k − C_jk)/ε + log a_j + log b_k, grouped as sinkhorn_update groups
                    // it; below the floor, 0 (exp would be subnormal or 0 anyway).
                    row = ((g_i - c) + f.at(i, j)) * inv_epsilon + log_b_i + log_a.at(i, j);
                    row = (row < -kExpFloor<T>).select(T(0), row.exp());
                  }
                });
  for (std::int64_t i = 0; i < count; ++i) {
    if (which.at(i, 0) == T(0)) continue;
    item(u, i).setOnes();
    item(v, i).setOnes();
  }
}

template <typename T>
void sinkhorn_scaling_iteration(Context& ctx, MatrixBatch<const T> kernel,
                                VectorBatch<const T> log_a, VectorBatch<const T> f,
                                VectorBatch<const T> log_b, VectorBatch<const T> g,
                                VectorBatch<const T> u, VectorBatch<const T> v,
                                VectorBatch<const T> which, T epsilon, T tau, T log_bound,
                                VectorBatch<T> u_next, VectorBatch<T> v_next,
                                VectorBatch<T> out_of_range, MatrixBatch<T> stats) {
  const std::int64_t count = kernel.count, m = kernel.rows, n = kernel.cols;
  const std::int64_t chunks = kernel_chunks(n), strips = column_strips(m);
  const bool want_stats = stats.count > 0, balanced = tau == T(1);
  const T low = std::exp(-log_bound), high = std::exp(log_bound), inv_epsilon = T(1) / epsilon;
  // The scaling update of backend.hpp, (w/s)^τ e^{−(1−τ)p/ε} for the weight w, the product s (of
  // K or Kᵀ with the other scaling) and the absorbed potential p; w/s itself when balanced.
  auto scaling = [&](T weight, T product, T potential) {
    const T ratio = weight / product;
    return balanced ? ratio
                    : std::exp(tau * std::log(ratio) - (T(1) - tau) * potential * inv_epsilon);
  };
  std::vector<double> partial(want_stats ? static_cast<std::size_t>(count * chunks * kStats) : 0);
  std::vector<char> outside(static_cast<std::size_t>(count * (chunks + strips)), 0);
  over_kernel_rows<T>(
      ctx, count, n, m, which, 2.0 * double(m),
      [&](std::int64_t i, std::int64_t work, std::int64_t j0, std::int64_t j1,
          VectorMap<T> partial_product) {
        const ConstMatrixMap<T> rows = kernel_rows(kernel, i, j0, j1);
        const ChunkVector<T> product = rows.transpose() * Eigen::Map<const Vector<T>>(v.item(i), m);
        Eigen::Map<Vector<T>> next(u_next.item(i) + j0, j1 - j0);
        double acc[kStats] = {};
        bool out = false;
        for (std::int64_t t = 0; t < j1 - j0; ++t) {
          const std::int64_t j = j0 + t;
          next[t] = scaling(std::exp(log_a.at(i, j)), product[t], f.at(i, j));
          out |= !(next[t] >= low && next[t] <= high);
          if (!want_stats) continue;
          // The plan of (f, g, u, v) on this row: r_j = u_j (K v)_j.
          const double log_scale =
              add_marginal_entry(acc, log_a.at(i, j), u.at(i, j), product[t], f.at(i, j), epsilon);
          acc[kChange] = std::max(
              acc[kChange], double(epsilon) * std::abs(std::log(double(next[t])) - log_scale));
        }
        partial_product.noalias() = rows * next;
        outside[work] = out;
        if (want_stats) std::copy(acc, acc + kStats, partial.data() + work * kStats);
      },
      [&](std::int64_t i, std::int64_t work, std::int64_t k0, std::int64_t k1,
          const auto& product) {
        bool out = false;
        for (std::int64_t k = k0; k < k1; ++k) {
          const T next = scaling(std::exp(log_b.at(i, k)), product[k - k0], g.at(i, k));
          out |= !(next >= low && next <= high);
          v_next.at(i, k) = next;
        }
        outside[count * chunks + work] = out;
      });
  for (std::int64_t i = 0; i < count; ++i) {
    if (which.at(i, 0) == T(0)) continue;
    const auto first_row = outside.begin() + i * chunks;
    const auto first_column = outside.begin() + count * chunks + i * strips;
    const bool out = std::any_of(first_row, first_row + chunks, [](char c) { return c != 0; }) ||
                     std::any_of(first_column, first_column + strips, [](char c) { return c; });
    out_of_range.at(i, 0) = out ? T(1) : T(0);
    if (want_stats) write_stats(partial.data() + i * chunks * kStats, chunks, stats, i);
  }
}

template <typename T>
void sinkhorn_scaling_columns(Context& ctx, MatrixBatch<const T> kernel,
                              MatrixBatch<const T> cost_t, VectorBatch<const T> log_b,
                              VectorBatch<const T> g, VectorBatch<const T> u,
                              VectorBatch<const T> v, VectorBatch<const T> which, T epsilon,
                              MatrixBatch<T> stats) {
  const std::int64_t count = kernel.count, m = kernel.rows, n = kernel.cols;
  const std::int64_t chunks = kernel_chunks(n), strips = column_strips(m);
  std::vector<double> transport(static_cast<std::size_t>(count * chunks));
  std::vector<double> partial(static_cast<std::size_t>(count * strips * kStats));
  over_kernel_rows<T>(
      ctx, count, n, m, which, 4.0 * double(m),
      [&](std::int64_t i, std::int64_t work, std::int64_t j0, std::int64_t j1,
          VectorMap<T> partial_product) {
        const ConstMatrixMap<T> rows = kernel_rows(kernel, i, j0, j1);
        const Eigen::Map<const Vector<T>> u_chunk(u.item(i) + j0, j1 - j0);
        const ConstArrayMap<T> v_i(v.item(i), m);
        partial_product.noalias() = rows * u_chunk;
        double sum = 0;  // Σ_jk π_jk C_jk over the chunk's rows
        for (std::int64_t j = j0; j < j1; ++j) {
          const ConstArrayMap<T> c(cost_t.item(i) + j * cost_t.ld, m);
          sum += double(u.at(i, j)) * double((rows.col(j - j0).array() * v_i * c).sum());
        }
        transport[work] = sum;
      },
      [&](std::int64_t i, std::int64_t work, std::int64_t k0, std::int64_t k1,
          const auto& product) {
        // The plan of (f, g, u, v) on this column: c_k = v_k (Kᵀ u)_k.
        double acc[kStats] = {};
        for (std::int64_t k = k0; k < k1; ++k) {
          add_marginal_entry(acc, log_b.at(i, k), v.at(i, k), product[k - k0], g.at(i, k), epsilon);
        }
        std::copy(acc, acc + kStats, partial.data() + work * kStats);
      });
  for (std::int64_t i = 0; i < count; ++i) {
    if (which.at(i, 0) == T(0)) continue;
    write_stats(partial.data() + i * strips * kStats, strips, stats, i);
    double sum = 0;
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) sum += transport[i * chunks + chunk];
    stats.at(i, kTransport, 0) = T(sum);
  }
}

template <typename T>
void sinkhorn_absorb(Context&, VectorBatch<const T> potential, VectorBatch<const T> scaling,
                     T epsilon, VectorBatch<const T> which, VectorBatch<T> out) {
  for (std::int64_t i = 0; i < out.count; ++i) {
    if (which.at(i, 0) == T(0)) continue;
    for (std::int64_t t = 0; t < out.size; ++t)
      out.at(i, t) = potential.at(i, t) + epsilon * std::log(scaling.at(i, t));
  }
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_SINKHORN_PRIMITIVES)
GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_SINKHORN_SCALING_PRIMITIVES)

}  // namespace gaussot::cpu
