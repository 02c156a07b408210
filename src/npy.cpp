// SPDX-License-Identifier: Apache-2.0
// .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   magic "\x93NUMPY", major, minor version bytes, header length (uint16 LE for 1.0, uint32 LE for
//   2.0 and 3.0), then an ASCII (3.0: UTF-8) Python dict literal with exactly the keys 'descr',
//   'fortran_order' and 'shape', padded with spaces and ended by '\n'; then the raw data.
#include "gaussot/npy.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <type_traits>

#include "gaussot/error.hpp"

namespace gaussot {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
// NumPy itself refuses headers over 10,000 bytes by default; allow more, never unbounded.
constexpr std::uint32_t kMaxHeaderBytes = 1u << 16;
constexpr std::size_t kMaxDims = 32;

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  GAUSSOT_THROW(InvalidArgument, path + ": " + what);
}

std::size_t item_size(DType dtype) { return dtype == DType::float32 ? 4 : 8; }

/// A strict reader of the header's dict literal.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = quoted();
      expect(':');
      if (key == "descr" && !has_descr) {
        header.dtype = dtype(quoted());
        has_descr = true;
      } else if (key == "fortran_order" && !has_order) {
        header.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape" && !has_shape) {
        header.shape = shape();
        has_shape = true;
      } else {
        fail("unexpected or repeated key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        fail("expected ',' or '}'");
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("trailing characters after the dict");
    if (!(has_descr && has_order && has_shape)) {
      fail("the header must have the keys 'descr', 'fortran_order' and 'shape'");
    }
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    refuse(path_, "malformed .npy header (" + what + ")");
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("fortran_order must be True or False");
  }
  std::vector<std::int64_t> shape() {
    std::vector<std::int64_t> dims;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("shape entries must be integers");
      std::int64_t value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = peek() - '0';
        if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10) {
          refuse(path_, "absurd shape in the .npy header (a dimension overflows 64 bits)");
        }
        value = value * 10 + digit;
        ++pos_;
      }
      dims.push_back(value);
      if (dims.size() > kMaxDims) fail("more than 32 dimensions");
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        fail("expected ',' or ')' in the shape");
      }
    }
  }
  DType dtype(const std::string& descr) const {
    if (descr == "<f8") return DType::float64;
    if (descr == "<f4") return DType::float32;
    if (descr == ">f8" || descr == ">f4") {
      refuse(path_, "big-endian data ('" + descr + "') is not supported; save it little-endian");
    }
    refuse(path_, "dtype '" + descr +
                      "' is not supported: gaussot reads float32 ('<f4') and "
                      "float64 ('<f8') arrays");
  }

  const std::string& path_;
  const std::string& text_;
  std::size_t pos_ = 0;
};

