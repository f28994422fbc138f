"""Keys renamed for what they count, still accepted under their old names for one version.

Ten keys ended in `_len`, in three units: source symbols (a generated task's lengths, the
length-generalization split, the longest input `predict` and `seq2seq-export` accept),
output tokens with EOS (decoding's bounds), and symbols of one side of a file (the training
filters of a file of pairs). Each is now named by what it counts. Until `REMOVED_IN`, an
old name among the overrides is rewritten to the new one with a one-line note on stderr,
and a run saved before the rename (its `config.yaml`) reads under the new names.
"""

import re
import sys
from collections.abc import Sequence

from omegaconf import DictConfig

#: Each old key and its new name, as typed on the command line.
RENAMED = {
    "task.min_len": "task.min_source_symbols",
    "task.max_len": "task.max_source_symbols",
    "task.target_len": "task.reversed_symbols",
    "task.max_source_len": "task.max_train_source_symbols",
    "task.max_target_len": "task.max_train_target_symbols",
    "eval.min_len": "eval.min_source_symbols",
    "eval.max_len": "eval.max_source_symbols",
    "decoding.min_len": "decoding.min_tokens",
    "decoding.max_len": "decoding.max_tokens",
    "max_input_len": "max_input_symbols",
}
#: The version that no longer accepts the old names.
REMOVED_IN = "0.3.0"

#: An override: Hydra's prefix (`+`, `++`, `~`), the key, and the rest (`=value`, or none).
_OVERRIDE = re.compile(r"(\+\+|\+|~)?([A-Za-z_][\w.]*)(=.*)?", re.DOTALL)
#: The old names this process has already noted, so that a sweep notes each once.
_noted: set[str] = set()


def renamed_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides with every old key under its new name, each old name noted on stderr
    once (`note: task.max_len is now task.max_source_symbols; ...`).

    Args:
        overrides: command-line style overrides, e.g. `["task.max_len=8"]`; other
            arguments (Hydra's flags) pass unchanged.

    Returns:
        The overrides, in order.
    """
    result = []
    for override in overrides:
        match = _OVERRIDE.fullmatch(override)
        new = RENAMED.get(match.group(2)) if match else None
        if new is None:
            result.append(override)
            continue
        old = match.group(2)
        if old not in _noted:
            _noted.add(old)
            print(
                f"note: {old} is now {new}; the old name is accepted until version {REMOVED_IN}",
                file=sys.stderr,
            )
        result.append(f"{match.group(1) or ''}{new}{match.group(3) or ''}")
    return result


def upgraded(config: DictConfig | dict) -> DictConfig | dict:
    """A saved run's config read under the new names: each old key present (and its new
    name absent) moves to the new name, in place.

    Args:
        config: a `config.yaml` as loaded (OmegaConf or plain YAML); a section it lacks is
            left alone.

    Returns:
        The same config.
    """
    for old, new in RENAMED.items():
        section, _, old_key = old.rpartition(".")
        new_key = new.rpartition(".")[2]
        node = config.get(section) if section else config
        if isinstance(node, (dict, DictConfig)) and old_key in node and new_key not in node:
            node[new_key] = node[old_key]
            del node[old_key]
    return config
