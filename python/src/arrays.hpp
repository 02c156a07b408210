// SPDX-License-Identifier: Apache-2.0
/// @file arrays.hpp
/// The one place where Python arrays become gaussot views and gaussot results become Python
/// arrays. A binding names its array arguments (Arg: the Python object, its Python name, what one
/// item holds), opens a Call on them, which picks the context and imports, checks and lays out
/// every argument, and asks the Call for views; results are written into Output buffers and
/// handed to Python without a copy.
///
/// Conventions of the module, enforced here:
/// - Arrays are NumPy arrays or anything with __dlpack__ (torch, cupy, jax, ...), float32 or
///   float64, all of one dtype in a call; other Python objects (lists, numbers) go through
///   numpy.asarray as float64.
/// - An argument is one item, e.g. a covariance (d, d), or a batch of items with one leading axis,
///   (k, d, d). Batch axes broadcast as in NumPy: equal sizes, or a single item (unbatched or
///   k = 1) repeated against the others without a copy (a stride-0 view).
/// - Layout: matrices are column-major in gaussot, so a C-order NumPy (..., n, d) sample array is
///   read as d x n matrices in place, with the leading dimension taken from the strides; a
///   symmetric argument is also read in place in Fortran order. Host arrays that cannot be
///   described by a view (negative strides, a strided last axis) are copied into C order first;
///   device arrays in such layouts are refused.
/// - Where: host arrays run on Context::cpu() (or on CUDA device N with backend "cuda" /
///   "cuda:N", copying inputs in and results out); device (CUDA) arrays run on a CUDA context of
///   their device and results stay there, returned as arrays of the input's framework. Device
///   inputs are imported with __dlpack__(stream=...) so that their producer's pending work is
///   ordered before gaussot's stream.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gaussot/gaussot.hpp"

namespace gaussot::python {

namespace nb = nanobind;

/// What one item of an array argument holds: the trailing axes of the array.
enum class Item {
  vector,     ///< (d,): one VectorBatch item
  matrix,     ///< (n, d) in NumPy order: one column-major d x n gaussot matrix (samples)
  symmetric,  ///< (d, d): one symmetric matrix, read in C or Fortran order
};

/// One array argument of a binding, named as Python names it.
class Arg {
 public:
  /// @param object the Python object (None for an absent optional argument)
  /// @param name   the Python argument name, for messages
  /// @param item   what one item holds
  /// @param batch_axes how many leading batch axes the argument may have (0 or 1)
  /// @param axes   the item axes as messages name them, e.g. "n, d"; empty for the default of
  ///               `item` ("d", "d, d" or "n, d")
  Arg(nb::handle object, std::string name, Item item, int batch_axes = 1, std::string axes = {});

  /// For functions that read one triangle of a symmetric item (gaussot reads the lower triangle
  /// of its column-major view): NumPy's upper triangle a[..., i, j], i <= j, is then read in
  /// every host layout, as in C order; a host array in Fortran order is copied into C order.
  /// (Device arrays in Fortran order, which are never copied, have their lower triangle read.)
  void read_upper_triangle() { upper_triangle_ = true; }

  bool present() const { return !object_.is_none(); }
  const std::string& name() const { return name_; }
  /// Extent of item axis `axis` (NumPy order: for Item::matrix, 0 is n and 1 is d).
  std::int64_t extent(int axis) const;
  /// True when the argument has its leading batch axis.
  bool batched() const { return batched_; }
  /// Items in the batch: the batch extent, or 1 for an unbatched argument.
  std::int64_t count() const { return count_; }
  /// The NumPy shape, e.g. "(3, 4, 4)".
  std::string shape_string() const;

 private:
  friend class Call;
  void locate();
  void import(const Context& ctx);
  void check_and_lay_out();
  bool lay_out();

  nb::object object_;
  std::string name_;
  Item item_;
  int batch_axes_;
  std::string axes_;
  int device_ = -1;  ///< CUDA device ordinal of a device array, -1 for host memory
  nb::ndarray<nb::ro> array_;
  bool batched_ = false;
  std::int64_t count_ = 1;
  bool float32_ = false;
  // The gaussot view of one item: leading dimension, batch stride, and whether a symmetric item
  // is read through its transpose (Fortran order).
  std::int64_t ld_ = 1, stride_ = 0;
  bool transposed_ = false;
  bool upper_triangle_ = false;
};

/// The batch of a result: unbatched (shape ()) or `count` items (shape (count,)).
struct Batch {
  bool batched = false;
  std::int64_t count = 1;
  std::vector<std::int64_t> shape() const {
    return batched ? std::vector<std::int64_t>{count} : std::vector<std::int64_t>{};
  }
};

/// NumPy-style broadcast of the batch axes of the present arguments: their batch sizes must agree,
/// except that a single item (unbatched, or a batch of 1) repeats against any size. Throws
/// InvalidArgument naming two arguments that disagree.
Batch broadcast(const std::vector<const Arg*>& args);

/// One binding call: the context it runs on and its imported arguments.
class Call {
 public:
  /// Locates the arguments (host, or which CUDA device), creates the context that `backend`
  /// ("auto", "cpu", "cuda" or "cuda:N") and their location call for, then imports and checks
  /// every present argument: dtype float32/float64 and the same for all, number of axes, square
  /// symmetric items, a layout a view can describe.
  Call(const std::string& backend, std::vector<Arg*> args);
  /// A call on `ctx`, which outlives the call (a stateful object's context): host arguments are
  /// read in place, device arguments must be on ctx's CUDA device (refused on a CPU context); the
  /// same imports and checks.
  Call(Context& ctx, std::vector<Arg*> args);

