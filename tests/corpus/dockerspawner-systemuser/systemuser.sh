#!/bin/sh
# Create the user the Hub asks for, then start the single-user server as that user.
set -e
if ! id "$USER" >/dev/null 2>&1; then
    echo "Creating user $USER ($USER_ID)"
    useradd --uid "$USER_ID" --home-dir "/home/$USER" --create-home "$USER"
fi
if [ "$1" = "-h" ]; then
    echo "usage: systemuser.sh [jupyterhub-singleuser options]"
    exit 0
fi
exec su "$USER" -c "jupyterhub-singleuser $*"
