#!/bin/bash
# Activate the conda environment in before-notebook hooks.
echo "conda activate"
