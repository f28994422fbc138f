"""Each run-directory name and each special token id is written once: in
`seq2seq.base.names` and `seq2seq.base.tokens`, which both packages read."""

import ast
import re
from pathlib import Path

from seq2seq.base import names

ROOT = Path(__file__).resolve().parents[2]
#: The names module's own constants: file names (with a dot) and folder names.
NAMES = {value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
FILE_NAMES = sorted(name for name in NAMES if "." in name and "*" not in name)
FOLDER_NAMES = sorted(name for name in NAMES if "." not in name)
FILE_NAME = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, FILE_NAMES)) + r")(?!\w)")


def _prose(tree: ast.AST) -> set:
    """The ids of the strings that document rather than name: docstrings, and the help
    texts of schema fields (`help=`), which tell users of the files."""
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    prose = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "help":
            prose |= {id(part) for part in ast.walk(node.value)}
    return prose


def spelled_names(path: Path, root: Path = ROOT) -> list:
    """The string literals of a module (docstrings and help texts aside) that spell a
    run-directory name: one that holds a file name, or a folder name as a part of a path
    (or alone)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = _prose(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in prose:
            continue
        text = node.value
        if FILE_NAME.search(text) or set(text.split("/")) & set(FOLDER_NAMES):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {text!r}")
    return found


def test_the_scan_finds_a_spelled_name(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        '"""Writes metrics.json."""\n'
        'a = run_dir / "metrics.json"\n'
        'b = f"{run_dir}/checkpoints/{name}"\n'
        'c = run_dir / "tensorboard" / "train"\n'
        'd = ("no metrics_json", "seq2seq.evaluation", "my.lock.file", METRICS_FILE)\n'
        'e = one_of("x", ("x",), help="Written to metrics.json.")\n'
    )
    assert [line.split(": ", 1)[1] for line in spelled_names(module, tmp_path)] == [
        "'metrics.json'",
        "'/checkpoints/'",
        "'tensorboard'",
    ]


def test_no_module_spells_a_run_directory_name_but_names_py():
    modules = [*(ROOT / "seq2seq").rglob("*.py")]
    own = ROOT / "seq2seq" / "base" / "names.py"
    spelled = [line for path in sorted(modules) if path != own for line in spelled_names(path)]
    assert not spelled, "use seq2seq.base.names:\n" + "\n".join(spelled)


def test_the_token_constants_are_defined_once():
    import seq2seq
    from seq2seq.base import tokens
    from seq2seq.text import vocabulary

    for name in ("PAD_ID", "BOS_ID", "EOS_ID", "SPECIAL_TOKENS", "FIRST_SYMBOL_ID", "UNKNOWN"):
        assert getattr(vocabulary, name) is getattr(tokens, name), name
    for name in ("PAD_ID", "BOS_ID", "EOS_ID"):
        assert getattr(seq2seq, name) is getattr(tokens, name), name
    assert tokens.FIRST_SYMBOL_ID == len(tokens.SPECIAL_TOKENS) == 3
    # SentencePiece's meta pieces are the specials and <unk>, in the framework's id order.
    assert tokens.SUBWORD_META_PIECES == 4
    assert tokens.SUBWORD_UNKNOWN_ID == tokens.FIRST_SYMBOL_ID
