"""A minimal JSON-schema checker for the keywords clubchat.protocol's schema uses (test-only).

Independent of clubchat.protocol.codec on purpose: the property tests check that the codec and
the published schema accept exactly the same JSON values.
"""

from __future__ import annotations

import re
from typing import Any


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/$defs/")
    return dict(root["$defs"][ref.removeprefix("#/$defs/")])


def valid(schema: dict[str, Any], value: Any, root: dict[str, Any] | None = None) -> bool:
    root = root or schema
    if "$ref" in schema:
        return valid(_resolve(root, schema["$ref"]), value, root)
    if "oneOf" in schema:
        return sum(valid(s, value, root) for s in schema["oneOf"]) == 1
    if "anyOf" in schema:
        return any(valid(s, value, root) for s in schema["anyOf"])
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and not (isinstance(value, str) and value in schema["enum"]):
        return False
    kind = schema.get("type")
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        if "minimum" in schema and value < schema["minimum"]:
            return False
        return not ("maximum" in schema and value > schema["maximum"])
    if kind == "string":
        if not isinstance(value, str):
            return False
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return False
        if "minLength" in schema and len(value) < schema["minLength"]:
            return False
        return not ("pattern" in schema and re.search(schema["pattern"], value) is None)
    if kind == "array":
        if not isinstance(value, list):
            return False
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return False
        if "minItems" in schema and len(value) < schema["minItems"]:
            return False
        if schema.get("uniqueItems") and len({repr(v) for v in value}) != len(value):
            return False
        return all(valid(schema.get("items", {}), v, root) for v in value)
    if kind == "object":
        if not isinstance(value, dict):
            return False
        props = schema.get("properties", {})
        if any(k not in value for k in schema.get("required", [])):
            return False
        if schema.get("additionalProperties") is False and any(k not in props for k in value):
            return False
        return all(valid(props[k], v, root) for k, v in value.items() if k in props)
    return True