  Context& ctx() { return *ctx_; }
  /// The dtype of the arguments: float32 or float64.
  bool float32() const { return float32_; }
  /// True when results are returned on the device (the inputs were device arrays).
  bool device_results() const { return device_results_; }
  /// The nanobind framework that device results are returned as (that of the first device input).
  int framework() const { return framework_; }

  /// Arg as `count` matrices: its own items, or its single item repeated (stride 0). Host
  /// arguments of a CUDA context are copied to the device once, unless `to_context` is false
  /// (for functions that take host views on any context).
  template <typename T>
  MatrixBatch<const T> matrices(const Arg& arg, std::int64_t count, bool to_context = true);
  /// Arg as `count` vectors, as matrices().
  template <typename T>
  VectorBatch<const T> vectors(const Arg& arg, std::int64_t count);
  /// Arg (Item::vector without a batch axis) as one vector (count 1); empty when absent.
  template <typename T>
  VectorBatch<const T> vector(const Arg& arg);
  /// The Gaussians N(mean_i, cov_i), i < count; centered (no means) when `mean` is absent.
  template <typename T>
  GaussianBatch<const T> gaussians(const Arg& mean, const Arg& cov, std::int64_t count);

 private:
  /// Imports and checks every present argument on ctx_.
  void import_all();

  std::vector<Arg*> args_;
  std::optional<Context> owned_;  ///< the context the call created, if it created one
  Context* ctx_ = nullptr;
  bool float32_ = false;
  bool device_results_ = false;
  int framework_ = nb::no_framework::value;
  std::vector<std::shared_ptr<void>> copies_;  ///< device copies of host arguments
};

/// Calls f(float{}) or f(double{}) after the dtype of the call.
template <typename F>
nb::object with_dtype(const Call& call, F&& f) {
  if (call.float32()) return f(float{});
  return f(double{});
}

/// Memory order of a result: C order, or items whose last two axes hold a column-major matrix
/// (gaussot's layout: strides (1, rows) on those axes), so that no result is transposed by copy.
enum class Order { c, columns };

/// Strides in elements of a packed array of `shape` in `order`.
std::vector<std::int64_t> packed_strides(const std::vector<std::int64_t>& shape, Order order);

/// Wraps memory as a Python array that keeps `owner` alive: a NumPy array for host memory, an
/// array of `framework` (nanobind's framework value) for device memory. `dtype` is a DLPack
/// dtype. Shape () on the host gives a Python scalar.
nb::object to_python(void* data, const std::vector<std::int64_t>& shape,
                     const std::vector<std::int64_t>& strides, nb::handle owner,
                     nb::dlpack::dtype dtype, int device_type, int device_id, int framework);

/// A result of a call: a packed buffer in the context's memory space, handed to Python without a
/// copy (or copied to the host when a CUDA context ran on host inputs).
template <typename T>
class Output {
 public:
  /// `shape` is the NumPy shape of the result.
  Output(Call& call, std::vector<std::int64_t> shape, Order order = Order::c);

  /// The buffer as `count` packed rows x cols matrices / vectors of length `size` / scalars.
  MatrixBatch<T> matrices(std::int64_t rows, std::int64_t cols, std::int64_t count) {
    return gaussot::matrices(buffer_.data(), rows, cols, count, buffer_.space());
  }
  VectorBatch<T> vectors(std::int64_t size, std::int64_t count) {
    return gaussot::vectors(buffer_.data(), size, count, buffer_.space());
  }
  VectorBatch<T> scalars(std::int64_t count) { return vectors(1, count); }

  /// The result as a Python object (a float for shape () on the host). Waits for the context's
  /// work first. Call once.
  nb::object release();

