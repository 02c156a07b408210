// SPDX-License-Identifier: Apache-2.0
// NumPy .npz archives (what np.savez and np.savez_compressed write: a zip of NAME.npy members,
// stored or deflated), read and written through libzip; the members go through npy.hpp. Used
// for FID statistics files (mu, sigma: the format of pytorch-fid and clean-fid).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "gaussot/npy.hpp"

namespace gaussot::cli {

/// Whether this build reads and writes .npz files (it was built with libzip); without it the
/// functions below throw UsageError saying so.
bool npz_supported();

/// Every NAME.npy member of the archive at `path`, by NAME, converted to T. UsageError starting
/// with `where` ("--a-stats: PATH") for a file that cannot be read, is not a zip archive, or holds
/// a member that is not a valid .npy file.
template <typename T>
std::map<std::string, NdArray<T>> read_npz(const std::string& where, const std::string& path);

/// One array to store: NAME.npy in the archive.
template <typename T>
struct NpzMember {
  std::string name;
  const T* data;
  std::vector<std::int64_t> shape;
};

/// Writes the members as an uncompressed .npz (np.savez's layout) under a temporary name beside
/// `path`, then renames it into place: a failure leaves no partial file. UsageError starting with
/// `where` when it cannot be written.
template <typename T>
void write_npz(const std::string& where, const std::string& path,
               const std::vector<NpzMember<T>>& members);

}  // namespace gaussot::cli
