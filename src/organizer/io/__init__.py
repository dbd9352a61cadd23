"""Reading a folder: the scan, safe decoding, preprocessing into views, thumbnails and safe file writes."""
