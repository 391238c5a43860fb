"""repo2docker: build a Docker image from a git repository (a stand-in for the test corpus)."""
