// SPDX-License-Identifier: Apache-2.0
#include "gaussot/array.hpp"

#include <cstdlib>
#include <limits>
#include <new>

#include "backend.hpp"
#include "gaussot/error.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {
constexpr std::size_t kHostAlignment = 64;

template <typename T>
std::int64_t checked_bytes(std::int64_t size) {
  GAUSSOT_EXPECTS(size >= 0, InvalidArgument,
                  "Array: size must be >= 0, got " + std::to_string(size));
  GAUSSOT_EXPECTS(size <= std::numeric_limits<std::int64_t>::max() / std::int64_t(sizeof(T)),
                  OutOfMemory,
                  "Array: " + std::to_string(size) + " elements overflow a byte count");
  return size * static_cast<std::int64_t>(sizeof(T));
}

void* allocate_host(std::int64_t bytes) {
  if (bytes == 0) {
    return nullptr;
  }
  const std::size_t rounded =
      (static_cast<std::size_t>(bytes) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  void* p = std::aligned_alloc(kHostAlignment, rounded);
  GAUSSOT_EXPECTS(p != nullptr, OutOfMemory,
                  "out of host memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}
}  // namespace

template <typename T>
void Array<T>::Deleter::operator()(T* p) const noexcept {
  if (!owns) return;
  if (space == MemorySpace::device) {
    cuda::deallocate(device, p);
  } else {
    std::free(p);
  }
}

template <typename T>
Array<T>::Array(T* data, std::int64_t size, Deleter deleter) : ptr_(data, deleter), size_(size) {}

template <typename T>
Array<T>::Array(const Context& ctx, std::int64_t size) {
  const std::int64_t bytes = checked_bytes<T>(size);
  if (ctx.backend() == Backend::cuda) {
    *this = Array(static_cast<T*>(cuda::allocate(ctx.device(), bytes)), size,
                  Deleter{MemorySpace::device, ctx.device()});
  } else {
    *this = host(size);
  }
}

template <typename T>
Array<T> Array<T>::host(std::int64_t size) {
  return Array(static_cast<T*>(allocate_host(checked_bytes<T>(size))), size,
               Deleter{MemorySpace::host, -1});
}

template <typename T>
Array<T> Array<T>::from_host(Context& ctx, std::vector<T> values) {
  const auto size = static_cast<std::int64_t>(values.size());
  if (ctx.backend() == Backend::cuda) {
    Array device(ctx, size);
    copy<T>(ctx, gaussot::vectors<const T>(values.data(), size, 1), device.vectors(size, 1));
    return device;
  }
  // Moving a std::vector keeps its storage, so ptr_ stays valid when the array moves.
  Array adopted(values.data(), size, Deleter{MemorySpace::host, -1, false});
  adopted.adopted_ = std::move(values);
  return adopted;
}

template <typename T>
std::vector<T> Array<T>::take_host(Context& ctx) {
  std::vector<T> values;
  if (!ptr_.get_deleter().owns) {
    values = std::move(adopted_);
  } else if (size_ > 0) {
    values.resize(static_cast<std::size_t>(size_));
    copy<T>(ctx, vectors(size_, 1), gaussot::vectors(values.data(), size_, 1));
  }
  *this = Array();
  return values;
}

template <typename T>
void Array<T>::check_fits(std::int64_t elements) const {
  GAUSSOT_EXPECTS(elements >= 0 && elements <= size_, InvalidArgument,
                  "Array: a view of " + std::to_string(elements) +
                      " elements does not fit in an array of " + std::to_string(size_));
}

template <typename T>
MatrixBatch<T> Array<T>::matrices(std::int64_t rows, std::int64_t cols, std::int64_t count) {
  check_fits(rows * cols * count);
  return gaussot::matrices(data(), rows, cols, count, space());
}

template <typename T>
MatrixBatch<const T> Array<T>::matrices(std::int64_t rows, std::int64_t cols,
                                        std::int64_t count) const {
  check_fits(rows * cols * count);
  return gaussot::matrices(data(), rows, cols, count, space());
}

template <typename T>
VectorBatch<T> Array<T>::vectors(std::int64_t length, std::int64_t count) {
  check_fits(length * count);
  return gaussot::vectors(data(), length, count, space());
}

template <typename T>
VectorBatch<const T> Array<T>::vectors(std::int64_t length, std::int64_t count) const {
  check_fits(length * count);
  return gaussot::vectors(data(), length, count, space());
}

template <typename T>
void copy(Context& ctx, MatrixBatch<const T> src, MatrixBatch<T> dst) {
  const ArgumentChecker check("copy");
  check.input("src", src);
  check.output("dst", dst);
  check.same_shape("src", src, "dst", dst);
  if (src.space == MemorySpace::host && dst.space == MemorySpace::host) {
    cpu::copy<T>(ctx, src, dst);
    return;
  }
  GAUSSOT_EXPECTS(ctx.backend() == Backend::cuda, InvalidArgument,
                  "copy: device memory needs a CUDA context, got a CPU context");
  cuda::copy<T>(ctx, src, dst);
}

template <typename T>
void copy(Context& ctx, VectorBatch<const T> src, VectorBatch<T> dst) {
  copy<T>(ctx, src.as_matrices(), dst.as_matrices());
}

#define GAUSSOT_INSTANTIATE(T)                                           \
  template class Array<T>;                                               \
  template void copy<T>(Context&, MatrixBatch<const T>, MatrixBatch<T>); \
  template void copy<T>(Context&, VectorBatch<const T>, VectorBatch<T>);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
