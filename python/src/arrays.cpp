// SPDX-License-Identifier: Apache-2.0
// Python arrays to gaussot views and back (arrays.hpp).
#include "arrays.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gaussot::python {
namespace {

constexpr int kCpu = nb::device::cpu::value;
constexpr int kCuda = nb::device::cuda::value;
constexpr int kCudaHost = nb::device::cuda_host::value;
constexpr int kCudaManaged = nb::device::cuda_managed::value;

std::string python_type_name(nb::handle object) {
  return nb::cast<std::string>(nb::handle(object.type()).attr("__name__"));
}

/// "float32", "int64", "bool", ... for messages.
std::string dtype_name(nb::dlpack::dtype dtype) {
  using Code = nb::dlpack::dtype_code;
  const auto code = static_cast<Code>(dtype.code);
  const std::string bits = std::to_string(dtype.bits);
  if (code == Code::Bool) return "bool";
  if (code == Code::Int) return "int" + bits;
  if (code == Code::UInt) return "uint" + bits;
  if (code == Code::Float) return "float" + bits;
  if (code == Code::Bfloat) return "bfloat" + bits;
  if (code == Code::Complex) return "complex" + bits;
  return "DLPack type code " + std::to_string(dtype.code) + " of " + bits + " bits";
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::ostringstream out;
  out << '(';
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out << (i ? ", " : "") << shape[i];
  }
  out << (shape.size() == 1 ? ",)" : ")");
  return out.str();
}

/// The nanobind framework of a Python array object, from the module of its type.
int framework_of(nb::handle object) {
  const std::string module = nb::cast<std::string>(nb::handle(object.type()).attr("__module__"));
  auto starts = [&](const char* prefix) { return module.rfind(prefix, 0) == 0; };
  if (starts("torch")) return nb::pytorch::value;
  if (starts("cupy")) return nb::cupy::value;
  if (starts("jax")) return nb::jax::value;
  return nb::no_framework::value;
}

}  // namespace

void invalid_argument(const std::string& message, const std::string& argument,
                      std::int64_t batch_index) {
  throw InvalidArgument(message, __FILE__, __LINE__, argument, batch_index);
}

int int_option(std::int64_t value, const char* name, std::int64_t minimum) {
  constexpr std::int64_t maximum = std::numeric_limits<int>::max();
  if (value < minimum || value > maximum) {
    const std::string range =
        minimum == std::numeric_limits<int>::min()
            ? "at most " + std::to_string(maximum)
            : "an integer in [" + std::to_string(minimum) + ", " + std::to_string(maximum) + "]";
    invalid_argument(std::string(name) + ": expected " + range + ", got " + std::to_string(value),
                     name);
  }
  return static_cast<int>(value);
}

std::vector<nb::object> sequence_items(nb::handle sequence, const char* name,
                                       const char* expected) {
  std::vector<nb::object> items;
  try {
    for (nb::handle item : sequence) items.push_back(nb::borrow(item));
  } catch (nb::python_error& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    invalid_argument(std::string(name) + ": expected " + expected + ", got " +
                         python_type_name(sequence) + " " +
                         nb::cast<std::string>(nb::repr(sequence)),
                     name);
  }
  return items;
}

// ---- Arg ----------------------------------------------------------------------------------------

Arg::Arg(nb::handle object, std::string name, Item item, int batch_axes, std::string axes)
    : object_(nb::borrow(object)),
      name_(std::move(name)),
      item_(item),
      batch_axes_(batch_axes),
      axes_(std::move(axes)) {
  if (axes_.empty()) {
    axes_ = item == Item::vector ? "d" : item == Item::symmetric ? "d, d" : "n, d";
  }
}

std::int64_t Arg::extent(int axis) const {
  if (!present()) return 0;
  const int item_axes = item_ == Item::vector ? 1 : 2;
  return static_cast<std::int64_t>(array_.shape(array_.ndim() - item_axes + axis));
}

std::string Arg::shape_string() const {
  std::vector<std::int64_t> shape;
  for (std::size_t i = 0; i < array_.ndim(); ++i) shape.push_back(std::int64_t(array_.shape(i)));
  return shape_text(shape);
}

