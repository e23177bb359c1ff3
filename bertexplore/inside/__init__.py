"""Inside BERT: each step of the forward pass rebuilt from the trace and the weights, as plain dataclasses.

Every module takes the named activations of ONE forward (`bertexplore.trace`) and the model's weights
(`bertexplore.anatomy`) and returns numpy data plus the "recomputed by hand = the model's own value" difference.
Extra forwards happen only where a step needs another input: the padding experiment (`masking`), the
pre-training sample (`pretraining`) and compression (`compression`).
"""
