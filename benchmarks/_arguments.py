"""Argument types shared by the benchmark scripts."""


def comma_list(item_type=str):
    """An ``argparse`` type: ``"0,1,2"`` → ``[0, 1, 2]`` (items converted by ``item_type``).

    Blank items are skipped, so ``"super, rhythm,"`` gives ``["super", "rhythm"]``. argparse
    applies the type to string defaults too.

    Examples
    --------
    >>> comma_list(int)("0, 1,2")
    [0, 1, 2]
    >>> comma_list()("super, rhythm,")
    ['super', 'rhythm']
    """
    def parse(text):
        return [item_type(item.strip()) for item in str(text).split(",") if item.strip()]

    parse.__name__ = f"comma-separated {getattr(item_type, '__name__', 'value')} list"
    return parse
