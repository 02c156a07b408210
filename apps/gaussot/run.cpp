// SPDX-License-Identifier: Apache-2.0
// `gaussot <command> [options]`: see CLI.md. Exit status 0 on success, 2 on bad usage or bad
// input, 1 on a numerical or device failure; every failure prints one line on stderr.
#include "run.hpp"

#include <iostream>
#include <new>

#include "commands.hpp"
#include "gaussot/gaussot.hpp"
#include "usage_error.hpp"

namespace {
int fail(int status, const std::string& command, const std::string& message) {
  std::cerr << "gaussot" << (command.empty() ? "" : " " + command) << ": error: " << message
            << std::endl;
  return status;
}
}  // namespace

namespace gaussot::cli {

int run(int argc, char** argv) {
  CLI::App app{"gaussot: optimal transport and alignment between Gaussian measures", "gaussot"};
  app.require_subcommand(1);
  app.set_version_flag("--version", gaussot::version());
  gaussot::cli::register_info(app);
  gaussot::cli::register_linalg(app);
  gaussot::cli::register_bures(app);
  gaussot::cli::register_igw(app);
  gaussot::cli::register_cka(app);
  gaussot::cli::register_compare(app);
  gaussot::cli::register_cluster(app);
  gaussot::cli::register_demo(app);
  gaussot::cli::register_mmot(app);
  gaussot::cli::register_entropic(app);
  gaussot::cli::register_sinkhorn(app);
  gaussot::cli::register_ngw(app);

  auto command = [&] {
    for (const CLI::App* sub : app.get_subcommands()) return sub->get_name();
    return std::string();
  };
  if (argc > 1 && argv[1][0] != '-') {  // a first word that names no command
    std::string known;
    bool found = false;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      known += (known.empty() ? "" : ", ") + sub->get_name();
      found = found || sub->get_name() == argv[1];
    }
    if (!found) {
      return fail(2, "",
                  std::string("unknown command '") + argv[1] + "' (commands: " + known + ")");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version (CallForHelp derives from Success)
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(2, command(), std::string(e.what()) + " (run with --help for usage)");
  } catch (const gaussot::cli::UsageError& e) {
    return fail(2, command(), e.what());
  } catch (const gaussot::InvalidArgument& e) {
    return fail(2, command(), e.message());
  } catch (const gaussot::NotCompiled& e) {
    return fail(2, command(), e.message());
  } catch (const gaussot::Error& e) {
    return fail(1, command(), e.what());
  } catch (const std::bad_alloc&) {
    return fail(1, command(), "out of host memory");
  } catch (const std::exception& e) {
    return fail(1, command(), e.what());
  } catch (...) {
    return fail(1, command(), "unexpected error");
  }
  return 0;
}

}  // namespace gaussot::cli
