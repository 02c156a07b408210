// SPDX-License-Identifier: Apache-2.0
/// @file array.hpp
/// Array<T>: an owning, contiguous buffer in host or device memory, with views onto it, and copy()
/// between views in any memory spaces.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// An owning, uninitialised, contiguous buffer of `size` elements of T (float or double) in host
/// memory or in the device memory of one CUDA device. Movable, not copyable. Allocation failure
/// throws OutOfMemory.
template <typename T>
class Array {
 public:
  Array() = default;
  /// `size` elements in the memory space of `ctx` (device memory on ctx.device() for CUDA).
  Array(const Context& ctx, std::int64_t size);
  /// `size` elements of host memory.
  static Array host(std::int64_t size);
  /// The contents of `values` in the memory space of `ctx`: for a CPU context the vector itself,
  /// adopted without a copy (its storage is the array's); for a CUDA context a device copy.
  static Array from_host(Context& ctx, std::vector<T> values);

  /// The contents as a host vector, leaving the array empty: an adopted vector is handed back
  /// without a copy, other memory is copied out (synchronizing ctx's stream for device memory).
  std::vector<T> take_host(Context& ctx);

  T* data() noexcept { return ptr_.get(); }
  const T* data() const noexcept { return ptr_.get(); }
  std::int64_t size() const noexcept { return size_; }
  MemorySpace space() const noexcept { return ptr_.get_deleter().space; }

  /// The buffer as `count` packed rows x cols matrices. Throws InvalidArgument when it is too
  /// small.
  MatrixBatch<T> matrices(std::int64_t rows, std::int64_t cols, std::int64_t count);
  MatrixBatch<const T> matrices(std::int64_t rows, std::int64_t cols, std::int64_t count) const;
  /// The buffer as `count` packed vectors of length `length`.
  VectorBatch<T> vectors(std::int64_t length, std::int64_t count);
  VectorBatch<const T> vectors(std::int64_t length, std::int64_t count) const;

 private:
  struct Deleter {
    MemorySpace space = MemorySpace::host;
    int device = -1;
    bool owns = true;  ///< false for the storage of an adopted vector (freed with it)
    void operator()(T* p) const noexcept;
  };
  Array(T* data, std::int64_t size, Deleter deleter);
  void check_fits(std::int64_t elements) const;

  std::unique_ptr<T, Deleter> ptr_;
  std::int64_t size_ = 0;
  std::vector<T> adopted_;  ///< from_host's vector on CPU contexts (ptr_ points into it)
};

/// Copies `src` into `dst`; shapes and counts must agree, and `src` may broadcast (stride 0).
/// Any combination of host and device memory: copies that touch device memory need a CUDA
/// context on that device and are enqueued on its stream. When `dst` is host memory the call
/// returns once the data is there (it synchronizes the stream); device-to-device copies do not
/// synchronize.
template <typename T>
void copy(Context& ctx, MatrixBatch<const T> src, MatrixBatch<T> dst);
template <typename T>
void copy(Context& ctx, VectorBatch<const T> src, VectorBatch<T> dst);

}  // namespace gaussot
