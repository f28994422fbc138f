"""The images a run shows in TensorBoard after each epoch, drawn with matplotlib.

- `states`: the `return_sequences` view of a sample: heatmaps of h (and c, for LSTM) of
  every layer over the time steps, encoder and decoder (c stepped out of the cell, since
  the layer returns only the last one);
- `attention`: for attention models, the attention weights of the same sample.
"""

import io
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from seq2seq.model.recurrent import STATE_COUNT
from seq2seq.text.vocabulary import BOS_ID, Vocabularies


def _states_over_time(rnn_layer, count, inputs, initial_states=None):
    """Runs a recurrent layer's cell step by step; returns each state at every step.

    Keras' layers return every step's h (`return_sequences=True`) but only the last c;
    stepping the cell shows c at every step too.

    Args:
        rnn_layer: a Keras recurrent layer.
        count: how many states its cell has (2 for LSTM).
        inputs: (1, time, features).
        initial_states: the states before the first step; zeros by default.

    Returns:
        `(history, final)`: one (time, units) array per state (h, then c), and the states
        after the last step.
    """
    cell = rnn_layer.cell
    batch = inputs.shape[0]
    states = initial_states or [tf.zeros((batch, cell.units)) for _ in range(count)]
    history = [[] for _ in range(count)]
    for t in range(inputs.shape[1]):
        _, states = cell(inputs[:, t], list(states), training=False)
        states = states if isinstance(states, (list, tuple)) else [states]
        for k, state in enumerate(states):
            history[k].append(np.asarray(state)[0])
    return [np.stack(h) for h in history], list(states)


def layer_state_panels(model, source_ids, decoder_ids) -> list:
    """Every state of every layer over its steps, encoder and decoder.

    Args:
        model: a Seq2Seq model.
        source_ids: int (1, source_len) token ids, padding allowed.
        decoder_ids: int (1, target_len): BOS then the target.

    Returns:
        `(title, side, array (time, units))` for each state (h, then c for LSTM) of each
        layer, encoder layers first; `side` is "source" or "target".
    """
    panels = []
    names = ["h", "c"]
    count = STATE_COUNT[model.cell]
    mask = source_ids != 0
    length = int(mask.sum())
    x = model.embedding(source_ids[:, :length])
    for k, rnn in enumerate(model.encoder.rnns):
        directions = [("", rnn)]
        if hasattr(rnn, "forward_layer"):
            directions = [(" forward", rnn.forward_layer), (" backward", rnn.backward_layer)]
        outputs = []
        for label, layer in directions:
            sequence = x[:, ::-1] if "backward" in label else x
            history, _ = _states_over_time(layer, count, sequence)
            if "backward" in label:
                history = [h[::-1] for h in history]
            for name, values in zip(names, history):
                panels.append((f"encoder layer {k}{label}: {name}", "source", values))
            outputs.append(history[0])
        x = tf.constant(np.concatenate(outputs, axis=-1)[None])
    encoded = model.encode(source_ids, training=False)
    state = model.initial_decoder_state(encoded)
    y = model.decoder_inputs(decoder_ids, encoded)
    for k, rnn in enumerate(model.decoder.rnns):
        history, _ = _states_over_time(rnn, count, y, list(state[k]))
        for name, values in zip(names, history):
            panels.append((f"decoder layer {k}: {name}", "target", values))
        y = tf.constant(history[0][None])
    return panels


#: Images are drawn for the width of a TensorBoard image card (about 350 px, into which
#: the Images and Time Series dashboards shrink a wider image) and their text sized to
#: read there: at 72 dpi and 7-9 pt, the labels came out 7 px high before the shrinking.
IMAGE_DPI = 100
#: Font sizes (points) of titles and of tick labels; at IMAGE_DPI, 15 and 14 px.
TITLE_SIZE, LABEL_SIZE = 11, 10
#: At most this many tick labels on an axis of steps; longer sequences label every k-th.
MAX_LABELS = 16


