"""Conversions between request payloads and arrays: TF Serving's JSON formats and ``TensorProto``.

JSON (REST API):

* row format: ``{"instances": [...]}`` -> ``{"predictions": [...]}``; with one signature input each
  instance is that input's value (or an object naming it), otherwise an object per instance;
* columnar format: ``{"inputs": value-or-object}`` -> ``{"outputs": value-or-object}``;
* binary strings as ``{"b64": "<base64>"}``.

Every conversion error is a :class:`~serving.errors.ServingError` (``INVALID_ARGUMENT``, HTTP 400)
whose message names the request field, e.g. ``'instances'[3]['user_id']``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any, Dict, List, Mapping, Tuple

import numpy as np

from tfrec.serving.errors import invalid

MAX_ELEMENTS = 50_000_000  # elements of one tensor accepted from a request


def dtype_name(dtype) -> str:
    """TF Serving's name of a ``tf.DType``, e.g. ``DT_FLOAT``, ``DT_STRING``."""
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(dtype.as_datatype_enum)


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "Bool"
    if isinstance(v, (int, float)):
        return "Number"
    if isinstance(v, str):
        return "String"
    if v is None:
        return "Null"
    if isinstance(v, dict):
        return "Object"
    if isinstance(v, list):
        return "Array"
    return type(v).__name__


def _short(v: Any, limit: int = 60) -> str:
    """``v`` as JSON text (``true``, ``null``, ``"u1"``), cut to ``limit`` characters."""
    try:
        text = json.dumps(v, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= limit else text[:limit] + "..."


def _string_leaf(v: Any, where: str) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, dict):
        if set(v) == {"b64"} and isinstance(v["b64"], str):
            try:
                return base64.b64decode(v["b64"], validate=True)
            except (binascii.Error, ValueError):
                raise invalid(f"{where}: 'b64' value is not valid base64: {_short(v['b64'])}") from None
        raise invalid(f"{where}: JSON object {_short(v)} is not a string; binary strings are written "
                      "{\"b64\": \"<base64>\"}")
    raise invalid(f"{where}: JSON Value: {_short(v)} Type: {_json_type(v)} is not of expected type: string")


def _strings(value: Any, where: str) -> np.ndarray:
    """Nested lists of str / {"b64"} -> object array of bytes; rejects ragged nesting."""
    shape: List[int] = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat: List[bytes] = []

    def walk(v: Any, depth: int, path: str) -> None:
        if depth == len(shape):
            if isinstance(v, list):
                raise invalid(f"{where}: ragged nested lists at {path or 'top level'}: expected a string, "
                              f"found a list (all rows must have the same shape)")
            flat.append(_string_leaf(v, where + path))
            return
        if not isinstance(v, list) or len(v) != shape[depth]:
            got = f"a list of {len(v)}" if isinstance(v, list) else _json_type(v)
            raise invalid(f"{where}: ragged nested lists at {path or 'top level'}: expected a list of "
                          f"{shape[depth]} elements, found {got} (all rows must have the same shape)")
        for i, x in enumerate(v):
            walk(x, depth + 1, f"{path}[{i}]")

    walk(value, 0, "")
    size = math.prod(shape)  # Python ints: exact, and about 10x cheaper than np.prod on a short list
    if size > MAX_ELEMENTS:
        raise invalid(f"{where}: too many elements ({size} > {MAX_ELEMENTS})")
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def json_to_array(value: Any, dtype, where: str) -> np.ndarray:
    """Converts one JSON value (scalar or nested lists) to an array of ``dtype`` (a ``tf.DType``).

    Raises:
      ServingError: INVALID_ARGUMENT naming ``where`` for wrong types, ragged lists or out-of-range numbers.
    """
    if dtype.name == "string":
        return _strings(value, where)
    expected = dtype.name
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise invalid(f"{where}: ragged or malformed nested lists; expected a rectangular array of {expected}") from None
    if arr.size > MAX_ELEMENTS:
        raise invalid(f"{where}: too many elements ({arr.size} > {MAX_ELEMENTS})")
    kind = arr.dtype.kind
    if kind in ("U", "S", "O"):
        bad = _first_bad(value, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) or
                         (dtype.is_bool and isinstance(v, bool)))
        if bad is None and kind == "O":
            raise invalid(f"{where}: number out of range or malformed nested lists for {expected}")
        shown = bad if bad is not None else value
        raise invalid(f"{where}: JSON Value: {_short(shown)} Type: {_json_type(shown)} is not of expected type: {expected}")
    if dtype.is_bool:
        if kind != "b":
            raise invalid(f"{where}: expected true/false values of type bool, got {arr.dtype.name} values")
        return arr.astype(bool)
    if kind == "b":
        raise invalid(f"{where}: JSON Value: true/false Type: Bool is not of expected type: {expected}")
    np_dtype = np.dtype(dtype.as_numpy_dtype)
    if dtype.is_integer:
        if kind == "f":
            raise invalid(f"{where}: JSON Value: a number with a fraction or exponent is not of expected type: "
                          f"{expected} (send integers)")
        info = np.iinfo(np_dtype)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise invalid(f"{where}: value out of range for {expected} [{info.min}, {info.max}]")
        return arr.astype(np_dtype)
    if dtype.is_floating or dtype.is_complex:
        return arr.astype(np_dtype)
    raise invalid(f"{where}: inputs of type {expected} are not supported by the JSON API; use gRPC")


