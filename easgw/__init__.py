"""easgw: an Exchange ActiveSync gateway with server-generated conference links."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("easgw")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
