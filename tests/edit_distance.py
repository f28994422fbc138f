"""An edit distance by the textbook recurrence, independent of the code under test: the
oracle for the error rates and evaluate's per-example errors."""


def levenshtein(a, b) -> int:
    """Edit distance between two sequences (insert, delete, substitute: cost 1 each)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]
