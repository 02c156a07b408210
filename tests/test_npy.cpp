// SPDX-License-Identifier: Apache-2.0
// Tests of the .npy reader and writer (gaussot/npy.hpp): round trips and the exact header bytes,
// hand-written files in the layouts NumPy produces, hostile files, read_npy_header, the writer's
// atomic replace and NpyHeader::size(). Files are written byte by byte here; NumPy is not needed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "gaussot/error.hpp"
#include "gaussot/npy.hpp"

// The hand-written data bytes below are the host's own bytes, and .npy data is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "these tests assume a little-endian host");

namespace gaussot {
namespace {

namespace fs = std::filesystem;
using Shape = std::vector<std::int64_t>;

// ---- Building raw .npy bytes ------------------------------------------------------------------

/// The dict literal NumPy writes, e.g. {'descr': '<f8', 'fortran_order': False, 'shape': (3,), }
std::string numpy_dict(const std::string& descr, bool fortran_order, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran_order ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

/// The bytes before the header text: magic, version major.minor and the header length, 2 bytes
/// little-endian for major version 1, 4 bytes otherwise.
std::string preamble(int major, int minor, std::uint32_t header_length) {
  std::string bytes("\x93NUMPY", 6);
  bytes += static_cast<char>(major);
  bytes += static_cast<char>(minor);
  const int width = major == 1 ? 2 : 4;
  for (int i = 0; i < width; ++i) bytes += static_cast<char>((header_length >> (8 * i)) & 0xff);
  return bytes;
}

/// `dict` padded with spaces and ended by '\n' so that preamble + header is a multiple of 64, as
/// NumPy pads it.
std::string padded(const std::string& dict, int major = 1) {
  const std::size_t unpadded = (major == 1 ? 10 : 12) + dict.size() + 1;
  return dict + std::string((64 - unpadded % 64) % 64, ' ') + "\n";
}

/// A raw file: preamble, `header` exactly as given (no padding, no newline added), then `data`.
std::string raw_npy(const std::string& header, const std::string& data = "", int major = 1,
                    int minor = 0) {
  return preamble(major, minor, static_cast<std::uint32_t>(header.size())) + header + data;
}

/// A well-formed file as NumPy would write it.
std::string numpy_file(const std::string& descr, bool fortran_order, const std::string& shape,
                       const std::string& data, int major = 1) {
  return raw_npy(padded(numpy_dict(descr, fortran_order, shape), major), data, major);
}

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

/// Bitwise equality, so that -0.0, NaN and denormals are compared exactly.
template <typename T>
::testing::AssertionResult same_bits(const std::vector<T>& expected, const std::vector<T>& actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: expected " << expected.size() << ", got " << actual.size();
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (std::memcmp(&expected[i], &actual[i], sizeof(T)) != 0) {
      return ::testing::AssertionFailure()
             << "element " << i << ": expected " << expected[i] << ", got " << actual[i];
    }
  }
  return ::testing::AssertionSuccess();
}

/// Values that a lossy or sloppy writer would damage: signed zeros, denormals, extremes, NaN.
template <typename T>
std::vector<T> awkward_values(std::size_t n) {
  using L = std::numeric_limits<T>;
  const T huge = sizeof(T) == 8 ? T(1e300) : L::max();
  const std::vector<T> specials = {
      T(-0.0),   T(0.0),        L::denorm_min(), -L::denorm_min(), L::min() / 4, L::min(),  huge,
      -L::max(), L::infinity(), -L::infinity(),  L::quiet_NaN(),   T(1) / T(3),  T(-2.5e-7)};
  std::vector<T> values(n);
  for (std::size_t i = 0; i < n; ++i) {
    values[i] = i < specials.size() ? specials[i] : T(0.1) * T(i) - T(1);
  }
  return values;
}

/// The message of the InvalidArgument that `read` throws, or what happened instead.
template <typename Read>
std::string refusal_of(Read&& read) {
  try {
    read();
  } catch (const InvalidArgument& e) {
    return e.message();
  } catch (const std::exception& e) {
    return std::string("<not an InvalidArgument: ") + e.what() + ">";
  }
  return "<no exception>";
}

// ---- Fixture: a private directory per test -----------------------------------------------------

class NpyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("gaussot_npy_") + info->test_suite_name() + "_" + info->name() +
                       "_" + std::to_string(::getpid());
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::path(::testing::TempDir()) / name;
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_)) << dir_;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  /// Writes `bytes` to `name` in the test's directory and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = path(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    EXPECT_TRUE(out.good()) << "could not write " << p;
    return p;
  }

  static std::string contents(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  /// Names in the test's directory, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  /// Checks that read_npy_header, read_npy<double> and read_npy<float> all refuse the file at `p`
  /// with an InvalidArgument whose message names the file and contains `word`.
  static void expect_refused_path(const std::string& p, const std::string& word) {
    const std::string messages[] = {
        refusal_of([&] { (void)read_npy_header(p); }),
        refusal_of([&] { (void)read_npy<double>(p); }),
        refusal_of([&] { (void)read_npy<float>(p); }),
    };
    const char* readers[] = {"read_npy_header", "read_npy<double>", "read_npy<float>"};
    for (int i = 0; i < 3; ++i) {
      EXPECT_NE(messages[i].find(p), std::string::npos)
          << readers[i] << ": the message does not name the file: " << messages[i];
      EXPECT_NE(messages[i].find(word), std::string::npos)
          << readers[i] << ": expected \"" << word << "\" in: " << messages[i];
    }
  }

  /// Writes `bytes` as `name` and checks that every reader refuses it (see expect_refused_path).
  void expect_refused(const std::string& name, const std::string& bytes,
                      const std::string& word) const {
    SCOPED_TRACE("file " + name);
    expect_refused_path(write(name, bytes), word);
  }

  fs::path dir_;
};

