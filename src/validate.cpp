// SPDX-License-Identifier: Apache-2.0
#include "validate.hpp"

#include <cstdint>
#include <type_traits>

#include "backend.hpp"
#include "gaussot/spectral.hpp"

namespace gaussot {

void ArgumentChecker::fail(const char* name, const std::string& what, std::int64_t item) const {
  throw InvalidArgument(std::string(function_) + ": argument '" + name + "' " + what, __FILE__,
                        __LINE__, name, item);
}

void ArgumentChecker::structure(const char* name, bool has_data, std::int64_t rows,
                                std::int64_t cols, std::int64_t ld, std::int64_t stride,
                                std::int64_t count, MemorySpace space) const {
  expect(rows >= 0 && cols >= 0 && count >= 0, name,
         "has a negative size (" + shape(rows, cols) + ", count " + std::to_string(count) + ")");
  expect(ld >= rows && ld >= 1, name,
         "has leading dimension " + std::to_string(ld) +
             " < max(1, rows = " + std::to_string(rows) + ")");
  expect(stride >= 0, name, "has a negative batch stride " + std::to_string(stride));
  expect(has_data || count == 0 || rows == 0 || cols == 0, name, "is a null pointer");
  if (ctx_ != nullptr) {
    expect(space == ctx_->memory_space(), name,
           std::string("is in ") + to_string(space) + " memory but the context is " +
               to_string(ctx_->backend()) + " (needs " + to_string(ctx_->memory_space()) +
               " memory)");
  }
}

bool ArgumentChecker::overlaps(const void* a, std::size_t a_bytes, const void* b,
                               std::size_t b_bytes) {
  if (a_bytes == 0 || b_bytes == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a);
  const auto b0 = reinterpret_cast<std::uintptr_t>(b);
  return a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}

template <typename T>
void ArgumentChecker::finite(Context& ctx, const char* name, MatrixBatch<const T> v,
                             bool lower_only) const {
  // A broadcast input repeats one matrix: scanning it once is enough (item 0 then fails first).
  const std::int64_t bad = GAUSSOT_DISPATCH(ctx, first_nonfinite<T>, v.distinct(), lower_only);
  if (bad >= 0) fail(name, "has a NaN or infinite entry in batch item " + std::to_string(bad), bad);
}

template <typename T>
void ArgumentChecker::symmetric(Context& ctx, const char* name, MatrixBatch<const T> v) const {
  const T tolerance = T(input_tolerance<T>());
  const std::int64_t bad = GAUSSOT_DISPATCH(ctx, first_asymmetric<T>, v.distinct(), tolerance);
  if (bad >= 0) {
    fail(name,
         "batch item " + std::to_string(bad) + " is not symmetric (|C - C^T| > " +
             format_number(tolerance) + " max|C|)",
         bad);
  }
}

template <typename T>
void ArgumentChecker::result_in_range(Context& ctx, const char* name, MatrixBatch<const T> out,
                                      const std::string& what, const char* rescale) const {
  if (out.count == 0) return;
  const std::int64_t bad = GAUSSOT_DISPATCH(ctx, first_nonfinite<T>, out, false);
  if (bad >= 0) {
    fail(name, out_of_range_message<T>(what, bad, rescale), bad);
  }
}

template void ArgumentChecker::result_in_range<float>(Context&, const char*,
                                                      MatrixBatch<const float>, const std::string&,
                                                      const char*) const;
template void ArgumentChecker::result_in_range<double>(Context&, const char*,
                                                       MatrixBatch<const double>,
                                                       const std::string&, const char*) const;

template void ArgumentChecker::symmetric<float>(Context&, const char*,
                                                MatrixBatch<const float>) const;
template void ArgumentChecker::symmetric<double>(Context&, const char*,
                                                 MatrixBatch<const double>) const;
template void ArgumentChecker::finite<float>(Context&, const char*, MatrixBatch<const float>,
                                             bool) const;
template void ArgumentChecker::finite<double>(Context&, const char*, MatrixBatch<const double>,
                                              bool) const;

}  // namespace gaussot
