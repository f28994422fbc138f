"""The configuration itself: schemas with each field's allowed values, their validation,
composing a config through Hydra, per-task defaults, the memory check, and where the
shipped configs and samples lie."""
