"""Every class a saved `model.keras` may name, registered with Keras by importing this.

The model families (and their layers), the metrics and the loss register themselves
when their modules load (`keras.saving.register_keras_serializable`); Keras finds them by
name when it reads a file, so whatever loads one imports this first (`load_run`, and the
package's top when Keras is already imported).
"""

from seq2seq.evaluation import metrics  # noqa: F401 - ExactMatch
from seq2seq.model import families  # noqa: F401 - the models, their layers
from seq2seq.training import compile  # noqa: F401 - SmoothedCrossEntropy
