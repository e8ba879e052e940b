"""Writes python.safetensors with Python's safetensors package: the fixture the Swift reader and writer are
tested against. Run from this directory: python3 make_fixture.py (needs numpy and safetensors)."""
import numpy as np
from safetensors.numpy import save_file

tensors = {
    "layers.1.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    "layers.1.bias": np.array([1.5, -2.25, 1e-30], dtype=np.float32),
    "scalar": np.array(3.0, dtype=np.float32),
    "empty": np.zeros((0, 5), dtype=np.float32),
    "émoji→": np.array([np.inf, -np.inf], dtype=np.float32),
}
# One metadata entry: Python keeps metadata in a hash map, so the order of several keys varies between runs.
metadata = {"note ✓": 'quote " backslash \\ tab \t newline \n control \x01'}
save_file(tensors, "python.safetensors", metadata=metadata)
