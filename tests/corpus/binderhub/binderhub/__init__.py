"""BinderHub (a stand-in for the test corpus)."""