std::uint32_t little_endian(const unsigned char* bytes, int n) {
  std::uint32_t value = 0;
  for (int i = n - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::ifstream open_for_reading(const std::string& path) {
  std::error_code ignored;  // a path that cannot be inspected fails to open below, with its reason
  if (std::filesystem::is_directory(path, ignored)) refuse(path, "is a directory, not a .npy file");
  std::ifstream in(path, std::ios::binary);
  if (!in) refuse(path, std::string("cannot open for reading (") + std::strerror(errno) + ")");
  return in;
}

NpyHeader read_header(std::istream& in, const std::string& path) {
  in.seekg(0, std::ios::end);
  const std::int64_t file_size = static_cast<std::int64_t>(in.tellg());
  in.seekg(0, std::ios::beg);
  if (file_size < 0) refuse(path, "cannot determine the file size");

  unsigned char preamble[12] = {};
  const std::int64_t short_preamble = 10;
  if (file_size < short_preamble) refuse(path, "not a .npy file (too short for the header)");
  in.read(reinterpret_cast<char*>(preamble), short_preamble);
  if (std::memcmp(preamble, kMagic, kMagicSize) != 0) {
    refuse(path, "not a .npy file (wrong magic string)");
  }
  const int major = preamble[6];
  if (major < 1 || major > 3 || preamble[7] != 0) {
    refuse(path, "unsupported .npy format version " + std::to_string(major) + "." +
                     std::to_string(int(preamble[7])));
  }
  std::int64_t preamble_size = short_preamble;
  std::uint32_t header_bytes = little_endian(preamble + 8, 2);
  if (major >= 2) {
    preamble_size = 12;
    if (file_size < preamble_size) refuse(path, "truncated .npy header");
    in.read(reinterpret_cast<char*>(preamble + 10), 2);
    header_bytes = little_endian(preamble + 8, 4);
  }
  if (header_bytes > kMaxHeaderBytes) {
    refuse(path, "absurd .npy header length " + std::to_string(header_bytes) + " bytes");
  }
  if (file_size < preamble_size + std::int64_t(header_bytes)) refuse(path, "truncated .npy header");
  std::string text(header_bytes, '\0');
  in.read(text.data(), header_bytes);
  if (!in) refuse(path, "could not read the .npy header");
  if (text.empty() || text.back() != '\n') {
    refuse(path, "malformed .npy header (it must end with a newline)");
  }
  for (char c : text) {
    if (c == '\0') refuse(path, "malformed .npy header (NUL byte)");
  }
  NpyHeader header = HeaderParser(path, text).parse();
  header.data_offset = preamble_size + header_bytes;

  // Check the shape against the file before anyone allocates for it.
  const std::int64_t max_bytes = std::numeric_limits<std::int64_t>::max();
  const std::int64_t item = static_cast<std::int64_t>(item_size(header.dtype));
  std::int64_t elements = 1;
  bool empty = false;
  for (std::int64_t dim : header.shape) {
    if (dim == 0) empty = true;
  }
  if (!empty) {
    for (std::int64_t dim : header.shape) {
      if (elements > max_bytes / item / dim) {
        refuse(path, "absurd shape in the .npy header (the array would exceed 2^63 bytes)");
      }
      elements *= dim;
    }
  } else {
    elements = 0;
  }
  const std::int64_t data_bytes = elements * item;
  const std::int64_t available = file_size - header.data_offset;
  if (available < data_bytes) {
    refuse(path, "truncated .npy file: the header declares " + std::to_string(data_bytes) +
                     " bytes of data, the file holds " + std::to_string(available));
  }
  if (available > data_bytes) {
    refuse(path, "malformed .npy file: " + std::to_string(available - data_bytes) +
                     " unexpected bytes after the data");
  }
  return header;
}

template <typename Source, typename T>
void read_converted(std::istream& in, const std::string& path, T* out, std::int64_t n) {
  if constexpr (std::is_same_v<Source, T>) {
    in.read(reinterpret_cast<char*>(out), n * static_cast<std::int64_t>(sizeof(T)));
  } else {
    constexpr std::int64_t kBlock = 1 << 16;
    std::vector<Source> buffer(static_cast<std::size_t>(std::min(n, kBlock)));
    for (std::int64_t done = 0; done < n && in; done += kBlock) {
      const std::int64_t m = std::min(kBlock, n - done);
      in.read(reinterpret_cast<char*>(buffer.data()), m * std::int64_t(sizeof(Source)));
      for (std::int64_t i = 0; i < m; ++i) out[done + i] = static_cast<T>(buffer[i]);
    }
  }
  if (!in) refuse(path, "read error in the .npy data");
}

/// Reorders Fortran-order data (first index fastest) to C order (last index fastest).
template <typename T>
std::vector<T> fortran_to_c(const std::vector<T>& f, const std::vector<std::int64_t>& shape) {
  const std::size_t nd = shape.size();
  std::vector<T> c(f.size());
  std::vector<std::int64_t> index(nd, 0);
  std::vector<std::int64_t> f_stride(nd, 1);
  for (std::size_t k = 1; k < nd; ++k) f_stride[k] = f_stride[k - 1] * shape[k - 1];
  for (std::size_t linear = 0; linear < c.size(); ++linear) {
    std::int64_t source = 0;
    for (std::size_t k = 0; k < nd; ++k) source += index[k] * f_stride[k];
    c[linear] = f[static_cast<std::size_t>(source)];
    for (std::size_t k = nd; k-- > 0;) {  // advance the C-order multi-index
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  return c;
}

}  // namespace

const char* to_string(DType dtype) noexcept {
  return dtype == DType::float32 ? "float32" : "float64";
}

std::int64_t NpyHeader::size() const {
  for (std::int64_t dim : shape) {
    if (dim == 0) return 0;  // before multiplying: the other dimensions may be huge
  }
  std::int64_t n = 1;
  for (std::int64_t dim : shape) n *= dim;
  return n;
}

NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in = open_for_reading(path);
  return read_header(in, path);
}

template <typename T>
NdArray<T> read_npy(std::istream& in, const std::string& name) {
  const NpyHeader header = read_header(in, name);
  NdArray<T> array;
  array.shape = header.shape;
  const std::int64_t n = header.size();
  try {
    array.data.resize(static_cast<std::size_t>(n));
  } catch (const std::bad_alloc&) {
    GAUSSOT_THROW(OutOfMemory,
                  name + ": out of host memory reading " + std::to_string(n) + " elements");
  }
  in.seekg(header.data_offset, std::ios::beg);
  if (header.dtype == DType::float64) {
    read_converted<double>(in, name, array.data.data(), n);
  } else {
    read_converted<float>(in, name, array.data.data(), n);
  }
  if (header.fortran_order && header.shape.size() > 1 && n > 0) {
    array.data = fortran_to_c(array.data, header.shape);
  }
  return array;
}

template <typename T>
NdArray<T> read_npy(const std::string& path) {
  std::ifstream in = open_for_reading(path);
  return read_npy<T>(in, path);
}

template <typename T>
void read_npy_rows(const std::string& path, std::int64_t begin, std::int64_t count, T* out) {
  std::ifstream in = open_for_reading(path);
  const NpyHeader header = read_header(in, path);
  if (header.shape.size() != 2) refuse(path, "expected a 2-D array (n, d) to read rows from");
  const std::int64_t n = header.shape[0], d = header.shape[1];
  if (begin < 0 || count < 0 || begin > n || count > n - begin) {
    refuse(path, "rows [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                     ") are outside its " + std::to_string(n) + " rows");
  }
  const auto item = static_cast<std::int64_t>(item_size(header.dtype));
  auto read = [&](std::int64_t element, T* into, std::int64_t elements) {
    in.seekg(header.data_offset + element * item, std::ios::beg);
    if (header.dtype == DType::float64) {
      read_converted<double>(in, path, into, elements);
    } else {
      read_converted<float>(in, path, into, elements);
    }
  };
  if (!header.fortran_order || d == 1) {
    read(begin * d, out, count * d);
    return;
  }
  // Fortran order: each column's rows are contiguous; read them, then interleave.
  std::vector<T> column(static_cast<std::size_t>(count));
  for (std::int64_t j = 0; j < d; ++j) {
    read(j * n + begin, column.data(), count);
    for (std::int64_t r = 0; r < count; ++r) out[r * d + j] = column[r];
  }
}

template <typename T>
void write_npy(std::ostream& out, const std::string& name, const T* data,
               const std::vector<std::int64_t>& shape) {
  GAUSSOT_EXPECTS(shape.size() <= kMaxDims, InvalidArgument,
                  name + ": write_npy: more than 32 dimensions");
  std::string dims;  // "2, 3" for two dimensions, "5," for one, "" for a 0-d array
  std::int64_t n = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    GAUSSOT_EXPECTS(shape[i] >= 0, InvalidArgument,
                    name + ": write_npy: negative dimension " + std::to_string(shape[i]));
    dims += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    n *= shape[i];
  }
  if (shape.size() == 1) dims += ",";
  std::string header = std::string("{'descr': '") + (sizeof(T) == 4 ? "<f4" : "<f8") +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that magic + version + length + header is a multiple of 64 bytes, ending in '\n'.
  const std::size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  const unsigned char version_and_length[4] = {1, 0,
                                               static_cast<unsigned char>(header.size() & 0xff),
                                               static_cast<unsigned char>(header.size() >> 8)};
  out.write(kMagic, kMagicSize);
  out.write(reinterpret_cast<const char*>(version_and_length), 4);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), n * static_cast<std::int64_t>(sizeof(T)));
}

