"""hmrlib: 3D human mesh recovery from one image (ResNeXt-50 + SuperGAT + discriminator prior)."""

__version__ = "0.1.0"
