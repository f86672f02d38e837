"""A small declarative codec: frozen dataclasses are the message definitions, and both the strict
JSON decoder and the JSON schema are derived from their fields, so a message is defined once.

Field constraints live in the dataclass field metadata (see `spec`). Decoding rejects unknown keys,
missing keys, wrong JSON types (a bool is never an int), out-of-range numbers, over-long strings
and lists, and values outside an enumeration; it raises `DecodeError` with a one-line reason.

A relay runs these checks on untrusted frames, so each is linear in its input: one pass over the
keys and list items, lengths before patterns, and `fullmatch` only with the fields' patterns, which
are single character classes with one bounded repetition each (no nested quantifiers, nothing to
backtrack into). The one pairwise comparison (`_unique` on unhashable items) is bounded by the
field's `max_items`.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from clubchat.protocol.wire import B64_PATTERN

T = TypeVar("T")

_MISSING = dataclasses.MISSING


class DecodeError(ValueError):
    """A JSON value does not match a message definition; the message says which key and why."""


def spec(
    *,
    key: str | None = None,
    max_len: int | None = None,
    min_len: int | None = None,
    pattern: str | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    max_items: int | None = None,
    min_items: int | None = None,
    unique: bool = False,
    default: Any = _MISSING,
) -> Any:
    """A dataclass field with wire constraints; `key` is the JSON name when it differs."""
    meta = {
        "key": key,
        "max_len": max_len,
        "min_len": min_len,
        "pattern": re.compile(pattern) if pattern else None,
        "minimum": minimum,
        "maximum": maximum,
        "max_items": max_items,
        "min_items": min_items,
        "unique": unique,
    }
    if default is _MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    key: str
    hint: Any
    meta: dict[str, Any]
    required: bool
    default: Any


_FIELDS: dict[type, tuple[_Field, ...]] = {}


def fields_of(cls: type) -> tuple[_Field, ...]:
    """The wire fields of a message class (cached)."""
    cached = _FIELDS.get(cls)
    if cached is not None:
        return cached
    hints = get_type_hints(cls, include_extras=False)
    out = []
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        meta = dict(f.metadata) if f.metadata else {}
        key = meta.get("key") or f.name
        required = f.default is _MISSING and f.default_factory is _MISSING
        out.append(_Field(f.name, key, hints[f.name], meta, required, f.default))
    result = tuple(out)
    _FIELDS[cls] = result
    return result


def _is_optional(hint: Any) -> tuple[bool, Any]:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return True, args[0]
    return False, hint


def _tagged_union(hint: Any) -> dict[str, type] | None:
    """{type tag: class} when `hint` is a union of message classes that each carry a TYPE tag."""
    if get_origin(hint) not in (Union, types.UnionType):
        return None
    args = get_args(hint)
    if not all(dataclasses.is_dataclass(a) and getattr(a, "TYPE", None) for a in args):
        return None
    return {a.TYPE: a for a in args}


class _Bad(Exception):
    """Internal: a decoder rejected a value. `detail` follows the path (" must be a string",
    ".type must be 'offer'"); parents prepend their key on the way out, so the happy path never
    builds a path string (the relay validates every frame)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        self.path: list[str] = []  # innermost segment first

    def text(self, where: str) -> str:
        return where + "".join(reversed(self.path)) + self.detail


def _check_str(value: Any, meta: dict[str, Any]) -> str:
    if not isinstance(value, str):
        raise _Bad(" must be a string")
    max_len = meta.get("max_len")
    if max_len is not None and len(value) > max_len:
        raise _Bad(f" is longer than {max_len} characters")
    min_len = meta.get("min_len")
    if min_len is not None and len(value) < min_len:
        raise _Bad(f" is shorter than {min_len} characters")
    pattern = meta.get("pattern")
    if pattern is not None and not pattern.fullmatch(value):
        raise _Bad(f" does not match {pattern.pattern}")
    return value


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64_fullmatch(value: str) -> bool:
    """`re.fullmatch(B64_PATTERN, value)` in C string passes (~2x faster on a sealed payload's `ct`):
    base64 characters, then at most two `=` (tests/node/test_protocol.py checks it against the regex)."""
    core = value.rstrip("=")
    return len(value) - len(core) <= 2 and core.isascii() and not core.encode().translate(None, _B64_ALPHABET)


def _fullmatch(pattern: re.Pattern[str]) -> Callable[[str], object]:
    """The pattern's fullmatch, or an exact faster equivalent for the base64 alphabet (ciphertexts)."""
    return _b64_fullmatch if pattern.pattern == B64_PATTERN else pattern.fullmatch


Decoder = Callable[[Any], Any]
# (class, build) -> decoder. build=False gives a validator: the same checks, but it returns the JSON
# value itself instead of building dataclasses (for a relay that forwards the text unchanged).
_DECODERS: dict[tuple[type, bool], Decoder] = {}


