docker tag busybox:latest Busybox:latest
