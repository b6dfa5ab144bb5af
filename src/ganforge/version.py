"""The package version, in its own module: any module can import it without importing the package root."""

__version__ = "0.1.0"
