"""trainer.precision=auto: the CPU's flags read from /proc/cpuinfo, and the precision each
kind of machine gets, with its reason."""

import pytest

from seq2seq.machine.hardware import choose_precision, cpu_flags

INTEL_AMX = "fpu vme avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8"
AMD_ZEN4 = "fpu vme avx2 avx512f avx512_bf16"
AMD_ZEN3 = "fpu vme avx2 fma"


def cpuinfo(tmp_path, flags, key="flags"):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: A CPU\n{key}\t\t: {flags}\n\nprocessor\t: 1\n")
    return path


def test_flags_are_read_from_the_first_cpu(tmp_path):
    assert cpu_flags(cpuinfo(tmp_path, INTEL_AMX)) >= {"amx_bf16", "avx512f"}
    assert cpu_flags(cpuinfo(tmp_path, "fp asimd", key="Features")) == {"fp", "asimd"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_this_machines_flags_are_found():
    # Linux lists flags for every CPU it knows; SSE2 is in every x86-64 one.
    flags = cpu_flags()
    assert not flags or "sse2" in flags or "asimd" in flags or "fp" in flags


@pytest.mark.parametrize(
    "flags,gpu,expected",
    [
        (INTEL_AMX, False, "mixed_bfloat16"),
        (AMD_ZEN4, False, "float32"),
        (AMD_ZEN3, False, "float32"),
        (AMD_ZEN3, True, "mixed_float16"),
    ],
)
def test_auto_picks_bfloat16_only_with_amx_and_float16_on_a_gpu(tmp_path, flags, gpu, expected):
    chosen = choose_precision("auto", cpu_flags(cpuinfo(tmp_path, flags)), gpu=gpu)
    assert chosen.name == expected and chosen.reason.startswith("auto: ")


def test_a_set_precision_is_kept_and_multi_worker_gets_no_float16():
    assert choose_precision("mixed_bfloat16", frozenset(), gpu=False) == (
        "mixed_bfloat16",
        "set by trainer.precision",
    )
    assert choose_precision("auto", frozenset(), gpu=True, float16_allowed=False).name == "float32"