def _first_bad(value: Any, ok) -> Any:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(reversed(v))
        elif not ok(v):
            return v
    return None


def _is_b64(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {"b64"}


def parse_instances(instances: Any, specs: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """Row format -> one batched array per signature input.

    Args:
      instances: the request's ``instances`` value.
      specs: input name -> ``tf.TensorSpec`` of the signature.

    Returns:
      input name -> array with the instances stacked along a new first axis.
    """
    if not isinstance(instances, list):
        raise invalid(f"'instances' must be a JSON array (one element per example), got {_json_type(instances)}")
    if not instances:
        raise invalid("'instances' is an empty array; send at least one instance")
    names = list(specs)
    columns: Dict[str, List[np.ndarray]] = {n: [] for n in names}
    for i, inst in enumerate(instances):
        if len(names) == 1 and not (isinstance(inst, dict) and not _is_b64(inst)):
            values = {names[0]: inst}
        else:
            if not isinstance(inst, dict) or _is_b64(inst):
                raise invalid(f"'instances'[{i}]: expected a JSON object with the named inputs "
                              f"{', '.join(names)}; got {_json_type(inst)}")
            missing = [n for n in names if n not in inst]
            if missing:
                raise invalid(f"'instances'[{i}]: JSON object: does not have named input: {missing[0]} "
                              f"(the signature's inputs are: {', '.join(names)})")
            extra = [k for k in inst if k not in specs]
            if extra:
                raise invalid(f"'instances'[{i}]: unknown input {extra[0]!r}; the signature's inputs are: "
                              f"{', '.join(names)}")
            values = inst
        for n in names:
            arr = json_to_array(values[n], specs[n].dtype, f"'instances'[{i}]['{n}']")
            if columns[n] and arr.shape != columns[n][0].shape:
                raise invalid(f"'instances'[{i}]['{n}']: shape {list(arr.shape)} differs from "
                              f"'instances'[0]['{n}'] shape {list(columns[n][0].shape)}; every instance must "
                              "have the same shape")
            columns[n].append(arr)
    out = {}
    for n in names:
        stacked = np.stack(columns[n])
        if stacked.dtype == object:
            stacked = stacked.astype(object)
        out[n] = stacked
    return out


def parse_columnar(inputs: Any, specs: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """Columnar format (``inputs``) -> one array per signature input."""
    names = list(specs)
    if isinstance(inputs, dict) and not _is_b64(inputs):
        missing = [n for n in names if n not in inputs]
        if missing:
            raise invalid(f"'inputs': JSON object: does not have named input: {missing[0]} "
                          f"(the signature's inputs are: {', '.join(names)})")
        extra = [k for k in inputs if k not in specs]
        if extra:
            raise invalid(f"'inputs': unknown input {extra[0]!r}; the signature's inputs are: {', '.join(names)}")
        return {n: json_to_array(inputs[n], specs[n].dtype, f"'inputs'['{n}']") for n in names}
    if len(names) != 1:
        raise invalid(f"'inputs' must be a JSON object naming the signature's inputs ({', '.join(names)}); "
                      f"got {_json_type(inputs)}")
    return {names[0]: json_to_array(inputs, specs[names[0]].dtype, "'inputs'")}


def _bytes_to_json(b: Any) -> Any:
    if isinstance(b, bytes):
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(b).decode("ascii")}
    return b


def array_to_json(arr: np.ndarray) -> Any:
    """An output array as JSON-ready nested lists (bytes -> str, or ``{"b64"}`` when not UTF-8)."""
    arr = np.asarray(arr)
    if arr.dtype == object or arr.dtype.kind == "S":
        if arr.ndim == 0:
            return _bytes_to_json(arr.item())
        flat = [_bytes_to_json(x) for x in arr.reshape(-1).tolist()]
        return _nest(flat, arr.shape)
    return arr.tolist()


def _nest(flat: List[Any], shape: Tuple[int, ...]) -> Any:
    if len(shape) <= 1:
        return flat
    step = math.prod(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def format_row(outputs: Mapping[str, np.ndarray]) -> List[Any]:
    """``predictions`` of the row format: one element per example (an object when several outputs)."""
    names = list(outputs)
    sizes = {n: (np.shape(outputs[n])[0] if np.ndim(outputs[n]) else None) for n in names}
    batch = sizes[names[0]]
    for n in names:
        if sizes[n] is None or sizes[n] != batch:
            raise invalid(f"Tensor name: {n} has inconsistent batch size: {sizes[n]} expecting: {batch}; "
                          "use the columnar format ('inputs') for this signature")
    if len(names) == 1:
        return array_to_json(outputs[names[0]]) if batch else []
    cols = {n: array_to_json(outputs[n]) for n in names}
    return [{n: cols[n][i] for n in names} for i in range(batch)]


def format_columnar(outputs: Mapping[str, np.ndarray]) -> Any:
    """``outputs`` of the columnar format: the value itself when one output, else an object."""
    if len(outputs) == 1:
        return array_to_json(next(iter(outputs.values())))
    return {n: array_to_json(v) for n, v in outputs.items()}


def proto_to_array(proto, name: str, expected_dtype) -> np.ndarray:
    """A request ``TensorProto`` -> array; its dtype must equal the signature input's."""
    import tensorflow as tf

    if proto.dtype != expected_dtype.as_datatype_enum:
        from tensorflow.core.framework import types_pb2

        got = types_pb2.DataType.Name(proto.dtype) if proto.dtype in types_pb2.DataType.values() else str(proto.dtype)
        raise invalid(f"input '{name}': expects a {dtype_name(expected_dtype)} tensor but {got} was provided")
    dims = [d.size for d in proto.tensor_shape.dim]
    if any(d < 0 for d in dims) or proto.tensor_shape.unknown_rank:
        raise invalid(f"input '{name}': tensor_shape must be fully defined, got {dims}")
    if np.prod(dims, dtype=np.float64) > MAX_ELEMENTS:
        raise invalid(f"input '{name}': too many elements (shape {dims})")
    try:
        arr = tf.make_ndarray(proto)
    except Exception as e:  # noqa: BLE001 - any malformed proto is the client's error
        raise invalid(f"input '{name}': malformed TensorProto: {e}") from None
    return arr


def array_to_proto(arr: np.ndarray):
    """An output array as a ``TensorProto``."""
    import tensorflow as tf

    return tf.make_tensor_proto(arr)


def check_shape(arr: np.ndarray, spec, name: str, signature: str) -> None:
    """Raises INVALID_ARGUMENT unless ``arr``'s shape fits ``spec.shape`` (``None`` dims are free)."""
    shape = spec.shape
    if shape.rank is None:
        return
    want = [d if d is not None else -1 for d in shape.as_list()]
    if arr.ndim != shape.rank or any(w != -1 and w != g for w, g in zip(want, arr.shape)):
        raise invalid(f"input '{name}' of signature '{signature}' has shape {list(arr.shape)} but the signature "
                      f"expects {want} (-1 = any size)")
