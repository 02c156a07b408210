// SPDX-License-Identifier: Apache-2.0
// Private: nuclear norms (sums of singular values) of small dense matrices on the host, for the
// shape metrics of compare (compare.hpp: normalized Bures similarity, Procrustes distance), for
// both backends: the matrices are the d_i x d_j blocks of the CKA products, copied to the host.
#pragma once

#include <cstdint>
#include <vector>

namespace gaussot::host {

/// One column-major rows x cols matrix in host memory, `ld` elements between columns.
struct HostMatrix {
  const double* data = nullptr;
  std::int64_t rows = 0, cols = 0, ld = 0;
};

/// ‖M‖_* = Σ σ_i(M) of every matrix (singular values by Eigen's BDCSVD, values only), on
/// `threads` OpenMP threads (0: OpenMP's default).
std::vector<double> nuclear_norms(const std::vector<HostMatrix>& matrices, int threads);

}  // namespace gaussot::host
