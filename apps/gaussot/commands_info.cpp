// SPDX-License-Identifier: Apache-2.0
#include <memory>

#include "commands.hpp"
#include "npz.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {

void register_info(CLI::App& app) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* command = app.add_subcommand("info", "Version, compiled backends and CUDA devices");
  add_common_options(*command, *options);
  command->callback([options] {
    Context ctx = make_context(*options);
    Report report("info", *options, ctx);
    report.start_clock();
    nlohmann::ordered_json backends = nlohmann::ordered_json::array();
    for (Backend b : compiled_backends()) backends.push_back(to_string(b));
    report.fields()["version"] = version();
    report.fields()["backends"] = backends;
    report.fields()["devices"] = cuda_device_names();
    report.fields()["blas"] = cpu_blas();
    report.fields()["npz"] = npz_supported();
    report.fields()["cpu_threads"] = Context::cpu(options->threads).num_threads();
    report.stop_clock();
    report.emit();
  });
}

}  // namespace gaussot::cli
