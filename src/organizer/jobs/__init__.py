"""Long work: the progress and stop contract, generations that mark stale results, child-process steps and the
serial writer.
"""