 private:
  Call* call_;
  std::vector<std::int64_t> shape_;
  Order order_;
  Array<T> buffer_;
};

/// Host values as a NumPy array (a Python scalar for shape ()), owning them. For bool values pass
/// std::uint8_t and `as_bool`.
template <typename U>
nb::object host_array(std::vector<U> values, const std::vector<std::int64_t>& shape,
                      Order order = Order::c, bool as_bool = false);

/// The two Gaussian arguments a = N(a_mean, a_cov) and b = N(b_mean, b_cov) of a two-sided
/// function, means optional.
struct GaussianPair {
  Arg a_mean, a_cov, b_mean, b_cov;
  GaussianPair(nb::handle a_cov_, nb::handle b_cov_, nb::handle a_mean_, nb::handle b_mean_);
  std::vector<Arg*> args() { return {&a_cov, &a_mean, &b_cov, &b_mean}; }
  /// Batch of side a / side b alone, and of the pairs (a and b broadcast together).
  Batch a_batch() const { return broadcast({&a_mean, &a_cov}); }
  Batch b_batch() const { return broadcast({&b_mean, &b_cov}); }
  Batch pairs() const { return broadcast({&a_mean, &a_cov, &b_mean, &b_cov}); }
  std::int64_t a_dimension() const { return a_cov.extent(0); }
  std::int64_t b_dimension() const { return b_cov.extent(0); }
  /// What the two sides' dimensions must satisfy: equal (Bures, entropic), anything (IGW), or
  /// d_a >= d_b (an IGW map from a to b).
  enum class Dimensions { same, any, a_at_least_b };
  /// Checks that each mean has its covariance's dimension and that the sides meet `rule`, naming
  /// the Python arguments (a_cov, b_cov, a_mean, b_mean).
  void check_dimensions(Dimensions rule) const;
};

/// The skeleton of a function on pairs of Gaussians (a_i, b_i), broadcast together: the arguments
/// read, the call set up on its backend, the dimensions checked against `rule`,
/// then body(zero, call, a, b, batch) in the arrays' dtype (zero is a T; a and b are the
/// GaussianBatch<const T> of the batch.count pairs).
template <typename Body>
nb::object on_gaussian_pairs(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean,
                             nb::handle b_mean, const std::string& backend,
                             GaussianPair::Dimensions rule, Body&& body) {
  GaussianPair g(a_cov, b_cov, a_mean, b_mean);
  Call call(backend, g.args());
  g.check_dimensions(rule);
  const Batch batch = g.pairs();
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = call.gaussians<T>(g.a_mean, g.a_cov, batch.count);
    const GaussianBatch<const T> b = call.gaussians<T>(g.b_mean, g.b_cov, batch.count);
    return body(zero, call, a, b, batch);
  });
}

/// Throws gaussot::InvalidArgument with `message` (the binding's own argument checks).
[[noreturn]] void invalid_argument(const std::string& message, const std::string& argument = {},
                                   std::int64_t batch_index = -1);

/// The integer option `name` (taken from Python as a 64-bit integer) as an int: InvalidArgument
/// naming it when it is below `minimum` or above INT_MAX. Lower bounds that the library checks
/// itself are left to it (minimum INT_MIN).
int int_option(std::int64_t value, const char* name,
               std::int64_t minimum = std::numeric_limits<int>::min());

/// The items of `sequence` (a Python iterable), or InvalidArgument naming `name` with `expected`
/// (e.g. "a sequence of 1 and -1") when it is not iterable.
std::vector<nb::object> sequence_items(nb::handle sequence, const char* name, const char* expected);

/// The two sample-set arguments samples_a and samples_b ((n, d) or (k, n, d), rows are samples)
/// of one call, broadcast together. They share their features (d: the Fréchet distance), their
/// samples (n: CKA, two representations of the same inputs; InvalidArgument naming samples_b
/// otherwise), or neither (IGW between sets of any widths and sizes).
struct SamplePair {
  enum class Shared { features, samples, nothing };
  Arg a, b;
  Call call;
  Batch batch;
  SamplePair(nb::handle samples_a, nb::handle samples_b, Shared shared, const std::string& backend);
  std::int64_t rows_a() const { return a.extent(0); }
  std::int64_t rows_b() const { return b.extent(0); }
};

/// The context of a stateful object (an accumulator, a metric): "cpu", "cuda" or "cuda:N" (the
/// Python wrappers resolve "auto" from the first arrays they see). InvalidArgument otherwise.
Context object_context(const std::string& backend);

/// Refuses (naming `name`) arrays of a call whose dtype is not T: a stateful `owner`
/// ("accumulator", "metric") keeps one dtype.
template <typename T>
void require_dtype(const Call& call, const std::string& name, const char* owner) {
  const bool want32 = std::is_same_v<T, float>;
  if (call.float32() != want32) {
    invalid_argument(name + ": " + (call.float32() ? "float32" : "float64") + " array for a " +
                         (want32 ? "float32" : "float64") + " " + owner,
                     name);
  }
}

}  // namespace gaussot::python
