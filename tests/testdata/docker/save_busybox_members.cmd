cd x-busybox && find . -mindepth 1 | LC_ALL=C sort && (ls -la blobs/sha256 2>&1 || true)
