"""trainer.precision=auto by measurement (issue 30.3): the timing by turns and the pick with a
fake clock, the cache of decisions under data_dir, the run's record kept on resume, the
facts run.json gets; and one real tiny run on this machine."""

import json

import keras
import numpy as np
import pytest

from seq2seq.machine import hardware
from seq2seq.machine.hardware import MARGIN, measures, pick_faster, step_seconds
from seq2seq.training.precision_choice import TIMED_STEPS, cache_key, cache_path, choose_for_run

AUTO = "trainer.precision=auto"  # TINY sets float32
BF16 = frozenset({"avx2", "avx512f", "avx512_bf16"})


class FakeClock:
    """A clock that a step moves forward by the seconds it is scripted to take."""

    def __init__(self):
        self.now = 0.0
        self.calls = []

    def __call__(self):
        return self.now

    def steps(self, scripted: dict) -> dict:
        """`name -> step(index)` taking `scripted[name][index]` seconds each."""

        def make(name):
            def step(index):
                self.calls.append((name, index))
                self.now += scripted[name][index]

            return step

        return {name: make(name) for name in scripted}


def test_steps_are_warmed_up_untimed_then_timed_by_turns_and_medians_drop_a_spike():
    clock = FakeClock()
    scripted = {
        # A first step that traces for 30 s and a 9 s spike in the timed ones: neither counts.
        "float32": [30.0, 5.0, 1.0, 1.2, 9.0, 1.1, 1.0],
        "mixed_bfloat16": [40.0, 6.0, 0.8, 0.7, 0.9, 0.8, 0.8],
    }
    seconds = step_seconds(clock.steps(scripted), warmup=2, timed=5, clock=clock)
    assert seconds == pytest.approx({"float32": 1.1, "mixed_bfloat16": 0.8})
    warm = [("float32", 0), ("float32", 1), ("mixed_bfloat16", 0), ("mixed_bfloat16", 1)]
    turns = [(name, i) for i in range(2, 7) for name in ("float32", "mixed_bfloat16")]
    assert clock.calls == warm + turns  # by turns: a change of load hits both alike


@pytest.mark.parametrize(
    "bfloat16,expected",
    [
        (0.80, "mixed_bfloat16"),  # 1.25x: faster beyond the margin
        (1.00 * (1 - MARGIN) - 1e-6, "mixed_bfloat16"),  # just beyond it
        (1.00 * (1 - MARGIN) + 1e-6, "float32"),  # within it: noise
        (1.00, "float32"),  # a tie
        (1.30, "float32"),  # slower
    ],
)
def test_the_faster_wins_beyond_the_margin_and_a_tie_keeps_float32(bfloat16, expected):
    chosen = pick_faster({"float32": 1.0, "mixed_bfloat16": bfloat16}, timed=5)
    assert chosen.name == expected
    assert chosen.reason.startswith("auto: measured")
    # Both times are in the reason, in milliseconds.
    assert "float32 1000.0 ms" in chosen.reason and f"{bfloat16 * 1000:.1f} ms" in chosen.reason


@pytest.mark.parametrize(
    "requested,flags,gpu,multi_worker,expected",
    [
        ("auto", BF16, False, False, True),
        ("auto", frozenset({"amx_bf16"}), False, False, True),
        ("auto", frozenset({"avx2", "avx512f"}), False, False, False),  # no choice: float32
        ("auto", BF16, True, False, False),  # a GPU: float16, unmeasured
        ("auto", BF16, False, True, False),  # workers must agree
        ("float32", BF16, False, False, False),
        ("mixed_bfloat16", BF16, False, False, False),
    ],
)
def test_only_auto_on_a_cpu_with_native_bfloat16_measures(
    requested, flags, gpu, multi_worker, expected
):
    assert measures(requested, flags, gpu, multi_worker) is expected


