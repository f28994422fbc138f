"""ProgressLog: every epoch's figures, and a line every N seconds during an epoch, through
the run's logger (train.log), kept off a terminal where Keras' bar shows them. A fake clock
and a fake model: no training."""

import io
import logging

import keras
import pytest

from seq2seq.logs import progress
from seq2seq.logs.progress import ProgressLog

LOGGER = "seq2seq.logs.progress"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class FakeModel:
    optimizer = keras.optimizers.Adam(learning_rate=0.005)


def make(every: float, clock: FakeClock, steps=10, epochs=3) -> ProgressLog:
    callback = ProgressLog(every, clock=clock)
    callback.set_params({"epochs": epochs, "steps": steps})
    callback.set_model(FakeModel())
    return callback


def lines(caplog) -> list:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_line_every_interval_with_step_loss_speed_and_time_left(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = FakeClock()
    callback = make(2.0, clock)
    callback.on_epoch_begin(0)
    for step in range(10):
        clock.now += 0.5  # 2 steps/s: a line every 4 steps
        callback.on_train_batch_end(step, {"loss": 1.5 - step / 10})
    assert lines(caplog) == [
        "Epoch 1/3 - step 4/10 - loss: 1.2 - 2.00 steps/s - 0:03 left",
        "Epoch 1/3 - step 8/10 - loss: 0.8 - 2.00 steps/s - 0:01 left",
    ]


def test_zero_logs_no_line_during_an_epoch_but_still_the_epoch(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = FakeClock()
    callback = make(0, clock)
    callback.on_epoch_begin(1)
    for step in range(10):
        clock.now += 100
        callback.on_train_batch_end(step, {"loss": 1.0})
    callback.on_epoch_end(1, {"loss": 0.25, "val_exact_match": 0.5, "val_truncated": 3.0})
    assert lines(caplog) == [
        "Epoch 2/3 - loss: 0.25 - val_exact_match: 0.5 - val_truncated: 3 - "
        "learning_rate: 0.005 - 16:40 (0.01 steps/s)"
    ]


def test_without_known_steps_the_last_epoch_count_gives_the_time_left(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = FakeClock()
    callback = make(1.0, clock, steps=None, epochs=None)
    callback.on_epoch_begin(0)
    for step in range(4):
        clock.now += 1.0
        callback.on_train_batch_end(step, {"loss": 1.0})
    callback.on_epoch_end(0, {"loss": 1.0})
    callback.on_epoch_begin(1)
    clock.now += 1.0
    callback.on_train_batch_end(0, {"loss": 0.5})
    assert lines(caplog)[0] == "Epoch 1 - step 1 - loss: 1 - 1.00 steps/s"
    assert lines(caplog)[-1] == "Epoch 2 - step 1/4 - loss: 0.5 - 1.00 steps/s - 0:03 left"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_lines_stay_off_a_terminal_handler_during_training_and_reach_a_file(tmp_path):
    root = logging.getLogger()
    terminal, pipe = Terminal(), io.StringIO()
    handlers = [
        logging.StreamHandler(terminal),
        logging.StreamHandler(pipe),
        logging.FileHandler(tmp_path / "train.log"),
    ]
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    try:
        clock = FakeClock()
        callback = make(0, clock)
        callback.on_train_begin()
        callback.on_epoch_begin(0)
        clock.now += 2
        callback.on_epoch_end(0, {"loss": 1.0})
        logging.getLogger("seq2seq.training.run").info("other lines still show")
        callback.on_train_end()
        callback.on_epoch_end(0, {"loss": 1.0})  # after training, filters are gone
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    epoch = "Epoch 1/3 - loss: 1 - learning_rate: 0.005 - 2.0 s"
    assert terminal.getvalue().splitlines() == ["other lines still show", epoch]
    assert pipe.getvalue().splitlines()[0] == epoch
    assert (tmp_path / "train.log").read_text().splitlines()[0] == epoch


@pytest.mark.parametrize(
    ("tty", "level", "verbose"),
    [(True, logging.INFO, 1), (False, logging.INFO, 0), (False, logging.WARNING, 2)],
)
def test_keras_bar_only_in_a_terminal_and_its_epoch_line_only_where_ours_are_not_shown(
    monkeypatch, caplog, tty, level, verbose
):
    monkeypatch.setattr("sys.stdout", Terminal() if tty else io.StringIO())
    caplog.set_level(level, logger=LOGGER)
    assert progress.keras_verbose() == verbose