// ---- Round trips and the header bytes write_npy produces ---------------------------------------

class NpyRoundTrip : public NpyFiles {
 protected:
  template <typename T>
  void check_round_trip(const Shape& shape, const std::string& shape_text) {
    SCOPED_TRACE("shape " + shape_text);
    std::int64_t n = 1;
    for (std::int64_t dim : shape) n *= dim;
    const std::vector<T> values = awkward_values<T>(static_cast<std::size_t>(n));
    const std::string p = path("round_trip.npy");
    write_npy<T>(p, values.data(), shape);

    // The header bytes.
    const std::string file = contents(p);
    ASSERT_GE(file.size(), 10u);
    EXPECT_EQ(file.substr(0, 6), std::string("\x93NUMPY", 6));
    EXPECT_EQ(file[6], '\x01') << "major version";
    EXPECT_EQ(file[7], '\x00') << "minor version";
    const std::size_t header_length =
        static_cast<unsigned char>(file[8]) | (static_cast<unsigned char>(file[9]) << 8);
    EXPECT_EQ((10 + header_length) % 64, 0u) << "header length " << header_length;
    ASSERT_EQ(file.size(), 10 + header_length + values.size() * sizeof(T));
    const std::string header = file.substr(10, header_length);
    ASSERT_FALSE(header.empty());
    EXPECT_EQ(header.back(), '\n');
    const std::string descr = sizeof(T) == 4 ? "'descr': '<f4'" : "'descr': '<f8'";
    EXPECT_NE(header.find(descr), std::string::npos) << header;
    EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
    EXPECT_NE(header.find("'shape': " + shape_text), std::string::npos) << header;
    // Exactly NumPy's text: the dict, then only spaces before the newline.
    const std::string dict = numpy_dict(sizeof(T) == 4 ? "<f4" : "<f8", false, shape_text);
    EXPECT_EQ(header.substr(0, dict.size()), dict);
    EXPECT_EQ(header.find_first_not_of(' ', dict.size()), header.size() - 1) << header;
    // The data: the values' own bytes, little-endian.
    EXPECT_EQ(file.substr(10 + header_length), bytes_of(values));

    // What the readers make of it.
    const NpyHeader info = read_npy_header(p);
    EXPECT_EQ(info.dtype, sizeof(T) == 4 ? DType::float32 : DType::float64);
    EXPECT_FALSE(info.fortran_order);
    EXPECT_EQ(info.shape, shape);
    EXPECT_EQ(info.data_offset, static_cast<std::int64_t>(10 + header_length));
    const NdArray<T> array = read_npy<T>(p);
    EXPECT_EQ(array.shape, shape);
    EXPECT_EQ(array.ndim(), static_cast<std::int64_t>(shape.size()));
    EXPECT_EQ(array.size(), n);
    EXPECT_TRUE(same_bits(values, array.data));
  }

  template <typename T>
  void check_all_shapes() {
    check_round_trip<T>({}, "()");
    check_round_trip<T>({0}, "(0,)");
    check_round_trip<T>({5}, "(5,)");
    check_round_trip<T>({3, 4}, "(3, 4)");
    check_round_trip<T>({2, 3, 4}, "(2, 3, 4)");
    check_round_trip<T>({4, 0, 3}, "(4, 0, 3)");
  }
};

TEST_F(NpyRoundTrip, Float32) { check_all_shapes<float>(); }

TEST_F(NpyRoundTrip, Float64) { check_all_shapes<double>(); }

TEST_F(NpyRoundTrip, EmptyArrayFromNullPointer) {
  const std::string p = path("empty.npy");
  write_npy<double>(p, nullptr, {0});
  const NdArray<double> array = read_npy<double>(p);
  EXPECT_EQ(array.shape, Shape({0}));
  EXPECT_TRUE(array.data.empty());
}

TEST_F(NpyRoundTrip, ThirtyTwoDimensions) {
  Shape shape(32, 1);
  shape[3] = 2;
  const std::vector<double> values = {1.5, -2.5};
  const std::string p = path("many_dims.npy");
  write_npy<double>(p, values.data(), shape);
  const NdArray<double> array = read_npy<double>(p);
  EXPECT_EQ(array.shape, shape);
  EXPECT_TRUE(same_bits(values, array.data));
}

// ---- Reading hand-written files in the layouts NumPy produces ----------------------------------

class NpyRead : public NpyFiles {};

