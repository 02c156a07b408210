// SPDX-License-Identifier: Apache-2.0
// GaussianTables (compare_tables.hpp): the IGW table from spectra, the BW table per dimension.
#include "compare_tables.hpp"

#include <algorithm>
#include <cmath>

#include "backend.hpp"
#include "compose.hpp"

namespace gaussot {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

void allocate_product_metrics(const CompareOptions& options, std::int64_t k, Comparison& result) {
  const std::size_t cells = static_cast<std::size_t>(k * k);
  if (options.cka) result.cka.assign(cells, kNaN);
  if (options.cka_debiased) result.cka_debiased.assign(cells, kNaN);
  if (options.nbs) result.nbs.assign(cells, kNaN);
  if (options.procrustes) result.procrustes.assign(cells, kNaN);
}

template <typename T>
GaussianTables<T>::GaussianTables(Context& ctx, const CompareOptions& options)
    : ctx_(ctx), options_(options) {}

template <typename T>
void GaussianTables<T>::add(std::int64_t i, VectorBatch<const T> mean,
                            MatrixBatch<const T> covariance) {
  const std::int64_t d = covariance.rows;
  dimensions_.push_back(d);
  const GaussianBatch<const T> gaussian(options_.centered ? VectorBatch<const T>() : mean,
                                        covariance);
  if (options_.igw) {
    spectra_.push_back(igw_spectra<T>(ctx_, gaussian, options_.igw_options.spectral)[0]);
  }
  if (options_.bw) {
    Array<T> kept(ctx_, d + d * d);
    copy<T>(ctx_, mean.as_matrices(), kept.matrices(d, 1, 1));
    copy<T>(ctx_, covariance, MatrixBatch<T>(kept.data() + d, d, d, d, d * d, 1, kept.space()));
    gaussians_.emplace(i, std::move(kept));
  }
}

template <typename T>
void GaussianTables<T>::igw(Comparison& result, const std::function<void()>& row_done) const {
  const auto k = static_cast<std::int64_t>(spectra_.size());
  const std::size_t cells = static_cast<std::size_t>(k * k);
  result.igw.assign(cells, kNaN);
  result.igw_lower.assign(cells, kNaN);
  result.igw_upper.assign(cells, kNaN);
  result.igw_exact.assign(cells, false);
  // Row i against sets i..k−1 (IGW is symmetric in its two Gaussians), then mirrored.
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t width = k - i;
    std::vector<double> squared(width), lower(width), upper(width);
    const std::vector<IgwSpectrum> row(spectra_.begin() + i, spectra_.end());
    const std::vector<IgwReport> reports =
        igw_squared_all_pairs(ctx_, {spectra_[i]}, row,
                              IgwMatrices<double>{matrices(squared.data(), 1, width, 1),
                                                  matrices(lower.data(), 1, width, 1),
                                                  matrices(upper.data(), 1, width, 1)},
                              options_.igw_options);
    for (std::int64_t c = 0; c < width; ++c) {
      const std::int64_t j = i + c;
      set_symmetric(result.igw, k, i, j, std::sqrt(std::max(0.0, squared[c])));
      set_symmetric(result.igw_lower, k, i, j, std::sqrt(std::max(0.0, lower[c])));
      set_symmetric(result.igw_upper, k, i, j, std::sqrt(std::max(0.0, upper[c])));
      result.igw_exact[static_cast<std::size_t>(i * k + j)] = reports[c].exact;
      result.igw_exact[static_cast<std::size_t>(j * k + i)] = reports[c].exact;
    }
    if (row_done) row_done();
  }
}

template <typename T>
void GaussianTables<T>::bw(Comparison& result, const std::function<void()>& row_done) {
  const auto k = static_cast<std::int64_t>(dimensions_.size());
  result.bw.assign(static_cast<std::size_t>(k * k), kNaN);
  std::map<std::int64_t, std::vector<std::int64_t>> groups;
  for (std::int64_t i = 0; i < k; ++i) groups[dimensions_[i]].push_back(i);
  for (const auto& [d, members] : groups) {
    const auto size = static_cast<std::int64_t>(members.size());
    Scratch<T> means(ctx_, d, 1, size), covariances(ctx_, d, d, size);
    for (std::int64_t m = 0; m < size; ++m) {
      const Array<T>& kept = gaussians_.at(members[m]);
      copy<T>(ctx_, kept.matrices(d, 1, 1), means.view.slice(m, m + 1));
      copy<T>(ctx_, MatrixBatch<const T>(kept.data() + d, d, d, d, d * d, 1, kept.space()),
              covariances.view.slice(m, m + 1));
      gaussians_.erase(members[m]);
    }
    const GaussianBatch<const T> group(
        options_.centered ? VectorBatch<const T>() : VectorBatch<const T>(means.vectors()),
        covariances.cview());
    // Row m against the group's later sets; the diagonal is W2(N, N) = 0 exactly.
    for (std::int64_t m = 0; m < size; ++m) {
      set_symmetric(result.bw, k, members[m], members[m], 0.0);
      const std::int64_t width = size - m - 1;
      if (width > 0) {
        Scratch<T> row(ctx_, 1, width, 1);
        w2_squared_all_pairs<T>(ctx_, group.slice(m, m + 1), group.slice(m + 1, size), row.view,
                                options_.bw_options);
        std::vector<T> host(static_cast<std::size_t>(width));
        copy<T>(ctx_, row.cview(), matrices(host.data(), 1, width, 1));
        for (std::int64_t c = 0; c < width; ++c) {
          set_symmetric(result.bw, k, members[m], members[m + 1 + c],
                        std::sqrt(std::max(0.0, double(host[c]))));
        }
      }
      if (row_done) row_done();
    }
  }
}

template class GaussianTables<float>;
template class GaussianTables<double>;

}  // namespace gaussot
