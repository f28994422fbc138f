"""A schema's keys, walked in its order: what `--help` lists and the configuration page
(tools/config_reference.py) tabulates."""

import dataclasses


def groups(schema: type, prefix: str = "") -> list:
    """The schema's groups and their leaf fields, in the schema's order.

    Args:
        schema: a config dataclass, e.g. `EvaluateConfig`.
        prefix: the dotted path of `schema` inside its parent ("" at the top).

    Returns:
        (prefix, [leaf fields]) for the schema and each nested group.
    """
    leaves, nested = [], []
    for field in dataclasses.fields(schema):
        if dataclasses.is_dataclass(field.type):
            nested.extend(groups(field.type, f"{prefix}{field.name}."))
        else:
            leaves.append(field)
    return ([(prefix, leaves)] if leaves else []) + nested


def keys(schema: type) -> list:
    """Every leaf key of a schema, dotted."""
    return [f"{prefix}{field.name}" for prefix, leaves in groups(schema) for field in leaves]
