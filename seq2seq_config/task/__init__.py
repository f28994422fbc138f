"""What a task's data holds, read without TensorFlow: files of pairs (their shape, the
split sizes), the counts of a task's examples, and the strict UTF-8 text reader."""
