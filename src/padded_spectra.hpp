// SPDX-License-Identifier: Apache-2.0
// Private: centered Gaussians of possibly different dimensions, given as groups of covariances
// (igw_barycenter, igw_kmeans), reduced to their zero-padded decreasing spectra — all that the
// centered IGW closed form (§2.2), its barycenter (§4) and its k-means depend on.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gaussian_batches.hpp"
#include "spectral_internal.hpp"
#include "validate.hpp"

namespace gaussot {

/// Eigenvalues a caller gives as a spectrum (IgwSpectrum): checks that they are finite and
/// decreasing with no value below the clamping rule of `spectral` (-τ·max(scale_floor, largest):
/// an eigensolver's rounding on a singular covariance, e.g. NumPy's eigvalsh when n < d), and sets
/// the negative ones to 0, as igw_spectra would have. False (values unchanged or part-clamped)
/// when they fail.
inline bool clamp_given_eigenvalues(std::vector<double>& w, const SpectralOptions& spectral) {
  const auto d = static_cast<std::int64_t>(w.size());
  const double tau = spectral.psd_tolerance.value_or(default_psd_tolerance<double>(d));
  const double floor = -tau * std::max(spectral.scale_floor, w.empty() ? 0.0 : w.front());
  for (std::size_t l = 0; l < w.size(); ++l) {
    if (!(std::isfinite(w[l]) && w[l] >= floor && (l == 0 || w[l] <= w[l - 1]))) return false;
  }
  for (double& x : w) x = std::max(x, 0.0);
  return true;
}

/// The items of the groups: how many, and the largest dimension (the padded length).
struct CovarianceGroups {
  std::int64_t count = 0;
  std::int64_t depth = 0;
};

/// Checks the groups' shapes (each a batch of square matrices, 'inputs.covariances') and that
/// they hold at least one covariance ('inputs').
template <typename T>
CovarianceGroups check_covariance_groups(const ArgumentChecker& check,
                                         const std::vector<MatrixBatch<const T>>& inputs) {
  CovarianceGroups groups;
  for (const MatrixBatch<const T>& group : inputs) {
    check.input("inputs.covariances", group);
    check.square("inputs.covariances", group);
    groups.count += group.count;
    groups.depth = std::max(groups.depth, group.rows);
  }
  check.expect(groups.count >= 1, "inputs", "must hold at least one covariance");
  return groups;
}

/// The decreasing spectra of every item, zero-padded to groups.depth: count rows of depth values
/// (item-major). Values are checked (finite, symmetric, PSD under `spectral`); with several groups
/// an error names the group and the item's index across all groups.
template <typename T>
std::vector<double> padded_spectra(Context& ctx, const ArgumentChecker& check,
                                   const std::vector<MatrixBatch<const T>>& inputs,
                                   const CovarianceGroups& groups,
                                   const SpectralOptions& spectral) {
  std::vector<double> rows(static_cast<std::size_t>(groups.count * groups.depth), 0.0);
  std::int64_t item = 0;
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const MatrixBatch<const T>& group = inputs[index];
    std::vector<double> values;
    try {
      check_values(ctx, check, Names("inputs"),
                   GaussianBatch<const T>(VectorBatch<const T>(), group));
      values = checked_spectra<T>(ctx, check, "inputs.covariances", group, MatrixBatch<T>(),
                                  spectral, false);
    } catch (const InvalidArgument& e) {
      if (e.batch_index() < 0 || inputs.size() == 1) throw;
      const std::int64_t overall = item + e.batch_index();
      throw InvalidArgument(e.message() + " of group " + std::to_string(index) + " (input " +
                                std::to_string(overall) + ")",
                            __FILE__, __LINE__, e.argument(), overall);
    }
    for (std::int64_t i = 0; i < group.count; ++i, ++item) {
      std::copy_n(values.data() + i * group.rows, group.rows, rows.data() + item * groups.depth);
    }
  }
  return rows;
}

}  // namespace gaussot
