"""Is an ONNX file exactly the model symconv builds? ``graph_difference_of`` compares the file's
bytes with the serialized ModelProto and, when they differ, names the first differing part: an
opset import, a node (op type, inputs, outputs, attributes), a tensor, a graph input or output.
"""

from __future__ import annotations

import os
from itertools import zip_longest
from typing import Any


def _first_node(expected: Any, found: Any) -> str | None:
    for index, (want, have) in enumerate(zip_longest(expected.node, found.node)):
        if want is None or have is None or want.SerializeToString() != have.SerializeToString():
            what = "missing" if have is None else f"{have.op_type} {list(have.input)} → {list(have.output)}"
            built = "none" if want is None else f"{want.op_type} {list(want.input)} → {list(want.output)}"
            return f"node {index} is {what}, the export has {built} (op type, edges or attributes differ)"
    return None


def _first_tensor(expected: Any, found: Any) -> str | None:
    have = {t.name: t.SerializeToString() for t in found.initializer}
    want = {t.name: t.SerializeToString() for t in expected.initializer}
    for name in [*want, *(n for n in have if n not in want)]:
        if want.get(name) != have.get(name):
            state = "missing" if name not in have else "extra" if name not in want else "different"
            return f"tensor {name!r} is {state}"
    return None


def graph_difference_of(expected: Any, path: str | os.PathLike) -> str | None:
    """None when the file at ``path`` is byte for byte ``expected`` (a ModelProto), else the first
    difference in words.

    >>> from onnx import TensorProto, helper
    >>> def model(op):
    ...     info = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    ...     out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    ...     return helper.make_model(helper.make_graph([helper.make_node(op, ["x"], ["y"])], "g", [info], [out]))
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = open(f"{d}/m.onnx", "wb").write(model("Relu").SerializeToString())
    ...     graph_difference_of(model("Relu"), f"{d}/m.onnx"), graph_difference_of(model("Tanh"), f"{d}/m.onnx")
    (None, "node 0 is Relu ['x'] → ['y'], the export has Tanh ['x'] → ['y'] (op type, edges or attributes differ)")
    """
    import onnx
    with open(os.fspath(path), "rb") as handle:
        data = handle.read()
    if data == expected.SerializeToString():
        return None
    try:
        found = onnx.load_from_string(data)
    except Exception as error:  # protobuf's DecodeError and onnx's own: the file is not a model
        return f"the file is not an ONNX model ({type(error).__name__})"
    if list(found.opset_import) != list(expected.opset_import):
        return f"opset imports {[(o.domain, o.version) for o in found.opset_import]}, the export has " \
               f"{[(o.domain, o.version) for o in expected.opset_import]}"
    difference = _first_node(expected.graph, found.graph) or _first_tensor(expected.graph, found.graph)
    if difference is None and (found.graph.input, found.graph.output) != (expected.graph.input, expected.graph.output):
        difference = "the graph's inputs or outputs differ"
    return difference or "the model's metadata (IR version, producer, doc strings) differs"