def test_the_cpu_model_is_read(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t: fpu\n")
    assert hardware.cpu_model(path) == "AMD EPYC 9R14"
    assert hardware.cpu_model(tmp_path / "missing") == ""


class FakeData:
    """What `cache_key` reads of a run's data."""

    class vocabs:  # noqa: N801 - stands for an attribute
        @staticmethod
        def model_sizes():
            return (9, None)


def test_the_cache_key_names_model_shape_batch_size_and_cpu(tiny_cfg, monkeypatch):
    base = cache_key(tiny_cfg(), FakeData)
    assert base["cpu"] == hardware.cpu_model() and base["vocab_sizes"] == [9, None]
    assert cache_key(tiny_cfg(), FakeData) == base
    # What does not change a step's speed does not miss the cache.
    assert cache_key(tiny_cfg("trainer.epochs=3", "seed=7"), FakeData) == base
    differs = [
        cache_key(tiny_cfg("model.units=32"), FakeData),
        cache_key(tiny_cfg("model=attention"), FakeData),
        cache_key(tiny_cfg("trainer.batch_size=32"), FakeData),
    ]
    monkeypatch.setattr(hardware, "cpu_model", lambda: "Another CPU")
    differs.append(cache_key(tiny_cfg(), FakeData))
    paths = {cache_path("d", key) for key in [base, *differs]}
    assert len(paths) == 1 + len(differs)


@pytest.fixture
def on_a_bfloat16_cpu(monkeypatch):
    from seq2seq.training import compile as compile_module

    # Both readers of the flags: the choice's own and the rule's (precision_on_this_machine),
    # which decides a resumed or XLA run; else those two tests passed only on a CPU with
    # AVX-512 BF16.
    monkeypatch.setattr(hardware, "cpu_flags", lambda: BF16)
    monkeypatch.setattr(compile_module, "cpu_flags", lambda: BF16)


def measure_as(name, calls):
    """A fake `measure` that finds `name` faster, counting its calls."""

    def fake(cfg, task_data, strategy):
        calls.append(name)
        seconds = {"float32": 0.02, "mixed_bfloat16": 0.01 if name == "b" else 0.03}
        chosen = pick_faster(seconds, 5)
        return {
            "precision": chosen.name,
            "reason": chosen.reason,
            "seconds_per_step": seconds,
            "timed_steps": 5,
            "measure_seconds": 3.5,
        }

    return fake


def test_a_miss_measures_and_caches_and_a_hit_reads_it(tiny_cfg, tmp_path, on_a_bfloat16_cpu):
    cfg = tiny_cfg(AUTO, f"data_dir={tmp_path / 'data'}")
    calls = []
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir(), second_dir.mkdir()
    chosen, facts = choose_for_run(cfg, first_dir, False, FakeData, None, measure_as("b", calls))
    assert calls == ["b"] and chosen.name == "mixed_bfloat16"
    cached = cache_path(cfg.data_dir, cache_key(cfg, FakeData))
    assert json.loads(cached.read_text())["key"] == cache_key(cfg, FakeData)
    assert facts == {
        "precision": "mixed_bfloat16",
        "precision_reason": chosen.reason,
        "precision_measured": {
            "seconds_per_step": {"float32": 0.02, "mixed_bfloat16": 0.01},
            "timed_steps": 5,
            "measure_seconds": 3.5,
            "cache": str(cached),
            "from_cache": False,
        },
    }
    # The run's record, for a resume.
    assert json.loads((first_dir / "precision.json").read_text()) == facts
    again, facts = choose_for_run(cfg, second_dir, False, FakeData, None, measure_as("f", calls))
    assert calls == ["b"]  # not measured again
    assert again.name == "mixed_bfloat16" and again.reason.endswith(f"(cached in {cached})")
    assert facts["precision_measured"]["from_cache"] is True
    # Another batch size misses.
    other = tiny_cfg(AUTO, f"data_dir={tmp_path / 'data'}", "trainer.batch_size=32")
    choose_for_run(other, second_dir, False, FakeData, None, measure_as("f", calls))
    assert calls == ["b", "f"]


def test_a_cache_file_that_is_broken_is_measured_again(tiny_cfg, tmp_path, on_a_bfloat16_cpu):
    cfg = tiny_cfg(AUTO, f"data_dir={tmp_path / 'data'}")
    cached = cache_path(cfg.data_dir, cache_key(cfg, FakeData))
    cached.parent.mkdir(parents=True)
    cached.write_text("{not json")
    calls = []
    chosen, _ = choose_for_run(cfg, tmp_path, False, FakeData, None, measure_as("f", calls))
    assert calls == ["f"] and chosen.name == "float32"
    assert json.loads(cached.read_text())["precision"] == "float32"  # rewritten


def test_a_resumed_run_keeps_the_precision_its_start_recorded(tiny_cfg, tmp_path, monkeypatch):
    """Even where this machine would now choose otherwise (another CPU, a cache changed)."""
    cfg = tiny_cfg(AUTO, f"data_dir={tmp_path / 'data'}")
    recorded = {
        "precision": "mixed_bfloat16",
        "precision_reason": "auto: measured a training step of this model (...)",
        "precision_measured": {"seconds_per_step": {"float32": 0.02, "mixed_bfloat16": 0.01}},
    }
    (tmp_path / "precision.json").write_text(json.dumps(recorded))
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset())  # would be float32

    def never(*args):
        raise AssertionError("a resumed run measured")

    chosen, facts = choose_for_run(cfg, tmp_path, True, FakeData, None, never)
    assert chosen == ("mixed_bfloat16", recorded["precision_reason"]) and facts == recorded