TEST_F(NpyRead, FormatVersions1And2And3) {
  const std::vector<double> values = {1, -2, 3.25, 0.5, -0.0, 6e-310};
  for (int major : {1, 2, 3}) {
    SCOPED_TRACE("version " + std::to_string(major) + ".0");
    const std::string file = numpy_file("<f8", false, "(2, 3)", bytes_of(values), major);
    ASSERT_EQ((file.size() - values.size() * 8) % 64, 0u);
    const std::string p = write("v" + std::to_string(major) + ".npy", file);
    const NdArray<double> array = read_npy<double>(p);
    EXPECT_EQ(array.shape, Shape({2, 3}));
    EXPECT_TRUE(same_bits(values, array.data));
    EXPECT_EQ(read_npy_header(p).data_offset, 128);  // as NumPy writes these
  }
}

TEST_F(NpyRead, Float32ReadAsDouble) {
  using L = std::numeric_limits<float>;
  const std::vector<float> stored = {0.1f,     -0.0f,          L::denorm_min(),
                                     L::max(), -L::infinity(), 16777217.0f};
  const std::string p = write("f4.npy", numpy_file("<f4", false, "(6,)", bytes_of(stored)));
  EXPECT_EQ(read_npy_header(p).dtype, DType::float32);
  const NdArray<double> array = read_npy<double>(p);
  EXPECT_EQ(array.shape, Shape({6}));
  std::vector<double> expected;
  for (float v : stored) expected.push_back(static_cast<double>(v));
  EXPECT_TRUE(same_bits(expected, array.data));
  EXPECT_NE(array.data[0], 0.1) << "0.1f widened must keep float precision";
}

TEST_F(NpyRead, Float64ReadAsFloat) {
  const std::vector<double> stored = {
      0.1, -0.0, 1e300, -1e300, 1e-300, 4.9e-324, std::numeric_limits<double>::quiet_NaN(), 3.0};
  const std::string p = write("f8.npy", numpy_file("<f8", false, "(2, 4)", bytes_of(stored)));
  const NdArray<float> array = read_npy<float>(p);
  EXPECT_EQ(array.shape, Shape({2, 4}));
  std::vector<float> expected;
  for (double v : stored) expected.push_back(static_cast<float>(v));
  EXPECT_TRUE(same_bits(expected, array.data));
  EXPECT_TRUE(std::isinf(array.data[2]) && array.data[2] > 0);
  EXPECT_TRUE(std::signbit(array.data[1]));
}

// Element (i, j) of a Fortran-order (2, 3) array is at i + 2 j in the file; the reader must hand
// back C order, where it is at 3 i + j.
TEST_F(NpyRead, FortranOrder2dIsReorderedToC) {
  const std::int64_t rows = 2, cols = 3;
  std::vector<double> fortran(rows * cols);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) fortran[i + rows * j] = 10.0 * i + j;
  const std::string p = write("f2.npy", numpy_file("<f8", true, "(2, 3)", bytes_of(fortran)));
  const NdArray<double> array = read_npy<double>(p);
  ASSERT_EQ(array.shape, Shape({rows, cols}));
  ASSERT_EQ(array.size(), rows * cols);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      EXPECT_EQ(array.data[i * cols + j], 10.0 * i + j) << "(" << i << ", " << j << ")";
}

// read_npy_rows reads a row range of C- and Fortran-order files (converting the dtype) and
// refuses ranges outside the rows and other ranks.
TEST_F(NpyRead, RowRangesOfCAndFortranOrderFiles) {
  const std::int64_t rows = 5, cols = 3;
  std::vector<double> c_order(rows * cols), fortran(rows * cols);
  std::vector<float> single(rows * cols);
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      c_order[i * cols + j] = fortran[i + rows * j] = 10.0 * i + j + 0.25;
      single[i * cols + j] = float(10.0 * i + j + 0.25);
    }
  }
  const std::string paths[] = {
      write("c.npy", numpy_file("<f8", false, "(5, 3)", bytes_of(c_order))),
      write("f.npy", numpy_file("<f8", true, "(5, 3)", bytes_of(fortran))),
      write("s.npy", numpy_file("<f4", false, "(5, 3)", bytes_of(single)))};
  for (const std::string& p : paths) {
    for (const auto& [begin, count] :
         {std::pair<std::int64_t, std::int64_t>{0, 5}, {1, 3}, {4, 1}, {2, 0}}) {
      std::vector<double> out(static_cast<std::size_t>(count * cols), -1);
      read_npy_rows<double>(p, begin, count, out.data());
      for (std::int64_t r = 0; r < count; ++r)
        for (std::int64_t j = 0; j < cols; ++j)
          EXPECT_EQ(out[r * cols + j], 10.0 * (begin + r) + j + 0.25) << p << " " << begin;
    }
  }
  std::vector<float> out(6);
  read_npy_rows<float>(paths[1], 3, 2, out.data());
  EXPECT_EQ(out[5], 42.25f);
  const std::string outside = refusal_of([&] { read_npy_rows<double>(paths[0], 4, 2, nullptr); });
  EXPECT_NE(outside.find("rows [4, 6) are outside its 5 rows"), std::string::npos) << outside;
  EXPECT_NE(outside.find(paths[0]), std::string::npos) << outside;
  const std::vector<double> flat(4, 1.0);
  const std::string vector_file = write("v.npy", numpy_file("<f8", false, "(4,)", bytes_of(flat)));
  const std::string rank = refusal_of([&] { read_npy_rows<double>(vector_file, 0, 1, nullptr); });
  EXPECT_NE(rank.find("expected a 2-D array"), std::string::npos) << rank;
}

