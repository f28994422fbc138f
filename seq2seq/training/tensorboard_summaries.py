"""What a run shows in TensorBoard beyond Keras' scalars and histograms.

- Text: the resolved config; after each epoch, a table of decoded validation samples
  (source | target | prediction | right?).
- Images: the `return_sequences` view of a sample: heatmaps of h (and c, for LSTM) of
  every layer over the time steps, encoder and decoder; for attention models, the
  attention weights of the same sample.
- HParams: the run's hyperparameters and final metrics, so that the HParams dashboard
  compares the runs of a sweep.

All of it goes to the run's `tensorboard/` directory (the HParams session), beside
Keras' `train/` and `validation/`.
"""

import io
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf
from tensorboard.plugins.hparams import api as hp

from seq2seq.data.vocabulary import BOS_ID, EOS_ID, Vocabularies
from seq2seq.model.recurrent import STATE_COUNT

HParamValue = str | float | int | bool


def flat_hparams(cfg: DictConfig) -> dict[str, HParamValue]:
    """The run's hyperparameters as flat `group.key: value` pairs (null as "null"; nested
    groups as `trainer.early_stopping.monitor`)."""
    flat = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = "null" if value is None else value

    for group in ("task", "model", "trainer"):
        walk(OmegaConf.to_container(cfg[group], resolve=True), f"{group}.")
    flat["seed"] = cfg.seed
    return flat


def write_run_start(writer, cfg: DictConfig, trial_id: str) -> None:
    """The resolved config as text, and the HParams session of this run.

    No experiment-wide `hparams_config` is written: TensorBoard then infers it from all
    the sessions it sees, marks the hyperparameters that differ between them, and shows
    those first; the metrics are the scalars of the session's sub-runs (`train/`,
    `validation/` and `final/`).
    """
    with writer.as_default(step=0):
        tf.summary.text("config", "```\n" + OmegaConf.to_yaml(cfg, resolve=True) + "```")
        hp.hparams(flat_hparams(cfg), trial_id=trial_id)
    writer.flush()


def write_final_metrics(log_dir, metrics: dict[str, dict[str, float]], step: int) -> None:
    """The final validation and test metrics, in `log_dir/final`, where HParams finds them.

    HParams looks a metric up in the run `<session>/<group>`; scalars of the session's
    own directory would need the group ".", which it does not resolve.
    """
    writer = tf.summary.create_file_writer(str(log_dir) + "/final")
    with writer.as_default(step=step):
        for split, values in metrics.items():
            for name, value in values.items():
                tf.summary.scalar(f"{split}_{name}", value)
    writer.close()


def samples_table(vocabs: Vocabularies, sources, targets, predictions) -> str:
    """Markdown table of decoded samples: source | target | prediction | right?"""
    rows = ["| source | target | prediction | right |", "|---|---|---|---|"]
    for source, target, predicted in zip(sources, targets, predictions):
        source_text = vocabs.source.decode_text(source)
        target_text, predicted_text = (
            vocabs.target.decode_text(ids) for ids in (target, predicted)
        )
        right = target_text == predicted_text and EOS_ID in list(predicted)
        rows.append(
            f"| {source_text} | {target_text} | {predicted_text} | {'yes' if right else '**no**'} |"
        )
    return "\n".join(rows)


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


def _figure_to_image(figure) -> np.ndarray:
    """A matplotlib figure as a (1, height, width, 4) uint8 array for tf.summary.image."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    import matplotlib.pyplot as plt  # noqa: PLC0415 - matplotlib only where images are made

    plt.close(figure)
    return tf.image.decode_png(buffer.getvalue(), channels=4).numpy()[None]


def _pyplot():
    import matplotlib  # noqa: PLC0415 - loaded only when a run logs images

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def states_image(
    model, vocabs: Vocabularies, source: Sequence[int], target: Sequence[int]
) -> np.ndarray:
    """Heatmaps of every layer's h (and c) over the steps of one sample.

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
    figure, axes = plt.subplots(len(panels), 1, figsize=(6, 1.9 * len(panels)), squeeze=False)
    inches = 1.9 * len(panels)
    figure.subplots_adjust(
        left=0.1, right=0.86, top=1 - 0.35 / inches, bottom=0.45 / inches, hspace=0.7
    )
    for axis, (title, side, values) in zip(axes[:, 0], panels):
        # h lies in [-1, 1]; c is unbounded, so each c panel is shown over its own
        # symmetric scale, named in its title.
        if title.endswith(": h"):
            limit = 1.0
        else:
            limit = max(1.0, float(np.abs(values).max()))
            title = f"{title} / {limit:.2g}"
        image = axis.imshow(values.T / limit, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        axis.set_title(title, fontsize=9)
        axis.set_xticks(range(len(labels[side])), labels[side], fontsize=7)
        axis.set_ylabel("unit", fontsize=7)
    figure.colorbar(image, cax=figure.add_axes([0.89, 0.45 / inches, 0.02, 1 - 0.8 / inches]))
    return _figure_to_image(figure)


def attention_image(
    model, vocabs: Vocabularies, source: Sequence[int], target: Sequence[int]
) -> np.ndarray:
    """The teacher-forced attention weights of one sample: target steps x source steps.

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
    size = (1.5 + 0.4 * len(source), 1.2 + 0.4 * (len(target) + 1))
    figure, axis = plt.subplots(figsize=size, layout="constrained")
    axis.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    axis.set_xticks(range(len(source)), vocabs.source.decode(source), fontsize=8)
    axis.set_yticks(range(len(target) + 1), ["<bos>"] + vocabs.target.decode(target), fontsize=8)
    axis.set_xlabel("source")
    axis.set_ylabel("decoder input")
    return _figure_to_image(figure)
