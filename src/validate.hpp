// SPDX-License-Identifier: Apache-2.0
// Private: argument checks of the public layer. Every failure throws InvalidArgument with a
// message "<function>: argument '<name>': <what is wrong>", naming the batch item where one is at
// fault.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "gaussot/context.hpp"
#include "gaussot/eigh.hpp"
#include "gaussot/error.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// A number as %g would print it (std::to_string prints 1e-12 as 0.000000).
inline std::string format_number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

class ArgumentChecker {
 public:
  /// `function` names the public entry point in messages; with a context, views must be in its
  /// memory space.
  explicit ArgumentChecker(const char* function, const Context* ctx = nullptr)
      : function_(function), ctx_(ctx) {}

  /// Throws InvalidArgument "<function>: argument '<name>' <what>", carrying name and item.
  [[noreturn]] void fail(const char* name, const std::string& what, std::int64_t item = -1) const;
  void expect(bool condition, const char* name, const std::string& what) const {
    if (!condition) fail(name, what);
  }

  // Named checks of scalars and options: one rule and one message ("must be ..., got X") each.
  /// Finite and > 0.
  void positive(const char* name, double value, const char* note = "") const {
    expect(std::isfinite(value) && value > 0, name,
           std::string("must be finite and > 0") + note + ", got " + format_number(value));
  }
  /// Finite and >= 0.
  void non_negative(const char* name, double value) const {
    expect(std::isfinite(value) && value >= 0, name,
           "must be finite and >= 0, got " + format_number(value));
  }
  /// An integer (a count, iterations) of at least `minimum`.
  void at_least(const char* name, std::int64_t value, std::int64_t minimum) const {
    expect(value >= minimum, name,
           "must be >= " + std::to_string(minimum) + ", got " + std::to_string(value));
  }
  /// In [low, high] (or [low, high) with open_high, (low, high) with open_low too).
  void in_interval(const char* name, double value, double low, double high, bool open_low,
                   bool open_high) const {
    const bool above = open_low ? value > low : value >= low;
    const bool below = open_high ? value < high : value <= high;
    expect(above && below, name,
           std::string("must be in ") + (open_low ? "(" : "[") + format_number(low) + ", " +
               format_number(high) + (open_high ? ")" : "]") + ", got " + format_number(value));
  }
  /// Refuses a result computed on the host that does not fit T (non-finite or beyond its largest
  /// value), with result_in_range's message; `item` names the batch item (or pair) when >= 0.
  template <typename T>
  void value_in_range(const char* name, double value, const std::string& what,
                      std::int64_t item = -1, const char* rescale = "the inputs") const {
    if (std::isfinite(value) && std::fabs(value) <= double(std::numeric_limits<T>::max())) return;
    fail(name, out_of_range_message<T>(what, item, rescale), item);
  }

  /// Structure of an input view: non-negative sizes, ld >= rows, stride >= 0 (0 broadcasts), a
  /// pointer when not empty, and the context's memory space.
  template <typename T>
  void input(const char* name, const MatrixBatch<T>& v) const {
    structure(name, v.data != nullptr, v.rows, v.cols, v.ld, v.stride, v.count, v.space);
  }
  template <typename T>
  void input(const char* name, const VectorBatch<T>& v) const {
    input(name, v.as_matrices());
  }
  /// An output view: as input(), and the items must not overlap (no broadcasting).
  template <typename T>
  void output(const char* name, const MatrixBatch<T>& v) const {
    input(name, v);
    expect(v.count <= 1 || v.stride >= v.ld * (v.cols - 1) + v.rows, name,
           "batch items overlap (stride " + std::to_string(v.stride) +
               " is smaller than one item); outputs cannot broadcast");
  }
  template <typename T>
  void output(const char* name, const VectorBatch<T>& v) const {
    output(name, v.as_matrices());
  }

  template <typename T>
  void square(const char* name, const MatrixBatch<T>& v) const {
    expect(v.rows == v.cols, name, "must hold square matrices, got " + shape(v.rows, v.cols));
  }
  template <typename T>
  void matrix_shape(const char* name, const MatrixBatch<T>& v, std::int64_t rows,
                    std::int64_t cols) const {
    expect(v.rows == rows && v.cols == cols, name,
           "has shape " + shape(v.rows, v.cols) + ", expected " + shape(rows, cols));
  }
  template <typename T>
  void vector_size(const char* name, const VectorBatch<T>& v, std::int64_t size) const {
    expect(v.size == size, name,
           "has length " + std::to_string(v.size) + ", expected " + std::to_string(size));
  }
  void count(const char* name, std::int64_t count, std::int64_t expected) const {
    expect(count == expected, name,
           "has " + std::to_string(count) + " batch items, expected " + std::to_string(expected));
  }
  /// An optional output: empty (count 0, not requested), or `items` vectors of length `size`.
  template <typename T>
  void optional_output(const char* name, const VectorBatch<T>& v, std::int64_t size,
                       std::int64_t items) const {
    if (v.count == 0) return;
    output(name, v);
    vector_size(name, v, size);
    count(name, v.count, items);
  }
  /// An output of `items` rows x cols matrices.
  template <typename T>
  void output(const char* name, const MatrixBatch<T>& m, std::int64_t rows, std::int64_t cols,
              std::int64_t items) const {
    output(name, m);
    matrix_shape(name, m, rows, cols);
    count(name, m.count, items);
  }
  /// An optional output of `items` rows x cols matrices (or empty).
  template <typename T>
  void optional_output(const char* name, const MatrixBatch<T>& m, std::int64_t rows,
                       std::int64_t cols, std::int64_t items) const {
    if (m.count == 0) return;
    output(name, m, rows, cols, items);
  }
  template <typename A, typename B>
  void same_shape(const char* name_a, const MatrixBatch<A>& a, const char* name_b,
                  const MatrixBatch<B>& b) const {
    expect(b.rows == a.rows && b.cols == a.cols && b.count == a.count, name_b,
           "has " + std::to_string(b.count) + " items of shape " + shape(b.rows, b.cols) +
               ", but '" + name_a + "' has " + std::to_string(a.count) + " of shape " +
               shape(a.rows, a.cols));
  }
  /// Two views must not share memory (checked on address ranges).
  template <typename A, typename B>
  void no_alias(const char* name_a, const MatrixBatch<A>& a, const char* name_b,
                const MatrixBatch<B>& b) const {
    expect(!overlaps(a.data, extent(a) * sizeof(A), b.data, extent(b) * sizeof(B)), name_b,
           std::string("must not share memory with '") + name_a + "'");
  }