template <typename T>
void write_npy(const std::string& path, const T* data, const std::vector<std::int64_t>& shape) {
  write_file_atomically(path, [&](std::ostream& out) { write_npy(out, path, data, shape); });
}

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  static std::atomic<unsigned> counter{0};
  const std::string temporary =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      refuse(path, std::string("cannot open for writing (") + std::strerror(errno) + ")");
    }
    try {
      write(out);
    } catch (...) {
      out.close();
      std::remove(temporary.c_str());
      throw;
    }
    out.flush();
    if (!out) {
      out.close();
      std::remove(temporary.c_str());
      refuse(path, "write error (disk full?)");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    refuse(path,
           std::string("cannot move the written file into place (") + std::strerror(error) + ")");
  }
}

#define GAUSSOT_INSTANTIATE(T)                                                                \
  template NdArray<T> read_npy<T>(const std::string&);                                        \
  template NdArray<T> read_npy<T>(std::istream&, const std::string&);                         \
  template void read_npy_rows<T>(const std::string&, std::int64_t, std::int64_t, T*);         \
  template void write_npy<T>(const std::string&, const T*, const std::vector<std::int64_t>&); \
  template void write_npy<T>(std::ostream&, const std::string&, const T*,                     \
                             const std::vector<std::int64_t>&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
