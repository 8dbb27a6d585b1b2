docker tag busybox:latest
