// SPDX-License-Identifier: Apache-2.0
// The gaussot._gaussot extension module: exceptions, info(), and the bindings of bindings.hpp.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <exception>
#include <string>

#include "bindings.hpp"
#include "gaussot/gaussot.hpp"

namespace nb = nanobind;

namespace gaussot::python {
namespace {

/// The Python exception types of gaussot's C++ exceptions (owned by the module's attributes).
struct ExceptionTypes {
  PyObject* error = nullptr;
  PyObject* invalid_argument = nullptr;
  PyObject* not_compiled = nullptr;
  PyObject* cuda_error = nullptr;
  PyObject* out_of_memory = nullptr;
  PyObject* convergence_error = nullptr;
};
ExceptionTypes types;

/// Creates the exception type gaussot.<name> with `bases` and adds it to the module.
PyObject* add_exception(nb::module_& m, const char* name, nb::handle bases, const char* doc) {
  const std::string qualified = std::string("gaussot.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw nb::python_error();
  m.attr(name) = nb::steal(type);
  return type;
}

/// Raises `type` with the C++ message and the given attributes.
template <typename SetAttributes>
void raise(PyObject* type, const Error& e, SetAttributes&& set_attributes) {
  PyObject* exception = PyObject_CallFunction(type, "s", e.message().c_str());
  if (exception == nullptr) return;  // the failure to create it is the error raised
  nb::handle h(exception);
  try {
    set_attributes(h);
  } catch (...) {
    // Attributes are an extra: the exception with its message is raised without them.
  }
  PyErr_SetObject(type, exception);
  Py_DECREF(exception);
}

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const InvalidArgument& e) {
    raise(types.invalid_argument, e, [&](nb::handle h) {
      h.attr("argument") = e.argument();
      h.attr("batch_index") = e.batch_index();
    });
  } catch (const NotCompiled& e) {
    raise(types.not_compiled, e, [](nb::handle) {});
  } catch (const CudaError& e) {
    raise(types.cuda_error, e, [&](nb::handle h) {
      h.attr("library") = e.library();
      h.attr("status") = e.status();
    });
  } catch (const OutOfMemory& e) {
    raise(types.out_of_memory, e, [](nb::handle) {});
  } catch (const ConvergenceError& e) {
    raise(types.convergence_error, e, [&](nb::handle h) {
      h.attr("batch_index") = e.batch_index();
      h.attr("info") = e.info();
    });
  } catch (const Error& e) {
    raise(types.error, e, [](nb::handle) {});
  }
}

void register_exceptions(nb::module_& m) {
  const nb::handle runtime(PyExc_RuntimeError);
  types.error = add_exception(m, "Error", nb::make_tuple(runtime),
                              "Base class of gaussot's errors (a RuntimeError); the message is the "
                              "C++ library's.");
  const nb::handle error(types.error);
  types.invalid_argument = add_exception(
      m, "InvalidArgument", nb::make_tuple(nb::handle(PyExc_ValueError), error),
      "A malformed argument (a ValueError): wrong shape, dtype or device, non-finite values, a "
      "covariance that is not symmetric or positive semidefinite. Attributes: argument (the "
      "argument at fault as the message names it, or ''), batch_index (the first failing batch "
      "item, or -1).");
  types.not_compiled = add_exception(
      m, "NotCompiled", nb::make_tuple(nb::handle(PyExc_NotImplementedError), error),
      "The requested backend was not compiled into this build (a NotImplementedError), e.g. "
      "backend='cuda' or device arrays with a module built without CUDA.");
  types.cuda_error =
      add_exception(m, "CudaError", nb::make_tuple(error),
                    "A CUDA runtime, cuBLAS or cuSOLVER call failed. Attributes: library, status.");
  types.out_of_memory =
      add_exception(m, "OutOfMemory", nb::make_tuple(nb::handle(PyExc_MemoryError), error),
                    "A host or device allocation failed (a MemoryError).");
  types.convergence_error = add_exception(
      m, "ConvergenceError", nb::make_tuple(error),
      "A numerical method did not converge. Attributes: batch_index (or -1), info (the solver's "
      "code).");
  nb::register_exception_translator(translate);
}

nb::dict info() {
  nb::dict d;
  d["version"] = gaussot::version();
  nb::list backends;
  for (Backend b : compiled_backends()) backends.append(to_string(b));
  d["backends"] = backends;
  d["cuda_compiled"] = bool(GAUSSOT_HAS_CUDA);
  nb::list devices;
  for (const std::string& name : cuda_device_names()) devices.append(name);
  d["cuda_devices"] = devices;
  d["cpu_threads"] = Context::cpu().num_threads();
  d["blas"] = cpu_blas();
  return d;
}

}  // namespace
}  // namespace gaussot::python

NB_MODULE(_gaussot, m) {
  using namespace gaussot::python;
  m.doc() = "gaussot's C++ library (see the gaussot package for the documentation).";
  m.attr("__version__") = gaussot::version();
  register_exceptions(m);
  m.def("info", &info,
        "info() -> dict\n\n"
        "The build: 'version', 'backends' (compiled backends, 'cpu' and possibly 'cuda'), "
        "'cuda_compiled', 'cuda_devices' (names of the CUDA devices this process can use; empty "
        "without a device or without the CUDA backend) and 'cpu_threads' (threads of a CPU "
        "call; set OMP_NUM_THREADS to change it) and 'blas' (the BLAS/LAPACK under the CPU "
        "backend and the kernels it chose for this CPU).");
  bind_bures(m);
  bind_linalg(m);
  bind_igw(m);
  bind_cka(m);
  bind_mmot(m);
  bind_entropic(m);
  bind_sinkhorn(m);
  bind_cluster(m);
}
