#!/bin/sh
# Installs the s2i tool (adapted: the download is replaced by a stub, the build has no network).
set -ex
printf '#!/bin/sh\necho "s2i v1.1.7 (stub)"\n' > /usr/local/bin/s2i
chmod +x /usr/local/bin/s2i
s2i
