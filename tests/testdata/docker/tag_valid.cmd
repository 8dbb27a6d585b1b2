docker tag busybox:latest mirror/busybox:latest
