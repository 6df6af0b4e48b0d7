"""Inference: the `StylePipeline` facade (generation, transfer, interpolation, mixing) and
GAN inversion."""
