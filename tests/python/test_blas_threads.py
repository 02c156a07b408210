# SPDX-License-Identifier: Apache-2.0
"""The BLAS under gaussot's CPU backend in a Python process: gaussot.info() names it, and
threadpoolctl (the tool scikit-learn and NumPy users limit BLAS threads with) sees gaussot's copy
and limits it; gaussot never raises the count set outside it and restores it after each call."""
from pathlib import Path

import numpy as np
import pytest

import gaussot

threadpoolctl = pytest.importorskip(
    "threadpoolctl", reason="threadpoolctl is not installed (scikit-learn brings it)")


def gaussots_blas():
    """threadpoolctl's entries for the BLAS the gaussot package carries beside its module."""
    here = Path(gaussot.__file__).resolve().parent
    return [m for m in threadpoolctl.threadpool_info()
            if Path(m["filepath"]).resolve().parent == here]


def lapack_sized(d=300, seed=0):
    """A covariance of an order that goes to LAPACK (from 160)."""
    x = np.random.default_rng(seed).standard_normal((d, 2 * d))
    return x @ x.T / (2 * d)


def scipy_openblas():
    if not gaussot.info()["blas"].startswith("scipy-openblas"):
        pytest.skip("this module was built with GAUSSOT_BLAS=system: its BLAS follows OpenMP's "
                    "setting, not threadpoolctl's BLAS limit")


def test_info_names_the_blas_and_its_kernels():
    blas = gaussot.info()["blas"]
    assert "OpenBLAS" in blas and "kernels" in blas


def test_threadpoolctl_sees_gaussots_openblas():
    scipy_openblas()
    ours = gaussots_blas()
    assert len(ours) == 1, threadpoolctl.threadpool_info()
    assert ours[0]["internal_api"] == "openblas"
    assert ours[0]["num_threads"] >= 1


def test_a_threadpoolctl_limit_holds_through_gaussot_calls_and_comes_back():
    scipy_openblas()
    a = lapack_sized()
    before = gaussots_blas()[0]["num_threads"]
    expected = gaussot.eigvalsh(a)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert gaussots_blas()[0]["num_threads"] == 1
        limited = gaussot.eigvalsh(a)
        assert gaussots_blas()[0]["num_threads"] == 1  # not raised by the call
    assert gaussots_blas()[0]["num_threads"] == before
    np.testing.assert_allclose(limited, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(expected, np.linalg.eigvalsh(a)[::-1], rtol=0,
                               atol=1e-12 * np.abs(expected).max())
