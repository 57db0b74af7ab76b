"""lookalike: reverse product-image search for online shops."""

__version__ = "0.1.0"
