// SPDX-License-Identifier: Apache-2.0
#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace gaussot::cli {

bool stderr_is_terminal() { return ::isatty(2) == 1; }

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled && stderr_is_terminal()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(const char* stage, std::int64_t done, std::int64_t total) {
  if (!enabled_) return;
  const double now =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const bool complete = done >= total;
  if (drawn_ && stage_ == stage && !complete && now - last_draw_ < 0.1) return;
  last_draw_ = now;
  stage_ = stage;
  constexpr int kBar = 24;
  const double fraction = total > 0 ? std::clamp(double(done) / double(total), 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(fraction * kBar);
  char percent[8];
  std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
  const std::string line = "[" + std::string(filled, '#') + std::string(kBar - filled, ' ') + "] " +
                           percent + " " + stage + " " + std::to_string(done) + "/" +
                           std::to_string(total);
  // Spaces over what is left of a longer previous line.
  const std::string clear(width_ > line.size() ? width_ - line.size() : 0, ' ');
  std::fprintf(stderr, "\r%s%s", line.c_str(), clear.c_str());
  std::fflush(stderr);
  width_ = line.size();
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r%s\r", std::string(width_, ' ').c_str());
  std::fflush(stderr);
  drawn_ = false;
  width_ = 0;
  stage_.clear();
}

}  // namespace gaussot::cli
