# Sourced by the scripts: puts Swift on PATH and installs the system packages the build
# needs (the SQLite headers for the ledger) when they are missing.
export PATH="/opt/swift/usr/bin:$PATH"
if [ ! -f /usr/include/sqlite3.h ]; then
    echo "==> installing libsqlite3-dev (the ledger's SQLite headers)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libsqlite3-dev >&2
fi
