// SPDX-License-Identifier: Apache-2.0
// Private: small helpers for backend-neutral algorithms that compose primitives (src/*.cpp).
#pragma once

#include <initializer_list>
#include <optional>
#include <utility>

#include "backend.hpp"
#include "gaussot/array.hpp"

namespace gaussot {

/// out = max(floor, Σ c_j x_j) elementwise, at most LinearCombination<T>::kMaxTerms terms.
template <typename T>
void combine(Context& ctx, std::initializer_list<std::pair<T, MatrixBatch<const T>>> terms,
             MatrixBatch<T> out, std::optional<T> floor = std::nullopt) {
  LinearCombination<T> combination;
  for (const auto& [coefficient, term] : terms) {
    combination.coefficients[combination.count] = coefficient;
    combination.terms[combination.count] = term;
    ++combination.count;
  }
  combination.has_floor = floor.has_value();
  combination.floor = floor.value_or(T(0));
  GAUSSOT_DISPATCH(ctx, combine<T>, combination, out);
}

/// A packed scratch batch in the context's memory space, with its views.
template <typename T>
struct Scratch {
  Array<T> array;
  MatrixBatch<T> view;
  Scratch(Context& ctx, std::int64_t rows, std::int64_t cols, std::int64_t count)
      : array(ctx, rows * cols * count), view(array.matrices(rows, cols, count)) {}
  MatrixBatch<const T> cview() const { return view; }
  /// The items as a batch of `count` scalars or vectors (cols == 1).
  VectorBatch<T> vectors() const {
    return {view.data, view.rows, view.stride, view.count, view.space};
  }
};

}  // namespace gaussot