def _unique(items: list[Any]) -> bool:
    try:
        return len(set(items)) == len(items)
    except TypeError:  # unhashable JSON objects in validate mode; bound: max_items of the field
        return all(a != b for i, a in enumerate(items) for b in items[i + 1 :])


def _compile(hint: Any, meta: dict[str, Any], build: bool = True) -> Decoder:
    """A decoder for `hint` with the field constraints `meta`, built once per field (the relay decodes
    every frame, so no type reflection happens per value). With `build` False it only validates."""
    optional, inner = _is_optional(hint)
    if optional:
        dec = _compile(inner, meta, build)

        def optional_value(value: Any) -> Any:
            return None if value is None else dec(value)

        return optional_value
    variants = _tagged_union(hint)
    if variants is not None:
        names = ", ".join(variants)
        resolved: dict[str, Decoder] = {}  # tag -> decoder, filled on first use (recursion-safe)

        def tagged(value: Any) -> Any:
            tag = value.get("type") if isinstance(value, dict) else None
            if not isinstance(tag, str):
                raise _Bad(f".type must be one of {names}")
            dec = resolved.get(tag)
            if dec is None:
                cls = variants.get(tag)
                if cls is None:
                    raise _Bad(f".type must be one of {names}")
                dec = resolved[tag] = _object_decoder(cls, build)
            return dec(value)

        return tagged
    if hint is str:
        if not any(meta.get(k) is not None for k in ("max_len", "min_len", "pattern")):

            def plain_str(value: Any) -> str:
                if not isinstance(value, str):
                    raise _Bad(" must be a string")
                return value

            return plain_str
        max_len: int | None = meta.get("max_len")
        pattern: re.Pattern[str] | None = meta.get("pattern")
        if meta.get("min_len") is None and pattern is None and max_len is not None:

            def short_str(value: Any) -> str:  # the common case: a length limit only
                if isinstance(value, str) and len(value) <= max_len:
                    return value
                return _check_str(value, meta)  # raises with the precise reason

            return short_str
        if meta.get("min_len") is None and max_len is None and pattern is not None:
            fullmatch = _fullmatch(pattern)

            def pattern_str(value: Any) -> str:  # ids and addresses: a pattern only
                if isinstance(value, str) and fullmatch(value):
                    return value
                return _check_str(value, meta)

            return pattern_str
        shortest: int = meta.get("min_len") or 0
        longest: float = max_len if max_len is not None else float("inf")
        if pattern is not None:
            full = _fullmatch(pattern)

            def bounded_pattern_str(value: Any) -> str:  # ciphertext fields: lengths and an alphabet
                if isinstance(value, str) and shortest <= len(value) <= longest and full(value):
                    return value
                return _check_str(value, meta)

            return bounded_pattern_str
        return lambda value: _check_str(value, meta)
    if hint is int:
        lo, hi = meta.get("minimum"), meta.get("maximum")

        def integer(value: Any) -> int:
            if type(value) is not int:  # a bool is not an integer here
                raise _Bad(" must be an integer")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise _Bad(f" must be within [{lo}, {hi}]")
            return value

        return integer
    if hint is bool:

        def boolean(value: Any) -> bool:
            if not isinstance(value, bool):
                raise _Bad(" must be a boolean")
            return value

        return boolean
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        shown = ", ".join(map(str, allowed))

        def literal(value: Any) -> Any:
            if not isinstance(value, str) or value not in allowed:
                raise _Bad(f" must be one of {shown}")
            return value

        return literal
    if origin is tuple:
        item = _compile(get_args(hint)[0], {}, build)
        max_items, min_items, unique = meta.get("max_items"), meta.get("min_items"), meta.get("unique")

        def items(value: Any) -> Any:
            if not isinstance(value, list):
                raise _Bad(" must be a list")
            if max_items is not None and len(value) > max_items:
                raise _Bad(f" has more than {max_items} items")
            if min_items is not None and len(value) < min_items:
                raise _Bad(f" has fewer than {min_items} items")
            out = []
            for i, v in enumerate(value):  # bound: max_items, checked above
                try:
                    out.append(item(v))
                except _Bad as bad:
                    bad.path.append(f"[{i}]")
                    raise
            if unique and not _unique(out):
                raise _Bad(" has duplicate items")
            return tuple(out) if build else value

        return items
    if dataclasses.is_dataclass(hint):
        cls = typing.cast(type, hint)
        return lambda value: _object_decoder(cls, build)(value)
    if hint is typing.Any:
        return lambda value: value
    raise TypeError(f"codec: unsupported field type {hint!r}")  # a definition bug, not input