TEST_F(NpyRead, FortranOrder3dIsReorderedToC) {
  const std::int64_t d0 = 2, d1 = 3, d2 = 4;
  std::vector<float> fortran(d0 * d1 * d2);
  for (std::int64_t i = 0; i < d0; ++i)
    for (std::int64_t j = 0; j < d1; ++j)
      for (std::int64_t k = 0; k < d2; ++k)
        fortran[i + d0 * (j + d1 * k)] = 100.0f * i + 10 * j + k;
  const std::string p = write("f3.npy", numpy_file("<f4", true, "(2, 3, 4)", bytes_of(fortran)));
  // Both element types: reordering combined with conversion and without.
  const NdArray<double> as_double = read_npy<double>(p);
  const NdArray<float> as_float = read_npy<float>(p);
  ASSERT_EQ(as_double.shape, Shape({d0, d1, d2}));
  ASSERT_EQ(as_float.shape, Shape({d0, d1, d2}));
  ASSERT_EQ(as_double.size(), d0 * d1 * d2);
  ASSERT_EQ(as_float.size(), d0 * d1 * d2);
  for (std::int64_t i = 0; i < d0; ++i)
    for (std::int64_t j = 0; j < d1; ++j)
      for (std::int64_t k = 0; k < d2; ++k) {
        const std::int64_t c = (i * d1 + j) * d2 + k;
        EXPECT_EQ(as_double.data[c], 100.0 * i + 10 * j + k) << i << ", " << j << ", " << k;
        EXPECT_EQ(as_float.data[c], 100.0f * i + 10 * j + k) << i << ", " << j << ", " << k;
      }
}

TEST_F(NpyRead, FortranOrder1dAnd0dNeedNoReordering) {
  const std::vector<double> values = {5, 4, 3, 2, 1};
  const NdArray<double> vector =
      read_npy<double>(write("f1.npy", numpy_file("<f8", true, "(5,)", bytes_of(values))));
  EXPECT_EQ(vector.shape, Shape({5}));
  EXPECT_TRUE(same_bits(values, vector.data));
  const NdArray<double> scalar = read_npy<double>(
      write("f0.npy", numpy_file("<f8", true, "()", bytes_of(std::vector<double>{7.5}))));
  EXPECT_EQ(scalar.shape, Shape());
  EXPECT_TRUE(same_bits({7.5}, scalar.data));
}

// The parser accepts any spacing, either quote character, any key order, with or without the
// trailing comma, and headers not padded to 64 bytes; all of these are valid Python literals.
TEST_F(NpyRead, LenientButValidHeaders) {
  const std::vector<double> values = {1, 2, 3, 4, 5, 6};
  const std::string data = bytes_of(values);
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"spaces", "{  'descr' :  '<f8' ,  'fortran_order' :False,'shape':( 2 ,3 )  }   \n"},
      {"double_quotes", "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2, 3)}\n"},
      {"key_order", "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}\n"},
      {"trailing_commas", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3,),}\n"},
      {"unpadded", numpy_dict("<f8", false, "(2, 3)") + "\n"},
      {"newlines", "{'descr': '<f8',\n 'fortran_order': False,\n 'shape': (2, 3)}\n"},
  };
  for (const auto& [name, header] : headers) {
    SCOPED_TRACE(name);
    const std::string p = write(name + ".npy", raw_npy(header, data));
    const NpyHeader info = read_npy_header(p);
    EXPECT_EQ(info.dtype, DType::float64);
    EXPECT_FALSE(info.fortran_order);
    EXPECT_EQ(info.shape, Shape({2, 3}));
    EXPECT_EQ(info.data_offset, static_cast<std::int64_t>(10 + header.size()));
    const NdArray<double> array = read_npy<double>(p);
    EXPECT_EQ(array.shape, Shape({2, 3}));
    EXPECT_TRUE(same_bits(values, array.data));
  }
}

// An empty array may have huge other dimensions (NumPy allows it); no element count overflows.
TEST_F(NpyRead, EmptyArrayWithHugeDimensions) {
  for (bool fortran : {false, true}) {
    SCOPED_TRACE(fortran ? "Fortran order" : "C order");
    const std::string p = write(
        "empty.npy", numpy_file("<f8", fortran, "(4294967296, 4294967296, 4294967296, 0)", ""));
    const Shape shape = {4294967296, 4294967296, 4294967296, 0};
    EXPECT_EQ(read_npy_header(p).shape, shape);
    EXPECT_EQ(read_npy_header(p).size(), 0);
    const NdArray<double> array = read_npy<double>(p);
    EXPECT_EQ(array.shape, shape);
    EXPECT_TRUE(array.data.empty());
  }
}

