// SPDX-License-Identifier: Apache-2.0
#include "backend.hpp"
#include "gaussot/error.hpp"
#include "parallel.hpp"

namespace gaussot::cpu {

template <typename T>
void copy(Context& ctx, MatrixBatch<const T> src, MatrixBatch<T> dst) {
  GAUSSOT_EXPECTS(src.space == MemorySpace::host && dst.space == MemorySpace::host, InvalidArgument,
                  "copy: the CPU backend copies host memory only");
  for_each_item(ctx, dst.count, [&](std::int64_t i) { item(dst, i) = item(src, i); });
}

template void copy<float>(Context&, MatrixBatch<const float>, MatrixBatch<float>);
template void copy<double>(Context&, MatrixBatch<const double>, MatrixBatch<double>);

}  // namespace gaussot::cpu
