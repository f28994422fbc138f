"""`python -m seq2seq.modes` prints the four modes on the seeds' example and checks identities."""

import numpy as np

from seq2seq import modes
from seq2seq.model.modes import identities, run_modes


def test_prints_the_four_modes_with_shapes_and_all_identities_hold(capsys):
    status = modes.main([])
    out = capsys.readouterr().out
    assert status == 0
    for flags in [
        "return_sequences=False, return_state=False: returns last h",
        "return_sequences=True, return_state=False: returns h at every step",
        "return_sequences=False, return_state=True",
        "return_sequences=True, return_state=True",
    ]:
        assert flags in out
    assert out.count("] shape (1, 3, 1)") == 2  # the two modes with sequences
    assert out.count("] shape (1, 1)") == 1 + 3 + 2
    assert "DOES NOT HOLD" not in out and out.count("holds:") == 7


def test_identities_report_a_broken_identity():
    results = run_modes()
    broken = dict(results)
    broken[(False, True)] = [results[(False, True)][0] + 1.0, *results[(False, True)][1:]]
    checks = dict((statement, check()) for statement, check in identities(broken))
    assert checks["without sequences, output equals state_h"] is False
    assert checks["with sequences, the last step equals state_h"] is True


def test_all_four_layers_share_weights():
    results = run_modes()
    np.testing.assert_allclose(results[(False, False)][0], results[(True, True)][1])
