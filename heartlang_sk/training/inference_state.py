"""What a fitted net keeps: the state inference needs, not the state only training reads.

Contract: :func:`drop_training_state` is called on a skorch net once training has finished. It
empties every optimizer's state (AdamW's two moment estimates per weight: twice the weights) and
asks every submodule that has training-only buffers to release them (``release_training_buffers``,
e.g. the vector quantizer's EMA sums and restart pool). The weights, buffers inference reads, and
the history stay. Training the same net again (``net_.partial_fit``, a warm start) works and
restarts the optimizer (fresh moments, learning-rate warm-up from the schedule); resuming a run
exactly is what the checkpoint folder (``checkpoint_dir``) is for: it holds the optimizer and the
full module state of every epoch.

Examples
--------
>>> import torch
>>> from skorch import NeuralNetRegressor
>>> net = NeuralNetRegressor(torch.nn.Linear(3, 1), optimizer=torch.optim.AdamW, max_epochs=1,
...                          train_split=None, verbose=0)
>>> X, y = torch.randn(8, 3), torch.randn(8, 1)
>>> _ = net.fit(X, y)
>>> len(net.optimizer_.state_dict()["state"])
2
>>> drop_training_state(net)
>>> len(net.optimizer_.state_dict()["state"]), net.predict(X).shape
(0, (8, 1))
>>> _ = net.partial_fit(X, y)  # trains on, with a fresh optimizer state
"""

from __future__ import annotations

__all__ = ["drop_training_state"]


def drop_training_state(net):
    """Empty ``net``'s optimizer states and release its modules' training-only buffers, in place.

    The generator that shuffled the training batches goes too: its state changes whenever it is
    pickled or hashed, which kept ``Pipeline(memory=...)`` from ever finding a fitted model's step
    in its cache; a later ``partial_fit`` shuffles with torch's global generator instead.
    """
    if getattr(net, "iterator_train__generator", None) is not None:
        net.iterator_train__generator = None
    for name in getattr(net, "_optimizers", ()):
        optimizer = getattr(net, name + "_", None)
        state = getattr(optimizer, "state", None)
        if state is not None:
            state.clear()
    for name in getattr(net, "_modules", ()):
        module = getattr(net, name + "_", None)
        if module is None or not hasattr(module, "modules"):
            continue
        for submodule in module.modules():
            release = getattr(submodule, "release_training_buffers", None)
            if callable(release):
                release()