/// Finds where the argument lives from __dlpack_device__ (objects without it are host data).
void Arg::locate() {
  if (!present() || !nb::hasattr(object_, "__dlpack_device__")) return;
  const nb::object device = object_.attr("__dlpack_device__")();
  const int type = nb::cast<int>(device[0]);
  if (type == kCuda || type == kCudaManaged) {
    device_ = nb::cast<int>(device[1]);
  } else if (type != kCpu && type != kCudaHost) {
    invalid_argument(name_ + ": arrays in DLPack device type " + std::to_string(type) +
                         " are not supported (host memory or CUDA devices only)",
                     name_);
  }
}

/// Imports the array: host objects through DLPack or the buffer protocol (nanobind), other
/// Python objects through numpy.asarray; device arrays through __dlpack__(stream=ctx's stream).
void Arg::import(const Context& ctx) {
  if (device_ >= 0) {
    nb::object capsule;
    try {
      const auto stream = reinterpret_cast<std::intptr_t>(ctx.stream());
      capsule = object_.attr("__dlpack__")(nb::arg("stream") = stream);
    } catch (nb::python_error& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      capsule = object_.attr("__dlpack__")();  // a producer without the stream keyword
    }
    if (!nb::try_cast(capsule, array_) ||
        (array_.device_type() != kCuda && array_.device_type() != kCudaManaged)) {
      invalid_argument(name_ + ": could not import the device array through DLPack", name_);
    }
  } else if (!nb::try_cast(object_, array_)) {
    // NumPy arrays that nanobind does not import directly: float32/float64 in a non-native byte
    // order are converted to the native order; any other dtype (strings, objects, longdouble,
    // dates) is refused like an int64 array, never converted element by element. Other Python
    // objects (lists, numbers) of integers or reals become float64; lists of other things
    // (None, strings, booleans, complex numbers) are refused.
    const nb::module_ numpy = nb::module_::import_("numpy");
    const bool is_array = nb::isinstance(object_, numpy.attr("ndarray"));
    nb::object converted;
    try {
      converted = numpy.attr("asarray")(object_);
    } catch (nb::python_error& e) {
      invalid_argument(name_ + ": expected an array (a NumPy array, a DLPack tensor or numbers), " +
                           "got " + python_type_name(object_) + " (" + e.what() + ")",
                       name_);
    }
    const nb::object dtype = converted.attr("dtype");
    const std::string kind = nb::cast<std::string>(dtype.attr("kind"));
    const int itemsize = nb::cast<int>(dtype.attr("itemsize"));
    const std::string dtype_text = nb::cast<std::string>(nb::str(dtype));
    if (is_array) {
      if (kind != "f" || (itemsize != 4 && itemsize != 8)) {
        invalid_argument(name_ + ": expected float32 or float64 values, got " + dtype_text, name_);
      }
      converted =
          numpy.attr("asarray")(converted, nb::arg("dtype") = itemsize == 4 ? "=f4" : "=f8");
    } else {
      if (kind != "i" && kind != "u" && kind != "f") {
        invalid_argument(name_ +
                             ": expected an array (a NumPy array, a DLPack tensor or numbers), " +
                             "got " + python_type_name(object_) + " holding " + dtype_text +
                             " values (expected float32 or float64 values)",
                         name_);
      }
      converted = numpy.attr("asarray")(converted, nb::arg("dtype") = "float64");
    }
    array_ = nb::cast<nb::ndarray<nb::ro>>(converted);
  }
  check_and_lay_out();
}