TEST_F(NpyRead, ThirtyTwoDimensionsAccepted) {
  std::string shape = "(";
  for (int i = 0; i < 32; ++i) shape += "1, ";
  shape += ")";
  const NdArray<double> array = read_npy<double>(
      write("d32.npy", numpy_file("<f8", false, shape, bytes_of(std::vector<double>{2.0}))));
  EXPECT_EQ(array.shape, Shape(32, 1));
  EXPECT_TRUE(same_bits({2.0}, array.data));
}

// ---- read_npy_header on valid files ------------------------------------------------------------

class NpyReadHeader : public NpyFiles {};

TEST_F(NpyReadHeader, ReportsDtypeOrderShapeAndOffset) {
  const std::vector<float> f4(24, 1.0f);
  // An unpadded header so that data_offset is not simply a multiple of 64.
  const std::string dict = numpy_dict("<f4", true, "(2, 3, 4)") + "\n";
  for (int major : {1, 2, 3}) {
    SCOPED_TRACE("version " + std::to_string(major) + ".0");
    const NpyHeader info = read_npy_header(write("h.npy", raw_npy(dict, bytes_of(f4), major)));
    EXPECT_EQ(info.dtype, DType::float32);
    EXPECT_TRUE(info.fortran_order);
    EXPECT_EQ(info.shape, Shape({2, 3, 4}));
    EXPECT_EQ(info.size(), 24);
    EXPECT_EQ(info.data_offset, static_cast<std::int64_t>((major == 1 ? 10 : 12) + dict.size()));
  }
  const std::vector<double> f8 = {1.0};
  const NpyHeader scalar =
      read_npy_header(write("s.npy", numpy_file("<f8", false, "()", bytes_of(f8))));
  EXPECT_EQ(scalar.dtype, DType::float64);
  EXPECT_FALSE(scalar.fortran_order);
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data_offset, 128);
  EXPECT_STREQ(to_string(DType::float32), "float32");
  EXPECT_STREQ(to_string(DType::float64), "float64");
}

// ---- Hostile files: each is refused with InvalidArgument naming the file -----------------------

class NpyHostile : public NpyFiles {
 protected:
  /// A file with this dict (padded like NumPy's) and `data`.
  void expect_dict_refused(const std::string& name, const std::string& dict,
                           const std::string& data, const std::string& word) const {
    expect_refused(name, raw_npy(padded(dict), data), word);
  }
  const std::string eight_doubles_ = std::string(64, '\0');
};

TEST_F(NpyHostile, MissingFile) { expect_refused_path(path("does_not_exist.npy"), "cannot open"); }

TEST_F(NpyHostile, DirectoryInsteadOfFile) {
  const std::string p = path("a_directory.npy");
  fs::create_directory(p);
  expect_refused_path(p, "is a directory, not a .npy file");  // was "wrong magic string"
}

TEST_F(NpyHostile, EmptyFile) { expect_refused("empty.npy", "", "too short"); }

TEST_F(NpyHostile, TooShortForThePreamble) {
  expect_refused("magic_only.npy", std::string("\x93NUMPY", 6), "too short");
  expect_refused("nine_bytes.npy", preamble(1, 0, 0).substr(0, 9), "too short");
  // Version 2.0 needs a 4-byte length: 10 or 11 bytes are not enough.
  expect_refused("v2_ten_bytes.npy", preamble(2, 0, 0).substr(0, 10), "truncated .npy header");
  expect_refused("v2_eleven_bytes.npy", preamble(2, 0, 0).substr(0, 11), "truncated .npy header");
}

TEST_F(NpyHostile, WrongMagic) {
  const std::string good = numpy_file("<f8", false, "(8,)", eight_doubles_);
  std::string bad = good;
  bad[5] = 'Z';  // "\x93NUMPZ"
  expect_refused("numpz.npy", bad, "wrong magic");
  bad = good;
  bad[0] = 'N';
  expect_refused("no_x93.npy", bad, "wrong magic");
  // An .npz archive (a zip file) is not an .npy file.
  expect_refused("archive.npz", std::string("PK\x03\x04", 4) + std::string(200, '\0'),
                 "wrong magic");
  expect_refused("text.npy", std::string(100, 'a'), "wrong magic");
}

TEST_F(NpyHostile, UnsupportedVersion) {
  const std::string header = padded(numpy_dict("<f8", false, "(8,)"));
  expect_refused("v4.npy", raw_npy(header, eight_doubles_, 4, 0),
                 "unsupported .npy format version 4.0");
  expect_refused("v0.npy", raw_npy(header, eight_doubles_, 0, 9),
                 "unsupported .npy format version 0.9");
  expect_refused("v255.npy", raw_npy(header, eight_doubles_, 255, 0), "version 255.0");
  // Only x.0 versions exist; a minor version NumPy does not know is not read on trust.
  expect_refused("v1_1.npy", raw_npy(header, eight_doubles_, 1, 1),
                 "unsupported .npy format version 1.1");
  expect_refused("v2_5.npy", raw_npy(header, eight_doubles_, 2, 5),
                 "unsupported .npy format version 2.5");
}

