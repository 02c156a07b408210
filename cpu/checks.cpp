// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>

#include "backend.hpp"
#include "parallel.hpp"

namespace gaussot::cpu {

template <typename T>
std::int64_t first_nonfinite(Context& ctx, MatrixBatch<const T> a, bool lower_only) {
  FirstItem first;
  for_each_item(ctx, a.count, double(a.rows) * double(a.cols), [&](std::int64_t i) {
    for (std::int64_t c = 0; c < a.cols; ++c) {
      for (std::int64_t r = lower_only ? c : 0; r < a.rows; ++r) {
        if (!std::isfinite(a.at(i, r, c))) {
          first.record(i);
          return;
        }
      }
    }
  });
  return first.get();
}

template <typename T>
std::int64_t first_asymmetric(Context& ctx, MatrixBatch<const T> a, T tolerance) {
  FirstItem first;
  for_each_item(ctx, a.count, double(a.rows) * double(a.cols), [&](std::int64_t i) {
    T largest = 0, asymmetry = 0;
    for (std::int64_t c = 0; c < a.cols; ++c) {
      for (std::int64_t r = 0; r < a.rows; ++r) {
        largest = std::max(largest, std::abs(a.at(i, r, c)));
        if (r > c) asymmetry = std::max(asymmetry, std::abs(a.at(i, r, c) - a.at(i, c, r)));
      }
    }
    if (asymmetry > tolerance * largest) first.record(i);
  });
  return first.get();
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_CHECK_PRIMITIVES)

}  // namespace gaussot::cpu
