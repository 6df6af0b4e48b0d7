"""Networks: layers, the generator, the translator and its fast inference form, discriminators,
the frozen ImageNet backbones, the base class that saves a network as config + safetensors, and
the checks a saved network passes before it is built (validation)."""
