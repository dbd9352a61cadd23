"""Generations: a result is current only while what it was computed from is unchanged."""

from organizer.jobs.generation import Generation


def test_a_new_library_makes_every_earlier_stamp_stale_and_new_clusters_only_book_stamps():
    generation = Generation()
    search = generation.stamp()
    generation.new_book()  # an edit: a search of the same library still applies, a split does not
    assert generation.is_current(search)
    assert not generation.is_current(search, book=True)
    split = generation.stamp()
    assert generation.is_current(split, book=True)
    generation.new_library()  # another folder or a rescan
    assert not generation.is_current(split) and not generation.is_current(search)
    assert generation.is_current(generation.stamp(), book=True)
