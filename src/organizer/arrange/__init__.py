"""Arranging images: a 1-D order that keeps similar images together, the 2-D grid sort and the contact sheet."""
