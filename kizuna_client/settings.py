"""The daemon's effective configuration as plain data shaped like config.toml.

`config_dict` turns a kizuna.v1.Config into the sections and keys a person writes in config.toml,
spelled as they write them there: trust_mode "manual", device_type "laptop".
"""

from __future__ import annotations

from typing import Any, Final, cast

from google.protobuf import json_format, struct_pb2
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from kizuna_client.v1 import config_pb2

__all__ = ["SECTIONS", "config_dict"]

#: The sections, in the order config.toml and docs/configuration.md list them.
SECTIONS: Final = (
    "identity",
    "discovery",
    "security",
    "networking",
    "api",
    "transfers",
    "streams",
    "commands",
    "plugins",
    "paths",
)


def config_dict(config: config_pb2.Config) -> dict[str, Any]:
    """The effective configuration as TOML-shaped data: {section: {key: value}}.

    Values are str, int, float, bool, lists of them, or (plugin entries) tables; enum values are
    the lower-case names config.toml takes ("manual", "trust_all", "laptop"), and a value this
    client does not know yet (a newer daemon) stays its number. An empty `paths.home` (the XDG
    layout) is left out, as TOML has no null. `notes` ({"section.key": message}) is there only
    when the daemon has some: preferences this version cannot honour, and what it does instead.
    """
    data: dict[str, Any] = {section: _table(getattr(config, section)) for section in SECTIONS}
    if not config.paths.home:
        data["paths"].pop("home", None)
    if config.notes:
        data["notes"] = {note.key: note.message for note in config.notes}
    return data


def _table(message: Message) -> dict[str, Any]:
    # The stubs type these as upb's or the pure-Python descriptors: the same interface.
    fields = cast("list[FieldDescriptor]", message.DESCRIPTOR.fields)
    return {field.name: _value(field, getattr(message, field.name)) for field in fields}


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.is_repeated:
        return [_scalar(field, item) for item in value]
    return _scalar(field, value)


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if isinstance(value, struct_pb2.Struct):  # a table given as written ([[commands.allow]])
        return json_format.MessageToDict(value)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _table(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return _enum_name(field.enum_type, value)
    return value


def _enum_name(enum: EnumDescriptor, number: int) -> str | int:
    """TRUST_MODE_TRUST_ALL -> "trust_all": the prefix is the one of the enum's zero value."""
    known = enum.values_by_number.get(number)
    if known is None:
        return number
    prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
    return known.name.removeprefix(prefix).lower()
