"""The citation checker over a model's raw reply: markers naming no source are dropped, never a crash."""

from retrieval.citations import check_citations


def test_a_huge_citation_marker_is_text_not_a_crash():
    checked = check_citations(f"Talks resumed [{'9' * 5000}]. The border was quiet [1].", n_sources=2)
    assert [s.sources for s in checked.sentences] == [[1]], "the sentence without a valid citation is dropped"


def test_markers_are_renumbered_in_order_of_first_use():
    checked = check_citations("Shelling near Jermuk [3]. Talks in Washington [1, 3]. Nothing [7].", n_sources=3)
    assert checked.order == [3, 1]
    assert checked.text == "Shelling near Jermuk [1]. Talks in Washington [2][1]."