def test_a_resumed_run_from_before_the_record_keeps_the_flags_rule(
    tiny_cfg, tmp_path, on_a_bfloat16_cpu
):
    def never(*args):
        raise AssertionError("a resumed run measured")

    chosen, facts = choose_for_run(tiny_cfg(AUTO), tmp_path, True, FakeData, None, never)
    assert chosen == hardware.choose_precision("auto", BF16, gpu=False)
    assert facts["precision_measured"] is None


def test_measuring_leaves_the_run_starting_from_the_seeded_weights(
    tiny_cfg, tmp_path, on_a_bfloat16_cpu
):
    """A run that measured and one that read the cache build the same first weights: the
    seeds are set again after the throwaway models drew from them."""
    from seq2seq.model.families import build_model

    cfg = tiny_cfg(AUTO, f"data_dir={tmp_path / 'data'}")
    keras.utils.set_random_seed(cfg.seed)
    expected = build_model(cfg.model, 9).get_weights()

    def measuring(cfg, task_data, strategy):
        build_model(cfg.model, 9)  # a throwaway model draws from the seeds
        return measure_as("f", [])(cfg, task_data, strategy)

    for run in ("measured", "cached"):
        keras.utils.set_random_seed(cfg.seed)
        (tmp_path / run).mkdir()
        _, facts = choose_for_run(cfg, tmp_path / run, False, FakeData, None, measuring)
        assert facts["precision_measured"]["from_cache"] is (run == "cached")
        got = build_model(cfg.model, 9).get_weights()
        for weight, want in zip(got, expected, strict=True):
            np.testing.assert_array_equal(weight, want)


@pytest.mark.slow  # a tiny run that also builds, traces and times two throwaway models
@pytest.mark.skipif(
    not measures("auto", hardware.cpu_flags(), gpu=False),
    reason="auto measures only on a CPU with AMX or AVX-512 BF16",
)
def test_auto_on_this_machine_measures_and_run_json_says_what(tiny_cfg, tmp_path, caplog):
    import tensorflow as tf

    from seq2seq import train

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU: auto takes float16 unmeasured")
    # A data_dir of its own: the session's cache must not answer.
    cfg = tiny_cfg("trainer.precision=auto", f"data_dir={tmp_path / 'data'}")
    with caplog.at_level("INFO"):
        train(cfg, run_dir=str(tmp_path / "run"))
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    measured = record["precision_measured"]
    seconds = measured["seconds_per_step"]
    assert set(seconds) == {"float32", "mixed_bfloat16"} and min(seconds.values()) > 0
    assert measured["timed_steps"] == TIMED_STEPS and measured["from_cache"] is False
    assert measured["measure_seconds"] > 0
    expected = pick_faster(seconds, TIMED_STEPS)
    assert (record["precision"], record["precision_reason"]) == expected
    assert f"Precision: {expected.name} ({expected.reason})" in caplog.text
    cached = json.loads(open(measured["cache"]).read())
    assert cached["precision"] == expected.name and cached["seconds_per_step"] == seconds
    recorded = json.loads((tmp_path / "run" / "precision.json").read_text())
    assert recorded == {k: record[k] for k in recorded}


def test_a_cpu_without_native_bfloat16_gets_float32_unmeasured(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))

    def never(*args):
        raise AssertionError("measured where there is no choice")

    chosen, facts = choose_for_run(tiny_cfg(AUTO), tmp_path, False, FakeData, None, never)
    assert chosen.name == "float32" and facts["precision_measured"] is None
    assert json.loads((tmp_path / "precision.json").read_text()) == facts


def test_under_xla_auto_is_not_measured_and_says_so(tiny_cfg, tmp_path, on_a_bfloat16_cpu):
    def never(*args):
        raise AssertionError("measured under XLA")

    cfg = tiny_cfg(AUTO, "trainer.xla=true")
    chosen, facts = choose_for_run(cfg, tmp_path, False, FakeData, None, never)
    rule = hardware.choose_precision("auto", BF16, gpu=False)
    assert chosen.name == rule.name and facts["precision_measured"] is None
    assert (
        chosen.reason.startswith(rule.reason) and "not measured under trainer.xla" in chosen.reason
    )
