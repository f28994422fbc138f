"""Files of text and their tokens, read without TensorFlow: each side's text rules, the
strict UTF-8 reader, files of pairs read for their shape and split, several training
files mixed by weight, the counts of a generated task, tokenizers and vocabularies."""