/// Checks dtype and shape and finds the view of the array's layout; copies host arrays that no
/// view describes into C order.
void Arg::check_and_lay_out() {
  const nb::dlpack::dtype dtype = array_.dtype();
  if (dtype.code != static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float) ||
      (dtype.bits != 32 && dtype.bits != 64) || dtype.lanes != 1) {
    invalid_argument(name_ + ": expected float32 or float64 values, got " + dtype_name(dtype),
                     name_);
  }
  float32_ = dtype.bits == 32;
  const int item_axes = item_ == Item::vector ? 1 : 2;
  const int ndim = static_cast<int>(array_.ndim());
  if (ndim < item_axes || ndim > item_axes + batch_axes_) {
    const std::string item = "(" + axes_ + (item_axes == 1 ? ",)" : ")");
    const std::string expected = batch_axes_ > 0 ? item + " or (k, " + axes_ + ")" : item;
    invalid_argument(name_ + ": expected shape " + expected + ", got " + shape_string(), name_);
  }
  if (item_ == Item::symmetric && extent(0) != extent(1)) {
    invalid_argument(name_ + ": expected square matrices, got shape " + shape_string(), name_);
  }
  batched_ = ndim > item_axes;
  count_ = batched_ ? std::int64_t(array_.shape(0)) : 1;
  const bool laid_out = lay_out();
  if (laid_out && !(upper_triangle_ && transposed_ && device_ < 0)) return;
  if (device_ >= 0) {
    invalid_argument(name_ +
                         ": a device array needs unit stride along its last axis and "
                         "non-negative strides; pass a contiguous copy",
                     name_);
  }
  // A NumPy view of the object (through DLPack where it has it), copied into C order.
  const nb::module_ numpy = nb::module_::import_("numpy");
  const nb::object view = nb::hasattr(object_, "__dlpack__") ? numpy.attr("from_dlpack")(object_)
                                                             : numpy.attr("asarray")(object_);
  array_ = nb::cast<nb::ndarray<nb::ro>>(numpy.attr("ascontiguousarray")(view));
  if (!lay_out()) invalid_argument(name_ + ": unsupported memory layout", name_);
}

/// Sets ld_, stride_ and transposed_ when a gaussot view can describe the array as it is.
bool Arg::lay_out() {
  const int ndim = static_cast<int>(array_.ndim());
  auto shape = [&](int axis) { return std::int64_t(array_.shape(axis)); };
  auto stride = [&](int axis) { return array_.stride(axis); };
  stride_ = 0;
  if (array_.size() == 0) {  // no element is read: any layout will do
    transposed_ = false;
    ld_ = item_ == Item::vector ? 1 : std::max<std::int64_t>(shape(ndim - 1), 1);
    return true;
  }
  if (batched_ && count_ > 1) {
    stride_ = stride(0);
    if (stride_ < 0) return false;
  }
  if (item_ == Item::vector) {
    ld_ = 1;
    return shape(ndim - 1) <= 1 || stride(ndim - 1) == 1;
  }
  // NumPy item (R, C) is the column-major C x R matrix with leading dimension stride(R axis)...
  const std::int64_t r = shape(ndim - 2), c = shape(ndim - 1);
  const std::int64_t sr = stride(ndim - 2), sc = stride(ndim - 1);
  transposed_ = false;
  if ((c <= 1 || sc == 1) && (r <= 1 || sr >= c)) {
    ld_ = std::max<std::int64_t>({r <= 1 ? c : sr, c, 1});
    return true;
  }
  // ... and a symmetric item in Fortran order is read as its transpose.
  if (item_ == Item::symmetric && (r <= 1 || sr == 1) && (c <= 1 || sc >= r)) {
    ld_ = std::max<std::int64_t>({c <= 1 ? r : sc, r, 1});
    transposed_ = true;
    return true;
  }
  return false;
}

// ---- broadcasting -------------------------------------------------------------------------------

Batch broadcast(const std::vector<const Arg*>& args) {
  Batch batch;
  const Arg* sized = nullptr;  // the argument that set a size other than 1
  for (const Arg* arg : args) {
    if (!arg->present()) continue;
    batch.batched = batch.batched || arg->batched();
    if (arg->count() == 1) continue;
    if (sized != nullptr && arg->count() != batch.count) {
      invalid_argument("batch sizes do not match: " + sized->name() + " has " +
                           std::to_string(batch.count) + " items but " + arg->name() + " has " +
                           std::to_string(arg->count()) +
                           " (give equal batch sizes, or one item to pair with all)",
                       arg->name());
    }
    sized = arg;
    batch.count = arg->count();
  }
  return batch;
}

