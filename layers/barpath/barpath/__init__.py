"""barpath: the path of a barbell from a lifting video."""

__version__ = "0.1.0"
