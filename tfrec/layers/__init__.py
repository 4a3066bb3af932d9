"""Keras layers shared by the models: feature preprocessing, MLP, feature interactions."""
