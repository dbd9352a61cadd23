"""The map: a zoomable pyqtgraph scatter of the t-SNE layout, its thumbnails, overlays and selection."""
