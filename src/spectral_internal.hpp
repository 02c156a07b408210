// SPDX-License-Identifier: Apache-2.0
// Private: the spectral primitives run on behalf of a public function, turning a clamping-rule
// failure into an InvalidArgument that names that function's argument.
#pragma once

#include <vector>

#include "backend.hpp"
#include "validate.hpp"

namespace gaussot {

/// The clamping rule of `options` for order d (default tolerance filled in), validated.
template <typename T>
ClampRule clamp_rule(const ArgumentChecker& check, std::int64_t d, const SpectralOptions& options);

/// out_r = f_r(a) for each request; a failure of the rule names `argument` (and, when given,
/// `seen_as`: the matrix the eigenvalues belong to, when it is not `argument` itself).
template <typename T>
void run_spectral(Context& ctx, const ArgumentChecker& check, const char* argument,
                  MatrixBatch<const T> a, const std::vector<SpectralRequest<T>>& requests,
                  const SpectralOptions& options, const char* seen_as = nullptr);

/// out_i = tr f(a_i) from eigenvalues only; failures as for run_spectral.
template <typename T>
void run_spectral_trace(Context& ctx, const ArgumentChecker& check, const char* argument,
                        MatrixBatch<const T> a, SpectralFunction f, VectorBatch<T> out,
                        const SpectralOptions& options, const char* seen_as = nullptr);

/// Eigendecomposition for algorithms that work on spectra: the decreasing eigenvalues of each
/// a_i, on the host in double, checked against the clamping rule (positive definite when
/// `positive_definite`; failures name `argument`) and with the values below the rounding level
/// set to 0 (spectral_rule::noise_level). `eigenvectors`: count x (d x d) on the context, or
/// empty (count 0) for eigenvalues only. Returns count x d values, item-major.
template <typename T>
std::vector<double> checked_spectra(Context& ctx, const ArgumentChecker& check,
                                    const char* argument, MatrixBatch<const T> a,
                                    MatrixBatch<T> eigenvectors, const SpectralOptions& options,
                                    bool positive_definite);

}  // namespace gaussot
