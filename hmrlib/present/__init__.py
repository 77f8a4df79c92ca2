"""Presentation: figures for the notebooks, the mesh viewer, predictions on your own images, running notebooks."""
