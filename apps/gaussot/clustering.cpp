// SPDX-License-Identifier: Apache-2.0
#include "clustering.hpp"

#include <algorithm>
#include <cmath>

namespace gaussot::cli {

std::vector<double> igw_distances(Context& ctx, const std::vector<IgwSpectrum>& spectra) {
  const auto k = static_cast<std::int64_t>(spectra.size());
  std::vector<double> squared(static_cast<std::size_t>(k * k));
  igw_squared_all_pairs(
      ctx, spectra, spectra,
      {matrices(squared.data(), k, k, 1), MatrixBatch<double>(), MatrixBatch<double>()});
  return distances_from_squares(squared, k);
}

template <typename T>
PlanarMap planar_map(Context& ctx, const std::vector<double>& distances) {
  const auto k = static_cast<std::int64_t>(std::lround(std::sqrt(double(distances.size()))));
  Array<T> on_context =
      Array<T>::from_host(ctx, std::vector<T>(distances.begin(), distances.end()));
  Array<T> coordinates(ctx, 2 * k);  // 2 x k column-major: (k, 2) in C order
  const MdsReport mds =
      classical_mds<T>(ctx, on_context.matrices(k, k, 1), coordinates.matrices(2, k, 1));
  const std::vector<T> embedding = coordinates.take_host(ctx);
  return {{embedding.begin(), embedding.end()}, mds.variance_kept};
}

template PlanarMap planar_map<float>(Context&, const std::vector<double>&);
template PlanarMap planar_map<double>(Context&, const std::vector<double>&);

}  // namespace gaussot::cli
