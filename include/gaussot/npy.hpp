// SPDX-License-Identifier: Apache-2.0
/// @file npy.hpp
/// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0): little-endian float32
/// and float64 arrays in C or Fortran order. Anything else, a truncated or oversized file or a
/// malformed header is refused with InvalidArgument naming the file; nothing is allocated before
/// the header has been checked against the file's size.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace gaussot {

/// Element types gaussot reads and writes.
enum class DType { float32, float64 };

/// "float32" or "float64".
const char* to_string(DType dtype) noexcept;

/// What an .npy header says.
struct NpyHeader {
  DType dtype = DType::float64;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::int64_t data_offset = 0;  ///< bytes before the array data
  /// Number of elements (product of the shape; 1 for a 0-d array).
  std::int64_t size() const;
};

/// A host array in C (row-major) order.
template <typename T>
struct NdArray {
  std::vector<std::int64_t> shape;
  std::vector<T> data;
  std::int64_t ndim() const { return static_cast<std::int64_t>(shape.size()); }
  std::int64_t size() const { return static_cast<std::int64_t>(data.size()); }
};

/// Reads and validates the header of `path` against the file's size.
NpyHeader read_npy_header(const std::string& path);

/// Reads a whole .npy file, converting float32/float64 to T and Fortran order to C order.
/// Values are not checked for finiteness (callers that need it do that).
template <typename T>
NdArray<T> read_npy(const std::string& path);

/// Reads rows [begin, begin + count) of a 2-D .npy file (n x d, C or Fortran order) into `out`
/// (count x d, C order), converting float32/float64 to T, reading only those rows. Throws
/// InvalidArgument naming the file for another rank or rows outside [0, n).
template <typename T>
void read_npy_rows(const std::string& path, std::int64_t begin, std::int64_t count, T* out);

/// Reads a whole .npy file from a seekable stream (a member of an .npz archive read into memory),
/// as read_npy(path); messages name the file `name`.
template <typename T>
NdArray<T> read_npy(std::istream& in, const std::string& name);

/// Writes `data` (C order, `shape`) as a version 1.0 .npy file of element type T. The file is
/// written under a temporary name beside `path` and renamed into place, so a failure never leaves
/// a partial file at `path`. Throws InvalidArgument when `path` cannot be written.
template <typename T>
void write_npy(const std::string& path, const T* data, const std::vector<std::int64_t>& shape);

/// Writes the same .npy bytes to a stream (a member of an .npz archive); messages name `name`.
template <typename T>
void write_npy(std::ostream& out, const std::string& name, const T* data,
               const std::vector<std::int64_t>& shape);

/// Writes a file through `write` under a temporary name beside `path` (unique per process and
/// call), then renames it into place: a failure, or an exception from `write`, never leaves a
/// partial file at `path` or a temporary behind. Throws InvalidArgument naming `path`.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

}  // namespace gaussot
