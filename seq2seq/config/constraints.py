"""Allowed values, written once beside each schema field and read from there.

A schema field states what it accepts in its metadata: `one_of(default, choices)` a
list of names, `integer(...)` or `number(...)` a range. Validation walks the fields and
checks each value against its own statement (`check_fields`), error messages quote it,
and code that dispatches on a choice builds its table with `dispatch_table`, which
refuses at import time a table that does not handle exactly the schema's choices.

Each field also carries its help text (`help=`, or `described(default, help)` for a field
without a constraint): docs/configuration.md's reference is generated from both
(`tools/config_reference.py`).
"""

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from seq2seq.base.errors import ConfigError

#: The metadata key under which a field keeps its constraint.
ALLOWED = "allowed"
#: The metadata key under which a field keeps its help text (for the generated reference).
HELP = "help"
#: The metadata key under which a `decoding` field names the strategies that read it.
READ_BY = "read_by"


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class OneOf:
    """A value that must be one of `choices` (or null, where the field is Optional)."""

    choices: tuple[Any, ...]

    def describe(self) -> str:
        return "allowed: " + ", ".join(str(c) for c in self.choices)

    def check(self, key: str, value: Any) -> None:
        # Null passes: the schema's types already refuse it where a field is not Optional.
        if value is not None and value not in self.choices:
            raise ConfigError(key, value, self.describe())


