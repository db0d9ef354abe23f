"""callcore: the telephony core of the 96881 citizen hotline."""

__version__ = "0.1.0"