def _object_decoder(cls: type, build: bool = True) -> Decoder:
    cached = _DECODERS.get((cls, build))
    if cached is not None:
        return cached
    flds = fields_of(cls)
    const = getattr(cls, "TYPE", None)
    known = frozenset({f.key for f in flds} | ({"type"} if const is not None else set()))
    plan = [(f.name, f.key, f.required, _compile(f.hint, f.meta, build)) for f in flds]

    def decode(obj: Any) -> Any:
        if not isinstance(obj, dict):
            raise _Bad(" must be a JSON object")
        if const is not None and obj.get("type") != const:
            raise _Bad(f".type must be {const!r}")
        if not known.issuperset(obj):
            extra = sorted(str(k) for k in obj if k not in known)
            raise _Bad(f" has unknown key {extra[0]!r}")
        kwargs: dict[str, Any] = {}
        for name, key, required, dec in plan:  # bound: the class's fields
            if key in obj:
                try:
                    value = dec(obj[key])
                except _Bad as bad:
                    bad.path.append("." + key)
                    raise
                if build:
                    kwargs[name] = value
            elif required:
                raise _Bad(f" is missing {key!r}")
        return cls(**kwargs) if build else obj

    _DECODERS[(cls, build)] = decode
    return decode


def decode_value(value: Any, hint: Any, where: str) -> Any:
    """Strictly decode `value` as the type `hint` (a message class, a union of them, ...)."""
    try:
        return _compile(hint, {})(value)
    except _Bad as bad:
        raise DecodeError(bad.text(where)) from None


def decode_object(cls: type[T], obj: Any, where: str = "") -> T:
    """Strictly decode the JSON object `obj` into message class `cls`."""
    try:
        result: T = _object_decoder(cls)(obj)
    except _Bad as bad:
        raise DecodeError(bad.text(where or cls.__name__)) from None
    return result


def validate_object(cls: type, obj: Any, where: str = "") -> None:
    """Exactly the checks of `decode_object`, without building the message (cheaper: for code that
    only forwards a validated JSON text and reads a few keys of `obj`)."""
    try:
        _object_decoder(cls, build=False)(obj)
    except _Bad as bad:
        raise DecodeError(bad.text(where or cls.__name__)) from None


def encode_object(msg: Any) -> dict[str, Any]:
    """The JSON object of a message (optional fields left at None are omitted)."""
    out: dict[str, Any] = {}
    const = getattr(type(msg), "TYPE", None)
    if const is not None:
        out["type"] = const
    for f in fields_of(type(msg)):
        value = getattr(msg, f.name)
        if value is None and not f.required:
            continue
        out[f.key] = _encode_value(value)
    return out


def _encode_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_object(value)
    if isinstance(value, tuple | list):
        return [_encode_value(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# JSON schema (draft 2020-12) derived from the same definitions
# ---------------------------------------------------------------------------------------------


def _schema_value(hint: Any, meta: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    optional, inner = _is_optional(hint)
    if optional:
        return {"anyOf": [_schema_value(inner, meta, defs), {"type": "null"}]}
    variants = _tagged_union(hint)
    if variants is not None:
        return {"oneOf": [_schema_value(cls, {}, defs) for cls in variants.values()]}
    origin = get_origin(hint)
    if hint is str:
        s: dict[str, Any] = {"type": "string"}
        if meta.get("max_len") is not None:
            s["maxLength"] = meta["max_len"]
        if meta.get("min_len") is not None:
            s["minLength"] = meta["min_len"]
        if meta.get("pattern") is not None:
            s["pattern"] = "^(?:" + meta["pattern"].pattern + ")$"
        return s
    if hint is int:
        s = {"type": "integer"}
        if meta.get("minimum") is not None:
            s["minimum"] = meta["minimum"]
        if meta.get("maximum") is not None:
            s["maximum"] = meta["maximum"]
        return s
    if hint is bool:
        return {"type": "boolean"}
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    if origin is tuple:
        s = {"type": "array", "items": _schema_value(get_args(hint)[0], {}, defs)}
        if meta.get("max_items") is not None:
            s["maxItems"] = meta["max_items"]
        if meta.get("min_items") is not None:
            s["minItems"] = meta["min_items"]
        if meta.get("unique"):
            s["uniqueItems"] = True
        return s
    if dataclasses.is_dataclass(hint):
        name = typing.cast(type, hint).__name__
        if name not in defs:
            defs[name] = {}  # reserve the name first (recursion guard)
            defs[name] = object_schema(typing.cast(type, hint), defs)
        return {"$ref": f"#/$defs/{name}"}
    if hint is typing.Any:
        return {}
    raise TypeError(f"codec: unsupported field type {hint!r}")


def object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of one message class; nested classes go to `defs`."""
    props: dict[str, Any] = {}
    required: list[str] = []
    const = getattr(cls, "TYPE", None)
    if const is not None:
        props["type"] = {"const": const}
        required.append("type")
    for f in fields_of(cls):
        props[f.key] = _schema_value(f.hint, f.meta, defs)
        if f.required:
            required.append(f.key)
    doc = (cls.__doc__ or "").strip().splitlines()
    out: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    out["additionalProperties"] = False
    if doc:
        out["description"] = doc[0]
    return out
