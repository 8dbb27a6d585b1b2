set -e
mkdir -p empty-dir nested/empty
