"""The clusters: the grid of clusters with its thumbnails and headers, and the dendrogram."""
