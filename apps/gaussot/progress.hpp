// SPDX-License-Identifier: Apache-2.0
// A progress bar on stderr for the commands that read many files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gaussot::cli {

/// A one-line progress bar on stderr, `[#####     ]  53% reading 530/1000`, redrawn in place with
/// a carriage return; does nothing when stderr is not a terminal (or when disabled). update() is
/// cheap to call often: it redraws at most 10 times a second, and at once when the stage changes
/// or the work is done. finish() (and the destructor) clears the line. Not thread-safe: call it
/// from one thread.
class ProgressBar {
 public:
  /// Active when `enabled` and stderr is a terminal.
  explicit ProgressBar(bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  /// `done` of `total` units of `stage` are finished.
  void update(const char* stage, std::int64_t done, std::int64_t total);
  /// Clears the line (if drawn); a later update() draws again.
  void finish();

 private:
  bool enabled_;
  double last_draw_ = -1;  ///< seconds (steady clock) of the last redraw
  bool drawn_ = false;
  std::size_t width_ = 0;  ///< characters on the line now
  std::string stage_;      ///< stage of the last redraw
};

/// True when file descriptor 2 is a terminal.
bool stderr_is_terminal();

}  // namespace gaussot::cli
