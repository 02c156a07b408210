// SPDX-License-Identifier: Apache-2.0
// FrechetDistance (fid.hpp): two MomentAccumulators, or fixed statistics, and w2_squared.
#include "gaussot/fid.hpp"

#include <string>

#include "backend.hpp"
#include "compose.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {
const char* side_name(bool real) { return real ? "real" : "generated"; }

/// A mean of length d and a d x d covariance, one of each.
template <typename V, typename M>
void check_one_gaussian(const ArgumentChecker& check, VectorBatch<V> mean,
                        MatrixBatch<M> covariance, std::int64_t d) {
  check.expect(mean.count == 1 && mean.size == d, "mean",
               "must be one vector of length " + std::to_string(d));
  check.expect(covariance.count == 1 && covariance.rows == d && covariance.cols == d, "covariance",
               "must be one " + std::to_string(d) + " x " + std::to_string(d) + " matrix");
}
}  // namespace

template <typename T>
FrechetDistance<T>::FrechetDistance(Context& ctx, std::int64_t dimension)
    : ctx_(&ctx), dimension_(dimension), real_(ctx, dimension, 1), generated_(ctx, dimension, 1) {}

template <typename T>
void FrechetDistance<T>::update(MatrixBatch<const T> features, bool real) {
  const ArgumentChecker check("FrechetDistance::update", ctx_);
  check.expect(!fixed(real), side_name(real),
               "is fixed to given statistics; reset it before adding features");
  check.input("features", features);
  check.expect(features.count == 1 && features.rows == dimension_, "features",
               "must be one d x m matrix (an (m, d) array) with d = " + std::to_string(dimension_) +
                   ", got " + std::to_string(features.count) + " x (" +
                   std::to_string(features.rows) + " x " + std::to_string(features.cols) + ")");
  if (features.cols > 0) check.finite(*ctx_, "features", features, false);
  moments(real).add_checked(features);
}

template <typename T>
void FrechetDistance<T>::set_statistics(bool real, VectorBatch<const T> mean,
                                        MatrixBatch<const T> covariance) {
  const ArgumentChecker check("FrechetDistance::set_statistics", ctx_);
  check.input("mean", mean.as_matrices());
  check.input("covariance", covariance);
  check_one_gaussian(check, mean, covariance, dimension_);
  Fixed given{Array<T>(*ctx_, dimension_), Array<T>(*ctx_, dimension_ * dimension_)};
  copy<T>(*ctx_, mean.as_matrices(), given.mean.matrices(dimension_, 1, 1));
  copy<T>(*ctx_, covariance, given.covariance.matrices(dimension_, dimension_, 1));
  const GaussianBatch<const T> gaussian(given.mean.vectors(dimension_, 1),
                                        given.covariance.matrices(dimension_, dimension_, 1));
  validate_gaussians<T>(*ctx_, gaussian, "statistics");
  (real ? real_fixed_ : generated_fixed_).emplace(std::move(given));
  moments(real) = MomentAccumulator<T>(*ctx_, dimension_, 1);
}

template <typename T>
void FrechetDistance<T>::statistics(bool real, VectorBatch<T> mean,
                                    MatrixBatch<T> covariance) const {
  const ArgumentChecker check("FrechetDistance::statistics", ctx_);
  check.output("mean", mean);
  check.output("covariance", covariance);
  check_one_gaussian(check, mean, covariance, dimension_);
  if (const std::optional<Fixed>& given = fixed_side(real)) {
    copy<T>(*ctx_, given->mean.matrices(dimension_, 1, 1), mean.as_matrices());
    copy<T>(*ctx_, given->covariance.matrices(dimension_, dimension_, 1), covariance);
    return;
  }
  const std::int64_t n = moments(real).samples();
  check.expect(n >= 2, side_name(real),
               "has " + std::to_string(n) +
                   " feature vector(s) and no statistics; a covariance needs at least 2");
  moments(real).finalize(mean, covariance);
}

template <typename T>
double FrechetDistance<T>::compute(const BuresOptions& options) const {
  Scratch<T> means(*ctx_, dimension_, 1, 2), covariances(*ctx_, dimension_, dimension_, 2);
  statistics(true, means.vectors().slice(0, 1), covariances.view.slice(0, 1));
  statistics(false, means.vectors().slice(1, 2), covariances.view.slice(1, 2));
  Scratch<T> out(*ctx_, 1, 1, 1);
  w2_squared<T>(*ctx_, {means.vectors().slice(0, 1), covariances.cview().slice(0, 1)},
                {means.vectors().slice(1, 2), covariances.cview().slice(1, 2)}, out.vectors(),
                options);
  return to_host<T>(*ctx_, out.vectors())[0];
}

template <typename T>
void FrechetDistance<T>::reset(bool real) {
  (real ? real_fixed_ : generated_fixed_).reset();
  moments(real) = MomentAccumulator<T>(*ctx_, dimension_, 1);
}

template <typename T>
void FrechetDistance<T>::merge(const FrechetDistance& other) {
  const ArgumentChecker check("FrechetDistance::merge", ctx_);
  check.expect(other.dimension_ == dimension_, "other",
               "has features of dimension " + std::to_string(other.dimension_) + ", this one " +
                   std::to_string(dimension_));
  for (const bool real : {true, false}) {
    check.expect(!fixed(real) && !other.fixed(real), side_name(real),
                 "is fixed to given statistics on one of the metrics; only streamed features "
                 "merge");
  }
  real_.merge(other.real_);
  generated_.merge(other.generated_);
}

template class FrechetDistance<float>;
template class FrechetDistance<double>;

}  // namespace gaussot
