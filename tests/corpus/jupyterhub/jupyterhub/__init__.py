"""Multi-user server for Jupyter notebooks (a stand-in for the test corpus)."""
