// SPDX-License-Identifier: Apache-2.0
#include "backend.hpp"
#include "gaussot/error.hpp"
#include "parallel.hpp"

namespace gaussot::cpu {

template <typename T>
void copy(Context& ctx, MatrixBatch<const T> src, MatrixBatch<T> dst) {
  GAUSSOT_EXPECTS(src.space == MemorySpace::host && dst.space == MemorySpace::host, InvalidArgument,
                  "copy: the CPU backend copies host memory only");
  for_each_item(ctx, dst.count, double(dst.rows) * double(dst.cols),
                [&](std::int64_t i) { item(dst, i) = item(src, i); });
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_COPY_PRIMITIVES)

}  // namespace gaussot::cpu