// ---- Call ---------------------------------------------------------------------------------------

namespace {
/// True when `arg` is a single item to repeat `count` times; else its count must be `count`.
bool check_count(const Arg& arg, std::int64_t count) {
  if (arg.count() == 1) return true;
  if (arg.count() != count) {
    invalid_argument(arg.name() + " has " + std::to_string(arg.count()) + " items, expected " +
                         std::to_string(count),
                     arg.name());
  }
  return false;
}
}  // namespace

Call::Call(const std::string& backend, std::vector<Arg*> args) : args_(std::move(args)) {
  int requested_device = 0;
  const bool want_cuda = backend == "cuda" || backend.rfind("cuda:", 0) == 0;
  if (backend.rfind("cuda:", 0) == 0) {
    try {
      std::size_t used = 0;
      requested_device = std::stoi(backend.substr(5), &used);
      if (used != backend.size() - 5 || requested_device < 0) throw std::invalid_argument("");
    } catch (const std::exception&) {
      invalid_argument("backend: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got '" + backend + "'",
                       "backend");
    }
  } else if (backend != "auto" && backend != "cpu" && !want_cuda) {
    invalid_argument("backend: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got '" + backend + "'",
                     "backend");
  }

  // Where the arguments are: every device array must be on one device.
  const Arg* on_device = nullptr;
  for (Arg* arg : args_) {
    arg->locate();
    if (arg->device_ < 0) continue;
    if (on_device != nullptr && arg->device_ != on_device->device_) {
      invalid_argument(arg->name() + " is on CUDA device " + std::to_string(arg->device_) +
                           " but " + on_device->name() + " is on CUDA device " +
                           std::to_string(on_device->device_) + ": pass arrays on one device",
                       arg->name());
    }
    if (on_device == nullptr) on_device = arg;
  }
  if (on_device != nullptr) {
    if (backend == "cpu") {
      invalid_argument("backend='cpu' but " + on_device->name() + " is on CUDA device " +
                           std::to_string(on_device->device_) +
                           ": move the arrays to host memory, or use backend='auto'",
                       "backend");
    }
    if (backend.rfind("cuda:", 0) == 0 && requested_device != on_device->device_) {
      invalid_argument("backend='" + backend + "' but " + on_device->name() +
                           " is on CUDA device " + std::to_string(on_device->device_),
                       "backend");
    }
    ctx_ = &owned_.emplace(Context::cuda(on_device->device_));
    device_results_ = true;
    framework_ = framework_of(on_device->object_);
  } else if (want_cuda) {
    ctx_ = &owned_.emplace(Context::cuda(requested_device));
  } else {
    ctx_ = &owned_.emplace(Context::cpu());
  }
  import_all();
}

Call::Call(Context& ctx, std::vector<Arg*> args) : args_(std::move(args)), ctx_(&ctx) {
  for (Arg* arg : args_) {
    arg->locate();
    if (arg->device_ < 0) continue;
    if (ctx.backend() != Backend::cuda || arg->device_ != ctx.device()) {
      invalid_argument(
          arg->name() + " is on CUDA device " + std::to_string(arg->device_) +
              " but this object's backend is " +
              (ctx.backend() == Backend::cuda ? "CUDA device " + std::to_string(ctx.device())
                                              : std::string("the CPU")) +
              ": pass arrays on its device or in host memory",
          arg->name());
    }
    device_results_ = true;
    framework_ = framework_of(arg->object_);
  }
  import_all();
}

void Call::import_all() {
  // Import and check; one dtype for all.
  const Arg* first = nullptr;
  for (Arg* arg : args_) {
    if (!arg->present()) continue;
    arg->import(*ctx_);
    if (first == nullptr) {
      first = arg;
      float32_ = arg->float32_;
    } else if (arg->float32_ != float32_) {
      invalid_argument("mixed dtypes: " + first->name() + " is " +
                           (float32_ ? "float32" : "float64") + " but " + arg->name() + " is " +
                           (arg->float32_ ? "float32" : "float64") +
                           "; convert the arrays to one dtype",
                       arg->name());
    }
  }
}

