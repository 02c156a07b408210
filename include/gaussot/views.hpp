// SPDX-License-Identifier: Apache-2.0
/// @file views.hpp
/// Non-owning views of batches of matrices and vectors: a pointer, a shape, strides and the memory
/// space the pointer lives in. Every batched gaussot function takes and writes these views.
///
/// Layout. Matrices are column-major, as in BLAS, LAPACK, cuBLAS, cuSOLVER and Eigen: element
/// (r, c) of batch item i is `data[i * stride + r + c * ld]`, with `ld >= rows`. A NumPy array of
/// shape (k, rows, cols) in C order is, in this layout, a batch of k matrices of shape cols x rows
/// (its transposes); for symmetric matrices the two readings agree. A sample array of shape
/// (k, n, d) in C order is a batch of k column-major d x n matrices whose columns are the samples.
///
/// Broadcasting. An input view with `stride == 0` repeats one matrix `count` times; that is how a
/// one-versus-many computation is written. Output views never broadcast.
#pragma once

#include <cstdint>
#include <type_traits>

/// Marks the few view accessors that CUDA kernels call; empty for a plain C++ compiler.
#if defined(__CUDACC__)
#define GAUSSOT_HOST_DEVICE __host__ __device__
#else
#define GAUSSOT_HOST_DEVICE
#endif

namespace gaussot {

/// Where a pointer lives. A view must be in the memory space of the Context it is used with.
enum class MemorySpace { host, device };

/// Name of a memory space ("host" or "device").
const char* to_string(MemorySpace space) noexcept;

/// A batch of `count` matrices of shape rows x cols, column-major with leading dimension `ld`,
/// item i starting at `data + i * stride`. `T` may be const-qualified for inputs; a
/// MatrixBatch<T> converts implicitly to MatrixBatch<const T>.
template <typename T>
struct MatrixBatch {
  T* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t ld = 0;      ///< leading dimension (elements between columns), >= rows
  std::int64_t stride = 0;  ///< elements between batch items; 0 broadcasts one matrix
  std::int64_t count = 0;   ///< number of batch items
  MemorySpace space = MemorySpace::host;

  MatrixBatch() = default;
  MatrixBatch(T* data_, std::int64_t rows_, std::int64_t cols_, std::int64_t ld_,
              std::int64_t stride_, std::int64_t count_, MemorySpace space_ = MemorySpace::host)
      : data(data_),
        rows(rows_),
        cols(cols_),
        ld(ld_),
        stride(stride_),
        count(count_),
        space(space_) {}
  template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T>>>
  MatrixBatch(const MatrixBatch<U>& other)  // NOLINT(google-explicit-constructor): T -> const T
      : MatrixBatch(other.data, other.rows, other.cols, other.ld, other.stride, other.count,
                    other.space) {}

  /// First element of batch item i.
  GAUSSOT_HOST_DEVICE T* item(std::int64_t i) const { return data + i * stride; }
  /// Element (r, c) of item i; dereference only for host memory.
  GAUSSOT_HOST_DEVICE T& at(std::int64_t i, std::int64_t r, std::int64_t c) const {
    return item(i)[r + c * ld];
  }
  bool is_square() const { return rows == cols; }
  bool empty() const { return count == 0; }
  /// True when the items are stored back to back with no padding (ld == rows, stride == rows*cols).
  bool is_packed() const { return ld == rows && (count <= 1 || stride == rows * cols); }
  /// The items [begin, end) as a batch of their own.
  MatrixBatch slice(std::int64_t begin, std::int64_t end) const {
    return {item(begin), rows, cols, ld, stride, end - begin, space};
  }
  /// The items that can differ: the first alone when the batch broadcasts (stride 0), else all.
  MatrixBatch distinct() const { return stride == 0 && count > 1 ? slice(0, 1) : *this; }
  /// Columns [begin, end) of every item.
  MatrixBatch columns(std::int64_t begin, std::int64_t end) const {
    return {data + begin * ld, rows, end - begin, ld, stride, count, space};
  }
};

/// A batch of `count` vectors of length `size`, item i starting at `data + i * stride` and stored
/// contiguously. A batch of scalars is a VectorBatch of size 1 (see scalars()).
template <typename T>
struct VectorBatch {
  T* data = nullptr;
  std::int64_t size = 0;
  std::int64_t stride = 0;  ///< elements between batch items; 0 broadcasts one vector
  std::int64_t count = 0;
  MemorySpace space = MemorySpace::host;

  VectorBatch() = default;
  VectorBatch(T* data_, std::int64_t size_, std::int64_t stride_, std::int64_t count_,
              MemorySpace space_ = MemorySpace::host)
      : data(data_), size(size_), stride(stride_), count(count_), space(space_) {}
  template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T>>>
  VectorBatch(const VectorBatch<U>& other)  // NOLINT(google-explicit-constructor): T -> const T
      : VectorBatch(other.data, other.size, other.stride, other.count, other.space) {}

  GAUSSOT_HOST_DEVICE T* item(std::int64_t i) const { return data + i * stride; }
  GAUSSOT_HOST_DEVICE T& at(std::int64_t i, std::int64_t j) const { return item(i)[j]; }
  bool empty() const { return count == 0; }
  VectorBatch slice(std::int64_t begin, std::int64_t end) const {
    return {item(begin), size, stride, end - begin, space};
  }
  /// The same memory seen as a batch of size x 1 matrices.
  MatrixBatch<T> as_matrices() const {
    return {data, size, 1, size > 0 ? size : 1, stride, count, space};
  }
};

/// `count` packed matrices of shape rows x cols (ld = rows, stride = rows * cols).
template <typename T>
MatrixBatch<T> matrices(T* data, std::int64_t rows, std::int64_t cols, std::int64_t count,
                        MemorySpace space = MemorySpace::host) {
  return {data, rows, cols, rows > 0 ? rows : 1, rows * cols, count, space};
}

/// `count` packed square matrices of order d.
template <typename T>
MatrixBatch<T> square_matrices(T* data, std::int64_t d, std::int64_t count,
                               MemorySpace space = MemorySpace::host) {
  return matrices(data, d, d, count, space);
}

/// `count` packed vectors of length `size`.
template <typename T>
VectorBatch<T> vectors(T* data, std::int64_t size, std::int64_t count,
                       MemorySpace space = MemorySpace::host) {
  return {data, size, size, count, space};
}

/// `count` scalars stored contiguously (a VectorBatch of size 1).
template <typename T>
VectorBatch<T> scalars(T* data, std::int64_t count, MemorySpace space = MemorySpace::host) {
  return {data, 1, 1, count, space};
}

/// One matrix repeated `count` times (stride 0), for one-versus-many inputs.
template <typename T>
MatrixBatch<T> broadcast(MatrixBatch<T> one, std::int64_t count) {
  return {one.data, one.rows, one.cols, one.ld, 0, count, one.space};
}

}  // namespace gaussot
