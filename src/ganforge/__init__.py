"""ganforge: train, watch, measure and use GANs on images."""

__version__ = "0.1.0"
