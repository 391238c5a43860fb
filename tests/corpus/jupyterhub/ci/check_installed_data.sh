#!/bin/sh
# Check that the files the package ships are in the source tree copied into the image.
set -e
cd ..
for path in pyproject.toml jupyterhub/__init__.py share/jupyterhub/templates/page.html; do
    test -f "$path" || { echo "missing $path"; exit 1; }
done
for path in docs examples jupyterhub_config.py jupyterhub.sqlite; do
    test ! -e "$path" || { echo "$path should have been left out by .dockerignore"; exit 1; }
done
echo "installed data ok"
