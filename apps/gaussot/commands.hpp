// SPDX-License-Identifier: Apache-2.0
// Each function adds its commands to the `gaussot` application.
#pragma once

#include <CLI/CLI.hpp>

namespace gaussot::cli {

void register_info(CLI::App& app);      // info
void register_linalg(CLI::App& app);    // eigh, sqrtm
void register_bures(CLI::App& app);     // bw, bw-map, bw-geodesic, bw-barycenter, fid
void register_igw(CLI::App& app);       // igw, igw-map, igw-barycenter
void register_cka(CLI::App& app);       // cka
void register_compare(CLI::App& app);   // compare
void register_cluster(CLI::App& app);   // cluster
void register_demo(CLI::App& app);      // demo
void register_mmot(CLI::App& app);      // mmot
void register_entropic(CLI::App& app);  // entropic
void register_sinkhorn(CLI::App& app);  // sinkhorn
void register_ngw(CLI::App& app);       // ngw

}  // namespace gaussot::cli
