"""Networks: layers, the generator, the translator and its fast inference form, discriminators,
the frozen ImageNet backbones, and the base class that saves a network as config + safetensors."""
