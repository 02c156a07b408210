"""Loads a script of examples/python as a module, for the tests that run the examples."""

import importlib.util
import os

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")


def load_example(file_name):
    """examples/python/FILE_NAME imported as a module (its main() not yet run)."""
    spec = importlib.util.spec_from_file_location(os.path.splitext(file_name)[0],
                                                  os.path.join(EXAMPLES, file_name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
