// SPDX-License-Identifier: Apache-2.0
// What `cluster` and `demo` share of a clustering besides the library's k-means: the distance
// matrix of the items and its planar map (classical MDS), as they are shown.
#pragma once

#include <cstdint>
#include <vector>

#include "gaussot/gaussot.hpp"

namespace gaussot::cli {

/// The centered IGW distances (not squared) of all pairs of spectra, k x k.
std::vector<double> igw_distances(Context& ctx, const std::vector<IgwSpectrum>& spectra);

/// The classical MDS map of k items: embedding k x 2 in C order (row i the point of item i) and
/// the share of the variance the two axes keep.
struct PlanarMap {
  std::vector<double> embedding;
  double variance_kept = 1;
};

/// The map of k items from their k x k distances, computed on the context at precision T.
template <typename T>
PlanarMap planar_map(Context& ctx, const std::vector<double>& distances);

}  // namespace gaussot::cli
