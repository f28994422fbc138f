"""The four LSTM output modes on the seed notebooks' example, for `python -m seq2seq.modes`.

One sample `[0.1, 0.2, 0.3]`: 3 time steps, 1 feature, an LSTM of 1 unit. The four
layers share one set of (random) weights, so their outputs can be compared; the values
show shapes and identities, not numbers to reproduce. Then it checks the identities the
framework relies on and says which hold.
"""

from collections.abc import Callable

import keras
import numpy as np

EXAMPLE = np.array([0.1, 0.2, 0.3], dtype="float32").reshape(1, 3, 1)
MODES = [(False, False), (True, False), (False, True), (True, True)]
RETURNS = {
    (False, False): "last h",
    (True, False): "h at every step",
    (False, True): "[output = last h, state_h, state_c]",
    (True, True): "[h at every step, state_h, state_c]",
}


def _as_list(result) -> list[np.ndarray]:
    return [np.asarray(t) for t in (result if isinstance(result, (list, tuple)) else [result])]


def run_modes(weights=None, units: int = 1) -> dict:
    """Runs one LSTM's weights in the four modes on the example.

    Args:
        weights: the LSTM's [kernel, recurrent_kernel, bias]; random if None.
        units: LSTM width.

    Returns:
        `{(return_sequences, return_state): [arrays]}`.
    """
    results = {}
    for sequences, state in MODES:
        layer = keras.layers.LSTM(units, return_sequences=sequences, return_state=state)
        layer.build(EXAMPLE.shape)
        if weights is None:
            weights = layer.get_weights()
        layer.set_weights(weights)
        results[(sequences, state)] = _as_list(layer(EXAMPLE))
    return results


def _bidirectional_count() -> int:
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(1, return_sequences=True, return_state=True)
    )
    return len(_as_list(layer(EXAMPLE)))


def _state_counts() -> tuple[int, int]:
    gru = keras.layers.GRU(1, return_state=True)
    lstm = keras.layers.LSTM(1, return_state=True)
    return len(_as_list(gru(EXAMPLE))) - 1, len(_as_list(lstm(EXAMPLE))) - 1


def _masked_matches_unpadded() -> bool:
    layer = keras.layers.LSTM(1, return_state=True)
    padded = np.concatenate([EXAMPLE, np.zeros((1, 2, 1), "float32")], axis=1)
    mask = np.array([[True, True, True, False, False]])
    _, *masked = _as_list(layer(padded, mask=mask))
    _, *unpadded = _as_list(layer(EXAMPLE))
    return all(np.allclose(m, u) for m, u in zip(masked, unpadded))


def identities(results: dict) -> list[tuple[str, Callable[[], bool]]]:
    """The identities checked, as (statement, check) pairs."""
    neither, sequences = results[(False, False)], results[(True, False)]
    states, both = results[(False, True)], results[(True, True)]
    return [
        ("without sequences, output equals state_h", lambda: np.array_equal(states[0], states[1])),
        (
            "with sequences, the last step equals state_h",
            lambda: np.array_equal(both[0][:, -1], both[1]),
        ),
        (
            "neither flag returns the last step of the sequence",
            lambda: np.allclose(neither[0], sequences[0][:, -1]),
        ),
        (
            "return_state alone and both flags give the same [h, c]",
            lambda: all(np.allclose(a, b) for a, b in zip(states[1:], both[1:])),
        ),
        (
            "a Bidirectional LSTM with both flags returns five tensors",
            lambda: _bidirectional_count() == 5,
        ),
        ("GRU returns one state, LSTM two", lambda: _state_counts() == (1, 2)),
        (
            "masked (padded) steps leave the state unchanged",
            _masked_matches_unpadded,
        ),
    ]


def _format(array: np.ndarray) -> str:
    return np.array2string(array, precision=5, separator=", ").replace("\n", "")


def show(seed: int) -> int:
    """Prints the four modes and the identities.

    Args:
        seed: seeds the random weights.

    Returns:
        0 if every identity holds, else 1.
    """
    keras.utils.set_random_seed(seed)
    results = run_modes()
    print("LSTM(1) on one sample [0.1, 0.2, 0.3]: input shape (1, 3, 1)\n")
    for (sequences, state), outputs in results.items():
        print(
            f"return_sequences={sequences}, return_state={state}: returns {RETURNS[(sequences, state)]}"
        )
        for index, output in enumerate(outputs):
            print(f"  [{index}] shape {output.shape}: {_format(output)}")
    print("\nIdentities:")
    failed = 0
    for statement, check in identities(results):
        holds = bool(check())
        failed += not holds
        print(f"  {'holds' if holds else 'DOES NOT HOLD'}: {statement}")
    return 1 if failed else 0
