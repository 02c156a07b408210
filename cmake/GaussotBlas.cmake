# The BLAS and LAPACK under the CPU backend (GAUSSOT_BLAS), as the imported target gaussot::blas.
#
#   scipy-openblas  OpenBLAS as the scipy-openblas32 wheel ships it (PyPI, BSD): a pthreads build
#                   with every x86-64 kernel set (DYNAMIC_ARCH), symbols prefixed `scipy_`. The
#                   default on x86-64 Linux. The wheel is downloaded at configure time (pinned URL
#                   and SHA-256, into the build folder) unless GAUSSOT_SCIPY_OPENBLAS_DIR names an
#                   unpacked copy (a folder with lib/libscipy_openblas.so, e.g. the
#                   scipy_openblas32 package folder of an installed wheel).
#   system          find_package(LAPACK) with BLA_VENDOR OpenBLAS (Debian: libopenblas-openmp-dev).
#
# Why scipy-openblas (bench/blas/: the harness and its tables, measured on the 2-core Xeon of CI):
# Debian 12's OpenBLAS 0.3.21 does not know that CPU and runs its generic Prescott kernels (dgemm
# at 2048 is 2x slower than Eigen's), and its OpenMP threads spin at every barrier, so that one
# busy process beside it made one eigvalsh of order 2048 take 8 s instead of 0.3 s. The pthreads
# build yields while it waits.
#
# Defines GAUSSOT_BLAS_PTHREADS (1: the BLAS keeps its own thread pool, set through
# openblas_set_num_threads; 0: the BLAS runs on the caller's OpenMP team) and
# GAUSSOT_BLAS_SHARED_LIBRARY (the library file the Python wheel carries, scipy-openblas only).

set(GAUSSOT_BLAS_DEFAULT system)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64)$")
  set(GAUSSOT_BLAS_DEFAULT scipy-openblas)
endif()
set(GAUSSOT_BLAS "${GAUSSOT_BLAS_DEFAULT}" CACHE STRING
    "BLAS/LAPACK of the CPU backend: scipy-openblas (default on x86-64 Linux) or system")
set_property(CACHE GAUSSOT_BLAS PROPERTY STRINGS scipy-openblas system)
set(GAUSSOT_SCIPY_OPENBLAS_DIR "" CACHE PATH
    "An unpacked scipy-openblas32 (folder with lib/libscipy_openblas.so); empty: download the pinned wheel")

set(GAUSSOT_SCIPY_OPENBLAS_VERSION 0.3.34.481.3)
set(GAUSSOT_SCIPY_OPENBLAS_URL
    "https://files.pythonhosted.org/packages/75/93/56ce22e41d59a45b885ac67f53425cd012329cb1e4de3285bebc4f8ad4bc/scipy_openblas32-0.3.34.481.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
set(GAUSSOT_SCIPY_OPENBLAS_SHA256 0595f94cd58c1f8a0d90c975621f4587337a003916b1979e834ebdf2cb5d9504)

if(GAUSSOT_BLAS STREQUAL "scipy-openblas")
  if(GAUSSOT_SCIPY_OPENBLAS_DIR)
    set(scipy_openblas_root "${GAUSSOT_SCIPY_OPENBLAS_DIR}")
  else()
    set(wheel_dir "${PROJECT_BINARY_DIR}/_deps/scipy-openblas32-${GAUSSOT_SCIPY_OPENBLAS_VERSION}")
    if(NOT EXISTS "${wheel_dir}/scipy_openblas32/lib/libscipy_openblas.so")
      set(wheel_file "${PROJECT_BINARY_DIR}/_deps/scipy_openblas32.whl")
      message(STATUS "gaussot: downloading scipy-openblas32 ${GAUSSOT_SCIPY_OPENBLAS_VERSION} (PyPI)")
      file(DOWNLOAD "${GAUSSOT_SCIPY_OPENBLAS_URL}" "${wheel_file}"
           EXPECTED_HASH SHA256=${GAUSSOT_SCIPY_OPENBLAS_SHA256} STATUS download_status)
      list(GET download_status 0 download_code)
      if(NOT download_code EQUAL 0)
        list(GET download_status 1 download_message)
        message(FATAL_ERROR
          "gaussot: could not download scipy-openblas32 (${download_message}). Configure with "
          "-DGAUSSOT_SCIPY_OPENBLAS_DIR=<unpacked wheel folder> or -DGAUSSOT_BLAS=system.")
      endif()
      file(ARCHIVE_EXTRACT INPUT "${wheel_file}" DESTINATION "${wheel_dir}")
      file(REMOVE "${wheel_file}")
    endif()
    set(scipy_openblas_root "${wheel_dir}/scipy_openblas32")
  endif()
  set(GAUSSOT_BLAS_SHARED_LIBRARY "${scipy_openblas_root}/lib/libscipy_openblas.so")
  if(NOT EXISTS "${GAUSSOT_BLAS_SHARED_LIBRARY}")
    message(FATAL_ERROR "gaussot: no lib/libscipy_openblas.so under ${scipy_openblas_root}")
  endif()
  add_library(gaussot::blas SHARED IMPORTED GLOBAL)
  set_target_properties(gaussot::blas PROPERTIES
    IMPORTED_LOCATION "${GAUSSOT_BLAS_SHARED_LIBRARY}"
    IMPORTED_SONAME libscipy_openblas.so
    INTERFACE_COMPILE_DEFINITIONS "GAUSSOT_BLAS_SYMBOL_PREFIX_SCIPY=1;GAUSSOT_BLAS_PTHREADS=1")
  message(STATUS "gaussot: BLAS/LAPACK: scipy-openblas32 (${GAUSSOT_BLAS_SHARED_LIBRARY})")
elseif(GAUSSOT_BLAS STREQUAL "system")
  set(BLA_VENDOR OpenBLAS)
  find_package(LAPACK REQUIRED)
  add_library(gaussot::blas INTERFACE IMPORTED GLOBAL)
  set_target_properties(gaussot::blas PROPERTIES
    INTERFACE_LINK_LIBRARIES LAPACK::LAPACK
    INTERFACE_COMPILE_DEFINITIONS "GAUSSOT_BLAS_PTHREADS=0")
  set(GAUSSOT_BLAS_SHARED_LIBRARY "")
  message(STATUS "gaussot: BLAS/LAPACK: the system's OpenBLAS (OpenMP build)")
else()
  message(FATAL_ERROR "GAUSSOT_BLAS must be scipy-openblas or system, not '${GAUSSOT_BLAS}'")
endif()