TEST_F(NpyHostile, HeaderLengthBeyondTheFile) {
  const std::string header = padded(numpy_dict("<f8", false, "(8,)"));
  // The declared header runs past the end of the file.
  expect_refused("cut_in_header.npy", raw_npy(header).substr(0, 40), "truncated .npy header");
  expect_refused("v2_cut_in_header.npy", raw_npy(header, "", 2).substr(0, 40),
                 "truncated .npy header");
  expect_refused("long_length.npy", preamble(1, 0, 1000) + header, "truncated .npy header");
}

// Header lengths no real file has must be refused before anything is allocated for them.
TEST_F(NpyHostile, AbsurdHeaderLength) {
  const std::string header = padded(numpy_dict("<f8", false, "(8,)"), 2);
  const auto start = std::chrono::steady_clock::now();
  expect_refused("two_gib.npy", preamble(2, 0, 1u << 31) + header, "absurd .npy header length");
  expect_refused("four_gib.npy", preamble(3, 0, 0xffffffffu) + header, "absurd .npy header length");
  expect_refused("just_over.npy", preamble(2, 0, (1u << 16) + 1) + header,
                 "absurd .npy header length");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(NpyHostile, HeaderWithoutNewline) {
  const std::string dict = numpy_dict("<f8", false, "(8,)");
  expect_refused("no_newline.npy", raw_npy(dict + "   ", eight_doubles_), "newline");
  // A header length one short of the newline.
  std::string file = raw_npy(padded(dict), eight_doubles_);
  file[8] = static_cast<char>(file[8] - 1);
  expect_refused("short_length.npy", file, "newline");
  expect_refused("zero_length.npy", raw_npy("", eight_doubles_), "newline");
}

TEST_F(NpyHostile, NulByteInHeader) {
  std::string header = padded(numpy_dict("<f8", false, "(8,)"));
  header[header.size() - 2] = '\0';  // in the padding
  expect_refused("nul_padding.npy", raw_npy(header, eight_doubles_), "NUL byte");
  std::string dict = numpy_dict("<f8", false, "(8,)");
  dict[3] = '\0';  // {'d\0scr': ...
  expect_refused("nul_in_key.npy", raw_npy(padded(dict), eight_doubles_), "NUL byte");
}

TEST_F(NpyHostile, MalformedDicts) {
  const std::string& data = eight_doubles_;
  const std::string malformed = "malformed .npy header";
  // Keys missing, repeated or unknown.
  expect_dict_refused("no_descr.npy", "{'fortran_order': False, 'shape': (8,), }", data,
                      "must have the keys");
  expect_dict_refused("no_order.npy", "{'descr': '<f8', 'shape': (8,), }", data,
                      "must have the keys");
  expect_dict_refused("no_shape.npy", "{'descr': '<f8', 'fortran_order': False, }", data,
                      "must have the keys");
  expect_dict_refused("empty_dict.npy", "{}", data, "must have the keys");
  expect_dict_refused("repeated.npy",
                      "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (8,)}",
                      data, "repeated key 'descr'");
  expect_dict_refused("repeated_shape.npy",
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (8,), 'shape': (8,)}",
                      data, "repeated key 'shape'");
  expect_dict_refused("unknown.npy",
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (8,), 'order': 'C'}", data,
                      "unexpected or repeated key 'order'");
  // Broken syntax.
  expect_dict_refused("no_closing_brace.npy",
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (8,), ", data, malformed);
  expect_dict_refused("no_closing_brace2.npy",
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (8,)", data,
                      "expected ',' or '}'");
  expect_dict_refused("no_opening_brace.npy",
                      "'descr': '<f8', 'fortran_order': False, 'shape': (8,)}", data,
                      "expected '{'");
  expect_dict_refused("no_colon.npy", "{'descr' '<f8', 'fortran_order': False, 'shape': (8,)}",
                      data, "expected ':'");
  expect_dict_refused("no_comma.npy", "{'descr': '<f8' 'fortran_order': False, 'shape': (8,)}",
                      data, "expected ',' or '}'");
  expect_dict_refused("unquoted_key.npy", "{descr: '<f8', 'fortran_order': False, 'shape': (8,)}",
                      data, "expected a quoted string");
  expect_dict_refused("unterminated.npy", "{'descr: <f8, fortran_order: False, shape: (8,)}", data,
                      "unterminated string");
  expect_dict_refused("trailing.npy",
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (8,)} junk", data,
                      "trailing characters");
  expect_dict_refused("two_dicts.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (8,)}{}",
                      data, "trailing characters");
}

TEST_F(NpyHostile, MalformedShapes) {
  const std::string& data = eight_doubles_;
  const auto with_shape = [](const std::string& shape) {
    return "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
  };
  expect_dict_refused("negative.npy", with_shape("(-8,)"), data, "shape entries must be integers");
  expect_dict_refused("negative_2d.npy", with_shape("(2, -4)"), data,
                      "shape entries must be integers");
  expect_dict_refused("float.npy", with_shape("(8.0,)"), data, "in the shape");
  expect_dict_refused("exponent.npy", with_shape("(8e0,)"), data, "in the shape");
  expect_dict_refused("string.npy", with_shape("('8',)"), data, "shape entries must be integers");
  expect_dict_refused("none.npy", with_shape("(8, None)"), data, "shape entries must be integers");
  expect_dict_refused("list.npy", with_shape("[8]"), data, "expected '('");
  expect_dict_refused("bare_int.npy", with_shape("8"), data, "expected '('");
  expect_dict_refused("no_separator.npy", with_shape("(2 4)"), data, "in the shape");
  expect_dict_refused("double_comma.npy", with_shape("(8,,)"), data,
                      "shape entries must be integers");
  expect_dict_refused("unclosed.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (8,", data,
                      "malformed .npy header");
}

