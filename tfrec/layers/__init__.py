"""Keras layers shared by the models: the MLP tower, FM / cross interactions, and the NCF id
embeddings and interactions (``mlp``, ``interaction``, ``id_embedding``, ``gmf_interaction``,
``mlp_interaction``). Feature preprocessing lives in :mod:`tfrec.features`."""
