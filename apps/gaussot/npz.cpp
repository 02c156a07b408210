// SPDX-License-Identifier: Apache-2.0
#include "npz.hpp"

#include "usage_error.hpp"

#ifdef GAUSSOT_HAVE_LIBZIP
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <memory>
#include <sstream>
#endif

namespace gaussot::cli {

#ifdef GAUSSOT_HAVE_LIBZIP
bool npz_supported() { return true; }

namespace {

/// libzip's message for an error code of zip_open.
std::string open_error(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string message = zip_error_strerror(&error);
  zip_error_fini(&error);
  return message;
}

struct ArchiveCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using Archive = std::unique_ptr<zip_t, ArchiveCloser>;

constexpr char kSuffix[] = ".npy";
constexpr std::size_t kSuffixLength = sizeof(kSuffix) - 1;

}  // namespace

template <typename T>
std::map<std::string, NdArray<T>> read_npz(const std::string& where, const std::string& path) {
  int code = 0;
  Archive archive(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (!archive)
    throw UsageError(where + ": cannot be read as an .npz file (" + open_error(code) + ")");
  std::map<std::string, NdArray<T>> arrays;
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), zip_uint64_t(i), 0, &stat) != 0 ||
        !(stat.valid & ZIP_STAT_NAME) || !(stat.valid & ZIP_STAT_SIZE)) {
      throw UsageError(where + ": member " + std::to_string(i) + " cannot be read (" +
                       zip_strerror(archive.get()) + ")");
    }
    const std::string name = stat.name;
    if (name.size() <= kSuffixLength ||
        name.compare(name.size() - kSuffixLength, kSuffixLength, kSuffix) != 0) {
      continue;  // np.savez writes only NAME.npy members; anything else is not an array
    }
    std::string bytes(stat.size, '\0');
    zip_file_t* file = zip_fopen_index(archive.get(), zip_uint64_t(i), 0);
    const zip_int64_t read =
        file == nullptr ? -1 : zip_fread(file, bytes.data(), zip_uint64_t(bytes.size()));
    if (file != nullptr) zip_fclose(file);
    if (read != zip_int64_t(bytes.size())) {
      throw UsageError(where + ": member " + name + " cannot be read (" +
                       zip_strerror(archive.get()) + ")");
    }
    std::istringstream in(std::move(bytes));
    arrays[name.substr(0, name.size() - kSuffixLength)] =
        blaming(where, [&] { return read_npy<T>(in, name); });
  }
  return arrays;
}

template <typename T>
void write_npz(const std::string& where, const std::string& path,
               const std::vector<NpzMember<T>>& members) {
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  int code = 0;
  Archive archive(zip_open(temporary.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
  if (!archive) throw UsageError(where + ": cannot be written (" + open_error(code) + ")");
  std::vector<std::string> buffers;  // libzip reads them when the archive is closed
  buffers.reserve(members.size());
  for (const NpzMember<T>& member : members) {
    std::ostringstream out;
    write_npy(out, member.name, member.data, member.shape);
    buffers.push_back(out.str());
    zip_source_t* source =
        zip_source_buffer(archive.get(), buffers.back().data(), buffers.back().size(), 0);
    const std::string name = member.name + kSuffix;
    const zip_int64_t index =
        source == nullptr ? -1 : zip_file_add(archive.get(), name.c_str(), source, 0);
    if (index < 0) {
      if (source != nullptr) zip_source_free(source);
      throw UsageError(where + ": cannot add " + name + " (" + zip_strerror(archive.get()) + ")");
    }
    zip_set_file_compression(archive.get(), zip_uint64_t(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive.get()) != 0) {
    const std::string message = zip_strerror(archive.get());
    std::remove(temporary.c_str());
    throw UsageError(where + ": cannot be written (" + message + ")");
  }
  archive.release();  // closed: zip_close freed it
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw UsageError(where + ": cannot move the written file into place");
  }
}

#else
bool npz_supported() { return false; }

namespace {
[[noreturn]] void unsupported(const std::string& where) {
  throw UsageError(where +
                   ": this gaussot was built without libzip, so it cannot read or write "
                   ".npz files (install libzip-dev and rebuild)");
}
}  // namespace

template <typename T>
std::map<std::string, NdArray<T>> read_npz(const std::string& where, const std::string&) {
  unsupported(where);
}

template <typename T>
void write_npz(const std::string& where, const std::string&, const std::vector<NpzMember<T>>&) {
  unsupported(where);
}
#endif

#define GAUSSOT_INSTANTIATE(T)                                                                    \
  template std::map<std::string, NdArray<T>> read_npz<T>(const std::string&, const std::string&); \
  template void write_npz<T>(const std::string&, const std::string&,                              \
                             const std::vector<NpzMember<T>>&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot::cli
