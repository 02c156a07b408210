// SPDX-License-Identifier: Apache-2.0
#include "gaussot/statistics.hpp"

#include <algorithm>

#include "backend.hpp"
#include "compose.hpp"
#include "moments.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {
constexpr std::int64_t kChunkElements = std::int64_t(1) << 24;

template <typename T>
void check_samples(Context& ctx, const ArgumentChecker& check, const char* name,
                   MatrixBatch<const T> samples, std::int64_t dimension, std::int64_t count) {
  check.input(name, samples);
  check.expect(samples.rows == dimension, name,
               "holds samples of dimension " + std::to_string(samples.rows) + ", expected " +
                   std::to_string(dimension));
  check.count(name, samples.count, count);
  if (!samples.empty() && samples.rows > 0 && samples.cols > 0) {
    check.finite(ctx, name, samples, /*lower_only=*/false);
  }
}

/// Shapes and counts of `count` means of length d and d x d matrices (`matrix`: their name).
template <typename V, typename M>
void check_moment_shapes(const ArgumentChecker& check, VectorBatch<V> mean, const char* matrix,
                         MatrixBatch<M> matrices, std::int64_t dimension, std::int64_t count) {
  check.vector_size("mean", mean, dimension);
  check.count("mean", mean.count, count);
  check.matrix_shape(matrix, matrices, dimension, dimension);
  check.count(matrix, matrices.count, count);
}

template <typename T>
void check_moment_outputs(const ArgumentChecker& check, VectorBatch<T> mean,
                          MatrixBatch<T> covariance, std::int64_t dimension, std::int64_t count) {
  check.output("mean", mean);
  check.output("covariance", covariance);
  check_moment_shapes(check, mean, "covariance", covariance, dimension, count);
  check.no_alias("mean", mean.as_matrices(), "covariance", covariance);
}

/// Merges samples[:, 0:n] of every item into (mean, scatter), chunk by chunk.
template <typename T>
void add_in_chunks(Context& ctx, MatrixBatch<const T> samples, std::int64_t chunk_columns,
                   std::int64_t samples_before, VectorBatch<T> mean, MatrixBatch<T> scatter) {
  const std::int64_t n = samples.cols;
  for (std::int64_t begin = 0; begin < n; begin += chunk_columns) {
    const std::int64_t end = std::min(n, begin + chunk_columns);
    GAUSSOT_DISPATCH(ctx, accumulate_moments<T>, samples.columns(begin, end),
                     samples_before + begin, mean, scatter);
  }
}

/// covariance = scatter / (n - 1); mean_out = mean (skipped when they are the same view). Refuses
/// a covariance beyond the range of T (finite samples too large to square), naming `name`.
template <typename T>
void write_moments(Context& ctx, const ArgumentChecker& check, const char* name, std::int64_t n,
                   VectorBatch<const T> mean, MatrixBatch<const T> scatter, VectorBatch<T> mean_out,
                   MatrixBatch<T> covariance) {
  if (mean.data != mean_out.data)
    combine<T>(ctx, {{T(1), mean.as_matrices()}}, mean_out.as_matrices());
  combine<T>(ctx, {{T(1) / T(n - 1), scatter}}, covariance);
  check.result_in_range<T>(ctx, name, covariance,
                           "its sample covariance (the samples are too large to square)",
                           "the samples");
}
}  // namespace

template <typename T>
MomentAccumulator<T>::MomentAccumulator(Context& ctx, std::int64_t dimension, std::int64_t count)
    : ctx_(&ctx), dimension_(dimension), count_(count) {
  const ArgumentChecker check("MomentAccumulator", &ctx);
  check.at_least("dimension", dimension, 1);
  check.at_least("count", count, 0);
  mean_ = Array<T>(ctx, dimension * count);
  scatter_ = Array<T>(ctx, dimension * dimension * count);
}

template <typename T>
void MomentAccumulator<T>::add(MatrixBatch<const T> chunk) {
  const ArgumentChecker check("MomentAccumulator::add", ctx_);
  check_samples(*ctx_, check, "chunk", chunk, dimension_, count_);
  add_checked(chunk);
}

template <typename T>
void MomentAccumulator<T>::add_checked(MatrixBatch<const T> chunk) {
  if (count_ == 0 || chunk.cols == 0) return;
  add_in_chunks<T>(*ctx_, chunk, chunk.cols, samples_, mean_.vectors(dimension_, count_),
                   scatter_.matrices(dimension_, dimension_, count_));
  samples_ += chunk.cols;
}

template <typename T>
void MomentAccumulator<T>::finalize(VectorBatch<T> mean, MatrixBatch<T> covariance) const {
  const ArgumentChecker check("MomentAccumulator::finalize", ctx_);
  check_moment_outputs(check, mean, covariance, dimension_, count_);
  check.expect(samples_ >= 2, "samples",
               "a covariance needs at least 2 samples, got " + std::to_string(samples_));
  if (count_ == 0) return;
  write_moments<T>(*ctx_, check, "samples", samples_, mean_.vectors(dimension_, count_),
                   scatter_.matrices(dimension_, dimension_, count_), mean, covariance);
}