def _figure_to_image(figure) -> np.ndarray:
    """A matplotlib figure as a (1, height, width, 4) uint8 array for tf.summary.image."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=IMAGE_DPI)
    import matplotlib.pyplot as plt  # noqa: PLC0415 - matplotlib only where images are made

    plt.close(figure)
    return tf.image.decode_png(buffer.getvalue(), channels=4).numpy()[None]


def _pyplot():
    import matplotlib  # noqa: PLC0415 - loaded only when a run logs images

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def label_steps(set_ticks, labels: list) -> None:
    """Ticks an axis of steps with their symbols, every k-th one past MAX_LABELS; labels
    longer than a digit or two (`<bos>`, words) are turned 45 degrees to stay apart.

    Args:
        set_ticks: the axis' `set_xticks` or `set_yticks`.
        labels: one symbol per step.
    """
    every = -(-len(labels) // MAX_LABELS)
    positions = range(0, len(labels), every)
    shown = [labels[i] for i in positions]
    turn = {"rotation": 45, "ha": "right"} if max(map(len, shown), default=0) > 2 else {}
    set_ticks(positions, shown, fontsize=LABEL_SIZE, **turn)


def states_image(
    model, vocabs: Vocabularies, source: Sequence[int], target: Sequence[int]
) -> np.ndarray:
    """Heatmaps of every layer's h (and c) over the steps of one sample, one panel each,
    units up, steps across, each panel on its own symmetric scale (named in its title).

    Args:
        model: a Seq2Seq model.
        vocabs: its vocabularies, for the axis labels.
        source: the sample's source token ids (padding allowed).
        target: the sample's target token ids, without BOS or EOS.

    Returns:
        A (1, height, width, 4) uint8 image.
    """
    source_ids = np.asarray([list(source)], np.int32)
    target = [t for t in target if t != 0]
    decoder_ids = np.asarray([[BOS_ID, *target]], np.int32)
    panels = layer_state_panels(model, source_ids, decoder_ids)
    labels = {
        "source": vocabs.source.decode([t for t in source if t != 0]),
        "target": ["<bos>"] + vocabs.target.decode(target),
    }
    plt = _pyplot()
    # No layout engine and one colorbar: a colorbar per panel and the constrained
    # layout took 0.3 s of the 0.37 s an image cost, paid at every validation.
    panel, width = 2.2, 4.8  # inches: a panel with its title and labels; the figure
    inches = panel * len(panels) + 0.3
    figure, axes = plt.subplots(len(panels), 1, figsize=(width, inches), squeeze=False)
    figure.subplots_adjust(
        left=0.13, right=0.8, top=1 - 0.35 / inches, bottom=0.75 / inches, hspace=0.9
    )
    for axis, (title, side, values) in zip(axes[:, 0], panels):
        # An untrained h sits near 0 and c is unbounded: on one fixed scale both would be
        # a blank; each panel is shown over its own largest magnitude, written after it.
        limit = max(float(np.abs(values).max()), 1e-6)
        image = axis.imshow(values.T / limit, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        axis.set_title(f"{title}  (±{limit:.2g})", fontsize=TITLE_SIZE)
        label_steps(axis.set_xticks, labels[side])
        axis.tick_params(axis="y", labelsize=LABEL_SIZE)
        axis.set_ylabel("unit", fontsize=LABEL_SIZE)
    bar = figure.colorbar(image, cax=figure.add_axes([0.83, 0.75 / inches, 0.03, 1 - 1.1 / inches]))
    bar.ax.tick_params(labelsize=LABEL_SIZE)
    return _figure_to_image(figure)


def attention_image(
    model, vocabs: Vocabularies, source: Sequence[int], target: Sequence[int]
) -> np.ndarray:
    """The teacher-forced attention weights of one sample: target steps x source steps,
    with a colorbar of the weights.

    Returns:
        A (1, height, width, 4) uint8 image.
    """
    source = [t for t in source if t != 0]
    target = [t for t in target if t != 0]
    inputs = {
        "encoder_token_ids": np.asarray([source], np.int32),
        "decoder_token_ids": np.asarray([[BOS_ID, *target]], np.int32),
    }
    weights = np.asarray(model.attention_weights(inputs))[0]
    plt = _pyplot()
    # A cell of 0.32 inches (32 px) per step, up to 8 inches a side.
    cell = min(0.32, 8 / max(len(source), len(target) + 1))
    size = (2.2 + cell * len(source), 1.3 + cell * (len(target) + 1))
    figure, axis = plt.subplots(figsize=size, layout="constrained")
    # Up to the largest weight, not 1: early in training attention is spread thin, and
    # on a 0..1 scale its pattern would be one flat colour; the colorbar says the values.
    image = axis.imshow(weights, cmap="viridis", vmin=0, vmax=max(float(weights.max()), 1e-6))
    label_steps(axis.set_xticks, vocabs.source.decode(source))
    label_steps(axis.set_yticks, ["<bos>"] + vocabs.target.decode(target))
    axis.set_xlabel("source", fontsize=LABEL_SIZE)
    axis.set_ylabel("decoder input", fontsize=LABEL_SIZE)
    bar = figure.colorbar(image, ax=axis, shrink=0.9)
    bar.ax.tick_params(labelsize=LABEL_SIZE)
    return _figure_to_image(figure)
