"""The names of a run directory's files and folders, written once: what training writes,
what resuming, `evaluate`, `predict` and sweeps read back, and what the checks before
TensorFlow look for. Users see these names (docs/monitoring.md lists them); changing one changes
what every saved run holds.

    config.yaml, overrides.yaml, train.log, vocab.json (+ *.spm.model), data.json,
    length_bound.json, init_from.json, precision.json, time_budget.json, held_out/,
    checkpoints/ (latest.json, epoch-NNN.weights.h5), tensorboard/, model.keras,
    saved_model/1/, run.json, metrics.json, evaluation/, .lock, and what `seq2seq-export`
    writes: onnx/, onnx_int8/, litert/, litert_int8/ (export.json, decode.py, the models)
"""

#: The run's whole config, resolved (written when it starts).
CONFIG_FILE = "config.yaml"
#: The overrides it was started with (what a sweep's summary lists).
OVERRIDES_FILE = "overrides.yaml"
#: The run's log: Hydra names it after the job, the `seq2seq.cli.train` module.
LOG_FILE = "train.log"
#: The vocabularies, and the SentencePiece models of subword ones beside them: one
#: shared, or one per side.
VOCAB_FILE = "vocab.json"
SHARED_SUBWORD_MODEL = "vocab.spm.model"
SOURCE_SUBWORD_MODEL = "source.spm.model"
TARGET_SUBWORD_MODEL = "target.spm.model"
#: Which data the run trained on (a file's path and checksum, its counts).
DATA_RECORD = "data.json"
#: The val and test pairs a run held out from a file, one `SPLIT.tsv` each.
HELD_OUT_DIR = "held_out"
#: The checkpoints, their record, and the files they are written in.
CHECKPOINTS_DIR = "checkpoints"
LATEST_CHECKPOINT = "latest.json"
CHECKPOINT_GLOB = "epoch-*.weights.h5"
#: TensorBoard's event files (and `evaluation/` inside, for `evaluate`'s).
TENSORBOARD_DIR = "tensorboard"
#: The finished model: Keras' file and the SavedModel export.
MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
#: The export itself: version 1 inside it, TensorFlow Serving's layout
#: (`--model_base_path=DIR/saved_model` serves it).
SAVED_MODEL_EXPORT = f"{SAVED_MODEL_DIR}/1"
#: How many tokens each source decodes to.
LENGTH_BOUND_FILE = "length_bound.json"
#: A fine-tuned run's parent and what came from it (run.json's `init_from`), written
#: when it starts, so that a resume reads it instead of the parent.
INIT_FROM_RECORD = "init_from.json"
#: The precision the run trains in and why (measured, for `trainer.precision=auto`),
#: written when it starts, so that a resume trains in the same one.
PRECISION_RECORD = "precision.json"
#: Under `trainer.time_budget`: the plan (steps, epochs, warmup, what was measured),
#: written before the first epoch, so that a resumed run keeps it.
TIME_BUDGET_PLAN = "time_budget.json"
#: How the run went: its start, end, epochs, precision, timings.
RUN_RECORD = "run.json"
#: The finished run's metrics, written last: a run that has it is finished.
METRICS_FILE = "metrics.json"
#: `evaluate`'s reports (in the run directory, and in `tensorboard/`).
EVALUATION_DIR = "evaluation"
#: Beside each report (`evaluation/NAME.json`), every example it measured, one per line:
#: `evaluation/NAME.examples.tsv`.
EVALUATION_EXAMPLES = "examples.tsv"
#: The lock a running command holds on the run directory.
LOCK_FILE = ".lock"
#: What `seq2seq-export` writes (`seq2seq.serving.portable_export`): a folder per format,
#: named after it (`onnx/`, `litert/`), `_int8` appended for int8 weights; in it the
#: encoder and the decoder's step, the manifest the decoder reads (vocabularies, tokenizer
#: rules, length bound, tensor names), and the decoder itself, a script of its own.
PORTABLE_EXPORT_DIR = "{format}{quantized}"
PORTABLE_INT8_SUFFIX = "_int8"
PORTABLE_MANIFEST = "export.json"
PORTABLE_DECODER = "decode.py"
ONNX_ENCODER = "encoder.onnx"
ONNX_STEP = "decoder_step.onnx"
LITERT_ENCODER = "encoder.tflite"
LITERT_STEP = "decoder_step.tflite"
#: Each format's (encoder, step) files.
PORTABLE_MODELS = {"onnx": (ONNX_ENCODER, ONNX_STEP), "litert": (LITERT_ENCODER, LITERT_STEP)}
