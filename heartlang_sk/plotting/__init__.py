"""Figures (matplotlib, an optional dependency): one module per kind — tokenization, vocabulary,
training curves, evaluation."""

from .evaluation import plot_roc_curves
from .tokenization import plot_sentence, plot_tokenization
from .training import plot_training_curves
from .vocabulary import plot_reconstructions, plot_top_words, plot_vocabulary_map

__all__ = ["plot_reconstructions", "plot_roc_curves", "plot_sentence", "plot_tokenization", "plot_top_words",
           "plot_training_curves", "plot_vocabulary_map"]
