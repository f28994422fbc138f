"""The commands that README.md and docs/ show, read out of their code blocks.

A ```bash block holds commands, one a line (a trailing `\\` continues one); a plain ```
block holds `$ command` lines, each followed by the output it prints. Each command is
split as the shell would (quotes, `# comments`, `NAME=value` environment prefixes) and
named by the program it runs: `python train.py` and `seq2seq-train` are both `train`.
"""

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from seq2seq.base.names import PORTABLE_DECODER

ROOT = Path(__file__).resolve().parents[2]
#: The documents whose code blocks the tests read.
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md")))

PYTHONS = ("python", "python3", ".venv/bin/python")
#: `python -m MODULE` and console-script commands, by the command they are.
MODULES = {
    "seq2seq.evaluate": "evaluate",
    "seq2seq.predict": "predict",
    "seq2seq.score": "score",
    "seq2seq.export": "export",
    "seq2seq.modes": "modes",
    "seq2seq.cli.runs": "runs",
}
SCRIPTS = {
    "seq2seq-train": "train",
    "seq2seq-evaluate": "evaluate",
    "seq2seq-predict": "predict",
    "seq2seq-score": "score",
    "seq2seq-export": "export",
    "seq2seq-modes": "modes",
    "seq2seq-runs": "runs",
}
#: Commands the docs show but the tests do not run (they install, lint, serve, time or
#: draw): a program, or a program and its first argument. Anything else that is not one
#: of the commands above fails the tests, so that a new command cannot slip past them.
SHOWN_ONLY = {
    "make",
    "tensorboard",
    "pip",
    "pipx",
    "uv",
    "git",
    "cd",
    "python -m pip",
    "python -m build",
    "python -m venv",
    "python -m pytest",
    # TensorFlow Serving's container and a REST request to it: no such binary here.
    "docker",
    "curl",
}
#: Python scripts of the checkout that only write samples, figures or screenshots.
SHOWN_ONLY_SCRIPTS = ("tools/", "benchmarks/")
ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One documented command line.

    Attributes:
        where: `FILE:LINE` of its first line, for messages.
        text: the line as written, continuations joined.
        kind: `train`, `evaluate`, `predict`, `score`, `modes`, `runs`, `shown` (never
            run) or `unknown`.
        args: its arguments after the program, split as the shell splits them.
        env: its environment prefix (`TF_CONFIG=...`).
        output: the lines a `$ command` block shows it printing.
    """

    where: str
    text: str
    kind: str
    args: tuple
    env: dict = field(default_factory=dict)
    output: tuple = ()

    @property
    def error(self) -> tuple:
        """The `error: ...` lines it is shown printing: a command meant to fail."""
        return tuple(line for line in self.output if line.startswith("error: "))

    def value(self, key: str) -> str | None:
        """The value its `key=value` argument gives, or None."""
        values = [arg.split("=", 1)[1] for arg in self.args if arg.startswith(f"{key}=")]
        return values[-1] if values else None

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def classify(tokens: list) -> tuple:
    """(kind, arguments after the program) of a command split into tokens."""
    program, rest = tokens[0], tokens[1:]
    if {"&&", "||", "|", ";"} & set(tokens):
        return "unknown", tuple(rest)  # several commands on a line: split them in the docs
    if program in SCRIPTS:
        return SCRIPTS[program], tuple(rest)
    if program in PYTHONS and rest and rest[0] == "train.py":
        return "train", tuple(rest[1:])
    if program in PYTHONS and len(rest) > 1 and rest[0] == "-m":
        if rest[1] in MODULES:
            return MODULES[rest[1]], tuple(rest[2:])
        shown = f"python -m {rest[1]}" in SHOWN_ONLY
        return ("shown" if shown else "unknown"), tuple(rest[2:])
    if program in PYTHONS and rest and rest[0].startswith(SHOWN_ONLY_SCRIPTS):
        return "shown", tuple(rest[1:])
    if program in PYTHONS and rest and rest[0].endswith(f"/{PORTABLE_DECODER}"):
        # An export's decoder, run where TensorFlow is not: tests/serving/
        # test_portable_export.py runs it as a user does, on every family.
        return "shown", tuple(rest[1:])
    if program == "make" and rest[:1] == ["train"]:
        # `make train ARGS="..."` is `python train.py ...` in the virtual environment.
        args = [arg.split("=", 1)[1] for arg in rest[1:] if arg.startswith("ARGS=")]
        return "train", tuple(shlex.split(args[0]) if args else ())
    return ("shown" if program in SHOWN_ONLY else "unknown"), tuple(rest)


def parse(where: str, text: str, output: tuple = ()) -> Command | None:
    """The command of one shell line, or None for a comment or an empty line; a line the
    shell could not split is `unknown` (and fails the tests, named)."""
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError:
        return Command(where, text.strip(), "unknown", ())
    env = {}
    while tokens and ENV_ASSIGNMENT.match(tokens[0]):
        name, value = tokens.pop(0).split("=", 1)
        env[name] = value
    if not tokens:
        return None
    kind, args = classify(tokens)
    return Command(where, text.strip(), kind, args, env, tuple(output))


def _open_quote(text: str) -> bool:
    """Whether a shell line ends inside quotes: the shell reads on, the newline quoted."""
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def _blocks(path: Path):
    """(language, [(line number, text)]) of each fenced code block of a Markdown file."""
    language, lines = None, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            if language is None:
                language, lines = line[3:].strip() or "text", []
            else:
                yield language, lines
                language = None
        elif language is not None:
            lines.append((number, line))


def _joined(lines: list, start: int = 0):
    """(index after it, line number, text) of each shell line from `lines[start]` on: a
    trailing backslash joins the next line, an open quote takes it whole."""
    i = start
    while i < len(lines):
        number, text = lines[i]
        i += 1
        while i < len(lines) and (text.endswith("\\") or _open_quote(text)):
            text = text[:-1] + " " if text.endswith("\\") else text + "\n"
            text += lines[i][1]
            i += 1
        yield i, number, text


def commands_of(path: Path) -> list:
    """Every command in the shell and `$`-transcript blocks of one Markdown file."""
    found = []
    name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    for language, lines in _blocks(path):
        if language in ("bash", "sh", "shell"):
            for _, number, text in _joined(lines):
                found.append(parse(f"{name}:{number}", text.removeprefix("$ ")))
        elif language in ("text", "console"):
            # `$ command` lines (which may go on over lines), each followed by what it prints.
            starts = [i for i, (_, line) in enumerate(lines) if line.startswith("$ ")]
            for i, start in enumerate(starts):
                end = starts[i + 1] if i + 1 < len(starts) else len(lines)
                after, number, text = next(_joined(lines, start))
                output = tuple(line for _, line in lines[after:end])
                found.append(parse(f"{name}:{number}", text[2:], output))
    return [command for command in found if command is not None]


def documented_commands() -> list:
    """Every command of README.md and docs/, in order."""
    return [command for path in DOCUMENTS for command in commands_of(path)]


def of_kind(*kinds: str) -> list:
    """The documented commands of these kinds."""
    return [command for command in documented_commands() if command.kind in kinds]


@dataclass(frozen=True)
class HydraCommandLine:
    """A train command's arguments as Hydra reads them.

    Attributes:
        multirun: `-m`: one job per combination of the comma lists.
        cfg: `--cfg`'s value (print the config, run nothing), or None.
        config_dir: `--config-dir`'s value (configs before the shipped ones), or None.
        overrides: the `key=value` overrides.
    """

    multirun: bool
    cfg: str | None
    config_dir: str | None
    overrides: tuple


def hydra_command_line(command: Command) -> HydraCommandLine:
    """Hydra's reading of a train command's arguments.

    Raises:
        AssertionError: for a flag the tests do not know.
    """
    args = list(command.args)
    multirun, values, overrides = False, {"--cfg": None, "--config-dir": None}, []
    aliases = {"-c": "--cfg", "-cd": "--config-dir"}
    while args:
        arg = args.pop(0)
        name, equals, value = arg.partition("=")
        name = aliases.get(name, name)
        if arg in ("-m", "--multirun"):
            multirun = True
        elif name in values:
            values[name] = value if equals else args.pop(0)
        else:
            assert not arg.startswith("-"), f"{command}: the flag {arg} is not one the test knows"
            overrides.append(arg)
    return HydraCommandLine(multirun, values["--cfg"], values["--config-dir"], tuple(overrides))


def config_files() -> dict:
    """The config files the docs show whole, as a user would copy them: a ```yaml block one
    of whose leading comments names the file (`# my_configs/experiment/mine.yaml`, after
    Hydra's `# @package` header), by that path."""
    files = {}
    for path in DOCUMENTS:
        for language, lines in _blocks(path):
            texts = [text for _, text in lines]
            if language != "yaml":
                continue
            for text in texts:
                if not text.startswith("#"):
                    break
                named = text.removeprefix("#").strip()
                if named.endswith(".yaml") and " " not in named:
                    files[named] = "\n".join(texts) + "\n"  # whole: the header stays first
    return files
