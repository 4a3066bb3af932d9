"""The ``tfrec`` command line; each sub-command lives in its own module of this package."""