@dataclass(frozen=True)
class Range:
    """A finite number (or integer) within optional bounds; null passes (nullable fields).

    Attributes:
        kind: "an integer" or "a number", for messages.
        minimum, maximum: the bounds, None for none.
        exclusive_minimum, exclusive_maximum: whether the bound itself is refused.
    """

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    def describe(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            left = "(" if self.exclusive_minimum else "["
            right = ")" if self.exclusive_maximum else "]"
            return f"must be {self.kind} in {left}{_number_text(low)}, {_number_text(high)}{right}"
        if low is not None:
            return (
                f"must be {self.kind} {'>' if self.exclusive_minimum else '>='} {_number_text(low)}"
            )
        if high is not None:
            return f"must be {self.kind} {'<' if self.exclusive_maximum else '<='} {_number_text(high)}"
        return f"must be {self.kind}"

    def allows(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        low, high = self.minimum, self.maximum
        if low is not None and (value <= low if self.exclusive_minimum else value < low):
            return False
        if high is not None and (value >= high if self.exclusive_maximum else value > high):
            return False
        return True

    def check(self, key: str, value: Any) -> None:
        if value is None or self.allows(value):
            return
        if isinstance(value, float) and not math.isfinite(value):
            finite = Range(
                f"a finite {self.kind.removeprefix('a ')}", *dataclasses.astuple(self)[1:]
            )
            raise ConfigError(key, value, finite.describe())
        raise ConfigError(key, value, self.describe())


@dataclass(frozen=True)
class NonEmptyPath:
    """A file or directory path that is not empty: an empty one would silently mean the
    working directory."""

    def describe(self) -> str:
        return "must be a path; an empty one would mean the working directory"

    def check(self, key: str, value: Any) -> None:
        if value is not None and not str(value).strip():
            raise ConfigError(key, value, self.describe())


class PathList:
    """A list of file or directory paths, none of them empty (`ensemble=[DIR2,DIR3]`)."""

    def describe(self) -> str:
        return "must be a list of paths, [A,B]; an empty one would mean the working directory"

    def check(self, key: str, value: Any) -> None:
        if any(entry is None or not str(entry).strip() for entry in value or ()):
            raise ConfigError(key, list(value), self.describe())


class WeightList:
    """A list of sampling weights (`task.train_weights=[0.7,0.3]`): finite numbers >= 0,
    not all of them 0; empty means none given."""

    def describe(self) -> str:
        return "must be a list of numbers >= 0, not all 0, one per file of task.train_paths"

    def check(self, key: str, value: Any) -> None:
        entries = list(value or ())
        numbers = [
            e for e in entries
            if isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e) and e >= 0
        ]  # fmt: skip
        if len(numbers) < len(entries) or (entries and not any(numbers)):
            raise ConfigError(key, entries, self.describe())


#: A duration as `trainer.time_budget` takes it: hours, minutes and seconds, each optional
#: but at least one, in that order (`1h30m`, `45m`, `90s`, `2.5h`).
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def duration_seconds(value: Any) -> float | None:
    """A duration in seconds: a number of seconds (`90`, `2.5`), or hours, minutes and
    seconds (`1h30m`, `45m`, `90s`); None for anything else, or a duration of 0."""
    text = str(value).strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.fullmatch(text)
        if not text or match is None:
            return None
        hours, minutes, rest = (float(part or 0) for part in match.groups())
        seconds = hours * 3600 + minutes * 60 + rest
    return seconds if math.isfinite(seconds) and seconds > 0 else None


@dataclass(frozen=True)
class Duration:
    """A length of time above 0 (null passes: the field's feature is off)."""

    def describe(self) -> str:
        return (
            "must be a duration above 0: seconds (90, 2.5) or hours, minutes and seconds "
            "(1h30m, 45m, 90s)"
        )

    def check(self, key: str, value: Any) -> None:
        if value is not None and duration_seconds(value) is None:
            raise ConfigError(key, value, self.describe())


def _metadata(constraint: Any, help: str) -> dict:
    metadata = {HELP: help} if help else {}
    if constraint is not None:
        metadata[ALLOWED] = constraint
    return metadata


def described(default: Any, help: str) -> Any:
    """A schema field without a constraint of its own (its type says what it takes), with
    its help text."""
    return dataclasses.field(default=default, metadata=_metadata(None, help))


def path_list(help: str = "") -> Any:
    """A schema field holding a list of paths, empty by default."""
    return dataclasses.field(default_factory=list, metadata=_metadata(PathList(), help))


def weight_list(help: str = "") -> Any:
    """A schema field holding a list of sampling weights (`WeightList`), empty by default."""
    return dataclasses.field(default_factory=list, metadata=_metadata(WeightList(), help))


def filesystem_path(default: str | None, help: str = "") -> Any:
    """A schema field holding a path, which must not be empty (null passes where Optional)."""
    return dataclasses.field(default=default, metadata=_metadata(NonEmptyPath(), help))


def duration(default: str | None, help: str = "") -> Any:
    """A schema field holding a duration (`Duration`), as text: `45m`, `1h30m`, `90`."""
    return dataclasses.field(default=default, metadata=_metadata(Duration(), help))


def one_of(default: Any, choices: Sequence[Any], help: str = "") -> Any:
    """A schema field whose value must be one of `choices`."""
    return dataclasses.field(default=default, metadata=_metadata(OneOf(tuple(choices)), help))


def integer(
    default: int | None, minimum: int | None = None, maximum: int | None = None, help: str = ""
) -> Any:
    """A schema field holding an integer in [minimum, maximum] (either bound optional)."""
    allowed = Range("an integer", minimum, maximum)
    return dataclasses.field(default=default, metadata=_metadata(allowed, help))


def number(
    default: float | None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    help: str = "",
) -> Any:
    """A schema field holding a finite number within the bounds given."""
    allowed = Range("a number", minimum, maximum, exclusive_minimum, exclusive_maximum)
    return dataclasses.field(default=default, metadata=_metadata(allowed, help))


def read_by(strategies: tuple[str, ...], field: Any) -> Any:
    """A schema field (as `integer`, `number` ... make it) that only `strategies` read: a
    value away from its default under another strategy is refused (`check_strategy_keys`),
    and the strategy table passes it to those strategies alone."""
    return dataclasses.field(
        default=field.default, metadata={**field.metadata, READ_BY: strategies}
    )


def allowed(schema: type, name: str) -> Any:
    """The constraint a schema field states (a `OneOf` or a `Range`), or None."""
    for field in dataclasses.fields(schema):
        if field.name == name:
            return field.metadata.get(ALLOWED)
    raise KeyError(f"{schema.__name__} has no field {name!r}")


def choices(schema: type, name: str) -> tuple[Any, ...]:
    """The choices of a `one_of` field of `schema`."""
    constraint = allowed(schema, name)
    if not isinstance(constraint, OneOf):
        raise KeyError(f"{schema.__name__}.{name} is not a choice")
    return constraint.choices


def check_fields(node: DictConfig, schema: type, prefix: str) -> None:
    """Checks every field of `node` that states a constraint, nested groups included.

    Raises:
        ConfigError: naming the first key whose value is not allowed.
    """
    for field in dataclasses.fields(schema):
        value = node[field.name]
        constraint = field.metadata.get(ALLOWED)
        if constraint is not None:
            constraint.check(f"{prefix}{field.name}", value)
        elif dataclasses.is_dataclass(field.type) and value is not None:
            check_fields(value, field.type, f"{prefix}{field.name}.")


def dispatch_table(key: str, allowed_names: Sequence[str], table: dict[str, Any]) -> dict[str, Any]:
    """A table from each allowed name to what handles it, checked against the schema.

    Call it where the table is defined, so that a choice added to the schema without
    its handler (or the reverse) fails as soon as the module is imported.

    Raises:
        RuntimeError: if the table's names differ from `allowed_names`.
    """
    if set(table) != set(allowed_names):
        raise RuntimeError(
            f"{key}: the code handles {sorted(table)} but the schema allows {sorted(allowed_names)}"
        )
    return table
