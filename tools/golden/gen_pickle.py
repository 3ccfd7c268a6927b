#!/usr/bin/python3
"""Writes the Python-made pickles that internal/pickle is tested against.

    /usr/bin/python3 tools/golden/gen_pickle.py

Every value below is pickled with every protocol (0 to 5) by CPython's own
pickler into internal/pickle/testdata/python/<name>.p<protocol>.pkl: the
strict checker must accept all of them, and gopickle must decode them. The
deep_* values sit on both sides of the checker's nesting limit (MaxDepth =
100). Needs no package beyond the standard library; deterministic: a
second run rewrites the same bytes.
"""

import collections
import os
import pickle
import sys

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "internal", "pickle", "testdata", "python")


def nested(depth):
    """A list nested depth deep: [[...[1]...]]."""
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def values():
    shared = [1, 2]
    cycle = []
    cycle.append(cycle)
    return {
        "scalars": [None, True, False, 0, -1, 255, 65535, 2**31 - 1, -(2**31), 2**64, -(2**70), 0.5, -1e300],
        "strings": ["", "abc", "é\n\"'", "x" * 300, b"", b"\x00\xff", bytearray(b"ab")],
        "containers": {"list": [1, [2, 3]], "tuple": (1, (2,), (3, 4), (5, 6, 7), (8, 9, 10, 11)),
                       "set": {1, 2}, "frozenset": frozenset([3]), "dict": {1: "a", "b": [2]}},
        "shared": [shared, shared, (shared,)],
        "cycle": cycle,
        "ordered": collections.OrderedDict([("w", 1.0), ("b", [2.0])]),
        "batch": {"labels": list(range(1500)), "data": bytes(range(256)) * 4},
        "deep_ok": nested(90),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, v in values().items():
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            w = v
            if name == "strings" and proto < 5:
                w = v[:-1]  # bytearray before protocol 5 pickles through copyreg
            with open(os.path.join(OUT, f"{name}.p{proto}.pkl"), "wb") as f:
                f.write(pickle.dumps(w, protocol=proto))
    # Past the limit: one protocol is enough.
    with open(os.path.join(OUT, "deep_over.p2.pkl"), "wb") as f:
        f.write(pickle.dumps(nested(101), protocol=2))
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), file=sys.stderr)


if __name__ == "__main__":
    main()