  /// Requested outputs (count > 0; the others are skipped) share memory with no input and with no
  /// other output.
  template <typename T>
  void outputs_apart(std::initializer_list<std::pair<const char*, MatrixBatch<const T>>> inputs,
                     std::initializer_list<std::pair<const char*, MatrixBatch<T>>> outputs) const {
    for (auto o = outputs.begin(); o != outputs.end(); ++o) {
      if (o->second.count == 0) continue;
      for (const auto& in : inputs) no_alias(in.first, in.second, o->first, o->second);
      for (auto earlier = outputs.begin(); earlier != o; ++earlier) {
        if (earlier->second.count > 0)
          no_alias(earlier->first, earlier->second, o->first, o->second);
      }
    }
  }

  /// `out` either shares no memory with `in` or is exactly the same view (same pointer, ld and
  /// stride), which in-place operations allow.
  template <typename A, typename B>
  void same_view_or_no_alias(const char* name_in, const MatrixBatch<A>& in, const char* name_out,
                             const MatrixBatch<B>& out) const {
    const bool identical =
        static_cast<const void*>(in.data) == static_cast<const void*>(out.data) &&
        in.ld == out.ld && in.stride == out.stride;
    if (!identical) no_alias(name_in, in, name_out, out);
  }

  /// Finite entries (lower triangle only when lower_only); names the first bad item. Runs the
  /// backend's scan (a synchronizing read on CUDA).
  template <typename T>
  void finite(Context& ctx, const char* name, MatrixBatch<const T> v, bool lower_only) const;

  /// Symmetric square items (|a_rc − a_cr| <= input_tolerance<T>() · max |a_rc|); names the first
  /// item that is not. Runs the backend's scan (a synchronizing read on CUDA).
  template <typename T>
  void symmetric(Context& ctx, const char* name, MatrixBatch<const T> v) const;

  /// Refuses a computed result `out` with a non-finite entry, blaming `name`: finite inputs whose
  /// result (`what`, e.g. "W2²") is beyond the range of T. The message asks to rescale `rescale`.
  template <typename T>
  void result_in_range(Context& ctx, const char* name, MatrixBatch<const T> out,
                       const std::string& what, const char* rescale = "the inputs") const;

  /// The forced eigensolvers each backend has, for matrices of order d (see EighAlgorithm).
  void algorithm(const Context& ctx, EighAlgorithm algorithm, std::int64_t d) const {
    const bool cuda = ctx.backend() == Backend::cuda;
    expect(!(cuda && algorithm == EighAlgorithm::implicit_qr) &&
               !(!cuda && algorithm == EighAlgorithm::jacobi),
           "options.algorithm",
           std::string("asks for an eigensolver the ") + to_string(ctx.backend()) +
               " backend does not have");
    expect(algorithm != EighAlgorithm::jacobi || d <= kJacobiMaxOrder, "options.algorithm",
           "is jacobi, which serves orders up to " + std::to_string(kJacobiMaxOrder) + ", not " +
               std::to_string(d));
  }

  /// "[batch item i: ]<what> is beyond the range of float32|float64; rescale <rescale>".
  template <typename T>
  static std::string out_of_range_message(const std::string& what, std::int64_t item,
                                          const char* rescale) {
    return (item >= 0 ? "batch item " + std::to_string(item) + ": " : std::string()) + what +
           " is beyond the range of " + (std::is_same_v<T, float> ? "float32" : "float64") +
           "; rescale " + rescale;
  }

  const char* function() const noexcept { return function_; }
  static std::string shape(std::int64_t rows, std::int64_t cols) {
    return std::to_string(rows) + "x" + std::to_string(cols);
  }

 private:
  void structure(const char* name, bool has_data, std::int64_t rows, std::int64_t cols,
                 std::int64_t ld, std::int64_t stride, std::int64_t count, MemorySpace space) const;
  template <typename T>
  static std::int64_t extent(const MatrixBatch<T>& v) {
    if (v.count == 0 || v.rows == 0 || v.cols == 0) return 0;
    return (v.count - 1) * v.stride + (v.cols - 1) * v.ld + v.rows;
  }
  static bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes);

  const char* function_;
  const Context* ctx_;
};

}  // namespace gaussot
