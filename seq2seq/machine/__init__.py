"""What the machine runs fastest: the precision it offers and XLA for the step."""
