"""The engine: scanning, decoding, embedding and search. Imports no Qt."""
