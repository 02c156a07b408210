// SPDX-License-Identifier: Apache-2.0
// The neural-GW primitives (backend.hpp, GAUSSOT_NGW_PRIMITIVES) on the host: elementwise loops
// over columns, threaded on the context's OpenMP team. The random numbers are those of the CUDA
// kernels (philox.hpp), element by element.
#include <cmath>

#include "backend.hpp"
#include "mlp_rule.hpp"
#include "parallel.hpp"
#include "philox.hpp"

namespace gaussot::cpu {
namespace {

/// Whether an elementwise loop over n elements, each costing about `cost` of kMinParallelWork's
/// units, is worth a team of threads: a training step's activation loops (cost 1) over
/// batch x width values are not, and they run many times a step; its normal draws (Philox, a log
/// and a cosine each) are, from about 2^13 numbers.
bool threaded(const Context& ctx, std::int64_t n, double cost) {
  return ctx.num_threads() > 1 && double(n) * cost >= kMinParallelWork;
}

/// Runs body(c) for the columns c of a rows x cols matrix, on the context's threads when large.
template <typename Body>
void for_each_column(Context& ctx, std::int64_t rows, std::int64_t cols, double cost, Body body) {
  const bool parallel = threaded(ctx, rows * cols, cost);
#pragma omp parallel for num_threads(ctx.num_threads()) schedule(static) if (parallel)
  for (std::int64_t c = 0; c < cols; ++c) body(c);
}

}  // namespace

template <typename T>
void random_normal(Context& ctx, std::uint64_t seed, std::uint64_t draw, MatrixBatch<T> out) {
  for_each_column(ctx, out.rows, out.cols, 32, [&](std::int64_t c) {
    for (std::int64_t r = 0; r < out.rows; ++r) {
      out.at(0, r, c) = T(philox::normal(seed, draw, std::uint64_t(r + c * out.rows)));
    }
  });
}

template <typename T>
void random_columns(Context& ctx, MatrixBatch<const T> source, std::uint64_t seed,
                    std::uint64_t draw, MatrixBatch<T> out) {
  for_each_column(ctx, out.rows, out.cols, 1, [&](std::int64_t c) {
    const std::int64_t j = philox::below(seed, draw, std::uint64_t(c), source.cols);
    for (std::int64_t r = 0; r < out.rows; ++r) out.at(0, r, c) = source.at(0, r, j);
  });
}

template <typename T>
void bias_activation(Context& ctx, Activation activation, VectorBatch<const T> bias,
                     MatrixBatch<T> a) {
  for_each_column(ctx, a.rows, a.cols, 1, [&](std::int64_t c) {
    for (std::int64_t r = 0; r < a.rows; ++r) {
      T& value = a.at(0, r, c);
      value = mlp_rule::activate(activation, value + bias.at(0, r));
    }
  });
}

template <typename T>
void activation_backward(Context& ctx, Activation activation, MatrixBatch<const T> a,
                         MatrixBatch<T> g) {
  if (activation == Activation::identity) return;
  for_each_column(ctx, g.rows, g.cols, 1, [&](std::int64_t c) {
    for (std::int64_t r = 0; r < g.rows; ++r) {
      g.at(0, r, c) *= mlp_rule::derivative_at_value(activation, a.at(0, r, c));
    }
  });
}

template <typename T>
void adam_update(Context& ctx, const AdamStep& step, VectorBatch<T> parameters,
                 VectorBatch<const T> gradients, VectorBatch<T> first_moment,
                 VectorBatch<T> second_moment) {
  const std::int64_t n = parameters.size;
  const bool parallel = threaded(ctx, n, 4);
#pragma omp parallel for num_threads(ctx.num_threads()) schedule(static) if (parallel)
  for (std::int64_t i = 0; i < n; ++i) {
    mlp_rule::adam(step, parameters.data[i], gradients.data[i], first_moment.data[i],
                   second_moment.data[i]);
  }
}

template <typename T>
void rescale_to_norm(Context&, MatrixBatch<T> a, T norm) {
  auto matrix = item(a, 0);
  const T current = matrix.norm();
  if (current > T(0)) matrix *= norm / current;
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_NGW_PRIMITIVES)

}  // namespace gaussot::cpu