SamplePair::SamplePair(nb::handle samples_a, nb::handle samples_b, Shared shared,
                       const std::string& backend)
    : a(samples_a, "samples_a", Item::matrix, 1, shared == Shared::samples ? "n, d_a" : ""),
      b(samples_b, "samples_b", Item::matrix, 1, shared == Shared::samples ? "n, d_b" : ""),
      call(backend, {&a, &b}) {
  if (shared == Shared::features && a.extent(1) != b.extent(1)) {
    invalid_argument("samples_a has " + std::to_string(a.extent(1)) +
                         " features but samples_b has " + std::to_string(b.extent(1)),
                     "samples_b");
  }
  if (shared == Shared::samples && a.extent(0) != b.extent(0)) {
    invalid_argument("samples_a has " + std::to_string(a.extent(0)) + " samples (rows) but " +
                         "samples_b has " + std::to_string(b.extent(0)) +
                         ": CKA compares two representations of the same inputs",
                     "samples_b");
  }
  batch = broadcast({&a, &b});
}

Context object_context(const std::string& backend) {
  if (backend == "cpu") return Context::cpu();
  if (backend == "cuda") return Context::cuda(0);
  if (backend.rfind("cuda:", 0) == 0) {
    try {
      std::size_t used = 0;
      const int device = std::stoi(backend.substr(5), &used);
      if (used == backend.size() - 5 && device >= 0) return Context::cuda(device);
    } catch (const std::exception&) {
    }
  }
  invalid_argument("backend: expected 'cpu', 'cuda' or 'cuda:N', got '" + backend + "'", "backend");
}

template <typename T>
MatrixBatch<const T> Call::matrices(const Arg& arg, std::int64_t count, bool to_context) {
  const bool transposed = arg.transposed_;
  const std::int64_t r = arg.extent(0), c = arg.extent(1);
  const std::int64_t rows = transposed ? r : c, cols = transposed ? c : r;
  const bool single = check_count(arg, count);
  const std::int64_t items = single ? std::min<std::int64_t>(count, 1) : count;
  MatrixBatch<const T> view(static_cast<const T*>(arg.array_.data()), rows, cols, arg.ld_,
                            single ? 0 : arg.stride_, items,
                            arg.device_ >= 0 ? MemorySpace::device : MemorySpace::host);
  if (to_context && view.space != ctx_->memory_space()) {  // a host argument of a CUDA context
    auto copy_buffer =
        std::make_shared<Array<T>>(*ctx_, std::max<std::int64_t>(rows * cols * items, 1));
    const MatrixBatch<T> packed =
        gaussot::matrices(copy_buffer->data(), rows, cols, items, copy_buffer->space());
    copy<T>(*ctx_, view, packed);
    view = packed;
    copies_.push_back(copy_buffer);
  }
  if (single) {
    view.stride = 0;
    view.count = count;
  }
  return view;
}

template <typename T>
VectorBatch<const T> Call::vectors(const Arg& arg, std::int64_t count) {
  const std::int64_t size = arg.extent(0);
  const bool single = check_count(arg, count);
  const std::int64_t items = single ? std::min<std::int64_t>(count, 1) : count;
  VectorBatch<const T> view(static_cast<const T*>(arg.array_.data()), size,
                            single ? 0 : arg.stride_, items,
                            arg.device_ >= 0 ? MemorySpace::device : MemorySpace::host);
  if (view.space != ctx_->memory_space()) {
    auto copy_buffer = std::make_shared<Array<T>>(*ctx_, std::max<std::int64_t>(size * items, 1));
    const VectorBatch<T> packed =
        gaussot::vectors(copy_buffer->data(), size, items, copy_buffer->space());
    copy<T>(*ctx_, view, packed);
    view = packed;
    copies_.push_back(copy_buffer);
  }
  if (single) {
    view.stride = 0;
    view.count = count;
  }
  return view;
}

template <typename T>
VectorBatch<const T> Call::vector(const Arg& arg) {
  if (!arg.present()) return {};
  return vectors<T>(arg, 1);
}

