"""Tools beside the pipeline that write new images or models: align, levels, autoencoder training."""