TEST_F(NpyHostile, FortranOrderNotABoolean) {
  const std::string& data = eight_doubles_;
  for (const std::string value : {"true", "false", "1", "0", "'False'", "None", "Tru"}) {
    SCOPED_TRACE(value);
    expect_dict_refused("order.npy",
                        "{'descr': '<f8', 'fortran_order': " + value + ", 'shape': (8,), }", data,
                        "fortran_order must be True or False");
  }
  // "Truex" begins like True but is not.
  expect_dict_refused("truex.npy", "{'descr': '<f8', 'fortran_order': Truex, 'shape': (8,), }",
                      data, "malformed .npy header");
}

TEST_F(NpyHostile, DescrNotAString) {
  const std::string& data = eight_doubles_;
  expect_dict_refused("descr_int.npy", "{'descr': 8, 'fortran_order': False, 'shape': (8,), }",
                      data, "expected a quoted string");
  // A structured dtype is a list of fields.
  expect_dict_refused("descr_list.npy",
                      "{'descr': [('x', '<f8')], 'fortran_order': False, 'shape': (8,), }", data,
                      "expected a quoted string");
}

TEST_F(NpyHostile, UnsupportedDtypes) {
  // Enough data for any of these to be a complete file of 8 elements.
  for (const std::string descr :
       {"<i8", "|u1", "<c16", "<f2", "<i4", "|b1", "<U1", "|O", "f8", "=f8", "<f16", "<f8 ", ""}) {
    SCOPED_TRACE("descr '" + descr + "'");
    expect_refused("dtype.npy", numpy_file(descr, false, "(8,)", std::string(128, '\0')),
                   "dtype '" + descr + "' is not supported");
  }
  for (const std::string descr : {">f8", ">f4"}) {
    SCOPED_TRACE("descr '" + descr + "'");
    expect_refused("big_endian.npy", numpy_file(descr, false, "(8,)", eight_doubles_),
                   "big-endian");
  }
}

TEST_F(NpyHostile, DataSizeMismatch) {
  const std::string good = numpy_file("<f8", false, "(2, 4)", eight_doubles_);
  expect_refused("one_byte_short.npy", good.substr(0, good.size() - 1), "truncated .npy file");
  expect_refused("no_data.npy", good.substr(0, good.size() - 64), "truncated .npy file");
  expect_refused("one_byte_extra.npy", good + "x", "unexpected bytes after the data");
  expect_refused("one_element_extra.npy", good + std::string(8, '\0'),
                 "8 unexpected bytes after the data");
  // The same bytes as float32 hold 16 elements, not 8.
  expect_refused("f4_extra.npy", numpy_file("<f4", false, "(2, 4)", eight_doubles_),
                 "32 unexpected bytes");
  expect_refused("f4_short.npy", numpy_file("<f4", false, "(2, 9)", eight_doubles_),
                 "truncated .npy file");
  // A 0-d array holds one element; an empty array none.
  expect_refused("scalar_empty.npy", numpy_file("<f8", false, "()", ""), "truncated .npy file");
  expect_refused("empty_with_data.npy", numpy_file("<f8", false, "(0,)", "12345678"),
                 "unexpected bytes");
}

