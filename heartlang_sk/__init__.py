"""heartlang-sk: scikit-learn-style estimators for HeartLang, the self-supervised ECG language model."""

__version__ = "0.1.0.dev0"