template <typename T>
GaussianBatch<const T> Call::gaussians(const Arg& mean, const Arg& cov, std::int64_t count) {
  GaussianBatch<const T> g;
  g.covariances = matrices<T>(cov, count);
  if (mean.present()) g.means = vectors<T>(mean, count);
  return g;
}

// ---- results ------------------------------------------------------------------------------------

std::vector<std::int64_t> packed_strides(const std::vector<std::int64_t>& shape, Order order) {
  const std::size_t n = shape.size();
  std::vector<std::int64_t> strides(n);
  std::int64_t step = 1;
  for (std::size_t i = n; i-- > 0;) {
    strides[i] = step;
    step *= std::max<std::int64_t>(shape[i], 1);
  }
  if (order == Order::columns && n >= 2) {
    strides[n - 2] = 1;
    strides[n - 1] = std::max<std::int64_t>(shape[n - 2], 1);
  }
  return strides;
}

nb::object to_python(void* data, const std::vector<std::int64_t>& shape,
                     const std::vector<std::int64_t>& strides, nb::handle owner,
                     nb::dlpack::dtype dtype, int device_type, int device_id, int framework) {
  const std::vector<std::size_t> extents(shape.begin(), shape.end());
  const nb::ndarray<> array(data, extents.size(), extents.data(), owner, strides.data(), dtype,
                            device_type, device_id);
  if (device_type == kCpu) {
    nb::object numpy_array = nb::cast(nb::ndarray<nb::numpy>(array));
    if (shape.empty()) return numpy_array[nb::tuple()];  // NumPy scalar of the dtype
    return numpy_array;
  }
  switch (framework) {
    case nb::pytorch::value:
      return nb::cast(nb::ndarray<nb::pytorch>(array));
    case nb::cupy::value:
      return nb::cast(nb::ndarray<nb::cupy>(array));
    case nb::jax::value:
      return nb::cast(nb::ndarray<nb::jax>(array));
    default:
      return nb::cast(array);  // nanobind's array: has __dlpack__ and __dlpack_device__
  }
}

template <typename T>
Output<T>::Output(Call& call, std::vector<std::int64_t> shape, Order order)
    : call_(&call), shape_(std::move(shape)), order_(order) {
  std::int64_t size = 1;
  for (std::int64_t extent : shape_) {
    if (extent > 0 &&
        size > std::numeric_limits<std::int64_t>::max() / std::int64_t(sizeof(T)) / extent) {
      GAUSSOT_THROW(OutOfMemory, "a result of shape " + shape_text(shape_) + " is too large");
    }
    size *= extent;
  }
  buffer_ = Array<T>(call.ctx(), std::max<std::int64_t>(size, 1));  // never a null pointer
  // Host results start at 0, so that nothing uninitialised can reach Python even where the
  // library writes nothing (e.g. an empty dimension); device results are always written.
  if (buffer_.space() == MemorySpace::host) std::fill_n(buffer_.data(), buffer_.size(), T(0));
}

template <typename T>
nb::object Output<T>::release() {
  Context& ctx = call_->ctx();
  const std::vector<std::int64_t> strides = packed_strides(shape_, order_);
  const bool on_device = buffer_.space() == MemorySpace::device;
  if (on_device) ctx.synchronize();
  if (on_device && !call_->device_results()) {  // host inputs computed on CUDA: copy back
    Array<T> host = Array<T>::host(buffer_.size());
    copy<T>(ctx, gaussot::vectors<const T>(buffer_.data(), buffer_.size(), 1, buffer_.space()),
            gaussot::vectors(host.data(), host.size(), 1));
    buffer_ = std::move(host);
  }
  auto owner = std::make_unique<Array<T>>(std::move(buffer_));
  T* data = owner->data();
  nb::capsule capsule(owner.get(), [](void* p) noexcept { delete static_cast<Array<T>*>(p); });
  owner.release();  // the capsule owns it now
  const bool device = on_device && call_->device_results();
  return to_python(data, shape_, strides, capsule, nb::dtype<T>(), device ? kCuda : kCpu,
                   device ? ctx.device() : 0, call_->framework());
}

