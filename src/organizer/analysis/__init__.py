"""Analysing the embedded folder: the map (PCA then t-SNE), clustering, the user's cluster edits, the cluster tree,
near-duplicates and retrieval scores against known labels.
"""
