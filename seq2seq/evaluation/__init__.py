"""Models to figures: the evaluator that measures a split, its metrics, the report and
its examples, the oracle over n-best lists, and scoring given targets."""
