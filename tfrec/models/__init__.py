"""Keras recommender models. Each model lives in its own module (``tfrec.models.<name>``) and is
imported on use, so importing this package does not load every model."""
