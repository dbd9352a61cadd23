"""The side panels and pages: similar images, problems, the image preview and the welcome page."""
