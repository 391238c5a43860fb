#!/bin/bash
# Start the container as NB_USER.
exec "$@"
