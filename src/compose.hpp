// SPDX-License-Identifier: Apache-2.0
// Private: small helpers for backend-neutral algorithms that compose primitives (src/*.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "gaussot/array.hpp"

namespace gaussot {

/// Threads for work the library runs on the host CPU whatever the backend (host/): the context's
/// count on the CPU backend, OpenMP's default otherwise.
inline int host_threads(const Context& ctx) {
  return ctx.backend() == Backend::cpu ? ctx.num_threads() : 0;
}

/// out = max(floor, Σ c_j x_j) elementwise, at most LinearCombination<T>::kMaxTerms terms.
template <typename T>
void combine(Context& ctx, std::initializer_list<std::pair<T, MatrixBatch<const T>>> terms,
             MatrixBatch<T> out, std::optional<T> floor = std::nullopt) {
  LinearCombination<T> combination;
  for (const auto& [coefficient, term] : terms) {
    combination.coefficients[combination.count] = coefficient;
    combination.terms[combination.count] = term;
    ++combination.count;
  }
  combination.has_floor = floor.has_value();
  combination.floor = floor.value_or(T(0));
  GAUSSOT_DISPATCH(ctx, combine<T>, combination, out);
}

/// out_i = factor_i · items_i + beta · out_i for packed batches of one shape (items may broadcast);
/// `factors` holds count 1 x 1 items in the context's memory: each item is seen as one
/// (rows·cols) x 1 column times its own 1 x 1 factor, a batched GEMM.
template <typename T>
void scale_items(Context& ctx, MatrixBatch<const T> items, MatrixBatch<const T> factors,
                 MatrixBatch<T> out, T beta = T(0)) {
  const std::int64_t m = items.rows * items.cols;
  const MatrixBatch<const T> item_columns{
      items.data, m, 1, std::max<std::int64_t>(m, 1), items.stride, items.count, items.space};
  const MatrixBatch<T> out_columns{out.data,   m,         1,        std::max<std::int64_t>(m, 1),
                                   out.stride, out.count, out.space};
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), item_columns, factors, beta,
                   out_columns);
}

/// out = Σ_i w_i items_i for `count` packed items (stride rows·cols) and w a count x 1 matrix on
/// the context: one GEMM of the (rows·cols) x count matrix of items by w.
template <typename T>
void weighted_sum(Context& ctx, MatrixBatch<const T> items, MatrixBatch<const T> weights,
                  MatrixBatch<T> out) {
  const std::int64_t m = items.rows * items.cols;
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1),
                   MatrixBatch<const T>(items.data, m, items.count, std::max<std::int64_t>(m, 1), 0,
                                        1, items.space),
                   weights, T(0),
                   MatrixBatch<T>(out.data, m, 1, std::max<std::int64_t>(m, 1), m, 1, out.space));
}

/// A packed scratch batch in the context's memory space, with its views.
template <typename T>
struct Scratch {
  Array<T> array;
  MatrixBatch<T> view;
  Scratch(Context& ctx, std::int64_t rows, std::int64_t cols, std::int64_t count)
      : array(ctx, rows * cols * count), view(array.matrices(rows, cols, count)) {}
  MatrixBatch<const T> cview() const { return view; }
  /// The items as a batch of `count` scalars or vectors (cols == 1).
  VectorBatch<T> vectors() const {
    return {view.data, view.rows, view.stride, view.count, view.space};
  }
};

/// Host values of a batch of scalars (one synchronisation).
template <typename T>
std::vector<double> to_host(Context& ctx, VectorBatch<const T> scalars_on_context) {
  std::vector<T> host(static_cast<std::size_t>(scalars_on_context.count * scalars_on_context.size));
  copy<T>(ctx, scalars_on_context,
          vectors(host.data(), scalars_on_context.size, scalars_on_context.count));
  return {host.begin(), host.end()};
}

/// Host numbers (out.count packed column-major items of out's shape) into `out` on the context.
template <typename T, typename U>
void write_on_context(Context& ctx, const std::vector<U>& values, MatrixBatch<T> out) {
  const std::vector<T> converted(values.begin(), values.end());
  copy<T>(ctx, matrices<const T>(converted.data(), out.rows, out.cols, out.count), out);
}

/// Host numbers (count packed column-major rows x cols items) to a scratch on the context.
template <typename T, typename U>
Scratch<T> on_context(Context& ctx, const std::vector<U>& values, std::int64_t rows,
                      std::int64_t cols, std::int64_t count) {
  Scratch<T> out(ctx, rows, cols, count);
  write_on_context<T>(ctx, values, out.view);
  return out;
}

/// out_i = V_i diag(values_i) V_iᵀ: count eigenvector matrices V_i (d x d, on the context; may
/// broadcast) and count x d values on the host, item-major (a spectral function whose values were
/// computed on the host).
template <typename T>
void from_eigenpairs(Context& ctx, MatrixBatch<const T> vectors, const std::vector<double>& values,
                     MatrixBatch<T> out) {
  const std::int64_t d = vectors.rows, count = out.count;
  std::vector<double> diagonal(static_cast<std::size_t>(d * d * count), 0.0);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t j = 0; j < d; ++j) diagonal[(i * d + j) * d + j] = values[i * d + j];
  const Scratch<T> weights = on_context<T>(ctx, diagonal, d, d, count);
  Scratch<T> scaled(ctx, d, d, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), vectors, weights.cview(), T(0),
                   scaled.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), scaled.cview(), vectors, T(0),
                   out);
}

/// Host numbers into a batch of scalars on the context (nothing when `out` is empty).
template <typename T>
void write_scalars(Context& ctx, const std::vector<double>& values, VectorBatch<T> out) {
  if (out.count == 0) return;
  write_on_context<T>(ctx, values, out.as_matrices());
}

}  // namespace gaussot
