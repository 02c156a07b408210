// SPDX-License-Identifier: Apache-2.0
// Private: the sample moments of checked samples, for the public functions that fit Gaussians to
// samples (sample_moments, frechet_distance) and name their own arguments.
#pragma once

#include <cstdint>

#include "gaussot/context.hpp"
#include "gaussot/views.hpp"
#include "validate.hpp"

namespace gaussot {

/// sample_moments (statistics.hpp) of samples its caller has checked (shapes, outputs, finite
/// values), then the refusal of a covariance beyond the range of T, naming `name`: finite samples
/// beyond about 1e154 in float64 (1e19 in float32) have one.
template <typename T>
void fit_moments(Context& ctx, const ArgumentChecker& check, const char* name,
                 MatrixBatch<const T> samples, VectorBatch<T> mean, MatrixBatch<T> covariance,
                 std::int64_t chunk_columns = 0);

}  // namespace gaussot