template <typename T>
void MomentAccumulator<T>::merge(const MomentAccumulator& other) {
  const ArgumentChecker check("MomentAccumulator::merge", ctx_);
  check.expect(other.dimension_ == dimension_ && other.count_ == count_, "other",
               "holds " + std::to_string(other.count_) + " sets of dimension " +
                   std::to_string(other.dimension_) + ", this one " + std::to_string(count_) +
                   " of dimension " + std::to_string(dimension_));
  check.expect(&other != this, "other", "is this accumulator (merge a copy)");
  if (other.samples_ == 0 || count_ == 0) return;
  const VectorBatch<T> mean = mean_.vectors(dimension_, count_);
  const MatrixBatch<T> scatter = scatter_.matrices(dimension_, dimension_, count_);
  const VectorBatch<const T> other_mean = other.mean_.vectors(dimension_, count_);
  const MatrixBatch<const T> other_scatter =
      other.scatter_.matrices(dimension_, dimension_, count_);
  if (samples_ == 0) {
    copy<T>(*ctx_, other_mean.as_matrices(), mean.as_matrices());
    copy<T>(*ctx_, other_scatter, scatter);
    samples_ = other.samples_;
    return;
  }
  // n = n_a + n_b, δ = mean_b − mean_a: M += M_b + δδᵀ n_a n_b / n, mean += δ n_b / n.
  const double n_a = double(samples_), n_b = double(other.samples_), n = n_a + n_b;
  Scratch<T> delta(*ctx_, dimension_, 1, count_);
  combine<T>(*ctx_, {{T(1), other_mean.as_matrices()}, {T(-1), mean.as_matrices()}}, delta.view);
  combine<T>(*ctx_, {{T(1), scatter}, {T(1), other_scatter}}, scatter);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(n_a * n_b / n), delta.cview(),
                   delta.cview(), T(1), scatter);
  combine<T>(*ctx_, {{T(1), mean.as_matrices()}, {T(n_b / n), delta.cview()}}, mean.as_matrices());
  samples_ += other.samples_;
}

template <typename T>
void MomentAccumulator<T>::state(VectorBatch<T> mean, MatrixBatch<T> scatter) const {
  const ArgumentChecker check("MomentAccumulator::state", ctx_);
  check.output("mean", mean);
  check.output("scatter", scatter);
  check_moment_shapes(check, mean, "scatter", scatter, dimension_, count_);
  if (count_ == 0) return;
  copy<T>(*ctx_, mean_.vectors(dimension_, count_).as_matrices(), mean.as_matrices());
  copy<T>(*ctx_, scatter_.matrices(dimension_, dimension_, count_), scatter);
}

template <typename T>
void MomentAccumulator<T>::restore(std::int64_t samples, VectorBatch<const T> mean,
                                   MatrixBatch<const T> scatter) {
  const ArgumentChecker check("MomentAccumulator::restore", ctx_);
  check.at_least("samples", samples, 0);
  check.input("mean", mean.as_matrices());
  check.input("scatter", scatter);
  check_moment_shapes(check, mean, "scatter", scatter, dimension_, count_);
  if (count_ > 0) {
    check.finite(*ctx_, "mean", mean.as_matrices(), false);
    check.finite(*ctx_, "scatter", scatter, false);
    check.symmetric(*ctx_, "scatter", scatter);
  }
  Array<T> new_mean(*ctx_, dimension_ * count_),
      new_scatter(*ctx_, dimension_ * dimension_ * count_);
  if (count_ > 0) {
    copy<T>(*ctx_, mean.as_matrices(), new_mean.vectors(dimension_, count_).as_matrices());
    copy<T>(*ctx_, scatter, new_scatter.matrices(dimension_, dimension_, count_));
  }
  mean_ = std::move(new_mean);
  scatter_ = std::move(new_scatter);
  samples_ = samples;
}

template <typename T>
void sample_moments(Context& ctx, MatrixBatch<const T> samples, VectorBatch<T> mean,
                    MatrixBatch<T> covariance, std::int64_t chunk_columns) {
  const ArgumentChecker check("sample_moments", &ctx);
  const std::int64_t d = samples.rows;
  check.expect(d >= 1, "samples", "must have dimension >= 1 (rows), got " + std::to_string(d));
  check_moment_outputs(check, mean, covariance, d, samples.count);
  check.no_alias("samples", samples, "mean", mean.as_matrices());
  check.no_alias("samples", samples, "covariance", covariance);
  check.expect(
      samples.cols >= 2, "samples",
      "a covariance needs at least 2 samples (columns), got " + std::to_string(samples.cols));
  check.at_least("chunk_columns", chunk_columns, 0);
  check_samples(ctx, check, "samples", samples, d, samples.count);
  fit_moments<T>(ctx, check, "samples", samples, mean, covariance, chunk_columns);
}

template <typename T>
void fit_moments(Context& ctx, const ArgumentChecker& check, const char* name,
                 MatrixBatch<const T> samples, VectorBatch<T> mean, MatrixBatch<T> covariance,
                 std::int64_t chunk_columns) {
  if (samples.empty()) return;
  const std::int64_t d = samples.rows;
  if (chunk_columns == 0) {
    chunk_columns = std::max<std::int64_t>(1, kChunkElements / (d * samples.count));
  }
  // The outputs hold the running state: mean, and the scatter matrix in `covariance`.
  add_in_chunks<T>(ctx, samples, chunk_columns, 0, mean, covariance);
  write_moments<T>(ctx, check, name, samples.cols, mean, covariance, mean, covariance);
}

#define GAUSSOT_INSTANTIATE(T)                                                                    \
  template class MomentAccumulator<T>;                                                            \
  template void sample_moments<T>(Context&, MatrixBatch<const T>, VectorBatch<T>, MatrixBatch<T>, \
                                  std::int64_t);                                                  \
  template void fit_moments<T>(Context&, const ArgumentChecker&, const char*,                     \
                               MatrixBatch<const T>, VectorBatch<T>, MatrixBatch<T>,              \
                               std::int64_t);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
