"""What `predict` says of input symbols the run's vocabulary lacks: a vocabulary built
from data reads them as `<unk>`, and the model's output for such an input is a guess
that looks like any other. `predict.parse_inputs` finds them (`on_unknown=warn`) or
refuses them (`on_unknown=error`); these lines tell the user."""


def unknown_warnings(unknown: dict, source: str) -> list[str]:
    """A warning line per input that holds symbols the vocabulary lacks (read as `<unk>`),
    for the first `SHOWN_UNKNOWN` such inputs."""
    return [
        f"warning: {source} line {number}: {', '.join(map(repr, dict.fromkeys(symbols)))} "
        f"not in the vocabulary, read as <unk>"
        for number, symbols in list(unknown.items())[:SHOWN_UNKNOWN]
    ]


def unknown_summary(unknown: dict, inputs: int) -> list[str]:
    """What predict's summary says of inputs with symbols the vocabulary lacks: nothing
    when there are none, else one line with their count.

    Args:
        unknown: `{line number: [symbols the vocabulary lacks]}`, from `parse_inputs`.
        inputs: how many inputs there were.

    Returns:
        The summary's lines about unknown symbols (none or one).
    """
    if not unknown:
        return []
    symbols = sum(len(found) for found in unknown.values())
    return [
        f"warning: {len(unknown)} of {inputs} inputs hold symbols the vocabulary lacks "
        f"({symbols} in all), read as <unk>: their outputs are guesses; on_unknown=error "
        "refuses such inputs"
    ]


#: How many inputs with unknown symbols get a warning line of their own.
SHOWN_UNKNOWN = 20
