#!/usr/bin/env python3
"""Open a glassbox safetensors file with Hugging Face's `safetensors` package
(the way a PyTorch user would) and print what it holds as JSON:

    python3 scripts/check_safetensors.py FILE

Output: {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}.
The values are flattened lists (floats, ints); the test suite compares them
with what glassbox wrote. Needs `safetensors` and `numpy`.
"""
import json
import sys

from safetensors import safe_open


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: check_safetensors.py FILE")
    out = {"metadata": {}, "tensors": {}}
    with safe_open(sys.argv[1], framework="numpy") as f:
        out["metadata"] = f.metadata() or {}
        for name in f.keys():
            t = f.get_tensor(name)
            out["tensors"][name] = {
                "dtype": str(t.dtype),
                "shape": list(t.shape),
                "values": t.reshape(-1).tolist(),
            }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
