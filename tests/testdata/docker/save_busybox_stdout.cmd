docker save busybox:latest | sha256sum
