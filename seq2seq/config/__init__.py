"""The configuration itself, above `base/` alone: schemas with each field's allowed values
and the walk over them, composing a config through Hydra, per-task defaults, and where the
shipped configs and samples lie."""
