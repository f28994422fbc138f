"""What to type instead, for errors whose own message does not say: an override Hydra's
grammar cannot read, a config file Hydra cannot use (YAML it cannot parse, a group file
without `# @package _global_`), and an interrupt that TensorFlow wrapped in an error of
its own.

Kept apart from `errors.py`, which prints them, to keep each module one idea.
"""

import os
import re
import signal

import yaml

#: The last line of a Python traceback that TensorFlow copies into an error's message when
#: an interrupt is raised inside a `tf.py_function` (a `Dataset.from_generator`'s generator),
#: and the signal behind it: SIGTERM's `Terminated` keeps its module's name.
INTERRUPT_LINES = {
    "KeyboardInterrupt": signal.SIGINT,
    "seq2seq.base.errors.Terminated": signal.SIGTERM,
}


#: Hydra's message for a group file whose keys land under the group's own name, a key the
#: schema lacks: `In 'experiment/mine': ConfigKeyError raised while composing config:
#: Key 'experiment' not in 'TrainConfig'`.
UNPACKAGED = re.compile(
    r"In '(?P<group>(?P<top>[^'/]+)[^']*)/(?P<name>[^'/]+)': ConfigKeyError raised while "
    r"composing config:\s*Key '(?P=top)' not in '\w+'"
)


def config_file_problem(error: BaseException) -> str | None:
    """One line for a config file that Hydra could not use, or None for another error.

    Args:
        error: what composing the config raised.

    Returns:
        For YAML that cannot be parsed: the file, the line and the parser's complaint. For
        a file of a group the schema has no key for (`experiment/NAME.yaml`) without
        `# @package _global_`: the option, the file and the header to add.
    """
    cause = error if isinstance(error, yaml.YAMLError) else error.__cause__
    if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
        mark = cause.problem_mark
        where = ""
        if cause.context and cause.context_mark is not None:
            where = f" ({cause.context} at line {cause.context_mark.line + 1})"
        return f"{mark.name}:{mark.line + 1}: not valid YAML: {cause.problem}{where}"
    if isinstance(cause, yaml.YAMLError):
        return f"a config file is not valid YAML: {' '.join(str(cause).split())}"
    unpackaged = UNPACKAGED.search(str(error))
    if unpackaged is None:
        return None
    group, name = unpackaged["group"], unpackaged["name"]
    return (
        f"{group}={name}: {group}/{name}.yaml sets keys of the whole config but lacks Hydra's "
        "header; add `# @package _global_` as its first line"
    )


def override_hint(override: str, message: str) -> str:
    """What to say about an override that Hydra's grammar refused.

    Args:
        override: the override as the user typed it, e.g. `task.path=~/x.tsv`.
        message: Hydra's message, whose first line names the parser's complaint.

    Returns:
        One line: the value, and what to type instead.
    """
    key, equals, value = override.partition("=")
    if not equals:
        return "allowed: key=value"
    if value.startswith("~"):
        # Hydra's grammar reserves `~` (it deletes a key) and expands no home directory.
        expanded = os.path.expanduser(value)
        return (
            f"Hydra does not expand ~ in {value!r}; write the path without it "
            f"({key.lstrip('+~')}={expanded})"
        )
    first = message.strip().splitlines()[0] if message.strip() else "cannot be parsed"
    if first.startswith("Error parsing override"):
        first = message.strip().splitlines()[1]
    return (
        f"{first}; a value with characters of Hydra's grammar must be quoted: "
        f"\"{key}='{value}'\" on a shell's command line"
    )


def interrupt_inside(error: BaseException) -> signal.Signals | None:
    """The signal of an interrupt that TensorFlow reports as one of its own errors, or None.

    A KeyboardInterrupt (Ctrl-C) or `Terminated` (SIGTERM) raised while a generator of
    `tf.data` runs comes back as a TensorFlow `UnknownError` whose message is the whole
    traceback and TensorFlow's node (`[[{{node PyFunc}}]]`): the run must end as any
    interrupt does, in one line.
    """
    if not type(error).__module__.startswith("tensorflow"):
        return None
    for line in str(error).splitlines():
        received = INTERRUPT_LINES.get(line.strip().removesuffix(":"))
        if received is not None:
            return received
    return None
