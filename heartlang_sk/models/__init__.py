"""Model families, one folder each: ``heartlang`` (this toolkit's HeartLang), ``heartlang_official``
(the released architecture and its checkpoints) and ``melp`` (ECG-report alignment).

A family holds its estimators, its torch networks and their weights mapping. It imports the shared
layers (:mod:`heartlang_sk.nn`), the training machinery (:mod:`heartlang_sk.training`) and the
sentences contract, never another family's private modules.
"""
