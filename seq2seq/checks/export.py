"""Checks of the `export` command's config against the run it names, before TensorFlow
loads: the run is finished, the format's converter is installed, and the output directory
is new or an earlier export's (it is replaced whole, so anything else there is refused)."""

import importlib.util
import tempfile
from pathlib import Path

from omegaconf import DictConfig

from seq2seq.base.errors import ConfigError
from seq2seq.base.files import TEMPORARY_PREFIX
from seq2seq.base.names import PORTABLE_EXPORT_DIR, PORTABLE_INT8_SUFFIX, PORTABLE_MANIFEST
from seq2seq.checks.command import load_run_config
from seq2seq.config.command_schema import ExportConfig
from seq2seq.config.constraints import check_fields

#: The packages each format's export needs beyond TensorFlow (the `export` extra):
#: tf2onnx converts, onnx and onnxruntime quantize and check; LiteRT's converter is
#: TensorFlow's own.
NEEDED = {"onnx": ("tf2onnx", "onnx", "onnxruntime"), "litert": ()}


def export_dir(cfg: DictConfig) -> Path:
    """Where the export goes: `output_dir`, or the run directory's folder for the format
    (`onnx/`, `onnx_int8/`, `litert/`, `litert_int8/`)."""
    if cfg.output_dir is not None:
        return Path(cfg.output_dir)
    quantized = PORTABLE_INT8_SUFFIX if cfg.quantize == "int8" else ""
    return Path(cfg.run_dir) / PORTABLE_EXPORT_DIR.format(format=cfg.format, quantized=quantized)


def validate_export(cfg: DictConfig) -> tuple:
    """Checks an `export` config against the run it names.

    Returns:
        `(run_cfg, output)`: the run's training config and the export's directory.

    Raises:
        ConfigError: naming the first key whose value cannot work.
    """
    run_cfg = load_run_config(cfg)
    check_fields(cfg, ExportConfig, prefix="")
    missing = [name for name in NEEDED[cfg.format] if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            "format", cfg.format,
            f"needs {', '.join(missing)}, not installed; allowed: install the export extra "
            "(pip install 'seq2seq[export]'), or format=litert",
        )  # fmt: skip
    output = export_dir(cfg)
    key, shown = (
        ("output_dir", cfg.output_dir) if cfg.output_dir is not None else ("run_dir", cfg.run_dir)
    )
    # Replaced whole: only an earlier export may be there, never a run or a user's folder.
    if output.exists() and not (output / PORTABLE_MANIFEST).is_file():
        raise ConfigError(
            key, shown,
            f"{output} exists and is not an earlier export (no {PORTABLE_MANIFEST} in it); "
            "allowed: a new directory, or one an earlier export wrote",
        )  # fmt: skip
    parent = output.resolve().parent
    try:
        tempfile.TemporaryFile(dir=parent, prefix=TEMPORARY_PREFIX).close()
    except OSError as error:
        raise ConfigError(
            key, shown,
            f"{output} cannot be written in {parent} ({error.strerror or error}); allowed: a "
            "directory in an existing, writable directory",
        ) from None  # fmt: skip
    return run_cfg, output
