"""The treemap's model: folder sizes by layer from the layers' changes, deletions taking folders away."""

from dockmagic.models.folder_sizes import Folder, FolderSizes
from dockmagic.views.image_treemap import children_reply


def sizes() -> FolderSizes:
    return FolderSizes([
        (1, [("A", "/usr", None), ("A", "/usr/lib", None), ("A", "/usr/lib/a.so", 700),
             ("A", "/usr/bin", None), ("A", "/usr/bin/sh", 100), ("A", "/tmp", None), ("A", "/tmp/junk", 50)]),
        (2, [("A", "/usr/lib/b.so", 900), ("C", "/usr/bin/sh", 120), ("D", "/tmp", None)]),
    ])


def test_sizes_by_folder_and_dominant_layer():
    tree = sizes()
    assert tree.size == 700 + 900 + 120
    assert tree.by_layer == {1: 700, 2: 1020}
    assert tree.children("/") == ([Folder("usr", "/usr", 1720, 2, True)], 1)
    assert tree.children("/usr/lib") == ([Folder("b.so", "/usr/lib/b.so", 900, 2, False),
                                          Folder("a.so", "/usr/lib/a.so", 700, 1, False)], 2)
    assert [folder.path for folder in tree.top_folders()] == ["/usr", "/usr/lib", "/usr/bin"]


def test_children_reply_sums_what_it_leaves_out():
    many = FolderSizes([(1, [("A", f"/data/f{index}", index + 1) for index in range(250)])])
    reply = children_reply(many, "/data")
    assert reply["total"] == 250 and len(reply["entries"]) == 200
    assert reply["rest"] == sum(range(1, 51))
    assert reply["entries"][0] == ["f249", 250, 1, 0]
