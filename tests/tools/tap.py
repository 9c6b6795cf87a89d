"""TAP lines for the Python checkers of tests/tools (one per comparison)."""


class Tap:
    """check(name, got, want) prints "ok - PREFIXname", or "not ok" with
    both values; failed counts the failures."""

    def __init__(self, prefix="", got_label="eddy"):
        self.prefix, self.got_label, self.failed = prefix, got_label, 0

    def check(self, name, got, want):
        if got == want:
            print(f"ok - {self.prefix}{name}")
        else:
            self.failed += 1
            print(f"not ok - {self.prefix}{name}\n# {self.got_label + ':':6} {got!r}\n# want:  {want!r}")