template <typename U>
nb::object host_array(std::vector<U> values, const std::vector<std::int64_t>& shape, Order order,
                      bool as_bool) {
  if (values.empty()) values.resize(1);  // never a null pointer
  auto owner = std::make_unique<std::vector<U>>(std::move(values));
  U* data = owner->data();
  nb::capsule capsule(owner.get(),
                      [](void* p) noexcept { delete static_cast<std::vector<U>*>(p); });
  owner.release();  // the capsule owns it now
  const nb::dlpack::dtype dtype = as_bool ? nb::dtype<bool>() : nb::dtype<U>();
  return to_python(data, shape, packed_strides(shape, order), capsule, dtype, kCpu, 0, 0);
}

// ---- two Gaussians ------------------------------------------------------------------------------

GaussianPair::GaussianPair(nb::handle a_cov_, nb::handle b_cov_, nb::handle a_mean_,
                           nb::handle b_mean_)
    : a_mean(a_mean_, "a_mean", Item::vector),
      a_cov(a_cov_, "a_cov", Item::symmetric),
      b_mean(b_mean_, "b_mean", Item::vector),
      b_cov(b_cov_, "b_cov", Item::symmetric) {}

void GaussianPair::check_dimensions(Dimensions rule) const {
  for (const auto* side : {&a_mean, &b_mean}) {
    const Arg& cov = side == &a_mean ? a_cov : b_cov;
    if (side->present() && side->extent(0) != cov.extent(0)) {
      invalid_argument(side->name() + " has length " + std::to_string(side->extent(0)) + " but " +
                           cov.name() + " holds " + std::to_string(cov.extent(0)) + " x " +
                           std::to_string(cov.extent(0)) + " covariances",
                       side->name());
    }
  }
  if (rule == Dimensions::a_at_least_b && a_dimension() < b_dimension()) {
    invalid_argument("b_cov is " + std::to_string(b_dimension()) + " x " +
                         std::to_string(b_dimension()) + ", larger than a_cov's " +
                         std::to_string(a_dimension()) + " x " + std::to_string(a_dimension()) +
                         ": a map from a to b needs d_a >= d_b (map b to a instead)",
                     "b_cov");
  }
  if (rule == Dimensions::same && a_dimension() != b_dimension()) {
    invalid_argument("a_cov is " + std::to_string(a_dimension()) + " x " +
                         std::to_string(a_dimension()) + " but b_cov is " +
                         std::to_string(b_dimension()) + " x " + std::to_string(b_dimension()) +
                         ": both sides need one dimension",
                     "b_cov");
  }
}

// ---- instantiations -----------------------------------------------------------------------------

template MatrixBatch<const float> Call::matrices<float>(const Arg&, std::int64_t, bool);
template MatrixBatch<const double> Call::matrices<double>(const Arg&, std::int64_t, bool);
template VectorBatch<const float> Call::vectors<float>(const Arg&, std::int64_t);
template VectorBatch<const double> Call::vectors<double>(const Arg&, std::int64_t);
template VectorBatch<const float> Call::vector<float>(const Arg&);
template VectorBatch<const double> Call::vector<double>(const Arg&);
template GaussianBatch<const float> Call::gaussians<float>(const Arg&, const Arg&, std::int64_t);
template GaussianBatch<const double> Call::gaussians<double>(const Arg&, const Arg&, std::int64_t);
template class Output<float>;
template class Output<double>;
template nb::object host_array<float>(std::vector<float>, const std::vector<std::int64_t>&, Order,
                                      bool);
template nb::object host_array<double>(std::vector<double>, const std::vector<std::int64_t>&, Order,
                                       bool);
template nb::object host_array<std::int64_t>(std::vector<std::int64_t>,
                                             const std::vector<std::int64_t>&, Order, bool);
template nb::object host_array<std::uint8_t>(std::vector<std::uint8_t>,
                                             const std::vector<std::int64_t>&, Order, bool);

}  // namespace gaussot::python
