// SPDX-License-Identifier: Apache-2.0
#include "nuclear_norm.hpp"

#include <omp.h>

#include <Eigen/SVD>
#include <exception>

namespace gaussot::host {

std::vector<double> nuclear_norms(const std::vector<HostMatrix>& matrices, int threads) {
  std::vector<double> norms(matrices.size());
  const auto count = static_cast<std::int64_t>(matrices.size());
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) \
    num_threads(threads > 0 ? threads : omp_get_max_threads()) if (count > 1)
  for (std::int64_t i = 0; i < count; ++i) {
    try {
      const HostMatrix& m = matrices[i];
      const Eigen::Map<const Eigen::MatrixXd> map(m.data, m.rows, m.cols);
      norms[i] = Eigen::BDCSVD<Eigen::MatrixXd>(map).singularValues().sum();
    } catch (...) {
#pragma omp critical(gaussot_nuclear_norms)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return norms;
}

}  // namespace gaussot::host