// Shapes whose byte count overflows or dwarfs the file are refused from the header alone: quickly,
// and without an allocation (which would fail with OutOfMemory, or take seconds).
TEST_F(NpyHostile, AbsurdShapes) {
  const std::string& data = eight_doubles_;
  const auto start = std::chrono::steady_clock::now();
  expect_refused("overflow_product.npy",
                 numpy_file("<f8", false, "(4294967296, 4294967296, 4294967296)", data),
                 "absurd shape");
  expect_refused("overflow_bytes.npy", numpy_file("<f8", false, "(1152921504606846976,)", data),
                 "absurd shape");  // 2^60 elements of 8 bytes: 2^63 bytes
  expect_refused("overflow_dim.npy", numpy_file("<f4", false, "(99999999999999999999,)", data),
                 "absurd shape");
  expect_refused("int64_max.npy", numpy_file("<f4", false, "(9223372036854775807,)", data),
                 "absurd shape");
  expect_refused("huge.npy", numpy_file("<f8", false, "(1000000000000,)", data),
                 "truncated .npy file");
  expect_refused("huge_f4.npy", numpy_file("<f4", false, "(1099511627776, 1)", data),
                 "truncated .npy file");
  expect_refused("huge_fortran.npy", numpy_file("<f8", true, "(1000000, 1000000)", data),
                 "truncated .npy file");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(NpyHostile, MoreThan32Dimensions) {
  std::string shape = "(";
  for (int i = 0; i < 33; ++i) shape += "1, ";
  shape += ")";
  expect_refused("d33.npy", numpy_file("<f8", false, shape, std::string(8, '\0')),
                 "more than 32 dimensions");
  std::string many = "(";
  for (int i = 0; i < 1000; ++i) many += "1,";
  many += ")";
  expect_refused("d1000.npy", numpy_file("<f8", false, many, std::string(8, '\0')),
                 "more than 32 dimensions");
}

// ---- write_npy: atomic replacement, no temporaries left ----------------------------------------

class NpyWrite : public NpyFiles {};

TEST_F(NpyWrite, MissingDirectoryThrowsAndLeavesNothing) {
  const std::string p = path("no_such_directory/out.npy");
  const std::vector<double> values = {1, 2, 3};
  const std::string message = refusal_of([&] { write_npy<double>(p, values.data(), {3}); });
  EXPECT_NE(message.find(p), std::string::npos) << message;
  EXPECT_NE(message.find("cannot open for writing"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(path("no_such_directory")));
  EXPECT_TRUE(entries().empty());
}

TEST_F(NpyWrite, ReplacesAnExistingFileCompletely) {
  const std::string p = path("out.npy");
  // First a longer file that is not .npy at all, then a longer .npy.
  write("out.npy", std::string(100000, 'x'));
  const std::vector<double> long_values(1000, 42.0);
  write_npy<double>(p, long_values.data(), {10, 100});
  EXPECT_EQ(fs::file_size(p), static_cast<std::uintmax_t>(read_npy_header(p).data_offset) + 8000u);
  const std::vector<float> short_values = {1.5f, -2.5f, 3.5f};
  write_npy<float>(p, short_values.data(), {3});
  EXPECT_EQ(fs::file_size(p), static_cast<std::uintmax_t>(read_npy_header(p).data_offset) + 12u);
  const NdArray<float> array = read_npy<float>(p);
  EXPECT_EQ(array.shape, Shape({3}));
  EXPECT_TRUE(same_bits(short_values, array.data));
  EXPECT_EQ(entries(), std::vector<std::string>({"out.npy"}));
}

TEST_F(NpyWrite, NoTemporaryLeftAfterSuccess) {
  const std::vector<double> values = {1, 2, 3, 4};
  write_npy<double>(path("a.npy"), values.data(), {2, 2});
  write_npy<double>(path("b.npy"), values.data(), {4});
  write_npy<double>(path("a.npy"), values.data(), {4, 1});
  EXPECT_EQ(entries(), std::vector<std::string>({"a.npy", "b.npy"}));
}

// A directory in the way: the temporary file is written, the rename fails, and the temporary
// must be removed again.
TEST_F(NpyWrite, FailedRenameLeavesNoTemporary) {
  const std::string p = path("taken.npy");
  ASSERT_TRUE(fs::create_directory(p));
  const std::vector<double> values = {1, 2, 3};
  const std::string message = refusal_of([&] { write_npy<double>(p, values.data(), {3}); });
  EXPECT_NE(message.find(p), std::string::npos) << message;
  EXPECT_NE(message.find("cannot move the written file into place"), std::string::npos) << message;
  EXPECT_TRUE(fs::is_directory(p));
  EXPECT_EQ(entries(), std::vector<std::string>({"taken.npy"}));
}

TEST_F(NpyWrite, NegativeDimensionThrowsAndLeavesNothing) {
  const std::string p = path("negative.npy");
  const std::vector<double> values = {1, 2, 3};
  const std::string message = refusal_of([&] { write_npy<double>(p, values.data(), {3, -1}); });
  EXPECT_NE(message.find(p), std::string::npos) << message;
  EXPECT_NE(message.find("negative dimension -1"), std::string::npos) << message;
  EXPECT_TRUE(entries().empty());
}

// The reader refuses more than 32 dimensions, so the writer must not produce such files (their
// header could even outgrow the 2-byte length of a version 1.0 file).
TEST_F(NpyWrite, MoreThan32DimensionsThrowsAndLeavesNothing) {
  const std::string p = path("d33.npy");
  const double value = 1.0;
  const std::string message = refusal_of([&] { write_npy<double>(p, &value, Shape(33, 1)); });
  EXPECT_NE(message.find(p), std::string::npos) << message;
  EXPECT_NE(message.find("more than 32 dimensions"), std::string::npos) << message;
  EXPECT_TRUE(entries().empty());
}

// ---- NpyHeader::size() -------------------------------------------------------------------------

TEST(NpyHeaderSize, ProductOfTheShape) {
  NpyHeader header;
  header.shape = {};
  EXPECT_EQ(header.size(), 1);
  header.shape = {0, 3};
  EXPECT_EQ(header.size(), 0);
  header.shape = {2, 3};
  EXPECT_EQ(header.size(), 6);
  header.shape = {3, 0};
  EXPECT_EQ(header.size(), 0);
  header.shape = {2, 3, 4};
  EXPECT_EQ(header.size(), 24);
  // A zero dimension after huge ones: 0 without an intermediate signed overflow (which an
  // undefined-behaviour sanitizer build reports).
  header.shape = {4294967296, 4294967296, 4294967296, 0};
  EXPECT_EQ(header.size(), 0);
}

}  // namespace
}  // namespace gaussot
