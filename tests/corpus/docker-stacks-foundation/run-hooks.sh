#!/bin/bash
# Run the scripts of a hook folder.
for f in "$1"/*; do echo "running $f"; done
