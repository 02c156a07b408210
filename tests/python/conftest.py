"""Fixtures shared by the tests of the Python module (the NumPy references are in reference.py)."""

import numpy as np
import pytest


@pytest.fixture(params=[np.float64, np.float32], ids=["f64", "f32"])
def dtype(request):
    """Both element types gaussot computes in."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)
