// SPDX-License-Identifier: Apache-2.0
#include "nuclear_norm.hpp"

#include <Eigen/SVD>

#include "parallel.hpp"

namespace gaussot::host {

std::vector<double> nuclear_norms(const std::vector<HostMatrix>& matrices, int threads) {
  std::vector<double> norms(matrices.size());
  for_each_item(static_cast<std::int64_t>(matrices.size()), threads, [&](std::int64_t i) {
    const HostMatrix& m = matrices[i];
    const Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> map(
        m.data, m.rows, m.cols, Eigen::OuterStride<>(m.ld));
    norms[i] = Eigen::BDCSVD<Eigen::MatrixXd>(map).singularValues().sum();
  });
  return norms;
}

}  // namespace gaussot::host
