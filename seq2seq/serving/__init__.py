"""A finished run put to use: loading it back, and its TensorFlow SavedModel export
(see docs/architecture.md)."""
