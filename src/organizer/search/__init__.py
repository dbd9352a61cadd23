"""Finding similar images: the exact cosine index, find-similar, and the classic comparisons that re-rank it."""
