docker history -q busybox:latest
